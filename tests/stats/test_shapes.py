"""Shape nuisances (cevns.stats.shapes) against pyhf's interpolators, finite differences and iminuit.

Expected values: pyhf.interpolators code0/code1/code4/code4p, the reference implementation of the
HistFactory conventions (an independent code); derivatives against central finite differences;
a profiled Poisson likelihood with shape nuisances minimised by Newton steps built from the
analytic derivatives against iminuit's MIGRAD on the same function.
"""

from __future__ import annotations

import numpy as np
import pytest

from cevns.errors import ConfigError
from cevns.stats.shapes import ShapeSystematics, ShapeVariation

pyhf = pytest.importorskip("pyhf")

NOM = np.array([10.0, 20.0, 5.0, 1.0])
UP = np.array([13.0, 21.0, 5.5, 0.7])
DOWN = np.array([8.0, 18.5, 4.0, 0.9])
ALPHAS = np.array([-2.3, -1.0, -0.7, -0.2, 0.0, 0.1, 0.55, 1.0, 1.6])
PYHF_CODE = {"linear": "code0", "polynomial": "code4p", "exponential": "code1",
             "polyexp": "code4"}


@pytest.mark.parametrize("code", list(PYHF_CODE))
def test_values_match_pyhf(code):
    from pyhf import interpolators

    syst = ShapeSystematics(NOM, (ShapeVariation("s", UP, DOWN, code),))
    mu = syst.evaluate(ALPHAS[:, None], derivatives=False)
    interp = getattr(interpolators, PYHF_CODE[code])([[[DOWN, NOM, UP]]])
    ref = np.asarray(interp(np.array([ALPHAS])))[0, 0]  # (n_alpha, n_bins)
    expected = NOM * ref if code in ("exponential", "polyexp") else NOM + ref
    np.testing.assert_allclose(mu, expected, rtol=1e-12, atol=1e-12)


def _combined(codes=("polynomial", "polyexp", "linear", "exponential", "polynomial")):
    rng = np.random.default_rng(7)
    nom = rng.uniform(5, 50, 6)
    variations = tuple(
        ShapeVariation(f"s{k}", nom * rng.uniform(1.0, 1.3, 6), nom * rng.uniform(0.75, 1.0, 6), code)
        for k, code in enumerate(codes))
    return ShapeSystematics(nom, variations)


def _assert_finite_differences(syst, alpha):
    """Jacobian and Hessian of ``syst`` at the rows of ``alpha`` against central differences."""
    mu, jac, hess = syst.evaluate(alpha)
    h, n_k = 1e-5, alpha.shape[1]
    for k in range(n_k):
        step = np.zeros(n_k)
        step[k] = h
        mu_p, jac_p, _ = syst.evaluate(alpha + step)
        mu_m, jac_m, _ = syst.evaluate(alpha - step)
        np.testing.assert_allclose(jac[:, k], (mu_p - mu_m) / (2 * h), rtol=1e-7, atol=1e-8)
        np.testing.assert_allclose(hess[:, k], (jac_p - jac_m) / (2 * h), rtol=1e-5, atol=1e-6)
    assert np.allclose(hess, np.swapaxes(hess, 1, 2))


def test_derivatives_match_finite_differences():
    syst = _combined()
    rng = np.random.default_rng(3)
    alpha = rng.uniform(-1.8, 1.8, (7, 5))
    alpha[0] = [0.3, -0.4, 0.5, -0.6, 0.9]  # away from the code-0 kink at 0
    alpha = np.where(np.abs(alpha) < 0.05, 0.2, alpha)
    _assert_finite_differences(syst, alpha)


