"""Spectrum → hist / xarray / pandas and back: the numbers survive exactly (float64 equality)."""

from __future__ import annotations

import numpy as np
import pytest

from cevns.errors import ConfigError
from cevns.rates import Spectrum, sm_spectrum


@pytest.fixture(scope="module")
def spectrum() -> Spectrum:
    # CsI: two target nuclei (per-target signal), 20 bins with resolution
    return sm_spectrum("CsI")


def _assert_identical(a: Spectrum, b: Spectrum) -> None:
    # the field checks name what differs; == is the promise of docs/exports.md ("the tests
    # compare with ==": every field, arrays with the same shape and dtype)
    assert a.detector == b.detector
    assert a.run_years == b.run_years
    assert a.nuclei == b.nuclei
    assert a.flavours == b.flavours
    assert a.source_kind == b.source_kind
    # exact equality: an export is a copy of float64 numbers, not a recomputation
    np.testing.assert_array_equal(a.edges_keVnr, b.edges_keVnr)
    np.testing.assert_array_equal(a.signal, b.signal)
    np.testing.assert_array_equal(a.background, b.background)
    assert a == b


def test_hist_round_trip(spectrum):
    import hist

    sig, bkg = spectrum.to_hist(), spectrum.to_hist("background")
    assert isinstance(sig, hist.Hist)
    assert [ax.name for ax in sig.axes] == ["flavour", "target", "energy"]
    assert isinstance(sig.axes["energy"], hist.axis.Variable)
    assert isinstance(sig.axes["flavour"], hist.axis.StrCategory)
    assert sig.axes["energy"].metadata["units"] == "keVnr"
    assert "keVnr" in sig.axes["energy"].label
    assert sig.storage_type is hist.storage.Double
    assert list(sig.axes["target"]) == list(spectrum.nuclei) and len(spectrum.nuclei) == 2
    # totals through the UHI interface agree with the Spectrum's own sums
    assert sig.sum() == pytest.approx(spectrum.total_signal, rel=1e-14)
    assert sig[{"flavour": "numu"}].sum() == pytest.approx(spectrum.per_flavour["numu"], rel=1e-14)
    assert bkg.sum() == pytest.approx(spectrum.total_background, rel=1e-14)
    _assert_identical(spectrum, Spectrum.from_hist(sig, bkg))


def test_xarray_round_trip_and_netcdf(spectrum, tmp_path):
    import xarray as xr

    ds = spectrum.to_xarray()
    assert ds["signal"].dims == ("flavour", "target", "bin")
    assert ds["energy"].attrs["units"] == "keVnr"
    assert ds["energy"].attrs["bounds"] == "energy_bounds"
    assert ds["signal"].attrs["long_name"] and ds["background"].attrs["units"] == "1"
    np.testing.assert_array_equal(ds["energy"].values,
                                  0.5 * (spectrum.edges_keVnr[:-1] + spectrum.edges_keVnr[1:]))
    _assert_identical(spectrum, Spectrum.from_xarray(ds))
    path = tmp_path / "csi.nc"
    ds.to_netcdf(path, engine="netcdf4")
    with xr.open_dataset(path, engine="netcdf4") as back:
        assert back["energy"].attrs["units"] == "keVnr"
        _assert_identical(spectrum, Spectrum.from_xarray(back.load()))


def test_dataframe_round_trip(spectrum):
    df = spectrum.to_dataframe()
    n_f, n_k, n_b = spectrum.signal.shape
    assert len(df) == n_f * n_k * n_b + n_b
    assert df.attrs["run_years"] == spectrum.run_years
    # tidy table: summing a column reproduces the Spectrum's totals
    sig = df[df.component != "background"]
    assert sig["counts"].sum() == pytest.approx(spectrum.total_signal, rel=1e-14)
    wide = df.pivot_table(index="bin", columns="component", values="counts", aggfunc="sum")
    np.testing.assert_allclose(wide["background"].to_numpy(), spectrum.background, rtol=0)
    _assert_identical(spectrum, Spectrum.from_dataframe(df))
    # shuffled rows carry their own indices; attrs keep the order of the category axes
    _assert_identical(spectrum, Spectrum.from_dataframe(df.sample(frac=1.0, random_state=1)))
    # through CSV: attrs are lost, run_years is given; first-appearance order is the written one
    import io

    import pandas as pd

    buf = io.StringIO()
    df.to_csv(buf, index=False, float_format="%.17g")
    back = pd.read_csv(io.StringIO(buf.getvalue()), keep_default_na=False)
    _assert_identical(spectrum, Spectrum.from_dataframe(back, run_years=spectrum.run_years))


