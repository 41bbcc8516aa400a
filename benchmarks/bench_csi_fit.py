"""Benchmark of the CsI collaboration-style fit (docs/coherent_csi.md).

Run as ``python benchmarks/bench_csi_fit.py``. For each CsI release:

(a) the batched profile of N_CEvNS on 201 grid points (all nuisances: free per-PE steady-state
    rates, normalisations, shape nuisances) against the straightforward reference, iminuit MIGRAD
    point by point on the same χ² (with the analytic nuisance gradient), timed on 10 points and
    extrapolated linearly to 201 (labelled so); the largest |Δχ²| on those points is reported;
(b) a full ``fit_release`` (three parameters, adaptive scans, iminuit cross-check with MINOS),
    wall and CPU time.

The 1-minute load average is printed next to the figures: the machine may be shared.
"""

from __future__ import annotations

import os
import time
import warnings

import numpy as np

from cevns.datasets import load_release
from cevns.fits import ReleaseModel, fit_release, make_signal_model
from cevns.fits.parameters import sm_signal


def bench(name: str) -> None:
    t0 = time.perf_counter()
    model = ReleaseModel(load_release(name))
    sm = make_signal_model(model, "n_cevns")
    sm.signal(np.array([1.0]))
    build = time.perf_counter() - t0
    grid = np.linspace(0.5, 1.5, 201) * float(sm_signal(model).sum())  # N_CEvNS around the SM
    pm = model.poisson_model(sm.signal(grid), signal_sigma=sm.signal_sigma)
    t0 = time.perf_counter()
    res = pm.profile()
    batched = time.perf_counter() - t0
    rng = np.random.default_rng(1)
    pick = rng.choice(grid.size, 10, replace=False)
    t0 = time.perf_counter()
    worst = 0.0
    for j in pick:
        m = pm.minuit(int(j))
        m.migrad()
        worst = max(worst, abs(m.fval - float(res.chi2[j])))
    per_point = (time.perf_counter() - t0) / pick.size
    t0, c0 = time.perf_counter(), time.process_time()
    fit_release(name)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"| {name} | {len(pm.nuisances)} ({len(getattr(pm, 'shape_nuisances', ()))} shape) | "
          f"{build:.2f} s | {batched * 1e3:.0f} ms | {per_point * 201:.1f} s (extrapolated from 10)"
          f" | {per_point * 201 / batched:.0f}× | {worst:.1e} | {wall:.1f} s wall, {cpu:.1f} s CPU"
          f" | {os.getloadavg()[0]:.1f} |")


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    print("| release | nuisances | model build | batched profile, 201 points | MIGRAD per point |"
          " ratio | max abs. Δχ² | full fit_release | load |")
    print("|---|---|---|---|---|---|---|---|---|")
    for release in ("coherent-csi-2017", "coherent-csi-2021"):
        bench(release)
