"""Analysis-file mistakes of input audit #8 are refused when the file is read, naming the field
(docs/errors.md): repeated or blank benchmark labels and benchmarks that are the SM, a scenario
option called ``name``, variants that compute the same grid once merged, a parameter both fixed and
tied, tied values outside the parameter's range, benchmark sterile masses and variant detector
overrides beyond the source's reach, an empty preset path, repeated levels or computed points, and
an overlong caption note. ``cevns run`` exits 2 and writes nothing."""

from __future__ import annotations

import copy
import subprocess
import tomllib
from pathlib import Path

import pytest
from installed import CEVNS  # the environment's installed command

from cevns.analyses.base import parse_analysis
from cevns.errors import CevnsError, ConfigError

SHIPPED = Path(__file__).parents[2] / "src" / "cevns" / "analyses" / "shipped"

EXCLUSION = {"schema_version": 1, "name": "x", "title": "t", "kind": "exclusion",
             "detectors": ["CsI", "Ar"], "per_detector": False,
             "scenario": {"name": "ngi", "options": {"interaction": "vector",
                                                     "vector_charge": "B-L"}},
             "x": {"parameter": "mediator_mass_MeV", "start": 1.0, "stop": 1e3, "num": 8,
                   "spacing": "log"},
             "y": {"parameter": "coupling", "start": 1e-6, "stop": 1e-2, "num": 10,
                   "spacing": "log"}}
NGI_BENCHMARK = {"label": "vector", "values": {"coupling": 2e-5, "mediator_mass_MeV": 10.0},
                 "scenario": {"name": "ngi", "options": {"interaction": "vector"}}}


def fig1() -> dict:
    return tomllib.loads((SHIPPED / "fig1.toml").read_text(encoding="utf-8"))


def exclusion(*variants: dict, **top) -> dict:
    return {**copy.deepcopy(EXCLUSION), **top, "variants": list(variants)}


def refused(doc: dict, pattern: str, error=ConfigError) -> str:
    with pytest.raises(error, match=pattern) as info:
        parse_analysis(doc, where="case.toml")
    return str(info.value)


def toml_text(doc: dict) -> str:
    """``doc`` as TOML (the few value types these documents use)."""

    def value(v) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return "{ " + ", ".join(f'"{k}" = {value(x)}' for k, x in v.items()) + " }"

    lines, tables = [], []
    for key, v in doc.items():
        if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for item in v:
                tables.append(f"[[{key}]]\n" + "".join(f'"{k}" = {value(x)}\n'
                                                       for k, x in item.items()))
        else:
            lines.append(f'"{key}" = {value(v)}\n')
    return "".join(lines) + "\n" + "\n".join(tables)


