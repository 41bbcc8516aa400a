"""Real detector response as data: quenching, smearing, efficiency, threshold and bins (docs/response.md).

Every piece is an immutable, validated model (:class:`cevns.config.StrictModel`) chosen by a
``model = "..."`` key, so that a user writes a detector's response in TOML::

    [detector.GeMini.response]
    quenching = { model = "lindhard", k = 0.157 }
    smearing = { model = "gaussian", noise_keV = 0.15 }
    threshold = { value = 1.5, unit = "keVee" }
    bins = { unit = "keVee", width = 1.0, stop = 15.0 }

The chain from a true nuclear recoil T (keVnr) to the observed bins is

1. **quenching** — T → electron-equivalent energy E_ee(T) in keVee (:data:`Quenching`; ``none``
   keeps the nuclear-recoil scale: the observable is T itself, in keVnr);
2. **smearing** — E_ee → distribution of the observable x (:data:`Smearing`): ``none`` (x = E_ee),
   ``gaussian`` (x ~ Normal(E_ee, σ(E_ee)), keVee or keVnr), ``poisson-pe`` and ``gamma-pe``
   (x in photoelectrons with mean LY·E_ee);
3. **efficiency** ε (:data:`Efficiency`) of the reconstructed observable, of its mean
   (``efficiency_variable = "true"``), or of the true recoil (an efficiency given in keVnr);
4. **binning** into the analysis bins, which start at the threshold.

:func:`fold_matrix` is the one function that builds ``R[i, j]`` = P(recoil of T_j observed in bin i)
× efficiency from these pieces; the ESS detectors (:mod:`cevns.experiment.response`) and the
COHERENT releases (:mod:`cevns.datasets.coherent.response`) both use it.
"""

from __future__ import annotations

import math
from typing import Annotated, ClassVar, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import Field, model_validator

from cevns.config import StrictModel
from cevns.errors import ConfigError

__all__ = [
    "ENERGY_UNITS",
    "ConstantEfficiency",
    "ConstantQuenching",
    "Efficiency",
    "EnergyValue",
    "GammaPESmearing",
    "GaussianSmearing",
    "LindhardQuenching",
    "LinearQuenching",
    "LogisticEfficiency",
    "NoQuenching",
    "NoSmearing",
    "ObservedBins",
    "PoissonPESmearing",
    "PolynomialQuenching",
    "Quenching",
    "ResponseSpec",
    "Smearing",
    "TabulatedEfficiency",
    "TabulatedQuenching",
    "fold_matrix",
    "lindhard_quenching_factor",
]

#: Units an energy, threshold, bin edge or efficiency abscissa may be given in.
ENERGY_UNITS = ("keVnr", "keVee", "PE")
EnergyUnit = Literal["keVnr", "keVee", "PE"]


def _increasing(values, what: str) -> None:
    v = np.asarray(values, dtype=float)
    if v.size < 2 or np.any(np.diff(v) <= 0):
        raise ValueError(f"{what} must have at least two strictly increasing values, got "
                         f"{list(values)}")


# ====================================================================================== quenching


def lindhard_quenching_factor(recoil_kevnr: ArrayLike, Z: int, k: float) -> NDArray[np.float64]:
    """Lindhard quenching factor f(T) = k g(ε) / (1 + k g(ε)).

    ε = 11.5 Z^(−7/3) T[keVnr], g(ε) = 3 ε^0.15 + 0.7 ε^0.6 + ε: J. Lindhard, V. Nielsen,
    M. Scharff, P.V. Thomsen, Mat. Fys. Medd. Dan. Vid. Selsk. 33, no. 10 (1963), in the
    parametrisation of J.D. Lewin and P.F. Smith, Astropart. Phys. 6 (1996) 87, Eq. (6.3).
    f(0) = 0.
    """
    t = np.maximum(np.asarray(recoil_kevnr, dtype=float), 0.0)
    eps = 11.5 * float(Z) ** (-7.0 / 3.0) * t
    g = 3.0 * eps**0.15 + 0.7 * eps**0.6 + eps
    return k * g / (1.0 + k * g)


class _QuenchingBase(StrictModel):
    #: True if E_ee depends on the nucleus (Z, A), not only on T.
    nucleus_dependent: ClassVar[bool] = False

    def electron_equivalent(self, recoil_kevnr: ArrayLike, nucleus=None) -> NDArray[np.float64]:
        """Electron-equivalent energy in keVee of recoils of ``recoil_kevnr`` keVnr."""
        raise NotImplementedError

    @property
    def observable_unit(self) -> str:
        """``keVee`` (``keVnr`` for :class:`NoQuenching`)."""
        return "keVee"


class NoQuenching(_QuenchingBase):
    """No quenching: the detector measures the nuclear-recoil energy (keVnr), E = T."""

    model: Literal["none"] = "none"

    def electron_equivalent(self, recoil_kevnr, nucleus=None):
        """T itself (keVnr)."""
        return np.asarray(recoil_kevnr, dtype=float)

    @property
    def observable_unit(self) -> str:
        """``keVnr``."""
        return "keVnr"


class ConstantQuenching(_QuenchingBase):
    """E_ee = QF · T with a constant quenching factor (COHERENT CsI-2017: QF = 0.0878)."""

    model: Literal["constant"] = "constant"
    quenching_factor: float = Field(gt=0, le=1)

    def electron_equivalent(self, recoil_kevnr, nucleus=None):
        """QF · T in keVee."""
        return self.quenching_factor * np.asarray(recoil_kevnr, dtype=float)


