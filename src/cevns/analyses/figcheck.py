"""Automatic checks of a drawn figure, as a referee would make them.

* :func:`legend_covers_data` — a legend box that contains plotted data points (lines, step
  histograms, contours, markers) of its axes (or, for a figure legend, of any axes);
* :func:`overlapping_texts` — two texts (titles, axis and tick labels, legend entries, annotations)
  whose boxes intersect;
* :func:`texts_outside_figure` — a text cut at the figure's edge;
* :func:`missing_axis_labels` — an axis without a label, or a physical quantity without a unit in
  ``[...]`` (dimensionless quantities such as Δχ², sin²θ, couplings and event counts are allowed);
* :func:`curves_at_grid_edge` — a contour that ends on the top or bottom edge of the plotted grid
  (an exclusion limit leaving the scanned range) or a Δχ² curve that does not reach a level inside
  the grid;
* :func:`hidden_curves` — a curve drawn under a later solid line at least as wide along (almost)
  its whole length, so that the figure shows it in the legend but not on the plot (a detector
  that alone makes the combination, under the combination's line).

:func:`check_figure` runs all of them and returns a list of human-readable problems (empty when
the figure passes). The figure is laid out and drawn once (``draw_without_rendering``) first, so
positions are final.
"""

from __future__ import annotations

import re
from itertools import combinations

import numpy as np

from cevns.analyses.style import data_points_display, points_in_bbox

#: labels of dimensionless quantities that need no unit
DIMENSIONLESS = re.compile(r"chi|\\sin|sin|g_X|g_\{|events|counts|\\alpha|alpha|ratio|fraction"
                           r"|coupling|\\theta|probability", re.IGNORECASE)


def _visible_axes(fig):
    return [ax for ax in fig.axes if ax.get_visible() and ax.axison]


def _renderer(fig):
    fig.draw_without_rendering()
    return fig.canvas.get_renderer()


def legend_covers_data(fig, pad: float = 1.0, *, renderer=None) -> list[str]:
    """Problems: legends whose box holds data points (``pad`` pixels of tolerance)."""
    renderer = renderer or _renderer(fig)
    problems = []
    for i, ax in enumerate(_visible_axes(fig)):
        leg = ax.get_legend()
        if leg is None or not leg.get_visible():
            continue
        box = leg.get_window_extent(renderer)
        n = points_in_bbox(data_points_display(ax), box, pad=pad)
        if n:
            problems.append(f"axes {i}: legend covers {n} data points")
    for leg in fig.legends:
        box = leg.get_window_extent(renderer)
        for i, ax in enumerate(_visible_axes(fig)):
            n = points_in_bbox(data_points_display(ax), box, pad=pad)
            if n:
                problems.append(f"figure legend covers {n} data points of axes {i}")
    return problems


def _tick_labels(axis):
    lo, hi = sorted(axis.get_view_interval())
    span = hi - lo
    out = []
    for locs, labels in ((axis.get_majorticklocs(), axis.get_majorticklabels()),
                         (axis.get_minorticklocs(), axis.get_minorticklabels())):
        for loc, lab in zip(locs, labels, strict=False):
            if lab.get_visible() and lab.get_text() and lo - 1e-9 * span <= loc <= hi + 1e-9 * span:
                out.append(lab)
    return out


def figure_texts(fig) -> list:
    """Every visible, non-empty text artist of the figure that is drawn."""
    texts = []
    for ax in _visible_axes(fig):
        texts += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label]
        texts += _tick_labels(ax.xaxis) + _tick_labels(ax.yaxis)
        texts += list(ax.texts)
        leg = ax.get_legend()
        if leg is not None and leg.get_visible():
            texts += list(leg.get_texts())
    for leg in fig.legends:
        texts += list(leg.get_texts())
    texts += list(fig.texts)
    if fig._suptitle is not None:
        texts.append(fig._suptitle)
    return [t for t in texts if t.get_visible() and t.get_text().strip()]


def overlapping_texts(fig, pad: float = 0.5, *, renderer=None) -> list[str]:
    """Problems: pairs of texts whose boxes overlap by more than ``pad`` pixels."""
    renderer = renderer or _renderer(fig)
    texts = figure_texts(fig)
    boxes = [t.get_window_extent(renderer) for t in texts]
    problems = []
    for (a, ba), (b, bb) in combinations(zip(texts, boxes, strict=True), 2):
        w = min(ba.x1, bb.x1) - max(ba.x0, bb.x0)
        h = min(ba.y1, bb.y1) - max(ba.y0, bb.y0)
        if w > pad and h > pad:
            problems.append(f"text {a.get_text()!r} overlaps {b.get_text()!r}")
    return problems


def texts_outside_figure(fig, pad: float = 0.5, *, renderer=None) -> list[str]:
    """Problems: texts that stick out of the figure (clipped in the saved file)."""
    renderer = renderer or _renderer(fig)
    w, h = fig.bbox.width, fig.bbox.height
    problems = []
    for t in figure_texts(fig):
        b = t.get_window_extent(renderer)
        if b.x0 < -pad or b.y0 < -pad or b.x1 > w + pad or b.y1 > h + pad:
            problems.append(f"text {t.get_text()!r} is cut at the figure edge")
    return problems


