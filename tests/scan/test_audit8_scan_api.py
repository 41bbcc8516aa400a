"""Audit 8: run_scan refuses flags that are not true/false ("no" would resume) and an empty store
path; default_tile_shape refuses axis lengths and targets that are not whole numbers >= 1."""

from __future__ import annotations

import numpy as np
import pytest
import scan_tasks

from cevns.errors import ConfigError
from cevns.scan import Grid, default_tile_shape, linear_axis, run_scan

GRID = Grid({"x": linear_axis(0.0, 1.0, 3), "y": linear_axis(1.0, 2.0, 2)})
CONFIG = {"scale": 1.0}


@pytest.mark.parametrize("flag", ["resume", "overwrite"])
@pytest.mark.parametrize("value", ["no", 0, None])
def test_run_scan_flags_must_be_bool(tmp_path, flag, value):
    with pytest.raises(ConfigError, match=rf"{flag} must be True or False, got {value!r}"):
        run_scan(scan_tasks.analytic_task, GRID, CONFIG, tmp_path / "s", **{flag: value})
    assert not (tmp_path / "s").exists()  # refused before a store is made


@pytest.mark.parametrize("store", ["", "  "])
def test_run_scan_empty_store_path(store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # before the fix, "" wrote into the working folder
    with pytest.raises(ConfigError, match=r"store: empty path '\s*' \(it would mean the working folder\)"):
        run_scan(scan_tasks.analytic_task, GRID, CONFIG, store)


def test_run_scan_store_not_a_path():
    with pytest.raises(ConfigError, match=r"store must be a folder path .* got int 5"):
        run_scan(scan_tasks.analytic_task, GRID, CONFIG, 5)


def test_run_scan_text_false_refused_numpy_bool_works(tmp_path):
    with pytest.raises(ConfigError, match="resume must be True or False, got 'False'"):
        run_scan(scan_tasks.analytic_task, GRID, CONFIG, tmp_path / "s", resume="False")
    ds = run_scan(scan_tasks.analytic_task, GRID, CONFIG, tmp_path / "s", resume=np.False_)
    assert ds["f"].shape == (3, 2)


@pytest.mark.parametrize("shape, bad", [([0, 5], "shape\\[0\\] = 0"),
                                        ([-1, 5], "shape\\[0\\] = -1"),
                                        ([5, 2.0], "shape\\[1\\] = 2.0"),
                                        ([True, 5], "shape\\[0\\] = True")])
def test_default_tile_shape_refuses_bad_lengths(shape, bad):
    with pytest.raises(ConfigError, match=rf"default_tile_shape: {bad}; axis lengths must be "
                                          r"whole numbers >= 1"):
        default_tile_shape(shape)


@pytest.mark.parametrize("target", [0, -3, 2.5])
def test_default_tile_shape_refuses_bad_target(target):
    with pytest.raises(ConfigError, match=rf"target_points = {target!r}; expected a whole number"):
        default_tile_shape([5, 5], target_points=target)


def test_default_tile_shape_refuses_text():
    with pytest.raises(ConfigError, match="shape must be a sequence of axis lengths"):
        default_tile_shape("ab")


def test_default_tile_shape_float_refused_valid_unchanged():
    with pytest.raises(ConfigError, match="target_points = 4000.0; expected a whole number"):
        default_tile_shape([100, 100], 4000.0)
    assert default_tile_shape([100, 100], 4000) == (40, 100)
    assert default_tile_shape(np.array([3, 7])) == (3, 7)
    assert default_tile_shape([]) == ()
