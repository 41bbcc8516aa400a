"""Wall time of one scan on each executor: serial, processes (1, 2 workers), dask (1, 2 workers).

Run from the repository root::

    PYTHONPATH=src python benchmarks/bench_executors.py            # synthetic CPU-bound case
    PYTHONPATH=src python benchmarks/bench_executors.py --case ngi200 --repeat 5   # 200 × 200 NGI
    PYTHONPATH=src python benchmarks/bench_executors.py --case mypkg.bench:ngi_case

A *case* is a function returning ``(task, grid, config, tile_shape)``; the default,
:func:`synthetic_case`, is a NumPy task of about 50 ms per tile on 32 tiles (its large temporaries
run about twice as fast in the workers, whose glibc ``malloc`` thresholds are set for NumPy work,
as in this script's own process: compare the parallel rows with the one-worker rows of their
executor, not with serial; docs/cluster.md, *The scan alone, on started workers*). To benchmark real
physics, write a case whose task evaluates an NGI grid and pass it with ``--case`` (it must live in
an importable module, so that worker processes can unpickle the task).

For every executor the script starts it (timed: "start-up"), runs the scan once (cold: includes
worker imports and the first pickling of the task) and then ``--repeat`` more times on the started
executor (warm: the best of those is the steady-state figure). Speed-ups are warm serial time over
warm executor time (minimum over the warm runs, and median over them). Worker threads of
BLAS/OpenMP are pinned to 1 so that "serial" means one core. A warm scan of the same grid finds
the caches of the previous one filled (in the driver for serial, in the workers otherwise);
``--fresh-grids`` runs each warm scan on a grid no earlier scan saw instead (every axis × (1 +
10⁻³ k)): started workers with their imports done, caches empty for those points — what a user's
next scan on a running cluster costs. "bit-identical" compares the cold scan and every warm one
with serial's.

``--case ngi200`` is the scalar grid of Fig. 6 on 200 × 200 points (six detectors) with the tile
shape that ``scan_chi2`` plans for two workers from the cost model. The row "dask, 2 workers,
dask's malloc default" runs a ``LocalCluster`` built with dask's own defaults
(``MALLOC_TRIM_THRESHOLD_=65536`` in the workers), for comparison with cevns's workers (glibc's
default; see ``cevns.scan.executors.WORKER_ENVIRON``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from cevns.scan import Grid, Tile, linear_axis, log_axis, make_executor, run_scan  # noqa: E402

Case = tuple[Callable[[dict[str, Any], Tile], dict[str, np.ndarray]], Grid, dict[str, Any],
             tuple[int, ...]]


def synthetic_task(config: dict[str, Any], tile: Tile) -> dict[str, np.ndarray]:
    """CPU-bound NumPy work: for each point, a damped-oscillation integral on ``work`` nodes."""
    nodes = np.linspace(0.0, 1.0, config["work"])
    out = np.empty(tile.shape)
    for i, mass in enumerate(tile.coords["mass"]):
        for j, coupling in enumerate(tile.coords["coupling"]):
            out[i, j] = np.mean(np.sin(mass * nodes) * np.exp(-coupling * nodes))
    return {"value": out}


def _time_one_tile(task: Callable[..., Any], grid: Grid, config: dict[str, Any],
                   tile_shape: tuple[int, ...]) -> float:
    from cevns.scan import Tiling

    tile = Tiling(grid, tile_shape)[0]
    task(config, tile)  # warm caches
    t0 = time.perf_counter()
    for _ in range(3):
        task(config, tile)
    return (time.perf_counter() - t0) / 3


def synthetic_case(seconds_per_tile: float = 0.05, n_tiles: int = 32) -> Case:
    """32 tiles of 1 mass × 8 couplings, ``work`` calibrated to `seconds_per_tile` on this CPU."""
    grid = Grid({"mass": linear_axis(1.0, 100.0, n_tiles), "coupling": log_axis(0.1, 10.0, 8)})
    tile_shape = (1, 8)
    config = {"work": 20_000}
    per_tile = _time_one_tile(synthetic_task, grid, config, tile_shape)
    config["work"] = max(1000, int(config["work"] * seconds_per_tile / per_tile))
    return synthetic_task, grid, config, tile_shape


def _dask_default_malloc_cluster() -> Any:
    """A LocalCluster of 2 single-threaded workers with dask's default worker environment."""
    import logging

    import distributed

    return distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                    dashboard_address=None, silence_logs=logging.WARNING)


EXECUTORS: list[tuple[str, Any]] = [
    ("serial", {"name": "serial"}),
    ("processes, 1 worker", {"name": "processes", "max_workers": 1}),
    ("processes, 2 workers", {"name": "processes", "max_workers": 2}),
    ("dask, 1 worker", {"name": "dask", "n_workers": 1, "threads_per_worker": 1}),
    ("dask, 2 workers", {"name": "dask", "n_workers": 2, "threads_per_worker": 1}),
    ("dask, 2 workers, dask's malloc default", _dask_default_malloc_cluster),
]


