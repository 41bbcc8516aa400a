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


def _power_field(xs, ys):
    """Δχ² = (g / g₀(m))⁴, g₀ = 10⁻⁵ √(1 + (m/20)²): a BSM term far from the SM (module tests
    above); its crossing of a level L is g₀ L^(1/4) exactly."""
    g0 = 1e-5 * np.sqrt(1.0 + (np.asarray(xs) / 20.0) ** 2)
    return (np.asarray(ys)[None, :] / g0[:, None]) ** 4, g0


def test_refined_crossings_hit_the_exact_crossing_of_a_power_law():
    """refine_crossings on the analytic field with 16 couplings over six decades (the overlay's
    coarse axis, a factor 2.5 per step): after its two regula-falsi rounds in (log g, log(Δχ² +
    0.1)) the crossing read from interpolate_delta at the coarse masses is within 10⁻³ of the
    exact g₀ L^(1/4) (a power law is nearly a line in these variables; measured 2.4 · 10⁻⁵),
    where the coarse grid alone misses it by more than 1 %; the new points lie strictly inside
    their column's bracket, two per column, and ``evaluate`` is asked for all columns at once."""
    from cevns.analyses.coherent_overlay import interpolate_delta, refine_crossings

    level = 4.61
    xs, ys = np.geomspace(0.1, 1e3, 14), np.geomspace(1e-7, 1e-1, 16)
    coarse, g0 = _power_field(xs, ys)
    calls = []

    def evaluate(columns, couplings):
        calls.append(columns.size)
        return (couplings / g0[columns]) ** 4

    samples = refine_crossings(ys, coarse, level, True, evaluate)
    assert calls == [14, 14]
    y = np.geomspace(1e-7, 1e-1, 2000)
    exact = g0 * level ** 0.25
    for extra, bound in ((samples, 1e-3), (None, None)):
        fine = interpolate_delta(xs, ys, coarse, xs, y, True, True, level=level, samples=extra)
        found = np.exp([np.interp(level, row, np.log(y)) for row in fine])
        error = np.abs(found / exact - 1).max()
        if bound is None:
            assert error > 0.01  # the coarse grid alone
        else:
            assert error < bound
    for c, (sy, sd) in enumerate(samples):
        k = np.argmax(coarse[c] >= level)
        assert sy.size == 2 and np.all((sy > ys[k - 1]) & (sy < ys[k]))
        np.testing.assert_allclose(sd, (sy / g0[c]) ** 4, rtol=1e-12)


def test_refined_crossings_at_the_item_couplings_are_the_exact_ones_on_that_grid():
    """With ``at`` (the item's couplings) the new points are item couplings next to each coarse
    column's crossing, so the crossing read on the item's grid (linear in Δχ² between its
    couplings, as a contour is drawn) equals the one read from the exact field on the same grid
    (10⁻¹²), with at most two rounds; the second round asks only for columns whose first
    estimate missed (here: fewer points than the first)."""
    from cevns.analyses.coherent_overlay import interpolate_delta, refine_crossings

    level = 4.61
    xs, ys = np.geomspace(0.1, 1e3, 14), np.geomspace(1e-7, 1e-1, 12)
    coarse, g0 = _power_field(xs, ys)
    y = np.geomspace(1e-7, 1e-1, 100)
    calls = []

    def evaluate(columns, couplings):
        assert np.all(np.isin(couplings, y))  # item couplings only
        calls.append(columns.size)
        return (couplings / g0[columns]) ** 4

    samples = refine_crossings(ys, coarse, level, True, evaluate, at=y)
    assert len(calls) <= 2 and calls[0] <= 28 and (len(calls) == 1 or calls[1] < calls[0])
    fine = interpolate_delta(xs, ys, coarse, xs, y, True, True, level=level, samples=samples)
    exact, _ = _power_field(xs, y)
    for row, want in zip(fine, exact, strict=True):
        got = np.interp(level, row, np.log(y))
        assert got == pytest.approx(np.interp(level, want, np.log(y)), abs=1e-12)


