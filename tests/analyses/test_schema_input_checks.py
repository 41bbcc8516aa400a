"""Analysis files with mistakes the audit found are refused when the file is read (docs/errors.md):
detectors listed twice or of the wrong type, both axes on one parameter, duplicate variants,
normalisation uncertainties out of range, and a source override out of range."""

from __future__ import annotations

import pytest

from cevns.analyses import load_analysis
from cevns.analyses.base import parse_analysis
from cevns.errors import ConfigError

PROFILE = {"schema_version": 1, "name": "p1", "title": "t", "kind": "profile",
           "detectors": ["CsI"], "scenario": {"name": "sm"},
           "scan": {"parameter": "sin2_theta_w", "start": 0.18, "stop": 0.30, "num": 5}}
EXCLUSION = {"schema_version": 1, "name": "x", "title": "t", "kind": "exclusion",
             "detectors": ["CsI"], "scenario": {"name": "ngi", "options": {"interaction": "vector"}},
             "x": {"parameter": "mediator_mass_MeV", "start": 1.0, "stop": 100.0, "num": 11,
                   "spacing": "log"},
             "y": {"parameter": "coupling", "start": 1e-6, "stop": 1e-3, "num": 11,
                   "spacing": "log"}}


@pytest.mark.parametrize("doc", [
    PROFILE,
    {"schema_version": 1, "name": "s", "title": "t", "kind": "spectra"},
    {"schema_version": 1, "name": "e", "title": "t", "kind": "event-table"},
])
def test_a_detector_listed_twice_is_refused(doc):
    # it used to be counted twice: the "combined" Δχ² was exactly twice the CsI one
    with pytest.raises(ConfigError, match=r"detectors: 'CsI' listed twice"):
        parse_analysis({**doc, "detectors": ["CsI", "Ge", "CsI"]})


@pytest.mark.parametrize(("detectors", "message"), [
    ([["CsI"]], r"detectors\.0: Input should be a valid string"),
    (["CsI", {"a": 1}], r"detectors\.1: Input should be a valid string"),
    (5, r"detectors: a list of detector names"),
])
def test_detectors_of_the_wrong_type_are_a_config_error(detectors, message):
    # a nested list used to end in "TypeError: unhashable type: 'list'" (internal error)
    with pytest.raises(ConfigError, match=message):
        parse_analysis({**PROFILE, "detectors": detectors})


def test_both_axes_on_one_parameter_are_refused():
    # used to crash after computing the whole grid, dumping an array into the message
    doc = {**EXCLUSION, "x": {**EXCLUSION["y"]}}
    with pytest.raises(ConfigError, match=r"y\.parameter: x\.parameter and y\.parameter are both "
                                          r"'coupling'"):
        parse_analysis(doc)


def test_duplicate_variant_labels_are_refused():
    # the two curves could not be told apart in the table (two sets of rows "variant = a")
    variants = [{"label": "a", "options": {"interaction": "scalar"}}, {"label": "a"}]
    with pytest.raises(ConfigError, match=r"variants\[1\]\.label: 'a' .*labels must be unique"):
        parse_analysis({**EXCLUSION, "variants": variants})


def test_identical_variants_are_refused():
    # they used to fail at run time with "several scans write into the same store"
    variants = [{"label": "a"}, {"label": "b"}]
    with pytest.raises(ConfigError, match=r"variants\[1\] \('b'\) is identical to variants\[0\]"):
        parse_analysis({**EXCLUSION, "variants": variants})


def test_distinct_variants_are_accepted():
    variants = [{"label": "a"}, {"label": "b", "options": {"interaction": "scalar"}}]
    assert len(parse_analysis({**EXCLUSION, "variants": variants}).variants) == 2


@pytest.mark.parametrize("field", ["sigma_signal", "sigma_background"])
@pytest.mark.parametrize(("value", "message"), [
    (1e300, r"less than or equal to 10"), (1e160, r"less than or equal to 10"),
    (1e-300, r"greater than or equal to 0\.0001"), (1e-160, r"greater than or equal to 0\.0001"),
])
def test_normalisation_uncertainties_are_bounded(field, value, message):
    # 1/σ² over- or underflowed: OverflowError, ZeroDivisionError, or a χ² of NaN at run time
    with pytest.raises(ConfigError, match=rf"stats\.{field}: Input should be {message}"):
        parse_analysis({**PROFILE, "stats": {field: value}})


def test_a_tiny_baseline_in_the_source_is_refused_when_read():
    # used to raise ZeroDivisionError inside the first scan tile
    with pytest.raises(ConfigError, match=r"source\.baseline_m: .*at least 0\.001 m"):
        parse_analysis({**PROFILE, "source": {"preset": "ess", "baseline_m": 1e-200}})


