"""Lepton-unitarity violation: per-flavour event ratios (docs/physics.md#non-unitarity)."""

from __future__ import annotations

import numpy as np
import pytest

from cevns.errors import ConfigError, UnknownNameError
from cevns.physics.flux import FLAVOURS
from cevns.physics.nonunitarity import alpha_matrix, unitarity_violation_ratios

NUMU, NUE, NUMUBAR = (FLAVOURS.index(f) for f in ("numu", "nue", "numubar"))


@pytest.mark.parametrize("reading", ["normalised", "unnormalised"])
def test_unitary_point_gives_one_exactly(reading):
    ratios = unitarity_violation_ratios(reading=reading)
    assert ratios.shape == (3,)
    assert np.all(ratios == 1.0)
    ones = unitarity_violation_ratios(np.ones(5), alpha22=1.0, reading=reading)
    assert ones.shape == (3, 5) and np.all(ones == 1.0)


def test_default_reading_is_normalised():
    a11, a22 = 0.93, 0.97
    np.testing.assert_array_equal(
        unitarity_violation_ratios(a11, alpha22=a22),
        unitarity_violation_ratios(a11, alpha22=a22, reading="normalised"),
    )


def test_diagonal_closed_forms_both_readings():
    # docs/physics.md#non-unitarity: (b) R_e = 1/α22², R_μ = 1/α11²; (a) R_e = α11²/α22², R_μ = α22²/α11².
    a11 = np.linspace(0.5, 1.0, 11)
    a22 = 0.9
    norm = unitarity_violation_ratios(a11, alpha22=a22)
    np.testing.assert_allclose(norm[NUE], 1 / a22**2, rtol=1e-14)
    np.testing.assert_allclose(norm[NUMU], 1 / a11**2, rtol=1e-14)
    np.testing.assert_allclose(norm[NUMUBAR], 1 / a11**2, rtol=1e-14)
    unnorm = unitarity_violation_ratios(a11, alpha22=a22, reading="unnormalised")
    np.testing.assert_allclose(unnorm[NUE], a11**2 / a22**2, rtol=1e-14)
    np.testing.assert_allclose(unnorm[NUMU], a22**2 / a11**2, rtol=1e-14)
    np.testing.assert_allclose(unnorm[NUMUBAR], a22**2 / a11**2, rtol=1e-14)


def test_vectorised_broadcasting():
    a11 = np.linspace(0.8, 1.0, 4)[:, None]
    a21 = np.array([0.0, 0.01j, 0.02])
    ratios = unitarity_violation_ratios(a11, alpha21=a21, alpha22=0.95)
    assert ratios.shape == (3, 4, 3)
    for i in range(4):
        for j in range(3):
            single = unitarity_violation_ratios(float(a11[i, 0]), alpha21=a21[j], alpha22=0.95)
            np.testing.assert_allclose(ratios[:, i, j], single, rtol=1e-15)


def _explicit_ratios(a11, a21, a22, a31, a32, a33):
    """Independent evaluation with explicit 3×3 matrices (docs/physics.md#non-unitarity, Eqs. 16–18)."""
    lam = np.array([[a11, 0, 0], [a21, a22, 0], [a31, a32, a33]], dtype=complex)
    nn = lam @ lam.conj().T
    nn2 = nn @ nn
    g_ratio_sq = 1.0 / (nn[0, 0].real * nn[1, 1].real)  # (G_F/G_μ)²
    unnorm = {a: nn2[i, i].real * g_ratio_sq for a, i in (("e", 0), ("mu", 1))}
    norm = {a: nn2[i, i].real / nn[i, i].real * g_ratio_sq for a, i in (("e", 0), ("mu", 1))}
    return norm, unnorm


