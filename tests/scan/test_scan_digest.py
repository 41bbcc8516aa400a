"""Canonical JSON, config digests and config differences."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cevns.errors import ConfigError
from cevns.scan import canonical_json, config_diff, config_digest
from cevns.scan.digest import ABSENT, format_diff


def test_canonical_json_form():
    config = {"b": np.float64(0.1), "a": (1, np.int32(2)), "c": {"z": None, "y": True},
              "arr": np.array([[1.5, 2.0]]), "inf": float("inf")}
    text = canonical_json(config)
    assert text == ('{"a":[1,2],"arr":[[1.5,2.0]],"b":0.1,"c":{"y":true,"z":null},'
                    '"inf":"Infinity"}')
    assert config_digest(config) == hashlib.sha256(text.encode()).hexdigest()


def test_digest_is_stable_across_key_order_and_containers():
    a = {"detector": {"mass_kg": 10.0, "threshold_keV": 1.0}, "seeds": [1, 2, 3]}
    b = {"seeds": np.arange(1, 4), "detector": {"threshold_keV": 1.0, "mass_kg": 10.0}}
    assert config_digest(a) == config_digest(b)
    # a fixed value: changing the canonical form is a format change that must be noticed
    assert config_digest({"x": 0.1}) == hashlib.sha256(b'{"x":0.1}').hexdigest()


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_round_trip_through_canonical_json(x):
    import json

    assert json.loads(canonical_json({"x": x}))["x"] == x


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({1: "a"}, r"config: key 1 is a int"),
        ({"a": {"b": object()}}, r"config\.a\.b: a object has no canonical JSON form"),
        ({"a": [1, {2}]}, r"config\.a\[1\]"),
        ({"a": np.array(["x"])}, "dtype <U1"),
    ],
)
def test_canonical_json_rejects(config, match):
    with pytest.raises(ConfigError, match=match):
        canonical_json(config)


def test_config_diff_lists_dotted_keys():
    old = {"detector": {"mass": 10.0, "bins": [1, 2, 3]}, "scenario": "sm", "gone": 1}
    new = {"detector": {"mass": 12.0, "bins": [1, 5, 3]}, "scenario": "sm", "added": True}
    diff = config_diff(old, new)
    assert diff == [
        ("added", ABSENT, True),
        ("detector.bins[1]", 2, 5),
        ("detector.mass", 10.0, 12.0),
        ("gone", 1, ABSENT),
    ]
    text = format_diff(diff)
    assert "detector.mass: 10.0 → 12.0" in text and "added: <absent> → True" in text
    assert config_diff(old, old) == []


def test_config_diff_types_matter():
    assert config_diff({"a": 1}, {"a": 1.0}) == [("a", 1, 1.0)]
    assert config_diff({"a": 1}, {"a": True}) == [("a", 1, True)]
    assert config_diff({"a": [1, 2]}, {"a": [1, 2, 3]}) == [("a", [1, 2], [1, 2, 3])]
