"""The sterile-neutrino sector: a guide, and the conventions its four modules share.

What to use when (docs/physics.md#non-unitarity to #up-scattering; user guide ``docs/scenarios/sterile.md``):

:mod:`cevns.physics.nonunitarity` — lepton-unitarity violation (#non-unitarity)
    Heavy neutral leptons beyond the reach of the source make the 3 × 3 light mixing matrix
    non-unitary, N = Λ U. At the ESS this only rescales the SM rate flavour by flavour:
    :func:`~cevns.physics.nonunitarity.unitarity_violation_ratios` gives R_α, no new integrals.
:mod:`cevns.physics.oscillation` — a light sterile neutrino, 3+1 oscillations (#sterile-oscillations)
    Short-baseline disappearance P_αα(E) = 1 − sin²2θ sin²(Δm² L/4E). At fixed Δm² (shape) the
    rate is linear in sin²2θ (strength): :class:`~cevns.physics.oscillation.OscillationBasis`.
:mod:`cevns.physics.dipole` — the sterile dipole portal (#dipole-portal)
    ν_α + A → ν₄ + A through a transition magnetic moment μ_eff (photon exchange), one term ∝ μ²:
    :class:`~cevns.physics.dipole.DipoleBasis`; m₄ = 0 is the neutrino magnetic moment.
:mod:`cevns.physics.upscattering` — up-scattering to a sterile lepton through S, V, A, T (#up-scattering)
    ν + A → χ(m₄) + A through a light mediator X of mass m_X, one term ∝ g⁴:
    :class:`~cevns.physics.upscattering.UpscatteringBasis`.

This module holds what they share: the flavour channels ("e" acts on ν_e, "mu" on ν_μ and ν̄_μ),
the kinematic region of ν + A → ν₄ + A, and argument checks that name the offending parameter.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cevns.errors import ConfigError, UnknownNameError, finite_array
from cevns.physics.constants import MAX_MASS_MEV
from cevns.physics.flux import FLAVOURS, check_flavour
from cevns.physics.kinematics import min_neutrino_energy
from cevns.physics.units import MeV

#: A flavour channel of a sterile-sector parameter: "e" (θ₁₄, μ_νe) or "mu" (θ₂₄, μ_νμ).
Channel = Literal["e", "mu"]
CHANNELS: tuple[str, ...] = get_args(Channel)
#: The π-DAR flavours (:data:`cevns.physics.flux.FLAVOURS`) each channel acts on.
CHANNEL_FLAVOURS: dict[str, tuple[str, ...]] = {"e": ("nue",), "mu": ("numu", "numubar")}


def check_channel(channel: str) -> str:
    """Return ``channel`` if it is one of :data:`CHANNELS`, else raise with the valid names."""
    if channel not in CHANNELS:
        raise UnknownNameError("flavour channel", channel, CHANNELS)
    return channel


def channel_acts_on(channel: str, flavour: str) -> bool:
    """True if a parameter of ``channel`` acts on the π-DAR ``flavour`` (both names checked)."""
    check_flavour(flavour, FLAVOURS, user=f"the sterile-sector channel {channel!r} (dipole, 3+1)")
    return flavour in CHANNEL_FLAVOURS[check_channel(channel)]


def check_nonnegative(name: str, value: ArrayLike, unit: float = 1.0, unit_name: str = "") -> None:
    """Raise :class:`~cevns.errors.ConfigError` naming ``name`` unless every value is finite ≥ 0
    (:func:`cevns.errors.finite_array`; an offending value is reported in ``unit_name``)."""
    finite_array(value, name, minimum=0.0, unit=(unit, unit_name) if unit_name else None)


#: Largest sterile-lepton or mediator mass accepted (:data:`cevns.physics.constants.MAX_MASS_MEV`).
MAX_MASS_MEV = MAX_MASS_MEV


def check_mass(name: str, value: float) -> float:
    """Validate a (scalar) mass parameter such as m₄ or m_X (internal units): finite, ≥ 0 and at
    most :data:`MAX_MASS_MEV`; return it as float."""
    if np.ndim(value) != 0:
        raise ConfigError(f"{name} must be one scalar per basis, got shape {np.shape(value)}")
    check_nonnegative(name, value, MeV, "MeV")
    if float(value) > MAX_MASS_MEV * MeV:
        raise ConfigError(f"{name} must be at most {MAX_MASS_MEV:g} MeV (far beyond the reach of "
                          f"any source; masses are in MeV), got {float(value) / MeV:g} MeV")
    return float(value)


def upscattering_region(
    neutrino_energy: NDArray[np.float64],
    recoil_energy: NDArray[np.float64],
    nuclear_mass: float,
    sterile_mass: float,
) -> NDArray[np.bool_]:
    """Where ν(E) + A → ν₄(m₄) + A can give recoil T: T > 0 and E ≥ E_min(T, m₄) (paper Eq. 23).

    E ≥ E_min(T, m₄) is equivalent to the paper's Eq. (22),
    m₄² ≤ 2E(√(T² + 2 m_A T) − T) − 2 m_A T, i.e. to T_min(E, m₄) ≤ T ≤ T_max(E, m₄); it is empty
    when m₄ exceeds :func:`~cevns.physics.kinematics.max_sterile_mass` (E).
    """
    # E_min is evaluated on the recoil array as given (a column (n_T, 1) against E nodes
    # (n_T, n_E): once per recoil node); the result has the broadcast shape of E and T
    positive = recoil_energy > 0
    t_safe = np.where(positive, recoil_energy, 1.0)  # no 1/0 inside E_min for T = 0
    return positive & (neutrino_energy >= min_neutrino_energy(t_safe, nuclear_mass, sterile_mass))
