"""The ``"coherent"`` overlay: today's COHERENT limit, computed by this package, on ESS figures.

An exclusion item that lists ``overlays = ["coherent"]`` gets, in every panel, the contour at the
item's own level of the combined COHERENT CsI-2021 + LAr-2020 Δχ²
(:func:`cevns.fits.combined.combined_grid`: the releases' likelihoods, a shared 10 % SNS flux
nuisance) for the same scenario, options, fixed and tied parameters as the panel's variant.

Speed: the Δχ² is computed on a coarser grid than the item's — at most
:data:`GRID_POINTS` ``[quick]`` points per axis, log-spaced where the item's axis is — and
interpolated onto the item's grid in log(1 + Δχ²) (linear in the logarithm of a coupling where the
BSM term dominates). Measured against the profiled χ² evaluated directly at the item's own
couplings (same Δχ² minimum; Figs. 7, 10 and 11, every other mass of the coarse grid), the
coupling where the contour crosses a mass is within 2.4–15.6 % at full resolution (16 couplings
over six decades, a factor 2.4 per step: 0.1–0.2 of a step; up to 19 % at the last mass before a
kinematic wall), and within 1–44 % for ``--quick`` previews (docs/coherent_fits.md); the ESS
curves are computed on the item's full grid. With the
collaboration-style likelihoods (free steady-state rates per PE bin, HistFactory shape nuisances in
both releases) one panel costs 0.5–1 s of CPU at full resolution (14 × 16 points; the release
profiles share their interpolation rows and start from the neighbouring flux value's nuisances,
:mod:`cevns.fits.combined`), of which up to 0.4 s is the scenario's signal on the grid.

Where the physics ends inside the grid — the kinematic end point of a sterile lepton (dipole
portal, up-scattering), m₄ ≈ 52.8 MeV for the releases' CsI and Ar at the π-DAR end point — the
coarse grid and the overlay's own x grid both get points at 0.2 % and 2 % on either side of it
(:data:`EDGE_OFFSETS`, :func:`cevns.analyses.edges.refine_axis_values`), and the coarse grid two
more at 10 % and 30 % below it, where the limit rises steeply (:data:`RISE_OFFSETS`).
Interpolating across a coarse step that straddles the end point would otherwise draw the wall
anywhere up to a step (a factor of two in m_X on the Fig. 11 grid) beyond it; with them the wall
sits within 0.2 %.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from cevns.analyses.overlays import Overlay, OverlayRequest, register_overlay
from cevns.errors import ConfigError

__all__ = ["EDGE_OFFSETS", "GRID_POINTS", "LABEL", "PROFILE_TOL", "RISE_OFFSETS", "SOURCE",
           "STOP_LEVEL", "coherent_overlay", "overlay_grids"]

#: Points per axis of the overlay's own grid: (x, y) for full runs and for quick previews.
GRID_POINTS: dict[bool, tuple[int, int]] = {False: (14, 16), True: (8, 10)}

#: Δχ² above which the combined profile may stop early (twice the item's level if that is higher):
#: far inside the excluded region χ² can have several minima in the shared flux and a profile
#: may stall there (one point of 1100 on a fine Fig. 10 grid, Δχ² ≈ 200); such values only need
#: to be known to lie above every contour drawn.
STOP_LEVEL = 25.0

#: Convergence of the combined profiles (Newton estimate of χ² − χ²_min): 10⁻⁵ instead of the
#: fits' 10⁻⁸ saves 15 % of an overlay's profiling and moves its χ² by < 10⁻¹² below Δχ² = 25
#: (measured on Figs. 7, 10, 12, 14; the last Newton step converges quadratically).
PROFILE_TOL = 1e-5

#: Relative offsets of the points added on either side of a kinematic end point inside the grid
#: (to the coarse grid and to the overlay's own x grid).
EDGE_OFFSETS = (2e-3, 2e-2)
#: Relative offsets of the points added below an end point to the coarse grid only: the limit
#: rises steeply over the last tens of per cent before the end point.
RISE_OFFSETS = (0.1, 0.3)

LABEL = "COHERENT CsI+LAr (this work)"
SOURCE = ("combined fit of the CsI-2021 and LAr-2020 releases computed by cevns "
          "(cevns.fits.combined; shared 10 % flux nuisance; docs/coherent_fits.md)")


def _is_log(values: NDArray[np.float64]) -> bool:
    if values.size < 3 or np.any(values <= 0):
        return False
    ratios = values[1:] / values[:-1]
    return bool(np.allclose(ratios, ratios[0], rtol=1e-6)) and not np.allclose(ratios, 1.0)


def _coarse(values: NDArray[np.float64], n: int, log: bool) -> NDArray[np.float64]:
    if values.size <= n:
        return values
    if log:
        return np.geomspace(values[0], values[-1], n)
    return np.linspace(values[0], values[-1], n)


def overlay_grids(request: OverlayRequest) -> tuple[NDArray[np.float64], NDArray[np.float64],
                                                   NDArray[np.float64], NDArray[np.float64]]:
    """(xs, ys, x, y): the coarse grid the combined Δχ² is computed on and the overlay's own grid
    it is interpolated onto (the item's grid, plus the points around kinematic end points)."""
    from cevns.analyses.edges import exclusion_edges_x, refine_axis_values
    from cevns.fits.combined import DEFAULT_RELEASES, packaged_model

    x = np.asarray(request.x, dtype=float)
    y = np.asarray(request.y, dtype=float)
    if x.size < 2 or y.size < 2:
        raise ConfigError("the coherent overlay needs at least two grid points per axis")
    nx, ny = GRID_POINTS[bool(request.quick)]
    xs, ys = _coarse(x, nx, _is_log(x)), _coarse(y, ny, _is_log(y))
    edges = exclusion_edges_x(request.analysis, request.variant,
                              [packaged_model(r).detector for r in DEFAULT_RELEASES])
    if edges:  # the same points in both grids: the wall is placed between them, not a step away
        xs = refine_axis_values(xs, edges, EDGE_OFFSETS)
        rise = [e * (1.0 - d) for e in edges for d in RISE_OFFSETS]
        xs = np.union1d(xs, [v for v in rise if xs[0] < v < xs[-1]])
        x = refine_axis_values(x, edges, EDGE_OFFSETS)
    return xs, ys, x, y


def coherent_overlay(request: OverlayRequest) -> list[Overlay]:
    """The combined COHERENT Δχ² on the item's (x, y) grid, for the panel's variant."""
    # imported here: the driver loads this module to check an item's overlays before any run,
    # and scipy.interpolate costs it 0.12 s there
    from scipy.interpolate import RegularGridInterpolator

    from cevns.fits.combined import combined_grid
    from cevns.stats import level_value

    an = request.analysis
    variant = request.variant
    options = {**an.scenario.options, **(variant.options if variant else {})}
    fixed = {**an.fixed, **(variant.fixed if variant else {})}
    ties = {**an.ties, **(variant.ties if variant else {})}
    log_x, log_y = _is_log(np.asarray(request.x, dtype=float)), _is_log(np.asarray(request.y,
                                                                                   dtype=float))
    xs, ys, x, y = overlay_grids(request)
    delta = combined_grid(
        an.scenario.name, an.x.parameter, xs, an.y.parameter, ys, options=options, fixed=fixed,
        ties={name: (tie.to, tie.ratio) for name, tie in ties.items()},
        level=max(STOP_LEVEL, 2.0 * level_value(an.level)), tol=PROFILE_TOL)
    if not (np.array_equal(xs, x) and np.array_equal(ys, y)):
        fx = np.log if log_x else (lambda v: v)
        fy = np.log if log_y else (lambda v: v)
        interp = RegularGridInterpolator((fx(xs), fy(ys)), np.log1p(np.maximum(delta, 0.0)))
        gx, gy = np.meshgrid(np.clip(fx(x), fx(xs)[0], fx(xs)[-1]),
                             np.clip(fy(y), fy(ys)[0], fy(ys)[-1]), indexing="ij")
        delta = np.expm1(interp(np.stack([gx, gy], axis=-1)))
    return [Overlay(label=LABEL, source=SOURCE, x=x, y=y, delta_chi2=delta,
                    style={"color": "0.25", "linestyle": "--", "linewidth": 1.4})]


register_overlay("coherent", coherent_overlay, in_quick=False)  # full fits: not in previews
