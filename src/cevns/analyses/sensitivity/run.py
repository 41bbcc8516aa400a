"""The runners of the sensitivity kinds: compute (:mod:`.compute`), write the tables and
CF netCDF files (:mod:`cevns.analyses.cf`), draw (:mod:`.plots`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cevns.analyses.base import RunOptions, register_kind
from cevns.analyses.cf import (
    chi2_grids_dataset,
    exclusion_dataset,
    profile_dataset,
    write_dataset,
    write_scan_netcdf,
)
from cevns.analyses.output import write_table
from cevns.analyses.sensitivity.compute import scan_chi2
from cevns.analyses.sensitivity.plots import (
    drawn_overlays,
    panel_overlays,
    plot_exclusion,
    plot_profile,
    plot_scan2d,
)
from cevns.analyses.sensitivity.schema import (
    ExclusionAnalysis,
    ProfileAnalysis,
    Scan2DAnalysis,
    SensitivityBase,
    Variant,
)
from cevns.errors import ConfigError
from cevns.stats import (
    Profile1D,
    Scan2D,
    exclusion_curve,
    finite_delta,
    level_label,
    level_value,
)

__all__ = ["run_exclusion", "run_profile", "run_scan2d"]


def _ordered(an: SensitivityBase, chi2: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Detectors in the analysis order, then "combined" (drawn last, on top)."""
    order = [*an.detectors, "combined"]
    return {k: chi2[k] for k in order if k in chi2}


def _check_one_sided(an: ProfileAnalysis, profiles: dict[str, Profile1D]) -> None:
    """``table = "limit"`` quotes one edge of each interval: the one closed when the other is
    open at the grid edge. An interval closed on both sides is a two-sided measurement with no
    single limit (quoting one edge would drop the other): refused, naming the rows, before any
    file is written. Whether an edge closes depends on the computed Δχ², so this cannot be
    known when the file is read."""
    two_sided = {}
    for name, prof in profiles.items():
        pieces = prof.interval(an.table_level)
        if pieces and not pieces[0].lower_open and not pieces[-1].upper_open:
            two_sided[name] = (pieces[0].lower, pieces[-1].upper)
    if two_sided:
        shown = ", ".join(f"{name} [{lo:.5g}, {hi:.5g}]" for name, (lo, hi) in two_sided.items())
        raise ConfigError(
            f"table = 'limit': the {level_label(an.table_level)} interval of "
            f"{an.scan.parameter} is closed on both sides (two-sided) for {shown}; a limit is "
            "one-sided (one edge open at the end of the scan), so there is no single limit to "
            "quote: use table = 'best-interval' (or 'interval') for a two-sided interval")


@register_kind("profile", ProfileAnalysis, "Δχ² profile along one parameter, with intervals")
def run_profile(an: ProfileAnalysis, out: Path, options: RunOptions) -> list[Path]:
    x = an.scan.grid(options.quick)
    raw = scan_chi2(an, out, options)
    chi2 = _ordered(an, raw)
    files: list[Path] = []
    rows = []
    profiles = {}
    table_level = level_value(an.table_level)
    for name, values in chi2.items():
        profiles[name] = Profile1D(x, values - np.nanmin(values), parameter=an.scan.parameter,
                                   label=name, status=raw.get(f"status_{name}"))
    if an.table == "limit":  # before any file is written
        _check_one_sided(an, profiles)
    for name, prof in profiles.items():
        pieces = prof.interval(an.table_level)  # never empty: it holds the refined best fit
        if not pieces:  # pragma: no cover - a table never quotes nan for an interval
            raise ConfigError(f"{an.name}: no {level_label(an.table_level)} interval of "
                              f"{an.scan.parameter} for {name}; refine the scan grid")
        row: dict[str, Any] = {"detector": name}
        lower, upper = pieces[0].lower, pieces[-1].upper
        if an.table in ("best-interval",):
            row["best"] = prof.best
        if an.table == "limit":
            # a one-sided limit: the interval edge that is not at the truth side of the grid
            # (the side open at the grid edge; a two-sided interval is refused above)
            row["limit"] = lower if not pieces[0].lower_open else upper
        else:
            row["lower"] = lower
            row["upper"] = upper
        row["open_edge"] = ",".join(
            s for s, flag in (("lower", pieces[0].lower_open),
                              ("upper", pieces[-1].upper_open)) if flag)
        if name in an.reference:
            ref_lo, ref_hi = an.reference[name]
            row[f"{an.reference_label}_lower"] = ref_lo
            row[f"{an.reference_label}_upper"] = ref_hi
            row["diff_lower"] = lower - ref_lo
            row["diff_upper"] = upper - ref_hi
        rows.append(row)
        files_csv = out / f"{an.name}_profile_{name}.csv"
        prof.to_csv(files_csv)
        files.append(files_csv)
    files.append(write_dataset(profile_dataset(x, chi2, an, levels=an.stats.levels),
                               out / f"{an.name}_profile.nc"))  # CF netCDF (analyses/cf.py)
    if not options.no_figures:
        files += plot_profile(an, x, profiles, out, options)
    caption = (f"{an.title} — intervals at Δχ² = {table_level:.3g} ({level_label(an.table_level)})"
               f"; {an.paper}" + (f". {an.reference_note}" if an.reference_note else ""))
    if an.external:
        main = "limit" if an.table == "limit" else "best" if an.table == "best-interval" else "lower"
        for row in rows:
            row["source"] = "this work"
        for ext in an.external:
            rows.append({**{k: None for k in rows[0]}, "detector": ext.label, main: ext.value,
                         "source": ext.reference})
    files += write_table(rows, out, an.name, floatfmt=".5g", caption=caption)
    return files


