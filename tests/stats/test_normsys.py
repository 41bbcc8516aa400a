"""Linear normalisation systematics (Component(normsys={name: (down, up)})) in the profiler.

References: the closed form of the factor (FlexibleInterpVar code 0: 1 + α(up − 1) for α ≥ 0,
1 + α(1 − down) below); the existing Gaussian normalisation nuisance, which a symmetric normsys
(1 − σ, 1 + σ) must reproduce exactly (θ = σα); central finite differences for the analytic
gradient and Hessian; iminuit MIGRAD (PoissonModel.minuit, no derivatives of ours) for the
profiled minimum; and a literal outer minimisation over the shared nuisance (SciPy's bounded
Brent method over per-channel profiles) for a factor shared by two channels.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from cevns.errors import ConfigError
from cevns.stats import FREE, Channel, Component, PoissonModel, profile_chi2

B = 8


def _counts(seed=0):
    rng = np.random.default_rng(seed)
    sig, bkg = rng.uniform(5, 25, B), rng.uniform(10, 30, B)
    return rng, sig, bkg


def test_symmetric_normsys_is_a_gaussian_normalisation():
    """(1 − σ, 1 + σ) with pull α² gives exactly the χ² of nuisance θ = σα with (θ/σ)²,
    pointwise and after profiling (on a grid of signal strengths)."""
    rng, sig, bkg = _counts()
    grid = np.linspace(0.2, 3.0, 7)[:, None]
    obs = rng.poisson(1.3 * sig + bkg).astype(float)
    sigma = 0.12
    with_norm = PoissonModel(Channel("A", obs, [
        Component("s", grid * sig, nuisance="flux", sigma=sigma),
        Component("b", bkg, nuisance="nb", sigma=0.05)]))
    with_normsys = PoissonModel(Channel("A", obs, [
        Component("s", grid * sig, normsys={"flux": (1 - sigma, 1 + sigma)}),
        Component("b", bkg, nuisance="nb", sigma=0.05)]))
    assert with_normsys.shape_nuisances == ("flux",)
    np.testing.assert_allclose(with_normsys.chi2({"flux": 0.7, "nb": 0.01}),
                               with_norm.chi2({"flux": 0.7 * sigma, "nb": 0.01}), rtol=1e-13)
    a, b = with_norm.profile(), with_normsys.profile()
    np.testing.assert_allclose(b.chi2, a.chi2, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(sigma * b.nuisances["flux"], a.nuisances["flux"], atol=1e-7)


def test_factor_is_piecewise_linear_for_asymmetric_variants():
    """The prediction at α equals C × (1 + α(up − 1)) above 0 and C × (1 + α(1 − down)) below."""
    _, sig, _ = _counts(1)
    obs = np.round(sig)
    model = PoissonModel(Channel("A", obs, [Component("s", sig, normsys={"k": (0.8, 1.3)})]))
    for alpha, factor in ((0.5, 1.15), (-0.5, 0.9), (2.0, 1.6), (-3.0, 0.4)):
        expected = model.expected({"k": alpha})["A"]
        np.testing.assert_allclose(expected, sig * factor, rtol=1e-14)


@pytest.mark.parametrize("alpha", [-0.6, 0.4])
def test_gradient_and_hessian_match_finite_differences(alpha):
    """A normsys on a component that also has a normalisation nuisance and a shape nuisance
    (code 4): exact derivatives, including the cross terms."""
    rng, sig, bkg = _counts(2)
    lo, hi = sig * np.exp(rng.normal(0, 0.1, B)), sig * np.exp(rng.normal(0, 0.1, B))
    obs = rng.poisson(sig + bkg).astype(float)
    model = PoissonModel(Channel("A", obs, [
        Component("s", sig, "n", 0.2, {"sh": (lo, hi)}, normsys={"flux": (0.9, 1.15)}),
        Component("b", bkg, "nb", 0.1)]))
    point = {"n": 0.05, "sh": 0.3, "flux": alpha, "nb": 0.02}
    names, eps = model.nuisances, 1e-6
    grad, hess = model.gradient(point).ravel(), model.hessian(point).reshape(len(names), -1)
    num_g, num_h = [], []
    for k in names:
        up, dn = dict(point), dict(point)
        up[k] += eps
        dn[k] -= eps
        num_g.append(float((model.chi2(up) - model.chi2(dn))[()]) / (2 * eps))
        num_h.append((model.gradient(up) - model.gradient(dn)).ravel() / (2 * eps))
    np.testing.assert_allclose(grad, num_g, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(hess, np.array(num_h), rtol=1e-5, atol=1e-5)


def test_profile_matches_migrad():
    rng, sig, bkg = _counts(3)
    lo, hi = sig * np.exp(rng.normal(0, 0.1, B)), sig * np.exp(rng.normal(0, 0.1, B))
    obs = rng.poisson(0.8 * sig + bkg).astype(float)
    model = PoissonModel(Channel("A", obs, [
        Component("s", sig, "n", 0.2, {"sh": (lo, hi)}, normsys={"flux": (0.85, 1.2)}),
        Component("b", bkg, "nb", FREE)]))
    ours = model.profile(tol=1e-12)
    m = model.minuit()
    m.tol = 1e-7
    m.migrad()
    assert float(ours.chi2) <= m.fval + 1e-9
    assert float(ours.chi2) == pytest.approx(m.fval, abs=1e-6)


def test_a_shared_normsys_couples_two_channels_as_an_outer_minimum():
    """Two channels, each with its own signal normalisation, share one flux factor: the joint
    profile equals min over θ of [Σ_channels profiled χ²(signal × (1 + θ)) + (θ/σ)²]."""
    rng, sig, bkg = _counts(4)
    sigma = 0.1
    obs_a = rng.poisson(1.2 * sig + bkg).astype(float)
    obs_b = rng.poisson(0.5 * sig + 2 * bkg).astype(float)

    def channels(theta=None):
        ns = None if theta is not None else {"flux": (1 - sigma, 1 + sigma)}
        f = 1.0 if theta is None else 1.0 + theta
        return [Channel("A", obs_a, [Component("s", f * sig, "na", 0.15, normsys=ns),
                                     Component("b", bkg, "ba", 0.05)]),
                Channel("B", obs_b, [Component("s", 0.5 * f * sig, "nb", 0.08, normsys=ns),
                                     Component("b", 2 * bkg, "bb", 0.05)])]

    joint = profile_chi2(channels(), tol=1e-12)

    def outer(theta):
        return float(profile_chi2(channels(theta), tol=1e-12).chi2) + (theta / sigma) ** 2

    ref = minimize_scalar(outer, bounds=(-0.9, 0.9), method="bounded", options={"xatol": 1e-9})
    assert float(joint.chi2) == pytest.approx(ref.fun, abs=1e-8)
    assert sigma * float(joint.nuisances["flux"]) == pytest.approx(ref.x, abs=1e-5)


def test_the_factor_is_bounded_at_zero():
    """A falling factor stops at 0 (the profiler's lower bound α = −1/(1 − down), up to the
    factor floor 10⁻¹²); beyond it the point is outside the domain (χ² = inf), as is a rising
    factor below zero."""
    _, sig, bkg = _counts(5)
    obs = np.floor(0.7 * bkg)  # data below the background: the best signal is none at all
    model = PoissonModel(Channel("A", obs, [
        Component("s", 50 * sig, normsys={"k": (0.5, 1.5)}), Component("b", bkg)]))
    res = model.profile()
    assert bool(res.converged)
    assert float(res.nuisances["k"]) == pytest.approx(-2.0, abs=1e-9)  # 1 + α (1 − 0.5) = 0
    assert np.isinf(model.chi2({"k": -2.5}))
    rising = PoissonModel(Channel("A", obs, [
        Component("s", sig, normsys={"k": (1.2, 0.5)}), Component("b", bkg)]))
    assert np.isinf(rising.chi2({"k": 3.0}))  # 1 + 3 (0.5 − 1) < 0
    assert np.isfinite(rising.chi2({"k": -3.0}))


def test_a_normsys_with_an_additive_shape_code_or_a_bad_pair_is_refused():
    _, sig, _ = _counts(6)
    shapes = {"sh": (0.9 * sig, 1.1 * sig)}
    with pytest.raises(ConfigError, match="multiplicative shape_code"):
        Component("s", sig, shapes=shapes, shape_code="linear", normsys={"k": (0.9, 1.1)})
    Component("s", sig, shapes=shapes, shape_code="exponential", normsys={"k": (0.9, 1.1)})
    for bad, match in [((0.9,), "pair"), ("ab", "pair"), ((0.0, 1.1), "> 0"),
                       ((float("nan"), 1.1), "finite"), ((0.9, float("inf")), "finite"),
                       ((True, 1.1), "number"), ((0.9, "1.1"), "number")]:
        with pytest.raises(ConfigError, match=match):
            Component("s", sig, normsys={"k": bad})
    with pytest.raises(ConfigError, match="mapping"):
        Component("s", sig, normsys=[("k", (0.9, 1.1))])
    with pytest.raises(ConfigError, match="normalisation nuisance"):
        Component("s", sig, nuisance="k", sigma=0.1, normsys={"k": (0.9, 1.1)})
    with pytest.raises(ConfigError, match="shape nuisance"):
        Component("s", sig, shapes=shapes, normsys={"sh": (0.9, 1.1)})
    with pytest.raises(ConfigError, match="both as a normalisation nuisance and as a shape"):
        PoissonModel(Channel("A", np.ones(B), [Component("s", sig, normsys={"k": (0.9, 1.1)}),
                                               Component("b", sig, nuisance="k", sigma=0.1)]))
