"""Sterile dipole portal and neutrino magnetic moment (docs/physics.md#dipole-portal)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cevns.errors import ConfigError, UnknownNameError
from cevns.physics.basis import CrossSectionBasis
from cevns.physics.constants import E_MICHEL_MAX, E_PROMPT, HBARC
from cevns.physics.dipole import (
    DipoleBasis,
    dipole_coefficients,
    dipole_differential_cross_section,
    magnetic_moment_cross_section,
)
from cevns.physics.flux import FLAVOURS
from cevns.physics.form_factors import helm_form_factor
from cevns.physics.kinematics import max_recoil_energy, max_sterile_mass, recoil_energy_range
from cevns.physics.nuclei import get_nucleus
from cevns.physics.units import MeV, cm, keV

TARGETS = ["Cs133", "I127", "Xe_nat", "Ge_nat", "Si_nat", "Ar40", "F19", "C12"]
ALPHA = 1 / 137.035999084
M_E = 0.51099895 * MeV


def standard_magnetic_moment(nucleus, energy, recoil, mu):
    """π α² μ²/m_e² Z² F² (1/T − 1/E) (ħc)², written independently (docs/physics.md#dipole-portal, m₄ = 0)."""
    ff = helm_form_factor(np.sqrt(2 * nucleus.mass * recoil + recoil**2),
                          nucleus.default_helm_rms_radius())
    return math.pi * ALPHA**2 * mu**2 / M_E**2 * nucleus.Z**2 * ff**2 * (1 / recoil - 1 / energy) \
        * HBARC**2


def test_prefactor_in_cm2():
    # docs/physics.md#constants: π α²/m_e² (ħc)² = 2.49467e-25 cm² (bracket in MeV⁻¹ → cm² MeV⁻¹).
    nucleus = get_nucleus("Ar40")
    energy, recoil = 40.0 * MeV, np.array([5.0, 20.0, 60.0]) * keV
    sigma = dipole_differential_cross_section(nucleus, energy, recoil, magnetic_moment=1.0)
    ff = helm_form_factor(np.sqrt(2 * nucleus.mass * recoil + recoil**2),
                          nucleus.default_helm_rms_radius())
    bracket_per_mev = (1 / recoil - 1 / energy) * MeV  # number of MeV⁻¹
    # (σ in cm²/MeV) / (Z² F² · bracket in MeV⁻¹) = prefactor in cm²
    prefactor = (sigma / (cm**2 / MeV)) / (nucleus.Z**2 * ff**2 * bracket_per_mev)
    np.testing.assert_allclose(prefactor, 2.49467e-25, rtol=2e-5)


@pytest.mark.parametrize("name", ["Cs133", "Ar40", "C12"])
def test_massless_limit_is_the_magnetic_moment_formula(name):
    nucleus = get_nucleus(name)
    energy = np.array([20.0, 35.0, 52.0])[:, None] * MeV
    recoil = np.geomspace(1e-3, 0.98, 9) * max_recoil_energy(energy, nucleus.mass)
    mu = 3e-10
    expected = standard_magnetic_moment(nucleus, energy, recoil, mu)
    np.testing.assert_allclose(
        magnetic_moment_cross_section(nucleus, energy, recoil, magnetic_moment=mu), expected,
        rtol=1e-12)
    previous = np.inf
    for m4 in [1.0, 0.1, 0.01, 1e-3]:
        got = dipole_differential_cross_section(nucleus, energy, recoil, magnetic_moment=mu,
                                                sterile_mass=m4 * MeV)
        deviation = np.max(np.abs(got / expected - 1))
        assert deviation < previous  # converges as m₄ → 0 …
        previous = deviation
    # … like m₄²: the leading correction is m₄²/(4E²) relative to 1/T, ≈ 1e-9 at m₄ = 1 keV
    assert previous < 1e-8


def test_zero_outside_kinematic_region():
    nucleus = get_nucleus("Ge_nat")
    energy, m4 = 40.0 * MeV, 25.0 * MeV
    t_lo, t_hi = (float(x) for x in recoil_energy_range(energy, nucleus.mass, m4))
    recoil = np.array([0.0, -1.0 * keV, t_lo * (1 - 1e-6), t_hi * (1 + 1e-6), 2 * t_hi])
    sigma = dipole_differential_cross_section(nucleus, energy, recoil, magnetic_moment=1e-9,
                                              sterile_mass=m4)
    np.testing.assert_array_equal(sigma, 0.0)
    inside = np.linspace(t_lo, t_hi, 7)[1:-1]
    assert np.all(dipole_differential_cross_section(
        nucleus, energy, inside, magnetic_moment=1e-9, sterile_mass=m4) > 0)
    # a sterile state heavier than √s − m_A is never produced
    too_heavy = float(max_sterile_mass(energy, nucleus.mass)) * (1 + 1e-9)
    recoil = np.geomspace(1e-3, 100.0, 500) * keV
    np.testing.assert_array_equal(dipole_differential_cross_section(
        nucleus, energy, recoil, magnetic_moment=1e-9, sterile_mass=too_heavy), 0.0)


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(TARGETS),
    energy=st.floats(0.5, E_MICHEL_MAX / MeV),
    mass_fraction=st.floats(0.0, 1.0),
    # dσ/dT ∝ 1/T at T → 0: keep T = 0 exactly or T ≳ 1e-60 T_max (1/T must stay finite).
    recoil_fraction=st.one_of(st.just(0.0), st.floats(1e-60, 1.0)),
)
def test_non_negative_and_positive_inside(name, energy, mass_fraction, recoil_fraction):
    nucleus = get_nucleus(name)
    energy *= MeV
    m4 = mass_fraction * float(max_sterile_mass(energy, nucleus.mass)) * (1 - 1e-9)
    t_lo, t_hi = (float(x) for x in recoil_energy_range(energy, nucleus.mass, m4))
    recoil = t_lo + recoil_fraction * (t_hi - t_lo)
    sigma = dipole_differential_cross_section(nucleus, energy, recoil, magnetic_moment=1e-9,
                                              sterile_mass=m4)
    assert sigma >= 0
    # strictly inside the recoil range, σ > 0. "Inside" by more than 1e-8 of T itself, and m₄ not
    # within 1e-6 of its kinematic maximum: there the range is ≲ 1e-3 T wide and E_min(T) − E
    # cancels to a few ulps, so the two ways of computing the edge differ by more than the
    # distance to it (a zero-measure region with no effect on any rate).
    margin = min(recoil - t_lo, t_hi - recoil)
    if 1e-6 < recoil_fraction < 1 - 1e-6 and margin > 1e-8 * t_hi and mass_fraction < 1 - 1e-6:
        assert sigma > 0


