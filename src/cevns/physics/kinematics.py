"""Two-body kinematics of ν + A → ℓ + A with a nucleus at rest (docs/physics.md#kinematics).

T is the nuclear recoil kinetic energy, E the neutrino energy, m_A the nuclear mass and m₄ the mass
of the outgoing neutral lepton (0 for CEvNS; > 0 for up-scattering to a sterile state). All
energies in internal units. Every function is vectorised over its array arguments and refuses
(:class:`~cevns.errors.ConfigError`, naming the argument) an energy that is negative, NaN or
infinite and a mass that is not finite and positive (m₄: not negative), where the formulas would
return a silent NaN or a meaningless number. The check (:func:`cevns.errors.finite_array`, a
min and a max over the array, and two scalar mass checks) costs ~12 µs per call on 100 values,
about 4× the formula of ``momentum_transfer`` there, and ~1.5 ms on 10⁶ values.

The rate engine, the basis terms and ``Detector`` (its recoil range, checked field and checked
nuclei) call the private twins ``_*_unchecked`` (the same formulas, no checks) only where the
inputs were made or checked already: the
engine's recoil nodes and breakpoints (masses checked by the Detector, energies by the Source,
m₄ once per spectrum), and ``|q|`` on recoils that the NGI, up-scattering and dipole terms have
made finite and ≥ 0. Over ``cevns reproduce --only fig7 --only fig20 --executor serial``
(2026-12-01) that takes 5366 of 9529 calls off the checks; 4163 remain: 1521 in
``Detector.max_recoil_energy`` (then recomputed at each access; since computed once per
detector, :mod:`cevns.experiment`), 2072 in the
up-scattering region (the only check of T on that path) and the checks of direct calls of the
SM and NGI terms. Timed side by side in one process (``benchmarks/bench_kinematics_checks.py``:
324 up-scattering spectra of fig20, two shared cores at load ≈ 4, where a check costs 9–34 µs)
the calls at the unchecked sites × their per-call saving come to 29–38 ms per round of
0.95–1.3 s (3–4 % of the engine's time; the difference of the wall-clock medians, +32 and
−50 ms in two runs, is within the noise of a round there); by the call counts ≈ 0.14 s of the
34 s run. The spectra are bit-identical (``tests/rates/test_unchecked_kinematics.py``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cevns.errors import ConfigError, finite_array
from cevns.physics.units import MeV

#: What an energy argument must be, in the message of a value that is not numbers.
ENERGY_NUMBERS = "a number or array of numbers (internal energy units)"


def _energies(value: ArrayLike, name: str) -> NDArray[np.float64]:
    """``value`` as a float array if every entry is finite and ≥ 0, else a ConfigError naming it."""
    return finite_array(value, name, numbers=ENERGY_NUMBERS, minimum=0.0, unit=(MeV, "MeV"))


def _mass(value: float, name: str, *, positive: bool) -> float:
    """``value`` as a float if finite and > 0 (``positive``) or ≥ 0, else a ConfigError naming it."""
    try:
        m = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number (internal energy units), got {value!r}") from None
    if not (m > 0.0 if positive else m >= 0.0) or m == np.inf:
        raise ConfigError(f"{name} must be finite and {'> 0' if positive else '≥ 0'}, got {m}")
    return m


def momentum_transfer(recoil_energy: ArrayLike, nuclear_mass: float) -> NDArray[np.float64]:
    """``|q| = √(T² + 2 m_A T)``, the exact three-momentum transfer to the nucleus."""
    return _momentum_transfer_unchecked(_energies(recoil_energy, "recoil_energy"),
                                        _mass(nuclear_mass, "nuclear_mass", positive=True))


def max_recoil_energy(
    neutrino_energy: ArrayLike, nuclear_mass: float, sterile_mass: float = 0.0
) -> NDArray[np.float64]:
    """Largest recoil T_max(E) for ν(E) + A → ℓ(m₄) + A.

    For m₄ = 0 this is 2E²/(m_A + 2E). For m₄ > 0 the centre-of-mass construction is used:
    T_± = (E_A E_A′ − m_A² ± p p′)/m_A with s = m_A² + 2 m_A E; below threshold
    (√s < m_A + m₄) the result is 0.
    """
    return _max_recoil_energy_unchecked(_energies(neutrino_energy, "neutrino_energy"),
                                        _mass(nuclear_mass, "nuclear_mass", positive=True),
                                        _mass(sterile_mass, "sterile_mass", positive=False))


def recoil_energy_range(
    neutrino_energy: ArrayLike, nuclear_mass: float, sterile_mass: float = 0.0
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(T_min, T_max) reachable at neutrino energy E; both 0 below the production threshold."""
    return _recoil_energy_range_unchecked(_energies(neutrino_energy, "neutrino_energy"),
                                          _mass(nuclear_mass, "nuclear_mass", positive=True),
                                          _mass(sterile_mass, "sterile_mass", positive=False))


