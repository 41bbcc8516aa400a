"""An independent implementation of shape nuisances, kept as a test reference.

It was written for the COHERENT fits before :mod:`cevns.stats` profiled shape nuisances itself;
the package now uses :mod:`cevns.stats` only, and the tests compare it with this second,
separately written model (χ², gradient, Hessian and profile). Its original description follows.

The agreed :mod:`cevns.stats` API for shape nuisances is

    Component(name, expected, nuisance=..., sigma=...,
              shapes={nuisance_name: (down_template, up_template)}, shape_code="polyexp")

with templates of the component's shape and a unit-Gaussian prior on each shape nuisance α: the
component then predicts (1 + θ) · C · Π_s f_s(α_s), f_s the HistFactory code-4 ("polyexp")
factor between down/nominal at α = −1 and up/nominal at α = +1 (exponential outside [−1, 1], a
sixth-order polynomial matching value and two derivatives inside; :mod:`cevns.stats.shapes`).

While the installed :class:`cevns.stats.Component` has no ``shapes`` field, this module provides
the same model: :class:`ShapedComponent` (a :class:`~cevns.stats.Component` with the two extra
fields) and :class:`ShapedPoissonModel` (χ², analytic gradient and Hessian, a batched damped
Newton profile over all nuisances and an iminuit cross-check, with the interface of
:class:`cevns.stats.PoissonModel` that the fits use). :func:`poisson_model` picks the native
:class:`~cevns.stats.PoissonModel` whenever it can, so this module retires itself once
:mod:`cevns.stats` has shape nuisances.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cevns.errors import ConfigError, MissingDependencyError, UnknownNameError
from cevns.stats import Channel, Component, PoissonModel, ProfileResult

__all__ = ["NATIVE_SHAPES", "ShapedComponent", "ShapedPoissonModel", "make_component",
           "poisson_model"]

#: True when :class:`cevns.stats.Component` takes ``shapes=`` itself.
NATIVE_SHAPES = "shapes" in {f.name for f in dataclasses.fields(Component)}


@dataclass(frozen=True, eq=False)
class ShapedComponent(Component):
    """A :class:`~cevns.stats.Component` with shape nuisances (module docstring).

    Parameters
    ----------
    shapes : mapping of str to (down, up)
        Expected counts at α = −1 and α = +1 for each shape nuisance, broadcastable to
        ``expected``; both > 0 wherever ``expected`` > 0.
    shape_code : {"polyexp"}
        Interpolation code (only HistFactory code 4 here).
    """

    shapes: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)
    shape_code: str = "polyexp"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.shape_code != "polyexp":
            raise ConfigError(f"component {self.name!r}: shape_code {self.shape_code!r} is not "
                              "supported by the fallback; use 'polyexp'")
        checked = {}
        for key, pair in dict(self.shapes).items():
            if not isinstance(key, str) or not key:
                raise ConfigError(f"component {self.name!r}: shape nuisance names must be "
                                  f"non-empty strings, got {key!r}")
            if key == self.nuisance:
                raise ConfigError(f"component {self.name!r}: {key!r} is both its normalisation "
                                  "and a shape nuisance")
            down, up = (np.asarray(t, dtype=float) for t in pair)
            for what, arr in (("down", down), ("up", up)):
                try:
                    np.broadcast_shapes(arr.shape, self.expected.shape)
                except ValueError:
                    raise ConfigError(f"component {self.name!r}: shapes[{key!r}] {what} has shape "
                                      f"{arr.shape}, not broadcastable to {self.expected.shape}"
                                      ) from None
                if not np.all(np.isfinite(arr)) or np.any(arr < 0):
                    raise ConfigError(f"component {self.name!r}: shapes[{key!r}] {what} must be "
                                      "finite counts ≥ 0")
            checked[key] = (down, up)
        object.__setattr__(self, "shapes", checked)


def make_component(name: str, expected: ArrayLike, *, nuisance: str | None = None,
                   sigma: float | None = None,
                   shapes: Mapping[str, tuple[Any, Any]] | None = None) -> Component:
    """A :class:`cevns.stats.Component`, with shape nuisances if any (native or fallback)."""
    if not shapes:
        return Component(name, expected, nuisance=nuisance, sigma=sigma)
    if NATIVE_SHAPES:  # pragma: no cover - taken once cevns.stats has shape nuisances
        return Component(name, expected, nuisance=nuisance, sigma=sigma, shapes=dict(shapes),
                         shape_code="polyexp")
    return ShapedComponent(name, expected, nuisance=nuisance, sigma=sigma, shapes=dict(shapes))


def poisson_model(channels: Channel | Sequence[Channel]) -> PoissonModel | ShapedPoissonModel:
    """The model of ``channels``: :class:`cevns.stats.PoissonModel` unless a component carries
    shape nuisances that the installed :mod:`cevns.stats` cannot profile."""
    chans = (channels,) if isinstance(channels, Channel) else tuple(channels)
    if any(isinstance(c, ShapedComponent) and c.shapes for ch in chans for c in ch.components):
        return ShapedPoissonModel(chans)
    return PoissonModel(chans)


def polyexp_factor(down_ratio: ArrayLike, up_ratio: ArrayLike, alpha: float) -> NDArray[np.float64]:
    """The code-4 factor f(α) per bin for the ratios down/nominal and up/nominal."""
    lo, hi = np.atleast_1d(np.asarray(down_ratio, float)), np.atleast_1d(np.asarray(up_ratio, float))
    shape = _Shape.build(0, np.ones(lo.shape[-1]), lo, hi, (), "shape", "factor")
    return shape.factor(np.array([[float(alpha)]]), None)[0][0]


# -- code-4 interpolation on arrays of any shape ---------------------------------------------------

_I = np.arange(1, 7)
_M = np.array([np.ones(6), (-1.0) ** _I, _I, _I * (-1.0) ** (_I - 1), _I * (_I - 1),
               _I * (_I - 1) * (-1.0) ** (_I - 2)], dtype=float)
_M_INV = np.linalg.inv(_M)
_I2 = _I * (_I - 1)


@dataclass(eq=False)
class _Shape:
    """log ratios and polynomial coefficients of one shape of one component, (1|G, B) each."""

    index: int
    lu: NDArray[np.float64]
    ld: NDArray[np.float64]
    coeff: NDArray[np.float64]  # (6, 1|G, B)

    @classmethod
    def build(cls, index: int, nom, down, up, grid: tuple[int, ...], name: str,
              comp: str) -> _Shape:
        shape = np.broadcast_shapes(nom.shape, down.shape, up.shape)
        nom, down, up = (np.broadcast_to(a, shape) for a in (nom, down, up))
        empty = nom <= 0
        bad = ~empty & ((down <= 0) | (up <= 0))
        if np.any(bad):
            raise ConfigError(f"component {comp!r}: shape {name!r} has a bin with positive "
                              "nominal but zero down/up counts (polyexp needs them > 0)")
        safe = np.where(empty, 1.0, nom)
        with np.errstate(divide="ignore", invalid="ignore"):
            lu = np.where(empty, 0.0, np.log(np.where(empty, 1.0, up) / safe))
            ld = np.where(empty, 0.0, np.log(np.where(empty, 1.0, down) / safe))
        lu, ld = _flat(lu, grid), _flat(ld, grid)
        ru, rd = np.exp(lu), np.exp(ld)
        rhs = np.stack([ru - 1.0, rd - 1.0, ru * lu, -rd * ld, ru * lu * lu, rd * ld * ld])
        coeff = (_M_INV @ rhs.reshape(6, -1)).reshape(6, *lu.shape)
        return cls(index, lu, ld, coeff)

    def factor(self, a: NDArray[np.float64], rows: NDArray[np.intp] | None):
        """f, f', f'' at α of shape (m, 1), each (m, B)."""
        lu, ld, c = self.lu, self.ld, self.coeff
        if rows is not None and lu.shape[0] > 1:
            lu, ld, c = lu[rows], ld[rows], c[:, rows]
        lr = np.where(a >= 0, lu, -ld)
        f = np.exp(np.clip(a * lr, -50.0, 50.0))
        d1, d2 = lr * f, lr * lr * f
        inside = np.abs(a) < 1.0
        if not np.any(inside):
            return f, d1, d2
        pw = a ** np.arange(7)  # (m, 7): α⁰ … α⁶
        w0, w1, w2 = pw[:, 1:], _I * pw[:, :-1], _I2 * np.concatenate(
            [np.zeros((a.shape[0], 1)), pw[:, :-2]], axis=1)
        if c.shape[1] == 1:  # one set of coefficients for every grid point: a matrix product
            c0 = c[:, 0, :]
            poly, dpoly, ddpoly = 1.0 + w0 @ c0, w1 @ c0, w2 @ c0
        else:
            poly = 1.0 + np.einsum("mi,imb->mb", w0, c)
            dpoly = np.einsum("mi,imb->mb", w1, c)
            ddpoly = np.einsum("mi,imb->mb", w2, c)
        return (np.where(inside, poly, f), np.where(inside, dpoly, d1),
                np.where(inside, ddpoly, d2))


