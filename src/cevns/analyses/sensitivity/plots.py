"""Figures of the sensitivity kinds: Δχ² profiles, 2D contours and exclusion curves.

One figure per item, drawn in the house style (:mod:`cevns.analyses.style`) and saved once
through :func:`cevns.analyses.output.save_figure` (PNG, and PDF only when asked). Exclusion
figures also draw the overlays their file names (:mod:`cevns.analyses.overlays`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cevns.analyses.base import RunOptions
from cevns.analyses.output import figure, save_figure
from cevns.analyses.sensitivity.schema import (
    ExclusionAnalysis,
    Level,
    ProfileAnalysis,
    Scan2DAnalysis,
    SensitivityBase,
    Variant,
)
from cevns.analyses.style import RATIO_STRIP, ratio_range, ratio_strip, ratio_ticks
from cevns.stats import Profile1D, finite_delta, level_label, level_value

__all__ = ["plot_exclusion", "plot_profile", "plot_scan2d", "tex_or"]

#: how an overlay is drawn unless it says otherwise: grey, dash-dot
OVERLAY_STYLE = {"color": "0.45", "linestyle": "-.", "linewidth": 1.0}


def _label(an: SensitivityBase, parameter: str, variant: Variant | None = None) -> str:
    """Axis label of ``parameter`` (mathtext with units) for the scenario of ``variant``.

    The variant's scenario options matter: the ν_μ channel of the 3+1 scenario is θ₂₄, not θ₁₄.
    """
    from cevns.analyses.style import tex

    scenario = an.scenario.build(variant.options if variant else None)
    p = scenario.parameters.get(parameter)
    if p is None:
        return tex(parameter)
    if p.label:
        return p.label
    return tex(p.name) + (f" [{p.unit}]" if p.unit else "")


def _short_level(lv: Level, dof: bool = True) -> str:
    """``"1σ (2 dof)"`` (or ``"1σ"``) from ``"Δχ² = 2.296 (1σ, 2 dof)"``; else the full label."""
    text = level_label(lv)
    if "(" in text and text.endswith(")"):
        inner = text[text.index("(") + 1:-1]
        name, _, ndof = inner.partition(", ")
        return f"{name} ({ndof})" if ndof and dof else name
    return text


def _save(fig, out: Path, stem: str, options: RunOptions) -> list[Path]:
    return save_figure(fig, out, stem, quick=options.quick, pdf=options.pdf,
                       on_figure=options.on_figure)


def plot_profile(an: ProfileAnalysis, x: np.ndarray, profiles: dict[str, Profile1D], out: Path,
                 options: RunOptions) -> list[Path]:
    """Δχ² against the parameter, one curve per detector and the combination (black, thicker,
    drawn beneath the detectors' curves so that none of them is hidden where they coincide).

    The Δχ² levels are dotted lines named in the right margin; no title (the caption is in the
    report).
    """
    from matplotlib.ticker import MaxNLocator
    from matplotlib.transforms import blended_transform_factory

    from cevns.analyses.style import detector_label, detector_style, place_legend, styled

    top = max(level_value(lv) for lv in an.stats.levels) * 2.5
    with styled():
        fig, axes = figure(width="single", aspect=0.72, right_in=0.5)
        ax = axes[0, 0]
        drawn = []
        for name, prof in profiles.items():
            if an.show == "all" or name == "combined" or "combined" not in profiles:
                ax.plot(x, prof.delta_chi2, label=detector_label(name), **detector_style(name))
                drawn.append(np.asarray(prof.delta_chi2, dtype=float))
        trans = blended_transform_factory(ax.transAxes, ax.transData)
        for lv in an.stats.levels:
            v = level_value(lv)
            ax.axhline(v, color="0.55", ls=":", lw=0.7, zorder=0)
            ax.text(1.015, v, _short_level(lv, dof=False), transform=trans, ha="left",
                    va="center", fontsize=6, color="0.3")
        ax.set_xlim(*_profile_xlim(x, drawn, top))
        # at most six intervals on steps of 1, 2, 2.5 or 5: nine labels such as "0.825" at 7 pt
        # nearly touched (Figs. 8 and 17 over 0.80–1.00)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
        ax.set_ylim(0, top)
        ax.set_xlabel(tex_or(an.xlabel) or _label(an, an.scan.parameter))
        ax.set_ylabel(r"$\Delta\chi^2$")
        place_legend(ax, outside="above", ncols=4)
        return _save(fig, out, an.name, options)


def _profile_xlim(x: np.ndarray, curves: list[np.ndarray], top: float) -> tuple[float, float]:
    """The x range of a Δχ² figure: the scan's, narrowed to where a drawn curve lies below the
    plot's top (``top``) plus 5 % of that span on each side, so that no large part of the figure
    is empty (Fig. 8: the combined curve leaves the plot at α₁₁ = 0.918 of a 0.80–1.00 scan,
    whose whole range the table's per-detector limits need). Never wider than the scan; the
    scan's range if no curve is inside the plot."""
    inside = np.zeros(x.size, dtype=bool)
    for d in curves:
        inside |= np.isfinite(d) & (d <= top)
    if not inside.any():
        return float(x[0]), float(x[-1])
    i = np.flatnonzero(inside)
    lo, hi = x[max(i[0] - 1, 0)], x[min(i[-1] + 1, x.size - 1)]  # the curve's exit point
    pad = 0.05 * (hi - lo)
    return float(max(x[0], lo - pad)), float(min(x[-1], hi + pad))


def tex_or(text: str) -> str:
    """``text`` in mathtext (see :func:`cevns.analyses.style.tex`); empty stays empty."""
    from cevns.analyses.style import tex

    return tex(text) if text else ""


def plot_scan2d(an: Scan2DAnalysis, x, y, variants, grids, out: Path,
                options: RunOptions) -> list[Path]:
    """Δχ² contours: one panel per detector (levels as line styles) or per variant (detectors as
    colours). No best-fit marker: in an Asimov projection the minimum is the injected point (shown
    as an open circle where it is inside the grid), and along a flat valley the grid minimum is
    arbitrary."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from cevns.analyses.style import (
        detector_label,
        detector_style,
        figure_legend,
        level_lines,
        styled,
        tex,
    )

    level_styles = ["-", (0, (5, 1.5)), (0, (1.2, 1.2))]
    if an.panels == "per-detector":
        panels = [(detector_label(name) + ("" if v is None else f" — {tex(v.label)}"), v,
                   [(name, sc)]) for v, name, sc in grids]
    else:
        panels = []
        for _, variant in variants:
            members = [(name, sc) for v, name, sc in grids if v is variant
                       and (an.per_detector or name == "combined")]
            panels.append((tex(variant.label) if variant else "", variant, members))
    n = len(panels)
    ncols = min(3, n)
    nrows = int(np.ceil(n / ncols))
    handles: dict[str, Any] = {}
    truth_seen = False
    last_level = level_value(an.stats.levels[-1])

    def shade(ax, delta, name, colour):
        # the excluded side of the last level, lightly: an oscillating boundary reads as the edge
        # of a region rather than a tangle of lines
        if an.fill_excluded and name == "combined" and np.nanmax(delta) > last_level:
            from matplotlib.colors import to_rgba

            ax.contourf(x, y, delta, levels=[last_level, np.inf], colors=[colour], alpha=0.18,
                        antialiased=True, zorder=0)
            # one legend entry for the region and its boundary line (a second entry for the
            # line alone named the same boundary twice); "combined" where detectors are drawn too
            whose = " by the combination" if an.per_detector and len(an.detectors) > 1 else ""
            handles.setdefault("excluded", Patch(
                facecolor=to_rgba(colour, 0.18), edgecolor=colour, linewidth=0.6,
                label=f"excluded{whose}, {_short_level(an.stats.levels[-1])}"))

    with styled():
        fig, axes = figure(nrows, ncols, width="single" if n == 1 else "double", aspect=0.75,
                           legend_rows=1, titles=any(p[0] for p in panels),
                           sharex=True, sharey=True)
        for ax, (title, variant, members) in zip(axes.flat, panels, strict=False):
            for name, scan in members:
                delta = finite_delta(scan.delta_chi2).T
                if len(members) == 1:
                    st = detector_style(name)
                    shade(ax, delta, name, st["color"])
                    # over a shaded region a thin edge keeps an oscillating boundary readable
                    lw = 0.6 if an.fill_excluded else 1.2
                    for k, lv in enumerate(an.stats.levels):
                        level = level_value(lv)
                        if np.nanmax(delta) > level:
                            level_lines(ax, x, y, delta, level, color=st["color"],
                                        linewidth=lw, linestyle=level_styles[k % 3])
                        if not (an.fill_excluded and len(an.stats.levels) == 1
                                and name == "combined"):  # the shaded entry shows this line
                            handles.setdefault(f"lv{k}", Line2D(
                                [], [], color="0.2", lw=lw, linestyle=level_styles[k % 3],
                                label=_short_level(lv)))
                else:
                    st = detector_style(name)
                    if an.fill_excluded and name == "combined":
                        st = {**st, "linewidth": 0.6}
                    level = level_value(an.stats.levels[-1])
                    shade(ax, delta, name, st["color"])
                    if np.nanmax(delta) > level:
                        level_lines(ax, x, y, delta, level, color=st["color"],
                                    linewidth=st["linewidth"], linestyle=st["linestyle"],
                                    zorder=st["zorder"])
                    if not (an.fill_excluded and name == "combined"):  # the shaded entry is it
                        handles.setdefault(name, Line2D([], [], label=detector_label(name),
                                                        **st))
            truth = an.truth_point(variant)
            if truth is not None and x[0] <= truth[0] <= x[-1] and y[0] <= truth[1] <= y[-1]:
                ax.plot(*truth, marker="o", mfc="none", mec="k", ms=4, ls="none")
                truth_seen = True
            if title:
                ax.set_title(title)
            if an.log_x:
                ax.set_xscale("log")
            if an.log_y:
                ax.set_yscale("log")
            ax.set_xlim(x[0], x[-1])
            ax.set_ylim(y[0], y[-1])
            ax.set_xlabel(_label(an, an.x.parameter, variant))
            ax.set_ylabel(_label(an, an.y.parameter, variant))
            ax.tick_params(labelbottom=True, labelleft=True)
        for ax in list(axes.flat)[n:]:
            ax.set_visible(False)
        legend = list(handles.values())
        if truth_seen:
            legend.append(Line2D([], [], marker="o", mfc="none", mec="k", ms=4, ls="none",
                                 label="injected (Asimov) point"))
        if len(members) > 1 and not an.per_detector:
            legend = [h for h in legend if h.get_label() != "combined"] or legend
        figure_legend(fig, legend, ncols=min(len(legend), 8))
        return _save(fig, out, an.name, options)


def plot_exclusion(an: ExclusionAnalysis, x, y, variants, curves, out: Path,
                   options: RunOptions, notes: list[str] | None = None,
                   overlays: list[tuple[Variant | None, list]] | None = None,
                   limits: dict[tuple[int, str], Any] | None = None) -> list[Path]:
    """Exclusion curves (excluded above each curve).

    Panels (``an.panels``): one ("single"), one per variant, or one per detector ("per-detector":
    the detectors in the order of the curves, each panel showing every variant of that
    detector). With ``an.ratio_panel`` a strip beneath each panel shows every variant's limit
    divided by the first variant's for the same detector (`limits`: the
    :class:`~cevns.stats.ExclusionCurve` of each (variant index, detector)), on the first
    variant's masses where both have a limit.

    The overlays the analysis names (``overlays``) are drawn on every main panel as grey
    dash-dot lines (unless the overlay gives its own style), with their label in the legend;
    the ``source`` line of each is appended to `notes` (the item's notes file). `overlays`: those
    of :func:`panel_overlays` if already computed (the caller also writes them to a table).

    Colours: detectors (:func:`~cevns.analyses.style.detector_style`, combined in black) when a
    panel shows one variant; variants (:func:`~cevns.analyses.style.variant_style`) when one
    panel shows several. A tied second mass (``secondary_x``) gets its own panel to the right.
    The legend sits in an empty corner or above the panels, never on a curve.
    """
    from matplotlib.lines import Line2D

    from cevns.analyses.style import (
        corner_note,
        detector_label,
        detector_style,
        figure_legend,
        level_lines,
        place_legend,
        plain_text,
        styled,
        tex,
        variant_style,
    )

    per_variant = an.panels == "per-variant"
    per_det = an.panels == "per-detector"
    # panel order: the analysis's detectors, then the combination (not the order curves came in:
    # a detector without a limit for the first variant would otherwise follow "combined")
    found = {name for _, _, _, name, _, _ in curves}
    names = [d for d in (*an.detectors, "combined") if d in found]
    names += sorted(found - set(names))
    n_main = len(variants) if per_variant else len(names) if per_det else 1
    step = 2 if an.secondary_x else 1
    n_panels = n_main * step
    # with a second mass axis every row is one variant: (m_X, m_4) side by side
    ncols = 1 if n_panels == 1 else 2 if n_panels in (2, 4) or an.secondary_x else 3
    nrows = int(np.ceil(n_panels / ncols))
    level = level_value(an.level)
    by_variant = not per_variant and len(variants) > 1
    with_ratio = an.ratio_panel and limits is not None
    handles: dict[str, Any] = {}
    with styled():
        fig, axes = figure(nrows, ncols, width="single" if n_panels == 1 else "double",
                           aspect=0.72 * (1.0 + RATIO_STRIP) if with_ratio else 0.72,
                           legend_rows=0 if n_panels == 1 else 1,
                           titles=per_variant or per_det, sharey=True)
        flat = list(axes.flat)
        strips = [ratio_strip(ax) for ax in flat[:n_panels]] if with_ratio else []
        ratio_curves = [_ratio_curves(names[i // step] if per_det else None, variants, limits)
                        for i in range(n_panels)] if with_ratio else []
        ratio_range = _ratio_range(ratio_curves) if with_ratio else (0.0, 0.0)
        for ax in flat[:n_panels]:
            # the limits are set below: without this every contour call autoscales the axes
            # over all the artists drawn so far (a third of the time of `contour` here)
            ax.set_autoscale_on(False)
        for v_index, variant, ratio, name, delta, xv in curves:
            main = v_index if per_variant else names.index(name) if per_det else 0
            panel = main * step
            if per_det and by_variant:  # one detector per panel: the variants tell the curves
                st = variant_style(v_index)
                st["linewidth"] = 1.5 if v_index == 0 else 1.1
                st["zorder"] = detector_style(name)["zorder"]
                label = tex(variant.label)
            elif by_variant:
                st = variant_style(v_index)
                st["linewidth"] = 1.5 if name == "combined" else 0.9
                st["zorder"] = detector_style(name)["zorder"]
                if name != "combined":
                    st["linestyle"] = detector_style(name)["linestyle"]
                label = tex(variant.label) + ("" if name == "combined"
                                               else f" ({detector_label(name)})")
            else:
                st = detector_style(name)
                label = detector_label(name)
            handles.setdefault(label, Line2D([], [], label=label, **st))
            targets = [(flat[panel], 1.0)]
            if an.secondary_x:
                targets.append((flat[panel + 1], ratio))
            for ax, scale in targets:
                level_lines(ax, xv * scale, y, delta.T, level, color=st["color"],
                            linewidth=st["linewidth"], linestyle=st["linestyle"],
                            zorder=st["zorder"])
        for i, ax in enumerate(flat[:n_panels]):
            secondary = an.secondary_x is not None and i % 2 == 1
            panel_variant = variants[i // step] if per_variant else variants[0]
            ax.set_xscale("log" if an.x.spacing == "log" else "linear")
            ax.set_yscale("log" if an.y.spacing == "log" else "linear")
            if not secondary:
                ax.set_xlim(x[0], x[-1])
            else:
                ratios = sorted({r for _, _, r, _, _, _ in curves if r is not None})
                if ratios:
                    ax.set_xlim(x[0] * ratios[0],
                                _secondary_end(an, x[-1] * ratios[-1], curves, limits))
            ax.set_ylim(y[0], y[-1])
            xlabel = _label(an, an.secondary_x if secondary else an.x.parameter, panel_variant)
            ax.set_ylabel(_label(an, an.y.parameter, panel_variant))
            ax.tick_params(labelleft=True)
            if with_ratio:
                _draw_ratios(strips[i], ax, ratio_curves[i], variants, xlabel, *ratio_range)
            else:
                ax.set_xlabel(xlabel)
            if per_variant:
                ax.set_title(tex(panel_variant.label))
            elif per_det:
                ax.set_title(detector_label(names[i // step]))
            if an.overlays:
                if overlays is None:
                    overlays = panel_overlays(an, x, y, options.quick)
                for ov_variant, ov in ((v, ov) for panel, v, found in overlays
                                       if per_det or panel == i // step for ov in found):
                    # the tied mass's panel: the same curve at m = ratio × x, if the variant
                    # ties it; an overlay without a variant stays on the main panel only
                    scale = 1.0 if not secondary else _tie_ratio(an, ov_variant)
                    if scale is None:
                        continue
                    st = {**OVERLAY_STYLE, **ov.style}
                    label = tex(ov.label)
                    if ov.delta_chi2 is not None:
                        d = np.asarray(ov.delta_chi2, dtype=float)
                        if np.nanmax(d) >= level:
                            level_lines(ax, np.asarray(ov.x) * scale, np.asarray(ov.y),
                                        finite_delta(d).T, level, color=st["color"],
                                        linewidth=st["linewidth"], linestyle=st["linestyle"])
                    elif not secondary:  # a polyline is in the main panel's units
                        ax.plot(ov.x, ov.y, **st)
                    handles.setdefault(label, Line2D([], [], label=label, **st))
                    if notes is not None and ov.note not in notes:
                        notes.append(ov.note)
        for ax in flat[n_panels:]:
            ax.set_visible(False)
        legend = list(handles.values())
        if n_panels == 1:
            labels = [h.get_label() for h in legend]
            # up to three short entries in one row, read left to right; else two columns
            one_row = len(labels) <= 3 and max(len(plain_text(lab)) for lab in labels) <= 18
            place_legend(flat[0], legend, labels, outside="above",
                         ncols=len(labels) if one_row else 2)
        elif legend:
            figure_legend(fig, legend, ncols=min(len(legend), 8))
        # a detector of the analysis without a curve in a panel (its Δχ² stays below the
        # level: no spin-carrying target for the axial and tensor NGI of Figs. 16, 22, 23) —
        # the panel says so where there is room; the notes file says so in any case
        if per_variant and not by_variant and an.per_detector:
            everywhere = [*an.detectors, *dict.fromkeys(
                name for _, _, _, name, _, _ in curves if name not in an.detectors)]
            for v_index in range(n_main):
                here = {name for k, _, _, name, _, _ in curves if k == v_index}
                missing = [detector_label(n) for n in everywhere if n not in here]
                if here and missing:
                    corner_note(flat[v_index * step],
                                "no exclusion in the grid:\n" + ", ".join(missing))
        return _save(fig, out, an.name, options)




def _secondary_end(an: ExclusionAnalysis, end: float, curves, limits) -> float:
    """The right end of the tied mass's panel: `end` (the grid's), or on a logarithmic axis the
    decade above the largest tied mass with a limit (× 1.05) when that is lower — the limits
    of an up-scattering item end at the kinematic end point of m₄ (≈ 53 MeV at the ESS), and
    the panel need not run on to 10³ MeV."""
    if an.x.spacing != "log" or not limits:
        return end
    ratio_of = {v_index: ratio for v_index, _, ratio, _, _, _ in curves if ratio is not None}
    found = [float(np.max(np.asarray(c.mass, dtype=float)[np.asarray(c.found, dtype=bool)]))
             * ratio_of[k] for (k, _), c in limits.items()
             if k in ratio_of and np.any(c.found)]
    if not found:
        return end
    return min(end, 10.0 ** np.ceil(np.log10(1.05 * max(found))))


def _ratio_curves(name: str | None, variants,
                  limits) -> list[tuple[int, np.ndarray, np.ndarray]] | None:
    """``(variant index, masses, ratio)`` for every variant but the first: its limit for detector
    `name` (the single curve of each variant when None) divided by the first variant's, on the
    first variant's masses where both are found (the other's interpolated linearly in log m,
    log g; NaN elsewhere). None when the first variant has no limit there (nothing to divide
    by)."""
    def curve(v_index):
        found = [c for (k, n), c in limits.items() if k == v_index and (name is None or n == name)]
        return found[0] if len(found) == 1 else None

    reference = curve(0)
    if reference is None or not np.any(reference.found):
        return None
    m0 = np.asarray(reference.mass, dtype=float)
    g0 = np.where(reference.found, np.asarray(reference.limit, dtype=float), np.nan)
    out = []
    for k in range(1, len(variants)):
        other = curve(k)
        if other is None or np.count_nonzero(other.found) < 2:
            continue
        ok = np.asarray(other.found, dtype=bool)
        m, g = np.asarray(other.mass, dtype=float)[ok], np.asarray(other.limit, float)[ok]
        inside = (m0 >= m.min()) & (m0 <= m.max()) & np.isfinite(g0)
        # log-log on a positive mass axis; linear in the mass where it reaches 0 (a sterile mass)
        along = np.log if m.min() > 0 else (lambda v: v)
        r = np.full(m0.shape, np.nan)
        r[inside] = np.exp(np.interp(along(m0[inside]), along(m), np.log(g))) / g0[inside]
        out.append((k, m0, r))
    return out


def _ratio_range(all_curves) -> tuple[float, float]:
    """The y range of the ratio strips of one figure (the same for all, so that the strips of
    two detectors compare at a glance): :func:`~cevns.analyses.style.ratio_range` of every
    ratio drawn."""
    return ratio_range([r for curves in all_curves for _, _, r in curves or ()])


def _draw_ratios(strip, ax, curves, variants, xlabel: str, lo: float, hi: float) -> None:
    """Fill the ratio `strip` of panel `ax` with `curves` (:func:`_ratio_curves`) on the data
    range (lo, hi), a band above it holding the note that names the reference (so that the note
    never covers a curve)."""
    from cevns.analyses.style import tex, variant_style

    ref_style = variant_style(0)
    strip.axhline(1.0, color=ref_style["color"], linestyle=ref_style["linestyle"],
                  linewidth=1.0)
    for k, m0, r in curves or ():
        st = variant_style(k)
        strip.plot(m0, r, color=st["color"], linestyle=st["linestyle"], linewidth=1.1)
    ratio_ticks(strip, lo, hi)
    strip.set_ylim(lo, hi + 0.6 * (hi - lo))
    strip.set_xscale(ax.get_xscale())
    strip.set_xlim(ax.get_xlim())
    strip.set_xlabel(xlabel)
    strip.set_ylabel("ratio")
    # below the top axis's inward tick marks
    note = "÷ " + tex(variants[0].label)
    if curves is None:
        note += ": no limit of it here, no ratio"
    strip.text(0.02, 0.86, note, transform=strip.transAxes, ha="left", va="top",
               fontsize="small")


def _tie_ratio(an: ExclusionAnalysis, variant: Variant | None) -> float | None:
    """m / x of the tied second mass (``secondary_x``) of ``variant``, or None if not tied."""
    if an.secondary_x is None or variant is None:
        return None
    tie = variant.ties.get(an.secondary_x) or an.ties.get(an.secondary_x)
    return tie.ratio if tie is not None and tie.to == an.x.parameter else None


def drawn_overlays(an: ExclusionAnalysis, quick: bool) -> tuple[str, ...]:
    """The overlays of ``an`` computed in this run: all it names, except in a ``--quick``
    preview those registered with ``in_quick=False`` (:func:`cevns.analyses.overlays.register_overlay`)."""
    from cevns.analyses.overlays import overlay_in_quick

    return tuple(n for n in an.overlays if not quick or overlay_in_quick(n))


def _overlay_plan(an: ExclusionAnalysis, quick: bool) -> list[tuple[int, Variant | None,
                                                                    Variant | None, int | None]]:
    """What :func:`panel_overlays` computes: per overlay computation (main panel, the variant it
    is shown for or None, the variant it is computed for, the index of the variant whose dash
    pattern it takes or None)."""
    if not drawn_overlays(an, quick):
        return []
    variants: list[Variant | None] = list(an.variants) or [None]
    if an.panels == "per-variant" and an.variants:
        return [(k, v, v, None) for k, v in enumerate(variants)]
    distinct: dict[str, int] = {}
    for k, v in enumerate(variants):
        key = "" if v is None else v.model_dump_json(include={"options", "fixed", "ties"})
        distinct.setdefault(key, k)
    if len(distinct) == 1:
        return [(0, variants[0] if len(variants) == 1 else None, variants[0], None)]
    return [(0, variants[k], variants[k], k) for k in distinct.values()]


def overlay_count(an: ExclusionAnalysis, quick: bool) -> int:
    """How many overlay computations :func:`panel_overlays` makes for ``an`` (each can run as a
    task of its own: :func:`compute_overlay`)."""
    return len(_overlay_plan(an, quick))


def compute_overlay(an: ExclusionAnalysis, x, y, quick: bool, index: int) -> list:
    """The ``index``-th overlay computation of ``an`` on the item's grid ``x`` × ``y``: every
    overlay the analysis names, for that computation's variant (:func:`overlay_count`)."""
    from cevns.analyses.overlays import OverlayRequest, call_overlay

    _, _, variant, _ = _overlay_plan(an, quick)[index]
    request = OverlayRequest(analysis=an, variant=variant, x=np.asarray(x, dtype=float),
                             y=np.asarray(y, dtype=float), quick=quick)
    # call_overlay checks what the function returns (a list of Overlay), naming the overlay
    return [ov for name in drawn_overlays(an, quick) for ov in call_overlay(name, request)]


