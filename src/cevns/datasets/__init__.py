"""Real measured data sets and their detector response.

Sub-packages: :mod:`cevns.datasets.coherent` (the public COHERENT data releases).
"""

from __future__ import annotations

from cevns.datasets.coherent import load_release, release_names

__all__ = ["load_release", "release_names"]
