"""Rates layer: binned expected counts per detector, target and flavour.

- :func:`basis_spectra` — counts of each basis term of a cross-section model (cached by value);
  combine them with coefficients for any number of strength-parameter points.
- :func:`sm_spectrum` — the Standard-Model :class:`Spectrum` of a detector (signal per flavour and
  target, background), the object behind ``cevns spectra`` and Fig. 1.
"""

from cevns.rates.engine import (
    BasisSpectra,
    basis_spectra,
    clear_cache,
    compute_basis_spectra,
    differential_rate_per_target,
    kinematic_breakpoints,
)
from cevns.rates.spectrum import Spectrum, sm_spectrum

__all__ = ["BasisSpectra", "Spectrum", "basis_spectra", "clear_cache", "compute_basis_spectra",
           "differential_rate_per_target", "kinematic_breakpoints", "sm_spectrum"]
