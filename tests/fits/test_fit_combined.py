"""The combined CsI-2021 + LAr-2020 fit with a shared flux nuisance (cevns.fits.combined)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cevns.errors import ConfigError
from cevns.fits import fit_parameter, make_signal_model, signal_uncertainty
from cevns.fits.combined import (
    DEFAULT_RELEASES,
    combined_grid,
    fit_combined,
    flux_sigma,
    packaged_model,
    profile_flux,
    rest_sigma,
)
from cevns.stats import profile_chi2


@pytest.fixture(scope="module")
def parts():
    """sin²θ_W signals of both releases at three values."""
    values = np.array([0.20, 0.23857, 0.28])
    out = {}
    for r in DEFAULT_RELEASES:
        model = packaged_model(r)
        sm = make_signal_model(model, "sin2_theta_w")
        out[r] = (model, sm.signal(values), rest_sigma(model, sm.signal_sigma))
    return out


def test_the_shared_flux_uncertainty_is_each_release_s(parts):
    models = [m for m, _, _ in parts.values()]
    assert flux_sigma(models) == 0.10
    csi, lar = (packaged_model(r) for r in DEFAULT_RELEASES)
    # LAr: the release's 17/128 total minus the flux piece, in quadrature
    assert rest_sigma(lar, signal_uncertainty(lar)[0]) == pytest.approx(
        math.sqrt((17 / 128) ** 2 - 0.1**2), rel=1e-9)
    total, pieces = signal_uncertainty(csi)
    assert rest_sigma(csi, total) == pytest.approx(
        math.hypot(pieces["quenching"], pieces["efficiency"]), rel=1e-9)


@pytest.mark.parametrize("theta", [-0.12, 0.0, 0.07])
def test_with_the_flux_fixed_the_chi2_is_the_sum_of_the_releases(parts, theta):
    """Held fixed, the shared nuisance makes the combination the plain sum (plus its pull) of
    each release's own profiled χ² with the signal scaled by (1 + θ_Φ)."""
    combined = profile_flux(parts, 0.10, flux=theta)
    expected = np.zeros(3)
    for model, signal, sigma in parts.values():
        expected += profile_chi2(model.channels(signal * (1 + theta), signal_sigma=sigma)).chi2
    expected += (theta / 0.10) ** 2
    np.testing.assert_allclose(combined.chi2, expected, rtol=1e-9)
    np.testing.assert_allclose(sum(combined.by_release.values()) + (theta / 0.1) ** 2,
                               combined.chi2, rtol=1e-12)


@pytest.mark.slow  # 13-21 s; outside the 10-minute CI budget on the slow host (run with -m slow)
def test_the_flux_minimum_matches_a_fine_scan(parts):
    """Batched parabolic minimisation over θ_Φ against a brute-force scan: every 0.02 over
    [−0.4, 0.4], then every 0.005 over the span of the coarse minima ± 0.04 (the same 0.005 grid
    as a full scan of 161 values where the minima lie, at a third of the cost)."""
    result = profile_flux(parts, 0.10)
    coarse = np.linspace(-0.4, 0.4, 41)
    at = coarse[np.argmin(np.stack([profile_flux(parts, 0.10, flux=t).chi2 for t in coarse]),
                          axis=0)]
    thetas = np.linspace(-0.4, 0.4, 161)
    thetas = thetas[(thetas >= at.min() - 0.04 - 1e-9) & (thetas <= at.max() + 0.04 + 1e-9)]
    scan = np.stack([profile_flux(parts, 0.10, flux=t).chi2 for t in thetas])
    i = np.argmin(scan, axis=0)
    assert np.all((i > 0) & (i < thetas.size - 1))  # every minimum inside the fine window
    assert np.all(result.chi2 <= scan.min(axis=0) + 1e-6)  # never above the scan's minimum
    assert np.all(result.chi2 >= scan.min(axis=0) - 0.01)  # the scan's grid is 0.005 wide
    np.testing.assert_allclose(result.flux, thetas[i], atol=0.006)


def test_combined_sin2_theta_w_is_tighter_than_each_release():
    combined = fit_combined("sin2_theta_w")
    widths = {r: fit_parameter(packaged_model(r), "sin2_theta_w", cross_check=False)
              for r in DEFAULT_RELEASES}
    width = combined.upper - combined.lower
    assert all(width < f.upper - f.lower for f in widths.values())
    assert min(f.best for f in widths.values()) < combined.best < max(
        f.best for f in widths.values())
    assert abs(combined.flux_at_best) < 0.1
    assert combined.row()["releases"] == " + ".join(DEFAULT_RELEASES)


def test_the_neutron_radius_acts_on_csi_only():
    fit = fit_combined("neutron_radius_fm")
    assert fit.applies_to == ("coherent-csi-2021",)
    assert any("acts on coherent-csi-2021 only" in n for n in fit.notes)


def test_bad_combinations_are_refused():
    with pytest.raises(ConfigError, match="contained in coherent-csi-2021"):
        fit_combined("sin2_theta_w", releases=("coherent-csi-2017", "coherent-csi-2021"))
    with pytest.raises(ConfigError, match="one number per release"):
        fit_combined("n_cevns")
    with pytest.raises(ConfigError, match="at least two"):
        fit_combined("sin2_theta_w", releases=("coherent-lar-2020",))


def test_grid_column_matches_the_one_dimensional_combined_profile():
    """combined_grid at one mediator mass against fit_combined of the coupling at that mass:
    the Δχ² = 2.71 crossing (interpolated in the grid) equals the 1-D 90 % C.L. limit."""
    fit = fit_combined("ngi.coupling", options={"interaction": "scalar"},
                       fixed={"mediator_mass_MeV": 10.0})
    g = np.linspace(0.0, 2.0 * fit.limit_90cl, 81)
    delta = combined_grid("ngi", "mediator_mass_MeV", np.array([10.0, 20.0]), "coupling", g,
                          options={"interaction": "scalar"}, level=None)[0]
    delta = delta - delta.min()  # the 1-D fit measures from its own minimum
    above = np.flatnonzero((delta > 2.706) & (g > g[np.argmin(delta)]))[0]
    crossing = np.interp(2.706, delta[above - 1:above + 1], g[above - 1:above + 1])
    assert crossing == pytest.approx(fit.limit_90cl, rel=5e-3)


def test_packaged_model_is_one_model_however_the_skin_is_passed():
    """The cache is keyed on values: the default, the constant passed by position or by name, and
    an int-valued float give the same (shared, read-only) model; another skin gives another."""
    from cevns.datasets.coherent.experiment import RELEASE_HELM_SKIN_FM

    r = DEFAULT_RELEASES[0]
    first = packaged_model(r)
    assert packaged_model(r, RELEASE_HELM_SKIN_FM) is first
    assert packaged_model(r, helm_skin_fm=RELEASE_HELM_SKIN_FM) is first
    assert packaged_model(r, 1) is packaged_model(r, 1.0)
    assert packaged_model(r, 1.0) is not first
