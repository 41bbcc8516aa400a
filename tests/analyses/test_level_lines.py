"""cevns.analyses.style.level_lines: the lines of ``ax.contour`` at one level, drawn cheaply."""

from __future__ import annotations

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402

from cevns.analyses.style import level_lines  # noqa: E402


def _contour_lines(ax, x, y, z, level):
    """Vertices of ``ax.contour``'s one path per level and its number of separate lines."""
    cs = ax.contour(x, y, z, levels=[level])
    paths = [p for p in cs.get_paths() if len(p.vertices)]
    n_lines = sum(int(np.sum(p.codes == p.MOVETO)) for p in paths)
    return np.concatenate([p.vertices for p in paths]), n_lines


@pytest.mark.parametrize("with_nan", [False, True])
def test_same_lines_as_matplotlib_contour(with_nan):
    """Reference: matplotlib's own ``ax.contour`` on the same grid (its default generator, with
    non-finite values masked): the same vertices and the same lines, on a field with closed
    loops and open lines, log-spaced x, and optionally a hole of NaN."""
    x = np.geomspace(1e-2, 1e2, 61)
    y = np.linspace(-3.0, 3.0, 47)
    gx, gy = np.meshgrid(np.log10(x), y)
    z = np.exp(-((gx - 1) ** 2 + gy**2)) + np.exp(-((gx + 1) ** 2 + (gy - 1) ** 2)) + 0.05 * gy
    if with_nan:
        z[20:24, 30:33] = np.nan
    fig = Figure()
    ax = fig.add_subplot()
    for level in (0.3, 0.5, 0.8):
        want, n_lines = _contour_lines(ax, x, y, z, level)
        coll = level_lines(ax, x, y, z, level, color="k", linewidth=1.0, linestyle="--")
        got = np.concatenate([p.vertices for p in coll.get_paths()])
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
        assert len(coll.get_paths()) == n_lines


def test_styles_and_limits():
    x, y = np.linspace(0, 1, 11), np.linspace(0, 2, 21)
    z = np.add.outer(y, x)
    fig = Figure()
    ax = fig.add_subplot()
    ax.set_xlim(0.2, 0.4)
    ax.set_ylim(0.1, 0.3)
    coll = level_lines(ax, x, y, z, 1.0, color="C1", linewidth=2.5, linestyle=":")
    assert ax.get_xlim() == (0.2, 0.4) and ax.get_ylim() == (0.1, 0.3)  # limits untouched
    assert coll.get_linewidth()[0] == 2.5
    assert matplotlib.colors.same_color(coll.get_edgecolor()[0], "C1")
    # no crossing: an empty collection, not an error
    assert len(level_lines(ax, x, y, z, 10.0, color="k", linewidth=1).get_paths()) == 0


def test_zorder_is_passed_on():
    """The drawing order given is the collection's; without one it is matplotlib's default for
    lines (2), as for ``ax.contour``'s lines."""
    ax = Figure().subplots()
    x = y = np.linspace(-1, 1, 11)
    z = x[None, :] ** 2 + y[:, None] ** 2
    assert level_lines(ax, x, y, z, 0.5, color="k", linewidth=1, zorder=1.9).get_zorder() == 1.9
    assert level_lines(ax, x, y, z, 0.5, color="k", linewidth=1).get_zorder() == 2
