"""Detector response of the real COHERENT detectors: true recoil energy → observed energy bins.

A rate engine computes, for each target nucleus, dN/dT at recoil-energy nodes ``T_nodes`` with
quadrature weights. :meth:`EnergyResponse.response_matrix` gives ``R[i, j]``, the probability that
a nuclear recoil of true energy ``T_nodes[j]`` is observed in analysis energy bin ``i``, efficiency
included, so that the expected counts per bin are ``R @ (dN/dT * weights)``.

The chain is the same for every release, with release-specific pieces:

1. **quenching** — keVnr → keVee (electron-equivalent energy) —
   :class:`ConstantQuenchingFactor` (CsI-2017: QF = 0.0878), :class:`PolynomialScintillation`
   (CsI-2021: E_ee(T) = aT + bT² + cT³ + dT⁴ in MeV), :class:`LinearQuenchingFactor`
   (LAr-2020: QF = a + b·T);
2. **smearing** — keVee → distribution of the observable —
   :class:`PoissonPhotoelectrons` (CsI-2017: Poisson number of PE with mean LY·E_ee),
   :class:`GammaPhotoelectrons` (CsI-2021: gamma distribution in PE with shape 1 + b·E_ee and mean
   LY·E_ee), :class:`GaussianResolution` (LAr-2020: σ/E = a/√E in keVee);
3. **efficiency** of the observable — :class:`LogisticEfficiency` (CsI-2017 with its modified
   Heaviside step, CsI-2021 with an offset), :class:`TabulatedEfficiency` (LAr-2020 table);
4. **binning** into the release's analysis bins (half-open).

The smeared distribution is integrated exactly (Poisson masses, gamma and normal CDFs) on a fine
grid of sub-bins, the efficiency is evaluated at each sub-bin centre, and sub-bins are summed into
the analysis bins. For the Poisson model the sub-bins are the 1-PE bins ``[n, n+1)`` holding
``n`` photoelectrons, with the efficiency at ``n + 0.5`` — the CsI-2017 release's own rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import gammainc, ndtr

from cevns.datasets.coherent.containers import Axis
from cevns.errors import ConfigError
from cevns.physics.units import keV

__all__ = [
    "QuenchingModel",
    "ConstantQuenchingFactor",
    "LinearQuenchingFactor",
    "PolynomialScintillation",
    "Smearing",
    "PoissonPhotoelectrons",
    "GammaPhotoelectrons",
    "GaussianResolution",
    "Efficiency",
    "LogisticEfficiency",
    "TabulatedEfficiency",
    "EnergyResponse",
]


# ----------------------------------------------------------------------------------- quenching


class QuenchingModel(Protocol):
    """keVnr → keVee."""

    def electron_equivalent(self, recoil_kevnr: NDArray[np.float64]) -> NDArray[np.float64]:
        """Electron-equivalent energy in keVee of recoils of ``recoil_kevnr`` keVnr."""
        ...


@dataclass(frozen=True)
class ConstantQuenchingFactor:
    """E_ee = QF · T (CsI-2017: QF = 0.0878 ± 0.0166, flat, ``coherent_parameters.yaml``)."""

    quenching_factor: float

    def electron_equivalent(self, recoil_kevnr: NDArray[np.float64]) -> NDArray[np.float64]:
        """Electron-equivalent energy in keVee."""
        return self.quenching_factor * np.asarray(recoil_kevnr, dtype=float)


@dataclass(frozen=True)
class LinearQuenchingFactor:
    """QF(T) = a + b·T, E_ee = QF(T)·T (LAr-2020: a = 0.246, b = 0.00078 /keVnr)."""

    a: float
    b_per_kevnr: float

    def electron_equivalent(self, recoil_kevnr: NDArray[np.float64]) -> NDArray[np.float64]:
        """Electron-equivalent energy in keVee."""
        t = np.asarray(recoil_kevnr, dtype=float)
        return np.maximum((self.a + self.b_per_kevnr * t) * t, 0.0)


@dataclass(frozen=True)
class PolynomialScintillation:
    """E_ee[MeVee] = Σ_k c_k T[MeVnr]^(k+1) (CsI-2021 ``scintRespCoefficients.txt``).

    Negative values (a polynomial far outside its fitted range) are clipped to 0. The CsI-2021
    fit covers the CEvNS recoil range (T ≲ 50 keVnr; maximal Cs/I recoil from 52.8 MeV ν is
    ≈ 46 keVnr), where it rises monotonically.
    """

    coefficients: tuple[float, ...]

    def electron_equivalent(self, recoil_kevnr: NDArray[np.float64]) -> NDArray[np.float64]:
        """Electron-equivalent energy in keVee."""
        t_mev = np.asarray(recoil_kevnr, dtype=float) * 1e-3
        e_mev = np.zeros_like(t_mev)
        for power, c in enumerate(self.coefficients, start=1):
            e_mev = e_mev + c * t_mev**power
        return np.maximum(e_mev * 1e3, 0.0)


# ------------------------------------------------------------------------------------ smearing


class Smearing(Protocol):
    """keVee → probabilities of the observable on a grid of sub-bins."""

    unit: str

    def mean_observed(self, eee_kev: NDArray[np.float64]) -> NDArray[np.float64]:
        """Mean of the observable for electron-equivalent energies ``eee_kev``."""
        ...

    def fine_edges(self, edges: NDArray[np.float64]) -> NDArray[np.float64]:
        """Sub-bin edges covering ``edges`` (each analysis edge is a sub-bin edge)."""
        ...

    def probabilities(
        self, eee_kev: NDArray[np.float64], fine_edges: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """``P[k, j]``: probability that energy ``eee_kev[j]`` is observed in sub-bin ``k``."""
        ...


def _subdivide(edges: NDArray[np.float64], step: float) -> NDArray[np.float64]:
    pieces = [
        np.linspace(lo, hi, max(1, math.ceil((hi - lo) / step - 1e-9)) + 1)[:-1]
        for lo, hi in zip(edges[:-1], edges[1:], strict=True)
    ]
    return np.concatenate([*pieces, edges[-1:]])


@dataclass(frozen=True)
class PoissonPhotoelectrons:
    """Number of photoelectrons ~ Poisson(LY · E_ee) (CsI-2017).

    ``n`` photoelectrons are reconstructed as ``n`` PE, i.e. in the 1-PE bin ``[n, n+1)``; analysis
    bin edges must therefore be integers. The release's acceptance is evaluated at 1-PE bin
    centres ``n + 0.5`` (``coherent_parameters.yaml``, acceptanceEfficiency comment).
    """

    light_yield: float
    unit: str = "PE"

    def mean_observed(self, eee_kev: NDArray[np.float64]) -> NDArray[np.float64]:
        """Mean number of photoelectrons."""
        return self.light_yield * np.asarray(eee_kev, dtype=float)

    def fine_edges(self, edges: NDArray[np.float64]) -> NDArray[np.float64]:
        """The 1-PE bins ``[n, n+1)`` spanning ``edges`` (integer edges required)."""
        if not np.allclose(edges, np.round(edges)) or edges[0] < 0:
            raise ConfigError(
                f"Poisson photoelectron response needs non-negative integer PE edges, got "
                f"{edges.tolist()}"
            )
        return np.arange(round(edges[0]), round(edges[-1]) + 1, dtype=float)

    def probabilities(
        self, eee_kev: NDArray[np.float64], fine_edges: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Poisson masses of ``n = fine_edges[:-1]`` photoelectrons."""
        mu = self.mean_observed(eee_kev)
        n = fine_edges[:-1]
        from scipy.stats import poisson  # lazy: scipy.stats costs ~0.3 s to import

        return poisson.pmf(n[:, None], mu[None, :])


