"""netCDF results with CF attributes: write through the runners, read back with xarray, compare."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import xarray as xr

from cevns.analyses import RunOptions, parse_analysis, run_analysis
from cevns.analyses.cf import level_info
from cevns.stats import Scan2D

HEAD = {"schema_version": 1, "title": "t", "paper": "Fig. X"}


def _open(path, engine="netcdf4"):
    with xr.open_dataset(path, engine=engine) as ds:
        return ds.load()


def test_level_info_against_closed_forms():
    # 2 dof: Δχ² = −2 ln(1 − CL) exactly; 1 dof, 1σ: Δχ² = 1 by definition of erf(1/√2)
    info = level_info("90cl_2dof", 1)
    assert info["dof"] == 2 and info["confidence_level"] == 0.9
    assert info["delta_chi2"] == pytest.approx(-2 * math.log(0.1), rel=1e-12)
    one = level_info("1sigma_1dof", 2)
    assert one["dof"] == 1 and one["delta_chi2"] == pytest.approx(1.0, rel=1e-12)
    assert one["confidence_level"] == pytest.approx(math.erf(1 / math.sqrt(2)), rel=1e-15)
    # a bare number: dof from the scan, CL = 1 − exp(−Δχ²/2) for 2 dof
    bare = level_info(3.0, 2)
    assert bare["dof"] == 2
    assert bare["confidence_level"] == pytest.approx(1 - math.exp(-1.5), rel=1e-12)


def test_profile_netcdf(tmp_path):
    an = parse_analysis({**HEAD, "name": "prof", "kind": "profile", "detectors": ["CsI", "Ar"],
                         "scenario": {"name": "sm"},
                         "scan": {"parameter": "sin2_theta_w", "start": 0.2, "stop": 0.28,
                                  "num": 44}})
    run_analysis(an, tmp_path, RunOptions(quick=True))
    ds = _open(tmp_path / "prof_profile.nc")
    assert list(ds["detector"].values) == ["CsI", "Ar", "combined"]
    assert ds["sin2_theta_w"].attrs["units"] == "1"
    assert ds["delta_chi2"].attrs["units"] == "1" and ds["chi2"].attrs["long_name"]
    np.testing.assert_allclose(ds.attrs["confidence_level"], [math.erf(1 / math.sqrt(2)), 0.9],
                               rtol=1e-12)
    np.testing.assert_array_equal(ds.attrs["degrees_of_freedom"], [1, 1])
    assert ds.attrs["Conventions"] == "CF-1.10" and ds.attrs["paper"] == "Fig. X"
    # the same numbers as the per-detector CSV (written with repr: exact)
    for det in ("CsI", "Ar", "combined"):
        with open(tmp_path / f"prof_profile_{det}.csv") as fh:
            rows = list(csv.DictReader(fh))
        np.testing.assert_array_equal(ds["sin2_theta_w"].values,
                                      [float(r["sin2_theta_w"]) for r in rows])
        # the CSV's "chi2" column is χ² minus its grid minimum: our delta_chi2
        np.testing.assert_array_equal(ds["delta_chi2"].sel(detector=det).values,
                                      [float(r["chi2"]) for r in rows])
        assert float(ds["delta_chi2"].sel(detector=det).min()) == 0.0


def test_scan2d_netcdf(tmp_path):
    an = parse_analysis({**HEAD, "name": "s2", "kind": "scan2d", "detectors": ["Ar"],
                         "scenario": {"name": "sm", "options": {"form_factor": "separate"}},
                         "stats": {"levels": ["1sigma_2dof", "90cl_2dof"]},
                         "x": {"parameter": "sin2_theta_w", "start": 0.2, "stop": 0.28, "num": 44},
                         "y": {"parameter": "neutron_radius_fm", "start": 3.0, "stop": 4.5,
                               "num": 44}})
    run_analysis(an, tmp_path, RunOptions(quick=True))
    path = tmp_path / "s2_Ar.nc"
    ds = _open(path)
    assert ds["neutron_radius_fm"].attrs["units"] == "fm"
    assert "neutron radius" in ds["neutron_radius_fm"].attrs["long_name"]
    assert ds["sin2_theta_w"].attrs["units"] == "1"
    np.testing.assert_allclose(ds.attrs["confidence_level"],
                               [math.erf(1 / math.sqrt(2)), 0.9], rtol=1e-12)
    np.testing.assert_array_equal(ds.attrs["degrees_of_freedom"], [2, 2])
    np.testing.assert_allclose(ds["delta_chi2"].attrs["delta_chi2_threshold"][1],
                               -2 * math.log(0.1), rtol=1e-12)
    assert ds.attrs["detector"] == "Ar"
    # Scan2D still reads the annotated file, and its numbers are the file's
    scan = Scan2D.from_netcdf(path)
    np.testing.assert_array_equal(scan.chi2, ds["chi2"].values)
    np.testing.assert_array_equal(scan.x, ds["sin2_theta_w"].values)


def test_exclusion_netcdf(tmp_path):
    an = parse_analysis({**HEAD, "name": "ex", "kind": "exclusion", "detectors": ["CsI", "Ar"],
                         "scenario": {"name": "ngi", "options": {"interaction": "scalar"}},
                         "level": "90cl_2dof",
                         "x": {"parameter": "mediator_mass_MeV", "start": 0.1, "stop": 1e3,
                               "num": 44, "spacing": "log"},
                         "y": {"parameter": "coupling", "start": 1e-7, "stop": 1e-2, "num": 44,
                               "spacing": "log"}})
    run_analysis(an, tmp_path, RunOptions(quick=True))
    ds = _open(tmp_path / "ex_exclusion.nc")
    assert ds["limit"].dims == ("variant", "detector", "mediator_mass_MeV")
    assert ds["mediator_mass_MeV"].attrs["units"] == "MeV"
    assert ds["limit"].attrs["units"] == "1"
    # one level: netCDF stores a length-1 attribute as a scalar
    assert float(ds.attrs["confidence_level"]) == 0.9 and int(ds.attrs["degrees_of_freedom"]) == 2
    assert float(ds["limit"].attrs["delta_chi2_threshold"]) == pytest.approx(-2 * math.log(0.1))
    # every CSV row is in the netCDF file, with identical numbers; NaN exactly where not found
    with open(tmp_path / "ex.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert rows
    for r in rows:
        point = ds["limit"].sel(variant=r["variant"], detector=r["detector"],
                                mediator_mass_MeV=float(r["mass_MeV"]))
        assert float(point) == float(r["coupling"])
    n_found = int(ds["found"].sum())
    assert n_found == len(rows)
    assert int(np.isnan(ds["limit"].values).sum()) == ds["limit"].size - n_found


def _layout(path):
    """Global attributes, variables in file order with dimensions, dtype, attribute names
    and types, and HDF5 storage (chunking, filters), as netCDF-C sees them."""
    import netCDF4

    with netCDF4.Dataset(path, "r") as f:
        return ({k: type(f.getncattr(k)) for k in f.ncattrs()}, f.data_model,
                {n: (v.dimensions, v.dtype, {k: type(v.getncattr(k)) for k in v.ncattrs()},
                     v.chunking(), v.filters()) for n, v in f.variables.items()})


def _sample():
    return xr.Dataset(
        {"chi2": (("x", "y"), np.arange(12.0).reshape(3, 4).clip(0, 9) / 7,
                  {"units": "1", "levels": np.array([2.3, 4.6]), "label": "Δχ² = 4.605"}),
         "status": (("x", "y"), np.zeros((3, 4), dtype=np.int8), {"flag_values": "0 1 2"}),
         "limit": (("detector", "x"), np.array([[1.0, np.nan, 3.0]] * 2))},
        coords={"x": ("x", [0.1, 0.2, 0.3], {"units": "MeV"}), "y": np.arange(4.0),
                "detector": ("detector", ["CsI", "combined"])},
        attrs={"title": "t — Δχ²", "dof": np.int32(2), "best_x": float("nan"), "variant": ""})


def test_to_netcdf_writes_the_file_of_xarray_to_netcdf_without_dask_distributed(tmp_path):
    # the CF writer skips xarray's question to dask (which imports distributed); the file must
    # be the one Dataset.to_netcdf(engine="netcdf4") writes: same decoded content, variables,
    # dtypes, attributes and storage
    import subprocess
    import sys

    from cevns.analyses.cf import to_netcdf

    ds = _sample()
    ds.to_netcdf(tmp_path / "ref.nc", engine="netcdf4")
    to_netcdf(ds, tmp_path / "new.nc")
    xr.testing.assert_identical(_open(tmp_path / "new.nc"), _open(tmp_path / "ref.nc"))
    assert _layout(tmp_path / "new.nc") == _layout(tmp_path / "ref.nc")
    assert _layout(tmp_path / "new.nc")[1] == "NETCDF4"
    script = ("import sys, numpy as np, xarray as xr; from cevns.analyses.cf import to_netcdf; "
              "to_netcdf(xr.Dataset({'a': ('x', np.arange(3.0))}), sys.argv[1]); "
              "print('distributed' in sys.modules, 'netCDF4' in sys.modules, 'h5py' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "s.nc")], check=True,
                         capture_output=True, text=True).stdout.split()
    assert out == ["False", "True", "False"]


def test_write_netcdf_h5netcdf_fallback_and_dask_arrays(tmp_path):
    # without netCDF4 the writer goes through h5netcdf: again the file of Dataset.to_netcdf
    pytest.importorskip("h5netcdf")
    pytest.importorskip("h5py")
    from cevns.scan.store import write_netcdf

    ds = _sample()
    ds.to_netcdf(tmp_path / "ref.nc", engine="h5netcdf")
    write_netcdf(ds, tmp_path / "new.nc", engine="h5netcdf")
    xr.testing.assert_identical(_open(tmp_path / "new.nc", "h5netcdf"),
                                _open(tmp_path / "ref.nc", "h5netcdf"))
    assert _layout(tmp_path / "new.nc") == _layout(tmp_path / "ref.nc")
    # the two engines write the same data (read back by either library)
    write_netcdf(ds, tmp_path / "nc4.nc", engine="netcdf4")
    xr.testing.assert_identical(_open(tmp_path / "nc4.nc", "h5netcdf"), _open(tmp_path / "ref.nc"))
    # dask-backed variables are written by Dataset.to_netcdf (its writer computes the chunks)
    pytest.importorskip("dask.array")
    write_netcdf(ds.chunk({"x": 2}), tmp_path / "dask.nc")
    xr.testing.assert_identical(_open(tmp_path / "dask.nc"), _open(tmp_path / "ref.nc"))


def test_write_dataset_names_a_missing_folder_and_a_folder_in_the_way(tmp_path):
    # netCDF-C reports both as "Permission denied"; the writer names them (OutputError, no traceback)
    from cevns.analyses.cf import write_dataset
    from cevns.errors import OutputError

    ds = _sample()
    with pytest.raises(OutputError, match="no such folder"):
        write_dataset(ds, tmp_path / "missing" / "x.nc")
    (tmp_path / "d.nc").mkdir()
    with pytest.raises(OutputError, match="a folder is in the way"):
        write_dataset(ds, tmp_path / "d.nc")
    assert write_dataset(ds, tmp_path / "ok.nc") == tmp_path / "ok.nc"


def test_write_netcdf_rejects_an_unknown_engine(tmp_path):
    from cevns.errors import ConfigError
    from cevns.scan.store import write_netcdf

    ds = xr.Dataset({"a": ("x", np.arange(3.0))})
    with pytest.raises(ConfigError, match=r"'netcdf5' is not one of netcdf4, h5netcdf, scipy"):
        write_netcdf(ds, tmp_path / "x.nc", engine="netcdf5")
    assert not (tmp_path / "x.nc").exists()
    write_netcdf(ds, tmp_path / "x3.nc", engine="scipy")  # netCDF-3 through to_netcdf
    with xr.open_dataset(tmp_path / "x3.nc", engine="scipy") as back:
        np.testing.assert_array_equal(back["a"].values, ds["a"].values)
