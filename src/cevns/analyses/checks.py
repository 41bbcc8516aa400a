"""Whole-file checks of sensitivity analyses, run when the file is read (docs/errors.md).

Everything that can be known from the file alone is checked before anything is computed or a scan
store is created: the scenario and its options (of the analysis and of every variant), the names
and values of ``truth``, ``fixed`` and ``ties``, the parameters of the grid axes, every detector
override, and the memory the grid would take.

Memory limit
------------
A grid is refused when it would need more than ``CEVNS_MAX_GRID_BYTES`` bytes (environment
variable; default :data:`DEFAULT_MAX_GRID_BYTES` = 2 GiB), estimated before anything is allocated:

* the axis values and the χ² results of every detector (and the combination) on the whole grid:
  8 bytes × points × (detectors + 2);
* one tile of the scan (⌈n_first/8⌉ rows of the first axis × the other axes) while it is computed:
  8 bytes × tile points × bins × :data:`TILE_WORK_ARRAYS` (signal, observed, background and the
  profiling work arrays of every bin).

The error names the axis field (``x.num`` …), the number of points and the memory it would need.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from cevns.errors import ConfigError, _did_you_mean
from cevns.scan.grid import (  # noqa: F401  (the limit lives in the scan layer; re-exported)
    DEFAULT_MAX_GRID_BYTES,
    MAX_GRID_BYTES_ENV,
    format_gib,
    max_grid_bytes,
)

#: Arrays of shape (tile points, bins) alive at once while a tile is profiled (an upper estimate).
TILE_WORK_ARRAYS = 8
#: Tiles per scan along the first axis (as :func:`cevns.analyses.sensitivity.scan_chi2` cuts them).
TILES_PER_SCAN = 8


def axis_length(axis) -> int:
    """Number of points of an :class:`~cevns.analyses.sensitivity.AxisSpec` (no allocation)."""
    return len(axis.values) if axis.values is not None else int(axis.num)


def check_axis_size(n: int, where: str) -> None:
    """One axis of ``n`` points alone must fit: its values take 8 bytes each."""
    need = 8 * n
    cap = max_grid_bytes()
    if need > cap:
        raise ConfigError(f"{where}: {n} points would need {format_gib(need)} for the axis values "
                          f"alone, above the limit {format_gib(cap)} ({MAX_GRID_BYTES_ENV})")


def check_grid_memory(axes: list[tuple[str, Any]], n_detectors: int, n_bins: int) -> None:
    """Refuse a grid whose estimated memory exceeds :func:`max_grid_bytes` (see module docstring).

    Parameters
    ----------
    axes : list of (field name, AxisSpec)
        The grid axes in order, e.g. ``[("x", an.x), ("y", an.y)]``.
    n_detectors : int
        Detectors of the analysis.
    n_bins : int
        Largest number of reconstructed bins of any detector.
    """
    cap = max_grid_bytes()
    lengths = [axis_length(ax) for _, ax in axes]
    points = math.prod(lengths)
    total = 8 * (points * (n_detectors + 2) + sum(lengths))
    rows = max(1, math.ceil(lengths[0] / TILES_PER_SCAN))
    tile_points = rows * math.prod(lengths[1:])
    tile = 8 * tile_points * max(n_bins, 1) * TILE_WORK_ARRAYS
    shape = " × ".join(str(n) for n in lengths)
    # name the longest axis: the one to shorten
    longest = max(range(len(axes)), key=lambda i: lengths[i])
    field = f"{axes[longest][0]}.{'values' if axes[longest][1].values is not None else 'num'}"
    if total > cap:
        raise ConfigError(f"{field}: a grid of {shape} = {points} points for {n_detectors} "
                          f"detector(s) would need {format_gib(total)}, above the limit {format_gib(cap)} "
                          f"({MAX_GRID_BYTES_ENV})")
    if tile > cap:
        raise ConfigError(f"{field}: one scan tile of {tile_points} points × {n_bins} bins would "
                          f"need about {format_gib(tile)}, above the limit {format_gib(cap)} "
                          f"({MAX_GRID_BYTES_ENV})")


def check_variant_labels(variants) -> None:
    """Variant labels name rows of tables and curves of figures: they must be unique and not
    blank, and two variants that differ only in their label would compute the same grid twice."""
    for i, variant in enumerate(variants):
        if not variant.label.strip():
            raise ConfigError(f"variants[{i}].label: empty; every variant needs a label (it names "
                              "the variant's rows in the tables and its curve in the legend)")
        for j in range(i):
            other = variants[j]
            if variant.label == other.label:
                raise ConfigError(f"variants[{i}].label: {variant.label!r} is also the label of "
                                  f"variants[{j}]; variant labels must be unique")
            if variant.model_dump(exclude={"label"}) == other.model_dump(exclude={"label"}):
                raise ConfigError(f"variants[{i}] ({variant.label!r}) is identical to "
                                  f"variants[{j}] ({other.label!r}) apart from its label")


#: Characters a table column name must not hold: they would split or break a CSV or Markdown cell.
_COLUMN_FORBIDDEN = set(',|"') | {chr(c) for c in range(32)} | {chr(127)}


def check_column_names(an) -> None:
    """The column names of an exclusion table (``x_column``, ``y_column``, ``variant_column``, the
    tied ``secondary_x`` and the fixed ``detector`` and ``overlay``) must differ from each other:
    a row holding two of them would keep only the last value, and a column would vanish from the
    CSV. Each must be a plain, non-blank name."""
    if not hasattr(an, "x_column"):
        return
    columns = [("x_column", an.x_column), ("y_column", an.y_column),
               ("variant_column", an.variant_column)]
    if getattr(an, "secondary_x", None):
        columns.append(("secondary_x", an.secondary_x))
    fixed = [("the detector column", "detector"), ("the overlay column", "overlay")]
    for i, (field, name) in enumerate(columns):
        bad = sorted({repr(c) for c in name if c in _COLUMN_FORBIDDEN})
        if not name.strip() or name != name.strip() or bad:
            why = (f"holds {', '.join(bad)}" if bad else "is blank" if not name.strip()
                   else "starts or ends with a space")
            raise ConfigError(f"{field}: {name!r} {why}; a column name must be a plain name")
        for other, taken in columns[:i]:
            if name == taken:
                raise ConfigError(f"{field}: {name!r} is also {other}; the table's columns must "
                                  "have different names")
        for other, taken in fixed:
            if name == taken:
                raise ConfigError(f"{field}: {name!r} is the name of {other} of the table; "
                                  "choose another name")


def check_detector_names(data: Any) -> Any:
    """The ``detectors`` of an analysis document, before names are resolved: a list of distinct
    detector names (a detector listed twice would be counted twice in every combination)."""
    if not isinstance(data, dict) or "detectors" not in data:
        return data
    names = data["detectors"]
    if isinstance(names, str):
        return data  # one name: resolved as a list of one
    if not isinstance(names, (list, tuple)):
        raise ConfigError(f"detectors: a list of detector names, got {names!r}")
    for i, name in enumerate(names):
        if not isinstance(name, str):
            raise ConfigError(f"detectors.{i}: Input should be a valid string (got {name!r})")
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ConfigError(f"detectors: {name!r} listed twice; list each detector once (it "
                              "would be counted twice in the combined result)")
    return data


def check_tie_range(field: str, name: str, tie, parameter, grids: dict, axis_field: dict) -> None:
    """The values a tie gives ``name`` on the grid (``tie.ratio`` × the values of the scanned
    parameter ``tie.to``, ``grids[tie.to]``) must lie in the range of its scenario
    :class:`~cevns.scenarios.Parameter`: checked when the file is read, not in the middle of the
    run. ``field`` names the tie (``variants[1].ties.sin2_theta_w``), ``axis_field`` maps a scanned
    parameter to its axis's field name (``y``)."""
    import numpy as np

    axis = np.asarray(grids[tie.to], dtype=float)
    with np.errstate(over="ignore"):
        tied = tie.ratio * axis
    try:
        parameter.check(tied)
    except ConfigError as exc:
        raise ConfigError(
            f"{field}: {name} = {tie.ratio:g} × {tie.to} takes values from {float(tied.min()):g} to "
            f"{float(tied.max()):g} on the grid ({axis_field[tie.to]} axis {tie.to} from "
            f"{float(axis.min()):g} to {float(axis.max()):g}), outside its range: {exc}; change "
            f"the ratio or the {axis_field[tie.to]} axis") from None


