"""CPU time of saving the shipped figures: the house pipeline against the former one, same figures.

Run from the repository root::

    PYTHONPATH=src python benchmarks/bench_figures.py                 # a few items of each kind
    PYTHONPATH=src python benchmarks/bench_figures.py --items fig1 fig16 --quick

Every item is run once with ``RunOptions(no_figures=False)``; its figures are captured through
``RunOptions.on_figure`` and each is then saved again, side by side, in two ways:

* **house** — what ``save_figure`` does: one PNG at 200 dpi, margins fixed when the figure was made
  (one draw), minor ticks as marker lines (``style.minor_ticks_as_marks``);
* **reference** — the former pipeline: ``tight_layout()``, then PNG at 130 dpi and PDF, both with
  ``bbox_inches="tight"`` (each of the three lays out or draws the whole figure).

Times are process CPU seconds (``time.process_time``), less sensitive than wall time to the load
of a shared machine; each figure is saved ``--repeat`` times per way, best taken.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path

DEFAULT_ITEMS = ("fig1", "fig2", "fig5", "fig6", "fig16", "fig18", "fig20")


def _house(fig) -> None:
    from cevns.analyses.style import minor_ticks_as_marks, styled

    with styled(), minor_ticks_as_marks(fig):  # as save_figure does
        fig.savefig(io.BytesIO(), format="png", dpi=200)


def _reference(fig) -> None:
    from cevns.analyses.style import styled

    with styled():
        fig.tight_layout()
        fig.savefig(io.BytesIO(), format="png", dpi=130, bbox_inches="tight")
        fig.savefig(io.BytesIO(), format="pdf", bbox_inches="tight")


def _best(func, fig, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        func(fig)
        best = min(best, time.process_time() - t0)
    return best


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", nargs="+", default=list(DEFAULT_ITEMS))
    parser.add_argument("--quick", action="store_true", help="coarse grids (faster scans)")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)

    from cevns.analyses import RunOptions, run_analysis, shipped_analysis

    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.items:
            run_analysis(shipped_analysis(name), Path(tmp) / name, RunOptions(
                quick=args.quick, on_figure=lambda stem, fig: figures.__setitem__(stem, fig)))
    print(f"{'figure':8s} {'axes':>4s} {'house [s]':>10s} {'reference [s]':>14s} {'ratio':>6s}")
    total_h = total_r = 0.0
    for stem, fig in figures.items():
        # the house save first (the reference's tight_layout changes the figure's margins)
        h = _best(_house, fig, args.repeat)
        r = _best(_reference, fig, args.repeat)
        total_h += h
        total_r += r
        n_axes = sum(ax.get_visible() for ax in fig.axes)
        print(f"{stem:8s} {n_axes:4d} {h:10.3f} {r:14.3f} {r / h:6.1f}")
    print(f"{'total':8s} {'':4s} {total_h:10.3f} {total_r:14.3f} {total_r / total_h:6.1f}")


if __name__ == "__main__":
    main()
