"""Up-scattering ν + A → χ(m₄) + A through S, V, A, T mediators (docs/physics.md#up-scattering)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cevns.errors import ConfigError, UnknownNameError
from cevns.physics.basis import CrossSectionBasis
from cevns.physics.constants import E_MICHEL_MAX, E_PROMPT, HBARC
from cevns.physics.flux import FLAVOURS
from cevns.physics.form_factors import helm_form_factor
from cevns.physics.kinematics import (
    max_recoil_energy,
    max_sterile_mass,
    momentum_transfer,
    recoil_energy_range,
)
from cevns.physics.nuclei import get_nucleus
from cevns.physics.spin_structure import DEFAULT_SPIN_STRUCTURE
from cevns.physics.units import GeV, MeV, keV
from cevns.physics.upscattering import (
    UpscatteringBasis,
    upscattering_coefficients,
    upscattering_differential_cross_section,
)

TARGETS = ["Cs133", "I127", "Xe_nat", "Ge_nat", "Si_nat", "Ar40", "F19", "C12"]
SPIN_TARGETS = ["Cs133", "I127", "F19"]
G_F = 1.1663788e-5 / GeV**2
# docs/physics.md#ngi: Δu + Δd = 0.777 − 0.438; δ_u + δ_d = 0.784 − 0.204.
A0_AXIAL = 2 * (0.777 - 0.438)
A0_TENSOR = 2 * (0.784 - 0.204)


def scalar_charge(nucleus):
    """Q̂_S from f_Tq (Hoferichter et al. 2015) and PDG-2022 m_u, m_d, m_p, m_n (docs/physics.md#ngi)."""
    per_p = 938.27208816 * (0.0208 / 2.16 + 0.0411 / 4.67)
    per_n = 939.56542052 * (0.0189 / 2.16 + 0.0451 / 4.67)
    return nucleus.Z * per_p + nucleus.N * per_n


def helm(nucleus, recoil):
    return helm_form_factor(momentum_transfer(recoil, nucleus.mass),
                            nucleus.default_helm_rms_radius())


def ngi_scalar(nucleus, e, t, g, m_x):
    """(10a): g⁴ Q̂_S² m_A² T F² / (4π E² (2 m_A T + m_S²)²)."""
    ma = nucleus.mass
    return (g**4 * scalar_charge(nucleus) ** 2 * ma**2 * t * helm(nucleus, t) ** 2
            / (4 * math.pi * e**2 * (2 * ma * t + m_x**2) ** 2)) * HBARC**2


def ngi_vector_bsm(nucleus, e, t, g, m_x):
    """Pure-BSM part of (10b): (G_F² m_A/π) K [g² Q̂_V F/(√2 G_F (2 m_A T + m_V²))]², Q̂_V = 3A."""
    ma = nucleus.mass
    k = 1 - ma * t / (2 * e**2) - t / e
    propagator = 2 * ma * t + m_x**2
    amplitude = g**2 * 3 * nucleus.A * helm(nucleus, t) / (math.sqrt(2) * G_F * propagator)
    return G_F**2 * ma / math.pi * k * amplitude**2 * HBARC**2


def ngi_axial(nucleus, e, t, g, m_x):
    """(10c): g⁴ m_A a₀² S₀₀^T (1 + m_A T/(2E²) − T/E) / ((2J+1)(2 m_A T + m_a²)²)."""
    ma = nucleus.mass
    s_t = A0_AXIAL**2 * DEFAULT_SPIN_STRUCTURE.structure(nucleus, momentum_transfer(t, ma), "00",
                                                         "T")
    return (g**4 * ma * s_t * (1 + ma * t / (2 * e**2) - t / e)
            / ((2 * nucleus.spin + 1) * (2 * ma * t + m_x**2) ** 2)) * HBARC**2


def ngi_tensor(nucleus, e, t, g, m_x):
    """(10d): 4 C² m_A/(2J+1) [S^T (1 − T/E − m_A T/(2E²)) + 2 S^L (1 − T/E)]."""
    ma = nucleus.mass
    q = momentum_transfer(t, ma)
    s_t = A0_TENSOR**2 * DEFAULT_SPIN_STRUCTURE.structure(nucleus, q, "00", "T")
    s_l = A0_TENSOR**2 * DEFAULT_SPIN_STRUCTURE.structure(nucleus, q, "00", "L")
    c2 = g**4 / (2 * ma * t + m_x**2) ** 2
    return (4 * c2 * ma / (2 * nucleus.spin + 1)
            * (s_t * (1 - t / e - ma * t / (2 * e**2)) + 2 * s_l * (1 - t / e))) * HBARC**2


NGI = {"S": ngi_scalar, "V": ngi_vector_bsm, "A": ngi_axial, "T": ngi_tensor}


def test_scalar_charge_per_nucleon():
    # docs/physics.md#ngi: 17.293 per proton, 17.295 per neutron, Q̂_S ≈ 17.29 A.
    cs = get_nucleus("Cs133")
    assert scalar_charge(cs) / cs.A == pytest.approx(17.29, abs=0.01)
    energy, recoil = 40.0 * MeV, 5.0 * keV
    got = upscattering_differential_cross_section("S", cs, energy, recoil, coupling=1e-5,
                                                  sterile_mass=0.0, mediator_mass=1.0 * MeV)
    expected = ngi_scalar(cs, energy, recoil, 1e-5, 1.0 * MeV)
    assert got == pytest.approx(expected, rel=1e-6)  # exact (2m_A + T)/(2m_A) ≈ 1 + 2e-8


@pytest.mark.parametrize("interaction", ["S", "V", "A", "T"])
@pytest.mark.parametrize("name", SPIN_TARGETS + ["Ar40"])
@pytest.mark.parametrize("m_x", [0.0, 5.0, 200.0])
def test_massless_limit_is_the_ngi_cross_section(interaction, name, m_x):
    # Within 2e-5 for T ≤ T_max/2: the exact forms differ from (10a)–(10d) by O(T/m_A) and
    # O(T²/E²) only (docs/physics.md#up-scattering: "Limits m₄ → 0 reproduce (10a)–(10d)").
    nucleus = get_nucleus(name)
    m_x *= MeV
    energy = np.array([15.0, 29.79, 52.0])[:, None] * MeV
    recoil = np.linspace(0.01, 0.5, 12) * max_recoil_energy(energy, nucleus.mass)
    g = 3e-6
    expected = NGI[interaction](nucleus, energy, recoil, g, m_x)
    if interaction in "AT" and not nucleus.has_spin:
        expected = np.zeros_like(recoil)
    got = {}
    for m4 in [0.0, 1e-3 * MeV, 1e-2 * MeV]:
        got[m4] = upscattering_differential_cross_section(interaction, nucleus, energy, recoil,
                                                          coupling=g, sterile_mass=m4,
                                                          mediator_mass=m_x)
        np.testing.assert_allclose(got[m4], expected, rtol=2e-5, atol=0)
    # continuous at m₄ → 0: the leading correction is m₄²/(2 m_A T) ≲ 1e-7 at m₄ = 1 keV
    np.testing.assert_allclose(got[1e-3 * MeV], got[0.0], rtol=1e-6)
    if nucleus.has_spin or interaction in "SV":
        assert np.all(expected > 0)


def test_vector_models_and_mediator_propagator():
    nucleus = get_nucleus("Xe_nat")
    energy, recoil = 45.0 * MeV, np.array([2.0, 8.0]) * keV
    kw = dict(coupling=1e-5, sterile_mass=10.0 * MeV)
    universal = upscattering_differential_cross_section("V", nucleus, energy, recoil,
                                                        mediator_mass=20.0 * MeV, **kw)
    b_minus_l = upscattering_differential_cross_section("V", nucleus, energy, recoil,
                                                        mediator_mass=20.0 * MeV,
                                                        vector_model="B-L", **kw)
    np.testing.assert_allclose(universal / b_minus_l, 9.0, rtol=1e-14)  # (3A)² / A²
    # every interaction carries the propagator 1/(2 m_A T + m_X²)²
    for interaction in "SV":
        light, heavy = (upscattering_differential_cross_section(
            interaction, nucleus, energy, recoil, mediator_mass=m_x, **kw)
            for m_x in (1.0 * MeV, 300.0 * MeV))
        q2 = 2 * nucleus.mass * recoil
        np.testing.assert_allclose(light / heavy, ((q2 + (300 * MeV) ** 2) / (q2 + MeV**2)) ** 2,
                                   rtol=1e-12)


@pytest.mark.parametrize("interaction", ["S", "V", "A", "T"])
def test_zero_outside_kinematic_region(interaction):
    nucleus = get_nucleus("I127")
    energy, m4 = 45.0 * MeV, 30.0 * MeV
    t_lo, t_hi = (float(x) for x in recoil_energy_range(energy, nucleus.mass, m4))
    recoil = np.array([0.0, -1.0 * keV, t_lo * (1 - 1e-6), t_hi * (1 + 1e-6), 3 * t_hi])
    kw = dict(coupling=1e-4, sterile_mass=m4, mediator_mass=10.0 * MeV)
    np.testing.assert_array_equal(upscattering_differential_cross_section(
        interaction, nucleus, energy, recoil, **kw), 0.0)
    inside = np.linspace(t_lo, t_hi, 9)[1:-1]
    assert np.all(upscattering_differential_cross_section(
        interaction, nucleus, energy, inside, **kw) > 0)
    too_heavy = float(max_sterile_mass(energy, nucleus.mass)) * (1 + 1e-9)
    np.testing.assert_array_equal(upscattering_differential_cross_section(
        interaction, nucleus, energy, np.geomspace(1e-3, 50.0, 400) * keV, coupling=1e-4,
        sterile_mass=too_heavy, mediator_mass=10.0 * MeV), 0.0)


@pytest.mark.parametrize("name", ["Ar40", "C12", "Xe_nat", "Ge_nat"])
def test_spin_zero_nuclei_have_no_axial_or_tensor_response(name):
    nucleus = get_nucleus(name)
    energy, recoil = 50.0 * MeV, np.array([1.0, 10.0]) * keV
    for interaction in "AT":
        basis = UpscatteringBasis(interaction, 5.0 * MeV, 5.0 * MeV)
        np.testing.assert_array_equal(basis.terms(nucleus, "nue", energy, recoil), 0.0)
    assert np.all(UpscatteringBasis("S", 5.0 * MeV, 5.0 * MeV).terms(
        nucleus, "nue", energy, recoil) > 0)


@settings(max_examples=200, deadline=None)
@given(
    interaction=st.sampled_from(["S", "V", "A", "T"]),
    name=st.sampled_from(TARGETS),
    energy=st.floats(0.5, E_MICHEL_MAX / MeV),
    mass_fraction=st.floats(0.0, 1.0),
    # A massless mediator gives dσ/dT ∝ 1/T² at T → 0, which overflows below T ~ 1e-140 MeV:
    # keep T = 0 exactly or T ≳ 1e-60 T_max (still far below any physical recoil).
    recoil_fraction=st.one_of(st.just(0.0), st.floats(1e-60, 1.0)),
    mediator_mass=st.floats(0.0, 1000.0),
)
def test_non_negative_and_positive_inside(interaction, name, energy, mass_fraction,
                                          recoil_fraction, mediator_mass):
    nucleus = get_nucleus(name)
    energy *= MeV
    m4 = mass_fraction * float(max_sterile_mass(energy, nucleus.mass)) * (1 - 1e-9)
    t_lo, t_hi = (float(x) for x in recoil_energy_range(energy, nucleus.mass, m4))
    recoil = t_lo + recoil_fraction * (t_hi - t_lo)
    sigma = upscattering_differential_cross_section(
        interaction, nucleus, energy, recoil, coupling=1e-4, sterile_mass=m4,
        mediator_mass=mediator_mass * MeV)
    assert sigma >= 0
    strictly_inside = 1e-6 < recoil_fraction < 1 - 1e-6 and t_hi > t_lo * (1 + 1e-6)
    if strictly_inside and (interaction in "SV" or nucleus.has_spin):
        assert sigma > 0


@pytest.mark.parametrize("interaction", ["S", "V", "A", "T"])
def test_basis_times_coefficient_reproduces_direct(interaction):
    rng = np.random.default_rng(17)
    nucleus = get_nucleus("F19")
    m4, m_x = 20.0 * MeV, 15.0 * MeV
    basis = UpscatteringBasis(interaction, m4, m_x)
    assert isinstance(basis, CrossSectionBasis)
    assert basis.names == (f"upscattering_{interaction}",) and basis.sterile_mass == m4
    energy = rng.uniform(20, 52.8, 400) * MeV
    recoil = rng.uniform(0.01, 300, 400) * keV
    couplings = np.array([0.0, 1e-6, 4e-5])
    coeff = upscattering_coefficients(couplings)
    assert coeff.shape == (1, 3)
    for flavour in FLAVOURS:  # flavour universal
        e = np.full(400, E_PROMPT) if flavour == "numu" else energy
        terms = basis.terms(nucleus, flavour, e, recoil)
        assert terms.shape == (1, 400)
        direct = upscattering_differential_cross_section(
            interaction, nucleus, e, recoil, coupling=4e-5, sterile_mass=m4, mediator_mass=m_x)
        assert np.count_nonzero(direct) > 20
        np.testing.assert_allclose(coeff[:, 2] @ terms, direct, rtol=1e-13)
        np.testing.assert_array_equal(coeff[:, 0] @ terms, 0.0)


def test_bad_input():
    nucleus = get_nucleus("Cs133")
    kw = dict(coupling=1e-5, sterile_mass=1.0 * MeV, mediator_mass=1.0 * MeV)
    with pytest.raises(ConfigError, match="coupling"):
        upscattering_differential_cross_section("S", nucleus, 30.0, 0.01,
                                                **{**kw, "coupling": -1e-5})
    with pytest.raises(ConfigError, match="coupling"):
        upscattering_coefficients([1e-5, -1e-5])
    with pytest.raises(ConfigError, match="sterile_mass"):
        upscattering_differential_cross_section("S", nucleus, 30.0, 0.01,
                                                **{**kw, "sterile_mass": -1.0})
    with pytest.raises(ConfigError, match="mediator_mass"):
        UpscatteringBasis("V", 1.0 * MeV, -1.0 * MeV)
    with pytest.raises(ConfigError, match="sterile_mass"):
        UpscatteringBasis("V", -1.0 * MeV, 1.0 * MeV)
    with pytest.raises(UnknownNameError, match="P"):
        UpscatteringBasis("P", 1.0 * MeV, 1.0 * MeV)
    with pytest.raises(UnknownNameError, match="universal"):
        UpscatteringBasis("V", 1.0 * MeV, 1.0 * MeV, vector_model="B_L")
    with pytest.raises(UnknownNameError, match="B-L"):
        upscattering_differential_cross_section("V", nucleus, 30.0, 0.01, vector_model="BL", **kw)
    with pytest.raises(UnknownNameError, match="nu_tau"):
        UpscatteringBasis("S", 1.0 * MeV, 1.0 * MeV).terms(nucleus, "nu_tau", 30.0, 0.01)


@pytest.mark.parametrize("coupling", [1e300, 1e77, 4 * math.pi * (1 + 1e-12), [1e-5, 20.0]])
def test_a_coupling_above_four_pi_is_refused_without_a_numpy_warning(coupling):
    """g = 1e300 gave inf (g⁴ overflows from ~1e77) with "RuntimeWarning: overflow encountered in
    power" (audit 5 #7). The bound, 4π, is cevns.physics.constants.MAX_COUPLING."""
    import warnings

    from cevns.physics.constants import MAX_COUPLING

    assert MAX_COUPLING == 4 * math.pi
    nucleus = get_nucleus("Cs133")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ConfigError, match=r"^coupling must be at most 4π ≈ 12\.57 .*got "):
            upscattering_coefficients(coupling)
        with pytest.raises(ConfigError, match=r"^coupling must be at most 4π"):
            upscattering_differential_cross_section(
                "S", nucleus, 30.0 * MeV, 1.0 * keV, coupling=coupling, sterile_mass=1.0 * MeV,
                mediator_mass=1.0 * MeV)
        # the bound itself is accepted: (4π)⁴ is finite
        assert upscattering_coefficients(MAX_COUPLING)[0] == pytest.approx((4 * math.pi) ** 4,
                                                                          rel=1e-15)
