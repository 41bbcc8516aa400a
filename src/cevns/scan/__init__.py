"""Scans: evaluate a task over a grid, in tiles, on an executor, into a resumable store.

The scan layer knows nothing of physics. It takes

- a **grid** — ordered named axes, e.g. ``Grid({"mass_MeV": log_axis(1, 1e3, 100),
  "coupling": log_axis(1e-6, 1e-3, 100)})``;
- a **task** — a top-level function ``task(config, tile) -> {name: array}`` that computes the
  outputs on one tile, each an array of shape ``tile.shape`` (optionally followed by trailing
  dimensions of fixed size, e.g. energy bins);
- a **config** — a JSON-able mapping with everything else the task needs. It is recorded in the
  store with its SHA-256 digest; a scan is identified by (config, grid, tile shape);

and cuts the grid into **tiles**, runs them on an **executor** (``"serial"``, ``"processes"`` or
``"dask"``) and saves each finished tile in a **store** directory, so that a scan killed at any
moment resumes where it stopped.

>>> import numpy as np
>>> from cevns.scan import Grid, linear_axis, run_scan
>>> def task(config, tile):                      # must be top-level (picklable)
...     x, y = tile.mesh().values()
...     return {"f": config["scale"] * x * y}
>>> grid = Grid({"x": linear_axis(0, 1, 5), "y": [1.0, 2.0, 3.0]})
>>> ds = run_scan(task, grid, {"scale": 2.0}, tile_shape=(2, 3))  # store=None: temporary
>>> float(ds["f"].sel(x=1.0, y=3.0))
6.0

What to use when
----------------
- Try a scan with ``executor="serial"`` and ``store=None``; errors then surface directly.
- On a laptop or workstation use ``executor="processes"`` (or ``{"name": "processes",
  "max_workers": 4}``).
- On a cluster use ``executor="dask"`` (a ``LocalCluster``), a scheduler address
  ``"tcp://host:8786"``, or a ``dask_jobqueue`` cluster object; see ``docs/scans.md``.
- Give a ``store`` path for anything that takes minutes: rerun with ``resume=True`` after a
  crash or Ctrl-C. A resume with a changed config is refused, naming the changed keys.
- ``open_scan(path)`` reads a store back as an ``xarray.Dataset`` (``partial=True`` while it runs).

Inside a task, ``tile.coords`` holds the coordinate sub-arrays, ``tile.mesh()`` broadcasts them,
``tile.slices`` locates the tile in the grid and ``tile.rng(seed)`` is a generator seeded by
(seed, tile index) for toy Monte Carlo.
"""

from __future__ import annotations

from cevns.scan.digest import canonical_json, config_diff, config_digest
from cevns.scan.executors import (
    EXECUTORS,
    DaskExecutor,
    Executor,
    ProcessExecutor,
    SerialExecutor,
    Task,
    Work,
    WorkQueue,
    make_executor,
)
from cevns.scan.grid import Grid, linear_axis, log_axis
from cevns.scan.runner import (
    DeferToDriver,
    ScanBatch,
    ScanRequest,
    ScansDeferred,
    run_scan,
    run_scans,
)
from cevns.scan.store import ScanStore, open_scan
from cevns.scan.tiles import Tile, Tiling, default_tile_shape

__all__ = [
    "EXECUTORS",
    "DaskExecutor",
    "DeferToDriver",
    "Executor",
    "Grid",
    "ProcessExecutor",
    "ScanBatch",
    "ScanRequest",
    "ScansDeferred",
    "ScanStore",
    "SerialExecutor",
    "Task",
    "Tile",
    "Tiling",
    "canonical_json",
    "config_diff",
    "config_digest",
    "default_tile_shape",
    "linear_axis",
    "log_axis",
    "make_executor",
    "open_scan",
    "run_scan",
    "run_scans",
    "Work",
    "WorkQueue",
]
