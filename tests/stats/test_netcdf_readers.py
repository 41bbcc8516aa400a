"""Audit 6, C6: ``Scan2D.from_netcdf`` names the path and what is wrong with it.

It raised FileNotFoundError for a missing file, OSError for a file that is not netCDF,
ValueError ("not enough values to unpack") for a one-dimensional ``chi2``, KeyError without a
``chi2`` variable, read the working folder for an empty path, silently numbered the points
0, 1, 2 … of an axis without coordinate values, and said "x must be a 1-D array of numbers" for
a profile file of the analyses. Each is now a :class:`~cevns.errors.DataError` naming the path.
(``Profile1D`` and ``ExclusionCurve`` have no reader: they are written, never read back.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from cevns.errors import ConfigError, DataError
from cevns.stats import Scan2D

X, Y = np.linspace(0.2, 0.3, 4), np.linspace(4.0, 6.0, 3)
CHI2 = np.add.outer((X - 0.25) ** 2 * 1e3, (Y - 5.0) ** 2)


def _write(path: Path, variables: dict, coords: dict | None = None) -> Path:
    xr.Dataset(variables, coords=coords or {}).to_netcdf(path, engine="scipy")
    return path


def _valid(path: Path) -> Path:
    Scan2D(X, Y, CHI2, x_name="sin2w", y_name="Rn").to_netcdf(path)
    return path


CASES = {
    "missing": (lambda d: d / "missing.nc", "no such file"),
    "folder": (lambda d: d, "is a folder"),
    "not-netcdf": (lambda d: (d / "bad.nc").write_text("not netcdf\n") and d / "bad.nc",
                   "not a readable netCDF file"),
    "empty-file": (lambda d: (d / "empty.nc").write_bytes(b"") or d / "empty.nc",
                   "not a readable netCDF file"),
    "truncated": (lambda d: (lambda p: p.write_bytes(p.read_bytes()[:600]) and p)(
        _valid(d / "half.nc")), "half.nc"),
    "one-dimensional": (lambda d: _write(d / "one_d.nc", {"chi2": ("a", [1.0, 2.0])},
                                         {"a": [0.0, 1.0]}), "1 dimension"),
    "no-chi2": (lambda d: _write(d / "nochi2.nc", {"delta": (("a", "b"), CHI2)},
                                 {"a": X, "b": Y}), "no variable 'chi2'"),
    "no-coordinates": (lambda d: _write(d / "nocoords.nc", {"chi2": (("a", "b"), CHI2)}),
                       "'a' of 'chi2' has no coordinate values"),
    "text-coordinates": (lambda d: _write(d / "profile.nc", {"chi2": (("detector", "s"),
                                                                      CHI2[:1])},
                                          {"detector": ["CsI"], "s": Y}),
                         "'detector' of 'chi2' holds values that are not numbers ('CsI')"),
    "nan-chi2": (lambda d: _write(d / "nan.nc", {"chi2": (("a", "b"), np.where(
        CHI2 > 1, np.nan, CHI2))}, {"a": X, "b": Y}), "chi2 must not contain NaN"),
    "decreasing-axis": (lambda d: _write(d / "down.nc", {"chi2": (("a", "b"), CHI2)},
                                         {"a": X[::-1], "b": Y}), "x is decreasing"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_scan2d_from_netcdf_errors_name_the_path(tmp_path, case):
    make, words = CASES[case]
    path = make(tmp_path)
    with pytest.raises(DataError) as info:
        Scan2D.from_netcdf(path)
    message = str(info.value)
    assert str(path) in message and words in message, message
    assert "\n" not in message


def test_scan2d_from_netcdf_refuses_an_empty_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # "" would mean this folder
    _valid(tmp_path / "scan.nc")
    with pytest.raises(DataError, match="the path '' is empty"):
        Scan2D.from_netcdf("")
    with pytest.raises(ConfigError, match="must be a file path"):
        Scan2D.from_netcdf(3)


def test_scan2d_from_netcdf_with_the_scipy_engine_names_a_file_that_is_not_netcdf(tmp_path):
    path = tmp_path / "bad.nc"
    path.write_text("not netcdf\n")
    with pytest.raises(DataError, match=rf"{path}: not a readable netCDF file"):
        Scan2D.from_netcdf(path, engine="scipy")
    back = Scan2D.from_netcdf(_valid(tmp_path / "good.nc"))  # a good file still reads
    assert (back.x_name, back.y_name) == ("sin2w", "Rn")
    np.testing.assert_array_equal(back.chi2, CHI2)
