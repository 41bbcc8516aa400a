"""``EnergyResponse.with_smearing``: the ±1σ responses of the CsI light-yield and gamma-smearing
shape nuisances (docs/coherent_csi.md)."""

from __future__ import annotations

import numpy as np
import pytest

from cevns.datasets import load_release
from cevns.errors import ConfigError
from cevns.physics.units import keV


@pytest.fixture(scope="module")
def responses():
    return {name: load_release(name).response
            for name in ("coherent-csi-2017", "coherent-csi-2021")}


def test_only_the_named_parameter_changes(responses):
    resp = responses["coherent-csi-2021"]
    moved = resp.with_smearing(shape_slope_per_kevee=10.5)
    assert moved.smearing.shape_slope_per_kevee == 10.5
    assert moved.smearing.light_yield == resp.smearing.light_yield
    assert type(moved.smearing) is type(resp.smearing)
    assert moved.quenching is resp.quenching and moved.efficiency is resp.efficiency
    assert resp.smearing.shape_slope_per_kevee == 9.56  # the original is untouched


@pytest.mark.parametrize("name", ["coherent-csi-2017", "coherent-csi-2021"])
def test_light_yield_scales_the_mean_pe(responses, name):
    """Mean PE = LY · E_ee (the smearing's definition): × 1.1 in LY is × 1.1 in the mean."""
    resp = responses[name]
    t = np.array([5.0, 20.0, 40.0]) * keV
    ly = resp.smearing.light_yield
    moved = resp.with_smearing(light_yield=1.1 * ly)
    np.testing.assert_allclose(moved.mean_observed(t), 1.1 * resp.mean_observed(t), rtol=1e-12)
    # near threshold more light → more events above the ≈ 5–8 PE thresholds (at high recoils
    # more light pushes events out through the top edge instead)
    low = np.array([3.0, 5.0, 8.0]) * keV
    assert np.all(moved.response_matrix(low).sum(axis=0) > resp.response_matrix(low).sum(axis=0))


def test_gamma_width_follows_b(responses):
    """Relative width 1/√(1 + b·E_ee) of the gamma PE distribution (its shape parameter):
    a larger b gives a narrower distribution, checked by the PE variance of the response column
    at a recoil whose PE distribution lies inside the 0–60 PE binning (no efficiency cut-off is
    needed for the ordering)."""
    resp = responses["coherent-csi-2021"]
    t = np.array([25.0]) * keV
    centres = 0.5 * (resp.axis.edges[1:] + resp.axis.edges[:-1])

    def variance(r):
        col = r.response_matrix(t)[:, 0]
        mean = (col * centres).sum() / col.sum()
        return (col * (centres - mean) ** 2).sum() / col.sum()

    b = resp.smearing.shape_slope_per_kevee
    assert variance(resp.with_smearing(shape_slope_per_kevee=1.5 * b)) < variance(resp)
    assert variance(resp.with_smearing(shape_slope_per_kevee=0.5 * b)) > variance(resp)


@pytest.mark.parametrize("bad", [{"light_yield": -1.0}, {"light_yield": float("nan")},
                                 {"shape_slope_per_kevee": -0.1}, {"quenching_factor": 0.1}])
def test_bad_parameters_are_config_errors(responses, bad):
    name = "coherent-csi-2017" if "quenching_factor" in bad else "coherent-csi-2021"
    with pytest.raises(ConfigError, match=next(iter(bad))):
        responses[name].with_smearing(**bad)