def run_cli(tmp_path: Path, doc: dict) -> subprocess.CompletedProcess:
    """``cevns run case.toml --out out --quick`` on ``doc``; checks exit 2, no traceback and
    nothing written."""
    (tmp_path / "case.toml").write_text(toml_text(doc), encoding="utf-8")
    res = subprocess.run([*CEVNS, "run", "case.toml", "--out", "out", "--quick"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr
    assert not (tmp_path / "out").exists(), "something was computed or written"
    return res


# --- 1. benchmark labels and SM-equal benchmarks ------------------------------------------------

def test_a_repeated_benchmark_label_is_refused():
    # the NGI benchmark's numbers used to appear under the non-unitarity label in the table
    doc = fig1()
    doc["new_physics"][2]["label"] = doc["new_physics"][0]["label"]
    refused(doc, r"new_physics\[2\]\.label: .* is also the label of new_physics\[0\]; "
                 r"benchmark labels must be unique")


@pytest.mark.parametrize("label", ["", "   "])
def test_a_blank_benchmark_label_is_refused(label):
    doc = fig1()
    doc["new_physics"][1]["label"] = label
    refused(doc, r"new_physics\[1\]\.label: empty; every benchmark needs a label")


def test_a_benchmark_with_no_values_is_refused_as_the_sm():
    # non-unitarity defaults are the SM: the curve used to be drawn on top of the SM curve
    doc = fig1()
    doc["new_physics"][2]["values"] = {}
    refused(doc, r"new_physics\[2\]\.values: values = \{\} sets no parameter, and every strength "
                 r"parameter of scenario 'nonunitarity' is at its default, the Standard-Model "
                 r"value \(alpha11 = 1, alpha22 = 1, sin2_theta_w = 0\.23857\)")


def test_a_benchmark_with_no_strength_is_refused_as_the_sm():
    # a mediator mass with coupling 0 (the default) is no new physics at all
    doc = fig1()
    doc["new_physics"][0]["values"] = {"mediator_mass_MeV": 10.0}
    refused(doc, r"new_physics\[0\]\.values: values sets only mediator_mass_MeV, .*scenario 'ngi'"
                 r".*\(coupling = 0, sin2_theta_w = 0\.23857\): the benchmark would be the SM "
                 r"curve; give at least one of coupling, sin2_theta_w a value away from the SM")


def test_a_benchmark_given_twice_is_refused():
    doc = fig1()
    doc["new_physics"][2] = {**doc["new_physics"][0], "label": "the same point again"}
    refused(doc, r"new_physics\[2\]: the same benchmark as new_physics\[0\]")


def test_benchmarks_away_from_the_sm_are_accepted():
    doc = fig1()
    doc["new_physics"].append({"label": "sin2", "scenario": {"name": "sm"},
                               "values": {"sin2_theta_w": 0.25}})
    assert len(parse_analysis(doc).new_physics) == 4


def test_cevns_run_refuses_a_repeated_benchmark_label(tmp_path):
    doc = fig1()
    doc["new_physics"][2]["label"] = doc["new_physics"][0]["label"]
    res = run_cli(tmp_path, doc)
    assert "new_physics[2].label:" in res.stderr
    assert "is also the label of new_physics[0]" in res.stderr


# --- 2. a scenario option called 'name' ----------------------------------------------------------

def test_a_scenario_option_called_name_is_an_unknown_option():
    # it used to be "internal error: TypeError: get_scenario() got multiple values for 'name'"
    doc = exclusion({"label": "a"}, {"label": "b", "options": {"interaction": "scalar"}})
    doc["scenario"]["options"]["name"] = "dipole"
    # one block for the file, the option under its own path (not a nested "(scenario)" block)
    refused(doc, r"invalid configuration \(case\.toml\):\s+case\.toml\.scenario\.options\.name: "
                 r"unknown key \(valid keys: contact, coupling_sign, interaction, vector_charge\)$")


def test_a_variant_option_called_name_is_an_unknown_option():
    doc = exclusion({"label": "a"}, {"label": "b", "options": {"name": "dipole"}})
    refused(doc, r"invalid configuration \(case\.toml\):\s+case\.toml\.variants\[1\]\.options\."
                 r"name: unknown key \(valid keys: contact, coupling_sign, interaction, "
                 r"vector_charge\)$")


def test_a_benchmark_option_called_name_is_an_unknown_option():
    doc = fig1()
    doc["new_physics"][1]["scenario"]["options"]["name"] = "ngi"
    refused(doc, r"invalid configuration \(case\.toml\):\s+case\.toml\.new_physics\.1\.scenario\."
                 r"name: unknown key \(valid keys: beyond_reach, channel\)$")


def test_scenario_choice_build_refuses_an_option_called_name():
    from cevns.analyses.sensitivity.schema import ScenarioChoice

    choice = ScenarioChoice(name="ngi", options={"interaction": "vector"})
    with pytest.raises(ConfigError, match=r"scenario\.name: unknown key \(valid keys: contact"):
        choice.build({"name": "dipole"})


def test_cevns_run_refuses_a_scenario_option_called_name(tmp_path):
    doc = exclusion({"label": "a"}, {"label": "b", "options": {"interaction": "scalar"}})
    doc["scenario"]["options"]["name"] = "dipole"
    res = run_cli(tmp_path, doc)
    assert "case.toml.scenario.options.name: unknown key (valid keys: contact, coupling_sign, " \
        "interaction, vector_charge)" in res.stderr


# --- 3. variants that compute the same grid once merged ------------------------------------------

@pytest.mark.parametrize("first", [
    {"label": "a", "stats": {"sigma_background": 0.01}},  # the default σ_β
    {"label": "a", "stats": {"levels": ["90cl_2dof"]}},  # levels are drawn, not computed
    {"label": "a", "options": {"vector_charge": "B-L"}},  # the analysis's own option
])
def test_variants_equal_once_merged_are_refused(first):
    # they used to fail after the run started: "run_scans: several scans write into the same store"
    doc = exclusion(first, {"label": "b"})
    refused(doc, r"variants\[1\] \('b'\) computes the same grid as variants\[0\] \('a'\): with "
                 r"the analysis's settings merged in")


def test_variants_that_differ_once_merged_are_accepted():
    doc = exclusion({"label": "a", "stats": {"sigma_background": 0.05}}, {"label": "b"})
    assert len(parse_analysis(doc).variants) == 2


def test_cevns_run_refuses_variants_equal_once_merged(tmp_path):
    doc = exclusion({"label": "a", "stats": {"sigma_background": 0.01}},
                    {"label": "b", "stats": {"levels": ["90cl_1dof"]}})
    res = run_cli(tmp_path, doc)
    assert "variants[1] ('b') computes the same grid as variants[0] ('a')" in res.stderr


# --- 4. a parameter both fixed and tied -----------------------------------------------------------

TIE = {"sin2_theta_w": {"to": "coupling", "ratio": 10.0}}


@pytest.mark.parametrize(("top", "variant", "pattern"), [
    ({}, {"fixed": {"sin2_theta_w": 0.2}, "ties": TIE},
     r"variants\[1\]\.ties\.sin2_theta_w: 'sin2_theta_w' is also fixed "
     r"\(variants\[1\]\.fixed\.sin2_theta_w = 0\.2\)"),
    ({"fixed": {"sin2_theta_w": 0.2}}, {"ties": TIE},
     r"variants\[1\]\.ties\.sin2_theta_w: 'sin2_theta_w' is also fixed "
     r"\(fixed\.sin2_theta_w = 0\.2\)"),
    ({"fixed": {"sin2_theta_w": 0.2}, "ties": TIE}, {"stats": {"sigma_background": 0.05}},
     r"(?<!\.)ties\.sin2_theta_w: 'sin2_theta_w' is also fixed \(fixed\.sin2_theta_w = 0\.2\)"),
])
def test_a_parameter_both_fixed_and_tied_is_refused(top, variant, pattern):
    # the tie used to win silently, the fixed value ignored
    doc = exclusion({"label": "a"}, {"label": "b", **variant}, **top)
    message = refused(doc, pattern)
    assert "either fixed or tied to a scanned one, not both" in message


def test_cevns_run_refuses_a_parameter_both_fixed_and_tied(tmp_path):
    doc = exclusion({"label": "a"}, {"label": "b", "fixed": {"sin2_theta_w": 0.2}, "ties": TIE})
    res = run_cli(tmp_path, doc)
    assert "variants[1].ties.sin2_theta_w: 'sin2_theta_w' is also fixed" in res.stderr


# --- 5. tied values outside the parameter's range -------------------------------------------------

def test_tied_values_out_of_range_are_refused_when_read():
    # variant a used to be computed, then "parameter sin2_theta_w: values must be ≤ 1, got 1.29155"
    doc = exclusion({"label": "a"},
                    {"label": "b", "ties": {"sin2_theta_w": {"to": "coupling", "ratio": 1000.0}}})
    refused(doc, r"variants\[1\]\.ties\.sin2_theta_w: sin2_theta_w = 1000 × coupling takes "
                 r"values from 0\.001 to 10 on the grid \(y axis coupling from 1e-06 to 0\.01\), "
                 r"outside its range: parameter sin2_theta_w: values must be ≤ 1")


def test_tied_values_inside_the_range_are_accepted():
    doc = exclusion({"label": "a"},
                    {"label": "b", "ties": {"sin2_theta_w": {"to": "coupling", "ratio": 10.0}}})
    assert parse_analysis(doc).variants[1].ties["sin2_theta_w"].ratio == 10.0


def test_cevns_run_refuses_tied_values_out_of_range(tmp_path):
    doc = exclusion({"label": "a"},
                    {"label": "b", "ties": {"sin2_theta_w": {"to": "coupling", "ratio": 1e300}}})
    res = run_cli(tmp_path, doc)
    assert "variants[1].ties.sin2_theta_w: sin2_theta_w = 1e+300 × coupling" in res.stderr
    assert "values must be ≤ 1" in res.stderr


# --- 6. benchmarks and variant overrides beyond the source's reach --------------------------------

def test_a_benchmark_sterile_mass_beyond_reach_is_refused_when_read():
    # it used to print the title, then fail without naming the benchmark
    doc = fig1()
    doc["new_physics"][1]["values"]["sterile_mass_MeV"] = 100.0
    refused(doc, r"new_physics\[1\]\.values: sterile_mass_MeV 100 is above the "
                 r"largest sterile mass reachable in CsI", error=CevnsError)


def test_a_variant_threshold_above_the_largest_recoil_names_the_variant():
    doc = exclusion({"label": "a"},
                    {"label": "b", "detector_overrides": {"CsI": {"threshold_keVnr": 500.0}}})
    refused(doc, r"variants\[1\]\.detector_overrides\.CsI: detector CsI: threshold_keVnr 500 "
                 r"keVnr is above the largest possible recoil", error=CevnsError)


def test_a_variant_detector_the_source_overshoots_is_refused_when_read():
    # the source check of the analysis's detectors was not made for a variant's
    doc = exclusion({"label": "a"}, {"label": "b", "detector_overrides": {
        "CsI": {"max_neutrino_energy_MeV": 40.0}}})
    refused(doc, r"variants\[1\]\.detector_overrides\.CsI: source ess emits neutrinos up to "
                 r"52\.8\d* MeV, above the 40 MeV detector CsI is built for", error=CevnsError)


def test_a_benchmark_error_at_run_time_names_the_benchmark(monkeypatch):
    from cevns.analyses import runners
    from cevns.analyses.catalogue import shipped_analysis

    def fails(curve, det, src):
        raise ConfigError("something about this benchmark")

    monkeypatch.setattr(runners, "new_physics_counts", fails)
    an = shipped_analysis("fig1")
    with pytest.raises(ConfigError, match=r"^new_physics\[1\] \('dipole portal: .*'\): something"):
        runners._benchmark_counts(1, an.new_physics[1], an.build_detectors()[0],
                                  an.source.build())


def test_cevns_run_refuses_a_benchmark_beyond_reach(tmp_path):
    doc = fig1()
    doc["new_physics"][1]["values"]["sterile_mass_MeV"] = 100.0
    res = run_cli(tmp_path, doc)
    assert "new_physics[1].values: sterile_mass_MeV 100 is above" in res.stderr
    assert res.stdout.strip() == "", "the run started"


def test_cevns_run_refuses_a_variant_threshold_beyond_reach(tmp_path):
    doc = exclusion({"label": "a"},
                    {"label": "b", "detector_overrides": {"CsI": {"threshold_keVnr": 500.0}}})
    res = run_cli(tmp_path, doc)
    assert "variants[1].detector_overrides.CsI: detector CsI: threshold_keVnr 500" in res.stderr


# --- 7. empty preset path, repeated levels and points, caption length -----------------------------

def test_an_empty_preset_path_is_named_as_such():
    doc = exclusion({"label": "a"}, {"label": "b", "options": {"interaction": "scalar"}},
                    presets=[""])
    message = refused(doc, r"presets\[0\]: empty path ''; give the path of a preset TOML file")
    assert "is a folder" not in message


@pytest.mark.parametrize(("where", "levels", "pattern"), [
    ("top", ["90cl_1dof", "90cl_1dof"], r"stats\.levels: item 1 \('90cl_1dof'\) is the same "
                                        r"Δχ² level \(2\.706\) as item 0 \('90cl_1dof'\)"),
    ("top", ["1sigma_1dof", 1.0], r"stats\.levels: item 1 \(1\.0\) is the same Δχ² level"),
    ("variant", ["90cl_2dof", "90cl_1dof", "90cl_2dof"],
     r"variants\.1\.stats\.levels: item 2 \('90cl_2dof'\) is the same Δχ² level"),
])
def test_a_repeated_level_is_refused(where, levels, pattern):
    if where == "top":
        doc = exclusion({"label": "a"}, {"label": "b", "options": {"interaction": "scalar"}},
                        stats={"levels": levels})
    else:
        doc = exclusion({"label": "a"},
                        {"label": "b", "stats": {"sigma_background": 0.05, "levels": levels}})
    message = refused(doc, pattern)
    assert "list each level once" in message


def test_a_repeated_computed_point_is_refused():
    # fig3 used to compute the COHERENT point twice (3.5 s instead of 1.2 s)
    doc = tomllib.loads((SHIPPED / "fig3.toml").read_text(encoding="utf-8"))
    doc["computed_points"] = ["coherent-csi-2021", "coherent-csi-2021"]
    refused(doc, r"computed_points\[1\]: 'coherent-csi-2021' is listed twice "
                 r"\(computed_points\[0\]\); list each point once")


def test_an_overlong_caption_note_is_refused():
    doc = fig1()
    doc["caption_note"] = "x" * 200_000
    message = refused(doc, r"caption_note: 200000 characters, at most 2000")
    assert len(message) < 500  # the note itself is not echoed
    doc["caption_note"] = "y" * 2000
    assert len(parse_analysis(doc).caption_note) == 2000


@pytest.mark.parametrize("case", ["presets", "computed_points", "levels", "caption_note"])
def test_cevns_run_refuses_the_low_findings(tmp_path, case):
    if case == "presets":
        doc = exclusion({"label": "a"}, {"label": "b", "options": {"interaction": "scalar"}},
                        presets=[""])
        expected = "presets[0]: empty path ''"
    elif case == "computed_points":
        doc = tomllib.loads((SHIPPED / "fig3.toml").read_text(encoding="utf-8"))
        doc["computed_points"] = ["coherent-csi-2021", "coherent-csi-2021"]
        expected = "computed_points[1]: 'coherent-csi-2021' is listed twice"
    elif case == "levels":
        doc = exclusion({"label": "a"}, {"label": "b", "options": {"interaction": "scalar"}},
                        stats={"levels": ["90cl_1dof", "90cl_1dof"]})
        expected = "item 1 ('90cl_1dof') is the same Δχ² level (2.706) as item 0"
    else:
        doc = fig1()
        doc["caption_note"] = "x" * 200_000
        expected = "caption_note: 200000 characters, at most 2000"
    res = run_cli(tmp_path, doc)
    assert expected in res.stderr
