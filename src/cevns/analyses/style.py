"""The house figure style: one look for every cevns figure, applied without global state.

* :data:`STYLE_FILE` — the matplotlib style sheet (``cevns.mplstyle``): journal font sizes, ticks on
  all four sides with minor ticks, frameless legends, a colour-blind-safe cycle (Okabe & Ito,
  "Color Universal Design", 2008).
* :func:`styled` — context manager applying that style *temporarily* (``matplotlib.style.context``);
  the library never calls ``matplotlib.use`` or changes ``rcParams`` for good, so a notebook keeps
  its backend and settings after running an analysis.
* :func:`new_figure` — a :class:`matplotlib.figure.Figure` on an Agg canvas (no pyplot), one or two
  journal columns wide (:data:`SINGLE_COLUMN_IN` = 3.4 in, :data:`DOUBLE_COLUMN_IN` = 7.0 in),
  with fixed margins in inches (no layout engine: the layout costs nothing at save time);
  :func:`figure_legend` puts a shared legend in the room reserved above the panels.
* :func:`detector_style` — one colour, marker and dash pattern per detector across all figures;
  ``"combined"`` is a thick solid black line, distinct from every detector (C₃F₈ is purple, dashed).
* :func:`tex` — ASCII names in analysis files (``nu_mu``, ``theta_24``, ``mu_nu_e``, ``C3F8``,
  ``sigma_beta``, ``m4 = 0.5 mX``) as mathtext.
* :func:`place_legend` — a legend in a corner of the axes that covers no data, else outside.
* :func:`minor_ticks_as_marks` — while a figure is saved, unlabelled minor ticks are drawn as one
  marker line per axis side instead of one matplotlib Tick object each (same pixels, 3x faster
  first save of a six-panel log-log figure).
* :func:`major_ticks_in_view` — while a figure is saved, Tick objects are made only for the major
  locations inside the view (locators also return some beyond it; same pixels).
* :func:`canvas_class` — the Agg canvas of :func:`new_figure`: its renderers share one memo of
  parsed mathtext, so a tick label like ``$\\mathdefault{10^{-3}}$`` is parsed once per process
  instead of once per figure and resolution (same pixels).

The style is plain matplotlib; ``mplhep`` is not used: its styles reproduce the look of LHC
experiments (and pull in extra packages) while a phenomenology paper needs only journal sizes,
which a 50-line style sheet gives.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import numpy as np

#: the style sheet shipped with the package
STYLE_FILE = Path(__file__).with_name("cevns.mplstyle")
#: width of a single journal column [inch] (Phys. Rev.: 3 3/8 in)
SINGLE_COLUMN_IN = 3.4
#: width of a double (full-page) journal column [inch]
DOUBLE_COLUMN_IN = 7.0

#: Okabe–Ito colours (colour-blind safe); black is reserved for "combined" and totals
OKABE_ITO = {"black": "#000000", "orange": "#E69F00", "skyblue": "#56B4E9",
             "green": "#009E73", "yellow": "#F0E442", "blue": "#0072B2",
             "vermillion": "#D55E00", "purple": "#CC79A7"}

#: one style per detector, the same in every figure
DETECTOR_STYLES: dict[str, dict] = {
    "CsI": {"color": OKABE_ITO["orange"], "marker": "o", "linestyle": "-"},
    "Xe": {"color": OKABE_ITO["skyblue"], "marker": "s", "linestyle": (0, (5, 1.5))},
    "Ge": {"color": OKABE_ITO["green"], "marker": "^", "linestyle": (0, (5, 1.5, 1, 1.5))},
    "Si": {"color": OKABE_ITO["blue"], "marker": "v", "linestyle": (0, (1.2, 1.2))},
    "Ar": {"color": OKABE_ITO["vermillion"], "marker": "D", "linestyle": (0, (8, 2))},
    "C3F8": {"color": OKABE_ITO["purple"], "marker": "P",
             "linestyle": (0, (3, 1.2, 1, 1.2, 1, 1.2))},
    "combined": {"color": OKABE_ITO["black"], "marker": "*", "linestyle": "-"},
}
_EXTRA = [OKABE_ITO[c] for c in ("blue", "vermillion", "green", "purple", "orange", "skyblue")]
#: line widths: per-detector curves and the combined (or total) curve
LW_DETECTOR = 1.0
LW_COMBINED = 1.8
#: Drawing order of curves: the combination lies beneath the detectors' curves (matplotlib's
#: default for lines is 2), so that a detector that alone makes the combination (C₃F₈ for the
#: spin-dependent NGI) shows as its coloured dashes on the black line instead of vanishing under it.
Z_COMBINED = 1.9
Z_DETECTOR = 2.0

#: colours and dashes of curve families that are not detectors (variants of one analysis)
VARIANT_STYLES = [
    {"color": OKABE_ITO["blue"], "linestyle": "-"},
    {"color": OKABE_ITO["vermillion"], "linestyle": (0, (5, 1.5))},
    {"color": OKABE_ITO["green"], "linestyle": (0, (5, 1.5, 1, 1.5))},
    {"color": OKABE_ITO["purple"], "linestyle": (0, (1.2, 1.2))},
    {"color": OKABE_ITO["orange"], "linestyle": (0, (8, 2))},
    {"color": OKABE_ITO["skyblue"], "linestyle": (0, (3, 1.2, 1, 1.2, 1, 1.2))},
]

#: spectra: one colour per neutrino flavour
FLAVOUR_STYLES = {
    "numu": {"color": OKABE_ITO["blue"], "linestyle": "-"},
    "nue": {"color": OKABE_ITO["vermillion"], "linestyle": (0, (5, 1.5))},
    "numubar": {"color": OKABE_ITO["green"], "linestyle": (0, (5, 1.5, 1, 1.5))},
}
FLAVOUR_TEX = {"numu": r"prompt $\nu_\mu$", "nue": r"delayed $\nu_e$",
               "numubar": r"delayed $\bar\nu_\mu$"}


def detector_style(name: str, *, line: bool = True) -> dict:
    """Matplotlib keyword arguments for detector ``name`` (``"combined"`` included).

    ``line=True`` gives ``color``, ``linestyle``, ``linewidth`` and ``zorder`` (for curves and
    contours; the combination beneath the detectors, :data:`Z_COMBINED`);
    ``line=False`` gives ``color`` and ``marker`` (for points). Unknown names get a colour from the
    remaining palette, deterministically from the name.
    """
    base = DETECTOR_STYLES.get(name)
    if base is None:
        base = {"color": _EXTRA[sum(map(ord, name)) % len(_EXTRA)], "marker": "x",
                "linestyle": "-"}
    if not line:
        return {"color": base["color"], "marker": base["marker"]}
    if name == "combined":
        return {"color": base["color"], "linestyle": base["linestyle"],
                "linewidth": LW_COMBINED, "zorder": Z_COMBINED}
    return {"color": base["color"], "linestyle": base["linestyle"], "linewidth": LW_DETECTOR,
            "zorder": Z_DETECTOR}


def variant_style(index: int) -> dict:
    """Colour and dash pattern of the ``index``-th curve family of a figure."""
    return dict(VARIANT_STYLES[index % len(VARIANT_STYLES)])


# --- labels -------------------------------------------------------------------------------------

_GREEK = ("alpha", "beta", "gamma", "delta", "epsilon", "theta", "mu", "nu", "sigma", "tau", "chi")
_FL = {"e": "e", "mu": r"\mu", "tau": r"\tau"}
_SUBS: list[tuple[re.Pattern, object]] = [
    (re.compile(r"\banti-nu_(e|mu|tau)\b"), lambda m: rf"$\bar\nu_{_FL[m[1]]}$"),
    (re.compile(r"\bmu_nu_(e|mu|tau)\b"), lambda m: rf"$\mu_{{\nu_{_FL[m[1]]}}}$"),
    (re.compile(r"\bnu_(e|mu|tau)\b"), lambda m: rf"$\nu_{_FL[m[1]]}$"),
    (re.compile(r"\bsin2_2theta_?(\d\d)\b"), r"$\\sin^2 2\\theta_{\1}$"),
    (re.compile(r"\bsin2_theta_[wW]\b"), r"$\\sin^2\\theta_W$"),
    (re.compile(r"\b(" + "|".join(_GREEK) + r")_(" + "|".join(_GREEK) + r")\b"),
     r"$\\\1_\\\2$"),
    (re.compile(r"\b(" + "|".join(_GREEK) + r")_?(\d\d)\b"), r"$\\\1_{\2}$"),
    (re.compile(r"\b(" + "|".join(_GREEK) + r")_(\w)\b"), r"$\\\1_\2$"),
    (re.compile(r"\bR_n\b"), r"$R_n$"),
    (re.compile(r"\bm(\d)\b"), r"$m_\1$"),
    (re.compile(r"\bmX\b"), r"$m_X$"),
    (re.compile(r"\bg_X\b"), r"$g_X$"),
    (re.compile(r"\bC3F8\b"), r"C$_3$F$_8$"),
    (re.compile(r"\b([A-Z][a-z]?)(\d{2,3})\b"), r"$^{\2}$\1"),
    (re.compile(r"\bkeVnr\b"), r"keV$_\\mathrm{nr}$"),
]


def tex(text: str) -> str:
    """``text`` with the ASCII physics names used in analysis files written as mathtext.

    Text already containing ``$`` is returned unchanged (it is taken to be mathtext already).

    Example: ``"nu_mu disappearance (theta_24)"`` → ``r"$\\nu_\\mu$ disappearance ($\\theta_{24}$)"``.
    """
    if "$" in text:
        return text
    for pattern, repl in _SUBS:
        # substitute outside the math already produced, so that no pattern rewrites it again
        parts = re.split(r"(\$[^$]*\$)", text)
        text = "".join(p if p.startswith("$") else pattern.sub(repl, p) for p in parts)
    # "$m_4$ = 0.5 $m_X$" → one math run
    return re.sub(r"\$\s*=\s*([\d.]+)\s*\$", r" = \1\\,", text)


_GREEK_UNICODE = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "theta": "θ",
    "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν", "pi": "π", "rho": "ρ", "sigma": "σ",
    "tau": "τ", "phi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω", "Delta": "Δ", "Sigma": "Σ",
}
_SUPERSCRIPT = str.maketrans("0123456789-+", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺")
_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def plain_text(text: str) -> str:
    """A mathtext label as plain Unicode text, for captions and tables.

    Handles what the shipped labels use: ``$`` dropped, Greek letters, ``\\times`` (×),
    ``\\bar\\nu`` (ν̄), thin spaces, ``\\mathrm{…}``, superscripts of digits and signs
    (``10^{-5}`` → 10⁻⁵), subscripts of digits (``\\alpha_{11}`` → α₁₁); other subscripts
    keep their underscore, nested ones joined (``\\mu_{\\nu_\\mu}`` → μ_νμ). Text without
    ``$`` is returned unchanged.

    >>> plain_text(r"light vector ($B-L$): $g = 2\\times10^{-5}$, $m_V = 10$ MeV")
    'light vector (B−L): g = 2×10⁻⁵, m_V = 10 MeV'
    """
    if "$" not in text:
        return text

    def math(m: re.Match) -> str:
        t = m.group(1)
        t = re.sub(r"\\mathrm\{([^{}]*)\}", r"\1", t)
        t = re.sub(r"\\bar\s*\\nu", "ν̄", t)
        t = re.sub(r"\\([A-Za-z]+)",
                   lambda g: _GREEK_UNICODE.get(g[1], {"times": "×", "cdot": "·"}.get(g[1], g[1])),
                   t)
        t = t.replace(r"\,", " ").replace("-", "−")
        t = re.sub(r"\^\{([−+\d]+)\}|\^([−+\d])",
                   lambda g: (g[1] or g[2]).replace("−", "-").translate(_SUPERSCRIPT), t)
        t = re.sub(r"_\{(\d+)\}|_(\d)", lambda g: (g[1] or g[2]).translate(_SUBSCRIPT), t)
        while re.search(r"_\{[^{}]*\}", t):  # nested subscripts: μ_{ν_μ} → μ_νμ
            t = re.sub(r"_\{([^{}]*)\}", lambda g: "_" + g[1].replace("_", ""), t)
        return t

    return re.sub(r"\$([^$]*)\$", math, text)


def detector_label(name: str) -> str:
    """Legend label of a detector (``C3F8`` → C₃F₈ in mathtext)."""
    return tex(name)


# --- figures ------------------------------------------------------------------------------------


@contextmanager
def styled() -> Iterator[None]:
    """Apply the house style for the duration of the block (rcParams restored afterwards)."""
    import matplotlib.style

    with matplotlib.style.context(str(STYLE_FILE)):
        yield


#: fixed margins [inch]: left (y tick labels + label), right, bottom (x tick labels + label), top
MARGINS_IN = {"left": 0.50, "right": 0.16, "bottom": 0.38, "top": 0.06}
#: gaps between panels [inch]: horizontal (next panel's y labels), vertical (x labels + title)
GAPS_IN = {"w": 0.58, "h": 0.50}
#: height of one legend row and of a panel title [inch]
LEGEND_ROW_IN = 0.17
TITLE_IN = 0.20


def new_figure(nrows: int = 1, ncols: int = 1, *, width: str | float = "single",
               height: float | None = None, aspect: float = 0.72, legend_rows: int = 0,
               titles: bool = False, right_in: float | None = None, left_in: float | None = None,
               bottom_in: float | None = None, **subplot_kw):
    """A figure and its axes array on an Agg canvas, without pyplot, with fixed margins.

    The margins are fixed in inches (:data:`MARGINS_IN`, :data:`GAPS_IN`) rather than computed
    by a layout engine: tick labels and labels have known sizes in the house style, and a layout
    engine would measure every tick label of every axis again at each save (for the shipped
    figures that was half of the plotting time). :mod:`cevns.analyses.figcheck` verifies that no
    text overlaps another.

    Parameters
    ----------
    nrows, ncols : int
        Grid of axes.
    width : "single", "double" or float
        Journal column (3.4 in or 7.0 in) or a width in inches.
    height : float, optional
        Figure height [inch]; default from ``aspect`` (panel height / panel width).
    legend_rows : int
        Rows of a figure legend above the panels (room is reserved at the top).
    titles : bool
        Reserve room for panel titles.
    right_in : float, optional
        Right margin [inch] (e.g. for labels written right of the axes).
    **subplot_kw
        Passed to :meth:`Figure.subplots` (``sharex``, ``sharey``); ``squeeze`` is False.

    Returns
    -------
    (Figure, ndarray of Axes)
        Create and fill it inside :func:`styled` so that the axes get the house style.
    """
    from matplotlib.figure import Figure

    if isinstance(width, str):
        if width not in ("single", "double"):
            raise ValueError(f"width must be 'single', 'double' or inches, got {width!r}")
        w = SINGLE_COLUMN_IN if width == "single" else DOUBLE_COLUMN_IN
    else:
        w = float(width)
    m = dict(MARGINS_IN)
    for side, value in (("right", right_in), ("left", left_in), ("bottom", bottom_in)):
        if value is not None:  # wider tick labels (5-digit values, rotated category names)
            m[side] = value
    title = TITLE_IN if titles else 0.0
    top = m["top"] + legend_rows * LEGEND_ROW_IN + title
    panel_w = (w - m["left"] - m["right"] - (ncols - 1) * GAPS_IN["w"]) / ncols
    gap_h = GAPS_IN["h"] + title
    if height is None:
        height = top + m["bottom"] + nrows * panel_w * aspect + (nrows - 1) * gap_h
    panel_h = (height - top - m["bottom"] - (nrows - 1) * gap_h) / nrows
    if panel_w <= 0 or panel_h <= 0:
        raise ValueError(f"figure {w:g} × {height:g} in is too small for {nrows} × {ncols} panels")
    fig = Figure(figsize=(w, height))
    canvas_class()(fig)
    subplot_kw.setdefault("squeeze", False)
    axes = fig.subplots(nrows, ncols, **subplot_kw)
    fig.subplots_adjust(left=m["left"] / w, right=1 - m["right"] / w, bottom=m["bottom"] / height,
                        top=1 - top / height, wspace=GAPS_IN["w"] / panel_w,
                        hspace=gap_h / panel_h)
    return fig, axes


#: height of a ratio strip beneath a panel, as a fraction of the panel's own height (exclusion
#: items with ``ratio_panel``; Fig. 1's new-physics benchmarks)
RATIO_STRIP = 0.32


def ratio_strip(ax):
    """A strip beneath `ax` (taking :data:`RATIO_STRIP` of its height from the bottom), sharing
    its x axis; `ax` keeps its x ticks but loses their labels to the strip."""
    pos = ax.get_position()
    share = RATIO_STRIP / (1.0 + RATIO_STRIP)  # of the height the figure gave the panel
    gap = 0.017 * pos.height  # a narrow gap between the two: tick marks, no labels
    ax.set_position([pos.x0, pos.y0 + share * pos.height, pos.width, (1.0 - share) * pos.height])
    strip = ax.figure.add_axes([pos.x0, pos.y0, pos.width, share * pos.height - gap], sharex=ax)
    ax.tick_params(labelbottom=False)
    return strip


def ratio_range(ratios) -> tuple[float, float]:
    """The data range (lo, hi) of a ratio strip: the finite values of the arrays `ratios` and
    1, padded by a fifth of their span on each side, at least 1 ± 1 % (no magnified rounding),
    never below 0."""
    values = [np.asarray(r, dtype=float) for r in ratios]
    values = [v[np.isfinite(v)] for v in values]
    low = min([1.0, *(float(v.min()) for v in values if v.size)])
    high = max([1.0, *(float(v.max()) for v in values if v.size)])
    centre, half = 0.5 * (low + high), max(0.5 * (high - low), 0.01)
    return max(centre - 1.4 * half, 0.0), centre + 1.4 * half


def ratio_ticks(strip, lo: float, hi: float) -> None:
    """At most four round ticks (1, 2, 2.5 or 5 × 10ⁿ apart) inside the data range (lo, hi) of
    a linear ratio strip, written in full (no offset notation)."""
    from matplotlib.ticker import FixedLocator, MaxNLocator, ScalarFormatter

    ticks = [t for t in MaxNLocator(nbins=3, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
             if lo <= t <= hi]
    strip.yaxis.set_major_locator(FixedLocator(ticks))
    strip.yaxis.set_major_formatter(ScalarFormatter(useOffset=False))


def figure_legend(fig, handles, labels=None, ncols: int | None = None):
    """A legend above all panels, in the room reserved by ``new_figure(legend_rows=…)``."""
    ncols = ncols or len(handles)
    if labels is None:
        labels = [h.get_label() for h in handles]
    return fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 1.0),
                      ncols=ncols, borderaxespad=0.1, frameon=False)


# --- the canvas: mathtext parsed once per process, not once per figure -------------------------

#: how many parsed mathtext strings :func:`canvas_class` canvases keep (about 110 distinct
#: (string, dpi, font) keys in a whole ``cevns reproduce``; a parse result is a few kB)
MATHTEXT_CACHE_SIZE = 1024


@cache
def _mathtext_rc_keys() -> tuple[str, ...]:
    """The rcParams read while parsing mathtext that its font properties do not carry."""
    import matplotlib as mpl

    return tuple(sorted(k for k in mpl.rcParams if k.startswith("mathtext.")))


@cache
def _shared_parse():
    """``parse(s, dpi, prop, antialiased, rc, pid)``: matplotlib's vector mathtext parse (``dpi``
    in dots per inch, ``prop`` a FontProperties copy, ``rc`` the ``mathtext.*`` rcParams, ``pid``
    the process id), memoised on every input it depends on (an LRU of
    :data:`MATHTEXT_CACHE_SIZE`)."""
    import functools

    from matplotlib.mathtext import MathTextParser

    @functools.lru_cache(MATHTEXT_CACHE_SIZE)
    def parse(s, dpi, prop, antialiased, rc, pid):
        # rc and pid are part of the key only: parse reads these rcParams itself, and a parse
        # holds FreeType fonts, which a forked child must not share with its parent (their font
        # file's read offset is shared across fork; matplotlib empties its own font cache in a
        # forked child for the same reason), so a child parses again
        del rc, pid
        # a new parser each time: matplotlib's own cache is keyed on the parser but not on the
        # mathtext rcParams, so a long-lived parser could answer from before an rc change
        return MathTextParser("path").parse(s, dpi, prop, antialiased=antialiased)

    return parse


@cache
def canvas_class():
    """The Agg canvas of house figures: :class:`~matplotlib.backends.backend_agg.FigureCanvasAgg`
    whose renderers share one memo of parsed mathtext.

    matplotlib gives every renderer its own ``MathTextParser`` and keys its parse cache (50
    entries) on that parser, so every new figure — and every save at another dpi — parses each
    tick label (``$\\mathdefault{10^{-3}}$``) and axis label again with pyparsing, ≈ 8 ms each: 466
    parses for 110 distinct strings in ``cevns reproduce --quick``. Here the renderers of these
    canvases ask one memo keyed on the string, dpi, a copy of the font properties (family, size,
    style, math font set), antialiasing and the ``mathtext.*`` rcParams; a miss calls matplotlib's
    own parser, so the result (and the pixels) are matplotlib's. Nothing outside these canvases
    changes: other figures and matplotlib's own caches are untouched.
    """
    import matplotlib as mpl
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.mathtext import MathTextParser

    class SharedMathText(MathTextParser):
        """A vector ``MathTextParser`` answering from the shared memo."""

        def __init__(self):
            super().__init__("path")

        def parse(self, s, dpi=72, prop=None, *, antialiased=None):
            prop = prop.copy() if prop is not None else None
            if antialiased is None:
                antialiased = mpl.rcParams["text.antialiased"]
            rc = tuple(mpl.rcParams[k] for k in _mathtext_rc_keys())
            return _shared_parse()(s, dpi, prop, antialiased, rc, os.getpid())

    class HouseCanvas(FigureCanvasAgg):
        """Agg canvas whose renderers parse mathtext through :class:`SharedMathText`."""

        def get_renderer(self, *args, **kwargs):
            renderer = super().get_renderer(*args, **kwargs)
            if not isinstance(renderer.mathtext_parser, SharedMathText):
                renderer.mathtext_parser = SharedMathText()
            return renderer

    return HouseCanvas


# --- minor ticks: one marker line per axis side instead of one Tick object per tick ------------


def _in_view(axis, locs: np.ndarray) -> np.ndarray:
    """Mask of the tick locations matplotlib draws: inside the view interval (tolerance 1e-10)."""
    lo, hi = sorted(axis.get_view_interval())
    a, b = sorted(axis.get_transform().transform([lo, hi]))
    t = np.ma.filled(np.ma.masked_invalid(axis.get_transform().transform(locs)), np.nan)
    tol = (b - a) * 1e-10
    return (t >= a - tol) & (t <= b + tol)


def _labels(axis, which: str) -> tuple[np.ndarray, list[str]]:
    """The tick locations of ``axis`` that are drawn, and their labels, formatted as matplotlib
    formats them when drawing (all locations at once: formatters look at their neighbours)."""
    locs = np.asarray(axis.get_minorticklocs() if which == "minor" else axis.get_majorticklocs(),
                      dtype=float)
    if not len(locs):
        return locs, []
    formatter = axis.get_minor_formatter() if which == "minor" else axis.get_major_formatter()
    labels = formatter.format_ticks(locs)
    keep = _in_view(axis, locs)
    return locs[keep], [lab for lab, k in zip(labels, keep, strict=True) if k]


@cache
def _marks_class():
    """An :class:`~matplotlib.artist.Artist` drawing a list of lines (made once, on first use, so
    that importing this module does not import matplotlib)."""
    from matplotlib.artist import Artist

    class TickMarks(Artist):
        """The minor tick lines of one axis, each side a single marker line. It sits in the axes'
        artists (not its lines): a legend placed at ``"best"`` does not see it."""

        def __init__(self, lines, zorder: float):
            super().__init__()
            self.lines = lines
            self.set_zorder(zorder)
            self.set_clip_on(False)

        def draw(self, renderer):
            for line in self.lines:
                line.draw(renderer)

    return TickMarks


def _tick_marks(axis, locs: np.ndarray):
    """The artist drawing the minor ticks of ``axis`` at ``locs``: its two tick lines (bottom/top
    or left/right) as one :class:`~matplotlib.lines.Line2D` each, with every property of
    matplotlib's own minor tick (:meth:`Line2D.update_from`: marker, size, width, colour,
    transform)."""
    from matplotlib.lines import Line2D

    tick = axis.get_minor_ticks(1)[0]  # the template, as matplotlib makes it
    lines = []
    for side, template in ((0.0, tick.tick1line), (1.0, tick.tick2line)):
        if template.get_visible():
            line = Line2D([], [])
            line.update_from(template)
            line.set_figure(axis.get_figure(root=False))
            other = np.full(len(locs), side)
            line.set_data((locs, other) if axis.axis_name == "x" else (other, locs))
            lines.append(line)
    return _marks_class()(lines, axis.get_zorder())


def _markable_minor(axis) -> np.ndarray | None:
    """The minor locations of ``axis`` if its minor ticks can be drawn as plain marks: visible tick
    lines only (no grid line, no label text) and nothing placed by the minor labels; else None.

    matplotlib places the axis label and offset text below (left of) the union of the visible tick
    labels; an empty minor label adds a point at the labels' edge, which matters only where no
    major label with text is visible on that side.
    """
    from matplotlib.ticker import NullLocator

    if (axis.axes.name != "rectilinear"  # polar and 3D ticks turn with their position
            or not axis.get_visible() or not axis.axes.get_visible()
            or isinstance(axis.get_minor_locator(), NullLocator)):
        return None
    locs, labels = _labels(axis, "minor")
    if not len(locs):
        return None
    tick = axis.get_minor_ticks(1)[0]
    if tick.gridline.get_visible() or not tick.get_visible():
        return None
    shown = [tick.label1.get_visible(), tick.label2.get_visible()]
    if any(shown):
        if any(labels):
            return None  # labelled minor ticks (an axis spanning less than a decade)
        _, major_labels = _labels(axis, "major")
        mtick = axis.get_major_ticks(1)[0]
        for side, on in enumerate(shown):
            label = mtick.label1 if side == 0 else mtick.label2
            if on and not (label.get_visible() and any(major_labels)):
                return None
    return locs


@contextmanager
def minor_ticks_as_marks(fig) -> Iterator[None]:
    """Draw the minor ticks of ``fig`` as one marker line per axis side while the block runs.

    matplotlib makes every tick an object of three lines and two texts; a log axis of a six-panel
    figure has ~30 minor ticks on each of its axes, and creating them was 2/3 of the time of saving
    such a figure. Inside the block the minor locator of each axis whose minor ticks carry no text
    is a :class:`~matplotlib.ticker.NullLocator` and its locations (the same locator's, the same
    filtering as :meth:`matplotlib.axis.Axis.get_minorticklocs`) are drawn by two marker lines with
    the minor tick's properties; the pixels are the same. On exit the locators are put back and the
    marks removed, so the figure is as before.
    """
    from matplotlib.ticker import NullLocator

    plans = []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            locs = _markable_minor(axis)
            if locs is not None:
                plans.append((axis, axis.minor.locator, _tick_marks(axis, locs)))
    null = NullLocator()
    try:
        for axis, _, marks in plans:
            axis.minor.locator = null  # shared axes share the Ticker: done for all first
            axis.axes.add_artist(marks)
            marks.set_clip_on(False)  # add_artist clips to the axes patch; ticks are not clipped
        yield
    finally:
        for axis, locator, marks in reversed(plans):
            if marks.axes is not None:
                marks.remove()
            axis.minor.locator = locator
            axis.stale = True


# --- major ticks: only those in view are made --------------------------------------------------


@cache
def _in_view_classes():
    """A locator giving only the in-view locations of another, and a formatter labelling them as
    the other formatter labels all of them (made on first use: no matplotlib import here)."""
    from matplotlib.ticker import Formatter, Locator

    class InViewLocator(Locator):
        """The locations of ``base`` that the axis draws (inside the view interval)."""

        def __init__(self, base, axis):
            self.base, self._axis_of = base, axis
            self.full = np.empty(0)

        def __call__(self):
            self.full = np.asarray(self.base(), dtype=float)
            return self.full[_in_view(self._axis_of, self.full)] if len(self.full) else self.full

        def tick_values(self, vmin, vmax):
            return self.base.tick_values(vmin, vmax)

        def nonsingular(self, v0, v1):  # autoscaling asks the locator (log axes differ)
            return self.base.nonsingular(v0, v1)

        def view_limits(self, vmin, vmax):
            return self.base.view_limits(vmin, vmax)

    class InViewFormatter(Formatter):
        """Labels of the in-view locations, formatted with all of ``base``'s locations in view
        (formatters choose decimals and offsets from their neighbours)."""

        def __init__(self, base, locator):
            self.base, self.locator = base, locator

        def format_ticks(self, values):
            full = self.locator.full
            keep = _in_view(self.locator._axis_of, full) if len(full) else np.zeros(0, bool)
            if not np.array_equal(np.asarray(values, dtype=float), full[keep]):
                return self.base.format_ticks(values)  # not the locations just made
            labels = self.base.format_ticks(full)
            return [lab for lab, k in zip(labels, keep, strict=True) if k]

        def __call__(self, x, pos=None):
            return self.base(x, pos)

        def get_offset(self):
            return self.base.get_offset()

        def format_data(self, value):
            return self.base.format_data(value)

        def format_data_short(self, value):
            return self.base.format_data_short(value)

        def fix_minus(self, s):
            return self.base.fix_minus(s)

    return InViewLocator, InViewFormatter


@contextmanager
def major_ticks_in_view(fig) -> Iterator[None]:
    """While the block runs, make Tick objects only for the major locations inside the view.

    Locators return locations beyond the view (a log axis one decade each side, a linear one a
    step), and matplotlib makes a Tick object (three lines, two texts, ~1 ms) for each before
    dropping those outside the view at draw time: 258 of 1 143 major ticks in
    ``cevns reproduce --quick``. Inside the block the major locator of every rectilinear axis
    returns only the locations matplotlib draws (the same view test as ``Axis._update_ticks``)
    and the formatter labels them from all locations, as before; the pixels are the same. On exit
    locator and formatter are put back.
    """
    from matplotlib.ticker import NullLocator

    locator_cls, formatter_cls = _in_view_classes()
    plans, seen = [], set()
    for ax in fig.axes:
        if ax.name != "rectilinear":
            continue
        for axis in (ax.xaxis, ax.yaxis):
            ticker = axis.major  # shared axes share it: wrap it once
            if id(ticker) in seen or isinstance(ticker.locator, NullLocator):
                continue
            seen.add(id(ticker))
            plans.append((ticker, ticker.locator, ticker.formatter, axis))
    try:
        for ticker, locator, formatter, axis in plans:
            wrapped = locator_cls(locator, axis)
            ticker.locator = wrapped
            ticker.formatter = formatter_cls(formatter, wrapped)
        yield
    finally:
        for ticker, locator, formatter, axis in reversed(plans):
            ticker.locator = locator
            ticker.formatter = formatter
            axis.stale = True


def level_lines(ax, x, y, z, level: float, *, color, linewidth: float, linestyle="-",
                zorder: float | None = None):
    """Draw the contour line z = ``level`` of ``z`` (shape (len(y), len(x))) on ``ax``.

    ``zorder``: the drawing order (default: matplotlib's for lines, 2).

    The lines of ``ax.contour(x, y, z, levels=[level], ...)``: the same contour generator
    (contourpy's ``mpl2014`` with corner masking, matplotlib's default; non-finite values masked)
    in data coordinates, drawn as one ``LineCollection`` that does not change the data limits.
    A ``ContourSet`` also sets up colour-map, norm and label machinery that a single level does
    not use: about 1 ms of CPU per line more (``benchmarks/bench_level_lines.py``: 42 lines of a
    six-panel figure built in 0.05 instead of 0.10 s, the PNG identical pixel for pixel), i.e.
    ≈ 0.3 s over the 263 lines of ``cevns reproduce``. Returns the collection.
    """
    import contourpy
    from matplotlib.collections import LineCollection

    zz = np.ma.masked_invalid(np.asarray(z, dtype=float))
    gen = contourpy.contour_generator(np.asarray(x, dtype=float), np.asarray(y, dtype=float), zz,
                                      name="mpl2014", corner_mask=True,
                                      line_type=contourpy.LineType.SeparateCode)
    lines = [seg for seg in gen.lines(float(level))[0] if len(seg)]  # vertices; codes unused
    coll = LineCollection(lines, colors=[color], linewidths=linewidth, linestyles=[linestyle],
                          zorder=Z_DETECTOR if zorder is None else zorder)
    ax.add_collection(coll, autolim=False)
    return coll


# --- geometry: what a legend may cover ------------------------------------------------------------


def data_points_display(ax) -> np.ndarray:
    """Display coordinates (pixels) of every plotted data vertex of ``ax``.

    Lines, step patches (``stairs``) and collections (contours, scatter) are included; reference
    lines drawn in axes coordinates (``axhline``) count only where they are: at their vertices.
    Points outside the axes box are dropped.
    """
    pts = []
    for line in ax.get_lines():
        if not line.get_visible():
            continue
        xy = np.asarray(line.get_xydata(), dtype=float)
        if xy.size:
            pts.append(line.get_transform().transform(_dense(xy)))
    for patch in ax.patches:
        if not patch.get_visible():
            continue
        path = patch.get_path()
        if len(path.vertices):
            pts.append(patch.get_transform().transform(_dense(path.vertices)))
    for coll in ax.collections:
        if not coll.get_visible():
            continue
        trans = coll.get_transform()
        offsets = coll.get_offsets()
        paths = coll.get_paths()
        if len(offsets) and len(paths) == 1 and len(paths[0].vertices) <= 8:  # markers
            pts.append(coll.get_offset_transform().transform(np.asarray(offsets, dtype=float)))
            continue
        for path in paths:
            if len(path.vertices):
                pts.append(trans.transform(_dense(np.asarray(path.vertices, dtype=float))))
    if not pts:
        return np.empty((0, 2))
    xy = np.concatenate(pts)
    xy = xy[np.all(np.isfinite(xy), axis=1)]
    box = ax.get_window_extent()
    inside = ((xy[:, 0] >= box.x0 - 0.5) & (xy[:, 0] <= box.x1 + 0.5)
              & (xy[:, 1] >= box.y0 - 0.5) & (xy[:, 1] <= box.y1 + 0.5))
    return xy[inside]


def _dense(xy: np.ndarray, n: int = 8) -> np.ndarray:
    """Vertices plus ``n`` points on every segment (so that a long straight segment counts)."""
    xy = np.asarray(xy, dtype=float)
    if len(xy) < 2:
        return xy
    t = np.linspace(0.0, 1.0, n, endpoint=False)[1:, None, None]
    a, b = xy[:-1], xy[1:]
    mids = (a + t * (b - a)).reshape(-1, 2)
    return np.concatenate([xy, mids])


def points_in_bbox(xy: np.ndarray, bbox, pad: float = 0.0) -> int:
    """How many display points lie inside ``bbox`` (shrunk by ``pad`` pixels)."""
    if not len(xy):
        return 0
    return int(np.count_nonzero((xy[:, 0] > bbox.x0 + pad) & (xy[:, 0] < bbox.x1 - pad)
                                & (xy[:, 1] > bbox.y0 + pad) & (xy[:, 1] < bbox.y1 - pad)))


_CORNERS = ("upper right", "upper left", "lower left", "lower right", "center right",
            "center left", "upper center", "lower center")


#: matplotlib's anchor (compass point) of each legend location in :data:`_CORNERS`
_ANCHORS = {"upper right": "NE", "upper left": "NW", "lower left": "SW", "lower right": "SE",
            "center right": "E", "center left": "W", "upper center": "N", "lower center": "S"}


def _corner_boxes(leg, renderer) -> list:
    """The display boxes of ``leg`` at each location of :data:`_CORNERS`, from one layout.

    A location moves the legend box, it does not change its size, so the box is laid out once and
    anchored in the legend's parent box shrunk by ``borderaxespad`` as matplotlib anchors it (the
    legend layout was 2/3 of the time of :func:`place_legend` when made for every corner).
    """
    from matplotlib.transforms import Bbox

    leg.set_loc(_CORNERS[0])
    size = leg.get_window_extent(renderer)
    pad = leg.borderaxespad * renderer.points_to_pixels(leg.prop.get_size_in_points())
    container = leg.get_bbox_to_anchor().padded(-pad)
    box = Bbox.from_bounds(0.0, 0.0, size.width, size.height)
    return [box.anchored(_ANCHORS[loc], container) for loc in _CORNERS]


def corner_note(ax, text: str, **kwargs):
    """A short note in the first corner of ``ax`` where it covers no data, text or legend (a
    handle-less legend box, :func:`place_legend`'s search); None, and nothing drawn, if no corner
    is free — the caller keeps the note elsewhere (the item's notes file). Call it after the
    data, limits, scales and the axes' own legend are set."""
    from matplotlib.legend import Legend

    fig = ax.get_figure(root=True)
    if fig.get_layout_engine() is not None:
        fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    xy = data_points_display(ax)
    taken = [t.get_window_extent(renderer) for t in ax.texts if t.get_visible() and t.get_text()]
    if ax.get_legend() is not None:
        taken.append(ax.get_legend().get_window_extent(renderer))
    note = Legend(ax, [], [], title=text, frameon=False, borderaxespad=0.3,
                  title_fontsize=kwargs.pop("fontsize", 6), **kwargs)
    note._legend_box.align = "left"  # several lines read from the left
    for loc, box in zip(_CORNERS, _corner_boxes(note, renderer), strict=True):
        if points_in_bbox(xy, box) == 0 and not any(box.overlaps(t) for t in taken):
            note.set_loc(loc)
            ax.add_artist(note)
            return note
    return None


def place_legend(ax, handles=None, labels=None, *, outside: str = "above", **kwargs):
    """Put the legend of ``ax`` in the first corner where it covers no data or text; else outside.

    Call it after the data, limits and scales are set. If no corner is free, the legend goes
    ``outside`` the axes: ``"above"`` (the figure grows at the top to make room) or ``"right"``.
    Returns the legend.
    """
    fig = ax.get_figure(root=True)
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    if fig.get_layout_engine() is not None:
        fig.draw_without_rendering()  # positions are final only after the layout
    renderer = fig.canvas.get_renderer()
    xy = data_points_display(ax)
    texts = [t.get_window_extent(renderer) for t in ax.texts if t.get_visible() and t.get_text()]
    leg = ax.legend(handles, labels, **kwargs)
    for loc, box in zip(_CORNERS, _corner_boxes(leg, renderer), strict=True):
        if points_in_bbox(xy, box) == 0 and not any(box.overlaps(t) for t in texts):
            leg.set_loc(loc)
            return leg
    leg.remove()
    ncols = kwargs.pop("ncols", 1 if outside == "right" else min(4, len(handles)))
    if outside == "right":
        return ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                         ncols=ncols, **kwargs)
    # above the axes: make room at the top of the figure for the legend's height
    leg = ax.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.0),
                    ncols=ncols, borderaxespad=0.2, **kwargs)
    need = leg.get_window_extent(renderer).height / fig.dpi + 0.04  # inch
    height = fig.get_figheight()
    sp = fig.subplotpars
    room = (1 - sp.top) * height
    if room < need + MARGINS_IN["top"]:
        fig.set_figheight(height + need)
        scale = height / (height + need)
        fig.subplots_adjust(bottom=sp.bottom * scale, top=sp.top * scale)
    return leg
