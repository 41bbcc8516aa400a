"""Experiment layer: validated descriptions of sources and detectors, presets, responses."""

from cevns.experiment.catalogue import PRESETS_ENV, Catalogue
from cevns.experiment.detector import (
    BackgroundSpec,
    BinningSpec,
    Detector,
    ResolutionSpec,
    TargetSpec,
)
from cevns.experiment.presets import (
    ESS_DETECTORS,
    detector_names,
    get_detector,
    get_source,
    load_preset_file,
    source_names,
)
from cevns.experiment.source import Source

__all__ = ["PRESETS_ENV", "BackgroundSpec", "BinningSpec", "Catalogue", "Detector", "ESS_DETECTORS",
           "ResolutionSpec", "Source",
           "TargetSpec", "detector_names", "get_detector", "get_source", "load_preset_file",
           "source_names"]