@register_kind("scan2d", Scan2DAnalysis, "Δχ² on a 2D grid with contours")
def run_scan2d(an: Scan2DAnalysis, out: Path, options: RunOptions) -> list[Path]:
    x, y = an.x.grid(options.quick), an.y.grid(options.quick)
    files: list[Path] = []
    variants = list(enumerate(an.variants)) or [(None, None)]
    grids = []
    for v_index, variant in variants:
        raw = scan_chi2(an, out, options, variant_index=v_index)
        chi2 = _ordered(an, raw)
        tag = "" if variant is None else f"_v{v_index}"
        for name, values in chi2.items():
            scan = Scan2D(x, y, values, x_name=an.x.parameter, y_name=an.y.parameter,
                          status=raw.get(f"status_{name}"))
            path = out / f"{an.name}{tag}_{name}.nc"
            # CF attributes; undetermined best-fit coordinates as NaN (analyses/cf.py, bestfit.py)
            write_scan_netcdf(scan, path, an, detector=name, levels=an.stats.levels,
                              variant=variant)
            csv = out / f"{an.name}{tag}_{name}_contours.csv"
            scan.to_csv(csv, levels=list(an.stats.levels))
            files += [path, csv]
            grids.append((variant, name, scan))
    if not options.no_figures:
        files += plot_scan2d(an, x, y, variants, grids, out, options)
    return files


def _tie_ratio(an: ExclusionAnalysis, variant: Variant, name: str) -> float:
    tie = variant.ties.get(name) or an.ties.get(name)
    if tie is None or tie.to != an.x.parameter:
        raise ConfigError(f"secondary_x {name!r}: every variant must tie it to {an.x.parameter!r}")
    return tie.ratio


def _overlay_rows(an: ExclusionAnalysis, overlays, notes: list[str]) -> list[dict[str, Any]]:
    """The overlays' curves as table rows (``STEM_overlays.csv``): for a Δχ² overlay the lowest
    y excluded at each x (:func:`cevns.stats.exclusion_curve` at the item's level, as the item's
    own curves; the figure draws the whole contour), for a polyline its points; columns as the
    item's table plus ``overlay`` (the legend label). Each overlay's source line goes to
    ``notes`` (the figure adds the same line when it is drawn)."""
    rows: list[dict[str, Any]] = []
    level = level_value(an.level)
    for _panel, variant, found in overlays:
        for ov in found:
            if ov.note not in notes:
                notes.append(ov.note)
            if ov.delta_chi2 is None:
                points = zip(np.asarray(ov.x, dtype=float), np.asarray(ov.y, dtype=float),
                             strict=True)
            else:
                d = np.asarray(ov.delta_chi2, dtype=float)
                if not np.nanmax(d) >= level:
                    continue
                curve = exclusion_curve(ov.x, ov.y, finite_delta(d), an.level)
                points = ((m, g) for m, g, ok in zip(curve.mass, curve.limit, curve.found,
                                                     strict=True) if ok)
            for xi, yi in points:
                rows.append({an.x_column: float(xi), an.y_column: float(yi),
                             an.variant_column: "" if variant is None else variant.label,
                             "overlay": ov.label})
    return rows


