"""The ``cevns`` command a subprocess test runs: the script installed beside the Python running
the tests (the environment under test, whatever ``PATH`` says), else ``python -m cevns``."""

from __future__ import annotations

import sys
from pathlib import Path

_SCRIPT = Path(sys.executable).with_name("cevns")

#: argv prefix of the installed command, e.g. ``[*CEVNS, "run", "f.toml"]``
CEVNS: list[str] = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "cevns"]