class LinearQuenching(_QuenchingBase):
    """QF(T) = a + b·T, E_ee = QF(T)·T, clipped at 0 (COHERENT LAr-2020: a = 0.246, b = 0.00078/keVnr)."""

    model: Literal["linear"] = "linear"
    a: float
    b_per_kevnr: float = 0.0

    def electron_equivalent(self, recoil_kevnr, nucleus=None):
        """(a + b T) T in keVee."""
        t = np.asarray(recoil_kevnr, dtype=float)
        return np.maximum((self.a + self.b_per_kevnr * t) * t, 0.0)


class PolynomialQuenching(_QuenchingBase):
    """E_ee = Σ_k c_k T^(k+1), clipped at 0 (COHERENT CsI-2021 ``scintRespCoefficients.txt``).

    ``energy_unit`` is the unit of both T and E_ee in the polynomial: ``"MeV"`` for the CsI-2021
    coefficients (E_ee[MeVee] = aT + bT² + cT³ + dT⁴ with T in MeVnr), ``"keV"`` otherwise.
    """

    model: Literal["polynomial"] = "polynomial"
    coefficients: tuple[float, ...] = Field(min_length=1)
    energy_unit: Literal["keV", "MeV"] = "keV"

    def electron_equivalent(self, recoil_kevnr, nucleus=None):
        """The polynomial in keVee."""
        mev = self.energy_unit == "MeV"
        t = np.asarray(recoil_kevnr, dtype=float)
        if mev:
            t = t * 1e-3
        e = np.zeros_like(t)
        for power, c in enumerate(self.coefficients, start=1):
            e = e + c * t**power
        return np.maximum(e * 1e3 if mev else e, 0.0)


class LindhardQuenching(_QuenchingBase):
    """Lindhard quenching f(T) = k g(ε)/(1 + k g(ε)), ε = 11.5 Z^(−7/3) T (:func:`lindhard_quenching_factor`).

    ``k`` given: the same k for every nucleus (a measured value); omitted: Lindhard's k = 0.133
    Z^(2/3) A^(−1/2) of each nucleus. The Z of each target nucleus enters through ε.
    """

    model: Literal["lindhard"] = "lindhard"
    k: float | None = Field(default=None, gt=0, le=1)
    nucleus_dependent: ClassVar[bool] = True

    def k_for(self, nucleus) -> float:
        """The k used for ``nucleus``."""
        if self.k is not None:
            return self.k
        a = nucleus.Z + nucleus.N
        return 0.133 * nucleus.Z ** (2.0 / 3.0) * a ** (-0.5)

    def electron_equivalent(self, recoil_kevnr, nucleus=None):
        """f(T) · T in keVee (needs the nucleus for Z)."""
        if nucleus is None:
            raise ConfigError("quenching model 'lindhard' needs the target nucleus (its Z)")
        t = np.asarray(recoil_kevnr, dtype=float)
        return lindhard_quenching_factor(t, nucleus.Z, self.k_for(nucleus)) * t


class TabulatedQuenching(_QuenchingBase):
    """A measured table: recoil_keVnr → electron_equivalent_keVee (or → quenching_factor).

    Linear interpolation of E_ee in T between the points; below the first point E_ee = QF₁·T and
    above the last E_ee = QF_n·T (constant quenching factor outside the table). E_ee must rise
    strictly with T (otherwise the observed energy cannot be mapped back to a recoil).
    """

    model: Literal["tabulated"] = "tabulated"
    recoil_keVnr: tuple[float, ...]
    electron_equivalent_keVee: tuple[float, ...] | None = None
    quenching_factor: tuple[float, ...] | None = None

    @model_validator(mode="after")
    def _table(self) -> TabulatedQuenching:
        _increasing(self.recoil_keVnr, "quenching.recoil_keVnr")
        if (self.electron_equivalent_keVee is None) == (self.quenching_factor is None):
            raise ValueError("tabulated quenching needs exactly one of electron_equivalent_keVee "
                             "or quenching_factor")
        y = self._eee_table()
        if len(y) != len(self.recoil_keVnr):
            raise ValueError(f"tabulated quenching: {len(y)} values for "
                             f"{len(self.recoil_keVnr)} recoil energies")
        if self.recoil_keVnr[0] <= 0 or np.any(y <= 0):
            raise ValueError("tabulated quenching: recoil energies and E_ee must be > 0")
        if np.any(np.diff(y) <= 0):
            raise ValueError("tabulated quenching is not monotone: E_ee(T) must rise strictly with "
                             f"T, got E_ee = {y.tolist()} keVee")
        return self

    def _eee_table(self) -> np.ndarray:
        t = np.asarray(self.recoil_keVnr, dtype=float)
        if self.electron_equivalent_keVee is not None:
            return np.asarray(self.electron_equivalent_keVee, dtype=float)
        return np.asarray(self.quenching_factor, dtype=float) * t

    def electron_equivalent(self, recoil_kevnr, nucleus=None):
        """Interpolated E_ee in keVee."""
        t = np.asarray(recoil_kevnr, dtype=float)
        tt, yy = np.asarray(self.recoil_keVnr), self._eee_table()
        inside = np.interp(t, tt, yy)
        below = yy[0] / tt[0] * t
        above = yy[-1] / tt[-1] * t
        return np.where(t < tt[0], below, np.where(t > tt[-1], above, inside))


#: A quenching model, chosen by its ``model`` key.
Quenching = Annotated[
    NoQuenching | ConstantQuenching | LinearQuenching | PolynomialQuenching | LindhardQuenching
    | TabulatedQuenching,
    Field(discriminator="model"),
]


# ======================================================================================= smearing


def _subdivide(edges: NDArray[np.float64], step: float) -> NDArray[np.float64]:
    pieces = [
        np.linspace(lo, hi, max(1, math.ceil((hi - lo) / step - 1e-9)) + 1)[:-1]
        for lo, hi in zip(edges[:-1], edges[1:], strict=True)
    ]
    return np.concatenate([*pieces, edges[-1:]])


