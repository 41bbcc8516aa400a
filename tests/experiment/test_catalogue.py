"""The catalogue of sources and detectors: built-ins, user files, the environment, clash rules.

Expected numbers: the NaI and Ge detectors written only in a user TOML are checked bin by bin
against the independent scipy.integrate.quad reference (tests/_reference/quad_reference.py,
rtol 1e-6 as for the built-in detectors); fluxes of the data-period sources against
Φ = r N_POT / (4π L²) with the release numbers.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest
from quad_reference import binned_counts

from cevns.errors import ConfigError, UnknownNameError
from cevns.experiment import (
    PRESETS_ENV,
    Catalogue,
    Detector,
    detector_names,
    get_detector,
    get_source,
    source_names,
)
from cevns.physics.flux import FLAVOURS
from cevns.physics.units import MeV, cm
from cevns.rates import sm_spectrum

MINE = """schema_version = 1

[detector.NaI-ESS]
technology = "NaI[Tl] scintillator (user example)"
citation = "test: user-defined"
formula = "NaI"
mass_kg = 10.0
threshold_keVnr = 5.0
efficiency = 0.9
binning = { rule = "edges", edges_keVnr = [5.0, 10.0, 20.0, 40.0] }
default_source = "ess"

[detector.Ge-mine]
technology = "HPGe (user example)"
citation = "test: user-defined"
formula = "Ge"
mass_kg = 3.0
threshold_keVnr = 1.5
binning = { rule = "single" }

