"""CPU time of the exclusion figures' level lines: ``ax.contour`` (one ``ContourSet`` per line)
against ``cevns.analyses.style.level_lines`` (the same contourpy generator, one
``LineCollection``), on the same figures.

Run from the repository root::

    PYTHONPATH=src python benchmarks/bench_level_lines.py [--repeat 5]

A six-panel log-log figure with seven level lines per panel (as Figs. 20–23 of
``cevns reproduce``: a 100 × 100 Δχ² grid per line) is built and saved once to PNG at 200 dpi,
the two ways alternating; the PNGs are compared pixel for pixel. Times are process CPU seconds
(building the lines, and building plus saving); min and median over ``--repeat``.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

import numpy as np


def _fields(n_lines: int = 7, n: int = 100):
    x = np.geomspace(1e-2, 1e3, n)
    y = np.geomspace(1e-7, 1e-1, n)
    gx, gy = np.meshgrid(np.log10(x), np.log10(y))
    return x, y, [10.0 ** (2 * (gy + 5 - 0.1 * k) + 0.8 * np.maximum(gx - 1.5, 0)) for k in
                  range(n_lines)]


def _figure(way: str) -> tuple[float, float, bytes]:
    from cevns.analyses.style import level_lines, new_figure, styled

    x, y, fields = _fields()
    with styled():
        t0 = time.process_time()
        fig, axes = new_figure(3, 2, width="double", legend_rows=1, titles=True, sharey=True)
        for ax in axes.flat:
            ax.set(xscale="log", yscale="log", xlim=(x[0], x[-1]), ylim=(y[0], y[-1]))
            for k, z in enumerate(fields):
                if way == "ax.contour":
                    ax.contour(x, y, z, levels=[4.61], colors=[f"C{k}"], linewidths=1.0,
                               linestyles=["--"])
                else:
                    level_lines(ax, x, y, z, 4.61, color=f"C{k}", linewidth=1.0, linestyle="--")
        t1 = time.process_time()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=200)
        t2 = time.process_time()
    return t1 - t0, t2 - t0, buf.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    from PIL import Image

    _figure("ax.contour")  # imports, fonts
    _figure("level_lines")
    times: dict[str, list[tuple[float, float]]] = {"ax.contour": [], "level_lines": []}
    pngs: dict[str, bytes] = {}
    for _ in range(args.repeat):
        for way in times:
            build, total, png = _figure(way)
            times[way].append((build, total))
            pngs[way] = png
    a, b = (np.asarray(Image.open(io.BytesIO(pngs[w])).convert("RGB"), dtype=int) for w in times)
    diff = int(np.count_nonzero(np.abs(a - b).max(axis=2)))
    print("| way | lines built: min / median | built + saved: min / median |")
    print("|---|---:|---:|")
    for way, rows in times.items():
        build = [r[0] for r in rows]
        total = [r[1] for r in rows]
        print(f"| {way} | {min(build):.3f} / {statistics.median(build):.3f} s | "
              f"{min(total):.3f} / {statistics.median(total):.3f} s |")
    ref = statistics.median(r[1] for r in times["ax.contour"])
    new = statistics.median(r[1] for r in times["level_lines"])
    print(f"\nbuilt + saved, median ratio {ref / new:.2f}x; PNG pixels that differ: {diff} of "
          f"{a.shape[0] * a.shape[1]}")


if __name__ == "__main__":
    main()