#: Largest widths of a Gaussian smearing: σ = 1 MeV of noise, σ = 100 √E, σ = 10 E (the bound
#: of ``resolution.sigma0``). Wider, every recoil is smeared out of the analysis bins: a zero
#: signal in minutes of computing.
MAX_NOISE_KEV = 1000.0
MAX_STOCHASTIC = 100.0
MAX_RELATIVE_SIGMA = 10.0
#: Largest light yield, in photoelectrons per keVee (scintillators give 1–50).
MAX_LIGHT_YIELD = 1000.0


class _SmearingBase(StrictModel):
    fine_step: float = Field(default=0.1, gt=0, description="sub-bin width for efficiencies")

    #: True if the observable is a number of photoelectrons (else: the quenching's unit).
    pe: ClassVar[bool] = False

    @property
    def light_yield_or_none(self) -> float | None:
        """PE per keVee (photoelectron models only)."""
        return getattr(self, "light_yield", None)

    def mean_observed(self, eee: ArrayLike) -> NDArray[np.float64]:
        """Mean observable for energies ``eee`` (keVee or keVnr)."""
        return np.asarray(eee, dtype=float)

    def fine_edges(self, edges: NDArray[np.float64]) -> NDArray[np.float64]:
        """Sub-bins of at most ``fine_step`` covering ``edges`` (each edge a sub-bin edge)."""
        return _subdivide(np.asarray(edges, dtype=float), self.fine_step)

    def probabilities(self, eee: ArrayLike, fine_edges: NDArray[np.float64],
                      threshold: float | None = None) -> NDArray[np.float64]:
        """``P[k, j]``: probability that energy ``eee[j]`` is observed in sub-bin ``k``."""
        raise NotImplementedError

    def width(self, observed: ArrayLike, threshold: float | None = None) -> NDArray[np.float64]:
        """Typical spread of the observable around a mean of ``observed`` (0: no smearing).

        Used to place quadrature panel edges where the bin probabilities change fastest.
        """
        return np.zeros(np.shape(observed))


class NoSmearing(_SmearingBase):
    """No smearing: the observable is the (quenched) energy itself."""

    model: Literal["none"] = "none"

    def probabilities(self, eee, fine_edges, threshold=None):
        """Indicator of the sub-bin that holds ``eee`` (half-open ``[lo, hi)``)."""
        e = np.asarray(eee, dtype=float)
        idx = np.searchsorted(fine_edges, e, side="right") - 1
        return (idx[None, :] == np.arange(len(fine_edges) - 1)[:, None]).astype(float)


class GaussianSmearing(_SmearingBase):
    """Observed energy ~ Normal(E, σ(E)) in the quenching's unit (keVee, or keVnr without quenching).

    σ(E)² = noise² + stochastic²·E + (fractional·E)² + sqrt_threshold²·E_th·E, E in keVee (keVnr):
    ``noise`` (keV) a constant electronic noise, ``stochastic`` (keV^½) the σ = a√E law (COHERENT
    LAr-2020: a = 0.58), ``fractional`` σ = b·E, ``sqrt_threshold`` σ = σ₀√(E_th E) (the ESS
    presets, paper Eq. 28). A single non-zero term is evaluated in its own closed form.
    """

    model: Literal["gaussian"] = "gaussian"
    noise: float = Field(default=0.0, ge=0, le=MAX_NOISE_KEV,
                         description="σ in keV, at most 1000 (1 MeV)")
    stochastic: float = Field(default=0.0, ge=0, le=MAX_STOCHASTIC,
                              description="a of σ = a√E in keV^½, at most 100")
    fractional: float = Field(default=0.0, ge=0, le=MAX_RELATIVE_SIGMA,
                              description="b of σ = b·E, at most 10")
    sqrt_threshold: float = Field(default=0.0, ge=0, le=MAX_RELATIVE_SIGMA,
                                  description="σ₀ of σ = σ₀√(E_th E), at most 10 (as "
                                  "resolution.sigma0)")

    @model_validator(mode="after")
    def _some_width(self) -> GaussianSmearing:
        if self.noise == self.stochastic == self.fractional == self.sqrt_threshold == 0:
            raise ValueError("gaussian smearing needs one of noise, stochastic, fractional, "
                             "sqrt_threshold > 0 (or model = 'none')")
        return self

    def sigma(self, energy: ArrayLike, threshold: float | None = None) -> NDArray[np.float64]:
        """σ(E) (same unit as E); ``threshold`` E_th is needed for ``sqrt_threshold``."""
        e = np.asarray(energy, dtype=float)
        terms = [n for n in ("noise", "stochastic", "fractional", "sqrt_threshold")
                 if getattr(self, n) > 0]
        if self.sqrt_threshold > 0 and threshold is None:
            raise ConfigError("gaussian smearing with sqrt_threshold needs the threshold")
        if terms == ["stochastic"]:
            return self.stochastic * np.sqrt(np.abs(e))
        if terms == ["fractional"]:
            return self.fractional * e
        if terms == ["sqrt_threshold"]:
            return self.sqrt_threshold * np.sqrt(threshold * np.maximum(e, 0.0))
        if terms == ["noise"]:
            return np.full_like(e, self.noise)
        var = (self.noise**2 + self.stochastic**2 * np.abs(e) + (self.fractional * e) ** 2
               + (self.sqrt_threshold**2 * threshold * np.maximum(e, 0.0) if self.sqrt_threshold
                  else 0.0))
        return np.sqrt(var)

    def width(self, observed, threshold=None):
        """σ at ``observed``."""
        return self.sigma(np.asarray(observed, dtype=float), threshold)

    def probabilities(self, eee, fine_edges, threshold=None):
        """Normal-CDF differences over the sub-bins (zero where σ = 0 and E ≤ 0)."""
        e = np.asarray(eee, dtype=float)
        sig = self.sigma(e, threshold)
        positive = (e > 0) & (sig > 0)
        sig = np.where(positive, sig, 1.0)
        from scipy.special import ndtr  # lazy: scipy.special is 0.35 s of a CLI error's 1.3 s

        cdf = ndtr((np.asarray(fine_edges)[:, None] - e[None, :]) / sig[None, :])
        out = np.diff(cdf, axis=0)
        out[:, ~positive] = 0.0
        return out


