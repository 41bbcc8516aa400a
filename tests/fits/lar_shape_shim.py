"""Test-only stand-in for the shape-nuisance API of ``cevns.stats`` (LAr-2020 tests).

``cevns.fits.model`` builds its LAr components with the agreed API
``Component(..., shapes={name: (down, up)}, shape_code="polyexp")``. Until ``cevns.stats`` supports
it, these tests swap :class:`ShimComponent` and :class:`ShimChannel` in for those of
``cevns.fits.model`` and minimise the
χ² below with iminuit:

    N_i = Σ_k (1 + θ_k) μ_k,i(α),   μ_k(α) from :class:`cevns.stats.shapes.ShapeSystematics`
    χ² = 2 Σ_i [N_i − n_i + n_i ln(n_i/N_i)] + Σ_k (θ_k/σ_k)² + Σ_s α_s²

(the HistFactory likelihood with the interpolation codes of ``cevns.stats.shapes``). Once the
stats branch is merged, the same numbers must come out of ``cevns.stats.profile_chi2`` on the real
components (``test_lar_shapes.py`` compares the two when the API is present).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from iminuit import Minuit

from cevns.stats.shapes import ShapeSystematics, ShapeVariation


@dataclass(frozen=True, eq=False)
class ShimComponent:
    """``cevns.stats.Component`` with the agreed ``shapes``/``shape_code`` arguments."""

    name: str
    expected: np.ndarray
    nuisance: str | None = None
    sigma: float | None = None
    shapes: dict = field(default_factory=dict)
    shape_code: str = "polyexp"
    conserve_total: bool | tuple = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "expected", np.asarray(self.expected, dtype=float))
        flag = self.conserve_total
        names = set(self.shapes or {}) if flag is True else set(flag or ())
        object.__setattr__(self, "conserve_total", frozenset(names))
        for name, (down, up) in (self.shapes or {}).items():
            if np.shape(down) != self.expected.shape or np.shape(up) != self.expected.shape:
                raise ValueError(f"shape {name}: templates must have the component's shape")


@dataclass(frozen=True, eq=False)
class ShimChannel:
    """``cevns.stats.Channel`` holding :class:`ShimComponent` s."""

    name: str
    observed: np.ndarray
    components: tuple


def _row(arr: np.ndarray, index: int) -> np.ndarray:
    return arr if arr.ndim == 1 else arr[index]


class ShapeChi2:
    """χ²(θ, α) of ``model.channels(signal)`` at one grid row, with shape nuisances."""

    def __init__(self, channels, index: int = 0):
        self.terms = []  # (observed, [(nuisance, ShapeSystematics or nominal, shape names)])
        norms: dict[str, float] = {}
        shapes: list[str] = []
        for ch in channels:
            comps = []
            for c in ch.components:
                nominal = _row(c.expected, index)
                names = list(getattr(c, "shapes", {}) or {})
                syst = None
                if names:
                    syst = ShapeSystematics(nominal, tuple(
                        ShapeVariation(n, up=_row(c.shapes[n][1], index),
                                       down=_row(c.shapes[n][0], index),
                                       interpolation=c.shape_code,
                                       conserve_total=n in getattr(c, "conserve_total", ()))
                        for n in names))
                comps.append((c.nuisance, nominal, syst, names))
                if c.nuisance is not None:
                    norms[c.nuisance] = math.inf if c.sigma is None else float(c.sigma)
                shapes += [n for n in names if n not in shapes]
            self.terms.append((np.asarray(ch.observed, dtype=float), comps))
        self.norms = list(norms)
        self.sigmas = np.array([norms[n] for n in self.norms])
        self.shapes = shapes
        self.names = self.norms + self.shapes

    def __call__(self, x: np.ndarray) -> float:
        theta = dict(zip(self.norms, x[: len(self.norms)], strict=True))
        alpha = dict(zip(self.shapes, x[len(self.norms):], strict=True))
        total = float(np.sum((x[: len(self.norms)] / self.sigmas) ** 2))
        total += float(np.sum(x[len(self.norms):] ** 2))
        for n, comps in self.terms:
            mu = np.zeros_like(n)
            for nuisance, nominal, syst, names in comps:
                part = nominal if syst is None else syst.evaluate(
                    np.array([alpha[s] for s in names]), derivatives=False)
                mu = mu + (1.0 + theta.get(nuisance, 0.0)) * part
            if np.any(mu[n > 0] <= 0):
                return 1e30
            pos = n > 0
            terms = mu - n
            terms[pos] -= n[pos] * np.log(mu[pos] / n[pos])
            total += 2.0 * float(terms.sum())
        return total

    def minimise(self, start: dict[str, float] | None = None) -> Minuit:
        start = start or {}
        m = Minuit(self, np.array([start.get(n, 0.0) for n in self.names]), name=self.names)
        m.errordef = Minuit.LEAST_SQUARES
        for n in self.norms:
            m.limits[n] = (-1.0 + 1e-9, None)
        m.tol = 1e-4
        m.strategy = 1
        m.migrad()
        return m


def profile(model, signals: np.ndarray, signal_sigma=None) -> tuple[np.ndarray, list[Minuit]]:
    """Profiled χ² (shape nuisances included) at each row of ``signals`` (n_points, n_bins)."""
    chi2, fits, start = [], [], None
    for i in range(signals.shape[0]):
        f = ShapeChi2(model.channels(signals[i], signal_sigma=signal_sigma)).minimise(start)
        start = dict(zip(f.parameters, f.values, strict=True))
        chi2.append(f.fval)
        fits.append(f)
    return np.array(chi2), fits
