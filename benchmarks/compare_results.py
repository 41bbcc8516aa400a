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


def compare_netcdf(p: Path, q: Path) -> float:
    import xarray as xr

    with xr.open_dataset(p) as a, xr.open_dataset(q) as b:
        names = set(a.variables) | set(b.variables)
        worst = 0.0
        for name in sorted(names):
            if name not in a.variables or name not in b.variables:
                return math.inf
            va, vb = a[name].values, b[name].values
            if va.dtype.kind in "fiu" and vb.dtype.kind in "fiu":
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
        worst = compare_netcdf(p, q) if rel.suffix == ".nc" else compare_csv(p, q)
        overall = max(overall, worst)
        flag = "ok  " if worst <= args.rtol else "FAIL"
        bad += worst > args.rtol
        print(f"{flag}  {worst:9.2e}  {rel}")
    print(f"{len(files)} files, largest relative difference {overall:.3g}, {bad} failing "
          f"(rtol {args.rtol:g})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