class PoissonPESmearing(_SmearingBase):
    """Number of photoelectrons ~ Poisson(LY · E_ee) (COHERENT CsI-2017).

    ``n`` photoelectrons are observed in the 1-PE bin ``[n, n+1)``: PE bin edges must be integers,
    and an efficiency of the reconstructed PE is evaluated at ``n + 0.5`` (the release's rule).
    """

    model: Literal["poisson-pe"] = "poisson-pe"
    light_yield: float = Field(gt=0, le=MAX_LIGHT_YIELD,
                               description="photoelectrons per keVee, at most 1000")
    pe: ClassVar[bool] = True

    def mean_observed(self, eee):
        """LY · E_ee (PE)."""
        return self.light_yield * np.asarray(eee, dtype=float)

    def fine_edges(self, edges):
        """The 1-PE bins spanning ``edges`` (integer edges required)."""
        edges = np.asarray(edges, dtype=float)
        if not np.allclose(edges, np.round(edges)) or edges[0] < 0:
            raise ConfigError("Poisson photoelectron response needs non-negative integer PE edges, "
                              f"got {edges.tolist()}")
        return np.arange(round(edges[0]), round(edges[-1]) + 1, dtype=float)

    def width(self, observed, threshold=None):
        """√n photoelectrons."""
        return np.sqrt(np.maximum(np.asarray(observed, dtype=float), 1.0))

    def probabilities(self, eee, fine_edges, threshold=None):
        """Poisson masses of ``n = fine_edges[:-1]`` photoelectrons.

        exp(n ln μ − μ − ln n!), the expression of ``scipy.stats.poisson.pmf`` (the same numbers
        to the last bit, ``tests/experiment/test_response_models.py``) without importing
        ``scipy.stats``, which costs 0.3–2 s and is needed by nothing else on the fit path.
        """
        from scipy.special import gammaln, xlogy  # lazy, as ndtr above

        mu = self.mean_observed(eee)[None, :]
        n = np.asarray(fine_edges, dtype=float)[:-1, None]
        return np.exp(xlogy(n, mu) - gammaln(n + 1.0) - mu)


class GammaPESmearing(_SmearingBase):
    """Observed PE ~ Gamma(shape 1 + b·E_ee, mean LY·E_ee) (COHERENT CsI-2021).

    ``shape_slope_per_kevee`` is b (9.56 /keVee for CsI-2021), ``light_yield`` LY (13.35 PE/keVee);
    variance (LY E_ee)²/(1 + b E_ee).
    """

    model: Literal["gamma-pe"] = "gamma-pe"
    light_yield: float = Field(gt=0, le=MAX_LIGHT_YIELD,
                               description="photoelectrons per keVee, at most 1000")
    shape_slope_per_kevee: float = Field(ge=0)
    pe: ClassVar[bool] = True

    def mean_observed(self, eee):
        """LY · E_ee (PE)."""
        return self.light_yield * np.asarray(eee, dtype=float)

    def width(self, observed, threshold=None):
        """Standard deviation mean/√shape at a mean of ``observed`` PE."""
        x = np.maximum(np.asarray(observed, dtype=float), 0.0)
        return x / np.sqrt(1.0 + self.shape_slope_per_kevee * x / self.light_yield)

    def probabilities(self, eee, fine_edges, threshold=None):
        """Gamma-CDF differences over the sub-bins (zero for E_ee = 0)."""
        eee = np.asarray(eee, dtype=float)
        positive = eee > 0
        shape = 1.0 + self.shape_slope_per_kevee * eee
        scale = np.where(positive, self.mean_observed(eee) / shape, 1.0)
        x = np.maximum(np.asarray(fine_edges), 0.0)[:, None] / scale[None, :]
        from scipy.special import gammainc  # lazy, as ndtr above

        cdf = gammainc(shape[None, :], x)
        out = np.diff(cdf, axis=0)
        out[:, ~positive] = 0.0
        return out


#: A smearing model, chosen by its ``model`` key.
Smearing = Annotated[
    NoSmearing | GaussianSmearing | PoissonPESmearing | GammaPESmearing,
    Field(discriminator="model"),
]


# ===================================================================================== efficiency


class _EfficiencyBase(StrictModel):
    unit: EnergyUnit | None = Field(
        default=None, description="variable of the curve; None: the observable's own unit")

    def __call__(self, x: ArrayLike) -> NDArray[np.float64]:
        """Efficiency at ``x`` (in :attr:`unit`)."""
        raise NotImplementedError


class ConstantEfficiency(_EfficiencyBase):
    """A flat efficiency (above threshold)."""

    model: Literal["constant"] = "constant"
    value: float = Field(default=1.0, gt=0, le=1)

    def __call__(self, x):
        """``value`` everywhere."""
        return np.full(np.shape(x), self.value, dtype=float)


