"""Detector and source fields whose bad values the audit found passing validation and failing later
(a ZeroDivisionError, NaN counts, a MemoryError, a crash naming an internal task)."""

from __future__ import annotations

import pytest

from cevns.errors import ConfigError, KinematicsError
from cevns.experiment import Detector, get_detector, get_source

CSI = get_detector("CsI")
ESS = get_source("ess")


@pytest.mark.parametrize("name", ["3He-det", "NaI det", "a/b", "../x", "", ".hidden", "a..b",
                                  "x" * 129])
def test_detector_names_that_are_not_file_or_column_names_are_refused(name):
    # they were accepted and failed mid-run naming an internal scan task
    with pytest.raises(ConfigError, match=r"name: .*not usable as a file and column name"):
        CSI.replace(name=name)


@pytest.mark.parametrize("name", ["He3_det", "NaI-2", "CsI.v2", "_x"])
def test_ordinary_detector_names_are_accepted(name):
    assert CSI.replace(name=name).name == name


def test_a_bad_detector_name_in_a_preset_table_names_the_table(tmp_path):
    from cevns.experiment.catalogue import Catalogue

    path = tmp_path / "p.toml"
    path.write_text('schema_version = 1\n[detector."NaI det"]\nmass_kg = 10\nformula = "NaI"\n'
                    'threshold_keVnr = 3.0\n')
    with pytest.raises(ConfigError, match=r'detector\.NaI det\.name: .*not usable'):
        Catalogue.from_file(path)


@pytest.mark.parametrize("baseline", [1e-300, 1e-200, 1e-170, 1e-4])
def test_a_baseline_below_one_millimetre_is_refused(baseline):
    # baseline**2 underflowed to 0: ZeroDivisionError in the flux
    with pytest.raises(ConfigError, match=r"baseline_m: .*at least 0\.001 m"):
        ESS.replace(baseline_m=baseline)


@pytest.mark.parametrize("baseline", [1e300, 1e160, 1.5e6])
def test_a_baseline_above_1000_km_is_refused(baseline):
    # baseline**2 overflowed: "internal error: OverflowError: (34, 'Numerical result out of
    # range')" from a preset or analysis file with baseline_m = 1e300
    with pytest.raises(ConfigError, match=r"baseline_m: .*at most 1e\+06 m"):
        ESS.replace(baseline_m=baseline)
    assert ESS.replace(baseline_m=1e6).baseline_m == 1e6


def test_a_zero_baseline_keeps_its_message():
    with pytest.raises(ConfigError, match=r"baseline_m: Input should be greater than 0"):
        ESS.replace(baseline_m=0)


@pytest.mark.parametrize(("change", "message"), [
    ({"run_years": 1e300}, r"run_years: Input should be less than or equal to 1000"),
    ({"pot_per_year": 1e300}, r"pot_per_year: .*at most 1e\+27 protons on target"),
])
def test_huge_exposures_are_refused(change, message):
    # they gave NaN counts with only a numpy RuntimeWarning
    with pytest.raises(ConfigError, match=message):
        ESS.replace(**change)


def test_a_huge_detector_mass_is_refused():
    # the bound is written as pydantic's "1000000000" shortened to 1e+09
    with pytest.raises(ConfigError,
                       match=r"mass_kg: Input should be less than or equal to 1e\+09 \(got 1e\+300\)"):
        CSI.replace(mass_kg=1e300)


def test_only_long_numbers_are_shortened():
    from cevns.config import _short_numbers

    assert _short_numbers("less than or equal to 1000000000") == "less than or equal to 1e+09"
    assert _short_numbers("at most 1000000000.0 kg") == "at most 1e+09 kg"
    # short numbers, decimals, names with digits and versions stay as they are
    for text in ("greater than 0", "less than 1000", "at most 2000 bins", "value 12345678.5",
                 "file run_20261201000000.toml", "CsI-2021", "v1234567890a"):
        assert _short_numbers(text) == text


def test_bin_edges_above_the_largest_recoil_are_a_kinematics_error():
    # used to end in "ValueError: need at least one array to concatenate"
    with pytest.raises(KinematicsError, match=r"edges_keVnr starts at 500 keVnr, above the "
                                              r"largest possible recoil"):
        Detector(name="NaI", mass_kg=10, formula="NaI", threshold_keVnr=3.0,
                 binning={"rule": "edges", "edges_keVnr": [500.0, 600.0]})


