"""Batched profiling of the nuisances: projected Newton for every grid point at once.

Shape nuisances (``Component(shapes=...)``) are profiled by the same iteration with the changes of
``docs/statistics.md`` §6: they are unbounded, the χ² is then not convex, an indefinite Hessian is
replaced by its Gauss–Newton part (:func:`_positive_definite`), and early stopping is off for the
groups of channels that have them. The rest of this docstring describes normalisation nuisances.

The χ² of :mod:`cevns.stats.likelihood` is convex in θ (the prediction is linear in θ, −n ln N is
convex in N, the pulls are quadratic). Every nuisance is bounded by 1 + θ ≥ 0 (no component's
expected counts are ever negative); internally each enters as its scale factor s = 1 + θ ≥ 0,
which keeps full relative precision near the bound. For each grid point the iteration is

    δ = −H_FF⁻¹ g_F on the free nuisances (δ = 0 on those pinned at s = 0 with g > 0),
    s ← s + t δ,   t = t_max, t_max/2, … until the prediction stays positive in every bin with
    data and χ² decreases by at least 10⁻⁴ t λ² (Armijo),

with g and H the analytic gradient and Hessian, t_max ≤ 1 the largest step that keeps s ≥ 0 (or,
where the step is cut at a bound and χ² rises again before it, the minimum along the step:
:func:`_line_minimum`) and λ² = g_F·H_FF⁻¹g_F the Newton decrement; a point is converged when
λ²/2 (the quadratic-model estimate of χ² − χ²_min) is ≤ ``tol``, or the step is below the
floating-point resolution of s.
The K×K systems are Jacobi-scaled and slightly regularised (10⁻¹² on the scaled diagonal) so that
a free nuisance that no bin constrains simply stays where it is. Only points not yet converged are
iterated. With ``level`` given, a point whose χ² is certainly above the level (a rigorous lower
bound from convexity, see :func:`_lower_bound`) stops early and is marked "decided above level".
Points that end neither converged nor decided are flagged (``ProfileResult.status``) and counted
in a :class:`ProfileConvergenceWarning`. See ``docs/statistics.md`` §3.

Channels are grouped into connected components of the "channel uses nuisance" graph; each group is
profiled on its own (with independent per-detector nuisances every detector is its own group, so a
six-detector combination costs six small problems, not one with 12 coupled parameters).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from cevns.errors import CevnsWarning, FitError
from cevns.stats.likelihood import _Group

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Mapping, Sequence

    from numpy.typing import ArrayLike

    from cevns.stats.likelihood import Channel, PoissonModel

_ARMIJO = 1e-4
_MAX_HALVINGS = 60
_RIDGE = 1e-12
_BLOCK_ELEMENTS = 1 << 16
_EPS_STEP = 4.0 * np.finfo(float).eps  # a step this small (relative to 1 + |θ|) changes nothing


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


def _positive_definite(
    hess: NDArray[np.float64], hess_gn: NDArray[np.float64]
) -> NDArray[np.float64]:
    """The exact Hessian where it is positive definite, else its Gauss–Newton part.

    With shape nuisances the prediction is non-linear in α and the exact Hessian can be indefinite
    away from the minimum; the Gauss–Newton matrix (2 Σ n/N² ∂N ∂Nᵀ plus the pulls) is positive
    semi-definite and gives a descent direction. Near the minimum the exact Hessian is positive
    definite and Newton's quadratic convergence is kept.
    """
    p = hess.shape[1]
    d = np.sqrt(np.abs(np.diagonal(hess, axis1=1, axis2=2)))
    d = np.where(d > 0, d, 1.0)
    scaled = hess / (d[:, :, None] * d[:, None, :])
    with np.errstate(invalid="ignore"):
        finite = np.all(np.isfinite(scaled), axis=(1, 2))
        scaled = np.where(finite[:, None, None], scaled, np.eye(p))
        smallest = np.linalg.eigvalsh(scaled)[:, 0]
    bad = ~(smallest > 1e-8) & finite
    if not bad.any():
        return hess
    return np.where(bad[:, None, None], hess_gn, hess)


def _projected_newton_step(
    scale: NDArray[np.float64],
    grad: NDArray[np.float64],
    hess: NDArray[np.float64],
    lower: NDArray[np.float64] | float = 0.0,
):
    """Newton step for min χ²(θ) subject to 1 + θ_k ≥ 0 (projected Newton, Bertsekas 1982).

    ``scale`` is s = 1 + θ. A nuisance that sits on its bound (s_k = 0, θ_k = −1: the
    component's expected counts are zero) is
    *pinned* when the gradient pushes it further out (g_k > 0) or the Newton step would move it
    out; the step is then Newton's step in the remaining (free) nuisances, with δ_k = 0 for the
    pinned ones, and λ² = g_F·H_FF⁻¹g_F is the decrement of the free subspace. At a point where
    λ² = 0 and every pinned nuisance has g_k ≥ 0 the KKT conditions of the bounded problem hold,
    which for a convex χ² means the constrained minimum. ``lower`` is the bound of each internal
    parameter (0 for a scale factor, −inf for an unbounded shape nuisance α).
    """
    at_bound = scale <= lower
    pinned = at_bound & (grad > 0)
    p = scale.shape[1]
    eye = np.eye(p, dtype=bool)
    for _ in range(p + 1):
        if pinned.any():
            g = np.where(pinned, 0.0, grad)
            both = pinned[:, :, None] | pinned[:, None, :]
            h = np.where(both, np.where(eye, 1.0, 0.0), hess)
        else:
            g, h = grad, hess
        step, lam2 = _newton_step(g, h)
        newly = at_bound & ~pinned & (step < 0)
        if not newly.any():
            break
        pinned = pinned | newly
    step = np.where(pinned, 0.0, step)
    return step, lam2


def _lower_bound(
    chi2: NDArray[np.float64],
    scale: NDArray[np.float64],
    grad: NDArray[np.float64],
    inv_var: NDArray[np.float64],
    lower: NDArray[np.float64] | float = 0.0,
) -> NDArray[np.float64]:
    """A rigorous lower bound on min χ² over the box 1 + θ ≥ 0, from χ², θ and g at one point.

    The Poisson part of χ² is convex in θ and the pulls add Σ θ_k²/σ_k², so for every θ' in
    the box χ²(θ') ≥ χ²(θ) + g·d + Σ_k d_k²/σ_k² with d = θ' − θ. The right-hand side is
    separable; its minimum over d_k ≥ −1 − θ_k = −s_k is d_k = max(−g_k σ_k²/2, −s_k) for a
    pulled nuisance, and −s_k (or −∞ if g_k < 0) for a free one.
    """
    room = lower - scale  # d_k ≥ room_k: s_k + d_k ≥ lower_k
    with np.errstate(divide="ignore", invalid="ignore"):
        free_d = np.where(inv_var > 0, -grad / (2.0 * np.where(inv_var > 0, inv_var, 1.0)), -np.inf)
    d = np.maximum(free_d, room)
    q = grad * d + inv_var * d * d
    q = np.where((inv_var == 0) & (grad < 0), -np.inf, q)
    return chi2 + q.sum(axis=1)


def _groups(model: PoissonModel):
    """The model's nuisance groups, each as (its columns, the group in local columns, the block).

    Points are worked through in blocks small enough that the temporaries of one Newton
    iteration stay in cache: the iteration is memory-bound, not arithmetic-bound.
    """
    by_name = {fc.name: fc for fc in model._flat}
    for names in model.groups:
        flats = [by_name[name] for name in names]
        columns = np.unique(np.concatenate([fc.index for fc in flats])).astype(np.intp)
        local = [replace(fc, index=np.searchsorted(columns, fc.index)) for fc in flats]
        group = _Group(local, model._inv_var[columns], model._origin[columns],
                       model._lower[columns])
        n_bins = sum(fc.nominal.shape[1] for fc in local)
        yield columns, group, max(1, _BLOCK_ELEMENTS // n_bins)


def _profile_group(
    group: _Group,
    n_points: int,
    tol: float,
    max_iter: int,
    stop_above: float | None = None,
    stop_rtol: float = 1e-3,
    start: NDArray[np.float64] | None = None,
    start_if_better: bool = True,
):
    """Projected Newton iteration for one group (from θ = 0, or from the internal parameters
    ``start`` of shape (n_points, P_group) when given).

    Works in the scale factors s = 1 + θ (see :meth:`_FlatChannel.prediction`); returns
    s (G, P_group), χ², converged, decided (stopped early: χ² certainly above
    ``stop_above``), iterations. ``start`` (G, P_group), internal units: a starting point per
    row, taken where its χ² is below the one at θ = 0 (a warm start: ``start_if_better``), or
    everywhere (a restart from elsewhere, which may descend into another minimum).

    The group's arrays are compacted to the points still iterating, so that the cost of an
    iteration falls as points converge and no fancy indexing happens inside an iteration.
    """
    n_par = group.inv_var.size
    lower = group.lower
    bounded = np.isfinite(lower)
    unbounded = (~bounded).astype(float)
    zero_bounds = bool(bounded.all() and np.all(lower == 0.0))  # scale factors s ≥ 0 only
    # Shape nuisances make χ² non-convex: no rigorous lower bound for early stopping, and the
    # exact Hessian may be indefinite away from the minimum (then Gauss–Newton is used).
    shaped = group.has_shapes
    if shaped:
        stop_above = None
    scale = np.broadcast_to(group.origin, (n_points, n_par)).copy()  # θ = 0
    if start is not None and not start_if_better:
        scale = np.maximum(np.broadcast_to(np.asarray(start, dtype=float), scale.shape), lower)
    at_start, mus = group.chi2_mu(None, scale)
    chi2 = np.broadcast_to(at_start, (n_points,)).copy()
    mus = _own_rows(mus, n_points)
    if start is not None and start_if_better:
        warm = np.maximum(np.asarray(start, dtype=float), lower)
        at_warm, warm_mus = group.chi2_mu(None, warm)
        at_warm = np.broadcast_to(at_warm, (n_points,))
        better = at_warm < chi2
        scale[better], chi2[better] = warm[better], at_warm[better]
        if better.any():
            mus = _merge_rows(mus, _own_rows(warm_mus, n_points), better)
    converged = np.zeros(n_points, dtype=bool)
    decided = np.zeros(n_points, dtype=bool)
    n_iter = np.zeros(n_points, dtype=np.int32)
    # A prediction that is exactly 0 in a bin with data stays 0 for every θ (components are ≥ 0):
    # χ² = +inf is then the exact profiled value.
    converged[~np.isfinite(chi2)] = True
    if not n_par:
        converged[:] = True
        return scale, chi2, converged, decided, n_iter

    # Rounding noise of χ²: each bin term is a difference of numbers of size ~ n + N, so a
    # comparison of two χ² values is only meaningful beyond ~1e-15 Σ(n + N). Without this slack
    # the line search of a high-count channel stalls near the minimum on rounding noise.
    noise = 1e-12 * (1.0 + np.abs(chi2)) + 1e-14 * group.magnitude(n_points)
    active = np.arange(n_points)  # global indices of the rows of `sub`
    sub = group
    th = scale.copy()
    chi_cur = chi2.copy()
    keep = ~converged
    for _ in range(max_iter):
        if not keep.all():
            active, th, chi_cur, noise = active[keep], th[keep], chi_cur[keep], noise[keep]
            sub = sub.take(np.flatnonzero(keep))
            mus = _keep_rows(mus, keep)
        if not active.size:
            break
        # ``mus``: each channel's prediction at th, kept from the χ² that accepted th (the same
        # numbers as recomputing it: one prediction per channel and iteration saved)
        if shaped:
            grad, hess, hess_gn = sub.grad_hess_gn(None, th, mus)
            hess = _positive_definite(hess, hess_gn)
        else:
            grad, hess = sub.grad_hess(None, th, mus)
        if stop_above is not None:
            # Early stop: the profiled χ² of this point is certainly above the highest level
            # asked for, and the χ² reported (an upper bound) is within stop_rtol of it.
            with np.errstate(invalid="ignore"):
                lb = _lower_bound(chi_cur, th, grad, group.inv_var, lower) - noise
                above = (lb > stop_above) & (chi_cur - lb <= stop_rtol * (lb - stop_above))
            if above.any():
                decided[active[above]] = True
                chi2[active[above]] = chi_cur[above]
                scale[active[above]] = th[above]
                keep = ~above
                active, th, chi_cur, noise = active[keep], th[keep], chi_cur[keep], noise[keep]
                grad, hess = grad[keep], hess[keep]
                sub = sub.take(np.flatnonzero(keep))
                mus = _keep_rows(mus, keep)
                if not active.size:
                    break
        step, lam2 = _projected_newton_step(th, grad, hess, lower)
        # Converged: the decrement is below tol, or the Newton step is below the floating-point
        # resolution of θ (near θ = −1 a component of ~1e13 counts puts the minimum at
        # 1 + θ ~ 1e-11, where χ² can change no further although λ² may still exceed tol).
        tiny = np.all(np.abs(step) <= _EPS_STEP * (np.abs(th) + unbounded), axis=1)
        done = (lam2 <= 2.0 * tol) | tiny
        converged[active[done]] = True
        if done.any():
            # Take the last (tiny) Newton step too: it makes θ accurate to ~λ, not ~√tol.
            rows = np.flatnonzero(done)
            trial = np.maximum(th[rows] + step[rows], lower)
            c = sub.chi2(None if rows.size == active.size else rows, trial)
            ok = c <= chi_cur[rows] + noise[rows]
            scale[active[rows]] = th[rows]
            chi2[active[rows]] = chi_cur[rows]
            scale[active[rows[ok]]] = trial[ok]
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
            mus = _keep_rows(mus, keep)
            if not active.size:
                break
        # Start the line search at the largest step that keeps every 1 + θ_k ≥ 0 (a full Newton
        # step from a point with a huge prediction overshoots far past θ = −1; halving from t = 1
        # would then take dozens of χ² evaluations per iteration). Nuisances that reach the bound
        # are set to exactly −1 and pinned there by the next projected step if g_k > 0.
        with np.errstate(divide="ignore", invalid="ignore"):
            room = np.where((step < 0) & bounded, (th - lower) / -step, np.inf)
        t = np.minimum(1.0, np.min(room, axis=1))
        t = np.where(np.isfinite(t) & (t > 0), t, 1.0)
        # a step cut at a bound: stop at the line's minimum if it comes first (_line_minimum)
        line_min = _LINE_MINIMUM and not shaped and mus is not None and bool(np.any(t < 1.0))
        accepted = np.zeros(active.size, dtype=bool)
        new_mus: list | None = None
        for _h in range(_MAX_HALVINGS):
            need = np.flatnonzero(~accepted)
            if not need.size:
                break
            rows = None if need.size == active.size else need
            trial = th[need] + t[need, None] * step[need]
            # land exactly on the bound (s + t δ with t = s/−δ is 0 only up to rounding)
            if zero_bounds:
                trial = np.where(trial <= _EPS_STEP * th[need], 0.0, trial)
            else:
                near = bounded & (trial - lower <= _EPS_STEP * (th[need] - lower))
                trial = np.where(near, lower, trial)
            c, trial_mus = sub.chi2_mu(rows, trial)
            if line_min:  # the first pass: every row, positions are rows
                line_min = False
                found = _line_minimum(sub, th, step, t, mus, trial, trial_mus, group.inv_var,
                                      group.origin, lower)
                if found is not None:
                    inner, points, t_inner = found
                    c_in, mus_in = sub.chi2_mu(inner, points)
                    lower_chi2 = c_in < c[inner]  # as it must be, up to rounding
                    inner, points = inner[lower_chi2], points[lower_chi2]
                    trial[inner], c[inner], t[inner] = points, c_in[lower_chi2], t_inner[lower_chi2]
                    trial_mus = _put_rows(trial_mus, mus_in, inner, lower_chi2)
            ok = c <= chi_cur[need] - _ARMIJO * t[need] * lam2[need] + noise[need]
            good = need[ok]
            th[good] = trial[ok]
            chi_cur[good] = c[ok]
            accepted[good] = True
            t[need[~ok]] *= 0.5
            new_mus = _accept_rows(new_mus, trial_mus, need, ok, active.size)
        scale[active] = th
        chi2[active] = chi_cur
        n_iter[active] += 1
        mus = new_mus  # rows not accepted hold no prediction; they leave below
        # Points whose line search failed cannot improve: stop them, unconverged.
        keep = accepted
    return scale, chi2, converged, decided, n_iter


#: Stop a Newton step cut at a bound at the minimum along it (:func:`_line_minimum`). Always on;
#: ``benchmarks/bench_profile_line.py`` switches it off to measure what it saves.
_LINE_MINIMUM = True


def _line_minimum(sub: _Group, th, step, t, mus, bound, bound_mus, inv_var, origin, lower):
    """For the points whose Newton step is cut at a bound (``t < 1``): the minimum of χ² along
    the step when it lies before the bound, as (rows, points, their step lengths), else None.

    A point far from its minimum (a prediction many times the data) has a Newton step that
    overshoots the bound s = 0 of the signal's scale factor. Stopping at the bound and climbing
    back costs a Newton iteration per factor of two (the Poisson term −n ln N is far from
    quadratic near N → 0): 12 iterations instead of 2 for a one-bin detector. Along the step the
    prediction is linear (normalisation nuisances only), so with u the distance back from the
    bound point b (s = b − u δ), N(u) = N_b − u D, the slope of χ² and its curvature are cheap
    from the predictions at the two ends (``mus`` at ``th``, ``bound_mus`` at ``bound``, both
    already computed by the line search); χ² is convex along the line, and where it rises again
    towards the bound its minimum is found by safeguarded Newton with geometric bisection in u (to
    10⁻³ of u, which keeps every s accurate to 10⁻³ however close to 0 the minimum lies; the
    next Newton iterations refine it). The caller evaluates χ² there and keeps the lower point.
    """
    rows = np.flatnonzero(t < 1.0)
    live = [(fc, mu, mb) for fc, mu, mb in zip(sub.flats, mus, bound_mus, strict=True)
            if fc.index.size]
    if not rows.size or any(mu is None or mb is None or mb.shape[0] != t.size
                            for _, mu, mb in live):
        return None
    idx = None if rows.size == t.size else rows
    t_hi = t[rows]
    ds = step[rows]
    bound = bound[rows]
    parts = []
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for fc, mu, mb in live:
            n_b = mb if idx is None else mb[idx]
            d = (n_b - (mu if idx is None else mu[idx])) / t_hi[:, None]  # dN/dt
            n = np.broadcast_to(_take_rows(fc.n, idx), n_b.shape)
            pos = None if fc.all_pos else np.broadcast_to(_take_rows(fc.pos, idx), n_b.shape)
            parts.append((n_b, d, n, pos))
        pull_a = 2.0 * (ds * (bound - origin)) @ inv_var  # pulls: dχ²/du ∋ −(a − b u)
        pull_b = 2.0 * (ds * ds) @ inv_var

        def slope(u, parts, pull_a, pull_b):
            """dχ²/du and d²χ²/du² at distance u back from the bound."""
            g = pull_b * u - pull_a
            h = pull_b.copy()
            for n_b, d, n, pos in parts:
                big_n = n_b - u[:, None] * d
                ratio = n / big_n
                if pos is not None:
                    ratio[~pos] = 0.0  # a bin without data adds N: slope D, no curvature
                dr = d * ratio
                g -= 2.0 * (d.sum(axis=1) - dr.sum(axis=1))
                dr *= d
                dr /= big_n
                h += 2.0 * dr.sum(axis=1)
            return g, h

        g0, _ = slope(np.zeros(rows.size), parts, pull_a, pull_b)
        inside = np.isfinite(g0) & (g0 < 0)  # χ² rises towards the bound: minimum inside
        if not inside.any():
            return None
        rows, t_hi, bound, ds = rows[inside], t_hi[inside], bound[inside], ds[inside]
        parts = [(n_b[inside], d[inside], n[inside], None if pos is None else pos[inside])
                 for n_b, d, n, pos in parts]
        pull_a, pull_b = pull_a[inside], pull_b[inside]
        lo, hi = np.zeros(rows.size), t_hi.copy()
        u = 1e-3 * t_hi
        left = np.arange(rows.size)  # rows still searched
        for _ in range(80):
            sel = [(n_b[left], d[left], n[left], None if pos is None else pos[left])
                   for n_b, d, n, pos in parts] if left.size < rows.size else parts
            uu, l_lo, l_hi = u[left], lo[left], hi[left]
            g, h = slope(uu, sel, pull_a[left], pull_b[left])
            l_lo = np.where(g < 0, uu, l_lo)
            l_hi = np.where(g > 0, uu, l_hi)
            newton = uu - g / h
            mid = np.where(l_lo > 0, np.sqrt(l_lo * l_hi), 1e-3 * l_hi)
            ok = np.isfinite(newton) & (newton > l_lo) & (newton < l_hi)
            u_new = np.where(ok, newton, mid)
            done = (np.abs(u_new - uu) <= 1e-3 * u_new) | (g == 0)
            u[left], lo[left], hi[left] = u_new, l_lo, l_hi
            left = left[~done]
            if not left.size:
                break
    points = np.maximum(bound - u[:, None] * ds, lower)
    return rows, points, t_hi - u


def _put_rows(mus, new, rows, keep):
    """``mus`` (per channel, one row per point) with ``rows`` replaced by the rows ``keep`` of
    ``new`` (channels whose prediction does not vary stay as they are)."""
    out = []
    for mu, alt in zip(mus, new, strict=True):
        if mu is not None and alt is not None and mu.ndim == 2 and alt.shape[0] == keep.size \
                and mu.shape[0] > 1:
            mu = mu.copy() if not mu.flags.writeable else mu
            mu[rows] = alt[keep]
        out.append(mu)
    return out


def _take_rows(arr, idx):
    return arr if idx is None or arr.shape[0] == 1 else arr[idx]


# The predictions carried through a Newton iteration: a list with one entry per channel of the
# group, an array (active rows, bins) or None (not known: grad_hess computes it).


def _own_rows(mus, m: int):
    """Entries with one row per point (a (1, B) prediction of a channel without nuisances is
    not kept)."""
    return [mu if mu is not None and mu.ndim == 2 and mu.shape[0] == m else None for mu in mus]


def _keep_rows(mus, keep):
    return None if mus is None else [None if mu is None else mu[keep] for mu in mus]


def _merge_rows(mus, other, rows):
    out = []
    for mu, alt in zip(mus, other, strict=True):
        if mu is None or alt is None:
            out.append(None)
        else:
            mu = mu.copy()
            mu[rows] = alt[rows]
            out.append(mu)
    return out


def _accept_rows(new_mus, trial_mus, need, ok, m: int):
    """Store the predictions of the rows ``need[ok]`` (the trial points just accepted)."""
    if new_mus is None and need.size == m and ok.all():
        return _own_rows(trial_mus, m)  # every point accepted at once (the usual case)
    trial_mus = _own_rows(trial_mus, need.size)
    if new_mus is None:
        new_mus = [None if mu is None else np.empty((m, mu.shape[1])) for mu in trial_mus]
    good = need[ok]
    for out, mu in zip(new_mus, trial_mus, strict=True):
        if out is not None and mu is not None:
            out[good] = mu[ok]
    return [out if mu is not None else None
            for out, mu in zip(new_mus, trial_mus, strict=True)]


class ProfileConvergenceWarning(CevnsWarning):
    """Some grid points of a profile did not converge (their χ² is only an upper bound)."""


@dataclass(eq=False)
class ProfileResult:
    """χ² minimised over the nuisances at every grid point.

    Every point ends in one of three states (:attr:`status`):

    * ``"converged"`` — the Newton decrement criterion met (χ² is the minimum to ~``tol``);
    * ``"above level"`` — stopped early because the profiled χ² is *certainly* above the highest
      level asked for (``level=`` of :meth:`PoissonModel.profile`): a rigorous lower bound exceeds
      it. The χ² stored is an upper bound within ``stop_rtol`` of the truth;
    * ``"unconverged"`` — neither: the χ² stored is an upper bound of unknown quality.

    Attributes
    ----------
    chi2 : ndarray
        Profiled χ² (pulls included), shape ``grid_shape``; ``inf`` where the prediction is 0 in a
        bin with data.
    nuisances : dict of str to ndarray
        Best-fit θ per nuisance, each of shape ``grid_shape``; every normalisation θ ≥ −1 (no
        component's expected counts are ever negative); shape nuisances give their α.
    sigmas : dict of str to float
        Pull widths used (``inf``: free).
    converged : ndarray of bool
        Newton decrement criterion met at that grid point.
    n_iter : ndarray of int
        Newton iterations taken.
    chi2_by_channel : dict of str to ndarray
        Each channel's Poisson part at the profiled θ (without pull terms).
    grid_shape : tuple of int
    decided : ndarray of bool
        Stopped early, certainly above the level (``converged`` is False there).
    stop_above : float or None
        The absolute χ² above which points were allowed to stop early (``None``: never).
    """

    chi2: NDArray[np.float64]
    nuisances: dict[str, NDArray[np.float64]]
    sigmas: dict[str, float]
    converged: NDArray[np.bool_]
    n_iter: NDArray[np.int32]
    chi2_by_channel: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    grid_shape: tuple[int, ...] = ()
    decided: NDArray[np.bool_] | None = None
    stop_above: float | None = None

    def __post_init__(self) -> None:
        if self.decided is None:
            self.decided = np.zeros_like(np.asarray(self.converged), dtype=bool)

    @property
    def ok(self) -> NDArray[np.bool_]:
        """Converged or decided above the level: the χ² is good for every level asked for."""
        return np.asarray(self.converged) | np.asarray(self.decided)

    @property
    def status(self) -> NDArray[np.int8]:
        """Per point: 0 converged, 1 decided above level, 2 unconverged (see :data:`STATUS`)."""
        out = np.full(np.shape(self.converged), 2, dtype=np.int8)
        out[np.asarray(self.decided)] = 1
        out[np.asarray(self.converged)] = 0
        return out

    @property
    def n_unconverged(self) -> int:
        """Number of points neither converged nor decided above the level."""
        return int(np.sum(~self.ok))

    @property
    def all_converged(self) -> bool:
        """True if every grid point converged or was decided above the level."""
        return bool(np.all(self.ok))

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
            bad = np.argwhere(~np.atleast_1d(self.ok))
            first = tuple(int(i) for i in bad[0]) if self.grid_shape else ()
            raise FitError(
                f"profiling did not converge at {len(bad)} of {self.converged.size} grid points "
                f"(first at index {first}); a nuisance that no observed bin constrains, or "
                "max_iter too small, are the usual causes"
            )
        return self

    def _summary_rows(self) -> list[tuple[str, str]]:
        chi = np.atleast_1d(self.chi2)
        finite = chi[np.isfinite(chi)]
        n_dec = int(np.sum(self.decided))
        rows = [
            ("grid shape", str(self.grid_shape)),
            ("converged", f"{int(np.sum(self.converged))} / {self.converged.size}"
             + (f" (+{n_dec} decided above χ² = {self.stop_above:.6g})" if n_dec else "")),
            ("unconverged", str(self.n_unconverged)),
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


#: Meaning of the codes of :attr:`ProfileResult.status`.
STATUS = {0: "converged", 1: "above level", 2: "unconverged"}


def profile_model(
    model: PoissonModel,
    *,
    tol: float = 1e-10,
    max_iter: int = 50,
    raise_on_failure: bool = False,
    level: float | None = None,
    reference: float | None = None,
    stop_rtol: float = 1e-3,
    warn: bool = True,
    start: Mapping[str, ArrayLike] | None = None,
) -> ProfileResult:
    """Profile every nuisance of ``model`` at every grid point; see :meth:`PoissonModel.profile`."""
    from cevns.errors import ConfigError

    if not tol > 0:
        raise ConfigError(f"tol must be > 0, got {tol!r}")
    if not (isinstance(max_iter, int) and max_iter >= 1):
        raise ConfigError(f"max_iter must be an integer ≥ 1, got {max_iter!r}")
    if level is not None and not (float(level) > 0 and math.isfinite(level)):
        raise ConfigError(f"level must be a Δχ² value > 0 (or None), got {level!r}")
    if reference is not None and not math.isfinite(reference):
        raise ConfigError(f"reference must be a finite χ² value, got {reference!r}")
    if not stop_rtol > 0:
        raise ConfigError(f"stop_rtol must be > 0, got {stop_rtol!r}")
    n_points, n_par = model.n_points, len(model.nuisances)
    stop_above = None
    if level is not None:
        if reference is None:
            # χ² at θ = 0 bounds each point's profiled χ² from above, so its minimum over the grid
            # bounds the grid's minimum profiled χ² from above: Δχ² ≥ χ² − reference.
            origin = np.broadcast_to(model._origin, (n_points, n_par))
            at_zero = np.broadcast_to(model._all.chi2(None, origin), (n_points,))
            reference = float(np.min(at_zero))
        if math.isfinite(reference):
            stop_above = float(level) + float(reference)
    scale = np.broadcast_to(model._origin, (n_points, n_par)).copy()  # θ = 0
    init = None if start is None else model._origin + model._theta(start, "start")
    chi2 = np.zeros(n_points)
    converged = np.ones(n_points, dtype=bool)
    decided = np.zeros(n_points, dtype=bool)
    n_iter = np.zeros(n_points, dtype=np.int32)
    for columns, group, block in _groups(model):
        for first in range(0, n_points, block):
            rows = slice(first, min(first + block, n_points))
            m = rows.stop - rows.start
            # Each group's χ² is ≥ 0, so a group whose χ² alone is above stop_above decides
            # the point for the sum over groups as well.
            th, c, conv, dec, it = _profile_group(
                group.take(rows), m, tol, max_iter, stop_above, stop_rtol,
                None if init is None else init[rows][:, columns],
            )
            scale[rows, columns] = th
            chi2[rows] += c
            converged[rows] &= conv
            decided[rows] |= dec
            n_iter[rows] = np.maximum(n_iter[rows], it)
    converged &= ~decided
    grid = model.grid_shape
    by_channel = {fc.name: fc.chi2(None, scale).reshape(grid) for fc in model._flat}
    theta = scale - model._origin
    result = ProfileResult(
        chi2=chi2.reshape(grid),
        nuisances={p: theta[:, j].reshape(grid) for j, p in enumerate(model.nuisances)},
        sigmas=dict(model.sigmas),
        converged=converged.reshape(grid),
        n_iter=n_iter.reshape(grid),
        chi2_by_channel=by_channel,
        grid_shape=grid,
        decided=decided.reshape(grid),
        stop_above=stop_above,
    )
    if raise_on_failure:
        result.raise_on_failure()
    n_bad = result.n_unconverged
    if warn and n_bad:
        warnings.warn(
            f"profiling did not converge at {n_bad} of {n_points} grid points (their χ² is an "
            "upper bound; see ProfileResult.converged / .status)",
            ProfileConvergenceWarning,
            stacklevel=3,
        )
    return result


def profile_chi2(
    channels: Channel | Sequence[Channel],
    sigmas: Mapping[str, float | None] | None = None,
    *,
    tol: float = 1e-10,
    max_iter: int = 50,
    raise_on_failure: bool = False,
    level: float | None = None,
    reference: float | None = None,
    stop_rtol: float = 1e-3,
    warn: bool = True,
    start: Mapping[str, ArrayLike] | None = None,
) -> ProfileResult:
    """Profiled χ² of combined channels at every grid point.

    Shorthand for ``PoissonModel(channels, sigmas).profile(...)``.

    Parameters
    ----------
    channels : Channel or sequence of Channel
        The channels; their χ² are summed, nuisances with equal names are shared.
    sigmas : mapping of str to float or None, optional
        Pull widths per nuisance name (``None``/``inf``: free); override those on components.
    tol, max_iter, raise_on_failure, level, reference, stop_rtol, warn, start
        See :meth:`PoissonModel.profile`.

    Returns
    -------
    ProfileResult
        Its ``chi2`` is ``inf`` (without a warning: the exact value, the data are impossible) at
        grid points where a bin with observed counts > 0 has zero expected counts for every
        nuisance value.
    """
    from cevns.stats.likelihood import PoissonModel

    return PoissonModel(channels, sigmas).profile(
        tol=tol, max_iter=max_iter, raise_on_failure=raise_on_failure, level=level,
        reference=reference, stop_rtol=stop_rtol, warn=warn, start=start,
    )


def profile_datasets(
    model: PoissonModel,
    observed: Mapping[str, NDArray[np.float64]],
    *,
    start: NDArray[np.float64] | None = None,
    points: NDArray[np.intp] | None = None,
    tol: float = 1e-10,
    max_iter: int = 50,
) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.float64]]:
    """Profile many data sets of one model at once: χ² of data set d at grid point g.

    The data sets differ only in their observed counts (toys): ``observed`` maps every channel
    name to counts of shape ``(n_sets, n_bins)``; the observed counts stored in ``model`` are
    ignored. The templates of the model (grid of G points, flattened) are shared by all data
    sets: the (data set, grid point) pairs are profiled in blocks, each block taking its template
    rows from the model and its counts from ``observed``, so that nothing of size
    n_sets × G × n_bins is ever built. The iteration is that of :meth:`PoissonModel.profile`
    without early stopping.

    Parameters
    ----------
    start : ndarray, optional
        Starting nuisance values θ, shape ``(n_sets, G', P)`` (P in the order of
        ``model.nuisances``; shape nuisances α); default θ = 0. A restart from elsewhere finds
        another minimum when χ² has several (shape nuisances).
    points : array_like of int, optional
        Profile only these (flat) grid points, G' of them (default: all G): shape ``(G',)`` for
        the same points in every data set, or ``(n_sets, G')`` for points per data set.
    tol, max_iter
        See :meth:`PoissonModel.profile`.

    Returns
    -------
    chi2 : ndarray, shape (n_sets, G')
    converged : ndarray of bool, shape (n_sets, G')
    theta : ndarray, shape (n_sets, G', P)
        The profiled θ.
    """
    from cevns.errors import ConfigError

    names = [fc.name for fc in model._flat]
    if set(observed) != set(names):
        raise ConfigError(f"observed must give counts for the channels {names}, got "
                          f"{sorted(observed)}")
    counts = {k: np.asarray(v, dtype=float) for k, v in observed.items()}
    n_sets = next(iter(counts.values())).shape[0]
    grid_points = np.atleast_1d(np.asarray(np.arange(model.n_points) if points is None
                                           else points, dtype=np.intp))
    if grid_points.size and (grid_points.min() < 0 or grid_points.max() >= model.n_points):
        raise ConfigError(f"points must be grid indices in [0, {model.n_points - 1}]")
    if grid_points.ndim == 1:
        grid_points = grid_points[None, :]
    elif not (grid_points.ndim == 2 and grid_points.shape[0] in (1, n_sets)):
        raise ConfigError(f"points must have shape (G',) or ({n_sets}, G'), got "
                          f"{grid_points.shape}")
    per_set = grid_points.shape[0] > 1
    n_grid, n_par = grid_points.shape[1], len(model.nuisances)
    for fc in model._flat:
        if counts[fc.name].shape != (n_sets, fc.nominal.shape[1]):
            raise ConfigError(f"observed[{fc.name!r}] has shape {counts[fc.name].shape}, expected "
                              f"({n_sets}, {fc.nominal.shape[1]})")
    total = n_sets * n_grid
    if start is None:
        scale = np.broadcast_to(model._origin, (total, n_par)).copy()
    else:
        start = np.asarray(start, dtype=float)
        if start.shape != (n_sets, n_grid, n_par):
            raise ConfigError(f"start has shape {start.shape}, expected {(n_sets, n_grid, n_par)}")
        scale = start.reshape(total, n_par) + model._origin
    from_start = start is not None
    chi2 = np.zeros(total)
    converged = np.ones(total, dtype=bool)
    for columns, group, block in _groups(model):
        local = group.flats
        for first in range(0, total, block):
            rows = np.arange(first, min(first + block, total))
            sets = rows // n_grid
            at = grid_points[sets if per_set else 0, rows % n_grid]
            sub = _Group(
                [replace(fc.take(at), n=counts[fc.name][sets], pos=counts[fc.name][sets] > 0)
                 for fc in local], group.inv_var, group.origin, group.lower)
            th0 = scale[rows][:, columns] if from_start else None
            th, c, conv, _, _ = _profile_group(sub, rows.size, tol, max_iter, start=th0,
                                               start_if_better=False)
            scale[rows[:, None], columns[None, :]] = th
            chi2[rows] += c
            converged[rows] &= conv
    theta = (scale - model._origin).reshape(n_sets, n_grid, n_par)
    return chi2.reshape(n_sets, n_grid), converged.reshape(n_sets, n_grid), theta
