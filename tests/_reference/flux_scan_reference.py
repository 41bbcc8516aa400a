"""Straightforward reference for the combined COHERENT grid (cevns.fits.combined.profile_flux).

One grid point at a time: each release's χ² profiled alone from θ = 0 at the profiler's default
tolerance (no batching over points, no warm starts, no joint model), with its signal scaled by
(1 + θ_Φ); the minimum of Σ_r χ²_r(θ_Φ) + (θ_Φ/σ_Φ)² over θ_Φ is then found by SciPy's bounded
Brent minimiser (``minimize_scalar(method="bounded")``, x tolerance 10⁻⁸) — the formula of
:mod:`cevns.fits.combined` taken literally, with none of the joint profile's machinery (the
linear ``normsys`` factor, its exact derivatives, the starting values). Used by
tests/fits/test_combined_grid.py and benchmarks/bench_overlay.py.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from cevns.stats import profile_chi2


def release_chi2(model, signal, sigma, theta: float) -> float:
    """One release's profiled χ² at one point with its signal scaled by (1 + θ_Φ)."""
    res = profile_chi2(model.channels(signal * (1.0 + theta), signal_sigma=sigma), tol=1e-10,
                       warn=False)
    if not res.all_converged:
        raise RuntimeError("reference profile did not converge")
    return float(np.ravel(res.chi2)[0])


def point_chi2(parts: dict, sigma_flux: float, i: int,
               bounds: tuple[float, float] = (-0.9, 0.9)) -> tuple[float, float]:
    """(χ², θ_Φ) of grid point ``i`` of ``parts`` (release → (model, signals, rest σ)),
    minimised over θ_Φ in ``bounds``."""
    def total(theta: float) -> float:
        return sum(release_chi2(model, signal[i:i + 1], sigma, theta)
                   for model, signal, sigma in parts.values()) + (theta / sigma_flux) ** 2

    best = minimize_scalar(total, bounds=bounds, method="bounded", options={"xatol": 1e-8})
    if not best.success:
        raise RuntimeError(f"reference minimisation over the flux failed: {best.message}")
    return float(best.fun), float(best.x)
