"""Audit 5 (#5, #6, #12, #14): public physics helpers refuse inputs that gave an impossible number,
a silent NaN or a raw Python/scipy exception, with a ConfigError naming the argument and its
range; valid inputs give the same numbers as before."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cevns.errors import ConfigError
from cevns.physics.cross_sections import sm_basis_terms, sm_differential_cross_section
from cevns.physics.form_factors import rms_radius_from_box_radius
from cevns.physics.nuclei import estimated_charge_radius_fm, get_nucleus
from cevns.physics.running import (
    LIGHT_QUARK_THRESHOLD_GEV,
    alpha_inverse_msbar,
    calibrate_light_quark_threshold,
    sin2_theta_w_msbar,
)
from cevns.physics.units import MeV, fm, keV

MU = np.array([0.0, 0.1, 10.0])


# --- #5: the inputs of the MS-bar running ---------------------------------------------------------
@pytest.mark.parametrize("value", [5.0, -1.0, 0.0, 1.0, math.nan, math.inf, True, "0.23"])
def test_running_refuses_a_sin2_mz_outside_zero_one(value):
    with pytest.raises(ConfigError, match=r"sin2_mz must be a finite number in \(0, 1\)"):
        sin2_theta_w_msbar(MU, sin2_mz=value)


@pytest.mark.parametrize("function", [sin2_theta_w_msbar, alpha_inverse_msbar])
@pytest.mark.parametrize("value", [math.inf, math.nan, -128.0, 0.0, False, "128"])
def test_running_refuses_an_alpha_inverse_that_is_not_finite_and_positive(function, value):
    with pytest.raises(ConfigError, match="alpha_inv_mz must be a finite number > 0"):
        function(MU, alpha_inv_mz=value)


@pytest.mark.parametrize("function", [sin2_theta_w_msbar, alpha_inverse_msbar])
@pytest.mark.parametrize("value", [math.nan, math.inf, 0.0, -0.3, True, "0.378", None])
def test_running_refuses_a_bad_light_quark_threshold(function, value):
    """0.0 raised "math domain error", NaN was used silently and True was taken as 1 GeV."""
    with pytest.raises(ConfigError, match="light_quark_threshold_GeV must be a finite scale > 0"):
        function(1.0, light_quark_threshold_GeV=value)


def test_running_keeps_valid_keywords_and_refuses_others():
    with pytest.raises(ConfigError, match="sin2_mz"):
        sin2_theta_w_msbar(MU, sin2_mz=5.0)
    assert sin2_theta_w_msbar(0.0) == pytest.approx(0.23857, abs=1e-8)
    np.testing.assert_allclose(sin2_theta_w_msbar(MU, sin2_mz=0.23, alpha_inv_mz=128,
                                                  light_quark_threshold_GeV=0.4),
                               sin2_theta_w_msbar(MU, sin2_mz=0.23, alpha_inv_mz=128.0,
                                                  light_quark_threshold_GeV=0.4), rtol=0)


# --- #12: calibrate_light_quark_threshold ---------------------------------------------------------
@pytest.mark.parametrize("target", [0.5, 0.1, 0.2377, 0.2403])
def test_calibration_names_the_reachable_targets(target):
    """scipy's "f(a) and f(b) must have different signs" leaked before."""
    with pytest.raises(ConfigError, match=r"cannot be reached by any light-quark threshold in "
                                          r"\[0.05, 1\] GeV \(reachable: \[0.2377\d*, 0.2402\d*\]"):
        calibrate_light_quark_threshold(target)


@pytest.mark.parametrize("target", [math.nan, math.inf, True, "0.2386", None])
def test_calibration_refuses_a_target_that_is_not_a_number(target):
    with pytest.raises(ConfigError, match="target must be a finite number"):
        calibrate_light_quark_threshold(target)


def test_calibration_keeps_the_default_target_and_refuses_others():
    with pytest.raises(ConfigError, match="cannot be reached"):
        calibrate_light_quark_threshold(0.1)
    assert calibrate_light_quark_threshold() == pytest.approx(LIGHT_QUARK_THRESHOLD_GEV, abs=1e-6)


