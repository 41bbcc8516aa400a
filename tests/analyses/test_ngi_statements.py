"""The paper's qualitative NGI statements (docs/physics.md#paper-statements), checked on computed limits.

Each test computes 90 % C.L. (Δχ² = 4.61) exclusion limits on a coarse grid with the same machinery
as `cevns reproduce --only fig16` and compares numbers, not pictures.
"""

from __future__ import annotations

import numpy as np
import pytest

from cevns.analyses import parse_analysis
from cevns.analyses.sensitivity import chi2_grid
from cevns.stats import exclusion_curve, level_value

MASSES = [0.01, 0.1, 3000.0, 10000.0]
DETECTORS = ["CsI", "Xe", "Ge", "Si", "Ar", "C3F8"]


def _limits(interaction: str, **options) -> dict[str, np.ndarray]:
    an = parse_analysis({
        "schema_version": 1, "name": "t", "title": "t", "kind": "exclusion",
        "detectors": DETECTORS,
        "scenario": {"name": "ngi", "options": {"interaction": interaction, **options}},
        "x": {"parameter": "mediator_mass_MeV", "values": MASSES},
        "y": {"parameter": "coupling", "start": 1e-7, "stop": 1.0, "num": 141, "spacing": "log"},
    })
    out = {}
    for name, chi2 in chi2_grid(an).items():
        delta = chi2 - chi2.min()
        if delta.max() < level_value("90cl_2dof"):
            out[name] = np.full(len(MASSES), np.inf)
            continue
        curve = exclusion_curve(an.x.grid(), an.y.grid(), delta, "90cl_2dof")
        out[name] = np.where(curve.found, curve.limit, np.inf)
    return out


@pytest.fixture(scope="module")
def limits():
    return {i: _limits(i) for i in ("scalar", "vector", "axial", "tensor")}


def test_scalar_and_vector_strongest_axial_weakest(limits):
    light = {i: lim["combined"][0] for i, lim in limits.items()}
    assert max(light["scalar"], light["vector"]) < light["tensor"] < light["axial"]


def test_only_csi_and_c3f8_constrain_axial_and_tensor(limits):
    for inter in ("axial", "tensor"):
        for det in ("Xe", "Ge", "Si", "Ar"):
            assert np.all(np.isinf(limits[inter][det])), (inter, det)
        for det in ("CsI", "C3F8"):
            assert np.all(np.isfinite(limits[inter][det][:2])), (inter, det)
        # C3F8 (light, spin-1/2 fluorine) is better than CsI
        assert np.all(limits[inter]["C3F8"][:2] < limits[inter]["CsI"][:2])


def test_single_bin_detectors_slightly_weaker_for_scalar_and_vector(limits):
    for inter in ("scalar", "vector"):
        binned = max(limits[inter][d][0] for d in ("CsI", "Xe", "Ge", "Si"))
        for det in ("Ar", "C3F8"):
            ratio = limits[inter][det][0] / binned
            assert 1.0 < ratio < 3.0, (inter, det, ratio)


def test_flat_for_light_and_linear_in_mass_for_heavy_mediators(limits):
    for inter, lim in limits.items():
        comb = lim["combined"]
        assert comb[0] == pytest.approx(comb[1], rel=0.02), inter
        # heavy mediator: only g²/m_X² matters, so g_limit ∝ m_X (g² ∝ m_X²)
        slope = np.log(comb[3] / comb[2]) / np.log(MASSES[3] / MASSES[2])
        assert slope == pytest.approx(1.0, abs=0.05), inter


def test_universal_vector_has_a_cancellation_band():
    # universal coupling with g^ν g^q > 0 interferes destructively with the SM: a second Δχ² ≈ 0
    # valley appears at larger coupling (docs/physics.md#ngi), absent for B−L
    an = parse_analysis({
        "schema_version": 1, "name": "t", "title": "t", "kind": "exclusion",
        "detectors": ["CsI"], "stats": {"combine": False},
        "scenario": {"name": "ngi", "options": {"interaction": "vector",
                                                "vector_charge": "universal"}},
        "x": {"parameter": "mediator_mass_MeV", "values": [1000.0, 2000.0]},
        "y": {"parameter": "coupling", "start": 1e-5, "stop": 1e-2, "num": 400, "spacing": "log"},
    })
    delta = chi2_grid(an)["CsI"][0]
    delta = delta - delta.min()
    first = np.argmax(delta > 4.61)
    assert first > 0 and delta[first:].min() < 1.0
