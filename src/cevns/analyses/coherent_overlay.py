"""The ``"coherent"`` overlay: today's COHERENT limit, computed by this package, on ESS figures.

An exclusion item that lists ``overlays = ["coherent"]`` gets, in every panel, the contour at the
item's own level of the combined COHERENT CsI-2021 + LAr-2020 Δχ²
(:func:`cevns.fits.combined.combined_grid`: the releases' likelihoods, a shared 10 % SNS flux
nuisance) for the same scenario, options, fixed and tied parameters as the panel's variant.

Speed: the Δχ² is computed on a coarser grid than the item's — at most
:data:`GRID_POINTS` ``[quick]`` points per axis, log-spaced where the item's axis is — and
interpolated onto the item's grid (:func:`interpolate_delta`: monotone cubic in log(Δχ² + 0.1)
along the coupling, linear in log(1 + Δχ²) along the mass, following the limit curve between
coarse masses so that the contact limit g ∝ m is a straight line and not a ripple). Where the
contour is drawn the Δχ² is not interpolated but computed: at every coarse mass,
:func:`refine_crossings` evaluates the combined χ² at the item's own couplings on either side of
the crossing (one or two calls of :func:`cevns.fits.combined.combined_chi2` with the points as
pairs), and those values join the column's interpolation. Measured against the profiled χ²
evaluated directly at the item's couplings (same Δχ² minimum; twelve panels of Figs. 7 and
10–14, 10–15 masses each; docs/coherent_fits.md, *Precision*), the coupling where the contour
crosses a mass is within 0.0–0.1 % (median over a panel's masses) and 0.4–4.1 % at the worst
mass (between coarse masses; the largest next to a kinematic wall); from the coarse grid alone
(16 couplings before) the medians were 0.7–9.4 %. The coarse couplings reach one coarse step
above the item's top (where the scenario allows it), so that a curve leaving the frame is not
bent at its edge by the missing crossings of the next coarse masses. With the
collaboration-style likelihoods (free steady-state rates per PE bin, HistFactory shape nuisances in
both releases) one panel costs 0.6–1.3 s of CPU at full resolution (14 × 12 points plus 20–60
refining points; the release profiles share their interpolation rows and start from the
neighbouring flux value's nuisances, :mod:`cevns.fits.combined`), of which up to 0.4 s is the
scenario's signal on the grid (`benchmarks/bench_overlay_panels.py`: 0.65–1.25 s per panel).

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

import math
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from cevns.analyses.overlays import Overlay, OverlayRequest, register_overlay
from cevns.errors import ConfigError, is_text, not_real_numbers

__all__ = ["EDGE_OFFSETS", "GRID_POINTS", "LABEL", "MAX_REFINE_ROUNDS", "PROFILE_TOL",
           "REFINE_ROUNDS", "RISE_OFFSETS", "SOURCE", "STOP_LEVEL", "Y_OFFSET",
           "coherent_overlay", "interpolate_delta", "overlay_grids", "refine_crossings"]

#: Points per axis of the overlay's own grid: (x, y) for full runs and for quick previews.
GRID_POINTS: dict[bool, tuple[int, int]] = {False: (14, 11), True: (8, 10)}

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

#: Most rounds of :func:`refine_crossings` (one combined-χ² call each; the overlay asks for the
#: item's couplings next to each coarse mass's crossing, so the second round runs only where the
#: first estimate was off by more than a step of the item's coupling axis).
REFINE_ROUNDS = 2
#: The most rounds :func:`refine_crossings` accepts.
MAX_REFINE_ROUNDS = 50

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
    """(xs, ys, x, y): the coarse grid the combined Δχ² is computed on (its couplings reaching
    one coarse step above the item's, where the scenario allows) and the overlay's own grid it
    is interpolated onto (the item's grid, plus the points around kinematic end points)."""
    from cevns.analyses.edges import exclusion_edges_x, refine_axis_values
    from cevns.fits.combined import DEFAULT_RELEASES, packaged_model

    x = np.asarray(request.x, dtype=float)
    y = np.asarray(request.y, dtype=float)
    if x.size < 2 or y.size < 2:
        raise ConfigError("the coherent overlay needs at least two grid points per axis")
    nx, ny = GRID_POINTS[bool(request.quick)]
    xs, ys = _coarse(x, nx, _is_log(x)), _coarse(y, ny, _is_log(y))
    ys = _one_step_beyond(request, ys, _is_log(y))
    edges = exclusion_edges_x(request.analysis, request.variant,
                              [packaged_model(r).detector for r in DEFAULT_RELEASES])
    if edges:  # the same points in both grids: the wall is placed between them, not a step away
        xs = refine_axis_values(xs, edges, EDGE_OFFSETS)
        rise = [e * (1.0 - d) for e in edges for d in RISE_OFFSETS]
        xs = np.union1d(xs, [v for v in rise if xs[0] < v < xs[-1]])
        x = refine_axis_values(x, edges, EDGE_OFFSETS)
    return xs, ys, x, y


def _one_step_beyond(request: OverlayRequest, ys: NDArray[np.float64],
                     log: bool) -> NDArray[np.float64]:
    """``ys`` with one more coarse step above the item's largest coupling, where the scenario
    allows that value (else ``ys``): the crossings of masses whose limit lies just above the
    item's frame are then known, so the curve leaves the frame without a bend (Fig. 7's axial
    and tensor panels)."""
    from cevns.fits.scenario_signal import ScenarioChoice

    if ys.size < 2:
        return ys
    top = ys[-1] * (ys[-1] / ys[-2]) if log else ys[-1] + (ys[-1] - ys[-2])
    an, variant = request.analysis, request.variant
    options = {**an.scenario.options, **(variant.options if variant else {})}
    fixed = {**an.fixed, **(variant.fixed if variant else {})}
    try:
        ScenarioChoice.build(an.scenario.name, options, fixed).parameter(
            an.y.parameter).check(np.array([top]))
    except ConfigError:  # beyond the parameter's range (e.g. a mixing above 1): no extension
        return ys
    return np.append(ys, top)


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


def _column_nodes(ty: NDArray[np.float64], d: NDArray[np.float64],
                  samples: Sequence[tuple[NDArray[np.float64], NDArray[np.float64]] | None] | None,
                  log_y: bool) -> list[tuple[NDArray[np.float64], NDArray[np.float64]]] | None:
    """Per coarse column, its interpolation nodes (transformed y, Δχ²): ``ys`` and the column's
    extra samples merged; None without samples. Checks the samples."""
    if samples is None:
        return None
    if isinstance(samples, (str, bytes)) or not isinstance(samples, Sequence) \
            or len(samples) != d.shape[0]:
        raise ConfigError(f"interpolate_delta: samples must hold one entry per coarse column "
                          f"({d.shape[0]}), each None or (y values, Δχ² values)")
    nodes = []
    for c, entry in enumerate(samples):
        if entry is None:
            nodes.append((ty, d[c]))
            continue
        try:
            if isinstance(entry, (str, bytes)) or any(np.iscomplexobj(v) for v in entry):
                raise TypeError
            sy, sd = (np.asarray(v, dtype=float) for v in entry)
        except (TypeError, ValueError):
            sy = sd = None
        if sy is None or sd is None or sy.ndim != 1 or sy.shape != sd.shape \
                or np.isnan(sd).any() or np.any(sd == -np.inf) or not np.all(np.isfinite(sy)) \
                or (log_y and np.any(sy <= 0)):
            raise ConfigError(f"interpolate_delta: samples[{c}] must be (y values, Δχ² values): "
                              "two 1-D arrays of one length, finite y (above 0 on a log axis), "
                              "Δχ² a number")
        t = np.log(sy) if log_y else sy
        if t.size and (t.min() <= ty[0] or t.max() >= ty[-1]):
            raise ConfigError(f"interpolate_delta: samples[{c}] lie outside the coarse y axis "
                              "(extra samples go strictly between its first and last value)")
        merged_t = np.concatenate([ty, t])
        merged_d = np.concatenate([d[c], np.minimum(np.maximum(sd, 0.0), 1e300)])
        order = np.argsort(merged_t, kind="stable")
        merged_t, merged_d = merged_t[order], merged_d[order]
        keep = np.concatenate([[True], np.diff(merged_t) > 0])  # a repeated y: the first kept
        nodes.append((merged_t[keep], merged_d[keep]))
    return nodes


def interpolate_delta(xs: NDArray[np.float64], ys: NDArray[np.float64],
                      delta: NDArray[np.float64], x: NDArray[np.float64], y: NDArray[np.float64],
                      log_x: bool, log_y: bool, level: float | None = None,
                      curve: str = "pchip",
                      samples: Sequence[tuple[NDArray[np.float64], NDArray[np.float64]] | None]
                      | None = None) -> NDArray[np.float64]:
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

    ``samples`` (one entry per coarse column, None or ``(y values, Δχ² values)`` strictly
    inside ``ys``) adds points to a column's own interpolation along y, e.g. those
    :func:`refine_crossings` computed next to its crossing of ``level``.

    Measured against the χ² profiled directly at the item's couplings (docs/coherent_fits.md,
    *Precision*).
    """
    from scipy.interpolate import PchipInterpolator  # here: the driver imports this module

    for name, flag in (("log_x", log_x), ("log_y", log_y)):
        if not isinstance(flag, (bool, np.bool_)):
            raise ConfigError(f"interpolate_delta: {name} = {flag!r}; expected true or false")
    if curve not in ("pchip", "chord"):
        raise ConfigError(f"interpolate_delta: curve = {curve!r}; expected 'pchip' or 'chord'")
    if any(np.iscomplexobj(v) for v in (xs, ys, delta, x, y)):
        raise ConfigError("interpolate_delta: xs, ys, delta, x and y must be real numbers")
    for name, value in (("xs", xs), ("ys", ys), ("delta", delta), ("x", x), ("y", y)):
        if is_text(value):  # NumPy reads "0.2" as 0.2
            raise ConfigError(f"interpolate_delta: {name} must be an array of real numbers, "
                              "got text")
        not_real_numbers(value, f"interpolate_delta: {name}", "an array of real numbers")
    try:
        xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
        d = np.asarray(delta, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError("interpolate_delta: xs, ys and delta must be arrays of numbers") \
            from None
    for name, axis in (("xs", xs), ("ys", ys)):
        if axis.ndim != 1 or axis.size < 2 or not np.all(np.isfinite(axis)) \
                or not np.all(np.diff(axis) > 0) \
                or ((log_x if name == "xs" else log_y) and axis[0] <= 0):
            raise ConfigError(f"interpolate_delta: {name} must hold at least two increasing "
                              "finite values (positive on a log axis)")
    if d.shape != (xs.size, ys.size):
        raise ConfigError(f"interpolate_delta: delta must have shape ({xs.size}, {ys.size}); "
                          f"got shape {d.shape}")
    if np.isnan(d).any() or np.any(d == -np.inf):
        raise ConfigError("interpolate_delta: delta must be a number everywhere (not NaN or "
                          "-inf; +inf stands for a point excluded without limit)")
    d = np.maximum(d, 0.0)
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
    nodes = _column_nodes(ty, d, samples, log_y)
    if nodes is None:  # every column on the same nodes: one interpolant for all
        along_y = PchipInterpolator(ty, np.log(d + Y_OFFSET), axis=1)
        columns = np.exp(along_y(at_y)) - Y_OFFSET
        column = [PchipInterpolator(ty, np.log(d[c] + Y_OFFSET)) for c in range(xs.size)] \
            if level is not None else []
    else:
        column = [PchipInterpolator(t, np.log(v + Y_OFFSET)) for t, v in nodes]
        columns = np.exp(np.stack([f(at_y) for f in column])) - Y_OFFSET
    tx = fx(xs)
    at_x = np.clip(fx(np.asarray(x, dtype=float)), tx[0], tx[-1])
    j = np.clip(np.searchsorted(tx, at_x, side="right") - 1, 0, tx.size - 2)
    w = ((at_x - tx[j]) / (tx[j + 1] - tx[j]))[:, None]
    if level is None:
        lifted = np.log1p(np.maximum(columns, 0.0))
        return np.expm1((1.0 - w) * lifted[j] + w * lifted[j + 1])
    # the crossings are looked for up to the coarse grid's top, which may lie a step above the
    # item's (overlay_grids): a curve that leaves the item's frame then continues through the
    # crossings beyond it, instead of bending where a column's crossing first falls outside
    search_y, search_columns = at_y, columns
    step = at_y[-1] - at_y[-2] if at_y.size >= 2 else 0.0
    if step > 0 and ty[-1] > at_y[-1]:
        n_beyond = min(int(np.ceil((ty[-1] - at_y[-1]) / step)), 4 * at_y.size)
        beyond = np.minimum(at_y[-1] + step * np.arange(1, n_beyond + 1), ty[-1])
        search_y = np.concatenate([at_y, beyond])
        search_columns = np.concatenate(
            [columns, np.exp(np.stack([f(beyond) for f in column])) - Y_OFFSET], axis=1)
    crossing = _first_crossings(search_columns, search_y, level)
    limit = _limit_curve(tx, crossing, at_x, j, curve)
    # one interpolant per coarse column (above): a row of the item needs its two neighbours
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


def refine_crossings(ys: NDArray[np.float64], delta: NDArray[np.float64], level: float,
                     log_y: bool, evaluate: Callable[[NDArray[np.intp], NDArray[np.float64]],
                                                     NDArray[np.float64]],
                     at: NDArray[np.float64] | None = None, rounds: int | None = None,
                     ) -> list[tuple[NDArray[np.float64], NDArray[np.float64]] | None]:
    """Δχ² evaluated next to each coarse column's first crossing of ``level`` along y.

    For every column of ``delta`` (shape (n_columns, len(ys))) whose Δχ² first reaches ``level``
    between ys[k − 1] and ys[k] (k ≥ 1), up to ``rounds`` (default :data:`REFINE_ROUNDS`) steps,
    one call of ``evaluate(columns, y_values)`` each (Δχ² at the pairs (column, y), all columns
    at once). A step estimates the crossing by regula falsi in (y, log(Δχ² +
    :data:`Y_OFFSET`)) (log y on a log axis) between the ends of the column's bracket — far from
    the SM Δχ² is a power of the coupling, a straight line in these variables, so the estimate
    lands close (the bracket's midpoint where its upper value is +inf: no prediction where data
    are) — and computes

    - without ``at``: Δχ² at the estimate;
    - with ``at`` (the y values where the result will be read, e.g. the item's grid): Δχ² at the
      values of ``at`` strictly inside the bracket that are next to the estimate, one on either
      side. After one step a column's crossing usually lies between two computed values of
      ``at``, so that a contour drawn through ``at`` is the directly computed one at the coarse
      masses; a later step computes more only where it does not (the estimate was off by more
      than a step of ``at``).

    The bracket then shrinks to the interval of its ends and the new points that holds the first
    crossing. Returns one entry per column for :func:`interpolate_delta`'s ``samples``: None
    where the column has no such crossing, else (y values, Δχ² values) of its new points.
    """
    rounds = REFINE_ROUNDS if rounds is None else rounds
    if isinstance(rounds, bool) or not isinstance(rounds, (int, np.integer)) \
            or not 0 <= rounds <= MAX_REFINE_ROUNDS:
        raise ConfigError(f"refine_crossings: rounds = {rounds!r}; expected a whole number from "
                          f"0 to {MAX_REFINE_ROUNDS} (each round narrows every bracket to the "
                          "next computed points)")
    if not isinstance(log_y, (bool, np.bool_)):
        raise ConfigError(f"refine_crossings: log_y = {log_y!r}; expected true or false")
    if isinstance(level, bool) or not isinstance(level, (int, float, np.floating, np.integer)) \
            or not (math.isfinite(level) and level > 0):
        raise ConfigError(f"refine_crossings: level = {level!r}; expected a finite Δχ² above 0")
    if not callable(evaluate):
        raise ConfigError("refine_crossings: evaluate must be a function (columns, y) → Δχ²")
    for name, value in (("ys", ys), ("delta", delta)):
        if is_text(value):  # NumPy reads "0.2" as 0.2
            raise ConfigError(f"refine_crossings: {name} must be an array of real numbers, got "
                              "text")
        not_real_numbers(value, f"refine_crossings: {name}", "an array of real numbers")
    not_real_numbers(at, "refine_crossings: at", "finite y values")  # true/false, a masked array
    try:
        if np.iscomplexobj(ys) or np.iscomplexobj(delta):
            raise TypeError
        ys = np.asarray(ys, dtype=float)
        d = np.asarray(delta, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError("refine_crossings: ys and delta must be arrays of real numbers") \
            from None
    if ys.ndim != 1 or ys.size < 2 or not np.all(np.diff(ys) > 0) or not np.all(np.isfinite(ys)) \
            or (log_y and ys[0] <= 0):
        raise ConfigError("refine_crossings: ys must hold at least two increasing finite values "
                          "(positive on a log axis)")
    if d.ndim != 2 or d.shape[1] != ys.size:
        raise ConfigError(f"refine_crossings: delta must have shape (columns, {ys.size}); got "
                          f"shape {d.shape}")
    if np.isnan(d).any() or np.any(d == -np.inf):
        raise ConfigError("refine_crossings: delta must be a number everywhere (not NaN or -inf)")
    d = np.maximum(d, 0.0)
    ty = np.log(ys) if log_y else ys
    t_at = None
    if at is not None:
        try:
            if is_text(at) or np.iscomplexobj(at):
                raise TypeError
            at = np.unique(np.asarray(at, dtype=float))
        except (TypeError, ValueError):
            at = np.array([np.nan])
        if at.ndim != 1 or not np.all(np.isfinite(at)) or (log_y and np.any(at <= 0)):
            raise ConfigError("refine_crossings: at must hold finite y values (above 0 on a log "
                              "axis)")
        t_at = np.log(at) if log_y else at
    above = d >= level
    first = np.argmax(above, axis=1)
    cols = np.flatnonzero(above.any(axis=1) & (first > 0))
    samples: list[tuple[NDArray[np.float64], NDArray[np.float64]] | None] = [None] * d.shape[0]
    if cols.size == 0 or rounds == 0:
        return samples
    # per column: its bracket (lo, hi) in (transformed y, log(Δχ² + offset)) and its new points
    bracket = {int(c): [ty[first[c] - 1], np.log(d[c, first[c] - 1] + Y_OFFSET),
                        ty[first[c]], np.log(d[c, first[c]] + Y_OFFSET)] for c in cols}
    new: dict[int, list[tuple[float, float]]] = {int(c): [] for c in cols}  # (y, Δχ²)
    target = np.log(level + Y_OFFSET)
    for _ in range(rounds):
        asked_c, asked_t, asked_y = [], [], []
        for c, (lo_t, lo_v, hi_t, hi_v) in bracket.items():
            width = hi_t - lo_t
            t = lo_t + (target - lo_v) / (hi_v - lo_v) * width if np.isfinite(hi_v) \
                else 0.5 * (lo_t + hi_t)
            margin = 1e-3 * width
            if t_at is None or at is None:
                t = min(max(t, lo_t + margin), hi_t - margin)
                points = [(t, float(np.exp(t)) if log_y else t)]
            else:  # the values of `at` themselves (not exp(log(at)))
                inside = np.flatnonzero((t_at > lo_t + margin) & (t_at < hi_t - margin))
                chosen = [*inside[t_at[inside] <= t][-1:], *inside[t_at[inside] > t][:1]]
                points = [(t_at[i], at[i]) for i in chosen]
            asked_c += [c] * len(points)
            asked_t += [p[0] for p in points]
            asked_y += [p[1] for p in points]
        if not asked_c:
            break
        t_new, y_new = np.asarray(asked_t, dtype=float), np.asarray(asked_y, dtype=float)
        answer = evaluate(np.asarray(asked_c, dtype=np.intp), y_new)
        try:
            if is_text(answer) or np.iscomplexobj(answer):
                raise TypeError
            not_real_numbers(answer, "evaluate", "")  # true/false, a masked array
            value = np.asarray(answer, dtype=float)
        except (TypeError, ValueError):
            value = np.array([np.nan])
        if value.shape != (len(asked_c),) or np.isnan(value).any() or np.any(value == -np.inf):
            raise ConfigError("refine_crossings: evaluate must return one Δχ² (a real number, "
                              "not NaN or -inf) per point asked for")
        value = np.maximum(value, 0.0)
        for c in bracket:
            mine = [(t, yv, v) for cc, t, yv, v in zip(asked_c, t_new, y_new, value, strict=True)
                    if cc == c]
            new[c] += [(yv, v) for _, yv, v in mine]
            lo_t, lo_v, hi_t, hi_v = bracket[c]
            for t, _, v in sorted(mine):  # the first interval that reaches the level
                if v >= level:
                    hi_t, hi_v = t, np.log(v + Y_OFFSET)
                    break
                lo_t, lo_v = t, np.log(v + Y_OFFSET)
            bracket[c] = [lo_t, lo_v, hi_t, hi_v]
    for c, points in new.items():
        if points:
            y_c, v_c = (np.asarray(v, dtype=float) for v in zip(*sorted(points), strict=True))
            samples[c] = (y_c, v_c)
    return samples


def coherent_overlay(request: OverlayRequest) -> list[Overlay]:
    """The combined COHERENT Δχ² on the item's (x, y) grid, for the panel's variant."""
    from cevns.fits.combined import combined_chi2
    from cevns.stats import level_value

    an = request.analysis
    variant = request.variant
    options = {**an.scenario.options, **(variant.options if variant else {})}
    fixed = {**an.fixed, **(variant.fixed if variant else {})}
    ties = {**an.ties, **(variant.ties if variant else {})}
    log_x, log_y = _is_log(np.asarray(request.x, dtype=float)), _is_log(np.asarray(request.y,
                                                                                   dtype=float))
    xs, ys, x, y = overlay_grids(request)
    level = level_value(an.level)
    common = dict(options=options, fixed=fixed,
                  ties={name: (tie.to, tie.ratio) for name, tie in ties.items()},
                  level=max(STOP_LEVEL, 2.0 * level), tol=PROFILE_TOL)
    off, chi2 = combined_chi2(an.scenario.name, an.x.parameter, xs, an.y.parameter, ys, **common)
    reference = min(off, float(np.min(chi2)))  # Δχ² from the grid's minimum (or the SM)
    delta = chi2 - reference

    def evaluate(columns: NDArray[np.intp], y_values: NDArray[np.float64]) -> NDArray[np.float64]:
        return combined_chi2(an.scenario.name, an.x.parameter, xs[columns], an.y.parameter,
                             y_values, pairs=True, **common)[1] - reference

    samples = refine_crossings(ys, delta, level, log_y, evaluate, at=y)
    if not (np.array_equal(xs, x) and np.array_equal(ys, y)) or any(e is not None
                                                                    for e in samples):
        delta = interpolate_delta(xs, ys, delta, x, y, log_x, log_y, level=level,
                                  samples=samples)
    return [Overlay(label=LABEL, source=SOURCE, x=x, y=y, delta_chi2=delta,
                    style={"color": "0.25", "linestyle": "--", "linewidth": 1.4})]


register_overlay("coherent", coherent_overlay, in_quick=False)  # full fits: not in previews
