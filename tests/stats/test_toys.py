"""Toy MC coverage and Feldman–Cousins intervals (cevns.stats.toys).

References: the coverage of a Gaussian measurement's Δχ² = 1 / 2.71 intervals is 68.27 % / 90 %
exactly (Wilks' theorem is exact for a Gaussian); the Feldman–Cousins intervals of the bounded
Gaussian are computed here independently by the analytic Neyman construction (normal CDF and a
root finder); Poisson with known background against Table IV of Feldman & Cousins, Phys. Rev. D
57, 3873 (1998) (b = 3, n = 6: [0.15, 8.47] at 90 % C.L.; also quoted in gammapy's tests).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from cevns.errors import ConfigError
from cevns.stats import FREE, Channel, Component, PoissonModel
from cevns.stats.toys import (
    CL_68,
    TOY_BLOCK,
    ToyModel,
    counting_experiment,
    fc_critical_values,
    fc_interval,
    gaussian_measurement,
    generate_toys,
    run_toys,
)

COUNTING = ToyModel("cevns.stats.toys:counting_experiment", {"background": 3.0}, parameter="mu")
GAUSS = ToyModel("cevns.stats.toys:gaussian_measurement", {}, parameter="mu")


def on_off(poi, shape_size=0.1):
    """Signal (scaled by poi) + background with a normalisation pull and a shape nuisance, and a
    background-only control channel sharing the background normalisation."""
    poi = np.asarray(poi, dtype=float)
    sig = np.array([30.0, 20.0, 10.0, 5.0])
    bkg = np.array([10.0, 12.0, 14.0, 16.0])
    tilt = shape_size * np.array([-1.0, -0.3, 0.3, 1.0])
    on = Channel("on", np.zeros(4), [
        Component("sig", poi[:, None] * sig, nuisance="sig_norm", sigma=0.05),
        Component("bkg", bkg, nuisance="bkg_norm", sigma=FREE,
                  shapes={"tilt": (bkg * (1 - tilt), bkg * (1 + tilt))}),
    ])
    off = Channel("off", np.zeros(4), [Component("bkg", 2 * bkg, nuisance="bkg_norm")])
    return [on, off]


ON_OFF = ToyModel(f"{__name__}:on_off", {}, parameter="scale")


def test_gaussian_wilks_coverage_bias_and_pull_width():
    res = run_toys(GAUSS, np.linspace(-6, 6, 121), 0.7, 1000, seed=11)
    assert res.n_toys == 1000 and res.n_failed == 0
    assert abs(res.coverage_68 - CL_68) < 3.5 * res.coverage_68_err
    assert abs(res.coverage_90 - 0.90) < 3.5 * res.coverage_90_err
    assert res.coverage_68_err == pytest.approx(math.sqrt(CL_68 * (1 - CL_68) / 1000), rel=0.1)
    assert abs(res.bias_sigma) < 3.5 * res.bias_sigma_err
    assert res.pull_width == pytest.approx(1.0, abs=0.08)
    # the best fits are N(μ_true, 1): their mean and spread
    assert np.nanmean(res.best) == pytest.approx(0.7, abs=3.5 / math.sqrt(1000))
    assert np.nanstd(res.best) == pytest.approx(1.0, abs=0.08)


def test_same_seed_same_answer_whatever_the_tiling():
    a = run_toys(COUNTING, np.linspace(0, 30, 61), 5.0, 300, seed=4, toys_per_tile=64)
    b = run_toys(COUNTING, np.linspace(0, 30, 61), 5.0, 300, seed=4, toys_per_tile=100)
    c = run_toys(COUNTING, np.linspace(0, 30, 61), 5.0, 300, seed=5, toys_per_tile=64)
    np.testing.assert_array_equal(a.best, b.best)
    assert a.row() == b.row()
    assert not np.array_equal(a.best, c.best)


def test_toy_depends_only_on_seed_stream_and_index():
    truth = PoissonModel(on_off([1.0]))
    full = generate_toys(truth, np.arange(3 * TOY_BLOCK), seed=9)
    some = generate_toys(truth, [5, TOY_BLOCK + 3, 2 * TOY_BLOCK + 7], seed=9)
    for name in full:
        np.testing.assert_array_equal(some[name], full[name][[5, TOY_BLOCK + 3, 2 * TOY_BLOCK + 7]])
    other = generate_toys(truth, [5], seed=9, stream=1)
    assert not np.array_equal(other["on"][0], full["on"][5])


def test_fixed_nuisance_toys_have_the_nominal_mean_and_sampled_ones_more_spread():
    truth = PoissonModel(on_off([1.0]))
    n = 40 * TOY_BLOCK
    fixed = generate_toys(truth, np.arange(n), seed=1, nuisances="fixed")
    sampled = generate_toys(truth, np.arange(n), seed=1, nuisances="sampled")
    mu = truth.expected()["on"].reshape(4)
    # Poisson mean and variance (errors √(μ/n) and ≈ μ √(2/n))
    np.testing.assert_allclose(fixed["on"].mean(axis=0), mu, atol=4 * np.sqrt(mu / n).max())
    np.testing.assert_allclose(fixed["on"].var(axis=0), mu, rtol=4 * math.sqrt(2 / n))
    # sampled: variance μ + (σ_sig s)² + (tilt b)² > μ in the signal-dominated bin 0
    extra = (0.05 * 30.0) ** 2 + (0.1 * 10.0) ** 2
    assert sampled["on"].var(axis=0)[0] == pytest.approx(mu[0] + extra, rel=4 * math.sqrt(2 / n))


def test_model_with_norm_and_shape_nuisances_covers():
    res = run_toys(ON_OFF, np.linspace(0.3, 1.7, 57), 1.0, 512, seed=2)
    assert res.n_failed == 0
    assert abs(res.coverage_68 - CL_68) < 3.5 * res.coverage_68_err
    assert abs(res.bias_sigma) < 0.1 + 3.5 * res.bias_sigma_err


def test_generator_model_differs_from_fitted_model():
    """Toys from a background of 13 where the fit assumes 3 (fixed, no nuisance): the signal of a
    counting experiment is biased by +10 (≈ 1.6σ at μ = 30) and the 68 % coverage collapses."""
    fit = ToyModel("cevns.stats.toys:counting_experiment", {"background": 3.0}, parameter="mu")
    gen = ToyModel("cevns.stats.toys:counting_experiment", {"background": 13.0}, parameter="mu")
    grid = np.linspace(0, 80, 321)
    honest = run_toys(fit, grid, 30.0, 512, seed=6)
    biased = run_toys(fit, grid, 30.0, 512, seed=6, generator=gen)
    diff = biased.best - honest.best
    shift, err = np.nanmean(diff), np.nanstd(diff) / math.sqrt(np.sum(np.isfinite(diff)))
    assert shift == pytest.approx(10.0, abs=4 * err)
    assert biased.bias_sigma > 1.2 and abs(honest.bias_sigma) < 0.15
    assert biased.coverage_68 < 0.5 < honest.coverage_68


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["processes", "dask"])
def test_executors_give_identical_results(executor):
    pytest.importorskip("distributed") if executor == "dask" else None
    grid = np.linspace(0, 30, 61)
    serial = run_toys(COUNTING, grid, 5.0, 400, seed=3, toys_per_tile=128)
    spec = {"name": executor, "n_workers": 2} if executor == "dask" else {
        "name": "processes", "max_workers": 2}
    other = run_toys(COUNTING, grid, 5.0, 400, seed=3, toys_per_tile=128, executor=spec)
    np.testing.assert_array_equal(serial.best, other.best)
    assert serial.row() == other.row()


def _phi(z: float) -> float:
    """Standard normal CDF."""
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0))) if math.isfinite(z) else float(z > 0)


def _fc_gauss_critical(mu: float, cl: float = 0.9) -> float:
    """Analytic critical value of t = (x − μ)² − (x − max(x, 0))² for x ~ N(μ, 1), μ ≥ 0."""
    def coverage(c: float) -> float:
        x2 = mu + math.sqrt(c)
        x1 = mu - math.sqrt(c) if mu >= math.sqrt(c) else (mu * mu - c) / (2 * mu) if mu > 0 \
            else -np.inf
        return _phi(x2 - mu) - _phi(x1 - mu) - cl
    return brentq(coverage, 1e-9, 30.0)


FINE = np.round(np.arange(0.0, 7.0001, 0.005), 10)


def _fc_gauss_interval(x0: float) -> tuple[float, float]:
    t = (x0 - FINE) ** 2 - (x0 - max(x0, 0.0)) ** 2
    ok = FINE[t <= _fine_critical()]
    return float(ok.min()), float(ok.max())


_CACHE: dict[str, np.ndarray] = {}


def _fine_critical() -> np.ndarray:
    if "c" not in _CACHE:
        _CACHE["c"] = np.array([_fc_gauss_critical(m) for m in FINE])
    return _CACHE["c"]


def test_fc_bounded_gaussian_matches_the_analytic_construction_and_the_table():
    grid = np.round(np.arange(0.0, 7.0001, 0.2), 10)
    crit = fc_critical_values(GAUSS, grid, 2000, seed=1, cls=(0.9,))[0.9]
    # critical values: analytic 2.71 far from the boundary, smaller near μ = 0 (1.64² = 2.69 …)
    ref = np.array([_fc_gauss_critical(m) for m in grid])
    # quantile noise of 2000 toys: σ ≈ 0.13. Near the grid's upper end (μ > 4.5) toys' best fits
    # are cut off by the grid end and t is too small there (documented in fc_critical_values).
    inner = grid <= 4.5
    assert np.max(np.abs(crit - ref)[inner]) < 0.45
    assert np.mean(crit[grid > 6.5]) < np.mean(ref[grid > 6.5]) - 0.3
    for x0 in (-1.0, 0.5, 2.6):
        ch = gaussian_measurement(grid)
        chi2 = PoissonModel(Channel("x", [1e6 + 1e3 * x0], ch.components)).profile().chi2
        lo, hi = fc_interval(grid, chi2, crit)
        ref_lo, ref_hi = _fc_gauss_interval(x0)
        assert lo == pytest.approx(ref_lo, abs=0.12)
        assert hi == pytest.approx(ref_hi, abs=0.12)
    # Feldman & Cousins (1998), Table X: x0 = 2.6 → [1.02, 4.24] at 90 % C.L.
    assert _fc_gauss_interval(2.6) == pytest.approx((1.02, 4.24), abs=0.006)
    # the boundary matters: for x0 = −1 Wilks (Δχ² from the bounded minimum) gives an upper
    # limit √3.71 − 1 = 0.93, FC a different one
    assert abs(_fc_gauss_interval(-1.0)[1] - (math.sqrt(1 + 2.705543) - 1)) > 0.05


@pytest.mark.slow
def test_fc_poisson_with_background_matches_feldman_cousins_table_iv():
    """b = 3, n = 6 at 90 % C.L.: [0.15, 8.47] (Feldman & Cousins 1998, Table IV). Critical values
    from 20000 toys at the grid points next to the two edges; the grid reaches μ = 20 so that no
    toy's best fit is cut off."""
    grid = np.round(np.arange(0, 20.0001, 0.02), 10)
    at = np.flatnonzero((np.abs(grid - 0.15) < 0.05) | (np.abs(grid - 8.47) < 0.05))
    crit = fc_critical_values(COUNTING, grid, 20000, seed=3, cls=(0.9,), at=at,
                              toys_per_tile=4096)[0.9]
    ch = counting_experiment(grid, 3.0)
    chi2 = PoissonModel(Channel("count", [6.0], ch.components)).profile().chi2
    accepted = (chi2 - chi2.min() - crit)[at] <= 0
    pts = grid[at]
    assert np.all(accepted[(pts > 0.17) & (pts < 8.45)])
    assert not np.any(accepted[(pts < 0.13) | (pts > 8.49)])


