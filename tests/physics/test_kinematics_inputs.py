"""The kinematics helpers refuse energies and masses where their formulas give a silent NaN or a
meaningless number (a NaN, negative or infinite energy; a nuclear mass that is not positive; a
negative sterile mass) with a ConfigError naming the argument."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cevns.errors import ConfigError
from cevns.physics import kinematics as K
from cevns.physics.nuclei import get_nucleus
from cevns.physics.units import MeV, fm

M_AR = get_nucleus("Ar40").mass

# (function, name of the energy argument, extra positional arguments)
CASES = [
    (K.momentum_transfer, "recoil_energy", (M_AR,)),
    (K.max_recoil_energy, "neutrino_energy", (M_AR,)),
    (K.max_recoil_energy, "neutrino_energy", (M_AR, 10 * MeV)),
    (K.recoil_energy_range, "neutrino_energy", (M_AR, 10 * MeV)),
    (K.min_neutrino_energy, "recoil_energy", (M_AR,)),
    (K.min_neutrino_energy, "recoil_energy", (M_AR, 10 * MeV)),
    (K.max_sterile_mass, "neutrino_energy", (M_AR,)),
]


@pytest.mark.parametrize("bad", [math.nan, -1.0 * MeV, math.inf])
@pytest.mark.parametrize(("func", "arg", "extra"), CASES)
def test_bad_energy_is_refused_by_name(func, arg, extra, bad):
    energies = np.array([0.01 * MeV, bad, 30 * MeV])
    with pytest.raises(ConfigError, match=rf"{arg} must be finite and ≥ 0"):
        func(energies, *extra)


@pytest.mark.parametrize(("func", "arg", "extra"), CASES)
def test_non_numbers_are_refused_by_name(func, arg, extra):
    with pytest.raises(ConfigError, match=rf"{arg} must be a number"):
        func("thirty", *extra)


@pytest.mark.parametrize("mass", [0.0, -M_AR, math.nan, math.inf, "heavy"])
@pytest.mark.parametrize(("func", "arg", "extra"), CASES)
def test_bad_nuclear_mass_is_refused(func, arg, extra, mass):
    with pytest.raises(ConfigError, match="nuclear_mass must be"):
        func(1.0 * MeV, mass, *extra[1:])


@pytest.mark.parametrize("m4", [-1.0 * MeV, math.nan, math.inf])
@pytest.mark.parametrize("func", [K.max_recoil_energy, K.recoil_energy_range,
                                  K.min_neutrino_energy])
def test_bad_sterile_mass_is_refused(func, m4):
    with pytest.raises(ConfigError, match="sterile_mass must be finite and ≥ 0"):
        func(1.0 * MeV, M_AR, m4)


def test_good_inputs_unchanged_by_the_checks():
    """The checked functions give the closed forms (docs/physics.md#kinematics) for valid input."""
    e = np.array([0.0, 10.0, 30.0, 52.8]) * MeV
    t = np.array([0.0, 0.01, 0.1]) * MeV
    np.testing.assert_allclose(K.max_recoil_energy(e, M_AR), 2 * e**2 / (M_AR + 2 * e), rtol=1e-15)
    np.testing.assert_allclose(K.momentum_transfer(t, M_AR), np.sqrt(t**2 + 2 * M_AR * t),
                               rtol=1e-15)
    np.testing.assert_allclose(K.max_sterile_mass(e, M_AR),
                               np.sqrt(M_AR**2 + 2 * M_AR * e) - M_AR, rtol=1e-12)


def _cross_section_energy(e):
    from cevns.physics.cross_sections import check_energies
    return check_energies(e, 0.0)


def _cross_section_recoil(t):
    from cevns.physics.cross_sections import check_energies
    return check_energies(30 * MeV, t)


def _form_factor(q):
    from cevns.physics.form_factors import helm_form_factor
    return helm_form_factor(q, 4.0 * fm)


def _sterile_mass(m4):
    from cevns.physics.sterile import check_nonnegative
    return check_nonnegative("sterile_mass", m4, MeV, "MeV")


@pytest.mark.parametrize(("func", "message"), [
    (lambda v: K.max_recoil_energy(v, M_AR), "neutrino_energy must be finite and ≥ 0"),
    (lambda v: K.momentum_transfer(v, M_AR), "recoil_energy must be finite and ≥ 0"),
    (_cross_section_energy, "neutrino_energy must be finite and > 0"),
    (_cross_section_recoil, "recoil_energy must be finite and ≥ 0"),
    (_form_factor, "momentum_transfer must be finite and ≥ 0"),
    (_sterile_mass, "sterile_mass must be finite and ≥ 0"),
])
def test_the_energy_checks_say_the_same(func, message):
    """One helper (cevns.errors.finite_array) behind every energy check: the same words and the
    offending energy read out in MeV (the kinematics helpers gave the internal number, -1.0, and
    the sterile-sector checks wrote '>=')."""
    with pytest.raises(ConfigError, match=rf"^{message}, got -1\.5 MeV$"):
        func(np.array([1.0 * MeV, -1.5 * MeV]))
    with pytest.raises(ConfigError, match=rf"^{message}, got nan$"):
        func(np.array([math.nan]))
