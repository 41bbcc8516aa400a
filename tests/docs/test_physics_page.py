"""Every number docs/physics.md shows is recomputed from the code here (regression of the page).

Each case names the text as it appears on the page and the value the package computes; the test
fails if the page and the code drift apart. The numbers themselves are validated elsewhere against
independent formulas and references (tests/physics, tests/experiment); this file only ties the page
to the code.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from cevns.experiment import get_detector, get_source
from cevns.physics import constants as c
from cevns.physics.cross_sections import proton_vector_coupling
from cevns.physics.kinematics import max_recoil_energy
from cevns.physics.nuclei import get_nucleus
from cevns.physics.units import MeV, cm, fm, keV

PAGE = (Path(__file__).resolve().parents[2] / "docs" / "physics.md").read_text(encoding="utf-8")
DAY = 86400.0


def _tmax(name: str) -> float:
    return max_recoil_energy(52.83 * MeV, get_nucleus(name).mass) / keV


def _axial_fraction(detector: str, nucleus: str) -> float:
    """The SM axial term's share of one nucleus's events in an ESS detector (the basis spectra
    times the SM coefficients; an independent quad integration agrees to 10⁻¹⁴ pointwise)."""
    import numpy as np

    from cevns.physics.basis import SMBasis
    from cevns.physics.cross_sections import sm_basis_coefficients
    from cevns.rates.engine import basis_spectra

    bs = basis_spectra(get_detector(detector), get_source("ess"), SMBasis())
    terms = np.einsum("t,tfkb->tk", np.asarray(sm_basis_coefficients(c.SIN2_THETA_W)), bs.counts)
    k = bs.nuclei.index(nucleus)
    return float(terms[bs.names.index("axial"), k] / terms[:, k].sum())


CASES = [
    # (text on the page, value from the code, expected value as printed, relative tolerance)
    ("E_π = 29.792 MeV", lambda: c.E_PROMPT / MeV, 29.792, 2e-5),
    ("m_μ/2 = 52.829 MeV", lambda: c.E_MICHEL_MAX / MeV, 52.829, 2e-5),
    ("G_F²(ħc)² = 5.2973 × 10⁻⁴⁴ cm² MeV⁻²", lambda: c.G_FERMI**2 * c.HBARC**2 / (cm**2 / MeV**2),
     5.2973e-44, 2e-5),
    ("πα²(ħc)²/m_e² = 2.4947 × 10⁻²⁵ cm²",
     lambda: math.pi * c.ALPHA_EM**2 / c.M_ELECTRON**2 * c.HBARC**2 / cm**2, 2.4947e-25, 2e-5),
    ("1 MeV⁻² = 3.8938 × 10⁻²² cm²", lambda: c.HBARC**2 / MeV**2 / cm**2, 3.8938e-22, 2e-5),
    ("Φ₀ = 1.6711 × 10¹⁵ ν cm⁻²", lambda: get_source("ess").flux_per_flavour_per_year_cm2(),
     1.6711e15, 5e-5),
    ("= 0.02286", lambda: float(proton_vector_coupling()), 0.02286, 1e-4),
    ("45.05 (Cs)", lambda: _tmax("Cs133"), 45.05, 2e-4),
    ("47.18 (I)", lambda: _tmax("I127"), 47.18, 2e-4),
    ("82.4 (Ge)", lambda: _tmax("Ge_nat"), 82.4, 1e-3),
    ("212.5 (Si)", lambda: _tmax("Si_nat"), 212.5, 5e-4),
    ("149.6 (Ar)", lambda: _tmax("Ar_nat"), 149.6, 5e-4),
    ("313.5 (F)", lambda: _tmax("F19"), 313.5, 5e-4),
    ("(5.051 fm for Cs with s = 1.0 fm)", lambda: get_nucleus("Cs133").default_helm_rms_radius() / fm,
     5.051, 2e-4),
    ("3 × 208 d × 4 % = 24.96 d",
     lambda: get_source("ess").background_exposure_time("beam-coincidence") / DAY, 24.96, 1e-9),
    ("1.000, 1.697, 2.573 keVnr", lambda: get_detector("CsI").bin_edges[2] / keV, 2.573, 2e-4),
    ("1.6 × 10⁻⁴ of the ¹³³Cs events", lambda: _axial_fraction("CsI", "Cs133"), 1.6e-4, 0.03),
    ("4.0 % of\nthe ¹⁹F events", lambda: _axial_fraction("C3F8", "F19"), 0.040, 0.0125),
]


@pytest.mark.parametrize(("text", "compute", "shown", "rtol"), CASES, ids=[c[0] for c in CASES])
def test_number_on_the_page(text, compute, shown, rtol):
    assert text in PAGE, f"the page no longer shows {text!r}"
    assert compute() == pytest.approx(shown, rel=rtol)


def test_bin_counts_on_the_page():
    counts = [get_detector(name).n_bins for name in ("CsI", "Xe", "Ge", "Si")]
    assert counts == [20, 16, 72, 119]
    assert "This gives\n  20, 16, 72 and 119 bins" in PAGE


def test_sin2w_convention_on_the_page():
    assert c.SIN2_THETA_W == 0.23857
    assert "sin²θ_W = **0.23857**, the MS-bar value run down to Q → 0" in PAGE
