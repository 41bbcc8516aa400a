"""The ``"coherent"`` overlay: today's COHERENT limit, computed by this package, on ESS figures.

An exclusion item that lists ``overlays = ["coherent"]`` gets, in every panel, the contour at the
item's own level of the combined COHERENT CsI-2021 + LAr-2020 Δχ²
(:func:`cevns.fits.combined.combined_grid`: the releases' likelihoods, a shared 10 % SNS flux
nuisance) for the same scenario, options, fixed and tied parameters as the panel's variant.

Speed: the Δχ² is computed on a coarser grid than the item's — at most
:data:`GRID_POINTS` ``[quick]`` points per axis, log-spaced where the item's axis is — and
interpolated onto the item's grid in log(1 + Δχ²) (linear in the logarithm of a coupling where the
BSM term dominates), which places the contour to a small fraction of a grid step. With the
collaboration-style likelihoods (free steady-state rates per PE bin, HistFactory shape nuisances in
both releases) one panel costs 0.5–1 s of CPU at full resolution (14 × 16 points; the release
profiles share their interpolation rows and start from the neighbouring flux value's nuisances,
:mod:`cevns.fits.combined`), of which up to 0.4 s is the scenario's signal on the grid.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from cevns.analyses.overlays import Overlay, OverlayRequest, register_overlay
from cevns.errors import ConfigError

__all__ = ["GRID_POINTS", "LABEL", "SOURCE", "coherent_overlay"]

#: Points per axis of the overlay's own grid: (x, y) for full runs and for quick previews.
GRID_POINTS: dict[bool, tuple[int, int]] = {False: (14, 16), True: (8, 10)}

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


def coherent_overlay(request: OverlayRequest) -> list[Overlay]:
    """The combined COHERENT Δχ² on the item's (x, y) grid, for the panel's variant."""
    # imported here: the driver loads this module to check an item's overlays before any run,
    # and scipy.interpolate costs it 0.12 s there
    from scipy.interpolate import RegularGridInterpolator

    from cevns.fits.combined import combined_grid

    an = request.analysis
    variant = request.variant
    options = {**an.scenario.options, **(variant.options if variant else {})}
    fixed = {**an.fixed, **(variant.fixed if variant else {})}
    ties = {**an.ties, **(variant.ties if variant else {})}
    x = np.asarray(request.x, dtype=float)
    y = np.asarray(request.y, dtype=float)
    if x.size < 2 or y.size < 2:
        raise ConfigError("the coherent overlay needs at least two grid points per axis")
    log_x, log_y = _is_log(x), _is_log(y)
    nx, ny = GRID_POINTS[bool(request.quick)]
    xs, ys = _coarse(x, nx, log_x), _coarse(y, ny, log_y)
    delta = combined_grid(
        an.scenario.name, an.x.parameter, xs, an.y.parameter, ys, options=options, fixed=fixed,
        ties={name: (tie.to, tie.ratio) for name, tie in ties.items()}, level=None)
    if xs.size != x.size or ys.size != y.size:
        fx = np.log if log_x else (lambda v: v)
        fy = np.log if log_y else (lambda v: v)
        interp = RegularGridInterpolator((fx(xs), fy(ys)), np.log1p(np.maximum(delta, 0.0)))
        gx, gy = np.meshgrid(np.clip(fx(x), fx(xs)[0], fx(xs)[-1]),
                             np.clip(fy(y), fy(ys)[0], fy(ys)[-1]), indexing="ij")
        delta = np.expm1(interp(np.stack([gx, gy], axis=-1)))
    return [Overlay(label=LABEL, source=SOURCE, x=x, y=y, delta_chi2=delta,
                    style={"color": "0.25", "linestyle": "--", "linewidth": 1.4})]


register_overlay("coherent", coherent_overlay)
