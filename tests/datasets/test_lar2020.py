"""LAr-2020 reader: the release's factorised CEvNS PDF, its shape variants, the F90 acceptance."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtr

from cevns.datasets.coherent import Axis, Histogram
from cevns.datasets.coherent.lar2020 import F90_EDGES, f90_window_acceptance


def test_release_pdf_factorises_and_time_pdf(releases):
    release = releases["coherent-lar-2020"]
    nominal = release.cevns_templates["nominal"].counts
    tau = release.cevns_time_pdf
    assert tau.sum() == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_allclose(nominal.sum(axis=2)[:, :, None] * tau, nominal, atol=1e-5)
    # docs: 8.7 % of the release's CEvNS in the first time bin (−0.1–0.4 µs)
    assert tau[0] == pytest.approx(0.0866, abs=5e-4)


def test_shape_systematics_are_paired_as_released(releases):
    release = releases["coherent-lar-2020"]
    syst = release.shape_systematics
    assert set(syst) == {"cevns_f90", "cevns_timing_mean", "brn_energy", "brn_timing_mean",
                         "brn_timing_width"}
    for s in syst.values():
        total = s.nominal.counts.sum()
        assert s.up.counts.sum() == pytest.approx(total, rel=1e-9)
        assert s.down.counts.sum() == pytest.approx(total, rel=1e-9)
        if s.one_sided:
            np.testing.assert_array_equal(s.down.counts, s.nominal.counts)
    assert {n for n, s in syst.items() if s.one_sided} == {"cevns_timing_mean", "brn_timing_width"}
    # the +1σ BRN timing-mean file sums to 523.7 (as released) and is rescaled to 497
    raw = release.backgrounds["brn"].shape_variants["timing_mean_plus_1sigma"].counts
    assert raw.sum() == pytest.approx(523.67, abs=0.01)
    np.testing.assert_allclose(syst["brn_timing_mean"].up.counts, raw * 497.0 / raw.sum(),
                               rtol=1e-6)
    down, up = syst["brn_energy"].ratios()
    nominal = syst["brn_energy"].nominal.counts.ravel()
    assert np.all(up[nominal == 0] == 1.0) and np.all(down[nominal == 0] == 1.0)
    dropped = syst["brn_energy"].up.counts.ravel()[nominal == 0].sum()
    assert dropped == pytest.approx(0.014, abs=0.001)  # docs: 0.014 events dropped


def test_f90_window_acceptance_on_exact_gaussians():
    """Binned Gaussians in F90: the fit recovers mean, σ and the in-window probability (ndtr)."""
    truth = [(0.62, 0.10), (0.70, 0.07), (0.76, 0.04)]
    counts = np.zeros((4, F90_EDGES.size - 1, 2))
    for i, (mu, sigma) in enumerate(truth):
        counts[i, :, 0] = np.diff(ndtr((F90_EDGES - mu) / sigma)) * 50.0
        counts[i, :, 1] = counts[i, :, 0]
    hist = Histogram((Axis("energy", np.arange(0.0, 41.0, 10.0), "keVee"),
                      Axis("f90", F90_EDGES, ""), Axis("time", np.array([0.0, 1.0, 2.0]), "us")),
                     counts)
    acceptance, params = f90_window_acceptance(hist)
    for i, (mu, sigma) in enumerate(truth):
        assert params[i] == pytest.approx((mu, sigma), abs=1e-6)
        assert acceptance[i] == pytest.approx(ndtr((0.9 - mu) / sigma) - ndtr((0.5 - mu) / sigma),
                                              abs=1e-8)
    assert acceptance[3] == acceptance[2]  # the empty bin reuses the last populated one
    assert np.isnan(params[3]).all()
    assert acceptance[0] == pytest.approx(0.99744 - 0.11507, abs=1e-4)  # Φ(2.8) − Φ(−1.2), tables