@dataclass(frozen=True)
class GammaPhotoelectrons:
    """Observed PE ~ Gamma(shape k = 1 + b·E_ee, mean LY·E_ee) (CsI-2021).

    Third-party transcription of the CsI-2021 supplementary material (see the release README):
    a = 0.0749 keVee and b = 9.56 /keVee, with mean E_ee/a = 13.35 PE/keVee × E_ee and shape
    1 + b·E_ee; here the mean is written as ``light_yield * E_ee``.
    """

    light_yield: float
    shape_slope_per_kevee: float
    fine_step: float = 0.1
    unit: str = "PE"

    def mean_observed(self, eee_kev: NDArray[np.float64]) -> NDArray[np.float64]:
        """Mean number of photoelectrons."""
        return self.light_yield * np.asarray(eee_kev, dtype=float)

    def fine_edges(self, edges: NDArray[np.float64]) -> NDArray[np.float64]:
        """Sub-bins of at most ``fine_step`` PE."""
        return _subdivide(edges, self.fine_step)

    def probabilities(
        self, eee_kev: NDArray[np.float64], fine_edges: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Gamma-CDF differences over the sub-bins (zero for E_ee = 0)."""
        eee = np.asarray(eee_kev, dtype=float)
        positive = eee > 0
        shape = 1.0 + self.shape_slope_per_kevee * eee
        scale = np.where(positive, self.mean_observed(eee) / shape, 1.0)
        x = np.maximum(fine_edges, 0.0)[:, None] / scale[None, :]
        cdf = gammainc(shape[None, :], x)
        out = np.diff(cdf, axis=0)
        out[:, ~positive] = 0.0
        return out


@dataclass(frozen=True)
class GaussianResolution:
    """Observed keVee ~ Normal(E_ee, σ = a·√E_ee) (LAr-2020: a = 0.58 keVee^½)."""

    resolution_coefficient: float
    fine_step: float = 0.1
    unit: str = "keVee"

    def mean_observed(self, eee_kev: NDArray[np.float64]) -> NDArray[np.float64]:
        """Mean reconstructed energy (keVee)."""
        return np.asarray(eee_kev, dtype=float)

    def fine_edges(self, edges: NDArray[np.float64]) -> NDArray[np.float64]:
        """Sub-bins of at most ``fine_step`` keVee."""
        return _subdivide(edges, self.fine_step)

    def probabilities(
        self, eee_kev: NDArray[np.float64], fine_edges: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Normal-CDF differences over the sub-bins (zero for E_ee = 0)."""
        eee = np.asarray(eee_kev, dtype=float)
        positive = eee > 0
        sigma = np.where(positive, self.resolution_coefficient * np.sqrt(np.abs(eee)), 1.0)
        cdf = ndtr((fine_edges[:, None] - eee[None, :]) / sigma[None, :])
        out = np.diff(cdf, axis=0)
        out[:, ~positive] = 0.0
        return out


# ---------------------------------------------------------------------------------- efficiency


class Efficiency(Protocol):
    """Detection efficiency as a function of the observable (or of E_ee, see EnergyResponse)."""

    def __call__(self, x: ArrayLike) -> NDArray[np.float64]:
        """Efficiency at ``x``."""
        ...


@dataclass(frozen=True)
class LogisticEfficiency:
    """ε(x) = a / (1 + exp(−k (x − x0))) + offset, clipped to ≥ 0, times an optional step.

    The step is the CsI-2017 "modified Heaviside": 0 for x < ``step_low``, ½ for
    ``step_low`` ≤ x < ``step_high``, 1 above (``step_low = 5``, ``step_high = 6`` PE there).
    CsI-2021 uses ``offset = d`` (negative), no step.
    """

    a: float
    k: float
    x0: float
    offset: float = 0.0
    step_low: float | None = None
    step_high: float | None = None

    def __call__(self, x: ArrayLike) -> NDArray[np.float64]:
        """Efficiency at observable values ``x``."""
        x = np.asarray(x, dtype=float)
        eff = np.maximum(self.a / (1.0 + np.exp(-self.k * (x - self.x0))) + self.offset, 0.0)
        if self.step_low is not None:
            high = self.step_high if self.step_high is not None else self.step_low
            step = np.where(x < self.step_low, 0.0, np.where(x < high, 0.5, 1.0))
            eff = eff * step
        return eff


@dataclass(frozen=True)
class TabulatedEfficiency:
    """Linear interpolation in a table; 0 below the first point, the last value above the last."""

    x: tuple[float, ...]
    y: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y) or len(self.x) < 2 or np.any(np.diff(self.x) <= 0):
            raise ConfigError("tabulated efficiency needs ≥ 2 points with increasing x")

    def __call__(self, x: ArrayLike) -> NDArray[np.float64]:
        """Efficiency at ``x``."""
        return np.interp(np.asarray(x, dtype=float), self.x, self.y, left=0.0, right=self.y[-1])