# --- #6: rms_radius_from_box_radius ---------------------------------------------------------------
@pytest.mark.parametrize("box_radius", [-1.0, -5 * fm, 0.0, math.nan, math.inf, True, "5", None])
def test_box_radius_must_be_a_finite_positive_length(box_radius):
    """A negative box radius gave a positive rms radius, NaN a NaN and 0 the skin term alone."""
    with pytest.raises(ConfigError, match="box_radius .* must be a finite length > 0"):
        rms_radius_from_box_radius(box_radius)


def test_box_radius_keeps_valid_values_and_refuses_others():
    with pytest.raises(ConfigError, match="box_radius"):
        rms_radius_from_box_radius(-5 * fm)
    r0, s = 5.0 * fm, 1.0 * fm
    assert rms_radius_from_box_radius(r0, s) == float(np.sqrt(0.6 * r0**2 + 3.0 * s**2))
    assert rms_radius_from_box_radius(5, s) == float(np.sqrt(0.6 * 5**2 + 3.0 * s**2))


# --- #14: a nucleus that is not a Nucleus; estimated_charge_radius_fm -----------------------------
@pytest.mark.parametrize("nucleus", ["Cs133", None, 55])
def test_cross_section_refuses_a_nucleus_that_is_not_a_nucleus(nucleus):
    """A name gave AttributeError: 'str' object has no attribute 'mass'."""
    with pytest.raises(ConfigError, match="nucleus must be a Nucleus"):
        sm_differential_cross_section(nucleus, 30 * MeV, 10 * keV)
    with pytest.raises(ConfigError, match="nucleus must be a Nucleus"):
        sm_basis_terms(nucleus, 30 * MeV, 10 * keV)


def test_a_nucleus_name_is_told_to_go_through_get_nucleus():
    from cevns.physics.nuclei import check_nucleus  # new in audit 5

    with pytest.raises(ConfigError, match=r"got the name 'Cs133'; pass get_nucleus\('Cs133'\)"):
        check_nucleus("Cs133")
    cs = get_nucleus("Cs133")
    assert check_nucleus(cs) is cs
    assert sm_differential_cross_section(cs, 30 * MeV, 10 * keV) > 0


@pytest.mark.parametrize("mass_number", [-5, 0, 0.5, math.nan, math.inf, True, "133", None])
def test_estimated_charge_radius_needs_a_mass_number_of_at_least_one(mass_number):
    """-5 gave TypeError (a complex cube root), NaN a NaN radius."""
    with pytest.raises(ConfigError, match="mass_number must be a finite number ≥ 1"):
        estimated_charge_radius_fm(mass_number)


def test_estimated_charge_radius_keeps_valid_values_and_refuses_others():
    with pytest.raises(ConfigError, match="mass_number"):
        estimated_charge_radius_fm(math.nan)
    a = 133
    c = 1.23 * a ** (1.0 / 3.0) - 0.60
    assert estimated_charge_radius_fm(a) == math.sqrt(0.6 * c**2 + 1.4 * math.pi**2 * 0.52**2)
    assert estimated_charge_radius_fm(1) > 0


# --- the NGI functions: a coupling above 4π, a nucleus by name ----------------------------------
def test_ngi_refuses_a_coupling_above_four_pi_without_a_warning():
    import warnings

    from cevns.physics.constants import MAX_COUPLING
    from cevns.physics.ngi import coupling_product, ngi_basis_coefficients

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the overflow of g² used to be a RuntimeWarning and inf
        for call in (lambda: ngi_basis_coefficients("vector", 1e300),
                     lambda: coupling_product([1e-3, 13.0], "scalar")):
            with pytest.raises(ConfigError, match=r"coupling must be at most 4π ≈ 12\.57"):
                call()
    # 4π itself is accepted: P = g² (scalar), exactly
    assert float(coupling_product(MAX_COUPLING, "scalar")) == MAX_COUPLING**2


def test_ngi_cross_sections_refuse_a_nucleus_given_by_name():
    from cevns.physics.ngi import scalar_cross_section

    with pytest.raises(ConfigError, match=r"nucleus must be a Nucleus, got the name 'Cs133'"):
        scalar_cross_section("Cs133", 30 * MeV, 1 * keV, 1e-5, 10 * MeV)
    value = scalar_cross_section(get_nucleus("Cs133"), 30 * MeV, 1 * keV, 1e-5, 10 * MeV)
    assert np.isfinite(value) and value > 0
