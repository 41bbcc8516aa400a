"""CPU of every ``coherent`` overlay panel of a ``cevns reproduce``, three layouts side by side.

Run from the repository root::

    PYTHONPATH=src python benchmarks/bench_overlay_panels.py [--repeat 2]

The 18 panels of Figs. 7 and 10–14 (every variant), at full resolution, each computed by
:func:`cevns.analyses.coherent_overlay.coherent_overlay` in this one process, in three layouts,
interleaved panel by panel (the release models and basis spectra are warmed by one panel first):

- *computed crossings* — the overlay as shipped: the coarse grid of ``GRID_POINTS`` with one
  coupling above the item's top, and the Δχ² at the item's couplings next to each coarse mass's
  crossing computed (``refine_crossings``, up to ``REFINE_ROUNDS`` calls);
- *coarse only* — the same coarse grid, nothing computed beside it (``REFINE_ROUNDS = 0``);
- *14 × 16 grid alone* — the layout before 2026-12-02: 16 couplings, no coupling above the top,
  nothing computed beside it (the interpolation is the same code, with no extra points).

Prints the CPU seconds (``time.process_time``, the minimum over ``--repeat`` runs) per panel and
in total, and the 1-minute load average. The precision of the layouts: ``overlay_precision.py``.
"""

from __future__ import annotations

import argparse
import os
import time

import cevns.analyses.coherent_overlay as co
from cevns.analyses import shipped_analysis
from cevns.analyses.overlays import OverlayRequest

ITEMS = ("fig7", "fig10", "fig11", "fig12", "fig13", "fig14")


def _layouts():
    shipped = (co.GRID_POINTS[False], co.REFINE_ROUNDS, co._one_step_beyond)

    def computed():
        co.GRID_POINTS[False], co.REFINE_ROUNDS, co._one_step_beyond = shipped

    def coarse_only():
        computed()
        co.REFINE_ROUNDS = 0

    def before():
        co.GRID_POINTS[False] = (14, 16)
        co.REFINE_ROUNDS = 0
        co._one_step_beyond = lambda request, ys, log: ys

    return {"computed crossings": computed, "coarse only": coarse_only,
            "14 × 16 grid alone": before}, computed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2, help="runs per panel and layout (minimum)")
    args = ap.parse_args()
    requests = []
    for name in ITEMS:
        an = shipped_analysis(name)
        for variant in an.variants:
            requests.append((f"{name} {variant.label}",
                             OverlayRequest(an, variant, an.x.grid(False), an.y.grid(False),
                                            quick=False)))
    layouts, restore = _layouts()
    co.coherent_overlay(requests[0][1])  # warm the release models and their imports
    best: dict[str, dict[str, float]] = {label: {} for label in layouts}
    try:
        for panel, request in requests:
            for _ in range(args.repeat):
                for label, apply in layouts.items():
                    apply()
                    t0 = time.process_time()
                    co.coherent_overlay(request)
                    dt = time.process_time() - t0
                    best[label][panel] = min(dt, best[label].get(panel, float("inf")))
    finally:
        restore()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    labels = list(layouts)
    print(f"CPU seconds per panel (min of {args.repeat}), 1-min load {load:.2f}\n")
    print("| panel | " + " | ".join(labels) + " |")
    print("|---|" + "---:|" * len(labels))
    for panel, _ in requests:
        print(f"| {panel} | " + " | ".join(f"{best[label][panel]:.2f}" for label in labels) + " |")
    totals = {label: sum(best[label].values()) for label in labels}
    print("| **all 18** | " + " | ".join(f"**{totals[label]:.1f}**" for label in labels) + " |")


if __name__ == "__main__":
    main()
