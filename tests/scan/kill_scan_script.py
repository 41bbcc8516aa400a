"""Run a scan that the kill tests interrupt from outside (SIGKILL, SIGINT).

Usage: ``python kill_scan_script.py STORE LOG SLEEP N_X [EXECUTOR]``. The grid and config are
:func:`scan_setup` so that the test can resume the same scan in-process.
"""

from __future__ import annotations

import sys
from typing import Any

import scan_tasks

from cevns.scan import Grid, linear_axis, run_scan


def scan_setup(log: str, sleep: float, n_x: int) -> tuple[Grid, dict[str, Any], tuple[int, int]]:
    """(grid, config, tile_shape): one tile per x value, so ``n_x`` tiles."""
    grid = Grid({"x": linear_axis(0.0, 3.0, n_x), "y": linear_axis(1.0, 2.0, 4)})
    return grid, {"scale": 1.25, "sleep": sleep, "log": log}, (1, 4)


def main(argv: list[str]) -> None:
    store, log, sleep, n_x = argv[1], argv[2], float(argv[3]), int(argv[4])
    executor = argv[5] if len(argv) > 5 else "serial"
    grid, config, tile_shape = scan_setup(log, sleep, n_x)
    run_scan(scan_tasks.logged_task, grid, config, store, tile_shape=tile_shape,
             executor=executor)


if __name__ == "__main__":
    main(sys.argv)
