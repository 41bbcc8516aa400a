"""Whole-file validation of analysis files: names and grid size are checked when the file is read."""

from __future__ import annotations

import pytest

from cevns.analyses import checks
from cevns.analyses.base import parse_analysis
from cevns.errors import ConfigError

BASE = {"schema_version": 1, "name": "x", "title": "t", "kind": "exclusion", "detectors": ["CsI"],
        "scenario": {"name": "ngi", "options": {"interaction": "vector"}},
        "x": {"parameter": "mediator_mass_MeV", "start": 1.0, "stop": 100.0, "num": 11,
              "spacing": "log"},
        "y": {"parameter": "coupling", "start": 1e-6, "stop": 1e-3, "num": 11, "spacing": "log"}}


def _doc(**over):
    return {**BASE, **over}


def test_valid_file_parses():
    assert parse_analysis(_doc()).x.num == 11


@pytest.mark.parametrize(("over", "message"), [
    ({"scenario": {"name": "nope"}}, r"unknown scenario 'nope'"),
    ({"scenario": {"name": "ngi", "options": {"interaction": "vectr"}}}, r"interaction"),
    ({"fixed": {"sin2w": 0.2}}, r"fixed\.sin2w: unknown parameter 'sin2w'"),
    ({"fixed": {"sin2_theta_w": float("nan")}}, r"sin2_theta_w"),
    ({"fixed": {"coupling": 1e-4}}, r"fixed\.coupling: 'coupling' is a grid axis"),
    ({"truth": {"mass": 1.0}}, r"truth\.mass: unknown parameter"),
    ({"ties": {"sin2_theta_w": {"to": "nope", "ratio": 1.0}}}, r"ties\.sin2_theta_w\.to"),
    ({"x": {"parameter": "m_X", "start": 1.0, "stop": 2.0, "num": 3}}, r"x\.parameter: unknown"),
    ({"variants": [{"label": "a", "fixed": {"bad": 1.0}}]}, r"variants\[0\]\.fixed\.bad"),
    ({"variants": [{"label": "a", "detector_overrides": {"Xe": {"threshold_keVnr": 1.0}}}]},
     r"variants\[0\]\.detector_overrides.*Xe"),
    ({"variants": [{"label": "a", "detector_overrides": {"CsI": {"mass_kg": -1}}}]}, r"mass_kg"),
    ({"secondary_x": "sin2_theta_w"}, r"secondary_x 'sin2_theta_w'.*ties\.sin2_theta_w\.to"),
    ({"secondary_x": "m4"}, r"secondary_x: unknown parameter 'm4'"),
])
def test_bad_names_are_found_when_the_file_is_read(over, message):
    with pytest.raises(ConfigError, match=message):
        parse_analysis(_doc(**over))


def test_huge_axis_refused_before_allocation():
    # num = 10**9 used to allocate 7.5 GiB of axis values in the first tile
    with pytest.raises(ConfigError, match=r"num: 1000000000 points would need 7\.45 GiB"):
        parse_analysis(_doc(x={**BASE["x"], "num": 10**9}))


def test_grid_memory_limit_is_configurable(monkeypatch):
    monkeypatch.setenv(checks.MAX_GRID_BYTES_ENV, str(100_000))
    with pytest.raises(ConfigError, match=r"(x|y)\.num: .*above the limit .*CEVNS_MAX_GRID_BYTES"):
        parse_analysis(_doc(x={**BASE["x"], "num": 200}, y={**BASE["y"], "num": 200}))
    monkeypatch.setenv(checks.MAX_GRID_BYTES_ENV, "lots")
    with pytest.raises(ConfigError, match="CEVNS_MAX_GRID_BYTES"):
        checks.max_grid_bytes()
    monkeypatch.delenv(checks.MAX_GRID_BYTES_ENV)
    assert checks.max_grid_bytes() == 2 * 1024**3


def test_estimate_formula(monkeypatch):
    # 8 bytes × points × (detectors + 2) + axis values; one tile ⌈n_x/8⌉ rows × n_y × bins × 8
    from cevns.analyses.sensitivity import AxisSpec

    x = AxisSpec(parameter="a", start=0.0, stop=1.0, num=16)
    y = AxisSpec(parameter="b", start=0.0, stop=1.0, num=10)
    total = 8 * (160 * 3 + 26)
    tile = 8 * (2 * 10) * 20 * checks.TILE_WORK_ARRAYS
    limit = max(total, tile)
    monkeypatch.setenv(checks.MAX_GRID_BYTES_ENV, str(limit))
    checks.check_grid_memory([("x", x), ("y", y)], 1, 20)  # exactly at the limit: fine
    monkeypatch.setenv(checks.MAX_GRID_BYTES_ENV, str(limit - 1))
    with pytest.raises(ConfigError):
        checks.check_grid_memory([("x", x), ("y", y)], 1, 20)
