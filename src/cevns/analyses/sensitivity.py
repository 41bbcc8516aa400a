"""Sensitivity analyses: Asimov Δχ² profiles, 2D scans and exclusion curves.

Three kinds share one model of the likelihood (docs/physics.md#likelihood):

* ``profile`` — Δχ² along one parameter, per detector and combined; intervals at configurable
  levels, a table (Tables 3, 4, 5) and a figure (Figs. 2, 4, 8, 15, 17).
* ``scan2d`` — Δχ² on a grid of two parameters; contours per detector (Figs. 5, 9, 18).
* ``exclusion`` — (shape, strength) planes such as (mediator mass, coupling); for each value of the
  first parameter the smallest excluded value of the second, per detector and combined, for one or
  several scenario variants (Figs. 6, 7, 10–14, 16, 19–23).

A file names the scenario and its options, the Asimov truth (default: every parameter at its
Standard-Model value), the grid, the statistics settings and the detectors. The grid of every
detector is computed by :func:`chi2_grid`, a pure function of (analysis, values of the first axis)
that the scan layer can run tile by tile.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from cevns.analyses.base import AnalysisBase, RunOptions, register_kind
from cevns.analyses.cf import (
    chi2_grids_dataset,
    exclusion_dataset,
    profile_dataset,
    write_dataset,
    write_scan_netcdf,
)
from cevns.analyses.checks import check_axis_size, check_sensitivity
from cevns.analyses.output import figure, save_figure, write_table
from cevns.config import StrictModel
from cevns.errors import ConfigError
from cevns.scenarios import get_scenario
from cevns.stats import (
    Profile1D,
    Scan2D,
    chi2_at,
    exclusion_curve,
    level_label,
    level_value,
    profile_chi2,
    signal_background_channel,
)

Level = str | float


class AxisSpec(StrictModel):
    """A grid axis: ``{start, stop, num, spacing}`` or explicit ``values``."""

    parameter: str
    start: float | None = None
    stop: float | None = None
    num: int | None = Field(default=None, ge=2)
    spacing: Literal["linear", "log"] = "linear"
    values: tuple[float, ...] | None = None

    @model_validator(mode="after")
    def _grid(self) -> AxisSpec:
        if self.values is not None:
            if any(x is not None for x in (self.start, self.stop, self.num)):
                raise ValueError("give either values or start/stop/num, not both")
            v = self.values
            if len(v) < 2:
                raise ValueError("values: at least two grid points are needed")
            if any(b <= a for a, b in zip(v[:-1], v[1:], strict=True)):
                raise ValueError("values must be strictly increasing")
            return self
        if self.start is None or self.stop is None or self.num is None:
            raise ValueError("give start, stop and num (or values)")
        if not self.stop > self.start:
            raise ValueError(f"empty or reversed grid: stop {self.stop:g} ≤ start {self.start:g}")
        if self.spacing == "log" and self.start <= 0:
            raise ValueError(f"log spacing needs start > 0, got {self.start:g}")
        check_axis_size(self.num, "num")  # before anything is allocated (analyses/checks.py)
        return self

    def grid(self, quick: bool = False) -> np.ndarray:
        """The grid values (coarser with ``quick``: a quarter of the points, at least 11; an
        explicit list keeps every fourth value and both ends)."""
        if self.values is not None:
            values = np.asarray(self.values, dtype=float)
            if quick and values.size > 11:
                keep = np.unique(np.r_[np.arange(0, values.size, 4), values.size - 1])
                values = values[keep]
            return values
        num = max(11, self.num // 4) if quick else self.num
        if self.spacing == "log":
            return np.geomspace(self.start, self.stop, num)
        return np.linspace(self.start, self.stop, num)


class ScenarioChoice(StrictModel):
    """Scenario name and options (validated by the scenario itself)."""

    name: str
    options: dict[str, Any] = {}

    def build(self, extra: dict[str, Any] | None = None):
        """The scenario object."""
        return get_scenario(self.name, **{**self.options, **(extra or {})})


class StatsSpec(StrictModel):
    """Statistics settings (docs/physics.md#likelihood; docs/statistics.md)."""

    sigma_signal: float = Field(default=0.10, gt=0, description="σ_α")
    sigma_background: float = Field(default=0.01, gt=0, description="σ_β")
    shared_signal: bool = Field(default=False, description="one α for all detectors")
    combine: bool = True
    levels: tuple[Level, ...] = ("1sigma_1dof", "90cl_1dof")

    @field_validator("levels")
    @classmethod
    def _levels(cls, value):
        for lv in value:
            try:
                v = level_value(lv)
            except Exception as exc:  # stats raises ConfigError with the valid presets
                raise ValueError(str(exc)) from None
            if not v > 0:
                raise ValueError(f"Δχ² level must be > 0, got {lv!r}")
        if not value:
            raise ValueError("at least one level is needed")
        return value


class Tie(StrictModel):
    """Tie a parameter to another: ``value = ratio × other`` (e.g. m₄ = 0.5 m_X)."""

    to: str
    ratio: float = Field(gt=0)


class SensitivityBase(AnalysisBase):
    """Common keys of the sensitivity kinds."""

    scenario: ScenarioChoice
    truth: dict[str, float] = {}
    fixed: dict[str, float] = {}
    ties: dict[str, Tie] = {}
    stats: StatsSpec = StatsSpec()

    def axes(self) -> list[AxisSpec]:  # pragma: no cover - overridden
        raise NotImplementedError

    @model_validator(mode="after")
    def _whole_file(self) -> SensitivityBase:
        # names, values and grid size, checked when the file is read (analyses/checks.py)
        check_sensitivity(self)
        return self


class ExternalRow(StrictModel):
    """A row of a published limit printed below a table's own rows (e.g. Table 5's oscillation
    limit); ``value`` None when the paper's number did not survive."""

    label: str
    value: float | None = None
    reference: str


class ProfileAnalysis(SensitivityBase):
    """Δχ² along one parameter (Tables 3–5; Figs. 2, 4, 8, 15, 17)."""

    kind: Literal["profile"]
    scan: AxisSpec
    table_level: Level = "1sigma_1dof"
    table: Literal["interval", "best-interval", "limit"] = "best-interval"
    reference: dict[str, tuple[float, float]] = {}
    reference_label: str = "paper"
    reference_note: str = Field(default="", description="where the paper's numbers come from, or "
                                "why there is no reference column; printed with the table")
    external: tuple[ExternalRow, ...] = ()
    xlabel: str = ""
    show: Literal["all", "combined"] = "all"

    def axes(self):
        return [self.scan]


class Scan2DAnalysis(SensitivityBase):
    """Δχ² on a 2D grid with contours per detector (Figs. 5, 9, 18)."""

    kind: Literal["scan2d"]
    x: AxisSpec
    y: AxisSpec
    panels: Literal["per-detector", "per-variant"] = "per-detector"
    per_detector: bool = True
    variants: tuple[Variant, ...] = ()
    log_x: bool = False
    log_y: bool = False

    def axes(self):
        return [self.x, self.y]


class Variant(StrictModel):
    """One curve family of an exclusion plot: what differs from the analysis.

    Scenario options, fixed or tied parameters, detector overrides (Appendix B: thresholds,
    compositions) and statistics settings (σ_β).
    """

    label: str
    options: dict[str, Any] = {}
    fixed: dict[str, float] = {}
    ties: dict[str, Tie] = {}
    detector_overrides: dict[str, dict[str, Any]] = {}
    stats: StatsSpec | None = None


class ExclusionAnalysis(SensitivityBase):
    """Exclusion curves in a (shape, strength) plane (Figs. 6, 7, 10–14, 16, 19–23)."""

    kind: Literal["exclusion"]
    x: AxisSpec
    y: AxisSpec
    level: Level = "90cl_2dof"
    variants: tuple[Variant, ...] = ()
    per_detector: bool = True
    panels: Literal["single", "per-variant"] = "single"
    secondary_x: str | None = None
    variant_column: str = "variant"
    x_column: str = "mass_MeV"
    y_column: str = "coupling"

    @field_validator("level")
    @classmethod
    def _level(cls, value):
        StatsSpec._levels((value,))
        return value

    def axes(self):
        return [self.x, self.y]


# --- the computation ----------------------------------------------------------------------------


def _values_for(scenario, grid: dict[str, np.ndarray], fixed: dict[str, float],
                ties: dict[str, Tie]) -> dict[str, Any]:
    values: dict[str, Any] = dict(fixed)
    values.update(grid)
    for name, tie in ties.items():
        if tie.to not in grid:
            raise ConfigError(f"ties.{name}.to: {tie.to!r} is not a scanned parameter "
                              f"({', '.join(grid)})")
        values[name] = tie.ratio * grid[tie.to]
    scenario.check_names(values)
    return values


def chi2_grid(an: SensitivityBase, first_axis: np.ndarray | None = None, *,
              quick: bool = False, variant: Variant | None = None,
              stop_level: float | None = None,
              with_status: bool = False) -> dict[str, np.ndarray]:
    """Profiled χ² of every detector (and ``"combined"``) on the analysis grid.

    Parameters
    ----------
    an : SensitivityBase
        The analysis.
    first_axis : ndarray, optional
        Values of the first axis to compute (a tile); default the whole axis.
    quick : bool
        Coarse grids.
    variant : Variant, optional
        Exclusion-plot variant (scenario options, fixed values, ties).
    stop_level : float, optional
        Δχ² above which profiling may stop early (default: every level of the analysis, ≥ 25);
        values above it are accurate to 0.1 % of the excess.
    with_status : bool
        Also return ``status_<name>`` → profiler status per point (0 converged, 1 above level,
        2 unconverged).

    Returns
    -------
    dict
        Detector name → χ² array of the grid shape (one axis per scanned parameter).
    """
    if variant is not None and (variant.detector_overrides or variant.stats is not None):
        merged = {d: {**an.detector_overrides.get(d, {}), **variant.detector_overrides.get(d, {})}
                  for d in {*an.detector_overrides, *variant.detector_overrides}}
        update: dict[str, Any] = {"detector_overrides": merged}
        if variant.stats is not None:
            update["stats"] = variant.stats
        an = an.model_copy(update=update)
    axes = an.axes()
    grid = {ax.parameter: ax.grid(quick) for ax in axes}
    if first_axis is not None:
        grid[axes[0].parameter] = np.asarray(first_axis, dtype=float)
    options = variant.options if variant else {}
    fixed = {**an.fixed, **(variant.fixed if variant else {})}
    ties = {**an.ties, **(variant.ties if variant else {})}
    scenario = an.scenario.build(options)
    src = an.source.build()
    dets = an.build_detectors()
    channels = []
    chi2 = {}
    for det in dets:
        truth_vals = dict(an.truth)
        scenario.check_names(truth_vals)
        observed_signal = scenario.counts(det, src, truth_vals)
        background = det.background_counts(src)
        observed = observed_signal + background
        if ties:
            # tied parameters follow a scanned one: evaluate point by point on the outer grid
            names = list(grid)
            mesh = np.meshgrid(*(grid[n] for n in names), indexing="ij")
            vals = _values_for(scenario, dict(zip(names, mesh, strict=True)), fixed, ties)
            signal = scenario.counts(det, src, vals, grid="broadcast")
        else:
            vals = _values_for(scenario, grid, fixed, ties)
            signal = scenario.counts(det, src, vals, grid="outer")
        ch = signal_background_channel(det.name, observed, signal, background,
                                       sigma_alpha=an.stats.sigma_signal,
                                       sigma_beta=an.stats.sigma_background,
                                       shared_signal=an.stats.shared_signal)
        channels.append(ch)
    # Early stop (docs/statistics.md): points certainly above the highest level are not iterated
    # to the end. The reference bounds min Σ_d χ²_d from above, so the decision also holds for
    # the combination; the status (0 converged, 1 above level, 2 unconverged) is carried along.
    reference = float(np.min(sum(chi2_at(c) for c in channels)))
    stop = {"level": stop_level or _stop_level(an), "reference": reference}
    for det, ch in zip(dets, channels, strict=True):
        res = profile_chi2([ch], **stop)
        chi2[det.name], chi2[f"status_{det.name}"] = res.chi2, res.status
    if an.stats.combine and len(dets) > 1:
        if an.stats.shared_signal:
            res = profile_chi2(channels, **stop)
            chi2["combined"], chi2["status_combined"] = res.chi2, res.status
        else:
            chi2["combined"] = sum(chi2[d.name] for d in dets)
            chi2["status_combined"] = np.max([chi2[f"status_{d.name}"] for d in dets], axis=0)
    return chi2 if with_status else {k: v for k, v in chi2.items() if not k.startswith("status_")}


def _stop_level(an: SensitivityBase) -> float:
    """Δχ² above which profiling may stop early: every level the analysis reads, and ≥ 25."""
    levels = [*an.stats.levels, getattr(an, "level", 1.0), getattr(an, "table_level", 1.0)]
    return max(25.0, *(level_value(lv) for lv in levels))


#: Parsed analyses of the tasks this process has run, by the digest of (analysis, variant) — a
#: per-worker cache: every tile of a scan carries the same config, so a worker parses it once.
#: Keyed on everything the parse depends on; bounded (oldest dropped first).
_PARSED: dict[str, tuple[Any, Any]] = {}
_PARSED_MAX = 16


def _parsed(config: dict) -> tuple[SensitivityBase, Variant | None]:
    from cevns.analyses.base import parse_analysis
    from cevns.scan import config_digest

    key = config_digest({"analysis": config["analysis"], "variant": config.get("variant")})
    hit = _PARSED.get(key)
    if hit is None:
        from cevns.experiment.catalogue import Catalogue

        # the config carries the resolved definitions of every detector and the source
        # (compute_config): an empty base catalogue makes the task independent of the worker's
        # CEVNS_PRESETS
        an = parse_analysis(config["analysis"], where="scan", catalogue=Catalogue.empty())
        variant = an.variants[config["variant"]] if config.get("variant") is not None else None
        while len(_PARSED) >= _PARSED_MAX:
            _PARSED.pop(next(iter(_PARSED)))
        hit = _PARSED[key] = (an, variant)
    return hit


def _grid_task(config: dict, tile) -> dict[str, np.ndarray]:
    """Scan-layer task: χ² of every detector on one tile (a slice of the first axis).

    A pure function of (config, tile), so it runs on any executor and resumes tile by tile. The
    parsed analysis is cached per process (keyed on the config's digest).
    """
    an, variant = _parsed(config)
    first = an.axes()[0].parameter
    return chi2_grid(an, tile.coords[first], quick=config["quick"], variant=variant,
                     stop_level=config.get("stop_level"), with_status=True)


#: keys of an analysis that change χ² (everything else is presentation)
#: (``detector`` and ``source.definitions`` hold the resolved definitions of the detectors and the
#: source, so that a changed user preset is never mistaken for the same computation)
_COMPUTE_KEYS = ("schema_version", "kind", "detectors", "source", "detector", "detector_overrides",
                 "scenario", "truth", "fixed", "ties", "scan", "x", "y", "helm_skin_fm")


def compute_config(an: SensitivityBase, variant_index: int | None, quick: bool) -> dict:
    """The part of an analysis that determines its χ² grid, as JSON data.

    Two analyses that differ only in presentation (title, panels, tables, levels drawn) share it,
    and therefore share one scan store within a run. The package version is part of it, so that
    a store written by other code is never reused.
    """
    import cevns

    dump = an.model_dump(mode="json")
    doc = {k: dump[k] for k in _COMPUTE_KEYS if k in dump}
    stats = dict(dump["stats"])
    stats.pop("levels", None)
    doc["stats"] = stats
    doc.update({"name": "scan", "title": "scan"})
    variant = None
    if variant_index is not None:
        v = dict(dump["variants"][variant_index])
        v["label"] = ""
        variant = v
        doc["variants"] = [v]
    return {"analysis": doc, "variant": 0 if variant is not None else None, "quick": quick,
            "cevns_version": cevns.__version__, "stop_level": _stop_level(an)}


def scan_chi2(an: SensitivityBase, out: Path, options: RunOptions,
              variant_index: int | None = None,
              per_variant: dict[int, SensitivityBase] | None = None) -> dict[str, np.ndarray]:
    """:func:`chi2_grid` run through the scan layer: tiles, executor, resumable store.

    The store is ``<scan root>/<kind>-<digest>``, the digest being that of
    :func:`compute_config`; the scan root is ``out/scans`` unless the caller shares one across
    analyses (``options.extra["scan_root"]``, as ``cevns reproduce`` does). A store completed
    earlier in the same run is reused; otherwise, with ``options.resume`` only missing tiles are
    computed, and without it the store is recomputed.

    With a `variant_index`, the first call computes *every* variant of the analysis in one batch
    (:func:`cevns.scan.run_scans`: all their tiles in one queue, so that no worker idles at the
    end of a variant) and keeps the others' grids for the calls that follow. Tile sizes come from
    the cost model of :mod:`cevns.analyses.scan_plan` (tasks of 0.3–1 s, several per worker);
    a resumed store keeps its own. `per_variant` gives the analysis to use for each variant of the
    batch where it differs from `an` (exclusion grids refined per variant around kinematic end
    points, :mod:`cevns.analyses.edges`).
    """
    from cevns.analyses.scan_plan import executor_workers, plan_tile_shapes
    from cevns.scan import Grid, ScanRequest, ScanStore, config_digest, run_scans

    per_variant = per_variant or {}

    def analysis_of(v):
        return per_variant.get(v, an)

    root = Path(options.extra.get("scan_root", out / "scans"))
    done_here = options.extra.setdefault("stores_completed", set())
    kept = options.extra.setdefault("scan_results", {})
    batch = [variant_index] if variant_index is None else list(range(len(an.variants)))
    grids = {v: Grid({ax.parameter: ax.grid(options.quick) for ax in analysis_of(v).axes()})
             for v in batch}
    configs = {v: compute_config(analysis_of(v), v, options.quick) for v in batch}
    stores = {v: root / f"{an.kind}-{config_digest(configs[v])[:16]}" for v in batch}
    if str(stores[variant_index]) in kept:
        return kept.pop(str(stores[variant_index]))
    batch = [v for v in batch if v == variant_index or str(stores[v]) not in kept]

    executor = options.extra.get("executor_object", options.executor)
    shapes = plan_tile_shapes([grids[v].shape for v in batch], len(an.detectors),
                              executor_workers(executor))
    requests = []
    for v, tile_shape in zip(batch, shapes, strict=True):
        label = an.name if v is None else f"{an.name} [{an.variants[v].label}]"

        def progress(done: int, total: int, label: str = label) -> None:
            if options.progress:
                options.progress(label, done, total)

        store = stores[v]
        resume = options.resume or str(store) in done_here
        if resume and ScanStore.is_store(store):
            tile_shape = None  # a resumed store keeps the tile shape it was cut with
        requests.append(ScanRequest(_grid_task, grids[v], configs[v], store, tile_shape=tile_shape,
                                    resume=resume, overwrite=not resume, progress=progress))
    datasets = run_scans(requests, executor=executor)
    result = {}
    for v, ds in zip(batch, datasets, strict=True):
        done_here.add(str(stores[v]))
        chi2 = {name: np.asarray(ds[name].values) for name in ds.data_vars}
        if v == variant_index:
            result = chi2
        else:
            kept[str(stores[v])] = chi2
    return result


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


# --- runners ------------------------------------------------------------------------------------


def _ordered(an: SensitivityBase, chi2: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Detectors in the analysis order, then "combined" (drawn last, on top)."""
    order = [*an.detectors, "combined"]
    return {k: chi2[k] for k in order if k in chi2}


def _save(fig, out: Path, stem: str, options: RunOptions) -> list[Path]:
    return save_figure(fig, out, stem, quick=options.quick, pdf=options.pdf,
                       on_figure=options.on_figure)


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
        prof = Profile1D(x, values - np.nanmin(values), parameter=an.scan.parameter, label=name,
                         status=raw.get(f"status_{name}"))
        profiles[name] = prof
        pieces = prof.interval(an.table_level)
        row: dict[str, Any] = {"detector": name}
        lower = pieces[0].lower if pieces else math.nan
        upper = pieces[-1].upper if pieces else math.nan
        if an.table in ("best-interval",):
            row["best"] = prof.best
        if an.table == "limit":
            # a one-sided limit: the interval edge that is not at the truth side of the grid
            row["limit"] = lower if not pieces[0].lower_open else upper
        else:
            row["lower"] = lower
            row["upper"] = upper
        row["open_edge"] = ",".join(
            s for s, flag in (("lower", pieces and pieces[0].lower_open),
                              ("upper", pieces and pieces[-1].upper_open)) if flag)
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


def plot_profile(an: ProfileAnalysis, x: np.ndarray, profiles: dict[str, Profile1D], out: Path,
                 options: RunOptions) -> list[Path]:
    """Δχ² against the parameter, one curve per detector and the combination (black, on top).

    The Δχ² levels are dotted lines named in the right margin; no title (the caption is in the
    report).
    """
    from matplotlib.transforms import blended_transform_factory

    from cevns.analyses.style import detector_label, detector_style, place_legend, styled

    with styled():
        fig, axes = figure(width="single", aspect=0.72, right_in=0.5)
        ax = axes[0, 0]
        for name, prof in profiles.items():
            if an.show == "all" or name == "combined" or "combined" not in profiles:
                ax.plot(x, prof.delta_chi2, label=detector_label(name), **detector_style(name))
        trans = blended_transform_factory(ax.transAxes, ax.transData)
        for lv in an.stats.levels:
            v = level_value(lv)
            ax.axhline(v, color="0.55", ls=":", lw=0.7, zorder=0)
            ax.text(1.015, v, _short_level(lv, dof=False), transform=trans, ha="left",
                    va="center", fontsize=6, color="0.3")
        ax.set_xlim(x[0], x[-1])
        ax.set_ylim(0, max(level_value(lv) for lv in an.stats.levels) * 2.5)
        ax.set_xlabel(tex_or(an.xlabel) or _label(an, an.scan.parameter))
        ax.set_ylabel(r"$\Delta\chi^2$")
        place_legend(ax, outside="above", ncols=4)
        return _save(fig, out, an.name, options)


def tex_or(text: str) -> str:
    """``text`` in mathtext (see :func:`cevns.analyses.style.tex`); empty stays empty."""
    from cevns.analyses.style import tex

    return tex(text) if text else ""


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


def _finite(delta: np.ndarray) -> np.ndarray:
    """Δχ² with non-finite cells (unphysical corners) set far above every contour level."""
    finite = delta[np.isfinite(delta)]
    big = max(float(finite.max()) if finite.size else 1.0, 1.0) * 1e3
    return np.where(np.isfinite(delta), delta, big)


def _truth_point(an: SensitivityBase, variant: Variant | None) -> tuple[float, float] | None:
    """The Asimov truth (x, y) if both coordinates are known numbers, else None."""
    scenario = an.scenario.build(variant.options if variant else None)
    point = []
    for axis in an.axes():
        value = an.truth.get(axis.parameter)
        if value is None:
            p = scenario.parameters.get(axis.parameter)
            value = p.default if p is not None else math.nan
        point.append(float(value))
    return (point[0], point[1]) if all(math.isfinite(v) for v in point) else None


def plot_scan2d(an: Scan2DAnalysis, x, y, variants, grids, out: Path,
                options: RunOptions) -> list[Path]:
    """Δχ² contours: one panel per detector (levels as line styles) or per variant (detectors as
    colours). No best-fit marker: in an Asimov projection the minimum is the injected point (shown
    as an open circle where it is inside the grid), and along a flat valley the grid minimum is
    arbitrary."""
    from matplotlib.lines import Line2D

    from cevns.analyses.style import detector_label, detector_style, figure_legend, styled, tex

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
    with styled():
        fig, axes = figure(nrows, ncols, width="single" if n == 1 else "double", aspect=0.75,
                           legend_rows=1, titles=any(p[0] for p in panels),
                           sharex=True, sharey=True)
        for ax, (title, variant, members) in zip(axes.flat, panels, strict=False):
            for name, scan in members:
                delta = _finite(scan.delta_chi2).T
                if len(members) == 1:
                    st = detector_style(name)
                    for k, lv in enumerate(an.stats.levels):
                        level = level_value(lv)
                        if np.nanmax(delta) > level:
                            ax.contour(x, y, delta, levels=[level], colors=st["color"],
                                       linewidths=1.2, linestyles=[level_styles[k % 3]])
                        handles.setdefault(f"lv{k}", Line2D(
                            [], [], color="0.2", lw=1.2, linestyle=level_styles[k % 3],
                            label=_short_level(lv)))
                else:
                    st = detector_style(name)
                    level = level_value(an.stats.levels[-1])
                    if np.nanmax(delta) > level:
                        ax.contour(x, y, delta, levels=[level], colors=st["color"],
                                   linewidths=st["linewidth"], linestyles=[st["linestyle"]])
                    handles.setdefault(name, Line2D([], [], label=detector_label(name), **st))
            truth = _truth_point(an, variant)
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


def _tie_ratio(an: ExclusionAnalysis, variant: Variant, name: str) -> float:
    tie = variant.ties.get(name) or an.ties.get(name)
    if tie is None or tie.to != an.x.parameter:
        raise ConfigError(f"secondary_x {name!r}: every variant must tie it to {an.x.parameter!r}")
    return tie.ratio


@register_kind("exclusion", ExclusionAnalysis, "exclusion curves in a (shape, strength) plane")
def run_exclusion(an: ExclusionAnalysis, out: Path, options: RunOptions) -> list[Path]:
    from cevns.analyses.edges import refined_exclusion

    x, y = an.x.grid(options.quick), an.y.grid(options.quick)
    variants = an.variants or (Variant(label=an.scenario.options.get("interaction", an.name)),)
    rows, notes = [], []
    level = level_value(an.level)
    files: list[Path] = []
    curves, ratios = [], {}  # for the CF netCDF of all curves (analyses/cf.py)
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
    if not options.no_figures:
        files += plot_exclusion(an, x, y, variants, plotted, out, options)
    if not rows:
        raise ConfigError(f"{an.name}: no exclusion found inside the grid for any curve; "
                          "extend the coupling axis")
    files += write_table(rows, out, an.name, floatfmt=".6g")[:1]
    files.append(write_dataset(exclusion_dataset(an, curves, secondary=ratios or None),
                               out / f"{an.name}_exclusion.nc"))
    if notes:
        path = out / f"{an.name}_notes.md"
        path.write_text("\n".join(f"- {n}" for n in notes) + "\n")
        files.append(path)
    return files


def plot_exclusion(an: ExclusionAnalysis, x, y, variants, curves, out: Path,
                   options: RunOptions) -> list[Path]:
    """Exclusion curves (excluded above each curve).

    Colours: detectors (:func:`~cevns.analyses.style.detector_style`, combined in black) when a
    panel shows one variant; variants (:func:`~cevns.analyses.style.variant_style`) when one
    panel shows several. A tied second mass (``secondary_x``) gets its own panel to the right.
    The legend sits in an empty corner or above the panels, never on a curve.
    """
    from matplotlib.lines import Line2D

    from cevns.analyses.style import (
        detector_label,
        detector_style,
        figure_legend,
        place_legend,
        styled,
        tex,
        variant_style,
    )

    per_variant = an.panels == "per-variant"
    n_main = len(variants) if per_variant else 1
    step = 2 if an.secondary_x else 1
    n_panels = n_main * step
    # with a second mass axis every row is one variant: (m_X, m_4) side by side
    ncols = 1 if n_panels == 1 else 2 if n_panels in (2, 4) or an.secondary_x else 3
    nrows = int(np.ceil(n_panels / ncols))
    level = level_value(an.level)
    by_variant = not per_variant and len(variants) > 1
    handles: dict[str, Any] = {}
    with styled():
        fig, axes = figure(nrows, ncols, width="single" if n_panels == 1 else "double",
                           aspect=0.72, legend_rows=0 if n_panels == 1 else 1,
                           titles=per_variant, sharey=True)
        flat = list(axes.flat)
        for v_index, variant, ratio, name, delta, xv in curves:
            panel = (v_index if per_variant else 0) * step
            if by_variant:
                st = variant_style(v_index)
                st["linewidth"] = 1.5 if name == "combined" else 0.9
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
                ax.contour(xv * scale, y, delta.T, levels=[level], colors=st["color"],
                           linewidths=st["linewidth"], linestyles=[st["linestyle"]])
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
                    ax.set_xlim(x[0] * ratios[0], x[-1] * ratios[-1])
            ax.set_ylim(y[0], y[-1])
            ax.set_xlabel(_label(an, an.secondary_x if secondary else an.x.parameter,
                                 panel_variant))
            ax.set_ylabel(_label(an, an.y.parameter, panel_variant))
            ax.tick_params(labelleft=True)
            if per_variant:
                ax.set_title(tex(panel_variant.label))
        for ax in flat[n_panels:]:
            ax.set_visible(False)
        legend = list(handles.values())
        if n_panels == 1:
            place_legend(flat[0], legend, [h.get_label() for h in legend], outside="above",
                         ncols=2)
        elif legend:
            figure_legend(fig, legend, ncols=min(len(legend), 8))
        return _save(fig, out, an.name, options)


def ngi_benchmark_case(item: str = "fig6", variant_index: int = 0, n_tiles: int | None = 10,
                       n_points: int | None = None, workers: int | None = None):
    """``(task, grid, config, tile_shape)`` of one shipped NGI grid, for
    ``benchmarks/bench_executors.py --case cevns.analyses.sensitivity:ngi_benchmark_case``.

    `n_points` replaces the number of points of both axes (e.g. 200 for a 200 × 200 grid); with
    `workers`, the tile shape is the one :func:`scan_chi2` would plan for that many workers,
    else the grid is cut into `n_tiles` tiles of whole rows.
    """
    from cevns.analyses.catalogue import shipped_analysis
    from cevns.analyses.scan_plan import plan_tile_shapes
    from cevns.scan import Grid

    an = shipped_analysis(item)
    if n_points is not None:
        an = an.model_copy(update={"x": an.x.model_copy(update={"num": n_points}),
                                   "y": an.y.model_copy(update={"num": n_points})})
    axes = an.axes()
    grid = Grid({ax.parameter: ax.grid() for ax in axes})
    config = compute_config(an, variant_index, quick=False)
    if workers is not None:
        (tile_shape,) = plan_tile_shapes([grid.shape], len(an.detectors), workers)
    else:
        n_first = len(grid.axes[axes[0].parameter])
        tile_shape = (max(1, n_first // (n_tiles or 10)), len(grid.axes[axes[1].parameter]))
    return _grid_task, grid, config, tile_shape
