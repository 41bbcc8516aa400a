"""Tests of the nucleon-level NGI inputs (docs/physics.md#constants, #ngi)."""

from __future__ import annotations

import dataclasses

import pytest

from cevns.errors import ConfigError
from cevns.physics.constants import G_AXIAL
from cevns.physics.hadronic import DEFAULT_HADRONIC_INPUTS, HadronicInputs
from cevns.physics.units import MeV


def test_default_values_and_sources():
    h = DEFAULT_HADRONIC_INPUTS
    # Hoferichter et al. 2015 via Del Nobile (docs/physics.md#ngi)
    assert (h.f_tu_proton, h.f_td_proton, h.f_tu_neutron, h.f_td_neutron) == (
        0.0208, 0.0411, 0.0189, 0.0451)
    # PDG 2022 quark masses (docs/physics.md#constants)
    assert h.m_up / MeV == pytest.approx(2.16)
    assert h.m_down / MeV == pytest.approx(4.67)
    # Gupta et al. 2018 tensor charges
    assert (h.tensor_u, h.tensor_d) == (0.784, -0.204)


def test_scalar_charges_per_nucleon():
    # docs/physics.md#ngi: 17.293 per proton, 17.295 per neutron with PDG-2022 masses
    assert DEFAULT_HADRONIC_INPUTS.scalar_charge_proton == pytest.approx(17.293, abs=1e-3)
    assert DEFAULT_HADRONIC_INPUTS.scalar_charge_neutron == pytest.approx(17.295, abs=1e-3)


def test_axial_and_tensor_charges():
    h = DEFAULT_HADRONIC_INPUTS
    # Lin et al. 2018: Δu = 0.777, Δd = −0.438 → Δu + Δd = 0.339, g_A = 1.215 (docs/physics.md#sm-cevns)
    assert (h.delta_u, h.delta_d) == (0.777, -0.438)
    assert h.axial_isoscalar == pytest.approx(0.339, abs=1e-12)
    assert h.axial_isovector == pytest.approx(1.215, abs=1e-12)
    assert h.axial_isovector == pytest.approx(G_AXIAL, rel=1e-15)
    # docs/physics.md#ngi: a_p = a_n = 0.580 g^q
    assert h.tensor_isoscalar == pytest.approx(0.580, abs=1e-12)


def test_older_quark_masses_change_scalar_charge_by_about_1_2_percent():
    # docs/physics.md#constants: m_u, m_d = 2.2, 4.7 MeV "changes scalar charges by 1.2 %"
    older = dataclasses.replace(DEFAULT_HADRONIC_INPUTS, m_up=2.2 * MeV, m_down=4.7 * MeV)
    change = 1.0 - older.scalar_charge_proton / DEFAULT_HADRONIC_INPUTS.scalar_charge_proton
    assert 0.010 < change < 0.014


def test_inputs_are_frozen_and_validated():
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_HADRONIC_INPUTS.tensor_u = 0.5  # type: ignore[misc]
    with pytest.raises(ConfigError, match="m_up"):
        HadronicInputs(m_up=-2.0 * MeV)
    with pytest.raises(ConfigError, match="f_td_neutron"):
        HadronicInputs(f_td_neutron=1.5)
