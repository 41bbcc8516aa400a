"""Detector settings that changed nothing, the single bin's resolution, the background of a timing
window and the background overflow message (audit 10, findings 11, 4 and 14)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from cevns.errors import CevnsWarning, ConfigError
from cevns.experiment import Detector, get_detector
from cevns.physics.units import keV
from cevns.rates import sm_spectrum

GE = get_detector("Ge")
PULSE = {"model": "gaussian", "mean_us": 0.44, "sigma_us": 0.15}


@pytest.mark.parametrize(("changes", "match"), [
    ({"resolution": {"law": "none", "sigma0": 0.5}},
     r"resolution: .*sigma0 = 0.5 is not used with law 'none'"),
    ({"binning": {"rule": "edges", "edges_keVnr": (1, 5, 10, 20), "width_in_sigma": 7}},
     r"binning: .*width_in_sigma is only used with rule 'resolution'.*not 'edges'"),
    ({"binning": {"rule": "single", "width_in_sigma": 7}},
     r"binning: .*width_in_sigma is only used with rule 'resolution'.*not 'single'"),
    ({"resolution": {"law": "none"}, "binning": {"width_in_sigma": 3}},
     r"binning.width_in_sigma = 3 is not used: resolution law 'none' gives one bin"),
])
def test_settings_that_change_nothing_are_refused(changes, match):
    with pytest.raises(ConfigError, match=match):
        GE.replace(**changes)
    # what a dump of a detector gives back (the defaults, spelled out) is still accepted
    for ok in ({"resolution": {"law": "none", "sigma0": 0.0}},
               {"binning": {"rule": "edges", "edges_keVnr": (1, 5, 10, 20), "width_in_sigma": 2.0}},
               {"resolution": {"law": "none"}, "binning": {"rule": "single"}}):
        det = GE.replace(**ok)
        assert type(det).model_validate(det.model_dump()) == det
    for name in ("CsI", "Xe", "Ge", "Si", "Ar", "C3F8"):
        det = get_detector(name)
        assert type(det).model_validate(det.model_dump()) == det


def test_a_single_bin_is_smeared_by_the_resolution():
    """One bin from threshold to T_max with σ₀ = 0.5: events cross the threshold. It counted
    3785.23, the unsmeared count; now the same as one explicit edge pair with that resolution."""
    res = {"law": "sqrt-threshold", "sigma0": 0.5}
    single = GE.replace(binning={"rule": "single"}, resolution=res)
    top = GE.max_recoil_energy / keV
    edges = GE.replace(binning={"rule": "edges", "edges_keVnr": (GE.threshold_keVnr, top)},
                       resolution=res)
    plain = GE.replace(binning={"rule": "single"}, resolution={"law": "none"})
    assert single.smeared and not plain.smeared
    a, b, c = (sm_spectrum(d, "ess").total_signal for d in (single, edges, plain))
    assert a == pytest.approx(b, rel=1e-12)
    assert abs(a / c - 1) > 1e-3


def test_background_overflow_names_the_background():
    det = Detector(name="X", formula="Ge", mass_kg=10.0, threshold_keVnr=1.0,
                   background={"rate_ckkd": 1e305})
    with pytest.raises(ConfigError, match=r"background counts overflow.*background.rate_ckkd = "
                                          r"1e\+305, background.scale = 1") as err:
        sm_spectrum(det, "ess")
    assert "run_years" not in str(err.value)


def test_a_timing_window_with_a_background_warns_unless_exposure_days_is_set():
    """The window scales the signal, not the background's exposure (the source has no pulse rate
    to derive it from): without exposure_days it warns. With it, e.g. the live time of a 1 µs
    window after pulses at 14 Hz over 3 × 208 beam days (3 × 208 × 14 × 1e-6 days), the
    background follows that exposure and nothing warns."""
    det = get_detector("CsI")
    timed = det.replace(timing={"pulse": PULSE, "window_us": [0.0, 1.0]})
    with pytest.warns(CevnsWarning, match=r"detector CsI: timing.window_us = \[0, 1\] .*"
                                          r"does not follow the window; set background.exposure_days"):
        sm_spectrum(timed, "ess")
    days = 3 * 208 * 14 * 1e-6
    timed = timed.replace(background={**det.background.model_dump(), "exposure_days": days})
    with warnings.catch_warnings():
        warnings.simplefilter("error", CevnsWarning)
        s = sm_spectrum(timed, "ess")
    bg = det.background
    expect = bg.scale * bg.rate_ckkd * det.mass_kg * np.diff(s.edges_keVnr) * days
    np.testing.assert_allclose(s.background, expect, rtol=1e-12)
