"""Levels, 1D intervals, 2D contours and exclusion curves read off Δχ² grids."""

from __future__ import annotations

import csv
import importlib.util
import math

import matplotlib
import numpy as np
import pytest
from scipy.stats import chi2 as chi2_dist

from cevns.errors import ConfigError, MissingDependencyError, UnknownNameError
from cevns.stats import (
    LEVEL_PRESETS,
    Interval,
    Profile1D,
    Scan2D,
    chi2_level,
    exclusion_curve,
    level_label,
    level_value,
)

matplotlib.use("Agg")


# -- levels ----------------------------------------------------------------------------------------


def test_level_presets_match_the_paper_numbers():
    # docs/physics.md#likelihood: 1 dof 1.00 (1σ), 2.71 (90 %); 2 dof 2.30 (1σ), 4.61 (90 %).
    assert level_value("1sigma_1dof") == pytest.approx(1.0, abs=1e-12)
    assert level_value("90cl_1dof") == pytest.approx(2.706, abs=1e-3)
    assert level_value("1sigma_2dof") == pytest.approx(2.296, abs=1e-3)
    assert level_value("90cl_2dof") == pytest.approx(4.605, abs=1e-3)
    assert level_value("95cl_2dof") == pytest.approx(chi2_dist.ppf(0.95, 2))
    assert level_value("3sigma_1dof") == pytest.approx(9.0, rel=1e-10)
    assert chi2_level(0.9, dof=3) == pytest.approx(chi2_dist.ppf(0.9, 3))
    assert chi2_level(n_sigma=2, dof=1) == pytest.approx(4.0, rel=1e-10)
    assert set(LEVEL_PRESETS) >= {"1sigma_1dof", "90cl_1dof", "1sigma_2dof", "90cl_2dof"}
    assert level_value(3.5) == 3.5
    assert "90 % C.L., 2 dof" in level_label("90cl_2dof")


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_level_must_be_positive(bad):
    with pytest.raises(ConfigError, match="level"):
        level_value(bad)


def test_level_errors():
    with pytest.raises(UnknownNameError, match="90cl_1dof"):
        level_value("90cl")
    with pytest.raises(ConfigError, match="exactly one"):
        chi2_level()
    with pytest.raises(ConfigError, match="cl must be"):
        chi2_level(1.5)
    with pytest.raises(ConfigError, match="dof"):
        chi2_level(0.9, dof=0)


# -- Profile1D -------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", [1.0, "90cl_1dof", 4.0, 6.3])
def test_parabola_interval_edges(level):
    # χ² = ((x − x0)/s)² + c: the edges are x0 ± s √level exactly; √Δχ² interpolation is exact for
    # a parabola, and the parabolic refinement finds x0 and c off the grid.
    x0, s, c = 0.2391, 0.0123, 7.5
    x = np.linspace(0.15, 0.33, 37)
    prof = Profile1D(x, ((x - x0) / s) ** 2 + c, parameter="sin2w")
    assert prof.best == pytest.approx(x0, abs=1e-12)
    assert prof.chi2_min == pytest.approx(c, abs=1e-10)
    (piece,) = prof.interval(level)
    half = s * math.sqrt(level_value(level))
    assert piece.lower == pytest.approx(x0 - half, abs=1e-10)
    assert piece.upper == pytest.approx(x0 + half, abs=1e-10)
    assert piece.closed
    lo, hi = piece  # unpacks as (lower, upper)
    assert (lo, hi) == (piece.lower, piece.upper)


def test_non_parabolic_profile_linear_precision():
    # Δχ² = |x|³: edges at ±level^(1/3); interpolation error ~ h² f''/f' on a grid of step h.
    x = np.linspace(-2, 2, 401)
    prof = Profile1D(x, np.abs(x) ** 3, refine=False)
    (piece,) = prof.interval(2.0)
    assert piece.upper == pytest.approx(2 ** (1 / 3), abs=1e-3)
    assert piece.lower == pytest.approx(-(2 ** (1 / 3)), abs=1e-3)


def test_open_intervals_are_flagged():
    x = np.linspace(0, 1, 21)
    prof = Profile1D(x, ((x - 0.1) / 0.3) ** 2)
    (piece,) = prof.interval(1.0)
    assert piece.lower_open and piece.lower == 0.0
    assert not piece.upper_open and piece.upper == pytest.approx(0.4, abs=1e-10)
    assert not piece.closed
    assert str(piece).startswith("[≤0")
    flat = Profile1D(x, 0.1 * x)  # never reaches 1: open on both sides
    (piece,) = flat.interval(1.0)
    assert piece.lower_open and piece.upper_open
    assert (piece.lower, piece.upper) == (0.0, 1.0)
    assert flat.best_at_edge and flat.best == 0.0


