"""Batched Newton profiling against iminuit (Migrad) at random grid points."""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import pytest
from iminuit import Minuit

from cevns.errors import FitError
from cevns.stats import (
    Channel,
    Component,
    PoissonModel,
    ProfileConvergenceWarning,
    asimov,
    profile_chi2,
    signal_background_channel,
)


def migrad_profile(spec, sigmas, point):
    """Profile the χ² at one grid point with iminuit, written independently of cevns.stats.

    spec: list of (observed (*grid, B) array, [(expected (*grid, B) array, nuisance)]).
    Returns (χ²_min, {nuisance: θ}).
    """
    names = list(sigmas)

    def chi2(theta):
        th = dict(zip(names, theta, strict=True))
        total = sum((th[p] / s) ** 2 for p, s in sigmas.items() if math.isfinite(s))
        for obs, comps in spec:
            n = obs[point]
            mu = sum((1.0 + (th[p] if p else 0.0)) * c[point] for c, p in comps)
            if np.any(mu[n > 0] <= 0):
                return 1e30
            with np.errstate(divide="ignore", invalid="ignore"):
                log_term = np.where(n > 0, n * np.log(n / mu), 0.0)
            total += 2.0 * np.sum(mu - n + log_term)
        return total

    m = Minuit(chi2, np.zeros(len(names)), name=names)
    m.errordef = Minuit.LEAST_SQUARES
    m.errors = [min(s, 0.1) if math.isfinite(s) else 0.1 for s in sigmas.values()]
    m.strategy = 2
    m.tol = 1e-6
    m.migrad()
    assert m.valid
    return m.fval, dict(zip(names, m.values, strict=True))


def random_spec(rng, grid, bins, shared, with_zeros, free_background=False):
    """Random spectra and Poisson data for several channels on a grid of signal scalings."""
    spec, channels, sigmas = [], [], {}
    scale = rng.uniform(0.6, 1.4, grid)[..., None]
    for k, nb in enumerate(bins):
        name = f"d{k}"
        sig0 = rng.uniform(0.0 if with_zeros else 1.0, 30.0, nb)
        bkg = rng.uniform(0.5, 15.0, nb)
        mean = 0.3 if with_zeros else 1.0
        obs = rng.poisson(mean * (sig0 + bkg)).astype(float)
        if with_zeros:
            obs[rng.integers(nb)] = 0.0  # at least one empty bin per channel
            sig0[rng.integers(nb)] = 0.0  # and a bin without signal
        sig = scale * sig0
        alpha = "alpha" if shared else f"alpha_{name}"
        beta = f"beta_{name}"
        sigmas[alpha] = 0.1
        sigmas[beta] = math.inf if free_background else rng.choice([0.01, 0.05])
        comps = [
            (np.broadcast_to(sig, (*grid, nb)), alpha),
            (np.broadcast_to(bkg, (*grid, nb)), beta),
        ]
        spec.append((np.broadcast_to(obs, (*grid, nb)), comps))
        channels.append(
            Channel(
                name,
                obs,
                [Component("signal", sig, nuisance=alpha), Component("background", bkg, beta)],
            )
        )
    return spec, channels, sigmas


