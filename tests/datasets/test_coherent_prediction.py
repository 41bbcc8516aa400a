"""End-to-end sanity: release parameters + our response + a simple SM rate ≈ published predictions.

The SM rate of ``conftest.sm_node_counts`` is deliberately simple (vector charge, Helm form factor
with R = R_p, analytic π-DAR spectra), while the collaboration used its own flux simulation and
form factor, so the tolerances are loose: they catch a wrong unit, a misread parameter or a
broken response, not percent-level physics.
"""

from __future__ import annotations

import numpy as np
import pytest

from cevns.errors import ConfigError, UnknownNameError
from cevns.physics.units import keV

NODES = {
    "coherent-csi-2017": np.linspace(0.0, 60.0, 3001) * keV,
    "coherent-csi-2021": np.linspace(0.0, 60.0, 3001) * keV,
    "coherent-lar-2020": np.linspace(0.0, 200.0, 4001) * keV,
}


def _prediction(release, sm_counts):
    nodes = NODES[release.name]
    return release.predict_signal(nodes, sm_counts(release, nodes))


def test_lar2020_total_and_energy_shape(releases, sm_counts):
    rel = releases["coherent-lar-2020"]
    pred = _prediction(rel, sm_counts)
    # YAML / README: predicted CEvNS 128 ± 17; marginal 78.7, 37.0, 9.9, 2.4 in the first bins.
    assert pred.sum() == pytest.approx(128.0, rel=0.10)
    np.testing.assert_allclose(pred.sum(axis=(1, 2))[:4], [78.7, 37.0, 9.9, 2.4], rtol=0.2)
    # Time projection: the SNS model against the released CEvNS PDF.
    release_time = rel.cevns_templates["nominal"].project("time") / 128.0
    np.testing.assert_allclose(pred.sum(axis=(0, 1)) / pred.sum(), release_time, atol=0.01)
    # F90 projection: by construction from the release's PSD fractions.
    release_f90 = rel.cevns_templates["nominal"].project("f90") / 128.0
    np.testing.assert_allclose(pred.sum(axis=(0, 2)) / pred.sum(), release_f90, atol=0.01)


def test_csi2017_prediction_in_analysis_region(releases, sm_counts):
    rel = releases["coherent-csi-2017"]
    pred = rel.observed.with_counts(_prediction(rel, sm_counts))
    # Science 357, 1123 (2017): SM expectation 173 ± 48 CEvNS events for the released analysis.
    assert pred.sum_in(**rel.analysis_region) == pytest.approx(173.0, rel=0.15)
    # The observed excess over the steady state (README: 142) is of that size.
    excess = rel.in_analysis_region().total - rel.backgrounds["steady_state"].normalisation.value
    assert excess == 142


def test_csi2021_prediction_is_plausible(releases, sm_counts):
    rel = releases["coherent-csi-2021"]
    pred = _prediction(rel, sm_counts)
    data = rel.observed.total
    background = rel.expected_background().sum()
    # No SM prediction is stated in the README; the excess over the backgrounds
    # (1578 − 1295 − 18.4 − 5.6 = 259) and the SM prediction must be of the same size.
    assert background == pytest.approx(1295 + 18.4 + 5.6)
    assert 0.7 < (data - background) / pred.sum() < 1.3


def test_prediction_is_linear_and_flavour_resolved(releases, sm_counts):
    rel = releases["coherent-csi-2021"]
    nodes = NODES[rel.name]
    counts = sm_counts(rel, nodes)
    r = rel.response_matrix(nodes)
    total = rel.predict_signal(nodes, counts, response_matrix=r)
    parts = sum(rel.predict_signal(nodes, {fl: c}, response_matrix=r) for fl, c in counts.items())
    np.testing.assert_allclose(total, parts)
    doubled = rel.predict_signal(nodes, {fl: 2 * c for fl, c in counts.items()})
    np.testing.assert_allclose(doubled, 2 * total)
    prompt_only = rel.predict_signal(nodes, {"numu": counts["numu"]}, response_matrix=r)
    np.testing.assert_allclose(prompt_only.sum(axis=0) / prompt_only.sum(),
                               rel.timing.prompt / rel.timing.prompt.sum())
    with pytest.raises(UnknownNameError):
        rel.predict_signal(nodes, {"nu_tau": counts["numu"]}, response_matrix=r)
    with pytest.raises(ConfigError):
        rel.fold_energy_counts({"numu": np.ones(3)})


def test_background_normalisations(releases):
    rel = releases["coherent-lar-2020"]
    base = rel.expected_background()
    more = rel.expected_background({"brn": 553.0})
    np.testing.assert_allclose(more.sum() - base.sum(), 553.0 - 497.0, rtol=1e-9)
    varied = rel.backgrounds["brn"].expected(variant="timing_mean_plus_1sigma")
    np.testing.assert_allclose(varied.sum(), 523.7, atol=0.05)
    with pytest.raises(UnknownNameError):
        rel.expected_background({"nin": 1.0})
    with pytest.raises(UnknownNameError):
        rel.backgrounds["brn"].expected(variant="nope")
