"""CPU seconds of the numerics of `cevns reproduce` items, this tree against a baseline install.

Usage::

    python benchmarks/bench_items_numerics.py --baseline-python /path/to/old/venv/bin/python \
        --repeat 3 fig9 fig10 fig7

Each repetition runs, for the baseline interpreter and then for this one (``sys.executable``),
one fresh process that imports cevns, runs a warm-up item (``table4``: lazy imports), and then
each item in turn as ``cevns reproduce --only ITEM --no-figures --executor serial`` into a
scratch folder, emptying the in-memory caches (``cevns.rates.clear_cache``) before each item.
The time of an item is ``time.process_time()`` around it: the numerics, the tables and χ² grids
written, no interpreter start-up, no imports, no figures. Prints per item the min and median
over the repetitions of either side, their ratio, and the 1-minute load average at the start of
every run (timings on a shared machine vary with it). Both sides write into their own scratch
folders, which are left for a comparison of the outputs (``benchmarks/compare_results.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _worker(folder: str, items: list[str]) -> None:
    from cevns.cli import main
    from cevns.rates import clear_cache

    def run(item: str, out: str) -> None:
        saved = sys.argv
        sys.argv = ["cevns", "reproduce", "--out", out, "--executor", "serial", "--only", item,
                    "--no-figures"]
        try:
            with contextlib.redirect_stdout(io.StringIO()), \
                    contextlib.redirect_stderr(io.StringIO()), contextlib.suppress(SystemExit):
                main()
        finally:
            sys.argv = saved

    run("table4", os.path.join(folder, "warm"))
    times = {}
    for item in items:
        clear_cache()
        start = time.process_time()
        run(item, os.path.join(folder, item))
        times[item] = time.process_time() - start
    print(json.dumps(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("items", nargs="+")
    ap.add_argument("--baseline-python", required=True,
                    help="python of an environment with the old cevns installed")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=None, help="scratch folder (default: a temporary one)")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        _worker(args.worker, args.items)
        return
    root = Path(args.out or tempfile.mkdtemp(prefix="bench_items_"))
    sides = {"old": args.baseline_python, "new": sys.executable}
    results: dict[str, list[dict[str, float]]] = {k: [] for k in sides}
    for r in range(args.repeat):
        for side, python in sides.items():
            load = os.getloadavg()[0]
            folder = root / f"{side}_{r}"
            proc = subprocess.run([python, __file__, "--baseline-python", python, "--worker",
                                   str(folder), *args.items], capture_output=True, text=True,
                                  check=True, cwd=tempfile.gettempdir())
            results[side].append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(f"run {r + 1} {side}: load {load:.2f}", file=sys.stderr)
    print("| item | old min / median [s] | new min / median [s] | old / new (min) |")
    print("|---|---:|---:|---:|")
    totals = {k: [sum(run.values()) for run in v] for k, v in results.items()}
    for item in [*args.items, "sum"]:
        cell = {}
        for side in sides:
            vals = totals[side] if item == "sum" else [run[item] for run in results[side]]
            cell[side] = (min(vals), statistics.median(vals))
        print(f"| {item} | {cell['old'][0]:.2f} / {cell['old'][1]:.2f} | "
              f"{cell['new'][0]:.2f} / {cell['new'][1]:.2f} | "
              f"{cell['old'][0] / cell['new'][0]:.2f} |")
    print(f"scratch folders: {root}", file=sys.stderr)


if __name__ == "__main__":
    main()
