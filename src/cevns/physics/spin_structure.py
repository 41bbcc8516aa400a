"""Nuclear spin-structure functions for axial and tensor responses (docs/physics.md#spin-structure-functions).

The interface is :class:`SpinStructure`: anything with a method
``structure(nucleus, momentum_transfer, isospin, multipole)`` returning S_ij^{T or L}(q) can be
passed where cevns needs spin responses (shell-model fits of Hoferichter–Menéndez–Schwenk, for
instance, can be plugged in this way).

The default :class:`HelmScaledSpinStructure` [A] is exact at q = 0 and scales with the Helm form
factor squared of the same nucleus:

    S₁₁^T(0) = (2J+1)(J+1)/(6πJ) (⟨S_p⟩ − ⟨S_n⟩)²
    S₀₀^T(0) = (2J+1)(J+1)/(6πJ) (⟨S_p⟩ + ⟨S_n⟩)²
    S₀₁^T(0) = 2 (2J+1)(J+1)/(6πJ) (⟨S_p⟩ + ⟨S_n⟩)(⟨S_p⟩ − ⟨S_n⟩)
    S_ij^L(0) = S_ij^T(0)/2,   S_ij^{T,L}(q) = S_ij^{T,L}(0) · F_Helm(q)².

For J = 0 every structure function is exactly zero. A J > 0 nucleus without tabulated ⟨S_p⟩, ⟨S_n⟩
is an error naming it (:meth:`cevns.physics.nuclei.Nucleus.require_spin_data`), never a silent zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cevns.errors import UnknownNameError
from cevns.physics.form_factors import helm_form_factor
from cevns.physics.nuclei import Nucleus

Isospin = Literal["00", "01", "11"]
Multipole = Literal["T", "L"]


class SpinStructure(Protocol):
    """Spin-structure functions S_ij^{T,L}(q) of a nucleus."""

    def structure(
        self, nucleus: Nucleus, momentum_transfer: ArrayLike, isospin: Isospin, multipole: Multipole
    ) -> NDArray[np.float64]:
        """Return S_ij^{multipole}(q) for isospin ij ∈ {"00", "01", "11"}."""
        ...


@dataclass(frozen=True)
class HelmScaledSpinStructure:
    """Default spin structure: zero-momentum normalisation × Helm(q)² (see module docstring).

    A frozen dataclass without fields: all instances are equal, so bases that hold one compare
    (and hash, as cache keys) by value. A spin structure of your own is part of a basis's cache
    key too: make it hashable by value (a frozen dataclass) to share cache entries.
    """

    def zero_momentum(self, nucleus: Nucleus, isospin: Isospin, multipole: Multipole) -> float:
        """S_ij^{T,L}(0) from ⟨S_p⟩, ⟨S_n⟩ and J."""
        if isospin not in ("00", "01", "11"):
            raise UnknownNameError("isospin channel", isospin, ["00", "01", "11"])
        if multipole not in ("T", "L"):
            raise UnknownNameError("multipole", multipole, ["T", "L"])
        if nucleus.spin == 0:
            return 0.0
        nucleus.require_spin_data("an axial or tensor response")
        if not nucleus.has_spin:
            return 0.0
        j = nucleus.spin
        norm = (2 * j + 1) * (j + 1) / (6.0 * math.pi * j)
        plus = nucleus.spin_proton + nucleus.spin_neutron
        minus = nucleus.spin_proton - nucleus.spin_neutron
        value = {"00": norm * plus**2, "01": 2.0 * norm * plus * minus, "11": norm * minus**2}[isospin]
        return value if multipole == "T" else 0.5 * value

    def structure(
        self, nucleus: Nucleus, momentum_transfer: ArrayLike, isospin: Isospin, multipole: Multipole
    ) -> NDArray[np.float64]:
        """S_ij^{T,L}(q) = S_ij^{T,L}(0) F(q)², F the Helm factor at the default radius."""
        s0 = self.zero_momentum(nucleus, isospin, multipole)
        q = np.asarray(momentum_transfer, dtype=float)
        if s0 == 0.0:
            return np.zeros_like(q)
        return s0 * helm_form_factor(q, nucleus.default_helm_rms_radius(), nucleus.helm_skin) ** 2


#: The spin structure used unless another is passed.
DEFAULT_SPIN_STRUCTURE = HelmScaledSpinStructure()
