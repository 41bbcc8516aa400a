"""Reading intervals, contours and exclusion curves off Δχ² grids.

- :class:`Profile1D`: a χ² profile along one parameter → best fit and allowed intervals.
- :class:`Scan2D`: a χ² grid over two parameters → contours, 1D profiles, exclusion curves.
- :func:`exclusion_curve`: for (mass, coupling) planes, the smallest excluded coupling per mass.

Every grid must be one-dimensional, non-empty and strictly increasing; anything else is a
:class:`~cevns.errors.ConfigError` that names the argument. Levels are preset names or Δχ² values
(see :mod:`cevns.stats.levels`).
"""

from __future__ import annotations

import csv
import html
import io
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cevns.errors import (
    ConfigError,
    MissingDependencyError,
    check_path_argument,
    is_bool,
    is_text,
    not_real_numbers,
)
from cevns.stats.levels import Level, level_label, level_value

PathLike = str | os.PathLike[str]


@contextmanager
def _csv_file(path: PathLike) -> Iterator[io.StringIO]:
    """A text buffer whose content is written to ``path`` when the block ends without an error
    (:func:`cevns.fsio.write_file_text`: atomically, a folder or missing folder named in an
    :class:`~cevns.errors.OutputError`)."""
    from cevns import fsio

    check_path_argument(path, "to_csv: path")
    buffer = io.StringIO(newline="")
    yield buffer
    fsio.write_file_text(path, buffer.getvalue())


# -- validation helpers ----------------------------------------------------------------------------