def test_two_piece_interval_and_envelope():
    # Double well: Δχ² = ((x² − 1)/0.2)²; Δχ² ≤ 1 near x = ±1: |x² − 1| ≤ 0.2.
    x = np.linspace(-2, 2, 801)
    prof = Profile1D(x, ((x**2 - 1) / 0.2) ** 2, refine=False)
    pieces = prof.interval(1.0)
    assert len(pieces) == 2
    expected = [(-math.sqrt(1.2), -math.sqrt(0.8)), (math.sqrt(0.8), math.sqrt(1.2))]
    for piece, (lo, hi) in zip(pieces, expected, strict=True):
        assert piece.lower == pytest.approx(lo, abs=1e-4)
        assert piece.upper == pytest.approx(hi, abs=1e-4)
    env = prof.allowed_range(1.0)
    assert env.lower == pieces[0].lower and env.upper == pieces[1].upper


def test_profile_with_infinite_points():
    x = np.linspace(0, 1, 11)
    chi = (x - 0.5) ** 2 * 100
    chi[-1] = np.inf
    prof = Profile1D(x, chi)
    (piece,) = prof.interval(100.0)
    assert piece.lower == pytest.approx(0.0, abs=1e-12)
    assert piece.upper == pytest.approx(0.9)  # the last finite grid point before inf
    assert not piece.upper_open


def test_profile_outputs(tmp_path):
    x = np.linspace(-1, 1, 11)
    prof = Profile1D(x, x**2 * 4, parameter="Rn_fm", label="R_n (fm)")
    path = tmp_path / "p.csv"
    prof.to_csv(path)
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["Rn_fm", "chi2", "delta_chi2"]
    assert len(rows) == 12 and float(rows[1][0]) == -1.0
    d = prof.to_dict()
    assert d["parameter"] == "Rn_fm" and d["best"] == pytest.approx(0.0, abs=1e-12)
    assert "Profile1D('Rn_fm'" in repr(prof) and "Δχ² = 1" in repr(prof)
    assert "<table>" in prof._repr_html_()
    from matplotlib.figure import Figure

    ax = Figure().subplots()
    assert prof.plot(ax) is ax
    assert ax.get_xlabel() == "R_n (fm)"
    assert len(ax.lines) == 3  # curve + two level lines
    prof.plot(levels=())  # pyplot's current axes


def test_interval_methods():
    piece = Interval(1.0, 3.0)
    assert 2.0 in piece and 4.0 not in piece and piece.width == 2.0 and piece.closed


# -- grid validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ([], "x is empty"),
        ([1.0], "at least 2"),
        ([3.0, 2.0, 1.0], "x is decreasing"),
        ([1.0, 3.0, 2.0], "strictly increasing"),
        ([1.0, 1.0, 2.0], "strictly increasing"),
        ([[1.0, 2.0]], "one-dimensional"),
        ([1.0, np.nan], "finite"),
    ],
)
def test_bad_grids_name_the_argument(grid, message):
    with pytest.raises(ConfigError, match=message):
        Profile1D(grid, np.zeros(np.size(grid)))


def test_bad_values():
    with pytest.raises(ConfigError, match=r"chi2 has shape \(2,\)"):
        Profile1D([0, 1, 2], [0, 1])
    with pytest.raises(ConfigError, match="NaN"):
        Profile1D([0, 1, 2], [0, np.nan, 1])
    with pytest.raises(ConfigError, match="no finite"):
        Profile1D([0, 1], [np.inf, np.inf])
    with pytest.raises(ConfigError, match="y is decreasing"):
        Scan2D([0, 1], [2, 1], np.zeros((2, 2)))
    with pytest.raises(ConfigError, match=r"delta_chi2 has shape"):
        exclusion_curve([0, 1], [0, 1, 2], np.zeros((3, 2)), 1.0)
    with pytest.raises(ConfigError, match="y is empty"):
        exclusion_curve([0, 1], [], np.zeros((2, 0)), 1.0)
    with pytest.raises(ConfigError, match="level"):
        exclusion_curve([0, 1], [0, 1], np.zeros((2, 2)), 0.0)
    with pytest.raises(ConfigError, match="axis"):
        exclusion_curve([0, 1], [0, 1], np.zeros((2, 2)), 1.0, axis=2)


