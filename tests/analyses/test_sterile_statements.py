"""Sterile-sector scenarios: SM limits, paper statements (docs/physics.md#paper-statements), bad input."""

from __future__ import annotations

import numpy as np
import pytest

from cevns.analyses import parse_analysis
from cevns.analyses.sensitivity import chi2_grid
from cevns.errors import ConfigError, KinematicsError
from cevns.experiment import get_detector, get_source
from cevns.rates import sm_spectrum
from cevns.scenarios import get_scenario
from cevns.stats import exclusion_curve

SRC = get_source()
DETS = ["CsI", "Xe", "Ge", "Si", "Ar", "C3F8"]


@pytest.mark.parametrize("det_name", ["CsI", "C3F8"])
def test_sm_limits_of_every_sterile_scenario(det_name):
    det = get_detector(det_name)
    sm = sm_spectrum(det).signal_per_bin
    cases = [
        (get_scenario("nonunitarity"), {"alpha11": 1.0, "alpha22": 1.0}),
        (get_scenario("nonunitarity", reading="unnormalised"), {"alpha11": 1.0}),
        (get_scenario("sterile-oscillation", channel="e"), {"sin2_2theta": 0.0,
                                                            "delta_m2_eV2": 3.0}),
        (get_scenario("sterile-oscillation", channel="mu"), {"sin2_2theta": 1.0,
                                                             "delta_m2_eV2": 0.0}),
        (get_scenario("dipole", channel="e"), {"magnetic_moment": 0.0, "sterile_mass_MeV": 10.0}),
        (get_scenario("upscattering", interaction="T"), {"coupling": 0.0,
                                                         "mediator_mass_MeV": 5.0,
                                                         "sterile_mass_MeV": 2.0}),
    ]
    for sc, values in cases:
        np.testing.assert_allclose(sc.counts(det, SRC, values), sm, rtol=1e-12, err_msg=sc.name)


def test_large_dm2_averages_to_half_on_the_michel_flavours():
    # ν_e channel at Δm² = 100 eV²: ⟨P_ee⟩ → 1 − sin²2θ/2 on ν_e, the other flavours untouched
    det = get_detector("Ar")
    sc = get_scenario("sterile-oscillation", channel="e")
    got = sc.counts(det, SRC, {"sin2_2theta": 1.0, "delta_m2_eV2": 100.0}).sum()
    spec = sm_spectrum(det).per_flavour
    expected = spec["numu"] + spec["numubar"] + 0.5 * spec["nue"]
    assert got == pytest.approx(expected, rel=2e-3)


def _exclusion(scenario, x, y, fixed=None, ties=None, detectors=DETS):
    an = parse_analysis({"schema_version": 1, "name": "t", "title": "t", "kind": "exclusion",
                         "detectors": detectors, "scenario": scenario, "x": x, "y": y,
                         "fixed": fixed or {}, "ties": ties or {}})
    chi2 = chi2_grid(an)["combined" if len(detectors) > 1 else detectors[0]]
    delta = chi2 - chi2.min()
    curve = exclusion_curve(an.x.grid(), an.y.grid(), delta, "90cl_2dof")
    return np.where(curve.found, curve.limit, np.inf)


def test_dipole_reach_ends_near_50_MeV():
    lim = _exclusion({"name": "dipole", "options": {"channel": "mu", "beyond_reach": "no-signal"}},
                     {"parameter": "sterile_mass_MeV", "values": [1.0, 30.0, 50.0, 52.85]},
                     {"parameter": "magnetic_moment", "start": 1e-11, "stop": 1e-5, "num": 121,
                      "spacing": "log"})
    assert np.isfinite(lim[0]) and lim[1] > lim[0]
    assert lim[2] > 10 * lim[0]  # strongly weakened approaching the kinematic end
    assert not np.isfinite(lim[3])  # beyond every target's reach (52.70–52.82 MeV)


@pytest.mark.parametrize(("up", "ngi"), [("S", "scalar"), ("V", "vector")])
def test_upscattering_plateaus_at_the_ngi_limit(up, ngi):
    y = {"parameter": "coupling", "start": 1e-7, "stop": 1e-2, "num": 161, "spacing": "log"}
    lim_up = _exclusion({"name": "upscattering", "options": {"interaction": up}},
                        {"parameter": "mediator_mass_MeV", "values": [0.01, 0.02]}, y,
                        fixed={"sterile_mass_MeV": 1e-3})
    # the NGI counterpart without SM interference: scalar has none; for the vector compare the
    # pure-BSM up-scattering term with the universal-vector NGI only through the plateau shape
    # (vector_charge is an option of the vector interaction only)
    options = {"interaction": ngi, **({"vector_charge": "universal"} if ngi == "vector" else {})}
    lim_ngi = _exclusion({"name": "ngi", "options": options},
                         {"parameter": "mediator_mass_MeV", "values": [0.01, 0.02]}, y)
    assert lim_up[0] == pytest.approx(lim_up[1], rel=0.02)  # flat for light m_X and m₄
    if up == "S":
        assert lim_up[0] == pytest.approx(lim_ngi[0], rel=0.02)


def test_bad_input_named():
    det = get_detector("CsI")
    with pytest.raises(KinematicsError, match="sterile_mass_MeV 60"):
        get_scenario("dipole", channel="e").counts(det, SRC, {"sterile_mass_MeV": 60.0})
    with pytest.raises(ConfigError, match="delta_m2_eV2"):
        get_scenario("sterile-oscillation", channel="e").counts(det, SRC,
                                                                {"delta_m2_eV2": -1.0})
    with pytest.raises(ConfigError, match="sin2_2theta"):
        get_scenario("sterile-oscillation", channel="e").counts(det, SRC, {"sin2_2theta": 1.5})
    with pytest.raises(ConfigError, match="alpha11"):
        get_scenario("nonunitarity").counts(det, SRC, {"alpha11": 1.2})
    with pytest.raises(ConfigError, match="alpha22"):
        get_scenario("nonunitarity").counts(det, SRC, {"alpha22": 0.0})
    with pytest.raises(ConfigError, match="channel"):
        get_scenario("dipole", channel="tau")
    with pytest.raises(ConfigError, match="magnetic_moment"):
        get_scenario("dipole", channel="e").counts(det, SRC, {"magnetic_moment": -1e-9})
