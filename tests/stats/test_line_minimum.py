"""A Newton step cut at the bound s = 0 stops at the minimum along it (profile._line_minimum).

Points whose prediction is many times the data (a large new-physics signal) have a first Newton
step that overshoots the signal's bound s = 1 + α = 0. Landing on the bound and climbing back
took one iteration per factor of two (12 for a one-bin detector); stopping at the minimum along
the step takes a few. The answer must not change: every χ² here is checked against an independent
minimisation written with SciPy, and the iteration counts against those of the plain line search.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from scipy.optimize import minimize, minimize_scalar

import cevns.stats.profile as profile_module
from cevns.stats import profile_chi2, signal_background_channel

SIG_A, SIG_B = 0.10, 0.01


def reference_chi2(n, signal, background, sig_a=SIG_A, sig_b=SIG_B):
    """min over s_α ≥ 0, s_β ≥ 0 of 2 Σ (N − n + n ln(n/N)) + (s_α−1)²/σ_α² + (s_β−1)²/σ_β²,
    N = s_α S + s_β B — written here from the formula, with SciPy (an inner 1-D minimisation
    over s_β for each s_α, bounded, then an outer bounded one over s_α on a log scale so that a
    minimum at s_α ~ 1e-15 is resolved)."""
    n, signal, background = (np.asarray(a, dtype=float) for a in (n, signal, background))

    def chi2(sa, sb):
        mu = sa * signal + sb * background
        with np.errstate(divide="ignore", invalid="ignore"):
            log = np.where(n > 0, n * np.log(n / mu), 0.0)
        return 2.0 * float(np.sum(mu - n + log)) + (sa - 1) ** 2 / sig_a**2 + (sb - 1) ** 2 / sig_b**2

    def over_b(sa):
        r = minimize_scalar(lambda sb: chi2(sa, sb), bounds=(1e-12, 3.0), method="bounded",
                            options={"xatol": 1e-12})
        return r.fun

    # the outer minimum: scan log10 s_α, then polish in the best bracket (and s_α = 0 itself)
    grid = np.concatenate([[-np.inf], np.linspace(-20, 0.5, 206)])
    vals = [over_b(0.0 if not np.isfinite(x) else 10.0**x) for x in grid]
    k = int(np.argmin(vals))
    if k == 0:
        return vals[0]
    lo, hi = grid[max(k - 1, 1)], grid[min(k + 1, len(grid) - 1)]
    r = minimize_scalar(lambda x: over_b(10.0**x), bounds=(lo, hi), method="bounded",
                        options={"xatol": 1e-10})
    return min(r.fun, vals[k], vals[0])


def one_bin_grid():
    """One-bin counting detector (like C3F8 in the paper's setup): data = background + SM signal
    with the background small, predictions from the SM one up to 10¹⁴ times the data."""
    sm, bkg = 1000.0, 10.0
    scale = np.geomspace(1.0, 1e14, 29)
    signal = (sm * scale)[:, None]
    observed = np.array([sm + bkg])
    return observed, signal, np.array([bkg])


def test_one_bin_points_far_above_the_data_match_scipy():
    observed, signal, bkg = one_bin_grid()
    ch = signal_background_channel("one", observed, signal, bkg, sigma_alpha=SIG_A,
                                   sigma_beta=SIG_B)
    res = profile_chi2([ch])
    assert res.all_converged
    for i in (0, 3, 8, 14, 20, 28):
        ref = reference_chi2(observed, signal[i], bkg)
        assert float(res.chi2[i]) == pytest.approx(ref, rel=1e-7, abs=1e-7), i
        assert float(res.chi2[i]) <= ref + 1e-6  # Newton's minimum is never above SciPy's


def test_one_bin_far_points_take_few_iterations():
    """The plain line search (landing on the bound, then climbing back) needs up to 12
    iterations here (330 in all); stopping at the line minimum needs 2 (33 in all)."""
    observed, signal, bkg = one_bin_grid()
    ch = signal_background_channel("one", observed, signal, bkg)
    new = profile_chi2([ch])
    with mock.patch.object(profile_module, "_LINE_MINIMUM", False):
        old = profile_chi2([ch])
    np.testing.assert_allclose(new.chi2, old.chi2, rtol=1e-9, atol=1e-9)
    assert old.n_iter.max() >= 10
    assert new.n_iter.max() <= 4
    assert new.n_iter.sum() < 0.2 * old.n_iter.sum()


def test_minimum_on_the_bound_stays_exactly_on_it():
    """Data below the background: the best signal is none, s_α = 0 exactly (θ_α = −1), as
    before; the line minimum is then the bound itself and nothing else changes."""
    bkg = np.array([50.0, 40.0, 30.0])
    observed = np.array([30.0, 25.0, 20.0])
    signal = np.geomspace(1.0, 1e8, 9)[:, None] * np.array([1.0, 2.0, 3.0])
    ch = signal_background_channel("low", observed, signal, bkg)  # σ_β = 1 %: B cannot follow
    res = profile_chi2([ch])
    assert res.all_converged
    # from 100 times the SM signal on the best is no signal (below, the 10 % pull keeps some)
    assert np.all(res.nuisances["alpha_low"][2:] == -1.0)
    assert np.all(res.nuisances["alpha_low"][:2] > -1.0)
    with mock.patch.object(profile_module, "_LINE_MINIMUM", False):
        np.testing.assert_array_equal(profile_chi2([ch]).nuisances["alpha_low"][2:], -1.0)
    for i in (0, 1, 4, 8):
        ref = reference_chi2(observed, signal[i], bkg)
        assert float(res.chi2[i]) == pytest.approx(ref, rel=1e-6, abs=1e-6)


def test_shared_signal_combination_agrees_with_a_direct_minimisation():
    """Three channels with one shared α (one of them a single bin), predictions from 1 to 10⁹
    times the data: the joint profile against scipy.optimize.minimize over all four nuisances
    (L-BFGS-B in s ≥ 0 from several starts, the best kept), and against the plain line search."""
    rng = np.random.default_rng(7)
    bins = (6, 3, 1)
    scale = np.geomspace(1.0, 1e9, 12)
    channels, spec = [], []
    for k, nb in enumerate(bins):
        sig0 = rng.uniform(5.0, 40.0, nb)
        bkg = rng.uniform(2.0, 30.0, nb)
        obs = sig0 + bkg
        channels.append(signal_background_channel(f"d{k}", obs, scale[:, None] * sig0, bkg,
                                                  shared_signal=True))
        spec.append((obs, sig0, bkg))
    res = profile_chi2(channels)
    assert res.all_converged
    with mock.patch.object(profile_module, "_LINE_MINIMUM", False):
        old = profile_chi2(channels)
    np.testing.assert_allclose(res.chi2, old.chi2, rtol=1e-9, atol=1e-8)
    assert res.n_iter.sum() < old.n_iter.sum()

    def chi2(x, i):
        sa, sbs = x[0], x[1:]
        total = (sa - 1) ** 2 / SIG_A**2 + float(np.sum((sbs - 1) ** 2)) / SIG_B**2
        for (obs, sig0, bkg), sb in zip(spec, sbs, strict=True):
            mu = sa * scale[i] * sig0 + sb * bkg
            with np.errstate(divide="ignore", invalid="ignore"):
                total += 2.0 * float(np.sum(mu - obs + obs * np.log(obs / mu)))
        return total if np.isfinite(total) else 1e300  # a probe at N = 0

    for i in (0, 4, 8, 11):
        starts = [np.ones(4), np.r_[1.0 / scale[i], np.ones(3)], np.r_[0.0, np.ones(3)]]
        best = min(minimize(chi2, x0, args=(i,), method="L-BFGS-B",
                            bounds=[(0.0, None)] * 4,
                            options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 5000}).fun
                   for x0 in starts)
        assert float(res.chi2[i]) == pytest.approx(best, rel=1e-6, abs=1e-6), i
        assert float(res.chi2[i]) <= best + 1e-6


@pytest.mark.parametrize("seed", range(4))
def test_same_minima_as_the_plain_search_with_free_and_empty_components(seed):
    """Random channels with bins without data, signals without counts in some bins, a free
    background normalisation (σ = None) in one channel and predictions up to 10¹² times the data:
    the line minimum changes the path, never the minimum (χ² equal to 10⁻⁸, every point
    converged both ways, θ equal where the minimum is sharp)."""
    rng = np.random.default_rng(100 + seed)
    scale = np.geomspace(0.5, 1e12, 40)
    channels = []
    for k, nb in enumerate((5, 1, 8)):
        sig0 = rng.uniform(0.0, 30.0, nb)
        sig0[rng.integers(nb)] = 0.0 if nb > 1 else sig0[0]
        bkg = rng.uniform(0.5, 20.0, nb)
        obs = rng.poisson(sig0 + bkg).astype(float)
        if nb > 1:
            obs[rng.integers(nb)] = 0.0
        channels.append(signal_background_channel(
            f"c{k}", obs, scale[:, None] * sig0, bkg, shared_signal=bool(seed % 2),
            sigma_beta=None if k == 2 else SIG_B))
    new = profile_chi2(channels)
    with mock.patch.object(profile_module, "_LINE_MINIMUM", False):
        old = profile_chi2(channels)
    assert new.all_converged and old.all_converged
    np.testing.assert_allclose(new.chi2, old.chi2, rtol=1e-9, atol=1e-8)
    assert new.n_iter.sum() <= old.n_iter.sum()
