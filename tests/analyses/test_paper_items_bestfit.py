"""Best fits of 2D scans are reported only where the data determine them (Figs. 5, 9, 18).

Synthetic Δχ² surfaces with known answers: a parabola (both determined), a tilted valley
(neither), a surface flat in one parameter (that one undetermined), and the 3+1 shape
s · f(Δm²) with f → 0 at small Δm² (neither: s → 0 at any Δm², Δm² → 0 at any s).
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from cevns.analyses.bestfit import undetermined_parameters, write_scan_netcdf
from cevns.stats import Scan2D

X = np.linspace(-3.0, 3.0, 121)
Y = np.linspace(-3.0, 3.0, 101)
XX, YY = np.meshgrid(X, Y, indexing="ij")


def _scan(chi2, x=X, y=Y):
    return Scan2D(x, y, chi2, x_name="a", y_name="b")


def test_parabola_is_determined():
    assert undetermined_parameters(_scan(XX**2 + 0.5 * XX * YY + YY**2)) == []


def test_valley_is_undetermined_in_both():
    assert undetermined_parameters(_scan(10.0 * (XX - YY) ** 2)) == ["a", "b"]


def test_flat_direction_only():
    assert undetermined_parameters(_scan(4.0 * XX**2)) == ["b"]


def test_sterile_like_surface_and_the_written_attributes(tmp_path):
    s = np.geomspace(1e-3, 1.0, 60)
    dm2 = np.geomspace(1e-2, 1e2, 50)
    ss, dd = np.meshgrid(s, dm2, indexing="ij")
    chi2 = 40.0 * ss * (1.0 - np.exp(-dd))  # no sensitivity at s → 0 nor at Δm² → 0
    scan = Scan2D(s, dm2, chi2, x_name="sin2_2theta", y_name="delta_m2_eV2")
    assert undetermined_parameters(scan) == ["sin2_2theta", "delta_m2_eV2"]
    path = tmp_path / "scan.nc"
    write_scan_netcdf(scan, path)
    with xr.open_dataset(path, engine="netcdf4") as ds:
        assert math.isnan(ds.attrs["best_delta_m2_eV2"])
        assert math.isnan(ds.attrs["best_sin2_2theta"])
        assert "flat direction" in ds.attrs["best_note"]
    back = Scan2D.from_netcdf(path)  # still readable by the stats layer
    np.testing.assert_allclose(back.chi2, chi2)


def test_determined_scan_keeps_its_best_fit(tmp_path):
    scan = _scan((XX - 0.5) ** 2 + (YY + 1.0) ** 2)
    path = tmp_path / "p.nc"
    assert write_scan_netcdf(scan, path) == []
    with xr.open_dataset(path, engine="netcdf4") as ds:
        assert abs(ds.attrs["best_a"] - 0.5) < 0.03 and abs(ds.attrs["best_b"] + 1.0) < 0.03
