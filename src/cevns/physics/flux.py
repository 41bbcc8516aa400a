"""Neutrino spectra of a source, per flavour (docs/physics.md#flux, docs/sources.md).

π⁺ → μ⁺ ν_μ at rest gives a monochromatic ν_μ line at E_π = (m_π² − m_μ²)/(2 m_π) = 29.79 MeV
("prompt"); μ⁺ → e⁺ ν_e ν̄_μ at rest gives the Michel spectra of ν_e and ν̄_μ up to m_μ/2
("delayed"). Each π-DAR spectrum here is a probability density in E normalised to 1; the source
normalisation (neutrinos per flavour per POT, POT, baseline) lives in :mod:`cevns.experiment`.

The Michel spectra are polynomials in x = E/m_μ, so their integrals against polynomials in E and
1/E are done exactly by low-order Gauss–Legendre rules; the prompt line is a Dirac delta and is
always handled exactly (never smeared into a narrow peak).

A source is not bound to π-DAR: :class:`FlavourSpectrum` describes any flavour's spectrum as lines
(energy, weight) plus a continuous density on panels (the rate engine integrates each panel with
its own Gauss–Legendre rule), and :func:`tabulated_spectrum` builds one from a table (linear
interpolation between the tabulated energies, zero outside them).

Flavour vocabulary: :data:`VALID_FLAVOURS` are the names any source may use; :data:`FLAVOURS` are
the three π-DAR flavours, in the order used by every π-DAR array of cevns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cevns.errors import ConfigError, UnknownNameError, finite_array
from cevns.physics.constants import E_MICHEL_MAX, E_PROMPT, M_MUON

#: Every flavour name a source may use, in canonical order.
AnyFlavour = Literal["numu", "nue", "numubar", "nuebar", "nutau", "nutaubar"]
VALID_FLAVOURS: tuple[str, ...] = get_args(AnyFlavour)
#: Neutrino flavours of a π⁺ DAR source, in the order used in every π-DAR array of cevns.
Flavour = Literal["numu", "nue", "numubar"]
FLAVOURS: tuple[str, ...] = get_args(Flavour)
#: The π-DAR flavours (same tuple as :data:`FLAVOURS`, named for what they are).
PION_DAR_FLAVOURS = FLAVOURS
#: Human-readable labels.
FLAVOUR_LABELS = {"numu": "prompt ν_μ", "nue": "delayed ν_e", "numubar": "delayed ν̄_μ",
                  "nuebar": "ν̄_e", "nutau": "ν_τ", "nutaubar": "ν̄_τ"}
#: The flavours without their π-DAR roles, for a source of another kind (a tabulated spectrum).
PLAIN_FLAVOUR_LABELS = {f: label.split()[-1] for f, label in FLAVOUR_LABELS.items()}
#: Which π-DAR flavours are monochromatic lines (energy) rather than continuous spectra.
LINE_ENERGY = {"numu": E_PROMPT}


def check_flavour(flavour: str, known: Iterable[str] = VALID_FLAVOURS, *,
                  user: str = "") -> str:
    """Return ``flavour`` if it is a valid name known to the caller, else raise.

    An unknown name is an :class:`~cevns.errors.UnknownNameError` listing :data:`VALID_FLAVOURS`;
    a valid name outside ``known`` (e.g. ``"nuebar"`` of a tabulated source reaching a calculation
    defined for the π-DAR flavours only) is a :class:`~cevns.errors.ConfigError` naming ``user``
    and the flavours it knows — never a silent zero.
    """
    if flavour not in VALID_FLAVOURS:
        raise UnknownNameError("flavour", flavour, VALID_FLAVOURS)
    known = tuple(known)
    if flavour not in known:
        who = user or "this calculation"
        raise ConfigError(f"{who} is defined for the flavours {', '.join(known)} only, not "
                          f"{flavour!r} (a flavour of the source); use a source with those "
                          "flavours, or a scenario that knows this one (docs/sources.md)")
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
    """(E_lo, E_hi) of a π-DAR flavour's spectrum; a line has E_lo = E_hi = its energy."""
    check_flavour(flavour, FLAVOURS, user="the π-DAR spectrum")
    if flavour in LINE_ENERGY:
        return LINE_ENERGY[flavour], LINE_ENERGY[flavour]
    return 0.0, E_MICHEL_MAX


def pion_dar_spectrum(flavour: str, neutrino_energy: ArrayLike) -> NDArray[np.float64]:
    """Normalised continuous spectrum of ``flavour`` (zero for the prompt line: it is a delta).

    ``neutrino_energy`` must be finite numbers (internal units; outside the spectrum, negative
    energies included, the density is 0): a NaN is a :class:`ConfigError`, not a density of 0.
    """
    check_flavour(flavour, FLAVOURS, user="the π-DAR spectrum")
    e = finite_array(neutrino_energy, "neutrino_energy",
                     numbers="a number or array of numbers (internal energy units)")
    if flavour in LINE_ENERGY:
        return np.zeros_like(e)
    return CONTINUOUS_SPECTRA[flavour](e)