def test_off_diagonal_against_explicit_matrices():
    rng = np.random.default_rng(7)
    for _ in range(20):
        a11, a22, a33 = rng.uniform(0.7, 1.0, 3)
        a21, a31, a32 = rng.normal(0, 0.05, 3) + 1j * rng.normal(0, 0.05, 3)
        norm, unnorm = _explicit_ratios(a11, a21, a22, a31, a32, a33)
        kw = dict(alpha21=a21, alpha22=a22, alpha31=a31, alpha32=a32, alpha33=a33)
        got_n = unitarity_violation_ratios(a11, **kw)
        got_u = unitarity_violation_ratios(a11, reading="unnormalised", **kw)
        np.testing.assert_allclose(got_n, [norm["mu"], norm["e"], norm["mu"]], rtol=1e-13)
        np.testing.assert_allclose(got_u, [unnorm["mu"], unnorm["e"], unnorm["mu"]], rtol=1e-13)


def test_off_diagonal_enter_at_second_order_and_alpha33_not_at_all():
    # The paper: only α11, α22 matter at the ESS; off-diagonal entries enter at second order.
    eps = 1e-4
    shifted = unitarity_violation_ratios(1.0, alpha21=eps * (1 + 1j), alpha31=eps, alpha32=-eps)
    assert np.max(np.abs(shifted - 1.0)) < 10 * eps**2
    np.testing.assert_array_equal(
        unitarity_violation_ratios(0.9, alpha22=0.95, alpha33=0.5),
        unitarity_violation_ratios(0.9, alpha22=0.95, alpha33=1.0),
    )


@pytest.mark.parametrize(
    ("reading", "weight11", "weight22"),
    [("normalised", 4 / 3, 2 / 3), ("unnormalised", 2 / 3, -2 / 3)],
)
def test_total_rate_sensitivity_weights(reading, weight11, weight22):
    # docs/physics.md#non-unitarity: with N_νe = N_νμ = N_ν̄μ the total N ∝ (R_e + 2 R_μ)/3 falls by
    # (4/3) δ11 + (2/3) δ22 for α_ii = 1 − δ_ii in reading (b), by (2/3)(δ11 − δ22) in (a).
    h = 1e-7

    def total(a11, a22):
        return unitarity_violation_ratios(a11, alpha22=a22, reading=reading).sum() / 3.0

    slope11 = (total(1.0, 1.0) - total(1.0 - h, 1.0)) / h
    slope22 = (total(1.0, 1.0) - total(1.0, 1.0 - h)) / h
    assert slope11 == pytest.approx(-weight11, abs=1e-6)
    assert slope22 == pytest.approx(-weight22, abs=1e-6)


def test_alpha_matrix_is_lower_triangular():
    lam = alpha_matrix(0.9, alpha21=0.1j, alpha22=0.8, alpha31=0.01, alpha32=0.02, alpha33=0.7)
    np.testing.assert_array_equal(np.triu(lam, 1), 0)
    assert lam[1, 0] == 0.1j and lam[2, 2] == 0.7


@pytest.mark.parametrize("name", ["alpha11", "alpha22", "alpha33"])
@pytest.mark.parametrize("value", [0.0, -0.5, 1.0 + 1e-12, 1.5, np.nan])
def test_diagonal_out_of_range_rejected(name, value):
    with pytest.raises(ConfigError, match=name):
        unitarity_violation_ratios(**{name: value})


def test_bad_element_in_array_is_reported():
    with pytest.raises(ConfigError, match="alpha11"):
        unitarity_violation_ratios(np.array([0.9, 1.0, 1.2]))
    with pytest.raises(ConfigError, match="alpha22"):
        unitarity_violation_ratios(0.9, alpha22=0.9 + 0.1j)
    with pytest.raises(ConfigError, match="alpha21"):
        unitarity_violation_ratios(0.9, alpha21=np.inf)


def test_unknown_reading():
    with pytest.raises(UnknownNameError, match="normalised"):
        unitarity_violation_ratios(0.9, reading="normalized")


def test_docstring_examples():
    import doctest

    from cevns.physics import nonunitarity

    result = doctest.testmod(nonunitarity)
    assert result.attempted >= 2 and result.failed == 0
