"""Bad inputs through the Python API: each is a CevnsError whose message names the field.

NaN, ±inf, negative and out-of-range numbers, unknown names, and copies of valid objects with
invalid values (``model_copy(update=...)``, ``replace``) — none may give a NaN, an infinite or a
negative table, a ZeroDivisionError or a stale object.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from cevns.errors import CevnsError, KinematicsError, UnknownNameError
from cevns.experiment import Detector, Source, get_detector, get_source
from cevns.physics.cross_sections import sm_basis_coefficients, sm_differential_cross_section
from cevns.physics.flux import pion_dar_spectrum
from cevns.physics.form_factors import helm_form_factor
from cevns.physics.nuclei import get_nucleus
from cevns.physics.units import MeV, fm, keV
from cevns.rates import sm_spectrum
from cevns.scenarios import get_scenario
from cevns.stats import poisson_deviance

NAN, INF = math.nan, math.inf
CSI = get_detector("CsI")
ESS = get_source("ess")
AR = get_detector("Ar")

CASES = {
    # detectors: every way of making a changed copy re-validates
    "copy-negative-mass": (lambda: CSI.model_copy(update={"mass_kg": -5}), "mass_kg"),
    "replace-inf-mass": (lambda: CSI.replace(mass_kg=INF), "mass_kg"),
    "replace-nan-mass": (lambda: CSI.replace(mass_kg=NAN), "mass_kg"),
    "nan-threshold": (lambda: CSI.replace(threshold_keVnr=NAN), "threshold_keVnr"),
    "negative-threshold": (lambda: CSI.model_copy(update={"threshold_keVnr": -1.0}),
                           "threshold_keVnr"),
    "unreachable-threshold": (lambda: CSI.replace(threshold_keVnr=500.0), "threshold_keVnr"),
    "inf-sigma0": (lambda: CSI.replace(resolution={"law": "sqrt-threshold", "sigma0": INF}),
                   "resolution.sigma0"),
    "inf-background": (lambda: CSI.replace(background={"rate_ckkd": INF}),
                       "background.rate_ckkd"),
    "negative-background": (lambda: CSI.replace(background={"rate_ckkd": -1.0}),
                            "background.rate_ckkd"),
    "efficiency-above-one": (lambda: CSI.replace(efficiency=1.5), "efficiency"),
    "zero-helm-skin": (lambda: CSI.replace(helm_skin_fm=0.0), "helm_skin_fm"),
    "nan-helm-skin": (lambda: CSI.model_copy(update={"helm_skin_fm": NAN}), "helm_skin_fm"),
    "unknown-detector-field": (lambda: CSI.replace(treshold_keVnr=5.0), "treshold_keVnr"),
    "no-targets": (lambda: CSI.replace(targets=()), "targets"),
    "unknown-element": (lambda: CSI.replace(targets=({"element": "Xx"},)), "element"),
    "nan-bin-edge": (lambda: CSI.replace(binning={"rule": "edges", "edges_keVnr": (1.0, NAN)}),
                     "edges_keVnr"),
    "constructor-inf-mass": (lambda: Detector(**{**AR.model_dump(), "mass_kg": INF}), "mass_kg"),
    "model-construct-negative-mass": (
        lambda: Detector.model_construct(**{**AR.model_dump(), "mass_kg": -1.0}), "mass_kg"),
    "assign-a-field": (lambda: setattr(CSI, "mass_kg", 5.0), "mass_kg"),
    # sources
    "copy-zero-baseline": (lambda: ESS.model_copy(update={"baseline_m": 0}), "baseline_m"),
    "inf-baseline": (lambda: ESS.replace(baseline_m=INF), "baseline_m"),
    "inf-run-years": (lambda: ESS.replace(run_years=INF), "run_years"),
    "with-run-years-inf": (lambda: ESS.with_run_years(INF), "run_years"),
    "with-run-years-nan": (lambda: ESS.with_run_years(NAN), "run_years"),
    "with-run-years-negative": (lambda: ESS.with_run_years(-1.0), "run_years"),
    "with-run-years-text": (lambda: ESS.with_run_years("three"), "run_years"),
    "duty-factor-above-one": (lambda: ESS.replace(duty_factor=2.0), "duty_factor"),
    "nan-pot": (lambda: ESS.replace(pot_per_year=NAN), "pot_per_year"),
    "constructor-inf-flux": (lambda: Source(**{**ESS.model_dump(), "nu_per_flavour_per_pot": INF}),
                             "nu_per_flavour_per_pot"),
    # rates and physics functions
    "spectrum-nan-sin2w": (lambda: sm_spectrum(CSI, sin2_theta_w=NAN), "sin2_theta_w"),
    "spectrum-sin2w-five": (lambda: sm_spectrum(CSI, sin2_theta_w=5.0), "sin2_theta_w"),
    # sin²θ_W = 0 is legal since the one range [0, 1] (test_sm_spectrum_sin2_theta_w_range)
    "spectrum-sin2w-just-above-one": (lambda: sm_spectrum(CSI, sin2_theta_w=1.0000001),
                                      "sin2_theta_w"),
    "spectrum-inf-run-years": (lambda: sm_spectrum(CSI, run_years=INF), "run_years"),
    "spectrum-unknown-detector": (lambda: sm_spectrum("NoSuchDetector"), "detector"),
    "spectrum-unknown-source": (lambda: sm_spectrum(CSI, "no-such-source"), "source"),
    "coefficients-inf": (lambda: sm_basis_coefficients(INF), "sin2_theta_w"),
    "coefficients-array-with-nan": (lambda: sm_basis_coefficients(np.array([0.2, NAN])),
                                    "sin2_theta_w"),
    "helm-nan-skin": (lambda: helm_form_factor(10 * MeV, 4.8 * fm, NAN), "helm_skin"),
    "helm-inf-radius": (lambda: helm_form_factor(10 * MeV, INF), "rms_radius"),
    "nucleus-negative-skin": (lambda: get_nucleus("Cs133").with_helm_skin(-1.0 * fm), "helm_skin"),
    "nucleus-not-a-name": (lambda: get_nucleus(55), "nucleus name"),  # was an AttributeError
    # a NaN neutrino energy gave dσ/dT = 0, a negative one a positive dσ/dT, a negative recoil a
    # numpy RuntimeWarning, shapes that do not broadcast a bare numpy ValueError
    "xs-nan-neutrino-energy": (lambda: sm_differential_cross_section(
        get_nucleus("Cs133"), np.array([NAN, 30 * MeV]), 10 * keV), "neutrino_energy"),
    "xs-negative-neutrino-energy": (lambda: sm_differential_cross_section(
        get_nucleus("Cs133"), -30 * MeV, 10 * keV), "neutrino_energy"),
    "xs-negative-recoil": (lambda: sm_differential_cross_section(
        get_nucleus("Cs133"), 30 * MeV, -1 * keV), "recoil_energy"),
    "xs-shapes": (lambda: sm_differential_cross_section(
        get_nucleus("Cs133"), np.full(3, 30 * MeV), np.full(4, keV)), "broadcast"),
    # a NaN energy gave a density of 0, text a bare ValueError
    "flux-nan-energy": (lambda: pion_dar_spectrum("nue", np.array([NAN])), "neutrino_energy"),
    "flux-text-energy": (lambda: pion_dar_spectrum("nue", "abc"), "neutrino_energy"),
    # scenarios
    "unknown-scenario": (lambda: get_scenario("no-such-model"), "scenario"),
    "unknown-scenario-option": (lambda: get_scenario("sm", form_factors="common"), "form_factors"),
    "unknown-parameter": (lambda: get_scenario("sm").counts(CSI, ESS, {"sin2w": 0.2}), "sin2w"),
    "nan-parameter": (lambda: get_scenario("sm").counts(CSI, ESS, {"sin2_theta_w": NAN}),
                      "sin2_theta_w"),
    "negative-coupling": (lambda: get_scenario("ngi", interaction="vector").counts(
        CSI, ESS, {"coupling": -1e-4}), "coupling"),
    # a value of another type is refused, not converted (True would be 1 kg, "2" two years)
    "bool-mass": (lambda: CSI.replace(mass_kg=True), "mass_kg"),
    "text-run-years": (lambda: ESS.replace(run_years="2"), "run_years"),
    "bool-edge": (lambda: CSI.replace(binning={"rule": "edges", "edges_keVnr": [True, 5.0, 9.0]}),
                  "edges_keVnr"),
    "parameters-not-a-mapping": (lambda: get_scenario("sm").counts(CSI, ESS, None),
                                 "mapping"),  # was a TypeError
    # third audit: accepted silently, or an OverflowError / MemoryError / bare numpy error
    "numpy-bool-mass": (lambda: CSI.replace(mass_kg=np.True_), "mass_kg"),  # was 1 kg
    "coupling-sign-true": (lambda: get_scenario("ngi", interaction="vector", coupling_sign=True),
                           "coupling_sign"),  # was +1
    "with-run-years-true": (lambda: ESS.with_run_years(True), "run_years"),  # was 1 year
    "enrichment-overflow": (lambda: get_detector("Ge").replace(targets=(
        {"element": "Ge", "enrichment": {"Ge76": 1e308, "Ge74": 1e308}},)), "enrichment"),
    "spin-above-z-over-two": (lambda: CSI.replace(nuclear_data={"Cs133": {
        "source": "x", "spin_proton": 1e300, "spin_neutron": 0.0}}), "spin_proton"),
    "proton-radius-huge": (lambda: CSI.replace(nuclear_data={"Cs133": {
        "source": "x", "proton_rms_radius_fm": 1e300}}), "proton_rms_radius_fm"),
    "line-energy-huge": (lambda: get_source("ess-table").replace(lines=(
        {"flavour": "numu", "energy_MeV": 1e300, "intensity": 0.1},)), "energy_MeV"),
    "spectrum-energy-huge": (lambda: get_source("ess-table").replace(
        spectrum={"energy_MeV": (0.0, 1e300), "flux": {"nue": (1.0, 1.0)}}), "energy_MeV"),
    "background-exposure-days-huge": (lambda: CSI.replace(
        background={"rate_ckkd": 1.0, "exposure_days": 1e300}), "exposure_days"),
    "scenario-bool-coupling": (lambda: get_scenario("ngi", interaction="vector").counts(
        CSI, ESS, {"coupling": True}), "coupling"),  # was a coupling of 1
    "scenario-grid-mode": (lambda: get_scenario("sm").counts(CSI, ESS, {}, grid="inner"),
                           "grid"),  # was taken as "broadcast"
    "scenario-broadcast-shapes": (lambda: get_scenario("ngi", interaction="vector").counts(
        CSI, ESS, {"coupling": np.array([1e-4, 2e-4]), "mediator_mass_MeV": np.ones(3)},
        grid="broadcast"), "broadcast"),
    # a preset name is a detector or source (one rule, cevns.experiment.as_detector); other types
    # and unknown names are refused (tests/experiment/test_as_detector.py)
    "scenario-detector-type": (lambda: get_scenario("sm").counts(3, ESS, {}), "detector"),
    "scenario-source-type": (lambda: get_scenario("sm").counts(CSI, None, {}), "source"),
    "scenario-detector-unknown": (lambda: get_scenario("sm").counts("CsJ", ESS, {}),
                                  "unknown detector 'CsJ'"),
    "sterile-mass-huge-no-signal": (lambda: get_scenario(
        "dipole", channel="e", beyond_reach="no-signal").counts(
        CSI, ESS, {"magnetic_moment": 1e-10, "sterile_mass_MeV": 1e300}), "sterile_mass_MeV"),
    "upscattering-mediator-huge": (lambda: get_scenario("upscattering", interaction="V").counts(
        CSI, ESS, {"coupling": 1e-4, "mediator_mass_MeV": 1e300}), "mediator_mass_MeV"),
    "scenario-grid-too-large": (lambda: get_scenario("ngi", interaction="vector").counts(
        CSI, ESS, {"coupling": np.zeros(100_000), "sin2_theta_w": np.full(100_000, 0.23)}),
        "CEVNS_MAX_GRID_BYTES"),  # was a MemoryError after 48 s
    # fourth audit: an NGI mediator mass had no upper bound (m_X² overflowed at 1e200 MeV)
    "ngi-mediator-mass-huge": (lambda: get_scenario("ngi", interaction="vector").counts(
        CSI, ESS, {"coupling": 1e-4, "mediator_mass_MeV": 1e200}), "mediator_mass_MeV"),
    "ngi-propagator-mass-inf": (lambda: _propagator(INF), "mediator_mass"),
    # fourth audit: text taken for numbers, NaN coefficients giving NaN counts, bare numpy errors
    "spectrum-text-sin2w": (lambda: sm_spectrum(CSI, sin2_theta_w="0.2"), "sin2_theta_w"),
    "coefficients-text-in-list": (lambda: sm_basis_coefficients([0.2, "0.3"]), "sin2_theta_w"),
    "basis-combine-nan": (lambda: _sm_basis().combine(np.full((3, 2), NAN)), "coefficients"),
    "basis-combine-shape": (lambda: _sm_basis().combine(np.ones((7, 2))), "coefficients"),
    "basis-combine-scalar": (lambda: _sm_basis().combine(1.0), "coefficients"),
    "deviance-shapes": (lambda: poisson_deviance(np.ones(3), np.ones(4)), "broadcast"),
    "deviance-axis": (lambda: poisson_deviance(np.ones(3), np.ones(3), axis=2), "axis"),
}


def _propagator(mass_MeV):
    from cevns.physics.ngi import propagator_denominator

    return propagator_denominator(10 * keV, get_nucleus("Cs133").mass, mass_MeV * MeV)


def _sm_basis():
    from cevns.physics.basis import SMBasis
    from cevns.rates import basis_spectra

    return basis_spectra(CSI, ESS, SMBasis())


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_a_named_cevns_error(case):
    make, field = CASES[case]
    with pytest.raises(CevnsError) as info:
        make()
    assert field in str(info.value), f"{case}: {info.value!s} does not name {field!r}"


def test_enough_cases():
    assert len(CASES) >= 25


def test_kinds_of_error():
    with pytest.raises(KinematicsError):
        CSI.replace(threshold_keVnr=500.0)
    with pytest.raises(UnknownNameError):
        sm_spectrum("NoSuchDetector")


def test_failed_copy_leaves_the_original_intact():
    before = sm_spectrum(CSI).total_signal
    with pytest.raises(CevnsError):
        CSI.model_copy(update={"mass_kg": -5})
    assert CSI.mass_kg > 0
    assert sm_spectrum(CSI).total_signal == before


def test_derived_arrays_are_read_only():
    # derived state of an immutable detector cannot be changed behind the cache's back
    with pytest.raises(ValueError, match="read-only"):
        CSI.bin_edges[0] = 0.0


def test_checked_energies_keep_the_cross_section():
    """The energy checks change no number: the kinematic end point still gives 0."""
    cs = get_nucleus("Cs133")
    inside = sm_differential_cross_section(cs, 30 * MeV, 10 * keV)
    assert inside > 0 and sm_differential_cross_section(cs, 30 * MeV, 1000 * keV) == 0.0
    assert pion_dar_spectrum("nue", np.array([-1.0]))[0] == 0.0  # below the spectrum: no ν


@pytest.mark.parametrize(("value", "shown"), [
    (1.0000001, r"got 1\.0000001$"), (-1e-9, r"got -1e-09$"), (NAN, "got nan$"), (INF, "got inf$"),
    (True, r"got True \(true/false is not a number\)$"), (np.True_, r"\(true/false is not")])
def test_sm_spectrum_refuses_sin2_theta_w_outside_zero_one(value, shown):
    # the one range of sin²θ_W, [0, 1] (cevns.physics.constants.SIN2_THETA_W_RANGE); the message
    # names the parameter, the range and the value
    with pytest.raises(CevnsError, match=r"^sin2_theta_w must be (finite and in|a number in) "
                                         r"\[0, 1\].*" + shown):
        sm_spectrum(CSI, sin2_theta_w=value)


def test_sm_spectrum_takes_the_edges_of_sin2_theta_w():
    """sm_spectrum refused 0 and 1 (it took only the open (0, 1)); both are legal and finite. The
    expected totals: the rate is quadratic in sin²θ_W (g_V^p = 1/2 − 2 sin²θ_W), so they are the
    parabola through three interior values."""
    s = np.array([0.2, 0.25, 0.3])
    parabola = np.polyfit(s, [sm_spectrum(CSI, sin2_theta_w=x).total_signal for x in s], 2)
    for edge in (0.0, 1.0):
        total = sm_spectrum(CSI, sin2_theta_w=edge).total_signal
        assert math.isfinite(total) and total == pytest.approx(np.polyval(parabola, edge), rel=1e-9)
