"""cevns — coherent elastic neutrino-nucleus scattering at pion-decay-at-rest sources."""

from __future__ import annotations

__version__ = "0.1.0"
