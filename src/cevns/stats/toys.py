"""Toy Monte Carlo: coverage, bias and pull width of profile-likelihood intervals, and the
Neyman / Feldman–Cousins construction (physics-free; see ``docs/statistics.md`` §6–7).

The model
---------
A :class:`ToyModel` names a *factory* — an importable function ``"package.module:function"`` —
and JSON-able keyword arguments. ``factory(poi, **kwargs)`` returns the channels
(:class:`~cevns.stats.Channel`, a sequence of them, or a :class:`~cevns.stats.PoissonModel`)
whose components carry a leading axis of length ``len(poi)``: the expected counts at each value
of the parameter of interest (POI) on a grid. Observed counts in them are ignored. Because the
model is rebuilt from its name and arguments, toys run on any executor of :mod:`cevns.scan`
(``"serial"``, ``"processes"``, ``"dask"``): each worker builds the model once (cached per
process, keyed on factory, arguments and grid).

A toy
-----
Toy *k* draws, from the generator of its block of :data:`TOY_BLOCK` toys seeded by
``(seed, stream, k // TOY_BLOCK)`` (so results do not depend on how toys are cut into tiles or
which worker runs them):

1. with ``nuisances="sampled"`` (default), a true value of every constrained nuisance from its
   constraint (normalisations θ ~ N(0, σ) truncated to θ > −1, shape nuisances α ~ N(0, 1);
   free ones stay at 0); with ``"fixed"`` all nuisances stay at 0;
2. Poisson counts n_i ~ Poisson(N_i(μ_true, θ_true)) in every bin of every channel.

The fit keeps the constraints centred at 0. For Gaussian constraints, drawing θ_true from the
constraint at a fixed centre is equivalent to the frequentist procedure that keeps θ_true and
draws the centre (the auxiliary measurement): only θ_true − centre enters, up to the model's
non-linearity in θ. Each toy is profiled over the nuisances on the POI grid (batched, all toys of
a tile in one call) and its minimum refined by the parabola through the grid minimum and its
neighbours (as :class:`~cevns.stats.Profile1D`). Reported:

* coverage of the 68.27 % and 90 % intervals: the fraction of toys with Δχ²(μ_true) ≤ level
  (1.00 and 2.71 for Wilks, or the Feldman–Cousins critical value at μ_true), with the binomial
  uncertainty √(p(1 − p)/n);
* bias: the mean of the pulls (μ̂ − μ_true)/σ, where σ is the distance from μ̂ to the Δχ² = 1
  crossing on the side of μ_true (asymmetric errors); pull width: their standard deviation.

Feldman–Cousins
---------------
:func:`fc_critical_values` runs toys at every POI grid point μ_j and takes the CL-quantile of
t = Δχ²(μ_j) = χ²(μ_j) − min_grid χ² (ordering by the likelihood ratio; the grid spans the
physical region, so the minimum respects the physical boundary). :func:`fc_interval` then gives
{μ_j : Δχ²_obs(μ_j) ≤ c_j}. References: G. J. Feldman and R. D. Cousins, Phys. Rev. D 57, 3873
(1998); G. Cowan, K. Cranmer, E. Gross, O. Vitells, Eur. Phys. J. C 71, 1554 (2011).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cevns.errors import (
    ConfigError,
    _did_you_mean,
    finite_array,
    finite_number,
    is_bool,
    is_text,
    not_real_numbers,
)
from cevns.stats.levels import chi2_level
from cevns.stats.likelihood import Channel, Component, PoissonModel

NuisanceMode = Literal["sampled", "fixed"]
IntervalMethod = Literal["wilks", "fc"]

#: Confidence levels reported: one Gaussian σ (68.27 %) and 90 %.
CL_68 = math.erf(1.0 / math.sqrt(2.0))
CL_90 = 0.90

_STREAM_COVERAGE = 0
_TIE = 1e-9  # seed stream of coverage toys; FC toys at grid point j use stream j + 1


# -- the model -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToyModel:
    """A model for toys, rebuilt anywhere from an importable factory and JSON-able arguments.

    Parameters
    ----------
    factory : str
        ``"package.module:function"``; ``function(poi, **kwargs)`` returns a Channel, a sequence
        of Channels or a PoissonModel whose components have a leading axis ``len(poi)``.
    kwargs : mapping
        JSON-able keyword arguments of the factory.
    parameter : str
        Name of the parameter of interest (for tables and messages).
    """

    factory: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    parameter: str = "poi"

    def __post_init__(self) -> None:
        if not isinstance(self.factory, str) or ":" not in self.factory:
            raise ConfigError(
                f"ToyModel factory must be 'package.module:function', got {self.factory!r}"
            )
        try:
            json.dumps(dict(self.kwargs), sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"ToyModel kwargs must be JSON-able: {exc}") from None
        object.__setattr__(self, "kwargs", dict(self.kwargs))

    def channels(self, poi: ArrayLike) -> tuple[Channel, ...]:
        """The channels on the POI grid ``poi`` (cached per process)."""
        grid = tuple(float(v) for v in np.atleast_1d(np.asarray(poi, dtype=float)))
        return _build(self.factory, json.dumps(self.kwargs, sort_keys=True), grid)

    def poisson_model(self, poi: ArrayLike) -> PoissonModel:
        """The :class:`PoissonModel` of :meth:`channels` (cached per process)."""
        grid = tuple(float(v) for v in np.atleast_1d(np.asarray(poi, dtype=float)))
        return _build_model(self.factory, json.dumps(self.kwargs, sort_keys=True), grid)

    def config(self) -> dict[str, Any]:
        """JSON-able description (the part of a scan config that names the model)."""
        return {"factory": self.factory, "kwargs": dict(self.kwargs), "parameter": self.parameter}


def _resolve(factory: str):
    module, _, name = factory.partition(":")
    try:
        obj = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"ToyModel factory {factory!r} cannot be imported: {exc}") from None
    if not callable(obj):
        raise ConfigError(f"ToyModel factory {factory!r} is not callable")
    return obj


def _check_kwargs(factory: str, kwargs: Mapping[str, Any]):
    """The factory, after checking that ``factory(poi, **kwargs)`` fits its signature: a
    misspelled keyword is a :class:`ConfigError` with the factory's arguments, not a TypeError
    from inside a worker."""
    obj = _resolve(factory)
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):  # no introspectable signature: the call itself checks
        return obj
    params = list(sig.parameters.values())
    if not any(p.kind is p.VAR_KEYWORD for p in params):
        names = [p.name for p in params[1:] if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        for key in kwargs:
            if key not in names:
                raise ConfigError(
                    f"ToyModel kwargs: factory {factory!r} has no argument {key!r}"
                    f"{_did_you_mean(key, names)}; its arguments: {', '.join(names) or 'none'}")
    try:
        sig.bind(None, **kwargs)
    except TypeError as exc:
        raise ConfigError(f"ToyModel kwargs do not fit factory {factory!r}(poi, **kwargs): "
                          f"{exc}") from None
    return obj


@functools.lru_cache(maxsize=8)
def _build(factory: str, kwargs_json: str, grid: tuple[float, ...]) -> tuple[Channel, ...]:
    kwargs = json.loads(kwargs_json)
    built = _check_kwargs(factory, kwargs)(np.array(grid), **kwargs)
    if isinstance(built, PoissonModel):
        built = built.channels
    if isinstance(built, Channel):
        built = (built,)
    built = tuple(built)
    if not built or not all(isinstance(c, Channel) for c in built):
        raise ConfigError(f"ToyModel factory {factory!r} must return Channel(s) or a PoissonModel")
    model = PoissonModel(built)
    if model.grid_shape not in ((len(grid),), ()):
        raise ConfigError(
            f"ToyModel factory {factory!r}: channels on a POI grid of {len(grid)} points have grid "
            f"shape {model.grid_shape}; the components need one leading axis of length {len(grid)}"
        )
    return built


@functools.lru_cache(maxsize=8)
def _build_model(factory: str, kwargs_json: str, grid: tuple[float, ...]) -> PoissonModel:
    return PoissonModel(_build(factory, kwargs_json, grid))


# -- textbook models (tests, docs) -----------------------------------------------------------------


def counting_experiment(
    poi: NDArray[np.float64], background: float, efficiency: float = 1.0
) -> Channel:
    """One Poisson count with known background b: N = ε μ + b (Feldman & Cousins 1998, §IV)."""
    poi = np.asarray(poi, dtype=float)
    return Channel("count", [0.0], (
        Component("signal", efficiency * poi[:, None]),
        Component("background", [float(background)]),
    ))


def gaussian_measurement(poi: NDArray[np.float64], counts: float = 1e6) -> Channel:
    """A unit-width Gaussian measurement x ~ N(μ, 1), realised as one Poisson count with a large
    mean: N = b + μ √b with b = ``counts``, so x = (n − b)/√b is N(μ, 1) up to a skewness 1/√b
    (10⁻³ for the default). With μ ≥ 0 on the grid it is the bounded Gaussian of Feldman &
    Cousins (1998), §IV.B. Components must be ≥ 0, so the signal is √b (μ + 20) on a baseline
    b − 20 √b: valid for μ ≥ −20."""
    poi = np.asarray(poi, dtype=float)
    root = math.sqrt(counts)
    return Channel("x", [0.0], (
        Component("signal", root * (poi[:, None] + 20.0)),
        Component("baseline", [float(counts) - 20.0 * root]),
    ))


# -- toys ------------------------------------------------------------------------------------------


#: Toys are generated in blocks of this many: block b uses the generator seeded by
#: ``SeedSequence([seed, stream, b])`` and toy k is row k mod BLOCK of block k // BLOCK, so a toy
#: does not depend on the tiling, the executor or the total number of toys.
TOY_BLOCK = 64


def _toy_rng(seed: int, stream: int, block: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(stream), int(block)]))


def _block_data(truth_model: PoissonModel, rng: np.random.Generator, nuisances: str):
    """Counts of one block of TOY_BLOCK toys: channel → (TOY_BLOCK, n_bins)."""
    if nuisances == "sampled":
        values = {}
        for p in truth_model.nuisances:
            s = truth_model.sigmas[p]
            if not math.isfinite(s):
                continue
            draw = rng.normal(0.0, s, TOY_BLOCK)
            if p not in truth_model.shape_nuisances:
                bad = draw <= -1.0
                while bad.any():  # truncated at θ = −1: no negative normalisation
                    draw[bad] = rng.normal(0.0, s, int(bad.sum()))
                    bad = draw <= -1.0
            values[p] = draw
        batch = PoissonModel([
            Channel(ch.name, np.zeros((TOY_BLOCK, ch.n_bins)), ch.components)
            for ch in truth_model.channels
        ])
        expected = batch.expected(values)
    else:
        expected = truth_model.expected()
    out = {}
    for ch in truth_model.channels:
        mu = np.broadcast_to(np.asarray(expected[ch.name]).reshape(-1, ch.n_bins),
                             (TOY_BLOCK, ch.n_bins))
        out[ch.name] = rng.poisson(mu).astype(float)
    return out


def generate_toys(
    truth_model: PoissonModel,
    toys: ArrayLike,
    seed: int,
    *,
    stream: int = _STREAM_COVERAGE,
    nuisances: NuisanceMode = "sampled",
) -> dict[str, NDArray[np.float64]]:
    """Poisson toy data for the toy indices ``toys`` of a model at one point (grid ``()``/``(1,)``).

    Returns channel name → counts of shape ``(len(toys), n_bins)``. Toy k depends only on
    ``(seed, stream, k)`` (see :data:`TOY_BLOCK`).
    """
    if truth_model.grid_shape not in ((), (1,)):
        raise ConfigError(f"generate_toys needs a model at one point; grid {truth_model.grid_shape}")
    if nuisances not in ("sampled", "fixed"):
        raise ConfigError(f"nuisances must be 'sampled' or 'fixed', got {nuisances!r}")
    seed = _check_seed(seed)
    idx = np.atleast_1d(np.asarray(toys, dtype=np.int64))
    if idx.size and idx.min() < 0:
        raise ConfigError("toy indices must be ≥ 0")
    out = {ch.name: np.empty((idx.size, ch.n_bins)) for ch in truth_model.channels}
    blocks = idx // TOY_BLOCK
    for b in np.unique(blocks):
        data = _block_data(truth_model, _toy_rng(seed, stream, int(b)), nuisances)
        rows = np.flatnonzero(blocks == b)
        for name, counts in data.items():
            out[name][rows] = counts[idx[rows] % TOY_BLOCK]
    return out


#: Restarts of the profile of a toy from its best-fit nuisances (models with shape nuisances).
RESTARTS = 2
#: Models with shape nuisances: the first pass (from θ = 0) visits every this-many-th grid point.
COARSE_STRIDE = 4
#: Newton tolerance of the toy fits (the decrement estimate of χ² − χ²_min): far below the
#: Δχ² resolution coverage and pulls need.
TOY_TOL = 1e-8
#: χ² differences below this are the same minimum (rounding and TOY_TOL), not another branch.
_SAME = 1e-6


def profile_toys(
    channels: Sequence[Channel] | PoissonModel, data: Mapping[str, NDArray[np.float64]],
    *, restarts: int = RESTARTS,
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Profiled χ² of every toy (rows of ``data``) at every POI grid point, in batched calls.

    ``channels`` (or their :class:`PoissonModel`) hold the templates on the POI grid (leading
    axis); only the observed counts differ between toys
    (:func:`cevns.stats.profile.profile_datasets`: all toys in one call).

    Without shape nuisances χ² is convex in the nuisances and one pass from θ = 0 finds the
    minimum at every grid point. With shape nuisances it need not be convex, and a Newton
    iteration from θ = 0 can end in a local minimum at some grid points (a profile that jumps
    between branches; docs/statistics.md). Then every toy is profiled

    1. from θ = 0 on every :data:`COARSE_STRIDE`-th grid point (and the last);
    2. by continuation from its best coarse point outwards, both directions at once: each grid
       point starts from the nuisances kept at its neighbour towards the best point (a
       profile-likelihood scan), and keeps the lower χ² if it was also fitted in step 1;
    3. again by continuation from its new best point if that moved (at most ``restarts`` times).

    Returns χ² of shape ``(n_toys, n_poi)`` and a per-toy flag "every grid point converged".
    """
    from cevns.stats.profile import profile_datasets

    model = channels if isinstance(channels, PoissonModel) else PoissonModel(tuple(channels))
    if not model.shape_nuisances:
        chi2, conv, _ = profile_datasets(model, data, tol=TOY_TOL)
        return chi2, np.all(conv, axis=1)
    n_toys, n_grid = next(iter(data.values())).shape[0], model.n_points
    coarse = np.union1d(np.arange(0, n_grid, COARSE_STRIDE), [n_grid - 1])
    c0, ok0, th0 = profile_datasets(model, data, points=coarse, tol=TOY_TOL)
    chi2 = np.full((n_toys, n_grid), np.inf)
    conv = np.ones((n_toys, n_grid), dtype=bool)
    theta = np.zeros((n_toys, n_grid, len(model.nuisances)))
    chi2[:, coarse], conv[:, coarse], theta[:, coarse] = c0, ok0, th0
    todo = np.arange(n_toys)
    for _ in range(restarts + 1):
        if not todo.size:
            break
        best = np.argmin(chi2[todo], axis=1)
        _continuation(model, data, todo, best, chi2, conv, theta)
        todo = todo[np.argmin(chi2[todo], axis=1) != best]
    return chi2, np.all(conv, axis=1)


