"""Up-scattering ν + A → χ + A to a sterile neutral lepton through S, V, A, T mediators.

Paper Eqs. (24)–(25); docs/physics.md#up-scattering. A mediator X of mass m_X couples as::

    L ⊃ X ( g_X^ν [χ̄ Γ_X P_L ν] + g_X^q Σ_q [q̄ Γ_X q] ),
    Γ_S = 1, Γ_V = γ^μ, Γ_A = γ^μγ⁵, Γ_T = σ^{μν},

with universal quark couplings and g⁴ = (g_X^ν g_X^q)² the strength (docs/physics.md#ngi convention).
The outgoing lepton χ has mass m₄, there is no interference with the SM (the final state differs),
and the propagator is C = 1/(2 m_A T + m_X²). With E′ = E − T, ``|q|² = T² + 2 m_A T``,
a = E′T + m₄²/2 − m_A T and b = E T + m₄²/2 + m_A T, at g = 1 (exact lepton kinematics)::

    (25a) scalar   dσ/dT = C² Q̂_S² F² (2 m_A + T)(2 m_A T + m₄²) / (16π E²)
    (25b) vector   dσ/dT = C² Q̂_V² F² (m_A/2π) [1 − T/E − m_A T/(2E²) + T²/(2E²)
                                                 − (m₄²/4E²)(1 + (2E − T)/m_A)]
    (25c) axial    dσ/dT = C² m_A/(2(2J+1)E²) a₀² [S₀₀^T K_T + S₀₀^L K_L],
                   K_T = 2EE′ − 2ab/|q|²,  K_L = 2(2ab/|q|² + (m₄² + 2 m_A T)/2),  a₀ = 2(Δu + Δd)
    (25d) tensor   dσ/dT = C² m_A/(2(2J+1)E²) a₀² [S₀₀^T K_T^T + S₀₀^L K_L^T],
                   K_T^T = 8(EE′ + ab/|q|²),  K_L^T = 8(2EE′ − (m₄² + 2 m_A T)/2 − 2ab/|q|²),
                   a₀ = 2(δ_u + δ_d)

All vanish outside E ≥ E_min(T, m₄) (paper Eq. 23). For m₄ → 0 they tend to the NGI cross
sections (10a)–(10d) of docs/physics.md#ngi (the vector one without its SM interference). F is the Helm
form factor at the default radius; S₀₀^{T,L}(q) come from a pluggable
:class:`~cevns.physics.spin_structure.SpinStructure` (zero for J = 0 nuclei, so A and T only act on
the spin-carrying Cs, I and F).

Nuclear charges (g^q factored out; docs/physics.md#ngi):

- scalar: Q̂_S = Σ_N N_N m_N Σ_{q=u,d} f_Tq^N/m_q ≈ 17.29 A (PDG-2022 quark masses, no heavy
  quarks) [A];
- vector: ``"universal"`` (default [A]) Q̂_V = 3A; ``"B-L"`` Q̂_V = −A, and ``coupling`` is then
  g_{B−L} (g^ν g^q = −g_{B−L}²/3 with three quarks per nucleon);
- axial: a_p = a_n = g^q(Δu + Δd), so only the isoscalar S₀₀ enters with a₀ = 2(Δu + Δd);
- tensor: a_p = a_n = g^q(δ_u + δ_d) = 0.580 g^q, a₀ = 2(δ_u + δ_d) [M].

Strength: g (coefficient g⁴, :func:`upscattering_coefficients`); shape: m₄ and m_X
(:class:`UpscatteringBasis`, one term).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal, get_args

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cevns.errors import UnknownNameError
from cevns.physics.constants import (
    HBARC,
)
from cevns.physics.flux import check_flavour
from cevns.physics.form_factors import helm_form_factor
from cevns.physics.kinematics import _momentum_transfer_unchecked
from cevns.physics.ngi import (
    axial_isoscalar_coupling,
    check_coupling_cap,
    nuclear_scalar_charge,
    nuclear_vector_charge,
    tensor_isoscalar_coupling,
)
from cevns.physics.nuclei import Nucleus
from cevns.physics.spin_structure import DEFAULT_SPIN_STRUCTURE, SpinStructure
from cevns.physics.sterile import check_mass, check_nonnegative, upscattering_region

#: Lorentz structure of the mediator.
Interaction = Literal["S", "V", "A", "T"]
INTERACTIONS: tuple[str, ...] = get_args(Interaction)
#: Quark couplings of a vector mediator: universal (default [A]) or gauged B − L.
VectorModel = Literal["universal", "B-L"]
VECTOR_MODELS: tuple[str, ...] = get_args(VectorModel)

# The nuclear charges and nucleon-level inputs are those of the NGI scenario (one place for the
# hadronic inputs: cevns.physics.hadronic, cited there).


def _scalar_charge(nucleus: Nucleus) -> float:
    """Q̂_S = Z m_p Σ_q f_Tq^p/m_q + N m_n Σ_q f_Tq^n/m_q (≈ 17.29 per nucleon)."""
    return nuclear_scalar_charge(nucleus)


def _vector_charge(nucleus: Nucleus, model: str = "universal") -> float:
    """Q̂_V = 3A (universal quark coupling) or −A (B − L, coupling g_{B−L})."""
    if model not in VECTOR_MODELS:
        raise UnknownNameError("vector quark-coupling model", model, VECTOR_MODELS)
    return nuclear_vector_charge(nucleus) if model == "universal" else -nucleus.A


AXIAL_ISOSCALAR_COUPLING = axial_isoscalar_coupling()
TENSOR_ISOSCALAR_COUPLING = tensor_isoscalar_coupling()


@dataclass(frozen=True)
class _Kinematics:
    """Validated, broadcast kinematics; E and T replaced by 1 outside the allowed region.

    ``t_only`` is the recoil array as given (T ≤ 0 replaced by 1), not broadcast against E: the
    factors that depend on T alone (form factor, spin structure, propagator) are evaluated on it,
    once per recoil node instead of once per (E, T) pair — the engine passes T as a column
    ``(n_T, 1)`` against E nodes ``(n_T, n_E)``. Where E and T are allowed the values are the same.
    """

    allowed: NDArray[np.bool_]
    e: NDArray[np.float64]
    t: NDArray[np.float64]
    m_a: float
    m4: float
    propagator: NDArray[np.float64]  # C = 1/(2 m_A T + m_X²), on t_only
    t_only: NDArray[np.float64]

    @property
    def q(self) -> NDArray[np.float64]:
        """|q| on :attr:`t_only` (broadcasts against E); unchecked: :func:`_kinematics` made
        ``t_only`` finite > 0 and checked m_A (through :func:`upscattering_region`)."""
        return _momentum_transfer_unchecked(self.t_only, self.m_a)

    def lepton_invariants(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(E E′, a b/|q|²) of the spin-dependent contractions."""
        e, t, ma, m4sq = self.e, self.t, self.m_a, self.m4**2
        a = (e - t) * t + 0.5 * m4sq - ma * t
        b = e * t + 0.5 * m4sq + ma * t
        return e * (e - t), a * b / (t * t + 2.0 * ma * t)


