"""``ratio_panel`` of exclusion items (Appendix B): a strip beneath each panel with every variant's
limit divided by the first variant's, for the same detector.

The expected ratios come from the construction of synthetic Δχ² grids whose limits are known in
closed form (Δχ² = level · (g / g*(m))², so the limit is g*(m)), drawn through the plotting
function that ``cevns reproduce`` uses; the layout rules are checked on the shipped files.
"""

from __future__ import annotations

import numpy as np
import pytest

from cevns.analyses import shipped_analysis
from cevns.analyses.base import RunOptions
from cevns.analyses.sensitivity.plots import plot_exclusion
from cevns.errors import ConfigError
from cevns.stats import exclusion_curve, level_value


def test_the_appendix_items_draw_ratio_strips():
    for item in ("appB1", "appB2", "appB3"):
        assert shipped_analysis(item).ratio_panel, item
    assert shipped_analysis("appB3").panels == "per-detector"
    assert not shipped_analysis("fig16").ratio_panel


@pytest.mark.parametrize(("item", "changes", "match"), [
    ("fig16", {"ratio_panel": True}, "panels = 'per-variant' each panel holds one"),
    ("fig11", {"ratio_panel": True}, "cannot be combined with secondary_x"),
    ("appB3", {"panels": "per-variant"}, "panels = 'per-variant' each panel holds one"),
    ("appB3", {"panels": "single"}, "mix their ratios"),
    ("appB3", {"per_detector": False, "stats": {"combine": True}},
     "per_detector = false keeps only the combined"),
    # nothing to draw at all: only the combination, and no combination computed
    ("appB3", {"per_detector": False}, "draws only the combined curve, but stats.combine = false"),
    ("appB2", {"variants": ()}, "it needs two or more"),
])
def test_layouts_that_cannot_show_ratios_are_refused(item, changes, match):
    with pytest.raises(ConfigError, match=match):
        shipped_analysis(item).replace(**changes)


def _limit(mass, factor):
    """The synthetic limit g*(m): flat below 10 MeV, ∝ m above (a heavy mediator), × factor."""
    return factor * 1e-5 * np.maximum(1.0, mass / 10.0)


def _draw(tmp_path, factors, item="appB3"):
    an = shipped_analysis(item)
    level = level_value(an.level)
    x = np.geomspace(0.01, 1e4, 60)
    y = np.geomspace(1e-7, 1e-1, 100)
    variants = an.variants
    curves, limits = [], {}
    names = ["Xe", "Ge"] if item == "appB3" else ["combined"]
    for k, variant in enumerate(variants):
        for name in names:
            f = factors[name][k] if isinstance(factors, dict) else factors[k]
            delta = level * (y[None, :] / _limit(x, f)[:, None]) ** 2
            curves.append((k, variant, None, name, delta, x))
            limits[(k, name)] = exclusion_curve(x, y, delta, an.level)
    figures = []
    options = RunOptions(on_figure=lambda stem, fig: figures.append(fig))
    plot_exclusion(an, x, y, variants, curves, tmp_path, options, [], [], limits=limits)
    return an, figures[0]


def _strips(fig):
    return [ax for ax in fig.axes if ax.get_ylabel() == "ratio"]


def test_the_strip_shows_each_variant_divided_by_the_first(tmp_path):
    factors = {"Xe": [1.0, 1.03, 0.98], "Ge": [1.0, 2.0, 1.0]}
    an, fig = _draw(tmp_path, factors)
    strips = _strips(fig)
    assert len(strips) == 2  # one per detector panel
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["Xe", "Ge"]
    for strip, name in zip(strips, ("Xe", "Ge"), strict=True):
        lines = [ln for ln in strip.get_lines() if len(ln.get_xdata()) > 2]
        assert len(lines) == 2  # variants 1 and 2 (variant 0 is the line at 1)
        for line, factor in zip(lines, factors[name][1:], strict=True):
            r = np.asarray(line.get_ydata(), dtype=float)
            # the limits come from interpolated crossings of Δχ² = level on a log grid: exact
            # for a power law in g, so the ratio is the factor to rounding
            assert np.allclose(r[np.isfinite(r)], factor, rtol=1e-9), (name, factor)
        lo, hi = strip.get_ylim()
        assert lo <= min(factors[name]) and hi >= max(factors[name])
        texts = [t.get_text() for t in strip.texts]
        assert any("natural-effective nucleus" in t for t in texts)
        ticks = strip.get_yticks()
        assert all(lo <= t <= hi for t in ticks) and 1 <= len(ticks) <= 4
        assert strip.yaxis.get_major_formatter().get_offset() == ""


