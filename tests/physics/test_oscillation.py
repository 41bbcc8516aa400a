"""3+1 sterile-neutrino disappearance (docs/physics.md#sterile-oscillations)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import roots_legendre

from cevns.errors import ConfigError, UnknownNameError
from cevns.physics.basis import CrossSectionBasis, SMBasis
from cevns.physics.constants import E_MICHEL_MAX, E_PROMPT
from cevns.physics.cross_sections import sm_differential_cross_section
from cevns.physics.flux import FLAVOURS, michel_spectrum_nue, michel_spectrum_numubar
from cevns.physics.kinematics import max_recoil_energy
from cevns.physics.nuclei import get_nucleus
from cevns.physics.oscillation import (
    OscillationBasis,
    OscillationScanBasis,
    energy_nodes_needed,
    evenly_spaced,
    flavour_survival_probability,
    oscillation_phase,
    oscillation_sm_coefficients,
    oscillation_weight,
    oscillation_weights,
    survival_probability,
)
from cevns.physics.units import MeV, eV, keV, m

L_ESS = 20.0 * m


def gauss_legendre(n, lo, hi):
    x, w = roots_legendre(n)
    return 0.5 * (hi - lo) * x + 0.5 * (hi + lo), 0.5 * (hi - lo) * w


def test_phase_number():
    # docs/physics.md#sterile-oscillations: Δm² L/(4E) = 1.26693 Δm²[eV²] L[m] / E[MeV].
    for dm2, length, energy in [(1.0, 20.0, 30.0), (3.7, 19.0, 52.8), (0.2, 20.0, 8.0)]:
        phase = oscillation_phase(energy * MeV, dm2 * eV**2, length * m)
        assert phase == pytest.approx(1.26693 * dm2 * length / energy, rel=1e-5)


def test_probability_at_a_point():
    # Independent: P = 1 − s sin²(1.26693 Δm² L/E) with the factor of docs/physics.md#sterile-oscillations.
    s, dm2, energy = 0.1, 1.0, 30.0
    expected = 1 - s * np.sin(1.26693 * dm2 * 20.0 / energy) ** 2
    got = survival_probability(energy * MeV, s, dm2 * eV**2, L_ESS)
    assert got == pytest.approx(expected, rel=1e-6)


def test_no_mixing_or_no_splitting_means_no_oscillation():
    energy = np.linspace(1.0, 52.8, 50) * MeV
    np.testing.assert_array_equal(survival_probability(energy, 0.0, 5.0 * eV**2, L_ESS), 1.0)
    np.testing.assert_array_equal(survival_probability(energy, 0.4, 0.0, L_ESS), 1.0)
    # Δm² → 0: sin²φ ≤ φ² → 0
    tiny = 1e-8 * eV**2
    weight = oscillation_weight(energy, tiny, L_ESS)
    assert np.all(weight <= oscillation_phase(energy, tiny, L_ESS) ** 2)
    assert np.max(1.0 - survival_probability(energy, 0.4, tiny, L_ESS)) < 1e-13


def inverse_energy_rule(phase_scale, lo, hi, nodes=8):
    """Composite Gauss–Legendre rule in u = 1/E (where the phase is linear), ≥ 4 panels per π."""
    n_panels = int(4 * phase_scale * (1 / lo - 1 / hi) / np.pi) + 10
    edges = np.linspace(1 / hi, 1 / lo, n_panels + 1)
    x, w = np.polynomial.legendre.leggauss(nodes)
    half = 0.5 * np.diff(edges)[:, None]
    u = (0.5 * (edges[1:] + edges[:-1])[:, None] + half * x).ravel()
    return 1 / u, (half * w).ravel() / u**2  # dE = du/u²


@pytest.mark.parametrize(("spectrum", "dm2"), [(michel_spectrum_nue, 300.0),
                                               (michel_spectrum_numubar, 300.0),
                                               (michel_spectrum_nue, 3000.0)])
def test_spectrum_averaged_survival_tends_to_one_minus_half_mixing(spectrum, dm2):
    # Δm² L/4E ≫ 1 across E: ⟨sin²⟩ → 1/2 and ⟨P⟩ → 1 − sin²2θ/2 (docs/physics.md#sterile-oscillations)
    # Many nodes: ≥ 32 per half-period of sin²φ down to 0.5 MeV (below it the Michel spectra
    # carry < 1e-5 of the flux).
    s = 0.3
    phase_scale = oscillation_phase(1.0, dm2 * eV**2, L_ESS)  # φ·E
    energy, weight = inverse_energy_rule(phase_scale, 0.5 * MeV, E_MICHEL_MAX)
    assert energy.size > 1e5
    flux = spectrum(energy)
    averaged = np.sum(weight * flux * survival_probability(energy, s, dm2 * eV**2, L_ESS))
    averaged /= np.sum(weight * flux)
    # the residual ⟨cos 2φ⟩ falls at least like 1/φ(E_max) ≈ 1/(1.27 Δm² · 20/52.8)
    assert averaged == pytest.approx(1 - s / 2, abs=s / (1.26693 * dm2 * 20 / 52.83))


@pytest.mark.parametrize("dm2", [0.3, 3.0, 30.0])
@pytest.mark.parametrize("e_lo", [2.0, 10.0])
def test_energy_nodes_needed_is_enough(dm2, e_lo):
    # Gauss–Legendre with the advertised number of nodes vs a composite rule with 20 000 panels.
    e_lo *= MeV
    n = energy_nodes_needed(dm2 * eV**2, L_ESS, e_lo)
    energy, weight = gauss_legendre(n, e_lo, E_MICHEL_MAX)
    value = np.sum(weight * michel_spectrum_nue(energy) * oscillation_weight(
        energy, dm2 * eV**2, L_ESS))
    edges = np.linspace(e_lo, E_MICHEL_MAX, 20001)
    x, w = np.polynomial.legendre.leggauss(8)
    half = 0.5 * np.diff(edges)[:, None]
    mid = 0.5 * (edges[1:] + edges[:-1])[:, None]
    dense_e, dense_w = (mid + half * x).ravel(), (half * w).ravel()
    reference = np.sum(dense_w * michel_spectrum_nue(dense_e) * oscillation_weight(
        dense_e, dm2 * eV**2, L_ESS))
    assert value == pytest.approx(reference, rel=1e-6)


def test_energy_nodes_needed_grows_with_splitting_and_low_energy():
    n1 = energy_nodes_needed(1.0 * eV**2, L_ESS, 5.0 * MeV)
    assert energy_nodes_needed(10.0 * eV**2, L_ESS, 5.0 * MeV) > n1
    assert energy_nodes_needed(1.0 * eV**2, L_ESS, 1.0 * MeV) > n1
    assert energy_nodes_needed(0.0, L_ESS, 5.0 * MeV) == 24  # base nodes only
    with pytest.raises(ConfigError, match="energy_min"):
        energy_nodes_needed(1.0 * eV**2, L_ESS, 0.0)


def test_baseline_average_matches_numerical_average():
    dm2 = 2.5 * eV**2
    spread = 4.0 * m
    energy = np.array([5.0, 12.0, 29.79, 52.8]) * MeV
    analytic = oscillation_weight(energy, dm2, L_ESS, baseline_spread=spread)
    lengths, w = gauss_legendre(400, L_ESS - spread / 2, L_ESS + spread / 2)
    numeric = np.array([np.sum(w * np.sin(oscillation_phase(e, dm2, lengths)) ** 2) / spread
                        for e in energy])
    np.testing.assert_allclose(analytic, numeric, rtol=1e-12, atol=1e-14)
    # spread 0 is exactly the unaveraged weight
    np.testing.assert_array_equal(oscillation_weight(energy, dm2, L_ESS, baseline_spread=0.0),
                                  np.sin(oscillation_phase(energy, dm2, L_ESS)) ** 2)


def test_energy_window_average():
    dm2 = 50.0 * eV**2
    width = 0.02
    energy = np.array([8.0, 15.0, 30.0, 50.0]) * MeV
    windowed = oscillation_weight(energy, dm2, L_ESS, energy_window=width)
    for e, got in zip(energy, windowed, strict=True):
        grid, w = gauss_legendre(2000, e * (1 - width / 2), e * (1 + width / 2))
        exact_mean = np.sum(w * np.sin(oscillation_phase(grid, dm2, L_ESS)) ** 2) / (width * e)
        # the window uses the phase linearised across it: error ~ φ w²/4 ≈ 0.01 at 8 MeV
        assert got == pytest.approx(exact_mean, abs=0.02)
    # far beyond resolution → 1/2; tiny phase → unchanged
    assert oscillation_weight(1.0 * MeV, 1e4 * eV**2, L_ESS, energy_window=0.1) == pytest.approx(
        0.5, abs=1e-3)
    small = oscillation_weight(energy, 0.01 * eV**2, L_ESS, energy_window=0.01)
    np.testing.assert_allclose(small, oscillation_weight(energy, 0.01 * eV**2, L_ESS), rtol=1e-5)


def test_flavour_selection_of_channels():
    energy = np.linspace(5, 52, 7) * MeV
    dm2, s = 1.3 * eV**2, 0.2
    p = survival_probability(energy, s, dm2, L_ESS)
    for flavour in FLAVOURS:
        pe = flavour_survival_probability(flavour, energy, "e", s, dm2, L_ESS)
        pmu = flavour_survival_probability(flavour, energy, "mu", s, dm2, L_ESS)
        if flavour == "nue":
            np.testing.assert_array_equal(pe, p)
            np.testing.assert_array_equal(pmu, 1.0)
        else:
            np.testing.assert_array_equal(pe, 1.0)
            np.testing.assert_array_equal(pmu, p)
    # the prompt line is monochromatic: never smeared by the energy window
    line = flavour_survival_probability("numu", E_PROMPT, "mu", s, 40 * eV**2, L_ESS,
                                        energy_window=0.2)
    assert line == survival_probability(E_PROMPT, s, 40 * eV**2, L_ESS)


@pytest.mark.parametrize("channel", ["e", "mu"])
@pytest.mark.parametrize("options", [{}, {"baseline_spread": 2 * m, "energy_window": 0.05}])
def test_basis_times_coefficients_reproduces_direct(channel, options):
    rng = np.random.default_rng(11)
    nucleus = get_nucleus("Cs133")
    dm2 = 1.7 * eV**2
    basis = OscillationBasis(dm2, channel, L_ESS, **options)
    assert isinstance(basis, CrossSectionBasis)
    assert len(basis.names) == 8 and basis.names[4] == "osc:ZZ" and basis.sterile_mass == 0.0
    energy = rng.uniform(5, 52.8, 200) * MeV
    recoil = rng.uniform(0, 1, 200) * max_recoil_energy(energy, nucleus.mass)
    for flavour in FLAVOURS:
        e = np.full(200, E_PROMPT) if flavour == "numu" else energy
        terms = basis.terms(nucleus, flavour, e, recoil)
        assert terms.shape == (8, 200)
        for s, sw in [(0.0, 0.23857), (0.37, 0.23857), (1.0, 0.24)]:
            coeff = oscillation_sm_coefficients(s, sw)
            combined = np.tensordot(coeff, terms, axes=(0, 0))
            direct = flavour_survival_probability(flavour, e, channel, s, dm2, L_ESS, **options)
            direct = direct * sm_differential_cross_section(nucleus, e, recoil, sw)
            np.testing.assert_allclose(combined, direct, rtol=1e-12, atol=1e-12 * direct.max())


def test_basis_oscillating_half_vanishes_for_other_flavours():
    nucleus = get_nucleus("Ar40")
    basis = OscillationBasis(1.0 * eV**2, "e", L_ESS)
    terms = basis.terms(nucleus, "numubar", 30.0 * MeV, np.array([1.0, 10.0]) * keV)
    np.testing.assert_array_equal(terms[4:], 0.0)
    np.testing.assert_array_equal(terms[:4], SMBasis().terms(nucleus, "numubar", 30.0 * MeV,
                                                             np.array([1.0, 10.0]) * keV))


def test_coefficients_vectorised():
    s = np.linspace(0, 1, 5)
    coeff = oscillation_sm_coefficients(s)
    assert coeff.shape == (8, 5)
    np.testing.assert_allclose(coeff[4:], -s * coeff[:4])
    assert oscillation_sm_coefficients(s, np.array([0.23, 0.24])[:, None]).shape == (8, 2, 5)


@pytest.mark.parametrize("bad", [-0.1, 1.0001, np.nan])
def test_bad_mixing(bad):
    with pytest.raises(ConfigError, match="sin2_2theta"):
        survival_probability(30.0 * MeV, bad, 1.0 * eV**2, L_ESS)
    with pytest.raises(ConfigError, match="sin2_2theta"):
        oscillation_sm_coefficients(np.array([0.1, bad]))


def test_bad_geometry_and_names():
    with pytest.raises(ConfigError, match="delta_m2"):
        OscillationBasis(-1.0 * eV**2, "e", L_ESS)
    with pytest.raises(ConfigError, match="delta_m2"):
        survival_probability(30.0 * MeV, 0.1, -1.0 * eV**2, L_ESS)
    with pytest.raises(ConfigError, match="baseline"):
        OscillationBasis(1.0 * eV**2, "e", 0.0)
    with pytest.raises(ConfigError, match="baseline_spread"):
        OscillationBasis(1.0 * eV**2, "e", L_ESS, baseline_spread=50.0 * m)
    with pytest.raises(ConfigError, match="energy_window"):
        OscillationBasis(1.0 * eV**2, "e", L_ESS, energy_window=-0.1)
    with pytest.raises(UnknownNameError, match="tau"):
        OscillationBasis(1.0 * eV**2, "tau", L_ESS)
    basis = OscillationBasis(1.0 * eV**2, "mu", L_ESS)
    with pytest.raises(UnknownNameError, match="nu_tau"):
        basis.terms(get_nucleus("Cs133"), "nu_tau", 30.0 * MeV, 1.0 * keV)
    with pytest.raises(ConfigError, match="not 'nutau'"):
        basis.terms(get_nucleus("Cs133"), "nutau", 30.0 * MeV, 1.0 * keV)


@pytest.mark.parametrize("options", [{}, {"baseline_spread": 0.36 * m},
                                     {"energy_window": 0.05},
                                     {"baseline_spread": 0.36 * m, "energy_window": 0.05}])
@pytest.mark.parametrize("grid", [
    [3.0 + 0.6 * k for k in range(40)],  # evenly spaced: the rotation recurrence
    [float(f"{3.0 + 0.6 * k:.4g}") for k in range(40)],  # decimal values: tiny residual steps
    [0.01, 0.3, 0.31, 7.0, 50.0],  # uneven: evaluated one by one
    # the whole 3+1 grid of fig9 above 3 eV² as one run (163 steps of the recurrence)
    [float(f"{3.0 + 0.6 * k:.4g}") for k in range(163)],
])
def test_weights_of_many_splittings_equal_one_by_one(options, grid):
    # Reference: the closed form sin²φ, or ½[1 − cos 2φ · sinc(φ ΔL/L) · sinc(φ w)], evaluated
    # directly at each Δm² (oscillation_weight); the many-Δm² form must agree to ~1e-12.
    energy = np.random.default_rng(5).uniform(2.0, 52.8, (30, 40)) * MeV
    dm2 = np.array(grid) * eV**2
    many = oscillation_weights(energy, dm2, L_ESS, **options)
    assert many.shape == (len(grid), 30, 40)
    for k, value in enumerate(dm2):
        np.testing.assert_allclose(many[k], oscillation_weight(energy, value, L_ESS, **options),
                                   rtol=0, atol=1e-12)


def test_evenly_spaced():
    assert evenly_spaced([3.0, 3.6, 4.2, 4.8])
    assert not evenly_spaced([3.0, 3.6])  # too short to be a run
    assert not evenly_spaced([0.0, 0.6, 1.2])  # Δm² = 0 never starts a run
    assert not evenly_spaced([3.0, 3.6, 4.3])


@pytest.mark.parametrize("channel", ["e", "mu"])
def test_scan_basis_equals_single_bases(channel):
    nucleus = get_nucleus("Ge72")
    rng = np.random.default_rng(2)
    energy = rng.uniform(5, 52.8, (20, 16)) * MeV
    recoil = (rng.uniform(0, 0.5, 20) * max_recoil_energy(5 * MeV, nucleus.mass))[:, None]
    scan = OscillationScanBasis(tuple(np.arange(5.0, 9.0, 0.5) * eV**2), channel, L_ESS,
                                baseline_spread=0.3 * m, energy_window=0.05)
    assert scan.flavours == OscillationBasis(1.0, channel, L_ESS, oscillating_only=True).flavours
    for flavour in FLAVOURS:
        terms = scan.terms(nucleus, flavour, energy, recoil)
        n = len(scan.single(0).names)
        assert terms.shape[0] == n * len(scan.delta_m2s) == len(scan.names)
        for k in range(len(scan.delta_m2s)):
            one = scan.single(k).terms(nucleus, flavour, energy, recoil)
            np.testing.assert_allclose(terms[k * n:(k + 1) * n], one, rtol=0,
                                       atol=1e-12 * max(np.abs(one).max(), 1e-300))


def test_weight_rows_are_made_one_at_a_time_with_the_same_numbers():
    # OscillationScanBasis.factored_terms gives its weights as rows made while iterated over
    # (memory of one row); stacked, they are oscillation_weights.
    from cevns.physics.oscillation import WeightRows, iter_oscillation_weights

    energy = np.random.default_rng(7).uniform(2.0, 52.8, (25, 30)) * MeV
    dm2 = tuple(np.arange(3.0, 12.0, 0.6) * eV**2)
    scan = OscillationScanBasis(dm2, "e", L_ESS, baseline_spread=0.36 * m, energy_window=0.05)
    nucleus = get_nucleus("Ge72")
    recoil = np.full((25, 1), 1.0 * keV)
    base, rows = scan.factored_terms(nucleus, "nue", energy, recoil)
    assert isinstance(rows, WeightRows) and len(rows) == len(dm2)
    expected = oscillation_weights(energy, dm2, L_ESS, baseline_spread=0.36 * m,
                                   energy_window=0.05)
    for _ in range(2):  # every iteration starts again
        got = np.stack([row.copy() for row in rows])
        np.testing.assert_array_equal(got, expected)
    generator = iter_oscillation_weights(energy, dm2, L_ESS, baseline_spread=0.36 * m)
    first = next(generator)
    assert first.shape == energy.shape
    _, off = scan.factored_terms(nucleus, "numu", energy, recoil)  # not affected by θ₁₄
    assert len(off) == len(dm2) and all(not row.any() for row in off)
