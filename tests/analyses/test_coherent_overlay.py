"""The "coherent" overlay: the combined COHERENT Δχ² on an ESS exclusion item's grid."""

from __future__ import annotations

import numpy as np
import pytest

from cevns.analyses import shipped_analysis
from cevns.analyses.coherent_overlay import LABEL, SOURCE, overlay_grids
from cevns.analyses.overlays import OverlayRequest, get_overlay, overlay_names
from cevns.fits.combined import grid_parts, profile_flux


def test_registered_under_its_name():
    assert "coherent" in overlay_names()


def test_fig10_quick_panel_matches_the_direct_grid():
    """The interpolated overlay of fig10 (dipole, μ_νμ variant, quick grid) against the profiled
    χ² evaluated directly at three of the item's sterile masses and every coupling of the item,
    taken from the same minimum (the SM point and the overlay's coarse grid): the 90 % C.L.
    (2 dof) crossing in μ agrees to 10 % (the quick overlay interpolates a coarse grid of 10
    couplings over five decades, a factor 3.6 per step, linearly in log(1 + Δχ²); measured: 6 % at
    the worst of these three masses; module docstring of cevns.analyses.coherent_overlay)."""
    an = shipped_analysis("fig10")
    variant = an.variants[1]
    x, y = an.x.grid(True), an.y.grid(True)
    request = OverlayRequest(an, variant, x, y, quick=True)
    (overlay,) = get_overlay("coherent")(request)
    xs, ys, _, _ = overlay_grids(request)
    assert overlay.label == LABEL and overlay.source == SOURCE
    # the item's masses plus points around the releases' kinematic end point (52.8 MeV < 54)
    assert overlay.delta_chi2.shape == (overlay.x.size, y.size)
    assert set(x) <= set(overlay.x) and overlay.x.size == x.size + 4
    assert np.all(np.isfinite(overlay.delta_chi2)) and overlay.delta_chi2.min() >= 0.0

    def chi2(masses, couplings):  # SM point first, then the grid in C order
        parts, sigma_flux, _ = grid_parts("dipole", "sterile_mass_MeV", masses,
                                          "magnetic_moment", couplings,
                                          options=dict(variant.options))
        return profile_flux(parts, sigma_flux).chi2

    reference = chi2(xs, ys).min()
    cols = [int(np.flatnonzero(overlay.x == x[c])[0]) for c in (2, 8, 14)]
    direct = (chi2(overlay.x[cols], y)[1:] - reference).reshape(len(cols), y.size)
    level = 4.605
    for k, col in enumerate(cols):
        a = np.interp(level, overlay.delta_chi2[col], np.log(y))
        b = np.interp(level, direct[k], np.log(y))
        assert np.exp(a) == pytest.approx(np.exp(b), rel=0.10)


@pytest.mark.parametrize("ratio_index", [0, 2])
def test_fig11_overlay_wall_ends_at_the_kinematic_end_point(ratio_index):
    """Up-scattering at COHERENT stops where m₄ = ratio · m_X exceeds √s − m_A at the π-DAR end
    point E = m_μ/2 (paper Eq. 22, heaviest release nucleus ¹³³Cs, its recoil optimum T* ≈ 11 keV
    above the threshold). The overlay's exclusion curve must end within 0.5 % of it: found just
    below, not above (on the coarse grid alone it could end up to a factor of two beyond)."""
    from cevns.physics.constants import E_MICHEL_MAX
    from cevns.physics.units import MeV
    from cevns.stats import exclusion_curve

    an = shipped_analysis("fig11")
    variant = an.variants[ratio_index]
    ratio = variant.ties["sterile_mass_MeV"].ratio
    x, y = an.x.grid(True), an.y.grid(True)
    (overlay,) = get_overlay("coherent")(OverlayRequest(an, variant, x, y, quick=True))
    m_cs = 132.905451961 * 931.49410242  # MeV (atomic mass; the electrons change nothing here)
    e = E_MICHEL_MAX / MeV
    end = (np.sqrt(m_cs**2 + 2.0 * m_cs * e) - m_cs) / ratio
    curve = exclusion_curve(overlay.x, overlay.y, overlay.delta_chi2, "90cl_2dof")
    below = overlay.x[overlay.x < end * (1 - 5e-3)]
    above = overlay.x[overlay.x > end * (1 + 5e-3)]
    assert curve.found[np.isin(overlay.x, below[-1:])].all()
    assert not curve.found[np.isin(overlay.x, above)].any()


def test_quick_previews_skip_the_coherent_overlay_and_say_so(tmp_path):
    """The COHERENT overlay is a set of full likelihood fits (about 0.5 s per panel): a --quick
    preview does not compute it, writes no overlay table and says so in the notes."""
    from cevns.analyses import RunOptions, run_analysis
    from cevns.analyses.overlays import overlay_in_quick
    from cevns.analyses.sensitivity.plots import drawn_overlays

    an = shipped_analysis("fig10")
    assert not overlay_in_quick("coherent")
    assert drawn_overlays(an, quick=True) == () and drawn_overlays(an, quick=False) == ("coherent",)
    run_analysis(an, tmp_path, RunOptions(quick=True, no_figures=True))
    assert not (tmp_path / "fig10_overlays.csv").exists()
    assert "not computed in a --quick preview" in (tmp_path / "fig10_notes.md").read_text()