def check_variant_detectors(an, overrides: dict, field: str) -> None:
    """The detectors of one variant (the analysis's and the variant's ``detector_overrides``
    merged, ``overrides``) must be valid and see the analysis's source, as the analysis's own
    detectors are checked (:meth:`AnalysisBase._detectors_buildable`); errors name ``field``
    (``variants[1].detector_overrides``)."""
    from cevns.errors import KinematicsError

    detectors = an.build_detectors(overrides, where=field)  # its errors name field.NAME
    source = an.source.build()
    for det in detectors:
        try:
            det.check_source(source)
        except (ConfigError, KinematicsError) as exc:
            cls = KinematicsError if isinstance(exc, KinematicsError) else ConfigError
            raise cls(f"{field}.{det.name}: {exc}") from None


def check_distinct_variants(an) -> None:
    """Two variants whose effective settings (the analysis's, with each variant's options, fixed
    values, ties, detector overrides and statistics merged in: what their grids are computed
    from) are the same would compute the same grid into the same scan store; refused when the file
    is read, naming both, rather than by the scan layer after the run has started."""
    variants = list(getattr(an, "variants", ()) or ())
    if len(variants) < 2:
        return
    # the Δχ² above which profiling may stop early follows the levels drawn; one grid serves all
    ignore = {"stop_level", "cevns_version", "quick"}
    effective = [an.compute(i, stop_level=1.0).model_dump(mode="json", exclude=ignore)
                 for i in range(len(variants))]
    for i, variant in enumerate(variants):
        for j in range(i):
            if effective[i] == effective[j]:
                raise ConfigError(
                    f"variants[{i}] ({variant.label!r}) computes the same grid as variants[{j}] "
                    f"({variants[j].label!r}): with the analysis's settings merged in, their "
                    "scenario options, fixed values, ties, detector overrides and statistics "
                    "are the same (a setting equal to the analysis's or to the default changes "
                    "nothing, and stats.levels only chooses the levels drawn); make them differ, "
                    "or remove one")