[source.far-ess]
description = "the ESS seen from 30 m"
citation = "test"
pot_per_year = 2.8e23
nu_per_flavour_per_pot = 0.3
baseline_m = 30.0
beam_days_per_year = 208.0
duty_factor = 0.04
run_years = 3.0
"""

CSI_CHANGED = """schema_version = 1
[detector.CsI]
mass_kg = 50.0
formula = "CsI"
threshold_keVnr = 1.0
"""


@pytest.fixture
def mine(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(MINE)
    return path


@pytest.fixture(autouse=True)
def _no_env_presets(monkeypatch):
    monkeypatch.delenv(PRESETS_ENV, raising=False)


def test_builtin_names_and_origins():
    cat = Catalogue.builtin()
    assert cat.detector_names() == ["CsI", "Xe", "Ge", "Si", "Ar", "C3F8"]
    assert cat.source_names() == ["ess", "sns-csi", "sns-lar", "sns-csi-2017", "sns-csi-2021",
                                  "sns-lar-2020", "jsns2", "csns", "csns-ii", "lujan",
                                  "ess-table"]
    assert cat.origin("detector", "Xe") == "cevns/presets/ess.toml"
    assert cat.origin("source", "sns-lar-2020") == "cevns/presets/coherent.toml"
    assert detector_names() == cat.detector_names() and source_names() == cat.source_names()
    assert Catalogue.default() == cat  # no CEVNS_PRESETS: the built-ins


def test_catalogue_is_immutable_and_a_value(mine):
    a, b = Catalogue.from_files(mine), Catalogue.builtin().with_files([mine])
    assert a == b and hash(a) == hash(b)
    with pytest.raises(TypeError):
        a.detectors["X"] = None  # a read-only mapping
    assert "NaI-ESS" not in Catalogue.builtin().detectors  # merging made a new value


def test_user_file_entries_remember_their_file(mine):
    cat = Catalogue.from_files(mine)
    assert cat.origin("detector", "NaI-ESS") == str(mine)
    assert cat.origin("detector", "CsI") == "cevns/presets/ess.toml"
    det = get_detector("NaI-ESS", cat)
    assert [t.element for t in det.targets] == ["Na", "I"] and det.formula == "NaI"
    assert get_source("far-ess", cat).baseline_m == 30.0
    # without the catalogue the name is unknown, and the error lists the catalogue's names
    with pytest.raises(UnknownNameError, match=r"unknown detector 'NaI-ESS'; valid choices: Ar, "
                                               r"C3F8, CsI, Ge, Si, Xe"):
        get_detector("NaI-ESS")
    with pytest.raises(UnknownNameError, match="Ge-mine, NaI-ESS"):
        get_detector("NaI", cat)


def _reference(det: Detector, flavour: str) -> np.ndarray:
    """Binned counts of one flavour from the quad reference (no smearing in these detectors)."""
    src = get_source("ess")
    edges = det.bin_edges / MeV
    fluence = src.flux_per_flavour() * cm**2
    out = np.zeros(len(edges) - 1)
    for (nuc, _), n_t in zip(det.nuclei, det.number_of_targets(), strict=True):
        nd = {"Z": nuc.Z, "N": nuc.N, "mass_u": nuc.atomic_mass_u, "spin": nuc.spin,
              "sp": nuc.spin_proton, "sn": nuc.spin_neutron}
        t_max = 2 * 52.82918775**2 / (nuc.atomic_mass_u * 931.49410242 + 2 * 52.82918775)
        for i in range(len(out)):
            out[i] += binned_counts(flavour, nd, n_t, fluence, det.efficiency, edges[i],
                                    edges[i + 1], t_max, None)
    return out


@pytest.mark.parametrize("name", ["NaI-ESS", "Ge-mine"])
def test_user_detectors_sm_spectra_match_quad(mine, name):
    cat = Catalogue.from_files(mine)
    spec = sm_spectrum(name, catalogue=cat)  # the detector's default source: the ESS
    det = cat.detector(name)
    for a, flavour in enumerate(FLAVOURS):
        np.testing.assert_allclose(spec.signal[a].sum(axis=0), _reference(det, flavour),
                                   rtol=1e-6, atol=1e-9)
    if name == "NaI-ESS":
        assert spec.edges_keVnr.tolist() == [5.0, 10.0, 20.0, 40.0]
        # 10 kg of NaI: N_Na = N_I = m N_A / M(NaI), M = 22.98977 + 126.90447 g/mol
        n = det.number_of_targets()
        assert n[0] == pytest.approx(10e3 / 149.89424 * 6.02214076e23, rel=1e-5)
    # a user source by name, from the same catalogue: Φ ∝ 1/L² (20 m → 30 m)
    far = sm_spectrum(name, "far-ess", catalogue=cat)
    assert far.total_signal == pytest.approx(spec.total_signal * (20 / 30) ** 2, rel=1e-12)


def test_same_name_same_content_is_fine_different_content_is_an_error(tmp_path, mine):
    copy = tmp_path / "copy.toml"
    copy.write_text(MINE)
    cat = Catalogue.from_files(mine, copy)
    assert cat.origin("detector", "NaI-ESS") == str(mine)  # the first definition is kept
    other = tmp_path / "other.toml"
    other.write_text(MINE.replace("mass_kg = 10.0", "mass_kg = 12.0"))
    with pytest.raises(ConfigError) as err:
        Catalogue.from_files(mine, other)
    msg = str(err.value)
    assert "detector 'NaI-ESS' is defined twice" in msg and str(mine) in msg and str(other) in msg
    assert "mass_kg" in msg and "override = true" in msg


def test_redefining_a_builtin_needs_override(tmp_path):
    f = tmp_path / "csi.toml"
    f.write_text(CSI_CHANGED)
    with pytest.raises(ConfigError, match=r"detector 'CsI' is defined twice with different "
                                          r"content: in cevns/presets/ess.toml and in .*csi.toml"):
        Catalogue.from_files(f)
    f.write_text(CSI_CHANGED.replace("[detector.CsI]", "[detector.CsI]\noverride = true"))
    cat = Catalogue.from_files(f)
    assert cat.detector("CsI").mass_kg == 50.0 and cat.origin("detector", "CsI") == str(f)
    assert cat.entry("detector", "CsI").definition()["override"] is True
    f.write_text(CSI_CHANGED.replace("[detector.CsI]", "[detector.CsI]\noverride = 1"))
    with pytest.raises(ConfigError, match="override: must be true or false"):
        Catalogue.from_files(f)


def test_missing_and_invalid_files_are_named(tmp_path, monkeypatch):
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=r"preset file .*nope\.toml: no such file"):
        Catalogue.from_files(missing)
    monkeypatch.setenv(PRESETS_ENV, str(missing))
    with pytest.raises(ConfigError, match=r"CEVNS_PRESETS: preset file .*nope\.toml"):
        get_detector("CsI")
    bad = tmp_path / "bad.toml"
    bad.write_text('schema_version = 1\n[detector.X]\nmass_kg = 1\nformula = "Ar"\n'
                   'treshold_keVnr = 1\n')
    with pytest.raises(ConfigError, match=r"detector\.X.*treshold_keVnr: unknown key"):
        Catalogue.from_files(bad)
    (tmp_path / "dir.toml").mkdir()
    with pytest.raises(ConfigError, match="is a folder, not a TOML file"):
        Catalogue.from_files(tmp_path / "dir.toml")


def test_env_variable_lists_files_in_order(tmp_path, mine, monkeypatch):
    second = tmp_path / "second.toml"
    second.write_text('schema_version = 1\n[detector.Xe2]\nformula = "Xe"\nmass_kg = 2\n'
                      'threshold_keVnr = 1\n')
    monkeypatch.setenv(PRESETS_ENV, os.pathsep.join([str(mine), "", str(second)]))
    cat = Catalogue.default()
    assert cat.detector_names()[-3:] == ["NaI-ESS", "Ge-mine", "Xe2"]
    assert get_detector("Xe2").mass_kg == 2.0  # the default catalogue reads the variable
    monkeypatch.setenv(PRESETS_ENV, "")
    assert Catalogue.default() == Catalogue.builtin()


def test_edited_file_is_read_again(tmp_path):
    f = tmp_path / "m.toml"
    f.write_text(MINE)
    assert Catalogue.from_files(f).detector("NaI-ESS").mass_kg == 10.0
    f.write_text(MINE.replace("mass_kg = 10.0", "mass_kg = 11.25"))
    os.utime(f, ns=(1, 1))  # a different modification time, whatever the clock resolution
    assert Catalogue.from_files(f).detector("NaI-ESS").mass_kg == 11.25


def test_data_period_sources_from_the_releases():
    # Φ = r N_POT / (4π L²): CsI-2017 0.08 × 1.76e23 at 19.3 m; LAr-2020 0.09 × 13.8e22 at 27.5 m
    csi = get_source("sns-csi-2017")
    assert csi.protons_on_target == 1.76e23
    expected = 0.08 * 1.76e23 / (4 * math.pi * 1930.0**2)
    assert csi.flux_per_flavour() * cm**2 == pytest.approx(expected, rel=1e-12)
    lar = get_source("sns-lar-2020")
    assert lar.flux_per_flavour() * cm**2 == pytest.approx(0.09 * 13.8e22 / (4 * math.pi
                                                                              * 2750.0**2),
                                                           rel=1e-12)
    assert get_source("sns-csi-2021").protons_on_target == 3.198e23
    # the exposure of a data period is fixed
    with pytest.raises(ConfigError, match=r"sns-csi-2017: a data period with a fixed exposure"):
        csi.with_run_years(2.0)
    with pytest.raises(ConfigError, match="pot_total .* or pot_per_year .*not both"):
        csi.replace(pot_per_year=1e23)


def test_data_period_sources_agree_with_the_release_setups():
    from cevns.datasets.coherent import load_release

    for source, release in (("sns-csi-2017", "coherent-csi-2017"),
                            ("sns-csi-2021", "coherent-csi-2021"),
                            ("sns-lar-2020", "coherent-lar-2020")):
        setup = load_release(release).setup
        src = get_source(source)
        assert src.protons_on_target == pytest.approx(setup.protons_on_target.value, rel=1e-12)
        assert src.baseline_m == pytest.approx(setup.distance.value, rel=1e-12)
        assert src.nu_per_flavour_per_pot == pytest.approx(
            setup.neutrinos_per_flavour_per_proton.value, rel=1e-12)


def test_cli_spectra_with_env_presets(tmp_path, mine):
    env = {**os.environ, PRESETS_ENV: str(mine)}
    res = subprocess.run([sys.executable, "-m", "cevns.cli", "spectra", "-d", "NaI-ESS"],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    total = sm_spectrum("NaI-ESS", catalogue=Catalogue.from_files(mine)).total_signal
    assert "NaI-ESS" in res.stdout and f"{total:.1f}" in res.stdout
    env[PRESETS_ENV] = str(tmp_path / "missing.toml")
    res = subprocess.run([sys.executable, "-m", "cevns.cli", "spectra", "-d", "CsI"],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert res.returncode == 2 and "CEVNS_PRESETS" in res.stderr and "missing.toml" in res.stderr
