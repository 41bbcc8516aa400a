"""Sensitivity settings of input audit #9: the analysis-level ``helm_skin_fm`` of a threshold
study is applied to every case; ``table = "limit"`` refuses a two-sided interval instead of
quoting its lower edge; a ``reference.combined`` row of a table without a combined row, and
``spacing = "log"`` beside explicit axis ``values``, are refused when the file is read
(docs/errors.md)."""

from __future__ import annotations

import csv
import math

import pytest

from cevns.analyses import RunOptions, run_analysis
from cevns.analyses.base import parse_analysis
from cevns.errors import ConfigError

SIN2_CASE = {"label": "sin2", "type": "interval",
             "scenario": {"name": "sm", "options": {"form_factor": "common"}},
             "scan": {"parameter": "sin2_theta_w", "start": 0.15, "stop": 0.33, "num": 41},
             "level": "1sigma_1dof"}


def threshold_study(**top) -> dict:
    return {"schema_version": 1, "name": "ts", "title": "threshold test",
            "kind": "threshold-study", "detectors": ["CsI"], "raised_threshold_keVnr": 5.0,
            "cases": [dict(SIN2_CASE)], **top}


def profile(**top) -> dict:
    return {"schema_version": 1, "name": "p1", "title": "t", "kind": "profile",
            "detectors": ["CsI"],
            "scenario": {"name": "sm", "options": {"form_factor": "common"}},
            "scan": {"parameter": "sin2_theta_w", "start": 0.17, "stop": 0.31, "num": 41},
            "stats": {"levels": ["1sigma_1dof"]}, **top}


def test_threshold_study_applies_the_analysis_helm_skin_to_every_case():
    """helm_skin_fm = 3.0 at the analysis level gives what the same value as a detector override
    gives (it was recorded but not applied: the nominal 1 fm was used)."""
    from cevns.analyses.appendix_b import _case_analysis, _sensitivity

    plain = parse_analysis(threshold_study(), where="ts_a.toml")
    level = parse_analysis(threshold_study(helm_skin_fm=3.0), where="ts_b.toml")
    override = parse_analysis(threshold_study(detector_overrides={"CsI": {"helm_skin_fm": 3.0}}),
                              where="ts_c.toml")
    for threshold in (None, 5.0):
        (det,) = _case_analysis(level, level.cases[0], "CsI", threshold).build_detectors()
        assert det.helm_skin_fm == 3.0
        values = [_sensitivity(an, an.cases[0], "CsI", threshold, quick=False)
                  for an in (plain, level, override)]
        assert values[1] == pytest.approx(values[2], rel=1e-12)
        assert abs(values[1] / values[0] - 1) > 1e-3


def test_limit_table_refuses_a_two_sided_interval(tmp_path):
    """sin²θ_W's 1σ interval is closed on both sides: there is no single limit (its lower edge
    was quoted as "the limit"); the error comes before any table is written. A one-sided
    interval (α₁₁, open at the truth 1.0 at the grid's end) still gives its closed edge."""
    an = parse_analysis(profile(table="limit"), where="lim.toml")
    with pytest.raises(ConfigError, match=r"table = 'limit'.*two-sided.*CsI \[0\.22.*"
                                          r"table = 'best-interval'"):
        run_analysis(an, tmp_path / "two", RunOptions(no_figures=True))
    assert not list((tmp_path / "two").glob("p1*"))
    one = parse_analysis(profile(
        table="limit", table_level="90cl_1dof", scenario={"name": "nonunitarity",
                                                          "options": {"reading": "normalised"}},
        scan={"parameter": "alpha11", "start": 0.8, "stop": 1.0, "num": 41}), where="one.toml")
    run_analysis(one, tmp_path / "one", RunOptions(no_figures=True))
    (row,) = csv.DictReader((tmp_path / "one" / "p1.csv").open())
    assert row["open_edge"] == "upper" and 0.8 < float(row["limit"]) < 1.0


@pytest.mark.parametrize("top, why", [
    ({}, r"one detector, CsI.*list several detectors"),
    ({"detectors": ["CsI", "Ar"], "stats": {"combine": False, "levels": ["1sigma_1dof"]}},
     r"stats\.combine = false.*set stats\.combine = true"),
])
def test_reference_combined_without_a_combined_row_is_refused(top, why):
    """The combined reference row was dropped without a word when the table has none."""
    doc = profile(reference={"combined": [0.22, 0.25]}, **top)
    with pytest.raises(ConfigError, match=r"reference\.combined: the table has no combined row "
                                          r"\(" + why):
        parse_analysis(doc, where="ref.toml")
    both = profile(reference={"combined": [0.22, 0.25]}, detectors=["CsI", "Ar"])
    assert math.isclose(parse_analysis(both, where="ok.toml").reference["combined"][1], 0.25)


def test_log_spacing_beside_explicit_values_needs_positive_values():
    """With explicit values spacing = "log" says the axis is logarithmic (an exclusion figure's
    scale): values ≤ 0 cannot be drawn there, and were accepted without a word."""
    scan = {"parameter": "sin2_theta_w", "values": [0.0, 0.22, 0.25], "spacing": "log"}
    with pytest.raises(ConfigError, match=r"scan: .*spacing = 'log' \(a logarithmic axis\) "
                                          r"needs values > 0, got 0"):
        parse_analysis(profile(scan=scan), where="log.toml")
    ok = parse_analysis(profile(scan={**scan, "values": [0.2, 0.22, 0.25]}), where="log.toml")
    assert ok.scan.spacing == "log" and ok.scan.grid().tolist() == [0.2, 0.22, 0.25]
    scan = {**scan, "values": [0.2, 0.22, 0.25]}
    # the written config.json of an axis of values (spacing "linear", the default) reads again
    an = parse_analysis(profile(scan={**scan, "spacing": "linear"}), where="lin.toml")
    again = parse_analysis(an.model_dump(mode="json"), where="config.json")
    assert again.scan.grid().tolist() == [0.2, 0.22, 0.25]
