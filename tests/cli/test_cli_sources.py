"""`cevns spectra --presets FILE` with user sources: a tabulated spectrum next to the preset file,
and bad sources that end in a clear message with exit status 2 (docs/sources.md)."""

from __future__ import annotations

import json
import subprocess

from installed import CEVNS  # the environment's installed command

TABULATED = """schema_version = 1
[source.flat-nuebar]
description = "test: a flat nuebar spectrum, 10-30 MeV"
kind = "tabulated"
spectrum_file = "flat.csv"
normalisation = "per-cm2-s"
baseline_m = 20.0
beam_hours_per_year = 5000.0
duty_factor = 1.0
run_years = 1.0
"""


def cevns(*args, cwd=None):
    return subprocess.run([*CEVNS, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def test_spectra_with_a_tabulated_user_source(tmp_path):
    folder = tmp_path / "presets"
    folder.mkdir()
    (folder / "flat.csv").write_text("# flux at the detector\nenergy_MeV,nuebar\n10,1e7\n30,1e7\n")
    (folder / "mine.toml").write_text(TABULATED)
    res = cevns("spectra", "--presets", folder / "mine.toml", "--source", "flat-nuebar",
                "-d", "Ar", "--json", cwd=tmp_path)  # the CSV is found next to the preset file
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    det = out["detectors"][0]
    assert list(det["per_flavour"]) == ["nuebar"] and det["per_flavour"]["nuebar"] > 0
    assert set(det["bins"][0]) >= {"nuebar", "signal", "background"}
    # the table printout names the flavour column too
    res = cevns("spectra", "--presets", folder / "mine.toml", "--source", "flat-nuebar", "-d",
                "Ar", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "ν̄_e" in res.stdout


def test_spectra_bad_sources_exit_2(tmp_path):
    bad_power = tmp_path / "power.toml"
    bad_power.write_text("schema_version = 1\n[source.neg]\nbeam_power_MW = -1.0\n"
                         "proton_energy_GeV = 1.0\nnu_per_flavour_per_pot = 0.1\nbaseline_m = 20\n"
                         "beam_days_per_year = 200\nduty_factor = 0.01\n")
    res = cevns("spectra", "--presets", bad_power, "--source", "neg", "-d", "CsI")
    assert res.returncode == 2
    assert "source.neg.beam_power_MW" in res.stderr and "Traceback" not in res.stderr
    missing = tmp_path / "missing.toml"
    missing.write_text(TABULATED)  # flat.csv does not exist next to it
    res = cevns("spectra", "--presets", missing, "--source", "flat-nuebar", "-d", "CsI")
    assert res.returncode == 2
    assert "flat.csv: no such file" in res.stderr and "Traceback" not in res.stderr
