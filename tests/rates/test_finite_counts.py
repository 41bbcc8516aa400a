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
