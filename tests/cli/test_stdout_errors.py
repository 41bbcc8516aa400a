"""A failed write to standard output names stdout (``cevns info > /dev/full``: a full disk under a
redirection), with status 1 and no traceback; a failed write to a named file still names the file."""

from __future__ import annotations

import os
import subprocess

import pytest
from installed import CEVNS  # the environment's installed command

pytestmark = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")


@pytest.mark.parametrize("args", [("info",), ("spectra", "-d", "CsI"), ("--help",)])
def test_a_full_stdout_is_named(args):
    with open("/dev/full", "w") as full:
        proc = subprocess.run([*CEVNS, *args], stdout=full, stderr=subprocess.PIPE, text=True,
                              timeout=120)
    assert proc.returncode == 1
    assert "cannot write the output to stdout: No space left on device" in proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr


def test_a_full_file_is_named_not_stdout(tmp_path):
    proc = subprocess.run([*CEVNS, "spectra", "-d", "CsI", "--csv", "/dev/full"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode != 0
    assert "/dev/full" in proc.stderr and "stdout" not in proc.stderr
