"""The shape of the dipole-portal limit against m₄ (docs/scenarios/sterile.md, *Shape of the
limits against m₄*): the μ_νe limit of CsI stops rising near m₄ ≈ 35 MeV because the signal
normalisation nuisance absorbs an SM-like excess there; with that nuisance fixed (σ_α = 10⁻⁴)
the limit's slope rises monotonically towards the kinematic end point.

Expected behaviour from the mechanism (a nuisance that rescales the SM absorbs an excess of the
SM's shape); the numbers come from exclusion curves computed with the same machinery as
``cevns reproduce --only fig19``."""

from __future__ import annotations

import numpy as np

from cevns.analyses import parse_analysis
from cevns.analyses.sensitivity import chi2_grid
from cevns.stats import exclusion_curve

MASSES = np.linspace(20.0, 46.0, 27)


def _slopes(sigma_signal: float | None) -> np.ndarray:
    doc = {
        "schema_version": 1, "name": "t", "title": "t", "kind": "exclusion",
        "detectors": ["CsI"], "scenario": {"name": "dipole", "options": {"channel": "e"}},
        "x": {"parameter": "sterile_mass_MeV", "values": MASSES.tolist()},
        "y": {"parameter": "magnetic_moment", "start": 1e-10, "stop": 1e-6, "num": 161,
              "spacing": "log"}}
    if sigma_signal is not None:
        doc["stats"] = {"sigma_signal": sigma_signal}
    an = parse_analysis(doc)
    chi2 = chi2_grid(an)["CsI"]
    curve = exclusion_curve(an.x.grid(), an.y.grid(), chi2 - chi2.min(), "90cl_2dof")
    assert curve.found.all()
    return np.diff(np.log(curve.limit)) / np.diff(np.log(MASSES))


def test_the_nue_dipole_limit_pauses_near_35_mev_because_of_the_signal_nuisance():
    mid = 0.5 * (MASSES[1:] + MASSES[:-1])
    default = _slopes(None)
    peak = int(np.argmax(np.where(mid < 33.0, default, -np.inf)))
    dip = peak + int(np.argmin(default[peak:][mid[peak:] < 40.0]))
    assert default[peak] > 2.5 and default[dip] < 0.5 and 32.0 < mid[dip] < 39.0
    fixed = _slopes(1e-4)
    assert np.all(np.diff(fixed) > -0.01), np.round(fixed, 2)