RESPONSE = {"quenching": {"model": "lindhard", "k": 0.162},
            "smearing": {"model": "gaussian", "noise": 0.1},
            "threshold": {"value": 1.5, "unit": "keVee"}}


@pytest.mark.parametrize("width", [1e-9, 1e-5, 1e-3])
def test_response_bins_too_fine_are_refused_before_they_are_made(width):
    # 1e-9 used to raise MemoryError (63 GiB); 1e-3 (8500 bins) took almost two minutes
    with pytest.raises(ConfigError, match=r"bins\.width: .* bins, more than 2000"):
        Detector(name="G", mass_kg=10, formula="Ge", response={
            **RESPONSE, "bins": {"unit": "keVee", "width": width, "stop": 10.0}})


def test_ordinary_response_bins_are_accepted():
    det = Detector(name="G", mass_kg=10, formula="Ge", response={
        **RESPONSE, "bins": {"unit": "keVee", "width": 0.5, "stop": 10.0}})
    assert det.n_bins == 17


@pytest.mark.parametrize("law", ["sqrt-threshold", "fractional"])
def test_a_resolution_wider_than_ten_thresholds_is_refused(law):
    # sigma0 = 1e300 gave an overflow RuntimeWarning and a detector of one bin with zero signal
    # (1e100: zero signal, no warning)
    for sigma0 in (1e300, 1e100, 11.0):
        with pytest.raises(ConfigError, match=r"resolution\.sigma0: Input should be less than or "
                                              r"equal to 10"):
            CSI.replace(resolution={"law": law, "sigma0": sigma0})
    assert CSI.replace(resolution={"law": law, "sigma0": 10.0}).resolution.sigma0 == 10.0


def test_more_than_2000_explicit_bins_are_refused():
    # 200000 edges used to end in "MemoryError: Unable to allocate 2.91 TiB" (5000 took 6 GB)
    import numpy as np

    with pytest.raises(ConfigError, match=r"edges_keVnr: 200000 bins, more than 2000 "
                                          r"\(MAX_RESPONSE_BINS"):
        CSI.replace(binning={"rule": "edges", "edges_keVnr": tuple(np.linspace(1, 40, 200001))})


@pytest.mark.parametrize("change", [{"binning": {"rule": "resolution", "width_in_sigma": 0.01}},
                                    {"threshold_keVnr": 1e-12}])
def test_more_than_2000_resolution_bins_are_refused(change):
    # the limit was 1e5 bins: 5000 bins already took a minute and 6 GB in sm_spectrum
    with pytest.raises(KinematicsError, match=r"width_in_sigma = .* gives more than 2000 bins"):
        CSI.replace(**change).n_bins  # noqa: B018 (the bins are made when first used)


# -- third audit: response tables and timing ------------------------------------------------------

BINS = {"unit": "keVee", "width": 1.0, "stop": 9.0}
LOGISTIC = {"model": "logistic", "unit": "keVee", "k": 5.0, "x0": 1.2}


def _ge(**changes):
    return Detector(name="G", mass_kg=10, formula="Ge",
                    response={**RESPONSE, "bins": BINS, **changes})