def _kinematics(
    nucleus: Nucleus, neutrino_energy: ArrayLike, recoil_energy: ArrayLike, sterile_mass: float,
    mediator_mass: float,
) -> _Kinematics:
    t_given = np.asarray(recoil_energy, dtype=float)
    e, t = np.broadcast_arrays(np.asarray(neutrino_energy, dtype=float), t_given)
    ma = nucleus.mass
    # E_min(T) on the recoil array as given, compared with E by broadcasting
    allowed = upscattering_region(e, t_given, ma, sterile_mass)
    e = np.where(allowed, e, 1.0)
    t = np.where(allowed, t, 1.0)
    t_only = np.where(t_given > 0, t_given, 1.0)
    return _Kinematics(allowed, e, t, ma, sterile_mass,
                       1.0 / (2.0 * ma * t_only + mediator_mass**2), t_only)


def _scalar(k: _Kinematics, nucleus: Nucleus, charge: float) -> NDArray[np.float64]:
    ff = helm_form_factor(k.q, nucleus.default_helm_rms_radius(), nucleus.helm_skin)
    t = k.t_only  # the numerator depends on T alone
    kin = (2.0 * k.m_a + t) * (2.0 * k.m_a * t + k.m4**2) / (16.0 * math.pi * k.e**2)
    return k.propagator**2 * (charge * ff) ** 2 * kin


