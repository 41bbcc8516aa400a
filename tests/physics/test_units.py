"""Results do not depend on the internal unit system (the numericalunits trick, see units.py).

Event counts are computed in subprocesses whose base units (MeV, cm, s, kg) are drawn at random
from the seed in CEVNS_RANDOM_UNITS; any formula that silently assumes a unit would move them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

SCRIPT = """
import json
from cevns.physics.units import MeV, cm
from cevns.rates import sm_spectrum
from cevns.experiment import ESS_DETECTORS
out = {n: [sm_spectrum(n).total_signal, sm_spectrum(n).total_background] for n in ESS_DETECTORS}
out["_base"] = [MeV, cm]
print(json.dumps(out))
"""


def _run(seed: str | None) -> dict:
    env = dict(os.environ)
    env.pop("CEVNS_RANDOM_UNITS", None)
    if seed is not None:
        env["CEVNS_RANDOM_UNITS"] = seed
    res = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(res.stdout)


def test_counts_independent_of_unit_system():
    ref = _run(None)
    for seed in ("1", "2"):
        other = _run(seed)
        assert other["_base"] != ref["_base"]  # the units really changed
        for name, (sig, bkg) in ref.items():
            if name.startswith("_"):
                continue
            assert other[name][0] == pytest.approx(sig, rel=1e-10)
            assert other[name][1] == pytest.approx(bkg, rel=1e-10)
