"""Audit 10: intervals on coarse grids, the parabola refinement at extreme scales, the Scan2D
netCDF round trip and the number types of chi2_level.

Expected values are analytic: a parabola χ² = ((x − x₀)/s)² has its 1σ (Δχ² = 1) interval at
x₀ ± s, which the parabola refinement and the √Δχ² interpolation reproduce exactly; the parabola
through (0, 1), (1, 0), (2, 0.5) has its vertex at x = 7/6, χ² = −1/48.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from cevns.errors import ConfigError, OutputError
from cevns.stats import Profile1D, Scan2D, chi2_level

# -- finding 1: the refined best fit is a point of the profile ---------------------------------


def test_coarse_parabola_interval_is_exact_and_contains_the_best_fit():
    # 4 points: every grid Δχ² is > 1 (5.4, 2.7, …), only the refined minimum is inside
    x = np.linspace(0.17, 0.31, 4)
    prof = Profile1D(x, ((x - 0.24) / 0.01) ** 2)
    assert prof.best == pytest.approx(0.24, abs=1e-12)
    assert prof.chi2_min == pytest.approx(0.0, abs=1e-9)
    (piece,) = prof.interval("1sigma_1dof")
    assert (piece.lower, piece.upper) == pytest.approx((0.23, 0.25), abs=1e-12)
    assert piece.closed and prof.best in piece
    rng = prof.allowed_range(4.0)  # 2σ: x₀ ± 2s
    assert (rng.lower, rng.upper) == pytest.approx((0.22, 0.26), abs=1e-12)


def test_allowed_range_below_every_grid_point_is_not_an_index_error():
    # parabola through (0, 1), (1, 0.1), (2, 0.3): vertex x̂ = 1 + 0.35/1.1, χ²_min = 0.1 − 0.1225/2.2
    prof = Profile1D([0, 1, 2, 3], [1, 0.1, 0.3, 1.5])
    best, cmin = 1 + 0.35 / 1.1, 0.1 - 0.1225 / 2.2
    assert (prof.best, prof.chi2_min) == pytest.approx((best, cmin), rel=1e-12)
    rng = prof.allowed_range(1e-3)
    # √Δχ² interpolated linearly from the best fit (Δχ² = 0) to the grid points 1 and 2
    lo = best + (1 - best) * math.sqrt(1e-3) / math.sqrt(0.1 - cmin)
    hi = best + (2 - best) * math.sqrt(1e-3) / math.sqrt(0.3 - cmin)
    assert (rng.lower, rng.upper) == pytest.approx((lo, hi), rel=1e-12)
    assert rng.closed and prof.best in rng


def test_fine_grid_interval_unchanged():
    # a grid point on each side inside the level: the crossings are between grid points as before
    x = np.linspace(0.0, 1.0, 101)
    prof = Profile1D(x, ((x - 0.503) / 0.1) ** 2)
    (piece,) = prof.interval(1.0)
    assert (piece.lower, piece.upper) == pytest.approx((0.403, 0.603), abs=1e-12)


def test_coarse_profile_table_has_no_nan_and_contains_the_best_fit(tmp_path):
    # the brief's lvl.toml: a 4-point Asimov scan; the old table printed nan (C3F8, combined)
    # and a CsI interval [0.25056, 0.26414] above its best fit 0.24147
    import csv

    from cevns.analyses import RunOptions, parse_analysis, run_analysis

    an = parse_analysis({
        "schema_version": 1, "name": "lvl", "title": "t", "kind": "profile",
        "detectors": ["C3F8", "CsI"], "table": "best-interval", "table_level": "1sigma_1dof",
        "scenario": {"name": "sm", "options": {"form_factor": "common"}},
        "scan": {"parameter": "sin2_theta_w", "start": 0.17, "stop": 0.31, "num": 4},
        "stats": {"levels": ["1sigma_1dof"]}})
    run_analysis(an, tmp_path, RunOptions(no_figures=True))
    with open(tmp_path / "lvl.csv", newline="") as fh:
        rows = {r["detector"]: r for r in csv.DictReader(fh)}
    assert set(rows) == {"C3F8", "CsI", "combined"}
    for row in rows.values():
        best, lo, hi = float(row["best"]), float(row["lower"]), float(row["upper"])
        assert math.isfinite(lo) and math.isfinite(hi)
        assert lo < best < hi
    # C3F8: Δχ² 1.767 and 1.186 at the neighbours of best 0.24232 (√Δχ² interpolation)
    assert float(rows["C3F8"]["lower"]) == pytest.approx(0.22302, abs=2e-5)
    assert float(rows["C3F8"]["upper"]) == pytest.approx(0.26161, abs=2e-5)


# -- finding 9: normalised parabola / quadratic fits ---------------------------------------------


@pytest.mark.parametrize("scale", [1e-300, 1e-100, 1.0, 1e80, 1e160, 1e300])
def test_profile_refinement_at_any_axis_scale(scale):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prof = Profile1D(np.array([0.0, 1.0, 2.0, 3.0]) * scale, [1, 0, 0.5, 2])
    assert prof.best / scale == pytest.approx(7 / 6, rel=1e-12)
    assert prof.chi2_min == pytest.approx(-1 / 48, rel=1e-12)


def test_profile_refinement_near_the_float_range_is_not_nan():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prof = Profile1D([0, 1, 2], [1e308, -1e308, 1e308])
        delta = prof.delta_chi2
    assert prof.best == 1.0
    assert prof.chi2_min == pytest.approx(-1e308, rel=1e-12)
    assert not np.isnan(delta).any() and math.isinf(delta[0])


@pytest.mark.parametrize("scale", [1e-100, 1.0, 1e80, 1e160, 1e300])
def test_scan2d_refinement_at_any_axis_scale(scale):
    x, y = np.arange(5.0), np.arange(6.0)
    dx, dy = x[:, None] - 2.3, y[None, :] - 2.6
    chi2 = dx**2 + dy**2 + 0.3 * dx * dy  # an exact quadratic: vertex (2.3, 2.6), χ² = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scan = Scan2D(x * scale, y * scale, chi2)
    assert (scan.best[0] / scale, scan.best[1] / scale) == pytest.approx((2.3, 2.6), rel=1e-12)
    assert scan.chi2_min == pytest.approx(0.0, abs=1e-12)


# -- finding 10: netCDF round trip ---------------------------------------------------------------


def _cf_file(path):
    """A scan file as the analyses write it (cevns.analyses.cf.scan_dataset): CF attributes,
    empty x_label/y_label attrs, the axis labels in each coordinate's plot_label."""
    from cevns.scan.store import write_netcdf

    x, y = np.linspace(0.2, 0.3, 5), np.linspace(4.5, 5.5, 6)
    chi2 = ((x[:, None] - 0.25) / 0.02) ** 2 + ((y[None, :] - 5.0) / 0.3) ** 2
    ds = Scan2D(x, y, chi2, x_name="sin2_theta_w", y_name="neutron_radius_fm").to_dataset()
    ds.attrs.update(Conventions="CF-1.10", title="t", analysis="fig5", scenario="sm",
                    detector="CsI", confidence_level=np.array([0.6827, 0.9]),
                    delta_chi2_threshold=np.array([2.2957, 4.6052]),
                    degrees_of_freedom=np.array([2, 2], dtype=np.int32),
                    level_labels="a; b")
    ds["chi2"].attrs.update(units="1", long_name="profiled chi-squared")
    ds["delta_chi2"].attrs.update(units="1", long_name="chi-squared minus its minimum")
    ds["sin2_theta_w"].attrs.update(units="1", long_name="sin2 theta w",
                                    plot_label=r"$\sin^2\theta_W$")
    ds["neutron_radius_fm"].attrs.update(units="fm", long_name="R_n", plot_label="$R_n$ [fm]")
    write_netcdf(ds, path)
    return ds


