"""The readers reproduce every number the release READMEs state.

Expected values are quoted from ``src/cevns/datasets/coherent/data/<release>/README.md`` (the
packaged copies of the public releases) unless another source is named next to the assertion.
"""

from __future__ import annotations

import numpy as np
import pytest

from cevns.datasets import load_release, release_names
from cevns.datasets.coherent import (
    CsI2017Release,
    CsI2021Release,
    LAr2020Release,
)
from cevns.datasets.coherent._common import packaged_data_dir
from cevns.datasets.coherent._io import read_flat_yaml
from cevns.errors import ConfigError, UnknownNameError

# ----------------------------------------------------------------------------------- registry


def test_release_names():
    assert release_names() == ["coherent-csi-2017", "coherent-csi-2021", "coherent-lar-2020"]


def test_unknown_release_lists_valid_names():
    with pytest.raises(UnknownNameError) as info:
        load_release("coherent-csi-2019")
    message = str(info.value)
    for name in release_names():
        assert name in message
    assert isinstance(info.value, ConfigError) and isinstance(info.value, KeyError)


def test_types(releases):
    assert isinstance(releases["coherent-csi-2017"], CsI2017Release)
    assert isinstance(releases["coherent-csi-2021"], CsI2021Release)
    assert isinstance(releases["coherent-lar-2020"], LAr2020Release)


def test_arrays_are_read_only(releases):
    with pytest.raises(ValueError):
        releases["coherent-csi-2017"].observed.counts[0, 0] = 1.0


# ----------------------------------------------------------------------------------- CsI-2017


def test_csi2017_histogram_totals(releases):
    rel = releases["coherent-csi-2017"]
    # README "Files and formats": 25×24 bins; totals 1207, 1032, 507, 507.
    assert rel.observed.shape == (25, 24)
    assert rel.observed.total == 1207
    assert rel.anticoincidence_beam_on.total == 1032
    assert rel.coincidence_beam_off.total == 507
    assert rel.anticoincidence_beam_off.total == 507
    # Bin centres 1, 3, …, 49 PE and 0.25, …, 11.75 µs.
    np.testing.assert_allclose(rel.observed.axis("energy").centers, np.arange(1, 50, 2))
    np.testing.assert_allclose(rel.observed.axis("time").centers, np.arange(0.25, 12, 0.5))


def test_csi2017_analysis_region_counts(releases):
    rel = releases["coherent-csi-2017"]
    # README "Integrity": 6 ≤ PE < 30, 0 ≤ t < 6 µs holds 547 (coincidence) and 405
    # (anti-coincidence), an excess of 142 = N_meas; B_ss = 405.
    assert rel.analysis_region == {"energy": (6.0, 30.0), "time": (0.0, 6.0)}
    on = rel.in_analysis_region().total
    ac = rel.in_analysis_region(rel.anticoincidence_beam_on).total
    assert (on, ac, on - ac) == (547, 405, 142)
    assert rel.backgrounds["steady_state"].normalisation.value == 405
    np.testing.assert_allclose(
        rel.observed.with_counts(rel.backgrounds["steady_state"].expected()).sum_in(
            **rel.analysis_region), 405)


def test_csi2017_timing_pdfs(releases):
    rel = releases["coherent-csi-2017"]
    pdfs = rel.arrival_time_pdfs
    assert set(pdfs) == {"prompt_neutrinos", "delayed_neutrinos", "prompt_neutrons"}
    for pdf in pdfs.values():
        assert pdf.shape == (24,)
        np.testing.assert_allclose(pdf.sum(), 1.0, atol=1e-9)  # README: "sums to 1"
    # README: "91.5 % of the (delayed) probability lies at t < 6 µs".
    np.testing.assert_allclose(pdfs["delayed_neutrinos"][:12].sum(), 0.915, atol=5e-4)
    np.testing.assert_array_equal(rel.timing.prompt, pdfs["prompt_neutrinos"])
    np.testing.assert_array_equal(rel.timing.delayed, pdfs["delayed_neutrinos"])