def _vector(k: _Kinematics, nucleus: Nucleus, charge: float) -> NDArray[np.float64]:
    e, t, ma = k.e, k.t, k.m_a
    ff = helm_form_factor(k.q, nucleus.default_helm_rms_radius(), nucleus.helm_skin)
    bracket = (1.0 - t / e - ma * t / (2.0 * e * e) + t * t / (2.0 * e * e)
               - k.m4**2 / (4.0 * e * e) * (1.0 + (2.0 * e - t) / ma))
    return k.propagator**2 * (charge * ff) ** 2 * ma / (2.0 * math.pi) * bracket


def _spin_dependent(
    k: _Kinematics, nucleus: Nucleus, isoscalar: float, spin_structure: SpinStructure,
    tensor: bool,
) -> NDArray[np.float64]:
    q = k.q
    s_t = spin_structure.structure(nucleus, q, "00", "T")
    s_l = spin_structure.structure(nucleus, q, "00", "L")
    e_eprime, ab_q2 = k.lepton_invariants()
    mass_term = 0.5 * (k.m4**2 + 2.0 * k.m_a * k.t_only)
    if tensor:
        k_t = 8.0 * (e_eprime + ab_q2)
        k_l = 8.0 * (2.0 * e_eprime - mass_term - 2.0 * ab_q2)
    else:
        k_t = 2.0 * e_eprime - 2.0 * ab_q2
        k_l = 2.0 * (2.0 * ab_q2 + mass_term)
    pref = k.propagator**2 * k.m_a / (2.0 * (2.0 * nucleus.spin + 1.0) * k.e**2) * isoscalar**2
    return pref * (s_t * k_t + s_l * k_l)


def _unit_cross_section(
    interaction: str,
    nucleus: Nucleus,
    neutrino_energy: ArrayLike,
    recoil_energy: ArrayLike,
    sterile_mass: float,
    mediator_mass: float,
    vector_model: str,
    spin_structure: SpinStructure,
) -> NDArray[np.float64]:
    """dσ/dT at g = 1 with the default charges, area/energy; validated shape parameters."""
    k = _kinematics(nucleus, neutrino_energy, recoil_energy, sterile_mass, mediator_mass)
    if interaction == "S":
        value = _scalar(k, nucleus, _scalar_charge(nucleus))
    elif interaction == "V":
        value = _vector(k, nucleus, _vector_charge(nucleus, vector_model))
    elif nucleus.spin == 0:  # no spin response at all; a custom SpinStructure decides otherwise
        return np.zeros(k.e.shape)
    elif interaction == "A":
        value = _spin_dependent(k, nucleus, AXIAL_ISOSCALAR_COUPLING, spin_structure, tensor=False)
    else:
        value = _spin_dependent(k, nucleus, TENSOR_ISOSCALAR_COUPLING, spin_structure, tensor=True)
    return np.where(k.allowed, value * HBARC**2, 0.0)


def _check_interaction(interaction: str) -> str:
    if interaction not in INTERACTIONS:
        raise UnknownNameError("up-scattering interaction", interaction, INTERACTIONS)
    return interaction


def upscattering_differential_cross_section(
    interaction: Interaction,
    nucleus: Nucleus,
    neutrino_energy: ArrayLike,
    recoil_energy: ArrayLike,
    *,
    coupling: ArrayLike,
    sterile_mass: float,
    mediator_mass: float,
    vector_model: VectorModel = "universal",
    spin_structure: SpinStructure = DEFAULT_SPIN_STRUCTURE,
) -> NDArray[np.float64]:
    """dσ/dT of ν + A → χ(m₄) + A through a mediator X of Lorentz structure ``interaction``.

    Parameters
    ----------
    interaction : {"S", "V", "A", "T"}
        Scalar, vector, axial or tensor mediator (formulas (25a)–(25d), module docstring).
    nucleus : Nucleus
        Target nucleus; A and T vanish for J = 0.
    neutrino_energy, recoil_energy : array_like
        E and T, internal energy units; broadcast against each other.
    coupling : array_like
        g = √(g_X^ν g_X^q) ≥ 0 (g_{B−L} for ``vector_model="B-L"``); the cross section is ∝ g⁴.
        Broadcasts against E and T.
    sterile_mass, mediator_mass : float
        m₄ ≥ 0 and m_X ≥ 0, internal energy units.
    vector_model : {"universal", "B-L"}
        Quark couplings of the vector mediator (Q̂_V = 3A or −A); ignored for S, A, T.
    spin_structure : SpinStructure
        Source of S₀₀^{T,L}(q) for A and T.

    Returns
    -------
    ndarray
        dσ/dT in internal units (area/energy), zero outside E ≥ E_min(T, m₄), T > 0.

    Raises
    ------
    ConfigError
        For g < 0 or g > 4π (:data:`~cevns.physics.constants.MAX_COUPLING`), m₄ < 0 or m_X < 0
        (naming the parameter).
    UnknownNameError
        For an unknown ``interaction`` or ``vector_model``.
    """
    _check_interaction(interaction)
    g = check_coupling(coupling)
    m4 = check_mass("sterile_mass", sterile_mass)
    mx = check_mass("mediator_mass", mediator_mass)
    unit = _unit_cross_section(interaction, nucleus, neutrino_energy, recoil_energy, m4, mx,
                               vector_model, spin_structure)
    return g**4 * unit


