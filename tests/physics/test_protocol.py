"""The physics ↔ engine protocol (cevns.physics.protocol): every built-in piece conforms, and the
engine's counts are what the protocol says they are.

Expected values: the π-DAR flux normalisation (∫φ dE = 1, prompt line at (m_π² − m_μ²)/(2m_π),
docs/physics.md#flux) and a scipy ``quad`` fold of flux × basis terms through the protocol objects
only, compared with :func:`cevns.rates.compute_basis_spectra` to 1e-6.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad

from cevns.errors import ConfigError, UnknownNameError
from cevns.experiment import Detector, get_source
from cevns.physics.basis import SMBasis
from cevns.physics.constants import M_MUON, M_PION
from cevns.physics.dipole import DipoleBasis
from cevns.physics.kinematics import min_neutrino_energy
from cevns.physics.ngi import NGIBasis
from cevns.physics.oscillation import OscillationBasis
from cevns.physics.protocol import (
    CoefficientModel,
    CrossSectionBasis,
    NeutrinoFlux,
    PionDecayAtRestFlux,
    check_coefficients,
)
from cevns.physics.units import MeV, eV, m
from cevns.physics.upscattering import UpscatteringBasis
from cevns.rates import compute_basis_spectra
from cevns.scenarios.base import _load_scenarios, get_scenario, scenario_names

BASES = [SMBasis(), NGIBasis("tensor", 5 * MeV), DipoleBasis(20 * MeV, "mu"),
         UpscatteringBasis("V", 30 * MeV, 10 * MeV), OscillationBasis(3 * eV**2, "e", 20 * m)]


@pytest.mark.parametrize("basis", BASES, ids=lambda b: type(b).__name__)
def test_builtin_bases_conform(basis):
    assert isinstance(basis, CrossSectionBasis)
    hash(basis)  # part of cache keys


@pytest.mark.parametrize("name", scenario_names())
def test_builtin_scenarios_are_coefficient_models(name):
    assert issubclass(_load_scenarios()[name], CoefficientModel)
    if name == "ngi":
        assert isinstance(get_scenario(name, interaction="vector"), CoefficientModel)


def test_pion_dar_flux_conforms_and_is_normalised():
    src = get_source("ess")
    flux = PionDecayAtRestFlux(src.flux_per_flavour())
    assert isinstance(flux, NeutrinoFlux)
    assert flux.flavours == ("numu", "nue", "numubar")
    e_pi = (M_PION**2 - M_MUON**2) / (2 * M_PION)
    assert flux.line_energy("numu") == pytest.approx(e_pi, rel=1e-15)
    assert flux.support("numu") == (e_pi, e_pi)
    for flavour in ("nue", "numubar"):
        assert flux.line_energy(flavour) is None
        lo, hi = flux.support(flavour)
        assert hi == pytest.approx(M_MUON / 2, rel=1e-15)
        norm = quad(lambda e, fl=flavour: float(flux.density(fl, e)), lo, hi, epsrel=1e-12)[0]
        assert norm == pytest.approx(1.0, rel=1e-10)
        assert flux.fluence(flavour) == src.flux_per_flavour()
    assert np.all(flux.density("numu", np.array([10.0, 29.8]) * MeV) == 0.0)
    with pytest.raises(UnknownNameError, match="numu"):
        flux.fluence("nu_tau")          # not a flavour name at all
    with pytest.raises(ConfigError, match="numu, nue, numubar"):
        flux.fluence("nutau")           # a flavour, but not one of π-DAR
    with pytest.raises(ConfigError, match="fluence_per_flavour"):
        PionDecayAtRestFlux(float("nan"))


def test_engine_counts_are_the_protocol_fold():
    """N = n_targets ε Σ_α Φ_α ∫dT ∫dE φ_α(E) b_j(E, T), evaluated through the protocol objects."""
    det = Detector(name="Ar-protocol", mass_kg=10.0, threshold_keVnr=20.0, efficiency=0.5,
                   binning={"rule": "single"}, targets=[{"element": "Ar", "enrichment": {"Ar40": 1}}])
    (nuc, _), = det.nuclei
    src = get_source("ess")
    flux = PionDecayAtRestFlux(src.flux_per_flavour())
    basis: CrossSectionBasis = NGIBasis("scalar", 30 * MeV)
    counts = compute_basis_spectra(det, src, basis).counts.sum(axis=(2, 3))  # (term, flavour)
    lo, hi = det.bin_edges
    pts = list(np.geomspace(lo, hi, 6)[1:-1])

    def dn_dt(t, flavour, j):
        e_min = float(min_neutrino_energy(t, nuc.mass))
        line = flux.line_energy(flavour)
        if line is not None:
            return float(basis.terms(nuc, flavour, np.array([line]), np.array([t]))[j, 0]) \
                if e_min <= line else 0.0
        e_hi = flux.support(flavour)[1]
        if e_min >= e_hi:
            return 0.0
        return quad(lambda e: float(flux.density(flavour, e) * basis.terms(
            nuc, flavour, np.array([e]), np.array([t]))[j, 0]),
            e_min, e_hi, epsabs=0, epsrel=1e-10, limit=200)[0]

    for a, flavour in enumerate(flux.flavours):
        for j in (0, 4):  # the SM "ZZ" term and the scalar NGI term
            ref = quad(dn_dt, lo, hi, args=(flavour, j), points=pts, epsabs=0, epsrel=1e-9,
                       limit=200)[0]
            ref *= det.number_of_targets()[0] * flux.fluence(flavour) * det.efficiency
            assert ref > 0
            assert counts[j, a] == pytest.approx(ref, rel=1e-6)


def test_check_coefficients():
    names = ("ZZ", "ZN", "NN", "axial")
    c = check_coefficients(names, np.ones((4, 3)))
    assert c.shape == (4, 3)
    with pytest.raises(ConfigError, match="3 rows of coefficients for 4 basis terms ZZ, ZN, NN"):
        check_coefficients(names, np.ones((3, 2)), where="scenario 'mine'")
    with pytest.raises(ConfigError, match="scenario 'mine'"):
        check_coefficients(names, 1.0, where="scenario 'mine'")
    with pytest.raises(ConfigError, match="finite"):
        check_coefficients(names, [1.0, 2.0, np.nan, 0.0])
