"""Shared fixtures of the fit tests: release models, built once per session."""

from __future__ import annotations

import pytest

from cevns.datasets import load_release
from cevns.fits import ReleaseModel
from cevns.physics.form_factors import LEWIN_SMITH_HELM_SKIN, use_helm_skin

RELEASES = ("coherent-csi-2017", "coherent-csi-2021", "coherent-lar-2020")


@pytest.fixture(autouse=True)
def _lewin_smith_skin():
    """Fits to data use s = 0.9 fm (fit_release's default); so do the models built directly here."""
    with use_helm_skin(LEWIN_SMITH_HELM_SKIN):
        yield


@pytest.fixture(scope="session")
def models():
    """A ReleaseModel of each packaged release (default options, s = 0.9 fm)."""
    with use_helm_skin(LEWIN_SMITH_HELM_SKIN):
        return {name: ReleaseModel(load_release(name)) for name in RELEASES}