def test_polynomial_codes_are_smooth_at_the_joins():
    """code 4p and code 4: value, slope and curvature continuous at α = 0 and ±1."""
    syst = ShapeSystematics(NOM, (ShapeVariation("a", UP, DOWN, "polynomial"),
                                  ShapeVariation("m", UP, DOWN, "polyexp")))
    for join in (-1.0, 0.0, 1.0):
        lo = syst.evaluate(np.array([[join - 1e-9, join - 1e-9]]))
        hi = syst.evaluate(np.array([[join + 1e-9, join + 1e-9]]))
        for a, b in zip(lo, hi, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_profiled_likelihood_matches_iminuit():
    """Newton with the analytic gradient/Hessian finds MIGRAD's minimum of the same χ².

    The smooth codes only: with code 0 this likelihood has its minimum on the kink at α = 0
    (MIGRAD finds α = −2e-6 there), where no Newton method converges — the reason the
    polynomial code is the default.
    """
    from iminuit import Minuit

    syst = _combined(("polynomial", "polyexp", "polynomial", "exponential", "polynomial"))
    observed = np.round(syst.evaluate(np.array([0.4, -0.8, 0.3, 0.5, -1.2]), derivatives=False)
                        * 1.05)

    def chi2(a):
        mu = syst.evaluate(np.asarray(a), derivatives=False)
        return float(2 * np.sum(mu - observed + observed * np.log(observed / mu)) + np.sum(
            np.square(a)))

    a = np.zeros(5)
    for _ in range(100):  # Newton with step halving (the χ² is not convex far from the minimum)
        mu, jac, hess = syst.evaluate(a)
        r = 1 - observed / mu
        grad = 2 * jac @ r + 2 * a
        hmat = 2 * (np.einsum("kb,lb,b->kl", jac, jac, observed / mu**2)
                    + np.einsum("klb,b->kl", hess, r)) + 2 * np.eye(5)
        step = np.linalg.solve(hmat, grad)
        if grad @ step <= 0:  # not a descent direction: gradient step instead
            step = 0.1 * grad
        t, now = 1.0, chi2(a)
        while t > 1e-6:
            trial = a - t * step
            if np.all(syst.evaluate(trial, derivatives=False) > 0) and chi2(trial) <= now:
                break
            t *= 0.5
        a = a - t * step
        if np.max(np.abs(t * step)) < 1e-12:
            break
    m = Minuit(chi2, np.zeros(5))
    m.errordef = Minuit.LEAST_SQUARES
    m.tol = 1e-4
    m.migrad()
    assert m.valid
    assert chi2(a) <= m.fval + 1e-8
    np.testing.assert_allclose(a, np.array(m.values), atol=2e-3)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"up": [1.0, 2.0], "down": [1.0]}, "down has 1 bins"),
    ({"up": [1.0, np.nan], "down": [1.0, 1.0]}, "NaN or inf"),
    ({"up": [[1.0]], "down": [[1.0]]}, "1-D array"),
    ({"up": [1.0, 2.0], "down": [1.0, 1.0], "interpolation": "code0"}, "unknown interpolation"),
])
def test_bad_variations(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        ShapeVariation("bad", **kwargs)


def test_bad_systematics():
    v = ShapeVariation("x", [1.0, 2.0, 3.0], [1.0, 1.0, 1.0], "exponential")
    with pytest.raises(ConfigError, match="3 bins, the nominal template 2"):
        ShapeSystematics(np.array([1.0, 1.0]), (v,))
    with pytest.raises(ConfigError, match="bin 1 has nom=0"):
        ShapeSystematics(np.array([1.0, 0.0, 1.0]), (v,))
    with pytest.raises(ConfigError, match="names must be unique"):
        ShapeSystematics(np.ones(3), (v, v))
    syst = ShapeSystematics(np.ones(3), (v,))
    with pytest.raises(ConfigError, match=r"alpha must have shape \(n_points, 1\)"):
        syst.evaluate(np.zeros((2, 2)))
    with pytest.raises(ConfigError, match="NaN or inf"):
        syst.evaluate(np.array([np.inf]))
    assert "x:exponential" in repr(syst)


# -- the grid-aware interpolator (flat_interpolator) with templates that share their ratios ------


def _ratio_templates(rows: int, seed: int = 3):
    """A per-row nominal (a signal over a grid) and variants that are fixed per-bin ratios of it."""
    rng = np.random.default_rng(seed)
    nominal = rng.uniform(0.5, 40.0, (rows, NOM.size)) * NOM
    return nominal, nominal * (DOWN / NOM), nominal * (UP / NOM)


@pytest.mark.parametrize("code", ["polyexp", "exponential"])
def test_ratio_templates_share_one_row_and_match_the_per_row_formulas(code):
    """Variants that are one set of ratios × a per-row nominal interpolate with one shared row;
    the factor at α (per row, inside and outside |α| < 1) equals ShapeSystematics' factor of that
    row's templates (the formulas checked against pyhf above) to rounding."""
    from cevns.stats.shapes import flat_interpolator

    nominal, down, up = _ratio_templates(ALPHAS.size)
    interp = flat_interpolator(code, nominal, down, up, "test")
    assert all(a.shape[0] == 1 for a in interp.arrays)
    value, d1, d2 = interp(ALPHAS[:, None])
    np.testing.assert_array_equal(interp.value(ALPHAS[:, None]), value)
    for i, alpha in enumerate(ALPHAS):
        syst = ShapeSystematics(nominal[i], (ShapeVariation("s", up[i], down[i], code),))
        mu, jac, hess = syst.evaluate([alpha])
        np.testing.assert_allclose(nominal[i] * value[i], mu, rtol=1e-13)
        np.testing.assert_allclose(nominal[i] * d1[i], jac[0], rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(nominal[i] * d2[i], hess[0, 0], rtol=1e-12, atol=1e-13)


def test_templates_with_other_ratios_per_row_keep_their_rows():
    """Rows whose ratios differ (beyond rounding) are not merged; each row still gets its own
    factor (reference: ShapeSystematics row by row)."""
    from cevns.stats.shapes import flat_interpolator

    nominal, down, up = _ratio_templates(3)
    up[1] *= 1.0 + 1e-9  # row 1: other ratios
    interp = flat_interpolator("polyexp", nominal, down, up, "test")
    assert interp.arrays[0].shape[0] == 3
    alpha = np.array([[0.4], [-0.6], [1.3]])
    value = interp.value(alpha)
    for i in range(3):
        syst = ShapeSystematics(nominal[i], (ShapeVariation("s", up[i], down[i], "polyexp"),))
        np.testing.assert_allclose(nominal[i] * value[i], syst.evaluate([alpha[i, 0]], False),
                                   rtol=1e-13)
    nominal, down, up = _ratio_templates(3)
    nominal[2, 0] = down[2, 0] = up[2, 0] = 0.0  # an empty bin in one row only
    up[1, 3] *= 1.0 + 1e-9  # and other ratios in a bin that is live in every row
    assert flat_interpolator("polyexp", nominal, down, up, "test").arrays[0].shape[0] == 3


@pytest.mark.parametrize("code", ["polyexp", "exponential"])
def test_rows_with_empty_bins_share_the_row_of_the_others(code):
    """A bin empty in some rows only (nominal, down and up 0 there), and a row empty in every
    bin (a signal of N = 0 on the grid), still share one row: the template is 0 there whatever
    the factor. Value, first and second derivative of nominal × factor equal ShapeSystematics
    row by row (0 in the empty places)."""
    from cevns.stats.shapes import flat_interpolator

    nominal, down, up = _ratio_templates(4)
    nominal[2, 0] = down[2, 0] = up[2, 0] = 0.0  # one bin empty in one row
    nominal[3] = down[3] = up[3] = 0.0  # a whole row empty
    interp = flat_interpolator(code, nominal, down, up, "test")
    assert all(a.shape[0] == 1 for a in interp.arrays)
    alpha = np.array([[0.4], [-0.6], [1.3], [-1.7]])
    value, d1, d2 = interp(alpha)
    for i in range(4):
        syst = ShapeSystematics(nominal[i], (ShapeVariation("s", up[i], down[i], code),))
        mu, jac, hess = syst.evaluate([alpha[i, 0]])
        np.testing.assert_allclose(nominal[i] * value[i], mu, rtol=1e-13, atol=0)
        np.testing.assert_allclose(nominal[i] * d1[i], jac[0], rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(nominal[i] * d2[i], hess[0, 0], rtol=1e-12, atol=1e-13)
    assert np.all(nominal[3] * value[3] == 0.0) and np.all(nominal[2, 0] * d1[2, 0] == 0.0)


# -- shape-only nuisances (conserve_total) --------------------------------------------------------

# variants of the nominal total (a shape variant): NOM sums to 36
UP_SHAPE = UP * NOM.sum() / UP.sum()
DOWN_SHAPE = DOWN * NOM.sum() / DOWN.sum()


@pytest.mark.parametrize("code", list(PYHF_CODE))
def test_plain_interpolation_loses_the_total_and_conserve_total_keeps_it(code):
    """The reason for the option: between variants of the nominal total the per-bin
    multiplicative codes lose events (for code 1 Σ nom r^α ≤ T, Hölder) and gain beyond ±1;
    with conserve_total the total is the nominal one at every α (to rounding), and at α = ±1 the
    template is the variant rescaled to that total (reference: the variant itself)."""
    plain = ShapeSystematics(NOM, (ShapeVariation("s", UP_SHAPE, DOWN_SHAPE, code),))
    kept = ShapeSystematics(NOM, (ShapeVariation("s", UP, DOWN, code, conserve_total=True),))
    alphas = np.array([-2.0, -0.5, 0.5, 2.0])
    total = plain.evaluate(alphas[:, None], derivatives=False).sum(axis=1)
    if code in ("exponential", "polyexp"):
        assert np.all(total[1:3] < NOM.sum() * (1 - 1e-4))
        assert np.all(total[[0, 3]] > NOM.sum() * (1 + 1e-4))
    else:  # additive codes with variants of equal total conserve it already
        np.testing.assert_allclose(total, NOM.sum(), rtol=1e-13)
    mu = kept.evaluate(ALPHAS[:, None], derivatives=False)
    np.testing.assert_allclose(mu.sum(axis=1), NOM.sum(), rtol=1e-13)
    np.testing.assert_allclose(kept.evaluate([1.0], derivatives=False), UP_SHAPE, rtol=1e-12)
    np.testing.assert_allclose(kept.evaluate([-1.0], derivatives=False), DOWN_SHAPE, rtol=1e-12)
    np.testing.assert_allclose(kept.evaluate([0.0], derivatives=False), NOM, rtol=1e-13)


def test_conserve_total_derivatives_match_finite_differences():
    """Mixed codes, some shape-only: Jacobian and Hessian against central differences."""
    codes = ("polynomial", "polyexp", "linear", "exponential", "polyexp")
    rng = np.random.default_rng(7)
    nom = rng.uniform(5, 50, 6)
    syst = ShapeSystematics(nom, tuple(
        ShapeVariation(f"s{k}", nom * rng.uniform(1.0, 1.3, 6), nom * rng.uniform(0.75, 1.0, 6),
                       code, conserve_total=k != 4)
        for k, code in enumerate(codes)))
    assert "(shape only)" in repr(syst)
    alpha = rng.uniform(-1.8, 1.8, (7, 5))
    alpha = np.where(np.abs(alpha) < 0.05, 0.2, alpha)
    _assert_finite_differences(syst, alpha)


def test_conserve_total_must_be_a_bool():
    with pytest.raises(ConfigError, match="conserve_total must be True or False"):
        ShapeVariation("s", UP, DOWN, "polyexp", conserve_total="yes")
