"""Axial SM and NGI rates on spin-carrying isotopes against brute-force quad integration.

SM: the engine's counts (vector + axial) against `quad_reference`, an independent re-typing of the
SM cross section (with the axial term from <S_p>, <S_n>) integrated with scipy.integrate.quad.
NGI axial/tensor: the engine's integration of the NGI basis term against quad integration of the
same term (the cross-section formula itself is checked against independent expressions in
tests/physics/test_ngi.py). Tolerance 1e-6 relative. Spin inputs: cevns/data/spin_expectation.toml
(Klos et al. 2013; Toivanen et al. 2009; Divari et al. 2000).
"""

from __future__ import annotations

import numpy as np
import pytest
from quad_reference import binned_counts
from scipy.integrate import quad

from cevns.experiment import Detector, get_source
from cevns.physics.constants import E_MICHEL_MAX, E_PROMPT
from cevns.physics.flux import CONTINUOUS_SPECTRA, FLAVOURS
from cevns.physics.kinematics import min_neutrino_energy
from cevns.physics.ngi import NGIBasis
from cevns.physics.units import MeV, cm
from cevns.rates import compute_basis_spectra, sm_spectrum

ISOTOPES = {"Xe129": "Xe", "Xe131": "Xe", "Ge73": "Ge", "I127": "I", "Na23": "Na", "F19": "F"}


def _single_isotope_detector(name: str) -> Detector:
    return Detector(name=f"{name}-test", mass_kg=10.0, threshold_keVnr=2.0, efficiency=0.8,
                    binning={"rule": "single"},
                    targets=[{"element": ISOTOPES[name], "enrichment": {name: 1.0}}])


@pytest.mark.parametrize("name", list(ISOTOPES))
def test_sm_axial_counts_match_quad(name):
    det = _single_isotope_detector(name)
    (nuc, _), = det.nuclei
    assert nuc.has_spin
    src = get_source("ess")
    spec = sm_spectrum(det)
    fluence = src.flux_per_flavour() * cm**2
    nd = {"Z": nuc.Z, "N": nuc.N, "mass_u": nuc.atomic_mass_u, "spin": nuc.spin,
          "sp": nuc.spin_proton, "sn": nuc.spin_neutron}
    lo, hi = det.bin_edges / MeV
    for a, flavour in enumerate(FLAVOURS):
        ref = binned_counts(flavour, nd, det.number_of_targets()[0], fluence, det.efficiency,
                            lo, hi, hi, None)
        assert spec.signal[a].sum() == pytest.approx(ref, rel=1e-6)
    # and the axial part is really there: without spin data the count drops
    no_spin = {**nd, "sp": 0.0, "sn": 0.0}
    vector_only = binned_counts("nue", no_spin, det.number_of_targets()[0], fluence,
                                det.efficiency, lo, hi, hi, None)
    assert spec.signal[FLAVOURS.index("nue")].sum() > vector_only * (1 + 1e-5)


# every isotope's axial term and one tensor term in CI; the other tensor terms (the same code
# path with another coupling constant, ~6 s each) with -m slow
@pytest.mark.parametrize(("name", "interaction"), [
    ("Xe131", "axial"), ("Ge73", "axial"), ("Na23", "axial"), ("Xe131", "tensor"),
    pytest.param("Ge73", "tensor", marks=pytest.mark.slow),
    pytest.param("Na23", "tensor", marks=pytest.mark.slow)])
def test_ngi_spin_term_integration_matches_quad(name, interaction):
    det = _single_isotope_detector(name)
    (nuc, _), = det.nuclei
    src = get_source("ess")
    basis = NGIBasis(interaction, mediator_mass=10 * MeV)
    counts = compute_basis_spectra(det, src, basis).counts.sum(axis=(1, 2))
    term = len(basis.names) - 1
    lo, hi = det.bin_edges

    def dn_dt(t, flavour):
        emin = float(min_neutrino_energy(t, nuc.mass))
        if flavour == "numu":
            if emin > E_PROMPT:
                return 0.0
            return float(basis.terms(nuc, flavour, np.array([E_PROMPT]), np.array([t]))[term, 0])
        if emin >= E_MICHEL_MAX:
            return 0.0
        spec = CONTINUOUS_SPECTRA[flavour]
        return quad(lambda e: float(spec(e) * basis.terms(nuc, flavour, np.array([e]),
                                                          np.array([t]))[term, 0]),
                    emin, E_MICHEL_MAX, epsabs=0, epsrel=1e-10, limit=400)[0]

    pts = list(np.geomspace(lo, hi, 8)[1:-1])
    ref = sum(quad(lambda t, fl=fl: dn_dt(t, fl), lo, hi, points=pts, epsabs=0, epsrel=1e-10,
                   limit=400)[0] for fl in FLAVOURS)
    ref *= det.number_of_targets()[0] * src.flux_per_flavour() * det.efficiency
    assert ref > 0
    assert counts[term, 0] == pytest.approx(ref, rel=1e-6)
