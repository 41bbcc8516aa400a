"""Minor ticks drawn as marker lines (``style.minor_ticks_as_marks``, used by ``save_figure``):
the PNG is pixel for pixel the one matplotlib draws with its own Tick objects, and the figure is
left as it was."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from cevns.analyses.style import minor_ticks_as_marks, new_figure, styled


def _png(fig, marks: bool, in_view: bool = False) -> np.ndarray:
    """The figure saved as PNG pixels, with the minor ticks drawn as marks (`marks`) and only the
    major ticks in view built (`in_view`), or as matplotlib draws them."""
    from contextlib import ExitStack

    from cevns.analyses.style import major_ticks_in_view

    buf = io.BytesIO()
    with styled(), ExitStack() as stack:
        if marks:
            stack.enter_context(minor_ticks_as_marks(fig))
        if in_view:
            stack.enter_context(major_ticks_in_view(fig))
        fig.savefig(buf, format="png", dpi=110)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())))


def _panels(ax, kind: str) -> None:
    x = np.logspace(-1, 3, 40)
    ax.plot(x, 1e-3 * np.sqrt(x), label="curve")
    if kind == "loglog":  # many decades: ~30 unlabelled minor ticks per axis
        ax.set(xscale="log", yscale="log", xlim=(1e-1, 1e3), ylim=(1e-6, 1e-1))
    elif kind == "short-log":  # less than a decade: matplotlib labels the minor ticks
        ax.set(xscale="log", xlim=(2.0, 9.0), ylim=(0, 0.01))
    elif kind == "linear":
        ax.set(xlim=(0, 1000), ylim=(0, 0.04))
    elif kind == "no-major-label":  # tick labels switched off: nothing to place
        ax.set(xscale="log", xlim=(1e-1, 1e3))
        ax.tick_params(labelbottom=False, labelleft=False)
    elif kind == "minor-grid":
        ax.set(xscale="log", xlim=(1e-1, 1e3))
        ax.grid(which="minor", lw=0.3)
    ax.set_xlabel(r"$m_X$ [MeV]")
    ax.set_ylabel(r"$g_X$")
    ax.set_title(kind)


def _figure(kinds, **kw):
    with styled():
        fig, axes = new_figure(2, 3, width="double", legend_rows=1, titles=True, **kw)
        for ax, kind in zip(axes.flat, kinds, strict=True):
            _panels(ax, kind)
            ax.legend()  # loc="best": must not see the marks
    return fig


KINDS = ["loglog", "short-log", "linear", "no-major-label", "minor-grid", "loglog"]


@pytest.mark.parametrize("share", [{}, {"sharex": True, "sharey": True}])
def test_marks_give_the_same_pixels_as_matplotlib_ticks(share):
    kinds = ["loglog"] * 6 if share else KINDS
    reference = _png(_figure(kinds, **share), marks=False)
    fig = _figure(kinds, **share)
    assert np.array_equal(_png(fig, marks=True), reference)
    assert np.array_equal(_png(fig, marks=False), reference)  # and the figure is as before


def test_the_figure_is_restored_and_labelled_minor_ticks_are_left_to_matplotlib():
    fig = _figure(KINDS)
    axes = fig.axes
    before = [(a.xaxis.get_minor_locator(), a.yaxis.get_minor_locator()) for a in axes]
    children = [list(a.get_children()) for a in axes]
    with styled(), minor_ticks_as_marks(fig):
        replaced = {(i, name) for i, a in enumerate(axes)
                    for name, axis in (("x", a.xaxis), ("y", a.yaxis))
                    if type(axis.get_minor_locator()).__name__ == "NullLocator"}
    # the log-log panels are replaced; labelled minor ticks, tick labels switched off (the axis
    # label would move) and a minor grid keep matplotlib's Tick objects
    assert {(0, "x"), (0, "y"), (5, "x"), (5, "y")} <= replaced
    assert not {(1, "x"), (3, "x"), (4, "x")} & replaced
    assert [(a.xaxis.get_minor_locator(), a.yaxis.get_minor_locator()) for a in axes] == before
    assert [list(a.get_children()) for a in axes] == children


def _offset_figure():
    """Linear axes whose labels need an offset / order of magnitude, and a reversed axis."""
    with styled():
        fig, axes = new_figure(1, 3, width="double")
        x = np.linspace(0, 1, 30)
        axes[0, 0].plot(1000.0 + 1e-3 * x, 1e-5 * x)  # offset text, ×10⁻⁵
        axes[0, 0].set(xlim=(1000.0002, 1000.0009), ylim=(1.3e-6, 8.7e-6))
        axes[0, 1].plot(x, x)
        axes[0, 1].set(xlim=(0.93, 0.07), ylim=(0.013, 0.87))  # reversed, edges off the steps
        axes[0, 2].plot(x + 0.5, x)  # autoscaled at draw time
        axes[0, 2].set_yscale("log")
        for ax in axes.flat:
            ax.set_xlabel("x [m]")
            ax.set_ylabel("y [m]")
    return fig


@pytest.mark.parametrize("make", ["log", "shared", "offset"])
def test_major_ticks_in_view_give_the_same_pixels(make):
    from cevns.analyses.style import major_ticks_in_view

    def build():
        if make == "log":
            return _figure(KINDS)
        if make == "shared":
            return _figure(["loglog"] * 6, sharex=True, sharey=True)
        return _offset_figure()

    reference = _png(build(), marks=True, in_view=False)
    fig = build()
    assert np.array_equal(_png(fig, marks=True, in_view=True), reference)
    assert np.array_equal(_png(fig, marks=True, in_view=False), reference)  # put back as found
    locators = [(a.xaxis.get_major_locator(), a.yaxis.get_major_formatter()) for a in fig.axes]
    with styled(), major_ticks_in_view(fig):
        pass
    assert [(a.xaxis.get_major_locator(), a.yaxis.get_major_formatter())
            for a in fig.axes] == locators


def test_major_ticks_in_view_make_fewer_tick_objects():
    fig = _figure(["loglog"] * 6)
    _png(fig, marks=True, in_view=True)
    n_in_view = sum(len(a.xaxis.majorTicks) for a in fig.axes)
    fig = _figure(["loglog"] * 6)
    _png(fig, marks=True, in_view=False)
    assert n_in_view < sum(len(a.xaxis.majorTicks) for a in fig.axes)