def test_netcdf_round_trip_keeps_metadata_and_labels(tmp_path):
    import xarray as xr

    src = _cf_file(tmp_path / "in.nc")
    scan = Scan2D.from_netcdf(tmp_path / "in.nc")
    assert (scan.x_label, scan.y_label) == (r"$\sin^2\theta_W$", "$R_n$ [fm]")
    scan.to_netcdf(tmp_path / "out.nc")
    with xr.open_dataset(tmp_path / "out.nc") as out:
        for key in ("Conventions", "title", "analysis", "scenario", "detector", "level_labels"):
            assert out.attrs[key] == src.attrs[key]
        for key in ("confidence_level", "delta_chi2_threshold", "degrees_of_freedom"):
            np.testing.assert_array_equal(out.attrs[key], src.attrs[key])
        for var in ("chi2", "delta_chi2", "sin2_theta_w", "neutron_radius_fm"):
            for key in ("units", "long_name"):
                assert out[var].attrs[key] == src[var].attrs[key]
        assert out["sin2_theta_w"].attrs["plot_label"] == r"$\sin^2\theta_W$"
        assert out.attrs["chi2_min"] == pytest.approx(scan.chi2_min, abs=1e-12)


def test_to_netcdf_missing_folder_is_output_error_and_nothing_is_left(tmp_path):
    scan = Scan2D([0.0, 1.0, 2.0], [0.0, 1.0], [[1, 2], [0, 1], [1, 2]])
    with pytest.raises(OutputError, match="nodir"):
        scan.to_netcdf(tmp_path / "nodir" / "s.nc")
    with pytest.raises(OutputError, match="folder"):
        scan.to_netcdf(tmp_path)
    scan.to_netcdf(tmp_path / "s.nc")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.nc"]  # no temporary left
    assert Scan2D.from_netcdf(tmp_path / "s.nc").best == scan.best


