"""Benchmark of one ``coherent`` overlay panel against the straightforward per-point path.

Run as ``python benchmarks/bench_overlay.py`` (``--help`` for options).

Case: the overlay of fig7's scalar panel — NGI scalar, mediator mass 0.01 … 10⁴ MeV × coupling
10⁻⁷ … 10⁻¹ on the overlay's own 14 × 16 log grid, CsI-2021 + LAr-2020 with the shared flux
nuisance and both releases' shape nuisances. Fast path: :func:`cevns.fits.combined.combined_grid`
as the overlay calls it (grid signals, batched Newton per release with warm starts, three flux
points and one parabolic step). Straightforward reference: the same flux steps point by point,
each release profiled from θ = 0 at the default tolerance (tests/_reference/flux_scan_reference.py),
on a random subset of grid points; its time for the whole grid is *extrapolated* linearly from the
subset and labelled so. Times are CPU seconds of this process (``time.process_time``); the 1-minute
load average is printed next to them. The χ² of the two are compared on the subset.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "_reference"))
from flux_scan_reference import point_chi2  # noqa: E402

from cevns.fits.combined import combined_grid, grid_parts, packaged_model, profile_flux  # noqa: E402

MASSES = np.geomspace(0.01, 1e4, 14)
COUPLINGS = np.geomspace(1e-7, 1e-1, 16)
OPTIONS = {"interaction": "scalar"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="repeats of the fast path")
    parser.add_argument("--subset", type=int, default=8, help="grid points for the reference")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    for r in ("coherent-csi-2021", "coherent-lar-2020"):
        packaged_model(r)  # build the release models once (not timed: the overlay reuses them)
    grid = ("ngi", "mediator_mass_MeV", MASSES, "coupling", COUPLINGS)
    combined_grid(*grid, options=OPTIONS, refine=1)  # warm the scenario caches
    times = []
    for _ in range(args.repeat):
        t0 = time.process_time()
        combined_grid(*grid, options=OPTIONS, refine=1)
        times.append(time.process_time() - t0)
    parts, sigma_flux, _ = grid_parts(*grid, options=OPTIONS)
    fast = profile_flux(parts, sigma_flux, refine=1)
    rng = np.random.default_rng(args.seed)
    subset = rng.choice(fast.chi2.size, size=args.subset, replace=False)
    t0 = time.process_time()
    reference = np.array([point_chi2(parts, sigma_flux, int(i))[0] for i in subset])
    per_point = (time.process_time() - t0) / subset.size
    diff = np.abs(fast.chi2[subset] - reference)
    load = os.getloadavg()[0]
    print(f"python {platform.python_version()}, load {load:.1f}")
    print(f"overlay panel 14 x 16 (NGI scalar), fast path: CPU min {min(times):.2f} s, "
          f"median {float(np.median(times)):.2f} s ({args.repeat} runs)")
    print(f"straightforward per point: {per_point:.3f} s/point -> {per_point * fast.chi2.size:.1f} s "
          f"CPU for the grid (extrapolated from {subset.size})")
    print(f"ratio {per_point * fast.chi2.size / float(np.median(times)):.0f}x; "
          f"max |chi2 fast - reference| on the subset {diff.max():.1e}")


if __name__ == "__main__":
    main()