class LogisticEfficiency(_EfficiencyBase):
    """ε(x) = a / (1 + exp(−k (x − x0))) + offset, clipped to ≥ 0, times an optional step.

    The step is COHERENT CsI-2017's "modified Heaviside": 0 for x < ``step_low``, ½ for
    ``step_low`` ≤ x < ``step_high``, 1 above (5 and 6 PE there). CsI-2021 uses a negative
    ``offset``, no step.
    """

    model: Literal["logistic"] = "logistic"
    a: float = Field(default=1.0, gt=0)
    k: float = Field(gt=0)
    x0: float
    offset: float = 0.0
    step_low: float | None = None
    step_high: float | None = None

    @model_validator(mode="after")
    def _step(self) -> LogisticEfficiency:
        if self.step_high is not None and (self.step_low is None or self.step_high < self.step_low):
            raise ValueError("efficiency.step_high needs step_low ≤ step_high")
        top = self.a + self.offset  # the plateau, reached at large x
        if top > 1.0 + 1e-12:
            raise ValueError(f"efficiency: a + offset = {top:g} is the efficiency's plateau; an "
                             "efficiency cannot exceed 1")
        if top <= 0.0:
            raise ValueError(f"efficiency: a + offset = {top:g} ≤ 0: the efficiency is zero "
                             "everywhere (no event would be detected)")
        return self

    def __call__(self, x):
        """Efficiency at ``x``."""
        x = np.asarray(x, dtype=float)
        with np.errstate(over="ignore"):  # exp(+large) = inf gives an efficiency of 0, exactly
            logistic = self.a / (1.0 + np.exp(-self.k * (x - self.x0)))
        eff = np.maximum(logistic + self.offset, 0.0)
        if self.step_low is not None:
            high = self.step_high if self.step_high is not None else self.step_low
            step = np.where(x < self.step_low, 0.0, np.where(x < high, 0.5, 1.0))
            eff = eff * step
        return eff


class TabulatedEfficiency(_EfficiencyBase):
    """Linear interpolation in a table; 0 below the first point, the last value above the last."""

    model: Literal["tabulated"] = "tabulated"
    x: tuple[float, ...]
    y: tuple[float, ...]

    @model_validator(mode="after")
    def _table(self) -> TabulatedEfficiency:
        if len(self.x) != len(self.y):
            raise ValueError(f"tabulated efficiency: {len(self.x)} x values and {len(self.y)} "
                             "y values")
        _increasing(self.x, "efficiency.x")
        if any(v < 0 or v > 1 for v in self.y):
            raise ValueError(f"tabulated efficiency values must lie in [0, 1], got {self.y}")
        if not any(v > 0 for v in self.y):
            raise ValueError("tabulated efficiency: every y is 0, the efficiency is zero "
                             "everywhere (no event would be detected)")
        return self

    def __call__(self, x):
        """Interpolated efficiency."""
        return np.interp(np.asarray(x, dtype=float), self.x, self.y, left=0.0, right=self.y[-1])


#: An efficiency model, chosen by its ``model`` key.
Efficiency = Annotated[
    ConstantEfficiency | LogisticEfficiency | TabulatedEfficiency,
    Field(discriminator="model"),
]


# ================================================================================ the whole chain


class EnergyValue(StrictModel):
    """An energy with its unit: ``{ value = 1.5, unit = "keVee" }``."""

    value: float = Field(ge=0)
    unit: EnergyUnit


#: Lowest true recoil the response of a smeared detector integrates, as a fraction of its
#: threshold (of the threshold's keVnr-equivalent with a response table; cevns.experiment.response).
#: Gaussian smearing: below it the chance to pass the threshold is < 10⁻²⁰.
RESPONSE_FLOOR_FRACTION = 0.05
#: The same for a photoelectron-counting smearing (``poisson-pe``, ``gamma-pe``): a recoil with a
#: mean of μ ≪ 1 photoelectrons passes a 1-PE threshold with probability ≈ μ, so the recoils far
#: below the threshold still count. From 10⁻³ of it the omitted part is 1.6 × 10⁻⁴ of the count at
#: a 1-PE threshold and 0.01 PE/keVee (10⁻⁷ at 1 PE/keVee), where 0.05 missed 35 % (0.04 % at
#: 1 PE/keVee; docs/response.md).
PE_RESPONSE_FLOOR_FRACTION = 1e-3


def response_floor_fraction(spec: ResponseSpec | None) -> float:
    """The response's own ``floor_fraction`` if it gives one; else :data:`RESPONSE_FLOOR_FRACTION`
    or, for a photoelectron-counting smearing, :data:`PE_RESPONSE_FLOOR_FRACTION` (``spec`` is a
    detector's ``response``, or None)."""
    if spec is not None and spec.floor_fraction is not None:
        return spec.floor_fraction
    if spec is not None and isinstance(spec.smearing, (PoissonPESmearing, GammaPESmearing)):
        return PE_RESPONSE_FLOOR_FRACTION
    return RESPONSE_FLOOR_FRACTION
#: Most analysis bins a response table may have (real detectors use tens to hundreds; the response
#: of every bin is computed, and 10⁴ bins already take minutes).
MAX_RESPONSE_BINS = 2000
#: Most sub-bins an efficiency of the reconstructed observable (or a Poisson photoelectron
#: response) is integrated on (``smearing.fine_step``): the response holds sub-bins × recoil nodes.
MAX_FINE_BINS = 100_000


def _width_edges(lo: float, hi: float, width: float) -> np.ndarray:
    """Edges ``lo, lo + width, lo + 2 width, …`` up to ``hi``: every bin exactly ``width`` wide
    but the last, which ends at ``hi`` and is narrower when ``hi − lo`` is not a multiple of
    ``width`` (to 10⁻⁹ of a width). The bins were once spread evenly over ``hi − lo`` instead,
    which changed the width the user gave (1.5 → 10.2 keVee by 1 keVee: nine bins of 0.967) and
    gave photoelectron edges that are not integers."""
    full = math.floor((hi - lo) / width + 1e-9)
    edges = lo + width * np.arange(full + 1, dtype=float)
    if hi - edges[-1] > 1e-9 * width:
        return np.append(edges, hi)
    edges[-1] = hi  # a multiple of the width: end exactly at stop
    return edges