def test_csi2017_prompt_neutron_pdf(releases):
    rel = releases["coherent-csi-2017"]
    pdf = rel.prompt_neutron_pe_pdf
    # README: 1-PE bins, centres 0.5…49.5.
    np.testing.assert_allclose(pdf.axes[0].centers, np.arange(0.5, 50, 1.0))
    brn = rel.backgrounds["brn"]
    assert (brn.normalisation.value, brn.normalisation.uncertainty) == (1.0, 0.25)
    # README: multiply by the 7.47594 GWh exposure; the acceptance (YAML formula, written out
    # here) is applied at 1-PE bin centres.
    x = pdf.axes[0].centers
    step = np.where(x < 5, 0.0, np.where(x < 6, 0.5, 1.0))
    acceptance = 0.6655 / (1.0 + np.exp(-0.4942 * (x - 10.8507))) * step
    np.testing.assert_allclose(brn.template.total, np.sum(pdf.counts * 7.47594 * acceptance))
    np.testing.assert_allclose(brn.template.project("time") / brn.template.total,
                               rel.arrival_time_pdfs["prompt_neutrons"])
    np.testing.assert_allclose(brn.expected(2.0), 2.0 * brn.template.counts)


def test_csi2017_parameters(releases):
    p = releases["coherent-csi-2017"].parameters
    # README "Parameters stated in coherent_parameters.yaml".
    assert (p["exposure"].value, p["exposure"].uncertainty) == (7.47594, None)
    assert p["distance"].value == 19.3
    assert (p["quenching_factor"].value, p["quenching_factor"].uncertainty) == (0.0878, 0.0166)
    assert (p["light_yield"].value, p["light_yield"].uncertainty) == (13.348, 0.019)
    assert (p["neutrinos_per_proton"].value, p["neutrinos_per_proton"].uncertainty) == (
        0.08, 0.008)
    assert p["prompt_neutron_normalisation"].value == 1
    for name, value, hi, lo in (("a", 0.6655, 0.0212, 0.0384), ("k", 0.4942, 0.0335, 0.0131),
                                ("x_0", 10.8507, 0.1838, 0.3995)):
        q = p[f"acceptance_{name}"]
        assert (q.value, q.uncertainty_high, q.uncertainty_low) == (value, hi, lo)
    # README: "Not in the file": 14.6 kg, 308.1 live days, ≈1.76e23 POT.
    assert p["detector_mass"].value == 14.6
    assert p["live_time"].value == 308.1
    assert p["protons_on_target"].value == pytest.approx(1.76e23)


def test_csi2017_pot_consistent_with_exposure(releases):
    setup = releases["coherent-csi-2017"].setup
    # README: 7.48 GWh at ≈ 957 MeV/proton ≈ 1.76e23 POT.
    joules = setup.exposure.value * 1e9 * 3600.0
    per_proton = 957e6 * 1.602176634e-19
    assert joules / per_proton == pytest.approx(setup.protons_on_target.value, rel=0.01)


def test_csi2017_quenching_measurements(releases):
    qf = releases["coherent-csi-2017"].quenching_measurements
    # README: Chicago 7 points 2.9–16.4 keVnr; TUNL 12 points 3.4–64.9 keVnr.
    assert qf["chicago"].recoil_kevnr.size == 7
    assert qf["chicago"].recoil_kevnr.min() == pytest.approx(2.9, abs=0.05)
    assert qf["chicago"].recoil_kevnr.max() == pytest.approx(16.4, abs=0.05)
    assert qf["tunl"].recoil_kevnr.size == 12
    assert qf["tunl"].recoil_kevnr.min() == pytest.approx(3.4, abs=0.05)
    assert qf["tunl"].recoil_kevnr.max() == pytest.approx(64.9, abs=0.05)
    assert np.all(qf["tunl"].qf_err_high > 0) and np.all(qf["tunl"].qf_err_low > 0)


def test_csi2017_merge_bins(releases):
    rel = releases["coherent-csi-2017"]
    one = rel.merge_bins(energy=[6, 30], time=[0, 6])
    assert one.observed.shape == (1, 1)
    assert one.observed.total == 547
    assert one.anticoincidence_beam_on.total == 405
    np.testing.assert_allclose(one.timing.delayed, [rel.timing.delayed[:12].sum()])
    np.testing.assert_allclose(one.backgrounds["brn"].template.total,
                               rel.backgrounds["brn"].template.sum_in(**rel.analysis_region))
    with pytest.raises(ConfigError):
        rel.merge_bins(energy=[5, 30])  # 5 PE is not an edge of the 2-PE bins