def check_sensitivity(an) -> None:
    """All name and size checks of a sensitivity analysis (raises :class:`ConfigError`).

    ``an`` is a validated :class:`~cevns.analyses.sensitivity.SensitivityBase` (its own fields
    are already well-typed); this checks what relates fields to each other and to the scenario.
    """
    axes = [(name, getattr(an, name)) for name in ("scan", "x", "y") if hasattr(an, name)]
    for name, ax in axes:
        check_axis_size(axis_length(ax), f"{name}.num")
    variants = list(getattr(an, "variants", ()) or ())
    cases: list[tuple[str, Any]] = [("", None)] + [(f"variants[{i}].", v)
                                                    for i, v in enumerate(variants)]
    scanned = [ax.parameter for _, ax in axes]
    values = {name: ax.grid(False) for name, ax in axes}  # sizes checked just above
    for i, (name, ax) in enumerate(axes):
        first = scanned.index(ax.parameter)
        if first < i:
            raise ConfigError(f"{name}.parameter: {axes[first][0]}.parameter and {name}.parameter "
                              f"are both {ax.parameter!r}; scan two different parameters")
    check_variant_labels(variants)
    check_column_names(an)
    for prefix, variant in cases:
        try:
            scenario = an.scenario.build(variant.options if variant else None)
        except ConfigError as exc:
            where = (f"{prefix}options" if variant and variant.options else "scenario.options")
            # the scenario's refused options as fields of this file (listed once by the file's
            # own validation, cevns.config), not its "invalid configuration (scenario)" block
            path = tuple(where.split("."))
            problems = [dataclasses.replace(p, path=(*path, *p.path[1:])) for p in exc.problems]
            raise ConfigError(f"{where}: {exc}", problems=problems) from None
        params = scenario.parameters
        def known(field: str, name: str, params=params) -> None:
            if name not in params:
                valid = sorted(params)
                raise ConfigError(f"{field}: unknown parameter {name!r} of scenario "
                                  f"{an.scenario.name!r}{_did_you_mean(name, valid)}; "
                                  f"valid choices: {', '.join(valid)}")

        for name, ax in axes:
            known(f"{name}.parameter", ax.parameter)
            try:  # the range of the parameter, now rather than in the middle of the run
                params[ax.parameter].check(values[name])
            except ConfigError as exc:
                raise ConfigError(f"{name}: {exc}{' (with ' + prefix[:-1] + ')' if prefix else ''}"
                                  ) from None
        for key, value in an.truth.items():
            known(f"truth.{key}", key)
            params[key].check(value)
        fixed = {**an.fixed, **(variant.fixed if variant else {})}
        for key, value in fixed.items():
            src = f"{prefix}fixed" if variant and key in variant.fixed else "fixed"
            known(f"{src}.{key}", key)
            if key in scanned:
                raise ConfigError(f"{src}.{key}: {key!r} is a grid axis; it cannot also be fixed")
            params[key].check(value)
        ties = {**an.ties, **(variant.ties if variant else {})}
        for key, tie in ties.items():
            src = f"{prefix}ties" if variant and key in variant.ties else "ties"
            known(f"{src}.{key}", key)
            known(f"{src}.{key}.to", tie.to)
            if tie.to not in scanned:
                raise ConfigError(f"{src}.{key}.to: {tie.to!r} is not a scanned parameter "
                                  f"({', '.join(scanned)})")
            if key in scanned:
                raise ConfigError(f"{src}.{key}: {key!r} is a grid axis; it cannot also be tied")
            if key in fixed:  # the tie would silently win over the fixed value
                fsrc = f"{prefix}fixed" if variant and key in variant.fixed else "fixed"
                raise ConfigError(f"{src}.{key}: {key!r} is also fixed ({fsrc}.{key} = "
                                  f"{fixed[key]:g}); a parameter is either fixed or tied to a "
                                  "scanned one, not both: remove one of the two")
            check_tie_range(f"{src}.{key}", key, tie, params[key],
                            dict(zip(scanned, (values[n] for n, _ in axes), strict=True)),
                            {ax.parameter: n for n, ax in axes})
        secondary = getattr(an, "secondary_x", None)
        # with variants, only the variants are computed (each must tie the secondary axis)
        if secondary is not None and (variant is not None or not variants):
            known("secondary_x", secondary)
            tie = ties.get(secondary)
            if tie is None or tie.to != scanned[0]:
                raise ConfigError(f"secondary_x {secondary!r}: {prefix or 'the analysis '}needs "
                                  f"ties.{secondary}.to = {scanned[0]!r}")
        if variant is not None and variant.detector_overrides:
            unknown = set(variant.detector_overrides) - set(an.detectors)
            if unknown:
                raise ConfigError(f"{prefix}detector_overrides: {sorted(unknown)} not among "
                                  f"detectors {list(an.detectors)}")
            merged = {d: {**an.detector_overrides.get(d, {}),
                          **variant.detector_overrides.get(d, {})}
                      for d in {*an.detector_overrides, *variant.detector_overrides}}
            check_variant_detectors(an, merged, f"{prefix}detector_overrides")
    check_distinct_variants(an)
    overlays = getattr(an, "overlays", ()) or ()
    if overlays:
        from cevns.analyses.overlays import get_overlay

        for i, name in enumerate(overlays):
            if name in overlays[:i]:
                raise ConfigError(f"overlays[{i}]: {name!r} is listed twice (overlays["
                                  f"{overlays.index(name)}]); each overlay is drawn once")
            try:
                get_overlay(name)
            except ConfigError as exc:
                raise ConfigError(f"overlays[{i}]: {exc}") from None
    reference = getattr(an, "reference", {}) or {}
    # the table has a combined row only when there is a combination (compute.chi2_grid)
    combined = an.stats.combine and len(an.detectors) > 1
    rows = [*an.detectors, *(["combined"] if combined else [])]
    if "combined" in reference and not combined:
        why, fix = (("stats.combine = false", "set stats.combine = true")
                    if len(an.detectors) > 1 else
                    (f"one detector, {an.detectors[0]}", "list several detectors"))
        raise ConfigError(f"reference.combined: the table has no combined row ({why}), so this "
                          f"reference would not be shown; remove it, or {fix}")
    unknown = set(reference) - set(rows)
    if unknown:
        raise ConfigError(f"reference: {sorted(unknown)} are not detectors of the analysis "
                          f"({', '.join(rows)})")
    detectors = an.build_detectors()
    check_grid_memory(axes, len(detectors), max(d.n_bins for d in detectors))