def test_refine_crossings_checks_its_options():
    from cevns.analyses.coherent_overlay import refine_crossings
    from cevns.errors import ConfigError

    ys, delta = np.geomspace(1e-3, 1.0, 4), np.array([[0.0, 1.0, 3.0, 9.0]])
    for rounds in (-1, 1.5, True):
        with pytest.raises(ConfigError, match="rounds"):
            refine_crossings(ys, delta, 2.71, True, lambda c, g: g, rounds=rounds)
    for at in ([0.5, np.nan], [-1.0, 0.5]):
        with pytest.raises(ConfigError, match="at must hold finite y values"):
            refine_crossings(ys, delta, 2.71, True, lambda c, g: g, at=np.array(at))
    assert refine_crossings(ys, delta, 2.71, True, lambda c, g: g, rounds=0) == [None]
    for args, match in (((ys, delta[0], 2.71, True), r"delta must have shape \(columns, 4\)"),
                        ((ys[:3], delta, 2.71, True), r"delta must have shape \(columns, 3\)"),
                        ((ys[::-1], delta, 2.71, True), "ys must hold"),
                        ((ys, delta, 0.0, True), "level"),
                        ((ys, delta, float("nan"), True), "level"),
                        ((ys, delta, 2.71, "yes"), "log_y"),
                        ((ys, np.array([[0.0, np.nan, 1.0, 9.0]]), 2.71, True),
                         "delta must be a number everywhere"),
                        ((ys, np.array([[0.0, -np.inf, 1.0, 9.0]]), 2.71, True),
                         "not NaN or -inf"),
                        ((ys, delta.astype(complex), 2.71, True), "real numbers"),
                        (("abc", delta, 2.71, True), "real numbers")):
        with pytest.raises(ConfigError, match=match):
            refine_crossings(*args, lambda c, g: g)
    with pytest.raises(ConfigError, match="evaluate must be a function"):
        refine_crossings(ys, delta, 2.71, True, None)
    with pytest.raises(ConfigError, match="rounds = 1000000; expected a whole number from 0 to"):
        refine_crossings(ys, delta, 2.71, True, lambda c, g: g, rounds=10**6)
    with pytest.raises(ConfigError, match="at must hold finite y values"):
        refine_crossings(ys, delta, 2.71, True, lambda c, g: g, at="abc")
    for answer in (lambda c, g: ["x"] * c.size, lambda c, g: np.full(c.size, -np.inf),
                   lambda c, g: "abc", lambda c, g: np.full(c.size, 1 + 1j)):
        with pytest.raises(ConfigError, match="one Δχ² .a real number, not NaN or -inf"):
            refine_crossings(ys, delta, 2.71, True, answer)


def test_refine_crossings_skips_columns_without_a_crossing_and_bisects_at_infinity():
    """A column that never reaches the level, or already at its first coupling, gets no points
    (None); where the bracket's upper value is +inf (no prediction where data are) the first
    new point is the bracket's midpoint; a wrong answer of ``evaluate`` is a ConfigError."""
    from cevns.analyses.coherent_overlay import refine_crossings
    from cevns.errors import ConfigError

    ys = np.geomspace(1e-3, 1.0, 4)
    delta = np.array([[0.0, 0.1, 0.2, 0.3],       # never reaches 2.71
                      [5.0, 6.0, 7.0, 8.0],       # above from the first coupling
                      [0.0, 1.0, np.inf, np.inf]])  # crosses into +inf
    asked = []

    def evaluate(columns, couplings):
        asked.append((columns.copy(), couplings.copy()))
        return np.full(columns.size, 10.0)

    samples = refine_crossings(ys, delta, 2.71, True, evaluate)
    assert samples[0] is None and samples[1] is None
    assert list(asked[0][0]) == [2]
    assert asked[0][1][0] == pytest.approx(np.sqrt(ys[1] * ys[2]), rel=1e-12)
    with pytest.raises(ConfigError, match="one Δχ²"):
        refine_crossings(ys, delta, 2.71, True, lambda c, g: np.full(c.size + 1, 1.0))
    with pytest.raises(ConfigError, match="one Δχ²"):
        refine_crossings(ys, delta, 2.71, True, lambda c, g: np.full(c.size, np.nan))


