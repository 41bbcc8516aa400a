"""Violation of lepton unitarity: per-flavour event ratios (paper Eqs. 12–18; docs/physics.md#non-unitarity).

The light-neutrino mixing matrix is N = Λ U with U unitary and Λ lower triangular,

    Λ = ((α₁₁, 0, 0), (α₂₁, α₂₂, 0), (α₃₁, α₃₂, α₃₃)),   0 < α_ii ≤ 1,  α_ij (i > j) complex,

(the paper calls Λ "α"; rows and columns are ordered e, μ, τ). Only N N† = Λ Λ† enters. The SM
prediction is made with the measured muon-decay constant G_μ = G_F √((ΛΛ†)_ee (ΛΛ†)_μμ) (Eq. 16),
and a neutrino born in flavour α by a charged current reaches the detector with zero-distance
neutral-current probability P_α (Eq. 17). The event ratio per flavour is R_α = P_α (G_F/G_μ)², with
two readings of the production (docs/physics.md#non-unitarity [A]):

``"normalised"`` (default, reading (b))
    every π⁺ and μ⁺ decays and yields exactly one neutrino whatever the mixing, so the produced
    state is normalised: P_α = [(ΛΛ†)²]_αα / (ΛΛ†)_αα. Diagonal Λ: R_e = 1/α₂₂², R_μ = 1/α₁₁².
``"unnormalised"`` (reading (a))
    P_α = [(ΛΛ†)²]_αα. Diagonal Λ: R_e = α₁₁²/α₂₂², R_μ = α₂₂²/α₁₁².

R_e multiplies the ν_e rate, R_μ both the prompt ν_μ and the delayed ν̄_μ rate. With equal
flavour rates the normalised reading weights the total 4/3 on α₁₁ and 2/3 on α₂₂ at first order
("predominantly sensitive to α₁₁", as the paper says), the unnormalised one ±2/3 — the reason (b)
is the default.

These are strength factors on the SM spectra of each flavour: no new cross section, no new integral.
Every function is vectorised: all α arguments broadcast against each other.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cevns.errors import ConfigError, UnknownNameError
from cevns.physics.flux import FLAVOURS

#: The two readings of the production normalisation (see module docstring).
Reading = Literal["normalised", "unnormalised"]
READINGS: tuple[str, ...] = get_args(Reading)
#: Default reading [A] (docs/physics.md#non-unitarity; docs/assumptions.md).
DEFAULT_READING: Reading = "normalised"

#: Row of Λ (e = 0, μ = 1, τ = 2) that produces each π-DAR flavour.
FLAVOUR_ROW = {"numu": 1, "nue": 0, "numubar": 1}


def _check_diagonal(name: str, value: ArrayLike) -> NDArray[np.float64]:
    arr = np.asarray(value)
    if np.iscomplexobj(arr):
        raise ConfigError(f"{name} is a diagonal entry of Λ and must be real, got {arr!r}")
    arr = arr.astype(float)
    bad = ~((arr > 0) & (arr <= 1))  # also catches NaN
    if np.any(bad):
        raise ConfigError(f"{name} must lie in (0, 1], got {arr[bad].flat[0]!r}")
    return arr


def _check_offdiagonal(name: str, value: ArrayLike) -> NDArray[np.complex128]:
    arr = np.asarray(value, dtype=complex)
    if not np.all(np.isfinite(arr)):
        raise ConfigError(f"{name} must be finite, got {arr[~np.isfinite(arr)].flat[0]!r}")
    return arr


def alpha_matrix(
    alpha11: ArrayLike = 1.0,
    *,
    alpha21: ArrayLike = 0.0,
    alpha22: ArrayLike = 1.0,
    alpha31: ArrayLike = 0.0,
    alpha32: ArrayLike = 0.0,
    alpha33: ArrayLike = 1.0,
) -> NDArray[np.complex128]:
    """The lower-triangular matrix Λ, shape ``(*broadcast shape, 3, 3)``, rows/columns (e, μ, τ).

    Raises
    ------
    ConfigError
        If a diagonal entry is complex or outside (0, 1], or an off-diagonal one is not finite;
        the message names the parameter.
    """
    diag = [_check_diagonal(n, v) for n, v in
            (("alpha11", alpha11), ("alpha22", alpha22), ("alpha33", alpha33))]
    off = [_check_offdiagonal(n, v) for n, v in
           (("alpha21", alpha21), ("alpha31", alpha31), ("alpha32", alpha32))]
    a11, a22, a33, a21, a31, a32 = np.broadcast_arrays(*diag, *off)
    lam = np.zeros((*a11.shape, 3, 3), dtype=complex)
    lam[..., 0, 0], lam[..., 1, 1], lam[..., 2, 2] = a11, a22, a33
    lam[..., 1, 0], lam[..., 2, 0], lam[..., 2, 1] = a21, a31, a32
    return lam


def unitarity_violation_ratios(
    alpha11: ArrayLike = 1.0,
    *,
    alpha21: ArrayLike = 0.0,
    alpha22: ArrayLike = 1.0,
    alpha31: ArrayLike = 0.0,
    alpha32: ArrayLike = 0.0,
    alpha33: ArrayLike = 1.0,
    reading: Reading = DEFAULT_READING,
) -> NDArray[np.float64]:
    """Event ratios R_α = N_NU,α / N_SM,α for the π-DAR flavours (docs/physics.md#non-unitarity).

    Parameters
    ----------
    alpha11, alpha22, alpha33 : array_like
        Real diagonal entries of Λ, each in (0, 1]; 1 is unitary.
    alpha21, alpha31, alpha32 : array_like
        Complex off-diagonal entries of Λ (0 is unitary). α₃₃ never enters the ratios (it is only
        validated); α₃₁, α₃₂ and ``|α₂₁|`` enter at second order.
    reading : {"normalised", "unnormalised"}
        Production normalisation, see the module docstring; ``"normalised"`` is the default [A].

    Returns
    -------
    ndarray
        Shape ``(3, *broadcast shape of the α's)``; axis 0 in the order of
        :data:`cevns.physics.flux.FLAVOURS` ("numu", "nue", "numubar"): (R_μ, R_e, R_μ).
        Multiply the SM spectrum of each flavour by its ratio.

    Raises
    ------
    ConfigError
        For α_ii outside (0, 1] (the message names the parameter).
    UnknownNameError
        For an unknown ``reading``.

    Examples
    --------
    >>> unitarity_violation_ratios(0.9, alpha22=0.95).round(4).tolist()
    [1.2346, 1.108, 1.2346]
    >>> unitarity_violation_ratios(0.9, alpha22=0.95, reading="unnormalised").round(4).tolist()
    [1.1142, 0.8975, 1.1142]
    """
    if reading not in READINGS:
        raise UnknownNameError("unitarity-violation reading", reading, READINGS)
    lam = alpha_matrix(alpha11, alpha21=alpha21, alpha22=alpha22, alpha31=alpha31,
                       alpha32=alpha32, alpha33=alpha33)
    nn = lam @ np.conj(np.swapaxes(lam, -1, -2))  # Λ Λ†, Hermitian
    diag = np.real(np.diagonal(nn, axis1=-2, axis2=-1))  # (ΛΛ†)_αα
    # [(ΛΛ†)²]_αα = Σ_β |(ΛΛ†)_αβ|² for Hermitian ΛΛ†
    squared = np.sum(np.abs(nn) ** 2, axis=-1)
    production = squared / diag if reading == "normalised" else squared
    # (G_F/G_μ)² = 1/((ΛΛ†)_ee (ΛΛ†)_μμ)   (paper Eq. 16)
    ratio = production / (diag[..., 0] * diag[..., 1])[..., None]
    return np.stack([ratio[..., FLAVOUR_ROW[f]] for f in FLAVOURS])
