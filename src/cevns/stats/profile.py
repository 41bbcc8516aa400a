"""Batched profiling of the normalisation nuisances: Newton's method for every grid point at once.

The χ² of :mod:`cevns.stats.likelihood` is convex in θ (the prediction is linear in θ, −n ln N is
convex in N, the pulls are quadratic), so Newton's method with a backtracking line search converges
to the unique minimum from θ = 0. For each grid point the iteration is

    δ = −H⁻¹ g,    θ ← θ + t δ,   t = 1, 1/2, 1/4, … until the prediction stays positive in every
    bin with data and χ² decreases by at least 10⁻⁴ t λ² (Armijo),

with g and H the analytic gradient and Hessian and λ² = g·H⁻¹g the Newton decrement; a point is
converged when λ²/2 (the quadratic-model estimate of χ² − χ²_min) is ≤ ``tol``. The K×K systems
are Jacobi-scaled and slightly regularised (10⁻¹² on the scaled diagonal) so that a free nuisance
that no bin constrains simply stays where it is. Only points not yet converged are iterated.

Channels are grouped into connected components of the "channel uses nuisance" graph; each group is
profiled on its own (with independent per-detector nuisances every detector is its own group, so a
six-detector combination costs six small problems, not one with 12 coupled parameters).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from cevns.errors import FitError
from cevns.stats.likelihood import _Group

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Mapping, Sequence

    from cevns.stats.likelihood import Channel, PoissonModel

_ARMIJO = 1e-4
_MAX_HALVINGS = 60
_RIDGE = 1e-12
_BLOCK_ELEMENTS = 1 << 16


def _newton_step(grad: NDArray[np.float64], hess: NDArray[np.float64]):
    """Batched δ = −H⁻¹g and λ² = g·H⁻¹g with Jacobi scaling and a tiny ridge."""
    p = grad.shape[1]
    bad = ~(np.all(np.isfinite(grad), axis=1) & np.all(np.isfinite(hess), axis=(1, 2)))
    if bad.any():  # absurd inputs only; such points fail the line search and stay unconverged
        grad, hess = grad.copy(), hess.copy()
        grad[bad], hess[bad] = 1.0, np.eye(p)
    d = np.sqrt(np.diagonal(hess, axis1=1, axis2=2))
    d = np.where(d > 0, d, 1.0)
    scaled = hess / (d[:, :, None] * d[:, None, :])
    scaled[:, np.arange(p), np.arange(p)] += _RIDGE
    gs = grad / d
    try:
        xs = np.linalg.solve(scaled, gs[..., None])[..., 0]
    except np.linalg.LinAlgError:  # pragma: no cover - a PSD matrix plus a ridge is regular
        xs = np.einsum("mij,mj->mi", np.linalg.pinv(scaled), gs)
    step, lam2 = -xs / d, np.einsum("mi,mi->m", gs, xs)
    step[bad], lam2[bad] = np.nan, np.inf
    return step, lam2


def _profile_group(group: _Group, n_points: int, tol: float, max_iter: int):
    """Newton iteration for one group; returns θ (G, P_group), χ², converged, iterations.

    The group's arrays are compacted to the points still iterating, so that the cost of an
    iteration falls as points converge and no fancy indexing happens inside an iteration.
    """
    n_par = group.inv_var.size
    theta = np.zeros((n_points, n_par))
    chi2 = np.broadcast_to(group.chi2(None, theta), (n_points,)).copy()
    converged = np.zeros(n_points, dtype=bool)
    n_iter = np.zeros(n_points, dtype=np.int32)
    # A prediction that is exactly 0 in a bin with data stays 0 for every θ (components are ≥ 0):
    # χ² = +inf is then the exact profiled value.
    converged[~np.isfinite(chi2)] = True
    if not n_par:
        converged[:] = True
        return theta, chi2, converged, n_iter

    # Rounding noise of χ²: each bin term is a difference of numbers of size ~ n + N, so a
    # comparison of two χ² values is only meaningful beyond ~1e-15 Σ(n + N). Without this slack
    # the line search of a high-count channel stalls near the minimum on rounding noise.
    noise = 1e-12 * (1.0 + np.abs(chi2)) + 1e-14 * group.magnitude(n_points)
    active = np.arange(n_points)  # global indices of the rows of `sub`
    sub = group
    th = theta.copy()
    chi_cur = chi2.copy()
    keep = ~converged
    for _ in range(max_iter):
        if not keep.all():
            active, th, chi_cur, noise = active[keep], th[keep], chi_cur[keep], noise[keep]
            sub = sub.take(np.flatnonzero(keep))
        if not active.size:
            break
        grad, hess = sub.grad_hess(None, th)
        step, lam2 = _newton_step(grad, hess)
        done = lam2 <= 2.0 * tol
        converged[active[done]] = True
        if done.any():
            # Take the last (tiny) Newton step too: it makes θ accurate to ~λ, not ~√tol.
            rows = np.flatnonzero(done)
            trial = th[rows] + step[rows]
            c = sub.chi2(None if rows.size == active.size else rows, trial)
            ok = c <= chi_cur[rows] + noise[rows]
            theta[active[rows[ok]]] = trial[ok]
            chi2[active[rows[ok]]] = c[ok]
            keep = ~done
            active, th, chi_cur, step, lam2, noise = (
                active[keep],
                th[keep],
                chi_cur[keep],
                step[keep],
                lam2[keep],
                noise[keep],
            )
            sub = sub.take(np.flatnonzero(keep))
            if not active.size:
                break
        # Fraction to the boundary: start the line search where every factor (1 + θ_k) stays
        # positive. A full Newton step from a point with a huge prediction overshoots far past
        # θ = −1; halving from t = 1 would then take dozens of χ² evaluations per iteration.
        with np.errstate(divide="ignore", invalid="ignore"):
            room = np.where(step < 0, (1.0 + th) / -step, np.inf)
        t = np.minimum(1.0, 0.95 * np.min(room, axis=1))
        t = np.where(np.isfinite(t) & (t > 0), t, 1.0)
        accepted = np.zeros(active.size, dtype=bool)
        for _h in range(_MAX_HALVINGS):
            need = np.flatnonzero(~accepted)
            if not need.size:
                break
            rows = None if need.size == active.size else need
            trial = th[need] + t[need, None] * step[need]
            c = sub.chi2(rows, trial)
            ok = c <= chi_cur[need] - _ARMIJO * t[need] * lam2[need] + noise[need]
            good = need[ok]
            th[good] = trial[ok]
            chi_cur[good] = c[ok]
            accepted[good] = True
            t[need[~ok]] *= 0.5
        theta[active] = th
        chi2[active] = chi_cur
        n_iter[active] += 1
        # Points whose line search failed cannot improve: stop them, unconverged.
        keep = accepted
    return theta, chi2, converged, n_iter


@dataclass(eq=False)
class ProfileResult:
    """χ² minimised over the nuisances at every grid point.

    Attributes
    ----------
    chi2 : ndarray
        Profiled χ² (pulls included), shape ``grid_shape``; ``inf`` where the prediction is 0 in a
        bin with data.
    nuisances : dict of str to ndarray
        Best-fit θ per nuisance, each of shape ``grid_shape``.
    sigmas : dict of str to float
        Pull widths used (``inf``: free).
    converged : ndarray of bool
        Newton decrement criterion met at that grid point.
    n_iter : ndarray of int
        Newton iterations taken.
    chi2_by_channel : dict of str to ndarray
        Each channel's Poisson part at the profiled θ (without pull terms).
    grid_shape : tuple of int
    """

    chi2: NDArray[np.float64]
    nuisances: dict[str, NDArray[np.float64]]
    sigmas: dict[str, float]
    converged: NDArray[np.bool_]
    n_iter: NDArray[np.int32]
    chi2_by_channel: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    grid_shape: tuple[int, ...] = ()

    @property
    def all_converged(self) -> bool:
        """True if every grid point converged."""
        return bool(np.all(self.converged))

    @property
    def delta_chi2(self) -> NDArray[np.float64]:
        """χ² − min over the grid of the profiled χ²."""
        return self.chi2 - np.min(self.chi2)

    @property
    def pulls(self) -> dict[str, NDArray[np.float64]]:
        """θ/σ per constrained nuisance (free ones are left out)."""
        return {
            k: v / self.sigmas[k]
            for k, v in self.nuisances.items()
            if math.isfinite(self.sigmas[k])
        }

    def raise_on_failure(self) -> ProfileResult:
        """Raise :class:`~cevns.errors.FitError` if any point did not converge; else return self."""
        if not self.all_converged:
            bad = np.argwhere(~np.atleast_1d(self.converged))
            first = tuple(int(i) for i in bad[0]) if self.grid_shape else ()
            raise FitError(
                f"profiling did not converge at {len(bad)} of {self.converged.size} grid points "
                f"(first at index {first}); a free nuisance that no observed bin constrains, or "
                "max_iter too small, are the usual causes"
            )
        return self

    def _summary_rows(self) -> list[tuple[str, str]]:
        chi = np.atleast_1d(self.chi2)
        finite = chi[np.isfinite(chi)]
        rows = [
            ("grid shape", str(self.grid_shape)),
            ("converged", f"{int(np.sum(self.converged))} / {self.converged.size}"),
            ("χ² range", f"{finite.min():.6g} … {finite.max():.6g}" if finite.size else "inf"),
            ("Newton iterations", f"max {int(np.max(self.n_iter))}"),
        ]
        for k, v in self.nuisances.items():
            s = self.sigmas[k]
            sig = "free" if math.isinf(s) else f"σ = {s:g}"
            vv = np.atleast_1d(v)
            rows.append((f"θ {k} ({sig})", f"{vv.min():+.4g} … {vv.max():+.4g}"))
        return rows

    def __repr__(self) -> str:
        rows = self._summary_rows()
        w = max(len(a) for a, _ in rows)
        return "ProfileResult\n" + "\n".join(f"  {a:<{w}}  {b}" for a, b in rows)

    def _repr_html_(self) -> str:
        body = "".join(f"<tr><th>{a}</th><td>{b}</td></tr>" for a, b in self._summary_rows())
        return f"<table><caption>ProfileResult</caption>{body}</table>"


def profile_model(
    model: PoissonModel, *, tol: float = 1e-10, max_iter: int = 50, raise_on_failure: bool = False
) -> ProfileResult:
    """Profile every nuisance of ``model`` at every grid point; see :meth:`PoissonModel.profile`."""
    from cevns.errors import ConfigError

    if not tol > 0:
        raise ConfigError(f"tol must be > 0, got {tol!r}")
    if not (isinstance(max_iter, int) and max_iter >= 1):
        raise ConfigError(f"max_iter must be an integer ≥ 1, got {max_iter!r}")
    n_points, n_par = model.n_points, len(model.nuisances)
    theta = np.zeros((n_points, n_par))
    chi2 = np.zeros(n_points)
    converged = np.ones(n_points, dtype=bool)
    n_iter = np.zeros(n_points, dtype=np.int32)
    by_name = {fc.name: fc for fc in model._flat}
    for names in model.groups:
        flats = [by_name[name] for name in names]
        columns = np.unique(np.concatenate([fc.index for fc in flats])).astype(np.intp)
        local = [replace(fc, index=np.searchsorted(columns, fc.index)) for fc in flats]
        group = _Group(local, model._inv_var[columns])
        # Work through the grid in blocks small enough that the temporaries of one Newton
        # iteration stay in cache: the iteration is memory-bound, not arithmetic-bound.
        n_bins = sum(fc.nominal.shape[1] for fc in local)
        block = max(1, _BLOCK_ELEMENTS // n_bins)
        for start in range(0, n_points, block):
            rows = slice(start, min(start + block, n_points))
            m = rows.stop - rows.start
            th, c, conv, it = _profile_group(group.take(rows), m, tol, max_iter)
            theta[rows, columns] = th
            chi2[rows] += c
            converged[rows] &= conv
            n_iter[rows] = np.maximum(n_iter[rows], it)
    grid = model.grid_shape
    by_channel = {fc.name: fc.chi2(None, theta).reshape(grid) for fc in model._flat}
    result = ProfileResult(
        chi2=chi2.reshape(grid),
        nuisances={p: theta[:, j].reshape(grid) for j, p in enumerate(model.nuisances)},
        sigmas=dict(model.sigmas),
        converged=converged.reshape(grid),
        n_iter=n_iter.reshape(grid),
        chi2_by_channel=by_channel,
        grid_shape=grid,
    )
    if raise_on_failure:
        result.raise_on_failure()
    return result


def profile_chi2(
    channels: Channel | Sequence[Channel],
    sigmas: Mapping[str, float | None] | None = None,
    *,
    tol: float = 1e-10,
    max_iter: int = 50,
    raise_on_failure: bool = False,
) -> ProfileResult:
    """Profiled χ² of combined channels at every grid point.

    Shorthand for ``PoissonModel(channels, sigmas).profile(...)``.

    Parameters
    ----------
    channels : Channel or sequence of Channel
        The channels; their χ² are summed, nuisances with equal names are shared.
    sigmas : mapping of str to float or None, optional
        Pull widths per nuisance name (``None``/``inf``: free); override those on components.
    tol, max_iter, raise_on_failure
        See :meth:`PoissonModel.profile`.

    Returns
    -------
    ProfileResult
    """
    from cevns.stats.likelihood import PoissonModel

    return PoissonModel(channels, sigmas).profile(
        tol=tol, max_iter=max_iter, raise_on_failure=raise_on_failure
    )
