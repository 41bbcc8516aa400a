"""Resolution-sized bins (``Detector.bin_edges``) are cached by value across detector objects
(scan tiles rebuild their detectors from the description; issue #15)."""

from __future__ import annotations

import numpy as np
import pytest

from cevns.experiment import get_detector
from cevns.experiment.detector import _resolution_bin_edges


@pytest.mark.parametrize("name", ["CsI", "Xe", "Ge", "Si"])
def test_bins_are_k_sigma_wide_at_their_centre(name):
    # Independent reference: for σ = σ₀ √(E_th T) the width w = k σ(lo + w/2) solves
    # w² = a (lo + w/2) with a = k² σ₀² E_th, so w = a/4 + √(a²/16 + a lo) (closed form); for
    # σ = σ₀ T, w = k σ₀ lo / (1 − k σ₀/2).
    det = get_detector(name)
    edges = det.bin_edges
    k, s0, th = det.binning.width_in_sigma, det.resolution.sigma0, det.threshold
    lo = edges[:-2]  # the last bin is cut at T_max
    if det.resolution.law == "sqrt-threshold":
        a = k * k * s0 * s0 * th
        width = a / 4 + np.sqrt(a * a / 16 + a * lo)
    else:
        width = k * s0 * lo / (1 - k * s0 / 2)
    np.testing.assert_allclose(np.diff(edges)[:-1], width, rtol=1e-10)
    assert edges[0] == th and edges[-1] == det.max_recoil_energy


def test_equal_detectors_share_their_edges_and_other_values_do_not():
    a = get_detector("Ge")
    b = type(a).model_validate(a.model_dump())  # rebuilt from its description, as in a tile
    assert a is not b and a == b and a.bin_edges is b.bin_edges
    assert not a.bin_edges.flags.writeable
    other = type(a).model_validate({**a.model_dump(), "threshold_keVnr": 0.7})
    assert other.bin_edges[0] != a.bin_edges[0]
    info = _resolution_bin_edges.cache_info()
    assert info.maxsize is not None and info.currsize <= info.maxsize
