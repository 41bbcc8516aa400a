"""Δχ² thresholds for confidence levels (Wilks' theorem), computed from the χ² distribution.

Under Wilks' theorem Δχ² = χ² − χ²_min of k parameters of interest follows a χ² distribution with
k degrees of freedom, so the region of confidence level CL is Δχ² ≤ F⁻¹_k(CL). The values are
computed, never typed in, from the inverse regularised incomplete gamma function,
F⁻¹_k(p) = 2 P⁻¹(k/2, p) (:func:`scipy.special.gammaincinv`; the same function as
``scipy.stats.chi2.ppf`` without importing ``scipy.stats``, which costs ~0.3 s):

=================  =====  =====  ======
preset             CL     dof    Δχ²
=================  =====  =====  ======
``"1sigma_1dof"``  68.27  1      1.000
``"90cl_1dof"``    90     1      2.706
``"1sigma_2dof"``  68.27  2      2.296
``"90cl_2dof"``    90     2      4.605
=================  =====  =====  ======

plus ``"95cl_1dof"``, ``"95cl_2dof"``, ``"2sigma_1dof"``, ``"2sigma_2dof"``, ``"3sigma_1dof"``,
``"3sigma_2dof"``. "nσ" means the two-sided Gaussian probability erf(n/√2) (68.27 %, 95.45 %,
99.73 %). Any float > 0 is also accepted as a level.
"""

from __future__ import annotations

import math
import numbers
from functools import cache
from typing import Literal, get_args

from cevns.errors import ConfigError, UnknownNameError, is_bool

LevelName = Literal[
    "1sigma_1dof",
    "90cl_1dof",
    "95cl_1dof",
    "2sigma_1dof",
    "3sigma_1dof",
    "1sigma_2dof",
    "90cl_2dof",
    "95cl_2dof",
    "2sigma_2dof",
    "3sigma_2dof",
]
#: A named preset or a Δχ² value > 0.
Level = LevelName | float


def _gaussian_probability(n_sigma: float) -> float:
    return math.erf(n_sigma / math.sqrt(2.0))


def _preset(name: str) -> tuple[float, int, str]:
    """(probability, dof, description) of a preset name."""
    head, dof_part = name.split("_")
    dof = int(dof_part.removesuffix("dof"))
    if head.endswith("sigma"):
        n = int(head.removesuffix("sigma"))
        return _gaussian_probability(n), dof, f"{n}σ, {dof} dof"
    cl = int(head.removesuffix("cl"))
    return cl / 100.0, dof, f"{cl} % C.L., {dof} dof"


LEVEL_PRESETS: tuple[str, ...] = get_args(LevelName)


