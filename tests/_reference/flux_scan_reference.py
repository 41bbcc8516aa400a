"""Straightforward reference for the combined COHERENT grid (cevns.fits.combined.profile_flux).

One grid point at a time, each release's χ² profiled from θ = 0 at the profiler's default
tolerance — no batching over points, no warm starts — with the flux steps of
:func:`cevns.fits.combined.profile_flux` written out: χ² at θ_Φ = −σ_Φ, 0, +σ_Φ, then at the vertex
of the parabola through the three (clipped to two spans of the best point and to θ_Φ ≥ −0.9), and
the lowest of the four. Used by tests/fits/test_combined_grid.py and benchmarks/bench_overlay.py.
"""

from __future__ import annotations

import numpy as np

from cevns.stats import profile_chi2


def release_chi2(model, signal, sigma, theta: float) -> float:
    """One release's profiled χ² at one point with its signal scaled by (1 + θ_Φ)."""
    res = profile_chi2(model.channels(signal * (1.0 + theta), signal_sigma=sigma), tol=1e-10,
                       warn=False)
    if not res.all_converged:
        raise RuntimeError("reference profile did not converge")
    return float(np.ravel(res.chi2)[0])


def point_chi2(parts: dict, sigma_flux: float, i: int) -> tuple[float, float]:
    """(χ², θ_Φ) of grid point ``i`` of ``parts`` (release → (model, signals, rest σ))."""
    def total(theta: float) -> float:
        return sum(release_chi2(model, signal[i:i + 1], sigma, theta)
                   for model, signal, sigma in parts.values()) + (theta / sigma_flux) ** 2

    a, b, c = -sigma_flux, 0.0, sigma_flux
    fa, fb, fc = total(a), total(b), total(c)
    three = sorted([(fa, a), (fb, b), (fc, c)])
    best = three[0]
    span = max(a, b, c) - min(a, b, c)
    num = (b - a) ** 2 * (fb - fc) - (b - c) ** 2 * (fb - fa)
    den = (b - a) * (fb - fc) - (b - c) * (fb - fa)
    vertex = b - 0.5 * num / den if den != 0 else best[1]
    if not np.isfinite(vertex):
        vertex = best[1]
    reach = 2.0 * max(span, sigma_flux)
    vertex = max(float(np.clip(vertex, best[1] - reach, best[1] + reach)), -0.9)
    return min(best, (total(vertex), vertex))
