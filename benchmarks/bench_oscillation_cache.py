"""Benchmark: the 3+1 Δm² scan of Figs. 9/18 above the E-node cap, with and without the cache of
un-oscillated base terms in ``cevns.physics.oscillation``.

Run: ``python benchmarks/bench_oscillation_cache.py``. Both runs build every basis afresh
(``clear_cache``); the reference switches the base-term cache off (size 0), i.e. recomputes the
SM cross section on the same nodes for every Δm². Results must agree exactly.
"""

from __future__ import annotations

import time

import numpy as np

import cevns.physics.oscillation as osc
from cevns.analyses import parse_analysis
from cevns.analyses.sensitivity import chi2_grid
from cevns.rates import clear_cache

DETECTORS = ["CsI", "Xe", "Ge", "Si", "Ar", "C3F8"]


def main():
    an = parse_analysis({
        "schema_version": 1, "name": "bench", "title": "bench", "kind": "scan2d",
        "detectors": DETECTORS,
        "scenario": {"name": "sterile-oscillation", "options": {"channel": "mu"}},
        "x": {"parameter": "sin2_2theta", "start": 1e-3, "stop": 1.0, "num": 80,
              "spacing": "log"},
        "y": {"parameter": "delta_m2_eV2", "values": [float(v) for v in
                                                       np.arange(5.0, 65.0, 0.6)]}})
    chi2_grid(an)  # warm-up (imports, quadrature rules)
    times, grids = {}, {}
    for label, size in (("reference (no base-term cache)", 0), ("cached base terms", 48)):
        osc._BASE_TERMS_MAX = size
        osc._BASE_TERMS.clear()
        clear_cache()
        t0 = time.perf_counter()
        grids[label] = chi2_grid(an)["combined"]
        times[label] = time.perf_counter() - t0
    ref, fast = times["reference (no base-term cache)"], times["cached base terms"]
    diff = np.max(np.abs(grids["cached base terms"] - grids["reference (no base-term cache)"]))
    print(f"3+1 nu_mu, 100 Delta m^2 points x 80 sin^2 2theta, six detectors: reference {ref:.2f} s"
          f" | cached {fast:.2f} s | speed-up {ref / fast:.1f}x | max |diff chi2| {diff:.1e}")


if __name__ == "__main__":
    main()
