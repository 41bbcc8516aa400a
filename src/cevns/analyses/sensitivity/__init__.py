"""Sensitivity analyses: Asimov Δχ² profiles, 2D scans and exclusion curves.

Three kinds share one model of the likelihood (docs/physics.md#likelihood):

* ``profile`` — Δχ² along one parameter, per detector and combined; intervals at configurable
  levels, a table (Tables 3, 4, 5) and a figure (Figs. 2, 4, 8, 15, 17).
* ``scan2d`` — Δχ² on a grid of two parameters; contours per detector (Figs. 5, 9, 18).
* ``exclusion`` — (shape, strength) planes such as (mediator mass, coupling); for each value of the
  first parameter the smallest excluded value of the second, per detector and combined, for one or
  several scenario variants (Figs. 6, 7, 10–14, 16, 19–23), with optional overlays of other
  experiments' curves.

A file names the scenario and its options, the Asimov truth (default: every parameter at its
Standard-Model value), the grid, the statistics settings and the detectors. The package is split
in four modules:

* :mod:`~cevns.analyses.sensitivity.schema` — the file schema, and the
  :class:`SensitivityCompute` sub-model: exactly the fields a χ² grid depends on;
* :mod:`~cevns.analyses.sensitivity.compute` — :func:`chi2_grid`, a pure function of that
  sub-model that the scan layer runs tile by tile, and :func:`scan_chi2` (the scan store is keyed
  on the sub-model's digest, so presentation never changes it);
* :mod:`~cevns.analyses.sensitivity.plots` — the figures;
* :mod:`~cevns.analyses.sensitivity.run` — the registered runners that join them.
"""

from cevns.analyses.sensitivity import schema as _schema
from cevns.analyses.sensitivity.compute import (
    _PARSED,
    _grid_task,
    chi2_grid,
    compute_config,
    ngi_benchmark_case,
    scan_chi2,
)
from cevns.analyses.sensitivity.plots import plot_exclusion, plot_profile, plot_scan2d, tex_or
from cevns.analyses.sensitivity.run import run_exclusion, run_profile, run_scan2d
from cevns.analyses.sensitivity.schema import *  # noqa: F403 - the schema's public names

__all__ = [
    *_schema.__all__,
    "_PARSED",
    "_grid_task",
    "chi2_grid",
    "compute_config",
    "ngi_benchmark_case",
    "plot_exclusion",
    "plot_profile",
    "plot_scan2d",
    "run_exclusion",
    "run_profile",
    "run_scan2d",
    "scan_chi2",
    "tex_or",
]
