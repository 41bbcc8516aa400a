"""The schema of the sensitivity kinds (``profile``, ``scan2d``, ``exclusion``), and the
:class:`SensitivityCompute` sub-model: exactly what a χ² grid depends on.

An analysis file mixes what is computed (scenario, truth, grid, detectors, statistics) with how it
is shown (title, labels, panels, tables, levels drawn, overlays). :meth:`SensitivityBase.compute`
extracts the first part, with one variant's changes merged in, as a :class:`SensitivityCompute`.
The χ² grid (:func:`cevns.analyses.sensitivity.compute.chi2_grid`) reads nothing else, and the
scan store is keyed on the digest of its JSON form: two analyses that differ only in presentation
share one store, and no field the numbers depend on can be left out of the key.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field, field_serializer, field_validator, model_validator

from cevns.analyses.base import AnalysisBase, SourceChoice, build_detector_list
from cevns.analyses.checks import check_axis_size, check_sensitivity
from cevns.analyses.mathtext import MathText
from cevns.config import StrictModel
from cevns.errors import ConfigError
from cevns.scenarios import get_scenario
from cevns.stats import level_value

Level = str | float
#: Range of the relative normalisation uncertainties σ_α, σ_β: from 0.01 % (a normalisation known
#: better than any measured one) to 1000 % (unconstrained); outside it 1/σ² under- or overflows.
SIGMA_MIN, SIGMA_MAX = 1e-4, 10.0

__all__ = [
    "AxisSpec",
    "ExclusionAnalysis",
    "ExternalRow",
    "Level",
    "ProfileAnalysis",
    "Scan2DAnalysis",
    "ScenarioChoice",
    "SensitivityBase",
    "SensitivityCompute",
    "StatsCompute",
    "StatsSpec",
    "Tie",
    "Variant",
    "stop_level_of",
]


class AxisSpec(StrictModel):
    """A grid axis: ``{start, stop, num, spacing}`` or explicit ``values``.

    ``spacing`` spaces ``start``/``stop``/``num``; with explicit ``values`` (used as given) it
    says whether the axis is logarithmic — the scale of an exclusion figure's axis — and
    ``"log"`` then needs every value > 0."""

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
            # explicit values are used as given; spacing then says the axis is logarithmic (the
            # scale of an exclusion figure's axis), which needs values > 0
            if self.spacing == "log" and min(v, default=1.0) <= 0:
                raise ValueError(f"spacing = 'log' (a logarithmic axis) needs values > 0, got "
                                 f"{min(v):g}; remove spacing for a linear axis")
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
        """The grid values (coarser with ``quick``: a quarter of the points, at least 11 but
        never more than the full grid; an explicit list keeps every fourth value and both
        ends)."""
        if self.values is not None:
            values = np.asarray(self.values, dtype=float)
            if quick and values.size > 11:
                keep = np.unique(np.r_[np.arange(0, values.size, 4), values.size - 1])
                values = values[keep]
            return values
        num = min(self.num, max(11, self.num // 4)) if quick else self.num
        if self.spacing == "log":
            return np.geomspace(self.start, self.stop, num)
        return np.linspace(self.start, self.stop, num)


class ScenarioChoice(StrictModel):
    """Scenario name and options (validated by the scenario itself)."""

    name: str
    options: dict[str, Any] = {}

    def build(self, extra: dict[str, Any] | None = None):
        """The scenario object (an option called ``name`` is an unknown option like any other: the
        scenario is chosen by :attr:`name`)."""
        return get_scenario(self.name, **{**self.options, **(extra or {})})


def check_level(level: Level) -> Level:
    """A field validator of a Δχ² level: a preset name or a finite number > 0 (checked when the
    file is read, not when the first table is written after the scan)."""
    try:
        v = level_value(level)
    except Exception as exc:  # stats raises ConfigError with the valid presets
        raise ValueError(str(exc)) from None
    if not v > 0:
        raise ValueError(f"Δχ² level must be > 0, got {level!r}")
    return level


class StatsSpec(StrictModel):
    """Statistics settings (docs/physics.md#likelihood; docs/statistics.md)."""

    sigma_signal: float = Field(default=0.10, ge=SIGMA_MIN, le=SIGMA_MAX,
                                description="σ_α, relative uncertainty of the signal "
                                "normalisation, in [1e-4, 10]")
    sigma_background: float = Field(default=0.01, ge=SIGMA_MIN, le=SIGMA_MAX,
                                    description="σ_β, relative uncertainty of the background "
                                    "normalisation, in [1e-4, 10]")
    # one α for all detectors: they share the source, whose flux is the dominant part of σ_α
    # (docs/assumptions.md); false: one α per detector
    shared_signal: bool = Field(default=True, description="one α for all detectors (the flux "
                                "is common); false: one α per detector")
    combine: bool = True
    levels: tuple[Level, ...] = ("1sigma_1dof", "90cl_1dof")

    @field_validator("levels")
    @classmethod
    def _levels(cls, value):
        for lv in value:
            check_level(lv)
        if not value:
            raise ValueError("at least one level is needed")
        seen = [level_value(lv) for lv in value]
        for i, v in enumerate(seen):
            for j in range(i):
                if abs(v - seen[j]) <= 1e-9 * v:  # one line drawn twice, one column twice
                    raise ConfigError(f"item {i} ({value[i]!r}) is the same Δχ² level ({v:.4g}) "
                                      f"as item {j} ({value[j]!r}); list each level once")
        return value


class StatsCompute(StrictModel):
    """The statistics settings that change χ² (the levels drawn do not)."""

    sigma_signal: float = Field(ge=SIGMA_MIN, le=SIGMA_MAX)
    sigma_background: float = Field(ge=SIGMA_MIN, le=SIGMA_MAX)
    shared_signal: bool
    combine: bool


class Tie(StrictModel):
    """Tie a parameter to another: ``value = ratio × other`` (e.g. m₄ = 0.5 m_X)."""

    to: str
    ratio: float = Field(gt=0)


class Variant(StrictModel):
    """One curve family of an exclusion plot: what differs from the analysis.

    Scenario options, fixed or tied parameters, detector overrides (Appendix B: thresholds,
    compositions) and statistics settings (σ_β): each updates the analysis's key by key.
    """

    label: MathText
    options: dict[str, Any] = {}
    fixed: dict[str, float] = {}
    ties: dict[str, Tie] = {}
    detector_overrides: dict[str, dict[str, Any]] = {}
    stats: StatsSpec | None = None

    @field_serializer("stats")
    def _stats_as_given(self, stats: StatsSpec | None):
        """Only the keys the variant sets: they update the analysis's (``variant_stats``), so a
        written ``config.json`` read again merges the same way."""
        return None if stats is None else stats.model_dump(mode="json", exclude_unset=True)


class SensitivityCompute(StrictModel):
    """Exactly the fields a χ² grid depends on (one variant merged in), nothing of presentation.

    Built by :meth:`SensitivityBase.compute`; the task of a scan tile receives its JSON form, and
    the scan store's digest is taken over it. ``detector`` and ``source.definitions`` hold the
    resolved definitions of the detectors and the source used, so that a changed user preset is
    never mistaken for the same computation; ``cevns_version`` keeps a store written by other code
    from being reused; ``stop_level`` is the Δχ² above which profiling may stop early (values
    above it are accurate to 0.1 % of the excess, docs/statistics.md).
    """

    axes: tuple[AxisSpec, ...] = Field(min_length=1)
    quick: bool = False
    detectors: tuple[str, ...] = Field(min_length=1)
    detector: dict[str, dict[str, Any]]
    detector_overrides: dict[str, dict[str, Any]] = {}
    helm_skin_fm: float | None = None
    source: SourceChoice
    scenario: ScenarioChoice
    truth: dict[str, float] = {}
    fixed: dict[str, float] = {}
    ties: dict[str, Tie] = {}
    stats: StatsCompute
    stop_level: float = Field(gt=0)
    combined_only: bool = Field(default=False, description="compute only the combined χ² (the "
                                "detectors' own are neither computed nor stored): set for "
                                "``per_detector = false`` when the combination is one joint fit")
    cevns_version: str

    def build_detectors(self):
        """The validated detectors (definitions, Helm skin and overrides applied)."""
        return build_detector_list(self.detectors, self.detector, self.detector_overrides,
                                   self.helm_skin_fm)

    def grids(self) -> dict[str, np.ndarray]:
        """Parameter name → grid values, in axis order."""
        return {ax.parameter: ax.grid(self.quick) for ax in self.axes}


def stop_level_of(levels) -> float:
    """Δχ² above which profiling may stop early: every level the analysis reads, and ≥ 25."""
    return max(25.0, *(level_value(lv) for lv in levels))


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

    def levels_read(self) -> list[Level]:
        """Every Δχ² level the analysis reads off its grids (drawn, tabulated or excluded)."""
        return [*self.stats.levels, *(lv for lv in (getattr(self, "level", None),
                                                    getattr(self, "table_level", None))
                                      if lv is not None)]

    def variant_stats(self, variant: Variant | None) -> StatsSpec:
        """The statistics settings in force for `variant`: the analysis's, with the keys the
        variant's ``stats`` sets replacing theirs (a variant that sets σ_β keeps the analysis's
        σ_α, ``shared_signal`` and ``combine``)."""
        if variant is None or variant.stats is None:
            return self.stats
        given = variant.stats.model_fields_set
        return self.stats.model_copy(update={k: getattr(variant.stats, k) for k in given})

    def combined_only(self, stats: StatsSpec) -> bool:
        """True if only the combined χ² is computed with the settings `stats` (those of a
        variant: :meth:`variant_stats`): ``per_detector = false`` draws the combination only,
        and with one shared α it is a joint fit of its own (docs/statistics.md), so the
        detectors' single fits, which cost as much again, are not needed (with one α per
        detector the combination is their sum, and they are)."""
        return bool(not getattr(self, "per_detector", True) and len(self.detectors) > 1
                    and stats.combine and stats.shared_signal)

    def compute(self, variant: Variant | int | None = None, quick: bool = False,
                stop_level: float | None = None) -> SensitivityCompute:
        """The :class:`SensitivityCompute` of this analysis with ``variant`` (an index into
        ``variants`` or a :class:`Variant`) merged in: its scenario options, fixed values and
        ties update the analysis's, its detector overrides are merged per detector, and its
        ``stats`` update the analysis's key by key (:meth:`variant_stats`).
        """
        import cevns

        if isinstance(variant, int):
            variant = self.variants[variant]  # type: ignore[attr-defined]
        stats, options, fixed, ties = self.stats, self.scenario.options, self.fixed, self.ties
        overrides = self.detector_overrides
        levels = self.levels_read()
        if variant is not None:
            options = {**options, **variant.options}
            fixed = {**fixed, **variant.fixed}
            ties = {**ties, **variant.ties}
            overrides = {d: {**overrides.get(d, {}), **variant.detector_overrides.get(d, {})}
                         for d in {*overrides, *variant.detector_overrides}}
            if variant.stats is not None:
                stats = self.variant_stats(variant)
                levels = [*levels, *stats.levels]
        source = self.source
        if self.source.preset in self.source.definitions:  # only the definition used
            source = source.model_copy(update={"definitions": {
                self.source.preset: self.source.definitions[self.source.preset]}})
        return SensitivityCompute(
            axes=tuple(self.axes()), quick=quick, detectors=self.detectors,
            detector={d: self.detector[d] for d in self.detectors},
            detector_overrides=overrides, helm_skin_fm=self.helm_skin_fm, source=source,
            scenario=ScenarioChoice(name=self.scenario.name, options=options),
            truth=self.truth, fixed=fixed, ties=ties,
            stats=StatsCompute(sigma_signal=stats.sigma_signal,
                               sigma_background=stats.sigma_background,
                               shared_signal=stats.shared_signal, combine=stats.combine),
            stop_level=stop_level or stop_level_of(levels),
            combined_only=self.combined_only(stats),
            cevns_version=cevns.__version__)


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
    reference_label: MathText = "paper"
    reference_note: str = Field(default="", description="where the paper's numbers come from, or "
                                "why there is no reference column; printed with the table")
    external: tuple[ExternalRow, ...] = ()
    xlabel: MathText = ""
    show: Literal["all", "combined"] = "all"

    @field_validator("table_level")
    @classmethod
    def _table_level(cls, value):
        return check_level(value)

    @field_validator("reference")
    @classmethod
    def _reference_ordered(cls, value: dict[str, tuple[float, float]]):
        for name, (lower, upper) in value.items():
            if lower > upper:
                raise ConfigError(f"{name} = [{lower:g}, {upper:g}]: the lower end is above the "
                                  "upper end; give [lower, upper]")
        return value

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
    fill_excluded: bool = Field(
        default=False, description="shade the region where Δχ² is above the last level (the "
        "combined curve only): for exclusion-type scans (Figs. 9, 18), where the boundary can "
        "oscillate and a line alone is hard to read; presentation only")

    @model_validator(mode="after")
    def _log_axes_positive(self) -> Scan2DAnalysis:
        # a logarithmic figure axis cannot show 0 or a negative value: matplotlib would drop the
        # limits and draw an empty figure with a warning
        for flag, name, axis in (("log_x", "x", self.x), ("log_y", "y", self.y)):
            first = float(axis.grid(quick=True)[0])
            if getattr(self, flag) and not first > 0:
                raise ConfigError(f"{flag} = true needs {'an' if name == 'x' else 'a'} {name} axis "
                                  f"above 0 ({axis.parameter} starts at {first:g}); start it above 0 "
                                  "or draw it linear")
        return self

    def axes(self):
        return [self.x, self.y]

    def truth_point(self, variant: Variant | None = None) -> tuple[float, float] | None:
        """The Asimov truth (x, y) of ``variant`` if both coordinates are known numbers (from
        ``truth`` or the scenario's parameter defaults), else None: a parameter whose true value
        depends on the detector (a neutron radius) has no single point to mark."""
        import math

        scenario = self.scenario.build(variant.options if variant else None)
        point = []
        for axis in self.axes():
            value = self.truth.get(axis.parameter)
            if value is None:
                p = scenario.parameters.get(axis.parameter)
                value = p.default if p is not None else math.nan
            point.append(float(value))
        return (point[0], point[1]) if all(math.isfinite(v) for v in point) else None


class ExclusionAnalysis(SensitivityBase):
    """Exclusion curves in a (shape, strength) plane (Figs. 6, 7, 10–14, 16, 19–23).

    ``overlays`` names curves of other experiments drawn over every main panel
    (:mod:`cevns.analyses.overlays`); an unknown name is an error when the file is read.
    """

    kind: Literal["exclusion"]
    x: AxisSpec
    y: AxisSpec
    level: Level = "90cl_2dof"
    variants: tuple[Variant, ...] = ()
    per_detector: bool = True
    panels: Literal["single", "per-variant", "per-detector"] = Field(
        default="single", description="'single': every curve in one panel; 'per-variant': one "
        "panel per variant (its detectors in it); 'per-detector': one panel per detector (and "
        "the combination), its variants in it")
    ratio_panel: bool = Field(
        default=False, description="beneath each panel, every variant's limit divided by the "
        "first variant's for the same detector (how much a setting changes the limit); needs "
        "two variants or more and panels that show several of them")
    secondary_x: str | None = None
    variant_column: str = "variant"
    x_column: str = "mass_MeV"
    y_column: str = "coupling"
    overlays: tuple[str, ...] = Field(default=(), description="names of registered overlays "
                                      "(cevns.analyses.overlays) drawn over the figure")

    @field_validator("level")
    @classmethod
    def _level(cls, value):
        return check_level(value)

    @model_validator(mode="after")
    def _panel_layout(self) -> ExclusionAnalysis:
        if not self.per_detector and len(self.detectors) > 1:
            for variant in self.variants or (None,):
                if not self.variant_stats(variant).combine:
                    where = f" (variant {variant.label!r})" if variant is not None else ""
                    raise ConfigError(
                        f"per_detector = false draws only the combined curve, but stats.combine "
                        f"= false{where} computes none; set combine = true, or per_detector = "
                        "true to draw each detector")
        if self.panels == "per-detector" and not self.per_detector:
            raise ConfigError("panels = 'per-detector' draws one panel per detector, but "
                              "per_detector = false keeps only the combined curve; use "
                              "panels = 'single'")
        if self.ratio_panel:
            if len(self.variants) < 2:
                raise ConfigError("ratio_panel = true divides every variant's limit by the "
                                  f"first one's; this analysis has {len(self.variants)} "
                                  "variant(s), it needs two or more")
            if self.panels == "per-variant":
                raise ConfigError("ratio_panel = true compares variants within a panel; with "
                                  "panels = 'per-variant' each panel holds one variant: use "
                                  "panels = 'single' or 'per-detector'")
            if self.secondary_x is not None:
                raise ConfigError("ratio_panel = true cannot be combined with secondary_x (a "
                                  "second mass panel per variant)")
            if self.panels == "single" and self.per_detector and len(self.detectors) > 1:
                raise ConfigError("ratio_panel = true with panels = 'single' and several "
                                  "detectors' curves would mix their ratios in one strip; use "
                                  "panels = 'per-detector' (or per_detector = false)")
        return self

    def axes(self):
        return [self.x, self.y]