def check_coupling(coupling: ArrayLike) -> NDArray[np.float64]:
    """g as a float array, or a :class:`~cevns.errors.ConfigError` naming ``coupling``: finite,
    ≥ 0 and at most :data:`~cevns.physics.constants.MAX_COUPLING` (4π, the strong-coupling
    limit; g⁴ overflows near 1e77)."""
    check_nonnegative("coupling", coupling)
    g = np.asarray(coupling, dtype=float)
    check_coupling_cap(g)
    return g


def upscattering_coefficients(coupling: ArrayLike) -> NDArray[np.float64]:
    """Coefficients of :class:`UpscatteringBasis`: g⁴, shape ``(1, *np.shape(coupling))``; g ≥ 0
    and at most :data:`~cevns.physics.constants.MAX_COUPLING` = 4π (a larger g is a
    :class:`~cevns.errors.ConfigError`, never an overflowing g⁴)."""
    return check_coupling(coupling)[None, ...] ** 4


@dataclass(frozen=True)
class UpscatteringBasis:
    """Up-scattering to χ(m₄) as one basis term, the cross section at g = 1 (coefficient g⁴).

    Flavour universal: the same term for ``"numu"``, ``"nue"`` and ``"numubar"``.

    Parameters
    ----------
    interaction : {"S", "V", "A", "T"}
        Lorentz structure of the mediator.
    sterile_mass, mediator_mass : float
        m₄ ≥ 0 and m_X ≥ 0 (shape parameters), internal energy units. The engine uses
        ``sterile_mass`` for E_min(T, m₄) and the recoil range.
    vector_model : {"universal", "B-L"}
        Quark couplings of a vector mediator (default universal, Q̂_V = 3A [A]).
    spin_structure : SpinStructure
        Source of S₀₀^{T,L}(q) for A and T.
    """

    interaction: Interaction
    sterile_mass: float
    mediator_mass: float
    vector_model: VectorModel = "universal"
    spin_structure: SpinStructure = DEFAULT_SPIN_STRUCTURE  # part of the cache key
    #: The terms do not depend on the flavour: the engine evaluates them once for all flavours
    #: with the same E nodes (``cevns.rates.engine.differential_rate_per_target``).
    flavour_blind: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _check_interaction(self.interaction)
        check_mass("sterile_mass", self.sterile_mass)
        check_mass("mediator_mass", self.mediator_mass)
        if self.vector_model not in VECTOR_MODELS:
            raise UnknownNameError("vector quark-coupling model", self.vector_model, VECTOR_MODELS)

    @property
    def names(self) -> tuple[str, ...]:
        """One term, ``"upscattering_<interaction>"``."""
        return (f"upscattering_{self.interaction}",)

    def terms(
        self, nucleus: Nucleus, flavour: str, neutrino_energy: ArrayLike, recoil_energy: ArrayLike
    ) -> NDArray[np.float64]:
        """The g = 1 cross section, shape ``(1, *broadcast shape)``."""
        check_flavour(flavour)
        return _unit_cross_section(
            self.interaction, nucleus, neutrino_energy, recoil_energy, self.sterile_mass,
            self.mediator_mass, self.vector_model, self.spin_structure,
        )[None, ...]