def _check_axis(values: ArrayLike, name: str, min_len: int = 2) -> NDArray[np.float64]:
    """A 1-D, finite, strictly increasing grid of at least ``min_len`` points (not text, true/false,
    complex numbers or a masked array: :func:`~cevns.errors.not_real_numbers`)."""
    if is_text(values):
        raise ConfigError(f"{name} must be a 1-D array of numbers, got {values!r}")
    not_real_numbers(values, name, "a 1-D array of numbers")
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a 1-D array of numbers") from None
    if arr.ndim != 1:
        raise ConfigError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ConfigError(f"{name} is empty")
    if arr.size < min_len:
        raise ConfigError(f"{name} needs at least {min_len} points, got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise ConfigError(f"{name} must be finite; found {arr[~np.isfinite(arr)][0]}")
    step = np.diff(arr)
    if np.all(step < 0):
        raise ConfigError(
            f"{name} is decreasing (reversed); give it in increasing order "
            "(reverse the values of the grid along that axis too)"
        )
    if not np.all(step > 0):
        i = int(np.flatnonzero(~(step > 0))[0])
        raise ConfigError(
            f"{name} must be strictly increasing; {name}[{i + 1}] = {arr[i + 1]:g} follows "
            f"{name}[{i}] = {arr[i]:g}"
        )
    return arr


def _check_values(values: ArrayLike, name: str, shape: tuple[int, ...]) -> NDArray[np.float64]:
    """χ² or Δχ² values of a given shape; NaN or −inf is an error, +inf is allowed (text,
    true/false, complex numbers and a masked array are refused as in :func:`_check_axis`)."""
    if is_text(values):
        raise ConfigError(f"{name} must be an array of numbers, got {values!r}")
    not_real_numbers(values, name, "an array of numbers")
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be an array of numbers") from None
    if arr.shape != shape:
        raise ConfigError(f"{name} has shape {arr.shape}; expected {shape} from the grid axes")
    if np.any(np.isnan(arr)) or np.any(arr == -np.inf):
        where = tuple(int(i) for i in np.argwhere(np.isnan(arr) | (arr == -np.inf))[0])
        raise ConfigError(f"{name} must not contain NaN or -inf; found {arr[where]} at {where}")
    if not np.any(np.isfinite(arr)):
        raise ConfigError(f"{name} has no finite value")
    return arr


def _check_status(status: ArrayLike | None, shape: tuple[int, ...]) -> NDArray[np.int8]:
    """Profiler status codes (0, 1, 2) of the given shape; all 0 when ``status`` is None."""
    if status is None:
        return np.zeros(shape, dtype=np.int8)
    arr = np.asarray(status)
    if arr.shape != shape or not np.isin(arr, (0, 1, 2)).all():
        raise ConfigError(
            f"status must hold the profiler codes 0, 1, 2 in shape {shape}; got shape "
            f"{arr.shape}" + (f" with values {np.unique(arr)[:5].tolist()}" if arr.size else "")
        )
    return arr.astype(np.int8)


def _frozen(arr: NDArray[Any]) -> NDArray[Any]:
    """An owned, read-only copy of ``arr``: a result's grid, χ² and status cannot change behind
    the numbers derived from them (best fit, χ²_min, edges); writing raises ``ValueError``."""
    out = np.array(arr, copy=True)
    out.flags.writeable = False
    return out


def _check_name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{what} must be a non-empty string, got {value!r}")
    return value


#: Variables a :class:`Scan2D` dataset holds besides its axes: no axis may be called so.
_SCAN2D_VARIABLES = ("chi2", "delta_chi2", "status")


def _axis_name(value: Any, what: str) -> str:
    """An axis name of a :class:`Scan2D`: a netCDF dimension name (no ``/``, no control
    character, no leading or trailing space) that is not one of its variables'."""
    name = _check_name(value, what)
    if "/" in name or any(ord(c) < 32 or ord(c) == 127 for c in name) or name != name.strip():
        raise ConfigError(f"{what} {name!r} cannot name a netCDF dimension: no '/', control "
                          "characters or leading/trailing spaces (e.g. 'sin2w', 'Rn_fm')")
    if name in _SCAN2D_VARIABLES:
        raise ConfigError(f"{what} {name!r} is the name of a variable of the scan "
                          f"({', '.join(_SCAN2D_VARIABLES)}); name the parameter itself")
    return name


def _levels(levels: Level | Iterable[Level]) -> list[Level]:
    if isinstance(levels, str | int | float):
        return [levels]
    out = list(levels)
    for lv in out:
        level_value(lv)
    return out


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - matplotlib is a core dependency
        raise MissingDependencyError("plotting needs matplotlib: pip install matplotlib") from None
    return plt


def _axes(ax: Any, where: str) -> Any:
    """``ax`` if it is a matplotlib Axes, pyplot's current axes if None; anything else a
    :class:`ConfigError` naming ``where``."""
    plt = _pyplot()
    if ax is None:
        return plt.gca()
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise ConfigError(f"{where}: ax must be a matplotlib Axes (e.g. from plt.subplots()) or "
                          f"None, got {type(ax).__name__} {ax!r}")
    return ax


def _fmt(v: float) -> str:
    return f"{v:.6g}"


# -- 1D --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """One connected piece of an allowed region.

    Attributes
    ----------
    lower, upper : float
        Edges, interpolated between grid points; the grid edge where the piece is open.
    lower_open, upper_open : bool
        True if Δχ² stays below the level up to the grid edge on that side: the true edge is at or
        beyond the grid edge and is *not* known.

    An edge that is not a number (NaN, text, true/false), ``lower > upper``, or a flag that is not
    true or false is a :class:`~cevns.errors.ConfigError`.
    """

    lower: float
    upper: float
    lower_open: bool = False
    upper_open: bool = False

    def __post_init__(self):
        for name in ("lower", "upper"):
            value = getattr(self, name)
            if is_bool(value) or is_text(value) or not isinstance(value, (int, float, np.number)):
                raise ConfigError(f"Interval: {name} must be a number, got {value!r}")
            if math.isnan(value):
                raise ConfigError(f"Interval: {name} must be a number, got nan")
        if self.lower > self.upper:
            raise ConfigError(f"Interval: lower = {self.lower!r} is above upper = "
                              f"{self.upper!r}; expected lower ≤ upper")
        for name in ("lower_open", "upper_open"):
            if not is_bool(getattr(self, name), scalar_only=True):
                raise ConfigError(f"Interval: {name} must be true or false, got "
                                  f"{getattr(self, name)!r}")

    @property
    def closed(self) -> bool:
        """Both edges found inside the grid."""
        return not (self.lower_open or self.upper_open)

    @property
    def width(self) -> float:
        """upper − lower (a lower bound on the width if the piece is open)."""
        return self.upper - self.lower

    def __contains__(self, value: float) -> bool:
        return self.lower <= value <= self.upper

    def __iter__(self):
        """Unpack as ``lower, upper``."""
        return iter((self.lower, self.upper))

    def __str__(self) -> str:
        lo = ("≤" if self.lower_open else "") + _fmt(self.lower)
        hi = ("≥" if self.upper_open else "") + _fmt(self.upper)
        return f"[{lo}, {hi}]"


def _sqrt_interp(x0: float, x1: float, d0: float, d1: float, level: float) -> float:
    """Where Δχ² crosses ``level`` between (x0, d0) and (x1, d1), one on each side.

    Interpolates √Δχ² linearly, which is exact for a parabolic χ² (√Δχ² = |x − x̂|/s is linear on
    each side of the minimum) and otherwise a monotone interpolant like the linear one.
    """
    u0, u1 = math.sqrt(max(d0, 0.0)), math.sqrt(max(d1, 0.0))
    if math.isinf(u0) or math.isinf(u1):
        return x0 if math.isinf(u1) else x1
    if u1 == u0:
        return 0.5 * (x0 + x1)
    frac = (math.sqrt(level) - u0) / (u1 - u0)
    return x0 + min(max(frac, 0.0), 1.0) * (x1 - x0)


def _parabola_vertex(x: NDArray[np.float64], y: NDArray[np.float64], j: int):
    """Vertex (x̂, ŷ) of the parabola through points j−1, j, j+1, or None if not a minimum.

    The parabola is fitted on the normalised offsets (x − x_j)/h, h = x_{j+1} − x_{j−1}, and on
    χ² divided by its largest magnitude, so an axis of any scale (1e-100 … 1e300) or χ² values
    near the float range neither overflow nor lose the fit; a vertex that is not finite is None.
    """
    xs, ys = x[j - 1 : j + 2], y[j - 1 : j + 2]
    if not np.all(np.isfinite(ys)):
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        h = xs[2] - xs[0]
        t = (xs - xs[1]) / h
        scale = float(np.max(np.abs(ys))) or 1.0
        if not (math.isfinite(h) and np.all(np.isfinite(t))):
            return None
        a, b, c = np.polyfit(t, ys / scale, 2)
        if not a > 0:
            return None
        tv = -b / (2 * a)
        if not t[0] <= tv <= t[2]:
            return None
        xv, yv = xs[1] + tv * h, (c - b * b / (4 * a)) * scale
    if not (math.isfinite(xv) and math.isfinite(yv)):
        return None
    return xv, min(yv, ys[1])


class Profile1D:
    """A χ² profile along one parameter (e.g. the profiled χ² on a sin²θ_W grid).

    Parameters
    ----------
    x : array_like
        Parameter grid, strictly increasing, ≥ 2 points.
    chi2 : array_like
        χ² at each grid point (``inf`` allowed, NaN not).
    parameter : str
        Parameter name (CSV column, plot label fallback), e.g. ``"sin2w"``.
    label : str, optional
        Axis label for plots, e.g. ``r"$\\sin^2\\theta_W$"``.
    refine : bool
        Refine the minimum by the parabola through the grid minimum and its neighbours (default);
        ``False``: use the grid minimum. Δχ² is taken relative to the (refined) minimum.
    status : array_like of int, optional
        Profiler status per grid point (:attr:`cevns.stats.ProfileResult.status`: 0 converged,
        1 decided above level, 2 unconverged); default all converged.

    Attributes
    ----------
    x, chi2, status : ndarray
        The grid, χ² and status as given: owned read-only copies (writing raises ``ValueError``;
        the caller's arrays stay the caller's).
    best : float
        Best-fit parameter value.
    chi2_min : float
        Minimum χ² (refined).
    best_at_edge : bool
        The grid minimum is the first or last grid point: the true minimum may lie outside.
    """

    def __init__(
        self,
        x: ArrayLike,
        chi2: ArrayLike,
        *,
        parameter: str = "x",
        label: str | None = None,
        refine: bool = True,
        status: ArrayLike | None = None,
    ):
        self.x = _frozen(_check_axis(x, "x"))
        self.chi2 = _frozen(_check_values(chi2, "chi2", self.x.shape))
        self.status = _frozen(_check_status(status, self.x.shape))
        self.parameter = _check_name(parameter, "parameter")
        self.label = label
        j = int(np.argmin(self.chi2))
        self.best_at_edge = j in (0, self.x.size - 1)
        vertex = (
            None if (self.best_at_edge or not refine) else _parabola_vertex(self.x, self.chi2, j)
        )
        self.best, self.chi2_min = (
            (float(vertex[0]), float(vertex[1]))
            if vertex
            else (float(self.x[j]), float(self.chi2[j]))
        )

    @property
    def delta_chi2(self) -> NDArray[np.float64]:
        """Δχ² = χ² − χ²_min on the grid (``inf`` where the difference exceeds the float
        range)."""
        with np.errstate(over="ignore"):
            return self.chi2 - self.chi2_min

    def interval(self, level: Level = "1sigma_1dof") -> list[Interval]:
        """Allowed region {x: Δχ²(x) ≤ level} as a list of pieces, in increasing order.

        Parameters
        ----------
        level : str or float
            Preset name (see :mod:`cevns.stats.levels`) or Δχ² value > 0.

        Returns
        -------
        list of Interval
            Edges interpolated between grid points (linear in √Δχ², exact for a parabola); open
            edges are at the grid edge with ``lower_open``/``upper_open`` set. The refined best
            fit (:attr:`best`, Δχ² = 0) counts as a point of the profile, so the list is never
            empty and a piece always contains :attr:`best`: on a grid too coarse for any grid
            point to lie within ``level`` of the refined minimum, the edges are interpolated
            from the best fit to its neighbouring grid points.
        """
        lv = level_value(level)
        d, x = self.delta_chi2, self.x
        k = int(np.searchsorted(x, self.best))
        if not (k < x.size and x[k] == self.best):  # the refined minimum, between grid points
            x, d = np.insert(x, k, self.best), np.insert(d, k, 0.0)
        allowed = d <= lv
        pieces: list[Interval] = []
        i, n = 0, x.size
        while i < n:
            if not allowed[i]:
                i += 1
                continue
            start = i
            while i + 1 < n and allowed[i + 1]:
                i += 1
            stop = i
            lo_open, hi_open = start == 0, stop == n - 1
            lo = (
                x[0]
                if lo_open
                else _sqrt_interp(x[start], x[start - 1], d[start], d[start - 1], lv)
            )
            hi = x[-1] if hi_open else _sqrt_interp(x[stop], x[stop + 1], d[stop], d[stop + 1], lv)
            pieces.append(Interval(float(lo), float(hi), lo_open, hi_open))
            i += 1
        return pieces

    def allowed_range(self, level: Level = "1sigma_1dof") -> Interval:
        """The envelope [min lower, max upper] of all allowed pieces (what a table quotes); it
        contains :attr:`best` (:meth:`interval` is never empty)."""
        pieces = self.interval(level)
        if not pieces:  # pragma: no cover - the best fit is always allowed
            raise ConfigError(f"allowed_range: no allowed region at level {level!r}")
        return Interval(
            pieces[0].lower, pieces[-1].upper, pieces[0].lower_open, pieces[-1].upper_open
        )

    def plot(
        self, ax=None, levels: Level | Iterable[Level] = ("1sigma_1dof", "90cl_1dof"), **kwargs
    ):
        """Plot Δχ² against the parameter with horizontal lines at ``levels``.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Default: the current axes of pyplot.
        levels : str, float or sequence
            Levels to mark (empty for none).
        **kwargs
            Passed to ``ax.plot`` for the curve.

        Returns
        -------
        matplotlib Axes
        """
        ax = _axes(ax, "Profile1D.plot")
        ax.plot(self.x, self.delta_chi2, **kwargs)
        for k, lv in enumerate(_levels(levels)):
            ax.axhline(level_value(lv), color=f"C{k + 1}", ls="--", lw=1, label=level_label(lv))
        ax.set_xlabel(self.label or self.parameter)
        ax.set_ylabel(r"$\Delta\chi^2$")
        return ax

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python representation (JSON-serialisable; inf stays float('inf'))."""
        return {
            "parameter": self.parameter,
            "label": self.label,
            "x": self.x.tolist(),
            "chi2": self.chi2.tolist(),
            "delta_chi2": self.delta_chi2.tolist(),
            "best": self.best,
            "chi2_min": self.chi2_min,
            "best_at_edge": self.best_at_edge,
            "status": self.status.tolist(),
        }

    @property
    def n_unconverged(self) -> int:
        """Grid points whose χ² the profiler could not converge (status 2)."""
        return int(np.sum(self.status == 2))

    def to_csv(self, path: PathLike) -> None:
        """Write columns ``<parameter>, chi2, delta_chi2`` (and ``status`` if any point is not
        converged: 1 decided above level, 2 unconverged)."""
        extra = bool(np.any(self.status))
        with _csv_file(path) as fh:
            w = csv.writer(fh)
            w.writerow([self.parameter, "chi2", "delta_chi2"] + (["status"] if extra else []))
            for *row, st in zip(self.x, self.chi2, self.delta_chi2, self.status, strict=True):
                w.writerow([repr(float(v)) for v in row] + ([int(st)] if extra else []))

    def _rows(self) -> list[tuple[str, str]]:
        best = _fmt(self.best) + (" (at grid edge)" if self.best_at_edge else "")
        rows = [("best", best), ("χ²_min", _fmt(self.chi2_min))]
        for lv in ("1sigma_1dof", "90cl_1dof"):
            rows.append((level_label(lv), ", ".join(str(p) for p in self.interval(lv))))
        if self.n_unconverged:
            rows.append(("unconverged points", str(self.n_unconverged)))
        return rows

    def __repr__(self) -> str:
        head = (
            f"Profile1D({self.parameter!r}, {self.x.size} points on "
            f"[{_fmt(self.x[0])}, {_fmt(self.x[-1])}])"
        )
        rows = self._rows()
        w = max(len(a) for a, _ in rows)
        return head + "\n" + "\n".join(f"  {a:<{w}}  {b}" for a, b in rows)

    def _repr_html_(self) -> str:
        body = "".join(
            f"<tr><th>{html.escape(a)}</th><td>{html.escape(b)}</td></tr>" for a, b in self._rows()
        )
        cap = html.escape(f"Profile1D {self.parameter} ({self.x.size} points)")
        return f"<table><caption>{cap}</caption>{body}</table>"


#: netCDF engines of :meth:`Scan2D.to_netcdf`: the modules each needs, how to install them, and
#: the alternative named when they are missing.
_NETCDF_ENGINES = {
    "netcdf4": (("netCDF4",), "pip install netCDF4", "engine='scipy' for netCDF3"),
    "h5netcdf": (("h5netcdf", "h5py"), "pip install 'h5netcdf[h5py]'",
                 "the default engine='netcdf4'"),
    "scipy": (("scipy",), "pip install scipy", "the default engine='netcdf4'"),
}


def _netcdf_engine(engine: str | None) -> str:
    """``engine`` checked (``None``: :func:`cevns.scan.store.netcdf_engine`, netCDF4 if installed)."""
    from cevns.scan.store import netcdf_engine

    if engine is None:
        return netcdf_engine()
    if not isinstance(engine, str) or engine not in _NETCDF_ENGINES:
        raise ConfigError(f"engine must be 'netcdf4', 'h5netcdf' or 'scipy', got {engine!r}")
    import importlib.util

    modules, install, other = _NETCDF_ENGINES[engine]
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingDependencyError(
            f"netCDF output with engine={engine!r} needs {' and '.join(missing)}: {install} "
            f"(or use {other})"
        )
    return engine


# -- 2D --------------------------------------------------------------------------------------------


def _quadratic_vertex_2d(x, y, z, i: int, j: int):
    """Vertex of the least-squares quadratic through the 3×3 block around (i, j), or None.

    Fitted on normalised offsets (x − x_i)/h_x, (y − y_j)/h_y and on z divided by its largest
    magnitude (as :func:`_parabola_vertex`): any axis scale, never an overflow or NaN.
    """
    zz = z[i - 1 : i + 2, j - 1 : j + 2]
    if not np.all(np.isfinite(zz)):
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        hx, hy = x[i + 1] - x[i - 1], y[j + 1] - y[j - 1]
        xs, ys = (x[i - 1 : i + 2] - x[i]) / hx, (y[j - 1 : j + 2] - y[j]) / hy
        scale = float(np.max(np.abs(zz))) or 1.0
    if not (math.isfinite(hx) and math.isfinite(hy) and np.all(np.isfinite(xs))
            and np.all(np.isfinite(ys))):
        return None
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    gx, gy, zz = gx.ravel(), gy.ravel(), zz.ravel() / scale
    design = np.column_stack([np.ones(9), gx, gy, gx * gx, gx * gy, gy * gy])
    c0, cx, cy, cxx, cxy, cyy = np.linalg.lstsq(design, zz, rcond=None)[0]
    hess = np.array([[2 * cxx, cxy], [cxy, 2 * cyy]])
    if not (hess[0, 0] > 0 and np.linalg.det(hess) > 0):
        return None
    dx, dy = np.linalg.solve(hess, [-cx, -cy])
    if not (xs[0] <= dx <= xs[2] and ys[0] <= dy <= ys[2]):
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        bx, by, zmin = x[i] + dx * hx, y[j] + dy * hy, (c0 + 0.5 * (cx * dx + cy * dy)) * scale
    if not (math.isfinite(bx) and math.isfinite(by) and math.isfinite(zmin)):
        return None
    return bx, by, min(zmin, z[i, j])


class Scan2D:
    """χ² on a grid of two parameters: contours, 1D profiles and exclusion curves.

    Parameters
    ----------
    x, y : array_like
        Grid axes, strictly increasing, ≥ 2 points each.
    chi2 : array_like
        χ² of shape ``(len(x), len(y))`` (``inf`` allowed, NaN not).
    x_name, y_name : str
        Parameter names (netCDF dimensions), e.g. ``"sin2w"``, ``"Rn_fm"``.
    x_label, y_label : str, optional
        Axis labels for plots.
    refine : bool
        Refine the minimum with a quadratic fit to the 3×3 block around the grid minimum.
    status : array_like of int, optional
        Profiler status per grid point (0 converged, 1 decided above level, 2 unconverged), shape
        of ``chi2``; default all converged. Written to netCDF as the variable ``status``.

    Attributes
    ----------
    x, y, chi2, status : ndarray
        The axes, χ² and status as given: owned read-only copies (writing raises ``ValueError``;
        the caller's arrays stay the caller's).
    best : (float, float)
        Best-fit point (refined); ``chi2_min`` its χ², ``best_at_edge`` as for
        :class:`Profile1D`.
    attrs, variable_attrs : dict
        Metadata carried to :meth:`to_dataset` / :meth:`to_netcdf`: the global attributes and
        the attributes of each variable (by name) of the file read by :meth:`from_netcdf`
        (units, long_name, plot_label, Conventions, title, levels, …); empty otherwise. The
        values computed from the grid (χ²_min, best fit, labels, status flags) take precedence.
    """

    def __init__(
        self,
        x: ArrayLike,
        y: ArrayLike,
        chi2: ArrayLike,
        *,
        x_name: str = "x",
        y_name: str = "y",
        x_label: str | None = None,
        y_label: str | None = None,
        refine: bool = True,
        status: ArrayLike | None = None,
    ):
        self.x = _frozen(_check_axis(x, "x"))
        self.y = _frozen(_check_axis(y, "y"))
        self.chi2 = _frozen(_check_values(chi2, "chi2", (self.x.size, self.y.size)))
        self.status = _frozen(_check_status(status, self.chi2.shape))
        self.x_name = _axis_name(x_name, "x_name")
        self.y_name = _axis_name(y_name, "y_name")
        if self.x_name == self.y_name:
            raise ConfigError(f"x_name and y_name must differ, both are {x_name!r}")
        self.x_label, self.y_label = x_label, y_label
        self.attrs: dict[str, Any] = {}
        self.variable_attrs: dict[str, dict[str, Any]] = {}
        i, j = np.unravel_index(int(np.argmin(self.chi2)), self.chi2.shape)
        self.best_at_edge = i in (0, self.x.size - 1) or j in (0, self.y.size - 1)
        vertex = None
        if refine and not self.best_at_edge:
            vertex = _quadratic_vertex_2d(self.x, self.y, self.chi2, int(i), int(j))
        if vertex is None:
            vertex = (self.x[i], self.y[j], self.chi2[i, j])
        self.best = (float(vertex[0]), float(vertex[1]))
        self.chi2_min = float(vertex[2])

    @property
    def delta_chi2(self) -> NDArray[np.float64]:
        """Δχ² = χ² − χ²_min, shape ``(len(x), len(y))``."""
        return self.chi2 - self.chi2_min

    def _finite_delta(self) -> NDArray[np.float64]:
        return finite_delta(self.delta_chi2)

    def contours(self, level: Level = "90cl_2dof") -> list[NDArray[np.float64]]:
        """Contour lines Δχ² = level as a list of ``(N, 2)`` arrays of (x, y) points.

        Closed lines repeat their first point at the end; lines that run into the grid boundary
        end there (the allowed region is then open on that side).
        """
        import contourpy

        gen = contourpy.contour_generator(
            self.x, self.y, self._finite_delta().T, line_type=contourpy.LineType.Separate
        )
        return [np.asarray(seg, dtype=float) for seg in gen.lines(level_value(level))]

    def profile(self, along: str) -> Profile1D:
        """Profile1D along one axis, minimising χ² over the other on the grid.

        Parameters
        ----------
        along : str
            ``x_name`` or ``y_name`` (or ``"x"`` / ``"y"``).
        """
        if along in (self.x_name, "x"):
            return Profile1D(
                self.x, self.chi2.min(axis=1), parameter=self.x_name, label=self.x_label
            )
        if along in (self.y_name, "y"):
            return Profile1D(
                self.y, self.chi2.min(axis=0), parameter=self.y_name, label=self.y_label
            )
        raise ConfigError(f"along must be {self.x_name!r} or {self.y_name!r}, got {along!r}")

    def exclusion(
        self, level: Level = "90cl_2dof", *, axis: int = 1, log: bool | None = None
    ) -> ExclusionCurve:
        """The exclusion curve of this scan; see :func:`exclusion_curve`."""
        names = (self.x_name, self.y_name) if axis == 1 else (self.y_name, self.x_name)
        return exclusion_curve(
            self.x, self.y, self.delta_chi2, level, axis=axis, log=log, names=names
        )

    def plot(
        self,
        ax=None,
        levels: Level | Iterable[Level] = ("90cl_2dof",),
        *,
        filled: bool = False,
        mark_best: bool = True,
        **kwargs,
    ):
        """Draw the Δχ² contours at ``levels`` (lines, or the allowed regions filled).

        Returns
        -------
        matplotlib Axes
        """
        ax = _axes(ax, "Scan2D.plot")
        values = sorted(level_value(lv) for lv in _levels(levels))
        z = self._finite_delta().T
        if filled:
            kwargs.setdefault("alpha", 0.5)
            ax.contourf(self.x, self.y, z, levels=[float(np.min(z)) - 1.0, *values], **kwargs)
        else:
            ax.contour(self.x, self.y, z, levels=values, **kwargs)
        if mark_best:
            ax.plot(*self.best, marker="*", color="k", ls="none")
        ax.set_xlabel(self.x_label or self.x_name)
        ax.set_ylabel(self.y_label or self.y_name)
        return ax

    @property
    def n_unconverged(self) -> int:
        """Grid points whose χ² the profiler could not converge (status 2)."""
        return int(np.sum(self.status == 2))

    def to_dataset(self):
        """The scan as an :class:`xarray.Dataset` (variables chi2, delta_chi2, status)."""
        import xarray as xr

        dims = (self.x_name, self.y_name)
        ds = xr.Dataset(
            {
                "chi2": (dims, self.chi2),
                "delta_chi2": (dims, self.delta_chi2),
                "status": (dims, self.status, {"flag_values": "0 1 2", "flag_meanings":
                           "converged decided_above_level unconverged"}),
            },
            coords={self.x_name: self.x, self.y_name: self.y},
            attrs={
                "chi2_min": self.chi2_min,
                f"best_{self.x_name}": self.best[0],
                f"best_{self.y_name}": self.best[1],
                "x_label": self.x_label or "",
                "y_label": self.y_label or "",
                "created_by": "cevns.stats.Scan2D",
            },
        )
        # metadata read by from_netcdf: kept, under the values computed here (best-fit
        # coordinates the file marked undetermined stay NaN, cevns.analyses.bestfit)
        ds.attrs = {**self.attrs, **ds.attrs}
        for name in str(self.attrs.get("undetermined") or "").split(","):
            if f"best_{name}" in ds.attrs:
                ds.attrs[f"best_{name}"] = float("nan")
        for name, kept in self.variable_attrs.items():
            if name in ds.variables:
                ds[name].attrs = {**kept, **ds[name].attrs}
        return ds

    def to_netcdf(self, path: PathLike, *, engine: str | None = None) -> None:
        """Write the grid to netCDF; read back with :meth:`from_netcdf`.

        The file is replaced atomically (written in a temporary folder, then through
        :func:`cevns.fsio.atomic_open`, as :meth:`to_csv`); a folder or a missing folder is an
        :class:`~cevns.errors.OutputError` naming ``path``.

        Parameters
        ----------
        path : path-like
        engine : str, optional
            xarray engine: ``"netcdf4"`` (netCDF-4/HDF5 with netCDF4-python, the default),
            ``"h5netcdf"`` (the same format through h5netcdf; needs h5py) or ``"scipy"``
            (netCDF3, needs only SciPy). Default: ``"netcdf4"``, or ``"h5netcdf"`` where netCDF4
            is not installed (:func:`cevns.scan.store.netcdf_engine`).
        """
        import tempfile
        from pathlib import Path

        from cevns import fsio
        from cevns.errors import OutputError
        from cevns.scan.store import write_netcdf

        check_path_argument(path, "to_netcdf: path")
        engine = _netcdf_engine(engine)
        if Path(path).is_dir():
            raise OutputError(f"cannot write {os.fspath(path)}: it is a folder; give a file name")
        ds = self.to_dataset()
        with tempfile.TemporaryDirectory(prefix="cevns-scan2d-") as tmp:
            scratch = Path(tmp) / "scan.nc"
            write_netcdf(ds, scratch, engine)
            with fsio.atomic_open(path, "wb") as fh:
                fh.write(scratch.read_bytes())

    @classmethod
    def from_netcdf(cls, path: PathLike, *, engine: str | None = None) -> Scan2D:
        """Read a scan written by :meth:`to_netcdf` (``engine`` as there; netCDF-4 files written
        by either netCDF-4 engine read with both).

        Raises
        ------
        DataError
            Naming the path and what is wrong: an empty path (it would mean the working folder),
            a missing file, a folder, a file that is not netCDF, or a netCDF file that is not a
            scan of two parameters (no variable ``chi2``, ``chi2`` not two-dimensional, an axis
            without numeric coordinate values, values the constructor refuses).
        ConfigError
            If `path` is not a path, or `engine` is unknown.
        """
        import xarray as xr

        from cevns.errors import DataError

        if not isinstance(path, str | os.PathLike):
            raise ConfigError(f"path must be a file path (str or pathlib.Path), got "
                              f"{type(path).__name__} {path!r}")
        engine = _netcdf_engine(engine)
        where = os.fspath(path)
        if not str(where).strip():
            raise DataError(f"Scan2D.from_netcdf: the path {where!r} is empty (it would mean the "
                            "working folder); give the netCDF file written by Scan2D.to_netcdf")
        if not os.path.exists(where):
            raise DataError(f"{where}: no such file")
        if os.path.isdir(where):
            raise DataError(f"{where}: is a folder, not a netCDF file")
        try:
            ds = xr.open_dataset(where, engine=engine)
        except Exception as exc:  # netCDF-C, HDF5 and xarray word "not netCDF" in many ways
            raise DataError(f"{where}: not a readable netCDF file ({type(exc).__name__}: "
                            f"{' '.join(str(exc).split())})") from None
        with ds:
            if "chi2" not in ds.data_vars:
                found = ", ".join(map(str, ds.data_vars)) or "none"
                raise DataError(f"{where}: no variable 'chi2' (variables: {found}); not a scan "
                                "written by Scan2D.to_netcdf")
            dims = tuple(map(str, ds["chi2"].dims))
            if len(dims) != 2:
                raise DataError(f"{where}: 'chi2' has {len(dims)} dimension(s) {list(dims)}; a "
                                "Scan2D is a grid of two parameters (x, y)")
            axes = []
            for dim in dims:
                if dim not in ds.variables:
                    raise DataError(f"{where}: the dimension {dim!r} of 'chi2' has no coordinate "
                                    "values")
                values = ds[dim].values
                if values.dtype.kind not in "iuf":
                    shown = ", ".join(repr(v.decode(errors="replace") if isinstance(v, bytes)
                                           else v) for v in values[:3].tolist())
                    raise DataError(
                        f"{where}: the dimension {dim!r} of 'chi2' holds values that are not "
                        f"numbers ({shown}{', …' if values.size > 3 else ''}); not a scan of two "
                        "parameters written by Scan2D.to_netcdf")
                axes.append(values)
            try:
                scan = cls(
                    axes[0],
                    axes[1],
                    ds["chi2"].values,
                    x_name=dims[0],
                    y_name=dims[1],  # an empty label attr: the axis's CF plot_label
                    x_label=ds.attrs.get("x_label") or ds[dims[0]].attrs.get("plot_label") or None,
                    y_label=ds.attrs.get("y_label") or ds[dims[1]].attrs.get("plot_label") or None,
                    status=ds["status"].values if "status" in ds else None,
                )
                scan.attrs = dict(ds.attrs)
                scan.variable_attrs = {str(k): dict(v.attrs) for k, v in ds.variables.items()}
                return scan
            except ConfigError as exc:
                raise DataError(f"{where}: {exc}") from None
            except (OSError, RuntimeError) as exc:  # the file is truncated where data are read
                raise DataError(f"{where}: unreadable ({' '.join(str(exc).split())})") from None

    def to_csv(
        self,
        path: PathLike,
        levels: Level | Iterable[Level] = ("90cl_2dof",),
        *,
        columns: Sequence[str] = ("x", "y"),
    ) -> None:
        """Write the contour lines: columns ``x, y, segment, level`` (names of x, y settable).

        ``segment`` numbers the lines of one level from 0; ``level`` is the Δχ² value.
        """
        if len(columns) != 2:
            raise ConfigError(f"columns must name the x and y columns, got {columns!r}")
        with _csv_file(path) as fh:
            w = csv.writer(fh)
            w.writerow([*columns, "segment", "level"])
            for lv in _levels(levels):
                value = level_value(lv)
                for k, seg in enumerate(self.contours(lv)):
                    for px, py in seg:
                        w.writerow([repr(float(px)), repr(float(py)), k, repr(value)])

    def _rows(self) -> list[tuple[str, str]]:
        best = f"{self.x_name} = {_fmt(self.best[0])}, {self.y_name} = {_fmt(self.best[1])}"
        rows = [
            ("grid", f"{self.x.size} × {self.y.size}"),
            ("best", best + (" (at grid edge)" if self.best_at_edge else "")),
            ("χ²_min", _fmt(self.chi2_min)),
        ]
        for lv in ("1sigma_2dof", "90cl_2dof"):
            rows.append((level_label(lv), f"{len(self.contours(lv))} contour line(s)"))
        if self.n_unconverged:
            rows.append(("unconverged points", str(self.n_unconverged)))
        return rows

    def __repr__(self) -> str:
        rows = self._rows()
        w = max(len(a) for a, _ in rows)
        head = f"Scan2D({self.x_name!r}, {self.y_name!r})"
        return head + "\n" + "\n".join(f"  {a:<{w}}  {b}" for a, b in rows)

    def _repr_html_(self) -> str:
        body = "".join(
            f"<tr><th>{html.escape(a)}</th><td>{html.escape(b)}</td></tr>" for a, b in self._rows()
        )
        cap = html.escape(f"Scan2D {self.x_name} × {self.y_name}")
        return f"<table><caption>{cap}</caption>{body}</table>"


# -- exclusion curves ------------------------------------------------------------------------------


def finite_delta(delta: ArrayLike) -> NDArray[np.float64]:
    """Δχ² with its non-finite cells (unphysical corners, ``inf`` or ``NaN``) set to 1000 times the
    largest finite value (at least 1000), far above every contour level, for contouring.

    A grid with no finite cell becomes 1000 everywhere: nothing is excluded below that level.
    """
    if is_text(delta):
        raise ConfigError(f"finite_delta: delta must be an array of numbers, got {delta!r}")
    not_real_numbers(delta, "finite_delta: delta", "an array of numbers")
    try:
        d = np.asarray(delta, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError(f"finite_delta: delta must be an array of numbers, got "
                          f"{type(delta).__name__} {delta!r}") from None
    ok = np.isfinite(d)
    big = max(float(d[ok].max()) if ok.any() else 1.0, 1.0) * 1e3
    return np.where(ok, d, big)


def _is_log_spaced(values: NDArray[np.float64]) -> bool:
    """Positive with a constant ratio of neighbours (≥ 3 points, ratio ≠ 1)."""
    if values.size < 3 or not np.all(values > 0):
        return False
    ratio = values[1:] / values[:-1]
    return bool(np.allclose(ratio, ratio[0], rtol=1e-6, atol=0) and not np.isclose(ratio[0], 1.0))


@dataclass(frozen=True, eq=False)
class ExclusionCurve:
    """Smallest excluded coupling at each mass (or, generally, at each value of the other axis).

    Attributes
    ----------
    mass : ndarray
        Values of the axis that is *not* scanned (masses).
    limit : ndarray
        First coupling, scanning upward, where Δχ² reaches the level (interpolated). Where
        ``found`` is False: the grid's largest coupling if Δχ² never reaches the level, the
        smallest if it is already above the level there (see ``below_grid``). Never NaN.
    found : ndarray of bool
        A crossing was found inside the coupling grid.
    below_grid : ndarray of bool
        Δχ² ≥ level already at the smallest coupling: the limit is below the grid.
    level : float
        The Δχ² level.
    log : bool
        Whether the coupling axis was treated as log-spaced (log–log interpolation).
    names : tuple of str
        Column names (mass, coupling) for :meth:`to_csv` and plots.
    reliable : ndarray of bool
        The limit at that mass rests only on converged χ² values: the two grid points that
        bracket the crossing (or, without a crossing, every point of the row) have status 0 or
        1 (see :attr:`cevns.stats.ProfileResult.status`). All True when no status was given.
    """

    mass: NDArray[np.float64]
    limit: NDArray[np.float64]
    found: NDArray[np.bool_]
    below_grid: NDArray[np.bool_]
    level: float
    log: bool
    names: tuple[str, str] = ("mass", "coupling")
    reliable: NDArray[np.bool_] | None = None

    def __post_init__(self) -> None:
        if self.reliable is None:
            object.__setattr__(self, "reliable", np.ones(self.mass.shape, dtype=bool))

    def to_csv(
        self, path: PathLike, *, columns: Sequence[str] | None = None, include_missing: bool = False
    ) -> None:
        """Write the curve.

        Parameters
        ----------
        path : path-like
        columns : (str, str), optional
            Column names, e.g. ``("mass_MeV", "coupling")``; default :attr:`names`.
        include_missing : bool
            Also write the masses without a crossing, with an extra column ``found`` (0/1).
        """
        cols = tuple(columns) if columns is not None else self.names
        if len(cols) != 2:
            raise ConfigError(f"columns must name the mass and coupling columns, got {columns!r}")
        with _csv_file(path) as fh:
            w = csv.writer(fh)
            w.writerow([*cols, "found"] if include_missing else list(cols))
            for m, g, ok in zip(self.mass, self.limit, self.found, strict=True):
                if include_missing:
                    w.writerow([repr(float(m)), repr(float(g)), int(ok)])
                elif ok:
                    w.writerow([repr(float(m)), repr(float(g))])

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python representation."""
        return {
            "names": list(self.names),
            "mass": self.mass.tolist(),
            "limit": self.limit.tolist(),
            "found": self.found.tolist(),
            "below_grid": self.below_grid.tolist(),
            "level": self.level,
            "log": self.log,
            "reliable": self.reliable.tolist(),
        }

    def plot(self, ax=None, **kwargs):
        """Plot the limit at the masses where it was found (log axes if the grid was log)."""
        ax = _axes(ax, "ExclusionCurve.plot")
        ax.plot(self.mass[self.found], self.limit[self.found], **kwargs)
        if self.log:
            ax.set_yscale("log")
        ax.set_xlabel(self.names[0])
        ax.set_ylabel(self.names[1])
        return ax

    def __repr__(self) -> str:
        n_found = int(self.found.sum())
        lines = [
            f"ExclusionCurve({self.names[1]!r} vs {self.names[0]!r}, Δχ² = {self.level:.4g}, "
            f"{'log' if self.log else 'linear'} interpolation)",
            f"  crossing found at {n_found} / {self.mass.size} {self.names[0]} values"
            + (f"; {int(self.below_grid.sum())} below the grid" if self.below_grid.any() else "")
            + (f"; {int((~self.reliable).sum())} resting on unconverged χ²"
               if not self.reliable.all() else ""),
        ]
        if n_found:
            g = self.limit[self.found]
            lines.append(f"  limit range {_fmt(g.min())} … {_fmt(g.max())}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(repr(self)) + "</pre>"


def exclusion_curve(
    x: ArrayLike,
    y: ArrayLike,
    delta_chi2: ArrayLike,
    level: Level = "90cl_2dof",
    *,
    axis: int = 1,
    log: bool | None = None,
    names: Sequence[str] = ("mass", "coupling"),
    status: ArrayLike | None = None,
) -> ExclusionCurve:
    """Exclusion curve in a (mass, coupling) plane.

    For each value of the non-scanned axis, scan the coupling upward from its smallest grid value
    and return the first coupling where Δχ² reaches ``level``, interpolated between the two grid
    points that bracket the crossing.

    Parameters
    ----------
    x, y : array_like
        Grid axes, strictly increasing. ``delta_chi2`` has shape ``(len(x), len(y))``.
    delta_chi2 : array_like
        Δχ² on the grid (``inf`` allowed, NaN not).
    level : str or float
        Preset name or Δχ² value; default 90 % C.L. for 2 dof (4.61, docs/physics.md#likelihood). For a raster
        scan (one dof per mass) use ``"90cl_1dof"`` (2.71).
    axis : {0, 1}
        Axis of ``delta_chi2`` along which the coupling runs: 1 (default) means ``y`` is the
        coupling and the curve is a function of ``x``; 0 the other way round.
    log : bool, optional
        Treat the coupling axis as log-spaced: interpolate log Δχ² against log coupling (exact for
        a power law Δχ² ∝ g^k). Default: detected (positive with a constant ratio of neighbours);
        otherwise Δχ² is interpolated linearly in the coupling.
    names : (str, str)
        Names of the (mass, coupling) columns, in that order.
    status : array_like of int, optional
        Profiler status per grid point, shape of ``delta_chi2`` (0 converged, 1 decided above
        level, 2 unconverged); sets :attr:`ExclusionCurve.reliable`.

    Returns
    -------
    ExclusionCurve
    """
    xs, ys = _check_axis(x, "x"), _check_axis(y, "y")
    d = _check_values(delta_chi2, "delta_chi2", (xs.size, ys.size))
    if is_bool(axis) or not isinstance(axis, (int, np.integer)) or axis not in (0, 1):
        raise ConfigError(f"axis must be 0 or 1, got {axis!r}")
    if log is not None and not is_bool(log, scalar_only=True):
        raise ConfigError(f"log must be true, false or None (detect), got {log!r}")
    names = tuple(names)
    if len(names) != 2:
        raise ConfigError(f"names must be (mass, coupling), got {names!r}")
    lv = level_value(level)
    mass, coupling = (xs, ys) if axis == 1 else (ys, xs)
    d = d if axis == 1 else d.T  # rows: masses, columns: couplings
    st = _check_status(status, (xs.size, ys.size))
    bad = (st if axis == 1 else st.T) == 2
    use_log = _is_log_spaced(coupling) if log is None else bool(log)
    if use_log and not np.all(coupling > 0):
        raise ConfigError("log=True needs a positive coupling axis")
    above = d >= lv
    found_any = above.any(axis=1)
    first = np.argmax(above, axis=1)  # first index at or above the level (0 if none)
    below_grid = found_any & (first == 0)
    found = found_any & (first > 0)
    limit = np.where(below_grid, coupling[0], coupling[-1]).astype(float)
    rows = np.flatnonzero(found)
    j = first[rows]
    g0, g1 = coupling[j - 1], coupling[j]
    d0, d1 = d[rows, j - 1], d[rows, j]
    with np.errstate(divide="ignore", invalid="ignore"):
        if use_log:
            loglog = (d0 > 0) & np.isfinite(d1)
            u0, u1 = np.log(g0), np.log(g1)
            v0 = np.where(loglog, np.log(np.where(d0 > 0, d0, 1.0)), d0)
            v1 = np.where(loglog, np.log(np.where(np.isfinite(d1), d1, 1.0)), d1)
            target = np.where(loglog, math.log(lv), lv)
            frac = np.where(np.isfinite(v1), (target - v0) / (v1 - v0), 1.0)
            frac = np.clip(np.nan_to_num(frac, nan=1.0), 0.0, 1.0)
            limit[rows] = np.exp(u0 + frac * (u1 - u0))
        else:
            frac = np.where(np.isfinite(d1), (lv - d0) / (d1 - d0), 1.0)
            frac = np.clip(np.nan_to_num(frac, nan=1.0), 0.0, 1.0)
            limit[rows] = g0 + frac * (g1 - g0)
    reliable = ~bad.any(axis=1)
    reliable[rows] = ~(bad[rows, j - 1] | bad[rows, j])
    reliable[below_grid] = ~bad[below_grid, 0]
    return ExclusionCurve(mass.copy(), limit, found, below_grid, lv, use_log, names,  # type: ignore[arg-type]
                          reliable)
