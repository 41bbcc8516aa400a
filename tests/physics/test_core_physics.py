"""Physics layer: reference values (docs/physics.md) and invariants (property tests)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

from cevns.errors import ConfigError, UnknownNameError
from cevns.physics.constants import E_MICHEL_MAX, E_PROMPT, SIN2_THETA_W
from cevns.physics.cross_sections import sm_basis_coefficients, sm_differential_cross_section
from cevns.physics.flux import michel_spectrum_nue, michel_spectrum_numubar
from cevns.physics.form_factors import helm_form_factor
from cevns.physics.kinematics import (
    max_recoil_energy,
    max_sterile_mass,
    min_neutrino_energy,
    recoil_energy_range,
)
from cevns.physics.nuclei import element_composition, get_nucleus
from cevns.physics.units import MeV, fm, keV

ELEMENTS = ["Cs", "I", "Xe", "Ge", "Si", "Ar", "F", "C"]


def test_prompt_energy_and_michel_endpoint():
    # docs/physics.md#constants: E_π = (m_π² − m_μ²)/(2 m_π) = 29.792 MeV, m_μ/2 = 52.829 MeV
    assert E_PROMPT / MeV == pytest.approx(29.792, abs=5e-4)
    assert E_MICHEL_MAX / MeV == pytest.approx(52.829, abs=5e-4)


@pytest.mark.parametrize(("element", "tmax_kev"), [
    ("Cs", 45.05), ("I", 47.18), ("Xe", 45.60), ("Ge", 82.4), ("Si", 212.5), ("Ar", 149.6),
    ("F", 313.5), ("C", 494.2)])
def test_max_recoil_at_michel_endpoint(element, tmax_kev):
    # docs/physics.md#event-rates table of T_max at E = 52.83 MeV (computed with standard atomic weights)
    nuc = element_composition(element)[0][0]
    assert max_recoil_energy(E_MICHEL_MAX, nuc.mass) / keV == pytest.approx(tmax_kev, abs=0.06)


@pytest.mark.parametrize(("element", "radius_fm"), [
    ("Cs", 4.994), ("I", 4.925), ("Xe", 4.975), ("Ge", 4.180)])
def test_default_helm_radius(element, radius_fm):
    # docs/physics.md#sm-cevns: R = sqrt(0.6 (1.2 A^(1/3))² + 3 s²), its numbers computed with s = 0.9 fm
    from cevns.physics.form_factors import LEWIN_SMITH_HELM_SKIN

    nuc = element_composition(element)[0][0]
    lewin_smith = nuc.with_helm_skin(LEWIN_SMITH_HELM_SKIN)
    assert lewin_smith.default_helm_rms_radius() / fm == pytest.approx(radius_fm, abs=1.5e-3)
    # the default s = 1.0 fm: R² grows by 3 (1.0² − 0.9²) fm²
    assert (nuc.default_helm_rms_radius() / fm) ** 2 == pytest.approx(radius_fm**2 + 3 * 0.19,
                                                                       abs=0.015)


def test_michel_spectra_normalised():
    for spectrum in (michel_spectrum_nue, michel_spectrum_numubar):
        val, _ = quad(lambda e, f=spectrum: float(f(e)), 0, E_MICHEL_MAX, epsabs=1e-13)
        assert val == pytest.approx(1.0, rel=1e-12)


@given(st.floats(1.6, 7.0), st.floats(0.0, 600.0))
def test_helm_bounded(radius_fm, q_mev):
    f0 = helm_form_factor(0.0, radius_fm * fm)
    assert f0 == pytest.approx(1.0, abs=1e-15)
    assert abs(float(helm_form_factor(q_mev * MeV, radius_fm * fm))) <= 1.0 + 1e-12


def test_helm_rms_radius_from_slope():
    # F(q) = 1 − q² R²/6 + …: the slope at q → 0 gives back R, also in the continued region
    for radius in (1.2, 3.0, 5.0):
        q = 1e-3 * MeV
        f = float(helm_form_factor(q, radius * fm))
        k = q / (197.3269804 * MeV * fm)
        assert math.sqrt(6 * (1 - f) / k**2) / fm == pytest.approx(radius, rel=1e-5)


def test_helm_rejects_non_positive_radius():
    with pytest.raises(ConfigError, match="rms_radius"):
        helm_form_factor(1.0, -1.0)


@settings(max_examples=200)
@given(st.sampled_from(ELEMENTS), st.floats(1.0, 60.0), st.floats(1e-4, 1.2))
def test_cross_section_non_negative_and_zero_above_tmax(element, e_mev, t_frac):
    nuc = element_composition(element)[0][0]
    tmax = float(max_recoil_energy(e_mev * MeV, nuc.mass))
    t = t_frac * tmax
    xs = float(sm_differential_cross_section(nuc, e_mev * MeV, t))
    assert xs >= 0.0
    if t_frac > 1.0:
        assert xs == 0.0


def test_sm_cross_section_quadratic_in_sin2w():
    nuc = get_nucleus("Cs133")
    e, t = 40 * MeV, 5 * keV
    s = np.array([0.20, 0.23, 0.25, 0.28])
    vals = np.array([float(sm_differential_cross_section(nuc, e, t, x)) for x in s])
    coeff = np.polyfit(s[:3], vals[:3], 2)
    assert np.polyval(coeff, s[3]) == pytest.approx(vals[3], rel=1e-10)
    assert sm_basis_coefficients(SIN2_THETA_W).shape == (4,)


def test_coherent_n_squared_scaling():
    # With Z = 0 and everything else fixed, dσ/dT ∝ N² (coherence)
    from dataclasses import replace

    base = replace(get_nucleus("Xe_nat"), Z=0, N=40.0)
    double = replace(base, N=80.0)
    r = base.default_helm_rms_radius()
    e, t = 30 * MeV, 3 * keV
    a = sm_differential_cross_section(base, e, t, proton_radius=r, neutron_radius=r)
    b = sm_differential_cross_section(double, e, t, proton_radius=r, neutron_radius=r)
    assert float(b / a) == pytest.approx(4.0, rel=1e-12)


def test_free_proton_limit_total_cross_section():
    # Appendix A: point nucleon σ = G_F² E² (g_V² + 3 g_A²)/π for E ≪ m_p. Here: a J = 1/2
    # "nucleus" with Z = 1, N = 0, tiny radius, ⟨S_p⟩ = 1/2: F_A(0) = 4(J+1)/(3J) g_A² ⟨S_p⟩² = g_A².
    from dataclasses import replace

    from cevns.physics.constants import G_AXIAL, G_FERMI, HBARC

    p = replace(get_nucleus("F19"), Z=1, N=0.0, atomic_mass_u=1.00727646688, spin=0.5,
                spin_proton=0.5, spin_neutron=0.0)
    e = 10 * MeV
    tmax = float(max_recoil_energy(e, p.mass))
    tiny = 1e-6 * fm  # point-like: form factors = 1 (Helm continued region, F(q) → 1)
    total, _ = quad(lambda t: float(sm_differential_cross_section(
        p, e, t, proton_radius=tiny, neutron_radius=tiny)), 0, tmax, epsrel=1e-10)
    gv = 0.5 - 2 * SIN2_THETA_W
    # the HMS normalisation has g_A² S(0) with the nucleon axial coupling g_A/2 per spin
    expected = G_FERMI**2 * e**2 * (gv**2 + 3 * (G_AXIAL / 2) ** 2) / math.pi * HBARC**2
    # O(E/m_p) recoil corrections: 2 %
    assert total == pytest.approx(expected, rel=0.03)


def test_upscattering_kinematics_limits():
    nuc = get_nucleus("Cs133")
    e = E_MICHEL_MAX
    # m4 = 0 reproduces the elastic T_max; E_min inverts T_max
    lo, hi = recoil_energy_range(e, nuc.mass, 0.0)
    assert float(hi) == pytest.approx(float(max_recoil_energy(e, nuc.mass)), rel=1e-12)
    t = 0.5 * float(hi)
    assert float(max_recoil_energy(min_neutrino_energy(t, nuc.mass), nuc.mass)) == \
        pytest.approx(t, rel=1e-10)
    # docs/physics.md#dipole-portal: largest m4 at 52.83 MeV is ≈ 52.7–52.8 MeV for every target
    for element in ELEMENTS:
        m = element_composition(element)[0][0].mass
        assert 52.7 <= float(max_sterile_mass(e, m)) / MeV <= 52.83
    # E_min(T, m4) lies on the boundary of the allowed region: T_lo or T_hi at that energy
    m4 = 20 * MeV
    t = 10 * keV
    emin = float(min_neutrino_energy(t, nuc.mass, m4))
    lo, hi = recoil_energy_range(emin, nuc.mass, m4)
    assert min(abs(float(lo) - t), abs(float(hi) - t)) < 1e-6 * t


def test_unknown_nucleus_and_element():
    with pytest.raises(UnknownNameError, match="valid choices"):
        get_nucleus("Pb999")
    with pytest.raises(UnknownNameError, match="valid choices"):
        get_nucleus("Tc99_nat")  # Tc has no natural isotopes
    with pytest.raises(UnknownNameError, match="element"):
        element_composition("Tc")
    with pytest.raises(UnknownNameError, match="composition mode"):
        element_composition("Xe", "average")


def test_isotope_composition_sums_to_one():
    for element in ELEMENTS:
        fractions = [f for _, f in element_composition(element, "isotopes")]
        assert sum(fractions) == pytest.approx(1.0, rel=1e-12)


# sin²θ_W has one range, constants.SIN2_THETA_W_RANGE = [0, 1] (a squared sine; the weak charge
# is linear in it and nothing divides by sin²θ_W or cos²θ_W), checked by check_sin2_theta_w at
# every physics entry point that takes it.
def _sin2_entry_points():
    from cevns.physics.cross_sections import check_sin2_theta_w, proton_vector_coupling
    from cevns.physics.ngi import ngi_basis_coefficients
    from cevns.physics.oscillation import oscillation_sm_coefficients

    cs = get_nucleus("Cs133")
    return {
        "check_sin2_theta_w": check_sin2_theta_w,
        "proton_vector_coupling": proton_vector_coupling,
        "sm_basis_coefficients": sm_basis_coefficients,
        "sm_differential_cross_section": lambda s: sm_differential_cross_section(
            cs, 40 * MeV, 5 * keV, s),
        "ngi_basis_coefficients": lambda s: ngi_basis_coefficients("vector", 1e-5, s),
        "oscillation_sm_coefficients": lambda s: oscillation_sm_coefficients(0.1, s),
    }


SIN2_BAD = [(1.0000001, r"got 1\.0000001$"), (-1e-9, r"got -1e-09$"), (math.nan, "got nan$"),
            (math.inf, "got inf$"), (True, r"got True \(true/false is not a number\)$"),
            (np.True_, r"got (np\.)?True_? \(true/false"), ([0.2, True], r"got \[0\.2, True\]")]


@pytest.mark.parametrize("entry", sorted(_sin2_entry_points()))
@pytest.mark.parametrize(("value", "shown"), SIN2_BAD, ids=lambda v: repr(v))
def test_sin2_theta_w_outside_zero_one_is_refused(entry, value, shown):
    # the message names the parameter, the range [0, 1] and the value; before, True (and
    # [0.2, True]) passed as sin²θ_W = 1
    with pytest.raises(ConfigError, match=r"^sin2_theta_w must be (finite and in|a number in) "
                                          r"\[0, 1\].*" + shown):
        _sin2_entry_points()[entry](value)


def test_sin2_theta_w_edges_are_legal_and_finite():
    """0 and 1 are degenerate but finite values: g_V^p = 1/2 − 2 sin²θ_W (docs/physics.md, SM
    CEvNS) is 1/2 and −3/2 there, g_V^n = −1/2, so the coefficients (g_p², 2 g_p g_n, g_n², 1)
    are written out below; the cross section there is the quadratic through interior values."""
    from cevns.physics.cross_sections import proton_vector_coupling
    from cevns.physics.ngi import ngi_basis_coefficients
    from cevns.physics.oscillation import oscillation_sm_coefficients

    assert float(proton_vector_coupling(0.0)) == 0.5 and float(proton_vector_coupling(1.0)) == -1.5
    np.testing.assert_allclose(sm_basis_coefficients(np.array([0.0, 1.0])),
                               [[0.25, 2.25], [-0.5, 1.5], [0.25, 0.25], [1.0, 1.0]], rtol=1e-15)
    np.testing.assert_allclose(ngi_basis_coefficients("vector", 0.0, 1.0)[:4],
                               [2.25, 1.5, 0.25, 1.0], rtol=1e-15)
    np.testing.assert_allclose(oscillation_sm_coefficients(0.0, 0.0)[:4], [0.25, -0.5, 0.25, 1.0])
    nuc, e, t = get_nucleus("Cs133"), 40 * MeV, 5 * keV
    s = np.array([0.2, 0.25, 0.3])
    quad_fit = np.polyfit(s, [float(sm_differential_cross_section(nuc, e, t, x)) for x in s], 2)
    for edge in (0.0, 1.0):
        assert float(sm_differential_cross_section(nuc, e, t, edge)) == pytest.approx(
            np.polyval(quad_fit, edge), rel=1e-9)
