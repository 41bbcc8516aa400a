"""Audit 11: the cached basis spectra and the Spectrum result object are immutable, and two
spectra compare with ``==``.

* ``basis_spectra`` hands out the cached object itself: a write into its arrays (``bs.counts *=
  2``) changed every later ``sm_spectrum`` and fit of the process. Its arrays are now read-only.
* ``Spectrum`` (a frozen dataclass holding arrays): ``a == b`` raised "the truth value of an array
  is ambiguous" and ``spec.signal[0, 0, 0] = 5`` was accepted. It now compares every field (arrays
  by value, shape and dtype), is not hashable, and its arrays are read-only copies.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle

import numpy as np
import pytest

from cevns.experiment import Detector, get_detector, get_source
from cevns.physics.basis import SMBasis
from cevns.rates import Spectrum, basis_spectra, compute_basis_spectra, sm_spectrum
from cevns.rates.engine import BasisSpectra

READ_ONLY = r"read-only"


# -- 1. basis_spectra: the cached object's arrays cannot be written ---------------------------------

def _writes(arr):
    """Every way a caller could change ``arr`` in place."""
    def setitem():
        arr[0] = 0

    def imul():
        a = arr
        a *= 2

    def iadd():
        a = arr
        a += 1

    def ufunc_out():
        np.multiply(arr, 2, out=arr)

    return [setitem, imul, iadd, ufunc_out]


@pytest.mark.parametrize("field", ["counts", "node_rates"])
def test_cached_basis_spectra_cannot_be_written(field):
    # guards: bs.counts *= 2 (or a write into node_rates) corrupting the cached object that every
    # later sm_spectrum, Scenario.counts and fit of the process reads (edges, the detector's
    # bin edges, were read-only already: checked with the others below)
    det, src = get_detector("CsI"), get_source("ess")
    total = sm_spectrum(det, src).total_signal
    bs = basis_spectra(det, src, SMBasis())
    assert basis_spectra(det, src, SMBasis()) is bs  # the cached object itself
    arr = getattr(bs, field)
    before = arr.copy()
    assert not arr.flags.writeable
    for write in _writes(arr):
        with pytest.raises(ValueError, match=READ_ONLY):
            write()
    np.testing.assert_array_equal(getattr(basis_spectra(det, src, SMBasis()), field), before)
    assert sm_spectrum(det, src).total_signal == total
    assert not bs.edges.flags.writeable


def test_the_audit_example_raises_and_changes_nothing():
    # guards the finding as written: bs.counts[0] = 0 and bs.counts *= 2 raise ValueError, and
    # the SM total is the same afterwards
    total = sm_spectrum("CsI").total_signal
    bs = basis_spectra(get_detector("CsI"), get_source("ess"), SMBasis())
    with pytest.raises(ValueError):
        bs.counts[0] = 0
    with pytest.raises(ValueError):
        bs.counts *= 2
    assert sm_spectrum("CsI").total_signal == total


def test_per_nucleus_response_counts_are_read_only_too():
    # guards the other fold of the engine (one response matrix per nucleus: an einsum), whose
    # counts are made differently from the single-matrix product
    det = Detector(name="NaITest11", formula="NaI", mass_kg=10.0, response={
        "quenching_by_element": {"Na": {"model": "constant", "quenching_factor": 0.15},
                                 "I": {"model": "constant", "quenching_factor": 0.05}},
        "smearing": {"model": "none"},
        "threshold": {"value": 1.0, "unit": "keVee"},
        "bins": {"unit": "keVee", "width": 1.0, "stop": 20.0}})
    bs = basis_spectra(det, "ess", SMBasis())
    assert bs.response.per_nucleus
    for arr in (bs.counts, bs.node_rates, bs.edges):
        assert not arr.flags.writeable
        with pytest.raises(ValueError, match=READ_ONLY):
            arr[...] = 0
    # reweighting and combining still work on the read-only arrays
    n_terms, _, n_nuclei, n_nodes = bs.node_rates.shape
    assert bs.reweighted(np.ones((n_terms, n_nuclei, n_nodes))).shape[-1] == bs.n_bins
    assert bs.combine(np.ones(n_terms)).shape == (bs.n_bins,)


def test_basis_spectra_built_by_hand_copy_writable_arrays():
    # guards: a BasisSpectra made from the caller's own arrays is read-only without freezing the
    # caller's arrays, and a later write to them (or to the writable base of a read-only view)
    # does not reach it
    ref = compute_basis_spectra(get_detector("Xe"), get_source("ess"), SMBasis())
    counts = np.array(ref.counts)  # writable, the caller's
    base = np.array(ref.edges)
    edges = base[:]
    edges.setflags(write=False)  # a read-only view of a writable array
    bs = BasisSpectra(names=ref.names, counts=counts, edges=edges, nuclei=ref.nuclei,
                      detector=ref.detector, flavours=ref.flavours)
    assert counts.flags.writeable and base.flags.writeable
    assert not bs.counts.flags.writeable and not bs.edges.flags.writeable
    counts *= 2
    base *= 2
    np.testing.assert_array_equal(bs.counts, ref.counts)
    np.testing.assert_array_equal(bs.edges, ref.edges)
    assert bs.node_rates is None


# -- 2. Spectrum: ==, no hash, read-only arrays ----------------------------------------------------

@pytest.fixture(scope="module")
def spectrum() -> Spectrum:
    return sm_spectrum("CsI")


def test_two_identical_spectra_are_equal(spectrum):
    # guards: sm_spectrum("CsI") == sm_spectrum("CsI") raised "truth value of an array is
    # ambiguous"
    other = sm_spectrum("CsI")
    assert other is not spectrum and other.signal is not spectrum.signal
    assert spectrum == other
    assert not (spectrum != other)
    assert spectrum == spectrum
    assert [spectrum].count(other) == 1 and other in [spectrum]
    # something else is not equal (NotImplemented), not an error
    assert spectrum != 3 and spectrum != None  # noqa: E711
    assert spectrum != spectrum.to_rows()


def _changed(spec: Spectrum, field: str) -> Spectrum:
    """``spec`` with one field changed (a valid value)."""
    if field == "edges_keVnr":
        edges = spec.edges_keVnr.copy()
        edges[-1] += 1.0
        return dataclasses.replace(spec, edges_keVnr=edges)
    if field == "signal":
        signal = spec.signal.copy()
        signal[0, 0, 0] += 1e-9
        return dataclasses.replace(spec, signal=signal)
    if field == "background":
        return dataclasses.replace(spec, background=spec.background + 1.0)
    if field == "nuclei":
        return dataclasses.replace(spec, nuclei=spec.nuclei[::-1])
    if field == "flavours":
        return dataclasses.replace(spec, flavours=spec.flavours[::-1])
    if field == "source_kind":
        return dataclasses.replace(spec, source_kind="tabulated")
    if field == "run_years":
        return dataclasses.replace(spec, run_years=spec.run_years + 1.0)
    return dataclasses.replace(spec, detector=spec.detector + "x")


def test_spectra_differing_in_one_field_are_not_equal(spectrum):
    # guards: every field takes part in ==, arrays element by element (no field is skipped; an
    # array field made == raise before)
    names = [f.name for f in dataclasses.fields(Spectrum)]
    assert len(names) == 8  # a new field: add it to _changed
    for field in names:
        other = _changed(spectrum, field)
        assert getattr(other, field) is not getattr(spectrum, field)
        assert spectrum != other and other != spectrum, field
        assert not (spectrum == other), field


def test_arrays_of_another_shape_or_dtype_are_not_equal(spectrum):
    # guards: == asks for the same shape and dtype, not only equal values after broadcasting or
    # casting
    float32 = dataclasses.replace(spectrum, edges_keVnr=spectrum.edges_keVnr.astype(np.float32))
    assert float32 != spectrum
    one_bin = Spectrum(detector="x", edges_keVnr=np.array([1.0, 2.0]),
                       signal=np.ones((3, 1, 1)), background=np.ones(1), nuclei=("Cs133",),
                       run_years=1.0)
    broadcast = dataclasses.replace(one_bin, signal=np.ones((3, 1, 2)))
    assert one_bin != broadcast
    assert one_bin != dataclasses.replace(one_bin, background=np.ones(1, dtype=np.int64))
    assert one_bin == dataclasses.replace(one_bin, background=np.ones(1))


def test_a_spectrum_is_not_hashable(spectrum):
    # guards: hash() failed inside numpy ("unhashable type: 'numpy.ndarray'"); a Spectrum says it
    # is unhashable itself, as an object with value equality over arrays must
    with pytest.raises(TypeError, match="unhashable type: 'Spectrum'"):
        hash(spectrum)
    assert Spectrum.__hash__ is None


@pytest.mark.parametrize("field", ["signal", "background", "edges_keVnr"])
def test_spectrum_arrays_cannot_be_written(spectrum, field):
    # guards: spec.signal[0, 0, 0] = 5 was accepted although the dataclass is frozen
    arr = getattr(spectrum, field)
    before = arr.copy()
    for write in _writes(arr):
        with pytest.raises(ValueError, match=READ_ONLY):
            write()
    np.testing.assert_array_equal(getattr(spectrum, field), before)
    with pytest.raises(ValueError, match=READ_ONLY):
        spectrum.signal[0, 0, 0] = 5


def test_the_callers_arrays_are_copied_not_frozen():
    # guards: a Spectrum made from the caller's arrays neither freezes them behind its back nor
    # changes when the caller writes to them afterwards
    edges, signal, background = np.array([1.0, 2.0, 3.0]), np.ones((3, 1, 2)), np.ones(2)
    spec = Spectrum(detector="x", edges_keVnr=edges, signal=signal, background=background,
                    nuclei=("Cs133",), run_years=1.0)
    for mine in (edges, signal, background):
        assert mine.flags.writeable
        mine *= 7
    assert spec.total_signal == 6.0 and spec.total_background == 2.0
    np.testing.assert_array_equal(spec.edges_keVnr, [1.0, 2.0, 3.0])
    # a read-only view of a writable array is copied too (a write to the base would reach it)
    base = np.ones(2)
    view = base[:]
    view.setflags(write=False)
    spec = dataclasses.replace(spec, background=view)
    base[:] = 5.0
    assert spec.total_background == 2.0
    # another spectrum's arrays (read-only all the way down) are shared, not copied again
    again = dataclasses.replace(spec, run_years=2.0)
    assert again.signal is spec.signal


def test_copies_and_pickles_are_equal_and_read_only(spectrum):
    # guards: a pickled (process pool) or copied spectrum is rebuilt through the constructor: its
    # arrays are read-only as well, and it equals the original
    for other in (pickle.loads(pickle.dumps(spectrum)), copy.copy(spectrum),
                  copy.deepcopy(spectrum)):
        assert other == spectrum
        for field in ("signal", "background", "edges_keVnr"):
            assert not getattr(other, field).flags.writeable


def test_round_trips_rebuild_an_equal_spectrum(spectrum, tmp_path):
    # guards docs/exports.md: "The from_* class methods rebuild the Spectrum exactly (the tests
    # compare with ==)" — == raised before
    import io

    import pandas as pd
    import xarray as xr

    tab = sm_spectrum("CsI", "ess-table")  # tabulated: the source kind survives too
    for spec in (spectrum, tab, sm_spectrum("Ar")):
        assert Spectrum.from_hist(spec.to_hist(), spec.to_hist("background")) == spec
        assert Spectrum.from_xarray(spec.to_xarray()) == spec
        assert Spectrum.from_dataframe(spec.to_dataframe()) == spec
        assert Spectrum.from_dataframe(spec.to_dataframe().sample(frac=1.0, random_state=2)) == spec
    path = tmp_path / "csi.nc"
    spectrum.to_xarray().to_netcdf(path, engine="netcdf4")
    with xr.open_dataset(path, engine="netcdf4") as back:
        assert Spectrum.from_xarray(back.load()) == spectrum
    buf = io.StringIO()
    spectrum.to_dataframe().to_csv(buf, index=False, float_format="%.17g")
    back = pd.read_csv(io.StringIO(buf.getvalue()), keep_default_na=False)
    assert Spectrum.from_dataframe(back, run_years=spectrum.run_years) == spectrum
    # a round trip that loses the source kind is not equal
    bare = tab.to_dataframe()
    bare.attrs = {}
    assert Spectrum.from_dataframe(bare, run_years=tab.run_years) != tab