# -- Scan2D ----------------------------------------------------------------------------------------


def bowl():
    # Δχ² = ((x − x0)/a)² + ((y − y0)/b)² + c on a grid that contains the 3σ ellipse.
    x0, y0, a, b, c = 0.31, -0.17, 0.5, 2.0, 1.25
    x = np.linspace(-1.5, 2.0, 141)
    y = np.linspace(-8.0, 7.0, 161)
    gx, gy = np.meshgrid(x, y, indexing="ij")
    chi = ((gx - x0) / a) ** 2 + ((gy - y0) / b) ** 2 + c
    return Scan2D(x, y, chi, x_name="sin2w", y_name="Rn"), (x0, y0, a, b, c)


@pytest.mark.parametrize("level", ["1sigma_2dof", "90cl_2dof", 9.0])
def test_contour_of_quadratic_bowl_is_the_ellipse(level):
    scan, (x0, y0, a, b, c) = bowl()
    assert scan.best == pytest.approx((x0, y0), abs=1e-9)
    assert scan.chi2_min == pytest.approx(c, abs=1e-9)
    (line,) = scan.contours(level)
    assert line.shape[1] == 2 and np.allclose(line[0], line[-1])  # one closed line
    radius = np.hypot((line[:, 0] - x0) / a, (line[:, 1] - y0) / b)
    # contourpy interpolates linearly along grid edges: error ~ (h/2)² f''/f' ≈ 1e-3 relative.
    np.testing.assert_allclose(radius, math.sqrt(level_value(level)), rtol=2e-3)
    # The ellipse goes all the way round.
    angle = np.arctan2((line[:, 1] - y0) / b, (line[:, 0] - x0) / a)
    assert np.ptp(angle) > 6.0


def test_scan2d_profiles_and_outputs(tmp_path):
    scan, (x0, y0, a, b, c) = bowl()
    px = scan.profile("sin2w")
    (piece,) = px.interval(1.0)
    assert piece.lower == pytest.approx(x0 - a, abs=1e-3)
    assert piece.upper == pytest.approx(x0 + a, abs=1e-3)
    py = scan.profile("y")
    assert py.parameter == "Rn"
    with pytest.raises(ConfigError, match="along"):
        scan.profile("z")

    path = tmp_path / "contours.csv"
    scan.to_csv(path, levels=("1sigma_2dof", "90cl_2dof"))
    rows = list(csv.DictReader(path.open()))
    assert list(rows[0]) == ["x", "y", "segment", "level"]
    levels = {round(float(r["level"]), 3) for r in rows}
    assert levels == {2.296, 4.605}
    scan.to_csv(path, columns=("sin2w", "Rn_fm"))
    assert next(csv.reader(path.open())) == ["sin2w", "Rn_fm", "segment", "level"]

    text = repr(scan)
    assert "Scan2D('sin2w', 'Rn')" in text and "1 contour line(s)" in text
    assert "<table>" in scan._repr_html_()
    from matplotlib.figure import Figure

    ax = Figure().subplots()
    scan.plot(ax, levels=("1sigma_2dof", "90cl_2dof"))
    scan.plot(ax, filled=True)
    assert ax.get_xlabel() == "sin2w"


@pytest.mark.parametrize(
    "engine",
    [
        "scipy",
        "netcdf4",
        pytest.param(
            "h5netcdf",
            marks=pytest.mark.skipif(
                importlib.util.find_spec("h5netcdf") is None or importlib.util.find_spec("h5py") is None,
                reason="h5netcdf with h5py (an optional engine) is not installed",
            ),
        ),
    ],
)
def test_scan2d_netcdf_round_trip(tmp_path, engine):
    import xarray as xr

    scan, (x0, y0, a, b, c) = bowl()
    nc = tmp_path / "scan.nc"
    scan.to_netcdf(nc, engine=engine)
    back = Scan2D.from_netcdf(nc, engine=engine)
    np.testing.assert_array_equal(back.chi2, scan.chi2)
    np.testing.assert_array_equal(back.x, scan.x)
    assert (back.x_name, back.y_name) == ("sin2w", "Rn")
    with xr.open_dataset(nc, engine=engine) as ds:
        assert ds["delta_chi2"].dims == ("sin2w", "Rn")
        assert ds.attrs["chi2_min"] == pytest.approx(c)


