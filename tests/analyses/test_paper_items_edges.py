"""Kinematic end points of the sterile-lepton exclusion plots (Figs. 10–14, 19–23).

Expected values: paper Eq. 22 maximised over the recoil by brute force on a fine grid (independent
of the closed form used in ``cevns.analyses.edges``), and the absolute reach √s − m_A of
``cevns.physics.kinematics.max_sterile_mass``.
"""

from __future__ import annotations

import numpy as np
import pytest

from cevns.analyses.catalogue import shipped_analysis
from cevns.analyses.edges import (
    detector_end_point_MeV,
    exclusion_edges_x,
    max_sterile_mass_above,
    refine_axis_values,
    refined_exclusion,
)
from cevns.analyses.sensitivity import chi2_grid
from cevns.experiment import get_detector
from cevns.physics.constants import E_MICHEL_MAX
from cevns.physics.kinematics import max_sterile_mass
from cevns.physics.units import MeV, keV
from cevns.stats import exclusion_curve


@pytest.mark.parametrize("mass_MeV", [11188.18, 26161.48, 123800.6])
@pytest.mark.parametrize("threshold_keV", [0.0, 1.0, 100.0, 400.0])
def test_end_point_is_the_maximum_of_eq22(mass_MeV, threshold_keV):
    e, ma, t_thr = E_MICHEL_MAX, mass_MeV * MeV, threshold_keV * keV
    t = np.geomspace(max(t_thr, 1e-4 * keV), 5e3 * keV, 400_001)
    f = 2 * e * (np.sqrt(t * t + 2 * ma * t) - t) - 2 * ma * t
    brute = np.sqrt(max(f.max(), 0.0))
    assert max_sterile_mass_above(e, ma, t_thr) == pytest.approx(brute, rel=1e-6)
    if threshold_keV == 0.0:
        assert max_sterile_mass_above(e, ma) == pytest.approx(float(max_sterile_mass(e, ma)),
                                                              rel=1e-9)


def test_ess_end_points_lie_at_52_7_to_52_8_MeV():
    # every ESS threshold lies below the optimal recoil T*, so the end point is √s − m_A ≈ 52.8 MeV
    for name in ["CsI", "Xe", "Ge", "Si", "Ar", "C3F8"]:
        edge = detector_end_point_MeV(get_detector(name))
        assert 52.7 < edge < E_MICHEL_MAX / MeV


def test_refinement_adds_points_on_both_sides_and_keeps_the_range():
    base = np.geomspace(0.1, 1000.0, 54)
    out = refine_axis_values(base, [52.75, 52.80])
    assert out[0] == base[0] and out[-1] == base[-1]
    assert np.all(np.diff(out) > 0)
    below = out[out < 52.75]
    above = out[out > 52.80]
    assert below[-1] == pytest.approx(52.75 * (1 - 1e-3))
    assert above[0] == pytest.approx(52.80 * (1 + 1e-3))


@pytest.mark.parametrize("item,variant", [("fig11", 2), ("fig11", 0), ("fig10", 1)])
def test_wall_within_one_percent_of_the_kinematic_end_point(item, variant):
    """The last excluded grid point lies within 1 % below the end point and none lies above it."""
    an = shipped_analysis(item).model_copy(update={"detectors": ("CsI", "Si")})
    edges = exclusion_edges_x(an, an.variants[variant])
    edge = max(edges)
    refined = refined_exclusion(an, variant)
    x = refined.x.grid()
    window = x[(x > 0.9 * edge) & (x < 1.1 * edge)]
    chi2 = chi2_grid(refined, window, variant=an.variants[variant])["combined"]
    delta = chi2 - chi2.min()
    curve = exclusion_curve(window, refined.y.grid(), delta, "90cl_2dof")
    found = window[curve.found]
    assert found.size > 0
    assert found.max() >= 0.99 * edge
    assert found.max() < edge
    # beyond the end point there is no signal at all: Δχ² is zero there
    assert np.all(delta[window > edge * (1 + 1e-9)] < 1e-9)
