"""Inverse of the mean quenching (observed value → keVnr-equivalent recoil) on the COHERENT
release detectors: ``Detector.observable_to_recoil`` (all values at once, SciPy's elementwise
root finder) against one ``scipy.optimize.brentq`` per value on the same brackets.

Run from the repository root::

    PYTHONPATH=src python benchmarks/bench_quenching_inverse.py [--repeat 5]

For each release detector and nucleus: 3000 log-spaced observed values over the whole table plus
edge cases; wall time min / median over ``--repeat``, and the largest relative difference.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from cevns.fits.combined import packaged_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "_reference"))
from quenching_inverse_reference import brent_inverse  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    repeat = ap.parse_args().repeat
    print("| detector | nucleus | brentq per value: min / median | elementwise: min / median | "
          "ratio (median) | max rel. difference |")
    print("|---|---|---:|---:|---:|---:|")
    for release in ("coherent-csi-2017", "coherent-csi-2021", "coherent-lar-2020"):
        det = packaged_model(release).detector
        for k, (nucleus, _) in enumerate(det.nuclei):
            _, m = det._observable_grid(k)
            values = np.concatenate([[-1.0, 0.0, m[1], m[-1], 2 * m[-1]],
                                     np.geomspace(0.5 * m[1], 1.1 * m[-1], 3000)])
            slow, fast = [], []
            for _ in range(repeat):
                t0 = time.perf_counter()
                ref = brent_inverse(det, values, k)
                t1 = time.perf_counter()
                got = det.observable_to_recoil(values, k)
                t2 = time.perf_counter()
                slow.append(t1 - t0)
                fast.append(t2 - t1)
            diff = float(np.max(np.abs(got - ref) / np.maximum(np.abs(ref), 1e-300)))
            print(f"| {release} | {nucleus.name} | {min(slow) * 1e3:.1f} / "
                  f"{statistics.median(slow) * 1e3:.1f} ms | {min(fast) * 1e3:.2f} / "
                  f"{statistics.median(fast) * 1e3:.2f} ms | "
                  f"{statistics.median(slow) / statistics.median(fast):.0f}× | {diff:.1e} |")


if __name__ == "__main__":
    main()