def _labelled_by_sibling(ax) -> bool:
    """Whether ``ax`` shows no x tick labels and shares its x axis with a visible axes that is
    labelled (a main panel above its ratio strip): the label below serves both."""
    if any(t.get_visible() and t.get_text() for t in ax.get_xticklabels()) or \
            ax.xaxis.get_tick_params().get("labelbottom", True):
        return False
    return any(other is not ax and other.get_visible() and other.get_xlabel().strip()
               for other in ax.get_shared_x_axes().get_siblings(ax))


def missing_axis_labels(fig) -> list[str]:
    """Problems: axes without x or y label, or a physical label without ``[unit]`` (an axis of
    named categories — tick labels set explicitly — needs a label but no unit)."""
    from matplotlib.ticker import FixedFormatter, FixedLocator, FuncFormatter

    problems = []
    for i, ax in enumerate(_visible_axes(fig)):
        for which, label in (("x", ax.get_xlabel()), ("y", ax.get_ylabel())):
            axis = ax.xaxis if which == "x" else ax.yaxis
            # set_ticks(positions, labels) leaves a fixed locator with a fixed/function formatter
            categorical = (isinstance(axis.get_major_locator(), FixedLocator)
                           and isinstance(axis.get_major_formatter(),
                                          (FixedFormatter, FuncFormatter)))
            if not label.strip():
                if which == "x" and _labelled_by_sibling(ax):
                    continue
                problems.append(f"axes {i}: no {which} label")
            elif "[" not in label and not DIMENSIONLESS.search(label) and not categorical:
                problems.append(f"axes {i}: {which} label {label!r} has no unit")
    return problems


def _segments(path) -> list[np.ndarray]:
    """Open polyline pieces of a path (closed loops are skipped)."""
    from matplotlib.path import Path as MPath

    verts = np.asarray(path.vertices, dtype=float)
    codes = path.codes
    if codes is None:
        return [verts]
    starts = list(np.flatnonzero(codes == MPath.MOVETO)) + [len(verts)]
    out = []
    for a, b in zip(starts[:-1], starts[1:], strict=True):
        seg_codes = codes[a:b]
        if np.any(seg_codes == MPath.CLOSEPOLY):
            continue
        seg = verts[a:b]
        if len(seg) > 1 and not np.allclose(seg[0], seg[-1]):
            out.append(seg)
    return out


def curves_at_grid_edge(fig, edges: tuple[str, ...] = ("top", "bottom"),
                        rtol: float = 1e-3) -> list[str]:
    """Problems: contour lines that end on a horizontal edge of the axes (the grid's limits).

    An exclusion contour ending at the top means the limit runs out of the scanned coupling range
    there; at the bottom, that the sensitivity reaches below it. Ends on the left and right edges
    (the ends of the mass axis) are normal.
    """
    problems = []
    for i, ax in enumerate(_visible_axes(fig)):
        y0, y1 = sorted(ax.get_ylim())
        log = ax.get_yscale() == "log"

        def near(v, edge, log=log, y0=y0, y1=y1):
            if log:
                v, edge, span = np.log10(v), np.log10(edge), np.log10(y1 / y0)
            else:
                span = y1 - y0
            return abs(v - edge) <= rtol * span

        for coll in ax.collections:
            for path in coll.get_paths():
                for seg in _segments(path):
                    for end in (seg[0], seg[-1]):
                        if not np.all(np.isfinite(end)) or end[1] <= 0 and log:
                            continue
                        if "top" in edges and near(end[1], y1):
                            problems.append(f"axes {i}: a contour ends on the top edge at "
                                            f"x = {end[0]:.4g}")
                        if "bottom" in edges and near(end[1], y0):
                            problems.append(f"axes {i}: a contour ends on the bottom edge at "
                                            f"x = {end[0]:.4g}")
    return problems


def _sampled(xy: np.ndarray, step: float) -> list[np.ndarray]:
    """Points every ``step`` (or closer) along the finite runs of the polyline ``xy``."""
    finite = np.all(np.isfinite(xy), axis=1)
    out = []
    for run in np.split(np.arange(len(xy)), np.flatnonzero(np.diff(finite.astype(int))) + 1):
        pts = xy[run]
        if not finite[run[0]] or len(pts) == 0:
            continue
        if len(pts) == 1:
            out.append(pts)
            continue
        s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))])
        t = np.linspace(0.0, s[-1], max(2, int(np.ceil(s[-1] / step)) + 1))
        out.append(np.column_stack([np.interp(t, s, pts[:, 0]), np.interp(t, s, pts[:, 1])]))
    return out