# ----------------------------------------------------------------------------------- CsI-2021


def test_csi2021_event_counts(releases):
    rel = releases["coherent-csi-2021"]
    c, ac = rel.coincidence_events, rel.anticoincidence_events
    # README table: 5142 events, 1578 with PE < 60; 4890 events, 1295 with PE < 60.
    assert (len(c), len(ac)) == (5142, 4890)
    assert c.count(energy_range=(0, 60)) == 1578
    assert ac.count(energy_range=(0, 60)) == 1295
    # README "Integrity": 1578 and 1295 with 0 ≤ PE < 60 and 0 ≤ t < 6 µs.
    assert c.count((0, 60), (0, 6)) == 1578
    assert ac.count((0, 60), (0, 6)) == 1295
    # README caveat: no event with t_rec ≥ 6 µs (max 5.996 µs) in the coincidence copy.
    assert c.time.max() == pytest.approx(5.996)
    assert ac.time.max() < 6.0


def test_csi2021_default_binning(releases):
    rel = releases["coherent-csi-2021"]
    # the collaboration's 9 PE × 11 t_rec bins (csi2021.COLLABORATION_*_EDGES)
    assert rel.observed.shape == (9, 11)
    np.testing.assert_array_equal(rel.observed.axes[0].edges, [0, 8, 12, 16, 20, 24, 32, 40, 50, 60])
    assert rel.observed.axes[1].edges[[0, 8, 9, 10, 11]].tolist() == [0.0, 1.0, 2.0, 4.0, 6.0]
    assert rel.observed.total == 1578
    assert rel.anticoincidence.total == 1295
    assert rel.backgrounds["steady_state"].normalisation.value == 1295


def test_csi2021_rebin_preserves_counts(releases):
    rel = releases["coherent-csi-2021"]
    fine = rel.rebin(np.arange(0, 61, 1.0), np.arange(0, 6.01, 0.25))
    assert fine.observed.shape == (60, 24)
    assert fine.observed.total == 1578
    assert fine.anticoincidence.total == 1295
    for name, total in (("brn", 18.4), ("nin", 5.6)):
        np.testing.assert_allclose(fine.backgrounds[name].template.total, total, rtol=1e-9)
    # A sub-region holds only its part of the backgrounds.
    part = rel.rebin([8, 60], [0, 6])
    assert part.backgrounds["brn"].template.total < 18.4
    assert part.observed.total == rel.coincidence_events.count((8, 60), (0, 6))
    with pytest.raises(ConfigError):
        rel.rebin([0, 300], [0, 6])


def test_csi2021_background_pdfs(releases):
    rel = releases["coherent-csi-2021"]
    for key in ("brn", "nin"):
        pe = rel.energy_pdfs[key]
        # README: 1-PE bins 0.5…249.5, normalised to 1 over PE < 60.
        np.testing.assert_allclose(pe.axes[0].centers, np.arange(0.5, 250, 1.0))
        np.testing.assert_allclose(pe.counts[:60].sum(), 1.0, atol=1e-6)
        t = rel.timing_pdfs[key]
        # README: 10-ns bins from −0.245 to 6.245 µs.
        assert t.shape == (650,)
        np.testing.assert_allclose(t.axes[0].centers[[0, -1]], [-0.245, 6.245])
    # README "Other release parameters": priors 18.4 ± 4.6 (25 %) and 5.6 ± 2.0 (36 %).
    brn, nin = rel.backgrounds["brn"].normalisation, rel.backgrounds["nin"].normalisation
    assert (brn.value, brn.uncertainty) == (18.4, 4.6)
    assert (nin.value, nin.uncertainty) == (5.6, 2.0)
    assert brn.relative_uncertainty == pytest.approx(0.25)
    assert nin.relative_uncertainty == pytest.approx(0.36, abs=0.005)


def test_csi2021_coefficients(releases):
    rel = releases["coherent-csi-2021"]
    eff = rel.efficiency_variants["nominal"]
    # README: a = 1.32045, b = 0.285979, c = 10.8646, d = −0.333322.
    assert (eff.a, eff.k, eff.x0, eff.offset) == (1.32045, 0.285979, 10.8646, -0.333322)
    assert set(rel.efficiency_variants) == {"nominal", "plus_1sigma", "minus_1sigma"}
    scint = rel.scintillation_variants["nominal"]
    # README: a = 0.0554628, b = 4.30681, c = −111.707, d = 840.384.
    assert scint.coefficients == (0.0554628, 4.30681, -111.707, 840.384)
    assert len(rel.scintillation_variants) == 5