@pytest.mark.parametrize("channel", ["e", "mu"])
def test_basis_times_coefficient_reproduces_direct(channel):
    rng = np.random.default_rng(5)
    nucleus = get_nucleus("I127")
    m4 = 12.0 * MeV
    basis = DipoleBasis(m4, channel)
    assert isinstance(basis, CrossSectionBasis)
    assert basis.names == ("dipole",) and basis.sterile_mass == m4
    energy = rng.uniform(10, 52.8, 300) * MeV
    recoil = rng.uniform(0.01, 50, 300) * keV
    mu = np.array([0.0, 1e-10, 7e-9])
    coeff = dipole_coefficients(mu)
    assert coeff.shape == (1, 3)
    direct = dipole_differential_cross_section(nucleus, energy, recoil, magnetic_moment=7e-9,
                                               sterile_mass=m4)
    assert np.count_nonzero(direct) > 100
    acts_on = {"e": {"nue"}, "mu": {"numu", "numubar"}}[channel]
    for flavour in FLAVOURS:
        e = np.full(300, E_PROMPT) if flavour == "numu" else energy
        terms = basis.terms(nucleus, flavour, e, recoil)
        assert terms.shape == (1, 300)
        combined = coeff[:, 2] @ terms
        if flavour in acts_on:
            direct = dipole_differential_cross_section(nucleus, e, recoil, magnetic_moment=7e-9,
                                                       sterile_mass=m4)
            np.testing.assert_allclose(combined, direct, rtol=1e-13)
        else:
            np.testing.assert_array_equal(terms, 0.0)


def test_light_neutrino_basis_is_the_magnetic_moment():
    nucleus = get_nucleus("Xe_nat")
    energy, recoil = 30.0 * MeV, np.array([1.0, 5.0, 12.0]) * keV  # T_max = 14.7 keV
    term = DipoleBasis(0.0, "e").terms(nucleus, "nue", energy, recoil)[0]
    np.testing.assert_allclose(term, standard_magnetic_moment(nucleus, energy, recoil, 1.0),
                               rtol=1e-12)


def test_bad_input():
    nucleus = get_nucleus("Cs133")
    with pytest.raises(ConfigError, match="magnetic_moment"):
        dipole_differential_cross_section(nucleus, 30.0, 0.01, magnetic_moment=-1e-10)
    with pytest.raises(ConfigError, match="magnetic_moment"):
        dipole_coefficients(np.array([1e-10, -1e-10]))
    with pytest.raises(ConfigError, match="sterile_mass"):
        dipole_differential_cross_section(nucleus, 30.0, 0.01, magnetic_moment=1e-10,
                                          sterile_mass=-1.0)
    with pytest.raises(ConfigError, match="sterile_mass"):
        DipoleBasis(-1.0 * MeV, "e")
    with pytest.raises(UnknownNameError, match="tau"):
        DipoleBasis(1.0 * MeV, "tau")
    with pytest.raises(UnknownNameError, match="nu_tau"):
        DipoleBasis(1.0 * MeV, "e").terms(nucleus, "nu_tau", 30.0 * MeV, 1.0 * keV)
    # a valid flavour of a tabulated source that the channels do not cover: an error, not a zero
    with pytest.raises(ConfigError, match=r"channel 'e'.*numu, nue, numubar only, not 'nutau'"):
        DipoleBasis(1.0 * MeV, "e").terms(nucleus, "nutau", 30.0 * MeV, 1.0 * keV)


@pytest.mark.parametrize("moment", [1e300, 1e154, 1.0 + 1e-12, np.array([1e-9, 5.0])])
def test_a_moment_above_one_bohr_magneton_is_refused_without_a_numpy_warning(moment):
    """μ = 1e300 gave inf (μ² overflows from ~1e154) with "RuntimeWarning: overflow encountered in
    square" (audit 5 #7). The bound, 1 μ_B, is cevns.physics.constants.MAX_MAGNETIC_MOMENT_MUB."""
    import warnings

    nucleus = get_nucleus("Cs133")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ConfigError, match=r"^magnetic_moment must be at most 1 μ_B .*got "):
            dipole_coefficients(moment)
        with pytest.raises(ConfigError, match=r"^magnetic_moment must be at most 1 μ_B"):
            dipole_differential_cross_section(nucleus, 30.0 * MeV, 1.0 * keV,
                                              magnetic_moment=moment)
        # the bound itself is a (physically absurd but) finite, accepted value
        assert dipole_coefficients(np.array([0.0, 1e-9, 1.0]))[0, 2] == 1.0
