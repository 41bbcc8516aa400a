"""The kinematic end point that refines a sterile-lepton exclusion grid follows the analysis's
source: at a 235.5 MeV kaon-decay-at-rest line it is the line's end point, not the π-DAR one
(m_μ/2), which had been used for every source (cevns.analyses.edges)."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

from cevns.analyses import parse_analysis
from cevns.analyses.edges import exclusion_edges_x, max_sterile_mass_above, refined_exclusion
from cevns.physics.constants import E_MICHEL_MAX
from cevns.physics.units import MeV

LINE_MEV = 235.5

KDAR_DIPOLE = f"""
schema_version = 1
name = "kdar-dipole"
title = "Dipole portal at a kaon-decay-at-rest line on argon"
kind = "exclusion"
detectors = ["Ar"]
level = "90cl_2dof"

[scenario]
name = "dipole"
options = {{ channel = "mu", beyond_reach = "no-signal" }}

[x]
parameter = "sterile_mass_MeV"
start = 1.0
stop = 300.0
num = 20
spacing = "log"

[y]
parameter = "magnetic_moment"
start = 1e-10
stop = 1e-7
num = 5
spacing = "log"

[source]
preset = "kdar"

[source.definitions.kdar]
kind = "tabulated"
normalisation = "per-cm2-s"
lines = [{{ flavour = "numu", energy_MeV = {LINE_MEV}, intensity = 1e7 }}]
baseline_m = 20.0
beam_hours_per_year = 5000.0
duty_factor = 1.0
run_years = 1.0

[detector_overrides.Ar]
max_neutrino_energy_MeV = 240
"""


@pytest.fixture(scope="module")
def analysis():
    return parse_analysis(tomllib.loads(KDAR_DIPOLE))


def test_end_point_is_the_line_end_point(analysis):
    (det,) = analysis.build_detectors()
    # expected: Eq. 22's largest m4 with a recoil above threshold, at the line energy (the
    # closed form of max_sterile_mass_above, checked against kinematics in test_paper_items_edges)
    expected = max(max_sterile_mass_above(LINE_MEV * MeV, nuc.mass, det.threshold)
                   for nuc, _ in det.nuclei) / MeV
    (edge,) = exclusion_edges_x(analysis, None)
    assert edge == pytest.approx(expected, rel=1e-9)
    # on argon √s − m_A lies ~0.7 MeV below E: far above the π-DAR end point of ≈ 52.8 MeV
    assert 230.0 < edge < LINE_MEV
    pi_dar = max(max_sterile_mass_above(E_MICHEL_MAX, nuc.mass, det.threshold)
                 for nuc, _ in det.nuclei) / MeV
    assert pi_dar < 53.0


def test_refined_grid_brackets_the_line_end_point(analysis):
    (edge,) = exclusion_edges_x(analysis, None)
    x = np.asarray(refined_exclusion(analysis, None).x.grid(False))
    below, above = x[x < edge].max(), x[x > edge].min()
    # the innermost of EDGE_OFFSETS (0.1 %) on either side
    assert below == pytest.approx(edge * (1 - 1e-3), rel=1e-9)
    assert above == pytest.approx(edge * (1 + 1e-3), rel=1e-9)
    # and nothing was placed around the π-DAR end point, which this source does not have
    assert not np.any(np.abs(x / 52.8 - 1) < 6e-2)


def test_explicit_detectors_keep_the_pi_dar_end_point(analysis):
    # the COHERENT overlay passes the releases' (SNS π-DAR) detectors: m_μ/2 stays their energy
    (det,) = analysis.build_detectors()
    (edge,) = exclusion_edges_x(analysis, None, detectors=[det])
    assert edge == pytest.approx(max(max_sterile_mass_above(E_MICHEL_MAX, nuc.mass, det.threshold)
                                     for nuc, _ in det.nuclei) / MeV, rel=1e-9)


@pytest.mark.parametrize("energy", [float("nan"), float("inf"), 0.0, -1.0])
def test_end_point_energy_must_be_finite_and_positive(analysis, energy):
    from cevns.analyses.edges import detector_end_point_MeV
    from cevns.errors import ConfigError

    (det,) = analysis.build_detectors()
    with pytest.raises(ConfigError, match=r"^neutrino_energy must be finite and > 0, got "):
        detector_end_point_MeV(det, energy)
