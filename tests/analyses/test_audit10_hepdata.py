"""HEPData table names of detectors whose names collide once slugged (audit 10, finding 15)."""

from __future__ import annotations

import pytest
import yaml

from cevns.analyses import RunOptions, parse_analysis, run_analysis
from cevns.analyses.hepdata import write_hepdata

pytest.importorskip("hepdata_lib")
pytest.importorskip("hepdata_validator")

DET = {"formula": "Ar", "mass_kg": 10.0, "threshold_keVnr": 0.1, "efficiency": 0.8,
       "binning": {"rule": "single"}}


def test_detector_names_that_slug_alike_get_distinct_tables(tmp_path):
    """'Cs.I' and 'Cs_I' both slug to 'Cs_I': the export raised "table name 'dots Cs_I' used
    twice"; now the second table gets a numeric suffix and the submission validates."""
    an = parse_analysis({
        "schema_version": 1, "title": "dots", "paper": "Fig. X", "name": "dots", "kind": "scan2d",
        "detectors": ["Cs.I", "Cs_I"], "scenario": {"name": "sm", "options": {"form_factor": "separate"}},
        "x": {"parameter": "sin2_theta_w", "start": 0.2, "stop": 0.28, "num": 5},
        "y": {"parameter": "neutron_radius_fm", "start": 3.0, "stop": 4.5, "num": 5},
        "detector": {"Cs.I": DET, "Cs_I": {**DET, "mass_kg": 20.0}}})
    run_analysis(an, tmp_path / "res" / "dots", RunOptions(quick=True))
    out = write_hepdata(tmp_path / "res", tmp_path / "hd")  # validates the archive
    docs = list(yaml.safe_load_all((out.directory / "submission.yaml").read_text()))[1:]
    files = [d["data_file"] for d in docs]
    assert len(files) == len(set(files)) == 3  # the two detectors and their combination
    by_detector = {}
    for d in docs:
        data = yaml.safe_load((out.directory / d["data_file"]).read_text())
        quals = {q["name"]: q["value"] for q in data["dependent_variables"][0]["qualifiers"]}
        by_detector[quals["detector"]] = d["name"]
    assert set(by_detector) == {"Cs.I", "Cs_I", "combined"}
    assert sorted([by_detector["Cs.I"], by_detector["Cs_I"]]) == ["dots Cs_I", "dots Cs_I 2"]