def test_csi2021_parameters(releases):
    rel = releases["coherent-csi-2021"]
    p = rel.parameters
    # README "Other release parameters".
    assert p["exposure"].value == 13.99
    assert p["distance"].value == 19.3
    assert p["detector_mass"].value == 14.6
    assert p["light_yield"].value == 13.35
    assert (p["gamma_smearing_a"].value, p["gamma_smearing_b"].value) == (0.0749, 9.56)
    assert (p["time_efficiency_onset"].value, p["time_efficiency_rate"].value) == (0.52, 0.0494)
    assert p["neutrinos_per_proton"].value == 0.0848
    assert p["protons_on_target"].value == 3.198e23
    # README: mean = E_ee/a = 13.35 PE/keVee × E_ee.
    assert 1.0 / p["gamma_smearing_a"].value == pytest.approx(p["light_yield"].value, rel=2e-4)
    for param in p.values():
        assert param.source, param.name


# ----------------------------------------------------------------------------------- LAr-2020


def test_lar2020_histogram_totals(releases):
    rel = releases["coherent-lar-2020"]
    # README "3D histograms": 12 × 8 × 10 bins; totals.
    assert rel.observed.shape == (12, 8, 10)
    assert rel.observed.total == 3752
    for template in rel.cevns_templates.values():
        np.testing.assert_allclose(template.total, 128.0, atol=0.01)
    bk = rel.backgrounds
    np.testing.assert_allclose(bk["brn"].template.total, 497.0, atol=0.01)
    np.testing.assert_allclose(bk["delayed_brn"].template.total, 33.0, atol=0.01)
    np.testing.assert_allclose(bk["steady_state"].template.total, 3152.0, atol=0.01)
    for name, variant in bk["brn"].shape_variants.items():
        expected = 523.7 if name == "timing_mean_plus_1sigma" else 497.0
        np.testing.assert_allclose(variant.total, expected, atol=0.05)
    assert len(bk["brn"].shape_variants) == 5


def test_lar2020_axes(releases):
    axes = releases["coherent-lar-2020"].observed.axes
    # README: energy centres 5…115 (10 keVee), F90 0.525…0.875 (0.05), time 0.15…4.65 (0.5 µs).
    np.testing.assert_allclose(axes[0].centers, np.arange(5, 120, 10))
    np.testing.assert_allclose(axes[1].centers, np.arange(0.525, 0.9, 0.05))
    np.testing.assert_allclose(axes[2].centers, np.arange(0.15, 4.7, 0.5))


def test_lar2020_cevns_energy_marginal(releases):
    template = releases["coherent-lar-2020"].cevns_templates["nominal"]
    # README: 78.7, 37.0, 9.9, 2.4, 0.08, 0, … per 10-keVee bin.
    np.testing.assert_allclose(template.project("energy")[:6], [78.7, 37.0, 9.9, 2.4, 0.08, 0],
                               atol=0.05)
    np.testing.assert_allclose(template.project("energy")[6:], 0.0)


def test_lar2020_projections(releases):
    rel = releases["coherent-lar-2020"]
    # README "1D projections": SS-subtracted data 620.25, best-fit CEvNS 159.5, BRN 563.5.
    for proj in rel.projections.values():
        np.testing.assert_allclose(proj.ss_subtracted_data.sum(), 620.25, atol=0.01)
        np.testing.assert_allclose(proj.cevns_bestfit.sum(), 159.5, atol=0.01)
        np.testing.assert_allclose(proj.brn_bestfit.sum(), 563.5, atol=0.05)
        np.testing.assert_allclose(proj.total_bestfit, proj.cevns_bestfit + proj.brn_bestfit,
                                   atol=1e-3)
    assert {k: v.shape for k, v in rel.systematic_bands.items()} == {
        "energy": (12, 3), "f90": (8, 3), "time": (10, 3)}


