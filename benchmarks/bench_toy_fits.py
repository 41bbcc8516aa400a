"""Toy fits of a release model: batched over toys vs one minimiser per toy, on the same toys.

Run as ``python benchmarks/bench_toy_fits.py`` (``--help`` for options).

Model: the CsI-2021 release likelihood for ``n_cevns`` (2 × 99 bins, 16 nuisances of which five
shape nuisances, 82-point POI grid), toys generated at the SM value with sampled nuisances.

(a) ``cevns.fits.coverage.release_coverage`` with ``--toys`` toys: the toys of a tile profiled
    together (``cevns.stats.toys.profile_toys``: ``profile_datasets`` over all toys, then the
    continuation restarts), serially and on ``--workers`` processes (results must be identical);
(b) the previous batched implementation on the first ``--old-toys`` toys: one PoissonModel over
    toys × grid points, Newton from θ = 0 only (no restarts), extrapolated to ``--toys``;
(c) the straightforward reference on the first ``--minuit-toys`` toys: for every toy and grid
    point, iminuit MIGRAD from θ = 0 (``PoissonModel.minuit``), extrapolated to ``--toys``.

χ² of (b) and (c) are compared with (a) on their toys: (a) is never higher (it keeps the lowest
of several starts), and where it is lower the others stopped in a local minimum.
CPU = user + sys of this process and its worker processes; wall times with the load average.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time

import numpy as np


def cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn):
    w, c = time.perf_counter(), cpu()
    out = fn()
    return out, time.perf_counter() - w, cpu() - c


def main(argv=None):
    from cevns.fits.coverage import release_coverage, release_poi_grid, release_toy_model
    from cevns.stats import Channel, PoissonModel
    from cevns.stats.toys import generate_toys, profile_toys

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", default="coherent-csi-2021")
    parser.add_argument("--toys", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--old-toys", type=int, default=128)
    parser.add_argument("--minuit-toys", type=int, default=3)
    parser.add_argument("--skip-serial", action="store_true")
    args = parser.parse_args(argv)
    rel, n = args.release, args.toys
    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}")
    grid, truth = release_poi_grid(rel, "n_cevns")
    toy_model = release_toy_model(rel, "n_cevns")
    model = toy_model.poisson_model(grid)
    print(f"{rel} n_cevns: {sum(ch.n_bins for ch in model.channels)} bins, "
          f"{len(model.nuisances)} nuisances ({len(model.shape_nuisances)} shape), "
          f"{grid.size}-point grid")

    print(f"(a) batched toy fits, {n} toys (release_coverage)")
    runs = [] if args.skip_serial else [("serial", "serial")]
    runs.append((f"processes × {args.workers}", {"name": "processes",
                                                 "max_workers": args.workers}))
    rows = []
    for label, executor in runs:
        res, wall, c = timed(lambda ex=executor: release_coverage(rel, "n_cevns", n,
                                                                  executor=ex))
        rows.append(res.row())
        print(f"  {label:16s} wall {wall:6.1f} s  CPU {c:6.1f} s  load {os.getloadavg()[0]:.1f}"
              f"  coverage68 {res.coverage_68:.3f}  bias {res.bias_sigma:+.3f} σ  width "
              f"{res.pull_width:.3f}  failed {res.n_failed}")
    print(f"  identical on every executor: {all(r == rows[0] for r in rows)}")

    truth_model = PoissonModel(toy_model.channels([truth]))
    k = max(args.old_toys, args.minuit_toys)
    data = generate_toys(truth_model, np.arange(k), 0)
    (new, _), wall, c = timed(lambda: profile_toys(model, data))
    print(f"  same code, serial, on the first {k} toys: CPU {c:.1f} s ({c / k * n:.0f} s per "
          f"{n} toys)")

    old_data = {name: v[: args.old_toys] for name, v in data.items()}

    def old_way():
        chans = [Channel(ch.name, old_data[ch.name][:, None, :], ch.components)
                 for ch in model.channels]
        return PoissonModel(chans).profile(warn=False).chi2

    old, wall, c = timed(old_way)
    diff = old - new[: args.old_toys]
    print(f"(b) previous batched fit (toys × grid in one PoissonModel, θ = 0 start only), "
          f"{args.old_toys} toys: CPU {c:.1f} s → {c / args.old_toys * n:.0f} s per {n} toys "
          f"(extrapolated)")
    print(f"  χ² − batched-with-restarts: min {diff.min():+.1e}, max {diff.max():+.3f}; points "
          f"higher by > 1e-6: {int(np.sum(diff > 1e-6))} of {diff.size} (local minima)")

    def per_toy():
        out = np.empty((args.minuit_toys, grid.size))
        for t in range(args.minuit_toys):
            one = PoissonModel([Channel(ch.name, data[ch.name][t], ch.components)
                                for ch in model.channels])
            for g in range(grid.size):
                m = one.minuit(g)
                m.migrad()
                out[t, g] = m.fval
        return out

    ref, wall, c = timed(per_toy)
    diff = ref - new[: args.minuit_toys]
    print(f"(c) iminuit MIGRAD per toy and grid point, {args.minuit_toys} toys: CPU {c:.1f} s "
          f"→ {c / args.minuit_toys * n:.0f} s per {n} toys (extrapolated)")
    print(f"  χ² − batched: min {diff.min():+.1e}, max {diff.max():+.3f}; points higher by "
          f"> 1e-4: {int(np.sum(diff > 1e-4))} of {diff.size}")
    print(f"load at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
