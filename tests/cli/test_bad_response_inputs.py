"""The installed ``cevns`` on bad detector ``response`` tables (docs/response.md): exit 2, one clear
message naming the field and the valid choices, no traceback, nothing written."""

from __future__ import annotations

import os
import subprocess

import pytest
from installed import CEVNS  # the environment's installed command

HEAD = """schema_version = 1
[detector.Mine]
formula = "Ge"
mass_kg = 10.0
[detector.Mine.response]
threshold = { value = 1.5, unit = "keVee" }
"""

CASES = {
    "unknown-quenching-model": (
        'quenching = { model = "lindhart", k = 0.16 }\nbins = { unit = "keVee", width = 1, stop = 9 }\n',
        ("detector.Mine.response.quenching", "'lindhart'", "'lindhard'", "'tabulated'")),
    "non-monotone-table": (
        'quenching = { model = "tabulated", recoil_keVnr = [1, 5, 10], '
        'electron_equivalent_keVee = [0.2, 1.5, 1.0] }\nbins = { unit = "keVee", width = 1, stop = 9 }\n',
        ("detector.Mine.response.quenching.tabulated", "not monotone")),
    # third audit: accepted before, with a doubled or meaningless signal, or a MemoryError
    "efficiency-above-one": (
        'quenching = { model = "lindhard", k = 0.16 }\nefficiency = { model = "logistic", '
        'unit = "keVee", k = 5.0, x0 = 1.2, offset = 0.5 }\n'
        'bins = { unit = "keVee", width = 1, stop = 9 }\n',
        ("detector.Mine.response.efficiency.logistic", "a + offset = 1.5", "cannot exceed 1")),
    "quenching-factor-above-one": (
        'quenching = { model = "linear", a = 2.0 }\nbins = { unit = "keVee", width = 1, stop = 9 }\n',
        ("detector Mine", "quenching factor above 1", "response.quenching")),
    "fine-step-too-small": (
        'quenching = { model = "lindhard", k = 0.16 }\nsmearing = { model = "gaussian", '
        'noise = 0.1, fine_step = 1e-9 }\nefficiency = { model = "logistic", unit = "keVee", '
        'k = 5.0, x0 = 1.2 }\nbins = { unit = "keVee", width = 1, stop = 9 }\n',
        ("smearing.fine_step = 1e-09", "MAX_FINE_BINS")),
    "threshold-above-signal": (
        'quenching = { model = "lindhard", k = 0.16 }\nbins = { unit = "keVee", width = 1, stop = 90 }\n',
        ()),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_response_table(case, tmp_path):
    body, names = CASES[case]
    text = HEAD + body
    if case == "threshold-above-signal":
        text = text.replace("value = 1.5", "value = 40")
        names = ("Mine", "40 keVee", "above the largest possible signal")
    (tmp_path / "p.toml").write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "CEVNS_PRESETS"}
    proc = subprocess.run([*CEVNS, "spectra", "--presets", "p.toml", "-d", "Mine"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("error:") + \
        proc.stderr.count("Error:") == 1, proc.stderr
    for name in names:
        assert name in proc.stderr, (name, proc.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.toml"]