def test_netcdf_engine_errors(tmp_path, monkeypatch):
    scan, _ = bowl()
    with pytest.raises(ConfigError, match="engine"):
        scan.to_netcdf(tmp_path / "x.nc", engine="zarr")
    with pytest.raises(ConfigError, match="engine"):
        Scan2D.from_netcdf(tmp_path / "x.nc", engine="netCDF4")  # the engine, not the module
    with pytest.raises(ConfigError, match="engine"):
        scan.to_netcdf(tmp_path / "x.nc", engine=["netcdf4"])
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "h5py" else real(name, *a)
    )
    with pytest.raises(MissingDependencyError, match=r"h5netcdf\[h5py\]"):
        scan.to_netcdf(tmp_path / "x.nc", engine="h5netcdf")
    scan.to_netcdf(tmp_path / "x.nc")  # the default (netCDF4) does not need h5py
    monkeypatch.setattr(
        importlib.util, "find_spec",
        lambda name, *a: None if name in ("h5py", "netCDF4") else real(name, *a),
    )
    with pytest.raises(MissingDependencyError, match="pip install netCDF4"):
        scan.to_netcdf(tmp_path / "y.nc")
    with pytest.raises(MissingDependencyError, match="pip install netCDF4"):
        scan.to_netcdf(tmp_path / "y.nc", engine="netcdf4")
    assert not (tmp_path / "y.nc").exists()


def test_scan2d_open_contour_touches_the_boundary():
    x = np.linspace(0, 1, 41)
    y = np.linspace(0, 1, 51)
    gx, gy = np.meshgrid(x, y, indexing="ij")
    scan = Scan2D(x, y, (gx / 0.5) ** 2 + (gy / 0.5) ** 2)
    (line,) = scan.contours(1.0)
    # Quarter circle of radius 0.5 from the x axis to the y axis: an open line.
    assert not np.allclose(line[0], line[-1])
    np.testing.assert_allclose(np.hypot(line[:, 0], line[:, 1]), 0.5, rtol=2e-3)
    assert scan.best_at_edge


# -- exclusion curves ------------------------------------------------------------------------------


def power_surface(g, m):
    # Synthetic Δχ² = (g / g0(m))⁴ with g0 rising over the mass range.
    g0 = 1e-5 * (1 + (m / 20.0) ** 2)
    return (g[None, :] / g0[:, None]) ** 4, g0


@pytest.mark.parametrize("level", ["90cl_2dof", "90cl_1dof"])
def test_exclusion_recovers_power_law_on_log_grid(level):
    mass = np.linspace(1, 60, 30)
    g = np.logspace(-7, -3, 81)
    d, g0 = power_surface(g, mass)
    curve = exclusion_curve(mass, g, d, level, names=("mass_MeV", "coupling"))
    assert curve.log and curve.found.all() and not curve.below_grid.any()
    # log–log interpolation is exact for a power law.
    np.testing.assert_allclose(curve.limit, g0 * level_value(level) ** 0.25, rtol=1e-10)
    # axis=0 with the transposed surface gives the same curve.
    again = exclusion_curve(g, mass, d.T, level, axis=0)
    np.testing.assert_allclose(again.limit, curve.limit, rtol=1e-12)


def test_exclusion_on_linear_grid():
    mass = np.linspace(1, 60, 30)
    g = np.linspace(0, 2e-4, 2001)
    d, g0 = power_surface(g, mass)
    curve = exclusion_curve(mass, g, d, 4.61)
    assert not curve.log
    # Linear interpolation of a quartic between points 1e-7 apart: relative error < 1e-3.
    np.testing.assert_allclose(curve.limit, g0 * 4.61**0.25, rtol=1e-3)
    assert not exclusion_curve(mass, g, d, 4.61, log=False).log