@pytest.mark.parametrize(("xs", "ys", "delta", "match"), [
    ([1.0, 10.0, np.inf], [1.0, 2.0], np.ones((3, 2)), "xs must hold at least two increasing finite"),
    ([1.0, 2.0], [1.0, 2.0, 3.0, np.inf], np.ones((2, 4)), "ys must hold"),
    ([1.0, 2.0], [1.0, 2.0], np.array([[1.0, -np.inf], [1.0, 1.0]]), "not NaN or -inf"),
    ([1.0, 2.0], [1.0, 2.0], np.ones((2, 2)) * (1 + 0j), "real numbers"),
])
def test_interpolation_refuses_non_finite_axes_minus_infinity_and_complex(xs, ys, delta, match):
    """An infinite coarse mass or coupling, a Δχ² of −inf (which clipping at 0 would have hidden)
    and complex input are ConfigErrors, as a NaN is (+inf in Δχ² stays allowed: a point without
    a prediction where there are data)."""
    from cevns.analyses.coherent_overlay import interpolate_delta
    from cevns.errors import ConfigError

    with pytest.raises(ConfigError, match=match):
        interpolate_delta(np.array(xs), np.array(ys), delta, np.array([1.5]), np.array([1.5]),
                          False, False)


@pytest.mark.parametrize(("samples", "match"), [
    ([None], "one entry per coarse column"),
    ("ab", "one entry per coarse column"),
    ([None, ([0.5], [1.0, 2.0])], r"samples\[1\] must be"),
    ([None, ([0.5], [np.nan])], r"samples\[1\] must be"),
    ([None, ([-0.5], [1.0])], r"samples\[1\] must be"),
    ([None, ([5.0], [1.0])], "outside the coarse y axis"),
    ([(["a"], [1.0]), None], r"samples\[0\] must be"),
])
def test_interpolation_refuses_bad_samples(samples, match):
    from cevns.analyses.coherent_overlay import interpolate_delta
    from cevns.errors import ConfigError

    xs, ys = np.array([1.0, 2.0]), np.array([0.1, 1.0])
    with pytest.raises(ConfigError, match=match):
        interpolate_delta(xs, ys, np.ones((2, 2)), np.array([1.5]), np.array([0.5]), True, True,
                          level=2.71, samples=samples)


def test_fig11_refined_overlay_matches_the_direct_chi2():
    """Fig. 11 (m₄ = 0.1 m_X) at full resolution: the coarse grid alone put the flat part of the
    COHERENT curve 8.4 % (16 couplings over six decades) or 22 % (the 11 of now) above the
    coupling where the directly profiled combined χ² (same Δχ² minimum) crosses the 90 % C.L.
    level, at every mass; with the crossings computed at the item's couplings
    (``refine_crossings(..., at=y)``) the curve at four masses of the flat part is within 0.5 %
    (benchmarks/overlay_precision.py: < 0.05 % there, 1.6 % at the worst mass of the panel, in
    the bend)."""
    from cevns.fits.combined import combined_chi2
    from cevns.stats import level_value

    an = shipped_analysis("fig11")
    variant = an.variants[0]
    x, y = an.x.grid(False), an.y.grid(False)
    request = OverlayRequest(an, variant, x, y, quick=False)
    (overlay,) = get_overlay("coherent")(request)
    xs, ys, _, _ = overlay_grids(request)
    ties = {n: (t.to, t.ratio) for n, t in variant.ties.items()}
    off, coarse = combined_chi2("upscattering", an.x.parameter, xs, an.y.parameter, ys,
                                options=dict(an.scenario.options, **variant.options), ties=ties)
    reference = min(off, coarse.min())
    cols = np.flatnonzero(overlay.x <= 20.0)[::6][:4]  # the flat part, below m_X ≈ 20 MeV
    assert cols.size == 4
    _, direct = combined_chi2("upscattering", an.x.parameter, overlay.x[cols], an.y.parameter, y,
                              options=dict(an.scenario.options, **variant.options), ties=ties)
    level = level_value(an.level)
    for k, col in enumerate(cols):
        got = np.interp(level, overlay.delta_chi2[col], np.log(y))
        want = np.interp(level, direct[k] - reference, np.log(y))
        assert np.exp(got - want) == pytest.approx(1.0, abs=0.005)


