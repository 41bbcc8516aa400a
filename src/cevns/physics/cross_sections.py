"""Standard-Model CEvNS differential cross section (paper Eqs. 1–7; docs/physics.md#sm-cevns).

    dσ/dT = (G_F² m_A/π) (1 − m_A T/(2E²) − T/E) Q_V(q)²
          + (G_F² m_A/(4π)) (1 + m_A T/(2E²) − T/E) F_A(q),

    Q_V(q) = g_V^p Z F_p(q) + g_V^n N F_n(q),   g_V^p = 1/2 − 2 sin²θ_W,  g_V^n = −1/2,
    F_A(q) = 8π/(2J+1) g_A² S₁₁^T(q)   (isovector transverse spin response only; zero for J = 0).

Normalisation of Hoferichter, Menéndez & Schwenk, PRD 102, 074018 (2020) (the paper's Ref. [84]);
T²/E² terms dropped as in the paper's Eq. (3); tree level and flavour blind. Returned values are
areas per energy in internal units (``/ (cm**2 / keV)`` reads them in cm²/keV); zero above
T_max(E).

The rate engine does not call :func:`sm_differential_cross_section` directly: it uses the
decomposition of :func:`sm_basis_terms` into pieces that do not depend on sin²θ_W, so that a scan in
sin²θ_W re-weights precomputed spectra (docs/architecture.md#strength-and-shape).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cevns.errors import ConfigError, finite_array, is_bool, is_text
from cevns.physics.constants import G_AXIAL, G_FERMI, HBARC, SIN2_THETA_W, SIN2_THETA_W_RANGE
from cevns.physics.form_factors import helm_form_factor
from cevns.physics.kinematics import ENERGY_NUMBERS, max_recoil_energy, momentum_transfer
from cevns.physics.nuclei import Nucleus, check_nucleus
from cevns.physics.spin_structure import DEFAULT_SPIN_STRUCTURE, SpinStructure
from cevns.physics.units import MeV

#: Neutron weak vector coupling g_V^n = −1/2 (tree level).
G_V_NEUTRON = -0.5

#: Names of the SM basis terms, see :func:`sm_basis_terms`.
SM_BASIS = ("ZZ", "ZN", "NN", "axial")


def check_sin2_theta_w(sin2_theta_w: ArrayLike, name: str = "sin2_theta_w") -> NDArray[np.float64]:
    """``sin2_theta_w`` as a float array if every value is a finite squared sine; else ConfigError.

    The one check of sin²θ_W: every value must lie in
    :data:`~cevns.physics.constants.SIN2_THETA_W_RANGE`, the closed [0, 1] (both ends are finite,
    degenerate values: the weak charge is linear in sin²θ_W). ``True``/``False`` are refused, also
    inside a list (``float(True)`` would be 1). The message names ``name``, the value and the range.
    """
    lo, hi = SIN2_THETA_W_RANGE
    interval = f"[{lo:g}, {hi:g}]"
    if is_bool(sin2_theta_w, recurse=True):
        raise ConfigError(f"{name} must be a number in {interval}, got {sin2_theta_w!r} "
                          "(true/false is not a number)")
    if is_text(sin2_theta_w):
        raise ConfigError(f"{name} must be a number or array of numbers, got {sin2_theta_w!r}")
    try:
        arr = np.asarray(sin2_theta_w, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number or array of numbers, got {sin2_theta_w!r}") from None
    bad = ~(np.isfinite(arr) & (arr >= lo) & (arr <= hi))
    if np.any(bad):
        raise ConfigError(f"{name} must be finite and in {interval} (a squared sine), got "
                          f"{float(arr[bad].flat[0])!r}")
    return arr


def proton_vector_coupling(sin2_theta_w: ArrayLike = SIN2_THETA_W) -> NDArray[np.float64]:
    """g_V^p = 2 g_V^u + g_V^d = 1/2 − 2 sin²θ_W (tree level); sin²θ_W finite, in [0, 1]."""
    return 0.5 - 2.0 * check_sin2_theta_w(sin2_theta_w)


def sm_basis_coefficients(sin2_theta_w: ArrayLike = SIN2_THETA_W) -> NDArray[np.float64]:
    """Coefficients of the SM basis terms ("ZZ", "ZN", "NN", "axial") at sin²θ_W.

    The SM rate is Σ_j c_j B_j with c = (g_p², 2 g_p g_n, g_n², 1): a quadratic in sin²θ_W.
    Shape ``(4, *np.shape(sin2_theta_w))``.
    """
    gp = proton_vector_coupling(sin2_theta_w)
    gn = np.full_like(gp, G_V_NEUTRON)
    return np.stack([gp * gp, 2.0 * gp * gn, gn * gn, np.ones_like(gp)])


def vector_kinematic_factor(neutrino_energy, recoil_energy, nuclear_mass):
    """1 − m_A T/(2E²) − T/E, clipped at 0 (it vanishes at T_max up to O(T²/E²))."""
    e, t = neutrino_energy, recoil_energy
    return np.maximum(1.0 - nuclear_mass * t / (2.0 * e * e) - t / e, 0.0)


def axial_kinematic_factor(neutrino_energy, recoil_energy, nuclear_mass):
    """1 + m_A T/(2E²) − T/E (HMS transverse axial factor)."""
    e, t = neutrino_energy, recoil_energy
    return 1.0 + nuclear_mass * t / (2.0 * e * e) - t / e


def sm_basis_terms(
    nucleus: Nucleus,
    neutrino_energy: ArrayLike,
    recoil_energy: ArrayLike,
    *,
    proton_radius: float | None = None,
    neutron_radius: float | None = None,
    spin_structure: SpinStructure = DEFAULT_SPIN_STRUCTURE,
    g_axial: float = G_AXIAL,
    unit_neutron_form_factor: bool = False,
) -> NDArray[np.float64]:
    """The four sin²θ_W-independent pieces of dσ/dT, stacked on axis 0.

    ``ZZ = K_V Z² F_p²``, ``ZN = K_V Z N F_p F_n``, ``NN = K_V N² F_n²`` with
    K_V = (G_F² m_A/π)(1 − m_A T/(2E²) − T/E) (ħc)², and ``axial`` the full axial term; all zero for
    T > T_max(E). Radii default to the default Helm radius of the nucleus (docs/physics.md#sm-cevns [A]).
    With ``unit_neutron_form_factor`` F_n ≡ 1: the neutron form factor is then applied later as a
    recoil-only factor (the fast path of neutron-radius scans). ``nucleus`` must be a
    :class:`~cevns.physics.nuclei.Nucleus` (``get_nucleus("Cs133")``), else ConfigError.
    """
    check_nucleus(nucleus)
    e = np.asarray(neutrino_energy, dtype=float)
    t_in = np.asarray(recoil_energy, dtype=float)
    e, t = np.broadcast_arrays(e, t_in)
    ma = nucleus.mass
    default_radius = nucleus.default_helm_rms_radius()
    rp = default_radius if proton_radius is None else proton_radius
    rn = default_radius if neutron_radius is None else neutron_radius
    # form factors depend on T only: evaluate them on the un-broadcast recoil array (the engine
    # passes T as a column against a row of neutrino energies), then broadcast
    q_in = momentum_transfer(t_in, ma)  # the check of T and m_A for a direct call
    q = np.broadcast_to(q_in, e.shape)
    fp = np.broadcast_to(helm_form_factor(q_in, rp, nucleus.helm_skin), e.shape)
    if unit_neutron_form_factor:
        fn = np.ones(e.shape)
    else:
        fn = fp if rn == rp else np.broadcast_to(helm_form_factor(q_in, rn, nucleus.helm_skin), e.shape)
    allowed = t <= max_recoil_energy(e, ma)
    pref = G_FERMI**2 * ma / math.pi * HBARC**2
    kv = np.where(allowed, pref * vector_kinematic_factor(e, t, ma), 0.0)
    z, n = nucleus.Z, nucleus.N
    out = np.empty((4, *e.shape))
    out[0] = kv * (z * fp) ** 2
    out[1] = kv * (z * fp) * (n * fn)
    out[2] = kv * (n * fn) ** 2
    if nucleus.spin > 0:
        nucleus.require_spin_data("the SM axial term")
    if nucleus.has_spin:
        s11 = spin_structure.structure(nucleus, q, "11", "T")
        fa = 8.0 * math.pi / (2.0 * nucleus.spin + 1.0) * g_axial**2 * s11
        out[3] = np.where(allowed, 0.25 * pref * axial_kinematic_factor(e, t, ma) * fa, 0.0)
    else:
        out[3] = 0.0
    return out


def check_energies(neutrino_energy: ArrayLike, recoil_energy: ArrayLike
                   ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(E, T)`` as float arrays if every E is finite and > 0, every T finite and ≥ 0 and the
    two broadcast against each other; else :class:`ConfigError` naming the argument (a NaN E
    would give a cross section of 0, a negative E a positive one, a negative T a NaN)."""
    arrays = [finite_array(value, name, numbers=ENERGY_NUMBERS, minimum=0.0, strict=strict,
                           unit=(MeV, "MeV"))
              for name, value, strict in (("neutrino_energy", neutrino_energy, True),
                                          ("recoil_energy", recoil_energy, False))]
    try:
        np.broadcast_shapes(arrays[0].shape, arrays[1].shape)
    except ValueError:
        raise ConfigError(f"neutrino_energy of shape {arrays[0].shape} and recoil_energy of shape "
                          f"{arrays[1].shape} do not broadcast against each other") from None
    return arrays[0], arrays[1]


def sm_differential_cross_section(
    nucleus: Nucleus,
    neutrino_energy: ArrayLike,
    recoil_energy: ArrayLike,
    sin2_theta_w: float = SIN2_THETA_W,
    **kwargs,
) -> NDArray[np.float64]:
    """SM dσ/dT(E, T) in internal units (area/energy); keyword arguments as :func:`sm_basis_terms`.

    Energies are checked (:func:`check_energies`): E finite and > 0, T finite and ≥ 0.
    """
    neutrino_energy, recoil_energy = check_energies(neutrino_energy, recoil_energy)
    terms = sm_basis_terms(nucleus, neutrino_energy, recoil_energy, **kwargs)
    coeff = sm_basis_coefficients(sin2_theta_w)
    return np.tensordot(coeff, terms, axes=(0, 0))
