"""The combination of an analysis's detectors with one signal normalisation α for all of them
(``[stats] shared_signal = true``, the default; docs/assumptions.md): checked against a direct
minimisation with SciPy, written from Eq. (29) of the paper with one α and one β per detector."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from cevns.analyses import parse_analysis
from cevns.analyses.sensitivity.compute import chi2_grid
from cevns.scenarios import get_scenario

DOC = {
    "schema_version": 1, "name": "sh", "title": "t", "kind": "profile",
    "detectors": ["CsI", "Ar"], "scenario": {"name": "sm"},
    "scan": {"parameter": "sin2_theta_w", "start": 0.20, "stop": 0.28, "num": 9},
}


def _poisson(n, mu):
    return 2.0 * np.sum(mu - n + np.where(n > 0, n * np.log(n / mu), 0.0))


def _reference(an, s2w: float, shared: bool) -> float:
    """min over α (one, or one per detector) and β_d of Σ_d P_d + (α/σ_α)² + Σ (β_d/σ_β)²."""
    sm = get_scenario("sm")
    src = an.source.build()
    data = []
    for det in an.build_detectors():
        bkg = det.background_counts(src)
        obs = sm.counts(det, src, {"sin2_theta_w": 0.23857}) + bkg
        sig = sm.counts(det, src, {"sin2_theta_w": s2w})
        data.append((obs, sig, bkg))
    sa, sb = an.stats.sigma_signal, an.stats.sigma_background
    k = len(data)

    def chi2(p):
        alphas = [p[0]] * k if shared else list(p[:k])
        betas = p[1:] if shared else p[k:]
        total = sum(_poisson(o, (1 + a) * s + (1 + b) * bk)
                    for (o, s, bk), a, b in zip(data, alphas, betas, strict=True))
        pulls_alpha = (p[0] / sa) ** 2 if shared else sum((a / sa) ** 2 for a in alphas)
        return total + pulls_alpha + sum((b / sb) ** 2 for b in betas)

    n = 1 + k if shared else 2 * k
    res = minimize(chi2, np.zeros(n), method="Nelder-Mead",
                   options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 40000, "maxfev": 40000})
    return float(res.fun)


@pytest.mark.parametrize("shared", [True, False])
def test_combined_chi2_matches_a_direct_minimisation(shared):
    an = parse_analysis({**DOC, "stats": {"shared_signal": shared}})
    chi2 = chi2_grid(an)
    x = an.scan.grid()
    for i in (0, 3, 8):
        ref = _reference(an, float(x[i]), shared)
        assert chi2["combined"][i] == pytest.approx(ref, rel=1e-5, abs=1e-6), (shared, x[i])


def test_shared_is_the_default_and_differs_from_independent_normalisations():
    default = parse_analysis(DOC)
    assert default.stats.shared_signal is True
    independent = parse_analysis({**DOC, "stats": {"shared_signal": False}})
    a, b = chi2_grid(default)["combined"], chi2_grid(independent)["combined"]
    # one α cannot absorb a detector's own rate shift twice over: a common shift costs its pull
    # once; here (sin²θ_W moves the CsI and Ar rates by different fractions) the values differ
    assert not np.allclose(a, b, rtol=1e-3)
    np.testing.assert_allclose(chi2_grid(independent)["combined"],
                               chi2_grid(independent)["CsI"] + chi2_grid(independent)["Ar"],
                               rtol=1e-10)
