"""Best fits that mean something: flag the parameters a 2D scan does not determine.

An Asimov scan has its minimum at the truth, but along a flat direction — a valley of Δχ² ≈ 0
such as sin²2θ → 0 at any Δm², or the sin²θ_W–R_n band of a single-bin detector — the grid point
that happens to be lowest is arbitrary. A parameter is *undetermined* when its profile (Δχ²
minimised over the other parameter) stays below the 1σ level, Δχ² = 1, on the whole grid: no 1σ
interval closes inside the scanned range, or when its profile is flat-bottomed (a valley rather
than a parabola). The written scan then reports its best-fit coordinate as NaN with a note
instead of a number.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: Δχ² that a profile must exceed somewhere on the grid for its parameter to count as determined.
DETERMINED_LEVEL = 1.0


#: Δχ² below which a profile counts as "at the minimum" for the flat-bottom test.
FLAT_LEVEL = 0.05
#: A profile whose Δχ² < FLAT_LEVEL region is wider than this fraction of its Δχ² < 1 region is
#: flat-bottomed (a parabola gives √0.05 = 0.22).
FLAT_FRACTION = 0.5


def _undetermined(profile: np.ndarray, level: float) -> bool:
    if not np.nanmax(profile) >= level:
        return True  # no 1σ interval closes inside the grid
    inside = np.count_nonzero(profile < level)
    if inside < 5:
        return False  # too few points to see the shape of the minimum: trust it
    return np.count_nonzero(profile < FLAT_LEVEL) > FLAT_FRACTION * inside


def undetermined_parameters(scan, level: float = DETERMINED_LEVEL) -> list[str]:
    """Names of the parameters of ``scan`` (a :class:`cevns.stats.Scan2D`) whose best fit is
    arbitrary: the profile never exceeds ``level`` on the grid, or its minimum is flat-bottomed
    (Δχ² < 0.05 over more than half of the Δχ² < 1 region; a parabola gives 22 %)."""
    delta = np.asarray(scan.delta_chi2, dtype=float)
    out = []
    if _undetermined(np.nanmin(delta, axis=1), level):
        out.append(scan.x_name)
    if _undetermined(np.nanmin(delta, axis=0), level):
        out.append(scan.y_name)
    return out


def mark_undetermined(scan, ds) -> list[str]:
    """Replace undetermined best-fit coordinates of ``scan`` in the Dataset ``ds`` by NaN, list
    them in the attribute ``undetermined`` (with a ``best_note``); return that list."""
    flat = undetermined_parameters(scan)
    for name in flat:
        ds.attrs[f"best_{name}"] = float("nan")
    ds.attrs["undetermined"] = ",".join(flat)
    if flat:
        ds.attrs["best_note"] = ("flat direction for " + ", ".join(flat) + " (no 1σ interval "
                                 "inside the grid, or a flat-bottomed valley): the grid minimum "
                                 "there is arbitrary")
    return flat


def write_scan_netcdf(scan, path: Path) -> list[str]:
    """Write ``scan`` to netCDF like :meth:`Scan2D.to_netcdf`, with undetermined best-fit
    coordinates replaced by NaN (:func:`mark_undetermined`); return their names. The file is
    replaced atomically (:func:`cevns.analyses.cf.to_netcdf`: temporary file, then rename), so
    a failed or interrupted write leaves an earlier file whole.

    Analyses write through :func:`cevns.analyses.cf.write_scan_netcdf`, which adds the CF
    attributes and applies the same marking.
    """
    from cevns.analyses.cf import to_netcdf

    ds = scan.to_dataset()
    flat = mark_undetermined(scan, ds)
    to_netcdf(ds, path)
    return flat


__all__ = ["DETERMINED_LEVEL", "mark_undetermined", "undetermined_parameters", "write_scan_netcdf"]
