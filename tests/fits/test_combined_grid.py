"""The batched, warm-started combined grid (cevns.fits.combined.profile_flux / combined_grid)
against the straightforward path and iminuit.

References: (1) the straightforward per-point path (tests/_reference/flux_scan_reference.py) —
each grid point alone, each release profiled from θ = 0 at the default tolerance (no batching, no
warm start), with the same flux steps (−σ_Φ, 0, +σ_Φ, then the parabola's vertex); (2) iminuit
MIGRAD minimising each release's χ² at the flux value found (PoissonModel.minuit: no derivatives
of ours).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from cevns.fits.combined import grid_parts, profile_flux
from cevns.stats import PoissonModel

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "_reference"))
from flux_scan_reference import point_chi2  # noqa: E402

#: A small NGI grid (scalar mediator): points below, near and above today's limit.
MASSES = np.array([3.0, 30.0, 300.0])
COUPLINGS = np.array([1e-5, 1e-4, 6e-4])


@pytest.fixture(scope="module")
def grid():
    parts, sigma_flux, _ = grid_parts("ngi", "mediator_mass_MeV", MASSES, "coupling", COUPLINGS,
                                      options={"interaction": "scalar"})
    return parts, sigma_flux, profile_flux(parts, sigma_flux, refine=1)


@pytest.mark.parametrize("i", [0, 2, 5, 9])
def test_grid_points_match_the_straightforward_per_point_path(grid, i):
    """χ² and θ_Φ of the batched path equal the point-by-point cold profiles to 1e-6."""
    parts, sigma_flux, fast = grid
    chi2, flux = point_chi2(parts, sigma_flux, i)
    assert float(fast.chi2[i]) == pytest.approx(chi2, abs=1e-6)
    assert float(fast.flux[i]) == pytest.approx(flux, abs=1e-6)


def test_each_release_matches_migrad_at_the_flux_found(grid):
    """Each release's χ² at the θ_Φ found equals MIGRAD's minimum over all its nuisances (our
    Newton result is never above it, and MIGRAD's tolerance bounds the gap)."""
    parts, _, fast = grid
    i = 5
    theta = float(fast.flux[i])
    for name, (model, signal, sigma) in parts.items():
        pm = PoissonModel(model.channels(signal[i:i + 1] * (1.0 + theta), signal_sigma=sigma))
        m = pm.minuit(0)
        m.tol = 1e-6
        m.migrad()
        ours = float(fast.by_release[name][i])
        assert ours <= m.fval + 1e-7
        assert ours == pytest.approx(m.fval, abs=1e-4)
