"""Precision of the COHERENT overlay's interpolation: the coupling where the contour crosses a
mass, from the overlay (coarse grid, interpolated) against the combined χ² profiled directly at
the item's own couplings, with the same Δχ² minimum.

Run from the repository root::

    PYTHONPATH=src python benchmarks/overlay_precision.py [--quick] [--masses N] [--only fig7:0]

For each of twelve panels (Fig. 7 S, V, A, T; Fig. 10 μ_νe, μ_νμ; Fig. 11 all three m₄/m_X;
Figs. 12, 13, 14 one each) and every seventh mass of the item's grid where both curves reach the
item's level, prints the relative difference (overlay / direct − 1) of the crossing coupling and
its median and largest absolute value over the panel, for the curve from the coarse grid alone
and for the overlay (crossings refined by direct χ² evaluations). Takes a few minutes (the direct χ² is a
full combined profile at every coupling of the item).
"""

from __future__ import annotations

import argparse

import numpy as np

from cevns.analyses import shipped_analysis
from cevns.analyses.coherent_overlay import (
    PROFILE_TOL,
    REFINE_ROUNDS,
    _is_log,
    coherent_overlay,
    interpolate_delta,
    overlay_grids,
)
from cevns.analyses.overlays import OverlayRequest
from cevns.fits.combined import grid_parts, profile_flux
from cevns.stats import level_value

PANELS = (("fig7", 0), ("fig7", 1), ("fig7", 2), ("fig7", 3), ("fig10", 0), ("fig10", 1),
          ("fig11", 0), ("fig11", 1), ("fig11", 2), ("fig12", 0), ("fig13", 0), ("fig14", 1))


def _chi2(an, variant, xs, ys):
    options = {**an.scenario.options, **variant.options}
    ties = {n: (t.to, t.ratio) for n, t in {**an.ties, **variant.ties}.items()}
    parts, sigma_flux, _ = grid_parts(an.scenario.name, an.x.parameter, xs, an.y.parameter, ys,
                                      options=options, ties=ties)
    chi2 = profile_flux(parts, sigma_flux, level=25, tol=PROFILE_TOL).chi2
    return chi2[0], chi2[1:].reshape(xs.size, ys.size)


def _crossing_errors(delta, x_overlay, y_overlay, x, cols, direct, reference, level):
    """overlay / direct − 1 of the crossing coupling at the masses x[cols]."""
    errors = []
    for k, c in enumerate(cols):
        row = delta[np.flatnonzero(x_overlay == x[c])[0]]
        ref = direct[k] - reference
        if ref.max() < level or row.max() < level:
            continue
        got = np.interp(level, row, np.log(y_overlay))
        want = np.interp(level, ref, np.log(y_overlay))
        errors.append(np.exp(got - want) - 1.0)
    return np.asarray(errors)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the --quick grids (8 × 10)")
    ap.add_argument("--masses", type=int, default=7,
                    help="masses compared per panel, evenly spread over the item's grid "
                         "(default 7; the cost is a full profile per mass)")
    ap.add_argument("--only", nargs="*", default=None,
                    help="panels as item:variant-index, e.g. fig7:0 fig10:1 (default: all twelve)")
    args = ap.parse_args()
    quick = args.quick
    panels = PANELS if not args.only else tuple(
        (p.split(":")[0], int(p.split(":")[1])) for p in args.only)
    print("The overlay's curve from the coarse grid alone (*coarse*: monotone cubic along the "
          "coupling, sheared along the limit curve between coarse masses; the overlay until "
          "2026-12-02) and with the crossing of every coarse mass refined by "
          f"{REFINE_ROUNDS} more χ² evaluations (*refined*: the overlay's now), against the χ² "
          "profiled directly at the item's couplings.\n")
    print("| panel | masses | coarse: median | coarse: largest | refined: median "
          "| refined: largest | refined, per mass |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, index in panels:
        an = shipped_analysis(name)
        variant = an.variants[index]
        level = level_value(an.level)
        x, y = an.x.grid(quick), an.y.grid(quick)
        request = OverlayRequest(an, variant, x, y, quick=quick)
        (overlay,) = coherent_overlay(request)
        xs, ys, x_overlay, y_overlay = overlay_grids(request)
        sm, coarse = _chi2(an, variant, xs, ys)
        reference = min(sm, coarse.min())  # the overlay's own Δχ² minimum
        log_x, log_y = _is_log(x), _is_log(y)  # as the overlay decides
        cols = np.unique(np.linspace(1, x.size - 1, args.masses).round().astype(int))
        _, direct = _chi2(an, variant, x[cols], y_overlay)
        coarse_delta = interpolate_delta(xs, ys, coarse - reference, x_overlay, y_overlay,
                                         log_x, log_y, level=level)
        old = np.abs(_crossing_errors(coarse_delta, x_overlay, y_overlay, x, cols, direct,
                                      reference, level))
        errors = _crossing_errors(overlay.delta_chi2, x_overlay, y_overlay, x, cols, direct,
                                  reference, level)
        e = np.abs(errors)
        print(f"| {name} {variant.label} | {len(e)} | {np.median(old):.3f} | {old.max():.3f} | "
              f"{np.median(e):.3f} | {e.max():.3f} "
              f"| {', '.join(f'{v:+.3f}' for v in errors)} |", flush=True)


if __name__ == "__main__":
    main()
