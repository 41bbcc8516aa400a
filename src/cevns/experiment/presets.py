"""Presets: sources and detectors described in data files (``cevns/presets/*.toml``).

>>> from cevns.experiment import get_detector, get_source, detector_names
>>> detector_names(Catalogue.builtin())
['CsI', 'Xe', 'Ge', 'Si', 'Ar', 'C3F8']

Names are resolved through a :class:`~cevns.experiment.catalogue.Catalogue`: the built-ins plus
the user's files (environment variable ``CEVNS_PRESETS``, ``--presets FILE``, analysis files). The
functions here take ``catalogue=``; without it they use :meth:`Catalogue.default` (built-ins +
``CEVNS_PRESETS``). See ``docs/catalogue.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cevns.errors import ConfigError
from cevns.experiment.catalogue import (
    PRESET_FILES,
    Catalogue,
    resolve_catalogue,
)
from cevns.experiment.detector import Detector
from cevns.experiment.source import Source

__all__ = ["ESS_DETECTORS", "PRESET_FILES", "as_detector", "as_source", "detector_names",
           "get_detector", "get_source", "load_preset_file", "source_names"]

#: The six ESS detectors in the paper's order (the *ordering* of the ESS tables and the default
#: detector list of an analysis; which names exist is the catalogue's business).
ESS_DETECTORS = ("CsI", "Xe", "Ge", "Si", "Ar", "C3F8")


def load_preset_file(path: str | Path) -> tuple[dict[str, Source], dict[str, Detector]]:
    """Read and validate one preset file; return its sources and detectors by name.

    This only reads the file. To *use* its entries by name, merge it into a catalogue:
    ``Catalogue.default().with_files(path)`` (docs/catalogue.md).
    """
    cat = Catalogue.from_file(path)
    return ({n: e.value for n, e in cat.sources.items()},
            {n: e.value for n, e in cat.detectors.items()})


def get_source(name: str = "ess", catalogue: Catalogue | None = None) -> Source:
    """The source ``name`` of ``catalogue`` (default: built-ins + ``CEVNS_PRESETS``).

    Built-in: ``"ess"``, ``"sns-csi"``, ``"sns-lar"``, ``"sns-csi-2017"``, ``"sns-csi-2021"``,
    ``"sns-lar-2020"``, ``"jsns2"``, ``"csns"``, ``"csns-ii"``, ``"lujan"`` and the tabulated
    example ``"ess-table"`` (docs/sources.md).
    """
    return resolve_catalogue(catalogue).source(name)


def get_detector(name: str, catalogue: Catalogue | None = None) -> Detector:
    """The detector ``name`` of ``catalogue`` (default: built-ins + ``CEVNS_PRESETS``).

    Built-in: ``"CsI"``, ``"Xe"``, ``"Ge"``, ``"Si"``, ``"Ar"``, ``"C3F8"``.
    """
    return resolve_catalogue(catalogue).detector(name)


def as_detector(value: Detector | str, catalogue: Catalogue | None = None, *,
                where: str = "") -> Detector:
    """``value`` if it is a :class:`Detector`, the preset of that name if it is a name (looked up
    in ``catalogue``, default built-ins + ``CEVNS_PRESETS``).

    The one rule of every function of cevns that takes a detector (``basis_spectra``,
    ``sm_spectrum``, ``Scenario.counts`` …). Anything else is a :class:`ConfigError` starting
    with ``where`` (the function's name) and naming the type given; an unknown name an
    :class:`~cevns.errors.UnknownNameError` listing the valid ones.
    """
    return _as("detector", Detector, "CsI", value, catalogue, where)


def as_source(value: Source | str, catalogue: Catalogue | None = None, *,
              where: str = "") -> Source:
    """``value`` if it is a :class:`Source`, the preset of that name if it is a name: the rule of
    :func:`as_detector`, for sources (``"ess"``, ``"sns-csi"`` …)."""
    return _as("source", Source, "ess", value, catalogue, where)


def _as(kind: str, cls: type, example: str, value: object, catalogue: Catalogue | None,
        where: str) -> Any:
    if isinstance(value, cls):
        return value
    if isinstance(value, str):
        return resolve_catalogue(catalogue).entry(kind, value).value  # type: ignore[arg-type]
    raise ConfigError(f"{where + ': ' if where else ''}{kind} must be a "
                      f"cevns.experiment.{cls.__name__} or a {kind} preset name such as "
                      f"{example!r}, got {type(value).__name__} {value!r:.80}")


def detector_names(catalogue: Catalogue | None = None) -> list[str]:
    """Names of the detectors of ``catalogue`` (default: built-ins + ``CEVNS_PRESETS``)."""
    return resolve_catalogue(catalogue).detector_names()


def source_names(catalogue: Catalogue | None = None) -> list[str]:
    """Names of the sources of ``catalogue`` (default: built-ins + ``CEVNS_PRESETS``)."""
    return resolve_catalogue(catalogue).source_names()