@pytest.mark.parametrize("kind", [["profile"], {"name": "profile"}, 3])
def test_a_kind_that_is_not_a_string_is_a_config_error(kind):
    """kind = ["profile"] (a TOML array) or a table was a TypeError (unhashable) in the registry
    lookup; it is a ConfigError naming the field and the valid kinds."""
    from cevns.analyses.base import parse_analysis
    from cevns.errors import ConfigError

    with pytest.raises(ConfigError, match=r"bad\.toml\.kind: Input should be a valid string"):
        parse_analysis({"schema_version": 1, "name": "x", "kind": kind}, where="bad.toml")


@pytest.mark.parametrize(("axis", "message"), [
    ('scan = { parameter = "sin2_theta_w", start = -0.5, stop = 0.3, num = 5 }',
     "scan: parameter sin2_theta_w: values must be ≥ 0, got -0.5"),
    ('scan = { parameter = "sin2_theta_w", values = [0.2, 0.25, 1.5] }',
     "scan: parameter sin2_theta_w: values must be"),
])
def test_a_scan_outside_the_parameter_range_is_refused_when_the_file_is_read(tmp_path, axis,
                                                                           message):
    """The scanned values are checked against the scenario parameter's range when the file is
    read (it was only when the scan started, after the output folder had been claimed)."""
    from cevns.analyses import load_analysis
    from cevns.errors import ConfigError

    path = tmp_path / "p.toml"
    path.write_text('schema_version = 1\nname = "p"\ntitle = "t"\nkind = "profile"\n'
                    f'detectors = ["CsI"]\nscenario = {{ name = "sm" }}\n{axis}\n')
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load_analysis(path)


@pytest.mark.parametrize(("change", "message"), [
    (("coupling = 2e-5", "couplng = 2e-5"), r"new_physics\.0: unknown parameter .*'couplng' "
                                            r"\(did you mean 'coupling'\?\)"),
    (("alpha11 = 0.9", "alpha11 = 1.9"), r"new_physics\.2: parameter alpha11: values must be ≤ 1"),
    (('name = "nonunitarity"', 'name = "nonunitarty"'), r"new_physics\.2: unknown scenario"),
])
def test_new_physics_curves_are_checked_when_the_file_is_read(tmp_path, change, message):
    """fig1's new-physics benchmarks: a misspelt parameter or scenario, or a value out of range,
    is an error naming the curve when the file is read (it was when the spectra were computed)."""
    with pytest.raises(ConfigError, match=message):
        load_analysis(_shipped_with(tmp_path, "fig1", *change))


@pytest.mark.parametrize(("change", "message"), [
    (("mu_min_GeV = 1e-4", "mu_min_GeV = 100.0"), "need 0 < mu_min_GeV < mu_max_GeV"),
    (('projection = "table4"', 'projection = "fig6"'), "'fig6' is not a sin2_theta_w profile"),
    (('projection = "table4"', 'projection = "tabel4"'), r"projection: unknown .*'table4'"),
    (('"coherent-csi-2021"]', '"coherent-csi-2022"]'), r"computed_points\.0: unknown .*2022"),
    (('mu_max_GeV = 91.1876', 'mu_max_GeV = 91.1876\npoints = 1000000000'), "points"),
])
def test_running_items_are_checked_when_the_file_is_read(tmp_path, change, message):
    """fig3 (kind "running"): the scale range, the projection item, the point providers and the
    number of curve points are checked when the file is read (they were checked, or not at all,
    only after the projection's profile had been computed)."""
    with pytest.raises(ConfigError, match=message):
        load_analysis(_shipped_with(tmp_path, "fig3", *change))


@pytest.mark.parametrize(("change", "message"), [
    (("raised_threshold_keVnr = 5.0", "raised_threshold_keVnr = 0.5"),
     "raised_threshold_keVnr = 0.5 is not above the nominal threshold of CsI"),
    (('parameter = "sin2_theta_w", start = 0.15', 'parameter = "sin2_theta_w", start = -0.15'),
     r"cases\[sin²θ_W\].*values must be ≥ 0"),
    (('fixed = { sterile_mass_MeV = 0.1 }', 'fixed = { sterile_mas_MeV = 0.1 }'),
     r"cases\[dipole μ_νe, m₄ = 0.1 MeV\].*sterile_mas_MeV"),
])
def test_threshold_study_cases_are_checked_when_the_file_is_read(tmp_path, change, message):
    """appB4 (kind "threshold-study"): every case is a valid profile analysis for every detector
    at both thresholds, and the raised threshold lies above the nominal ones, when the file is
    read (the cases were parsed one by one as the study ran; a raised threshold below the nominal
    one inverted the improvement factors silently)."""
    with pytest.raises(ConfigError, match=message):
        load_analysis(_shipped_with(tmp_path, "appB4", *change))