# -- finding 16: chi2_level number types -----------------------------------------------------------


def test_chi2_level_accepts_numpy_numbers():
    # 90 % for 2 dof: −2 ln(0.1) = 4.60517… (the χ² CDF with 2 dof is 1 − e^(−x/2))
    assert chi2_level(0.9, dof=np.int64(2)) == pytest.approx(-2 * math.log(0.1), rel=1e-14)
    assert chi2_level(np.float64(0.9), dof=2) == pytest.approx(-2 * math.log(0.1), rel=1e-14)
    # np.float32(0.9) is 0.89999998; 1 dof: Δχ² = (√2 erfinv(cl))², i.e. n_sigma² for n = 2
    assert chi2_level(n_sigma=np.float32(2.0)) == pytest.approx(4.0, rel=1e-12)
    assert chi2_level(np.float32(0.9)) == pytest.approx(2.7055, rel=1e-4)


def test_chi2_level_refuses_a_level_that_underflows_and_bools():
    with pytest.raises(ConfigError, match="cl"):
        chi2_level(1e-320)
    with pytest.raises(ConfigError, match="dof"):
        chi2_level(0.9, dof=np.bool_(True))
    with pytest.raises(ConfigError, match="cl"):
        chi2_level(np.bool_(True))


@pytest.mark.parametrize(("name", "words"), [
    ("a/b", "cannot name a netCDF dimension"), ("a\nb", "cannot name a netCDF dimension"),
    (" a", "cannot name a netCDF dimension"), ("chi2", "is the name of a variable"),
    ("delta_chi2", "is the name of a variable"),
])
def test_scan2d_axis_names_that_netcdf_cannot_hold_are_refused(name, words):
    # these failed only in to_netcdf, with bare AttributeError/ValueError of netCDF4 and xarray
    x, y = np.linspace(0, 1, 3), np.linspace(0, 1, 4)
    with pytest.raises(ConfigError, match=words):
        Scan2D(x, y, np.zeros((3, 4)), x_name=name)
    Scan2D(x, y, np.zeros((3, 4)), x_name="sin2w", y_name="Rn fm")  # a space inside is valid
