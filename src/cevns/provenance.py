"""Provenance records written beside every output: what produced these files."""

from __future__ import annotations

import datetime as _dt
import platform
import subprocess
from pathlib import Path

import numpy as np
import scipy

import cevns


def git_revision() -> str | None:
    """The git revision of the cevns source tree, if it is a git checkout."""
    root = Path(cevns.__file__).resolve().parents[2]
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def provenance_record(**fields) -> dict:
    """Package versions, git revision, platform and time, plus the given fields."""
    return {
        "cevns_version": cevns.__version__,
        "git_revision": git_revision(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "python": platform.python_version(),
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        **fields,
    }
