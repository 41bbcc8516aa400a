"""The overlay registry: registration, lookup errors, shape checks."""

import numpy as np
import pytest

from cevns.analyses import overlays
from cevns.errors import ConfigError


def test_unknown_overlay_names_the_registered_ones():
    with pytest.raises(ConfigError, match="unknown overlay 'nope'"):
        overlays.get_overlay("nope")


def test_register_and_get(monkeypatch):
    monkeypatch.setattr(overlays, "_REGISTRY", {})

    def fn(request):
        return [overlays.Overlay("x", "test", request.x, request.y,
                                 delta_chi2=np.zeros((request.x.size, request.y.size)))]

    overlays.register_overlay("test-overlay", fn)
    assert overlays.get_overlay("test-overlay") is fn
    req = overlays.OverlayRequest(analysis=None, variant=None, x=np.arange(3.0), y=np.arange(2.0))
    (ov,) = overlays.get_overlay("test-overlay")(req)
    assert ov.delta_chi2.shape == (3, 2)
    with pytest.raises(ConfigError, match="already registered"):
        overlays.register_overlay("test-overlay", lambda r: [])


def test_grid_shape_mismatch_is_an_error():
    with pytest.raises(ConfigError, match="does not match"):
        overlays.Overlay("x", "s", np.arange(3.0), np.arange(2.0), delta_chi2=np.zeros((2, 3)))
    with pytest.raises(ConfigError, match="differ in shape"):
        overlays.Overlay("x", "s", np.arange(3.0), np.arange(2.0))


# --- drawing in the exclusion figure (analyses/sensitivity/plots.py) ----------------------------


def _fig6_with(names):
    from cevns.analyses.catalogue import shipped_analysis

    an = shipped_analysis("fig6")  # one panel, four variants
    return an.model_copy(update={"overlays": tuple(names), "detectors": ("CsI",)})


def test_overlays_are_drawn_dash_dot_grey_with_label_and_source(tmp_path, monkeypatch):
    from matplotlib.colors import to_rgba

    from cevns.analyses import RunOptions, run_analysis

    monkeypatch.setattr(overlays, "_REGISTRY", {})
    seen = []

    def grid_overlay(request):
        seen.append(request)
        # a Δχ² grid on the item's grid: excluded above y = 1e-4 (a horizontal contour)
        d = np.where(request.y[None, :] > 1e-4, 100.0, 0.0) * np.ones((request.x.size, 1))
        return [overlays.Overlay("grid test", "test grid, made up for the test", request.x,
                                 request.y, delta_chi2=d)]

    def line_overlay(request):
        return [overlays.Overlay("line test", "test polyline, made up", np.array([1.0, 10.0]),
                                 np.array([1e-3, 1e-3]), style={"color": "red"})]

    overlays.register_overlay("t-grid", grid_overlay)
    overlays.register_overlay("t-line", line_overlay)
    an = _fig6_with(["t-grid", "t-line"])
    figs = {}
    rec = run_analysis(an, tmp_path, RunOptions(
        quick=True, on_figure=lambda stem, fig: figs.__setitem__(stem, fig)))
    # one panel showing four variants that differ in their options (the interaction): one
    # request per variant, each drawn in that variant's dash pattern under one legend entry
    assert [r.variant for r in seen] == list(an.variants)
    assert all(r.quick and r.analysis is an for r in seen)
    np.testing.assert_array_equal(seen[0].x, an.x.grid(True))
    (fig,) = figs.values()
    ax = fig.axes[0]
    legend_texts = [t.get_text() for lg in [*fig.legends, *(a.get_legend() for a in fig.axes)]
                    if lg is not None for t in lg.get_texts()]
    assert "grid test" in legend_texts and "line test" in legend_texts
    assert legend_texts.count("grid test") == 1 and legend_texts.count("line test") == 1
    # the polylines: red (their own style), one per variant in the variant's dashes; the grid
    # contours: grey at y = 1e-4
    lines = [ln for ln in ax.get_lines() if ln.get_color() == "red"]
    assert len(lines) == 4 and len({str(ln._unscaled_dash_pattern) for ln in lines}) == 4
    grey = to_rgba("0.45")
    contour_y = [seg[:, 1] for coll in ax.collections
                 if hasattr(coll, "get_paths") and len(coll.get_edgecolor())
                 and tuple(coll.get_edgecolor()[0]) == grey
                 for seg in (p.vertices for p in coll.get_paths()) if len(seg)]
    assert contour_y and all(np.all((ys > 5e-5) & (ys < 2e-4)) for ys in contour_y)
    notes = (tmp_path / "fig6_notes.md").read_text()
    assert "test grid, made up for the test" in notes and "test polyline, made up" in notes
    assert "one curve per variant (scalar, vector (B-L), axial, tensor)" in notes
    assert "fig6_notes.md" in rec["files"]
    _check_overlay_table(tmp_path / "fig6_overlays.csv", an)
    assert "fig6_overlays.csv" in rec["files"]


def _check_overlay_table(path, an):
    """The overlays as data: the grid overlay's boundary (y between the two grid points that
    bracket 1e-4, at every x of the grid) and the polyline's two points."""
    import csv

    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    grid_rows = [r for r in rows if r["overlay"] == "grid test"]
    line_rows = [r for r in rows if r["overlay"] == "line test"]
    y = an.y.grid(True)
    below, above = y[y <= 1e-4].max(), y[y > 1e-4].min()
    labels = [v.label for v in an.variants]
    assert len(grid_rows) == an.x.grid(True).size * len(labels)  # one curve per variant
    assert all(below <= float(r[an.y_column]) <= above for r in grid_rows)
    assert [(float(r[an.x_column]), float(r[an.y_column])) for r in line_rows] == [
        (1.0, 1e-3), (10.0, 1e-3)] * len(labels)
    assert [r[an.variant_column] for r in line_rows] == [v for v in labels for _ in range(2)]


def test_overlays_are_written_without_figures_too(tmp_path, monkeypatch):
    """--no-figures still writes the overlays' curves and sources (they are data)."""
    from cevns.analyses import RunOptions, run_analysis

    monkeypatch.setattr(overlays, "_REGISTRY", {})
    overlays.register_overlay("t-grid", lambda r: [overlays.Overlay(
        "grid test", "test grid, made up for the test", r.x, r.y,
        delta_chi2=np.where(r.y[None, :] > 1e-4, 100.0, 0.0) * np.ones((r.x.size, 1)))])
    overlays.register_overlay("t-line", lambda r: [overlays.Overlay(
        "line test", "test polyline, made up", np.array([1.0, 10.0]), np.array([1e-3, 1e-3]))])
    an = _fig6_with(["t-grid", "t-line"])
    rec = run_analysis(an, tmp_path, RunOptions(quick=True, no_figures=True))
    assert not list(tmp_path.glob("*.png"))
    _check_overlay_table(tmp_path / "fig6_overlays.csv", an)
    assert "test grid, made up" in (tmp_path / "fig6_notes.md").read_text()
    assert "fig6_overlays.csv" in rec["files"]


def test_unknown_overlay_in_a_file_is_a_whole_file_error(monkeypatch):
    from pathlib import Path

    import cevns.analyses
    from cevns.analyses.base import parse_analysis
    from cevns.config import load_toml

    monkeypatch.setattr(overlays, "_REGISTRY", {})
    doc = load_toml(Path(cevns.analyses.__file__).parent / "shipped" / "fig7.toml")
    doc["overlays"] = ["nope"]
    with pytest.raises(ConfigError, match=r"overlays\[0\]: unknown overlay 'nope'"):
        parse_analysis(doc, where="fig7.toml")
