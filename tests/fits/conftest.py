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


