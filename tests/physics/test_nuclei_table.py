"""The isotope table, spin data, compound formulas and enrichment (issue "Any experiment").

Expected values come from sources independent of the generated table: the curated
``nuclei.toml`` (NIST/AME masses, Angeli–Marinova radii), IUPAC standard atomic weights and
textbook ground-state spins.
"""

from __future__ import annotations

import math

import pytest

from cevns.errors import ConfigError, UnknownNameError
from cevns.experiment import Detector, get_detector
from cevns.physics.nuclei import (
    element_composition,
    element_names,
    estimated_charge_radius_fm,
    get_nucleus,
    nucleus_names,
    parse_formula,
)
from cevns.physics.units import fm

# IUPAC standard atomic weights with their stated uncertainty (CIAAW; Pb: the 2021 conventional
# value, whose interval [206.14, 207.94] reflects the natural variability of lead)
STANDARD_WEIGHTS = {"Na": (22.98976928, 2e-8), "Ca": (40.078, 0.004), "O": (15.999, 0.001),
                    "W": (183.84, 0.01), "Pb": (207.2, 1.1), "Al": (26.9815384, 3e-7),
                    "Cd": (112.414, 0.004), "Te": (127.60, 0.03), "Mo": (95.95, 0.01),
                    "Zn": (65.38, 0.02)}
# ground-state J (NUBASE/ENSDF; standard textbook values)
SPINS = {"Na23": 1.5, "Al27": 2.5, "F19": 0.5, "Ge73": 4.5, "I127": 2.5, "Xe129": 0.5,
         "Xe131": 1.5, "Cs133": 3.5, "W183": 0.5, "Pb207": 0.5, "Pb208": 0.0, "Ca40": 0.0}


def test_every_natural_element_is_there():
    names = element_names()
    assert len(names) >= 80
    for el in ("H", "Na", "Ca", "W", "Pb", "Bi", "U", "Th", "Xe", "Ge", "Cs", "I"):
        assert el in names
    assert "Tc" not in names and "Pm" not in names  # no natural isotopes


@pytest.mark.parametrize("element", sorted(set(element_names())))
def test_isotopic_abundances_sum_to_one(element):
    fractions = [f for _, f in element_composition(element, "isotopes")]
    assert math.fsum(fractions) == pytest.approx(1.0, abs=1e-12)  # normalised on read
    assert all(f > 0 for f in fractions)


@pytest.mark.parametrize("element", sorted(STANDARD_WEIGHTS))
def test_natural_mean_mass_matches_standard_atomic_weight(element):
    """Abundance-weighted isotope masses reproduce IUPAC standard atomic weights within their
    stated uncertainty (plus 1e-6 u for rounding of the tabulated masses)."""
    comp = element_composition(element, "isotopes")
    weight = math.fsum(f * n.atomic_mass_u for n, f in comp)
    value, unc = STANDARD_WEIGHTS[element]
    assert weight == pytest.approx(value, abs=unc + 1e-6)


def test_generated_masses_agree_with_curated_table():
    """Two independent mass evaluations (curated NIST/AME2016 vs generated CIAAW) agree to 1e-5 u."""
    from cevns.physics.nuclei import _isotopes

    gen = _isotopes()
    checked = 0
    for name in ("Cs133", "I127", "Xe124", "Xe129", "Xe131", "Xe136", "Ge70", "Ge73", "Ge76",
                 "Si28", "Si29", "Ar40", "F19", "C12", "C13"):
        assert get_nucleus(name).atomic_mass_u == pytest.approx(gen[name].atomic_mass_u, abs=1e-5)
        checked += 1
    assert checked == 15


@pytest.mark.parametrize(("name", "spin"), sorted(SPINS.items()))
def test_ground_state_spins(name, spin):
    assert get_nucleus(name).spin == spin


