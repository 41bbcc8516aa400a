"""Top-level (picklable) tasks for the scan tests and the kill-test script.

They live in a plain module beside the tests so that worker processes (``spawn``) and dask workers
can import them by name: pytest puts ``tests/scan`` on ``sys.path`` and child processes inherit it.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from cevns.scan import Tile


def analytic(x: np.ndarray, y: np.ndarray, scale: float) -> np.ndarray:
    """The reference function of :func:`analytic_task`, on full coordinate arrays."""
    return scale * np.sin(x) * y**2 + np.exp(-x * y)


def analytic_task(config: dict[str, Any], tile: Tile) -> dict[str, np.ndarray]:
    """A cheap deterministic function of the coordinates and ``config["scale"]``."""
    x, y = tile.mesh().values()
    return {
        "f": analytic(x, y, config["scale"]),
        "n": np.floor(10 * x).astype(np.int64) + np.zeros_like(y, dtype=np.int64),
    }


def spectrum_task(config: dict[str, Any], tile: Tile) -> dict[str, np.ndarray]:
    """An output with one trailing dimension of ``config["bins"]`` bins."""
    x, y = tile.mesh().values()
    bins = np.arange(config["bins"])
    return {"counts": (x * y)[..., None] * (bins + 1.0), "total": x * y * bins.size}


def logged_task(config: dict[str, Any], tile: Tile) -> dict[str, np.ndarray]:
    """:func:`analytic_task` that sleeps ``config["sleep"]`` s and appends
    ``"pid tile_index"`` to the file ``config["log"]``, to count task calls across processes."""
    time.sleep(config["sleep"])
    with open(config["log"], "a") as fh:
        fh.write(f"{os.getpid()} {tile.index}\n")
        fh.flush()
    return analytic_task(config, tile)


def started_task(config: dict[str, Any], tile: Tile) -> dict[str, np.ndarray]:
    """Like :func:`logged_task` but logs the *start* of each call (``"start pid index"``) before
    sleeping, so that a call cut short by a killed worker still shows up."""
    with open(config["log"], "a") as fh:
        fh.write(f"start {os.getpid()} {tile.index}\n")
    time.sleep(config["sleep"])
    return analytic_task(config, tile)


def read_log(path: str | os.PathLike[str]) -> list[tuple[int, int]]:
    """(pid, tile index) pairs of a :func:`logged_task` log."""
    if not os.path.exists(path):
        return []
    with open(path) as fh:
        return [tuple(map(int, line.split()[-2:])) for line in fh if line.strip()]


def wrong_shape_task(config: dict[str, Any], tile: Tile) -> dict[str, np.ndarray]:
    """Returns an output transposed on non-square tiles."""
    x, y = tile.mesh().values()
    return {"f": (x * y).T}


def dtype_flip_task(config: dict[str, Any], tile: Tile) -> dict[str, np.ndarray]:
    """float64 on tile 0, float32 elsewhere."""
    x, y = tile.mesh().values()
    return {"f": (x * y).astype(np.float64 if tile.index == 0 else np.float32)}


def not_a_dict_task(config: dict[str, Any], tile: Tile) -> Any:
    """Returns a bare array instead of a mapping."""
    return np.zeros(tile.shape)


def failing_task(config: dict[str, Any], tile: Tile) -> dict[str, np.ndarray]:
    """Raises on tile ``config["fail_on"]``."""
    if tile.index == config["fail_on"]:
        raise ValueError(f"boom on tile {tile.index}")
    return analytic_task(config, tile)


def unknown_name_task(config: dict[str, Any], tile: Tile) -> dict[str, np.ndarray]:
    """Raises :class:`cevns.errors.UnknownNameError` in a worker process of the pool (an error of
    cevns whose constructor takes three arguments, sent back to the driver by pickle); the tiles
    the driver runs itself while the workers start take ``config["sleep"]`` s each."""
    import multiprocessing

    if multiprocessing.parent_process() is not None:
        from cevns.errors import UnknownNameError

        raise UnknownNameError("detector", "CsJ", ["CsI", "Xe"])
    time.sleep(config["sleep"])
    return analytic_task(config, tile)


def flaky_task(config: dict[str, Any], tile: Tile) -> dict[str, np.ndarray]:
    """Fails the first time each tile runs (marker files in ``config["marker_dir"]``)."""
    marker = os.path.join(config["marker_dir"], f"tile{tile.index}")
    if not os.path.exists(marker):
        open(marker, "w").close()
        raise RuntimeError(f"transient failure on tile {tile.index}")
    return analytic_task(config, tile)


async def exit_worker() -> None:
    """Kill the process it runs in (for ``Client.run(..., wait=False)``, which needs a
    coroutine function): simulates a dask worker lost to a crash or a pre-empted job."""
    os._exit(1)


def modules_task(config: dict[str, Any], tile: Any) -> dict[str, Any]:
    """Which of ``config["modules"]`` this process had imported when the task started, and its
    process id (for the executors' worker-preload tests)."""
    import sys

    return {"loaded": sorted(m for m in config["modules"] if m in sys.modules),
            "pid": os.getpid()}
