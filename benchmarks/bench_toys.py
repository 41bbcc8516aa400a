"""Benchmark of shape nuisances in the batched profiler and of toy-MC coverage runs.

Run as ``python benchmarks/bench_toys.py`` (``--help`` for options).

(a) one 200-bin channel with 20 shape nuisances (code 4, polyexp) on the signal and a background
    normalisation (21 nuisances) on a 100-point grid of signal scales: the batched profiler
    against MIGRAD point by point (the straightforward reference; its time for the whole grid is
    extrapolated from a subset and labelled as such), χ² compared on the subset;
(b) 1000 toys of the CsI-2021 release model (``n_cevns``; 2 × 180 bins, 3 nuisances,
    81-point POI grid) through ``cevns.fits.coverage.release_coverage`` on the serial executor and
    on two worker processes; the results must be identical.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from cevns.stats import Channel, Component, PoissonModel


def shape_model(rng, n_bins=200, n_shapes=20, n_grid=100):
    sig, bkg = rng.uniform(5, 30, n_bins), rng.uniform(10, 40, n_bins)
    x = np.linspace(0.0, 3.0, n_bins)
    shapes = {}
    for k in range(n_shapes):
        tilt = 0.05 * np.cos((k + 1) * x)
        shapes[f"s{k}"] = (sig * (1 - 0.9 * tilt), sig * (1 + 1.1 * tilt))
    obs = rng.poisson(sig + bkg).astype(float)
    scale = np.linspace(0.5, 1.5, n_grid)[:, None]
    ch = Channel("A", obs, [
        Component("sig", scale * sig, shapes={k: (scale * d, scale * u) for k, (d, u) in
                                              shapes.items()}),
        Component("bkg", bkg, nuisance="b", sigma=0.05)])
    return PoissonModel(ch)


def case_shapes(rng, n_minuit, repeat):
    model = shape_model(rng)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = model.profile()
        times.append(time.perf_counter() - t0)
    pts = rng.choice(model.n_points, n_minuit, replace=False)
    t0 = time.perf_counter()
    diffs = []
    for i in pts:
        m = model.minuit(int(i))
        m.migrad()
        diffs.append(float(res.chi2[i]) - m.fval)
    t_min = (time.perf_counter() - t0) / n_minuit * model.n_points
    print("(a) 100-point grid, one 200-bin channel, 20 shape nuisances (polyexp) + 1 norm")
    print(f"  all converged: {res.all_converged}, max Newton iterations {int(res.n_iter.max())}")
    print(f"  batched Newton        min {min(times):.3f} s  median {np.median(times):.3f} s")
    print(f"  MIGRAD per point      {t_min:.1f} s (extrapolated from {n_minuit} points)")
    print(f"  profile − MIGRAD χ²   max {max(diffs):+.2e}, min {min(diffs):+.2e}")


def case_toys(n_toys, workers):
    from cevns.fits.coverage import release_coverage

    out = {}
    for label, executor in (("serial", "serial"),
                            (f"processes × {workers}", {"name": "processes",
                                                        "max_workers": workers})):
        t0 = time.perf_counter()
        res = release_coverage("coherent-csi-2021", "n_cevns", n_toys, executor=executor)
        out[label] = (time.perf_counter() - t0, res)
    print(f"(b) {n_toys} toys, CsI-2021 n_cevns (release_coverage)")
    for label, (t, res) in out.items():
        print(f"  {label:18s} {t:7.1f} s   coverage68 {res.coverage_68:.3f} ± "
              f"{res.coverage_68_err:.3f}  coverage90 {res.coverage_90:.3f}  bias "
              f"{res.bias_sigma:+.3f} σ  pull width {res.pull_width:.3f}  failed {res.n_failed}")
    rows = [r.row() for _, r in out.values()]
    print(f"  identical results: {all(r == rows[0] for r in rows)}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minuit-points", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--toys", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20250112)
    args = parser.parse_args(argv)
    print(f"python {platform.python_version()}, numpy {np.__version__}, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    case_shapes(np.random.default_rng(args.seed), args.minuit_points, args.repeat)
    case_toys(args.toys, args.workers)
    print(f"load at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
