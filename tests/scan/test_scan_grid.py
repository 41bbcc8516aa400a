"""Grid validation, axis helpers and tiling."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cevns.errors import ConfigError, UnknownNameError
from cevns.scan import Grid, Tiling, default_tile_shape, linear_axis, log_axis


def test_axis_helpers_values():
    np.testing.assert_array_equal(linear_axis(0.0, 1.0, 5), [0.0, 0.25, 0.5, 0.75, 1.0])
    axis = log_axis(1e-3, 1e3, 7)
    assert axis[0] == 1e-3 and axis[-1] == 1e3  # geomspace pins the end points exactly
    np.testing.assert_allclose(axis, 10.0 ** np.arange(-3, 4), rtol=1e-14)
    np.testing.assert_array_equal(linear_axis(2.0, 2.0, 1), [2.0])


@pytest.mark.parametrize(
    ("helper", "args", "match"),
    [
        (linear_axis, (0.0, 1.0, 0), "num"),
        (linear_axis, (1.0, 0.0, 3), "stop must exceed start"),
        (linear_axis, (0.0, np.inf, 3), "finite"),
        (log_axis, (0.0, 1.0, 3), "positive"),
        (log_axis, (-1.0, 1.0, 3), "positive"),
        (log_axis, (10.0, 1.0, 3), "stop must exceed start"),
        (log_axis, (1.0, 10.0, 2.5), "num"),
    ],
)
def test_axis_helpers_reject(helper, args, match):
    with pytest.raises(ConfigError, match=match):
        helper(*args)


def test_grid_properties_and_copy():
    mass = np.array([1.0, 2.0, 5.0])
    grid = Grid({"mass_MeV": mass, "coupling": [0.1, 0.2]})
    assert grid.names == ("mass_MeV", "coupling")
    assert grid.shape == (3, 2) and grid.size == 6 and grid.ndim == 2
    mass[0] = 99.0  # the grid holds a copy
    assert grid["mass_MeV"][0] == 1.0
    with pytest.raises(ValueError, match="read-only"):
        grid["mass_MeV"][0] = 3.0
    with pytest.raises(UnknownNameError, match="valid choices: coupling, mass_MeV"):
        grid["mass"]
    assert grid == Grid({"mass_MeV": [1.0, 2.0, 5.0], "coupling": [0.1, 0.2]})
    assert grid != Grid({"coupling": [0.1, 0.2], "mass_MeV": [1.0, 2.0, 5.0]})
    assert Grid.from_json(grid.to_json()) == grid


def test_grid_json_round_trip_is_exact():
    axis = log_axis(1e-6, 1e-3, 37)
    grid = Grid({"g": axis, "seed": np.arange(4)})
    back = Grid.from_json(grid.to_json())
    assert back == grid
    assert back["seed"].dtype == np.arange(4).dtype
    np.testing.assert_array_equal(back["g"], axis)


@pytest.mark.parametrize(
    ("axes", "match"),
    [
        ({}, "at least one axis"),
        ({"m": []}, "'m' is empty"),
        ({"m": [3.0, 2.0, 1.0]}, r"'m' must be strictly increasing, but value \[1\] = 2.0"),
        ({"m": [1.0, 1.0]}, "'m' must be strictly increasing"),
        ({"m": [1.0, np.nan]}, "'m' has non-finite values at positions \\[1\\]"),
        ({"m": [1.0, np.inf]}, "non-finite"),
        ({"m": [[1.0, 2.0]]}, "'m' must be 1-D"),
        ({"m": ["a", "b"]}, "'m' has dtype"),
        ({"m": [1.0], "": [1.0]}, "non-empty string"),
    ],
)
def test_grid_rejects(axes, match):
    with pytest.raises(ConfigError, match=match):
        Grid(axes)


def test_grid_differences_name_the_axis():
    a = Grid({"m": linear_axis(1, 10, 10), "g": [1.0, 2.0]})
    b = Grid({"m": linear_axis(1, 10, 11), "g": [1.0, 2.0]})
    (diff,) = a.differences(b)
    assert diff.startswith("axis 'm': 10 pts") and "11 pts" in diff
    assert a.differences(a) == []


def test_tiling_ragged_edges_and_coords():
    grid = Grid({"x": np.arange(5.0), "y": [10.0, 20.0, 30.0]})
    tiling = Tiling(grid, (2, 2))
    assert tiling.tiles_shape == (3, 2) and len(tiling) == 6
    tile = tiling[5]
    assert tile.position == (2, 1)
    assert tile.slices == (slice(4, 5), slice(2, 3))
    assert tile.shape == (1, 1)
    np.testing.assert_array_equal(tile.coords["x"], [4.0])
    np.testing.assert_array_equal(tile.coords["y"], [30.0])
    mesh = tiling[0].mesh()
    np.testing.assert_array_equal(mesh["x"], [[0.0, 0.0], [1.0, 1.0]])
    np.testing.assert_array_equal(mesh["y"], [[10.0, 20.0], [10.0, 20.0]])
    assert "tile 5 at (2, 1)" in tile.describe()
    with pytest.raises(IndexError):
        tiling[6]


def test_tile_shape_by_name_and_clipping():
    grid = Grid({"x": np.arange(5.0), "y": np.arange(3.0)})
    assert Tiling(grid, {"x": 2}).tile_shape == (2, 3)
    assert Tiling(grid, (100, 100)).tile_shape == (5, 3)
    with pytest.raises(ConfigError, match="unknown axes \\['z'\\]"):
        Tiling(grid, {"z": 2})
    with pytest.raises(ConfigError, match="3 entries; the grid has 2 axes"):
        Tiling(grid, (1, 1, 1))
    with pytest.raises(ConfigError, match="axis 'y' is 0"):
        Tiling(grid, (1, 0))


def test_default_tile_shape_keeps_trailing_axes_whole():
    assert default_tile_shape((100, 100)) == (40, 100)
    assert default_tile_shape((10, 10)) == (10, 10)
    assert default_tile_shape((5, 10_000)) == (1, 4096)
    assert default_tile_shape((7, 30, 200), target_points=1000) == (1, 5, 200)


def test_tile_rng_depends_on_seed_and_index_only():
    tiling = Tiling(Grid({"toy": np.arange(8)}), (2,))
    a = tiling[1].rng(42).normal(size=3)
    np.testing.assert_array_equal(a, Tiling(Grid({"toy": np.arange(8)}), (2,))[1].rng(42)
                                  .normal(size=3))
    assert not np.array_equal(a, tiling[2].rng(42).normal(size=3))
    assert not np.array_equal(a, tiling[1].rng(43).normal(size=3))


@settings(max_examples=60, deadline=None)
@given(
    shape=st.lists(st.integers(1, 9), min_size=1, max_size=3),
    data=st.data(),
)
def test_tiles_cover_the_grid_exactly_once(shape, data):
    tile_shape = [data.draw(st.integers(1, n + 2)) for n in shape]
    grid = Grid({f"a{i}": np.arange(n, dtype=float) for i, n in enumerate(shape)})
    tiling = Tiling(grid, tile_shape)
    count = np.zeros(grid.shape, dtype=int)
    for i, tile in enumerate(tiling):
        assert tile.index == i
        count[tile.slices] += 1
        for name, s in zip(grid.names, tile.slices, strict=True):
            np.testing.assert_array_equal(tile.coords[name], grid[name][s])
    np.testing.assert_array_equal(count, 1)
