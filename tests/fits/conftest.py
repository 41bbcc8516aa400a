"""Shared fixtures of the fit tests: release models, built once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cevns.datasets import load_release
from cevns.datasets.coherent._common import packaged_data_dir
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


@pytest.fixture
def release_copy(tmp_path):
    """Copy a packaged release folder into a writable tmp dir; return the folder."""

    def _copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(packaged_data_dir(name), target)
        for path in target.iterdir():
            path.chmod(0o644)
        return target

    return _copy