def panel_overlays(an: ExclusionAnalysis, x, y, quick: bool,
                   computed: list[list] | None = None) -> list[tuple[int, Variant | None, list]]:
    """The overlays of ``an`` (:func:`cevns.analyses.overlays.get_overlay`) on the main panels of
    its exclusion figure: a list of (main panel index, the variant they are for or None, its
    overlays). Empty when the analysis names none. ``computed``: the results of
    :func:`compute_overlay` for every index, if computed elsewhere (a parallel run computes them
    as tasks of their own, beside the scans); otherwise they are computed here.

    A panel per variant gets that variant's overlays. A panel that shows several variants gets
    the overlays of each variant whose scenario options, fixed and tied parameters differ (e.g.
    one COHERENT curve per m₄/m_X ratio), each in that variant's dash pattern under one legend
    entry (its source line says so; the table's variant column tells them apart); variants that
    differ in nothing an overlay is computed from (only detectors, statistics or labels) share
    the first one's overlays.
    """
    from dataclasses import replace

    from cevns.analyses.style import variant_style

    plan = _overlay_plan(an, quick)
    if computed is None:
        computed = [compute_overlay(an, x, y, quick, k) for k in range(len(plan))]
    if len(computed) != len(plan):
        raise ValueError(f"{an.name}: {len(computed)} overlay results for {len(plan)} overlays")
    said = ("; one curve per variant (" + ", ".join(v.label for _, v, _, d in plan
                                                    if v is not None and d is not None)
            + "), each in the dash pattern of that variant's curves")
    out = []
    for (panel, shown, _, dash_of), found in zip(plan, computed, strict=True):
        if dash_of is not None:
            dash = variant_style(dash_of)["linestyle"]
            found = [replace(ov, source=ov.source + said, style={**ov.style, "linestyle": dash})
                     for ov in found]
        out.append((panel, shown, found))
    return out