# --- spectra as data ----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class FlavourSpectrum:
    """The spectrum of one flavour per unit of the source's normalisation.

    Attributes
    ----------
    lines : tuple of (energy, weight)
        Monochromatic lines: energy (internal units) and the number of neutrinos in the line per
        unit normalisation. Integrated exactly (a Dirac delta in E).
    density : callable or None
        Continuous part dN/dE per unit normalisation (internal 1/energy), vectorised in E.
    panels : ndarray
        Edges (internal energy, increasing) of the panels on which the engine integrates
        ``density``, each with its own Gauss–Legendre rule. ``density`` is zero outside
        ``[panels[0], panels[-1]]``. Two edges = one panel (the Michel spectra).
    support_top : float or None
        Largest energy at which ``density`` can be non-zero (internal units), if below
        ``panels[-1]`` (a table whose last values are 0); None: ``panels[-1]``.
    """

    lines: tuple[tuple[float, float], ...] = ()
    density: Callable[[np.ndarray], np.ndarray] | None = None
    panels: np.ndarray | None = None
    support_top: float | None = None

    def _continuum_top(self) -> float | None:
        if self.density is None or self.panels is None:
            return None
        return float(self.panels[-1]) if self.support_top is None else float(self.support_top)

    @property
    def max_energy(self) -> float:
        """Largest neutrino energy of the spectrum (internal units): the highest line or the
        top of the continuum's support, 0 for an empty spectrum."""
        tops = [e for e, _ in self.lines]
        top = self._continuum_top()
        if top is not None:
            tops.append(top)
        return max(tops) if tops else 0.0

    def breakpoint_energies(self) -> tuple[float, ...]:
        """Energies where the rate in T has kinks: each line and the top of the continuum."""
        points = [e for e, _ in self.lines]
        top = self._continuum_top()
        if top is not None:
            points.append(top)
        return tuple(points)


_PROMPT = FlavourSpectrum(lines=((E_PROMPT, 1.0),))
_MICHEL = {f: FlavourSpectrum(density=CONTINUOUS_SPECTRA[f],
                              panels=np.array([0.0, E_MICHEL_MAX]))
           for f in CONTINUOUS_SPECTRA}


def pion_dar_flavour_spectrum(flavour: str) -> FlavourSpectrum:
    """The normalised π-DAR spectrum of ``flavour`` (prompt line or Michel spectrum)."""
    check_flavour(flavour, FLAVOURS, user="the π-DAR spectrum")
    return _PROMPT if flavour in LINE_ENERGY else _MICHEL[flavour]


def pion_dar_breakpoint_energies() -> tuple[float, ...]:
    """(E_π, m_μ/2): the energies where π-DAR rates have kinks in T."""
    return (*LINE_ENERGY.values(), E_MICHEL_MAX)


def tabulated_spectrum(energies: ArrayLike, values: ArrayLike | None,
                       lines: Iterable[tuple[float, float]] = ()) -> FlavourSpectrum:
    """A spectrum from a table: linear interpolation of ``values`` between ``energies``.

    Parameters
    ----------
    energies : array_like
        Strictly increasing energies ≥ 0 (internal units).
    values : array_like or None
        dN/dE at ``energies`` (internal 1/energy, ≥ 0), or None for a flavour with lines only.
        Between two tabulated energies the density is the straight line through the two values;
        below the first and above the last energy it is zero.
    lines : iterable of (energy, weight)
        Monochromatic lines added to the continuum.
    """
    line_tuple = tuple((float(e), float(w)) for e, w in lines)
    if values is None:
        return FlavourSpectrum(lines=line_tuple)
    e = np.array(energies, dtype=float)
    v = np.array(values, dtype=float)
    if e.ndim != 1 or e.size < 2 or v.shape != e.shape:
        raise ConfigError(f"a tabulated spectrum needs ≥ 2 energies and as many values, got "
                          f"{e.size} energies and {v.size} values")
    if not (np.all(np.isfinite(e)) and np.all(np.isfinite(v))):
        raise ConfigError("a tabulated spectrum must have finite energies and values (no NaN)")
    if np.any(np.diff(e) <= 0) or e[0] < 0:
        raise ConfigError("a tabulated spectrum needs strictly increasing energies ≥ 0")
    if np.any(v < 0):
        raise ConfigError("a tabulated spectrum must be ≥ 0 everywhere")
    e.setflags(write=False)
    v.setflags(write=False)

    def density(x: np.ndarray, _e=e, _v=v) -> np.ndarray:
        return np.interp(x, _e, _v, left=0.0, right=0.0)

    # the density vanishes above the first energy after the last positive value (a table that
    # ends in zeros: the neutrinos stop there, whatever range the table spans)
    positive = np.flatnonzero(v > 0)
    last = min(int(positive[-1]) + 1, e.size - 1) if positive.size else 0
    top = None if last == e.size - 1 else float(e[last])
    return FlavourSpectrum(lines=line_tuple, density=density, panels=e, support_top=top)