def test_combined_chi2_at_pairs_equals_the_grid():
    """combined_chi2(..., pairs=True) at (x_k, y_k) equals the grid's value at the same point
    (both profiles converge to 10⁻⁸; only the order of sums and the start of Newton differ), and
    the off point is the same number in both calls; mismatched pair arrays are refused."""
    from cevns.errors import ConfigError
    from cevns.fits.combined import combined_chi2

    xs, ys = np.array([5.0, 30.0, 300.0]), np.geomspace(1e-6, 1e-3, 4)
    off, grid = combined_chi2("ngi", "mediator_mass_MeV", xs, "coupling", ys,
                              options={"interaction": "scalar"})
    i, j = np.array([2, 0, 1, 1]), np.array([3, 1, 0, 2])
    off2, pairs = combined_chi2("ngi", "mediator_mass_MeV", xs[i], "coupling", ys[j],
                                pairs=True, options={"interaction": "scalar"})
    assert off2 == pytest.approx(off, abs=1e-9)
    np.testing.assert_allclose(pairs, grid[i, j], rtol=0, atol=1e-6)
    with pytest.raises(ConfigError, match="pairs need two 1-D arrays of one length"):
        combined_chi2("ngi", "mediator_mass_MeV", xs, "coupling", ys, pairs=True,
                      options={"interaction": "scalar"})
    with pytest.raises(ConfigError, match="pairs = 'yes'; expected true or false"):
        combined_chi2("ngi", "mediator_mass_MeV", xs, "coupling", ys[:3], pairs="yes",
                      options={"interaction": "scalar"})


def test_fig7_axial_curve_leaves_the_frame_without_a_bend():
    """Fig. 7, axial: the COHERENT limit leaves the frame (g = 0.1) near m_X ≈ 3 GeV. At five item
    masses from 0.5 to 2.9 GeV, the last where it is inside, the overlay's crossing is within 5 %
    of the directly profiled combined χ² (measured −0.6 … +3.3 %). With the coarse couplings
    ending at the frame, the masses whose next coarse column crossed only above it had no shift
    along the limit curve and the drawn curve bent there: −14.4 % at 1.87 GeV."""
    from cevns.fits.combined import combined_chi2
    from cevns.stats import level_value

    an = shipped_analysis("fig7")
    variant = an.variants[2]
    x, y = an.x.grid(False), an.y.grid(False)
    request = OverlayRequest(an, variant, x, y, quick=False)
    (overlay,) = get_overlay("coherent")(request)
    xs, ys, _, _ = overlay_grids(request)
    options = dict(an.scenario.options, **variant.options)
    off, coarse = combined_chi2("ngi", an.x.parameter, xs, an.y.parameter, ys, options=options)
    reference = min(off, coarse.min())
    cols = np.flatnonzero((x > 500.0) & (x < 4000.0))[::3]
    _, direct = combined_chi2("ngi", an.x.parameter, x[cols], an.y.parameter, y, options=options)
    level = level_value(an.level)
    checked = 0
    for k, c in enumerate(cols):
        want_row = direct[k] - reference
        if want_row.max() < level:  # above the frame at this mass
            continue
        row = overlay.delta_chi2[np.flatnonzero(overlay.x == x[c])[0]]
        got = np.interp(level, row, np.log(y))
        want = np.interp(level, want_row, np.log(y))
        assert np.exp(got - want) == pytest.approx(1.0, abs=0.05), x[c]
        checked += 1
    assert checked >= 4


def test_overlay_grids_reach_one_coarse_step_above_the_frame_where_the_scenario_allows():
    """Fig. 7: eleven coarse couplings from 10⁻⁷ to 0.1 (GRID_POINTS) and a twelfth at
    0.1 × 10^(6/10); a coupling axis that ends at its parameter's bound (sin²2θ = 1, the 3+1
    grid with its axes swapped) gets no point beyond it."""
    an = shipped_analysis("fig7")
    _, ys, _, y = overlay_grids(OverlayRequest(an, an.variants[0], an.x.grid(False),
                                               an.y.grid(False), quick=False))
    assert ys.size == 12 and y[-1] == pytest.approx(0.1)
    assert ys[-1] == pytest.approx(0.1 * 10 ** (6 / 10), rel=1e-12)
    fig9 = shipped_analysis("fig9")
    swapped = fig9.model_copy(update={"x": fig9.y, "y": fig9.x})
    _, ys, _, y = overlay_grids(OverlayRequest(swapped, fig9.variants[0], swapped.x.grid(False),
                                               swapped.y.grid(False), quick=False))
    assert ys[-1] == y[-1] == 1.0 and ys.size == 11
