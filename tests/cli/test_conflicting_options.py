"""Options that contradict each other, or an address dask cannot use, are usage errors (exit 2)
of the installed ``cevns`` before any work starts — not a silent choice of one of them, and not an
internal error from inside dask once the run has begun."""

from __future__ import annotations

import subprocess

import pytest
from installed import CEVNS  # the environment's installed command


@pytest.mark.parametrize(("args", "message"), [
    (["--executor", "serial", "--scheduler", "tcp://127.0.0.1:8786"], "contradicts --executor"),
    (["--executor", "processes", "--scheduler", "tcp://127.0.0.1:8786"], "contradicts --executor"),
    (["--scheduler", "tcp://localhost"], "is not a scheduler address"),
    (["--scheduler", "notanaddress"], "is not a scheduler address"),
    (["--scheduler", "tcp://127.0.0.1:8786", "--workers", "2"], "has its own workers"),
    (["--executor", "serial", "--workers", "2"], "--workers applies to"),
    (["--pdf", "--no-figures"], "give one of them"),
])
@pytest.mark.parametrize("command", [["reproduce", "--only", "table4"], ["run", "missing.toml"]])
def test_conflicting_options_are_usage_errors(tmp_path, command, args, message):
    proc = subprocess.run([*CEVNS, *command, *args, "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()  # refused before anything was written
