"""An analysis file whose source reaches above a detector's recoil range is refused when the file
is read — before a folder is made — and runs once the detector's max_neutrino_energy_MeV is
raised (docs/sources.md, "Energies above the π-DAR end point")."""

from __future__ import annotations

import subprocess
import tomllib

import pytest
from installed import CEVNS  # the environment's installed command

from cevns.analyses import parse_analysis
from cevns.errors import CevnsError
from cevns.experiment import get_detector
from cevns.rates import sm_spectrum

KDAR = """
schema_version = 1
name = "kdar"
title = "A kaon-decay-at-rest line on argon"
kind = "event-table"
detectors = ["Ar"]

[source]
preset = "kdar"

[source.definitions.kdar]
kind = "tabulated"
normalisation = "per-cm2-s"
lines = [{ flavour = "numu", energy_MeV = 235.5, intensity = 1e7 }]
baseline_m = 20.0
beam_hours_per_year = 5000.0
duty_factor = 1.0
run_years = 1.0
"""
RAISED = KDAR + "\n[detector_overrides.Ar]\nmax_neutrino_energy_MeV = 240\n"


def test_the_file_is_refused_when_read():
    with pytest.raises(CevnsError, match=r"up to 235\.5 MeV.*detector Ar.*"
                                         r"detector_overrides\.Ar\.max_neutrino_energy_MeV"):
        parse_analysis(tomllib.loads(KDAR))


def test_raised_range_gives_the_engine_counts():
    an = parse_analysis(tomllib.loads(RAISED))
    (det,) = an.build_detectors()
    assert det.max_neutrino_energy_MeV == 240.0
    # the same detector and source through the engine directly; the 52.83 MeV preset refuses it
    expected = sm_spectrum(det, an.source.build()).total_signal
    assert expected > 0
    with pytest.raises(CevnsError, match="max_neutrino_energy_MeV"):
        sm_spectrum(get_detector("Ar"), an.source.build())


def test_the_command_refuses_before_making_a_folder(tmp_path):
    (tmp_path / "kdar.toml").write_text(KDAR)
    res = subprocess.run([*CEVNS, "run", "kdar.toml", "--out", "out"], capture_output=True,
                         text=True, cwd=tmp_path, timeout=300)
    assert res.returncode == 2, res.stderr
    assert "max_neutrino_energy_MeV" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "out").exists()
