"""The ``coherent`` overlay of fig7 and fig10 on two versions of the code, side by side.

    PYTHONPATH=<old checkout>/src python benchmarks/compare_overlay.py dump old.json
    python benchmarks/compare_overlay.py dump new.json
    python benchmarks/compare_overlay.py compare old.json new.json

``dump`` computes every panel's overlay as the figures draw it (the registered ``coherent``
overlay on the item's full grid, release models built beforehand) and records, per panel, the CPU
time (``time.process_time``, min of ``--repeat``), the Δχ² on the item's grid and the limit: the
coupling where Δχ² first reaches the item's level (linear in log coupling) at each mass. ``compare``
prints, per panel, both CPU times, the largest |Δχ²_new − Δχ²_old| over the points where either is
below 5, and the largest relative change of the limit. It uses only APIs that both versions have,
so that an old checkout can be measured with the same script.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

ITEMS = ("fig7", "fig10")
NEAR = 5.0  # Δχ² below which a point is "near the contours" (the levels drawn: 2.71–4.61)


def dump(path: str, repeat: int) -> None:
    from cevns.analyses import shipped_analysis
    from cevns.analyses.overlays import OverlayRequest, get_overlay
    from cevns.fits.combined import packaged_model
    from cevns.stats.levels import level_value

    for release in ("coherent-csi-2021", "coherent-lar-2020"):
        packaged_model(release)
    overlay = get_overlay("coherent")
    out = {}
    for name in ITEMS:
        an = shipped_analysis(name)
        x, y = an.x.grid(False), an.y.grid(False)
        level = level_value(an.level)
        for variant in an.variants:
            times, delta = [], None
            for _ in range(repeat):
                t0 = time.process_time()
                (drawn,) = overlay(OverlayRequest(an, variant, x, y, quick=False))
                times.append(time.process_time() - t0)
                delta = drawn.delta_chi2
            limits = []
            for row in delta:
                above = np.flatnonzero(row >= level)
                if not above.size or above[0] == 0:
                    limits.append(None)
                    continue
                k = above[0]
                t = (level - row[k - 1]) / (row[k] - row[k - 1])
                limits.append(float(np.exp(np.log(y[k - 1]) + t * np.log(y[k] / y[k - 1]))))
            out[f"{name}/{variant.label}"] = {"cpu_s": min(times), "delta": delta.tolist(),
                                              "limits": limits}
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(out, fh)


def compare(old_path: str, new_path: str) -> None:
    with open(old_path, encoding="utf-8") as fh:
        old = json.load(fh)
    with open(new_path, encoding="utf-8") as fh:
        new = json.load(fh)
    print("| panel | CPU old | CPU new | max abs. ΔΔχ² where Δχ² < 5 | max rel. change of the limit |")
    print("|---|---:|---:|---:|---:|")
    for key, a in old.items():
        b = new[key]
        da, db = np.asarray(a["delta"]), np.asarray(b["delta"])
        near = (da < NEAR) | (db < NEAR)
        diff = float(np.max(np.abs(db - da)[near])) if near.any() else 0.0
        rel = [lb / la - 1.0 for la, lb in zip(a["limits"], b["limits"], strict=True)
               if la and lb]
        change = max(rel, key=abs) if rel else 0.0
        print(f"| {key} | {a['cpu_s']:.2f} s | {b['cpu_s']:.2f} s | {diff:.3f} | {change:+.1%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump", help="compute the overlays with the cevns on the path")
    d.add_argument("out")
    d.add_argument("--repeat", type=int, default=3)
    c = sub.add_parser("compare", help="compare two dumps")
    c.add_argument("old")
    c.add_argument("new")
    args = parser.parse_args()
    if args.command == "dump":
        dump(args.out, args.repeat)
    else:
        compare(args.old, args.new)


if __name__ == "__main__":
    main()
