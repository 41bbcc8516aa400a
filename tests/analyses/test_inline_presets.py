"""Analysis files with their own detectors and sources: inline tables, ``presets`` files, the
environment, and what the digest and the scan store key on (docs/catalogue.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from cevns.analyses import load_analysis, parse_analysis, shipped_analysis
from cevns.analyses.sensitivity import compute_config
from cevns.errors import ConfigError
from cevns.experiment import PRESETS_ENV, Catalogue
from cevns.rates import sm_spectrum
from cevns.scan import config_digest

NAI = """
[detector.NaI]
technology = "NaI[Tl] (user example)"
formula = "NaI"
mass_kg = 10.0
threshold_keVnr = 5.0
efficiency = 0.9
binning = { rule = "single" }
"""

PROFILE = """schema_version = 1
name = "nai"
title = "sin2 theta_W with an inline NaI detector"
kind = "profile"
detectors = ["NaI", "Ar"]

[scenario]
name = "sm"

[scan]
parameter = "sin2_theta_w"
start = 0.18
stop = 0.30
num = 13
""" + NAI

EVENTS = """schema_version = 1
name = "ev"
title = "events"
kind = "event-table"
detectors = ["NaI"]
"""


@pytest.fixture(autouse=True)
def _no_env_presets(monkeypatch):
    monkeypatch.delenv(PRESETS_ENV, raising=False)


def _write(path, text):
    path.write_text(text)
    return path


def test_inline_detector_is_resolved_and_carried(tmp_path):
    an = load_analysis(_write(tmp_path / "a.toml", EVENTS + NAI))
    (det,) = an.build_detectors()
    assert det.name == "NaI" and det.mass_kg == 10.0 and [t.element for t in det.targets] == \
        ["Na", "I"]
    # the validated analysis carries the definitions of its detectors and of its source
    assert set(an.detector) == {"NaI"} and an.source.definitions["ess"]["baseline_m"] == 20.0
    # ... so its dump re-validates without any catalogue (as a scan task does)
    again = parse_analysis(an.model_dump(mode="json"), catalogue=Catalogue.empty())
    assert again == an and again.digest() == an.digest()


def test_inline_source_table(tmp_path):
    text = EVENTS + NAI + ('[source]\npreset = "far"\n[source.far]\npot_per_year = 2.8e23\n'
                           'nu_per_flavour_per_pot = 0.3\nbaseline_m = 40.0\n'
                           'beam_days_per_year = 208\nduty_factor = 0.04\nrun_years = 3\n')
    an = load_analysis(_write(tmp_path / "a.toml", text))
    src = an.source.build()
    assert src.name == "far" and src.baseline_m == 40.0
    near = load_analysis(_write(tmp_path / "b.toml", EVENTS + NAI))
    # Φ ∝ 1/L²: 20 m → 40 m is a factor 4 in every count
    det = an.build_detectors()[0]
    assert sm_spectrum(det, src).total_signal == pytest.approx(
        sm_spectrum(det, near.source.build()).total_signal / 4, rel=1e-12)
    with pytest.raises(ConfigError, match=r"source.preset: unknown source 'farr'; the catalogue "
                                          r"has: ess, .*far"):
        load_analysis(_write(tmp_path / "c.toml", text.replace('preset = "far"',
                                                               'preset = "farr"')))


def test_presets_key_is_relative_to_the_analysis_file(tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    _write(sub / "mine.toml", "schema_version = 1\n" + NAI)
    f = _write(sub / "a.toml", 'presets = ["mine.toml"]\n' + EVENTS)
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)  # not the analysis file's folder
        an = load_analysis(f)
    finally:
        os.chdir(cwd)
    assert an.presets == () and an.build_detectors()[0].mass_kg == 10.0
    inline = load_analysis(_write(tmp_path / "b.toml", EVENTS + NAI))
    assert an.digest() == inline.digest()  # same definitions, same computation
    _write(sub / "a.toml", 'presets = ["missing.toml"]\n' + EVENTS)
    with pytest.raises(ConfigError, match=r"presets: preset file .*missing\.toml: no such file"):
        load_analysis(sub / "a.toml")


def test_unknown_name_lists_the_analysis_catalogue(tmp_path):
    text = EVENTS.replace('["NaI"]', '["NaJ"]') + NAI
    with pytest.raises(ConfigError, match=r"unknown detector\(s\) \['NaJ'\]; the catalogue has: "
                                          r"CsI, Xe, Ge, Si, Ar, C3F8, NaI"):
        load_analysis(_write(tmp_path / "a.toml", text))


def test_inline_clash_with_builtin_needs_override(tmp_path):
    csi = '\n[detector.CsI]\nformula = "CsI"\nmass_kg = 50.0\nthreshold_keVnr = 1.0\n'
    text = EVENTS.replace('["NaI"]', '["CsI"]') + csi
    with pytest.raises(ConfigError, match=r"detector 'CsI' is defined twice with different "
                                          r"content: in cevns/presets/ess.toml and in a\.toml"):
        load_analysis(_write(tmp_path / "a.toml", text))
    an = load_analysis(_write(tmp_path / "a.toml", text.replace("[detector.CsI]",
                                                                "[detector.CsI]\noverride = true")))
    assert an.build_detectors()[0].mass_kg == 50.0
    # the pinned definition keeps its override flag, so config.json re-validates as it is
    assert an.detector["CsI"]["override"] is True
    assert parse_analysis(an.model_dump(mode="json")) == an


def test_digest_changes_when_an_inline_detector_changes(tmp_path):
    a = load_analysis(_write(tmp_path / "a.toml", PROFILE))
    b = load_analysis(_write(tmp_path / "b.toml", PROFILE.replace("mass_kg = 10.0",
                                                                  "mass_kg = 10.5")))
    assert a.digest() != b.digest()
    assert config_digest(compute_config(a, None, False)) != \
        config_digest(compute_config(b, None, False))
    # presentation does not change the scan store
    c = load_analysis(_write(tmp_path / "c.toml", PROFILE.replace('title = "sin2', 'title = "x')))
    assert config_digest(compute_config(a, None, False)) == \
        config_digest(compute_config(c, None, False))


def test_changed_user_preset_file_changes_the_digest(tmp_path):
    preset = _write(tmp_path / "mine.toml", "schema_version = 1\n" + NAI)
    f = _write(tmp_path / "a.toml", 'presets = ["mine.toml"]\n' + PROFILE.split("\n[detector")[0])
    before = compute_config(load_analysis(f), None, False)
    preset.write_text("schema_version = 1\n" + NAI.replace("efficiency = 0.9", "efficiency = 0.8"))
    os.utime(preset, ns=(1, 1))
    after = compute_config(load_analysis(f), None, False)
    assert config_digest(before) != config_digest(after)
    assert after["compute"]["detector"]["NaI"]["efficiency"] == 0.8


def test_unrelated_env_presets_leave_shipped_digests_alone(tmp_path, monkeypatch):
    plain = shipped_analysis("events").digest()
    monkeypatch.setenv(PRESETS_ENV, str(_write(tmp_path / "mine.toml",
                                               "schema_version = 1\n" + NAI)))
    assert shipped_analysis("events").digest() == plain
    # and the env catalogue resolves names of an analysis without inline tables
    an = load_analysis(_write(tmp_path / "a.toml", EVENTS))
    assert an.build_detectors()[0].formula == "NaI"


def test_catalogue_argument(tmp_path):
    cat = Catalogue.builtin().with_files(_write(tmp_path / "mine.toml",
                                                "schema_version = 1\n" + NAI))
    an = load_analysis(_write(tmp_path / "a.toml", EVENTS), catalogue=cat)
    assert an.build_detectors()[0].mass_kg == 10.0
    with pytest.raises(ConfigError, match="unknown detector"):
        load_analysis(tmp_path / "a.toml")  # the default catalogue has no NaI


def test_cevns_run_with_inline_detector(tmp_path):
    f = _write(tmp_path / "nai.toml", PROFILE)
    out = tmp_path / "out"
    res = subprocess.run([sys.executable, "-m", "cevns.cli", "run", str(f), "--out", str(out)],
                         capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    for name in ("nai.csv", "nai_profile_NaI.csv", "nai_profile_combined.csv", "nai.png"):
        assert (out / name).exists(), name
    config = json.loads((out / "config.json").read_text())
    assert config["detector"]["NaI"]["mass_kg"] == 10.0 and config["presets"] == []
    # the written config is the resolved analysis: it runs elsewhere without the inline tables
    an = parse_analysis(config, catalogue=Catalogue.empty())
    assert an.digest() == json.loads((out / "provenance.json").read_text())["digest"]
    # the Asimov truth is the SM value sin²θ_W = 0.23857: every best fit lies within the grid
    # step (0.01) of it, and the inline NaI detector has its own row
    import csv

    with (out / "nai.csv").open() as fh:
        rows = {r["detector"]: r for r in csv.DictReader(fh)}
    assert set(rows) == {"NaI", "Ar", "combined"}
    for row in rows.values():
        assert float(row["best"]) == pytest.approx(0.23857, abs=0.005)
        assert float(row["lower"]) < 0.23857 < float(row["upper"])


FAR = ('[source.far]\npot_per_year = 2.8e23\nnu_per_flavour_per_pot = 0.3\nbaseline_m = 40.0\n'
       'beam_days_per_year = 208\nduty_factor = 0.04\nrun_years = 3\n')


def test_without_a_source_preset_the_detectors_default_source_is_used(tmp_path):
    # a detector that says where it is (default_source) is computed there, as `cevns spectra`
    # and sm_spectrum do; before, an analysis file without [source] preset silently used the ESS
    far = NAI + 'default_source = "far"\n'
    an = load_analysis(_write(tmp_path / "a.toml", EVENTS + far + "[source]\n" + FAR))
    assert an.source.preset == "far" and an.source.build().baseline_m == 40.0
    near = load_analysis(_write(tmp_path / "b.toml", EVENTS + NAI))  # default_source = "ess"
    assert near.source.preset == "ess"
    det = an.build_detectors()[0]  # Φ ∝ 1/L²: 20 m → 40 m is a factor 4 in every count
    assert sm_spectrum(det, an.source.build()).total_signal == pytest.approx(
        sm_spectrum(det, near.source.build()).total_signal / 4, rel=1e-12)
    # a preset given explicitly wins; an override of default_source counts as the detector's
    chosen = load_analysis(_write(tmp_path / "c.toml", EVENTS + far + '[source]\npreset = "ess"\n'
                                  + FAR))
    assert chosen.source.preset == "ess"
    moved = load_analysis(_write(tmp_path / "d.toml", EVENTS + NAI + "[source]\n" + FAR
                                 + '[detector_overrides.NaI]\ndefault_source = "far"\n'))
    assert moved.source.preset == "far"
    # the shipped analyses (built-in detectors, default ess) are unchanged
    assert shipped_analysis("events").source.preset == "ess"


def test_detectors_with_different_default_sources_need_a_source(tmp_path):
    text = (PROFILE.replace('"NaI", "Ar"', '"NaI", "CsI"') + 'default_source = "far"\n'
            + "[source]\n" + FAR)
    with pytest.raises(ConfigError, match=r"source.preset: not given, and the detectors have "
                                          r"different default sources \(NaI: far, CsI: ess\); "
                                          r"name one with \[source\] preset"):
        load_analysis(_write(tmp_path / "a.toml", text))
    fixed = text.replace("[source]\n", '[source]\npreset = "ess"\n')
    assert load_analysis(_write(tmp_path / "b.toml", fixed)).source.preset == "ess"


def test_a_misspelled_key_of_an_inline_detector_names_the_file_once(tmp_path):
    # was "a.toml.a.toml: detector.NaI.colour: unknown key"
    with pytest.raises(ConfigError) as info:
        load_analysis(_write(tmp_path / "a.toml", EVENTS + NAI + 'colour = "red"\n'))
    assert "a.toml.detector.NaI.colour: unknown key" in str(info.value)
    assert "a.toml.a.toml" not in str(info.value)