def _continuation(model, data, toys, start, chi2, conv, theta) -> None:
    """Profile toys ``toys`` at every grid point, stepping outwards from grid index ``start``
    (per toy) in both directions, each point from the θ kept at its inner neighbour; updates
    ``chi2``, ``conv``, ``theta`` in place where the new χ² is lower. Where a point fitted
    before (step 1 of :func:`profile_toys`) keeps its lower χ², that branch is followed back
    inwards, point by point, as long as it gives a lower χ² than the outward scan."""
    n_grid = chi2.shape[1]
    seeds_row, seeds_point, seeds_dir = [], [], []
    for step in range(1, n_grid):
        rows, points, direction = [], [], []
        for d in (1, -1):
            at = start + d * step
            valid = (at >= 0) & (at < n_grid)
            rows.append(toys[valid])
            points.append(at[valid])
            direction.append(np.full(int(valid.sum()), d))
        rows, points, direction = (np.concatenate(v) for v in (rows, points, direction))
        if not rows.size:
            break
        gain = _refit(model, data, rows, points, points - direction, chi2, conv, theta)
        lost = gain < -_SAME
        seeds_row.append(rows[lost])
        seeds_point.append(points[lost])
        seeds_dir.append(-direction[lost])
    rows, points, direction = (np.concatenate(v) for v in (seeds_row, seeds_point, seeds_dir))
    while rows.size:  # walk inwards from every point whose earlier fit was the better one
        nxt = points + direction
        inside = (nxt >= 0) & (nxt < n_grid)
        rows, points, direction, nxt = rows[inside], points[inside], direction[inside], nxt[inside]
        if not rows.size:
            break
        kept = _refit(model, data, rows, nxt, points, chi2, conv, theta) > _SAME
        rows, points, direction = rows[kept], nxt[kept], direction[kept]