def test_interpolation_keeps_nodes_sign_and_power_laws():
    """interpolate_delta: the coarse values at the coarse nodes, Δχ² ≥ 0 everywhere, monotone in
    the coupling where the coarse column is, and — on an analytic field Δχ² = (g / g₀(m))⁴, the
    shape of a BSM term far from the SM — the crossing of Δχ² = 4.61 within 3 % of the exact
    coupling on a coarse grid of a factor 2.4 per coupling step, where linear interpolation of
    log(1 + Δχ²) misses it by up to 9 % (the reason for the pchip in log(Δχ² + 0.1))."""
    from cevns.analyses.coherent_overlay import interpolate_delta

    def g0(m):
        return 1e-5 * (1.0 + (m / 20.0) ** 2)

    xs, ys = np.geomspace(0.1, 100.0, 14), np.geomspace(1e-7, 1e-1, 16)
    coarse = (ys[None, :] / g0(xs)[:, None]) ** 4
    x, y = np.geomspace(0.1, 100.0, 57), np.geomspace(1e-7, 1e-1, 400)
    fine = interpolate_delta(xs, ys, coarse, x, y, True, True)
    assert fine.shape == (57, 400) and np.all(fine >= 0.0)
    at_nodes = interpolate_delta(xs, ys, coarse, xs, ys, True, True)
    np.testing.assert_allclose(at_nodes, coarse, rtol=1e-10, atol=1e-12)
    assert np.all(np.diff(fine, axis=1) >= -1e-12 * fine[:, 1:])  # monotone in the coupling
    level = 4.61
    exact = g0(x) * level ** 0.25
    found = np.exp([np.interp(level, row, np.log(y)) for row in fine])
    on_column = np.isin(x, xs)  # along x the curve is interpolated too: check the columns
    assert np.max(np.abs(found[on_column] / exact[on_column] - 1)) < 0.03
    # the linear log(1 + Δχ²) interpolation of the same coarse columns, for comparison
    lin = np.expm1([np.interp(np.log(y), np.log(ys), np.log1p(c)) for c in coarse])
    old = np.exp([np.interp(level, row, np.log(y)) for row in lin])
    assert np.max(np.abs(old / g0(xs) / level ** 0.25 - 1)) > 0.05  # measured: 2.7–9.2 %


def test_interpolation_along_the_limit_curve_follows_the_light_and_heavy_limits():
    """With ``level``, the mass interpolation follows the limit curve. On the analytic field
    Δχ² = (g / g₀(m))⁴ with g₀ = 10⁻⁵ √(1 + (m/20)²) — flat for a light mediator, g₀ ∝ m in the
    contact limit (Δχ² a function of g/m), as for a vector or scalar mediator — on a coarse grid
    of 14 masses over five decades, the crossing of Δχ² = 4.61 at 200 masses: above 200 MeV the
    curve's local log-log slope stays within 0.03 of its exact value m²/(m² + 400) (measured
    0.021) where at fixed coupling it swings by more than 0.3 (0.48: the ripple of Fig. 7's
    COHERENT curve), and the crossing is within 3.5 % (3.1 %; 8.9 % at fixed coupling). In
    the bend (2–200 MeV) the monotone cubic through the coarse crossings follows the curvature
    within 4 % (3.4 %; the chord between neighbouring crossings, ``curve="chord"``: 6.1 %; 8.0 %
    at fixed coupling), and the drawn curve has no bend at the coarse masses: its slope changes
    by at most 0.1 between neighbouring item masses (0.043; the chord's by 0.29). Below 2 MeV
    all are within 0.5 %. At the coarse masses the values are the coarse grid's."""
    from cevns.analyses.coherent_overlay import interpolate_delta

    def g0(m):
        return 1e-5 * np.sqrt(1.0 + (m / 20.0) ** 2)

    level = 4.61
    xs, ys = np.geomspace(0.1, 1e4, 14), np.geomspace(1e-7, 1e3, 24)
    coarse = (ys[None, :] / g0(xs)[:, None]) ** 4
    x, y = np.geomspace(0.1, 1e4, 200), np.geomspace(1e-7, 1e3, 800)
    exact = g0(x) * level ** 0.25
    exact_slope = x**2 / (x**2 + 400.0)
    light, bend, heavy = x <= 2.0, (x > 2.0) & (x <= 200.0), x > 200.0
    result = {}
    for how in ("curve", "chord", "fixed"):
        fine = interpolate_delta(xs, ys, coarse, x, y, True, True,
                                 level=None if how == "fixed" else level,
                                 curve="chord" if how == "chord" else "pchip")
        found = np.exp([np.interp(level, row, np.log(y)) for row in fine])
        slope = np.diff(np.log(found)) / np.diff(np.log(x))
        slope_err = np.abs(slope - 0.5 * (exact_slope[1:] + exact_slope[:-1]))
        err = np.abs(found / exact - 1)
        result[how] = (slope_err[heavy[1:]].max(), err[heavy].max(), err[bend].max(),
                       err[light].max(), np.abs(np.diff(slope)).max())
    along, chord, fixed = result["curve"], result["chord"], result["fixed"]
    assert along[0] < 0.03 and fixed[0] > 0.3
    assert along[1] < 0.035 and fixed[1] > 0.06
    assert along[2] < 0.04 and chord[2] > 0.05
    assert along[3] < 0.005 and fixed[3] < 0.005
    assert along[4] < 0.1 and chord[4] > 0.2
    at_nodes = interpolate_delta(xs, ys, coarse, xs, ys, True, True, level=level)
    np.testing.assert_allclose(at_nodes, coarse, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("xs", "ys", "shape", "match"), [
    ([1.0], [1.0, 2.0], (1, 2), "xs must hold"),
    ([1.0, 2.0], [2.0, 1.0], (2, 2), "ys must hold"),
    ([0.0, 2.0], [1.0, 2.0], (2, 2), "xs must hold"),
    ([1.0, 2.0], [1.0, 2.0], (2, 3), "shape"),
])
def test_interpolation_refuses_bad_grids(xs, ys, shape, match):
    from cevns.analyses.coherent_overlay import interpolate_delta
    from cevns.errors import ConfigError

    with pytest.raises(ConfigError, match=match):
        interpolate_delta(np.array(xs), np.array(ys), np.ones(shape), np.array([1.5]),
                          np.array([1.5]), True, True)


