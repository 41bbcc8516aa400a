"""Sterile dipole portal: ν_α + A → ν₄ + A via a photon (paper Eqs. 21–23; docs/physics.md#dipole-portal).

An active neutrino up-scatters on the nuclear charge into a sterile neutral lepton ν₄ of mass m₄
through the transition magnetic moment of

    L ⊃ (μ/2) ν̄₄ σ^{μν} P_L ν_α F_μν + h.c.,   μ = μ_eff μ_B,  μ_B = e/(2 m_e),

i.e. the vertex μ σ^{μν} q_ν P_L. Works whose Lagrangian lacks the 1/2 quote a μ smaller by a factor
2 for the same physics; μ_eff here is always in the normalisation above (docs/physics.md#dipole-portal [P]).
With exact kinematics (exact for a point-like spin-1/2 charged target, docs/physics.md#trace-checks):

    dσ/dT = (π α² μ_eff²/m_e²) Z² F(q)² [ 1/T − 1/E − (m₄²/(2 E T m_A)) (1 − T/(2E) + m_A/(2E))
                                          + m₄⁴ (T − m_A)/(8 E² T² m_A²) ],

zero outside the allowed region E ≥ E_min(T, m₄) (paper Eq. 23). For m₄ = 0 it is the usual
neutrino-magnetic-moment cross section (π α² μ_eff²/m_e²) Z² F² (1/T − 1/E) (without its tiny
T/(4E²) term). The prefactor is π α²/m_e² (ħc)² = 2.4947 × 10⁻²⁵ cm² (docs/physics.md#constants). F is the
Helm form factor at the default radius of the nucleus (as in the SM) [A]; the nuclear magnetic
moment is neglected [P]. The term adds incoherently to the SM rate.

Flavours: μ_νe acts on ν_e only (channel ``"e"``), μ_νμ on ν_μ and ν̄_μ (channel ``"mu"``); the
paper analyses each with the other set to zero. Strength: μ_eff (coefficient μ_eff²); shape: m₄.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cevns.errors import ConfigError
from cevns.physics.constants import ALPHA_EM, HBARC, MAX_MAGNETIC_MOMENT_MUB, MU_BOHR
from cevns.physics.form_factors import helm_form_factor
from cevns.physics.kinematics import _momentum_transfer_unchecked
from cevns.physics.nuclei import Nucleus
from cevns.physics.sterile import (
    Channel,
    channel_acts_on,
    check_channel,
    check_mass,
    check_nonnegative,
    upscattering_region,
)

#: Names of the basis terms of :class:`DipoleBasis`.
DIPOLE_BASIS = ("dipole",)


def check_magnetic_moment(magnetic_moment: ArrayLike) -> NDArray[np.float64]:
    """μ_eff as a float array, or a :class:`~cevns.errors.ConfigError` naming ``magnetic_moment``:
    finite, ≥ 0 and at most :data:`~cevns.physics.constants.MAX_MAGNETIC_MOMENT_MUB` (1 μ_B, far
    above any physical value; μ² overflows near 1e154)."""
    check_nonnegative("magnetic_moment", magnetic_moment)
    mu = np.asarray(magnetic_moment, dtype=float)
    if mu.size and mu.max() > MAX_MAGNETIC_MOMENT_MUB:
        raise ConfigError(
            f"magnetic_moment must be at most {MAX_MAGNETIC_MOMENT_MUB:g} μ_B (the moment of the "
            "electron itself, far above any physical value; magnetic moments are in units of the "
            f"Bohr magneton), got {float(mu.max()):g}")
    return mu


def _unit_dipole_cross_section(
    nucleus: Nucleus,
    neutrino_energy: ArrayLike,
    recoil_energy: ArrayLike,
    sterile_mass: float,
    charge_radius: float | None,
) -> NDArray[np.float64]:
    """dσ/dT at μ_eff = 1 (area/energy); validated inputs."""
    t_given = np.asarray(recoil_energy, dtype=float)
    e, t = np.broadcast_arrays(np.asarray(neutrino_energy, dtype=float), t_given)
    ma, m4 = nucleus.mass, sterile_mass
    allowed = upscattering_region(e, t_given, ma, m4)
    # Evaluate only where allowed: 1/T and 1/E must not be formed at T = 0 or E = 0.
    e = np.where(allowed, e, 1.0)
    t = np.where(allowed, t, 1.0)
    x = m4 * m4 / (t * ma)  # m₄²/(m_A T): no T² that could underflow
    bracket = (1.0 / t - 1.0 / e
               - x / (2.0 * e) * (1.0 - t / (2.0 * e) + ma / (2.0 * e))
               + x * x * (t - ma) / (8.0 * e * e))
    radius = nucleus.default_helm_rms_radius() if charge_radius is None else charge_radius
    # F(q(T)) on the recoil array as given (once per recoil node when T is a column against the
    # E nodes); the same values as on the broadcast grid where E and T are allowed
    t_only = np.where(t_given > 0, t_given, 1.0)
    # unchecked: t_only is finite > 0, m_A was checked by upscattering_region above
    ff = helm_form_factor(_momentum_transfer_unchecked(t_only, ma), radius, nucleus.helm_skin)
    # α μ_B² = π α²/m_e² with μ_B = √(4πα)/(2 m_e): the prefactor for μ_eff in units of μ_B.
    pref = ALPHA_EM * MU_BOHR**2 * HBARC**2
    return np.where(allowed, pref * nucleus.Z**2 * ff**2 * bracket, 0.0)


def dipole_differential_cross_section(
    nucleus: Nucleus,
    neutrino_energy: ArrayLike,
    recoil_energy: ArrayLike,
    *,
    magnetic_moment: ArrayLike,
    sterile_mass: float = 0.0,
    charge_radius: float | None = None,
) -> NDArray[np.float64]:
    """dσ/dT of ν + A → ν₄ + A through a transition magnetic moment (module docstring).

    Parameters
    ----------
    nucleus : Nucleus
        Target nucleus.
    neutrino_energy, recoil_energy : array_like
        E and T, internal energy units; broadcast against each other.
    magnetic_moment : array_like
        μ_eff ≥ 0 in units of the Bohr magneton μ_B; broadcasts against E and T.
    sterile_mass : float
        m₄ ≥ 0, internal energy units (0: light-neutrino magnetic moment).
    charge_radius : float or None
        rms radius of the Helm charge form factor; ``None`` = default radius of the nucleus [A].

    Returns
    -------
    ndarray
        dσ/dT in internal units (area/energy); zero outside E ≥ E_min(T, m₄), T > 0.

    Raises
    ------
    ConfigError
        For μ_eff < 0 or above :data:`~cevns.physics.constants.MAX_MAGNETIC_MOMENT_MUB`, or
        m₄ < 0 (the message names the parameter).
    """
    mu = check_magnetic_moment(magnetic_moment)
    m4 = check_mass("sterile_mass", sterile_mass)
    return mu**2 * _unit_dipole_cross_section(nucleus, neutrino_energy, recoil_energy, m4,
                                              charge_radius)


def magnetic_moment_cross_section(
    nucleus: Nucleus,
    neutrino_energy: ArrayLike,
    recoil_energy: ArrayLike,
    *,
    magnetic_moment: ArrayLike,
    charge_radius: float | None = None,
) -> NDArray[np.float64]:
    """Light-neutrino magnetic moment: the dipole portal at m₄ = 0, ∝ Z² F² (1/T − 1/E)."""
    return dipole_differential_cross_section(
        nucleus, neutrino_energy, recoil_energy, magnetic_moment=magnetic_moment,
        sterile_mass=0.0, charge_radius=charge_radius,
    )


def dipole_coefficients(magnetic_moment: ArrayLike) -> NDArray[np.float64]:
    """Coefficients of :class:`DipoleBasis`: μ_eff², shape ``(1, *np.shape(magnetic_moment))``.

    μ_eff ≥ 0 in units of μ_B (a negative value is rejected: only ``|μ|`` is physical and the scan
    should not sample it twice), at most
    :data:`~cevns.physics.constants.MAX_MAGNETIC_MOMENT_MUB` = 1 μ_B (a larger value is a
    :class:`~cevns.errors.ConfigError`, never an overflowing μ²).
    """
    return check_magnetic_moment(magnetic_moment)[None, ...] ** 2


@dataclass(frozen=True)
class DipoleBasis:
    """The dipole portal as one basis term, the cross section at μ_eff = 1 (coefficient μ_eff²).

    Parameters
    ----------
    sterile_mass : float
        m₄ ≥ 0 (shape parameter), internal energy units; the engine uses it for E_min(T, m₄).
    channel : {"e", "mu"}
        ``"e"``: μ_νe, acts on ``"nue"``; ``"mu"``: μ_νμ, acts on ``"numu"`` and ``"numubar"``.
        The term is zero for the other flavours.
    charge_radius : float or None
        Helm radius of the charge form factor; ``None`` = default radius of each nucleus.
    """

    sterile_mass: float
    channel: Channel
    charge_radius: float | None = None
    names: tuple[str, ...] = DIPOLE_BASIS

    def __post_init__(self) -> None:
        check_mass("sterile_mass", self.sterile_mass)
        check_channel(self.channel)

    def terms(
        self, nucleus: Nucleus, flavour: str, neutrino_energy: ArrayLike, recoil_energy: ArrayLike
    ) -> NDArray[np.float64]:
        """The μ_eff = 1 cross section for flavours of the channel, zero for the others."""
        if not channel_acts_on(self.channel, flavour):
            shape = np.broadcast_shapes(np.shape(neutrino_energy), np.shape(recoil_energy))
            return np.zeros((1, *shape))
        return _unit_dipole_cross_section(nucleus, neutrino_energy, recoil_energy,
                                          self.sterile_mass, self.charge_radius)[None, ...]
