"""Counts and spectra are finite or refused: an overflowing exposure, or a NaN in a table read back,
is a ConfigError naming the inputs, never a NaN result with a numpy RuntimeWarning (docs/errors.md)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from cevns.errors import ConfigError
from cevns.experiment import get_detector, get_source
from cevns.rates import sm_spectrum
from cevns.rates.spectrum import Spectrum


def test_an_overflowing_exposure_is_a_config_error_without_warnings():
    # ν per POT has no natural bound in the schema: the finite check of the engine catches it
    src = get_source("ess").replace(nu_per_flavour_per_pot=1e300)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning may reach the user
        with pytest.raises(ConfigError, match=r"detector CsI at source ess: the expected counts "
                                              r"overflow \(not finite\) for mass_kg = 22\.5"):
            sm_spectrum(get_detector("CsI"), src)


def test_the_largest_accepted_exposure_gives_finite_counts():
    src = get_source("ess").replace(pot_per_year=1e27, run_years=1000, baseline_m=1e-3)
    spec = sm_spectrum(get_detector("CsI").replace(mass_kg=1e9), src)
    assert np.isfinite(spec.total_signal) and np.isfinite(spec.total_background)


def test_a_nan_count_in_a_table_read_back_is_refused():
    # from_dataframe used to return a spectrum whose signal was NaN
    df = sm_spectrum("CsI").to_dataframe()
    df.loc[3, "counts"] = np.nan
    with pytest.raises(ConfigError, match=r"signal: must be finite numbers, found nan"):
        Spectrum.from_dataframe(df)


# -- audit 5: negative counts, wrong types, unwritable CSV targets ---------------------------------

@pytest.mark.parametrize(("component", "message"), [
    ("numu", r"signal: must be ≥ 0, found -"), ("background", r"background: must be ≥ 0, found -")])
def test_negative_counts_in_a_table_read_back_are_refused(component, message):
    # Spectrum.from_dataframe(df.assign(counts=-df.counts)) used to give total_signal = -19421.9
    df = sm_spectrum("CsI").to_dataframe()
    rows = df.index[df["component"] == component]
    df.loc[rows[0], "counts"] = -1.0
    with pytest.raises(ConfigError, match=message):
        Spectrum.from_dataframe(df)


def test_bins_out_of_order_in_a_table_read_back_are_refused():
    df = sm_spectrum("CsI").to_dataframe()
    bkg = df.index[df["component"] == "background"]
    df.loc[bkg[2], "lower_keVnr"] = 1e4  # the third bin's lower edge above everything
    with pytest.raises(ConfigError, match=r"edges_keVnr: must increase strictly"):
        Spectrum.from_dataframe(df)


@pytest.mark.parametrize("bad", [None, 3, "table.csv", {"signal": 1}])
def test_a_non_table_is_refused_by_the_from_constructors(bad):
    # from_xarray(None) used to raise AttributeError: 'NoneType' object has no attribute 'variables'
    with pytest.raises(ConfigError, match=r"from_xarray: expected an xarray\.Dataset"):
        Spectrum.from_xarray(bad)
    with pytest.raises(ConfigError, match=r"from_dataframe: expected a pandas\.DataFrame"):
        Spectrum.from_dataframe(bad)


def test_to_csv_names_a_folder_or_a_missing_folder(tmp_path):
    from cevns.errors import OutputError

    spec = sm_spectrum("CsI")
    # these used to be a bare IsADirectoryError / FileNotFoundError
    with pytest.raises(OutputError, match=rf"cannot write {tmp_path}: it is a folder"):
        spec.to_csv(tmp_path)
    with pytest.raises(OutputError, match=r"cannot write .*nope/x\.csv"):
        spec.to_csv(tmp_path / "nope" / "x.csv")
    assert not (tmp_path / "nope").exists()
    out = spec.to_csv(tmp_path / "x.csv")
    lines = out.read_text().splitlines()
    assert len(lines) == 1 + len(spec.edges_keVnr) - 1  # a header and one row per bin
    assert [p.name for p in tmp_path.iterdir()] == ["x.csv"]  # no temporary file left
