"""The combined grid (cevns.fits.combined.profile_flux / combined_grid: one joint, warm-started,
batched Newton profile of both releases with the shared flux as a linear normsys) against
independent paths.

References: (1) the straightforward per-point path (tests/_reference/flux_scan_reference.py) —
each grid point alone, each release profiled from θ = 0 at the default tolerance (no batching, no
warm start, no joint model), the flux nuisance minimised by SciPy's bounded Brent method; (2)
iminuit MIGRAD minimising each release's χ² at the flux value found (PoissonModel.minuit: no
derivatives of ours); (3) iminuit MIGRAD over all nuisances of both releases and θ_Φ at once,
on a χ² written here from the releases' own models (no normsys factor).
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
    return parts, sigma_flux, profile_flux(parts, sigma_flux)


@pytest.mark.parametrize("i", [0, 2, 5, 9])
def test_grid_points_match_the_straightforward_per_point_path(grid, i):
    """χ² and θ_Φ of the joint profile equal the point-by-point minimisation over θ_Φ: the χ²
    to 1e-6 (Brent's x tolerance 1e-8 costs < 1e-12 in χ²) and never above it, θ_Φ to 1e-4
    (χ² is flat in θ_Φ to second order at the minimum)."""
    parts, sigma_flux, fast = grid
    chi2, flux = point_chi2(parts, sigma_flux, i)
    assert float(fast.chi2[i]) == pytest.approx(chi2, abs=1e-6)
    assert float(fast.chi2[i]) <= chi2 + 1e-8
    assert float(fast.flux[i]) == pytest.approx(flux, abs=1e-4)


@pytest.mark.slow  # ~27 s on the CI machine; the per-release MIGRAD check below runs in CI
def test_joint_minimum_matches_migrad_over_every_nuisance(grid):
    """At one grid point, MIGRAD over θ_Φ and every nuisance of both releases at once, on
    Σ_r χ²_r(θ_r | signal × (1 + θ_Φ)) + (θ_Φ/σ_Φ)² evaluated through each release's own
    PoissonModel (the pulls included): the joint profile's minimum is never above MIGRAD's and
    agrees to MIGRAD's tolerance."""
    from iminuit import Minuit

    parts, sigma_flux, fast = grid
    i = 4
    sizes = [len(PoissonModel(m.channels(s[i:i + 1], signal_sigma=sg)).nuisances)
             for m, s, sg in parts.values()]

    def total(x):
        theta, rest, out = x[0], x[1:], (x[0] / sigma_flux) ** 2
        for (model, signal, sigma), k in zip(parts.values(), sizes, strict=True):
            pm = PoissonModel(model.channels(signal[i:i + 1] * (1.0 + theta), signal_sigma=sigma))
            out += pm.point_chi2(0, rest[:k])
            rest = rest[k:]
        return out

    # from θ = 0 everywhere: MIGRAD finds the flux and every nuisance itself
    start = np.zeros(1 + sum(sizes))
    m = Minuit(total, start)
    m.errordef = Minuit.LEAST_SQUARES
    m.tol = 1e-6
    m.migrad()
    assert m.valid
    assert float(fast.chi2[i]) <= m.fval + 1e-7
    assert float(fast.chi2[i]) == pytest.approx(m.fval, abs=2e-4)
    assert float(fast.flux[i]) == pytest.approx(m.values[0], abs=5e-3)


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


def test_repeated_points_are_profiled_once_with_the_same_values(grid, monkeypatch):
    """Points whose signals are equal in every release (a sterile lepton beyond its end point is
    the SM everywhere) are profiled once: the grid with every point repeated, shuffled, gives
    each point the value of the grid without repeats (to 1e-9: the batch composition changes
    the last bits of the profiler's sums), and the joint profile sees each point once."""
    import cevns.fits.combined as combined

    parts, sigma_flux, fast = grid
    n = fast.chi2.size
    order = np.r_[0, np.random.default_rng(1).permutation(np.r_[1:n, 1:n])]
    doubled = {name: (model, signal[order], sigma) for name, (model, signal, sigma) in
               parts.items()}
    sizes = []
    profile = combined.profile_chi2

    def counting(channels, **kw):
        sizes.append(channels[0].components[0].expected.shape[0])
        return profile(channels, **kw)

    monkeypatch.setattr(combined, "profile_chi2", counting)
    again = profile_flux(doubled, sigma_flux)
    np.testing.assert_allclose(again.chi2, fast.chi2[order], rtol=0, atol=1e-9)
    np.testing.assert_allclose(again.flux, fast.flux[order], rtol=0, atol=1e-9)
    assert max(sizes) == n  # never more points than distinct ones


@pytest.mark.parametrize("tol", [0.0, -1e-5, float("nan"), "1e-5"])
def test_profile_flux_refuses_a_tolerance_that_is_no_positive_number(grid, tol):
    from cevns.errors import ConfigError

    parts, sigma_flux, _ = grid
    with pytest.raises(ConfigError, match="tol must be a positive number"):
        profile_flux(parts, sigma_flux, tol=tol)
