"""Nucleon-level hadronic inputs of the neutrino generalized interactions (docs/physics.md#ngi).

A light mediator coupling with the same strength g^q to u and d quarks (flavour-universal quark
couplings, as in the paper) sees each nucleon through one number per Lorentz structure:

scalar
    m_N Σ_{q=u,d} f_Tq^N / m_q  (≈ 17.29 for p and n with the defaults; no s, heavy-quark or gluon
    term [A]);
vector
    the number of valence quarks, 3 for p and n (conserved current, exact);
axial
    Δu + Δd = 0.339 for p and, by isospin, for n (isoscalar: Δu^n = Δd^p, Δd^n = Δu^p);
tensor
    δu + δd = 0.580 for p and, by isospin, for n [M].

Every number is a field of the frozen dataclass :class:`HadronicInputs`, so a different set is one
``dataclasses.replace`` away::

    >>> from dataclasses import replace
    >>> from cevns.physics.hadronic import DEFAULT_HADRONIC_INPUTS
    >>> older = replace(DEFAULT_HADRONIC_INPUTS, tensor_u=0.54, tensor_d=-0.23)
    >>> round(older.tensor_isoscalar, 2)
    0.31

Sources of the defaults:

- f_Tq^N: M. Hoferichter, J. Ruiz de Elvira, B. Kubis, U.-G. Meißner, PRL 115, 092301 (2015)
  (Roy–Steiner σ_πN), as tabulated by E. Del Nobile, *The Theory of Direct Dark Matter Detection*,
  Lect. Notes Phys. 996 (2022), arXiv:2104.12785 (the paper's Ref. [98]) [R].
- m_u, m_d: PDG 2022 MS-bar at 2 GeV (:data:`cevns.physics.constants.M_UP`, ``M_DOWN``) [R].
- Δu, Δd: lattice, H.-W. Lin et al., Prog. Part. Nucl. Phys. 100, 107 (2018)
  (:data:`cevns.physics.constants.DELTA_U`, ``DELTA_D``) [M-high].
- δu, δd (tensor charges, MS-bar at 2 GeV): R. Gupta et al., PRD 98, 091501 (2018),
  arXiv:1808.07597, g_T^u = 0.784(28)(10), g_T^d = −0.204(11)(10) [M]; the older
  Bhattacharya et al. (2015) values 0.774 / −0.233 (or 0.54 / −0.23 in some reviews) are
  alternatives.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from cevns.errors import ConfigError
from cevns.physics.constants import DELTA_D, DELTA_U, M_DOWN, M_NEUTRON, M_PROTON, M_UP
from cevns.physics.units import MeV

#: Tensor charge of the u quark in the proton, g_T^u = 0.784 (Gupta et al. 2018) [M].
TENSOR_CHARGE_U = 0.784
#: Tensor charge of the d quark in the proton, g_T^d = −0.204 (Gupta et al. 2018) [M].
TENSOR_CHARGE_D = -0.204


@dataclass(frozen=True)
class HadronicInputs:
    """Nucleon matrix elements for flavour-universal u, d couplings (see module docstring).

    Attributes
    ----------
    f_tu_proton, f_td_proton, f_tu_neutron, f_td_neutron : float
        Scalar quark-mass fractions ``f_Tq^N = ⟨N| m_q q̄q |N⟩ / m_N`` (Hoferichter et al. 2015).
    m_up, m_down : float
        Light-quark masses (internal energy units), MS-bar at 2 GeV (PDG 2022).
    m_proton, m_neutron : float
        Nucleon masses (internal energy units).
    delta_u, delta_d : float
        Quark spin fractions Δu, Δd of the proton (lattice, Lin et al. 2018).
    tensor_u, tensor_d : float
        Tensor charges δu, δd of the proton (lattice, Gupta et al. 2018) [M].

    Neutron values of Δq and δq follow from isospin symmetry (u ↔ d).
    """

    f_tu_proton: float = 0.0208
    f_td_proton: float = 0.0411
    f_tu_neutron: float = 0.0189
    f_td_neutron: float = 0.0451
    m_up: float = M_UP
    m_down: float = M_DOWN
    m_proton: float = M_PROTON
    m_neutron: float = M_NEUTRON
    delta_u: float = DELTA_U
    delta_d: float = DELTA_D
    tensor_u: float = TENSOR_CHARGE_U
    tensor_d: float = TENSOR_CHARGE_D

    def __post_init__(self) -> None:
        for name in ("m_up", "m_down", "m_proton", "m_neutron"):
            value = getattr(self, name)
            if not value > 0:
                raise ConfigError(
                    f"HadronicInputs.{name} must be a positive mass, got {value / MeV:g} MeV"
                )
        for f in fields(self):
            if f.name.startswith("f_t") and not 0.0 <= getattr(self, f.name) < 1.0:
                raise ConfigError(
                    f"HadronicInputs.{f.name} is a mass fraction in [0, 1), "
                    f"got {getattr(self, f.name)!r}"
                )

    @property
    def scalar_charge_proton(self) -> float:
        """m_p (f_Tu^p/m_u + f_Td^p/m_d): the proton's scalar charge per unit quark coupling."""
        return self.m_proton * (self.f_tu_proton / self.m_up + self.f_td_proton / self.m_down)

    @property
    def scalar_charge_neutron(self) -> float:
        """m_n (f_Tu^n/m_u + f_Td^n/m_d): the neutron's scalar charge per unit quark coupling."""
        return self.m_neutron * (self.f_tu_neutron / self.m_up + self.f_td_neutron / self.m_down)

    @property
    def axial_isoscalar(self) -> float:
        """Δu + Δd: the axial charge of p (and n) for a universal quark coupling."""
        return self.delta_u + self.delta_d

    @property
    def axial_isovector(self) -> float:
        """g_A = Δu − Δd (the SM isovector axial coupling; not used by the NGI terms)."""
        return self.delta_u - self.delta_d

    @property
    def tensor_isoscalar(self) -> float:
        """δu + δd: the tensor charge of p (and n) for a universal quark coupling."""
        return self.tensor_u + self.tensor_d


#: The defaults listed in the module docstring.
DEFAULT_HADRONIC_INPUTS = HadronicInputs()

__all__ = ["HadronicInputs", "DEFAULT_HADRONIC_INPUTS", "TENSOR_CHARGE_U", "TENSOR_CHARGE_D"]
