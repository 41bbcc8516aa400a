"""The physics ↔ engine protocol: the three things the rate engine consumes from physics.

An expected count is (paper Eqs. 26–28; docs/architecture.md#strength-and-shape)

    N_i = Σ_α Σ_k n_k Φ_α ∫dT R_i(T) ∫dE φ_α(E) Σ_j c_j(θ) b_j(E, T; φ),

and the engine needs exactly three kinds of object to evaluate it, all defined here as
:class:`typing.Protocol` classes, so that anything with the right attributes works (no base class
to inherit, no registration):

:class:`CrossSectionBasis`
    the basis terms b_j(E, T) of a model at fixed *shape* parameters φ (mediator mass, sterile mass,
    Δm², neutron radius). Implementations: :class:`cevns.physics.basis.SMBasis`,
    :class:`cevns.physics.ngi.NGIBasis`, the dipole, oscillation, non-unitarity and up-scattering
    bases. Consumed by :func:`cevns.rates.compute_basis_spectra`.
:class:`CoefficientModel`
    the coefficient vector c_j(θ) at *strength* parameters θ (couplings, sin²θ_W, moments, mixings),
    one row per basis term. Implementations: every :class:`cevns.scenarios.base.Scenario`
    (``coefficients(strength)``). The contraction Σ_j c_j B_j of the integrated terms B_j is
    :meth:`cevns.rates.BasisSpectra.combine`. :func:`check_coefficients` is the one-to-one check of
    rows against term names.
:class:`NeutrinoFlux`
    the flux per flavour: the run-integrated fluence Φ_α (number per area) and the normalised
    energy distribution φ_α(E) of each flavour, as lines (a prompt ν_μ at 29.79 MeV) and a
    continuous density (the Michel ν_e and ν̄_μ). Implementation:
    :class:`PionDecayAtRestFlux` (the π-DAR spectra of :mod:`cevns.physics.flux` scaled by
    :meth:`cevns.experiment.Source.flux_per_flavour`).

Units are the internal units of :mod:`cevns.physics.units` throughout: energies in internal
energy, cross-section terms in area/energy, fluences in 1/area.

This module sits at the bottom of ``physics`` (it imports only :mod:`cevns.physics.nuclei` for
typing and :mod:`cevns.physics.flux` for the π-DAR implementation), so every layer above —
``rates``, ``scenarios``, ``fits`` — can type against it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cevns.errors import ConfigError
from cevns.physics.flux import (
    CONTINUOUS_SPECTRA,
    FLAVOURS,
    LINE_ENERGY,
    check_flavour,
    spectrum_support,
)
from cevns.physics.nuclei import Nucleus


@runtime_checkable
class CrossSectionBasis(Protocol):
    """A cross section decomposed into basis terms at fixed shape parameters.

    Attributes
    ----------
    names : tuple of str
        Basis-term names, one per row of :meth:`terms`.
    sterile_mass : float
        Mass m₄ of the outgoing neutral lepton (0 for elastic scattering); it fixes the kinematics
        E_min(T, m₄) and the recoil range the engine integrates over.

    Optional attributes the engine reads with ``getattr``: ``energy_nodes`` (the Gauss–Legendre
    order in E for rapidly oscillating integrands), ``flavours`` (the flavours for which the
    terms are non-zero) and ``flavour_blind`` (True if the terms do not depend on the flavour:
    the engine then evaluates them once for the flavours that share E nodes). A basis is part
    of cache keys: make it immutable and hashable by value (a frozen dataclass).
    """

    names: tuple[str, ...]
    sterile_mass: float

    def terms(
        self, nucleus: Nucleus, flavour: str, neutrino_energy: ArrayLike, recoil_energy: ArrayLike
    ) -> NDArray[np.float64]:
        """b_j(E, T), shape ``(len(names), *broadcast(E, T).shape)``, area/energy, zero outside
        the kinematically allowed region."""
        ...


@runtime_checkable
class CoefficientModel(Protocol):
    """Coefficients c_j(θ) of the basis terms at strength parameters θ.

    ``coefficients(strength)`` takes a mapping of strength-parameter names to arrays (broadcast
    against each other) and returns shape ``(n_terms, *broadcast shape)`` — or
    ``(n_terms, n_flavours, *shape)`` for flavour-dependent coefficients — with row j multiplying
    the basis term ``names[j]`` of the matching :class:`CrossSectionBasis`.
    """

    def coefficients(self, strength: Mapping[str, ArrayLike]) -> NDArray[np.float64]:
        """c_j(θ), one row per basis term."""
        ...


@runtime_checkable
class NeutrinoFlux(Protocol):
    """The neutrino flux per flavour that the engine folds with the basis terms.

    ``flavours``: the flavour names, in the order of every flavour axis.
    ``fluence(flavour)``: run-integrated number of neutrinos per area of that flavour (Φ_α).
    ``line_energy(flavour)``: the energy of a monochromatic flavour, or ``None`` for a
    continuous one; a line carries the whole fluence of its flavour.
    ``density(flavour, E)``: the normalised continuous distribution φ_α(E) (per energy,
    ∫ φ_α dE = 1; zero for a line).
    ``support(flavour)``: (E_lo, E_hi) of the distribution (E_lo = E_hi for a line).
    """

    flavours: tuple[str, ...]

    def fluence(self, flavour: str) -> float:
        """Φ_α in 1/area."""
        ...

    def line_energy(self, flavour: str) -> float | None:
        """Energy of a monochromatic flavour, else None."""
        ...

    def density(self, flavour: str, neutrino_energy: ArrayLike) -> NDArray[np.float64]:
        """φ_α(E) per unit energy (normalised to 1)."""
        ...

    def support(self, flavour: str) -> tuple[float, float]:
        """(E_lo, E_hi)."""
        ...


@dataclass(frozen=True)
class PionDecayAtRestFlux:
    """π⁺ decay-at-rest flux: equal fluence Φ₀ per flavour, prompt ν_μ line, Michel ν_e and ν̄_μ.

    Parameters
    ----------
    fluence_per_flavour : float
        Φ₀ in 1/area, e.g. ``source.flux_per_flavour()`` of a :class:`cevns.experiment.Source`.
    """

    fluence_per_flavour: float
    flavours: tuple[str, ...] = FLAVOURS

    def __post_init__(self) -> None:
        phi = self.fluence_per_flavour
        if not (np.isfinite(phi) and phi >= 0):
            raise ConfigError(f"fluence_per_flavour must be finite and ≥ 0, got {phi!r}")

    def fluence(self, flavour: str) -> float:
        check_flavour(flavour, FLAVOURS, user="the π-DAR flux")
        return float(self.fluence_per_flavour)

    def line_energy(self, flavour: str) -> float | None:
        check_flavour(flavour, FLAVOURS, user="the π-DAR flux")
        return LINE_ENERGY.get(flavour)

    def density(self, flavour: str, neutrino_energy: ArrayLike) -> NDArray[np.float64]:
        check_flavour(flavour, FLAVOURS, user="the π-DAR flux")
        e = np.asarray(neutrino_energy, dtype=float)
        if flavour in LINE_ENERGY:
            return np.zeros_like(e)
        return CONTINUOUS_SPECTRA[flavour](e)

    def support(self, flavour: str) -> tuple[float, float]:
        return spectrum_support(flavour)


def check_coefficients(
    names: tuple[str, ...], coefficients: ArrayLike, *, where: str = "coefficients"
) -> NDArray[np.float64]:
    """``coefficients`` as an array if its first axis has one row per basis term, else ConfigError.

    The error names ``where`` (a scenario, a plug-in) and both counts: a model whose coefficients
    and basis terms do not match is the most likely slip of a plug-in.
    """
    c = np.asarray(coefficients, dtype=float)
    if c.ndim == 0 or c.shape[0] != len(names):
        rows = "a scalar" if c.ndim == 0 else f"{c.shape[0]} rows"
        raise ConfigError(f"{where}: {rows} of coefficients for {len(names)} basis terms "
                          f"{', '.join(names)}; give one row per basis term, in that order")
    if not np.all(np.isfinite(c)):
        raise ConfigError(f"{where}: coefficients must be finite, got a non-finite value")
    return c


__all__ = [
    "CrossSectionBasis", "CoefficientModel", "NeutrinoFlux", "PionDecayAtRestFlux",
    "check_coefficients",
]
