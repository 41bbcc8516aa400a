"""``fill_excluded`` of scan2d items (Figs. 9, 18): the region above the last level is shaded.

The expected region is the definition itself (Δχ² above the 90 % C.L. level for 2 dof, 4.605),
checked on a synthetic Δχ² grid through the plotting function that ``cevns reproduce`` uses.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from matplotlib.collections import PathCollection
from matplotlib.contour import ContourSet
from matplotlib.path import Path as MplPath

from cevns.analyses import shipped_analysis
from cevns.analyses.base import RunOptions
from cevns.analyses.sensitivity.plots import plot_scan2d


def _draw(fill: bool, tmp_path):
    an = shipped_analysis("fig9").replace(fill_excluded=fill, per_detector=False)
    x = np.geomspace(1e-3, 1.0, 40)
    y = np.geomspace(1e-2, 1e2, 30)
    # Δχ² grows with sin²2θ: excluded to the right of x = 0.1 at every Δm²
    delta = np.broadcast_to(4.605 * (x / 0.1) ** 2, (y.size, x.size)).T.copy()
    variant = an.variants[0]
    grids = [(variant, "combined", SimpleNamespace(delta_chi2=delta))]
    figures = []
    options = RunOptions(on_figure=lambda stem, fig: figures.append(fig))
    plot_scan2d(an, x, y, [(None, variant)], grids, tmp_path, options)
    return figures[0]


def _filled_sets(fig):
    return [c for ax in fig.axes for c in ax.get_children()
            if isinstance(c, (ContourSet, PathCollection)) and getattr(c, "filled", False)]


def test_the_shipped_oscillation_items_shade_the_excluded_region():
    assert shipped_analysis("fig9").fill_excluded and shipped_analysis("fig18").fill_excluded
    assert not shipped_analysis("fig5").fill_excluded  # measurement contours: nothing shaded


def test_the_shaded_region_is_where_delta_chi2_is_above_the_level(tmp_path):
    filled = _filled_sets(_draw(True, tmp_path))
    assert len(filled) == 1
    paths = [p for p in filled[0].get_paths() if len(p.vertices)]
    inside = lambda px, py: any(p.contains_point((px, py)) for p in paths)  # noqa: E731
    assert inside(0.5, 1.0) and inside(0.2, 50.0)       # Δχ² = 115, 18: excluded
    assert not inside(0.05, 1.0) and not inside(0.003, 0.1)  # Δχ² = 1.2, 0.004: allowed
    assert all(isinstance(p, MplPath) for p in paths)
    assert not _filled_sets(_draw(False, tmp_path))


def test_the_shaded_region_and_its_boundary_have_one_legend_entry(tmp_path):
    """The region and the line around it are one thing: one legend entry (a filled patch with
    the boundary's colour as its edge), not a patch and a line naming the same boundary."""
    from matplotlib.patches import Patch

    fig = _draw(True, tmp_path)
    (legend,) = fig.legends
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels == ["excluded, 90 % C.L. (2 dof)"], labels
    (patch,) = [h for h in legend.legend_handles if isinstance(h, Patch)]
    assert patch.get_edgecolor()[:3] == (0.0, 0.0, 0.0) and patch.get_facecolor()[3] < 0.5
