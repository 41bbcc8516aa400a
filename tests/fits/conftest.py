"""Shared fixtures of the fit tests: release models, built once per session."""

from __future__ import annotations

import pytest

from cevns.datasets import load_release
from cevns.fits import ReleaseModel

RELEASES = ("coherent-csi-2017", "coherent-csi-2021", "coherent-lar-2020")


@pytest.fixture(scope="session")
def models():
    """A ReleaseModel of each packaged release (default options, s = 0.9 fm: ReleaseModel's default)."""
    return {name: ReleaseModel(load_release(name)) for name in RELEASES}


@pytest.fixture(scope="session")
def simple_models():
    """The likelihood of earlier versions: ``likelihood="simple"``, CsI-2021 in the uniform
    4 PE × 0.5 µs binning (the numbers of docs/coherent.md before the collaboration likelihood)."""
    from cevns.datasets.coherent.csi2021 import UNIFORM_PE_EDGES, UNIFORM_TIME_EDGES

    out = {}
    for name in RELEASES:
        rel = load_release(name)
        if name == "coherent-csi-2021":
            rel = rel.rebin(UNIFORM_PE_EDGES, UNIFORM_TIME_EDGES)
        out[name] = ReleaseModel(rel, likelihood="simple")
    return out


