"""Benchmark: Standard-Model scans with real spectra, fast path vs a per-point iminuit loop.

Run: ``python benchmarks/bench_sm.py``.

(a) a 100 × 100 (sin²θ_W, R_n) profiled grid for CsI; (b) a 10⁴-point sin²θ_W profile combining
the six ESS detectors (one signal normalisation for all, the default of analysis files). The fast
path is `chi2_grid` (basis spectra, recoil re-weighting for R_n, batched Newton). The reference
evaluates each point on its own — spectra from the cached basis of that R_n (building them fresh
would be slower still) and an iminuit fit of the nuisances (one joint fit with the shared α) — on
a sample of points, extrapolated to the grid and labelled so.
"""

from __future__ import annotations

import time

import numpy as np

from cevns.analyses import parse_analysis
from cevns.analyses.sensitivity import chi2_grid
from cevns.rates import basis_spectra, clear_cache
from cevns.stats import PoissonModel, signal_background_channel

N_SAMPLE = 40


def analysis(kind_body: dict, detectors: list[str], form_factor: str) -> object:
    return parse_analysis({"schema_version": 1, "name": "bench", "title": "bench",
                           "detectors": detectors,
                           "scenario": {"name": "sm", "options": {"form_factor": form_factor}},
                           **kind_body})


def reference_point(an, values: dict) -> float:
    sc = an.scenario.build()
    src = an.source.build()
    shared = an.stats.shared_signal  # the analysis's combination: one α for all, or one each
    channels = []
    for det in an.build_detectors():
        shape = {k: v for k, v in values.items() if sc.parameters[k].kind == "shape"}
        strength = {"sin2_theta_w": np.asarray(values.get("sin2_theta_w", 0.23857))}
        observed = sc.counts(det, src, {}) + det.background_counts(src)
        signal = basis_spectra(det, src, sc.basis(shape)).combine(sc.coefficients(strength))
        channels.append(signal_background_channel(det.name, observed, signal,
                                                  det.background_counts(src),
                                                  shared_signal=shared))
    fits = [channels] if shared and len(channels) > 1 else [[ch] for ch in channels]
    total = 0.0
    for group in fits:  # one joint fit with a shared α, else one fit per detector
        m = PoissonModel(group).minuit()
        m.migrad()
        total += m.fval
    return total


def run(label: str, an, sample_values) -> None:
    chi2_grid(an)  # warm
    clear_cache()
    t0 = time.perf_counter()
    grid = chi2_grid(an)
    t_fast = time.perf_counter() - t0
    key = "combined" if "combined" in grid else next(iter(grid))
    rng = np.random.default_rng(2)
    t0 = time.perf_counter()
    worst = 0.0
    for _ in range(N_SAMPLE):
        idx, values = sample_values(rng)
        ref = reference_point(an, values)
        worst = max(worst, abs(ref - grid[key][idx]))
    t_ref = (time.perf_counter() - t0) / N_SAMPLE * grid[key].size
    print(f"{label}: fast {t_fast:.3f} s | per-point iminuit {t_ref:.1f} s (extrapolated from "
          f"{N_SAMPLE} points) | speed-up {t_ref / t_fast:.0f}x | max |Δχ²| {worst:.1e}")


def main():
    s2 = {"parameter": "sin2_theta_w", "start": 0.18, "stop": 0.30, "num": 100}
    rn = {"parameter": "neutron_radius_fm", "start": 4.0, "stop": 6.0, "num": 100}
    a = analysis({"kind": "scan2d", "x": s2, "y": rn}, ["CsI"], "separate")
    xs, ys = a.x.grid(), a.y.grid()

    def sample_a(rng):
        i, j = rng.integers(0, 100, 2)
        return (i, j), {"sin2_theta_w": xs[i], "neutron_radius_fm": ys[j]}

    run("(a) 100 x 100 (sin2w, R_n), CsI", a, sample_a)
    b = analysis({"kind": "profile", "scan": {**s2, "num": 10_000}},
                 ["CsI", "Xe", "Ge", "Si", "Ar", "C3F8"], "common")
    xb = b.scan.grid()

    def sample_b(rng):
        i = int(rng.integers(0, xb.size))
        return (i,), {"sin2_theta_w": xb[i]}

    run("(b) 10^4-point sin2w profile, six detectors combined", b, sample_b)


if __name__ == "__main__":
    main()