def test_single_target_detector_round_trips():
    spec = sm_spectrum("Ar")
    assert len(spec.nuclei) == 1
    _assert_identical(spec, Spectrum.from_hist(spec.to_hist(), spec.to_hist("background")))
    _assert_identical(spec, Spectrum.from_xarray(spec.to_xarray()))
    _assert_identical(spec, Spectrum.from_dataframe(spec.to_dataframe()))


def test_clear_errors(spectrum):
    import pandas as pd

    with pytest.raises(ConfigError, match="component 'bkg'"):
        spectrum.to_hist("bkg")
    with pytest.raises(ConfigError, match="lacks"):
        Spectrum.from_xarray(spectrum.to_xarray().drop_vars("background"))
    df = spectrum.to_dataframe()
    with pytest.raises(ConfigError, match="run_years"):
        Spectrum.from_dataframe(pd.DataFrame(df.to_dict("list")))  # attrs lost, as after a CSV
    with pytest.raises(ConfigError, match="lacks columns"):
        Spectrum.from_dataframe(df.drop(columns="counts"))
    with pytest.raises(ConfigError, match="axes"):
        Spectrum.from_hist(spectrum.to_hist("background"), spectrum.to_hist("background"))


def test_docs_example_runs(tmp_path, monkeypatch):
    """The first code block of docs/exports.md runs as shown (its asserts included)."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "exports.md").read_text()
    block = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    assert "to_hist" in block and "from_dataframe" in block
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "docs/exports.md", "exec"), {})
    assert (tmp_path / "csi_spectrum.nc").exists()


def test_flavour_labels_follow_the_source_kind(spectrum, tmp_path):
    """"prompt" and "delayed" are π-DAR roles: a tabulated source's spectrum (the ESS flux as a
    table, the same neutrinos) is labelled by flavour only, in its repr, its HTML and after every
    round trip; a π-DAR one keeps the roles."""
    import hist  # noqa: F401  (to_hist needs it)

    assert spectrum.source_kind == "pi-dar"
    assert spectrum.flavour_labels == {"numu": "prompt ν_μ", "nue": "delayed ν_e",
                                       "numubar": "delayed ν̄_μ"}
    assert "prompt ν_μ" in repr(spectrum) and "delayed ν_e" in spectrum._repr_html_()
    tab = sm_spectrum("CsI", "ess-table")
    assert tab.source_kind == "tabulated"
    assert tab.flavour_labels == {"numu": "ν_μ", "nue": "ν_e", "numubar": "ν̄_μ"}
    for text in (repr(tab), tab._repr_html_()):
        assert "prompt" not in text and "delayed" not in text and "ν_μ" in text
    copies = (Spectrum.from_hist(tab.to_hist("signal"), tab.to_hist("background")),
              Spectrum.from_xarray(tab.to_xarray()), Spectrum.from_dataframe(tab.to_dataframe()))
    assert [c.source_kind for c in copies] == ["tabulated"] * 3
    bare = tab.to_dataframe()
    bare.attrs = {}  # as read back from a CSV
    assert Spectrum.from_dataframe(bare, run_years=3.0).source_kind == "pi-dar"
    assert Spectrum.from_dataframe(bare, run_years=3.0,
                                   source_kind="tabulated").source_kind == "tabulated"
    with pytest.raises(ConfigError, match="source_kind 'reactor': valid choices pi-dar, "
                                          "tabulated"):
        Spectrum(detector="x", edges_keVnr=np.array([1.0, 2.0]), signal=np.zeros((3, 1, 1)),
                 background=np.zeros(1), nuclei=("Cs133",), run_years=1.0,
                 source_kind="reactor")
