"""Analysis files: one declarative TOML file per paper figure or table.

Every analysis file has the common header below and a ``kind`` that selects the runner and the
schema of the remaining keys (``extra="forbid"``: a typo is an error with its dotted path)::

    schema_version = 1
    name = "fig1"
    title = "Standard-Model CEvNS spectra at the ESS"
    paper = "Fig. 1"
    kind = "spectra"
    detectors = ["CsI", "Xe", "Ge", "Si"]

    [source]              # optional: preset name and overrides
    preset = "ess"
    run_years = 3

    [detector_overrides.CsI]   # optional: any Detector field, e.g. Appendix B thresholds
    threshold_keVnr = 5.0

Runners are registered with :func:`register_kind`; they receive the validated analysis and an
output folder and return the list of files they wrote.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from cevns.config import StrictModel, load_toml, validate
from cevns.errors import ConfigError, UnknownNameError
from cevns.experiment import Detector, Source, detector_names, get_detector, get_source


class SourceChoice(StrictModel):
    """Which source preset, with optional overrides of its fields."""

    preset: str = "ess"
    run_years: float | None = Field(default=None, gt=0)
    baseline_m: float | None = Field(default=None, gt=0)

    def build(self) -> Source:
        """The validated :class:`Source`."""
        src = get_source(self.preset)
        over = {k: v for k, v in (("run_years", self.run_years), ("baseline_m", self.baseline_m))
                if v is not None}
        if not over:
            return src
        return validate(Source, {**src.model_dump(), **over}, where="source")


class AnalysisBase(StrictModel):
    """Header common to every analysis file."""

    schema_version: int = Field(ge=1, le=1)
    name: str
    title: str
    paper: str = ""
    kind: str
    detectors: tuple[str, ...] = ("CsI", "Xe", "Ge", "Si", "Ar", "C3F8")
    source: SourceChoice = SourceChoice()
    detector_overrides: dict[str, dict[str, Any]] = {}
    helm_skin_fm: float | None = Field(default=None, gt=0, description="Helm surface thickness; "
                                       "None = the package default (1.0 fm)")

    def physics_settings(self):
        """Context manager applying this analysis's physics settings (the Helm skin)."""
        from contextlib import nullcontext

        from cevns.physics.form_factors import use_helm_skin
        from cevns.physics.units import fm

        return nullcontext() if self.helm_skin_fm is None else use_helm_skin(self.helm_skin_fm * fm)

    @field_validator("detectors")
    @classmethod
    def _known_detectors(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        valid = detector_names()
        bad = [d for d in value if d not in valid]
        if bad:
            raise ValueError(f"unknown detector(s) {bad}; valid choices: {', '.join(valid)}")
        if not value:
            raise ValueError("at least one detector is needed")
        return value

    def build_detectors(self) -> list[Detector]:
        """Detector presets with this analysis's overrides applied and validated."""
        unknown = set(self.detector_overrides) - set(self.detectors)
        if unknown:
            raise ConfigError(f"detector_overrides: {sorted(unknown)} not among detectors "
                              f"{list(self.detectors)}")
        out = []
        for name in self.detectors:
            det = get_detector(name)
            over = self.detector_overrides.get(name)
            if over:
                merged = _deep_merge(det.model_dump(), over)
                det = validate(Detector, merged, where=f"detector_overrides.{name}")
            out.append(det)
        return out

    def digest(self) -> str:
        """sha256 of the canonical JSON of the resolved analysis (first 16 hex digits)."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


@dataclass
class Kind:
    """A registered analysis kind: its schema and its runner."""

    model: type[AnalysisBase]
    run: Callable[[AnalysisBase, Path, RunOptions], list[Path]]
    description: str = ""


@dataclass
class RunOptions:
    """Options of a run that do not change results' meaning (speed and presentation)."""

    quick: bool = False
    executor: str = "serial"
    resume: bool = False
    progress: Callable[[str, int, int], None] | None = None
    extra: dict = field(default_factory=dict)
    #: also write every figure as PDF (PNG only by default)
    pdf: bool = False
    #: write no figures at all (tables, grids and contours only): scan-only runs
    no_figures: bool = False
    #: ``on_figure(stem, fig)`` is called with every figure after it is saved (figure checks)
    on_figure: Callable[[str, Any], None] | None = None


_KINDS: dict[str, Kind] = {}


def register_kind(name: str, model: type[AnalysisBase], description: str = ""):
    """Decorator registering the runner of analysis kind ``name``."""

    def deco(func):
        _KINDS[name] = Kind(model=model, run=func, description=description)
        return func

    return deco


def kinds() -> dict[str, Kind]:
    """Registered analysis kinds."""
    from cevns.analyses import runners, sensitivity  # noqa: F401  (registers the built-in kinds)

    return dict(_KINDS)


def parse_analysis(data: dict, where: str = "analysis") -> AnalysisBase:
    """Validate an analysis document (already parsed TOML) against the schema of its kind."""
    if not isinstance(data, dict) or "kind" not in data:
        raise ConfigError(f"{where}: missing key 'kind'; valid kinds: {', '.join(sorted(kinds()))}")
    registry = kinds()
    if data["kind"] not in registry:
        raise UnknownNameError("analysis kind", str(data["kind"]), registry)
    return validate(registry[data["kind"]].model, data, where=where)


def load_analysis(path: str | Path) -> AnalysisBase:
    """Read and validate an analysis TOML file."""
    path = Path(path)
    return parse_analysis(load_toml(path), where=path.name)


def run_analysis(analysis: AnalysisBase, out_dir: str | Path,
                 options: RunOptions | None = None) -> dict:
    """Run ``analysis`` into ``out_dir``; write ``config.json`` and ``provenance.json`` beside.

    Returns the provenance record (files written, wall time, digest).
    """
    from cevns.provenance import provenance_record

    options = options or RunOptions()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with analysis.physics_settings():
        files = kinds()[analysis.kind].run(analysis, out, options)
    wall = time.perf_counter() - start
    (out / "config.json").write_text(json.dumps(analysis.model_dump(mode="json"), indent=2) + "\n")
    record = provenance_record(digest=analysis.digest(), executor=options.executor,
                               wall_time_s=wall, quick=options.quick,
                               files=[str(Path(f).relative_to(out)) for f in files])
    (out / "provenance.json").write_text(json.dumps(record, indent=2) + "\n")
    return record
