"""Shared test set-up: make the independent reference implementations importable."""

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "_reference"))


@pytest.fixture
def copy_release(tmp_path):
    """Copy a packaged COHERENT release folder to a writable tmp dir and return the new path."""
    from cevns.datasets.coherent._common import packaged_data_dir

    def _copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(packaged_data_dir(name), target)
        for path in target.iterdir():
            path.chmod(0o644)
        return target

    return _copy
