"""Provenance records written beside every output: what produced these files.

Each record names the cevns version, the git revision when the package runs from a git checkout,
and a *source digest*: SHA-256 over the installed package's ``.py``, ``.toml`` and ``.mplstyle``
files (relative path and content, in sorted order). The digest identifies the code also after
``pip install .``, where there is no git revision; it is computed once per process, on first use.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import platform
import subprocess
from pathlib import Path

import numpy as np
import scipy

import cevns

#: file types that make up the package's behaviour (code, shipped analyses and presets, style)
SOURCE_SUFFIXES = (".py", ".toml", ".mplstyle")


def git_revision() -> str | None:
    """The git revision of the cevns source tree, if it is a git checkout."""
    root = Path(cevns.__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def source_digest(root: Path | None = None) -> str:
    """SHA-256 (hex) of the package sources under ``root`` (default: the installed package).

    Every file whose name ends in one of :data:`SOURCE_SUFFIXES` contributes its path relative
    to ``root`` and its bytes, in sorted path order; ``__pycache__`` is skipped. Two installs with
    the same sources have the same digest, whatever their location or file times.
    """
    if root is None:
        return _package_digest()
    return _digest(Path(root))


@functools.cache
def _package_digest() -> str:
    return _digest(Path(cevns.__file__).resolve().parent)


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    files = sorted(p for p in root.rglob("*")
                   if p.suffix in SOURCE_SUFFIXES and p.is_file() and "__pycache__" not in p.parts)
    for p in files:
        rel = p.relative_to(root).as_posix().encode()
        h.update(len(rel).to_bytes(4, "big") + rel)
        data = p.read_bytes()
        h.update(len(data).to_bytes(8, "big") + data)
    return h.hexdigest()


def provenance_record(**fields) -> dict:
    """Package versions, git revision, source digest, platform and time, plus the given fields."""
    from importlib.metadata import PackageNotFoundError, version

    try:  # the installed version, without importing matplotlib (a run without figures needs none)
        matplotlib_version = version("matplotlib")
    except PackageNotFoundError:
        matplotlib_version = None
    return {
        "cevns_version": cevns.__version__,
        "git_revision": git_revision(),
        "source_sha256": source_digest(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "matplotlib": matplotlib_version,
        "python": platform.python_version(),
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        **fields,
    }
