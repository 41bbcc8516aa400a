"""Benchmark of one ``coherent`` overlay panel against the straightforward per-point path.

Run as ``python benchmarks/bench_overlay.py`` (``--help`` for options).

Case: the overlay of fig7's scalar panel — NGI scalar, mediator mass 0.01 … 10⁴ MeV × coupling
10⁻⁷ … 10⁻¹ on the overlay's own 14 × 16 log grid, CsI-2021 + LAr-2020 with the shared flux
nuisance and both releases' shape nuisances. Fast path: :func:`cevns.fits.combined.combined_grid`
as the overlay calls it (grid signals; each release's batched Newton profile at θ_Φ = 0, then one
joint batched profile of both releases with the flux as a shared linear normsys). Straightforward
reference: point by point, each release profiled from θ = 0 at the default tolerance and the flux
minimised by SciPy's bounded Brent method (tests/_reference/flux_scan_reference.py), on a random
subset of grid points; its time for the whole grid is *extrapolated* linearly from the
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


def measure(repeat: int, subset: int, seed: int = 1) -> tuple[list[float], float, int, float]:
    """CPU seconds of each fast run, the reference's CPU seconds for the whole grid (extrapolated),
    the subset size and the largest |χ² fast − χ² reference| on the subset."""
    for r in ("coherent-csi-2021", "coherent-lar-2020"):
        packaged_model(r)  # build the release models once (not timed: the overlay reuses them)
    grid = ("ngi", "mediator_mass_MeV", MASSES, "coupling", COUPLINGS)
    combined_grid(*grid, options=OPTIONS)  # warm the scenario caches
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        combined_grid(*grid, options=OPTIONS)
        times.append(time.process_time() - t0)
    parts, sigma_flux, _ = grid_parts(*grid, options=OPTIONS)
    fast = profile_flux(parts, sigma_flux)
    points = np.random.default_rng(seed).choice(fast.chi2.size, size=subset, replace=False)
    t0 = time.process_time()
    reference = np.array([point_chi2(parts, sigma_flux, int(i))[0] for i in points])
    per_point = (time.process_time() - t0) / points.size
    diff = float(np.max(np.abs(fast.chi2[points] - reference)))
    return times, per_point * fast.chi2.size, points.size, diff


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="repeats of the fast path")
    parser.add_argument("--subset", type=int, default=8, help="grid points for the reference")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    times, reference, n_sub, diff = measure(args.repeat, args.subset, args.seed)
    print(f"python {platform.python_version()}, load {os.getloadavg()[0]:.1f}")
    print(f"overlay panel 14 x 16 (NGI scalar), fast path: CPU min {min(times):.2f} s, "
          f"median {float(np.median(times)):.2f} s ({args.repeat} runs)")
    print(f"straightforward per point: {reference:.1f} s CPU for the grid (extrapolated from "
          f"{n_sub} points)")
    print(f"ratio {reference / float(np.median(times)):.0f}x; max |chi2 fast - reference| on the "
          f"subset {diff:.1e}")


if __name__ == "__main__":
    main()
