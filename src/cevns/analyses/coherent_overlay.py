"""The ``"coherent"`` overlay: today's COHERENT limit, computed by this package, on ESS figures.

An exclusion item that lists ``overlays = ["coherent"]`` gets, in every panel, the contour at the
item's own level of the combined COHERENT CsI-2021 + LAr-2020 Δχ²
(:func:`cevns.fits.combined.combined_grid`: the releases' likelihoods, a shared 10 % SNS flux
nuisance) for the same scenario, options, fixed and tied parameters as the panel's variant.

Speed: the Δχ² is computed on a coarser grid than the item's — at most
:data:`GRID_POINTS` ``[quick]`` points per axis, log-spaced where the item's axis is — and
interpolated onto the item's grid (:func:`interpolate_delta`: monotone cubic in log(Δχ² + 0.1)
along the coupling, linear in log(1 + Δχ²) along the mass, following the limit curve between
coarse masses so that the contact limit g ∝ m is a straight line and not a ripple; the
precision of that step: docs/coherent_fits.md, *Precision*). Measured against the profiled χ²
evaluated directly at the item's own couplings (same Δχ² minimum; twelve panels of Figs. 7 and
10–14, every seventh mass of the item), the coupling where the contour crosses a mass is within
0.6–9.3 % (median over a panel's masses; 5–15 % at the worst mass, at bends and next to a
kinematic wall) at full resolution (16 couplings over six decades, a factor 2.4 per step), where
linear interpolation in log(1 + Δχ²) gave 1–21 % (7–21 %). On ``--quick`` grids (8 × 10, which
``cevns reproduce --quick`` does not draw) the medians are 1–15 % (1–23 % before) but the worst
masses up to 67 % (44 % before): a preview, not a limit (docs/coherent_fits.md). The ESS
curves are computed on the item's full grid. With the
collaboration-style likelihoods (free steady-state rates per PE bin, HistFactory shape nuisances in
both releases) one panel costs 0.5–1 s of CPU at full resolution (14 × 16 points; the release
profiles share their interpolation rows and start from the neighbouring flux value's nuisances,
:mod:`cevns.fits.combined`), of which up to 0.4 s is the scenario's signal on the grid.

Where the physics ends inside the grid — the kinematic end point of a sterile lepton (dipole
portal, up-scattering), m₄ ≈ 52.8 MeV for the releases' CsI and Ar at the π-DAR end point — the
coarse grid and the overlay's own x grid both get points at 0.2 % and 2 % on either side of it
(:data:`EDGE_OFFSETS`, :func:`cevns.analyses.edges.refine_axis_values`), and the coarse grid three
more at 5 %, 10 % and 30 % below it, where the limit rises steeply (:data:`RISE_OFFSETS`; the
5 % point came with :func:`interpolate_delta`; the last masses before Fig. 10's wall are within
7 % and 14 %).
Interpolating across a coarse step that straddles the end point would otherwise draw the wall
anywhere up to a step (a factor of two in m_X on the Fig. 11 grid) beyond it; with them the wall
sits within 0.2 %.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from cevns.analyses.overlays import Overlay, OverlayRequest, register_overlay
from cevns.errors import ConfigError

__all__ = ["EDGE_OFFSETS", "GRID_POINTS", "LABEL", "PROFILE_TOL", "RISE_OFFSETS", "SOURCE",
           "STOP_LEVEL", "Y_OFFSET", "coherent_overlay", "interpolate_delta", "overlay_grids"]

#: Points per axis of the overlay's own grid: (x, y) for full runs and for quick previews.
GRID_POINTS: dict[bool, tuple[int, int]] = {False: (14, 16), True: (8, 10)}

#: Δχ² above which the combined profile may stop early (twice the item's level if that is higher):
#: far inside the excluded region χ² can have several minima in the shared flux and a profile
#: may stall there (one point of 1100 on a fine Fig. 10 grid, Δχ² ≈ 200); such values only need
#: to be known to lie above every contour drawn.
STOP_LEVEL = 25.0

#: Convergence of the combined profiles (Newton estimate of χ² − χ²_min): 10⁻⁵ instead of the
#: fits' 10⁻⁸ saves 15 % of an overlay's profiling and moves its χ² by < 10⁻¹² below Δχ² = 25
#: (measured on Figs. 7, 10, 12, 14; the last Newton step converges quadratically).
PROFILE_TOL = 1e-5

#: Relative offsets of the points added on either side of a kinematic end point inside the grid
#: (to the coarse grid and to the overlay's own x grid).
EDGE_OFFSETS = (2e-3, 2e-2)
#: Relative offsets of the points added below an end point to the coarse grid only: the limit
#: rises steeply over the last tens of per cent before the end point.
RISE_OFFSETS = (0.05, 0.1, 0.3)

#: Offset c of the coupling-axis interpolation in log(Δχ² + c) (:func:`interpolate_delta`).
Y_OFFSET = 0.1

LABEL = "COHERENT CsI+LAr CEvNS (this work)"
SOURCE = ("combined fit of the CsI-2021 and LAr-2020 releases computed by cevns "
          "(cevns.fits.combined; shared 10 % flux nuisance; docs/coherent_fits.md)")


def _is_log(values: NDArray[np.float64]) -> bool:
    if values.size < 3 or np.any(values <= 0):
        return False
    ratios = values[1:] / values[:-1]
    return bool(np.allclose(ratios, ratios[0], rtol=1e-6)) and not np.allclose(ratios, 1.0)


def _coarse(values: NDArray[np.float64], n: int, log: bool) -> NDArray[np.float64]:
    if values.size <= n:
        return values
    if log:
        return np.geomspace(values[0], values[-1], n)
    return np.linspace(values[0], values[-1], n)


def overlay_grids(request: OverlayRequest) -> tuple[NDArray[np.float64], NDArray[np.float64],
                                                   NDArray[np.float64], NDArray[np.float64]]:
    """(xs, ys, x, y): the coarse grid the combined Δχ² is computed on and the overlay's own grid
    it is interpolated onto (the item's grid, plus the points around kinematic end points)."""
    from cevns.analyses.edges import exclusion_edges_x, refine_axis_values
    from cevns.fits.combined import DEFAULT_RELEASES, packaged_model

    x = np.asarray(request.x, dtype=float)
    y = np.asarray(request.y, dtype=float)
    if x.size < 2 or y.size < 2:
        raise ConfigError("the coherent overlay needs at least two grid points per axis")
    nx, ny = GRID_POINTS[bool(request.quick)]
    xs, ys = _coarse(x, nx, _is_log(x)), _coarse(y, ny, _is_log(y))
    edges = exclusion_edges_x(request.analysis, request.variant,
                              [packaged_model(r).detector for r in DEFAULT_RELEASES])
    if edges:  # the same points in both grids: the wall is placed between them, not a step away
        xs = refine_axis_values(xs, edges, EDGE_OFFSETS)
        rise = [e * (1.0 - d) for e in edges for d in RISE_OFFSETS]
        xs = np.union1d(xs, [v for v in rise if xs[0] < v < xs[-1]])
        x = refine_axis_values(x, edges, EDGE_OFFSETS)
    return xs, ys, x, y


def _first_crossings(columns: NDArray[np.float64], at_y: NDArray[np.float64],
                     level: float) -> NDArray[np.float64]:
    """Per coarse column, the (transformed) coupling where Δχ² first reaches ``level`` going up
    the coupling axis (linear between the points ``at_y``); NaN where it never does or already
    does at the first point."""
    above = columns >= level
    first = np.argmax(above, axis=1)
    out = np.full(columns.shape[0], np.nan)
    ok = above.any(axis=1) & (first > 0)
    i = np.flatnonzero(ok)
    k = first[ok]
    lo, hi = columns[i, k - 1], columns[i, k]
    out[i] = at_y[k - 1] + (level - lo) / (hi - lo) * (at_y[k] - at_y[k - 1])
    return out


def _limit_curve(tx, crossing, at_x, j, curve: str):
    """The (transformed) coupling of the limit curve at the item's masses ``at_x`` (in coarse
    interval ``j``), or NaN where either neighbouring column never reaches the level: through
    the coarse crossings, as a chord per interval (``curve="chord"``) or a monotone cubic (pchip)
    over each run of columns that reach it (``"pchip"``: no bend at the coarse masses; the same
    chord where a run holds two columns)."""
    from scipy.interpolate import PchipInterpolator

    out = np.full(at_x.shape, np.nan)
    ok = np.isfinite(crossing)
    start = 0
    while start < ok.size:  # runs of consecutive columns whose Δχ² reaches the level
        if not ok[start]:
            start += 1
            continue
        end = start
        while end + 1 < ok.size and ok[end + 1]:
            end += 1
        if end > start:
            inside = (j >= start) & (j < end)
            nodes = slice(start, end + 1)
            if curve == "pchip" and end - start >= 2:
                out[inside] = PchipInterpolator(tx[nodes], crossing[nodes])(at_x[inside])
            else:
                out[inside] = np.interp(at_x[inside], tx[nodes], crossing[nodes])
        start = end + 1
    return out


def interpolate_delta(xs: NDArray[np.float64], ys: NDArray[np.float64],
                      delta: NDArray[np.float64], x: NDArray[np.float64], y: NDArray[np.float64],
                      log_x: bool, log_y: bool, level: float | None = None,
                      curve: str = "pchip") -> NDArray[np.float64]:
    """Δχ² of the coarse grid ``xs × ys`` (shape (len(xs), len(ys))) on the grid ``x × y``.

    First along the coupling axis y, column by column: monotone cubic (pchip) in
    log(Δχ² + :data:`Y_OFFSET`) against log y (y itself on a linear axis). Far from the SM a
    coupling's Δχ² grows as a power of it, a straight line in these variables, and the offset
    keeps the logarithm finite at Δχ² = 0; pchip never overshoots, so Δχ² stays ≥ 0. Then along
    the mass axis x: linear in log(1 + Δχ²) against log x. Values outside the coarse grid are
    those at its edge.

    With ``level`` (the Δχ² of the contour that will be drawn) the mass interpolation runs along
    the limit curve instead of at fixed coupling. The curve G(m) passes through the crossings
    g*_j of the coarse columns that reach ``level`` (log or linear as the axes are): a monotone
    cubic (pchip) over each run of such columns (``curve="pchip"``, the default: no bend at the
    coarse masses), or the chord between neighbouring crossings (``curve="chord"``). Between
    coarse masses m_j and m_{j+1}, the value at (m, g) is interpolated between column j at g
    shifted by g*_j − G(m) and column j+1 at g shifted by g*_{j+1} − G(m), so that the drawn
    contour is G itself. A heavy mediator's Δχ² depends on g/m only and a light one's on g only:
    along these lines it is constant, so the interpolation is exact in both limits, where at
    fixed coupling it made the curve g ∝ m of the contact limit ripple between coarse masses
    (local log-log slope 0.4–2.4 on Fig. 7 before). Where a neighbouring column never reaches
    ``level`` the shift is 0 (a wall, or no exclusion).

    Measured against the χ² profiled directly at the item's couplings (docs/coherent_fits.md,
    *Precision*).
    """
    from scipy.interpolate import PchipInterpolator  # here: the driver imports this module

    for name, flag in (("log_x", log_x), ("log_y", log_y)):
        if not isinstance(flag, (bool, np.bool_)):
            raise ConfigError(f"interpolate_delta: {name} = {flag!r}; expected true or false")
    if curve not in ("pchip", "chord"):
        raise ConfigError(f"interpolate_delta: curve = {curve!r}; expected 'pchip' or 'chord'")
    try:
        xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
        d = np.maximum(np.asarray(delta, dtype=float), 0.0)
    except (TypeError, ValueError):
        raise ConfigError("interpolate_delta: xs, ys and delta must be arrays of numbers") \
            from None
    for name, axis in (("xs", xs), ("ys", ys)):
        if axis.ndim != 1 or axis.size < 2 or not np.all(np.diff(axis) > 0) \
                or ((log_x if name == "xs" else log_y) and axis[0] <= 0):
            raise ConfigError(f"interpolate_delta: {name} must hold at least two increasing "
                              "values (positive on a log axis)")
    if d.shape != (xs.size, ys.size) or np.isnan(d).any():
        raise ConfigError(f"interpolate_delta: delta must be a number everywhere, with shape "
                          f"({xs.size}, {ys.size}); got shape {d.shape}")
    targets = []
    for name, axis, logarithmic in (("x", x, log_x), ("y", y, log_y)):
        try:
            values = np.asarray(axis, dtype=float)
        except (TypeError, ValueError):
            values = None
        if values is None or values.ndim != 1 or values.size == 0 \
                or not np.all(np.isfinite(values)) or (logarithmic and np.any(values <= 0)):
            raise ConfigError(f"interpolate_delta: {name} must be a non-empty 1-D array of finite "
                              f"numbers{' above 0 (a log axis)' if logarithmic else ''}")
        targets.append(values)
    x, y = targets
    if level is not None:
        if isinstance(level, bool) or not isinstance(level, (int, float, np.floating,
                                                             np.integer)):
            raise ConfigError(f"interpolate_delta: level = {level!r}; expected a number")
        level = float(level)
        if not np.isfinite(level) or level <= 0:
            raise ConfigError(f"interpolate_delta: level = {level!r}; expected a finite Δχ² "
                              "above 0 (the contour to be drawn)")
    d = np.minimum(d, 1e300)  # +inf (no prediction where data are): far above every level
    fx = np.log if log_x else (lambda v: v)
    fy = np.log if log_y else (lambda v: v)
    ty = fy(ys)
    at_y = np.clip(fy(np.asarray(y, dtype=float)), ty[0], ty[-1])
    along_y = PchipInterpolator(ty, np.log(d + Y_OFFSET), axis=1)
    columns = np.exp(along_y(at_y)) - Y_OFFSET
    tx = fx(xs)
    at_x = np.clip(fx(np.asarray(x, dtype=float)), tx[0], tx[-1])
    j = np.clip(np.searchsorted(tx, at_x, side="right") - 1, 0, tx.size - 2)
    w = ((at_x - tx[j]) / (tx[j + 1] - tx[j]))[:, None]
    if level is None:
        lifted = np.log1p(np.maximum(columns, 0.0))
        return np.expm1((1.0 - w) * lifted[j] + w * lifted[j + 1])
    crossing = _first_crossings(columns, at_y, level)
    limit = _limit_curve(tx, crossing, at_x, j, curve)
    # one interpolant per coarse column: a row of the item needs its two neighbouring columns
    column = [PchipInterpolator(ty, np.log(d[c] + Y_OFFSET)) for c in range(xs.size)]
    out = np.empty((at_x.size, at_y.size))
    for k in range(at_x.size):  # the item's masses: a few hundred rows of len(y)
        jk = j[k]
        # each column shifted along the coupling so that its crossing meets the limit curve at
        # this mass (no shift where a neighbouring column never reaches the level)
        shift_lo = limit[k] - crossing[jk] if np.isfinite(limit[k]) else 0.0
        shift_hi = crossing[jk + 1] - limit[k] if np.isfinite(limit[k]) else 0.0
        below = np.clip(at_y - shift_lo, ty[0], ty[-1])
        above = np.clip(at_y + shift_hi, ty[0], ty[-1])
        lo = np.log1p(np.maximum(np.exp(column[jk](below)) - Y_OFFSET, 0.0))
        hi = np.log1p(np.maximum(np.exp(column[jk + 1](above)) - Y_OFFSET, 0.0))
        out[k] = np.expm1((1.0 - w[k, 0]) * lo + w[k, 0] * hi)
    return out


def coherent_overlay(request: OverlayRequest) -> list[Overlay]:
    """The combined COHERENT Δχ² on the item's (x, y) grid, for the panel's variant."""
    from cevns.fits.combined import combined_grid
    from cevns.stats import level_value

    an = request.analysis
    variant = request.variant
    options = {**an.scenario.options, **(variant.options if variant else {})}
    fixed = {**an.fixed, **(variant.fixed if variant else {})}
    ties = {**an.ties, **(variant.ties if variant else {})}
    log_x, log_y = _is_log(np.asarray(request.x, dtype=float)), _is_log(np.asarray(request.y,
                                                                                   dtype=float))
    xs, ys, x, y = overlay_grids(request)
    delta = combined_grid(
        an.scenario.name, an.x.parameter, xs, an.y.parameter, ys, options=options, fixed=fixed,
        ties={name: (tie.to, tie.ratio) for name, tie in ties.items()},
        level=max(STOP_LEVEL, 2.0 * level_value(an.level)), tol=PROFILE_TOL)
    if not (np.array_equal(xs, x) and np.array_equal(ys, y)):
        delta = interpolate_delta(xs, ys, delta, x, y, log_x, log_y,
                                  level=level_value(an.level))
    return [Overlay(label=LABEL, source=SOURCE, x=x, y=y, delta_chi2=delta,
                    style={"color": "0.25", "linestyle": "--", "linewidth": 1.4})]


register_overlay("coherent", coherent_overlay, in_quick=False)  # full fits: not in previews