@pytest.mark.parametrize("kind", ["event-table", "spectra"])
@pytest.mark.parametrize(("override", "message"), [
    ("run_years = 5000", "source.run_years: Input should be less than or equal to 1000"),
    ("baseline_m = 1e-6", "source.baseline_m"),
])
def test_source_overrides_of_every_kind_are_checked_when_the_file_is_read(tmp_path, kind,
                                                                          override, message):
    """The source's overrides are validated with the file for every kind (the sensitivity kinds
    did; event tables and spectra only once the run had started, after its header)."""
    from cevns.analyses import load_analysis
    from cevns.errors import ConfigError

    path = tmp_path / "s.toml"
    path.write_text(f'schema_version = 1\nname = "s"\ntitle = "t"\nkind = "{kind}"\n'
                    f'detectors = ["Si"]\n[source]\npreset = "ess"\n{override}\n')
    with pytest.raises(ConfigError, match=message):
        load_analysis(path)


def _shipped_with(tmp_path, item: str, old: str, new: str):
    """A copy of the shipped analysis file ``item`` with ``old`` replaced by ``new`` (once)."""
    from importlib.resources import files

    text = (files("cevns.analyses") / "shipped" / f"{item}.toml").read_text()
    assert old in text
    path = tmp_path / f"{item}.toml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize("level", [-1.0, 0.0])
def test_a_table_level_not_above_zero_is_refused_when_the_file_is_read(level):
    # table_level = -1 used to pass the reading, claim the output folder, run the whole scan and
    # only then fail with "level must be a Δχ² value > 0" (no field named)
    with pytest.raises(ConfigError, match=r"table_level: .*level must be a Δχ² value > 0"):
        parse_analysis({**PROFILE, "table_level": level})


# -- audit 5: exclusion-table columns, blank variant labels, repeated overlays -------------------

@pytest.mark.parametrize(("change", "message"), [
    ({"x_column": "coupling"}, r"y_column: 'coupling' is also x_column"),
    ({"variant_column": "detector"}, r"variant_column: 'detector' is the name of the detector "
                                     r"column"),
    ({"x_column": "detector"}, r"x_column: 'detector' is the name of the detector column"),
    ({"y_column": "overlay"}, r"y_column: 'overlay' is the name of the overlay column"),
    ({"y_column": "mass_MeV"}, r"y_column: 'mass_MeV' is also x_column"),
    ({"x_column": ""}, r"x_column: '' is blank"),
    ({"x_column": " m"}, r"x_column: ' m' starts or ends with a space"),
    ({"y_column": "g,coupling"}, r"y_column: 'g,coupling' holds ','"),
    ({"variant_column": "v\n"}, r"variant_column: 'v\\n' holds '\\n'"),
    ({"x_column": "m|x"}, r"x_column: 'm\|x' holds '\|'"),
])
def test_exclusion_columns_that_clash_or_break_the_table_are_refused(change, message):
    # x_column = "coupling" (the default y_column) used to write a CSV whose mass column was gone:
    # the rows {x_column: x, y_column: y, ...} kept only the last value of the shared key
    with pytest.raises(ConfigError, match=message):
        parse_analysis({**EXCLUSION, **change})


def test_distinct_column_names_are_kept_and_reach_the_rows():
    an = parse_analysis({**EXCLUSION, "x_column": "m_V [MeV]", "y_column": "g_V",
                         "variant_column": "model"})
    assert (an.x_column, an.y_column, an.variant_column) == ("m_V [MeV]", "g_V", "model")


def test_a_secondary_column_may_not_repeat_another_column():
    from cevns.analyses import shipped_analysis

    fig11 = shipped_analysis("fig11")
    doc = fig11.model_dump(mode="json")
    with pytest.raises(ConfigError, match=r"secondary_x: 'sterile_mass_MeV' is also x_column"):
        parse_analysis({**doc, "x_column": "sterile_mass_MeV"})


@pytest.mark.parametrize("label", ["", "   "])
def test_a_blank_variant_label_is_refused(label):
    # it wrote an empty cell in the variant column and an empty legend entry
    variants = [{"label": "a"}, {"label": label, "options": {"interaction": "scalar"}}]
    with pytest.raises(ConfigError, match=r"variants\[1\]\.label: empty"):
        parse_analysis({**EXCLUSION, "variants": variants})


def test_an_overlay_listed_twice_is_refused():
    from cevns.analyses.overlays import overlay_names

    name = overlay_names()[0]
    with pytest.raises(ConfigError, match=rf"overlays\[1\]: '{name}' is listed twice"):
        parse_analysis({**EXCLUSION, "overlays": [name, name]})