@dataclass(eq=False)
class _Comp:
    expected: NDArray[np.float64]  # (1|G, B)
    norm: int | None
    shapes: list[_Shape]


@dataclass(eq=False)
class _Chan:
    name: str
    n: NDArray[np.float64]  # (1|G, B)
    comps: list[_Comp]


def _flat(arr: NDArray[np.float64], grid: tuple[int, ...]) -> NDArray[np.float64]:
    if math.prod(arr.shape[:-1]) == 1:
        return arr.reshape(1, arr.shape[-1])
    return np.ascontiguousarray(np.broadcast_to(arr, (*grid, arr.shape[-1]))).reshape(
        -1, arr.shape[-1])


def _take(arr: NDArray[np.float64], rows: NDArray[np.intp] | None) -> NDArray[np.float64]:
    return arr if rows is None or arr.shape[0] == 1 else arr[rows]


class ShapedPoissonModel:
    """Poisson χ² with normalisation and shape nuisances (module docstring).

    The interface follows :class:`cevns.stats.PoissonModel`: :attr:`nuisances`,
    :attr:`sigmas` (1 for every shape nuisance), :attr:`grid_shape`, :meth:`chi2`,
    :meth:`gradient`, :meth:`hessian`, :meth:`profile` and :meth:`minuit`. Every normalisation
    nuisance is bounded below by θ = −1; shape nuisances are unbounded.
    """

    def __init__(self, channels: Channel | Sequence[Channel]):
        chans = (channels,) if isinstance(channels, Channel) else tuple(channels)
        if not chans:
            raise ConfigError("channels is empty; give at least one Channel")
        self.channels = chans
        names: dict[str, float] = {}
        is_shape: dict[str, bool] = {}
        for ch in chans:
            for c in ch.components:
                if c.nuisance is not None:
                    if is_shape.get(c.nuisance):
                        raise ConfigError(f"nuisance {c.nuisance!r} is both a shape and a "
                                          "normalisation")
                    sigma = math.inf if c.sigma is None else float(c.sigma)
                    prev = names.get(c.nuisance)
                    if prev is not None and prev != sigma:
                        raise ConfigError(f"nuisance {c.nuisance!r}: conflicting sigma {prev!r} "
                                          f"and {sigma!r}")
                    names[c.nuisance] = sigma
                    is_shape[c.nuisance] = False
                for s in getattr(c, "shapes", {}) or {}:
                    if is_shape.get(s) is False:
                        raise ConfigError(f"nuisance {s!r} is both a shape and a normalisation")
                    names[s] = 1.0
                    is_shape[s] = True
        self.nuisances = tuple(names)
        self.sigmas = dict(names)
        self.shape_nuisances = tuple(k for k, v in is_shape.items() if v)
        self._inv_var = np.array([1.0 / s**2 for s in names.values()])
        self._is_norm = np.array([not is_shape[k] for k in names])
        shapes = [ch.observed.shape[:-1] for ch in chans]
        for ch in chans:
            for c in ch.components:
                shapes.append(c.expected.shape[:-1])
                for down, up in (getattr(c, "shapes", {}) or {}).values():
                    shapes.extend([down.shape[:-1], up.shape[:-1]])
        self.grid_shape = tuple(np.broadcast_shapes(*shapes))
        self._chans = []
        for ch in chans:
            comps = []
            for c in ch.components:
                exp = _flat(c.expected, self.grid_shape)
                norm = None if c.nuisance is None else self.nuisances.index(c.nuisance)
                sh = self._shapes_of(c)
                comps.append(_Comp(exp, norm, sh))
            self._chans.append(_Chan(ch.name, _flat(ch.observed, self.grid_shape), comps))

    def _shapes_of(self, c: Component) -> list[_Shape]:
        """The built shapes of component ``c``, memoised on the (immutable) component itself."""
        shapes = getattr(c, "shapes", {}) or {}
        if not shapes:
            return []
        key = (self.grid_shape, tuple(self.nuisances.index(k) for k in shapes))
        memo = c.__dict__.get("_fallback_built")
        if memo is not None and memo[0] == key:
            return memo[1]
        built = [_Shape.build(self.nuisances.index(k), c.expected, down, up, self.grid_shape, k,
                              c.name) for k, (down, up) in shapes.items()]
        object.__setattr__(c, "_fallback_built", (key, built))
        return built

    @property
    def n_points(self) -> int:
        """Number of grid points."""
        return math.prod(self.grid_shape)

    # -- evaluation --------------------------------------------------------------------------------

    def _eval(self, x: NDArray[np.float64], rows: NDArray[np.intp] | None, derivs: bool):
        """χ² (m,), and if ``derivs`` its gradient (m, P) and Hessian (m, P, P)."""
        m, p = x.shape
        chi2 = ((x**2) * self._inv_var).sum(axis=1)
        grad = hess = None
        if derivs:
            grad = 2.0 * x * self._inv_var
            hess = np.zeros((m, p, p))
            hess[:, np.arange(p), np.arange(p)] = 2.0 * self._inv_var
        for ch in self._chans:
            n = _take(ch.n, rows)
            total = 0.0
            parts = []
            for c in ch.comps:
                base = _take(c.expected, rows)
                scale = 1.0 if c.norm is None else (1.0 + x[:, c.norm])[:, None]
                fs = [s.factor(x[:, s.index][:, None], rows) for s in c.shapes]
                prod = np.ones((m, 1)) if not fs else math.prod(f for f, _, _ in fs)
                mu = scale * base * prod
                total = total + mu
                parts.append((c, base, scale, fs, prod))
            total = np.broadcast_to(total, (m, n.shape[-1]))
            nn = np.broadcast_to(n, total.shape)
            pos = nn > 0
            with np.errstate(divide="ignore", invalid="ignore"):
                t = np.where(pos, total - nn - nn * np.log(total / np.where(pos, nn, 1.0)), total)
            t = np.where(pos & ~(total > 0), np.inf, t)
            chi2 = chi2 + 2.0 * t.sum(axis=1)
            if not derivs:
                continue
            with np.errstate(divide="ignore", invalid="ignore"):
                w1 = np.where(total > 0, 1.0 - nn / total, 0.0)  # (m, B)
                w2 = np.where(total > 0, nn / total**2, 0.0)
            jac: dict[int, NDArray] = {}
            for c, base, scale, fs, prod in parts:
                local_j: dict[int, NDArray] = {}
                if c.norm is not None:
                    local_j[c.norm] = base * prod
                others = []
                for k, s in enumerate(c.shapes):
                    rest = math.prod([fs[j][0] for j in range(len(fs)) if j != k]) if len(fs) > 1 \
                        else 1.0
                    others.append(rest)
                    local_j[s.index] = scale * base * fs[k][1] * rest
                for q, v in local_j.items():
                    jac[q] = jac.get(q, 0.0) + v
                # second derivatives of this component's μ
                for k, s in enumerate(c.shapes):
                    d2 = scale * base * fs[k][2] * others[k]
                    hess[:, s.index, s.index] += 2.0 * (w1 * d2).sum(axis=1)
                    if c.norm is not None:
                        h = 2.0 * (w1 * base * fs[k][1] * others[k]).sum(axis=1)
                        hess[:, s.index, c.norm] += h
                        hess[:, c.norm, s.index] += h
                    for j in range(k + 1, len(c.shapes)):
                        rest = math.prod([fs[i][0] for i in range(len(fs)) if i not in (k, j)]) \
                            if len(fs) > 2 else 1.0
                        h = 2.0 * (w1 * scale * base * fs[k][1] * fs[j][1] * rest).sum(axis=1)
                        a, b = s.index, c.shapes[j].index
                        hess[:, a, b] += h
                        hess[:, b, a] += h
            keys = list(jac)
            for q in keys:
                jq = np.broadcast_to(jac[q], total.shape)
                grad[:, q] += 2.0 * (w1 * jq).sum(axis=1)
                wj = w2 * jq
                for r in keys:
                    jr = np.broadcast_to(jac[r], total.shape)
                    hess[:, q, r] += 2.0 * (wj * jr).sum(axis=1)
        return chi2, grad, hess

    def _theta(self, nuisances: Mapping[str, ArrayLike] | None) -> NDArray[np.float64]:
        x = np.zeros((self.n_points, len(self.nuisances)))
        for k, v in (nuisances or {}).items():
            if k not in self.nuisances:
                raise UnknownNameError("nuisance", k, self.nuisances)
            x[:, self.nuisances.index(k)] = np.broadcast_to(np.asarray(v, float),
                                                            self.grid_shape).ravel()
        return x

    def chi2(self, nuisances: Mapping[str, ArrayLike] | None = None) -> NDArray[np.float64]:
        """χ² at given nuisance values (missing ones 0), shape :attr:`grid_shape`."""
        return self._eval(self._theta(nuisances), None, False)[0].reshape(self.grid_shape)

    def gradient(self, nuisances: Mapping[str, ArrayLike] | None = None) -> NDArray[np.float64]:
        """∂χ²/∂x, shape ``(*grid, P)``."""
        g = self._eval(self._theta(nuisances), None, True)[1]
        return g.reshape(*self.grid_shape, len(self.nuisances))

    def hessian(self, nuisances: Mapping[str, ArrayLike] | None = None) -> NDArray[np.float64]:
        """∂²χ²/∂x∂x, shape ``(*grid, P, P)``."""
        h = self._eval(self._theta(nuisances), None, True)[2]
        p = len(self.nuisances)
        return h.reshape(*self.grid_shape, p, p)

    def profile(self, *, tol: float = 1e-10, max_iter: int = 100, raise_on_failure: bool = False,
                **_: Any) -> ProfileResult:
        """Minimise χ² over all nuisances at every grid point (batched damped Newton).

        Each step solves (H + λ diag H) Δ = −g (λ raised until the step lowers χ²), projects
        θ ≥ −1 + 10⁻¹² for normalisations; convergence when g·H⁻¹g/2 ≤ ``tol``.
        """
        g_pts, p = self.n_points, len(self.nuisances)
        x = np.zeros((g_pts, p))
        lower = np.where(self._is_norm, -1.0 + 1e-12, -np.inf)
        chi2, grad, hess = self._eval(x, None, True)
        lam = np.full(g_pts, 1e-6)
        converged = np.zeros(g_pts, dtype=bool)
        n_iter = np.zeros(g_pts, dtype=np.int32)
        active = np.arange(g_pts)
        eye = np.eye(p)
        for _ in range(max_iter):
            if active.size == 0:
                break
            h = hess[active]
            gr = grad[active]
            diag = np.abs(np.diagonal(h, axis1=1, axis2=2)) + 1e-12
            step = np.zeros_like(gr)
            dec = np.zeros(active.size)
            for _try in range(30):
                a = h + lam[active, None, None] * diag[:, :, None] * eye
                try:
                    step = -np.linalg.solve(a, gr[..., None])[..., 0]
                except np.linalg.LinAlgError:
                    step = -gr / np.maximum(diag, 1e-12)
                xn = np.maximum(x[active] + step, lower)
                cn, _, _ = self._eval(xn, active, False)
                better = np.isfinite(cn) & (cn <= chi2[active] + 1e-12)
                if better.all():
                    break
                lam[active[~better]] *= 10.0
            dec = -0.5 * np.einsum("mp,mp->m", gr, np.maximum(x[active] + step, lower) - x[active])
            ok = np.isfinite(cn) & (cn <= chi2[active] + 1e-12)
            upd = active[ok]
            x[upd] = xn[ok]
            lam[upd] = np.maximum(lam[upd] / 10.0, 1e-12)
            n_iter[active] += 1
            c2, g2, h2 = self._eval(x[active], active, True)
            chi2[active], grad[active], hess[active] = c2, g2, h2
            # projected-gradient convergence: ignore components pushing into an active bound
            at_bound = (x[active] <= lower + 1e-9) & (g2 > 0)
            gfree = np.where(at_bound, 0.0, g2)
            try:
                hd = np.where(at_bound[:, :, None] | at_bound[:, None, :], 0.0, h2) + np.where(
                    at_bound[:, :, None], 1.0, 0.0) * eye
                newton = np.linalg.solve(hd, gfree[..., None])[..., 0]
                crit = 0.5 * np.einsum("mp,mp->m", gfree, newton)
            except np.linalg.LinAlgError:
                crit = np.full(active.size, np.inf)
            done = (np.abs(crit) <= tol) | ((np.abs(dec) <= tol * 1e-2) & ~ok)
            converged[active[done]] = True
            active = active[~done]
        nuis = {k: x[:, i].reshape(self.grid_shape) for i, k in enumerate(self.nuisances)}
        by_channel = {}
        result = ProfileResult(chi2.reshape(self.grid_shape), nuis, dict(self.sigmas),
                               converged.reshape(self.grid_shape),
                               n_iter.reshape(self.grid_shape), by_channel, self.grid_shape)
        if raise_on_failure:
            result.raise_on_failure()
        return result

    def point_chi2(self, flat: int, theta: ArrayLike) -> float:
        """χ² at one grid point (flat index) for a θ vector in the order of :attr:`nuisances`."""
        th = np.asarray(theta, dtype=float).reshape(1, len(self.nuisances))
        return float(self._eval(th, np.array([flat]), False)[0][0])

    def minuit(self, index: int = 0, start: ArrayLike | None = None):
        """An :class:`iminuit.Minuit` for the χ² at one grid point (flat ``index``), with the
        analytic gradient; normalisations bounded below by −1."""
        try:
            from iminuit import Minuit
        except ImportError:  # pragma: no cover - iminuit is a core dependency
            raise MissingDependencyError("iminuit is needed: pip install iminuit") from None
        p = len(self.nuisances)
        x0 = np.zeros(p) if start is None else np.asarray(start, dtype=float).reshape(p)
        rows = np.array([index])

        def grad(theta):
            return self._eval(np.asarray(theta, float).reshape(1, p), rows, True)[1][0]

        m = Minuit(lambda theta: self.point_chi2(index, theta), x0, grad=grad,
                   name=self.nuisances)
        m.errordef = Minuit.LEAST_SQUARES
        m.limits = [(-1.0, None) if n else (None, None) for n in self._is_norm]
        m.tol = 1e-4
        return m

    def __repr__(self) -> str:
        return (f"ShapedPoissonModel({len(self.channels)} channels, grid {self.grid_shape}, "
                f"{len(self.nuisances)} nuisances, shapes {list(self.shape_nuisances)})")