@pytest.mark.parametrize(("changes", "match"), [
    # an efficiency above 1 doubled the signal; one that is zero everywhere gave a silent 0
    ({"efficiency": {**LOGISTIC, "offset": 0.5}}, r"a \+ offset = 1.5 .* cannot exceed 1"),
    ({"efficiency": {**LOGISTIC, "a": 5.0}}, r"a \+ offset = 5 .* cannot exceed 1"),
    ({"efficiency": {**LOGISTIC, "offset": -2.0}}, r"a \+ offset = -1 ≤ 0: .* zero everywhere"),
    ({"efficiency": {"model": "tabulated", "x": [0.0, 9.0], "y": [0.0, 0.0]}},
     r"every y is 0, the efficiency is zero everywhere"),
    # a quenching factor above 1: more light than an electron of the same energy
    ({"quenching": {"model": "constant", "quenching_factor": 0.5},
      "quenching_by_element": {"Ge": {"model": "linear", "a": 2.0}}},
     r"quenching of Ge\w* gives E_ee = 2 × T .* quenching factor above 1.*response.quenching"),
    ({"quenching": {"model": "polynomial", "coefficients": [1e300]}},
     r"quenching factor above 1"),
    ({"quenching": {"model": "tabulated", "recoil_keVnr": [1.0, 10.0],
                    "quenching_factor": [2.0, 2.0]}}, r"quenching factor above 1"),
    # widths that smear every recoil out of the bins (a zero signal after minutes)
    ({"smearing": {"model": "gaussian", "noise": 1e300}}, r"smearing.gaussian.noise"),
    ({"smearing": {"model": "gaussian", "stochastic": 1e300}}, r"smearing.gaussian.stochastic"),
    ({"smearing": {"model": "gaussian", "fractional": 1e300}}, r"smearing.gaussian.fractional"),
    ({"smearing": {"model": "poisson-pe", "light_yield": 1e300},
      "threshold": {"value": 1, "unit": "PE"}, "bins": {"unit": "PE", "edges": [1, 2, 3]}},
     r"smearing.poisson-pe.light_yield"),
    # sub-bins counted before they are made (MemoryError of 7.45 GiB before)
    ({"smearing": {"model": "gaussian", "noise": 0.1, "fine_step": 1e-9},
      "efficiency": LOGISTIC}, r"smearing.fine_step = 1e-09: .* more than 100000"),
    ({"smearing": {"model": "poisson-pe", "light_yield": 10.0},
      "threshold": {"value": 1, "unit": "PE"}, "bins": {"unit": "PE", "edges": [1, 2, 1e9]}},
     r"1-PE sub-bins from 1 to 1e\+09 PE .* more than 100000"),
])
def test_response_values_without_physical_meaning_are_refused(changes, match):
    with pytest.raises(ConfigError, match=match):
        _ge(**changes)


def test_the_releases_own_curves_stay_accepted():
    # a plateau of exactly 1 and a quenching factor of exactly 1 are physical
    det = _ge(efficiency={**LOGISTIC, "a": 1.0, "offset": 0.0},
              quenching={"model": "constant", "quenching_factor": 1.0})
    assert det.n_bins == 8


PULSE = {"model": "gaussian", "mean_us": 0.44, "sigma_us": 0.15}
EFFICIENCY = {"model": "exponential", "onset_us": 0.52, "rate_per_us": 0.0494}


@pytest.mark.parametrize(("timing", "match"), [
    # OverflowError, MemoryError or "Maximum allowed size exceeded" before
    ({"pulse": {**PULSE, "sigma_us": 1e300}, "window_us": [0, 6]}, r"pulse.gaussian.sigma_us"),
    ({"pulse": PULSE, "window_us": [0, 1e300]}, r"timing.window_us: 1e\+300 µs is beyond"),
    ({"pulse": PULSE, "window_us": [0, 1e6], "efficiency": EFFICIENCY},
     r"step_us = 0.002 cuts the window 0–1e\+06 µs into 5e\+08 steps"),
    ({"pulse": PULSE, "window_us": [0, 6], "step_us": 1e-12, "efficiency": EFFICIENCY},
     r"step_us = 1e-12 cuts the window"),
    ({"pulse": {"model": "tabulated", "time_us": [0, 1], "density": [1, 1], "step_us": 1e-12},
      "window_us": [0, 6]}, r"timing.pulse: step_us = 1e-12 cuts 0–1 µs into 1e\+12 points"),
    ({"pulse": {"model": "tabulated", "time_us": [0, 1e300], "density": [1, 1]},
      "window_us": [0, 6]}, r"timing.pulse.time_us: 1e\+300 µs is beyond"),
    # a bare ValueError when the spectrum was computed
    ({"pulse": PULSE, "efficiency": EFFICIENCY}, r"a time efficiency needs a window"),
])
def test_timing_values_are_checked_when_the_detector_is_built(timing, match):
    with pytest.raises(ConfigError, match=match):
        CSI.replace(timing=timing)


@pytest.mark.parametrize("timing", [
    {"pulse": PULSE, "window_us": [-100.0, -50.0]},  # before the pulse
    {"pulse": {**PULSE, "mean_us": 1e5}, "window_us": [0.0, 6.0]},  # pulse long after
    {"pulse": PULSE, "window_us": [0.0, 6.0],
     "efficiency": {"model": "exponential", "onset_us": -1e5, "rate_per_us": 1.0}},
])
def test_a_window_that_receives_no_neutrinos_is_a_kinematics_error(timing):
    # each gave a silent zero signal
    from cevns.rates import sm_spectrum

    with pytest.raises(KinematicsError, match=r"timing: the window .* receives no neutrinos"):
        sm_spectrum(CSI.replace(timing=timing), ESS)
