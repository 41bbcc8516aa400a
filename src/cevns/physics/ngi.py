"""Neutrino generalized interactions (NGI): scalar, vector, axial and tensor mediators.

Paper Eqs. (8)–(11); docs/physics.md#ngi. User guide: ``docs/scenarios/ngi.md``.

Convention
----------
A mediator X of mass m_X couples as::

    L ⊃ X · ( g^ν [ν̄ Γ_X P_L ν] + g^q Σ_{q=u,d} [q̄ Γ_X q] ),
    Γ_S = 1,  Γ_V = γ^μ,  Γ_A = γ^μ γ⁵,  Γ_T = σ^{μν},

so that its exchange gives the amplitude coefficient ``C_X = g^ν g^q / (|q|² + m_X²)``, ``|q|² ≈ 2 m_A T``,
in front of [ν̄ Γ_X P_L ν][q̄ Γ_X q]. The quark coupling g^q is the same for u and d
(flavour-universal; U(1)_{B−L} is universal too, with g^q = g_{B−L}/3). The **coupling** of this
module is ``g = √|g^ν g^q| ≥ 0``; the *product* entering the amplitudes is::

    g^ν g^q = coupling_sign · g²     (vector_charge="universal", coupling_sign = ±1, default +1),
    g^ν g^q = −g²/3                  (vector_charge="B-L": lepton charge −1, quark charge +1/3,
                                      g = g_{B−L}),

see :func:`coupling_product`. The sign matters only for the vector case, which interferes with
the SM: +1 (same-sign ν and q couplings) interferes destructively with the negative SM weak charge
and opens a cancellation band; B−L interferes constructively. Scalar, axial and tensor enter as
(g^ν g^q)², so their sign is irrelevant.

Cross sections (massless outgoing neutrino, T²/E² terms dropped; D = 2 m_A T + m_X²)::

    (10a) dσ_S/dT = (g^ν g^q)² Q̂_S(q)² m_A² T / (4π E² D²),
          Q̂_S(q) = Z F_p q_S^p + N F_n q_S^n,  q_S^N = m_N Σ_q f_Tq^N/m_q ≈ 17.29;
    (10b) dσ_{SM+V}/dT = (G_F² m_A/π)(1 − m_A T/(2E²) − T/E) [Q_V(q) + g^ν g^q Q̂_V(q)/(√2 G_F D)]²
                         + SM axial term,   Q̂_V(q) = 3 (Z F_p + N F_n);
    (10c) dσ_A/dT = (g^ν g^q)² 4(Δu+Δd)² m_A S₀₀^T(q) (1 + m_A T/(2E²) − T/E) / ((2J+1) D²);
    (10d) dσ_T/dT = (g^ν g^q)² 16(δu+δd)² m_A / ((2J+1) D²)
                    × [S₀₀^T(q)(1 − T/E − m_A T/(2E²)) + 2 S₀₀^L(q)(1 − T/E)].

The axial and tensor couplings of p and n are equal for universal quark couplings, so only the
isoscalar structure functions S₀₀^{T,L} enter (a₀ = 2 g^q(Δu+Δd) or 2 g^q(δu+δd), a₁ = 0);
spin-zero nuclei give exactly zero. The spin structure is pluggable
(:class:`cevns.physics.spin_structure.SpinStructure`).

Propagator options
------------------
``contact=False`` (default)
    light mediator, 1/D = 1/(2 m_A T + m_X²). m_X = 0 is allowed for T > 0 only (the rate diverges
    as T → 0); a :class:`~cevns.errors.KinematicsError` is raised if such a call contains T = 0.
``contact=True``
    heavy-mediator (contact) limit, 1/D = 1/m_X² (m_X > 0 required): only g²/m_X² matters, so
    fix m_X at any reference value and read the effective coupling G_X = g^ν g^q/m_X² (in units of
    G_F: ε = G_X/(√2 G_F) for the vector case, a shift of every quark's g_V^q).

Strength vs shape
-----------------
The coupling g (and sin²θ_W) are *strength* parameters, the mediator mass is a *shape*
parameter. :class:`NGIBasis` implements :class:`cevns.physics.basis.CrossSectionBasis` with the
SM terms first, so the full model is ``basis.coefficients(g, sin2w) · basis.terms(...)``:

- scalar: ``ngi_scalar``, coefficient P²;
- vector: ``ngi_vector_Z``, ``ngi_vector_N``, ``ngi_vector``, coefficients 2 P g_V^p, 2 P g_V^n, P²;
- axial: ``ngi_axial``, coefficient P²;
- tensor: ``ngi_tensor``, coefficient P²;

with P = g^ν g^q from :func:`coupling_product`. The vector terms are
``ngi_vector_Z = K_V Z F_p V``, ``ngi_vector_N = K_V N F_n V``, ``ngi_vector = K_V V²`` with
V = Q̂_V(q)/(√2 G_F D) and K_V the SM vector prefactor (G_F² m_A/π)(1 − m_A T/(2E²) − T/E)(ħc)².

One definition
--------------
The formulas (10a)–(10d) are written once, in :func:`ngi_basis_terms`; the coefficients once, in
:func:`ngi_basis_coefficients`. The one-coupling functions (:func:`scalar_cross_section`,
:func:`vector_cross_section`, :func:`axial_cross_section`, :func:`tensor_cross_section`,
:func:`ngi_differential_cross_section`) are the contraction Σ_j c_j b_j of the two, the same that
the rate engine performs after integrating each b_j. An independent re-derivation (in plain MeV,
from Lindner, Rodejohann & Xu, JHEP 03 (2017) 097, arXiv:1612.04150, and the paper's Eqs. (10)–(11))
lives in the test suite and checks the contraction to 1e-10 (``tests/physics/test_ngi.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cevns.errors import ConfigError, KinematicsError, UnknownNameError
from cevns.physics.constants import G_FERMI, HBARC, MAX_COUPLING, MAX_MASS_MEV, SIN2_THETA_W
from cevns.physics.cross_sections import (
    G_V_NEUTRON,
    SM_BASIS,
    axial_kinematic_factor,
    check_sin2_theta_w,
    proton_vector_coupling,
    sm_basis_coefficients,
    sm_basis_terms,
    vector_kinematic_factor,
)
from cevns.physics.form_factors import helm_form_factor
from cevns.physics.hadronic import DEFAULT_HADRONIC_INPUTS, HadronicInputs
from cevns.physics.kinematics import _momentum_transfer_unchecked, max_recoil_energy
from cevns.physics.nuclei import Nucleus, check_nucleus
from cevns.physics.spin_structure import DEFAULT_SPIN_STRUCTURE, SpinStructure
from cevns.physics.units import MeV

Interaction = Literal["scalar", "vector", "axial", "tensor"]
VectorCharge = Literal["universal", "B-L"]

#: The Lorentz structures implemented (the pseudoscalar is negligible at low q, paper §2.2).
INTERACTIONS: tuple[str, ...] = get_args(Interaction)
#: Quark-coupling models of the vector mediator.
VECTOR_CHARGES: tuple[str, ...] = get_args(VectorCharge)

#: Names of the NGI basis terms per interaction (appended to :data:`SM_BASIS` in :class:`NGIBasis`).
NGI_TERMS: dict[str, tuple[str, ...]] = {
    "scalar": ("ngi_scalar",),
    "vector": ("ngi_vector_Z", "ngi_vector_N", "ngi_vector"),
    "axial": ("ngi_axial",),
    "tensor": ("ngi_tensor",),
}

#: Power k of the propagator 1/D, D = 2 m_A T + m_X² (or m_X² in the contact limit), in each NGI
#: basis term: the interference terms of the vector go as 1/D, the squared terms as 1/D². The SM
#: terms (power 0) do not depend on the mediator. Consumers that re-weight a term computed at one
#: mediator mass to another (``cevns.scenarios.builtin.NGI``) read the powers from here.
NGI_PROPAGATOR_POWER: dict[str, int] = {
    "ngi_scalar": 2, "ngi_vector_Z": 1, "ngi_vector_N": 1, "ngi_vector": 2, "ngi_axial": 2,
    "ngi_tensor": 2,
}


# --- validation ---------------------------------------------------------------------------------


def _check_interaction(interaction: str) -> None:
    if interaction not in INTERACTIONS:
        raise UnknownNameError("NGI interaction", interaction, INTERACTIONS)


def _check_vector_options(vector_charge: str, coupling_sign: int) -> None:
    if vector_charge not in VECTOR_CHARGES:
        raise UnknownNameError("vector charge", vector_charge, VECTOR_CHARGES)
    if coupling_sign not in (1, -1):
        raise ConfigError(f"coupling_sign must be +1 or -1, got {coupling_sign!r}")
    if vector_charge == "B-L" and coupling_sign != 1:
        raise ConfigError(
            "coupling_sign applies to vector_charge='universal' only; for 'B-L' the product "
            "g^nu g^q = -g^2/3 is fixed by the charges (lepton -1, quark +1/3)"
        )


def _check_mediator_mass(mediator_mass: float, contact: bool) -> None:
    if not mediator_mass >= 0:
        raise ConfigError(f"mediator_mass must be >= 0, got {mediator_mass / MeV:g} MeV")
    if not mediator_mass <= MAX_MASS_MEV * MeV:  # also +inf; m_X² overflows near 1e154 MeV
        raise ConfigError(f"mediator_mass must be at most {MAX_MASS_MEV:g} MeV (far above, the "
                          "mediator acts as a contact interaction whose effect falls as 1/m_X²), "
                          f"got {mediator_mass / MeV:g} MeV")
    if contact and mediator_mass == 0:
        raise ConfigError(
            "the contact (heavy-mediator) limit needs mediator_mass > 0: the effective coupling "
            "is g^2/mediator_mass^2"
        )


def _check_coupling(coupling: ArrayLike) -> NDArray[np.float64]:
    g = np.asarray(coupling, dtype=float)
    if not np.all(g >= 0):
        bad = g[~(g >= 0)].ravel()[0]
        raise ConfigError(
            f"coupling g = sqrt(|g^nu g^q|) must be >= 0, got {bad!r}; the sign of the product "
            "is set by coupling_sign (vector, universal) or fixed by the charges (B-L)"
        )
    check_coupling_cap(g)  # NaN was refused above (NaN >= 0 is False)
    return g


def check_coupling_cap(g: NDArray[np.float64]) -> None:
    """A :class:`~cevns.errors.ConfigError` if a coupling of ``g`` (a float array, already ≥ 0)
    exceeds :data:`~cevns.physics.constants.MAX_COUPLING` (4π, the strong-coupling limit; g⁴
    overflows near 1e77). Shared by the NGI and up-scattering couplings."""
    if g.size and g.max() > MAX_COUPLING:
        raise ConfigError(
            f"coupling must be at most 4π ≈ {MAX_COUPLING:.4g} (the strong-coupling limit, beyond "
            f"any perturbative cross section), got {float(g.max()):g}"
        )


# --- couplings and charges ----------------------------------------------------------------------


def coupling_product(
    coupling: ArrayLike,
    interaction: Interaction = "vector",
    *,
    vector_charge: VectorCharge = "universal",
    coupling_sign: int = 1,
) -> NDArray[np.float64]:
    """The product g^ν g^q entering the amplitude, from the coupling g ≥ 0.

    Parameters
    ----------
    coupling : array_like
        g = √|g^ν g^q| ≥ 0 (for B−L: the gauge coupling g_{B−L}).
    interaction : {"scalar", "vector", "axial", "tensor"}
        Only ``"vector"`` uses ``vector_charge`` and ``coupling_sign``.
    vector_charge : {"universal", "B-L"}
        ``"universal"``: g^ν g^q = coupling_sign · g²; ``"B-L"``: g^ν g^q = −g²/3.
    coupling_sign : {+1, -1}
        Sign of g^ν g^q for the universal vector case.

    Returns
    -------
    ndarray
        g^ν g^q, shape of ``coupling``.
    """
    _check_interaction(interaction)
    g = _check_coupling(coupling)
    if interaction != "vector":
        return g * g
    _check_vector_options(vector_charge, coupling_sign)
    if vector_charge == "B-L":
        return -(g * g) / 3.0
    return coupling_sign * g * g


def nuclear_scalar_charge(
    nucleus: Nucleus, hadronic: HadronicInputs = DEFAULT_HADRONIC_INPUTS
) -> float:
    """Q̂_S = Z m_p Σ_q f_Tq^p/m_q + N m_n Σ_q f_Tq^n/m_q (paper Eq. 11a; g^q factored out)."""
    return nucleus.Z * hadronic.scalar_charge_proton + nucleus.N * hadronic.scalar_charge_neutron


def nuclear_vector_charge(nucleus: Nucleus) -> float:
    """Q̂_V = (2 + 1) Z + (1 + 2) N = 3A: valence-quark number (paper Eq. 11b; g^q factored out)."""
    return 3.0 * nucleus.A


def axial_isoscalar_coupling(hadronic: HadronicInputs = DEFAULT_HADRONIC_INPUTS) -> float:
    """a₀/g^q = 2 (Δu + Δd): isoscalar axial coupling per unit quark coupling (a₁ = 0)."""
    return 2.0 * hadronic.axial_isoscalar


def tensor_isoscalar_coupling(hadronic: HadronicInputs = DEFAULT_HADRONIC_INPUTS) -> float:
    """a₀/g^q = 2 (δu + δd): isoscalar tensor coupling per unit quark coupling (a₁ = 0)."""
    return 2.0 * hadronic.tensor_isoscalar


def propagator_denominator(
    recoil_energy: ArrayLike, nuclear_mass: float, mediator_mass: float, *, contact: bool = False
) -> NDArray[np.float64]:
    """D = 2 m_A T + m_X² (light mediator) or m_X² (``contact=True``); C_X = g^ν g^q / D.

    Raises
    ------
    ConfigError
        Negative mediator mass, or ``contact=True`` with m_X = 0.
    KinematicsError
        m_X = 0 (light mediator) and some T ≤ 0, where the propagator diverges.
    """
    _check_mediator_mass(mediator_mass, contact)
    t = np.asarray(recoil_energy, dtype=float)
    if contact:
        return np.full_like(t, mediator_mass**2)
    if mediator_mass == 0 and np.any(t <= 0):
        raise KinematicsError(
            "a massless mediator needs recoil energies T > 0 (the propagator 1/(2 m_A T) diverges "
            "at T = 0); drop T = 0 from the grid or give mediator_mass > 0"
        )
    return 2.0 * nuclear_mass * t + mediator_mass**2


# --- shared pieces ------------------------------------------------------------------------------


def _kinematics(nucleus: Nucleus, neutrino_energy: ArrayLike, recoil_energy: ArrayLike):
    """Broadcast E, T; the allowed mask 0 ≤ T ≤ T_max(E), E > 0; E, T made safe outside it."""
    check_nucleus(nucleus)
    e, t = np.broadcast_arrays(
        np.asarray(neutrino_energy, dtype=float), np.asarray(recoil_energy, dtype=float)
    )
    ma = nucleus.mass
    allowed = (e > 0) & (t >= 0) & (t <= max_recoil_energy(e, ma))
    # Outside the allowed region the terms are set to zero; safe values avoid 0/0 warnings there.
    e_safe = np.where(allowed, e, 1.0 * MeV)
    t_safe = np.where(allowed, t, 0.0)
    return e_safe, t_safe, allowed


def _form_factors(nucleus: Nucleus, q, proton_radius: float | None, neutron_radius: float | None):
    default_radius = nucleus.default_helm_rms_radius()
    rp = default_radius if proton_radius is None else proton_radius
    rn = default_radius if neutron_radius is None else neutron_radius
    fp = helm_form_factor(q, rp, nucleus.helm_skin)
    fn = fp if rn == rp else helm_form_factor(q, rn, nucleus.helm_skin)
    return fp, fn


def _safe_denominator(t_safe, allowed, ma, mediator_mass, contact):
    """D on the allowed points, 1 elsewhere (those points are zeroed by the caller)."""
    t_check = np.where(allowed, t_safe, 1.0 * MeV)  # T = 0 outside the region is not an error
    d = propagator_denominator(t_check, ma, mediator_mass, contact=contact)
    return np.where(allowed, d, 1.0)


def _contract(coefficients: NDArray[np.float64], terms: NDArray[np.float64]) -> NDArray[np.float64]:
    """Σ_j c_j b_j with the trailing shapes of c and b broadcast against each other."""
    extra = coefficients.ndim - terms.ndim
    c = coefficients.reshape((len(coefficients),) + (1,) * -extra + coefficients.shape[1:])
    b = terms.reshape((len(terms),) + (1,) * extra + terms.shape[1:])
    return np.sum(c * b, axis=0)


def _isoscalar_spin_structure(nucleus: Nucleus, q, spin_structure: SpinStructure):
    """(S₀₀^T, S₀₀^L)(q) or None for J = 0."""
    if not nucleus.spin > 0:
        return None
    return (
        np.asarray(spin_structure.structure(nucleus, q, "00", "T"), dtype=float),
        np.asarray(spin_structure.structure(nucleus, q, "00", "L"), dtype=float),
    )


# --- basis decomposition ------------------------------------------------------------------------


def ngi_basis_terms(
    interaction: Interaction,
    nucleus: Nucleus,
    neutrino_energy: ArrayLike,
    recoil_energy: ArrayLike,
    mediator_mass: float,
    *,
    contact: bool = False,
    hadronic: HadronicInputs = DEFAULT_HADRONIC_INPUTS,
    proton_radius: float | None = None,
    neutron_radius: float | None = None,
    spin_structure: SpinStructure = DEFAULT_SPIN_STRUCTURE,
) -> NDArray[np.float64]:
    """The coupling-independent NGI terms ``NGI_TERMS[interaction]`` (without the SM terms).

    Multiply by :func:`ngi_basis_coefficients` (its last entries) to get the NGI part of dσ/dT.
    Shape ``(len(NGI_TERMS[interaction]), *broadcast(E, T).shape)``; internal units
    (area/energy); zero outside 0 ≤ T ≤ T_max(E); axial and tensor terms are zero for J = 0.
    """
    _check_interaction(interaction)
    e, t, allowed = _kinematics(nucleus, neutrino_energy, recoil_energy)
    ma = nucleus.mass
    d = _safe_denominator(t, allowed, ma, mediator_mass, contact)
    q = _momentum_transfer_unchecked(t, ma)  # T made finite ≥ 0, m_A checked by _kinematics
    out = np.zeros((len(NGI_TERMS[interaction]), *e.shape))
    if interaction in ("scalar", "vector"):
        fp, fn = _form_factors(nucleus, q, proton_radius, neutron_radius)
        z, n = nucleus.Z, nucleus.N
    if interaction == "scalar":
        charge = z * hadronic.scalar_charge_proton * fp + n * hadronic.scalar_charge_neutron * fn
        out[0] = charge**2 * ma**2 * t / (4.0 * math.pi * e**2 * d**2) * HBARC**2
    elif interaction == "vector":
        kv = G_FERMI**2 * ma / math.pi * vector_kinematic_factor(e, t, ma) * HBARC**2
        v = 3.0 * (z * fp + n * fn) / (math.sqrt(2.0) * G_FERMI * d)
        out[0] = kv * z * fp * v
        out[1] = kv * n * fn * v
        out[2] = kv * v * v
    else:
        spin = _isoscalar_spin_structure(nucleus, q, spin_structure)
        if spin is None:
            return out
        pref = ma / ((2.0 * nucleus.spin + 1.0) * d**2) * HBARC**2
        if interaction == "axial":
            a0 = axial_isoscalar_coupling(hadronic)
            out[0] = a0**2 * pref * spin[0] * np.maximum(axial_kinematic_factor(e, t, ma), 0.0)
        else:
            a0 = tensor_isoscalar_coupling(hadronic)
            response = spin[0] * vector_kinematic_factor(e, t, ma) + 2.0 * spin[1] * (1.0 - t / e)
            out[0] = 4.0 * a0**2 * pref * response
    return np.where(allowed, out, 0.0)


def ngi_basis_coefficients(
    interaction: Interaction,
    coupling: ArrayLike,
    sin2_theta_w: ArrayLike = SIN2_THETA_W,
    *,
    vector_charge: VectorCharge = "universal",
    coupling_sign: int = 1,
) -> NDArray[np.float64]:
    """Coefficients of ``SM_BASIS + NGI_TERMS[interaction]`` at coupling g and sin²θ_W.

    SM part: :func:`cevns.physics.cross_sections.sm_basis_coefficients`; NGI part with
    P = g^ν g^q (:func:`coupling_product`): P² (scalar, axial, tensor) or
    (2 P g_V^p, 2 P g_V^n, P²) (vector).

    Parameters
    ----------
    interaction : {"scalar", "vector", "axial", "tensor"}
    coupling : array_like
        g ≥ 0; broadcast with ``sin2_theta_w``.
    sin2_theta_w : array_like
        Weak mixing angle, in [0, 1] (:func:`~cevns.physics.cross_sections.check_sin2_theta_w`).
    vector_charge, coupling_sign
        See :func:`coupling_product`.

    Returns
    -------
    ndarray
        Shape ``(4 + len(NGI_TERMS[interaction]), *broadcast(coupling, sin2_theta_w).shape)``.
    """
    product = coupling_product(
        coupling, interaction, vector_charge=vector_charge, coupling_sign=coupling_sign
    )
    s2w = check_sin2_theta_w(sin2_theta_w)  # before the float conversion: True is refused
    product, s2w = np.broadcast_arrays(product, s2w)
    sm = sm_basis_coefficients(s2w)
    if interaction == "vector":
        gp = proton_vector_coupling(s2w)
        new = np.stack([2.0 * product * gp, 2.0 * product * G_V_NEUTRON, product * product])
    else:
        new = (product * product)[np.newaxis]
    return np.concatenate([sm, new])


def _model_terms(
    interaction: Interaction,
    nucleus: Nucleus,
    neutrino_energy: ArrayLike,
    recoil_energy: ArrayLike,
    mediator_mass: float,
    *,
    contact: bool,
    hadronic: HadronicInputs,
    proton_radius: float | None,
    neutron_radius: float | None,
    spin_structure: SpinStructure,
) -> NDArray[np.float64]:
    """``SM_BASIS + NGI_TERMS[interaction]`` terms stacked on axis 0 (the full model's basis)."""
    _check_interaction(interaction)
    sm = sm_basis_terms(
        nucleus, neutrino_energy, recoil_energy, proton_radius=proton_radius,
        neutron_radius=neutron_radius, spin_structure=spin_structure,
    )
    new = ngi_basis_terms(
        interaction, nucleus, neutrino_energy, recoil_energy, mediator_mass, contact=contact,
        hadronic=hadronic, proton_radius=proton_radius, neutron_radius=neutron_radius,
        spin_structure=spin_structure,
    )
    return np.concatenate([sm, new])


# --- direct cross sections: coefficients × basis terms ------------------------------------------
#
# Each function below is Σ_j c_j b_j with the terms of :func:`ngi_basis_terms` (the one place where
# the NGI formulas are written) and the coefficients of :func:`ngi_basis_coefficients`; they are
# conveniences for one coupling, not a second implementation.


def scalar_cross_section(
    nucleus: Nucleus,
    neutrino_energy: ArrayLike,
    recoil_energy: ArrayLike,
    coupling: ArrayLike,
    mediator_mass: float,
    *,
    contact: bool = False,
    hadronic: HadronicInputs = DEFAULT_HADRONIC_INPUTS,
    proton_radius: float | None = None,
    neutron_radius: float | None = None,
) -> NDArray[np.float64]:
    """Scalar-mediator dσ_S/dT (paper Eq. 10a), pure BSM: add it to the SM (no interference).

    dσ_S/dT = (g^ν g^q)² Q̂_S(q)² m_A² T / (4π E² (2 m_A T + m_S²)²).

    Parameters
    ----------
    nucleus : Nucleus
        Target.
    neutrino_energy, recoil_energy : array_like
        E and T (internal energy units), broadcast together.
    coupling : array_like
        g = √(g^ν g^q) ≥ 0, broadcast with E and T.
    mediator_mass : float
        m_S ≥ 0 (internal energy units); see the module docstring for m_S = 0 and ``contact``.
    contact : bool
        Heavy-mediator limit: drop 2 m_A T in the propagator.
    hadronic : HadronicInputs
        f_Tq^N and quark masses.
    proton_radius, neutron_radius : float or None
        rms radii of the Helm form factors F_p, F_n; ``None`` = default Helm radius.

    Returns
    -------
    ndarray
        dσ/dT in internal units (area/energy), zero outside 0 ≤ T ≤ T_max(E).
    """
    product = coupling_product(coupling, "scalar")
    term = ngi_basis_terms("scalar", nucleus, neutrino_energy, recoil_energy, mediator_mass,
                           contact=contact, hadronic=hadronic, proton_radius=proton_radius,
                           neutron_radius=neutron_radius)
    return _contract((product * product)[np.newaxis], term)


def vector_cross_section(
    nucleus: Nucleus,
    neutrino_energy: ArrayLike,
    recoil_energy: ArrayLike,
    coupling: ArrayLike,
    mediator_mass: float,
    *,
    contact: bool = False,
    vector_charge: VectorCharge = "universal",
    coupling_sign: int = 1,
    sin2_theta_w: ArrayLike = SIN2_THETA_W,
    proton_radius: float | None = None,
    neutron_radius: float | None = None,
    spin_structure: SpinStructure = DEFAULT_SPIN_STRUCTURE,
) -> NDArray[np.float64]:
    """SM + vector mediator with interference, dσ_{SM+V}/dT (paper Eq. 10b), SM axial included.

    (G_F² m_A/π)(1 − m_A T/(2E²) − T/E) [Q_V(q) + g^ν g^q Q̂_V(q)/(√2 G_F (2 m_A T + m_V²))]²
    + SM axial term, with Q_V = g_V^p Z F_p + g_V^n N F_n and Q̂_V = 3(Z F_p + N F_n).

    Parameters
    ----------
    nucleus, neutrino_energy, recoil_energy, coupling, mediator_mass, contact
        As :func:`scalar_cross_section`.
    vector_charge : {"universal", "B-L"}
        Quark couplings; see :func:`coupling_product`.
    coupling_sign : {+1, -1}
        Sign of g^ν g^q for universal couplings (+1: destructive interference).
    sin2_theta_w : array_like
        Weak mixing angle of the SM part, broadcast with the other arrays.
    proton_radius, neutron_radius : float or None
        rms radii of F_p and F_n (``None`` = default Helm radius).
    spin_structure : SpinStructure
        For the SM axial term.

    Returns
    -------
    ndarray
        Total dσ/dT (SM + V) in internal units, zero outside 0 ≤ T ≤ T_max(E).
    """
    coefficients = ngi_basis_coefficients(
        "vector", coupling, sin2_theta_w, vector_charge=vector_charge, coupling_sign=coupling_sign)
    terms = _model_terms("vector", nucleus, neutrino_energy, recoil_energy, mediator_mass,
                         contact=contact, hadronic=DEFAULT_HADRONIC_INPUTS,
                         proton_radius=proton_radius, neutron_radius=neutron_radius,
                         spin_structure=spin_structure)
    return _contract(coefficients, terms)


def axial_cross_section(
    nucleus: Nucleus,
    neutrino_energy: ArrayLike,
    recoil_energy: ArrayLike,
    coupling: ArrayLike,
    mediator_mass: float,
    *,
    contact: bool = False,
    hadronic: HadronicInputs = DEFAULT_HADRONIC_INPUTS,
    spin_structure: SpinStructure = DEFAULT_SPIN_STRUCTURE,
) -> NDArray[np.float64]:
    """Axial-vector-mediator dσ_A/dT (paper Eq. 10c), pure BSM; zero for J = 0.

    dσ_A/dT = (g^ν)² m_A S_A^T(q)(1 + m_A T/(2E²) − T/E) / ((2J+1)(2 m_A T + m_A'²)²),
    S_A^T = a₀² S₀₀^T, a₀ = 2 g^q (Δu + Δd). No interference with the (isovector) SM axial term.

    Parameters
    ----------
    nucleus, neutrino_energy, recoil_energy, coupling, mediator_mass, contact, hadronic
        As :func:`scalar_cross_section`.
    spin_structure : SpinStructure
        Source of S₀₀^T(q) (default: Helm-scaled, docs/physics.md#sm-cevns [A]).

    Returns
    -------
    ndarray
        dσ/dT in internal units, zero outside 0 ≤ T ≤ T_max(E) and for spin-zero nuclei.
    """
    product = coupling_product(coupling, "axial")
    term = ngi_basis_terms("axial", nucleus, neutrino_energy, recoil_energy, mediator_mass,
                           contact=contact, hadronic=hadronic, spin_structure=spin_structure)
    return _contract((product * product)[np.newaxis], term)


def tensor_cross_section(
    nucleus: Nucleus,
    neutrino_energy: ArrayLike,
    recoil_energy: ArrayLike,
    coupling: ArrayLike,
    mediator_mass: float,
    *,
    contact: bool = False,
    hadronic: HadronicInputs = DEFAULT_HADRONIC_INPUTS,
    spin_structure: SpinStructure = DEFAULT_SPIN_STRUCTURE,
) -> NDArray[np.float64]:
    """Tensor-mediator dσ_T/dT (paper Eq. 10d; docs/physics.md#ngi), pure BSM; zero for J = 0.

    dσ_T/dT = 4 C_T² m_A/(2J+1) [S_T^T(q)(1 − T/E − m_A T/(2E²)) + 2 S_T^L(q)(1 − T/E)],
    C_T = g^ν/(2 m_A T + m_T²), S_T^{T,L} = a₀² S₀₀^{T,L}, a₀ = 2 g^q (δu + δd).

    Parameters
    ----------
    nucleus, neutrino_energy, recoil_energy, coupling, mediator_mass, contact, hadronic
        As :func:`scalar_cross_section`.
    spin_structure : SpinStructure
        Source of S₀₀^T(q) and S₀₀^L(q).

    Returns
    -------
    ndarray
        dσ/dT in internal units, zero outside 0 ≤ T ≤ T_max(E) and for spin-zero nuclei.
    """
    product = coupling_product(coupling, "tensor")
    term = ngi_basis_terms("tensor", nucleus, neutrino_energy, recoil_energy, mediator_mass,
                           contact=contact, hadronic=hadronic, spin_structure=spin_structure)
    return _contract((product * product)[np.newaxis], term)


def ngi_differential_cross_section(
    interaction: Interaction,
    nucleus: Nucleus,
    neutrino_energy: ArrayLike,
    recoil_energy: ArrayLike,
    coupling: ArrayLike,
    mediator_mass: float,
    *,
    contact: bool = False,
    sin2_theta_w: ArrayLike = SIN2_THETA_W,
    vector_charge: VectorCharge = "universal",
    coupling_sign: int = 1,
    hadronic: HadronicInputs = DEFAULT_HADRONIC_INPUTS,
    proton_radius: float | None = None,
    neutron_radius: float | None = None,
    spin_structure: SpinStructure = DEFAULT_SPIN_STRUCTURE,
) -> NDArray[np.float64]:
    """Total dσ/dT = SM + NGI for one interaction (the quantity a detector sees).

    Scalar, axial and tensor are added incoherently to the SM; the vector case is Eq. (10b).
    Arguments as the per-interaction functions; unused ones are ignored.
    """
    coefficients = ngi_basis_coefficients(
        interaction, coupling, sin2_theta_w, vector_charge=vector_charge,
        coupling_sign=coupling_sign)
    terms = _model_terms(interaction, nucleus, neutrino_energy, recoil_energy, mediator_mass,
                         contact=contact, hadronic=hadronic, proton_radius=proton_radius,
                         neutron_radius=neutron_radius, spin_structure=spin_structure)
    return _contract(coefficients, terms)


@dataclass(frozen=True)
class NGIBasis:
    """SM + one NGI mediator as basis terms (:class:`cevns.physics.basis.CrossSectionBasis`).

    ``names`` is ``SM_BASIS + NGI_TERMS[interaction]``; coefficients come from
    :meth:`coefficients` (coupling g and sin²θ_W are strength parameters), the mediator mass is a
    shape parameter (one basis per mass).

    Parameters
    ----------
    interaction : {"scalar", "vector", "axial", "tensor"}
        Lorentz structure of the mediator.
    mediator_mass : float
        m_X ≥ 0 (internal energy units). With ``contact=True`` it only sets the scale of the
        effective coupling g²/m_X².
    contact : bool
        Heavy-mediator limit (propagator 1/m_X²).
    vector_charge : {"universal", "B-L"}
        Vector quark couplings (affects only the coefficients).
    coupling_sign : {+1, -1}
        Sign of g^ν g^q for the universal vector mediator.
    neutron_radius : float or None
        rms neutron radius for F_n (``None`` = default Helm radius of each nucleus).
    proton_radius : {"default", "charge"}
        As :class:`cevns.physics.basis.SMBasis`.
    hadronic : HadronicInputs
        Nucleon-level inputs.
    spin_structure : SpinStructure
        S_ij^{T,L}(q) for the SM axial term and the NGI axial/tensor terms.

    Examples
    --------
    >>> from cevns.physics.nuclei import get_nucleus
    >>> from cevns.physics.units import MeV, keV
    >>> basis = NGIBasis("vector", mediator_mass=10 * MeV)
    >>> b = basis.terms(get_nucleus("Ar40"), "nue", 30 * MeV, [5 * keV, 20 * keV])
    >>> c = basis.coefficients([1e-5, 2e-5])           # shape (7, 2)
    >>> (c.T @ b).shape                                  # (coupling, T)
    (2, 2)
    """

    interaction: Interaction
    mediator_mass: float
    contact: bool = False
    vector_charge: VectorCharge = "universal"
    coupling_sign: int = 1
    neutron_radius: float | None = None
    proton_radius: str = "default"
    hadronic: HadronicInputs = DEFAULT_HADRONIC_INPUTS
    spin_structure: SpinStructure = DEFAULT_SPIN_STRUCTURE  # part of the cache key
    names: tuple[str, ...] = field(init=False)
    sterile_mass: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        _check_interaction(self.interaction)
        _check_mediator_mass(self.mediator_mass, self.contact)
        _check_vector_options(self.vector_charge, self.coupling_sign)
        if self.proton_radius not in ("default", "charge"):
            raise UnknownNameError("proton_radius option", self.proton_radius,
                                   ["default", "charge"])
        object.__setattr__(self, "names", SM_BASIS + NGI_TERMS[self.interaction])

    def terms(
        self, nucleus: Nucleus, flavour: str, neutrino_energy: ArrayLike, recoil_energy: ArrayLike
    ) -> NDArray[np.float64]:
        """SM terms followed by the NGI terms (flavour blind, but the name must be a flavour:
        :func:`cevns.physics.flux.check_flavour`), shape ``(len(names), *shape)``."""
        from cevns.physics.flux import check_flavour

        check_flavour(flavour)
        rp = nucleus.proton_rms_radius if self.proton_radius == "charge" else None
        return _model_terms(
            self.interaction, nucleus, neutrino_energy, recoil_energy, self.mediator_mass,
            contact=self.contact, hadronic=self.hadronic, proton_radius=rp,
            neutron_radius=self.neutron_radius, spin_structure=self.spin_structure,
        )

    def coefficients(
        self, coupling: ArrayLike, sin2_theta_w: ArrayLike = SIN2_THETA_W
    ) -> NDArray[np.float64]:
        """Coefficients matching :attr:`names`; see :func:`ngi_basis_coefficients`."""
        return ngi_basis_coefficients(
            self.interaction, coupling, sin2_theta_w, vector_charge=self.vector_charge,
            coupling_sign=self.coupling_sign,
        )


__all__ = [
    "INTERACTIONS", "VECTOR_CHARGES", "NGI_TERMS", "NGI_PROPAGATOR_POWER", "Interaction",
    "VectorCharge", "NGIBasis",
    "check_coupling_cap", "coupling_product", "nuclear_scalar_charge", "nuclear_vector_charge",
    "axial_isoscalar_coupling", "tensor_isoscalar_coupling", "propagator_denominator",
    "scalar_cross_section",
    "vector_cross_section", "axial_cross_section", "tensor_cross_section",
    "ngi_differential_cross_section", "ngi_basis_terms", "ngi_basis_coefficients",
]