class ObservedBins(StrictModel):
    """Analysis bins of the observable: explicit ``edges``, or ``width`` from the threshold to ``stop``.

    ``unit`` is keVnr, keVee or PE (converted to the observable's unit, docs/response.md). Without
    ``edges`` or ``width``: one bin from the threshold to ``stop``.
    """

    unit: EnergyUnit
    edges: tuple[float, ...] | None = None
    width: float | None = Field(default=None, gt=0)
    stop: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _form(self) -> ObservedBins:
        if self.edges is not None:
            if self.width is not None or self.stop is not None:
                raise ValueError("bins: give either edges, or width and stop")
            _increasing(self.edges, "bins.edges")
        elif self.stop is None:
            raise ValueError("bins: give edges, or stop (and optionally width)")
        return self


class ResponseSpec(StrictModel):
    """A detector's response from true recoil to observed bins, as data (docs/response.md).

    Attributes
    ----------
    quenching : Quenching, optional
        keVnr → keVee for every target nucleus not in ``quenching_by_element`` (omitted and no
        ``quenching_by_element``: ``none``, a keVnr detector).
    quenching_by_element : dict of str to Quenching
        Per-element models (``{ Na = {...}, I = {...} }``) that replace ``quenching`` for the
        nuclei of those elements.
    smearing : Smearing
        E → observable distribution.
    efficiency : Efficiency
        Detection efficiency; its ``unit`` says of which variable (keVnr: the true recoil).
    efficiency_variable : {"reconstructed", "true"}
        Evaluate an efficiency in keVee/PE at the reconstructed observable or at its mean.
    threshold : EnergyValue
        The analysis threshold; the bins start at or above it.
    bins : ObservedBins
        The analysis bins.
    axis_element : str, optional
        Element whose mean quenching maps observed energies back to the keVnr-equivalent scale
        used to label spectra (default: the detector's first target).
    floor_fraction : float, optional
        Lowest true recoil the smeared response integrates, as a fraction of the threshold's
        keVnr equivalent, in (0, 1) (default :func:`response_floor_fraction`: 0.05 for Gaussian
        smearing, 10⁻³ for ``poisson-pe`` and ``gamma-pe``). Lower it for a response whose
        recoils far below the threshold still pass (docs/response.md); not for ``none``.
    """

    quenching: Quenching | None = None
    quenching_by_element: dict[str, Quenching] = Field(default_factory=dict)
    smearing: Smearing = NoSmearing()
    efficiency: Efficiency = ConstantEfficiency()
    efficiency_variable: Literal["reconstructed", "true"] = "reconstructed"
    threshold: EnergyValue
    bins: ObservedBins
    axis_element: str | None = None
    floor_fraction: float | None = Field(default=None, gt=0, lt=1)

    @model_validator(mode="after")
    def _consistent(self) -> ResponseSpec:
        obs = self.observable_unit
        if self.floor_fraction is not None and isinstance(self.smearing, NoSmearing):
            raise ValueError("floor_fraction: applies to a smeared response only (with smearing "
                             "'none' the response starts at the threshold); remove it")
        kinds = {m.observable_unit for m in self._quenching_models()}
        if len(kinds) > 1:
            raise ValueError("quenching and quenching_by_element mix model 'none' (keVnr) with "
                             "quenching models (keVee); give every element a quenching model")
        for where, unit in (("threshold.unit", self.threshold.unit), ("bins.unit", self.bins.unit)):
            self._convertible(where, unit)
        eu = self.efficiency.unit
        if eu is not None and eu != "keVnr":
            self._convertible("efficiency.unit", eu)
        if isinstance(self.smearing, PoissonPESmearing) and obs != "PE":
            raise ValueError("smearing 'poisson-pe' needs a quenching model (keVee)")
        lo = self.to_observable(self.threshold.value, self.threshold.unit)
        edges = self.observable_edges_or_none()
        if edges is not None and edges[0] < lo * (1 - 1e-12):
            raise ValueError(f"threshold {self.threshold.value:g} {self.threshold.unit} is above "
                             f"the first bin edge {self.bins.edges[0]:g} {self.bins.unit}")
        if self.bins.edges is None and self.to_observable(self.bins.stop, self.bins.unit) <= lo:
            raise ValueError(f"bins.stop {self.bins.stop:g} {self.bins.unit} is not above the "
                             f"threshold {self.threshold.value:g} {self.threshold.unit}")
        if isinstance(self.smearing, PoissonPESmearing) and self.bins.edges is None \
                and self.bins.width is not None and self._n_bins() <= MAX_RESPONSE_BINS:
            edges = self.observable_edges()
            if not np.allclose(edges, np.round(edges)):
                raise ValueError(
                    f"bins: a Poisson photoelectron response counts whole photoelectrons, so its "
                    f"bin edges must be whole numbers of PE; threshold "
                    f"{self.threshold.value:g} {self.threshold.unit}, width {self.bins.width:g} "
                    f"and stop {self.bins.stop:g} {self.bins.unit} give "
                    f"{', '.join(f'{e:.4g}' for e in edges[:4])}{' …' if edges.size > 4 else ''} "
                    f"PE; give the threshold, width and stop in whole PE")
        n_bins = self._n_bins()
        if n_bins > MAX_RESPONSE_BINS:
            where = "bins.edges" if self.bins.edges is not None else "bins.width"
            raise ValueError(f"{where}: {n_bins:.4g} bins, more than {MAX_RESPONSE_BINS} "
                             f"(MAX_RESPONSE_BINS; the response of every bin is computed); give "
                             f"wider bins")
        self._check_sub_bins()
        return self

    def _check_sub_bins(self) -> None:
        """The sub-bins the response is integrated on (:meth:`_SmearingBase.fine_edges`) are
        counted before they are made: at most :data:`MAX_FINE_BINS`."""
        poisson = isinstance(self.smearing, PoissonPESmearing)
        subdivided = (self.efficiency_variable == "reconstructed"
                      and not isinstance(self.efficiency, ConstantEfficiency)
                      and not self.efficiency_on_true_recoil())
        if not (poisson or subdivided):
            return
        edges = self.observable_edges()
        span = float(edges[-1] - edges[0])
        if poisson:
            n, what = span, (f"bins: the 1-PE sub-bins from {edges[0]:g} to {edges[-1]:g} PE "
                             "(a Poisson photoelectron response is summed photoelectron by "
                             "photoelectron)")
        else:
            n = span / self.smearing.fine_step
            what = (f"smearing.fine_step = {self.smearing.fine_step:g}: the sub-bins of the "
                    f"efficiency over {edges[0]:g}–{edges[-1]:g} {self.observable_unit}")
        if n > MAX_FINE_BINS:
            fix = "end the bins lower" if poisson else "use a coarser fine_step or end the bins lower"
            raise ValueError(f"{what} are {n:.4g}, more than {MAX_FINE_BINS} (MAX_FINE_BINS): "
                             f"{fix}")

    def _n_bins(self) -> float:
        """The number of analysis bins, counted without making them (:meth:`observable_edges`)."""
        if self.bins.edges is not None:
            return len(self.bins.edges) - 1
        if self.bins.width is None:
            return 1
        if self.bins.unit == "keVnr":
            if self.threshold.unit != "keVnr":
                return 1  # refused by observable_edges, with its own message
            span, width = self.bins.stop - self.threshold.value, self.bins.width
        else:
            lo = float(self.to_observable(self.threshold.value, self.threshold.unit))
            span = float(self.to_observable(self.bins.stop, self.bins.unit)) - lo
            width = float(self.to_observable(self.bins.width, self.bins.unit))
        return max(1, math.ceil(span / width - 1e-9))

    # --- units --------------------------------------------------------------------------------
    def _quenching_models(self) -> list:
        """The quenching models in use: the per-element ones, and ``quenching`` if given."""
        default = [] if self.quenching is None else [self.quenching]
        if not self.quenching_by_element:
            return default or [NoQuenching()]
        return [*self.quenching_by_element.values(), *default]

    @property
    def has_default_quenching(self) -> bool:
        """True if some model applies to elements not in ``quenching_by_element``."""
        return not self.quenching_by_element or self.quenching is not None

    @property
    def observable_unit(self) -> str:
        """Unit of the observable: PE (photoelectron smearing), keVee, or keVnr (no quenching)."""
        if self.smearing.pe:
            return "PE"
        return self._quenching_models()[0].observable_unit

    def _convertible(self, where: str, unit: str) -> None:
        obs = self.observable_unit
        if unit == obs or (unit == "keVee" and obs == "PE"):
            return
        if unit == "keVnr" and obs != "keVnr" and not self.nucleus_dependent:
            return
        valid = sorted({obs, *({"keVee"} if obs == "PE" else set()),
                        *({"keVnr"} if not self.nucleus_dependent else set())})
        if unit == "PE":
            raise ValueError(f"{where} = 'PE' needs a photoelectron smearing (poisson-pe or "
                             f"gamma-pe, which give the light yield); valid units here: "
                             f"{', '.join(valid)}")
        raise ValueError(f"{where} = {unit!r} cannot be converted to the observable ({obs}); "
                         f"valid units here: {', '.join(valid)}")

    @property
    def nucleus_dependent(self) -> bool:
        """True if the quenching differs between target nuclei."""
        return bool(self.quenching_by_element) or self.quenching_for(None).nucleus_dependent

    def to_observable(self, value, unit: str) -> np.ndarray:
        """Convert energies in ``unit`` to the observable's unit (keVnr via the quenching)."""
        v = np.asarray(value, dtype=float)
        obs = self.observable_unit
        if unit == obs:
            return v
        if unit == "keVnr":
            eee = self.quenching_for(None).electron_equivalent(v)
            return self.smearing.mean_observed(eee)
        if unit == "keVee" and obs == "PE":
            return self.smearing.light_yield * v
        if unit == "PE" and obs == "keVee":
            return v / self.smearing.light_yield
        raise ConfigError(f"cannot convert {unit} to {obs}")

    def observable_edges_or_none(self) -> np.ndarray | None:
        """Explicit bin edges in the observable's unit (None for the ``width``/``stop`` form)."""
        if self.bins.edges is None:
            return None
        return self.to_observable(np.asarray(self.bins.edges), self.bins.unit)

    def observable_edges(self) -> np.ndarray:
        """Analysis bin edges in the observable's unit."""
        edges = self.observable_edges_or_none()
        if edges is not None:
            return edges
        lo = float(self.to_observable(self.threshold.value, self.threshold.unit))
        hi = float(self.to_observable(self.bins.stop, self.bins.unit))
        if self.bins.width is None:
            return np.array([lo, hi])
        width = float(self.to_observable(self.bins.width, self.bins.unit)) if \
            self.bins.unit != "keVnr" else None
        if width is None:  # keVnr width: steps in keVnr, converted edge by edge
            kev = _width_edges(self._threshold_kevnr(), self.bins.stop, self.bins.width)
            return self.to_observable(kev, "keVnr")
        return _width_edges(lo, hi, width)

    def _threshold_kevnr(self) -> float:
        if self.threshold.unit == "keVnr":
            return self.threshold.value
        raise ConfigError("bins in keVnr with a width need the threshold in keVnr")

    def quenching_for(self, element: str | None) -> _QuenchingBase:
        """The quenching model of ``element``'s nuclei."""
        if element is not None and element in self.quenching_by_element:
            return self.quenching_by_element[element]
        return self.quenching if self.quenching is not None else NoQuenching()

    def efficiency_on_true_recoil(self) -> bool:
        """True if the efficiency is a function of the true recoil (given in keVnr)."""
        return self.efficiency.unit == "keVnr" and self.observable_unit != "keVnr"

    def efficiency_scale(self) -> float:
        """Factor from the observable's unit to the efficiency curve's unit (keVee ↔ PE)."""
        eu, obs = self.efficiency.unit, self.observable_unit
        if eu is None or eu == obs or self.efficiency_on_true_recoil():
            return 1.0
        ly = self.smearing.light_yield
        return 1.0 / ly if (obs, eu) == ("PE", "keVee") else ly

    def matrix(self, recoil_kevnr: ArrayLike, nucleus=None, element: str | None = None,
               *, edges: ArrayLike | None = None, subdivide: bool | None = None
               ) -> NDArray[np.float64]:
        """Response matrix of the nuclei of ``element`` on true recoils ``recoil_kevnr`` (keVnr)."""
        edges = self.observable_edges() if edges is None else np.asarray(edges, dtype=float)
        threshold = float(self.to_observable(self.threshold.value, self.threshold.unit)) \
            if isinstance(self.smearing, GaussianSmearing) and self.smearing.sqrt_threshold \
            else None
        quench = self.quenching_for(element)
        t = np.asarray(recoil_kevnr, dtype=float)
        scale = self.efficiency_scale()
        eff = self.efficiency
        if self.efficiency_on_true_recoil():
            true_eff = eff(t)
            eff, variable = ConstantEfficiency(), "true"
        else:
            true_eff = None
            variable = self.efficiency_variable
        out = fold_matrix(
            t, edges, quenching=quench, smearing=self.smearing,
            efficiency=(eff if scale == 1.0 else (lambda x: self.efficiency(x * scale))),
            efficiency_variable=variable, nucleus=nucleus, threshold=threshold,
            subdivide=subdivide if subdivide is not None else
            (variable == "reconstructed" and not isinstance(eff, ConstantEfficiency)),
        )
        if true_eff is not None:
            out = out * true_eff[None, :]
        return out


