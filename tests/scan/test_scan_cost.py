"""The tile cost model: fit, prediction of a queue's wall time, and the tile plan."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cevns.errors import ConfigError
from cevns.scan import Grid, linear_axis
from cevns.scan.cost import CostModel, plan_rows, rows_tile_shape

TRUE = CostModel(fixed_s=0.05, per_row_s=0.004, per_point_s=2e-5)


def test_fit_recovers_the_coefficients_of_exact_samples():
    shapes = [(1, 100), (1, 25), (4, 100), (4, 25), (10, 100)]
    fitted = CostModel.fit([(s, TRUE.tile_seconds(s)) for s in shapes])
    for name in ("fixed_s", "per_row_s", "per_point_s"):
        assert getattr(fitted, name) == pytest.approx(getattr(TRUE, name), rel=1e-9)
    with pytest.raises(ConfigError, match="cannot be told apart"):  # rows ∝ points: degenerate
        CostModel.fit([((r, 10), 1.0 + r) for r in (1, 2, 3)])
    with pytest.raises(ConfigError, match=">= 3 samples"):
        CostModel.fit([((1, 1), 1.0)])
    with pytest.raises(ConfigError, match="per_row_s"):
        CostModel(0.1, -1.0, 0.0)


def test_measure_fits_what_a_clock_sees():
    """A fake clock advanced by the task itself by TRUE's cost: measure must recover TRUE."""
    now = [0.0]

    def task(config, tile):
        now[0] += TRUE.tile_seconds(tile.shape)
        return {}

    grid = Grid({"m": linear_axis(1, 2, 40), "g": linear_axis(0, 1, 100)})
    model = CostModel.measure(task, grid, {}, repeat=2, clock=lambda: now[0])
    assert model.per_point_s == pytest.approx(TRUE.per_point_s, rel=1e-6)
    assert model.fixed_s == pytest.approx(TRUE.fixed_s, rel=1e-6)


def test_scan_and_queue_predictions():
    # 100 rows in tiles of 30: 30, 30, 30, 10 rows of 50 points each
    costs = TRUE.tile_costs((100, 50), 30)
    assert costs == pytest.approx([0.05 + 0.004 * r + 2e-5 * 50 * r for r in (30, 30, 30, 10)])
    assert TRUE.scan_seconds((100, 50), 30) == pytest.approx(sum(costs))
    # a queue of tiles handed to free workers in order (worked by hand)
    assert CostModel.wall_seconds([1.0] * 4, workers=2) == 2.0
    assert CostModel.wall_seconds([3.0, 1.0, 1.0, 1.0], workers=2) == 3.0
    assert CostModel.wall_seconds([1.0, 1.0, 3.0], workers=2, startup_s=0.5) == 4.5
    assert CostModel.wall_seconds([2.0], workers=8) == 2.0


def test_plan_rows_aims_at_the_target_task_length():
    lo, hi = 0.3, 1.0
    # much work: tasks at the upper target, so ~1 s each
    # (40 rows = 0.99 s; 25 such tasks on 4 workers would leave 3 idle at the end, so they are
    # shrunk to 28 tasks of 35-36 rows)
    (rows,) = plan_rows(TRUE, [(1000, 1000)], workers=4)
    assert math.ceil(1000 / rows) == 28 and rows == 36  # ceil(1000 / 28)
    assert 0.8 < TRUE.tile_seconds((rows, 1000)) <= hi
    # little work (0.44 s in all for 2 workers, τ would be 0.08 s): the lower target, 0.3 s,
    # is (0.3 - 0.01) / 0.0044 = 66 rows, evened out to 2 tiles of 50 rows
    cheap = CostModel(0.01, 0.004, 2e-5)
    assert plan_rows(cheap, [(100, 20)], workers=2) == [50]
    # in between: about 3 tasks per worker over the whole batch
    shapes = [(100, 100)] * 4
    rows = plan_rows(TRUE, shapes, workers=2)
    work = 4 * 100 * (TRUE.per_row_s + 100 * TRUE.per_point_s)  # 2.4 s without fixed costs
    tau = TRUE.fixed_s + work / 6
    assert lo < tau < hi
    raw = round((tau - TRUE.fixed_s) / (TRUE.per_row_s + 100 * TRUE.per_point_s))  # 67 rows
    assert rows == [math.ceil(100 / math.ceil(100 / raw))] * 4 == [50] * 4  # evened out
    n_tasks = sum(math.ceil(s[0] / r) for s, r in zip(shapes, rows, strict=True))
    assert 5 <= n_tasks <= 8
    # never more rows than the axis, never fewer than one
    assert plan_rows(TRUE, [(3, 10)], workers=1) == [3]
    assert plan_rows(CostModel(10.0, 1.0, 0.0), [(50, 10)], workers=1) == [1]
    assert rows_tile_shape((100, 7, 3), 4) == (4, 7, 3)
    with pytest.raises(ConfigError, match="workers"):
        plan_rows(TRUE, [(10, 10)], workers=0)


def test_plan_balances_few_tasks_over_the_workers():
    model = CostModel(0.05, 0.0, 1.15e-4)  # ~ six NGI detectors
    (rows,) = plan_rows(model, [(200, 200)], workers=2)  # 7 tasks of 29 rows → 8 of 25
    assert rows == 25 and math.ceil(200 / rows) % 2 == 0
    costs = model.tile_costs((200, 200), rows)
    seven = model.tile_costs((200, 200), 29)
    assert CostModel.wall_seconds(costs, 2) < CostModel.wall_seconds(seven, 2)


def test_plan_is_deterministic_and_covers_the_grid():
    rows = plan_rows(TRUE, [(200, 200), (37, 200)], workers=3)
    assert rows == plan_rows(TRUE, [(200, 200), (37, 200)], workers=3)
    for r, n in zip(rows, (200, 37), strict=True):
        assert 1 <= r <= n
        assert sum(np.diff(np.r_[np.arange(0, n, r), n])) == n
