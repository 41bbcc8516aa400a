"""Scale dependence of the weak mixing angle in the MS-bar scheme (paper Fig. 3).

One-loop renormalisation-group running below the Z pole with fermion threshold matching, in the
form of Erler & Ramsey-Musolf, Phys. Rev. D 72, 073003 (2005), Eqs. (7)–(10), and Erler &
Ferro-Hernández, JHEP 03 (2018) 196:

* between two thresholds the set of active charged fermions f (colour factor N_f, charge Q_f,
  weak isospin T_f of the left-handed field) is fixed, and at one loop both 1/α̂ and sin²θ̂/α̂
  run linearly in ln μ:

      1/α̂(μ) = 1/α̂(μ₀) − (2 b / 3π) ln(μ/μ₀),          b = Σ_f N_f Q_f²,
      sin²θ̂(μ) = λ + [α̂(μ)/α̂(μ₀)] (sin²θ̂(μ₀) − λ),      λ = Σ_f N_f T_f Q_f / (2 b);

  λ is the fixed point at which the charge-weighted vector couplings Σ_f N_f Q_f (T_f − 2 Q_f
  sin²θ̂) vanish, so that the γ–Z mixing and hence the running stop (with charged leptons alone
  λ = 1/4);
* each fermion decouples at μ = m_f (leptons: pole masses; c, b: MS-bar masses m_q(m_q); PDG);
  below m_e nothing runs: sin²θ̂(0) = sin²θ̂(m_e).

The W boson and the top quark are decoupled at the starting scale M_Z [A]. The light quarks u, d,
s cannot be treated perturbatively (their contribution is the hadronic vacuum polarisation, which
Erler et al. take from e⁺e⁻ data through a dispersion relation). Here they share one effective
threshold, :data:`LIGHT_QUARK_THRESHOLD_GEV`, **calibrated** so that running down from the PDG
Z-pole value sin²θ̂(M_Z) = 0.23122 reproduces the published low-energy value sin²θ̂(0) = 0.23857(5)
(Erler & Ferro-Hernández 2018; PDG). The calibrated threshold, 0.378 GeV, is of the size of a
constituent-quark mass, as expected for an effective description of the hadronic loop; the same
model then gives 1/α̂(0) = 136.5 against 137.036 (0.4 % off: the light-quark contributions to α̂
and to sin²θ̂ are not both described by one mass; ``tests/physics/test_running.py``). The curve is
therefore anchored at both ends and its shape between them, at the 10⁻⁴ level, is that of the
one-loop model. Above M_Z the curve is not provided.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cevns.errors import ConfigError, finite_number

#: Z mass [GeV] (PDG 2022).
M_Z_GEV = 91.1876
#: sin²θ̂_W(M_Z), MS-bar (PDG 2024 electroweak review, ŝ²_Z = 0.23122(4)).
SIN2_THETA_W_MZ_MSBAR = 0.23122
#: 1/α̂(M_Z), MS-bar (PDG 2022 electroweak review, 127.951(9)).
ALPHA_INV_MZ_MSBAR = 127.951
#: Published low-energy anchor sin²θ̂_W(0) = 0.23857(5) (Erler & Ferro-Hernández 2018; PDG 2022).
SIN2_THETA_W_ZERO_MSBAR = 0.23857
#: Effective threshold [GeV] of u, d, s, calibrated on :data:`SIN2_THETA_W_ZERO_MSBAR` (see module
#: docstring; :func:`calibrate_light_quark_threshold` recomputes it).
LIGHT_QUARK_THRESHOLD_GEV = 0.378027


#: Range [GeV] in which :func:`calibrate_light_quark_threshold` searches the threshold.
_CALIBRATION_BRACKET_GEV = (0.05, 1.0)


@dataclass(frozen=True)
class Fermion:
    """A charged fermion of the running: name, threshold [GeV], colours, charge, T₃ of ψ_L."""

    name: str
    threshold_GeV: float | None
    colours: int
    charge: float
    isospin: float


#: Charged fermions lighter than M_Z. Thresholds: lepton pole masses and m_c(m_c) = 1.27 GeV,
#: m_b(m_b) = 4.18 GeV (PDG 2022); ``None`` = the light-quark threshold.
FERMIONS = (
    Fermion("e", 0.51099895e-3, 1, -1.0, -0.5),
    Fermion("mu", 0.1056583755, 1, -1.0, -0.5),
    Fermion("tau", 1.77686, 1, -1.0, -0.5),
    Fermion("u", None, 3, 2.0 / 3.0, 0.5),
    Fermion("d", None, 3, -1.0 / 3.0, -0.5),
    Fermion("s", None, 3, -1.0 / 3.0, -0.5),
    Fermion("c", 1.27, 3, 2.0 / 3.0, 0.5),
    Fermion("b", 4.18, 3, -1.0 / 3.0, -0.5),
)


def _thresholds(light: float) -> list[tuple[float, Fermion]]:
    return sorted(((f.threshold_GeV or light, f) for f in FERMIONS), key=lambda t: -t[0])


def beta_coefficients(active: tuple[Fermion, ...]) -> tuple[float, float]:
    """(b, λ) of a set of active fermions: b = Σ N Q², λ = Σ N T Q / (2 b) (λ = nan if b = 0)."""
    b = sum(f.colours * f.charge**2 for f in active)
    num = sum(f.colours * f.isospin * f.charge for f in active)
    return b, (num / (2.0 * b) if b > 0 else math.nan)


def _run_one(mu: float, light: float, s2_mz: float, ainv_mz: float) -> tuple[float, float]:
    scale, ainv, s2 = M_Z_GEV, ainv_mz, s2_mz
    active = list(FERMIONS)
    for threshold, fermion in _thresholds(light) + [(0.0, None)]:
        stop = max(threshold, mu)
        b, lam = beta_coefficients(tuple(active))
        if b > 0 and stop < scale:
            ainv_new = ainv - (2.0 * b / (3.0 * math.pi)) * math.log(stop / scale)
            s2 = lam + (ainv / ainv_new) * (s2 - lam)
            ainv, scale = ainv_new, stop
        if mu >= threshold or fermion is None:
            break
        active.remove(fermion)
    return s2, ainv


def _check_scale(mu_GeV: ArrayLike) -> NDArray[np.float64]:
    mu = np.asarray(mu_GeV, dtype=float)
    bad = ~((mu >= 0) & (mu <= M_Z_GEV * (1 + 1e-12)))
    if np.any(bad):
        raise ConfigError(f"scale mu_GeV must lie in [0, M_Z = {M_Z_GEV} GeV] (the running is "
                          f"provided below the Z pole only), got {mu[bad].flat[0]!r}")
    return mu


def _check_inputs(light_quark_threshold_GeV: object, sin2_mz: object, alpha_inv_mz: object
                  ) -> None:
    """The inputs of the running, checked once per call: the light-quark threshold a finite
    scale > 0 [GeV], sin²θ̂(M_Z) a squared sine in the open (0, 1), 1/α̂(M_Z) finite and > 0."""
    finite_number(light_quark_threshold_GeV, "light_quark_threshold_GeV",
                  "a finite scale > 0 (GeV)", lambda v: v > 0)
    finite_number(sin2_mz, "sin2_mz", "a finite number in (0, 1) (a squared sine)",
                  lambda v: 0 < v < 1)
    finite_number(alpha_inv_mz, "alpha_inv_mz", "a finite number > 0 (1/α̂ at M_Z)",
                  lambda v: v > 0)


def sin2_theta_w_msbar(mu_GeV: ArrayLike, *, light_quark_threshold_GeV: float =
                       LIGHT_QUARK_THRESHOLD_GEV, sin2_mz: float = SIN2_THETA_W_MZ_MSBAR,
                       alpha_inv_mz: float = ALPHA_INV_MZ_MSBAR) -> NDArray[np.float64]:
    """sin²θ̂_W(μ) in the MS-bar scheme for 0 ≤ μ ≤ M_Z [GeV] (one loop, thresholds; module doc).

    ``light_quark_threshold_GeV`` must be finite and > 0, ``sin2_mz`` in (0, 1) and
    ``alpha_inv_mz`` finite and > 0 (else :class:`~cevns.errors.ConfigError`).
    """
    _check_inputs(light_quark_threshold_GeV, sin2_mz, alpha_inv_mz)
    mu = _check_scale(mu_GeV)
    out = [_run_one(float(m), light_quark_threshold_GeV, sin2_mz, alpha_inv_mz)[0]
           for m in mu.ravel()]
    return np.asarray(out).reshape(mu.shape)


def alpha_inverse_msbar(mu_GeV: ArrayLike, *, light_quark_threshold_GeV: float =
                        LIGHT_QUARK_THRESHOLD_GEV,
                        alpha_inv_mz: float = ALPHA_INV_MZ_MSBAR) -> NDArray[np.float64]:
    """1/α̂(μ) of the same one-loop model (a by-product; not used elsewhere); the keywords are
    checked as in :func:`sin2_theta_w_msbar`."""
    _check_inputs(light_quark_threshold_GeV, SIN2_THETA_W_MZ_MSBAR, alpha_inv_mz)
    mu = _check_scale(mu_GeV)
    out = [_run_one(float(m), light_quark_threshold_GeV, SIN2_THETA_W_MZ_MSBAR, alpha_inv_mz)[1]
           for m in mu.ravel()]
    return np.asarray(out).reshape(mu.shape)


def calibrate_light_quark_threshold(target: float = SIN2_THETA_W_ZERO_MSBAR) -> float:
    """The light-quark threshold [GeV] for which sin²θ̂(0) equals ``target`` (bisection).

    The threshold is searched in [0.05, 1] GeV; a ``target`` that no threshold there reaches
    (the reachable sin²θ̂(0) lie between the values at the two ends, about 0.2378 and 0.2402) is
    a :class:`~cevns.errors.ConfigError` giving that range, as is a target that is not a finite
    number.
    """
    from scipy.optimize import brentq

    low, high = _CALIBRATION_BRACKET_GEV
    target = finite_number(target, "target", "a finite number (the sin²θ̂(0) to reproduce)",
                           lambda v: True)
    ends = [float(sin2_theta_w_msbar(0.0, light_quark_threshold_GeV=m)) for m in (low, high)]
    if not min(ends) <= target <= max(ends):
        raise ConfigError(
            f"target sin²θ̂(0) = {target!r} cannot be reached by any light-quark threshold in "
            f"[{low:g}, {high:g}] GeV (reachable: [{min(ends):.10g}, {max(ends):.10g}])")

    def f(m):
        return sin2_theta_w_msbar(0.0, light_quark_threshold_GeV=m) - target

    return float(brentq(f, low, high, xtol=1e-10))


__all__ = ["ALPHA_INV_MZ_MSBAR", "FERMIONS", "LIGHT_QUARK_THRESHOLD_GEV", "M_Z_GEV",
           "SIN2_THETA_W_MZ_MSBAR", "SIN2_THETA_W_ZERO_MSBAR", "alpha_inverse_msbar",
           "beta_coefficients", "calibrate_light_quark_threshold", "sin2_theta_w_msbar"]
