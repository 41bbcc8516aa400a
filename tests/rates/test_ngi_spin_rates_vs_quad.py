"""NGI axial and tensor rates on spin-carrying isotopes against an independent quad reference.

For ¹²⁹Xe, ¹³¹Xe, ⁷³Ge, ¹²⁷I, ²³Na and ¹⁹F, the engine's integrated NGI axial and tensor basis term
(per unit (g^ν g^q)²) is compared to scipy ``quad`` integration over T and E of the cross section
re-typed in tests/_reference/ngi_reference.py (arXiv:2501.12443 Eqs. 10c-10d, isoscalar S₀₀^{T,L}
from ⟨S_p⟩, ⟨S_n⟩) with the π-DAR spectra of tests/_reference/quad_reference.py: nothing of the
integrand comes from cevns, only the nucleus data (J, ⟨S_p⟩, ⟨S_n⟩, mass) and detector settings.
Tolerance 1e-6 relative. The SM axial rate of the same isotopes is checked the same way in
tests/rates/test_axial_isotopes_vs_quad.py.

Spin inputs (cevns/data/spin_expectation.toml; the values are asserted below so that a change of
the data is a visible change of this test):

- ¹⁹F: Divari, Kosmas, Vergados, Skouras, PRC 61, 054612 (2000);
- ²³Na, ⁷³Ge, ¹²⁷I, ¹²⁹Xe, ¹³¹Xe: Klos, Menéndez, Gazit, Schwenk, PRD 88, 083516 (2013), one-body
  currents.
"""

from __future__ import annotations

import math
import tomllib
from importlib import resources

import ngi_reference
import pytest
import quad_reference
from scipy.integrate import quad

from cevns.experiment import Detector, get_source
from cevns.physics.flux import FLAVOURS
from cevns.physics.ngi import NGIBasis
from cevns.physics.nuclei import get_nucleus
from cevns.physics.units import MeV, cm
from cevns.rates import compute_basis_spectra

#: isotope → (element, J, ⟨S_p⟩, ⟨S_n⟩, citation key of spin_expectation.toml)
SPIN_INPUTS = {
    "Xe129": ("Xe", 0.5, 0.010, 0.329, "klos2013"),
    "Xe131": ("Xe", 1.5, -0.009, -0.272, "klos2013"),
    "Ge73": ("Ge", 4.5, 0.031, 0.439, "klos2013"),
    "I127": ("I", 2.5, 0.342, 0.031, "klos2013"),
    "Na23": ("Na", 1.5, 0.224, 0.024, "klos2013"),
    "F19": ("F", 0.5, 0.475, -0.009, "divari2000"),
}
MEDIATOR_MEV = 10.0


def _detector(name: str) -> Detector:
    return Detector(name=f"{name}-ngi-test", mass_kg=10.0, threshold_keVnr=2.0, efficiency=0.8,
                    binning={"rule": "single"},
                    targets=[{"element": SPIN_INPUTS[name][0], "enrichment": {name: 1.0}}])


def _reference_counts(interaction: str, nuc: dict, lo: float, hi: float) -> float:
    """Σ_flavours ∫ dT ∫ dE φ(E) dσ_new/dT at g^ν g^q = 1, per target per cm⁻² fluence (MeV, cm)."""
    ma = nuc["mass_u"] * quad_reference.AMU

    def dn_dt(t: float, flavour: str) -> float:
        e_min = 0.5 * (t + math.sqrt(t * t + 2 * ma * t))
        if flavour == "numu":
            e = quad_reference.E_PI
            return ngi_reference.dsigma_dt_new(interaction, e, t, nuc, 1.0, MEDIATOR_MEV) \
                if e_min <= e else 0.0
        if e_min >= quad_reference.E_MAX:
            return 0.0
        return quad(lambda e: quad_reference.michel(flavour, e)
                    * ngi_reference.dsigma_dt_new(interaction, e, t, nuc, 1.0, MEDIATOR_MEV),
                    e_min, quad_reference.E_MAX, epsabs=0, epsrel=1e-11, limit=200)[0]

    t_prompt = 2 * quad_reference.E_PI**2 / (ma + 2 * quad_reference.E_PI)
    t_end = min(hi, 2 * quad_reference.E_MAX**2 / (ma + 2 * quad_reference.E_MAX))
    # the propagator 1/(2 m_A T + m_X²)² falls by decades over the bin: a geometric ladder of
    # breakpoints, plus the ν_μ kinematic edge
    ladder = [lo * (t_end / lo) ** (k / 8) for k in range(1, 8)]
    pts = sorted(p for p in [*ladder, t_prompt] if lo < p < t_end)
    return sum(quad(lambda t, fl=fl: dn_dt(t, fl), lo, t_end, points=pts, epsabs=0,
                    epsrel=1e-10, limit=400)[0] for fl in FLAVOURS)


def test_spin_inputs_are_the_cited_ones():
    """The spin data the rates below use are those of spin_expectation.toml, with its citations."""
    text = resources.files("cevns").joinpath("data/spin_expectation.toml").read_text("utf-8")
    table = tomllib.loads(text)["nucleus"]
    for name, (_, j, sp, sn, source) in SPIN_INPUTS.items():
        nuc = get_nucleus(name)
        assert (nuc.spin, nuc.spin_proton, nuc.spin_neutron) == (j, sp, sn)
        assert table[name]["source"] == source


@pytest.mark.parametrize("interaction", ["axial", "tensor"])
@pytest.mark.parametrize("name", list(SPIN_INPUTS))
def test_ngi_spin_rates_match_independent_quad(name, interaction):
    det = _detector(name)
    (nuc, _), = det.nuclei
    assert nuc.has_spin
    src = get_source("ess")
    basis = NGIBasis(interaction, mediator_mass=MEDIATOR_MEV * MeV)
    counts = compute_basis_spectra(det, src, basis).counts.sum(axis=(1, 2))  # (term, bin)
    term = basis.names.index(f"ngi_{interaction}")
    nd = {"Z": nuc.Z, "N": nuc.N, "mass_u": nuc.atomic_mass_u, "spin": nuc.spin,
          "sp": nuc.spin_proton, "sn": nuc.spin_neutron}
    lo, hi = det.bin_edges / MeV
    ref = _reference_counts(interaction, nd, lo, hi)
    ref *= det.number_of_targets()[0] * src.flux_per_flavour() * cm**2 * det.efficiency
    assert ref > 0
    assert counts[term, 0] == pytest.approx(ref, rel=1e-6)
