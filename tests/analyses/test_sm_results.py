"""Standard-Model results against the paper: Table 3 edges and the Table 4 ordering.

Expected values: the paper's Table 3 (surviving text, docs/physics.md#paper-statements) and its statement that
C₃F₈ gives the most and Xe the least precise sin²θ_W. Our edges are reproduced after the
background calibration of scripts/calibrate_table3.py with the default Helm skin s = 1.0 fm: the
binned detectors to ≤ 0.025 fm, Ar and C₃F₈ to ≤ 0.09 fm (docs/assumptions.md).
"""

from __future__ import annotations

import numpy as np
import pytest

from cevns.analyses import shipped_analysis
from cevns.analyses.sensitivity import chi2_grid
from cevns.physics.constants import SIN2_THETA_W
from cevns.stats import Profile1D

#: tolerance per detector (fm): the four binned detectors are reproduced closely, the single-bin
#: ones less so (their centres sit 0.06 fm high for Ar, their widths are fixed by σ_α)
TOLERANCE = {"CsI": 0.025, "Xe": 0.025, "Ge": 0.025, "Si": 0.025, "Ar": 0.075, "C3F8": 0.09}


def _coarse(name: str, num: int):
    an = shipped_analysis(name)
    return an.model_copy(update={"scan": an.scan.model_copy(update={"num": num})})


def test_table3_edges_within_calibration_residuals():
    an = _coarse("table3", 601)
    chi2 = chi2_grid(an)
    for det, (ref_lo, ref_hi) in an.reference.items():
        prof = Profile1D(an.scan.grid(), chi2[det] - chi2[det].min())
        pieces = prof.interval("1sigma_1dof")
        assert len(pieces) == 1 and not pieces[0].lower_open and not pieces[0].upper_open
        for k, (got, ref) in enumerate(((pieces[0].lower, ref_lo), (pieces[0].upper, ref_hi))):
            assert got == pytest.approx(ref, abs=TOLERANCE[det]), (det, k)


def test_table4_ordering_and_best_fit():
    an = _coarse("table4", 401)
    chi2 = chi2_grid(an)
    widths = {}
    for det, values in chi2.items():
        prof = Profile1D(an.scan.grid(), values - values.min())
        assert prof.best == pytest.approx(SIN2_THETA_W, abs=2e-4)  # Asimov: best fit = truth
        (lo, hi), = [tuple(p) for p in prof.interval("1sigma_1dof")]
        widths[det] = hi - lo
    single = {d: w for d, w in widths.items() if d != "combined"}
    assert min(single, key=single.get) == "C3F8"
    assert max(single, key=single.get) == "Xe"
    assert widths["combined"] < min(single.values())


def test_sin2w_precision_follows_sigma_alpha():
    # docs/physics.md#table-3-calibration: δ(sin²θ_W) ≈ σ_α / (d ln N / d sin²θ_W) for a signal-norm-dominated
    # single-bin detector; check Ar against that estimate at 5 %
    from cevns.experiment import get_detector
    from cevns.scenarios import get_scenario

    det = get_detector("Ar")
    sc = get_scenario("sm")
    from cevns.experiment import get_source

    src = get_source()
    h = 1e-4
    n0 = sc.counts(det, src, {"sin2_theta_w": SIN2_THETA_W}).sum()
    n1 = sc.counts(det, src, {"sin2_theta_w": SIN2_THETA_W + h}).sum()
    dlnn = (np.log(n1) - np.log(n0)) / h
    bkg = det.background_counts(src).sum()
    # total relative error: σ_α ⊕ statistical √(N+B)/N
    rel = np.hypot(0.10, np.sqrt(n0 + bkg) / n0)
    an = _coarse("table4", 801)
    an = an.model_copy(update={"detectors": ("Ar",)})
    chi2 = chi2_grid(an)["Ar"]
    (lo, hi), = [tuple(p) for p in Profile1D(an.scan.grid(), chi2 - chi2.min()).interval(1.0)]
    assert 0.5 * (hi - lo) == pytest.approx(rel / abs(dlnn), rel=0.05)


def _interval_edges(name: str, shared_signal: bool = True) -> dict[str, list]:
    an = shipped_analysis(name)
    an = an.model_copy(update={"stats": an.stats.model_copy(
        update={"shared_signal": shared_signal})})
    chi2 = chi2_grid(an)
    level = 2.705543454095404 if name == "table5" else 1.0  # chi2.ppf(0.9, 1) / 1σ
    return {det: Profile1D(an.scan.grid(), c - c.min()).interval(level) for det, c in chi2.items()}


def test_documented_table4_and_table5_numbers():
    # the half-widths and limits quoted in docs/assumptions.md (regression, 1e-3 absolute); the
    # combination with one α for all detectors (default) and with one α per detector (option)
    half = {"CsI": 0.0174, "Xe": 0.0177, "Ge": 0.0166, "Si": 0.0162, "Ar": 0.0152,
            "C3F8": 0.0142}
    limits = {"CsI": 0.881, "Xe": 0.881, "Ge": 0.875, "Si": 0.853, "Ar": 0.878, "C3F8": 0.878}
    for shared, half_combined, limit_combined in ((True, 0.0114, 0.882), (False, 0.0065, 0.948)):
        for det, pieces in _interval_edges("table4", shared).items():
            assert 0.5 * (pieces[0].upper - pieces[0].lower) == pytest.approx(
                half.get(det, half_combined), abs=1e-3), (shared, det)
        for det, pieces in _interval_edges("table5", shared).items():
            assert pieces[0].lower == pytest.approx(limits.get(det, limit_combined),
                                                    abs=1e-3), (shared, det)
    # a normalisation-like effect (α₁₁ rescales every detector's signal) cannot be known
    # better than the shared 10 % normalisation: the combination is no stronger than the best
    # detector, while independent α's average the 10 % down by √6 (docs/assumptions.md)
    edges = _interval_edges("table5")
    best_single = max(p[0].lower for d, p in edges.items() if d != "combined")
    assert edges["combined"][0].lower == pytest.approx(best_single, abs=2e-3)
