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
    Xe rate by 1.2 %.
``"isotopes"``
    every stable isotope with its natural abundance.
"""

from __future__ import annotations

import csv
import math
import numbers
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import Literal, get_args

from cevns.errors import ConfigError, DataError, UnknownNameError, finite_number
from cevns.integrity import read_packaged_text
from cevns.physics.constants import AMU
from cevns.physics.form_factors import DEFAULT_HELM_SKIN, check_helm_skin, rms_radius_from_box_radius
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
        Citation keys of the numbers (see ``nuclei.toml``, ``isotopes.csv``,
        ``spin_expectation.toml``).
    spin_data : bool
        True if ⟨S_p⟩, ⟨S_n⟩ are tabulated (always true for J = 0). An axial or tensor response of
        a J > 0 nucleus without them is an error (:meth:`require_spin_data`), never a silent zero.
    parity : str
        Ground-state parity, ``"+"``, ``"-"`` or ``""`` (unknown, or an effective nucleus).
    helm_skin : float
        Helm surface thickness s of this nucleus's form factors (internal length units; default
        1.0 fm, :data:`cevns.physics.form_factors.DEFAULT_HELM_SKIN`). Part of the nucleus's value
        (equality, hash), so every cache keyed on the nucleus or its detector keys on it.
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
    spin_data: bool = True
    parity: str = ""
    helm_skin: float = DEFAULT_HELM_SKIN

    def __post_init__(self) -> None:
        object.__setattr__(self, "helm_skin", check_helm_skin(self.helm_skin))
        self._check_numbers()

    def _check_numbers(self) -> None:
        """A nucleus built by hand (or by :func:`dataclasses.replace`) obeys what the tables do:
        Z ≥ 0, N ≥ 0 (Z = 0, a lone neutron, is a test device), a positive mass and radius,
        J ≥ 0, all finite, and spin expectation values that its nucleons can carry,
        ``|⟨S_p⟩| ≤ Z/2`` and ``|⟨S_n⟩| ≤ N/2`` (each nucleon's spin projection is at most ½).
        Anything else is a :class:`ConfigError` naming the field."""
        where = f"nucleus {self.name}"
        for field, value, ok, need in (
                ("Z", self.Z, lambda v: v >= 0, "≥ 0"),
                ("N", self.N, lambda v: v >= 0, "≥ 0"),
                ("atomic_mass_u", self.atomic_mass_u, lambda v: v > 0, "> 0"),
                ("proton_rms_radius", self.proton_rms_radius, lambda v: v > 0, "> 0"),
                ("spin", self.spin, lambda v: v >= 0, "≥ 0")):
            if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                    or not (math.isfinite(value) and ok(value)):
                raise ConfigError(f"{where}: {field} must be a finite number {need}, got {value!r}")
        for field, value, count, what in (("spin_proton", self.spin_proton, self.Z, "Z"),
                                          ("spin_neutron", self.spin_neutron, self.N, "N")):
            if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                    or not math.isfinite(value):
                raise ConfigError(f"{where}: {field} must be a finite number, got {value!r}")
            if abs(value) > count / 2 + 1e-12:
                raise ConfigError(f"{where}: {field} = {value:g} is above {what}/2 = {count / 2:g}, "
                                  f"the most {count:g} nucleons of spin ½ can carry")

    def with_helm_skin(self, skin: float) -> Nucleus:
        """This nucleus with Helm surface thickness ``skin`` (internal length units)."""
        return self if skin == self.helm_skin else replace(self, helm_skin=float(skin))

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

    def require_spin_data(self, purpose: str = "an axial or tensor response") -> None:
        """Raise :class:`ConfigError` if J > 0 but ⟨S_p⟩, ⟨S_n⟩ are not tabulated for this nucleus."""
        if self.spin > 0 and not self.spin_data:
            raise ConfigError(
                f"nucleus {self.name} has J = {self.spin:g} but no tabulated spin expectation values "
                f"<S_p>, <S_n>, needed for {purpose}; add them to the detector's nuclear data, or "
                "use composition = 'natural-effective' (spin-0 effective nucleus)")

    def default_helm_rms_radius(self) -> float:
        """rms radius of the default Helm form factor, R² = (3/5) R₀² + 3 s², R₀ = 1.2 A^{1/3} fm.

        Box radius R₀ = 1.2 A^{1/3} fm (Lewin & Smith 1996) with this nucleus's Helm skin
        s = :attr:`helm_skin`.
        """
        return rms_radius_from_box_radius(1.2 * fm * self.A ** (1.0 / 3.0), self.helm_skin)


def check_nucleus(nucleus: object, name: str = "nucleus") -> Nucleus:
    """``nucleus`` if it is a :class:`Nucleus`; else a :class:`ConfigError` naming ``name`` (a
    nucleus name such as ``"Cs133"`` is told to go through :func:`get_nucleus`)."""
    if isinstance(nucleus, Nucleus):
        return nucleus
    if isinstance(nucleus, str):
        raise ConfigError(f"{name} must be a Nucleus, got the name {nucleus!r}; pass "
                          f"get_nucleus({nucleus!r})")
    raise ConfigError(f"{name} must be a Nucleus (e.g. get_nucleus('Cs133')), got {nucleus!r}")


# --- shipped tables (constants of the package: read once, checked against SHA256SUMS) -----------
def _read_toml(name: str) -> dict:
    text = read_packaged_text(f"data/{name}")  # checked against its SHA-256 (cevns.integrity)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # pragma: no cover - shipped file
        raise DataError(f"{name} is not valid TOML: {exc}") from exc


@cache
def _table() -> dict:
    return _read_toml("nuclei.toml")


@cache
def _spins() -> dict:
    return _read_toml("spin_expectation.toml")["nucleus"]


@dataclass(frozen=True)
class _Isotope:
    symbol: str
    Z: int
    A: int
    atomic_mass_u: float
    abundance: float  # mole fraction in the natural element, 0 if not natural
    spin: float | None
    parity: str
    half_life_s: float | None  # None: stable


@cache
def _isotopes() -> dict[str, _Isotope]:
    """Isotope table ``isotopes.csv`` (generated by ``scripts/make_isotope_table.py``)."""
    text = read_packaged_text("data/isotopes.csv")  # checked against its SHA-256
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    out = {}
    for r in rows:
        try:
            iso = _Isotope(r["symbol"], int(r["Z"]), int(r["A"]), float(r["atomic_mass_u"]),
                           float(r["abundance"] or 0.0),
                           float(r["spin"]) if r["spin"] else None, r["parity"],
                           float(r["half_life_s"]) if r["half_life_s"] else None)
        except (KeyError, ValueError) as exc:  # pragma: no cover - shipped file
            raise DataError(f"isotopes.csv: bad row {r}: {exc}") from exc
        out[f"{iso.symbol}{iso.A}"] = iso
    return out


@cache
def _natural_isotopes() -> dict[str, list[_Isotope]]:
    by_element: dict[str, list[_Isotope]] = {}
    for iso in _isotopes().values():
        if iso.abundance > 0:
            by_element.setdefault(iso.symbol, []).append(iso)
    return by_element


_NUCLEUS_KEYS = {"Z", "N", "atomic_mass_u", "spin", "proton_rms_radius_fm", "spin_proton",
                 "spin_neutron", "source"}
_ISOTOPE_NAME = re.compile(r"^([A-Z][a-z]?)(\d{1,3})$")

#: Lewin & Smith, Astropart. Phys. 6, 87 (1996), Sec. 4: two-parameter Fermi charge distribution
#: with c = 1.23 A^{1/3} − 0.60 fm and a = 0.52 fm, whose rms radius is √((3/5)c² + (7/5)π²a²).
LEWIN_SMITH_C_SLOPE_FM = 1.23
LEWIN_SMITH_C_OFFSET_FM = -0.60
LEWIN_SMITH_DIFFUSENESS_FM = 0.52


def estimated_charge_radius_fm(mass_number: float) -> float:
    """rms charge radius (fm) estimated from A alone with the Lewin–Smith parametrisation.

    Used for isotopes without a tabulated measured radius in ``nuclei.toml``. Against the
    Angeli–Marinova (2013) radii of the shipped nuclei it is within 0.1 % (¹³³Cs), 1 % (⁴⁰Ar),
    2 % (¹⁹F) and 5 % (¹²C, the worst case). ``mass_number`` must be a finite number ≥ 1
    (else :class:`ConfigError`).
    """
    finite_number(mass_number, "mass_number", "a finite number ≥ 1", lambda a: a >= 1)
    c = LEWIN_SMITH_C_SLOPE_FM * mass_number ** (1.0 / 3.0) + LEWIN_SMITH_C_OFFSET_FM
    return math.sqrt(0.6 * c**2 + 1.4 * math.pi**2 * LEWIN_SMITH_DIFFUSENESS_FM**2)


def _with_spin_table(name: str, nucleus: Nucleus) -> Nucleus:
    """Fill ⟨S_p⟩, ⟨S_n⟩ from ``spin_expectation.toml`` where the nucleus has J > 0 and none."""
    if nucleus.spin == 0 or nucleus.spin_data:
        return nucleus
    entry = _spins().get(name)
    if entry is None:
        return nucleus
    return replace(nucleus, spin_proton=float(entry["spin_proton"]),
                   spin_neutron=float(entry["spin_neutron"]), spin_data=True,
                   source=f"{nucleus.source}; spinexp ({entry['source']})")


def _curated(name: str) -> Nucleus:
    entry = _table()["nucleus"][name]
    unknown = set(entry) - _NUCLEUS_KEYS
    if unknown:
        raise DataError(f"nuclei.toml: nucleus.{name} has unknown keys {sorted(unknown)}")
    has_s = "spin_proton" in entry or "spin_neutron" in entry
    nucleus = Nucleus(
        name=name,
        Z=int(entry["Z"]),
        N=float(entry["N"]),
        atomic_mass_u=float(entry["atomic_mass_u"]),
        spin=float(entry["spin"]),
        proton_rms_radius=float(entry["proton_rms_radius_fm"]) * fm,
        spin_proton=float(entry.get("spin_proton", 0.0)),
        spin_neutron=float(entry.get("spin_neutron", 0.0)),
        source=str(entry.get("source", "")),
        spin_data=has_s or float(entry["spin"]) == 0.0,
        parity=_isotopes()[name].parity if name in _isotopes() else "",
    )
    return _with_spin_table(name, nucleus)


def _from_isotope_table(name: str, iso: _Isotope) -> Nucleus:
    if iso.spin is None:  # pragma: no cover - every kept isotope has a spin in the shipped table
        raise DataError(f"isotopes.csv: {name} has no ground-state spin")
    nucleus = Nucleus(
        name=name, Z=iso.Z, N=float(iso.A - iso.Z), atomic_mass_u=iso.atomic_mass_u,
        spin=iso.spin, proton_rms_radius=estimated_charge_radius_fm(iso.A) * fm,
        source="isotopes.csv (CIAAW mass, NUBASE spin); radius estimated (Lewin-Smith 1996)",
        spin_data=iso.spin == 0.0, parity=iso.parity)
    return _with_spin_table(name, nucleus)


def _natural_effective(element: str) -> Nucleus:
    """Spin-0 effective nucleus with the natural-abundance mean mass (like Xe_nat, Ge_nat)."""
    isos = _natural_isotopes()[element]
    weight = math.fsum(i.abundance * i.atomic_mass_u for i in isos) / math.fsum(
        i.abundance for i in isos)
    a_mean = math.fsum(i.abundance * i.A for i in isos) / math.fsum(i.abundance for i in isos)
    z = isos[0].Z
    return Nucleus(
        name=f"{element}_nat", Z=z, N=weight - z, atomic_mass_u=weight, spin=0.0,
        proton_rms_radius=estimated_charge_radius_fm(a_mean) * fm,
        source="isotopes.csv abundance-weighted mass; J = 0 effective nucleus; radius estimated "
               "(Lewin-Smith 1996)")


@cache
def get_nucleus(name: str) -> Nucleus:
    """Return the nucleus called ``name``.

    Names are ``"Cs133"``-style isotope names (any stable or long-lived isotope of the shipped
    isotope table) or ``"Xe_nat"``-style natural-effective nuclei of any natural element. The
    curated entries of ``nuclei.toml`` (measured charge radii, the paper's choices) take precedence
    over the generated table; spin expectation values come from ``spin_expectation.toml``.

    Raises
    ------
    UnknownNameError
        If the name is neither; the message lists the curated names.
    """
    if not isinstance(name, str):
        raise ConfigError(f"a nucleus name is a string such as 'Cs133' or 'Xe_nat', got {name!r}")
    if name in _table()["nucleus"]:
        return _curated(name)
    iso = _isotopes().get(name)
    if iso is not None:
        return _from_isotope_table(name, iso)
    if name.endswith("_nat") and name[:-4] in _natural_isotopes():
        return _natural_effective(name[:-4])
    raise UnknownNameError("nucleus", name,
                           [*_table()["nucleus"], "<isotope such as Na23>", "<element>_nat"])


def nucleus_names() -> list[str]:
    """All nucleus names: curated entries, every tabulated isotope, ``<element>_nat``."""
    return sorted(set(_table()["nucleus"]) | set(_isotopes())
                  | {f"{e}_nat" for e in _natural_isotopes()})


def element_names() -> list[str]:
    """All chemical elements that detectors may contain (every element with natural isotopes)."""
    return sorted(set(_table()["element"]) | set(_natural_isotopes()))


def element_composition(
    element: str, mode: CompositionMode = "natural-effective",
    enrichment: Mapping[str, float] | None = None,
) -> list[tuple[Nucleus, float]]:
    """Nuclei that make up one atom of ``element``, with mole fractions summing to 1.

    Parameters
    ----------
    element : str
        Chemical symbol, e.g. ``"Xe"``.
    mode : {"natural-effective", "dominant-isotope", "isotopes"}
        See the module docstring. For elements without a curated entry, ``"natural-effective"`` is
        the single isotope of a mono-isotopic element (with its spin), else a spin-0 effective
        nucleus with the abundance-weighted mass.
    enrichment : mapping of isotope name to mole fraction, optional
        An enriched (or depleted) isotopic composition, e.g. ``{"Ge76": 0.88, "Ge74": 0.12}``;
        normalised to 1. Overrides ``mode``.
    """
    if element not in element_names():
        raise UnknownNameError("element", element, element_names())
    if mode not in get_args(CompositionMode):
        raise UnknownNameError("composition mode", mode, get_args(CompositionMode))
    if enrichment is not None:
        return _enriched(element, enrichment)
    entry = _table()["element"].get(element)
    if entry is None:
        isos = _natural_isotopes()[element]
        if mode == "isotopes" or len(isos) == 1:
            entry = {"isotopes": {f"{i.symbol}{i.A}": i.abundance for i in isos}}
        if mode == "dominant-isotope" or len(isos) == 1:
            best = max(isos, key=lambda i: i.abundance)
            return [(get_nucleus(f"{best.symbol}{best.A}"), 1.0)]
        if mode == "natural-effective":
            return [(get_nucleus(f"{element}_nat"), 1.0)]
    elif mode == "dominant-isotope":
        return [(get_nucleus(entry["dominant_isotope"]), 1.0)]
    elif mode == "natural-effective":
        return [(get_nucleus(entry["natural_effective"]), 1.0)]
    total = math.fsum(entry["isotopes"].values())
    if not total > 0:
        raise ConfigError(f"element {element}: isotope abundances sum to {total}")
    return [(get_nucleus(name), frac / total) for name, frac in entry["isotopes"].items()]


def _enriched(element: str, enrichment: Mapping[str, float]) -> list[tuple[Nucleus, float]]:
    if not enrichment:
        raise ConfigError(f"enrichment of {element}: empty; give the mole fraction of at least one "
                          f"isotope of {element} (they are normalised to 1), or leave enrichment out "
                          "for the natural composition")
    out = []
    for name, frac in enrichment.items():
        nucleus = get_nucleus(name)
        symbol = _ISOTOPE_NAME.match(name)
        if symbol is None or symbol.group(1) != element:
            raise ConfigError(f"enrichment of {element}: {name!r} is not an isotope of {element}")
        if not (math.isfinite(frac) and frac >= 0):
            raise ConfigError(f"enrichment of {element}: fraction of {name} must be a finite "
                              f"number >= 0, got {frac!r}")
        out.append((nucleus, float(frac)))
    try:
        total = math.fsum(f for _, f in out)
    except OverflowError:  # finite fractions whose sum is not
        raise ConfigError(f"enrichment of {element}: the fractions {dict(enrichment)} are too "
                          "large to add up; give mole fractions (or percentages), they are "
                          "normalised to 1") from None
    if not total > 0:
        raise ConfigError(f"enrichment of {element}: fractions sum to {total}, need > 0")
    return [(n, f / total) for n, f in out]


_FORMULA_TOKEN = re.compile(r"([A-Z][a-z]?|\(|\)|\d+(?:\.\d+)?)")


def parse_formula(formula: str) -> tuple[tuple[str, float], ...]:
    """Atoms per formula unit of a chemical formula: ``"CaWO4"`` → ``(("Ca", 1), ("W", 1), ("O", 4))``.

    Element symbols, integer or decimal counts and nested parentheses (``"Ca3(PO4)2"``) are
    understood; the order of first appearance is kept and repeated elements are summed.

    Raises
    ------
    ConfigError
        For anything that is not a formula of known elements (the message names the bad part).
    """
    if not isinstance(formula, str) or not formula.strip():
        raise ConfigError(f"formula must be a non-empty string, got {formula!r}")
    text = formula.strip()
    tokens = _FORMULA_TOKEN.findall(text)
    if "".join(tokens) != text:
        raise ConfigError(f"formula {formula!r}: cannot read it; use element symbols, counts "
                          "and parentheses, e.g. 'NaI', 'C3F8', 'Ca3(PO4)2'")
    valid = set(element_names())
    stack: list[dict[str, float]] = [{}]
    last: dict[str, float] | str | None = None
    for tok in tokens:
        if tok == "(":
            stack.append({})
            last = None
        elif tok == ")":
            if len(stack) == 1:
                raise ConfigError(f"formula {formula!r}: unmatched ')'")
            group = stack.pop()
            for el, n in group.items():
                stack[-1][el] = stack[-1].get(el, 0.0) + n
            last = group
        elif tok[0].isdigit():
            count = float(tok)
            if last is None or count <= 0:
                raise ConfigError(f"formula {formula!r}: count {tok} must follow an element or ')' "
                                  "and be > 0")
            if isinstance(last, str):
                stack[-1][last] += count - 1.0
            else:
                for el, n in last.items():
                    stack[-1][el] += n * (count - 1.0)
            last = None
        else:
            if tok not in valid:
                raise UnknownNameError("element", tok, sorted(valid))
            stack[-1][tok] = stack[-1].get(tok, 0.0) + 1.0
            last = tok
    if len(stack) != 1:
        raise ConfigError(f"formula {formula!r}: unmatched '('")
    return tuple((el, n) for el, n in stack[0].items())
