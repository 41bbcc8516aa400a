"""Benchmark of the combined COHERENT grid (the ``coherent`` overlay) against iminuit per point.

Run as ``python benchmarks/bench_combined.py`` (``--help`` for options).

Case: NGI scalar, mediator mass × coupling on the overlay's own full grid (28 × 32 points, log
axes as in fig7), CsI-2021 + LAr-2020 with the shared flux nuisance. The fast path is
:func:`cevns.fits.combined.combined_grid` as the overlay calls it (each release's batched Newton
profile at θ_Φ = 0, then one joint batched profile with the flux as a shared linear normsys).
The straightforward reference minimises the same combined χ² — both releases' Poisson χ² with
every nuisance of both and the shared θ_Φ — with Migrad point by point on a random subset of grid
points; its time for the whole grid is
*extrapolated* linearly from the subset and labelled so. The χ² of the two methods are compared on
that subset (the fast path's χ² must not lie above Migrad's by more than the tolerance; below is
allowed — Migrad may stop early).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
from iminuit import Minuit

from cevns.fits.combined import grid_parts, packaged_model, profile_flux
from cevns.stats import PoissonModel


def _reference(parts: dict, sigma_flux: float, index: int) -> tuple[float, bool]:
    """Migrad over θ_Φ and every nuisance of every release at grid point ``index``."""
    models, names = [], []
    for release, (model, signal, sigma) in parts.items():
        poisson = PoissonModel(model.channels(signal[index:index + 1], signal_sigma=sigma))
        models.append((release, model, signal[index], sigma, poisson.nuisances))
        names += [f"{release}:{n}" for n in poisson.nuisances]

    def chi2(x: np.ndarray) -> float:
        theta = x[0]
        total = (theta / sigma_flux) ** 2
        k = 1
        for _, model, signal, sigma, nuis in models:
            channels = model.channels(signal[None, :] * (1.0 + theta), signal_sigma=sigma)
            values = dict(zip(nuis, x[k:k + len(nuis)], strict=True))
            k += len(nuis)
            value = float(PoissonModel(channels).chi2(values)[0])
            if not np.isfinite(value):
                return 1e30
            total += value
        return total

    m = Minuit(chi2, np.zeros(1 + len(names)), name=("flux", *names))
    m.errordef = Minuit.LEAST_SQUARES
    for n in ("flux", *names):
        m.limits[n] = (-1.0 + 1e-9, None)
    m.strategy = 1
    m.migrad()
    return float(m.fval), bool(m.valid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="repeats of the fast path")
    parser.add_argument("--subset", type=int, default=12, help="grid points for Migrad")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    for r in ("coherent-csi-2021", "coherent-lar-2020"):
        packaged_model(r)  # build the release models once (not timed: the overlay reuses them)
    masses = np.geomspace(0.01, 1e4, 28)
    couplings = np.geomspace(1e-7, 1e-1, 32)
    options = {"interaction": "scalar"}
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        parts, sigma_flux, _ = grid_parts("ngi", "mediator_mass_MeV", masses, "coupling",
                                          couplings, options=options)
        fast = profile_flux(parts, sigma_flux)
        times.append(time.perf_counter() - t0)
    rng = np.random.default_rng(args.seed)
    subset = rng.choice(fast.chi2.size, size=args.subset, replace=False)
    t0 = time.perf_counter()
    results = [_reference(parts, sigma_flux, int(i)) for i in subset]
    per_point = (time.perf_counter() - t0) / subset.size
    reference = np.array([r[0] for r in results])
    valid = np.array([r[1] for r in results])
    excess = (fast.chi2[subset] - reference)[valid]
    load = os.getloadavg()[0]
    print(f"python {platform.python_version()}, load {load:.1f}")
    print(f"combined grid 28 x 32 (NGI scalar), fast path: min {min(times):.2f} s, "
          f"median {float(np.median(times)):.2f} s")
    print(f"Migrad per point: {per_point:.2f} s/point -> {per_point * fast.chi2.size:.0f} s for "
          f"the grid (extrapolated from {subset.size})")
    print(f"ratio {per_point * fast.chi2.size / float(np.median(times)):.0f}x; fast - Migrad "
          f"chi2 on the {valid.sum()} valid Migrad minima of the subset: max {excess.max():+.2e}, "
          f"min {excess.min():+.2e} ({(~valid).sum()} invalid Migrad)")


if __name__ == "__main__":
    main()
