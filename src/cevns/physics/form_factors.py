"""Nuclear form factors (paper Eq. 5; PHYSICS.md §5.1).

The Helm form factor

    F(q) = 3 j₁(q R₀)/(q R₀) · exp(−q² s²/2),   R₀² = (5/3) R² − 5 s²,

with skin thickness s = 0.9 fm (Friedrich & Voegler, Nucl. Phys. A 373, 192 (1982)) and rms radius R.
Momenta are internal energy units (ħ = c = 1); ``q / HBARC`` is the wave number.

When R < √3 s (≈ 1.56 fm, reached only in neutron-radius scans of light nuclei) R₀² is negative. The
function 3 j₁(x)/x depends on x² only and is analytic in it, so it is continued to x² < 0 as
3 (y cosh y − sinh y)/y³ with y² = −x²; the rms radius of the form factor is then still exactly R.
This keeps scans over R_n smooth instead of raising at an arbitrary point.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cevns.errors import ConfigError
from cevns.physics.constants import HBARC
from cevns.physics.units import fm

#: Helm surface thickness s = 0.9 fm (paper cites Friedrich & Voegler 1982).
HELM_SKIN_THICKNESS = 0.9 * fm


def rms_radius_from_box_radius(box_radius: float, skin: float = HELM_SKIN_THICKNESS) -> float:
    """rms radius R of a Helm distribution with box radius R₀: R² = (3/5) R₀² + 3 s²."""
    return float(np.sqrt(0.6 * box_radius**2 + 3.0 * skin**2))


def _three_j1_over_x(x2: NDArray[np.float64]) -> NDArray[np.float64]:
    """3 j₁(x)/x as a function of x² (analytic; x² may be negative)."""
    out = np.empty_like(x2)
    small = np.abs(x2) < 1e-2
    xs = x2[small]
    # Taylor series 1 − x²/10 + x⁴/280 − x⁶/15120: error < 1e-14 for |x²| < 1e-2.
    out[small] = 1.0 - xs / 10.0 + xs**2 / 280.0 - xs**3 / 15120.0
    pos = (~small) & (x2 > 0)
    x = np.sqrt(x2[pos])
    out[pos] = 3.0 * (np.sin(x) - x * np.cos(x)) / x**3
    neg = (~small) & (x2 < 0)
    y = np.sqrt(-x2[neg])
    out[neg] = 3.0 * (y * np.cosh(y) - np.sinh(y)) / y**3
    return out


def helm_form_factor(
    momentum_transfer: ArrayLike, rms_radius: float, skin: float = HELM_SKIN_THICKNESS
) -> NDArray[np.float64]:
    """Helm form factor F(|q|), normalised to F(0) = 1.

    Parameters
    ----------
    momentum_transfer : array_like
        |q| in internal energy units (e.g. ``np.sqrt(2 * m_A * T)``).
    rms_radius : float
        rms radius R of the nucleon distribution (internal length units), R > 0.
    skin : float
        Surface thickness s (default 0.9 fm).

    Returns
    -------
    ndarray
        F(q), same shape as ``momentum_transfer``.
    """
    if not rms_radius > 0:
        raise ConfigError(f"rms_radius must be positive, got {rms_radius / fm:g} fm")
    k = np.asarray(momentum_transfer, dtype=float) / HBARC
    box_radius_sq = (5.0 / 3.0) * rms_radius**2 - 5.0 * skin**2
    x2 = np.atleast_1d(k * k * box_radius_sq)
    shape = np.shape(k)
    ff = _three_j1_over_x(x2.ravel()).reshape(x2.shape) * np.exp(-0.5 * (k * skin) ** 2)
    return ff.reshape(shape)
