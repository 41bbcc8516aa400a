"""Independent reference for the NGI cross sections (scalar, vector, axial, tensor), written without cevns.

Every formula is re-typed from the literature in plain MeV / cm units, with the raw hadronic numbers
typed in; nothing is imported from ``cevns`` (the nucleus data — Z, N, mass, J, ⟨S_p⟩, ⟨S_n⟩ — are
passed in as a plain dict by the caller).

Sources of the formulas
-----------------------
- Scalar and vector, in the kinematic form of M. Lindner, W. Rodejohann, X.-J. Xu, JHEP 03 (2017) 097,
  arXiv:1612.04150, Eq. (2.9)-(2.10)::

      dσ/dT = G_F² M/(4π) [ ξ_S² M T/(2E²) + ξ_V² (1 − M T/(2E²) − T/E) + ... ]

  with the coherent effective couplings expressed through the light-mediator amplitude of
  arXiv:2501.12443, Eqs. (10a)-(10b) and (11): for a mediator of mass m_X and couplings g^ν g^q = P
  the nuclear couplings are  G_F ξ_S/√2 = P Q̂_S F(q)/(2 M T + m_X²)  and
  ξ_V = 2 Q_W^SM F(q) + 2 P Q̂_V F(q)/(√2 G_F (2 M T + m_X²))  with Q_W^SM = (1/2 − 2 s²_W) Z − N/2
  (the SM part of ξ_V is 2× the weak charge in this normalisation: G_F² M/(4π) (2Q)² = G_F² M Q²/π).
- Axial and tensor: arXiv:2501.12443 Eqs. (10c)-(10d) (the isoscalar spin-structure functions S₀₀^{T,L}
  of Hoferichter, Menéndez, Schwenk, PRD 102, 074018 (2020), normalised at q = 0 by ⟨S_p⟩, ⟨S_n⟩:
  S₀₀^T(0) = (2J+1)(J+1)/(6πJ) (⟨S_p⟩ + ⟨S_n⟩)², S^L = S^T/2, both scaled by the Helm form factor
  squared — docs/physics.md, spin-structure functions).
- SM axial term: Hoferichter, Menéndez, Schwenk 2020 (the paper's Eq. 3) with S₁₁^T from
  (⟨S_p⟩ − ⟨S_n⟩)², g_A = Δu − Δd.

Hadronic numbers (typed here): f_Tu^p = 0.0208, f_Td^p = 0.0411, f_Tu^n = 0.0189, f_Td^n = 0.0451
(Hoferichter et al. 2015, via Del Nobile arXiv:2104.12785); m_u = 2.16 MeV, m_d = 4.67 MeV (PDG 2022);
Δu = 0.777, Δd = −0.438 (Lin et al. 2018); δu = 0.784, δd = −0.204 (Gupta et al. 2018).
"""

from __future__ import annotations

import math

GF = 1.1663788e-11  # MeV^-2
HBARC_MEV_CM = 197.3269804e-13  # MeV cm
HBARC_MEV_FM = 197.3269804
AMU = 931.49410242  # MeV
M_P, M_N = 938.27208816, 939.56542052
M_U, M_D = 2.16, 4.67
SW2 = 0.23857
SKIN_FM = 1.0

Q_S_PROTON = M_P * (0.0208 / M_U + 0.0411 / M_D)
Q_S_NEUTRON = M_N * (0.0189 / M_U + 0.0451 / M_D)
DELTA_U, DELTA_D = 0.777, -0.438
TENSOR_U, TENSOR_D = 0.784, -0.204

INTERACTIONS = ("scalar", "vector", "axial", "tensor")


def helm(q_mev: float, a: float) -> float:
    """Helm form factor at the default radius (R₀ = 1.2 A^{1/3} fm, skin 1 fm)."""
    rms = math.sqrt(0.6 * (1.2 * a ** (1 / 3)) ** 2 + 3 * SKIN_FM**2)
    k = q_mev / HBARC_MEV_FM
    r0 = math.sqrt(5.0 / 3.0 * rms**2 - 5.0 * SKIN_FM**2)
    x = k * r0
    j = 1.0 - x * x / 10.0 if x < 1e-4 else 3.0 * (math.sin(x) - x * math.cos(x)) / x**3
    return j * math.exp(-0.5 * (k * SKIN_FM) ** 2)


def product(g: float, interaction: str, vector_charge: str = "universal", sign: int = 1) -> float:
    """g^ν g^q: g² (scalar/axial/tensor, universal vector × sign) or −g²/3 (B−L)."""
    if interaction == "vector" and vector_charge == "B-L":
        return -g * g / 3.0
    return (sign if interaction == "vector" else 1) * g * g


