"""One catalogue of sources and detectors: the built-in presets plus the user's own files.

A :class:`Catalogue` is an immutable value: sources and detectors by name, each entry remembering
the file it came from. There is no process-wide registry: a catalogue is built from its inputs and
passed where names are resolved (``get_detector(name, catalogue=...)``, analysis files). See
``docs/catalogue.md``.

Layers, in order (each one merged onto the previous with :meth:`Catalogue.merged`):

1. the built-in presets (``cevns/presets/*.toml``, :meth:`Catalogue.builtin`);
2. the files listed in the environment variable ``CEVNS_PRESETS`` (``os.pathsep``-separated;
   :meth:`Catalogue.default` = 1 + 2);
3. files given explicitly (``cevns ... --presets FILE``, :meth:`Catalogue.with_files`);
4. in an analysis file, its ``presets = [...]`` files, then its inline ``[detector.NAME]`` and
   ``[source.NAME]`` tables.

Clash rule: a name defined again with *identical* content is fine (the first entry is kept); with
*different* content it is a :class:`~cevns.errors.ConfigError` naming both files, unless the later
entry says ``override = true`` (then it replaces the earlier one, built-in or not).

>>> from cevns.experiment.catalogue import Catalogue
>>> cat = Catalogue.builtin()
>>> cat.detector("CsI").mass_kg, cat.origin("detector", "CsI")
(22.5, 'cevns/presets/ess.toml')
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from pydantic import Field

from cevns.config import StrictModel, load_toml, validate
from cevns.errors import ConfigError, UnknownNameError
from cevns.experiment.detector import Detector
from cevns.experiment.source import Source

#: Environment variable listing user preset files (``os.pathsep``-separated).
PRESETS_ENV = "CEVNS_PRESETS"
#: Preset files shipped with the package, in load order.
PRESET_FILES = ("ess.toml", "coherent.toml", "facilities.toml")

Kind = Literal["source", "detector"]
_MODELS: dict[str, type] = {"source": Source, "detector": Detector}


class PresetFile(StrictModel):
    """Schema of a preset file: ``schema_version = 1`` and ``[source.NAME]`` /
    ``[detector.NAME]`` tables (each with the fields of :class:`Source` / :class:`Detector`, and an
    optional ``override = true``)."""

    schema_version: int = Field(ge=1, le=1)
    source: dict[str, dict] = {}
    detector: dict[str, dict] = {}


@dataclass(frozen=True)
class Entry:
    """One catalogue entry: the validated value, where it was defined, and its override flag."""

    value: Source | Detector
    origin: str
    override: bool = False

    def definition(self) -> dict[str, Any]:
        """The entry as a preset-file table body (JSON data; ``name`` left out)."""
        body = self.value.model_dump(mode="json", exclude={"name"})
        if self.override:
            body["override"] = True
        return body


def _entries(kind: Kind, tables: Mapping[str, Any], origin: str,
             context: dict | None = None) -> dict[str, Entry]:
    # context: where a source's relative spectrum_file is looked for (base_dir, or the packaged
    # folder of a built-in preset, checked against its SHA-256)
    out: dict[str, Entry] = {}
    model = _MODELS[kind]
    for name, body in tables.items():
        where = f"{origin}: {kind}.{name}"
        if not isinstance(body, Mapping):
            raise ConfigError(f"{where}: expected a table of {model.__name__} fields, got {body!r}")
        body = dict(body)
        override = body.pop("override", False)
        if not isinstance(override, bool):
            raise ConfigError(f"{where}.override: must be true or false, got {override!r}")
        if body.get("name", name) != name:
            raise ConfigError(f"{where}.name: {body['name']!r} differs from the table name {name!r}")
        body["name"] = name
        ctx = context if kind == "source" else None
        out[name] = Entry(validate(model, body, where=where, context=ctx), origin, override)
    return out


@dataclass(frozen=True)
class Catalogue:
    """Sources and detectors by name (immutable; build with the class methods)."""

    sources: Mapping[str, Entry]
    detectors: Mapping[str, Entry]

    def __post_init__(self) -> None:
        for kind, table in (("source", self.sources), ("detector", self.detectors)):
            _check_entries(kind, table)
        object.__setattr__(self, "sources", MappingProxyType(dict(self.sources)))
        object.__setattr__(self, "detectors", MappingProxyType(dict(self.detectors)))

    def __hash__(self) -> int:
        return hash((tuple(self.sources.items()), tuple(self.detectors.items())))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Catalogue):
            return NotImplemented
        return dict(self.sources) == dict(other.sources) and \
            dict(self.detectors) == dict(other.detectors)

    # --- construction ------------------------------------------------------------------------
    @classmethod
    def empty(cls) -> Catalogue:
        """A catalogue with no entries."""
        return cls({}, {})

    @classmethod
    def from_tables(cls, *, source: Mapping[str, Any] | None = None,
                    detector: Mapping[str, Any] | None = None,
                    origin: str = "<tables>", base_dir: str | Path | None = None,
                    _context: dict | None = None) -> Catalogue:
        """Entries from preset-file tables (``{"NaI": {"formula": "NaI", ...}}``), all from
        ``origin`` (a file name shown in errors). A source's relative ``spectrum_file`` is
        looked for in ``base_dir`` (default: the working folder)."""
        for arg, value, example in (("source", source, "{'my-source': {...}}"),
                                    ("detector", detector, "{'NaI': {...}}")):
            if value is not None and not isinstance(value, Mapping):
                raise ConfigError(
                    f"Catalogue.from_tables: {arg} must be a mapping of names to tables of "
                    f"{_MODELS[arg].__name__} fields (e.g. {example}) or None, got "
                    f"{type(value).__name__} {_short(value)}")
            bad = next((k for k in (value or {}) if not isinstance(k, str)), None)
            if bad is not None:
                raise ConfigError(f"Catalogue.from_tables: {arg}: names must be strings, got "
                                  f"{type(bad).__name__} {bad!r}")
        if not isinstance(origin, str):
            raise ConfigError(f"Catalogue.from_tables: origin must be a string (a file name shown "
                              f"in errors), got {type(origin).__name__} {_short(origin)}")
        if base_dir is not None and not isinstance(base_dir, (str, os.PathLike)):
            raise ConfigError(f"Catalogue.from_tables: base_dir must be a folder (str or "
                              f"pathlib.Path) or None, got {type(base_dir).__name__} "
                              f"{_short(base_dir)}")
        context = _context or {"base_dir": str(base_dir) if base_dir is not None else None}
        return cls(_entries("source", source or {}, origin, context),
                   _entries("detector", detector or {}, origin))

    @classmethod
    def from_file(cls, path: str | Path) -> Catalogue:
        """The entries of one preset file (a missing or invalid file is a ConfigError naming it)."""
        if not isinstance(path, (str, os.PathLike)):
            raise ConfigError(f"Catalogue.from_file: path must be a preset file (str or "
                              f"pathlib.Path), got {type(path).__name__} {_short(path)}")
        path = Path(path)
        try:
            st = path.stat()
        except FileNotFoundError:
            raise ConfigError(f"preset file {path}: no such file") from None
        except OSError as exc:
            raise ConfigError(f"preset file {path}: cannot read it "
                              f"({exc.strerror or exc})") from None
        if path.is_dir():
            raise ConfigError(f"preset file {path}: is a folder, not a TOML file")
        if not stat.S_ISREG(st.st_mode):
            # a pipe (process substitution <(…), /dev/fd/N), a FIFO, a device: read as given,
            # once (it has no folder, no name to resolve, no modification time to cache by);
            # a relative spectrum_file in it is looked for in the working folder
            return _parse_file(str(path), str(path), Path("."))
        return _load_file(str(path.resolve()), str(path), st.st_mtime_ns, st.st_size)

    @classmethod
    def builtin(cls) -> Catalogue:
        """The presets shipped with cevns (checked against their SHA-256 before reading)."""
        return _builtin()

    @classmethod
    def from_files(cls, *paths: str | Path, base: Catalogue | None = None) -> Catalogue:
        """``base`` (default: the built-ins) with the preset files ``paths`` merged in order."""
        if base is not None and not isinstance(base, Catalogue):
            raise ConfigError(f"Catalogue.from_files: base must be a Catalogue (e.g. "
                              f"Catalogue.empty()) or None, got {type(base).__name__} "
                              f"{_short(base)}")
        return (cls.builtin() if base is None else base).with_files(*paths)

    @classmethod
    def default(cls) -> Catalogue:
        """The built-ins plus the files listed in ``CEVNS_PRESETS`` (read now, at each call).

        An empty or unset variable gives the built-ins; a listed file that is missing or
        unreadable is a :class:`ConfigError` naming it and the variable.
        """
        raw = os.environ.get(PRESETS_ENV, "")
        paths = [p for p in raw.split(os.pathsep) if p.strip()]
        cat = cls.builtin()
        for p in paths:
            try:
                cat = cat.merged(cls.from_file(p))
            except ConfigError as exc:
                raise ConfigError(f"{PRESETS_ENV}: {exc}") from None
        return cat

    def with_files(self, *paths: str | Path | Iterable[str | Path]) -> Catalogue:
        """This catalogue with the preset files ``paths`` merged in order (a list is accepted)."""
        flat: list[str | Path] = []
        wanted = "preset file paths (str or pathlib.Path, or a list of them)"
        for p in paths:
            if isinstance(p, (str, os.PathLike)):
                flat.append(p)
            elif isinstance(p, Iterable) and not isinstance(p, (bytes, Mapping)):
                for q in p:
                    if not isinstance(q, (str, os.PathLike)):
                        raise ConfigError(f"Catalogue.with_files: expected {wanted}, got "
                                          f"{type(q).__name__} {_short(q)} in {_short(p)}")
                    flat.append(q)
            else:
                raise ConfigError(f"Catalogue.with_files: expected {wanted}, got "
                                  f"{type(p).__name__} {_short(p)}")
        cat = self
        for p in flat:
            cat = cat.merged(Catalogue.from_file(p))
        return cat

    def merged(self, other: Catalogue, *, check_default_sources: bool = True) -> Catalogue:
        """This catalogue with ``other``'s entries added.

        A name in both with identical content keeps this catalogue's entry; with different content
        it is a :class:`ConfigError` naming both origins, unless ``other``'s entry has
        ``override = true`` (then it replaces this one). With ``check_default_sources`` (a preset
        file's entries), the ``default_source`` of each of ``other``'s detectors must be a source
        of the result (a built-in, a source of the same file, or of a file merged before it): a
        :class:`ConfigError` naming the detector, its file and the catalogue's sources otherwise.
        An analysis file's inline tables are merged without it: an analysis uses its own
        ``source.preset``, and its ``config.json`` carries only the definition of that source.
        """
        if not isinstance(other, Catalogue):
            raise ConfigError(f"Catalogue.merged: other must be a Catalogue (e.g. "
                              f"Catalogue.from_file(path) or Catalogue.from_tables(...)), got "
                              f"{type(other).__name__} {_short(other)}")
        if not isinstance(check_default_sources, bool):
            raise ConfigError(f"Catalogue.merged: check_default_sources must be true or false, "
                              f"got {check_default_sources!r}")
        sources = _merge("source", self.sources, other.sources)
        for name, entry in other.detectors.items() if check_default_sources else ():
            wanted = entry.value.default_source
            if wanted not in sources:
                raise ConfigError(
                    f"{entry.origin}: detector.{name}.default_source: unknown source {wanted!r}; "
                    f"the catalogue has: {', '.join(sources)} (define it in the same file or in "
                    "a preset file read before it; docs/catalogue.md)")
        return Catalogue(sources, _merge("detector", self.detectors, other.detectors))

    # --- look-up -----------------------------------------------------------------------------
    def _table(self, kind: Kind) -> Mapping[str, Entry]:
        if kind == "source":
            return self.sources
        if kind == "detector":
            return self.detectors
        raise UnknownNameError("catalogue kind", str(kind), ["detector", "source"])

    def entry(self, kind: Kind, name: str) -> Entry:
        """The entry ``name`` of ``kind`` (``"source"`` or ``"detector"``)."""
        table = self._table(kind)
        if not isinstance(name, str):
            raise ConfigError(f"a {kind} name must be a string, got {type(name).__name__} "
                              f"{_short(name)}")
        if name not in table:
            err = UnknownNameError(kind, name, table)
            if not table:  # not "valid choices: " with nothing after it
                err.args = (f"unknown {kind} {name!r}: this catalogue holds no {kind}s (it was "
                            f"built without any; Catalogue.default() has the built-in presets, "
                            f"docs/catalogue.md)",)
            raise err
        return table[name]

    def detector(self, name: str) -> Detector:
        """The detector called ``name`` (UnknownNameError listing this catalogue's detectors)."""
        return self.entry("detector", name).value

    def source(self, name: str) -> Source:
        """The source called ``name`` (UnknownNameError listing this catalogue's sources)."""
        return self.entry("source", name).value

    def origin(self, kind: Kind, name: str) -> str:
        """The file that defined ``name``."""
        return self.entry(kind, name).origin

    def detector_names(self) -> list[str]:
        """Detector names, in definition order."""
        return list(self.detectors)

    def source_names(self) -> list[str]:
        """Source names, in definition order."""
        return list(self.sources)

    def __repr__(self) -> str:
        return (f"Catalogue(sources={self.source_names()}, "
                f"detectors={self.detector_names()})")


def _short(value: object, limit: int = 80) -> str:
    """``repr(value)``, cut to ``limit`` characters for a one-line message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_entries(kind: Kind, table: object) -> None:
    """A :class:`Catalogue` table must map names to :class:`Entry` values of its kind (the class
    methods build them; a hand-made ``Catalogue(...)`` is checked here)."""
    model = _MODELS[kind]
    where = f"Catalogue: {kind}s"
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be a mapping of names to catalogue entries (build a "
                          f"catalogue with Catalogue.from_tables or from_file), got "
                          f"{type(table).__name__} {_short(table)}")
    for name, entry in table.items():
        if not isinstance(name, str) or not isinstance(entry, Entry) or \
                not isinstance(entry.value, model):
            raise ConfigError(f"{where}: {_short(name)} must map to an Entry holding a "
                              f"{model.__name__} (build a catalogue with Catalogue.from_tables "
                              f"or from_file), got {type(entry).__name__} {_short(entry)}")


def _merge(kind: str, old: Mapping[str, Entry], new: Mapping[str, Entry]) -> dict[str, Entry]:
    out = dict(old)
    for name, entry in new.items():
        known = out.get(name)
        if known is None or entry.override:
            out[name] = entry
        elif known.value != entry.value:
            diff = _differences(known.value, entry.value)
            raise ConfigError(
                f"{kind} {name!r} is defined twice with different content: in {known.origin} and "
                f"in {entry.origin} (differing fields: {diff}). Rename one, or set "
                f"override = true in [{kind}.{name}] of {entry.origin} to replace the first")
    return out


def _differences(a: StrictModel, b: StrictModel) -> str:
    da, db = a.model_dump(mode="json"), b.model_dump(mode="json")
    return ", ".join(k for k in da if da.get(k) != db.get(k)) or "?"


@lru_cache(maxsize=64)
def _load_file(resolved: str, shown: str, mtime_ns: int, size: int) -> Catalogue:
    # keyed on (path, modification time, size): an edited file is read again
    return _parse_file(resolved, shown, Path(resolved).parent)


def _parse_file(path: str, shown: str, base_dir: Path) -> Catalogue:
    raw = load_toml(path)
    doc = validate(PresetFile, raw, where=shown)
    return Catalogue.from_tables(source=doc.source, detector=doc.detector, origin=shown,
                                 base_dir=base_dir)


@cache
def _builtin() -> Catalogue:
    from cevns.integrity import packaged_path

    cat = Catalogue.empty()
    for fname in PRESET_FILES:
        # a shipped preset is checked against its SHA-256 (cevns.integrity) before it is read
        doc = validate(PresetFile, load_toml(packaged_path(f"presets/{fname}")), where=fname)
        part = Catalogue.from_tables(source=doc.source, detector=doc.detector,
                                     origin=f"cevns/presets/{fname}",
                                     _context={"packaged_dir": "presets"})
        clash = (set(part.sources) & set(cat.sources)) | (set(part.detectors) & set(cat.detectors))
        if clash:
            raise ConfigError(f"preset {fname}: names defined twice: {sorted(clash)}")
        cat = cat.merged(part)
    return cat


def resolve_catalogue(catalogue: Catalogue | None) -> Catalogue:
    """``catalogue``, or :meth:`Catalogue.default` if None (type-checked)."""
    if catalogue is None:
        return Catalogue.default()
    if not isinstance(catalogue, Catalogue):
        raise ConfigError(f"catalogue must be a cevns.experiment.Catalogue, got "
                          f"{type(catalogue).__name__}")
    return catalogue
