"""Audit #9 (analyses, part 1): a spectra analysis's ``sin2_theta_w`` reaches its new-physics
benchmarks; a ``running`` analysis refuses the header keys it cannot apply; an out-of-range
``sin2_theta_w`` of a spectra or event-table analysis is refused when the file is read; the
event-table caption names the source used.

Expected values: a benchmark with a negligible coupling (g = 1e-9 at a 10 MeV mediator changes the
rate by ~g²/(√2 G_F M²) ≈ 1e-9 relative) is the SM spectrum of :func:`cevns.rates.sm_spectrum` at
the same sin²θ_W, bin by bin.
"""

from __future__ import annotations

import copy
import subprocess

import numpy as np
import pytest
from installed import CEVNS  # the environment's installed command

from cevns.analyses import load_analysis
from cevns.analyses.base import RunOptions, parse_analysis, run_analysis
from cevns.analyses.catalogue import shipped_analysis
from cevns.errors import ConfigError
from cevns.physics.constants import SIN2_THETA_W
from cevns.rates import sm_spectrum

TINY = {"label": "tiny vector",
        "scenario": {"name": "ngi", "options": {"interaction": "vector", "vector_charge": "B-L"}},
        "values": {"coupling": 1e-9, "mediator_mass_MeV": 10.0}}
SPECTRA = {"schema_version": 1, "name": "sp", "title": "t", "kind": "spectra",
           "detectors": ["CsI"], "sin2_theta_w": 0.30, "ratio_panel": True,
           "new_physics": [TINY]}


def spectra(**values) -> dict:
    doc = copy.deepcopy(SPECTRA)
    doc["new_physics"][0]["values"].update(values)
    return doc


# --- 1. the analysis's sin2_theta_w in the new-physics benchmarks -------------------------------

@pytest.mark.parametrize(("own", "expected"), [(None, 0.30), (0.25, 0.25)])
def test_a_negligible_benchmark_is_the_sm_at_the_sin2_it_uses(own, expected):
    # the benchmark takes the analysis's 0.30 unless its values set sin2_theta_w; it used to be
    # computed at the scenario default 0.23857 (28 % below the SM drawn at 0.30)
    from cevns.analyses import runners

    an = parse_analysis(spectra(**({} if own is None else {"sin2_theta_w": own})))
    det, src = an.build_detectors()[0], an.source.build()
    counts = runners._benchmark_counts(0, an.new_physics[0], det, src, an.sin2_theta_w)
    sm = sm_spectrum(det, src, sin2_theta_w=expected).signal_per_bin
    np.testing.assert_allclose(counts, sm, rtol=1e-6)


def test_the_new_physics_table_of_a_run_uses_the_analysis_sin2(tmp_path):
    import csv

    an = parse_analysis(SPECTRA)
    run_analysis(an, tmp_path / "out", RunOptions(no_figures=True))
    with open(tmp_path / "out" / "sp_spectra.csv", encoding="utf-8") as fh:
        sm_total = sum(float(r["signal"]) for r in csv.DictReader(fh))
    with open(tmp_path / "out" / "sp_new_physics.csv", encoding="utf-8") as fh:
        (row,) = list(csv.DictReader(fh))
    assert sm_total == pytest.approx(27061.6, abs=0.1)  # the audit's SM total at 0.30
    assert float(row["total_events"]) == pytest.approx(sm_total, rel=1e-6)


def test_the_sm_equal_check_compares_with_the_analysis_sin2():
    # setting only sin2_theta_w to the analysis's value is the SM curve drawn: refused
    doc = spectra(sin2_theta_w=0.30, coupling=0.0)
    with pytest.raises(ConfigError, match=r"new_physics\[0\]\.values: .*sin2_theta_w = 0\.3 "
                                          r"\(the analysis's sin2_theta_w\).*would be the SM"):
        parse_analysis(doc)
    # the default 0.23857 in an analysis at 0.30 is a benchmark away from the SM drawn
    an = parse_analysis(spectra(sin2_theta_w=SIN2_THETA_W, coupling=0.0))
    assert an.new_physics[0].values["sin2_theta_w"] == SIN2_THETA_W


