"""Poisson χ² with pulls (paper Eqs. 29–30): values, derivatives, closed forms, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cevns.errors import ConfigError, UnknownNameError
from cevns.stats import (
    FREE,
    Channel,
    Component,
    PoissonModel,
    asimov,
    chi2_at,
    poisson_deviance,
    profile_chi2,
    signal_background_channel,
)


def reference_chi2(observed, components, thetas, sigmas):
    """Eq. (29) written out term by term for one grid point (independent of the package).

    components: list of (expected array, nuisance name or None); thetas/sigmas: dicts.
    """
    mu = sum((1.0 + (thetas[p] if p else 0.0)) * np.asarray(c, float) for c, p in components)
    total = 0.0
    for n, m in zip(observed, mu, strict=True):
        total += 2.0 * (m - n + (n * math.log(n / m) if n > 0 else 0.0))
    return total + sum((thetas[p] / s) ** 2 for p, s in sigmas.items() if math.isfinite(s))


# -- values ----------------------------------------------------------------------------------------


def test_chi2_matches_eq29_written_out():
    # Source of the expected value: Eq. (29)-(30) evaluated term by term in reference_chi2.
    rng = np.random.default_rng(11)
    sig, bkg = rng.uniform(0, 30, 7), rng.uniform(1, 20, 7)
    obs = rng.poisson(sig + bkg).astype(float)
    obs[2] = 0.0
    ch = signal_background_channel("CsI", obs, sig, bkg)
    theta = {"alpha_CsI": 0.07, "beta_CsI": -0.004}
    sigmas = {"alpha_CsI": 0.1, "beta_CsI": 0.01}
    expected = reference_chi2(obs, [(sig, "alpha_CsI"), (bkg, "beta_CsI")], theta, sigmas)
    assert chi2_at([ch], theta) == pytest.approx(expected, rel=1e-12)
    # θ = 0 by default for names not given
    expected0 = reference_chi2(obs, [(sig, None), (bkg, None)], {}, {})
    assert chi2_at(ch) == pytest.approx(expected0, rel=1e-12)


def test_asimov_at_nominal_is_exactly_zero_with_zero_nuisances():
    # Exact: n = N ⇒ every bin term vanishes and θ = 0 is the minimum.
    rng = np.random.default_rng(3)
    sig, bkg = rng.uniform(0.1, 50, 20), rng.uniform(0.1, 50, 20)
    ch = signal_background_channel("Xe", asimov(sig, bkg), sig, bkg)
    assert float(chi2_at(ch)) == 0.0
    res = profile_chi2(ch)
    assert float(res.chi2) == pytest.approx(0.0, abs=1e-12)
    for v in res.nuisances.values():
        assert float(v) == pytest.approx(0.0, abs=1e-9)
    assert res.all_converged


def test_poisson_deviance_convention_zero_counts():
    # n ln(n/N) = 0 for n = 0: the bin contributes 2N.
    assert poisson_deviance([0.0, 0.0], [1.5, 2.0]) == pytest.approx(7.0)
    assert poisson_deviance([3.0], [3.0]) == 0.0
    assert poisson_deviance([3.0], [0.0]) == np.inf
    per_bin = poisson_deviance([[1.0, 2.0]], [[2.0, 2.0]], axis=None)
    assert per_bin.shape == (1, 2)
    assert per_bin[0, 0] == pytest.approx(2 * (2 - 1 + math.log(0.5)))


def test_several_components_share_one_nuisance_within_a_channel():
    # Two backgrounds scaled by the same β: N = (1+α)S + (1+β)(B1 + B2).
    s, b1, b2 = np.array([5.0, 3.0]), np.array([2.0, 1.0]), np.array([1.0, 4.0])
    obs = np.array([9.0, 7.0])
    ch = Channel(
        "Ge",
        obs,
        [
            Component("signal", s, nuisance="a", sigma=0.1),
            Component("bkg1", b1, nuisance="b", sigma=0.05),
            Component("bkg2", b2, nuisance="b"),
            Component("fixed", np.array([0.5, 0.5])),
        ],
    )
    th = {"a": 0.03, "b": -0.02}
    ref = reference_chi2(
        obs,
        [(s, "a"), (b1, "b"), (b2, "b"), (np.array([0.5, 0.5]), None)],
        th,
        {"a": 0.1, "b": 0.05},
    )
    assert chi2_at(ch, th) == pytest.approx(ref, rel=1e-12)


def test_free_nuisance_has_no_pull():
    s = np.array([10.0, 20.0])
    ch = Channel("Ar", np.array([12.0, 24.0]), [Component("signal", s, nuisance="norm")])
    model = PoissonModel(ch, sigmas={"norm": None})
    assert model.sigmas["norm"] == math.inf
    # With a free normalisation the data are fitted exactly: (1 + θ) = 1.2.
    res = model.profile()
    assert float(res.nuisances["norm"]) == pytest.approx(0.2, abs=1e-9)
    assert float(res.chi2) == pytest.approx(0.0, abs=1e-10)
    assert res.pulls == {}
    ch_inf = Channel("Ar", [12.0, 24.0], [Component("signal", s, nuisance="norm", sigma=FREE)])
    assert float(profile_chi2(ch_inf).chi2) == pytest.approx(0.0, abs=1e-10)


# -- closed forms ----------------------------------------------------------------------------------


@pytest.mark.parametrize("rate_factor", [0.9, 0.97, 1.02, 1.05, 1.2])
@pytest.mark.parametrize("counts", [50.0, 1.0e4])
def test_single_bin_signal_only_exact_profile(rate_factor, counts):
    # One bin, prediction r N0 (1 + α), Asimov n = N0, pull (α/σ)². Setting dχ²/dα = 0 and
    # multiplying by (1 + α) gives the quadratic α²/σ² + α (1/σ² + r N0) + (r − 1) N0 = 0, whose
    # root above −1 is the exact profiled α (derived by hand; no approximation).
    sigma = 0.1
    a = 1 / sigma**2
    b = 1 / sigma**2 + rate_factor * counts
    c = (rate_factor - 1) * counts
    alpha = (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)
    mu = rate_factor * counts * (1 + alpha)
    exact = 2 * (mu - counts + counts * math.log(counts / mu)) + (alpha / sigma) ** 2
    ch = Channel("one", [counts], [Component("signal", [rate_factor * counts], nuisance="alpha")])
    res = profile_chi2(ch, {"alpha": sigma})
    assert float(res.nuisances["alpha"]) == pytest.approx(alpha, rel=1e-9, abs=1e-12)
    assert float(res.chi2) == pytest.approx(exact, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("rate_factor", [0.95, 0.98, 1.02, 1.05])
def test_single_bin_large_counts_gaussian_limit(rate_factor):
    # For large N0 the Poisson term is ≈ N0 (r(1+α) − 1)² (expansion of the deviance), and
    # minimising N0 (r − 1 + rα)² + (α/σ)² over α gives Δχ² = (r − 1)² / (r²σ² + 1/N0). The
    # neglected cubic term of the logarithm is of relative order |u| with u = r(1+α) − 1 at the
    # minimum, u ≈ (r − 1)/(N0 r² σ²) ≲ 5e-4 here. The cruder form (r − 1)²/(σ² + 1/N0) also drops
    # the factor r² (relative error ≈ 2|r − 1|), so it gets the tolerance 2.5 |r − 1|.
    counts, sigma = 1.0e4, 0.1
    ch = Channel("one", [counts], [Component("signal", [rate_factor * counts], nuisance="alpha")])
    res = profile_chi2(ch, {"alpha": sigma})
    gaussian = (rate_factor - 1) ** 2 / (rate_factor**2 * sigma**2 + 1 / counts)
    assert float(res.chi2) == pytest.approx(gaussian, rel=5e-4)
    crude = (rate_factor - 1) ** 2 / (sigma**2 + 1 / counts)
    assert float(res.chi2) == pytest.approx(crude, rel=2.5 * abs(rate_factor - 1))


def test_paper_channel_names_and_sigmas():
    sig, bkg = np.ones(3), np.ones(3)
    ch = signal_background_channel("CsI", asimov(sig, bkg), sig, bkg)
    assert ch.nuisances == ("alpha_CsI", "beta_CsI")
    model = PoissonModel(ch)
    assert model.sigmas == {"alpha_CsI": 0.10, "beta_CsI": 0.01}
    shared = [
        signal_background_channel(d, asimov(sig, bkg), sig, bkg, shared_signal=True)
        for d in ("CsI", "Xe")
    ]
    model = PoissonModel(shared)
    assert model.nuisances == ("alpha", "beta_CsI", "beta_Xe")
    assert model.groups == (("CsI", "Xe"),)
    indep = PoissonModel(
        [signal_background_channel(d, asimov(sig, bkg), sig, bkg) for d in ("CsI", "Xe")]
    )
    assert indep.groups == (("CsI",), ("Xe",))


def test_sigmas_mapping_overrides_components():
    sig, bkg = np.ones(3), np.ones(3)
    ch = signal_background_channel("CsI", asimov(sig, bkg), sig, bkg)
    model = PoissonModel(ch, sigmas={"beta_CsI": 0.05})
    assert model.sigmas == {"alpha_CsI": 0.10, "beta_CsI": 0.05}


# -- derivatives -----------------------------------------------------------------------------------


def _random_model(seed: int) -> PoissonModel:
    rng = np.random.default_rng(seed)
    grid = (4,)
    chans = []
    for k, nb in enumerate((6, 3, 1)):
        sig = rng.uniform(0.5, 40, (*grid, nb))
        bkg = rng.uniform(0.5, 20, nb)
        obs = rng.poisson(sig[0] + bkg).astype(float)
        obs[0] = 0.0  # a bin without data in every channel
        chans.append(
            Channel(
                f"d{k}",
                obs,
                [
                    Component("signal", sig, nuisance="alpha"),  # shared across channels
                    Component("background", bkg, nuisance=f"beta_{k}"),
                ],
            )
        )
    return PoissonModel(chans, {"alpha": 0.1, "beta_0": 0.02, "beta_1": None, "beta_2": 0.3})


def test_gradient_and_hessian_match_finite_differences():
    model = _random_model(5)
    rng = np.random.default_rng(6)
    theta = {p: rng.uniform(-0.05, 0.05, model.grid_shape) for p in model.nuisances}
    grad = model.gradient(theta)
    hess = model.hessian(theta)
    h = 1e-6
    for j, p in enumerate(model.nuisances):
        up = {**theta, p: theta[p] + h}
        dn = {**theta, p: theta[p] - h}
        fd_grad = (model.chi2(up) - model.chi2(dn)) / (2 * h)
        np.testing.assert_allclose(grad[..., j], fd_grad, rtol=1e-6, atol=1e-5)
        fd_hess = (model.gradient(up) - model.gradient(dn)) / (2 * h)
        np.testing.assert_allclose(hess[..., j, :], fd_hess, rtol=1e-6, atol=1e-4)
    np.testing.assert_allclose(hess, np.swapaxes(hess, -1, -2))


# -- Hypothesis ------------------------------------------------------------------------------------

# Expected counts: exactly 0 or in [1e-3, 200] (realistic; subnormal counts would overflow n/N²).
count_values = st.one_of(st.just(0.0), st.floats(1e-3, 200.0))
counts = arrays(np.float64, st.integers(1, 5), elements=count_values)


@settings(max_examples=60, deadline=None)
@given(
    signal=counts,
    data=st.data(),
    scale=st.one_of(st.just(0.0), st.floats(1e-3, 3.0)),
    sigma_a=st.floats(0.01, 1.0),
    sigma_b=st.floats(0.001, 1.0),
)
def test_property_asimov_chi2_nonnegative_and_profile_below_nominal(
    signal, data, scale, sigma_a, sigma_b
):
    bkg = data.draw(arrays(np.float64, signal.shape, elements=count_values), label="bkg")
    theta = data.draw(st.tuples(st.floats(-0.5, 0.5), st.floats(-0.5, 0.5)), label="theta")
    obs = asimov(signal, bkg)
    # Asimov data against the nominal model at any θ: χ² ≥ 0 (deviance and pulls are ≥ 0).
    ch0 = signal_background_channel("d", obs, signal, bkg, sigma_alpha=sigma_a, sigma_beta=sigma_b)
    value = float(chi2_at(ch0, {"alpha_d": theta[0], "beta_d": theta[1]}))
    assert value >= -1e-9 * (1 + obs.sum())
    # A rescaled signal: the profiled χ² lies between 0 and χ²(θ = 0).
    ch = signal_background_channel(
        "d", obs, scale * signal, bkg, sigma_alpha=sigma_a, sigma_beta=sigma_b
    )
    res = profile_chi2(ch)
    at_zero = float(chi2_at(ch))
    assert res.all_converged
    assert float(res.chi2) >= -1e-9 * (1 + obs.sum())
    assert float(res.chi2) <= at_zero + 1e-9 * (1 + abs(at_zero))


# -- validation ------------------------------------------------------------------------------------


def test_shape_mismatch_names_component_and_channel():
    with pytest.raises(ConfigError, match=r"channel 'CsI'.*'background'.*19 bins"):
        signal_background_channel("CsI", np.ones(20), np.ones(20), np.ones(19))


def test_grid_shapes_that_do_not_broadcast():
    with pytest.raises(ConfigError, match="grid"):
        Channel(
            "CsI",
            np.ones(3),
            [Component("signal", np.ones((4, 3))), Component("background", np.ones((5, 3)))],
        )
    a = Channel("A", np.ones(3), [Component("s", np.ones((4, 3)))])
    b = Channel("B", np.ones(2), [Component("s", np.ones((5, 2)))])
    with pytest.raises(ConfigError, match="grid shapes"):
        PoissonModel([a, b])


def test_negative_expected_counts():
    with pytest.raises(ConfigError, match=r"component 'signal': expected.*≥ 0.*-1"):
        Component("signal", [1.0, -1.0])


@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf])
def test_bad_observed_counts(bad):
    with pytest.raises(ConfigError, match=r"channel 'Si': observed"):
        Channel("Si", [1.0, bad], [Component("signal", [1.0, 1.0])])


@pytest.mark.parametrize("bad", [0.0, -0.1, float("nan"), "ten"])
def test_bad_sigma(bad):
    ch = signal_background_channel("Ge", np.ones(2), np.ones(2), np.ones(2))
    with pytest.raises(ConfigError, match=r"sigmas\['alpha_Ge'\]"):
        PoissonModel(ch, {"alpha_Ge": bad})
    with pytest.raises(ConfigError, match="sigma_beta"):
        signal_background_channel("Ge", np.ones(2), np.ones(2), np.ones(2), sigma_beta=bad)


def test_unknown_nuisance_in_sigmas():
    ch = signal_background_channel("Ge", np.ones(2), np.ones(2), np.ones(2))
    with pytest.raises(UnknownNameError, match=r"'alpha_GE'.*alpha_Ge, beta_Ge"):
        PoissonModel(ch, {"alpha_GE": 0.1})
    with pytest.raises(UnknownNameError, match="alpha_GE"):
        chi2_at(ch, {"alpha_GE": 0.1})


def test_missing_sigma():
    ch = Channel("C3F8", [5.0], [Component("signal", [5.0], nuisance="alpha")])
    with pytest.raises(ConfigError, match=r"sigmas: no pull width.*'alpha'"):
        PoissonModel(ch)


def test_conflicting_sigmas_on_components():
    a = Channel("A", [1.0], [Component("s", [1.0], nuisance="alpha", sigma=0.1)])
    b = Channel("B", [1.0], [Component("s", [1.0], nuisance="alpha", sigma=0.2)])
    with pytest.raises(ConfigError, match="conflicting sigma"):
        PoissonModel([a, b])
    assert PoissonModel([a, b], {"alpha": 0.3}).sigmas == {"alpha": 0.3}


def test_other_structural_errors():
    with pytest.raises(ConfigError, match="components is empty"):
        Channel("A", [1.0], [])
    with pytest.raises(ConfigError, match="duplicate component names"):
        Channel("A", [1.0], [Component("s", [1.0]), Component("s", [2.0])])
    with pytest.raises(ConfigError, match="duplicate channel names"):
        PoissonModel([Channel("A", [1.0], [Component("s", [1.0])])] * 2)
    with pytest.raises(ConfigError, match="channels is empty"):
        PoissonModel([])
    with pytest.raises(ConfigError, match="scalar"):
        Component("s", 3.0)
    with pytest.raises(ConfigError, match="no nuisance"):
        Component("s", [1.0], sigma=0.1)
    with pytest.raises(ConfigError, match=r"nuisances\['a'\].*grid shape"):
        PoissonModel(Channel("A", [1.0], [Component("s", np.ones((3, 1)), "a", 0.1)])).chi2(
            {"a": np.zeros(4)}
        )


def test_zero_prediction_where_data_is_infinite():
    # A bin with data and no expected counts cannot be fitted by any normalisation: χ² = inf.
    ch = signal_background_channel("A", [1.0, 2.0], [0.0, 1.0], [0.0, 1.0])
    assert float(chi2_at(ch)) == np.inf
    res = profile_chi2(ch)
    assert float(res.chi2) == np.inf
    assert res.all_converged


def test_reprs():
    ch = signal_background_channel("CsI", np.ones(3), np.ones((2, 3)), np.ones(3))
    assert "alpha_CsI" in repr(ch) and "grid=(2,)" in repr(ch)
    model = PoissonModel(ch)
    assert "alpha_CsI: 0.1" in repr(model)
    res = model.profile()
    text = repr(res)
    assert "converged" in text and "2 / 2" in text
    assert "<table>" in res._repr_html_()


def test_changing_the_callers_array_does_not_change_a_built_channel():
    # Component and Channel kept the caller's arrays: setting a count to -5 or NaN afterwards
    # changed the validated model behind its checks (a NaN observed count gave χ² = 2 and a
    # convergence warning instead of an error)
    expected, observed = np.array([4.0, 9.0]), np.array([4.0, 9.0])
    down, up = np.array([3.0, 8.0]), np.array([5.0, 10.0])
    comp = Component("s", expected, "a", 0.1, shapes={"t": (down, up)})
    channel = Channel("X", observed, [comp])
    chi2 = PoissonModel([channel]).profile().chi2
    expected[0], observed[0], down[0], up[0] = -5.0, np.nan, -1.0, np.inf
    np.testing.assert_array_equal(comp.expected, [4.0, 9.0])
    np.testing.assert_array_equal(channel.observed, [4.0, 9.0])
    np.testing.assert_array_equal(comp.shapes["t"][0], [3.0, 8.0])
    assert PoissonModel([channel]).profile().chi2 == chi2
    with pytest.raises(ValueError, match="read-only"):
        channel.observed[0] = -1.0
    # a read-only array (a detector's spectrum, a broadcast view) is kept without a copy
    fixed = np.broadcast_to(np.array([1.0, 2.0]), (1000, 2))
    assert np.shares_memory(Component("b", fixed).expected, fixed)
