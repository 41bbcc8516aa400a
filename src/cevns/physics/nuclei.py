"""Target nuclei: charges, masses, spins, radii (paper Table 1; docs/physics.md#nuclei).

The numbers live in ``cevns/data/nuclei.toml`` with their sources; this module only reads them
(lazily, once) and validates them.

>>> from cevns.physics.nuclei import get_nucleus, element_composition
>>> cs = get_nucleus("Cs133")
>>> cs.Z, cs.N, round(cs.mass / 931.494, 3)  # doctest: +SKIP
(55, 78, 132.905)
>>> [(n.name, round(f, 3)) for n, f in element_composition("Xe")]
[('Xe_nat', 1.0)]

Composition modes of an element (:data:`CompositionMode`):

``"natural-effective"`` (default, docs/physics.md#nuclei [A])
    one effective nucleus with the standard atomic weight as mass, N = A_nat − Z (non-integer for
    Xe and Ge) and J = 0 for Xe and Ge, as the paper treats them. The paper's Table 1 takes atomic
    masses from the NIST handbook (standard atomic weights); the T_max values of docs/physics.md#event-rates
    are computed with them.
``"dominant-isotope"``
    the most abundant isotope alone (¹³²Xe, ⁷⁴Ge, ²⁸Si, ⁴⁰Ar, ¹²C); Xe with N = 78 raises the
    Xe rate by ≈ 1.9 %.
``"isotopes"``
    every stable isotope with its natural abundance.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal, get_args

from cevns.errors import ConfigError, DataError, UnknownNameError
from cevns.physics.constants import AMU
from cevns.physics.units import fm

CompositionMode = Literal["natural-effective", "dominant-isotope", "isotopes"]


@dataclass(frozen=True)
class Nucleus:
    """A target nucleus (or a natural-abundance effective nucleus).

    Attributes
    ----------
    name : str
        Key in the nuclei table, e.g. ``"Cs133"`` or ``"Xe_nat"``.
    Z : int
        Proton number.
    N : float
        Neutron number; non-integer for natural-effective nuclei.
    atomic_mass_u : float
        Atomic mass in unified atomic mass units.
    spin : float
        Ground-state angular momentum J.
    proton_rms_radius : float
        Proton (charge) rms radius R_p, internal length units.
    spin_proton, spin_neutron : float
        Spin expectation values ⟨S_p⟩, ⟨S_n⟩ (zero for J = 0 or where not tabulated).
    source : str
        Citation keys of the numbers (see ``nuclei.toml``).
    """

    name: str
    Z: int
    N: float
    atomic_mass_u: float
    spin: float
    proton_rms_radius: float
    spin_proton: float = 0.0
    spin_neutron: float = 0.0
    source: str = ""

    @property
    def A(self) -> float:
        """Mass number Z + N (non-integer for natural-effective nuclei)."""
        return self.Z + self.N

    @property
    def mass(self) -> float:
        """Nuclear mass m_A = atomic mass × u (electron masses neglected; < 10⁻⁴ effect)."""
        return self.atomic_mass_u * AMU

    @property
    def has_spin(self) -> bool:
        """True if the nucleus has J > 0 and non-zero spin expectation values."""
        return self.spin > 0 and (self.spin_proton != 0.0 or self.spin_neutron != 0.0)

    def default_helm_rms_radius(self) -> float:
        """rms radius of the default Helm form factor, R² = (3/5) R₀² + 3 s², R₀ = 1.2 A^{1/3} fm.

        docs/physics.md#sm-cevns [A]: box radius R₀ = 1.2 A^{1/3} fm with the Helm skin s in force
        (:func:`cevns.physics.form_factors.helm_skin_thickness`, 1.0 fm by default).
        """
        from cevns.physics.form_factors import rms_radius_from_box_radius

        return rms_radius_from_box_radius(1.2 * fm * self.A ** (1.0 / 3.0))


@cache
def _table() -> dict:
    text = resources.files("cevns.data").joinpath("nuclei.toml").read_text(encoding="utf-8")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # pragma: no cover - shipped file
        raise DataError(f"nuclei.toml is not valid TOML: {exc}") from exc


_NUCLEUS_KEYS = {"Z", "N", "atomic_mass_u", "spin", "proton_rms_radius_fm", "spin_proton",
                 "spin_neutron", "source"}


@cache
def get_nucleus(name: str) -> Nucleus:
    """Return the nucleus called ``name`` (e.g. ``"Cs133"``, ``"Xe_nat"``).

    Raises
    ------
    UnknownNameError
        If the name is not in the nuclei table; the message lists the valid names.
    """
    table = _table()["nucleus"]
    if name not in table:
        raise UnknownNameError("nucleus", name, table)
    entry = table[name]
    unknown = set(entry) - _NUCLEUS_KEYS
    if unknown:
        raise DataError(f"nuclei.toml: nucleus.{name} has unknown keys {sorted(unknown)}")
    return Nucleus(
        name=name,
        Z=int(entry["Z"]),
        N=float(entry["N"]),
        atomic_mass_u=float(entry["atomic_mass_u"]),
        spin=float(entry["spin"]),
        proton_rms_radius=float(entry["proton_rms_radius_fm"]) * fm,
        spin_proton=float(entry.get("spin_proton", 0.0)),
        spin_neutron=float(entry.get("spin_neutron", 0.0)),
        source=str(entry.get("source", "")),
    )


def nucleus_names() -> list[str]:
    """All nucleus names in the table."""
    return sorted(_table()["nucleus"])


def element_names() -> list[str]:
    """All chemical elements that detectors may contain."""
    return sorted(_table()["element"])


def element_composition(
    element: str, mode: CompositionMode = "natural-effective"
) -> list[tuple[Nucleus, float]]:
    """Nuclei that make up one atom of ``element``, with mole fractions summing to 1.

    Parameters
    ----------
    element : str
        Chemical symbol, e.g. ``"Xe"``.
    mode : {"natural-effective", "dominant-isotope", "isotopes"}
        See the module docstring.
    """
    elements = _table()["element"]
    if element not in elements:
        raise UnknownNameError("element", element, elements)
    if mode not in get_args(CompositionMode):
        raise UnknownNameError("composition mode", mode, get_args(CompositionMode))
    entry = elements[element]
    if mode == "dominant-isotope":
        return [(get_nucleus(entry["dominant_isotope"]), 1.0)]
    if mode == "natural-effective":
        return [(get_nucleus(entry["natural_effective"]), 1.0)]
    total = math.fsum(entry["isotopes"].values())
    if not total > 0:
        raise ConfigError(f"element {element}: isotope abundances sum to {total}")
    return [(get_nucleus(name), frac / total) for name, frac in entry["isotopes"].items()]
