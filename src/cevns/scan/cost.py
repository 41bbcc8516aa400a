"""A cost model of scan tiles, and tile sizes planned from it.

A tile of a (shape, strength, …) grid costs

    t(tile) = fixed_s + per_row_s · rows + per_point_s · points

seconds, where ``rows`` is the number of values of the first ("shape") axis in the tile — each
needs its own basis spectra — and ``points`` the number of grid points (every strength value at
every shape value: the likelihood is evaluated and profiled there). ``fixed_s`` is what every task
pays whatever its size: deserialising its arguments, building the detectors' reference spectra,
the fixed number of vectorised Newton iterations of the profile, the scheduler round trip.

:meth:`CostModel.fit` fits the three coefficients to measured tile times (non-negative least
squares), :meth:`CostModel.measure` times a task on a few probe tiles, and :func:`plan_rows`
chooses how many rows each tile of a batch of scans gets so that every task takes
``target_s`` (0.3–1 s by default) with several tasks per worker — long enough to make the fixed
cost small, short enough to balance the workers and to lose little on an interrupt.
:meth:`CostModel.wall_seconds` predicts the wall time of a batch on ``W`` workers by simulating
the queue (each free worker takes the next tile).

>>> model = CostModel(fixed_s=0.05, per_row_s=0.002, per_point_s=2e-4)
>>> round(model.tile_seconds((10, 100)), 3)
0.27
>>> plan_rows(model, [(100, 100)], workers=2)
[17]
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cevns.errors import ConfigError

__all__ = ["CostModel", "plan_rows", "rows_tile_shape"]


@dataclass(frozen=True)
class CostModel:
    """Seconds per tile: ``fixed_s + per_row_s · rows + per_point_s · points`` (see the module
    docstring)."""

    fixed_s: float
    per_row_s: float
    per_point_s: float

    def __post_init__(self) -> None:
        for name in ("fixed_s", "per_row_s", "per_point_s"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ConfigError(f"CostModel.{name} = {value!r}; expected finite seconds >= 0")

    def tile_seconds(self, tile_shape: Sequence[int]) -> float:
        """Predicted seconds of one tile of shape `tile_shape` (first axis = rows)."""
        rows = int(tile_shape[0]) if len(tile_shape) else 1
        return self.fixed_s + self.per_row_s * rows + self.per_point_s * math.prod(tile_shape)

    def tile_costs(self, grid_shape: Sequence[int], rows: int) -> list[float]:
        """Predicted seconds of each tile of a grid cut into tiles of `rows` rows (whole along
        the other axes), in tile order."""
        n, rest = int(grid_shape[0]), math.prod(grid_shape[1:])
        sizes = [min(rows, n - start) for start in range(0, n, rows)]
        return [self.tile_seconds((r, rest)) for r in sizes]

    def scan_seconds(self, grid_shape: Sequence[int], rows: int) -> float:
        """Predicted CPU seconds of a whole scan (one worker, no start-up)."""
        return float(sum(self.tile_costs(grid_shape, rows)))

    @staticmethod
    def wall_seconds(costs: Sequence[float], workers: int, startup_s: float = 0.0) -> float:
        """Predicted wall time of tiles of the given `costs` queued in order on `workers`
        workers, each free worker taking the next tile; plus `startup_s`."""
        if workers < 1:
            raise ConfigError(f"workers = {workers!r}; expected >= 1")
        free = [0.0] * min(workers, max(1, len(costs)))
        for cost in costs:
            heapq.heappush(free, heapq.heappop(free) + cost)
        return startup_s + max(free)

    @classmethod
    def fit(cls, samples: Sequence[tuple[Sequence[int], float]]) -> CostModel:
        """Fit the coefficients to ``(tile_shape, seconds)`` samples (non-negative least squares).

        Raises
        ------
        ConfigError
            With fewer than three samples or tile shapes that do not separate rows from points.
        """
        from scipy.optimize import nnls

        if len(samples) < 3:
            raise ConfigError(f"CostModel.fit needs >= 3 samples, got {len(samples)}")
        a = np.array([[1.0, shape[0], math.prod(shape)] for shape, _ in samples], dtype=float)
        b = np.array([seconds for _, seconds in samples], dtype=float)
        if np.linalg.matrix_rank(a) < 3:
            raise ConfigError("CostModel.fit: the probe tiles must differ in rows and in points "
                              "per row, or the three costs cannot be told apart")
        coef, _ = nnls(a, b)
        return cls(*(float(c) for c in coef))

    @classmethod
    def measure(
        cls,
        task: Callable[[dict[str, Any], Any], Any],
        grid: Any,
        config: dict[str, Any],
        probes: Sequence[Sequence[int]] | None = None,
        repeat: int = 3,
        clock: Callable[[], float] = time.process_time,
    ) -> CostModel:
        """Time `task` on probe tiles of `grid` in this process and fit the model.

        Each probe is a tile shape; its tile is the middle tile of that shape. The task runs once
        to warm caches, then `repeat` times; the minimum is kept (the least disturbed by other
        processes). Default probes: 1 and 4 rows, with the full and a quarter of the other axes.
        The default `clock` is the CPU time of this process, which other processes competing for
        the cores disturb far less than the wall time (pass ``time.perf_counter`` for wall time).
        """
        from cevns.scan.tiles import Tiling

        shape = grid.shape
        if probes is None:
            rest_full = tuple(shape[1:])
            rest_part = tuple(max(1, n // 4) for n in shape[1:])
            probes = [(r,) + rest for r in (1, min(4, shape[0]))
                      for rest in (rest_full, rest_part)]
        samples = []
        for probe in probes:
            tiling = Tiling(grid, tuple(probe))
            tile = tiling[len(tiling) // 2]
            task(config, tile)
            best = math.inf
            for _ in range(repeat):
                t0 = clock()
                task(config, tile)
                best = min(best, clock() - t0)
            samples.append((tile.shape, best))
        return cls.fit(samples)


def plan_rows(
    model: CostModel | Sequence[CostModel],
    grid_shapes: Sequence[Sequence[int]],
    workers: int,
    target_s: tuple[float, float] = (0.3, 1.0),
    tasks_per_worker: int = 3,
) -> list[int]:
    """Rows per tile for each scan of a batch that runs through one queue.

    The batch's work ``V`` (its predicted cost without the fixed cost of the tasks) sets the task
    length ``τ = fixed + V / (tasks_per_worker · workers)``, clipped to `target_s`: several tasks per
    worker when there is enough work, tasks of at least ``target_s[0]`` when there is not (a
    smaller task would pay its fixed cost for little), at most ``target_s[1]`` when there is much
    (balance, and little lost to an interrupt). Each scan then gets the number of rows whose tile
    costs about ``τ`` (at least 1, at most its whole first axis), evened out so that its last tile
    is not a sliver (100 rows at 67 per tile become 2 tiles of 50). When the batch has fewer
    than ten tasks per worker and their number is not a multiple of `workers`, the tiles are
    shrunk to the next multiple (if they stay above half ``target_s[0]``): 7 equal tasks on 2 workers
    take 4 task-times, 8 smaller ones 4 × 7/8.

    Parameters
    ----------
    model : CostModel or sequence of CostModel
        One model for every scan, or one per scan.
    grid_shapes : sequence of shapes
        The grid shape of each scan (first axis: the one cut into rows).
    workers : int
        Workers that will run the batch.
    """
    if workers < 1:
        raise ConfigError(f"workers = {workers!r}; expected >= 1")
    lo, hi = target_s
    if not 0 < lo <= hi:
        raise ConfigError(f"target_s = {target_s!r}; expected 0 < low <= high seconds")
    models = list(model) if isinstance(model, Sequence) else [model] * len(grid_shapes)
    if len(models) != len(grid_shapes):
        raise ConfigError(f"{len(models)} cost models for {len(grid_shapes)} scans")
    per_row = [m.per_row_s + m.per_point_s * math.prod(shape[1:])
               for m, shape in zip(models, grid_shapes, strict=True)]
    work = sum(c * shape[0] for c, shape in zip(per_row, grid_shapes, strict=True))
    fixed = max(m.fixed_s for m in models)
    tau = min(hi, max(lo, fixed + work / (tasks_per_worker * workers)))
    raw = []
    for m, c, shape in zip(models, per_row, grid_shapes, strict=True):
        r = 1 if c <= 0 else round((tau - m.fixed_s) / c)
        raw.append(int(min(max(1, r), shape[0])))
    # a batch of a few equal tasks balances only if their number is a multiple of the workers
    # (7 tasks on 2 workers: one worker runs 4, the other 3 and then idles)
    n_tasks = sum(-(-shape[0] // r) for shape, r in zip(grid_shapes, raw, strict=True))
    if n_tasks % workers and n_tasks < 10 * workers:
        want = -(-n_tasks // workers) * workers
        shrunk = []
        for shape, r in zip(grid_shapes, raw, strict=True):
            tasks = -(-shape[0] // r)
            shrunk.append(max(1, -(-shape[0] // -(-tasks * want // n_tasks))))
        if all(m.tile_seconds((r,) + tuple(shape[1:])) >= lo / 2  # balance beats the target
               for m, r, shape in zip(models, shrunk, grid_shapes, strict=True)):
            raw = shrunk
    rows = []
    for r, shape in zip(raw, grid_shapes, strict=True):
        rows.append(-(-shape[0] // -(-shape[0] // r)))  # same number of tiles, evened out
    return rows


def rows_tile_shape(grid_shape: Sequence[int], rows: int) -> tuple[int, ...]:
    """The tile shape of `rows` rows, whole along the other axes."""
    return (int(rows),) + tuple(int(n) for n in grid_shape[1:])