@register_kind("exclusion", ExclusionAnalysis, "exclusion curves in a (shape, strength) plane")
def run_exclusion(an: ExclusionAnalysis, out: Path, options: RunOptions) -> list[Path]:
    from cevns.analyses.edges import refined_exclusion

    x, y = an.x.grid(options.quick), an.y.grid(options.quick)
    variants = an.variants or (Variant(label=an.scenario.options.get("interaction", an.name)),)
    rows, notes = [], []
    level = level_value(an.level)
    files: list[Path] = []
    curves, ratios = [], {}  # for the CF netCDF of all curves (analyses/cf.py)
    limits = {}  # (variant index, detector) -> its curve, for the ratio strips
    plotted = []  # (variant index, variant, ratio, detector, Δχ² grid, its mass grid)
    # grids refined around kinematic end points (sterile-lepton scenarios; analyses/edges.py),
    # one per variant; all variants still go through the scan layer in one queue
    refined = {v: refined_exclusion(an, v, options.quick) for v in range(len(an.variants))}
    for v_index, variant in enumerate(variants):
        ratio = _tie_ratio(an, variant, an.secondary_x) if an.secondary_x else None
        an_v = refined[v_index] if an.variants else refined_exclusion(an, None, options.quick)
        xv = an_v.x.grid(options.quick)
        raw = scan_chi2(an_v, out, options, variant_index=v_index if an.variants else None,
                        per_variant=refined)
        chi2 = _ordered(an, raw)
        tag = f"_v{v_index}" if an.variants else ""
        files.append(write_dataset(  # CF attributes (analyses/cf.py)
            chi2_grids_dataset(an_v, an_v.axes(), [xv, y], chi2, variant=variant,
                               levels=[an.level]), out / f"{an.name}{tag}_chi2.nc"))
        for name, values in chi2.items():
            if name != "combined" and not an.per_detector and len(chi2) > 1:
                continue
            delta = values - np.nanmin(values)
            if not np.nanmax(delta) >= level:
                notes.append(f"{variant.label}, {name}: no exclusion inside the grid (Δχ² stays "
                             f"below {level:.3g}; e.g. no spin-carrying nuclei for axial/tensor)")
                continue
            curve = exclusion_curve(xv, y, delta, an.level, status=raw.get(f"status_{name}"))
            curves.append((variant.label, name, curve))
            limits[(v_index, name)] = curve
            if ratio is not None:
                ratios[variant.label] = ratio
            for xi, yi, ok in zip(curve.mass, curve.limit, curve.found, strict=True):
                if ok:
                    row = {an.x_column: float(xi), an.y_column: float(yi)}
                    if ratio is not None:
                        row[an.secondary_x] = float(xi) * ratio
                    row.update({an.variant_column: variant.label, "detector": name})
                    rows.append(row)
            plotted.append((v_index, variant, ratio, name, delta, xv))
    # other experiments' curves drawn over the figure: computed once, drawn and written as data
    overlays = panel_overlays(an, x, y, options.quick, options.extra.get("overlays"))
    drawn = drawn_overlays(an, options.quick)
    skipped = [n for n in an.overlays if n not in drawn]
    if skipped:
        notes.append(f"overlay {', '.join(skipped)}: not computed in a --quick preview "
                     "(full fits of other experiments' data; run without --quick to draw it)")
    if not rows:  # before drawing: no figure of empty panels is left behind
        raise ConfigError(f"{an.name}: no exclusion found inside the grid for any curve; "
                          "extend the coupling axis")
    if not options.no_figures:
        files += plot_exclusion(an, x, y, variants, plotted, out, options, notes, overlays,
                                limits=limits)
    overlay_rows = _overlay_rows(an, overlays, notes)
    if overlay_rows:
        files += write_table(overlay_rows, out, f"{an.name}_overlays", floatfmt=".6g")[:1]
    files += write_table(rows, out, an.name, floatfmt=".6g")[:1]
    files.append(write_dataset(exclusion_dataset(an, curves, secondary=ratios or None),
                               out / f"{an.name}_exclusion.nc"))
    if notes:
        path = out / f"{an.name}_notes.md"
        path.write_text("\n".join(f"- {n}" for n in notes) + "\n")
        files.append(path)
    return files
