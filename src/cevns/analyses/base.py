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

Detectors and sources are looked up in the analysis's catalogue (docs/catalogue.md): the built-in
presets, the files of ``CEVNS_PRESETS`` (or the catalogue passed to :func:`load_analysis`), the
files of an optional ``presets = ["mine.toml"]`` key (paths relative to the analysis file), and
inline ``[detector.NAME]`` / ``[source.NAME]`` tables (the preset-file schema). When the file is
read, the definitions of the detectors and the source it uses are copied into the validated
analysis (``detector`` and ``source.definitions``; ``presets`` becomes empty): the analysis then
carries everything its results depend on, its digest changes when a definition changes, and its
``config.json`` runs anywhere without the preset files.

Runners are registered with :func:`register_kind`; they receive the validated analysis and an
output folder and return the list of files they wrote.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationInfo, field_validator, model_validator

from cevns.config import StrictModel, load_toml, parse_json, read_user_text, validate
from cevns.errors import (
    ConfigError,
    KinematicsError,
    UnknownNameError,
    check_path_argument,
    is_bool,
)
from cevns.experiment import ESS_DETECTORS, Detector, Source, get_source
from cevns.experiment.catalogue import Catalogue, resolve_catalogue


class SourceChoice(StrictModel):
    """Which source, with optional overrides of its fields, and inline source definitions.

    In a file, scalar keys choose (``preset``) and override (``run_years``, ``baseline_m``);
    sub-tables ``[source.NAME]`` define sources (the preset-file schema). They are kept in
    ``definitions``; a validated analysis holds there the definition of the source it uses.
    """

    preset: str = "ess"
    run_years: float | None = Field(default=None, gt=0)
    baseline_m: float | None = Field(default=None, gt=0)
    definitions: dict[str, dict[str, Any]] = {}

    @model_validator(mode="before")
    @classmethod
    def _split_definitions(cls, data):
        if isinstance(data, dict):
            tables = {k: v for k, v in data.items()
                      if isinstance(v, dict) and k not in cls.model_fields}
            if tables:
                data = {k: v for k, v in data.items() if k not in tables}
                data["definitions"] = {**dict(data.get("definitions") or {}), **tables}
        return data

    def build(self) -> Source:
        """The validated :class:`Source` (its definition here, else the default catalogue)."""
        body = self.definitions.get(self.preset)
        if body is not None:
            body = {k: v for k, v in body.items() if k != "override"}
            src = validate(Source, {**body, "name": self.preset}, where=f"source.{self.preset}")
        else:
            src = get_source(self.preset)
        over = {k: v for k, v in (("run_years", self.run_years), ("baseline_m", self.baseline_m))
                if v is not None}
        if not over:
            return src
        if self.run_years is not None and src.pot_total is not None:
            raise ConfigError(f"source.run_years: source {self.preset!r} is a data period with "
                              f"a fixed exposure (pot_total = {src.pot_total:g}); its run time "
                              "cannot be changed")
        if self.baseline_m is not None:
            try:
                src.check_baseline_change()
            except ConfigError as exc:
                raise ConfigError(f"source.baseline_m: {exc}") from None
        return validate(Source, {**src.model_dump(), **over}, where="source")


#: Longest ``caption_note`` (characters): a few sentences, not a document.
MAX_CAPTION_NOTE = 2000


