"""Benchmark: SM spectra of the six ESS detectors from the π-DAR source and from the same source
written as a table (``ess-table``), side by side in one run (docs/sources.md).

Run: ``python benchmarks/bench_sources.py [--repeat N]``. Both are timed cold (caches cleared
before every repetition, response matrices rebuilt); min and median of N repetitions are printed
with the 1-minute load average, and the largest relative difference of the binned counts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from cevns.experiment import ESS_DETECTORS, get_detector, get_source
from cevns.physics.basis import SMBasis
from cevns.physics.cross_sections import sm_basis_coefficients
from cevns.rates import clear_cache, compute_basis_spectra


def engine_all(src):
    coeff = sm_basis_coefficients()
    clear_cache()
    return {name: np.einsum("j,jfkb->fb", coeff,
                            compute_basis_spectra(get_detector(name), src, SMBasis()).counts)
            for name in ESS_DETECTORS}


def timed(src, repeat):
    engine_all(src)  # warm imports
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = engine_all(src)
        times.append(time.perf_counter() - t0)
    return times, out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    rows = []
    results = {}
    for name in ("ess", "ess-table"):
        before = os.getloadavg()[0]
        times, results[name] = timed(get_source(name), args.repeat)
        rows.append((name, min(times), statistics.median(times), before, os.getloadavg()[0]))
    worst = max(float(np.max(np.abs(results["ess-table"][n] - results["ess"][n])
                             / np.maximum(np.abs(results["ess"][n]), 1e-300)
                             * (np.abs(results["ess"][n]) > 1e-9))) for n in ESS_DETECTORS)
    print("SM spectra, six ESS detectors, cold (no cache)")
    for name, t_min, t_med, l0, l1 in rows:
        print(f"  {name:10s} min {t_min * 1e3:7.1f} ms  median {t_med * 1e3:7.1f} ms  "
              f"(load {l0:.1f} -> {l1:.1f})")
    print(f"  tabulated / pi-DAR (min): {rows[1][1] / rows[0][1]:.1f}x; "
          f"largest relative difference of the counts: {worst:.1e}")


if __name__ == "__main__":
    main()