# ================================================================================== the function


def fold_matrix(
    recoil_kevnr: ArrayLike,
    edges: ArrayLike,
    *,
    quenching,
    smearing,
    efficiency,
    efficiency_variable: str = "reconstructed",
    nucleus=None,
    threshold: float | None = None,
    subdivide: bool = True,
) -> NDArray[np.float64]:
    """``R[i, j]``: probability × efficiency that a recoil of ``recoil_kevnr[j]`` keVnr lands in bin i.

    Parameters
    ----------
    recoil_kevnr : array_like, shape (n_nodes,)
        True nuclear-recoil energies in keVnr (≥ 0).
    edges : array_like, shape (n_bins + 1,)
        Analysis bin edges in the observable's unit (keVee, PE, or keVnr without quenching).
    quenching, smearing, efficiency
        The pieces (:data:`Quenching`, :data:`Smearing`, :data:`Efficiency` or any object with the
        same methods).
    efficiency_variable : {"reconstructed", "true"}
        Efficiency of the reconstructed observable (evaluated at sub-bin centres) or of its mean.
    nucleus : Nucleus, optional
        The target nucleus (needed by nucleus-dependent quenching such as Lindhard).
    threshold : float, optional
        Threshold in the observable's unit (for σ = σ₀√(E_th E) smearing).
    subdivide : bool
        Integrate the smeared distribution on sub-bins of ``smearing.fine_step`` (needed when the
        efficiency varies with the reconstructed observable, and always for Poisson PE, whose
        sub-bins are the 1-PE bins). False: CDF differences at the analysis edges directly.

    Returns
    -------
    ndarray, shape (n_bins, n_nodes)
        ≥ 0. The smeared distribution is integrated exactly (Poisson masses, gamma and normal
        CDFs) on the sub-bins, the efficiency is evaluated at each sub-bin centre, and sub-bins are
        summed into the analysis bins.
    """
    t = np.asarray(recoil_kevnr, dtype=float)
    edges = np.asarray(edges, dtype=float)
    eee = quenching.electron_equivalent(t, nucleus) if nucleus is not None else \
        quenching.electron_equivalent(t)
    poisson = isinstance(smearing, PoissonPESmearing) or getattr(smearing, "model", "") == \
        "poisson-pe"
    fine = smearing.fine_edges(edges) if (subdivide or poisson) else edges
    if threshold is not None:
        prob = smearing.probabilities(eee, fine, threshold)
    else:
        prob = smearing.probabilities(eee, fine)
    if efficiency_variable == "reconstructed":
        prob = prob * efficiency(0.5 * (fine[1:] + fine[:-1]))[:, None]
    else:
        prob = prob * efficiency(smearing.mean_observed(eee))[None, :]
    if fine is edges:
        return np.clip(prob, 0.0, None)
    starts = np.searchsorted(fine, edges[:-1] - 1e-9 * max(1.0, abs(fine[-1])))
    out = np.add.reduceat(prob, starts, axis=0)
    return np.clip(out, 0.0, None)
