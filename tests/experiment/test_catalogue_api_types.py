"""Catalogue API given arguments of the wrong type (audit 6, C9 and E): a ConfigError naming the
argument and what was expected, not an AttributeError or TypeError from inside the class; and a
name looked up in a catalogue with no entries of that kind says so instead of listing nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from cevns.errors import ConfigError, UnknownNameError
from cevns.experiment import get_detector, get_source
from cevns.experiment.catalogue import Catalogue

NAI = {"NaI": {"formula": "NaI", "mass_kg": 10.0, "threshold_keVnr": 5.0}}


@pytest.mark.parametrize(("call", "message"), [
    # AttributeError: 'list' object has no attribute 'items' (catalogue.py:86)
    (lambda: Catalogue.from_tables(detector=[1, 2], origin="o"),
     r"Catalogue\.from_tables: detector must be a mapping of names to tables of Detector fields"
     r".*got list \[1, 2\]"),
    (lambda: Catalogue.from_tables(source="ess"),
     r"Catalogue\.from_tables: source must be a mapping .* Source fields.*got str 'ess'"),
    (lambda: Catalogue.from_tables(detector={1: {}}),
     r"Catalogue\.from_tables: detector: names must be strings, got int 1"),
    (lambda: Catalogue.from_tables(detector=NAI, origin=None),
     r"Catalogue\.from_tables: origin must be a string"),
    # TypeError: 'NoneType' object is not iterable (catalogue.py:194)
    (lambda: Catalogue.default().with_files(None),
     r"Catalogue\.with_files: expected preset file paths \(str or pathlib\.Path, or a list of "
     r"them\), got NoneType None"),
    (lambda: Catalogue.default().with_files([Path("a.toml"), 3]),
     r"Catalogue\.with_files: expected preset file paths .*got int 3 in"),
    (lambda: Catalogue.default().with_files(b"mine.toml"),
     r"Catalogue\.with_files: expected preset file paths .*got bytes"),
    (lambda: Catalogue.from_files(None), r"Catalogue\.with_files: .*got NoneType None"),
    (lambda: Catalogue.from_files("a.toml", base={}),
     r"Catalogue\.from_files: base must be a Catalogue"),
    (lambda: Catalogue.from_file(None), r"Catalogue\.from_file: path must be a preset file"),
    # AttributeError: 'dict' object has no attribute 'sources' (catalogue.py:212)
    (lambda: Catalogue.default().merged({"a": 1}),
     r"Catalogue\.merged: other must be a Catalogue .*got dict \{'a': 1\}"),
    (lambda: Catalogue({"ess": 1}, {}),
     r"Catalogue: sources: 'ess' must map to an Entry holding a Source"),
    (lambda: get_detector(["CsI"]), r"a detector name must be a string, got list \['CsI'\]"),
])
def test_wrong_argument_types_are_config_errors(call, message):
    with pytest.raises(ConfigError, match=message):
        call()


def test_an_empty_kind_of_catalogue_says_it_holds_none():
    """`unknown source 'ess'; valid choices: ` (an empty list) for a catalogue made by
    from_tables alone."""
    cat = Catalogue.from_tables(detector=NAI, origin="mine")
    with pytest.raises(UnknownNameError) as err:
        get_source("ess", catalogue=cat)
    text = str(err.value)
    assert "unknown source 'ess'" in text and "holds no sources" in text, text
    assert "valid choices" not in text, text
    with pytest.raises(UnknownNameError, match="holds no detectors"):
        get_detector("CsI", catalogue=Catalogue.empty())
    # with entries, the usual list of valid choices
    with pytest.raises(UnknownNameError, match="valid choices: NaI"):
        cat.detector("CsI")
    assert cat.detector("NaI").mass_kg == 10.0
