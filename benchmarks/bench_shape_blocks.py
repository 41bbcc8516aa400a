"""Toy fits of CsI-2017 with its per-PE-bin steady-state rates evaluated as blocks, and one by one.

    python benchmarks/bench_shape_blocks.py [--toys 200] [--repeat 2]
                                            [--release coherent-csi-2017] [--parameter n_cevns]

The release's 24 steady-state rates share the time-slope shape nuisance; the profiler evaluates
them as two blocks (``cevns.stats.likelihood._ShapedBlock``, docs/statistics.md §7). The reference
is the same likelihood with every component evaluated on its own: ``_merge_blocks`` replaced by
the identity, in this process only, for the reference runs. Both run ``release_coverage(...,
executor="serial")`` on the same toys, interleaved (blocks, reference, blocks, …) so that a change
of the host's speed hits both alike; CPU time of this process (``time.process_time``), min and
median. The two must give the same coverage, bias and pull width (to 10⁻¹²): the script says so.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import cevns.stats.likelihood as likelihood
from cevns.fits.coverage import release_coverage


def _run(release: str, parameter: str, toys: int, blocks: bool):
    merge = likelihood._merge_blocks
    if not blocks:
        likelihood._merge_blocks = list
    try:
        t0 = time.process_time()
        res = release_coverage(release, parameter, toys, executor="serial", toys_per_tile=toys)
        return time.process_time() - t0, res
    finally:
        likelihood._merge_blocks = merge


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--toys", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--release", default="coherent-csi-2017")
    parser.add_argument("--parameter", default="n_cevns")
    args = parser.parse_args(argv)
    _run(args.release, args.parameter, 4, True)  # warm: imports, models, engine caches
    load = os.getloadavg()[0]
    times: dict[bool, list[float]] = {True: [], False: []}
    results = {}
    for _ in range(args.repeat):
        for blocks in (True, False):
            cpu, results[blocks] = _run(args.release, args.parameter, args.toys, blocks)
            times[blocks].append(cpu)
    a, b = results[True], results[False]
    same = (a.coverage_68 == b.coverage_68 and abs(a.bias_sigma - b.bias_sigma) < 1e-12
            and abs(a.pull_width - b.pull_width) < 1e-12)
    print(f"{args.release} {args.parameter}, {args.toys} toys serially, {args.repeat} runs each "
          f"interleaved, load {load:.1f} → {os.getloadavg()[0]:.1f}\n")
    print("| evaluation | CPU min | CPU median | coverage 68 % | bias [σ] |")
    print("|---|---:|---:|---:|---:|")
    for blocks, label in ((True, "blocks"), (False, "components one by one (reference)")):
        r = results[blocks]
        print(f"| {label} | {min(times[blocks]):.2f} s | {statistics.median(times[blocks]):.2f} s "
              f"| {r.coverage_68:.3f} | {r.bias_sigma:+.4f} |")
    ratio = statistics.median(times[False]) / statistics.median(times[True])
    print(f"\nratio (median): {ratio:.2f}×; same results: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