CASES = [
    # (grid, bins, shared, zeros in data, free background normalisation)
    ((40,), (12,), False, False, False),
    ((6, 7), (5, 9, 1), False, False, False),
    ((30,), (5, 9, 1, 1), True, False, False),
    ((30,), (8, 3), False, True, False),
    ((5, 6), (8, 4, 1), True, True, False),
    ((25,), (10, 6), False, False, True),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_profile_agrees_with_migrad(case):
    grid, bins, shared, zeros, free = CASES[case]
    rng = np.random.default_rng(1000 + case)
    spec, channels, sigmas = random_spec(rng, grid, bins, shared, zeros, free)
    if zeros:
        assert any(np.any(obs == 0) for obs, _ in spec)
    res = profile_chi2(channels, sigmas)
    assert res.all_converged
    flat = rng.choice(math.prod(grid), size=8, replace=False)
    for f in flat:
        point = np.unravel_index(f, grid)
        fval, theta = migrad_profile(spec, sigmas, point)
        ours = float(res.chi2[point])
        assert ours == pytest.approx(fval, abs=1e-4)
        # Newton finds the exact minimum of a convex function: never above Migrad's value.
        assert ours <= fval + 1e-8
        for p, v in theta.items():
            scale = sigmas[p] if math.isfinite(sigmas[p]) else 1.0
            assert float(res.nuisances[p][point]) == pytest.approx(v, abs=1e-2 * scale)


def test_model_minuit_helper_matches_profile():
    rng = np.random.default_rng(7)
    sig, bkg = rng.uniform(1, 20, (10, 6)), rng.uniform(1, 10, 6)
    obs = rng.poisson(sig[3] + bkg).astype(float)
    model = PoissonModel(signal_background_channel("CsI", obs, sig, bkg))
    res = model.profile()
    for i in (0, 3, 9):
        m = model.minuit(i)
        m.tol = 1e-6
        m.migrad()
        assert m.fval == pytest.approx(float(res.chi2[i]), abs=1e-5)
        assert m.parameters == ("alpha_CsI", "beta_CsI")
    assert model.point_chi2(2, [0.0, 0.0]) == pytest.approx(float(model.chi2()[2]))


def test_shared_nuisance_couples_channels():
    # With a common α the combined χ² is ≥ the sum of the per-channel profiles (less freedom),
    # and equal when both channels pull α the same way (here: identical channels).
    rng = np.random.default_rng(8)
    s1, b1 = rng.uniform(5, 30, 8), rng.uniform(5, 10, 8)
    s2, b2 = rng.uniform(5, 30, 3), rng.uniform(5, 10, 3)
    scale1 = np.linspace(0.8, 1.2, 11)[:, None]
    scale2 = np.linspace(1.2, 0.8, 11)[:, None]

    def chans(shared):
        return [
            signal_background_channel("A", asimov(s1, b1), scale1 * s1, b1, shared_signal=shared),
            signal_background_channel("B", asimov(s2, b2), scale2 * s2, b2, shared_signal=shared),
        ]

    indep = profile_chi2(chans(False))
    shared = profile_chi2(chans(True))
    assert np.all(shared.chi2 >= indep.chi2 - 1e-9)
    assert np.all(shared.chi2[[0, -1]] > indep.chi2[[0, -1]] + 1.0)
    pulls = sum(v**2 for v in indep.pulls.values())
    by_channel = indep.chi2_by_channel["A"] + indep.chi2_by_channel["B"]
    np.testing.assert_allclose(indep.chi2, by_channel + pulls, rtol=1e-12)
    same = [
        signal_background_channel(n, asimov(s1, b1), scale1 * s1, b1, shared_signal=True)
        for n in ("A", "B")
    ]
    single = profile_chi2(signal_background_channel("A", asimov(s1, b1), scale1 * s1, b1))
    both = profile_chi2(same)
    # Two identical detectors with one common α: min_α [2 P(α) + (α/σ)²] lies between the single
    # detector's min_α [P(α) + (α/σ)²] and twice it (the pull on α is counted once, not twice).
    assert np.all(both.chi2 >= single.chi2 - 1e-9)
    assert np.all(both.chi2 <= 2 * single.chi2 + 1e-9)
    assert both.chi2[0] < 2 * single.chi2[0] - 0.1


def test_channel_without_nuisances_and_fixed_components():
    obs = np.array([4.0, 0.0, 7.0])
    ch = Channel("fixed", obs, [Component("s", [3.0, 1.0, 6.0]), Component("b", [1.0, 0.5, 1.0])])
    res = profile_chi2(ch)
    mu = np.array([4.0, 1.5, 7.0])
    expected = 2 * np.sum(
        mu - obs + np.where(obs > 0, obs * np.log(np.where(obs > 0, obs, 1) / mu), 0)
    )
    assert float(res.chi2) == pytest.approx(expected, rel=1e-12)
    assert res.nuisances == {}


def test_free_nuisance_of_a_component_without_data_stops_at_its_physical_bound():
    # A free normalisation of a component that only predicts counts in bins with no data: without
    # a bound χ² would decrease without limit as θ → −∞ (negative expected counts). With the
    # physical bound 1 + θ ≥ 0 the minimum is θ = −1 exactly, where the prediction equals the
    # data: χ² = 0 (by hand: N = (5, 0) = n).
    ch = Channel(
        "A",
        [5.0, 0.0],
        [Component("signal", [5.0, 0.0]), Component("junk", [0.0, 3.0], nuisance="free")],
    )
    res = profile_chi2(ch, {"free": None}, max_iter=20)
    assert res.all_converged
    assert float(res.nuisances["free"]) == -1.0
    assert float(res.chi2) == pytest.approx(0.0, abs=1e-12)


def test_pathological_point_is_flagged_and_warned():
    # One Newton iteration cannot reach the minimum of a point whose prediction is 10⁴ × the data
    # (the step is cut at the bound, the line search must backtrack): the flag and the warning
    # must say so, with the count, and raise_on_failure must raise.
    obs = np.array([11.0, 13.0, 10.0])  # = signal + background at the first point: θ = 0 exact
    sig = np.array([1.0, 1e4])[:, None] * np.array([10.0, 12.0, 9.0])
    ch = signal_background_channel("A", obs, sig, np.array([1.0, 1.0, 1.0]), sigma_alpha=None)
    with pytest.warns(ProfileConvergenceWarning, match="1 of 2 grid points"):
        res = profile_chi2(ch, max_iter=1)
    assert list(res.converged) == [True, False]
    assert list(res.status) == [0, 2]
    assert res.n_unconverged == 1 and not res.all_converged
    with pytest.raises(FitError, match="did not converge at 1 of 2"):
        res.raise_on_failure()
    with pytest.raises(FitError), warnings.catch_warnings():
        warnings.simplefilter("ignore", ProfileConvergenceWarning)
        profile_chi2(ch, max_iter=1, raise_on_failure=True)
    # Given enough iterations the same point converges (to the bounded minimum).
    assert profile_chi2(ch).all_converged


def test_nuisance_with_no_effect_stays_at_zero():
    # A free nuisance on an all-zero component is not identifiable; the ridge keeps it at 0.
    ch = Channel(
        "A", [5.0, 2.0], [Component("s", [4.0, 2.0], "a", 0.1), Component("z", [0.0, 0.0], "z")]
    )
    res = profile_chi2(ch, {"z": None})
    assert res.all_converged
    assert float(res.nuisances["z"]) == 0.0


def test_high_counts_converge():
    # χ² of channels with ~1e9 counts per bin is only known to ~1e-6 (rounding); the line
    # search must not stall on that noise.
    rng = np.random.default_rng(9)
    s, b = rng.uniform(0.5, 1, 40) * 1e9, rng.uniform(0.5, 1, 40) * 1e9
    obs = asimov(s, b) * (1 + 1e-4 * rng.normal(size=40))
    ch = signal_background_channel("big", obs, np.linspace(0.99, 1.01, 50)[:, None] * s, b)
    res = profile_chi2(ch)
    assert res.all_converged
    assert res.n_iter.max() <= 10


def test_options_validation():
    ch = signal_background_channel("A", [1.0], [1.0], [1.0])
    with pytest.raises(Exception, match="tol"):
        profile_chi2(ch, tol=0)
    with pytest.raises(Exception, match="max_iter"):
        profile_chi2(ch, max_iter=0)


def test_speed_single_channel_grid():
    # 100 × 100 grid × 20 bins × 2 nuisances: the benchmark target is < 0.1 s; the assertion is
    # loose (shared CI machines) and only catches an accidental per-point loop.
    rng = np.random.default_rng(10)
    s, b = rng.uniform(1, 50, 20), rng.uniform(1, 50, 20)
    scale = np.linspace(0.5, 1.5, 100)[:, None, None] * np.linspace(0.9, 1.1, 100)[None, :, None]
    ch = signal_background_channel("CsI", asimov(s, b), scale * s, b)
    t0 = time.perf_counter()
    res = profile_chi2(ch)
    assert time.perf_counter() - t0 < 1.0
    assert res.chi2.shape == (100, 100) and res.all_converged


def bounded_migrad(obs, comps, sigmas):
    """iminuit with the limits θ ≥ −1, written independently of cevns.stats (one grid point).

    comps: [(expected (B,), nuisance)], sigmas: {nuisance: σ}. Returns (χ²_min, {θ}).
    """
    names = list(sigmas)

    def chi2(theta):
        th = dict(zip(names, theta, strict=True))
        mu = sum((1.0 + th[p]) * c for c, p in comps)
        if np.any(mu[obs > 0] <= 0):
            return 1e30
        with np.errstate(divide="ignore", invalid="ignore"):
            log_term = np.where(obs > 0, obs * np.log(obs / mu), 0.0)
        pulls = sum((th[p] / s) ** 2 for p, s in sigmas.items() if math.isfinite(s))
        return float(2.0 * np.sum(mu - obs + log_term) + pulls)

    best = None
    for start in (0.0, -0.9):  # two starts: Migrad near a bound is sensitive to the start
        m = Minuit(chi2, np.full(len(names), start), name=names)
        m.errordef = Minuit.LEAST_SQUARES
        m.limits = [(-1.0, None)] * len(names)
        m.strategy = 2
        m.tol = 1e-7
        m.migrad()
        if best is None or m.fval < best.fval:
            best = m
    return best.fval, dict(zip(names, best.values, strict=True))


def overshoot_channel(rng, n_points=30, nb=8):
    """Asimov data of (signal + background), predictions up to 10⁴ × the signal: at the large
    scalings the profiled signal normalisation wants to go below −1 (negative counts)."""
    sig, bkg = rng.uniform(5, 40, nb), rng.uniform(2, 20, nb)
    scale = np.geomspace(0.3, 1e4, n_points)[:, None]
    return sig, bkg, scale, signal_background_channel("A", asimov(sig, bkg), scale * sig, bkg)


def test_physical_bounds_respected_and_match_bounded_migrad():
    rng = np.random.default_rng(21)
    sig, bkg, scale, ch = overshoot_channel(rng)
    res = profile_chi2(ch)
    assert res.all_converged
    alpha, beta = res.nuisances["alpha_A"], res.nuisances["beta_A"]
    assert np.all(alpha >= -1.0) and np.all(beta >= -1.0)  # no negative expectation
    assert np.any(alpha < -0.99)  # the bound is reached (approached to < 1 %) at large scalings
    for i in (0, 10, 20, 25, 29):
        comps = [(scale[i] * sig, "alpha_A"), (bkg, "beta_A")]
        fval, theta = bounded_migrad(asimov(sig, bkg), comps, {"alpha_A": 0.1, "beta_A": 0.01})
        assert float(res.chi2[i]) == pytest.approx(fval, abs=1e-4)
        assert float(res.chi2[i]) <= fval + 1e-8  # the exact constrained minimum
        assert float(alpha[i]) == pytest.approx(theta["alpha_A"], abs=1e-3)
        assert float(beta[i]) == pytest.approx(theta["beta_A"], abs=1e-4)


def test_free_signal_normalisation_sits_on_its_bound():
    # Free α, data below the background in every bin: the minimum is at α = −1 exactly (the
    # signal is switched off, the gradient pushes further out); KKT by hand: ∂χ²/∂α > 0 there.
    sig, bkg = np.array([5.0, 8.0, 3.0]), np.array([10.0, 10.0, 10.0])
    obs = np.array([6.0, 7.0, 5.0])
    ch = signal_background_channel("A", obs, sig, bkg, sigma_alpha=None)
    res = profile_chi2(ch)
    assert res.all_converged
    assert float(res.nuisances["alpha_A"]) == -1.0
    model = PoissonModel(ch)
    at = {"alpha_A": -1.0, "beta_A": float(res.nuisances["beta_A"])}
    grad = model.gradient(at)
    assert grad[0] > 0 and abs(grad[1]) < 1e-6
    fval, theta = bounded_migrad(obs, [(sig, "alpha_A"), (bkg, "beta_A")],
                                 {"alpha_A": math.inf, "beta_A": 0.01})
    assert float(res.chi2) == pytest.approx(fval, abs=1e-4)


def test_huge_component_converges_near_its_bound():
    # A component of 10¹³ counts whose best normalisation is 1 + θ ~ 10⁻¹⁰: unreachable in θ
    # (floating-point spacing 10⁻¹⁶ near −1), reached in the internal scale s = 1 + θ. The fitted
    # signal counts (1 + θ) S must reproduce what Newton in the single variable s gives by hand:
    # with β fixed by σ_β → the signal fills the data excess over the background.
    sig = np.array([5e13, 3e13, 1e13])
    bkg = np.array([1000.0, 1000.0, 1000.0])
    obs = np.array([1900.0, 1540.0, 1180.0])  # = bkg + 1.8e-11 × sig
    ch = signal_background_channel("A", obs, sig, bkg, sigma_alpha=None, sigma_beta=1e-6)
    res = profile_chi2(ch)
    assert res.all_converged
    assert float(res.chi2) == pytest.approx(0.0, abs=1e-6)
    fitted = (1.0 + res.nuisances["alpha_A"]) * sig
    np.testing.assert_allclose(fitted, obs - bkg, rtol=1e-4)
    assert res.n_iter.max() <= 20


def test_model_minuit_has_lower_limits():
    ch = signal_background_channel("A", [3.0, 4.0], [1.0, 2.0], [1.0, 1.0])
    m = PoissonModel(ch).minuit()
    assert [tuple(lim) for lim in m.limits] == [(-1.0, math.inf), (-1.0, math.inf)]


def test_early_stop_keeps_values_below_the_level_and_classifies_above():
    # A grid from the truth (Δχ² = 0) to Δχ² in the thousands. With level=L, every point whose
    # profiled χ² is ≤ reference + L must be bit-for-bit the same value as without early stop
    # (it is iterated to convergence); every point marked "decided" must truly be above, and its
    # reported χ² within stop_rtol of the true one.
    rng = np.random.default_rng(22)
    sig, bkg, _, _ = overshoot_channel(rng)
    scale = np.concatenate([np.linspace(0.5, 3.0, 60), np.geomspace(3.0, 1e4, 60)])[:, None]
    ch = signal_background_channel("A", asimov(sig, bkg), scale * sig, bkg)
    full = profile_chi2(ch)
    assert full.all_converged and not full.decided.any()
    level = 4.61
    early = profile_chi2(ch, level=level)
    ref = float(np.min(PoissonModel(ch).chi2()))  # χ² at θ = 0: the default reference
    assert early.stop_above == pytest.approx(ref + level)
    assert early.all_converged  # decided points count as done, not as failures
    dec = early.decided
    assert dec.sum() > 20 and not (dec & early.converged).any()
    truth = full.chi2
    np.testing.assert_allclose(early.chi2[~dec], truth[~dec], rtol=0, atol=1e-9)
    assert np.all(truth[dec] > early.stop_above)
    assert np.all(early.chi2[dec] >= truth[dec] - 1e-9)  # an upper bound ...
    assert np.all(early.chi2[dec] - truth[dec] <= 1e-3 * (truth[dec] - early.stop_above))
    assert list(np.unique(early.status[dec])) == [1]
    assert early.n_iter.sum() < full.n_iter.sum()
    # Points at or below the level are never "decided".
    below = truth - truth.min() <= level
    assert below.any() and not dec[below].any()


def test_early_stop_options_validation():
    ch = signal_background_channel("A", [1.0], [1.0], [1.0])
    with pytest.raises(Exception, match="level"):
        profile_chi2(ch, level=-1.0)
    with pytest.raises(Exception, match="reference"):
        profile_chi2(ch, level=1.0, reference=math.nan)
