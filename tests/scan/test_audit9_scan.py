"""Input audit #9 in cevns.scan: a masked grid axis is refused (finding 6), and an
:class:`~cevns.errors.UnknownNameError` raised by a task in a worker process reaches the caller as
itself, not as "a worker process of the pool died" (finding 10: it could not be unpickled)."""

from __future__ import annotations

import numpy as np
import pytest
import scan_tasks

from cevns.errors import ConfigError, UnknownNameError
from cevns.scan import Grid, linear_axis, run_scan


@pytest.mark.parametrize("axis", [np.ma.array([1.0, 2.0, 3.0], mask=[0, 1, 0]),
                                  np.ma.array([1, 2, 3])])
def test_a_masked_grid_axis_is_refused(axis):
    # the masked value 2.0 used to be kept as a grid point
    with pytest.raises(ConfigError, match=r"grid axis 'x' must be integers or floats, got a "
                                          r"masked array \(its masked entries would be used"):
        Grid({"x": axis})
    assert Grid({"x": axis.compressed()}).shape == (axis.compressed().size,)


def test_an_unknown_name_error_in_a_worker_process_reaches_the_caller(tmp_path):
    # 100 tiles: the driver runs tiles itself only until the workers are up
    grid = Grid({"x": linear_axis(0.0, 1.0, 100), "y": linear_axis(1.0, 2.0, 2)})
    with pytest.raises(UnknownNameError) as info:
        run_scan(scan_tasks.unknown_name_task, grid, {"scale": 1.0, "sleep": 0.1},
                 tmp_path / "s", tile_shape=(1, 2),
                 executor={"name": "processes", "max_workers": 2})
    err = info.value
    assert type(err) is UnknownNameError
    assert (err.kind, err.name, err.valid) == ("detector", "CsJ", ["CsI", "Xe"])
    assert str(err) == "unknown detector 'CsJ'; valid choices: CsI, Xe"
    assert "died" not in str(err)
