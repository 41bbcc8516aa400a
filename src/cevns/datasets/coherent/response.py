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

The pieces are the experiment layer's response models (:mod:`cevns.experiment.response_models`,
docs/response.md) under the names the release readers use, with positional constructors; the
matrix is built by the same :func:`cevns.experiment.response_models.fold_matrix` that serves a
user's detector ``response`` table. One vocabulary, one function.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar, Literal, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cevns.datasets.coherent.containers import Axis
from cevns.errors import ConfigError
from cevns.experiment import response_models as rm
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


class ConstantQuenchingFactor(rm.ConstantQuenching):
    """E_ee = QF · T (CsI-2017: QF = 0.0878 ± 0.0166, flat, ``coherent_parameters.yaml``).

    :class:`cevns.experiment.response_models.ConstantQuenching` with a positional constructor.
    """

    def __init__(self, quenching_factor: float, **kwargs) -> None:
        super().__init__(quenching_factor=quenching_factor, **kwargs)


class LinearQuenchingFactor(rm.LinearQuenching):
    """QF(T) = a + b·T, E_ee = QF(T)·T (LAr-2020: a = 0.246, b = 0.00078 /keVnr).

    :class:`cevns.experiment.response_models.LinearQuenching` with a positional constructor.
    """

    def __init__(self, a: float, b_per_kevnr: float, **kwargs) -> None:
        super().__init__(a=a, b_per_kevnr=b_per_kevnr, **kwargs)


class PolynomialScintillation(rm.PolynomialQuenching):
    """E_ee[MeVee] = Σ_k c_k T[MeVnr]^(k+1) (CsI-2021 ``scintRespCoefficients.txt``).

    Negative values (a polynomial far outside its fitted range) are clipped to 0. The CsI-2021
    fit covers the CEvNS recoil range (T ≲ 50 keVnr; maximal Cs/I recoil from 52.8 MeV ν is
    ≈ 46 keVnr), where it rises monotonically.
    :class:`cevns.experiment.response_models.PolynomialQuenching` in MeV.
    """

    def __init__(self, coefficients: tuple[float, ...], **kwargs) -> None:
        kwargs.setdefault("energy_unit", "MeV")
        super().__init__(coefficients=tuple(coefficients), **kwargs)


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


class PoissonPhotoelectrons(rm.PoissonPESmearing):
    """Number of photoelectrons ~ Poisson(LY · E_ee) (CsI-2017).

    ``n`` photoelectrons are reconstructed as ``n`` PE, i.e. in the 1-PE bin ``[n, n+1)``; analysis
    bin edges must therefore be integers. The release's acceptance is evaluated at 1-PE bin
    centres ``n + 0.5`` (``coherent_parameters.yaml``, acceptanceEfficiency comment).
    """

    unit: ClassVar[str] = "PE"

    def __init__(self, light_yield: float, **kwargs) -> None:
        super().__init__(light_yield=light_yield, **kwargs)


class GammaPhotoelectrons(rm.GammaPESmearing):
    """Observed PE ~ Gamma(shape k = 1 + b·E_ee, mean LY·E_ee) (CsI-2021).

    Third-party transcription of the CsI-2021 supplementary material (see the release README):
    a = 0.0749 keVee and b = 9.56 /keVee, with mean E_ee/a = 13.35 PE/keVee × E_ee and shape
    1 + b·E_ee; here the mean is written as ``light_yield * E_ee``.
    """

    unit: ClassVar[str] = "PE"

    def __init__(self, light_yield: float, shape_slope_per_kevee: float, **kwargs) -> None:
        super().__init__(light_yield=light_yield, shape_slope_per_kevee=shape_slope_per_kevee,
                         **kwargs)


class GaussianResolution(rm.GaussianSmearing):
    """Observed keVee ~ Normal(E_ee, σ = a·√E_ee) (LAr-2020: a = 0.58 keVee^½).

    :class:`cevns.experiment.response_models.GaussianSmearing` with ``stochastic = a``.
    """

    unit: ClassVar[str] = "keVee"

    def __init__(self, resolution_coefficient: float, **kwargs) -> None:
        super().__init__(stochastic=resolution_coefficient, **kwargs)

    @property
    def resolution_coefficient(self) -> float:
        """a in σ = a√E_ee (keVee^½)."""
        return self.stochastic


# ---------------------------------------------------------------------------------- efficiency


class Efficiency(Protocol):
    """Detection efficiency as a function of the observable (or of E_ee, see EnergyResponse)."""

    def __call__(self, x: ArrayLike) -> NDArray[np.float64]:
        """Efficiency at ``x``."""
        ...


class LogisticEfficiency(rm.LogisticEfficiency):
    """ε(x) = a / (1 + exp(−k (x − x0))) + offset, clipped to ≥ 0, times an optional step.

    The step is the CsI-2017 "modified Heaviside": 0 for x < ``step_low``, ½ for
    ``step_low`` ≤ x < ``step_high``, 1 above (``step_low = 5``, ``step_high = 6`` PE there).
    CsI-2021 uses ``offset = d`` (negative), no step.
    :class:`cevns.experiment.response_models.LogisticEfficiency` under the release readers' name.
    """


class TabulatedEfficiency(rm.TabulatedEfficiency):
    """Linear interpolation in a table; 0 below the first point, the last value above the last."""

    def __init__(self, x: tuple[float, ...], y: tuple[float, ...], **kwargs) -> None:
        super().__init__(x=tuple(x), y=tuple(y), **kwargs)


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
        return rm.fold_matrix(nodes / keV, self.axis.edges, quenching=self.quenching,
                              smearing=self.smearing, efficiency=self.efficiency,
                              efficiency_variable=self.efficiency_variable, subdivide=True)

    def with_changes(self, **changes: object) -> EnergyResponse:
        """A copy with some pieces replaced, e.g. ``with_changes(quenching=…)`` for a ±1σ model."""
        return replace(self, **changes)

    def with_smearing(self, **parameters: float) -> EnergyResponse:
        """A copy whose smearing model has some parameters replaced, validated like the original.

        E.g. ``with_smearing(light_yield=13.367)`` (PE/keVee) or, for the gamma PE smearing of
        CsI-2021, ``with_smearing(shape_slope_per_kevee=10.5)``: the ±1σ responses of the CsI
        light-yield and gamma-smearing shape nuisances (docs/coherent_csi.md). An unknown
        parameter name or an invalid value raises :class:`cevns.errors.ConfigError`.
        """
        smearing = self.smearing.replace(**parameters)  # validated; ConfigError names a bad one
        return replace(self, smearing=smearing)
