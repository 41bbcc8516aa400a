"""Spectrum.from_dataframe / from_xarray / from_hist refuse a malformed input with a one-line
ConfigError naming it: no raw IndexError, ValueError, TypeError or AttributeError, and no table
read back into silently wrong counts (audit of the from_* constructors)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from cevns.errors import ConfigError
from cevns.rates import Spectrum, sm_spectrum


@pytest.fixture(scope="module")
def spectrum() -> Spectrum:
    return sm_spectrum("CsI")  # 3 flavours × 2 targets (Cs133, I127) × 20 bins


def _set(df, row: int, column: str, value, *, background: bool = False):
    """A copy of ``df`` with ``column`` of its ``row``-th signal (or background) row set to
    ``value``."""
    df = df.copy()
    is_bkg = df["component"] == "background"
    if isinstance(value, float):
        df[column] = df[column].astype(float)  # a float column, as a CSV holding 2.5 reads
    df.loc[df.index[is_bkg if background else ~is_bkg][row], column] = value
    return df


def _assert_identical(a: Spectrum, b: Spectrum) -> None:
    assert (a.detector, a.run_years, a.nuclei, a.flavours) == (b.detector, b.run_years,
                                                                b.nuclei, b.flavours)
    np.testing.assert_array_equal(a.edges_keVnr, b.edges_keVnr)
    np.testing.assert_array_equal(a.signal, b.signal)
    np.testing.assert_array_equal(a.background, b.background)
    assert a == b  # every field, as docs/exports.md promises


# -- 1. the bin column: duplicate, missing, negative, out-of-range, non-integer bins ------------

@pytest.mark.parametrize(("row", "value", "message"), [
    # the second signal row (bin 1) moved onto bin 0: bin 1 used to read back as 0 counts
    (1, 0, r"table row \(component 'numu', target 'Cs133', bin 0\): this \(component, target, "
           r"bin\) cell appears twice"),
    # the first signal row moved to bin -1: numpy's negative index wrote it into bin 19
    (0, -1, r"table row \(component 'numu', target 'Cs133', bin -1\): bin must be a whole number "
            r"in 0 … 19 \(the table has 20 background rows, one per bin\)"),
    (0, 99, r"table row \(component 'numu', target 'Cs133', bin 99\): bin must be a whole "
            r"number in 0 … 19"),  # used to be IndexError
    (3, 2.5, r"table row \(component 'numu', target 'Cs133', bin 2\.5\): bin must be a whole "
             r"number"),  # a float column: used to be IndexError
    (3, float("nan"), r"table row \(component 'numu', target 'Cs133', bin nan\): bin must be"),
], ids=["duplicate", "negative", "out-of-range", "non-integer", "nan"])
def test_a_bad_bin_in_a_signal_row_is_refused_naming_the_cell(spectrum, row, value, message):
    with pytest.raises(ConfigError, match=message):
        Spectrum.from_dataframe(_set(spectrum.to_dataframe(), row, "bin", value))


def test_a_repeated_background_bin_is_refused(spectrum):
    df = _set(spectrum.to_dataframe(), 3, "bin", 2, background=True)
    with pytest.raises(ConfigError, match=r"table row \(component 'background', bin 2\): this "
                                          r"\(component, target, bin\) cell appears twice"):
        Spectrum.from_dataframe(df)


def test_a_missing_row_is_refused_naming_the_cell(spectrum):
    df = spectrum.to_dataframe()
    sig = df.index[df["component"] != "background"]
    with pytest.raises(ConfigError, match=r"table lacks the row \(component 'numu', target "
                                          r"'Cs133', bin 5\); expected one row per flavour"):
        Spectrum.from_dataframe(df.drop(index=sig[5]))
    bkg = df.index[df["component"] == "background"]
    with pytest.raises(ConfigError, match=r"bin 19\): bin must be a whole number in 0 … 18 "
                                          r"\(the table has 19 background rows"):
        Spectrum.from_dataframe(df.drop(index=bkg[-1]))


@pytest.mark.parametrize("attrs", [True, False])
def test_a_table_without_signal_or_background_rows_is_refused(spectrum, attrs):
    df = spectrum.to_dataframe()
    if not attrs:
        df.attrs = {"run_years": 3.0}  # as read back from a file
    only_bkg = df[df["component"] == "background"]
    with pytest.raises(ConfigError, match=r"^table has no signal rows; expected the table of "
                                          r"Spectrum\.to_dataframe\(\)$"):
        Spectrum.from_dataframe(only_bkg)  # without attrs: used to be IndexError
    with pytest.raises(ConfigError, match=r"^table has no background rows"):
        Spectrum.from_dataframe(df[df["component"] != "background"])


def test_a_bin_column_that_is_not_numbers_is_refused(spectrum):
    df = spectrum.to_dataframe()
    with pytest.raises(ConfigError, match=r"^column bin must hold bin numbers 0, 1, …, got "
                                          r"dtype bool$"):
        Spectrum.from_dataframe(df.assign(bin=df["bin"] > 0))


def test_whole_numbers_as_floats_are_bins_and_round_trips_stay_exact(spectrum):
    df = spectrum.to_dataframe()
    _assert_identical(spectrum, Spectrum.from_dataframe(df.assign(bin=df["bin"] * 1.0)))
    _assert_identical(spectrum, Spectrum.from_dataframe(df.sample(frac=1.0, random_state=2)))
    _assert_identical(spectrum, Spectrum.from_xarray(spectrum.to_xarray()))
    _assert_identical(spectrum, Spectrum.from_hist(spectrum.to_hist(),
                                                   spectrum.to_hist("background")))


# -- 2. edges: gaps and overlaps between bins, rows of one bin that disagree --------------------

@pytest.mark.parametrize("factor", [0.99, 1.01])  # a gap, an overlap
def test_a_gap_or_overlap_between_background_bins_is_refused(spectrum, factor):
    df = spectrum.to_dataframe()
    upper = float(spectrum.edges_keVnr[3])
    df = _set(df, 2, "upper_keVnr", upper * factor, background=True)
    with pytest.raises(ConfigError, match=rf"^background rows: upper_keVnr of bin 2 = "
                                          rf"{re.escape(repr(upper * factor))} ≠ lower_keVnr of "
                                          rf"bin 3 = {re.escape(repr(upper))}; bins must be "
                                          r"contiguous$"):
        Spectrum.from_dataframe(df)


@pytest.mark.parametrize("column", ["lower_keVnr", "upper_keVnr"])
def test_a_row_whose_edges_are_not_those_of_its_bin_is_refused(spectrum, column):
    df = _set(spectrum.to_dataframe(), 2, column, 0.123)
    edge = float(spectrum.edges_keVnr[2 if column == "lower_keVnr" else 3])
    with pytest.raises(ConfigError, match=rf"^table row \(component 'numu', target 'Cs133', "
                                          rf"bin 2\): {column} = 0\.123, but the background row "
                                          rf"of bin 2 has {re.escape(repr(edge))}$"):
        Spectrum.from_dataframe(df)


def test_edges_within_a_relative_1e_9_are_accepted(spectrum):
    df = spectrum.to_dataframe()
    edge = float(spectrum.edges_keVnr[3])
    df = _set(df, 2, "upper_keVnr", edge * (1 + 1e-12), background=True)
    df = _set(df, 3, "lower_keVnr", float(spectrum.edges_keVnr[3]) * (1 - 1e-12))
    _assert_identical(spectrum, Spectrum.from_dataframe(df))


# -- 3. run_years: one finite number > 0 in all three constructors -----------------------------

def _from_each(spectrum: Spectrum, run_years):
    df = spectrum.to_dataframe()
    ds = spectrum.to_xarray()
    ds.attrs["run_years"] = run_years
    return {
        "from_dataframe": lambda: Spectrum.from_dataframe(df, run_years=run_years),
        "from_xarray": lambda: Spectrum.from_xarray(ds),
        "from_hist": lambda: Spectrum.from_hist(spectrum.to_hist(), spectrum.to_hist("background"),
                                                run_years=run_years),
    }


@pytest.mark.parametrize("run_years", [float("inf"), float("nan"), "3 yr", [1, 2],
                                       np.array([1.0, 2.0]), np.array([3.0]), True, 0, -1.0],
                         ids=repr)
def test_run_years_must_be_one_finite_positive_number(spectrum, run_years):
    for name, build in _from_each(spectrum, run_years).items():
        with pytest.raises(ConfigError, match=r"^run_years must be a finite number of years > 0 "
                                              r"\(pass run_years=\.\.\.\), got "):
            build()
            pytest.fail(f"{name} accepted run_years={run_years!r}")


def test_run_years_as_a_numpy_number_is_accepted(spectrum):
    for build in _from_each(spectrum, np.float64(2.5)).values():
        assert build().run_years == 2.5


# -- 4. from_hist and from_xarray: the wrong objects, renamed dimensions, no bins ---------------

def test_from_hist_refuses_what_is_not_a_histogram(spectrum):
    # Spectrum.from_hist(1, 2) used to be AttributeError: 'int' object has no attribute 'metadata'
    with pytest.raises(ConfigError, match=r"^from_hist: signal must be a hist\.Hist written by "
                                          r"Spectrum\.to_hist\(\), got int$"):
        Spectrum.from_hist(1, 2)
    with pytest.raises(ConfigError, match=r"^from_hist: background must be a hist\.Hist "
                                          r"written by Spectrum\.to_hist\(\), got ndarray$"):
        Spectrum.from_hist(spectrum.to_hist(), spectrum.background)


@pytest.mark.parametrize(("rename", "message"), [
    ({"bin": "b"}, r"dataset variable signal has dimensions \('flavour', 'target', 'b'\): "
                   r"expected \('flavour', 'target', 'bin'\)"),
    ({"nv": "two"}, r"dataset variable energy_bounds has dimensions \('bin', 'two'\): expected "
                    r"\('bin', 'nv'\)"),
    ({"flavour": "flav"}, r"dataset variable signal has dimensions \('flav', 'target', 'bin'\)"),
], ids=["bin", "nv", "flavour"])
def test_from_xarray_refuses_renamed_dimensions(spectrum, rename, message):
    # these used to be a raw ValueError from transpose()
    with pytest.raises(ConfigError, match=message):
        Spectrum.from_xarray(spectrum.to_xarray().rename_dims(rename))


def test_from_xarray_refuses_a_renamed_coordinate(spectrum):
    with pytest.raises(ConfigError, match=r"dataset lacks \['flavour'\]"):
        Spectrum.from_xarray(spectrum.to_xarray().rename({"flavour": "flav"}))


def test_from_xarray_refuses_no_bins_or_bounds_not_in_pairs(spectrum):
    ds = spectrum.to_xarray()
    # zero bins used to be IndexError: index -1 is out of bounds for axis 0 with size 0
    with pytest.raises(ConfigError, match=r"^energy_bounds has shape \(bin, nv\) = \(0, 2\): "
                                          r"expected at least one bin and nv = 2"):
        Spectrum.from_xarray(ds.isel(bin=slice(0, 0)))
    three = ds.isel(nv=[0, 1, 1])  # a third column used to be ignored
    with pytest.raises(ConfigError, match=r"= \(20, 3\): expected at least one bin and nv = 2"):
        Spectrum.from_xarray(three)


@pytest.mark.parametrize("column", ["lower_keVnr", "upper_keVnr", "counts"])
def test_text_in_a_number_column_is_refused(column):
    """A CSV cell holding text makes the whole column text: a ConfigError naming the column,
    not numpy's "could not convert string to float"."""
    from cevns.errors import ConfigError
    from cevns.rates import Spectrum, sm_spectrum

    df = sm_spectrum("CsI").to_dataframe()
    df[column] = df[column].astype(object)
    df.loc[df.index[3], column] = "n/a"
    with pytest.raises(ConfigError, match=f"column {column} must hold numbers"):
        Spectrum.from_dataframe(df)
