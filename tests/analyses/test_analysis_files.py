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
    bad = parse_analysis({**BASE, "detectors": ["CsI"],
                          "detector_overrides": {"CsI": {"threshold_keVnr": 80.0}}})
    with pytest.raises(KinematicsError, match="above the largest possible recoil"):
        bad.build_detectors()
    typo = parse_analysis({**BASE, "detectors": ["CsI"],
                           "detector_overrides": {"CsI": {"treshold": 5.0}}})
    with pytest.raises(ConfigError, match=r"detector_overrides\.CsI\.treshold: unknown key"):
        typo.build_detectors()
