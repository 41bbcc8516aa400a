"""Analysis files: validation of the common header and of overrides."""

from __future__ import annotations

import pytest

from cevns.analyses import item_names, load_analysis, parse_analysis, shipped_analysis
from cevns.errors import ConfigError, KinematicsError, UnknownNameError

BASE = {"schema_version": 1, "name": "x", "title": "t", "kind": "event-table"}


def test_every_shipped_analysis_validates():
    for name in item_names():
        assert shipped_analysis(name).name == name


def test_misspelled_key_named(tmp_path):
    f = tmp_path / "a.toml"
    f.write_text('schema_version = 1\nname = "x"\ntitle = "t"\nkind = "event-table"\n'
                 'detectors = ["CsI"]\n[source]\npreset = "ess"\nrun_yeras = 2\n')
    with pytest.raises(ConfigError, match=r"a\.toml\.source\.run_yeras: unknown key \(did you "
                                          r"mean 'run_years'\?\)"):
        load_analysis(f)


def test_unknown_kind_and_detector():
    with pytest.raises(UnknownNameError, match="analysis kind"):
        parse_analysis({**BASE, "kind": "magic"})
    with pytest.raises(ConfigError, match="unknown detector"):
        parse_analysis({**BASE, "detectors": ["NaI"]})


def test_detector_override_validated():
    an = parse_analysis({**BASE, "detectors": ["CsI"],
                         "detector_overrides": {"CsI": {"threshold_keVnr": 5.0}}})
    assert an.build_detectors()[0].threshold_keVnr == 5.0
    # whole-file validation: a bad override is an error when the file is read
    with pytest.raises(KinematicsError, match="above the largest possible recoil"):
        parse_analysis({**BASE, "detectors": ["CsI"],
                        "detector_overrides": {"CsI": {"threshold_keVnr": 80.0}}})
    with pytest.raises(ConfigError, match=r"detector_overrides\.CsI\.treshold: unknown key"):
        parse_analysis({**BASE, "detectors": ["CsI"],
                        "detector_overrides": {"CsI": {"treshold": 5.0}}})


def _profile(**over):
    doc = {"schema_version": 1, "name": "x", "title": "t", "kind": "profile", "detectors": ["Ar"],
           "scenario": {"name": "sm"},
           "scan": {"parameter": "sin2_theta_w", "start": 0.2, "stop": 0.3, "num": 11}}
    doc.update(over)
    return doc


def test_bad_grids_and_levels_named():
    with pytest.raises(ConfigError, match=r"scan.*reversed"):
        parse_analysis(_profile(scan={"parameter": "sin2_theta_w", "start": 0.3, "stop": 0.2,
                                      "num": 11}))
    with pytest.raises(ConfigError, match=r"scan.*at least two"):
        parse_analysis(_profile(scan={"parameter": "sin2_theta_w", "values": []}))
    with pytest.raises(ConfigError, match=r"stats\.levels.*> 0"):
        parse_analysis(_profile(stats={"levels": [0.0]}))
    with pytest.raises(ConfigError, match=r"stats\.levels"):
        parse_analysis(_profile(stats={"levels": [-1.0]}))


def test_unknown_parameter_named(tmp_path):
    # whole-file validation: the name is checked when the file is read, before any computation
    with pytest.raises(ConfigError, match=r"scan\.parameter: unknown parameter 'sin2w'.*sin2_theta_w"):
        parse_analysis(_profile(scan={"parameter": "sin2w", "start": 0.2, "stop": 0.3,
                                      "num": 11}))


def test_axial_limit_for_spin_zero_detector_is_an_explicit_empty_result(tmp_path):
    from cevns.analyses import RunOptions, run_analysis

    an = parse_analysis({
        "schema_version": 1, "name": "ax", "title": "t", "kind": "exclusion",
        "detectors": ["Ar", "CsI"], "stats": {"combine": False},
        "scenario": {"name": "ngi", "options": {"interaction": "axial"}},
        "x": {"parameter": "mediator_mass_MeV", "values": [1.0, 10.0]},
        "y": {"parameter": "coupling", "start": 1e-6, "stop": 1.0, "num": 40, "spacing": "log"}})
    run_analysis(an, tmp_path, RunOptions(quick=True))
    notes = (tmp_path / "ax_notes.md").read_text()
    assert "Ar: no exclusion inside the grid" in notes and "CsI" not in notes