class AnalysisBase(StrictModel):
    """Header common to every analysis file."""

    schema_version: int = Field(ge=1, le=1)
    name: str
    title: str
    paper: str = ""
    caption_note: str = Field(default="", description="sentences added to the figure's caption "
                              "(a feature of the result worth a word: a kink and its cause, "
                              "curves that coincide); presentation only")
    kind: str
    detectors: tuple[str, ...] = ESS_DETECTORS
    source: SourceChoice = SourceChoice()
    presets: tuple[str, ...] = Field(default=(), description="preset files, relative to the "
                                     "analysis file (empty once the analysis is validated)")
    detector: dict[str, dict[str, Any]] = Field(default_factory=dict, description="inline "
                                                "detector definitions (preset-file schema)")
    detector_overrides: dict[str, dict[str, Any]] = {}
    helm_skin_fm: float | None = Field(default=None, gt=0, le=3.0,
                                       description="Helm surface thickness of every detector's "
                                       "targets; None = each preset's own (1.0 fm)")

    @model_validator(mode="before")
    @classmethod
    def _resolve_names(cls, data, info: ValidationInfo):
        """Resolve detector and source names in the analysis's catalogue; keep their definitions.

        Context (optional): ``catalogue`` (default :meth:`Catalogue.default`), ``base_dir`` (the
        folder ``presets`` paths are relative to; default the current one) and ``where`` (the file
        name shown in errors).
        """
        if not isinstance(data, dict):
            return data
        from cevns.analyses.checks import check_detector_names

        # before the names are resolved: a list of distinct names (a detector listed twice
        # would be counted twice in every combination), for every kind, plug-ins included
        return resolve_analysis_names(check_detector_names(data), info.context or {})

    @field_validator("caption_note")
    @classmethod
    def _short_note(cls, value: str) -> str:
        if len(value) > MAX_CAPTION_NOTE:
            raise ConfigError(f"{len(value)} characters, at most {MAX_CAPTION_NOTE} (a few "
                              "sentences added to the figure's caption); shorten it")
        return value

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        from cevns.errors import OutputError
        from cevns.fsio import check_slug

        try:
            return check_slug(value, "name")
        except OutputError as exc:  # pydantic reports ValueError with the field's location
            raise ValueError(str(exc)) from None

    @field_validator("detectors")
    @classmethod
    def _some_detectors(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one detector is needed")
        return value

    @model_validator(mode="after")
    def _detectors_buildable(self) -> AnalysisBase:
        # whole-file validation: every detector override, and the source with its overrides
        # (run_years, baseline_m), is checked when the file is read, before anything is
        # computed or written
        detectors = self.build_detectors()
        source = self.source.build()
        for det in detectors:  # a source above a detector's recoil range (docs/sources.md)
            det.check_source(source)
        return self

    def build_detectors(self, overrides: dict[str, dict[str, Any]] | None = None,
                        where: str = "detector_overrides") -> list[Detector]:
        """Detector presets with this analysis's Helm skin and overrides applied and validated.

        The analysis-level ``helm_skin_fm`` becomes each detector's field (so it is part of every
        cache key); ``detector_overrides`` (or ``overrides``, if given) may still set another value
        per detector. Errors in the overrides name ``where`` (e.g.
        ``variants[1].detector_overrides``).
        """
        overrides = self.detector_overrides if overrides is None else overrides
        return build_detector_list(self.detectors, self.detector, overrides, self.helm_skin_fm,
                                   where=where)

    def digest(self) -> str:
        """sha256 of the canonical JSON of the resolved analysis (first 16 hex digits): the
        digest of its configuration record (:func:`cevns.provenance.config_digest`)."""
        from cevns.provenance import config_digest

        return config_digest(self.model_dump(mode="json"))


def build_detector_list(names, definitions: dict[str, dict[str, Any]],
                        overrides: dict[str, dict[str, Any]],
                        helm_skin_fm: float | None = None,
                        where: str = "detector_overrides") -> list[Detector]:
    """The validated detectors ``names`` from their resolved ``definitions`` (preset-file schema),
    with ``helm_skin_fm`` (if not None) and the per-detector ``overrides`` applied.

    Raises :class:`ConfigError` for an override of a detector not in ``names``, an override of
    its ``name`` (results are labelled by the names of ``detectors``: a renamed detector's result
    would be lost, or merged into another's), an invalid merged definition (naming
    ``where.NAME``, by default ``detector_overrides.NAME``), or two detectors whose names differ
    only in letter case (they become file names).
    """
    unknown = set(overrides) - set(names)
    if unknown:
        raise ConfigError(f"{where}: {sorted(unknown)} not among detectors {list(names)}")
    for name, over in overrides.items():
        if isinstance(over, dict) and "name" in over:
            raise ConfigError(
                f"{where}.{name}.name: a detector cannot be renamed here (its results "
                f"are labelled {name!r}, the name in detectors); to use a changed copy under "
                f"another name, define it as [detector.NEWNAME] and list NEWNAME in detectors "
                "(docs/catalogue.md)")
    out = []
    for name in names:
        body = definitions.get(name)
        if body is None:  # not reachable for a validated analysis: names are resolved when read
            raise UnknownNameError("detector", name, definitions)
        body = {k: v for k, v in body.items() if k != "override"}
        det = validate(Detector, {**body, "name": name}, where=f"detector.{name}")
        over = dict(overrides.get(name, {}))
        if helm_skin_fm is not None:
            over = {"helm_skin_fm": helm_skin_fm, **over}
        if over:
            merged = _deep_merge(det.model_dump(), over)
            try:
                det = validate(Detector, merged, where=f"{where}.{name}")
            except KinematicsError as exc:  # raised by the detector's own check: name the table
                raise KinematicsError(f"{where}.{name}: {exc}") from None
        same = [d.name for d in out if d.name.lower() == det.name.lower()]
        if same:  # distinct keys of one catalogue; letter case alone would clash in file names
            raise ConfigError(f"detectors: {same[0]!r} and {det.name!r} differ only in letter "
                              "case; their output files would clash: rename one")
        out.append(det)
    return out


def resolve_analysis_names(data: dict, context: dict) -> dict:
    """The analysis document ``data`` with its detector and source names resolved (see
    :meth:`AnalysisBase._resolve_names`): every used definition copied in, ``presets`` emptied.

    Raises :class:`ConfigError` for a missing preset file, a name clash, or an unknown name (listing
    the names of the analysis's catalogue).
    """
    where = context.get("where") or "analysis file"
    presets = data.get("presets") or ()
    if isinstance(presets, str) or not all(isinstance(p, str) for p in presets):
        raise ConfigError(f"presets: a list of preset file paths, got {presets!r}")
    catalogue = resolve_catalogue(context.get("catalogue"))
    base_dir = Path(context.get("base_dir") or ".")
    for i, p in enumerate(presets):
        if not p.strip():  # Path("") is the current folder: "is a folder" would puzzle
            raise ConfigError(f"presets[{i}]: empty path {p!r}; give the path of a preset TOML "
                              "file, relative to the analysis file (docs/catalogue.md)")
        path = Path(p) if Path(p).is_absolute() else base_dir / p
        try:
            catalogue = catalogue.merged(Catalogue.from_file(path))
        except ConfigError as exc:
            raise ConfigError(f"presets: {exc}") from None
    source = data.get("source", {})
    if isinstance(source, SourceChoice):
        chosen = "preset" in source.model_fields_set
        source = source.model_dump()
    else:
        chosen = isinstance(source, dict) and "preset" in source
    source = SourceChoice._split_definitions(dict(source)) if isinstance(source, dict) else source
    inline_det = data.get("detector") or {}
    if not isinstance(source, dict) or not isinstance(inline_det, dict):
        return data  # wrong types: the field validators name them
    inline_src = source.get("definitions") or {}
    # inline tables: default_source is not checked (the analysis uses source.preset; a config.json
    # carries the definition of that source alone, not of a detector's default_source)
    catalogue = catalogue.merged(Catalogue.from_tables(source=inline_src, detector=inline_det,
                                                       origin=where, base_dir=base_dir),
                                 check_default_sources=False)
    names = data.get("detectors", ESS_DETECTORS)
    if isinstance(names, str):
        names = [names]
    bad = [d for d in names if d not in catalogue.detectors]
    if bad:
        raise ConfigError(f"detectors: unknown detector(s) {bad}; the catalogue has: "
                          f"{', '.join(catalogue.detector_names())} (docs/catalogue.md)")
    preset = source.get("preset") if chosen else _default_source(names, data, catalogue)
    if not isinstance(preset, str):
        return data  # a list or table as the name: the field validator names it
    if not chosen:
        source = {**source, "preset": preset}
        if preset not in catalogue.sources:
            raise ConfigError(f"source.preset: not given, and the detectors' default_source "
                              f"{preset!r} is not a source of the catalogue: "
                              f"{', '.join(catalogue.source_names())}; name one with [source] "
                              "preset = \"NAME\" (docs/catalogue.md)")
    if preset not in catalogue.sources:
        raise ConfigError(f"source.preset: unknown source {preset!r}; the catalogue has: "
                          f"{', '.join(catalogue.source_names())} (docs/catalogue.md)")
    resolved_det = {**inline_det,
                    **{n: catalogue.entry("detector", n).definition() for n in names}}
    resolved_src = {**inline_src, preset: catalogue.entry("source", preset).definition()}
    return {**data, "presets": (), "detector": resolved_det,
            "source": {**source, "definitions": resolved_src}}


def _default_source(names: list, data: dict, catalogue: Catalogue) -> str | None:
    """The source of an analysis whose ``[source]`` names no ``preset``: the ``default_source``
    its detectors share (with ``detector_overrides`` applied), ``ess`` for the built-in
    detectors. ``None`` where an override is not a name (its validator says so); a
    :class:`ConfigError` where the detectors' defaults differ."""
    overrides = data.get("detector_overrides") or {}
    defaults = {}
    for name in names:
        over = overrides.get(name) if isinstance(overrides, dict) else None
        if isinstance(over, dict) and "default_source" in over:
            defaults[name] = over["default_source"]
        else:
            defaults[name] = catalogue.entry("detector", name).value.default_source
    if not all(isinstance(v, str) for v in defaults.values()):
        return None
    if len(set(defaults.values())) > 1:
        listed = ", ".join(f"{n}: {s}" for n, s in defaults.items())
        raise ConfigError(f"source.preset: not given, and the detectors have different default "
                          f"sources ({listed}); name one with [source] preset = \"NAME\" "
                          "(docs/catalogue.md)")
    return next(iter(defaults.values()), "ess")


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
    """Options of a run that do not change results' meaning (speed and presentation).

    Checked when made (:meth:`check`, again by :func:`run_analysis`), with a
    :class:`~cevns.errors.ConfigError` naming the field: the flags are ``True`` or ``False``
    (``force="no"`` would be true), ``resume`` and ``force`` exclude each other, as ``pdf`` and
    ``no_figures`` do (the rules of ``cevns run``), ``executor`` is what
    :func:`cevns.scan.make_executor` takes (a name, a scheduler address, a spec mapping with
    valid options, an executor object), the callbacks are callables or ``None`` and ``extra``
    is a dict.
    """

    quick: bool = False
    #: where the scans run: ``"serial"``, ``"processes"``, ``"dask"``, a scheduler address, a
    #: spec mapping ``{"name": ..., **options}`` or an executor (:func:`cevns.scan.make_executor`)
    executor: Any = "serial"
    resume: bool = False
    #: write into a folder holding results of another configuration, or files cevns did not
    #: write (``--force``); without it such a folder is refused (:func:`run_analysis`)
    force: bool = False
    progress: Callable[[str, int, int], None] | None = None
    extra: dict = field(default_factory=dict)
    #: also write every figure as PDF (PNG only by default)
    pdf: bool = False
    #: write no figures at all (tables, grids and contours only): scan-only runs
    no_figures: bool = False
    #: ``on_figure(stem, fig)`` is called with every figure after it is saved (figure checks)
    on_figure: Callable[[str, Any], None] | None = None

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Raise a :class:`~cevns.errors.ConfigError` naming the first field that is wrong (see
        the class); :func:`run_analysis` asks again, since a field may be set after the options
        are made."""
        for name in ("quick", "resume", "force", "pdf", "no_figures"):
            value = getattr(self, name)
            if not is_bool(value, scalar_only=True):  # "no" or 0 would be read as a flag
                raise ConfigError(f"RunOptions.{name} must be True or False, got "
                                  f"{type(value).__name__} {value!r:.80}")
        if self.resume and self.force:  # the words of the command line's refusal
            raise ConfigError("RunOptions: resume=True continues the results in the folder, "
                              "force=True replaces them: give one of them")
        if self.pdf and self.no_figures:
            raise ConfigError("RunOptions: pdf=True writes every figure also as PDF, "
                              "no_figures=True writes no figure: give one of them")
        self._check_executor()
        for name, call in (("progress", "progress(label, done, total)"),
                           ("on_figure", "on_figure(stem, fig)")):
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise ConfigError(f"RunOptions.{name} must be a function called as {call}, or "
                                  f"None; got {type(value).__name__} {value!r:.80}")
        if not isinstance(self.extra, dict):
            raise ConfigError(f"RunOptions.extra must be a dict, got "
                              f"{type(self.extra).__name__} {self.extra!r:.80}")

    def _check_executor(self) -> None:
        """``executor`` as :func:`cevns.scan.make_executor` takes it: made here (nothing starts
        before :meth:`~cevns.scan.executors.Executor.start`), so that an unknown name, a spec
        option the executor does not take or a wrong number of workers is refused now, not when
        the first scan runs."""
        from cevns.scan.executors import make_executor

        try:
            make_executor(self.executor)
        except ConfigError as exc:
            raise ConfigError(f"RunOptions.executor: {exc}") from None

    def _executor_record(self) -> Any:
        """The executor as the run's ``provenance.json`` names it: a name, an address or a spec
        as given (JSON), an executor object by its description (``"processes(max_workers=2)"``)."""
        from collections.abc import Mapping

        executor = self.executor
        if isinstance(executor, str):
            return executor
        if isinstance(executor, Mapping):
            return json.loads(json.dumps(dict(executor), default=str))
        from cevns.scan.executors import make_executor

        return make_executor(executor).describe()


_KINDS: dict[str, Kind] = {}


def register_kind(name: str, model: type[AnalysisBase], description: str = ""):
    """Decorator registering the runner of analysis kind ``name``.

    A runner defined in this package (a module of :mod:`cevns.analyses`) is a built-in kind; any
    other first makes sure the built-in kinds are registered, so that it cannot take their names.
    A :class:`ConfigError` refuses a name that is taken or not a slug, a runner that cannot be
    called as ``runner(analysis, out, options)``, and the same runner again with another model or
    description. At run time, a runner must return a list of the paths of the files it wrote
    (:func:`run_analysis` checks them).
    """

    def deco(func):
        if not _is_builtin(func):
            _import_builtin_kinds()  # a user's kind named like a built-in one is refused
        problem = _kind_problem(name, Kind(model=model, run=func, description=description))
        if problem:
            raise ConfigError(f"register_kind: {problem}")
        _KINDS[name] = Kind(model=model, run=func, description=description)
        from cevns.plugins import record

        record("analysis kind", name, func)  # an error in its code is then named as the plug-in's
        return func

    return deco


def _is_builtin(func: object) -> bool:
    """True for a runner defined in a module of the :mod:`cevns.analyses` package."""
    module = getattr(func, "__module__", None)
    return isinstance(module, str) and module.startswith(f"{_BUILTIN_PACKAGE}.")


_BUILTIN_PACKAGE = "cevns.analyses"


@functools.cache
def _builtin_kind_modules(package: str = _BUILTIN_PACKAGE) -> tuple[str, ...]:
    """The modules of ``package`` (sub-packages included) whose source applies
    ``@register_kind(``, sorted: those that register the built-in kinds when imported.

    Derived from the package's files, which are read, not imported (importing every module of
    the package would load matplotlib and the HEPData writer for a command that needs neither),
    so a built-in kind that moves to another module is still found. Read once per process.
    """
    import importlib.resources
    import re

    applies = re.compile(r"^@register_kind\(", re.MULTILINE)
    found = []

    def walk(folder, prefix: str) -> None:
        for entry in folder.iterdir():
            if entry.is_dir() and entry.joinpath("__init__.py").is_file():
                walk(entry, f"{prefix}.{entry.name}")
            elif entry.name.endswith(".py") and applies.search(entry.read_text(encoding="utf-8")):
                stem = entry.name[:-3]
                found.append(prefix if stem == "__init__" else f"{prefix}.{stem}")

    walk(importlib.resources.files(package), package)
    return tuple(sorted(found))


def _import_builtin_kinds() -> None:
    """Import the modules of the built-in analysis kinds (they register themselves)."""
    import importlib

    for module in _builtin_kind_modules():
        importlib.import_module(module)


def _kind_problem(name: object, kind: object) -> str | None:
    """Why ``kind`` cannot be registered as ``name``, or None: not a :class:`Kind` with an
    :class:`AnalysisBase` schema and a callable runner, or a name another runner already has (a
    second ``"profile"`` would silently replace the built-in one)."""
    if not isinstance(kind, Kind):
        return f"expected a cevns.analyses.base.Kind, got {kind!r}"
    if not isinstance(name, str) or not name:
        return f"an analysis kind name must be a non-empty string, got {name!r}"
    from cevns.plugins import name_problem

    problem = name_problem(name, "analysis kind")  # a slug, as scenarios and overlays
    if problem:
        return problem
    if not (isinstance(kind.model, type) and issubclass(kind.model, AnalysisBase)):
        return f"analysis kind {name!r}: its model must be an AnalysisBase subclass, got {kind.model!r}"
    if not callable(kind.run):
        return f"analysis kind {name!r}: its runner is not callable ({kind.run!r})"
    try:
        signature = inspect.signature(kind.run)
    except (TypeError, ValueError):  # a builtin without a signature: trust it
        signature = None
    if signature is not None:
        try:
            signature.bind(None, None, None)
        except TypeError:
            return (f"analysis kind {name!r}: its runner {_qualname(kind.run)}{signature} cannot "
                    "be called as runner(analysis, out, options)")
    known = _KINDS.get(name)
    if known is not None and known is not kind and known.run is not kind.run:
        return f"analysis kind {name!r} is already taken by {_qualname(known.run)}; choose another name"
    if known is not None and (known.model, known.description) != (kind.model, kind.description):
        return (f"analysis kind {name!r} is already registered with model "
                f"{_qualname(known.model)} and description {known.description!r}; registering "
                "its runner again with others would change it")
    return None


def _checked_files(name: str, run: object, files: object) -> list[Path]:
    """The files a runner of analysis kind ``name`` says it wrote, or a :class:`ConfigError`
    naming the kind: a runner returns a list of the paths of the files it wrote."""
    where = f"analysis kind {name!r} (runner {_qualname(run)})"
    expected = "a runner returns a list of the paths of the files it wrote"
    if not isinstance(files, (list, tuple)):
        shown = "None" if files is None else f"{type(files).__name__} {files!r:.80}"
        raise ConfigError(f"{where} returned {shown}; {expected}")
    for f in files:
        if not isinstance(f, (str, os.PathLike)):
            raise ConfigError(f"{where} returned {type(f).__name__} {f!r:.80} among its files; "
                              f"{expected}")
        if not Path(f).exists():
            raise ConfigError(f"{where} returned {str(f)!r}, which does not exist; {expected}")
    return [Path(f) for f in files]


def _qualname(obj: object) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def kinds() -> dict[str, Kind]:
    """Registered analysis kinds: built-in, registered in code, and plug-ins (entry-point group
    ``cevns.analysis_kinds``, each pointing at a :class:`Kind`)."""
    from cevns.plugins import ANALYSIS_KIND_GROUP, PluginError, load_group

    _import_builtin_kinds()
    for name, obj, where in load_group(ANALYSIS_KIND_GROUP):
        problem = _kind_problem(name, obj)
        if problem:
            raise PluginError(f"{where}: {problem}")
        _KINDS[name] = obj
    return dict(_KINDS)


def parse_analysis(data: dict, where: str = "analysis", *, catalogue: Catalogue | None = None,
                   base_dir: str | Path | None = None) -> AnalysisBase:
    """Validate an analysis document (already parsed TOML) against the schema of its kind.

    Detector and source names are resolved in ``catalogue`` (default
    :meth:`Catalogue.default`: built-ins + ``CEVNS_PRESETS``) plus the document's ``presets``
    files (relative to ``base_dir``, default the current folder) and inline tables.
    """
    if not isinstance(data, dict) or "kind" not in data:
        raise ConfigError(f"{where}: missing key 'kind'; valid kinds: {', '.join(sorted(kinds()))}")
    registry = kinds()
    if not isinstance(data["kind"], str):
        raise ConfigError(f"{where}.kind: Input should be a valid string, one of "
                          f"{', '.join(sorted(registry))} (got {data['kind']!r})")
    if data["kind"] not in registry:
        raise UnknownNameError("analysis kind", str(data["kind"]), registry)
    context = {"catalogue": resolve_catalogue(catalogue), "base_dir": base_dir, "where": where}
    return validate(registry[data["kind"]].model, data, where=where, context=context)


def load_analysis(path: str | Path, catalogue: Catalogue | None = None) -> AnalysisBase:
    """Read and validate an analysis TOML file (names resolved as in :func:`parse_analysis`;
    ``presets`` paths relative to the file's folder).

    A file whose name ends in ``.json`` is read as JSON: the ``config.json`` a run writes into
    its output folder (the validated analysis, with the definitions it uses) runs again as it is.
    """
    path = Path(path)
    if path.suffix.lower() == ".json":
        data = parse_json(read_user_text(path, str(path), "JSON"), str(path))
        if isinstance(data, dict) and data.get("command") == "fit":
            raise ConfigError(f"{path}: the record of a 'cevns fit', not an analysis; run it "
                              "again with 'cevns fit'")
    else:
        data = load_toml(path)
    return parse_analysis(data, where=path.name, catalogue=catalogue, base_dir=path.parent)


def run_analysis(analysis: AnalysisBase, out_dir: str | Path,
                 options: RunOptions | None = None) -> dict:
    """Run ``analysis`` into ``out_dir``; write ``config.json`` and ``provenance.json`` beside.

    The folder is checked first (:func:`cevns.provenance.claim_output_folder`, the check of
    ``cevns run``): a folder holding another configuration, results of another command or files
    cevns did not write is refused unless ``options.force``; a corrupt record is reported.
    When the results replace those of another configuration (``force``), the files the folder's
    previous record lists and this run does not write again are removed
    (:func:`cevns.provenance.remove_stale_outputs`, as ``cevns fit`` does), so that the folder
    holds no result of the old configuration beside the new ones; files the old record does not
    list (a user's own) stay. Returns the provenance record (files written, wall time, digest).
    A second writer of the folder (another process) is refused while this one runs
    (:func:`cevns.provenance.output_lock`). The arguments are checked first
    (:class:`~cevns.errors.ConfigError`): ``analysis`` a validated analysis, ``out_dir`` a
    non-empty ``str`` or ``os.PathLike``, ``options`` ``None`` or a :class:`RunOptions`
    (:meth:`RunOptions.check`).
    """
    from cevns.provenance import output_lock

    if not isinstance(analysis, AnalysisBase):
        raise ConfigError(f"run_analysis: analysis must be an analysis (load_analysis, "
                          f"parse_analysis or shipped_analysis), got {type(analysis).__name__} "
                          f"{analysis!r:.80}")
    check_path_argument(out_dir, "run_analysis: out_dir", kind="folder path",
                        give="give the output folder")
    if options is None:
        options = RunOptions()
    elif not isinstance(options, RunOptions):  # not a dict either ({} ran with the defaults)
        hint = "; RunOptions(**options) makes them from a dict" if isinstance(options, dict) else ""
        raise ConfigError(f"run_analysis: options must be a cevns.analyses.RunOptions or None, "
                          f"got {type(options).__name__} {options!r:.80}{hint}")
    options.check()  # a field may have been set after the options were made
    if not options.no_figures:  # figure text that cannot be drawn: before anything is computed
        from cevns.analyses.mathtext import check_drawn_text

        check_drawn_text(analysis, analysis.name)
    if options.extra.get("folder_locked"):  # a worker of cevns.analyses.schedule: the driver
        return _run_analysis(analysis, out_dir, options)  # holds the folder's lock
    with output_lock(out_dir):  # one writer per folder (re-entrant: a caller may hold it)
        return _run_analysis(analysis, out_dir, options)


def _run_analysis(analysis: AnalysisBase, out_dir: str | Path, options: RunOptions) -> dict:
    """:func:`run_analysis` under the folder's lock."""
    from cevns import fsio
    from cevns.provenance import (
        claim_output_folder,
        provenance_record,
        recorded_outputs,
        remove_stale_outputs,
    )

    # before the claim: the record of the folder's previous run (its config.json may already
    # name this configuration: the command line claims the folder before it gets here)
    old_digest, old_files = (recorded_outputs(out_dir) if Path(out_dir).is_dir()
                             else (None, []))
    out = claim_output_folder(out_dir, analysis.model_dump(mode="json"), resume=options.resume,
                              force=options.force, outputs=(analysis.name,))
    start = time.perf_counter()
    kind = kinds()[analysis.kind]
    files = _checked_files(analysis.kind, kind.run, kind.run(analysis, out, options))
    wall = time.perf_counter() - start
    # wall_time_s is the item's elapsed time: from its first task to its last. On a parallel
    # executor its tiles were computed before this call, in a queue shared with the other
    # items (cevns.analyses.schedule), so the elapsed time includes their turns too.
    started = options.extra.get("started_at")  # when its first round began (time.time())
    if started is not None:
        wall = max(wall, time.time() - started)
    fsio.atomic_write_text(fsio.inside(out, "config.json"),
                           json.dumps(analysis.model_dump(mode="json"), indent=2) + "\n")
    root = out.resolve()
    digest = analysis.digest()
    written = [str(fsio.inside(root, str(Path(f).resolve())).relative_to(root)) for f in files]
    if old_files and old_digest != digest:  # the results of another configuration
        remove_stale_outputs(out, old_files, written)
    record = provenance_record(digest=digest, executor=options._executor_record(),
                               wall_time_s=wall, quick=options.quick, files=written)
    fsio.atomic_write_text(fsio.inside(out, "provenance.json"), json.dumps(record, indent=2) + "\n")
    return record