def chi2_level(cl: float | None = None, *, dof: int = 1, n_sigma: float | None = None) -> float:
    """Δχ² threshold of a confidence level for ``dof`` parameters of interest.

    Parameters
    ----------
    cl : float, optional
        Confidence level as a probability in (0, 1), e.g. 0.9.
    dof : int
        Number of parameters of interest (1 for a profile, 2 for a contour).
    n_sigma : float, optional
        Instead of ``cl``: the Gaussian-equivalent significance, CL = erf(n/√2). The quantile is
        computed from the tail probability erfc(n/√2), which keeps full precision where CL
        rounds to 1 (n = 8: Δχ² = 64 for one dof to 14 digits); n beyond ≈ 37, where that
        probability underflows, is refused.

    Returns
    -------
    float
        F⁻¹_dof(CL) of the χ² distribution, > 0.

    Raises
    ------
    ConfigError
        ``cl`` outside (0, 1) or so small that the quantile underflows to 0, ``n_sigma`` not a
        finite number > 0, ``dof`` not an integer ≥ 1 (NumPy integers and floats are numbers;
        ``True``/``False`` are not).
    """
    if (cl is None) == (n_sigma is None):
        raise ConfigError("chi2_level: give exactly one of cl or n_sigma")
    if not (isinstance(dof, numbers.Integral) and not is_bool(dof) and dof >= 1):
        raise ConfigError(f"dof must be an integer ≥ 1, got {dof!r}")
    if n_sigma is not None:
        if is_bool(n_sigma) or not isinstance(n_sigma, numbers.Real) or not n_sigma > 0 \
                or not math.isfinite(n_sigma):
            raise ConfigError(f"n_sigma must be a finite number > 0, got {n_sigma!r}")
        n_sigma = float(n_sigma)  # a NumPy float32 would round erf(n/√2) to single precision
        tail = math.erfc(n_sigma / math.sqrt(2.0))
        if not tail > 0.0:
            raise ConfigError(f"n_sigma = {n_sigma!r} is beyond double precision (its tail "
                              "probability underflows); use n_sigma ≤ 37")
        if tail < _UPPER_TAIL:
            return _chi2_upper_quantile(tail, int(dof))
        cl = _gaussian_probability(n_sigma)
    if is_bool(cl) or not isinstance(cl, numbers.Real) or not 0.0 < cl < 1.0:
        raise ConfigError(f"cl must be a probability in (0, 1), got {cl!r}")
    cl = float(cl)
    if 1.0 - cl < _UPPER_TAIL:  # 1 − cl is exact here (Sterbenz); the upper tail keeps precision
        value = _chi2_upper_quantile(1.0 - cl, int(dof))
    else:
        value = _chi2_quantile(cl, int(dof))
    if not value > 0.0:  # cl so small that the quantile underflows: not a usable Δχ² level
        raise ConfigError(f"cl = {cl!r} (dof = {int(dof)}) gives Δχ² = {value!r}, not a level > 0 "
                          "(the quantile underflows); use a larger cl")
    return value


#: Below this upper-tail probability the quantile is computed from the tail (``gammainccinv``):
#: 1 − p carries few digits there. Above it from the CL (``gammaincinv``, the more precise of the
#: two away from the tail: 1σ for one dof is 1 − 7e-16 with it, 1 − 1.2e-14 from the tail).
_UPPER_TAIL = 1e-3


@cache
def _chi2_quantile(cl: float, dof: int) -> float:
    """F⁻¹_dof(cl), cached; arguments checked by :func:`chi2_level` (the cache is behind the
    checks: True == 1 would otherwise find the entry of dof = 1)."""
    from scipy.special import gammaincinv

    return float(2.0 * gammaincinv(0.5 * dof, cl))


@cache
def _chi2_upper_quantile(tail: float, dof: int) -> float:
    """F⁻¹_dof(1 − tail) from the upper tail probability, cached (checked by
    :func:`chi2_level`)."""
    from scipy.special import gammainccinv

    return float(2.0 * gammainccinv(0.5 * dof, tail))


def level_value(level: Level) -> float:
    """Δχ² value of a preset name or a number (> 0).

    Raises
    ------
    ConfigError
        A number ≤ 0 or not finite, or a bool (``True`` is not Δχ² = 1);
        :class:`~cevns.errors.UnknownNameError` for an unknown name.
    """
    if is_bool(level):
        raise ConfigError(f"level must be a preset name or a Δχ² value > 0, got the bool "
                          f"{level!r}")
    if isinstance(level, str):
        if level not in LEVEL_PRESETS:
            raise UnknownNameError("confidence-level preset", level, LEVEL_PRESETS)
        prob, dof, _ = _preset(level)
        return chi2_level(prob, dof=dof)
    try:
        value = float(level)
    except (TypeError, ValueError):
        raise ConfigError(f"level must be a preset name or a number > 0, got {level!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise ConfigError(f"level must be a Δχ² value > 0, got {level!r}")
    return value


def level_label(level: Level) -> str:
    """Human-readable label, e.g. ``"Δχ² = 2.706 (90 % C.L., 1 dof)"``."""
    value = level_value(level)
    if isinstance(level, str):
        return f"Δχ² = {value:.4g} ({_preset(level)[2]})"
    return f"Δχ² = {value:.4g}"
