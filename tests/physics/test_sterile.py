"""Shared pieces of the sterile sector: channels, up-scattering region (docs/physics.md#dipole-portal)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cevns.errors import ConfigError, UnknownNameError
from cevns.physics.dipole import DipoleBasis, dipole_differential_cross_section
from cevns.physics.kinematics import max_sterile_mass, min_neutrino_energy, recoil_energy_range
from cevns.physics.nuclei import get_nucleus
from cevns.physics.sterile import (
    MAX_MASS_MEV,
    channel_acts_on,
    check_mass,
    upscattering_region,
)
from cevns.physics.units import MeV, keV
from cevns.physics.upscattering import UpscatteringBasis, upscattering_differential_cross_section

E_TOP = 52.83 * MeV

# docs/physics.md#dipole-portal: at E = 52.83 MeV the heaviest reachable m₄ is ≈ 52.7–52.8 MeV for any target,
# attained at T ≈ 11 keV (Cs, I, Xe), 21 (Ge), 37 (Ar), 53 (Si), 78 (F), 124 keV (C).
# The document groups Cs/I/Xe as "≈ 11 keV"; I alone is 11.8 keV (E²/(2 m_A)), hence its 8 %.
THRESHOLD_RECOIL_KEV = [
    ("Cs133", 11.0, 0.03), ("I127", 11.0, 0.08), ("Xe_nat", 11.0, 0.04), ("Ge_nat", 21.0, 0.03),
    ("Ar40", 37.0, 0.03), ("Si_nat", 53.0, 0.03), ("F19", 78.0, 0.03), ("C12", 124.0, 0.03),
]


@pytest.mark.parametrize(("name", "recoil_kev", "rtol"), THRESHOLD_RECOIL_KEV)
def test_heaviest_sterile_state_and_its_recoil(name, recoil_kev, rtol):
    nucleus = get_nucleus(name)
    m4_max = float(max_sterile_mass(E_TOP, nucleus.mass))
    assert 52.7 * MeV <= m4_max <= 52.83 * MeV
    # Just below the maximum the cross sections live on a narrow T window around T*.
    m4 = m4_max * (1 - 1e-6)
    recoil = np.linspace(0.5, 1.5, 200001) * recoil_kev * keV
    for basis in (DipoleBasis(m4, "e"), UpscatteringBasis("V", m4, 10.0 * MeV)):
        sigma = basis.terms(nucleus, "nue", E_TOP, recoil)[0]
        window = recoil[sigma > 0]
        assert window.size > 10
        assert np.ptp(window) < 0.01 * recoil_kev * keV
        assert np.mean(window) == pytest.approx(recoil_kev * keV, rel=rtol)
        above = dataclasses.replace(basis, sterile_mass=m4_max * (1 + 1e-6))
        np.testing.assert_array_equal(above.terms(nucleus, "nue", E_TOP, recoil), 0.0)


@pytest.mark.parametrize("name", ["Cs133", "Ar40", "C12"])
def test_region_matches_recoil_range_and_eq22(name):
    nucleus = get_nucleus(name)
    ma = nucleus.mass
    rng = np.random.default_rng(3)
    energy = rng.uniform(1, 52.8, 2000) * MeV
    m4 = 0.7 * float(max_sterile_mass(1 * MeV, ma))
    recoil = rng.uniform(0, 1, 2000) * 1.2 * recoil_energy_range(52.8 * MeV, ma, m4)[1]
    inside = upscattering_region(energy, recoil, ma, m4)
    t_lo, t_hi = recoil_energy_range(energy, ma, m4)
    # paper Eq. (22), docs/physics.md#kinematics: m₄² ≤ 2E(√(T² + 2 m_A T) − T) − 2 m_A T
    eq22 = m4**2 <= 2 * energy * (np.sqrt(recoil**2 + 2 * ma * recoil) - recoil) - 2 * ma * recoil
    by_range = (recoil >= t_lo) & (recoil <= t_hi) & (t_hi > 0)
    margin = np.minimum(np.abs(recoil - t_lo), np.abs(recoil - t_hi)) > 1e-9 * t_hi
    np.testing.assert_array_equal(inside[margin], eq22[margin])
    np.testing.assert_array_equal(inside[margin], by_range[margin])
    assert 100 < np.count_nonzero(inside) < 1900
    np.testing.assert_array_equal(inside, energy >= min_neutrino_energy(recoil, ma, m4))


def test_channels():
    assert channel_acts_on("e", "nue") and not channel_acts_on("e", "numu")
    assert channel_acts_on("mu", "numu") and channel_acts_on("mu", "numubar")
    assert not channel_acts_on("mu", "nue")
    with pytest.raises(UnknownNameError, match="tau"):
        channel_acts_on("tau", "nue")
    with pytest.raises(UnknownNameError, match="nu_tau"):
        channel_acts_on("e", "nu_tau")
    with pytest.raises(ConfigError, match="not 'nuebar'"):
        channel_acts_on("e", "nuebar")


def test_check_mass():
    assert check_mass("sterile_mass", 3.0 * MeV) == 3.0 * MeV
    for bad in (-1.0, np.nan, np.inf):
        with pytest.raises(ConfigError, match="sterile_mass"):
            check_mass("sterile_mass", bad)
    with pytest.raises(ConfigError, match="mediator_mass"):
        check_mass("mediator_mass", np.array([1.0, 2.0]))
    # finite but beyond any reach: an error naming the bound, not an OverflowError of m² later
    assert check_mass("sterile_mass", MAX_MASS_MEV * MeV) == MAX_MASS_MEV * MeV
    for huge in (1e10, 1e160, 1e300):
        with pytest.raises(ConfigError, match="sterile_mass must be at most 1e\\+09 MeV"):
            check_mass("sterile_mass", huge * MeV)


def test_huge_masses_in_the_physics_layer_are_refused_not_overflowed():
    """Direct calls of the cross sections (below the scenarios, which bound the same masses):
    a sterile mass of 1e160 MeV overflowed in m₄² (OverflowError) before the bound existed."""
    ar = get_nucleus("Ar40")
    e, t = np.array([30.0]) * MeV, np.array([1e-3]) * MeV
    with pytest.raises(ConfigError, match="sterile_mass"):
        dipole_differential_cross_section(ar, e, t, magnetic_moment=1e-9, sterile_mass=1e160 * MeV)
    with pytest.raises(ConfigError, match="sterile_mass"):
        upscattering_differential_cross_section("S", ar, e, t, coupling=1e-3,
                                                sterile_mass=1e160 * MeV, mediator_mass=MeV)
    with pytest.raises(ConfigError, match="mediator_mass"):
        upscattering_differential_cross_section("S", ar, e, t, coupling=1e-3, sterile_mass=MeV,
                                                mediator_mass=1e300 * MeV)


# docs/scenarios/sterile.md, kinematics table: T at the heaviest m₄ for E = 52.83 MeV.
DOCS_TABLE_KEV = {"Cs133": 11.3, "I127": 11.8, "Xe_nat": 11.4, "Ge_nat": 20.6, "Ar40": 37.4,
                  "Si_nat": 53.1, "F19": 78.4, "C12": 123.7}


@pytest.mark.parametrize(("name", "recoil_kev"), DOCS_TABLE_KEV.items())
def test_docs_table_of_threshold_recoils(name, recoil_kev):
    nucleus = get_nucleus(name)
    m4 = float(max_sterile_mass(E_TOP, nucleus.mass)) * (1 - 1e-10)
    t_lo, t_hi = recoil_energy_range(E_TOP, nucleus.mass, m4)
    assert 0.5 * (t_lo + t_hi) / keV == pytest.approx(recoil_kev, abs=0.051)