def test_lar2020_efficiency_table(releases):
    rel = releases["coherent-lar-2020"]
    eff = rel.efficiency_table
    # README: 80 rows, 0.25…39.75 keVee, 0 at 0.25 keVee, ≈ 0.96 at 40 keVee.
    assert eff.shape == (80, 3)
    assert eff[0, 2] == 0.0
    assert eff[-1, 2] == pytest.approx(0.96, abs=0.005)
    # The keVnr column is the YAML QF mapping: E_ee = (0.246 + 0.00078 T) T.
    np.testing.assert_allclose((0.246 + 0.00078 * eff[:, 1]) * eff[:, 1], eff[:, 0], rtol=2e-3)


def test_lar2020_parameters(releases):
    rel = releases["coherent-lar-2020"]
    p = rel.parameters
    # README "Efficiency and parameters".
    assert p["protons_on_target"].value == pytest.approx(13.8e22)
    assert p["exposure"].value == 6.12
    assert p["distance"].value == 27.5
    assert (p["detector_mass"].value, p["detector_mass"].uncertainty) == (24.4, 0.61)
    assert (p["quenching_a"].value, p["quenching_a"].uncertainty) == (0.246, 0.006)
    assert (p["quenching_b"].value, p["quenching_b"].uncertainty) == (0.00078, 0.00009)
    assert (p["neutrinos_per_proton"].value, p["neutrinos_per_proton"].uncertainty) == (
        0.09, 0.009)
    assert p["energy_resolution_a"].value == 0.58
    assert (p["pot_mean"].value, p["pot_mean"].uncertainty) == pytest.approx((0.44, 0.2))
    assert p["pot_sigma"].value == pytest.approx(0.15)
    expected = {
        "cevns_fitted": (159, 43), "brn_fitted": (553, 34), "delayed_brn_fitted": (10, 11),
        "steady_state_fitted": (3131, 23), "cevns_predicted": (128, 17),
        "brn_predicted": (497, 160), "delayed_brn_predicted": (33, 33),
        "steady_state_predicted": (3154, 25),
    }
    for key, (value, unc) in expected.items():
        assert (p[key].value, p[key].uncertainty) == (value, unc), key
    bk = rel.backgrounds
    assert (bk["brn"].normalisation.value, bk["brn"].fitted_normalisation.value) == (497, 553)
    assert (rel.cevns_normalisation.value, rel.cevns_normalisation.uncertainty) == (128, 17)
    # expected() at the prior's value gives that many events (template 3152 rescaled to 3154).
    np.testing.assert_allclose(bk["steady_state"].expected().sum(), 3154.0)
    np.testing.assert_allclose(rel.expected_background().sum(), 3154 + 497 + 33, rtol=1e-6)


def test_lar2020_psd_fractions(releases):
    rel = releases["coherent-lar-2020"]
    psd = rel.psd_fractions
    assert psd.shape == (12, 8)
    np.testing.assert_allclose(psd.sum(axis=1), 1.0)
    template = rel.cevns_templates["nominal"].counts.sum(axis=2)
    np.testing.assert_allclose(psd[0], template[0] / template[0].sum())


# ------------------------------------------------------------------------------- YAML parser


@pytest.mark.parametrize("folder, file", [("coherent-csi-2017", "coherent_parameters.yaml"),
                                          ("coherent-lar-2020", "LArParametersAnlA.yaml")])
def test_flat_yaml_matches_pyyaml(folder, file):
    yaml = pytest.importorskip("yaml")
    path = packaged_data_dir(folder) / file
    assert read_flat_yaml(path) == yaml.safe_load(path.read_text(encoding="utf-8"))


def test_setup_number_of_targets(releases):
    setup = releases["coherent-csi-2017"].setup
    # 14.6 kg / 259.81 g/mol × N_A ≈ 3.384e25 formula units, one Cs and one I each.
    assert setup.number_of_targets("Cs133") == pytest.approx(14.6e3 / 259.8099 * 6.02214076e23)
    assert setup.number_of_targets("I127") == setup.number_of_targets("Cs133")
    with pytest.raises(UnknownNameError):
        setup.number_of_targets("Ar40")


def test_repr_and_summary(releases):
    for rel in releases.values():
        text = rel.summary()
        assert rel.name in text and "background" in text
        assert len(repr(rel)) < 200  # no array dump in a terminal
    assert "total=1207" in repr(releases["coherent-csi-2017"].observed)
