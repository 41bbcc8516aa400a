"""Experiment layer: presets reproduce docs/physics.md#detectors and #flux; bad input gives clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from cevns.errors import ConfigError, KinematicsError, UnknownNameError
from cevns.experiment import ESS_DETECTORS, Detector, get_detector, get_source, load_preset_file
from cevns.physics.units import keV


def test_ess_flux_normalisation():
    # docs/physics.md#flux: Φ₀ = 0.3 × 2.8e23 / (4π (2000 cm)²) = 1.6711e15 ν cm⁻² per flavour per year
    assert get_source("ess").flux_per_flavour_per_year_cm2() == pytest.approx(1.6711e15, rel=1e-4)


def test_ess_pot_from_beam_power():
    # docs/physics.md#trace-checks: 5 MW / (2 GeV e) over 208 days = 2.804e23 POT
    src = get_source("ess").model_copy(update={"pot_per_year": None, "beam_power_MW": 5.0})
    assert src.protons_per_year == pytest.approx(2.804e23, rel=1e-3)


@pytest.mark.parametrize(("name", "n_bins"), [("CsI", 20), ("Xe", 16), ("Ge", 72), ("Si", 119),
                                              ("Ar", 1), ("C3F8", 1)])
def test_bin_counts_of_the_binning_rule(name, n_bins):
    # docs/physics.md#detectors: the 2σ(bin centre) rule gives 20, 16, 72, 119 bins
    assert get_detector(name).n_bins == n_bins


def test_first_csi_edges():
    # docs/physics.md#detectors: first CsI edges 1.000, 1.697, 2.573 keV
    np.testing.assert_allclose(get_detector("CsI").bin_edges[:3] / keV, [1.0, 1.697, 2.573],
                               atol=6e-4)


def test_bins_are_two_sigma_wide():
    det = get_detector("Ge")
    e = det.bin_edges
    width = np.diff(e)[:-1]
    centre = 0.5 * (e[1:] + e[:-1])[:-1]
    np.testing.assert_allclose(width, 2 * det.resolution_sigma(centre), rtol=1e-10)


def test_compound_targets():
    det = get_detector("CsI")
    # CsI molar mass 259.8099 g/mol (docs/physics.md#nuclei): one Cs and one I per molecule
    n = det.number_of_targets()
    assert n[0] == n[1] == pytest.approx(22.5e3 / 259.8099 * 6.02214076e23, rel=1e-6)
    c3f8 = get_detector("C3F8").number_of_targets()
    assert c3f8[1] / c3f8[0] == pytest.approx(8 / 3)


def test_unknown_detector_lists_choices():
    with pytest.raises(UnknownNameError, match="CsI"):
        get_detector("NaI")


def _base(**over):
    d = {"name": "test", "mass_kg": 1.0, "targets": [{"element": "Ar"}], "threshold_keVnr": 1.0}
    d.update(over)
    return d


def test_threshold_above_kinematic_maximum():
    with pytest.raises(KinematicsError, match=r"threshold_keVnr 60 keVnr is above .* 47.18"):
        Detector(**_base(targets=[{"element": "Cs"}, {"element": "I"}], threshold_keVnr=60))


@pytest.mark.parametrize(("field", "value"), [
    ("mass_kg", -1.0), ("threshold_keVnr", -0.5), ("efficiency", 1.5)])
def test_negative_or_out_of_range(field, value):
    with pytest.raises(Exception, match=field):
        Detector(**_base(**{field: value}))


def test_negative_resolution_and_exposure(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text('schema_version = 1\n[detector.X]\nmass_kg = 1\ntargets = [{element = "Ar"}]\n'
                 'threshold_keVnr = 1\nresolution = {law = "fractional", sigma0 = -0.1}\n'
                 'background = {rate_ckkd = 1, exposure_days = -3}\n')
    with pytest.raises(ConfigError) as err:
        load_preset_file(f)
    msg = str(err.value)
    assert "detector.X.resolution.sigma0" in msg and "detector.X.background.exposure_days" in msg


def test_misspelled_key_is_named_with_suggestion(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text('schema_version = 1\n[detector.X]\nmass_kg = 1\ntargets = [{element = "Ar"}]\n'
                 'treshold_keVnr = 1\n')
    with pytest.raises(ConfigError, match=r"detector\.X\.treshold_keVnr: unknown key \(did you "
                                          r"mean 'threshold_keVnr'\?\)"):
        load_preset_file(f)


def test_unknown_element_in_preset(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text('schema_version = 1\n[detector.X]\nmass_kg = 1\ntargets = [{element = "Tc"}]\n'
                 'threshold_keVnr = 1\n')
    with pytest.raises(ConfigError, match=r"detector\.X\.targets\.0\.element.*unknown element"):
        load_preset_file(f)


def test_bad_toml_syntax(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text("schema_version = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_preset_file(f)


def test_all_presets_valid():
    for name in ESS_DETECTORS:
        det = get_detector(name)
        assert det.bin_edges[0] == pytest.approx(det.threshold)
        assert np.all(np.diff(det.bin_edges) > 0)


def test_explicit_edges():
    det = Detector(**_base(binning={"rule": "edges", "edges_keVnr": [1.0, 2.0, 5.0]},
                           resolution={"law": "fractional", "sigma0": 0.1}))
    assert det.n_bins == 2
    with pytest.raises(ConfigError, match="strictly increasing"):
        Detector(**_base(binning={"rule": "edges", "edges_keVnr": [1.0, 3.0, 2.0]}))
