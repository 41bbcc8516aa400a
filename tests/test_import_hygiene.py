"""Importing the library must not pull in the heavy optional modules (issue #15: a `cevns run`
spent 1.7 s importing and 25 ms computing). Checked in a fresh interpreter via sys.modules."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("matplotlib.pyplot", "matplotlib", "dask", "distributed", "scipy.stats", "xarray")


def _imported_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "code",
    [
        "import cevns.rates, cevns.stats, cevns.analyses",
        "import cevns, cevns.physics, cevns.experiment, cevns.scenarios, cevns.fits",
        "import cevns.datasets",
        # computing a level and loading an analysis use no scipy.stats either
        "import cevns.stats as s; s.level_value('90cl_2dof'); s.chi2_level(0.9, dof=3)\n"
        "from cevns.analyses import shipped_analysis; shipped_analysis('fig6')",
    ],
)
def test_library_imports_stay_light(code):
    loaded = _imported_after(code)
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
