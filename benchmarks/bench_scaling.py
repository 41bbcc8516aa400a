"""How the cost of a sensitivity scan grows with the grid and the number of detectors, measured
beside the prediction of the tile cost model (``cevns.scan.cost``).

Run from the repository root::

    PYTHONPATH=src python benchmarks/bench_scaling.py                 # table + docs/scan_scaling.png
    PYTHONPATH=src python benchmarks/bench_scaling.py --sizes 25 50 100 --repeat 1

The case is the scalar-mediator exclusion grid of Fig. 6 (``cevns.analyses.sensitivity``,
``_grid_task``), run serially in this process with the tile shapes ``scan_chi2`` plans for two
workers. Three things are measured:

1. **Calibration** — the cost model fitted (``CostModel.fit``, best of 3 on the middle tile of
   2, 8 and 24 rows of grids of 50 and 200 couplings, :data:`PROBES`) with 1 detector and with
   all 6: the per-detector coefficients, and whether 6 detectors cost 6 × one.
2. **Grid size** — wall time of whole N × N scans (6 detectors), N = 25 … 200.
3. **Detectors** — wall time of the 100 × 100 scan with the first 1 … 6 detectors.

The predictions use the 6-detector calibration divided per detector, i.e. they never see the
scans they predict. Times are CPU seconds of this process (``time.process_time``; on a machine
shared with other jobs the wall time mostly measures the others), the minimum over ``--repeat``
runs, with the median and the minimum wall time beside them. BLAS threads are pinned to 1.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from cevns.analyses.catalogue import shipped_analysis  # noqa: E402
from cevns.analyses.scan_plan import plan_tile_shapes, tile_cost_model  # noqa: E402
from cevns.analyses.sensitivity import _grid_task, compute_config  # noqa: E402
from cevns.scan import Grid, Tiling  # noqa: E402
from cevns.scan.cost import CostModel  # noqa: E402

#: Calibration tiles: (points per axis of the grid, rows of the tile). The couplings always span
#: the whole axis (the cost of a point depends on where it lies: tiny couplings converge in fewer
#: Newton steps), so grids of 50 and 200 points tell the cost per row from the cost per point.
PROBES = [(50, 2), (50, 8), (50, 24), (200, 2), (200, 8), (200, 24)]


def analysis(n_points: int, n_detectors: int):
    """The Fig. 6 analysis on an n_points² grid with its first `n_detectors` detectors."""
    an = shipped_analysis("fig6")
    return an.model_copy(update={
        "detectors": tuple(an.detectors[:n_detectors]),
        "x": an.x.model_copy(update={"num": n_points}),
        "y": an.y.model_copy(update={"num": n_points}),
    })


def case(n_points: int, n_detectors: int):
    an = analysis(n_points, n_detectors)
    grid = Grid({ax.parameter: ax.grid() for ax in an.axes()})
    return grid, compute_config(an, 0, quick=False)


def calibrate(n_detectors: int, repeat: int = 3) -> CostModel:
    """Fit the model to the CPU time of the middle tile of each probe (best of `repeat`)."""
    samples = []
    for n_points, rows in PROBES:
        grid, config = case(n_points, n_detectors)
        tiling = Tiling(grid, (rows, n_points))
        tile = tiling[len(tiling) // 2]
        _grid_task(config, tile)
        best = float("inf")
        for _ in range(repeat):
            t0 = time.process_time()
            _grid_task(config, tile)
            best = min(best, time.process_time() - t0)
        samples.append((tile.shape, best))
    return CostModel.fit(samples)


def time_scan(n_points: int, n_detectors: int, repeat: int) -> tuple[float, float, tuple, float]:
    """(min, median) CPU seconds of all tiles of the scan, serially, the tile shape used and the
    minimum wall time."""
    grid, config = case(n_points, n_detectors)
    (tile_shape,) = plan_tile_shapes([grid.shape], n_detectors, workers=2)
    tiles = list(Tiling(grid, tile_shape))
    _grid_task(config, tiles[0])  # warm the caches of this configuration
    times, walls = [], []
    for _ in range(repeat):
        t0, w0 = time.process_time(), time.perf_counter()
        for tile in tiles:
            _grid_task(config, tile)
        times.append(time.process_time() - t0)
        walls.append(time.perf_counter() - w0)
    return min(times), statistics.median(times), tile_shape, min(walls)


def per_detector(model: CostModel, n: int) -> CostModel:
    return CostModel(model.fixed_s / n, model.per_row_s / n, model.per_point_s / n)


def plot(path: Path, sizes, by_size, dets, by_det, model: CostModel, load: str) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")  # a script, not the library: choosing the backend is fine here
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(9.0, 3.8), layout="constrained")
    pts = np.array([n * n for n in sizes], dtype=float)
    measured = np.array([r[0] for r in by_size])
    predicted = np.array([tile_cost_model(6, model).scan_seconds((n, n), ts[0])
                          for n, (_, _, ts, _) in zip(sizes, by_size, strict=True)])
    a.loglog(pts, measured, "o", color="C0", label="measured (min)")
    a.loglog(pts, predicted, "-", color="C1", label="cost model")
    ref = measured[-1] * pts / pts[-1]
    a.loglog(pts, ref, ":", color="grey", lw=0.9, label=r"$\propto$ points")
    a.set_xlabel("grid points $N^2$ (N = " + ", ".join(map(str, sizes)) + ")")
    a.set_ylabel("CPU time of the scan, serial [s]")
    a.set_title("Fig. 6 scalar grid, 6 detectors", fontsize=9)
    a.legend(fontsize=8)
    nd = np.array(dets, dtype=float)
    measured_d = np.array([r[0] for r in by_det])
    predicted_d = np.array([tile_cost_model(n, model).scan_seconds((100, 100), ts[0])
                            for n, (_, _, ts, _) in zip(dets, by_det, strict=True)])
    b.loglog(nd, measured_d, "o", color="C0", label="measured (min)")
    b.loglog(nd, predicted_d, "-", color="C1", label="cost model")
    b.loglog(nd, measured_d[0] * nd, ":", color="grey", lw=0.9, label=r"$\propto$ detectors")
    names = shipped_analysis("fig6").detectors
    b.set_xticks(nd, [f"{int(n)}\n(…{names[int(n) - 1]})" for n in nd])
    b.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    b.set_xlabel("detectors (the first n of " + ", ".join(names) + ")")
    b.set_ylabel("CPU time of the scan, serial [s]")
    b.set_title("Fig. 6 scalar grid, 100 × 100", fontsize=9)
    b.legend(fontsize=8)
    fig.suptitle(f"Scan cost and the tile cost model ({load})", fontsize=9)
    fig.savefig(path, dpi=130)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[25, 50, 100, 200])
    parser.add_argument("--detectors", type=int, nargs="+", default=[1, 2, 3, 4, 6])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--plot", type=Path, default=Path("docs/scan_scaling.png"))
    args = parser.parse_args(argv)
    load0 = os.getloadavg()[0]
    one, six = calibrate(1), calibrate(6)
    model = per_detector(six, 6)
    print(f"calibration, 1 detector : {one}")
    print(f"calibration, 6 detectors: {six}")
    print(f"per detector (6-det fit / 6): fixed {model.fixed_s * 1e3:.2f} ms, per row "
          f"{model.per_row_s * 1e3:.3f} ms, per point {model.per_point_s * 1e6:.2f} µs")
    print(f"6 detectors / 1 detector at a 10 × 100 tile: "
          f"{six.tile_seconds((10, 100)) / one.tile_seconds((10, 100)):.2f} (linear: 6)")
    by_size = [time_scan(n, 6, args.repeat) for n in args.sizes]
    by_det = [time_scan(100, d, args.repeat) for d in args.detectors]
    load1 = os.getloadavg()[0]
    load = f"1-min load {load0:.1f} → {load1:.1f} on {os.cpu_count()} CPUs"
    print(f"\n{load}\n")
    print("| grid | detectors | tile | CPU min (s) | CPU median (s) | wall min (s) | model (s) "
          "| model/CPU min |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    rows = [(n, 6, r) for n, r in zip(args.sizes, by_size, strict=True)]
    rows += [(100, d, r) for d, r in zip(args.detectors, by_det, strict=True)]
    for n, d, (lo, med, ts, wall) in rows:
        pred = tile_cost_model(d, model).scan_seconds((n, n), ts[0])
        print(f"| {n} × {n} | {d} | {ts[0]} × {ts[1]} | {lo:.3f} | {med:.3f} | {wall:.3f} "
              f"| {pred:.3f} | {pred / lo:.2f} |")
    plot(args.plot, args.sizes, by_size, args.detectors, by_det, model, load)
    print(f"\nplot: {args.plot}")


if __name__ == "__main__":
    main()