def shifted_grid(grid: Grid, k: int) -> Grid:
    """`grid` with every axis multiplied by 1 + 10⁻³ k: a grid that no earlier scan saw, so that
    no cache keyed on the points (basis spectra per mediator mass, …) carries over."""
    return Grid({name: np.asarray(values) * (1.0 + 1e-3 * k) for name, values in grid.axes.items()})


def _values(ds: Any) -> bytes:
    return ds[next(iter(ds.data_vars))].values.tobytes()


def bench(case: Case, repeat: int = 2, only: list[str] | None = None,
          fresh_grids: bool = False) -> list[dict[str, Any]]:
    """Time `case` on every executor of :data:`EXECUTORS` (or those whose label is in `only`;
    serial always runs first, as the reference); returns one record per executor. With
    `fresh_grids`, warm scan k runs on :func:`shifted_grid` (grid, k + 1): the workers are started
    and have imported everything, but their caches hold nothing of that grid — a new scan on a
    running cluster."""
    task, grid, config, tile_shape = case
    grids = [shifted_grid(grid, k + 1) if fresh_grids else grid for k in range(repeat)]
    rows = []
    reference = None
    warm_reference: list[bytes] | None = None
    for label, spec in EXECUTORS:
        if only and label != "serial" and label not in only:
            continue
        t0 = time.perf_counter()
        cluster = spec() if callable(spec) else None
        executor = make_executor(cluster if cluster is not None else spec)
        executor.start()
        startup = time.perf_counter() - t0
        try:
            t0 = time.perf_counter()
            ds = run_scan(task, grid, config, executor=executor, tile_shape=tile_shape)
            cold = time.perf_counter() - t0
            warm, warm_values = [], []
            for g in grids:
                t0 = time.perf_counter()
                out = run_scan(task, g, config, executor=executor, tile_shape=tile_shape)
                warm.append(time.perf_counter() - t0)
                warm_values.append(_values(out))
        finally:
            executor.close()
            if cluster is not None:
                cluster.close()
        if reference is None:
            reference, warm_reference = _values(ds), warm_values
        # bit for bit, the cold scan and every warm one against serial's
        identical = _values(ds) == reference and warm_values == warm_reference
        rows.append({"executor": label, "startup_s": startup, "cold_s": cold,
                     "warm_s": min(warm), "median_s": statistics.median(warm),
                     "identical": identical})
    serial, serial_med = rows[0]["warm_s"], rows[0]["median_s"]
    for row in rows:
        row["speedup"] = serial / row["warm_s"]
        row["speedup_median"] = serial_med / row["median_s"]
    return rows


def ngi200_case() -> Case:
    """The Fig. 6 scalar grid on 200 × 200 points, tiles planned for 2 workers."""
    from cevns.analyses.sensitivity import ngi_benchmark_case

    return ngi_benchmark_case("fig6", 0, n_points=200, workers=2)


def _load_case(path: str) -> Callable[[], Case]:
    if path == "ngi200":
        return ngi200_case
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", help="module:function returning (task, grid, config, "
                        "tile_shape); default: the synthetic case")
    parser.add_argument("--repeat", type=int, default=2, help="warm runs per executor (best)")
    parser.add_argument("--only", nargs="+", help="executor labels to run besides serial")
    parser.add_argument("--fresh-grids", action="store_true",
                        help="each warm scan on a grid no earlier scan saw (axes × 1 + 1e-3 k): "
                        "started workers, empty caches for its points")
    args = parser.parse_args(argv)
    case = _load_case(args.case)() if args.case else synthetic_case()
    task, grid, config, tile_shape = case
    from cevns.scan import Tiling

    tiling = Tiling(grid, tile_shape)
    per_tile = _time_one_tile(task, grid, config, tiling.tile_shape)
    print(f"case: {task.__module__}.{task.__qualname__}, {len(tiling)} tiles of "
          f"{tiling.tile_shape}, {per_tile * 1e3:.1f} ms per tile, {os.cpu_count()} CPUs, "
          f"Python {sys.version.split()[0]}, NumPy {np.__version__}")
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    rows = bench(case, repeat=args.repeat, only=args.only, fresh_grids=args.fresh_grids)
    load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"1-min load average before/after: {load_before:.2f} / {load_after:.2f} "
          "(other processes competing for the CPUs distort the speed-ups)")
    print()
    print(markdown(rows))


def markdown(rows: list[dict[str, Any]]) -> str:
    """The records of :func:`bench` as a Markdown table."""
    lines = ["| executor | start-up (s) | cold scan (s) | warm min (s) | warm median (s) "
             "| speed-up (min) | speed-up (median) | bit-identical |",
             "|---|---:|---:|---:|---:|---:|---:|:---:|"]
    for r in rows:
        lines.append(f"| {r['executor']} | {r['startup_s']:.2f} | {r['cold_s']:.2f} "
                     f"| {r['warm_s']:.2f} | {r['median_s']:.2f} | {r['speedup']:.2f}× "
                     f"| {r['speedup_median']:.2f}× | {'yes' if r['identical'] else 'NO'} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