@pytest.mark.parametrize("level", [0.0, -1.0, float("nan"), float("inf"), True, "2.71"])
def test_interpolation_refuses_bad_levels(level):
    """The contour level is a finite Δχ² above 0: anything else is a ConfigError naming it,
    not a curve interpolated along crossings that do not exist."""
    from cevns.analyses.coherent_overlay import interpolate_delta
    from cevns.errors import ConfigError

    xs, ys = np.array([1.0, 2.0]), np.array([1.0, 2.0])
    with pytest.raises(ConfigError, match="level"):
        interpolate_delta(xs, ys, np.ones((2, 2)), np.array([1.5]), np.array([1.5]), True, True,
                          level=level)


def test_interpolation_along_the_curve_uses_only_neighbouring_columns():
    """With a level, a fine row between coarse masses j and j+1 depends on those two columns
    only (one interpolant per column): changing a far column leaves it unchanged to the bit."""
    from cevns.analyses.coherent_overlay import interpolate_delta

    xs = np.geomspace(1.0, 100.0, 5)
    ys = np.geomspace(1e-3, 1.0, 12)
    coarse = (ys[None, :] / (1e-2 * xs[:, None] ** 0.5)) ** 2
    x, y = np.geomspace(1.0, 3.0, 7), np.geomspace(1e-3, 1.0, 40)  # between columns 0 and 1
    first = interpolate_delta(xs, ys, coarse, x, y, True, True, level=2.71)
    changed = coarse.copy()
    changed[3:] *= 7.0
    second = interpolate_delta(xs, ys, changed, x, y, True, True, level=2.71)
    assert np.array_equal(first, second)


@pytest.mark.parametrize(("x", "y", "log_x", "match"), [
    ([1.5, np.nan], [1.5], True, "x must be a non-empty 1-D array of finite numbers"),
    ([-1.0], [1.5], True, "above 0"),
    ([1.5], [], True, "y must be a non-empty"),
    (1.5, [1.5], True, "x must be"),
    ([[1.5]], [1.5], True, "x must be"),
    (["a"], [1.5], True, "x must be"),
    ([1.5], [1.5], "yes", "log_x = 'yes'; expected true or false"),
])
def test_interpolation_refuses_bad_target_grids(x, y, log_x, match):
    """The item's grid (x, y) is checked like the coarse one: NaN rows, a logarithm of a
    negative mass or an empty axis are ConfigErrors, not NaN values or numpy's errors."""
    from cevns.analyses.coherent_overlay import interpolate_delta
    from cevns.errors import ConfigError

    xs, ys = np.array([1.0, 2.0]), np.array([1.0, 2.0])
    with pytest.raises(ConfigError, match=match):
        interpolate_delta(xs, ys, np.ones((2, 2)), x, y, log_x, True, level=2.71)


def test_the_limit_curve_keyword_is_checked():
    from cevns.analyses.coherent_overlay import interpolate_delta
    from cevns.errors import ConfigError

    xs, ys = np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0])
    with pytest.raises(ConfigError, match="curve = 'spline'; expected 'pchip' or 'chord'"):
        interpolate_delta(xs, ys, np.ones((3, 2)), np.array([1.5]), np.array([1.5]), True, True,
                          level=2.71, curve="spline")