def _refit(model, data, rows, points, source, chi2, conv, theta) -> NDArray[np.float64]:
    """Profile toy ``rows[i]`` at grid point ``points[i]`` from the θ kept at ``source[i]``;
    keep the result where its χ² is lower. Returns the decrease of the kept χ² (negative: the
    earlier fit was lower by that much; +inf: it was not fitted before). One toy appears at most
    once per point."""
    from cevns.stats.profile import profile_datasets

    c, ok, th = profile_datasets(
        model, {k: v[rows] for k, v in data.items()}, points=points[:, None],
        start=theta[rows, source][:, None, :], tol=TOY_TOL)
    with np.errstate(invalid="ignore"):
        gain = chi2[rows, points] - c[:, 0]
    better = gain > 0
    r, p = rows[better], points[better]
    chi2[r, p], conv[r, p], theta[r, p] = c[better, 0], ok[better, 0], th[better, 0]
    return gain


def refined_minimum(x: NDArray[np.float64], chi2: NDArray[np.float64]):
    """Per row: best x, χ²_min (parabola through the grid minimum and its neighbours, as
    :class:`~cevns.stats.Profile1D`), grid index of the minimum, and whether it is at an edge."""
    n_rows, n = chi2.shape
    j = np.argmin(chi2, axis=1)
    rows = np.arange(n_rows)
    best, cmin = x[j].astype(float), chi2[rows, j].astype(float)
    at_edge = (j == 0) | (j == n - 1)
    inner = ~at_edge & np.isfinite(cmin)
    if n >= 3 and inner.any():
        r, jj = rows[inner], j[inner]
        x0, x1, x2 = x[jj - 1] - x[jj], np.zeros(jj.size), x[jj + 1] - x[jj]
        y0, y1, y2 = chi2[r, jj - 1], chi2[r, jj], chi2[r, jj + 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            # Parabola through (x0, y0), (0, y1), (x2, y2): y = a x² + b x + y1
            a = ((y0 - y1) / x0 - (y2 - y1) / x2) / (x0 - x2)
            b = (y2 - y1) / x2 - a * x2
            xv = -b / (2.0 * a)
            good = (a > 0) & np.isfinite(y0) & np.isfinite(y2) & (xv >= x0) & (xv <= x2)
            yv = np.minimum(y1 - b * b / (4.0 * a), y1)
        best[r[good]] = x[jj[good]] + xv[good]
        cmin[r[good]] = yv[good]
        del x1
    return best, cmin, j, at_edge


def _crossing(x, d, j, level, direction):
    """Where Δχ² rows first exceed ``level`` moving from index j in ``direction`` (±1): the
    crossing interpolated linearly in √Δχ² (NaN if none within the grid)."""
    n_rows, n = d.shape
    idx = np.arange(n)[None, :]
    beyond = (idx > j[:, None]) if direction > 0 else (idx < j[:, None])
    mask = beyond & (d > level)
    has = mask.any(axis=1)
    k = np.argmax(mask, axis=1) if direction > 0 else n - 1 - np.argmax(mask[:, ::-1], axis=1)
    k0 = np.clip(k - direction, 0, n - 1)
    rows = np.arange(n_rows)
    u0 = np.sqrt(np.maximum(d[rows, k0], 0.0))
    u1 = np.sqrt(np.maximum(d[rows, k], 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.clip((math.sqrt(level) - u0) / (u1 - u0), 0.0, 1.0)
    frac = np.where(np.isfinite(frac), frac, 1.0)
    out = x[k0] + frac * (x[k] - x[k0])
    return np.where(has, out, np.nan)


def _delta_at(x: NDArray[np.float64], chi2: NDArray[np.float64], value: float):
    """Δχ² at the grid point ``value`` relative to the refined minimum, with best, index of the
    grid minimum and edge flags."""
    best, cmin, j, at_edge = refined_minimum(x, chi2)
    k = int(np.argmin(np.abs(x - value)))
    return chi2[:, k] - cmin, best, cmin, j, at_edge


# -- coverage --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoverageResult:
    """Coverage, bias and pull width of the intervals of one parameter from toys.

    Attributes
    ----------
    parameter : str
    truth : float
        The value the toys were generated at.
    n_toys : int
        Toys generated.
    n_failed : int
        Toys left out: profile unconverged, or the grid minimum at a grid edge with
        Δχ²(truth) below the 90 % level (coverage undecidable on this grid).
    coverage_68, coverage_90 : float
        Fraction of the remaining toys whose 68.27 % / 90 % interval contains the truth.
    coverage_68_err, coverage_90_err : float
        Binomial uncertainties √(p(1 − p)/n).
    bias_sigma : float
        Mean pull (μ̂ − μ_true)/σ (σ: the Δχ² = 1 half-width on the side of the truth).
    bias_sigma_err : float
        Its standard error (pull width / √n_pulls).
    pull_width : float
        Standard deviation of the pulls (1 for Gaussian behaviour).
    n_pulls : int
        Toys with a pull (both the fit and the Δχ² = 1 crossing towards the truth inside the grid).
    interval_method : str
        ``"wilks"`` (Δχ² = 1.00 / 2.71) or ``"fc"`` (Feldman–Cousins critical values).
    seed : int
    nuisances : str
        ``"sampled"`` or ``"fixed"``.
    best : ndarray
        Best fit of every toy (NaN for failed toys), in toy order.
    """

    parameter: str
    truth: float
    n_toys: int
    n_failed: int
    coverage_68: float
    coverage_68_err: float
    coverage_90: float
    coverage_90_err: float
    bias_sigma: float
    bias_sigma_err: float
    pull_width: float
    n_pulls: int
    interval_method: str
    seed: int
    nuisances: str
    best: NDArray[np.float64] = field(repr=False, compare=False, default_factory=lambda: np.empty(0))

    def row(self) -> dict[str, Any]:
        """The scalar fields as a dict (for tables)."""
        return {k: getattr(self, k) for k in (
            "parameter", "truth", "n_toys", "n_failed", "coverage_68", "coverage_68_err",
            "coverage_90", "coverage_90_err", "bias_sigma", "bias_sigma_err", "pull_width",
            "n_pulls", "interval_method", "nuisances", "seed")}


def _check_grid(poi: ArrayLike, truth: float) -> NDArray[np.float64]:
    grid = np.asarray(poi, dtype=float)
    if grid.ndim != 1 or grid.size < 3 or not np.all(np.isfinite(grid)):
        raise ConfigError("poi grid must be a 1-d array of ≥ 3 finite values")
    if not np.all(np.diff(grid) > 0):
        raise ConfigError("poi grid must be strictly increasing")
    if not grid[0] <= truth <= grid[-1]:
        raise ConfigError(f"truth {truth:g} lies outside the poi grid [{grid[0]:g}, {grid[-1]:g}]")
    return np.union1d(grid, [truth])


def _toy_task(config: Mapping[str, Any], tile) -> dict[str, NDArray]:
    """Scan task: generate, profile and summarise the toys of one tile (see module docstring)."""
    model = ToyModel(**config["model"])
    poi = np.asarray(config["poi"], dtype=float)
    truth = float(config["truth"])
    toys = np.asarray(tile.coords["toy"], dtype=np.int64)
    generator = ToyModel(**config["generator"]) if config.get("generator") else model
    truth_model = PoissonModel(generator.channels([truth]))
    if [ch.name for ch in truth_model.channels] != [ch.name for ch in model.channels([truth])]:
        raise ConfigError("the generating model must have the fitted model's channels (same "
                          "names, same order)")
    data = generate_toys(truth_model, toys, config["seed"], nuisances=config["nuisances"])
    chi2, ok = profile_toys(model.poisson_model(poi), data)
    delta, best, cmin, j, at_edge = _delta_at(poi, chi2, truth)
    d = chi2 - cmin[:, None]
    lo = _crossing(poi, d, j, 1.0, -1)
    hi = _crossing(poi, d, j, 1.0, +1)
    return {"delta_truth": delta, "best": best, "lower_1": lo, "upper_1": hi,
            "converged": ok.astype(np.int8), "at_edge": at_edge.astype(np.int8)}


def _fc_task(config: Mapping[str, Any], tile) -> dict[str, NDArray]:
    """Scan task: Δχ²(μ_j) for toys generated at grid point μ_j (Feldman–Cousins construction)."""
    model = ToyModel(**config["model"])
    poi = np.asarray(config["poi"], dtype=float)
    points = np.asarray(tile.coords["point"], dtype=np.int64)
    toys = np.asarray(tile.coords["toy"], dtype=np.int64)
    out = np.empty((points.size, toys.size))
    grid_channels = model.poisson_model(poi)
    for r, jp in enumerate(points):
        truth_model = PoissonModel(model.channels([poi[jp]]))
        data = generate_toys(truth_model, toys, config["seed"], stream=int(jp) + 1,
                             nuisances=config["nuisances"])
        chi2, ok = profile_toys(grid_channels, data)
        _, cmin, _, _ = refined_minimum(poi, chi2)
        t = chi2[:, jp] - cmin
        out[r] = np.where(ok, t, np.nan)
    return {"t": out}


def _run(task, grid, config, executor, tile_shape):
    from cevns.scan import run_scan

    return run_scan(task, grid, config, store=None, executor=executor, tile_shape=tile_shape)


def _whole(value: object, minimum: int) -> bool:
    """Whether ``value`` is a whole number ≥ ``minimum`` (an int or NumPy integer, not a bool)."""
    return not is_bool(value) and isinstance(value, int | np.integer) and value >= minimum


def _check_toys(n_toys: int, tile: int) -> None:
    if not _whole(n_toys, 1):
        raise ConfigError(f"n_toys must be an integer ≥ 1, got {n_toys!r}")
    if not _whole(tile, 1):
        raise ConfigError(f"toys_per_tile must be an integer ≥ 1, got {tile!r}")


def _check_seed(seed: object) -> int:
    """The seed as an int: a whole number ≥ 0. None (fresh entropy) is refused: toys are
    reproducible from their seed."""
    if seed is None:
        raise ConfigError("seed must be a whole number ≥ 0, got None: toys are reproducible from "
                          "their seed (the same seed gives the same toys); pass one, e.g. seed=0")
    if not _whole(seed, 0):
        raise ConfigError(f"seed must be a whole number ≥ 0, got {seed!r}")
    return int(seed)


def _check_cls(cls: object) -> NDArray[np.float64]:
    """Confidence levels: one number or a sequence of them, each in (0, 1)."""
    what = "a confidence level in (0, 1) or a sequence of them"
    if is_bool(cls, recurse=True):
        raise ConfigError(f"cls must be {what}, got {cls!r}")
    levels = finite_array(cls, "cls", numbers=what, bounds="in (0, 1)")
    if levels.ndim > 1 or levels.size == 0:
        raise ConfigError(f"cls must be {what}, got {cls!r}")
    for cl in levels.reshape(-1):
        if not 0 < cl < 1:
            raise ConfigError(f"cls: confidence levels must lie in (0, 1), got {float(cl)!r}")
    return levels.reshape(-1)


def _check_at(at: object, n: int) -> NDArray[np.int64]:
    """Grid indices of :func:`fc_critical_values` (whole numbers in [0, n − 1], not POI values)."""
    what = f"grid indices (whole numbers in [0, {n - 1}])"
    if at is None:
        return np.arange(n)
    if is_bool(at, recurse=True):
        raise ConfigError(f"at must hold {what}, got {at!r}")
    values = finite_array(at, "at", numbers=what)
    if values.size == 0 or np.any(values != np.round(values)):
        raise ConfigError(f"at must hold {what}, got {at!r}; it takes indices, not POI values "
                          "(e.g. at=np.searchsorted(poi, values))")
    points = np.unique(values.astype(np.int64))
    if points.min() < 0 or points.max() >= n:
        raise ConfigError(f"at must hold grid indices in [0, {n - 1}], got {at!r}")
    return points


def fc_critical_values(
    model: ToyModel,
    poi: ArrayLike,
    n_toys: int = 1000,
    *,
    cls: float | Sequence[float] = (CL_68, CL_90),
    seed: int = 0,
    nuisances: NuisanceMode = "sampled",
    executor: Any = "serial",
    toys_per_tile: int = 512,
    points_per_tile: int = 8,
    at: ArrayLike | None = None,
) -> dict[float, NDArray[np.float64]]:
    """Feldman–Cousins critical values c_j(CL) of Δχ² at every POI grid point, from toys.

    For each grid point μ_j, ``n_toys`` toys are generated at μ_j and profiled on the whole grid;
    c_j is the CL-quantile of t = χ²(μ_j) − min χ² (the smallest t with empirical CDF ≥ CL, as
    the Neyman construction of discrete data requires). The grid should span the physical region
    of the parameter: the minimum over it is the constrained maximum-likelihood fit.

    The grid must also reach beyond every best fit the toys can produce (a best fit cut off by
    the grid end makes t too small and the intervals too short).

    Parameters
    ----------
    cls : float or sequence of float
        Confidence levels in (0, 1).
    seed : int
        A whole number ≥ 0: the same seed gives the same toys.
    at : array_like of int, optional
        Indices of the grid points at which to compute critical values (default: all); the
        others are NaN. Toys are still profiled on the whole grid.

    Returns
    -------
    dict of float to ndarray
        CL → critical values, shape ``(len(poi),)``.
    """
    _check_toys(n_toys, toys_per_tile)
    if not isinstance(model, ToyModel):
        raise ConfigError(f"model must be a ToyModel, got {type(model).__name__}")
    grid = finite_array(poi, "poi", numbers="a 1-d array of numbers")
    if grid.ndim != 1 or grid.size < 3 or not np.all(np.diff(grid) > 0):
        raise ConfigError("poi grid must be a strictly increasing 1-d array of ≥ 3 values")
    cls = _check_cls(cls)
    seed = _check_seed(seed)
    if nuisances not in ("sampled", "fixed"):
        raise ConfigError(f"nuisances must be 'sampled' or 'fixed', got {nuisances!r}")
    _check_kwargs(model.factory, model.kwargs)
    config = {"model": model.config(), "poi": grid.tolist(), "seed": seed,
              "nuisances": nuisances}
    points = _check_at(at, grid.size)
    scan_grid = {"point": points, "toy": np.arange(n_toys)}
    if not (isinstance(points_per_tile, int | np.integer) and points_per_tile >= 1):
        raise ConfigError(f"points_per_tile must be an integer ≥ 1, got {points_per_tile!r}")
    ds = _run(_fc_task, scan_grid, config, executor,
              {"point": int(points_per_tile), "toy": int(toys_per_tile)})
    t = np.asarray(ds["t"].values)
    out = {}
    for cl in cls:
        crit = np.full(grid.size, np.nan)
        for r, j in enumerate(points):
            v = t[r][np.isfinite(t[r])]
            crit[j] = np.quantile(v, cl, method="inverted_cdf") if v.size else np.nan
        # Toys of discrete data share t values exactly; the observed Δχ² of the same count may
        # differ from its toy twin by rounding. A relative slack of 1e-9 keeps such ties inside.
        out[float(cl)] = np.maximum(crit, 0.0) * (1.0 + _TIE) + _TIE
    return out


def _numbers(value: object, name: str) -> NDArray[np.float64]:
    """``value`` as a float array, or a :class:`ConfigError` naming ``name`` for text, booleans,
    complex numbers or anything else that is not numbers."""
    if is_text(value) or is_bool(value, recurse=True):
        raise ConfigError(f"{name} must be a 1-d array of numbers, got {value!r}")
    not_real_numbers(value, name, "a 1-d array of numbers")
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a 1-d array of numbers, got {value!r}") from None


def fc_interval(
    poi: ArrayLike, chi2: ArrayLike, critical: ArrayLike
) -> tuple[float, float]:
    """Feldman–Cousins interval [lower, upper] from a profiled χ² on the POI grid and the
    critical values of :func:`fc_critical_values`: the envelope of {μ_j : Δχ²(μ_j) ≤ c_j}, edges
    interpolated linearly in Δχ² − c between grid points (the grid ends where the set touches
    them). NaN, NaN if no grid point is accepted."""
    x = finite_array(poi, "poi", numbers="a 1-d array of numbers")
    c, crit = (_numbers(chi2, "chi2"), _numbers(critical, "critical"))
    if not (x.shape == c.shape == crit.shape and x.ndim == 1 and x.size >= 3):
        raise ConfigError("poi, chi2 and critical must be 1-d arrays of equal length ≥ 3")
    if not np.all(np.diff(x) > 0):
        raise ConfigError("poi grid must be strictly increasing")
    bad = np.flatnonzero(~(c > -np.inf))  # NaN or -inf (+inf: a point excluded outright)
    if bad.size or not np.isfinite(c).any():
        where = f"{c[bad[0]]} at index {bad[0]}" if bad.size else "no finite value"
        raise ConfigError(f"chi2 must be finite numbers (+inf for an excluded point), got {where}")
    bad = np.flatnonzero(~np.isfinite(crit))
    if bad.size:
        raise ConfigError(f"critical must be finite, got {crit[bad[0]]} at index {bad[0]} "
                          "(fc_critical_values leaves NaN at the points not in at= and where no "
                          "toy converged: compute them at every grid point)")
    _, cmin, _, _ = refined_minimum(x, c[None, :])
    g = c - cmin[0] - crit  # ≤ 0: accepted
    acc = np.flatnonzero(g <= 0)
    if not acc.size:
        return math.nan, math.nan
    i, k = int(acc[0]), int(acc[-1])

    def edge(a: int, b: int) -> float:  # a accepted, b rejected neighbour
        if not np.isfinite(g[b]):
            return float(x[a])
        return float(x[a] + (x[b] - x[a]) * (-g[a]) / (g[b] - g[a]))

    lower = float(x[0]) if i == 0 else edge(i, i - 1)
    upper = float(x[-1]) if k == x.size - 1 else edge(k, k + 1)
    return lower, upper


def run_toys(
    model: ToyModel,
    poi: ArrayLike,
    truth: float,
    n_toys: int = 1000,
    *,
    seed: int = 0,
    nuisances: NuisanceMode = "sampled",
    interval_method: IntervalMethod = "wilks",
    critical: Mapping[float, ArrayLike] | None = None,
    fc_toys: int = 1000,
    executor: Any = "serial",
    toys_per_tile: int = 128,
    generator: ToyModel | None = None,
) -> CoverageResult:
    """Coverage, bias and pull width of the intervals of ``model``'s parameter from toys.

    Parameters
    ----------
    model : ToyModel
    poi : array_like
        POI grid (strictly increasing; ``truth`` is inserted if absent; with ``critical`` given
        it must already contain the truth, so that the critical values match the grid). It should reach well
        beyond the 90 % interval (±3σ or more): toys whose minimum falls on a grid edge with
        Δχ²(truth) below the 90 % level are counted as failed.
    truth : float
        The POI value the toys are generated at.
    n_toys : int
        Number of toys.
    seed : int
        Toy k is row k mod 64 of the block generated from ``SeedSequence([seed, 0, k // 64])``:
        the same seed gives the same toys, whatever the executor and tiling.
    nuisances : {"sampled", "fixed"}
        True nuisance values of each toy drawn from their constraints (default) or all at 0.
    interval_method : {"wilks", "fc"}
        ``"wilks"``: Δχ² levels 1.00 and 2.71 (χ² with one degree of freedom). ``"fc"``:
        Feldman–Cousins critical values at the truth (from ``critical``, else computed with
        :func:`fc_critical_values` and ``fc_toys`` toys per grid point).
    executor : str, mapping or Executor
        Where the tiles of toys run (:func:`cevns.scan.make_executor`).
    toys_per_tile : int
        Toys per tile (profiled in one batched call). The default 128 makes 8 tiles of 1000 toys:
        on two workers they finish within a few seconds of each other, where 4 tiles of 256 left
        one worker idle for 10–15 s on the LAr-2020 likelihood (1000 toys 51.7 s against 67.6 s
        wall, the same numbers; docs/statistics.md §7).
    generator : ToyModel, optional
        Generate the toys from this model instead of ``model`` (same channels and bins), e.g. a
        background shape the fit does not know: the result then measures the effect of the
        mismodelling, not only the statistics of the procedure.

    Returns
    -------
    CoverageResult
    """
    _check_toys(n_toys, toys_per_tile)
    if not isinstance(model, ToyModel):
        raise ConfigError(f"model must be a ToyModel, got {type(model).__name__}")
    seed = _check_seed(seed)
    if interval_method not in ("wilks", "fc"):
        raise ConfigError(f"interval_method must be 'wilks' or 'fc', got {interval_method!r}")
    if nuisances not in ("sampled", "fixed"):
        raise ConfigError(f"nuisances must be 'sampled' or 'fixed', got {nuisances!r}")
    truth = finite_number(truth, "truth", "a finite number")
    grid = _check_grid(poi, truth)
    if interval_method == "wilks":
        levels = (chi2_level(CL_68, dof=1), chi2_level(CL_90, dof=1))
    else:
        if critical is None:
            critical = fc_critical_values(model, grid, fc_toys, seed=seed + 1,
                                          nuisances=nuisances, executor=executor)
        levels = []
        for cl in (CL_68, CL_90):
            key = min(critical, key=lambda k, cl=cl: abs(float(k) - cl))
            if abs(float(key) - cl) > 1e-6:
                raise ConfigError(f"critical values lack the confidence level {cl:.4f}")
            crit = np.asarray(critical[key], dtype=float)
            if crit.shape != grid.shape:
                raise ConfigError(f"critical values have shape {crit.shape}, the grid (with the "
                                  f"truth inserted) {grid.shape}")
            levels.append(float(np.interp(truth, grid, crit)))
        levels = tuple(levels)
    if generator is not None and not isinstance(generator, ToyModel):
        raise ConfigError(f"generator must be a ToyModel, got {type(generator).__name__}")
    for m in (model, generator):
        if m is not None:
            _check_kwargs(m.factory, m.kwargs)
    config = {"model": model.config(), "poi": grid.tolist(), "truth": truth, "seed": seed,
              "nuisances": nuisances,
              "generator": generator.config() if generator is not None else None}
    ds = _run(_toy_task, {"toy": np.arange(n_toys)}, config, executor,
              {"toy": int(toys_per_tile)})
    return summarise(
        parameter=model.parameter, truth=truth,
        delta_truth=np.asarray(ds["delta_truth"].values), best=np.asarray(ds["best"].values),
        lower=np.asarray(ds["lower_1"].values), upper=np.asarray(ds["upper_1"].values),
        converged=np.asarray(ds["converged"].values, dtype=bool),
        at_edge=np.asarray(ds["at_edge"].values, dtype=bool),
        levels=levels, interval_method=interval_method, seed=seed, nuisances=nuisances,
    )


def summarise(
    *, parameter, truth, delta_truth, best, lower, upper, converged, at_edge, levels,
    interval_method, seed, nuisances,
) -> CoverageResult:
    """Coverage, bias and pull width from per-toy Δχ²(truth), best fits and Δχ² = 1 crossings."""
    lv68, lv90 = levels
    undecided = at_edge & (delta_truth <= max(lv68, lv90))
    good = converged & ~undecided & np.isfinite(delta_truth)
    n = int(good.sum())

    def frac(level: float) -> tuple[float, float]:
        if not n:
            return math.nan, math.nan
        p = float(np.mean(delta_truth[good] <= level))
        return p, math.sqrt(p * (1.0 - p) / n)

    c68, e68 = frac(lv68)
    c90, e90 = frac(lv90)
    sigma = np.where(best > truth, best - lower, upper - best)
    pulls = (best - truth) / sigma
    use = good & ~at_edge & np.isfinite(pulls) & (sigma > 0)
    pv = pulls[use]
    bias = float(pv.mean()) if pv.size else math.nan
    width = float(pv.std(ddof=1)) if pv.size > 1 else math.nan
    return CoverageResult(
        parameter=parameter, truth=float(truth), n_toys=int(best.size),
        n_failed=int(best.size - n), coverage_68=c68, coverage_68_err=e68, coverage_90=c90,
        coverage_90_err=e90, bias_sigma=bias,
        bias_sigma_err=width / math.sqrt(pv.size) if pv.size > 1 else math.nan,
        pull_width=width, n_pulls=int(pv.size), interval_method=interval_method,
        seed=int(seed), nuisances=nuisances, best=np.where(good, best, np.nan),
    )
