"""Each COHERENT release as a cevns.experiment Detector and Source (datasets/coherent/experiment.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cevns.experiment import Detector, Source
from cevns.physics.constants import G_PER_MOL, N_AVOGADRO
from cevns.physics.units import keV, kg, m

RELEASES = ("coherent-csi-2017", "coherent-csi-2021", "coherent-lar-2020")


@pytest.mark.parametrize("name", RELEASES)
def test_detector_has_the_release_targets_mass_and_bins(releases, name):
    rel = releases[name]
    det = rel.detector()
    assert isinstance(det, Detector)
    assert [nuc.name for nuc, _ in det.nuclei] == [n for n, _ in rel.setup.targets]
    assert [k for _, k in det.nuclei] == [float(k) for _, k in rel.setup.targets]
    assert det.helm_skin_fm == 0.9  # the release fits' Helm skin (docs/assumptions.md)
    np.testing.assert_array_equal(det.observable_edges, rel.response.axis.edges)
    # N_k = m / M × N_A × atoms: M from the atomic masses of nuclei.toml; the release's stated
    # molar mass (259.81 g/mol for CsI, 39.948 for Ar) agrees to 1e-7
    molar = sum(k * nuc.atomic_mass_u for nuc, k in det.nuclei) * G_PER_MOL
    expected = [det.mass_kg * kg / molar * N_AVOGADRO * k for _, k in det.nuclei]
    np.testing.assert_allclose(det.number_of_targets(), expected, rtol=1e-12)
    stated = [rel.setup.number_of_targets(n) for n, _ in rel.setup.targets]
    np.testing.assert_allclose(det.number_of_targets(), stated, rtol=2e-7)


@pytest.mark.parametrize("name", RELEASES)
def test_source_is_the_release_data_period(releases, name):
    """Φ₀ = r N_POT / (4π L²) with the release's r, POT and L."""
    rel = releases[name]
    src = rel.source()
    assert isinstance(src, Source) and src.kind == "pi-dar"
    s = rel.setup
    phi = (s.neutrinos_per_flavour_per_proton.value * s.protons_on_target.value
           / (4.0 * math.pi * (s.distance.value * m) ** 2))
    assert src.fluence_scale() == pytest.approx(phi, rel=1e-12)
    assert src.fluence_scale() == pytest.approx(s.fluence_per_flavour, rel=1e-12)


@pytest.mark.parametrize("name", RELEASES)
def test_detector_response_is_the_release_response(releases, name):
    """The Detector's response table and the release's EnergyResponse are the same function of
    the true recoil (one set of pieces, validated twice)."""
    rel = releases[name]
    spec = rel.detector().response
    t_kevnr = np.geomspace(0.05, 120.0, 301)
    np.testing.assert_allclose(spec.matrix(t_kevnr), rel.response_matrix(t_kevnr * keV),
                               rtol=1e-12, atol=1e-15)


def test_bins_from_zero_put_the_threshold_at_the_efficiency_onset(releases):
    """CsI-2021 bins start at 0 PE; its efficiency a/(1 + e^{−k(x−x₀)}) + d is 0 below
    x = x₀ − ln(a/(−d) − 1)/k (the root of the logistic), so the Detector's threshold is the recoil
    of that PE value."""
    rel = releases["coherent-csi-2021"]
    det = rel.detector()
    eff = rel.response.efficiency
    x_on = eff.x0 - math.log(eff.a / -eff.offset - 1.0) / eff.k
    step = float(rel.response.axis.edges[-1]) / 20000  # the documented grid
    observed_at_threshold = float(det._mean_observable(det.threshold / keV, det.axis_nucleus))
    assert x_on - step - 1e-9 <= observed_at_threshold <= x_on + 1e-9