def test_exclusion_masks_and_csv(tmp_path):
    mass = np.array([1.0, 2.0, 3.0])
    g = np.logspace(-4, -2, 21)
    g0 = np.array([1e-5, 1e-3, 1.0])  # below the grid, inside it, above it
    d = (g[None, :] / g0[:, None]) ** 4
    curve = exclusion_curve(mass, g, d, "90cl_2dof", names=("mass_MeV", "coupling"))
    assert curve.found.tolist() == [False, True, False]
    assert curve.below_grid.tolist() == [True, False, False]
    assert not np.any(np.isnan(curve.limit))
    assert curve.limit[0] == g[0] and curve.limit[2] == g[-1]
    path = tmp_path / "excl.csv"
    curve.to_csv(path)
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["mass_MeV", "coupling"] and len(rows) == 2
    assert float(rows[1][1]) == pytest.approx(1e-3 * level_value("90cl_2dof") ** 0.25)
    curve.to_csv(path, columns=("m4", "g"), include_missing=True)
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["m4", "g", "found"] and [r[2] for r in rows[1:]] == ["0", "1", "0"]
    assert "crossing found at 1 / 3" in repr(curve) and "below the grid" in repr(curve)
    assert curve.to_dict()["found"] == [False, True, False]
    from matplotlib.figure import Figure

    curve.plot(Figure().subplots())


def test_scan2d_exclusion_shortcut():
    mass = np.linspace(1, 60, 12)
    g = np.logspace(-7, -3, 41)
    d, g0 = power_surface(g, mass)
    scan = Scan2D(mass, g, d, x_name="mass_MeV", y_name="g")
    curve = scan.exclusion()
    assert curve.names == ("mass_MeV", "g")
    np.testing.assert_allclose(curve.limit, g0 * level_value("90cl_2dof") ** 0.25, rtol=1e-6)


def test_status_is_carried_into_profiles_scans_and_exclusion_curves(tmp_path):
    import xarray as xr

    from cevns.stats import Profile1D, Scan2D, exclusion_curve

    x = np.linspace(-1.0, 1.0, 21)
    status = np.zeros(21, dtype=np.int8)
    status[3], status[-1] = 2, 1
    prof = Profile1D(x, x**2 * 10, status=status)
    assert prof.n_unconverged == 1 and "unconverged points" in repr(prof)
    prof.to_csv(tmp_path / "p.csv")
    header, *rows = (tmp_path / "p.csv").read_text().splitlines()
    assert header.endswith(",status") and rows[3].endswith(",2") and rows[-1].endswith(",1")
    with pytest.raises(ConfigError, match="status"):
        Profile1D(x, x**2, status=np.full(21, 3))

    y = np.geomspace(1e-3, 1.0, 30)
    d = np.outer(np.ones(4), (y / 1e-2) ** 2)  # Δχ² = 4.61 near y = 2.1e-2 in every row
    st = np.zeros(d.shape, dtype=np.int8)
    j = int(np.argmax(d[1] >= 4.61))
    st[1, j] = 2  # a bracketing point of row 1 unconverged
    st[2, 0] = 2  # far from the crossing of row 2: the limit does not rest on it
    curve = exclusion_curve(np.arange(4.0), y, d, 4.61, status=st)
    assert curve.reliable.tolist() == [True, False, True, True]
    assert "resting on unconverged" in repr(curve)
    assert exclusion_curve(np.arange(4.0), y, d, 4.61).reliable.all()

    scan = Scan2D(np.arange(4.0), y, d, status=st)
    assert scan.n_unconverged == 2
    path = tmp_path / "s.nc"
    scan.to_netcdf(path)
    with xr.open_dataset(path, engine="netcdf4") as ds:
        assert ds["status"].values.tolist() == st.tolist()
    assert Scan2D.from_netcdf(path).status.tolist() == st.tolist()


def test_finite_delta_replaces_non_finite_cells_above_every_level():
    """Non-finite cells become 1000 × the largest finite Δχ² (at least 1000), finite ones stay."""
    from cevns.stats import finite_delta

    d = np.array([[0.0, 2.5, np.inf], [np.nan, 7.0, -np.inf]])
    out = finite_delta(d)
    assert out[0, 0] == 0.0 and out[0, 1] == 2.5 and out[1, 1] == 7.0
    assert np.all(out[~np.isfinite(d)] == 7000.0)
    # small grids: the floor of 1000 keeps the replaced cells above the 5σ levels
    assert np.all(finite_delta(np.array([0.0, 0.5, np.inf]))[2] == 1000.0)
    # nothing finite: every cell 1000 (not an error on an empty max)
    assert np.all(finite_delta(np.full((2, 2), np.nan)) == 1000.0)


