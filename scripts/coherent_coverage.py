"""Toy coverage of every COHERENT release fit: writes docs/coherent_coverage.json.

    python scripts/coherent_coverage.py [--toys 1000] [--seed 0] [--workers 2]
                                        [--only RELEASE/PARAMETER ...]
                                        [--out docs/coherent_coverage.json]

1000 toys per release × parameter with :func:`cevns.fits.coverage.release_coverage` (nuisances
sampled from their constraints, Wilks intervals), on ``--workers`` processes (the numbers do not
depend on it). The JSON is the ``--coverage`` input of ``cevns fit --table`` and the source of the
coverage table in docs/coherent_fits.md; each row records its CPU and wall time. ``--only``
recomputes the named rows and keeps the others of an existing ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

from cevns.fits.coverage import release_coverage

RELEASES = ("coherent-csi-2017", "coherent-csi-2021", "coherent-lar-2020")
PARAMETERS = ("n_cevns", "sin2_theta_w")


def _cpu_seconds() -> float:
    """CPU time (user + sys) of this process and its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--toys", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", nargs="*", default=None, metavar="RELEASE/PARAMETER")
    parser.add_argument("--out", type=Path, default=Path("docs/coherent_coverage.json"))
    args = parser.parse_args()
    out: dict[str, dict[str, dict]] = {}
    if args.only is not None and args.out.exists():
        out = json.loads(args.out.read_text(encoding="utf-8"))
    executor = ("serial" if args.workers <= 1
                else {"name": "processes", "max_workers": args.workers})
    for release in RELEASES:
        for parameter in PARAMETERS:
            if args.only is not None and f"{release}/{parameter}" not in args.only:
                continue
            wall, cpu = time.perf_counter(), _cpu_seconds()
            r = release_coverage(release, parameter, args.toys, seed=args.seed,
                                 executor=executor)
            wall, cpu = time.perf_counter() - wall, _cpu_seconds() - cpu
            out.setdefault(release, {})[parameter] = {
                "coverage": r.coverage_68, "coverage_err": r.coverage_68_err,
                "coverage_90": r.coverage_90, "coverage_90_err": r.coverage_90_err,
                "bias_sigma": r.bias_sigma, "bias_sigma_err": r.bias_sigma_err,
                "pull_width": r.pull_width, "n_pulls": r.n_pulls, "truth": r.truth,
                "n_toys": r.n_toys, "n_failed": r.n_failed, "seed": args.seed,
                "interval_method": r.interval_method, "nuisances": r.nuisances,
                "workers": args.workers, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
                "load_1min": round(os.getloadavg()[0], 1)}
            args.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
            print(f"{release}/{parameter}: coverage {r.coverage_68:.3f} ± {r.coverage_68_err:.3f}"
                  f", bias {r.bias_sigma:+.3f} σ, width {r.pull_width:.3f}, failed "
                  f"{r.n_failed}; {wall:.0f} s wall, {cpu:.0f} s CPU", flush=True)


if __name__ == "__main__":
    main()
