"""A detector larger than twice its baseline is named by the 3+1 scenario (audit 6, D6): the
oscillation layer's own check said only `baseline_spread must lie in [0, 2 * baseline]`, without
the detector, its extent_m or the source."""

from __future__ import annotations

import pytest

from cevns.errors import ConfigError
from cevns.experiment import get_detector, get_source
from cevns.scenarios import get_scenario


def test_an_extent_above_twice_the_baseline_names_the_detector_and_the_field():
    det = get_detector("CsI").replace(extent_m=100.0)
    scenario = get_scenario("sterile-oscillation", channel="e")
    with pytest.raises(ConfigError, match=r"detector CsI at source ess: the baseline spread 100 m "
                                          r"from the detector's extent_m \(100.0 m\)"):
        scenario.counts(det, get_source("ess"), {"sin2_2theta": 0.1, "delta_m2_eV2": 1.0})
    fine = scenario.counts(get_detector("CsI").replace(extent_m=1.0), get_source("ess"),
                           {"sin2_2theta": 0.1, "delta_m2_eV2": 1.0})
    assert fine.sum() > 0