def test_results_are_read_only_copies():
    """Profile1D and Scan2D own read-only copies of their grids, χ² and status: writing raises
    (it could make best, χ²_min and the intervals disagree with the grid), and changing the
    caller's arrays afterwards changes nothing (they were held as given before)."""
    x = np.linspace(0.0, 2.0, 21)
    chi2 = (x - 1.0) ** 2  # a parabola: best 1.0, χ²_min 0 (exact vertex)
    prof = Profile1D(x, chi2, parameter="p")
    y = np.linspace(-1.0, 1.0, 11)
    grid = (x[:, None] - 1.0) ** 2 + y[None, :] ** 2
    scan = Scan2D(x, y, grid, x_name="a", y_name="b")
    for arr in (prof.x, prof.chi2, prof.status, scan.x, scan.y, scan.chi2, scan.status):
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 5
        assert not arr.flags.writeable
    x[0], chi2[10], grid[10, 5] = -1.0, 7.0, 7.0
    assert prof.x[0] == 0.0 and prof.chi2[10] == 0.0 and scan.x[0] == 0.0
    assert scan.chi2[10, 5] == 0.0
    assert prof.best == pytest.approx(1.0) and prof.chi2_min == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("bad", [True, False, np.True_, np.array(True)])
def test_level_refuses_bools(bad):
    """A bool is not a level: float(True) == 1 made level_value(True) the Δχ² = 1 level."""
    with pytest.raises(ConfigError, match=r"level must be a preset name or a Δχ² value > 0, got "
                                          r"the bool"):
        level_value(bad)
    with pytest.raises(ConfigError, match="level must be"):
        level_label(bad)


def test_chi2_level_refuses_bool_dof_and_n_sigma():
    # True == 1: dof=True was 1 dof and n_sigma=True 1σ
    with pytest.raises(ConfigError, match="dof must be an integer ≥ 1, got True"):
        chi2_level(0.9, dof=True)
    with pytest.raises(ConfigError, match="n_sigma must be a finite number > 0, got True"):
        chi2_level(n_sigma=True)
    assert chi2_level(n_sigma=1.0) == pytest.approx(1.0)  # Wilks, 1 dof: 1σ is Δχ² = 1


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 20, 30, 37])
def test_n_sigma_levels_are_exact_far_into_the_tail(n):
    """Closed forms: for one dof the quantile of CL = erf(n/√2) is n² (Δχ² = z²); for two dof the
    χ² CDF is 1 − exp(−x/2), so the quantile is −2 ln erfc(n/√2). Computing from the CL lost
    this above n ≈ 7 (n = 8 gave 64.037, n = 9 was refused as CL rounded to 1)."""
    assert chi2_level(n_sigma=n) == pytest.approx(n * n, rel=1e-12)
    assert chi2_level(n_sigma=n, dof=2) == pytest.approx(
        -2.0 * math.log(math.erfc(n / math.sqrt(2.0))), rel=1e-12)


@pytest.mark.parametrize("bad", [40, 1e6, math.inf, math.nan, "3"])
def test_n_sigma_beyond_double_precision_or_not_a_number_is_refused(bad):
    with pytest.raises(ConfigError, match="n_sigma"):
        chi2_level(n_sigma=bad)


def test_cl_close_to_one_uses_the_tail():
    # two dof, closed form −2 ln(1 − CL); 1 − CL is computed exactly in binary (Sterbenz)
    for cl in (1.0 - 1e-4, 1.0 - 1e-9, 1.0 - 1e-14):
        assert chi2_level(cl, dof=2) == pytest.approx(-2.0 * math.log(1.0 - cl), rel=1e-12)


def test_the_to_csv_methods_name_a_folder_and_a_missing_folder(tmp_path):
    # audit 5: a bare IsADirectoryError / FileNotFoundError used to reach the user
    from cevns.errors import OutputError

    x = np.linspace(0.0, 1.0, 11)
    prof = Profile1D(x, (x - 0.5) ** 2 * 100)
    scan = Scan2D(x, x, (x[:, None] - 0.5) ** 2 * 100 + (x[None, :] - 0.5) ** 2 * 100)
    curve = exclusion_curve(x[1:], x[1:], (x[None, 1:] / 0.5) ** 4 * np.ones((10, 1)),
                            "90cl_2dof")
    for write in (prof.to_csv, scan.to_csv, curve.to_csv):
        with pytest.raises(OutputError, match=rf"cannot write {tmp_path}: it is a folder"):
            write(tmp_path)
        with pytest.raises(OutputError, match=r"cannot write .*/nope/r\.csv"):
            write(tmp_path / "nope" / "r.csv")
        write(tmp_path / "r.csv")
        assert (tmp_path / "r.csv").read_text().count("\n") >= 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv"]  # no temporary left behind
