"""Presets: sources and detectors described in data files (``cevns/presets/*.toml``).

>>> from cevns.experiment import get_detector, get_source, detector_names
>>> detector_names()
['C3F8', 'CsI', 'Ge', 'Si', 'Xe', 'Ar']

Users add presets by passing their own TOML file to :func:`load_preset_file` (same schema:
``[source.NAME]`` and ``[detector.NAME]`` tables) or by building :class:`Detector` objects directly.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import Field

from cevns.config import StrictModel, load_toml, validate
from cevns.errors import ConfigError, UnknownNameError
from cevns.experiment.detector import Detector
from cevns.experiment.source import Source
from cevns.integrity import packaged_path

#: Preset files shipped with the package, in load order.
PRESET_FILES = ("ess.toml", "coherent.toml")
#: The six ESS detectors in the paper's order.
ESS_DETECTORS = ("CsI", "Xe", "Ge", "Si", "Ar", "C3F8")


class PresetFile(StrictModel):
    """Schema of a preset file."""

    schema_version: int = Field(ge=1, le=1)
    source: dict[str, dict] = {}
    detector: dict[str, dict] = {}


def load_preset_file(path: str | Path) -> tuple[dict[str, Source], dict[str, Detector]]:
    """Read and validate a preset file; return its sources and detectors by name."""
    raw = load_toml(path)
    doc = validate(PresetFile, raw, where=Path(path).name)
    sources = {name: validate(Source, {"name": name, **body}, where=f"source.{name}")
               for name, body in doc.source.items()}
    detectors = {name: validate(Detector, {"name": name, **body}, where=f"detector.{name}")
                 for name, body in doc.detector.items()}
    return sources, detectors


@cache
def _builtin() -> tuple[dict[str, Source], dict[str, Detector]]:
    sources: dict[str, Source] = {}
    detectors: dict[str, Detector] = {}
    for fname in PRESET_FILES:
        # a shipped preset is checked against its SHA-256 (cevns.integrity) before it is read
        s, d = load_preset_file(packaged_path(f"presets/{fname}"))
        clash = (set(s) & set(sources)) | (set(d) & set(detectors))
        if clash:
            raise ConfigError(f"preset {fname}: names defined twice: {sorted(clash)}")
        sources.update(s)
        detectors.update(d)
    return sources, detectors


def get_source(name: str = "ess") -> Source:
    """A shipped source preset by name (``"ess"``, ``"sns-csi"``, ``"sns-lar"``)."""
    sources = _builtin()[0]
    if name not in sources:
        raise UnknownNameError("source", name, sources)
    return sources[name]


def get_detector(name: str) -> Detector:
    """A shipped detector preset by name (``"CsI"``, ``"Xe"``, ``"Ge"``, ``"Si"``, ``"Ar"``, ``"C3F8"``)."""
    detectors = _builtin()[1]
    if name not in detectors:
        raise UnknownNameError("detector", name, detectors)
    return detectors[name]


def detector_names() -> list[str]:
    """Names of the shipped detector presets."""
    return list(_builtin()[1])


def source_names() -> list[str]:
    """Names of the shipped source presets."""
    return list(_builtin()[0])
