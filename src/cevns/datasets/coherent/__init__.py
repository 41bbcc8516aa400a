"""COHERENT data releases: validated readers and the real-detector response.

Three public releases are packaged (byte-for-byte copies with their READMEs, under ``data/``):

================================  ==============================================================
``"coherent-csi-2017"``           CsI[Na] first observation, Science 357, 1123 (2017): binned
                                  beam-on/off coincidence and anti-coincidence counts
``"coherent-csi-2021"``           CsI[Na] full dataset, PRL 129, 081801 (2022): unbinned events,
                                  BRN/NIN PDFs, efficiency and scintillation-response curves
``"coherent-lar-2020"``           CENNS-10 LAr Analysis A, PRL 126, 012002 (2021): 3-D (energy ×
                                  F90 × time) data and PDFs
================================  ==============================================================

>>> from cevns.datasets.coherent import load_release
>>> rel = load_release("coherent-csi-2017")
>>> rel.observed.sum_in(energy=(6, 30), time=(0, 6))
547.0

Every release is a :class:`~cevns.datasets.coherent.containers.Release` with the observed
histogram, background templates with their normalisation priors, an
:class:`~cevns.datasets.coherent.response.EnergyResponse` (``response_matrix(T_nodes)``), neutrino
timing fractions per flavour, and the experimental set-up (exposure, POT, ν yield, distance,
mass, targets). ``docs/coherent.md`` documents every choice and its source.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cevns.datasets.coherent.containers import (
    DELAYED_FLAVOURS,
    DEPRECATED_FLAVOUR_NAMES,
    FLAVOURS,
    PROMPT_FLAVOURS,
    Axis,
    BackgroundComponent,
    EventList,
    ExperimentSetup,
    Histogram,
    NeutrinoTiming,
    Parameter,
    Release,
    canonical_flavour,
)
from cevns.datasets.coherent.csi2017 import CsI2017Release, load_csi_2017
from cevns.datasets.coherent.csi2021 import CsI2021Release, load_csi_2021
from cevns.datasets.coherent.lar2020 import LAr2020Release, load_lar_2020
from cevns.datasets.coherent.response import EnergyResponse
from cevns.datasets.coherent.timing import SNSTimingModel
from cevns.errors import UnknownNameError

__all__ = [
    "load_release",
    "release_names",
    "load_csi_2017",
    "load_csi_2021",
    "load_lar_2020",
    "Release",
    "CsI2017Release",
    "CsI2021Release",
    "LAr2020Release",
    "Parameter",
    "Axis",
    "Histogram",
    "EventList",
    "BackgroundComponent",
    "NeutrinoTiming",
    "ExperimentSetup",
    "EnergyResponse",
    "SNSTimingModel",
    "FLAVOURS",
    "PROMPT_FLAVOURS",
    "DELAYED_FLAVOURS",
    "DEPRECATED_FLAVOUR_NAMES",
    "canonical_flavour",
]

_LOADERS: dict[str, Callable[..., Release]] = {
    "coherent-csi-2017": load_csi_2017,
    "coherent-csi-2021": load_csi_2021,
    "coherent-lar-2020": load_lar_2020,
}


def release_names() -> list[str]:
    """Names accepted by :func:`load_release`."""
    return sorted(_LOADERS)


def load_release(name: str, data_dir: str | Path | None = None) -> Release:
    """Read, validate and return a COHERENT release.

    Parameters
    ----------
    name : str
        One of :func:`release_names`.
    data_dir : path, optional
        A folder with the release's files (a user's own copy); default: the packaged copy.

    Raises
    ------
    UnknownNameError
        For an unknown name; the message lists the valid ones.
    DataError
        If a file is missing, truncated, of another release or unparsable, or holds a number
        that cannot be right (e.g. a zero or negative normalisation, an infinite exposure, an
        all-zero template); the message names the file and the field or line.
    """
    if name not in _LOADERS:
        raise UnknownNameError("COHERENT release", name, _LOADERS)
    return _LOADERS[name](data_dir)
