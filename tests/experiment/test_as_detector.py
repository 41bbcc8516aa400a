"""cevns.experiment.as_detector / as_source: the one rule by which every function of cevns that
takes a detector or a source reads it (objects as given, preset names looked up, anything else a
ConfigError naming the function)."""

from __future__ import annotations

import numpy as np
import pytest

from cevns.errors import ConfigError, KinematicsError, UnknownNameError
from cevns.experiment import Catalogue, as_detector, as_source, get_detector, get_source
from cevns.physics.basis import SMBasis
from cevns.rates import basis_spectra, compute_basis_spectra, sm_spectrum
from cevns.scenarios import get_scenario

CSI, ESS = get_detector("CsI"), get_source("ess")


def test_objects_pass_through_and_names_are_looked_up():
    assert as_detector(CSI) is CSI and as_source(ESS) is ESS
    assert as_detector("CsI") == CSI and as_source("ess") == ESS
    # the catalogue given is the one searched: an empty one holds no detector
    assert as_detector("Xe", Catalogue.builtin()) == get_detector("Xe")
    with pytest.raises(UnknownNameError, match=r"holds no detectors"):
        as_detector("CsI", Catalogue.empty())
    with pytest.raises(UnknownNameError, match=r"holds no sources"):
        as_source("ess", Catalogue.empty())


@pytest.mark.parametrize("value", [3, None, b"CsI", ["CsI"], 2.5])
def test_other_types_are_refused_naming_the_function(value):
    with pytest.raises(ConfigError, match=rf"^f: detector must be a cevns.experiment.Detector or "
                                          rf"a detector preset name such as 'CsI', got "
                                          rf"{type(value).__name__}"):
        as_detector(value, where="f")
    with pytest.raises(ConfigError, match=rf"^source must be a cevns.experiment.Source or a "
                                          rf"source preset name such as 'ess', got "
                                          rf"{type(value).__name__}"):
        as_source(value)


def test_every_function_taking_a_detector_reads_names_alike():
    # the same counts from names as from objects, in each of the functions that take them
    # (before: basis_spectra and sm_spectrum took names, Scenario.counts refused them)
    ngi = get_scenario("ngi", interaction="vector")
    values = {"coupling": 1e-4, "mediator_mass_MeV": 10.0}
    np.testing.assert_array_equal(ngi.counts("CsI", "ess", values), ngi.counts(CSI, ESS, values))
    np.testing.assert_array_equal(basis_spectra("CsI", "ess", SMBasis()).counts,
                                  basis_spectra(CSI, ESS, SMBasis()).counts)
    np.testing.assert_array_equal(compute_basis_spectra("CsI", "ess", SMBasis()).counts,
                                  compute_basis_spectra(CSI, ESS, SMBasis()).counts)
    assert sm_spectrum("CsI", "ess").total_signal == sm_spectrum(CSI, ESS).total_signal


@pytest.mark.parametrize("call", [
    lambda d: get_scenario("sm").counts(d, ESS, {}),
    lambda d: basis_spectra(d, ESS, SMBasis()),
    lambda d: compute_basis_spectra(d, ESS, SMBasis()),
    lambda d: sm_spectrum(d),
])
def test_every_function_refuses_alike(call):
    with pytest.raises(UnknownNameError, match=r"unknown detector 'csi' \(did you mean 'CsI'\?\)"):
        call("csi")
    with pytest.raises(ConfigError, match=r"detector must be a cevns.experiment.Detector or a "
                                          r"detector preset name such as 'CsI', got int 3"):
        call(3)


def test_the_sterile_check_sees_the_resolved_detector():
    # Scenario.counts resolves the names before the scenario's check_values hook runs: a sterile
    # mass beyond reach is the KinematicsError naming the detector, for a name as for an object
    dipole = get_scenario("dipole", channel="e")
    values = {"magnetic_moment": 1e-10, "sterile_mass_MeV": 60.0}
    for det in ("CsI", CSI):
        with pytest.raises(KinematicsError,
                           match=r"sterile_mass_MeV 60 is above the largest sterile mass "
                                 r"reachable in CsI"):
            dipole.counts(det, "ess", values)