def min_neutrino_energy(
    recoil_energy: ArrayLike, nuclear_mass: float, sterile_mass: float = 0.0
) -> NDArray[np.float64]:
    """Smallest E that can give recoil T (paper Eq. 23).

    E_min(T, m₄) = ½ (T + √(T² + 2 m_A T)) (1 + m₄²/(2 m_A T)); for m₄ = 0 the CEvNS value
    ½(T + √(T² + 2 m_A T)).
    """
    return _min_neutrino_energy_unchecked(_energies(recoil_energy, "recoil_energy"),
                                          _mass(nuclear_mass, "nuclear_mass", positive=True),
                                          _mass(sterile_mass, "sterile_mass", positive=False))


# --- the formulas without the checks ------------------------------------------------------------
# For the rate engine and the basis terms only, on arrays and masses they made or checked
# themselves (module docstring): float arrays of finite energies ≥ 0, a finite nuclear mass > 0,
# a finite sterile mass ≥ 0. A wrong input gives a silent NaN or a meaningless number here.


def _momentum_transfer_unchecked(t: NDArray[np.float64], ma: float) -> NDArray[np.float64]:
    """:func:`momentum_transfer` without the checks (T float array, internal units)."""
    return np.sqrt(t * t + 2.0 * ma * t)


def _max_recoil_energy_unchecked(e: NDArray[np.float64], ma: float, m4: float = 0.0
                                 ) -> NDArray[np.float64]:
    """:func:`max_recoil_energy` without the checks (E float array, internal units)."""
    if m4 == 0.0:
        return 2.0 * e * e / (ma + 2.0 * e)
    return _recoil_energy_range_unchecked(e, ma, m4)[1]


def _recoil_energy_range_unchecked(e: NDArray[np.float64], ma: float, m4: float = 0.0
                                   ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """:func:`recoil_energy_range` without the checks (E float array, internal units)."""
    s = ma * ma + 2.0 * ma * e
    sqrt_s = np.sqrt(s)
    p_in = e * ma / sqrt_s
    lam = (s - (ma + m4) ** 2) * (s - (ma - m4) ** 2)
    open_ = lam > 0
    p_out = np.sqrt(np.where(open_, lam, 0.0)) / (2.0 * sqrt_s)
    # E_A E_A' − m_A² suffers cancellation for small T; rewrite with (s − m_A²) = 2 m_A E:
    # E_A E_A' − m_A² = [(s + m_A²)(s + m_A² − m₄²) − 4 s m_A²]/(4 s)
    #                 = [(s − m_A²)² − m₄²(s + m_A²)]/(4 s)
    central = ((2.0 * ma * e) ** 2 - m4 * m4 * (s + ma * ma)) / (4.0 * s)
    t_hi = np.where(open_, (central + p_in * p_out) / ma, 0.0)
    # T_min = [(central)^2 - (p p')^2]/(m_A (central + p p')) avoids cancellation when m₄ is small
    prod = p_in * p_out
    denom = central + prod
    t_lo = np.where(open_ & (denom > 0), (central**2 - prod**2) / (ma * np.where(denom > 0, denom, 1.0)),
                    0.0)
    return np.maximum(t_lo, 0.0), t_hi


def _min_neutrino_energy_unchecked(t: NDArray[np.float64], ma: float, m4: float = 0.0
                                   ) -> NDArray[np.float64]:
    """:func:`min_neutrino_energy` without the checks (T float array, internal units)."""
    base = 0.5 * (t + np.sqrt(t * t + 2.0 * ma * t))
    if m4 == 0.0:
        return base
    return base * (1.0 + m4**2 / (2.0 * ma * t))


def max_sterile_mass(neutrino_energy: ArrayLike, nuclear_mass: float) -> NDArray[np.float64]:
    """Heaviest m₄ that neutrino energy E can produce on a nucleus at rest: √s − m_A."""
    e = _energies(neutrino_energy, "neutrino_energy")
    nuclear_mass = _mass(nuclear_mass, "nuclear_mass", positive=True)
    return np.sqrt(nuclear_mass**2 + 2.0 * nuclear_mass * e) - nuclear_mass