def test_a_scenario_without_sin2_is_refused_away_from_the_default(monkeypatch):
    from cevns.scenarios.sterile import NonUnitarity

    full = NonUnitarity.parameters.fget
    monkeypatch.setattr(NonUnitarity, "parameters", property(
        lambda self: {k: p for k, p in full(self).items() if k != "sin2_theta_w"}))
    bench = {"label": "nu", "scenario": {"name": "nonunitarity"}, "values": {"alpha11": 0.95}}
    doc = {**SPECTRA, "ratio_panel": False, "new_physics": [bench]}
    with pytest.raises(ConfigError, match=r"new_physics\[0\]\.scenario: scenario "
                                          r"'nonunitarity' has no sin2_theta_w parameter"):
        parse_analysis(doc)
    parse_analysis({**doc, "sin2_theta_w": SIN2_THETA_W})  # at the default: what it computes


# --- 3. keys a running analysis cannot apply -------------------------------------------------------

RUNNING = {"schema_version": 1, "name": "rn", "title": "t", "kind": "running"}


@pytest.mark.parametrize(("extra", "key"), [
    ({"detectors": ["CsI"]}, "detectors"),
    ({"helm_skin_fm": 3.0}, "helm_skin_fm"),
    ({"source": {"preset": "ess", "run_years": 100}}, "source"),
    ({"source": {"preset": "jsns2"}}, "source"),
    ({"detector_overrides": {"CsI": {"threshold_keVnr": 5.0}}}, "detector_overrides"),
])
def test_a_running_analysis_refuses_keys_it_cannot_apply(extra, key):
    with pytest.raises(ConfigError, match=rf"{key}: does not apply to a 'running' analysis: .* "
                                          r"named by the key projection \(here 'table4'\)"):
        parse_analysis({**RUNNING, **extra})


def test_a_running_analysis_accepts_the_projection_s_own_settings():
    # fig3 lists table4's detectors; its config.json (every field written) loads again
    fig3 = shipped_analysis("fig3")
    assert parse_analysis(fig3.model_dump(mode="json")).digest() == fig3.digest()
    parse_analysis({**RUNNING, "detectors": list(shipped_analysis("table4").detectors),
                    "source": {"preset": "ess"}})
    with pytest.raises(ConfigError, match=r"detectors, source, helm_skin_fm: do not apply"):
        parse_analysis({**RUNNING, "detectors": ["CsI"], "helm_skin_fm": 3.0,
                        "source": {"run_years": 100}})


def test_cevns_run_refuses_a_running_file_with_a_source(tmp_path):
    (tmp_path / "rn.toml").write_text(
        'schema_version = 1\nname = "rn"\ntitle = "t"\nkind = "running"\ndetectors = ["CsI"]\n'
        'helm_skin_fm = 3.0\n[source]\npreset = "ess"\nrun_years = 100\n', encoding="utf-8")
    res = subprocess.run([*CEVNS, "run", "rn.toml", "--out", "out", "--quick", "--no-figures"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "detectors, source, helm_skin_fm: do not apply" in res.stderr
    assert not (tmp_path / "out").exists()


# --- 9. sin2_theta_w out of range, when the file is read --------------------------------------------

@pytest.mark.parametrize("kind", ["spectra", "event-table"])
@pytest.mark.parametrize("value", ["1.5", "-0.1"])
def test_sin2_theta_w_out_of_range_is_refused_when_read(tmp_path, kind, value):
    path = tmp_path / "bad.toml"
    path.write_text(f'schema_version = 1\nname = "sp"\ntitle = "t"\nkind = "{kind}"\n'
                    f'detectors = ["CsI"]\nsin2_theta_w = {value}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sin2_theta_w: value must be finite and in \[0, 1\]"):
        load_analysis(path)
    res = subprocess.run([*CEVNS, "run", "bad.toml", "--out", "out", "--quick"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "Traceback" not in res.stderr
    assert [line for line in res.stderr.splitlines() if line.startswith("error:")] == [
        "error: invalid configuration (bad.toml):"]
    assert "bad.toml.sin2_theta_w: value must be finite and in [0, 1]" in res.stderr
    assert not (tmp_path / "out").exists(), "an output folder was written"


# --- 14. the event-table caption names its source ---------------------------------------------------

def test_the_event_table_caption_names_the_source(tmp_path):
    an = parse_analysis({"schema_version": 1, "name": "et", "title": "t", "kind": "event-table",
                         "detectors": ["CsI"], "source": {"preset": "jsns2"}})
    run_analysis(an, tmp_path, RunOptions(no_figures=True))
    caption = (tmp_path / "et.md").read_text(encoding="utf-8").splitlines()[0]
    assert "at the ESS" not in caption
    assert caption.startswith("Expected events, 3 years at jsns2 (J-PARC MLF")
