"""Nuclear form factors (paper Eq. 5; docs/physics.md#sm-cevns).

The Helm form factor

    F(q) = 3 j₁(q R₀)/(q R₀) · exp(−q² s²/2),   R₀² = (5/3) R² − 5 s²,

with surface thickness s (Friedrich & Voegler, Nucl. Phys. A 373, 192 (1982), the paper's citation)
and rms radius R. Momenta are internal energy units (ħ = c = 1); ``q / HBARC`` is the wave number.

The value of s was lost from the paper. The default is **s = 1.0 fm** [A]: with it the paper's
Table 3 neutron-radius intervals of CsI, Xe, Ge and Si are reproduced to ≤ 0.02 fm, against
0.05–0.11 fm with the Lewin–Smith value s = 0.9 fm (docs/physics.md#helm-form-factor,
docs/assumptions.md). Both enter every form factor and the default Helm radius
R² = (3/5)(1.2 A^{1/3} fm)² + 3 s².

There is no process-wide setting: the skin is an explicit argument here, and on the physics path it
is a field of the target nucleus (:attr:`cevns.physics.nuclei.Nucleus.helm_skin`), set from the
detector (:attr:`cevns.experiment.Detector.helm_skin_fm`, analysis files: ``helm_skin_fm``) or
the COHERENT release model (:class:`cevns.fits.ReleaseModel`, 0.9 fm). Every result therefore
depends only on its arguments, and every cache that keys on the detector keys on the skin.

When R < √3 s (≈ 1.7 fm, reached only in neutron-radius scans of light nuclei) R₀² is negative. The
function 3 j₁(x)/x depends on x² only and is analytic in it, so it is continued to x² < 0 as
3 (y cosh y − sinh y)/y³ with y² = −x²; the rms radius of the form factor is then still exactly R.
This keeps scans over R_n smooth instead of raising at an arbitrary point.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cevns.errors import ConfigError, finite_array, finite_number
from cevns.physics.constants import HBARC
from cevns.physics.units import MeV, fm

#: Default Helm surface thickness s = 1.0 fm [A] (see the module docstring).
DEFAULT_HELM_SKIN = 1.0 * fm
#: The Lewin–Smith value s = 0.9 fm of docs/physics.md#sm-cevns, the alternative.
LEWIN_SMITH_HELM_SKIN = 0.9 * fm


def check_helm_skin(skin: float) -> float:
    """``skin`` as a float if it is a finite positive length; else :class:`ConfigError`."""
    value = float(skin)
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"helm_skin (Helm surface thickness) must be a finite length > 0, got "
                          f"{value / fm:g} fm")
    return value


def _check_box_radius(box_radius: object) -> None:
    """ConfigError unless ``box_radius`` is a finite length > 0 (not text, not a boolean); a
    finite value ≤ 0 is read out in fm."""
    what, valid = "box_radius (Helm box radius)", "a finite length > 0"
    value = finite_number(box_radius, what, valid)
    if not value > 0:
        raise ConfigError(f"{what} must be {valid}, got {value / fm:g} fm")


def rms_radius_from_box_radius(box_radius: float, skin: float = DEFAULT_HELM_SKIN) -> float:
    """rms radius R of a Helm distribution with box radius R₀: R² = (3/5) R₀² + 3 s².

    ``box_radius`` R₀ (internal length units) must be a finite length > 0, as ``skin``; else
    :class:`ConfigError` (R² is even in R₀, so a negative R₀ would pass unnoticed).
    """
    if not (isinstance(box_radius, float) and 0.0 < box_radius < math.inf):  # else: look closer
        _check_box_radius(box_radius)
    s = check_helm_skin(skin)
    return float(np.sqrt(0.6 * box_radius**2 + 3.0 * s**2))


def _checked_momenta(momentum_transfer: ArrayLike) -> NDArray[np.float64]:
    """``|q|`` as a float array, or :class:`ConfigError` if some value is negative, infinite or
    NaN (a form factor of such a momentum would be a silent NaN)."""
    return finite_array(momentum_transfer, "momentum_transfer", numbers="numbers", minimum=0.0,
                        unit=(MeV, "MeV"))


def _three_j1_over_x(x2: NDArray[np.float64]) -> NDArray[np.float64]:
    """3 j₁(x)/x as a function of x² (analytic; x² may be negative)."""
    if x2.size and float(np.min(x2)) >= 1e-2:
        # the common case (every x² > 0 outside the Taylor range): the same elementwise
        # formula as the masked branch below, without the masks
        x = np.sqrt(x2)
        return 3.0 * (np.sin(x) - x * np.cos(x)) / x**3
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
    momentum_transfer: ArrayLike, rms_radius: float, skin: float = DEFAULT_HELM_SKIN
) -> NDArray[np.float64]:
    """Helm form factor F(q) of ``|q|``, normalised to F(0) = 1.

    Parameters
    ----------
    momentum_transfer : array_like
        ``|q|`` in internal energy units (e.g. ``np.sqrt(2 * m_A * T)``).
    rms_radius : float
        rms radius R of the nucleon distribution (internal length units), R > 0.
    skin : float, optional
        Surface thickness s (internal length units); default :data:`DEFAULT_HELM_SKIN` (1.0 fm).
        On the physics path it is passed explicitly, as ``nucleus.helm_skin``.

    Returns
    -------
    ndarray
        F(q), same shape as ``momentum_transfer``.
    """
    if not (math.isfinite(rms_radius) and rms_radius > 0):
        raise ConfigError(f"rms_radius must be a finite length > 0, got {rms_radius / fm:g} fm")
    skin = check_helm_skin(skin)
    k = _checked_momenta(momentum_transfer) / HBARC
    box_radius_sq = (5.0 / 3.0) * rms_radius**2 - 5.0 * skin**2
    x2 = np.atleast_1d(k * k * box_radius_sq)
    shape = np.shape(k)
    ff = _three_j1_over_x(x2.ravel()).reshape(x2.shape) * np.exp(-0.5 * (k * skin) ** 2)
    return ff.reshape(shape)


def helm_form_factors(
    momentum_transfer: ArrayLike, rms_radii: ArrayLike, skin: float = DEFAULT_HELM_SKIN
) -> NDArray[np.float64]:
    """:func:`helm_form_factor` at several rms radii on the same momenta, shape
    ``(len(rms_radii), *q.shape)``: row p equals ``helm_form_factor(q, rms_radii[p], skin)``
    bit for bit (the same elementwise operations; the Gaussian factor, which does not depend on
    the radius, is computed once). A neutron-radius scan re-weights with one call per nucleus.

    Parameters
    ----------
    momentum_transfer : array_like
        ``|q|``, internal energy units.
    rms_radii : array_like
        rms radii R > 0, internal length units, one dimension.
    skin : float, optional
        Surface thickness s, internal length units.
    """
    try:
        radii = np.asarray(rms_radii, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError(f"rms_radii must be lengths (numbers), got {rms_radii!r}") from None
    if radii.ndim > 1:
        raise ConfigError(f"rms_radii must be one-dimensional, got shape {radii.shape}")
    radii = radii.reshape(-1)
    bad = ~(np.isfinite(radii) & (radii > 0))
    if bad.any():
        raise ConfigError(f"rms_radius must be a finite length > 0, got "
                          f"{radii[bad][0] / fm:g} fm")
    skin = check_helm_skin(skin)
    k = np.atleast_1d(_checked_momenta(momentum_transfer) / HBARC)
    shape = (radii.size, *np.shape(momentum_transfer))
    # R₀² per radius with Python floats, exactly as helm_form_factor computes it
    box_radius_sq = np.array([(5.0 / 3.0) * r**2 - 5.0 * skin**2 for r in radii.tolist()])
    kk = (k * k).reshape(1, -1)
    x2 = kk * box_radius_sq[:, None]  # (P, n_q): (k k) R₀², as in helm_form_factor
    gauss = np.exp(-0.5 * (k * skin) ** 2).reshape(1, -1)
    ff = _three_j1_over_x(x2.ravel()).reshape(x2.shape) * gauss
    return ff.reshape(shape)
