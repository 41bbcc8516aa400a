"""Tile sizes of the sensitivity scans, planned from a measured cost model.

A sensitivity tile (:func:`cevns.analyses.sensitivity._grid_task`) computes the profiled χ² of
every detector on a block of rows of the first ("shape") axis and all values of the others. Its
cost, per detector (:class:`cevns.scan.cost.CostModel`), is a fixed part (reference spectra of the
detector, the vectorised Newton iterations of the profile, task overheads), a part per row (new
basis spectra for that shape value) and a part per grid point (the likelihood and its profile at
each strength value). The coefficients below were fitted by ``benchmarks/bench_scaling.py`` on the
development machine (see ``docs/scans.md`` for the measurement and its load); the model is
linear in the number of detectors, which the same benchmark checks.
"""

from __future__ import annotations

import os
from typing import Any

from cevns.scan.cost import CostModel, plan_rows, rows_tile_shape

__all__ = ["TILE_COST_PER_DETECTOR", "executor_workers", "fits_per_point", "plan_tile_shapes",
           "tile_cost_model"]

#: CPU seconds per tile and per detector of the NGI exclusion grids (fig6): the six-detector fit
#: of ``benchmarks/bench_scaling.py`` divided by six (recorded in docs/scans.md). The cost per row
#: (new basis spectra per mediator mass) fitted to zero: it is below the resolution of the fit,
#: the profile at each grid point dominates. Other scenarios differ by a factor of order one; the
#: plan only needs the order of magnitude.
TILE_COST_PER_DETECTOR = CostModel(fixed_s=0.0086, per_row_s=0.0, per_point_s=1.92e-5)


def fits_per_point(n_detectors: int, *, combine: bool, shared_signal: bool,
                   combined_only: bool) -> int:
    """The cost of a sensitivity grid point in single-detector profiles: each detector's own
    (unless ``combined_only``) and, for a combination with one shared α, the joint fit, which
    costs about as much as all of them together (docs/benchmarks.md)."""
    joint = n_detectors > 1 and combine and shared_signal
    return (0 if joint and combined_only else n_detectors) + (n_detectors if joint else 0)


def tile_cost_model(n_detectors: int, per_detector: CostModel = TILE_COST_PER_DETECTOR) -> CostModel:
    """The cost model of a tile computing `n_detectors` detectors."""
    n = max(1, int(n_detectors))
    return CostModel(per_detector.fixed_s * n, per_detector.per_row_s * n,
                     per_detector.per_point_s * n)


def executor_workers(executor: Any) -> int:
    """Number of workers an executor (object or spec) will run tiles on; 1 when unknown."""
    from cevns.scan.executors import DaskExecutor, ProcessExecutor

    if isinstance(executor, ProcessExecutor):
        return executor.max_workers
    if isinstance(executor, DaskExecutor):
        if executor.started:
            try:
                return max(1, executor.n_live_workers())
            except Exception:  # a scheduler that does not answer: plan for one worker
                return 1
        return executor.n_workers or os.cpu_count() or 1
    if isinstance(executor, str) and executor in ("processes", "dask"):
        return os.cpu_count() or 1
    if isinstance(executor, dict):
        return int(executor.get("max_workers") or executor.get("n_workers") or os.cpu_count() or 1)
    return 1


def plan_tile_shapes(grid_shapes: list[tuple[int, ...]], n_detectors: int, workers: int,
                     target_s: tuple[float, float] = (0.3, 1.0)) -> list[tuple[int, ...]]:
    """Tile shapes (rows × whole other axes) of a batch of scans sharing one queue."""
    model = tile_cost_model(n_detectors)
    rows = plan_rows(model, grid_shapes, workers, target_s=target_s)
    return [rows_tile_shape(shape, r) for shape, r in zip(grid_shapes, rows, strict=True)]
