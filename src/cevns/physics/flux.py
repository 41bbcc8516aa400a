"""Pion-decay-at-rest neutrino spectra (docs/physics.md#flux).

π⁺ → μ⁺ ν_μ at rest gives a monochromatic ν_μ line at E_π = (m_π² − m_μ²)/(2 m_π) = 29.79 MeV
("prompt"); μ⁺ → e⁺ ν_e ν̄_μ at rest gives the Michel spectra of ν_e and ν̄_μ up to m_μ/2
("delayed"). Each spectrum here is a probability density in E normalised to 1; the source
normalisation (neutrinos per flavour per POT, POT, baseline) lives in :mod:`cevns.experiment`.

The Michel spectra are polynomials in x = E/m_μ, so their integrals against polynomials in E and
1/E are done exactly by low-order Gauss–Legendre rules; the prompt line is a Dirac delta and is
always handled exactly (never smeared into a narrow peak).
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cevns.errors import UnknownNameError
from cevns.physics.constants import E_MICHEL_MAX, E_PROMPT, M_MUON

#: Neutrino flavours of a π⁺ DAR source, in the order used in every array of cevns.
Flavour = Literal["numu", "nue", "numubar"]
FLAVOURS: tuple[str, ...] = get_args(Flavour)
#: Human-readable labels.
FLAVOUR_LABELS = {"numu": "prompt ν_μ", "nue": "delayed ν_e", "numubar": "delayed ν̄_μ"}
#: Which flavours are monochromatic lines (energy) rather than continuous spectra.
LINE_ENERGY = {"numu": E_PROMPT}


def check_flavour(flavour: str) -> str:
    """Return ``flavour`` if it is one of :data:`FLAVOURS`, else raise with the valid names."""
    if flavour not in FLAVOURS:
        raise UnknownNameError("flavour", flavour, FLAVOURS)
    return flavour


def michel_spectrum_nue(neutrino_energy: ArrayLike) -> NDArray[np.float64]:
    """ν_e spectrum of μ⁺ decay at rest, (192/m_μ) x² (1/2 − x), x = E/m_μ ∈ [0, 1/2]; ∫ = 1."""
    x = np.asarray(neutrino_energy, dtype=float) / M_MUON
    inside = (x >= 0) & (x <= 0.5)
    return np.where(inside, (192.0 / M_MUON) * x * x * (0.5 - x), 0.0)


def michel_spectrum_numubar(neutrino_energy: ArrayLike) -> NDArray[np.float64]:
    """ν̄_μ spectrum of μ⁺ decay at rest, (64/m_μ) x² (3/4 − x), x = E/m_μ ∈ [0, 1/2]; ∫ = 1."""
    x = np.asarray(neutrino_energy, dtype=float) / M_MUON
    inside = (x >= 0) & (x <= 0.5)
    return np.where(inside, (64.0 / M_MUON) * x * x * (0.75 - x), 0.0)


CONTINUOUS_SPECTRA = {"nue": michel_spectrum_nue, "numubar": michel_spectrum_numubar}


def spectrum_support(flavour: str) -> tuple[float, float]:
    """(E_lo, E_hi) of a flavour's spectrum; a line has E_lo = E_hi = its energy."""
    check_flavour(flavour)
    if flavour in LINE_ENERGY:
        return LINE_ENERGY[flavour], LINE_ENERGY[flavour]
    return 0.0, E_MICHEL_MAX


def pion_dar_spectrum(flavour: str, neutrino_energy: ArrayLike) -> NDArray[np.float64]:
    """Normalised continuous spectrum of ``flavour`` (zero for the prompt line: it is a delta)."""
    check_flavour(flavour)
    if flavour in LINE_ENERGY:
        return np.zeros_like(np.asarray(neutrino_energy, dtype=float))
    return CONTINUOUS_SPECTRA[flavour](neutrino_energy)
