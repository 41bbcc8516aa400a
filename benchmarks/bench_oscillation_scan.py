"""Benchmark: the signal counts of the Fig. 9 Δm² grid (195 Δm², both channels, six detectors),
evenly spaced runs of Δm² computed together (``OscillationScanBasis``) against one basis per Δm²
(the straightforward path of the ``Scenario`` base class), both from a cold cache, in one run.

Run: ``python benchmarks/bench_oscillation_scan.py``. CPU times (``time.process_time``) and the
largest relative difference of the counts are printed.
"""

from __future__ import annotations

import time

import numpy as np

from cevns.analyses import shipped_analysis
from cevns.rates import clear_cache
from cevns.scenarios import get_scenario
from cevns.scenarios.base import Scenario


def counts(one_by_one: bool) -> list[np.ndarray]:
    an = shipped_analysis("fig9")
    src, dets = an.source.build(), an.build_detectors()
    values = {"sin2_2theta": np.geomspace(1e-3, 1.0, 5), "delta_m2_eV2": an.y.grid()}
    out = []
    for channel in ("e", "mu"):
        sc = get_scenario("sterile-oscillation", channel=channel)
        if one_by_one:
            sc._term_counts_many = (lambda d, s, pts, sc=sc:
                                    Scenario._term_counts_many(sc, d, s, pts))
        out += [sc.counts(det, src, values) for det in dets]
    return out


def measure() -> tuple[float, float, float]:
    """(CPU s of the batched path, CPU s one Δm² at a time, max relative difference)."""
    counts(False)  # warm-up: imports, quadrature rules
    times, results = {}, {}
    for one_by_one in (True, False):
        clear_cache()
        t0 = time.process_time()
        results[one_by_one] = counts(one_by_one)
        times[one_by_one] = time.process_time() - t0
    diff = max(float(np.max(np.abs(a - b) / np.abs(b)))
               for a, b in zip(results[False], results[True], strict=True))
    return times[False], times[True], diff


def main():
    fast, ref, diff = measure()
    print(f"Fig. 9 Δm² grid, 2 channels x 6 detectors: one basis per Δm² {ref:.2f} s CPU | "
          f"evenly spaced runs together {fast:.2f} s CPU | speed-up {ref / fast:.1f}x | "
          f"max rel. diff {diff:.1e}")


if __name__ == "__main__":
    main()
