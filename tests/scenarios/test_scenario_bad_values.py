"""Scenario.counts with values the audit found giving NaN/inf or a bare ValueError: a ConfigError
naming the parameters instead, and no numpy RuntimeWarning."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from cevns.errors import ConfigError
from cevns.experiment import get_detector, get_source
from cevns.scenarios import get_scenario

CSI, ESS = get_detector("CsI"), get_source("ess")


@pytest.mark.parametrize(("scenario", "options", "values", "named"), [
    ("ngi", {"interaction": "vector"}, {"coupling": 1e200, "mediator_mass_MeV": 10.0},
     r"parameter coupling: values must be ≤ 12\.5664, got 1e\+200 \(a coupling ≥ 0, at most "
     r"4π ≈ 12\.57, the strong-coupling limit"),
    ("ngi", {"interaction": "vector"},
     {"coupling": np.array([1e-5, 1e200]), "mediator_mass_MeV": 10.0},
     r"parameter coupling: values must be ≤ 12\.5664, got 1e\+200"),
    ("upscattering", {"interaction": "V"}, {"coupling": 13.0},
     r"parameter coupling: values must be ≤ 12\.5664, got 13 "),
    ("dipole", {"channel": "mu"}, {"magnetic_moment": 1e200, "sterile_mass_MeV": 1.0},
     r"parameter magnetic_moment: values must be ≤ 1 μ_B, got 1e\+200 \(.*at most 1 μ_B, the "
     r"moment of the electron itself"),
])
def test_a_strength_above_its_physical_bound_is_a_config_error(scenario, options, values, named):
    """These returned NaN (ngi) or inf (dipole) with only RuntimeWarnings, then (audit 4) an
    "overflow" error; since audit 5 (#7) couplings are bounded by 4π
    (cevns.physics.constants.MAX_COUPLING) and magnetic moments by 1 μ_B
    (MAX_MAGNETIC_MOMENT_MUB): the message gives the range and why."""
    sc = get_scenario(scenario, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ConfigError, match=named):
            sc.counts(CSI, ESS, values)


@pytest.mark.parametrize(("scenario", "options", "name", "cap"), [
    ("ngi", {"interaction": "vector"}, "coupling", 4 * np.pi),
    ("upscattering", {"interaction": "A"}, "coupling", 4 * np.pi),
    ("dipole", {"channel": "e"}, "magnetic_moment", 1.0),
])
def test_the_strength_bounds_are_validity_caps(scenario, options, name, cap):
    """The caps are marked as such (Parameter.upper_is_cap): fits neither start their scan
    there nor give them to iminuit (cevns.fits); the cap itself is an accepted value."""
    p = get_scenario(scenario, **options).parameters[name]
    assert (p.lower, p.upper, p.upper_is_cap) == (0.0, pytest.approx(cap, rel=1e-15), True)
    assert float(p.check(cap)) == p.upper


def test_a_value_that_is_not_a_number_is_a_config_error():
    # used to raise a bare "ValueError: could not convert string to float: 'x'"
    with pytest.raises(ConfigError, match=r"parameter coupling: values must be numbers, got 'x'"):
        get_scenario("ngi", interaction="vector").counts(CSI, ESS, {"coupling": "x"})


def test_ordinary_values_still_give_counts():
    counts = get_scenario("ngi", interaction="vector").counts(
        CSI, ESS, {"coupling": np.array([0.0, 1e-5]), "mediator_mass_MeV": 10.0})
    assert counts.shape == (2, CSI.n_bins) and np.all(np.isfinite(counts))


def test_a_negative_magnetic_moment_says_why_it_is_refused():
    # the rate depends on μ² only: the message now says so, instead of a bare "must be ≥ 0"
    with pytest.raises(ConfigError, match=r"magnetic_moment: values must be ≥ 0 μ_B, got -1e-10 "
                                          r"\(the rate depends on μ² only.*give \|μ\|"):
        get_scenario("dipole", channel="e").counts(
            CSI, ESS, {"magnetic_moment": -1e-10, "sterile_mass_MeV": 1.0})


def test_a_vanishing_alpha_is_one_config_error_without_a_numpy_warning():
    # a "divide by zero" RuntimeWarning came before the error
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ConfigError, match=r"alpha11 = 1e-300"):
            get_scenario("nonunitarity").counts(CSI, ESS, {"alpha11": 1e-300})


def test_zero_masses_and_empty_grids_stay_accepted():
    # physically valid: a massless sterile state and mediator, and an empty list of points
    ups = get_scenario("upscattering", interaction="V")
    assert np.all(np.isfinite(ups.counts(CSI, ESS, {"coupling": 1e-5, "mediator_mass_MeV": 0.0,
                                                     "sterile_mass_MeV": 0.0})))
    assert ups.counts(CSI, ESS, {"coupling": np.array([])}).shape == (0, CSI.n_bins)


@pytest.mark.parametrize("values", [True, np.True_, np.array([1.0]) > 0, [1e-5, True],
                                    (1e-5, np.False_), [[1e-5], [True]], [np.array([True])]])
def test_a_bool_anywhere_in_the_values_is_refused(values):
    # Parameter.check looks into lists and tuples for a bool (cevns.errors.is_bool with
    # recurse=True); the message is the one Parameter.check writes
    from cevns.scenarios.base import Parameter

    with pytest.raises(ConfigError, match=r"^parameter x: values must be numbers, got .* "
                                          r"\(true/false is not a number\)$"):
        Parameter("x", "strength", 0.0).check(values)
    # the same numbers without the bool pass
    np.testing.assert_array_equal(Parameter("x", "strength", 0.0).check([1e-5, 1.0]), [1e-5, 1.0])


@pytest.mark.parametrize(("value", "message"), [
    (1.0000001, r"values must be ≤ 1, got 1\.0000001 \(sin²θ_W is a squared sine, in \[0, 1\]\)$"),
    (-1e-9, r"values must be ≥ 0, got -1e-09 \(sin²θ_W is a squared sine, in \[0, 1\]\)$"),
    # NaN and ±inf: the message names the range too (it did not before)
    (np.nan, r"values must be finite and in \[0, 1\], got nan \(sin²θ_W is a squared sine"),
    (np.inf, r"values must be finite and in \[0, 1\], got inf \(sin²θ_W is a squared sine"),
    (-np.inf, r"values must be finite and in \[0, 1\], got -inf \(sin²θ_W is a squared sine"),
    (True, r"values must be numbers, got True \(true/false is not a number\)$"),
])
@pytest.mark.parametrize("scenario", ["sm", "ngi"])
def test_sin2_theta_w_outside_zero_one_is_refused(scenario, value, message):
    # the scenario parameter has the package's one range of sin²θ_W, [0, 1]
    # (cevns.physics.constants.SIN2_THETA_W_RANGE); "got 1" for 1.0000001 was the :g format
    sc = get_scenario(scenario, **({"interaction": "vector"} if scenario == "ngi" else {}))
    with pytest.raises(ConfigError, match=r"^parameter sin2_theta_w: " + message):
        sc.counts(CSI, ESS, {"sin2_theta_w": value})


@pytest.mark.parametrize(("parameter", "text"), [
    (dict(lower=0.0, upper=1.0), "finite and in [0, 1]"),
    (dict(lower=0.0, upper=1.0, lower_open=True), "finite and in (0, 1]"),
    (dict(lower=0.0, upper=2.0, unit="MeV"), "finite and in [0, 2] MeV"),
    (dict(lower=0.0, lower_open=True, unit="MeV"), "finite and > 0 MeV"),
    (dict(lower=-1.0), "finite and ≥ -1"),
    (dict(upper=3.0), "finite and ≤ 3"),
    (dict(), "finite"),
])
def test_non_finite_value_message_names_the_range(parameter, text):
    from cevns.scenarios.base import Parameter

    with pytest.raises(ConfigError, match=r"^parameter x: values must be (.*), got nan$") as err:
        Parameter("x", "strength", 0.5, **parameter).check([0.5, np.nan])
    assert err.value.args[0] == f"parameter x: values must be {text}, got nan"


def test_sin2_theta_w_edges_give_finite_counts():
    """The scenario parameter refused 0 (it was (0, 1]); both edges are legal. Expected: the SM
    counts are quadratic in sin²θ_W (g_V^p = 1/2 − 2 sin²θ_W), so at 0 and 1 they are the parabola
    through three interior values."""
    s = np.array([0.2, 0.25, 0.3, 0.0, 1.0])
    counts = get_scenario("sm").counts(CSI, ESS, {"sin2_theta_w": s}).sum(axis=-1)
    parabola = np.polyfit(s[:3], counts[:3], 2)
    np.testing.assert_allclose(counts[3:], np.polyval(parabola, s[3:]), rtol=1e-9)