def test_fc_coverage_option_runs_with_given_critical_values():
    grid = np.round(np.arange(0.0, 7.0001, 0.1), 10)
    crit = {0.9: np.full(grid.size, 2.705543), CL_68: np.full(grid.size, 1.0)}
    wilks = run_toys(GAUSS, grid, 3.0, 256, seed=8)
    fc = run_toys(GAUSS, grid, 3.0, 256, seed=8, interval_method="fc", critical=crit)
    # constant critical values equal to the Wilks levels: the same coverage
    assert fc.coverage_68 == wilks.coverage_68 and fc.coverage_90 == wilks.coverage_90
    assert fc.interval_method == "fc"


def test_errors():
    with pytest.raises(ConfigError, match="package.module:function"):
        ToyModel("no_colon")
    with pytest.raises(ConfigError, match="JSON"):
        ToyModel("a:b", {"x": object()})
    with pytest.raises(ConfigError, match="cannot be imported"):
        run_toys(ToyModel("cevns.nothing_here:f"), [0, 1, 2], 1.0, 10)
    with pytest.raises(ConfigError, match="outside"):
        run_toys(COUNTING, [0, 1, 2], 5.0, 10)
    with pytest.raises(ConfigError, match="increasing"):
        run_toys(COUNTING, [0, 2, 1], 1.0, 10)
    with pytest.raises(ConfigError, match="n_toys"):
        run_toys(COUNTING, [0, 1, 2], 1.0, 0)
    with pytest.raises(ConfigError, match="interval_method"):
        run_toys(COUNTING, [0, 1, 2], 1.0, 10, interval_method="cls")
    with pytest.raises(ConfigError, match="nuisances"):
        run_toys(COUNTING, [0, 1, 2], 1.0, 10, nuisances="random")
    with pytest.raises(ConfigError, match="at must"):
        fc_critical_values(COUNTING, [0, 1, 2], 10, at=[5])
    with pytest.raises(ConfigError, match="equal length"):
        fc_interval([0, 1, 2], [0, 1], [1, 1, 1])
