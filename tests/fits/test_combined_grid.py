"""The batched, warm-started combined grid (cevns.fits.combined.profile_flux / combined_grid)
against the straightforward path and iminuit.

References: (1) the straightforward per-point path — each grid point alone, each release profiled
from θ = 0 at the default tolerance (no batching, no warm start, no shared interpolation rows),
with the same flux steps (−σ_Φ, 0, +σ_Φ, then the parabola's vertex) written out here; (2) iminuit
MIGRAD minimising each release's χ² at the flux value found (PoissonModel.minuit: no derivatives
of ours).
"""

from __future__ import annotations

import numpy as np
import pytest

from cevns.fits.combined import grid_parts, profile_flux
from cevns.stats import profile_chi2

#: A small NGI grid (scalar mediator): points below, near and above today's limit.
MASSES = np.array([3.0, 30.0, 300.0])
COUPLINGS = np.array([1e-5, 1e-4, 6e-4])


@pytest.fixture(scope="module")
def grid():
    parts, sigma_flux, _ = grid_parts("ngi", "mediator_mass_MeV", MASSES, "coupling", COUPLINGS,
                                      options={"interaction": "scalar"})
    return parts, sigma_flux, profile_flux(parts, sigma_flux, refine=1)


def _release_chi2(model, signal, sigma, theta):
    res = profile_chi2(model.channels(signal * (1.0 + theta), signal_sigma=sigma), tol=1e-10)
    assert res.all_converged
    return float(res.chi2[0])


def _straightforward(parts, sigma_flux, i):
    """Point ``i`` alone: χ²(θ_Φ) at −σ, 0, +σ and at the vertex of the parabola through the
    three, each release profiled from θ = 0; the lowest of the four."""
    def total(theta):
        return sum(_release_chi2(model, signal[i:i + 1], sigma, theta)
                   for model, signal, sigma in parts.values()) + (theta / sigma_flux) ** 2

    a, b, c = -sigma_flux, 0.0, sigma_flux
    fa, fb, fc = total(a), total(b), total(c)
    num = (b - a) ** 2 * (fb - fc) - (b - c) ** 2 * (fb - fa)
    den = (b - a) * (fb - fc) - (b - c) * (fb - fa)
    best = min((fa, a), (fb, b), (fc, c))
    vertex = b - 0.5 * num / den if den != 0 else best[1]
    vertex = float(np.clip(vertex, best[1] - 2 * sigma_flux, best[1] + 2 * sigma_flux))
    vertex = max(vertex, -0.9)
    return min(best, (total(vertex), vertex))


@pytest.mark.parametrize("i", [0, 2, 5, 9])
def test_grid_points_match_the_straightforward_per_point_path(grid, i):
    """χ² and θ_Φ of the batched path equal the point-by-point cold profiles to 1e-6."""
    parts, sigma_flux, fast = grid
    chi2, flux = _straightforward(parts, sigma_flux, i)
    assert float(fast.chi2[i]) == pytest.approx(chi2, abs=1e-6)
    assert float(fast.flux[i]) == pytest.approx(flux, abs=1e-6)


def test_each_release_matches_migrad_at_the_flux_found(grid):
    """Each release's χ² at the θ_Φ found equals MIGRAD's minimum over all its nuisances (our
    Newton result is never above it, and MIGRAD's tolerance bounds the gap)."""
    parts, _, fast = grid
    i = 5
    theta = float(fast.flux[i])
    from cevns.stats import PoissonModel

    for name, (model, signal, sigma) in parts.items():
        pm = PoissonModel(model.channels(signal[i:i + 1] * (1.0 + theta), signal_sigma=sigma))
        m = pm.minuit(0)
        m.tol = 1e-6
        m.migrad()
        ours = float(fast.by_release[name][i])
        assert ours <= m.fval + 1e-7
        assert ours == pytest.approx(m.fval, abs=1e-4)
