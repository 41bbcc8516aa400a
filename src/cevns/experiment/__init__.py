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
    as_detector,
    as_source,
    detector_names,
    get_detector,
    get_source,
    load_preset_file,
    source_names,
)
from cevns.experiment.response_models import ResponseSpec
from cevns.experiment.source import Source
from cevns.experiment.timing import TimingSpec

__all__ = ["PRESETS_ENV", "BackgroundSpec", "BinningSpec", "Catalogue", "Detector", "ESS_DETECTORS",
           "ResolutionSpec", "ResponseSpec", "Source", "TimingSpec",
           "TargetSpec", "as_detector", "as_source", "detector_names", "get_detector", "get_source",
           "load_preset_file", "source_names"]