# ------------------------------------------------------------------------------------ response


@dataclass(frozen=True)
class EnergyResponse:
    """True recoil energy → observed energy bins of one detector.

    Attributes
    ----------
    axis : Axis
        The observed energy bins (PE or keVee).
    quenching : QuenchingModel
        keVnr → keVee.
    smearing : Smearing
        keVee → observable distribution.
    efficiency : Efficiency
        Efficiency as a function of the observable (``efficiency_variable="reconstructed"``) or
        of the true electron-equivalent energy in the observable's unit
        (``efficiency_variable="true"``, i.e. evaluated at the mean observable).
    efficiency_variable : {"reconstructed", "true"}
        See above.
    description : str
        Provenance of the pieces.
    """

    axis: Axis
    quenching: QuenchingModel
    smearing: Smearing
    efficiency: Efficiency
    efficiency_variable: Literal["reconstructed", "true"] = "reconstructed"
    description: str = ""

    def __post_init__(self) -> None:
        if self.efficiency_variable not in ("reconstructed", "true"):
            raise ConfigError(
                f"efficiency_variable must be 'reconstructed' or 'true', got "
                f"{self.efficiency_variable!r}"
            )

    def electron_equivalent(self, recoil_energy: ArrayLike) -> NDArray[np.float64]:
        """Electron-equivalent energy (keVee, a plain number) of recoils given in internal units."""
        t = np.asarray(recoil_energy, dtype=float) / keV
        return self.quenching.electron_equivalent(t)

    def mean_observed(self, recoil_energy: ArrayLike) -> NDArray[np.float64]:
        """Mean observable (PE or keVee) before efficiency and binning."""
        return self.smearing.mean_observed(self.electron_equivalent(recoil_energy))

    @property
    def max_efficiency(self) -> float:
        """Largest efficiency over the observed range (a bound on every column sum)."""
        fine = self.smearing.fine_edges(self.axis.edges)
        grid = np.concatenate([0.5 * (fine[1:] + fine[:-1]), fine])
        return float(np.max(self.efficiency(grid)))

    def response_matrix(self, recoil_energy_nodes: ArrayLike) -> NDArray[np.float64]:
        """Probability that a recoil of each true energy lands in each observed bin.

        Parameters
        ----------
        recoil_energy_nodes : array_like, shape (n_nodes,)
            True nuclear-recoil energies in internal energy units (``T / keV`` gives keVnr).

        Returns
        -------
        ndarray, shape (n_bins, n_nodes)
            Dimensionless, ≥ 0; column sums ≤ :attr:`max_efficiency` (events smeared outside the
            binning or rejected are lost).
        """
        nodes = np.atleast_1d(np.asarray(recoil_energy_nodes, dtype=float))
        if nodes.ndim != 1:
            raise ConfigError("recoil_energy_nodes must be a 1-d array")
        if np.any(nodes < 0) or not np.all(np.isfinite(nodes)):
            raise ConfigError("recoil_energy_nodes must be finite and ≥ 0")
        eee = self.quenching.electron_equivalent(nodes / keV)
        fine = self.smearing.fine_edges(self.axis.edges)
        prob = self.smearing.probabilities(eee, fine)
        if self.efficiency_variable == "reconstructed":
            prob = prob * self.efficiency(0.5 * (fine[1:] + fine[:-1]))[:, None]
        else:
            prob = prob * self.efficiency(self.smearing.mean_observed(eee))[None, :]
        starts = np.searchsorted(fine, self.axis.edges[:-1] - 1e-9 * max(1.0, abs(fine[-1])))
        out = np.add.reduceat(prob, starts, axis=0)
        return np.clip(out, 0.0, None)

    def with_changes(self, **changes: object) -> EnergyResponse:
        """A copy with some pieces replaced, e.g. ``with_changes(quenching=…)`` for a ±1σ model."""
        return replace(self, **changes)