@pytest.mark.parametrize("name", ["Cs133", "Ar40", "F19", "Si28", "Ge74", "Xe132"])
def test_estimated_radius_close_to_measured(name):
    """The Lewin–Smith estimate is within 5 % of the measured (curated) charge radii."""
    nuc = get_nucleus(name)
    measured = nuc.proton_rms_radius / fm
    assert estimated_charge_radius_fm(round(nuc.A)) == pytest.approx(measured, rel=0.05)


def test_spin_data_cited_and_complete_for_common_targets():
    for name in ("Na23", "Al27", "Si29", "Ge73", "I127", "Xe129", "Xe131", "Cs133", "F19"):
        nuc = get_nucleus(name)
        assert nuc.spin_data and nuc.has_spin, name
        assert "spinexp" in nuc.source, name
    # Klos et al. 2013: the odd-neutron nuclei are neutron dominated, the odd-proton ones proton
    for name in ("Si29", "Ge73", "Xe129", "Xe131"):
        nuc = get_nucleus(name)
        assert abs(nuc.spin_neutron) > 5 * abs(nuc.spin_proton)
    for name in ("Na23", "Al27", "I127", "Cs133", "F19"):
        nuc = get_nucleus(name)
        assert abs(nuc.spin_proton) > 5 * abs(nuc.spin_neutron)


def test_missing_spin_data_is_an_error_naming_the_isotope():
    w183 = get_nucleus("W183")
    assert w183.spin == 0.5 and not w183.spin_data
    with pytest.raises(ConfigError, match="W183 has J = 0.5 but no tabulated spin"):
        w183.require_spin_data()
    get_nucleus("W184").require_spin_data()  # J = 0: nothing needed


def test_natural_effective_of_any_element():
    na = element_composition("Na")  # mono-isotopic: the isotope itself, with its spin
    assert [(n.name, f) for n, f in na] == [("Na23", 1.0)]
    (w, f), = element_composition("W")
    assert w.name == "W_nat" and w.spin == 0 and f == 1.0
    assert w.atomic_mass_u == pytest.approx(STANDARD_WEIGHTS["W"][0], abs=STANDARD_WEIGHTS["W"][1])
    assert "W_nat" in nucleus_names() and "W183" in nucleus_names()


@pytest.mark.parametrize(("formula", "atoms"), [
    ("NaI", (("Na", 1), ("I", 1))),
    ("C3F8", (("C", 3), ("F", 8))),
    ("CaWO4", (("Ca", 1), ("W", 1), ("O", 4))),
    ("Al2O3", (("Al", 2), ("O", 3))),
    ("Ca3(PO4)2", (("Ca", 3), ("P", 2), ("O", 8))),
    ("CH3CH2OH", (("C", 2), ("H", 6), ("O", 1))),
    ("Gd3Ga5O12", (("Gd", 3), ("Ga", 5), ("O", 12))),
])
def test_parse_formula(formula, atoms):
    assert parse_formula(formula) == tuple((el, float(n)) for el, n in atoms)


@pytest.mark.parametrize(("formula", "message"), [
    ("", "non-empty"), ("nai", "cannot read"), ("Xx2", "unknown element 'Xx'"),
    ("Ca(OH", "unmatched '\\('"), ("CaO)", "unmatched '\\)'"), ("2Ca", "count 2 must follow"),
    ("Na0I", "must follow an element or '\\)' and be > 0"), ("Tc", "unknown element 'Tc'"),
])
def test_bad_formulas(formula, message):
    with pytest.raises(ConfigError, match=message):
        parse_formula(formula)


def test_detector_from_formula_equals_explicit_targets():
    csi = get_detector("CsI")
    by_formula = Detector(**{**csi.model_dump(exclude={"targets"}), "formula": "CsI"})
    assert by_formula.targets == csi.targets
    assert by_formula.nuclei == csi.nuclei
    with pytest.raises(ConfigError, match="formula 'NaI' or targets"):
        Detector(**{**csi.model_dump(), "formula": "NaI"})


