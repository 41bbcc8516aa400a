"""House canvases share one memo of parsed mathtext (``style.canvas_class``): the PNG is pixel for
pixel the one a plain Agg canvas draws, a second figure with the same labels parses nothing again,
the memo key follows the ``mathtext.*`` rcParams, and figures on other canvases are untouched."""

from __future__ import annotations

import io

import matplotlib as mpl
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.mathtext import MathTextParser
from PIL import Image

from cevns.analyses.style import _shared_parse, canvas_class, new_figure, styled


def _figure(plain: bool, label: str = r"$m_X$ [MeV]"):
    with styled():
        fig, axes = new_figure(1, 2, width="double", legend_rows=1)
        if plain:
            FigureCanvasAgg(fig)  # matplotlib's own canvas: its own MathTextParser per renderer
        x = np.logspace(-1, 3, 40)
        for ax, yscale in zip(axes.flat, ("log", "linear"), strict=True):
            ax.plot(x, 1e-3 * np.sqrt(x), label=r"$\bar\nu_\mu$ ($\theta_{24}$)")
            ax.set(xscale="log", yscale=yscale, xlim=(1e-1, 1e3))
            ax.set_xlabel(label)
            ax.set_ylabel(r"$\Delta\chi^2$")
            ax.legend()
    return fig


def _png(fig, dpi: int) -> np.ndarray:
    buf = io.BytesIO()
    with styled():
        fig.savefig(buf, format="png", dpi=dpi)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())))


def test_house_canvas_draws_the_same_pixels_as_a_plain_agg_canvas():
    fig = _figure(plain=False)
    assert isinstance(fig.canvas, canvas_class())
    for dpi in (110, 200, 110):  # at two resolutions, and again from the memo
        assert np.array_equal(_png(fig, dpi), _png(_figure(plain=True), dpi))


def test_a_second_figure_parses_no_label_again():
    _png(_figure(plain=False, label=r"$m_4$ [keV] (memo test)"), 110)
    misses = _shared_parse().cache_info().misses
    _png(_figure(plain=False, label=r"$m_4$ [keV] (memo test)"), 110)
    assert _shared_parse().cache_info().misses == misses


def test_the_memo_key_follows_the_mathtext_rcparams():
    # the memo holds these labels parsed with the default rcParams; after an rc change a new
    # figure must not be drawn from those entries (matplotlib's own cache, keyed on a parser
    # that lives as long as its renderer, does not look at these rcParams)
    dejavu = _png(_figure(plain=False), 110)
    with mpl.rc_context({"mathtext.default": "rm"}):  # upright math letters: other glyphs
        upright = _png(_figure(plain=False), 110)
        assert np.array_equal(upright, _png(_figure(plain=True), 110))
    assert not np.array_equal(upright, dejavu)
    assert np.array_equal(_png(_figure(plain=False), 110), dejavu)


def test_other_figures_and_matplotlib_keep_their_own_parser():
    from matplotlib.figure import Figure

    fig = Figure()
    canvas = FigureCanvasAgg(fig)
    assert type(canvas.get_renderer().mathtext_parser) is MathTextParser
    assert MathTextParser.parse.__qualname__ == "MathTextParser.parse"  # not patched


def test_a_house_figure_still_pickles():
    import pickle

    fig = _figure(plain=False)
    _png(fig, 110)
    again = pickle.loads(pickle.dumps(fig))  # matplotlib drops the canvas when pickling
    assert [ax.get_xlabel() for ax in again.axes] == [ax.get_xlabel() for ax in fig.axes]


def test_a_forked_child_parses_again(monkeypatch):
    """A parse holds FreeType fonts whose font file shares its read offset with the parent after
    a fork: a child (another process id) must not draw from the parent's entries. (Regression:
    two items drawn in forked pool workers failed with FreeType's 'invalid outline'.)"""
    label = r"$m_4$ [keV] (fork test)"
    _png(_figure(plain=False, label=label), 110)
    misses = _shared_parse().cache_info().misses
    monkeypatch.setattr("cevns.analyses.style.os.getpid", lambda: -1)  # as in a child
    _png(_figure(plain=False, label=label), 110)
    assert _shared_parse().cache_info().misses > misses


def test_forked_workers_draw_house_figures():
    """Figures drawn in parallel by forked children of a process that has drawn the same labels
    are pixel for pixel the parent's."""
    import multiprocessing

    parent = _png(_figure(plain=False), 110)
    with multiprocessing.get_context("fork").Pool(2) as pool:
        children = pool.map(_draw_in_child, range(4))
    for png in children:
        assert np.array_equal(png, parent)


def _draw_in_child(_):
    return _png(_figure(plain=False), 110)