def _legend_names(fig) -> dict[str, str]:
    """Colour (hex) → legend label, for colours that label exactly one legend entry."""
    from matplotlib.colors import to_hex

    seen: dict[str, set[str]] = {}
    for leg in [*fig.legends, *(ax.get_legend() for ax in fig.axes)]:
        if leg is None:
            continue
        for handle, text in zip(leg.legend_handles, leg.get_texts(), strict=False):
            getter = getattr(handle, "get_color", None) or getattr(handle, "get_edgecolor", None)
            value = getter() if getter else None
            if isinstance(value, np.ndarray) and value.ndim == 2:  # a collection's colours
                value = value[0] if len(value) else None
            try:
                colour = to_hex(value)
            except (TypeError, ValueError):
                continue
            seen.setdefault(colour, set()).add(text.get_text())
    return {c: next(iter(labels)) for c, labels in seen.items() if len(labels) == 1}


def _strokes(ax, px_per_pt: float, names: dict[str, str]) -> list[dict]:
    """The line artists of ``ax`` in drawing order (zorder, then insertion), each with its
    sampled points in pixels, width in pixels, whether it is an opaque solid stroke, and a name."""
    from matplotlib.collections import LineCollection
    from matplotlib.colors import to_hex
    from matplotlib.lines import Line2D

    children = [a for a in ax.get_children()
                if isinstance(a, (Line2D, LineCollection)) and a.get_visible()]
    order = sorted(range(len(children)), key=lambda i: (children[i].get_zorder(), i))
    out = []
    for i in order:
        a = children[i]
        if isinstance(a, Line2D):
            if a.get_linestyle() in ("None", "none", " ", "") or a.get_linewidth() <= 0:
                continue
            pieces = [a.get_transform().transform(np.asarray(a.get_xydata(), dtype=float))]
            width, colour = a.get_linewidth(), a.get_color()
            solid = a.get_linestyle() in ("-", "solid")
            label = a.get_label()
        else:
            widths = np.atleast_1d(a.get_linewidths())
            colours = a.get_edgecolor()
            if not len(widths) or widths[0] <= 0 or not len(colours):
                continue
            trans = a.get_transform()
            pieces = [trans.transform(np.asarray(p.vertices, dtype=float))
                      for p in a.get_paths() if len(p.vertices)]
            width, colour = float(widths[0]), colours[0]
            solid = all(dashes is None for _, dashes in a.get_linestyles())
            label = a.get_label()
        alpha = a.get_alpha()
        hexed = to_hex(colour)
        name = (repr(label) if label and not label.startswith("_")
                else f"{names[hexed]!r} ({hexed})" if hexed in names else f"of colour {hexed}")
        points = [q for p in pieces for q in _sampled(p, 0.5)]
        out.append({"points": np.concatenate(points) if points else np.empty((0, 2)),
                    "width": width * px_per_pt, "name": name,
                    "opaque_solid": solid and (alpha is None or alpha >= 0.99)})
    return out


def hidden_curves(fig, fraction: float = 0.98, *, renderer=None) -> list[str]:
    """Problems: curves hidden under later opaque solid lines along ≥ ``fraction`` of their
    length inside the axes.

    A point of a curve is hidden when it lies within (w_top − w)/2 + 0.5 pixels of the centre
    line of a solid line drawn after it (w, w_top: their widths), so that the later line's stroke
    covers the earlier one's there; dashed and translucent lines hide nothing. Curves of equal
    width are flagged only where they coincide to half a pixel.
    """
    from scipy.spatial import cKDTree

    renderer = renderer or _renderer(fig)
    px_per_pt = fig.dpi / 72.0
    names = _legend_names(fig)
    problems = []
    for i, ax in enumerate(_visible_axes(fig)):
        box = ax.get_window_extent(renderer)
        strokes = _strokes(ax, px_per_pt, names)
        trees = {k: cKDTree(st["points"]) for k, st in enumerate(strokes)
                 if st["opaque_solid"] and len(st["points"])}
        for k, low in enumerate(strokes):
            pts = low["points"]
            inside = ((pts[:, 0] >= box.x0) & (pts[:, 0] <= box.x1)
                      & (pts[:, 1] >= box.y0) & (pts[:, 1] <= box.y1))
            pts = pts[inside]
            if len(pts) < 2:
                continue
            covered = np.zeros(len(pts), dtype=bool)
            for j in range(k + 1, len(strokes)):
                reach = (strokes[j]["width"] - low["width"]) / 2 + 0.5
                if j not in trees or reach <= 0:
                    continue
                dist, _ = trees[j].query(pts[~covered], distance_upper_bound=reach)
                covered[np.flatnonzero(~covered)[np.isfinite(dist)]] = True
                if covered.all():
                    break
            share = covered.mean()
            if share >= fraction:
                problems.append(f"axes {i}: the curve {low['name']} is hidden under a later line "
                                f"along {100 * share:.0f} % of its length")
    return problems


def check_figure(fig, *, edges: bool = False) -> list[str]:
    """All checks (the grid-edge check only with ``edges=True``); an empty list means pass."""
    renderer = _renderer(fig)
    problems = (legend_covers_data(fig, renderer=renderer)
                + overlapping_texts(fig, renderer=renderer)
                + texts_outside_figure(fig, renderer=renderer) + missing_axis_labels(fig)
                + hidden_curves(fig, renderer=renderer))
    if edges:
        problems += curves_at_grid_edge(fig)
    return problems
