"""Sources as data (docs/sources.md): π-DAR from beam or POT, tabulated spectra, flavours from the
source, presets with citations, cache keys and clear errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad

from cevns.errors import ConfigError
from cevns.experiment import Catalogue, Source, get_detector, get_source
from cevns.physics.basis import SMBasis
from cevns.physics.constants import E_MICHEL_MAX, ELEMENTARY_CHARGE_COULOMB
from cevns.physics.flux import VALID_FLAVOURS, michel_spectrum_nue, michel_spectrum_numubar
from cevns.physics.kinematics import min_neutrino_energy
from cevns.physics.nuclei import get_nucleus
from cevns.physics.units import MeV, keV
from cevns.rates import basis_spectra, sm_spectrum
from cevns.rates.engine import differential_rate_per_target
from cevns.scenarios import get_scenario
from cevns.scenarios.sterile import physical_baseline_spread_m

BEAM = {"name": "beam", "baseline_m": 24.0, "nu_per_flavour_per_pot": 0.48,
        "beam_power_MW": 1.0, "proton_energy_GeV": 3.0, "beam_hours_per_year": 5000.0,
        "duty_factor": 2.5e-5, "run_years": 3.0}


def _src(**over):
    return Source(**{**BEAM, **over})


# --- π-DAR exposure --------------------------------------------------------------------------

def test_pot_from_beam_power_and_energy():
    # POT/s = P/(E_p e) = 1e6 W / (3e9 eV × e) = 2.0803e15 /s; × 5000 h × 3600 s/h per year
    per_s = 1e6 / (3e9 * ELEMENTARY_CHARGE_COULOMB)
    assert per_s == pytest.approx(2.0803e15, rel=1e-4)
    src = _src()
    assert src.protons_per_year == pytest.approx(per_s * 5000 * 3600, rel=1e-14)
    assert src.protons_on_target == pytest.approx(3 * per_s * 5000 * 3600, rel=1e-14)
    # Φ₀ = r N_POT / (4π L²) per year, in ν/cm²
    phi = 0.48 * per_s * 5000 * 3600 / (4 * math.pi * 2400.0**2)
    assert src.flux_per_flavour_per_year_cm2() == pytest.approx(phi, rel=1e-12)


def test_beam_hours_equal_beam_days():
    days = _src(beam_hours_per_year=None, beam_days_per_year=5000.0 / 24)
    assert days.protons_per_year == pytest.approx(_src().protons_per_year, rel=1e-14)
    assert days.beam_days == pytest.approx(_src().beam_days, rel=1e-14)


@pytest.mark.parametrize(("over", "match"), [
    ({"pot_per_year": 1e22}, "not both"),
    ({"pot_total": 1e22}, "not both"),
    ({"beam_power_MW": None, "proton_energy_GeV": None}, "give pot_per_year, or beam_power_MW"),
    ({"proton_energy_GeV": None}, "beam_power_MW needs proton_energy_GeV"),
    ({"beam_power_MW": None, "pot_per_year": 1e22, "pot_total": 1e22}, "pot_total .* not both"),
    ({"beam_days_per_year": 200.0}, "exactly one"),
    ({"beam_hours_per_year": None}, "exactly one"),
    ({"beam_power_MW": -1.0}, "beam_power_MW"),
    ({"beam_power_MW": float("nan")}, "beam_power_MW"),
    ({"proton_energy_GeV": 0.0}, "proton_energy_GeV"),
    ({"beam_hours_per_year": 9000.0}, "beam_hours_per_year"),
    ({"nu_per_flavour_per_pot": None}, "nu_per_flavour_per_pot: required"),
    ({"production_region_m": -0.1}, "production_region_m"),
    ({"lines": [{"flavour": "numu", "energy_MeV": 29.8, "intensity": 0.3}]},
     "only for kind = \"tabulated\""),
])
def test_bad_exposure_is_a_clear_error(over, match):
    with pytest.raises(ConfigError, match=match):
        _src(**over)


def test_pot_form_with_a_recorded_proton_energy_is_accepted():
    src = _src(beam_power_MW=None, pot_per_year=1e22)
    assert src.protons_per_year == 1e22 and src.proton_energy_GeV == 3.0


# --- ESS: the paper's numbers, results unchanged -----------------------------------------------

def test_ess_source_is_the_papers():
    ess = get_source("ess")
    assert (ess.pot_per_year, ess.nu_per_flavour_per_pot, ess.baseline_m, ess.beam_days_per_year,
            ess.duty_factor, ess.run_years, ess.kind) == (2.8e23, 0.3, 20.0, 208.0, 0.04, 3.0,
                                                          "pi-dar")
    assert ess.flavours == ("numu", "nue", "numubar")


def test_ess_csi_counts_did_not_move():
    # regression values: CsI SM counts per flavour from commit b42e925 (before sources became data;
    # the π-DAR path was checked bit-identical for all six detectors and SM, dipole and 3+1 bases)
    spec = sm_spectrum("CsI", "ess")
    ref = {"numu": 5505.181986505089, "nue": 6166.859664375158, "numubar": 7749.899088826731}
    for f, v in ref.items():
        assert spec.per_flavour[f] == pytest.approx(v, rel=1e-12)


# --- presets of other facilities ---------------------------------------------------------------

@pytest.mark.parametrize(("name", "energy", "power", "baseline"), [
    ("jsns2", 3.0, 1.0, 24.0), ("csns", 1.6, 0.14, 20.0), ("csns-ii", 1.6, 0.5, 20.0),
    ("lujan", 0.8, 0.1, 20.0)])
def test_facility_presets(name, energy, power, baseline):
    src = get_source(name)
    assert (src.proton_energy_GeV, src.beam_power_MW, src.baseline_m) == (energy, power, baseline)
    assert "arXiv:" in src.citation or "J. Phys." in src.citation
    seconds = src.beam_hours_per_year * 3600.0
    assert src.protons_per_year == pytest.approx(power * 1e6 * seconds
                                                 / (energy * 1e9 * ELEMENTARY_CHARGE_COULOMB))
    assert Catalogue.builtin().origin("source", name) == "cevns/presets/facilities.toml"


def test_jsns2_yield_from_the_measured_flux():
    # arXiv:2412.18509: Φ(ν_e) = 6.7e-9 cm⁻² per proton at 24 m → r = Φ 4π L²
    assert get_source("jsns2").nu_per_flavour_per_pot == pytest.approx(
        6.7e-9 * 4 * math.pi * 2400.0**2, rel=0.01)


def test_lujan_pot_matches_the_quoted_run():
    # CCM: 2.25e22 POT in a 3-year run; beam hours chosen to match (docs/assumptions.md)
    assert get_source("lujan").protons_on_target == pytest.approx(2.25e22, rel=0.01)


# --- tabulated sources -------------------------------------------------------------------------

def test_tabulated_example_equals_the_analytic_pidar_spectrum():
    """The shipped table is r × Michel on a 0.25 MeV grid; linear interpolation of a cubic φ has
    a relative error of the integrated flux h_x² × (φ'(1/2) − φ'(0))/(12 ∫φ) with x = E/m_μ:
    4 h_x² = 2.2e-5 for ν_e (h_x = 0.25/105.66); the rate weights high energies more (total
    within 3e-5). The highest-recoil bins see only the last table intervals, where ν_e falls to
    zero and the relative interpolation error is largest: 6.2e-4 measured, so 1e-3 per bin. The
    prompt line is a line in both: equal to 1e-12."""
    ana, tab = sm_spectrum("CsI", "ess"), sm_spectrum("CsI", "ess-table")
    assert tab.flavours == ana.flavours
    assert tab.per_flavour["numu"] == pytest.approx(ana.per_flavour["numu"], rel=1e-12)
    live = ana.signal > 0
    np.testing.assert_allclose(tab.signal[live], ana.signal[live], rtol=1e-3)
    assert tab.total_signal == pytest.approx(ana.total_signal, rel=3e-5)
    flux = get_source("ess-table").total_flux_per_year_cm2()
    for f in ana.flavours:
        assert flux[f] == pytest.approx(1.6711e15, rel=1e-4)


def _michel_table(step_mev: float) -> dict:
    grid = np.append(np.arange(0.0, E_MICHEL_MAX / MeV, step_mev), E_MICHEL_MAX / MeV)
    return {"energy_MeV": tuple(grid),
            "flux": {"nue": tuple(0.3 * michel_spectrum_nue(grid * MeV) * MeV),
                     "numubar": tuple(0.3 * michel_spectrum_numubar(grid * MeV) * MeV)}}


def _tab_source(table, **over):
    body = {"name": "t", "kind": "tabulated", "spectrum": table, "normalisation": "per-pot",
            "pot_per_year": 2.8e23, "baseline_m": 20.0, "beam_days_per_year": 208.0,
            "duty_factor": 0.04, "run_years": 3.0, **over}
    return Source(**body)


def test_a_source_of_nothing_is_refused():
    """A flavour at zero is a flavour switched off and stays accepted; every flavour at zero and
    no line gave a silent zero signal before (third bad-input audit)."""
    off = {"energy_MeV": (10.0, 20.0, 30.0), "flux": {"nue": (0.0, 0.0, 0.0),
                                                      "nuebar": (0.0, 1.0, 0.0)}}
    assert _tab_source(off).flavour_spectrum("nuebar") is not None
    nothing = {"energy_MeV": (10.0, 20.0, 30.0), "flux": {"nue": (0.0, 0.0, 0.0),
                                                          "nuebar": (0.0, 0.0, 0.0)}}
    with pytest.raises(ConfigError, match="emits no neutrinos"):
        _tab_source(nothing)
    line = [{"flavour": "numu", "energy_MeV": 29.8, "intensity": 0.3}]
    assert _tab_source(nothing, lines=line).lines  # the line carries the source


def test_tabulated_error_is_interpolation_not_quadrature():
    # halving … fifthing the step: the error falls as h² (linear interpolation), so the quadrature
    # (8 Gauss–Legendre nodes per table interval) is not what limits the agreement
    ana = sm_spectrum("CsI", "ess").per_flavour["nue"]
    err = [abs(sm_spectrum("CsI", _tab_source(_michel_table(h))).per_flavour["nue"] / ana - 1)
           for h in (0.5, 0.1)]
    assert 20 < err[0] / err[1] < 30  # (0.5/0.1)² = 25


def test_multi_panel_quadrature_against_quad():
    """∫ φ(E) σ(E, T) dE for a piecewise-linear φ (a triangle on 10–20–30 MeV), independent quad."""
    src = _tab_source({"energy_MeV": (10.0, 20.0, 30.0), "flux": {"nuebar": (0.0, 1.0, 0.0)}},
                      pot_per_year=1e20)
    spec = src.flavour_spectrum("nuebar")
    nuc = get_nucleus("Ar40")
    basis = SMBasis()
    t = np.array([1.0, 10.0, 40.0, 90.0]) * keV
    got = differential_rate_per_target(basis, nuc, "nuebar", t, spectrum=spec)
    for i, ti in enumerate(t):
        emin = float(min_neutrino_energy(ti, nuc.mass))
        for j in range(len(basis.names)):
            def f(e, _t=ti, _j=j):
                return float(spec.density(np.array(e)) * basis.terms(nuc, "nuebar", np.array([e]),
                                                                     np.array([_t]))[_j, 0])
            pts = [p * MeV for p in (20.0,) if p * MeV > emin]
            ref = quad(f, max(emin, 10 * MeV), 30 * MeV, points=pts or None, epsabs=0,
                       epsrel=1e-12, limit=200)[0] if emin < 30 * MeV else 0.0
            assert got[j, i] == pytest.approx(ref, rel=1e-9, abs=1e-30)


def test_inline_table_equals_the_file(tmp_path):
    ess_table = get_source("ess-table")
    inline = Source(**{**ess_table.model_dump(), "spectrum_file": None})
    assert inline.spectrum == ess_table.spectrum
    np.testing.assert_array_equal(sm_spectrum("CsI", inline).signal,
                                  sm_spectrum("CsI", ess_table).signal)


def test_flavours_come_from_the_source():
    table = {"energy_MeV": (0.0, 5.0, 10.0), "flux": {"nutau": (0.0, 1e-3, 0.0),
                                                       "nuebar": (0.0, 2e-3, 0.0)}}
    src = _tab_source(table, lines=[{"flavour": "nue", "energy_MeV": 8.0, "intensity": 1e-3}])
    assert src.flavours == ("nue", "nuebar", "nutau")  # canonical order
    spec = sm_spectrum(get_detector("Ar").replace(threshold_keVnr=1.0), src)
    assert spec.flavours == src.flavours
    # flavour-blind SM: the nuebar triangle has twice the nutau one
    assert spec.per_flavour["nuebar"] == pytest.approx(2 * spec.per_flavour["nutau"], rel=1e-12)
    assert spec.per_flavour["nue"] > 0


@pytest.mark.parametrize(("scenario", "options", "values"), [
    ("dipole", {"channel": "e"}, {"magnetic_moment": 1e-9, "sterile_mass_MeV": 1.0}),
    ("sterile-oscillation", {"channel": "mu", "baseline_spread_m": 0.0},
     {"sin2_2theta": 0.1, "delta_m2_eV2": 1.0}),
    ("nonunitarity", {}, {"alpha11": 0.9}),
])
def test_flavour_scenarios_refuse_an_unknown_flavour(scenario, options, values):
    table = {"energy_MeV": (0.0, 5.0, 10.0), "flux": {"nuebar": (0.0, 1e-3, 0.0)}}
    src = _tab_source(table)
    with pytest.raises(ConfigError, match="nuebar"):
        get_scenario(scenario, **options).counts(get_detector("Ar"), src, values)


def test_absolute_normalisation_equals_per_pot():
    """A per-cm2-s table equal to the per-POT table × POT/(4πL²) per second of beam gives the same
    counts: fluence = table × run_years × beam seconds/yr."""
    ess_table = get_source("ess-table")
    per_s = 2.8e23 / (4 * math.pi * 2000.0**2) / (208.0 * 86400.0)  # POT cm⁻² s⁻¹ at 20 m
    spectrum = ess_table.spectrum
    table = {"energy_MeV": spectrum.energy_MeV,
             "flux": {f: tuple(v * per_s for v in vals) for f, vals in spectrum.flux.items()}}
    lines = [{"flavour": "numu", "energy_MeV": ln.energy_MeV, "intensity": ln.intensity * per_s}
             for ln in ess_table.lines]
    absolute = Source(name="abs", kind="tabulated", spectrum=table, normalisation="per-cm2-s",
                      lines=lines, baseline_m=20.0, beam_days_per_year=208.0, duty_factor=0.04,
                      run_years=3.0)
    np.testing.assert_allclose(sm_spectrum("CsI", absolute).signal,
                               sm_spectrum("CsI", ess_table).signal, rtol=1e-12)
    with pytest.raises(ConfigError, match="has no protons on target"):
        absolute.protons_per_year  # noqa: B018
    with pytest.raises(ConfigError, match="pot_per_year: not used"):
        absolute.replace(pot_per_year=1e22)


def _csv(tmp_path, text, name="s.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "match"), [
    ("energy_MeV,nue\n0,0\n2,1\n1,0\n", "must increase strictly; 1 follows 2"),
    ("energy_MeV,nue\n0,0\n1,nan\n", "line 3, column nue: must be a finite number"),
    ("energy_MeV,nu_e\n0,0\n1,1\n", "unknown flavour column 'nu_e'; valid flavours: numu"),
    ("E,nue\n0,0\n1,1\n", "first column must be 'energy_MeV'"),
    ("energy_MeV,nue\n0,0\n1\n", "line 3: 1 columns, the header has 2"),
    ("energy_MeV,nue\n0,0\n1,x\n", "not a number: 'x'"),
    ("energy_MeV,nue\n0,0\n1,-1\n", "values must be ≥ 0"),
    ("energy_MeV,nue,nue\n0,0,0\n1,1,1\n", "appears twice"),
    ("# only a comment\n", "empty"),
])
def test_bad_spectrum_files(tmp_path, text, match):
    path = _csv(tmp_path, text)
    with pytest.raises(ConfigError, match=match):
        _tab_source(None, spectrum_file=str(path))


def test_missing_spectrum_file_names_it(tmp_path):
    with pytest.raises(ConfigError, match=r"spectrum_file .*nowhere\.csv: no such file"):
        _tab_source(None, spectrum_file=str(tmp_path / "nowhere.csv"))


def test_tabulated_source_needs_its_pieces(tmp_path):
    table = {"energy_MeV": (0.0, 1.0), "flux": {"nue": (0.0, 1.0)}}
    with pytest.raises(ConfigError, match="normalisation: required"):
        _tab_source(table, normalisation=None)
    with pytest.raises(ConfigError, match="needs spectrum_file"):
        _tab_source(None)
    with pytest.raises(ConfigError, match="nu_per_flavour_per_pot: not used"):
        _tab_source(table, nu_per_flavour_per_pot=0.3)
    with pytest.raises(ConfigError, match=r"lines.0.flavour: unknown flavour 'anti-nue'; valid "
                                          r"choices: .*nuebar"):
        _tab_source(table, lines=[{"flavour": "anti-nue", "energy_MeV": 1.0, "intensity": 1.0}])
    with pytest.raises(ConfigError, match="one line per flavour"):
        _tab_source(table, lines=[{"flavour": "numu", "energy_MeV": 1.0, "intensity": 1.0},
                                  {"flavour": "numu", "energy_MeV": 2.0, "intensity": 1.0}])
    assert set(VALID_FLAVOURS) == {"numu", "nue", "numubar", "nuebar", "nutau", "nutaubar"}


def test_relative_spectrum_file_is_relative_to_the_preset_file(tmp_path, monkeypatch):
    sub = tmp_path / "presets"
    sub.mkdir()
    _csv(sub, "energy_MeV,nue\n0,0\n10,1e-3\n20,0\n", "mine.csv")
    (sub / "p.toml").write_text(
        'schema_version = 1\n[source.mine]\nkind = "tabulated"\nspectrum_file = "mine.csv"\n'
        'normalisation = "per-pot"\npot_per_year = 1e22\nbaseline_m = 20\n'
        'beam_hours_per_year = 4000\nduty_factor = 0.01\n')
    monkeypatch.chdir(tmp_path)  # not the preset's folder
    src = Catalogue.builtin().with_files(sub / "p.toml").source("mine")
    assert src.flavours == ("nue",) and src.spectrum.flux["nue"][1] == 1e-3


# --- cache keys --------------------------------------------------------------------------------

def test_every_source_field_is_in_the_cache_key():
    base = _src()
    changed = {"name": "other", "description": "x", "citation": "y", "baseline_m": 25.0,
               "production_region_m": 0.5, "nu_per_flavour_per_pot": 0.5, "beam_power_MW": 1.1,
               "proton_energy_GeV": 3.1, "beam_hours_per_year": 5001.0, "duty_factor": 3e-5,
               "run_years": 2.0}
    for field, value in changed.items():
        other = base.replace(**{field: value})
        assert other != base and hash(other) != hash(base), field
    tab = get_source("ess-table")
    flux = dict(tab.spectrum.flux)
    flux["nue"] = (*flux["nue"][:-2], flux["nue"][-2] * 1.01, flux["nue"][-1])
    edited = tab.replace(spectrum={"energy_MeV": tab.spectrum.energy_MeV, "flux": flux})
    assert edited != tab and hash(edited) != hash(tab)
    det = get_detector("CsI")
    a = basis_spectra(det, tab, SMBasis()).counts
    b = basis_spectra(det, edited, SMBasis()).counts
    assert not np.array_equal(a, b)  # a changed table is a new cache entry, not the old result
    other_kind = set(Source.model_fields) - set(changed) - {"kind", "pot_per_year", "pot_total",
                                                            "beam_days_per_year", "spectrum_file",
                                                            "spectrum", "normalisation", "lines"}
    assert not other_kind  # every field is exercised above or by the tabulated/POT tests


# --- baseline averaging sizes ------------------------------------------------------------------

def test_baseline_spread_from_source_and_detector_sizes():
    # ESS: production region 0.3 m from the preset, CsI 0.2 m from the built-in table: unchanged
    ess = get_source("ess")
    assert ess.production_region_m == 0.3
    assert physical_baseline_spread_m("CsI", ess.production_region_m) == pytest.approx(
        math.hypot(0.3, 0.2), rel=1e-15)
    assert physical_baseline_spread_m("CsI", 1.0, 0.5) == pytest.approx(math.hypot(1.0, 0.5))
    assert physical_baseline_spread_m("NaI", None, None) == pytest.approx(0.3)
    det = get_detector("CsI").replace(extent_m=0.5)
    sc = get_scenario("sterile-oscillation", channel="e")
    basis = sc.basis_for({"delta_m2_eV2": 1.0}, det, ess.replace(production_region_m=1.2))[1]
    from cevns.physics.units import m
    assert basis.baseline_spread == pytest.approx(math.hypot(1.2, 0.5) * m, rel=1e-14)


@pytest.mark.parametrize("years", [True, np.True_, np.array(True), np.array([True])])
def test_with_run_years_refuses_numpy_bools(years):
    # float(np.True_) is 1.0: without the bool check each of these would be a one-year run
    with pytest.raises(ConfigError, match=r"^run_years must be a number of years, got "):
        get_source("ess").with_run_years(years)
    # a NumPy number is a number (ESS preset: 3 years, replaced here by 2)
    assert get_source("ess").with_run_years(np.float64(2.0)).run_years == 2.0


def test_the_integrated_flux_of_every_pi_dar_flavour_is_its_normalisation():
    """Each π-DAR flavour carries ν_per_flavour_per_POT × POT per year / (4π L²) (the Michel
    spectra are normalised to 1): 1.6711e15 /cm²/yr at the ESS (0.3 ν/flavour/POT, 2.8e23 POT/yr,
    20 m). The trapezoid over the Michel panel's two ends used to give 0 for ν_e."""
    import math

    src = get_source("ess")
    expected = 0.3 * 2.8e23 / (4 * math.pi * 2000.0**2)  # per cm² per year
    flux = src.total_flux_per_year_cm2()
    assert set(flux) == {"numu", "nue", "numubar"}
    for f, value in flux.items():
        assert value == pytest.approx(expected, rel=1e-12), f
        assert value == pytest.approx(src.flux_per_flavour_per_year_cm2(), rel=1e-12), f
    assert "nue: 1.671e+15" in repr(get_source("ess-table"))
