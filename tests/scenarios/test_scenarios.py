"""Scenarios: the recoil re-weighting fast path equals a full rebuild; parameters are checked."""

from __future__ import annotations

import numpy as np
import pytest

from cevns.errors import ConfigError, UnknownNameError
from cevns.experiment import get_detector, get_source
from cevns.physics.constants import SIN2_THETA_W
from cevns.rates import basis_spectra, sm_spectrum
from cevns.scenarios import get_scenario, scenario_names

SRC = get_source()


def _direct(sc, det, shape, strength):
    bs = basis_spectra(det, SRC, sc.basis_for(shape, det, SRC))
    full = {n: np.asarray(p.default) for n, p in sc.parameters.items() if p.kind == "strength"}
    full.update({k: np.asarray(v) for k, v in strength.items()})
    return bs.combine(sc.coefficients(full), per_flavour=sc.per_flavour)


@pytest.mark.parametrize("det_name", ["CsI", "Si", "C3F8"])
def test_neutron_radius_fast_path_equals_rebuild(det_name):
    det = get_detector(det_name)
    sc = get_scenario("sm", form_factor="separate")
    rn = np.array([1.8, 3.0, 4.9])
    s2 = np.array([0.22, SIN2_THETA_W])
    grid = sc.counts(det, SRC, {"neutron_radius_fm": rn, "sin2_theta_w": s2})
    assert grid.shape == (3, 2, det.n_bins)
    for i, r in enumerate(rn):
        for j, s in enumerate(s2):
            ref = _direct(sc, det, {"neutron_radius_fm": r}, {"sin2_theta_w": s})
            np.testing.assert_allclose(grid[i, j], ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("interaction", ["scalar", "vector", "axial", "tensor"])
def test_mediator_mass_fast_path_equals_rebuild(interaction):
    det = get_detector("CsI")
    sc = get_scenario("ngi", interaction=interaction)
    masses = np.array([0.5, 20.0, 3000.0])
    g = np.array([1e-6, 1e-4])
    grid = sc.counts(det, SRC, {"mediator_mass_MeV": masses, "coupling": g})
    for i, m in enumerate(masses):
        for j, c in enumerate(g):
            ref = _direct(sc, det, {"mediator_mass_MeV": m}, {"coupling": c})
            np.testing.assert_allclose(grid[i, j], ref, rtol=1e-12, atol=1e-12)


def test_sm_scenario_reproduces_sm_spectrum():
    det = get_detector("Xe")
    got = get_scenario("sm").counts(det, SRC, {})
    np.testing.assert_allclose(got, sm_spectrum(det).signal_per_bin, rtol=1e-13)
    # separate form factors at the default neutron radius, F_p at R_p: a few per mille lower
    sep = get_scenario("sm", form_factor="separate").counts(det, SRC, {})
    assert abs(sep.sum() / got.sum() - 1) < 0.02


def test_zero_coupling_is_sm():
    det = get_detector("Ge")
    for inter in ("scalar", "vector", "axial", "tensor"):
        got = get_scenario("ngi", interaction=inter).counts(
            det, SRC, {"coupling": 0.0, "mediator_mass_MeV": 10.0})
        np.testing.assert_allclose(got, sm_spectrum(det).signal_per_bin, rtol=1e-12)


def test_spin_zero_detectors_give_sm_for_axial_and_tensor():
    det = get_detector("Ar")
    got = get_scenario("ngi", interaction="tensor").counts(
        det, SRC, {"coupling": 1.0, "mediator_mass_MeV": 10.0})
    np.testing.assert_allclose(got, sm_spectrum(det).signal_per_bin, rtol=1e-12)


def test_bad_names_and_values():
    with pytest.raises(UnknownNameError, match="scenario"):
        get_scenario("susy")
    with pytest.raises(ConfigError, match="interaction"):
        get_scenario("ngi", interaction="pseudoscalar")
    with pytest.raises(ConfigError, match="unknown key"):
        get_scenario("ngi", interaction="scalar", mediatr="x")
    sc = get_scenario("ngi", interaction="scalar")
    det = get_detector("CsI")
    with pytest.raises(UnknownNameError, match="parameter"):
        sc.counts(det, SRC, {"coupling_g": 1.0})
    with pytest.raises(ConfigError, match="coupling"):
        sc.counts(det, SRC, {"coupling": -1e-5})
    with pytest.raises(ConfigError, match="mediator_mass_MeV"):
        sc.counts(det, SRC, {"mediator_mass_MeV": 0.0})
    with pytest.raises(ConfigError, match="neutron_radius_fm"):
        get_scenario("sm", form_factor="separate").counts(det, SRC, {"neutron_radius_fm": -1.0})
    assert {"sm", "ngi"} <= set(scenario_names())


@pytest.mark.parametrize("channel", ["e", "mu"])
def test_oscillation_scan_of_many_splittings_equals_point_by_point(channel):
    # Evenly spaced runs of Δm² are computed together (OscillationScanBasis); the reference is
    # the one-basis-per-Δm² path of the Scenario base class. Same counts to 1e-12.
    from cevns.scenarios.base import Scenario

    sc = get_scenario("sterile-oscillation", channel=channel)
    det, src = get_detector("CsI"), get_source("ess")
    values = {"sin2_2theta": np.array([0.01, 0.3]),
              "delta_m2_eV2": np.array([0.5, 1.0, 2.0, *np.arange(3.0, 30.0, 0.6)])}
    fast = sc.counts(det, src, values)
    reference = np.stack([Scenario._term_counts_many(sc, det, src, [{"delta_m2_eV2": v}])[0]
                          for v in values["delta_m2_eV2"]])  # (Δm², terms, flavours, bins)
    coeff = sc.coefficients({"sin2_2theta": values["sin2_2theta"][:, None],
                             "sin2_theta_w": np.full((2, 1), SIN2_THETA_W)})
    expected = np.einsum("jsd,djb->sdb", coeff, reference.sum(axis=2))
    np.testing.assert_allclose(fast, expected, rtol=1e-12)
