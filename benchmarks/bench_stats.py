"""Benchmark of the batched Newton profiler against a per-point iminuit loop.

Run as ``python benchmarks/bench_stats.py`` (``--help`` for options). Synthetic spectra only.

(a) one 20-bin channel (signal + background, σ_α = 10 %, σ_β = 1 %) on a 100 × 100 grid;
(b) six channels with 20, 16, 72, 119, 1, 1 bins (the ESS detectors' binning) on a 10⁴-point 1D
    grid, with independent nuisances (12) and with one shared signal nuisance (7).

The iminuit reference minimises the same χ² with Migrad point by point — the straightforward way —
on a random subset of grid points; its time for the whole grid is *extrapolated* linearly from the
subset and labelled as such. The χ² values of the two methods are compared on that subset.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
from iminuit import Minuit
from scipy.special import xlogy

from cevns.stats import PoissonModel, asimov, signal_background_channel

ESS_BINS = (20, 16, 72, 119, 1, 1)


def synthetic_channels(rng, grid_scale, bins, shared):
    """Channels with random spectra; the signal of every channel is scaled by ``grid_scale``."""
    channels = []
    for k, n_bins in enumerate(bins):
        signal = rng.uniform(2.0, 200.0, n_bins)
        background = rng.uniform(5.0, 400.0, n_bins)
        tilt = 1.0 + 0.05 * np.linspace(-1.0, 1.0, n_bins)  # a shape change, not only a rate one
        channels.append(
            signal_background_channel(
                f"det{k}",
                asimov(signal, background),
                grid_scale[..., None] * signal * tilt,
                background,
                shared_signal=shared,
            )
        )
    return channels


def minuit_loop(model: PoissonModel, points: np.ndarray) -> tuple[float, np.ndarray]:
    """Straightforward reference: for each point, Migrad on a NumPy χ² of all bins at once."""
    names = model.nuisances
    inv_var = np.array([1.0 / model.sigmas[p] ** 2 for p in names])
    flat_obs, flat_nominal, flat_derivs = [], [], []
    for ch in model.channels:
        grid = model.grid_shape
        obs = np.broadcast_to(ch.observed, (*grid, ch.n_bins)).reshape(-1, ch.n_bins)
        nominal = np.broadcast_to(ch.expected_total(), (*grid, ch.n_bins)).reshape(-1, ch.n_bins)
        deriv = np.zeros((obs.shape[0], ch.n_bins, len(names)))
        for comp in ch.components:
            deriv[..., names.index(comp.nuisance)] += np.broadcast_to(
                comp.expected, (*grid, ch.n_bins)
            ).reshape(-1, ch.n_bins)
        flat_obs.append(obs)
        flat_nominal.append(nominal)
        flat_derivs.append(deriv)
    obs_all = np.concatenate(flat_obs, axis=1)
    nominal_all = np.concatenate(flat_nominal, axis=1)
    deriv_all = np.concatenate(flat_derivs, axis=1)

    chi2_values = np.empty(points.size)
    t0 = time.perf_counter()
    for k, g in enumerate(points):
        n, f, d = obs_all[g], nominal_all[g], deriv_all[g]
        n_log_n = xlogy(n, n)

        def chi2(theta, n=n, f=f, d=d, n_log_n=n_log_n):
            mu = f + d @ theta
            if np.any(mu[n > 0] <= 0):
                return 1e30
            return 2.0 * np.sum(mu - n + n_log_n - xlogy(n, mu)) + inv_var @ (theta * theta)

        m = Minuit(chi2, np.zeros(len(names)), name=names)
        m.errordef = Minuit.LEAST_SQUARES
        m.errors = np.minimum(1.0 / np.sqrt(inv_var), 0.1)
        m.migrad()
        chi2_values[k] = m.fval
    return time.perf_counter() - t0, chi2_values


def best_of(func, repeat):
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - t0)
    return min(times), result


def run_case(label, model_factory, n_minuit, repeat, rng):
    # The timed call includes building the model (validation, flattening) and profiling.
    t_newton, (model, result) = best_of(
        lambda: (lambda m: (m, m.profile()))(model_factory()), repeat
    )
    n_points = model.n_points
    points = rng.choice(n_points, size=min(n_minuit, n_points), replace=False)
    t_sub, minuit_chi2 = minuit_loop(model, points)
    t_minuit = t_sub * n_points / points.size
    ours = result.chi2.reshape(-1)[points]
    diff = np.max(np.abs(ours - minuit_chi2))
    below = np.max(ours - minuit_chi2)
    print(f"\n{label}")
    print(
        f"  grid points {n_points}, bins {sum(c.n_bins for c in model.channels)}, "
        f"nuisances {len(model.nuisances)}, all converged: {result.all_converged}, "
        f"max Newton iterations {int(result.n_iter.max())}"
    )
    print(f"  batched Newton (cevns.stats)        {t_newton:9.4f} s   (best of {repeat})")
    print(
        f"  iminuit loop, {points.size} points measured  {t_sub:9.3f} s  -> "
        f"{t_minuit:9.1f} s for {n_points} points (extrapolated)"
    )
    print(f"  speed-up (extrapolated)             {t_minuit / t_newton:9.0f} x")
    print(
        f"  max |chi2_newton - chi2_migrad| on the subset: {diff:.2e} "
        f"(max chi2_newton - chi2_migrad: {below:+.2e})"
    )
    return t_newton, t_minuit


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minuit-points", type=int, default=200, help="iminuit subset size")
    parser.add_argument("--repeat", type=int, default=5, help="repetitions of the Newton timing")
    parser.add_argument("--seed", type=int, default=20250112)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    print(
        f"cevns.stats benchmark — Python {platform.python_version()}, NumPy {np.__version__}, "
        f"{platform.machine()}"
    )

    grid_a = np.linspace(0.5, 1.5, 100)[:, None] * np.linspace(0.9, 1.1, 100)[None, :]
    chans_a = synthetic_channels(rng, grid_a, (20,), shared=False)
    run_case(
        "(a) 100 x 100 grid, one 20-bin channel, 2 nuisances",
        lambda: PoissonModel(chans_a),
        args.minuit_points,
        args.repeat,
        rng,
    )

    grid_b = np.linspace(0.5, 1.5, 10_000)
    chans_b = synthetic_channels(rng, grid_b, ESS_BINS, shared=False)
    run_case(
        "(b) 10^4-point grid, six channels (20,16,72,119,1,1 bins), independent nuisances",
        lambda: PoissonModel(chans_b),
        args.minuit_points,
        args.repeat,
        rng,
    )
    chans_c = [
        signal_background_channel(
            c.name,
            c.observed,
            c.components[0].expected,
            c.components[1].expected,
            shared_signal=True,
        )
        for c in chans_b
    ]
    run_case(
        "(b') same, one shared signal nuisance alpha (7 nuisances)",
        lambda: PoissonModel(chans_c),
        args.minuit_points,
        args.repeat,
        rng,
    )


if __name__ == "__main__":
    main()
