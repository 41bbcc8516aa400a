"""Compare two ``cevns reproduce`` output folders number by number (a before/after check of a
speed change: the numbers must not move beyond the stated tolerances).

Usage::

    cevns reproduce --no-figures --out /tmp/before      # on the old code
    cevns reproduce --no-figures --out /tmp/after       # on the new code
    python benchmarks/compare_results.py /tmp/before /tmp/after [--rtol 1e-6]

Every netCDF file of every item (χ² grids, profiles, exclusion curves; the scan stores are
skipped) is compared variable by variable, and every CSV table cell by cell. A number passes when
|a − b| ≤ rtol · max(|a|, |b|, 1) (the ``1`` makes the tolerance absolute for values below one,
e.g. a Δχ² near the minimum); NaN must meet NaN. Prints the largest difference of each file and
exits 1 if any file fails or is missing on one side.

One documented exception (docs/statistics.md, early stop): the profiler may stop iterating at
points whose Δχ² is certainly above the stop level (≥ ``--stop-level``, 25), where the value is
accurate to 0.1 % of the excess; the decision uses the smallest χ² of the tile, so a different
tiling (another executor, worker count or tile axis) may move such values within that accuracy
and flip their ``status`` between 0 (converged) and 1 (above level). In the χ² grids of the
netCDF files, cells where both values are above the stop level are therefore compared with
``--stop-rtol`` (1e-3), and ``status`` only where Δχ² is below it.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

import numpy as np


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return math.inf
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    if np.any(nan_a != nan_b):
        return math.inf
    ok = ~nan_a
    if not ok.any():
        return 0.0
    a, b = a[ok], b[ok]
    inf = np.isinf(a) | np.isinf(b)
    if np.any(a[inf] != b[inf]):
        return math.inf
    a, b = a[~inf], b[~inf]
    if a.size == 0:
        return 0.0
    scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), 1.0)
    return float(np.max(np.abs(a - b) / scale))


def compare_netcdf(p: Path, q: Path, stop_level: float, stop_rtol: float, rtol: float) -> float:
    """Largest relative difference of the variables of two netCDF files, in units of `rtol`
    for cells above the stop level (so that 1 ≙ failing at either tolerance)."""
    import xarray as xr

    with xr.open_dataset(p) as a, xr.open_dataset(q) as b:
        names = set(a.variables) | set(b.variables)
        worst = 0.0
        delta = None
        if "delta_chi2" in a.variables and "delta_chi2" in b.variables:
            da, db = a["delta_chi2"].values, b["delta_chi2"].values
            if da.shape == db.shape:
                delta = np.fmax(da, db)
        for name in sorted(names):
            if name not in a.variables or name not in b.variables:
                return math.inf
            va, vb = a[name].values, b[name].values
            if va.shape != vb.shape:
                return math.inf
            above = None
            if delta is not None and va.shape == delta.shape:
                above = delta >= stop_level
            if name == "status" and above is not None:
                if not np.array_equal(va[~above], vb[~above]):
                    return math.inf
            elif va.dtype.kind in "fiu" and vb.dtype.kind in "fiu":
                if above is not None and "chi2" in name:
                    worst = max(worst, _rel(va[~above], vb[~above]),
                                _rel(va[above], vb[above]) * rtol / stop_rtol)
                else:
                    worst = max(worst, _rel(va, vb))
            elif not np.array_equal(va, vb):
                return math.inf
        return worst


def compare_csv(p: Path, q: Path) -> float:
    ra = list(csv.reader(p.open()))
    rb = list(csv.reader(q.open()))
    if len(ra) != len(rb):
        return math.inf
    worst = 0.0
    for x, y in zip(ra, rb, strict=True):
        if len(x) != len(y):
            return math.inf
        for u, v in zip(x, y, strict=True):
            try:
                fu, fv = float(u), float(v)
            except ValueError:
                if u != v:
                    return math.inf
                continue
            worst = max(worst, _rel(np.array([fu]), np.array([fv])))
    return worst


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument("--stop-level", type=float, default=25.0)
    ap.add_argument("--stop-rtol", type=float, default=1e-3)
    args = ap.parse_args(argv)
    files = sorted({p.relative_to(args.before) for p in args.before.rglob("*")
                    if p.suffix in (".nc", ".csv") and "scans" not in p.parts}
                   | {p.relative_to(args.after) for p in args.after.rglob("*")
                      if p.suffix in (".nc", ".csv") and "scans" not in p.parts})
    bad = 0
    overall = 0.0
    for rel in files:
        p, q = args.before / rel, args.after / rel
        if not (p.exists() and q.exists()):
            print(f"MISSING  {rel}")
            bad += 1
            continue
        worst = (compare_netcdf(p, q, args.stop_level, args.stop_rtol, args.rtol)
                 if rel.suffix == ".nc" else compare_csv(p, q))
        overall = max(overall, worst)
        flag = "ok  " if worst <= args.rtol else "FAIL"
        bad += worst > args.rtol
        print(f"{flag}  {worst:9.2e}  {rel}")
    print(f"{len(files)} files, largest relative difference {overall:.3g}, {bad} failing "
          f"(rtol {args.rtol:g})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