def test_a_flat_ratio_keeps_a_range_of_a_few_percent(tmp_path):
    """Identical limits: the strip spans about ±1 %, not a magnified rounding error."""
    _, fig = _draw(tmp_path, [1.0, 1.0, 1.0], item="appB2")
    (strip,) = _strips(fig)
    lo, hi = strip.get_ylim()
    assert lo < 0.995 and hi > 1.005 and hi - lo < 0.1


def test_the_main_panels_lose_their_x_tick_labels_to_the_strip(tmp_path):
    _, fig = _draw(tmp_path, {"Xe": [1.0, 1.0, 1.0], "Ge": [1.0, 1.0, 1.0]})
    strips = _strips(fig)
    mains = [ax for ax in fig.axes if ax.get_title() in ("Xe", "Ge")]
    for main, strip in zip(mains, strips, strict=True):
        assert main.get_xlabel() == "" and strip.get_xlabel()
        assert strip.get_position().y1 <= main.get_position().y0 + 1e-9
        assert strip.get_xlim() == main.get_xlim()


def test_the_strips_of_one_figure_share_their_range(tmp_path):
    """Xe's ratios within ±0.3 %, Ge's down to 0.5: both strips span Ge's range, so that the two
    detectors' effects compare at a glance (a referee read two scales as one before)."""
    _, fig = _draw(tmp_path, {"Xe": [1.0, 1.003, 0.998], "Ge": [1.0, 0.5, 1.0]})
    xe, ge = _strips(fig)
    assert xe.get_ylim() == ge.get_ylim()
    lo, _ = xe.get_ylim()
    assert lo < 0.5
    assert list(xe.get_yticks()) == list(ge.get_yticks())


def test_a_variant_sets_only_the_statistics_it_names(tmp_path):
    """A variant's ``stats`` update the analysis's key by key (appB2 sets σ_β only): with the
    analysis's σ_α = 0.5 and combine = false, the variants keep both (they were reset to the
    defaults 0.1 and true before, silently), also when the written config.json is read again."""
    import json

    from cevns.analyses import parse_analysis

    an = shipped_analysis("appB2").replace(
        detectors=("CsI", "Si"), per_detector=True, panels="per-detector",
        stats={"sigma_signal": 0.5, "combine": False})
    for k, sigma_beta in enumerate((0.01, 0.05, 0.10)):
        st = an.compute(k).stats
        assert (st.sigma_signal, st.sigma_background, st.combine) == (0.5, sigma_beta, False)
    again = parse_analysis(json.loads(json.dumps(an.model_dump(mode="json"))))
    assert again == an
    assert [again.compute(k).stats for k in range(3)] == [an.compute(k).stats for k in range(3)]


def test_per_detector_panels_with_nothing_excluded_say_so_before_drawing(tmp_path):
    """No curve reaches the level: the item's ConfigError, and no PNG of empty panels (a
    ZeroDivisionError while laying out zero panels before)."""
    from cevns.analyses import run_analysis
    from cevns.analyses.base import RunOptions as Options

    an = shipped_analysis("appB1").replace(level=1e6)
    with pytest.raises(ConfigError, match="no exclusion found inside the grid"):
        run_analysis(an, tmp_path / "out", Options(quick=True))
    assert not list((tmp_path / "out").glob("*.png"))


def test_per_detector_panels_with_a_tied_mass(tmp_path):
    """panels = 'per-detector' with secondary_x: two panels per detector, both titled with it
    (an IndexError before: the tied-mass panels were counted as detectors)."""
    from cevns.analyses import run_analysis
    from cevns.analyses.base import RunOptions as Options

    an = shipped_analysis("fig11").replace(detectors=("CsI", "Ar"), per_detector=True,
                                           panels="per-detector", overlays=())
    figures = []
    run_analysis(an, tmp_path / "out", Options(quick=True, no_figures=False,
                                               on_figure=lambda s, f: figures.append(f)))
    titles = [ax.get_title() for ax in figures[0].axes if ax.get_visible()]
    assert titles == ["CsI", "CsI", "Ar", "Ar", "combined", "combined"]


def test_ratio_range_is_the_data_and_one_padded_by_a_fifth_of_the_span_each_side():
    """style.ratio_range, shared by the exclusion and spectra strips: span [1, 1.02] → centre
    1.01 ± 1.4 × 0.01; NaN ignored; never below 0; at least 1 ± 1 % for flat ratios."""
    from cevns.analyses.style import ratio_range

    assert ratio_range([np.array([1.0, 1.02, np.nan])]) == pytest.approx((0.996, 1.024))
    assert ratio_range([np.array([1.0])]) == pytest.approx((0.986, 1.014))
    lo, hi = ratio_range([np.array([0.01, 3.0])])
    assert lo == 0.0 and hi == pytest.approx(1.505 + 1.4 * 1.495)