def s00(nuc: dict, f: float) -> tuple[float, float]:
    """(S₀₀^T, S₀₀^L)(q) of the Helm-scaled normalisation; zero for J = 0."""
    j = nuc["spin"]
    if j == 0:
        return 0.0, 0.0
    st = (2 * j + 1) * (j + 1) / (6 * math.pi * j) * (nuc["sp"] + nuc["sn"]) ** 2 * f * f
    return st, 0.5 * st


def sm_axial(e: float, t: float, nuc: dict, f: float) -> float:
    """SM axial term in MeV^-3 (HMS normalisation, g_A = Δu − Δd)."""
    j = nuc["spin"]
    if j == 0:
        return 0.0
    ma = nuc["mass_u"] * AMU
    s11 = (2 * j + 1) * (j + 1) / (6 * math.pi * j) * (nuc["sp"] - nuc["sn"]) ** 2 * f * f
    fa = 8 * math.pi / (2 * j + 1) * (DELTA_U - DELTA_D) ** 2 * s11
    return GF**2 * ma / (4 * math.pi) * (1 + ma * t / (2 * e * e) - t / e) * fa


def sm_vector(e: float, t: float, nuc: dict, f: float, sw2: float = SW2) -> float:
    """SM vector term in MeV^-3."""
    ma = nuc["mass_u"] * AMU
    qw = ((0.5 - 2 * sw2) * nuc["Z"] - 0.5 * nuc["N"]) * f
    return GF**2 * ma / math.pi * max(1 - ma * t / (2 * e * e) - t / e, 0.0) * qw * qw


def _pieces(interaction: str, e: float, t: float, nuc: dict, g: float, mx: float, *,
            contact: bool = False, vector_charge: str = "universal", sign: int = 1,
            sw2: float = SW2) -> tuple[float, float]:
    """(SM part, new part) of dσ/dT in MeV^-3.

    Vector: (SM axial term, the whole vector term [SM + V]²) since the two interfere.
    """
    ma = nuc["mass_u"] * AMU
    if t < 0 or t > 2 * e * e / (ma + 2 * e):
        return 0.0, 0.0
    q = math.sqrt(t * t + 2 * ma * t)
    a = nuc["Z"] + nuc["N"]
    f = helm(q, a)
    d = mx * mx if contact else 2 * ma * t + mx * mx
    p = product(g, interaction, vector_charge, sign)
    x_v = 1 - ma * t / (2 * e * e) - t / e
    pref = GF**2 * ma / (4 * math.pi)  # Lindner-Rodejohann-Xu normalisation
    sm = sm_vector(e, t, nuc, f, sw2) + sm_axial(e, t, nuc, f)
    if interaction == "scalar":
        xi_s = math.sqrt(2.0) * p * (nuc["Z"] * Q_S_PROTON + nuc["N"] * Q_S_NEUTRON) * f / (GF * d)
        return sm, pref * xi_s**2 * ma * t / (2 * e * e)
    if interaction == "vector":
        qw = (0.5 - 2 * sw2) * nuc["Z"] - 0.5 * nuc["N"]
        xi_v = 2 * qw * f + 2 * p * 3 * a * f / (math.sqrt(2.0) * GF * d)
        return sm_axial(e, t, nuc, f), pref * xi_v**2 * max(x_v, 0.0)
    st, sl = s00(nuc, f)
    if st == 0.0:
        return sm, 0.0
    if interaction == "axial":
        a0 = 2 * (DELTA_U + DELTA_D)
        kin = max(1 + ma * t / (2 * e * e) - t / e, 0.0)
        return sm, p * p * a0 * a0 * ma * st * kin / ((2 * nuc["spin"] + 1) * d * d)
    if interaction == "tensor":
        a0 = 2 * (TENSOR_U + TENSOR_D)
        response = st * max(x_v, 0.0) + 2 * sl * (1 - t / e)
        return sm, 4 * p * p * a0 * a0 * ma * response / ((2 * nuc["spin"] + 1) * d * d)
    raise ValueError(interaction)


def dsigma_dt(interaction: str, e: float, t: float, nuc: dict, g: float, mx: float, **kw) -> float:
    """SM + NGI dσ/dT in cm²/MeV (E, T, m_X in MeV); zero above T_max = 2E²/(M + 2E).

    Keywords: ``contact``, ``vector_charge``, ``sign``, ``sw2``.
    """
    sm, new = _pieces(interaction, e, t, nuc, g, mx, **kw)
    return (sm + new) * HBARC_MEV_CM**2


def dsigma_dt_new(interaction: str, e: float, t: float, nuc: dict, g: float, mx: float,
                  **kw) -> float:
    """Pure new-physics part in cm²/MeV (scalar, axial, tensor: no interference with the SM)."""
    if interaction == "vector":
        raise ValueError("the vector NGI interferes with the SM: use dsigma_dt")
    return _pieces(interaction, e, t, nuc, g, mx, **kw)[1] * HBARC_MEV_CM**2