def test_enrichment_and_its_errors():
    det = Detector(name="Ge76", mass_kg=1, threshold_keVnr=1,
                   targets=[{"element": "Ge", "enrichment": {"Ge76": 0.88, "Ge74": 0.12}}])
    assert [(n.name, round(f, 12)) for n, f in det.nuclei] == [("Ge76", 0.88), ("Ge74", 0.12)]
    with pytest.raises(ConfigError, match="Xe132' is not an isotope of Ge"):
        Detector(name="x", mass_kg=1, threshold_keVnr=1,
                 targets=[{"element": "Ge", "enrichment": {"Xe132": 1.0}}])
    with pytest.raises(ConfigError, match="fractions sum to 0"):
        Detector(name="x", mass_kg=1, threshold_keVnr=1,
                 targets=[{"element": "Ge", "enrichment": {"Ge76": 0.0}}])
    with pytest.raises(UnknownNameError):
        element_composition("Ge", enrichment={"Ge99": 1.0})
    # finite fractions whose sum overflows: a ConfigError from the physics layer itself, not
    # only through a Detector (math.fsum raised OverflowError here)
    with pytest.raises(ConfigError, match="too large to add up"):
        element_composition("Ge", enrichment={"Ge76": 1e308, "Ge74": 1e308})


def test_detector_nuclear_data_completes_and_is_checked():
    own = {"W183": {"source": "a test value", "spin_proton": 0.0, "spin_neutron": 0.03}}
    det = Detector(name="W", mass_kg=1, threshold_keVnr=1, composition="isotopes",
                   targets=[{"element": "W"}], nuclear_data=own)
    w183 = dict((n.name, n) for n, _ in det.nuclei)["W183"]
    assert w183.spin_data and w183.spin_neutron == 0.03 and "a test value" in w183.source
    with pytest.raises(ConfigError, match=r"nuclear_data for \['Xe129'\]"):
        Detector(name="W", mass_kg=1, threshold_keVnr=1, targets=[{"element": "W"}],
                 nuclear_data={"Xe129": {"source": "x", "proton_rms_radius_fm": 4.8}})
    with pytest.raises(ConfigError, match="spin_proton and spin_neutron together"):
        Detector(name="W", mass_kg=1, threshold_keVnr=1, targets=[{"element": "W"}],
                 composition="isotopes", nuclear_data={"W183": {"source": "x", "spin_proton": 0.1}})


def test_a_nucleus_built_by_hand_is_checked():
    """dataclasses.replace (or a Nucleus made by hand) gets the checks of the tables: before, a
    spin expectation value of 1e300 reached the axial form factor and overflowed there, and a NaN
    neutron number gave NaN rates. The bound |⟨S_p⟩| ≤ Z/2 is the most Z spin-½ protons carry."""
    import dataclasses
    import math

    xe = get_nucleus("Xe129")
    for field, value, match in (("spin_proton", 1e300, "spin_proton = 1e\\+300 is above Z/2 = 27"),
                                ("spin_neutron", -38.0, "spin_neutron = -38 is above N/2 = 37.5"),
                                ("N", math.nan, "N must be a finite number ≥ 0"),
                                ("Z", -1, "Z must be a finite number ≥ 0"),
                                ("atomic_mass_u", 0.0, "atomic_mass_u must be a finite number > 0"),
                                ("proton_rms_radius", math.inf, "proton_rms_radius must be"),
                                ("spin", True, "spin must be a finite number ≥ 0")):
        with pytest.raises(ConfigError, match=match):
            dataclasses.replace(xe, **{field: value})
    # the bound itself, and a lone neutron (Z = 0, a device of the coherence test), stay accepted
    assert dataclasses.replace(xe, spin_proton=27.0).spin_proton == 27.0
    assert dataclasses.replace(xe, Z=0, spin_proton=0.0).Z == 0
