"""The Poisson χ² with normalisation pulls (paper Eqs. 29–30; docs/physics.md#likelihood), as validated data.

A :class:`Channel` is one detector (or one data set): observed counts n_i and a prediction that is a
sum of :class:`Component` s, each scaled by (1 + θ_k) where θ_k is the nuisance parameter the
component names (or fixed at θ = 0 when it names none):

    N_i(θ) = Σ_k (1 + θ_k) C_k,i

    χ²(θ) = 2 Σ_i [N_i − n_i + n_i ln(n_i / N_i)] + Σ_p (θ_p / σ_p)²,

with n ln(n/N) = 0 for n = 0. A :class:`PoissonModel` combines channels by summing their χ²;
nuisances are identified by name, so channels that name the same nuisance share it.

Every array may carry leading grid axes: a component of shape ``(*grid, n_bins)`` (or any shape that
broadcasts to it, e.g. a background of shape ``(n_bins,)``) gives a χ² of shape ``grid``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cevns.errors import SIGMA_RANGE as _SIGMA_RANGE
from cevns.errors import (
    ConfigError,
    MissingDependencyError,
    UnknownNameError,
    finite_array,
    is_bool,
    is_text,
    not_real_numbers,
)
from cevns.stats.shapes import (
    _CODES,
    MULTIPLICATIVE,
    FlatInterpolator,
    LinearFactor,
    _small_product,
    conserve_ratios,
    conserve_total,
    flat_interpolator,
    rescale_to_total,
    total_ratios,
)

if TYPE_CHECKING:  # pragma: no cover
    from iminuit import Minuit

    from cevns.stats.profile import ProfileResult

#: σ of a nuisance without a pull term (a free normalisation). ``None`` in a ``sigmas`` mapping
#: means the same.
FREE = math.inf

#: The finite pull widths σ that are accepted (:data:`cevns.errors.SIGMA_RANGE`, [1e-150, 1e150]:
#: 1/σ² is then a finite, non-zero float); ``inf`` (or ``None``) is the free normalisation.
SIGMA_RANGE = _SIGMA_RANGE
_SIGMA_VALID = "a number in [1e-150, 1e150], or inf or None for a free normalisation"

#: Smallest value of a linear ``normsys`` factor that the profiler steps to (its lower bound).
_NORMSYS_FLOOR = 1e-12

#: Signal normalisation uncertainty σ_α of the paper (10 %; docs/physics.md#detectors, [M]).
PAPER_SIGMA_SIGNAL = 0.10
#: Background normalisation uncertainty σ_β of the paper (1 %; docs/physics.md#detectors, [A]).
PAPER_SIGMA_BACKGROUND = 0.01


def _as_counts(value: ArrayLike, what: str) -> NDArray[np.float64]:
    """Convert to a float array of shape ``(..., n_bins)``: finite and ≥ 0, else ConfigError."""
    if is_text(value):  # NumPy would read "3" as 3.0 without a word
        raise ConfigError(f"{what} must be an array of numbers, got text {value!r}")
    not_real_numbers(value, what, "an array of numbers")  # bool, complex, dates, masked
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{what} must be an array of numbers: {exc}") from None
    if arr.ndim == 0:
        raise ConfigError(f"{what} must have a bin axis (last axis); got a scalar")
    if arr.shape[-1] == 0:
        raise ConfigError(f"{what} has no bins (last axis has length 0)")
    bad = ~np.isfinite(arr)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ConfigError(f"{what} must be finite; found {arr[where]} at index {where}")
    neg = arr < 0
    if neg.any():
        where = tuple(int(i) for i in np.argwhere(neg)[0])
        raise ConfigError(f"{what} must be ≥ 0 (counts); found {arr[where]:g} at index {where}")
    return arr


def _kept_counts(value: ArrayLike, what: str) -> NDArray[np.float64]:
    """:func:`_as_counts` for an array a component or channel keeps: read-only, and a copy when
    the checked array could be written (the caller's own array), so that changing that array
    afterwards — a negative or NaN count — cannot change a validated object behind its checks.
    A read-only array (a detector's spectrum, a broadcast view) is kept as it is, uncopied."""
    arr = _as_counts(value, what)
    if arr.flags.writeable:
        arr = arr.copy()
        arr.setflags(write=False)
    return arr


def _check_sigma(sigma: Any, what: str) -> float:
    """A pull width: a number in :data:`SIGMA_RANGE`, ``inf`` (free), or ``None`` (free)."""
    if sigma is None:
        return math.inf
    lo, hi = SIGMA_RANGE
    valid = _SIGMA_VALID
    if is_bool(sigma) or is_text(sigma):
        raise ConfigError(f"{what} must be {valid}; got {sigma!r}")
    try:
        value = float(sigma)
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be {valid}; got {sigma!r}") from None
    if not (lo <= value <= hi or value == math.inf):  # also catches NaN
        raise ConfigError(f"{what} must be {valid}; got {sigma!r}")
    return value


def _check_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{what} must be a non-empty string; got {name!r}")
    return name


@dataclass(frozen=True, eq=False)
class Component:
    """One additive part of a channel's prediction (signal, one background, …).

    Parameters
    ----------
    name : str
        Name of the component within its channel, e.g. ``"signal"``.
    expected : array_like
        Expected counts C_i ≥ 0, shape ``(*grid, n_bins)`` or broadcastable to it.
    nuisance : str or None
        Name of the normalisation nuisance θ that scales this component by (1 + θ). Components (in
        any channel) that give the same name share the parameter. ``None``: fixed normalisation.
    sigma : float or None
        Width σ of the Gaussian pull (θ/σ)² of that nuisance, as a fraction (0.1 = 10 %);
        ``math.inf`` (:data:`FREE`) for a free normalisation; a finite σ must lie in
        :data:`SIGMA_RANGE` = [1e-150, 1e150]. ``None`` (default): not given here; it must then
        come from the ``sigmas`` mapping of :class:`PoissonModel`.
    shapes : mapping of str to (down, up), optional
        Shape nuisances (HistFactory ``histosys``): for each nuisance name α the expected counts
        of this component with that systematic at −1σ and +1σ, each of the shape of ``expected``
        (leading grid axes included, or broadcastable to it). Each shape nuisance has a unit
        Gaussian pull α²; components in any channel that name the same shape nuisance share it.
        The component's expected counts become interp(expected, down, up; α) × (1 + θ).
    shape_code : {"polyexp", "exponential", "polynomial", "linear"}
        Interpolation code (:mod:`cevns.stats.shapes`; HistFactory codes 4, 1, 4p, 0). The
        multiplicative codes (default ``"polyexp"``) keep every count > 0; with the additive ones
        a point where the interpolated counts of a bin go negative is outside the domain
        (χ² = inf), which bounds the profiler. Several shape nuisances of one component combine
        as a product of factors (multiplicative codes) or a sum of shifts (additive codes).
    conserve_total : bool or collection of str
        Shape-only nuisances (:mod:`cevns.stats.shapes`, "Shape-only systematics"): ``True``
        for all of this component's shape nuisances, or the names of some; their interpolated
        template keeps the total of ``expected`` at every α (per grid row), so they move events
        between bins and leave the normalisation to the normalisation parameters. ``False``
        (default): HistFactory's plain per-bin interpolation, whose total varies with α even
        between variants of equal total.
    normsys : mapping of str to (down, up), optional
        Normalisation systematics (HistFactory ``normsys``) on top of `nuisance`: for each
        nuisance name α the factors (f₋, f₊) > 0 by which it scales this component at −1σ and
        +1σ, with a unit Gaussian pull α². The factor is interpolated linearly — f(α) = 1 +
        α (f₊ − 1) for α ≥ 0, 1 + α (1 − f₋) for α < 0 (ROOT ``FlexibleInterpVar`` code 0), not
        exponentially as HistFactory's default code 1 (for that, give the component a shape
        nuisance with variants f₋ C and f₊ C and ``shape_code="exponential"``). With (1 − σ,
        1 + σ) it is exactly a Gaussian-constrained normalisation (1 + θ), θ = σ α, which
        components in any channel can share by name while each keeps its own `nuisance`: the
        component is then C (1 + θ) (1 + σ α), e.g. a neutrino-flux uncertainty common to two
        detectors beside each one's own efficiency normalisation. A point where a factor is
        ≤ 0 is outside the domain (χ² = inf). Needs a multiplicative `shape_code` if the component
        also has shape nuisances. Asymmetric factors (f₊ − 1 ≠ 1 − f₋) put a kink in χ² at
        α = 0, which slows Newton profiling there, as shape code 0 does.
    """

    name: str
    expected: NDArray[np.float64]
    nuisance: str | None = None
    sigma: float | None = None
    shapes: Mapping[str, tuple[ArrayLike, ArrayLike]] | None = None
    shape_code: str = "polyexp"
    conserve_total: bool | Iterable[str] = False
    normsys: Mapping[str, tuple[float, float]] | None = None

    def __post_init__(self) -> None:
        _check_name(self.name, "Component name")
        object.__setattr__(
            self, "expected", _kept_counts(self.expected, f"component {self.name!r}: expected")
        )
        if self.nuisance is not None:
            _check_name(self.nuisance, f"component {self.name!r}: nuisance")
        if self.sigma is not None:
            if self.nuisance is None:
                raise ConfigError(
                    f"component {self.name!r}: sigma={self.sigma!r} given but no nuisance name"
                )
            object.__setattr__(
                self,
                "sigma",
                _check_sigma(self.sigma, f"component {self.name!r}: sigma of {self.nuisance!r}"),
            )
        object.__setattr__(self, "shapes", self._check_shapes())
        object.__setattr__(self, "conserve_total", self._check_conserve())
        object.__setattr__(self, "normsys", self._check_normsys())

    def _pairs(self, field_name: str, of: str) -> Mapping[str, Any]:
        """The mapping {name: (down, up)} given as `field_name` ({} for None)."""
        value = getattr(self, field_name)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise ConfigError(
                f"component {self.name!r}: {field_name} must be a mapping {{name: (down, up)}} "
                f"{of}, got {type(value).__name__}"
            )
        return value

    def _check_normsys(self) -> dict[str, tuple[float, float]]:
        out: dict[str, tuple[float, float]] = {}
        for key, pair in self._pairs("normsys", "of factors").items():
            what = f"component {self.name!r}: normsys[{key!r}]"
            _check_name(key, f"component {self.name!r}: normsys nuisance name")
            if key == self.nuisance or key in (self.shapes or {}):
                raise ConfigError(
                    f"{what}: {key!r} is already this component's "
                    f"{'normalisation' if key == self.nuisance else 'shape'} nuisance; give "
                    "different names"
                )
            if not (isinstance(pair, Sequence) and not isinstance(pair, str) and len(pair) == 2):
                raise ConfigError(f"{what} must be a pair (down, up) of factors, got {pair!r}")
            factors = []
            for side, value in zip(("down", "up"), pair, strict=True):
                if isinstance(value, bool) or not isinstance(value, int | float | np.number):
                    raise ConfigError(f"{what} {side} must be a number, got {value!r}")
                value = float(value)
                if not (math.isfinite(value) and value > 0):
                    raise ConfigError(f"{what} {side} must be a finite factor > 0, got {value!r}")
                factors.append(value)
            out[key] = (factors[0], factors[1])
        if out and self.shapes and self.shape_code not in MULTIPLICATIVE:
            raise ConfigError(
                f"component {self.name!r}: normsys factors multiply the template, which needs a "
                f"multiplicative shape_code ({', '.join(MULTIPLICATIVE)}) for its shape "
                f"nuisances, got {self.shape_code!r}"
            )
        return out

    def _check_conserve(self) -> frozenset[str]:
        """The names of the shape-only nuisances, from ``conserve_total``."""
        flag = self.conserve_total
        if isinstance(flag, bool | np.bool_):
            return frozenset(self.shapes) if flag else frozenset()
        # a 0-d array is Iterable to isinstance but not iterable (TypeError); refused like
        # ShapeVariation refuses it
        if isinstance(flag, str) or not isinstance(flag, Iterable) or getattr(flag, "ndim", 1) == 0:
            raise ConfigError(
                f"component {self.name!r}: conserve_total must be True, False or a collection of "
                f"shape-nuisance names, got {flag!r}"
            )
        names = frozenset(flag)
        unknown = sorted(str(n) for n in names - set(self.shapes))
        if unknown:
            raise ConfigError(
                f"component {self.name!r}: conserve_total names {unknown}, which are not among "
                f"its shape nuisances {list(self.shapes)}"
            )
        return names

    def _check_shapes(self) -> dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]]:
        if self.shape_code not in _CODES:
            raise ConfigError(
                f"component {self.name!r}: unknown shape_code {self.shape_code!r}; valid: "
                f"{', '.join(_CODES)}"
            )
        out = {}
        for key, pair in self._pairs("shapes", "of templates").items():
            _check_name(key, f"component {self.name!r}: shape nuisance name")
            if key == self.nuisance:
                raise ConfigError(
                    f"component {self.name!r}: {key!r} is both its normalisation nuisance and a "
                    "shape nuisance; give them different names"
                )
            if not (isinstance(pair, Sequence) and not isinstance(pair, str) and len(pair) == 2):
                raise ConfigError(
                    f"component {self.name!r}: shapes[{key!r}] must be a pair (down, up) of "
                    f"templates, got {type(pair).__name__}"
                )
            templates = []
            for what, tmpl in zip(("down", "up"), pair, strict=True):
                arr = _kept_counts(tmpl, f"component {self.name!r}: shapes[{key!r}] {what}")
                if arr.shape[-1] != self.expected.shape[-1]:
                    raise ConfigError(
                        f"component {self.name!r}: shapes[{key!r}] {what} has {arr.shape[-1]} "
                        f"bins (shape {arr.shape}), expected has {self.expected.shape[-1]}"
                    )
                try:
                    np.broadcast_shapes(arr.shape, self.expected.shape)
                except ValueError:
                    raise ConfigError(
                        f"component {self.name!r}: shapes[{key!r}] {what} has shape {arr.shape}, "
                        f"which does not broadcast with expected {self.expected.shape}"
                    ) from None
                templates.append(arr)
            out[key] = (templates[0], templates[1])
        return out

    @property
    def shape_nuisances(self) -> tuple[str, ...]:
        """Names of this component's unit-pull nuisances: its shape nuisances (in the order
        given), then its ``normsys`` factors."""
        return (*(self.shapes or ()), *(self.normsys or ()))

    def _lead_shapes(self) -> list[tuple[int, ...]]:
        """Leading (grid) shapes of expected and every template."""
        out = [self.expected.shape[:-1]]
        for down, up in (self.shapes or {}).values():
            out += [down.shape[:-1], up.shape[:-1]]
        return out

    def __repr__(self) -> str:
        extra = ""
        if self.shapes:
            extra = f", shapes={list(self.shapes)}, shape_code={self.shape_code!r}"
            if self.conserve_total:
                extra += f", conserve_total={sorted(self.conserve_total)}"
        if self.normsys:
            extra += f", normsys={self.normsys!r}"
        return (
            f"Component({self.name!r}, shape={self.expected.shape}, nuisance={self.nuisance!r}"
            + (f", sigma={self.sigma!r}" if self.sigma is not None else "")
            + extra + ")"
        )


@dataclass(frozen=True, eq=False)
class Channel:
    """One detector or data set: observed counts and the components of its prediction.

    Parameters
    ----------
    name : str
        Channel name, e.g. ``"CsI"``; unique within a model.
    observed : array_like
        Observed counts n_i ≥ 0 (real data, or Asimov data from :func:`asimov`; need not be
        integers), shape ``(n_bins,)`` or ``(*grid, n_bins)``.
    components : sequence of Component
        The parts of the prediction; at least one. Component names must be unique.
    """

    name: str
    observed: NDArray[np.float64]
    components: tuple[Component, ...]

    def __post_init__(self) -> None:
        _check_name(self.name, "Channel name")
        obs = _kept_counts(self.observed, f"channel {self.name!r}: observed")
        object.__setattr__(self, "observed", obs)
        comps = tuple(self.components)
        if not comps:
            raise ConfigError(f"channel {self.name!r}: components is empty; give at least one")
        for comp in comps:
            if not isinstance(comp, Component):
                raise ConfigError(
                    f"channel {self.name!r}: components must be Component objects, got "
                    f"{type(comp).__name__}"
                )
        object.__setattr__(self, "components", comps)
        names = [c.name for c in comps]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ConfigError(f"channel {self.name!r}: duplicate component names {dup}")
        n_bins = obs.shape[-1]
        for comp in comps:
            if comp.expected.shape[-1] != n_bins:
                raise ConfigError(
                    f"channel {self.name!r}: component {comp.name!r} has "
                    f"{comp.expected.shape[-1]} bins (shape {comp.expected.shape}) but observed "
                    f"has {n_bins} (shape {obs.shape}); the last axis is the bin axis"
                )
        try:
            np.broadcast_shapes(obs.shape[:-1], *(s for c in comps for s in c._lead_shapes()))
        except ValueError:
            shapes = ", ".join(
                [f"observed {obs.shape}"] + [f"{c.name} {c.expected.shape}" for c in comps]
            )
            raise ConfigError(
                f"channel {self.name!r}: the leading (grid) axes do not broadcast: {shapes}"
            ) from None

    @property
    def n_bins(self) -> int:
        """Number of bins (length of the last axis)."""
        return int(self.observed.shape[-1])

    @property
    def grid_shape(self) -> tuple[int, ...]:
        """Broadcast shape of the leading (grid) axes of observed and all components."""
        return tuple(
            np.broadcast_shapes(
                self.observed.shape[:-1], *(s for c in self.components for s in c._lead_shapes())
            )
        )

    @property
    def nuisances(self) -> tuple[str, ...]:
        """Names of the nuisances this channel uses (normalisation and shape), in order of first
        appearance (a component's normalisation nuisance, then its shape nuisances)."""
        names: list[str] = []
        for c in self.components:
            if c.nuisance:
                names.append(c.nuisance)
            names.extend(c.shape_nuisances)
        return tuple(dict.fromkeys(names))

    @property
    def shape_nuisances(self) -> tuple[str, ...]:
        """Names of the unit-pull nuisances of this channel's components (shape and
        ``normsys``)."""
        return tuple(dict.fromkeys(n for c in self.components for n in c.shape_nuisances))

    def expected_total(self) -> NDArray[np.float64]:
        """Nominal prediction Σ_k C_k (all θ = 0), shape ``(*grid, n_bins)``."""
        return np.sum(np.broadcast_arrays(*(c.expected for c in self.components)), axis=0)

    def __repr__(self) -> str:
        comps = ", ".join(
            f"{c.name}[{c.nuisance}]" if c.nuisance else c.name for c in self.components
        )
        return f"Channel({self.name!r}, n_bins={self.n_bins}, grid={self.grid_shape}, {comps})"


def asimov(*expected: ArrayLike) -> NDArray[np.float64]:
    """Asimov data set: the sum of the expected counts of the given components.

    Parameters
    ----------
    *expected : array_like
        Expected counts (e.g. the SM signal and the background), broadcastable to each other.

    Returns
    -------
    ndarray
        n_i = Σ_k C_k,i (not rounded: Asimov data need not be integers).
    """
    if not expected:
        raise ConfigError("asimov() needs at least one array of expected counts")
    arrays = [_as_counts(e, f"asimov argument {i}") for i, e in enumerate(expected)]
    try:
        return np.sum(np.broadcast_arrays(*arrays), axis=0)
    except ValueError:
        shapes = ", ".join(str(a.shape) for a in arrays)
        raise ConfigError(f"asimov(): shapes do not broadcast: {shapes}") from None


def signal_background_channel(
    name: str,
    observed: ArrayLike,
    signal: ArrayLike,
    background: ArrayLike,
    *,
    sigma_alpha: float | None = PAPER_SIGMA_SIGNAL,
    sigma_beta: float | None = PAPER_SIGMA_BACKGROUND,
    shared_signal: bool = False,
) -> Channel:
    """The paper's channel (Eq. 30): (1 + α) N_sig + (1 + β) N_bkg with pulls on α and β.

    Parameters
    ----------
    name : str
        Detector name, e.g. ``"CsI"``.
    observed : array_like
        Observed (or Asimov) counts, shape ``(n_bins,)`` or ``(*grid, n_bins)``.
    signal, background : array_like
        Expected signal and background counts.
    sigma_alpha, sigma_beta : float or None
        Pull widths; default 10 % and 1 % (docs/physics.md#detectors). ``None`` or ``inf``: free;
        a finite width must lie in :data:`SIGMA_RANGE` = [1e-150, 1e150].
    shared_signal : bool
        False (default): the nuisances are ``alpha_<name>`` and ``beta_<name>``, independent per
        detector. True: the signal nuisance is the common ``alpha`` shared by every channel built
        with ``shared_signal=True`` (one flux normalisation for all ESS detectors).

    Returns
    -------
    Channel
    """
    _check_name(name, "channel name")
    if not is_bool(shared_signal, scalar_only=True):  # "no" would be truthy: a shared channel
        raise ConfigError(f"shared_signal must be true or false, got {shared_signal!r}")
    alpha = "alpha" if shared_signal else f"alpha_{name}"
    return Channel(
        name,
        observed,
        (
            Component(
                "signal", signal, nuisance=alpha, sigma=_check_sigma(sigma_alpha, "sigma_alpha")
            ),
            Component(
                "background",
                background,
                nuisance=f"beta_{name}",
                sigma=_check_sigma(sigma_beta, "sigma_beta"),
            ),
        ),
    )


def poisson_deviance(
    observed: ArrayLike, expected: ArrayLike, axis: int | None = -1
) -> NDArray[np.float64]:
    """Poisson χ² without nuisances: 2 Σ [N − n + n ln(n/N)], summed over ``axis``.

    Parameters
    ----------
    observed, expected : array_like
        n ≥ 0 and N ≥ 0, broadcastable. N = 0 where n > 0 gives ``inf``.
    axis : int or None
        Axis to sum over (the bin axis, default last); ``None``: no sum, return per-bin terms.

    Returns
    -------
    ndarray
        ``inf`` (without a warning: the exact value, the data are impossible) wherever a bin has
        N = 0 and n > 0.
    """
    for what, value in (("observed", observed), ("expected", expected)):
        if is_text(value):  # before np.atleast_1d, so that the message shows what was given
            raise ConfigError(f"{what} must be an array of numbers, got text {value!r}")
    n = _as_counts(np.atleast_1d(observed), "observed")
    mu = _as_counts(np.atleast_1d(expected), "expected")
    try:
        n, mu = np.broadcast_arrays(n, mu)
    except ValueError:
        raise ConfigError(f"observed (shape {n.shape}) and expected (shape {mu.shape}) do not "
                          "broadcast to one shape") from None
    if axis is not None and not -n.ndim <= axis < n.ndim:
        raise ConfigError(f"axis {axis!r} is out of range for counts of shape {n.shape}")
    terms = _bin_terms(n, mu, n > 0)
    out = 2.0 * terms if axis is None else 2.0 * terms.sum(axis=axis)
    return out


def _bin_terms(
    n: NDArray[np.float64], mu: NDArray[np.float64], pos: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """Per-bin N − n + n ln(n/N); +inf where n > 0 and N ≤ 0; N where n = 0."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # N − n − n ln(N/n); ln(N/n) rather than log1p((N − n)/n), which loses all digits
        # when N ≪ n; near N = n both have an absolute error of ~ n·1e-16.
        # (N − n) − n ln(N/n) with in-place temporaries (the same operations in the same order)
        log = np.divide(mu, np.where(pos, n, 1.0))
        np.log(log, out=log)
        log *= n
        diff = np.subtract(mu, n)
        diff -= log
        t = np.where(pos, diff, mu)
    return np.where(pos & ~(mu > 0), np.inf, t)


# --------------------------------------------------------------------------------------------------
# Flattened internal representation: the grid is raveled to G points; every array is stored as
# (1, n_bins) if it does not vary over the grid, else (G, n_bins). Inner code trusts its inputs.


def _flatten(arr: NDArray[np.float64], grid: tuple[int, ...]) -> NDArray[np.float64]:
    lead = arr.shape[:-1]
    if math.prod(lead) == 1:
        return arr.reshape(1, arr.shape[-1])
    full = np.broadcast_to(arr, (*grid, arr.shape[-1]))
    return np.ascontiguousarray(full).reshape(-1, arr.shape[-1])


def _take(arr: NDArray[Any], idx: NDArray[np.intp] | slice | None) -> NDArray[Any]:
    if idx is None or arr.shape[0] == 1:
        return arr
    return arr[idx]


def _rowdot(x: NDArray[np.float64], d: NDArray[np.float64]) -> NDArray[np.float64]:
    """Σ_i x[m, i] d[m, i] with d of shape (1, B) or (m, B)."""
    if d.shape[0] == 1:
        return x @ d[0]
    return np.einsum("ij,ij->i", x, d)


@dataclass(eq=False)
class _ShapedFlat:
    """One component with shape nuisances: I(α) = interp(nominal; α) and counts I(α) · s_norm."""

    nominal: NDArray[np.float64]  # (1|G, B)
    interps: list[FlatInterpolator]  # one per shape nuisance
    shape_pos: NDArray[np.intp]  # positions of its shape nuisances in the channel's index
    norm_pos: int  # position of its normalisation nuisance in the channel's index, or −1
    multiplicative: bool
    # per shape nuisance: shape only (multiplicative codes: the factor renormalised at every α;
    # additive codes need nothing here, their variants were rescaled to the nominal total)
    conserve: tuple[bool, ...] = ()
    # linear normsys factors can reach 0: the counts must then be checked (as for additive codes)
    bounded: bool = False

    def take(self, idx: NDArray[np.intp] | slice) -> _ShapedFlat:
        return _ShapedFlat(
            _take(self.nominal, idx), [f.take(idx) for f in self.interps], self.shape_pos,
            self.norm_pos, self.multiplicative, self.conserve, self.bounded,
        )

    def _conserved(self, k: int) -> bool:
        return self.multiplicative and bool(self.conserve) and self.conserve[k]

    def evaluate(self, idx, alpha_cols: NDArray[np.float64], derivatives: bool):
        """I (m, B) and, with ``derivatives``, per nuisance dI/dα (K, m, B) and the second
        derivatives: for multiplicative codes the ratios r = f'/f and q = f''/f (I r_k r_l is
        ∂²I/∂α_k∂α_l off the diagonal, I q_k on it), for additive ones the diagonal Δ''."""
        nom = _take(self.nominal, idx)
        interps = [f.take(idx) for f in self.interps]
        if not derivatives:
            vals = [f.value(alpha_cols[:, k : k + 1]) for k, f in enumerate(interps)]
            vals = [conserve_total(nom, v) if self._conserved(k) else v for k, v in enumerate(vals)]
            if self.multiplicative:
                value = nom * vals[0]
                for v in vals[1:]:
                    value *= v
                return value, None, None
            return nom + sum(vals[1:], vals[0]), None, None
        if self.multiplicative:
            # ratios f'/f, f''/f of each factor; a shape-only factor c f has ratios f'/f − ρ and
            # f''/f − 2ρ f'/f + 2ρ² − κ (c, ρ, κ of conserve_ratios; conserve_total's g'/g, g''/g)
            shape = (len(interps), alpha_cols.shape[0], nom.shape[-1])
            ratio, curv = np.empty(shape), np.empty(shape)
            factor = None
            for k, f in enumerate(interps):
                v, d1, d2 = f(alpha_cols[:, k : k + 1])
                np.divide(d1, v, out=ratio[k])
                np.divide(d2, v, out=curv[k])
                if self._conserved(k):
                    c, rho, kappa = conserve_ratios(nom, v, d1, d2)
                    curv[k] -= (2.0 * rho) * ratio[k]
                    curv[k] += 2.0 * rho * rho - kappa
                    ratio[k] -= rho
                    v = c * v
                factor = v if factor is None else factor * v
            return nom * factor, ratio, curv
        vals, d1s, d2s = [], [], []
        for k, f in enumerate(interps):
            v, d1, d2 = f(alpha_cols[:, k : k + 1])
            vals.append(v)
            d1s.append(d1)
            d2s.append(d2)
        value = nom + sum(vals[1:], vals[0])
        if not derivatives:
            return value, None, None
        return value, np.stack(np.broadcast_arrays(*d1s)), np.stack(np.broadcast_arrays(*d2s))


def _agrees(merged, covered, arrays, support) -> bool:
    """True if ``arrays`` (one interpolation's single-row arrays) equal ``merged`` in the bins of
    ``support`` that are already ``covered``."""
    both = support & covered
    return not both.any() or all(np.array_equal(m[:, both], a[:, both])
                                 for m, a in zip(merged, arrays, strict=True))


@dataclass(eq=False)
class _ShapedBlock:
    """Multiplicative shaped components evaluated as one: they share their shape nuisances and
    their interpolation (a single row of per-bin factors, each component's bins a part of it) and
    each has its own normalisation nuisance — free per-bin background rates under one shape
    systematic, e.g. the steady-state rates per PE bin of the CsI-2017 release. The factors are
    interpolated once and the components' totals (shape-only nuisances) come from one product,
    instead of one interpolation and one renormalisation per component; the counts and their
    derivatives are those of the components one by one (to rounding; ``tests/stats/
    test_likelihood_blocks.py``).

    With F = Π_k f_k, R_k = f_k'/f_k, Q_k = f_k''/f_k, the shape-only factor of component c for
    nuisance k is c_kc f_k with c_kc = T_c/S_kc, S_kc = Σ_b nom_cb f_kb, ρ_kc = S'_kc/S_kc,
    κ_kc = S''_kc/S_kc (1, 0, 0 for a nuisance that is not shape-only; :func:`conserve_total`).
    Component c then contributes s_c C_c F nom_c (C_c = Π_k c_kc), whose first and second
    derivatives in α_k, divided by the counts, are R_k − ρ_kc and Q_k − 2 ρ_kc R_k + 2 ρ_kc² −
    κ_kc; the sums over components in the gradient and Hessian are written as products with the
    nominal matrix.
    """

    nominals: NDArray[np.float64]  # (C, B), one row per component
    interps: list[FlatInterpolator]  # shared, single-row
    shape_pos: NDArray[np.intp]  # positions of the shape nuisances in the channel's index
    norm_pos: NDArray[np.intp]  # (C,) distinct positions of the components' normalisations
    conserve: tuple[bool, ...]
    multiplicative = True
    bounded = False

    def __post_init__(self) -> None:
        self._totals = self.nominals.sum(axis=-1)
        self._nom_t = np.ascontiguousarray(self.nominals.T)
        # the (component, bin) pairs with counts: the Jacobian rows of the normalisations are
        # filled there only (per-bin rates fill one bin range each, not C × B entries)
        comp, bins = np.nonzero(self.nominals)
        self._nz = (self.norm_pos[comp], bins, comp, self.nominals[comp, bins])

    def take(self, idx) -> _ShapedBlock:
        """Itself: every array is shared by all grid rows."""
        return self

    def _scale(self, f: NDArray[np.float64], *derivs: NDArray[np.float64]):
        """c = T/S and the ratios S'/S, S''/S per row and component, each (m, C)."""
        return total_ratios(self._totals, f @ self._nom_t, *(d @ self._nom_t for d in derivs))

    def evaluate(self, alpha_cols: NDArray[np.float64], s: NDArray[np.float64],
                 derivatives: bool):
        """Σ_c s_c (counts of component c), shape (m, B), and the state :meth:`accumulate`
        needs (None without ``derivatives``); ``s`` (m, C) the normalisation factors."""
        m, n_k = alpha_cols.shape[0], len(self.interps)
        coef = np.ones((m, self.nominals.shape[0]))
        factor = None
        if not derivatives:
            for k, interp in enumerate(self.interps):
                v = np.broadcast_to(interp.value(alpha_cols[:, k:k + 1]), (m, self._nom_t.shape[0]))
                factor = v.copy() if factor is None else factor * v
                if self.conserve[k]:
                    coef *= self._scale(v)[0]
            return factor * ((s * coef) @ self.nominals), None
        shape = (n_k, m, self._nom_t.shape[0])
        ratio, curv = np.empty(shape), np.empty(shape)
        rho, kappa = np.zeros((n_k, *coef.shape)), np.zeros((n_k, *coef.shape))
        for k, interp in enumerate(self.interps):
            f, d1, d2 = (np.broadcast_to(x, shape[1:]) for x in interp(alpha_cols[:, k:k + 1]))
            np.divide(d1, f, out=ratio[k])
            np.divide(d2, f, out=curv[k])
            factor = f.copy() if factor is None else factor * f
            if self.conserve[k]:
                c, rho[k], kappa[k] = self._scale(f, d1, d2)
                coef *= c
        weight = s * coef  # (m, C)
        total = factor * (weight @ self.nominals)
        return total, (factor, coef, weight, total, ratio, curv, rho, kappa)

    def accumulate(self, state, one_minus: NDArray[np.float64], jac: NDArray[np.float64],
                   second: NDArray[np.float64]) -> None:
        """Add the block's terms to the Jacobian ``jac`` (m, p, B) and to the second-derivative
        part ``second`` (m, p, p) of the channel's Hessian, ``one_minus`` = 1 − n/N (m, B)."""
        factor, coef, weight, total, ratio, curv, rho, kappa = state
        nom, sp = self.nominals, self.shape_pos
        # ∂N/∂s_c = C_c F nom_c;  ∂N/∂α_k = Σ_c (R_k − ρ_kc) s_c C_c F nom_c
        rows, bins, comp, counts = self._nz
        jac[:, rows, bins] += coef[:, comp] * counts * factor[:, bins]
        for k, t in enumerate(sp):
            jac[:, t] += ratio[k] * total - factor * ((rho[k] * weight) @ nom)
        # Y_cb = (1 − n/N)_b s_c C_c F_b nom_cb: Σ_c Y, Σ_c ρ_kc Y and Σ_b Y
        g = one_minus * factor
        y_bins = one_minus * total
        z = g[None] * ((rho * weight[None]) @ nom)  # (K, m, B)
        g_nom = g @ self._nom_t  # (m, C): Σ_b G_b nom_cb
        y_comp = weight * g_nom
        n_k = sp.size
        block = np.empty((coef.shape[0], n_k, n_k))
        for k in range(n_k):
            for l in range(k, n_k):
                if k == l:
                    v = (np.einsum("mb,mb->m", curv[k], y_bins)
                         - 2.0 * np.einsum("mb,mb->m", ratio[k], z[k])
                         + np.einsum("mc,mc->m", 2.0 * rho[k] * rho[k] - kappa[k], y_comp))
                else:
                    v = (np.einsum("mb,mb->m", ratio[k] * ratio[l], y_bins)
                         - np.einsum("mb,mb->m", ratio[l], z[k])
                         - np.einsum("mb,mb->m", ratio[k], z[l])
                         + np.einsum("mc,mc->m", rho[k] * rho[l], y_comp))
                block[:, k, l] = block[:, l, k] = v
        second[:, sp[:, None], sp[None, :]] += block
        # ∂²N/∂s_c∂α_k summed against 1 − n/N: C_c [Σ_b G R_k nom_c − ρ_kc Σ_b G nom_c]
        cross = np.stack([coef * ((g * ratio[k]) @ self._nom_t - rho[k] * g_nom)
                          for k in range(n_k)], axis=-1)  # (m, C, K)
        second[:, self.norm_pos[:, None], sp[None, :]] += cross
        second[:, sp[:, None], self.norm_pos[None, :]] += cross.transpose(0, 2, 1)


def _merge_blocks(shaped: list[_ShapedFlat]) -> list[_ShapedFlat | _ShapedBlock]:
    """``shaped`` with the components that can be evaluated together (:class:`_ShapedBlock`)
    merged: multiplicative, no normsys, a normalisation nuisance of their own, every template a
    single row (not varying over the grid), the same shape nuisances, codes and shape-only flags,
    and interpolation arrays equal wherever two of them have counts (templates are empty outside
    a component's bins). The others, and groups of one, stay as they are."""
    def key(sc):
        if not (sc.multiplicative and not sc.bounded and sc.norm_pos >= 0
                and sc.nominal.shape[0] == 1
                and all(isinstance(f, FlatInterpolator) and all(a.shape[0] == 1 for a in f.arrays)
                        for f in sc.interps)):
            return None
        return (tuple(sc.shape_pos), sc.conserve, tuple(f.code for f in sc.interps))

    out: list[_ShapedFlat | _ShapedBlock] = []
    groups: dict[tuple, list[list]] = {}
    for sc in shaped:
        k = key(sc)
        if k is None:
            out.append(sc)
            continue
        support = sc.nominal[0] > 0
        for block in groups.setdefault(k, []):
            members, merged, covered = block
            if (sc.norm_pos not in {m.norm_pos for m in members}
                    and all(_agrees(arr, covered, f.arrays, support)
                            for arr, f in zip(merged, sc.interps, strict=True))):
                for arr, f in zip(merged, sc.interps, strict=True):
                    for target, source in zip(arr, f.arrays, strict=True):
                        target[:, support] = source[:, support]
                members.append(sc)
                covered |= support
                break
        else:
            merged = [[a.copy() for a in f.arrays] for f in sc.interps]
            groups[k].append([[sc], merged, support.copy()])
    for blocks in groups.values():
        for members, merged, _ in blocks:
            if len(members) == 1:
                out.append(members[0])
                continue
            first = members[0]
            out.append(_ShapedBlock(
                np.concatenate([m.nominal for m in members]),
                [FlatInterpolator(f.code, tuple(arr))
                 for f, arr in zip(first.interps, merged, strict=True)],
                first.shape_pos, np.array([m.norm_pos for m in members], dtype=np.intp),
                first.conserve))
    return out


@dataclass(eq=False)
class _FlatChannel:
    name: str
    n: NDArray[np.float64]  # (1|G, B)
    pos: NDArray[np.bool_]  # n > 0
    nominal: NDArray[np.float64]  # Σ_k C_k, (1|G, B)
    fixed: NDArray[np.float64]  # Σ of the components without any nuisance, (1|G, B)
    derivs: list[NDArray[np.float64]]  # dN/ds for the linear (unshaped) part, (1|G, B)
    index: NDArray[np.intp]  # columns of the parameter vector that hold the channel's nuisances
    all_pos: bool = False  # every observed count > 0: no masking needed
    shaped: list[_ShapedFlat | _ShapedBlock] = field(default_factory=list)
    # positions in ``index`` that ``derivs`` belong to (None: derivs[j] ↔ index[j])
    lin_pos: NDArray[np.intp] | None = None
    _lin_rows: NDArray[np.float64] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.all_pos = bool(self.pos.all())

    def take(self, idx: NDArray[np.intp] | slice) -> _FlatChannel:
        """The same channel restricted to the grid rows ``idx``."""
        return _FlatChannel(
            self.name,
            _take(self.n, idx),
            _take(self.pos, idx),
            _take(self.nominal, idx),
            _take(self.fixed, idx),
            [_take(d, idx) for d in self.derivs],
            self.index,
            shaped=[sc.take(idx) for sc in self.shaped],
            lin_pos=self.lin_pos,
            _lin_rows=self._lin_rows,
        )

    def _lin_cols(self) -> NDArray[np.intp]:
        return self.index if self.lin_pos is None else self.index[self.lin_pos]

    def prediction(self, idx: NDArray[np.intp] | None, scale: NDArray[np.float64]):
        """N = fixed + Σ_k s_k C_k (+ the shaped components), shape (m, B) (or (1, B)).

        Internally every normalisation nuisance enters as its scale factor s = 1 + θ, shape
        (m, P): near the physical bound s = 0 a component of 10¹³ counts can have its minimum at
        s ~ 10⁻¹¹, which θ = s − 1 cannot resolve in floating point (spacing 10⁻¹⁶ near −1) but s
        can. Shape nuisances enter as α itself.
        """
        if self.shaped:
            return self._shaped_prediction(idx, scale, derivatives=False)[0]
        if not self.derivs:
            return _take(self.nominal, idx)
        # ((fixed + s_0 C_0) + s_1 C_1) + …, summed into the first product's array
        mu = _take(self.fixed, idx)
        for k, (j, d) in enumerate(zip(self.index, self.derivs, strict=True)):
            term = scale[:, j, None] * _take(d, idx)
            if k == 0:
                own = term.shape == np.broadcast_shapes(term.shape, mu.shape)
                mu = np.add(mu, term, out=term) if own else mu + term
            else:
                mu += term
        return mu

    def _shaped_prediction(self, idx, scale, derivatives: bool):
        """N, a feasibility flag per row (additive shapes ≥ 0), and the shaped parts."""
        if len(self.derivs) > 1 and all(d.shape[0] == 1 for d in self.derivs):
            # constant linear parts: Σ_j s_j C_j as one product
            mu = _take(self.fixed, idx) + _small_product(scale[:, self._lin_cols()],
                                                         self._lin_stack())
        else:
            mu = _take(self.fixed, idx)
            for j, d in zip(self._lin_cols(), self.derivs, strict=True):
                mu = mu + scale[:, j, None] * _take(d, idx)
        feasible = None
        parts = []
        for sc in self.shaped:
            if isinstance(sc, _ShapedBlock):
                value, state = sc.evaluate(scale[:, self.index[sc.shape_pos]],
                                           scale[:, self.index[sc.norm_pos]], derivatives)
                mu = mu + value
                parts.append((sc, state, None, None, None))
                continue
            value, first, second = sc.evaluate(idx, scale[:, self.index[sc.shape_pos]], derivatives)
            if not sc.multiplicative or sc.bounded:
                ok = np.all(value >= 0, axis=-1)
                feasible = ok if feasible is None else feasible & ok
            s = scale[:, self.index[sc.norm_pos], None] if sc.norm_pos >= 0 else None
            mu = mu + (value if s is None else s * value)
            parts.append((sc, value, first, second, s))
        return mu, feasible, parts

    def chi2(self, idx: NDArray[np.intp] | None, scale: NDArray[np.float64]):
        """χ² of this channel without pulls, shape (m,); inf where infeasible."""
        return self.chi2_mu(idx, scale)[0]

    def chi2_mu(self, idx: NDArray[np.intp] | None, scale: NDArray[np.float64]):
        """(χ² as :meth:`chi2`, the prediction N it was computed from or None with shape
        nuisances): a Newton iteration hands N of the accepted point to :meth:`grad_hess`."""
        feasible = None
        if self.shaped:
            mu, feasible, _ = self._shaped_prediction(idx, scale, derivatives=False)
        else:
            mu = self.prediction(idx, scale)
        return self._chi2_of(idx, scale, mu, feasible), None if self.shaped else mu

    def _chi2_of(self, idx, scale, mu, feasible):
        n = _take(self.n, idx)
        if self.all_pos:
            with np.errstate(divide="ignore", invalid="ignore"):
                # 2 Σ (N − n − n ln(N/n)) (see _bin_terms), with in-place temporaries
                log = np.divide(mu, n)
                np.log(log, out=log)
                log *= n
                out = np.subtract(mu, n)
                out -= log
                out = 2.0 * out.sum(axis=-1)
            out[np.isnan(out)] = np.inf  # N < 0 in some bin: outside the domain
        else:
            out = 2.0 * _bin_terms(n, mu, _take(self.pos, idx)).sum(axis=-1)
        if feasible is not None:
            out = np.where(feasible, out, np.inf)
        return np.broadcast_to(out, (scale.shape[0],))

    def grad_hess(self, idx: NDArray[np.intp] | None, scale: NDArray[np.float64], mu=None):
        """Gradient (m, p) and Hessian (m, p, p) w.r.t. the channel's own nuisances (no pulls).

        ``mu``: the prediction at ``scale`` if already known (from :meth:`chi2_mu` at the same
        rows and parameters; ignored with shape nuisances)."""
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            # Overflow only for absurd inputs (counts ~1e-300); the NaN/inf that results makes
            # the line search reject the step, and the point is reported as not converged.
            if self.shaped:
                return self._grad_hess_shaped(idx, scale)[:2]
            return self._grad_hess(idx, scale, mu)

    def grad_hess_gn(self, idx: NDArray[np.intp] | None, scale: NDArray[np.float64], mu=None):
        """Gradient, Hessian and its Gauss–Newton part 2 Σ n/N² ∂N ∂N (positive semi-definite).

        Without shape nuisances N is linear in the parameters and the two Hessians coincide.
        """
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            if self.shaped:
                return self._grad_hess_shaped(idx, scale)
            g, h = self._grad_hess(idx, scale, mu)
            return g, h, h

    def _weights(self, idx, mu):
        n = _take(self.n, idx)
        if self.all_pos:
            inv = 1.0 / mu
            ratio = n * inv  # n/N
            weight = ratio * inv  # n/N²
        else:
            pos = _take(self.pos, idx)
            ratio = np.divide(n, mu, out=np.zeros(mu.shape), where=pos)  # 0 where n = 0
            weight = np.divide(ratio, mu, out=np.zeros(mu.shape), where=pos)
        return ratio, weight

    def _grad_hess(self, idx: NDArray[np.intp] | None, scale: NDArray[np.float64], mu=None):
        if mu is None:
            mu = self.prediction(idx, scale)
        ratio, weight = self._weights(idx, mu)
        one_minus = 1.0 - ratio
        derivs = [_take(d, idx) for d in self.derivs]
        p = len(derivs)
        m = mu.shape[0]
        grad = np.empty((m, p))
        hess = np.empty((m, p, p))
        for a in range(p):
            grad[:, a] = 2.0 * _rowdot(one_minus, derivs[a])
            wd = weight * derivs[a]
            for b in range(a, p):
                hess[:, a, b] = hess[:, b, a] = 2.0 * _rowdot(wd, derivs[b])
        return grad, hess

    def _grad_hess_shaped(self, idx: NDArray[np.intp] | None, scale: NDArray[np.float64]):
        """Exact gradient/Hessian with shape nuisances: with J = ∂N/∂p,
        g = 2 Σ (1 − n/N) J, H = 2 Σ [n/N² J Jᵀ + (1 − n/N) ∂²N]."""
        mu, _, parts = self._shaped_prediction(idx, scale, derivatives=True)
        ratio, weight = self._weights(idx, mu)
        one_minus = 1.0 - ratio
        m, n_bins = mu.shape[0], mu.shape[1]
        p = self.index.size
        jac = np.zeros((m, p, n_bins))
        lin_pos = np.arange(len(self.derivs)) if self.lin_pos is None else self.lin_pos
        if lin_pos.size and all(d.shape[0] == 1 for d in self.derivs):
            jac[:, lin_pos] = self._lin_stack()  # one broadcast copy of the constant rows
        else:
            for t, d in zip(lin_pos, self.derivs, strict=True):
                jac[:, t] += _take(d, idx)
        second = np.zeros((m, p, p))
        for sc, value, first, curv, s in parts:
            if isinstance(sc, _ShapedBlock):
                sc.accumulate(value, one_minus, jac, second)
                continue
            sp = sc.shape_pos
            diag = np.arange(sp.size)
            if sc.norm_pos >= 0:
                jac[:, sc.norm_pos] += value
            if sc.multiplicative:
                # ∂I/∂α_k = I r_k, ∂²I/∂α_k∂α_l = I r_k r_l (k ≠ l), I q_k (k = l)
                u = one_minus * value
                w = u if s is None else u * s
                block = np.matmul((w * first).transpose(1, 0, 2), first.transpose(1, 2, 0))
                block[:, diag, diag] = np.einsum("mb,kmb->mk", w, curv)
                scaled = value if s is None else value * s
                for k, t in enumerate(sp):
                    jac[:, t] += first[k] * scaled
                if sc.norm_pos >= 0:
                    cross = np.einsum("mb,kmb->mk", u, first)
            else:
                w = one_minus if s is None else one_minus * s
                block = np.zeros((m, sp.size, sp.size))
                block[:, diag, diag] = np.einsum("mb,kmb->mk", w, curv)
                for k, t in enumerate(sp):
                    jac[:, t] += first[k] if s is None else first[k] * s
                if sc.norm_pos >= 0:
                    cross = np.einsum("mb,kmb->mk", one_minus, first)
            second[:, sp[:, None], sp[None, :]] += block
            if sc.norm_pos >= 0:
                second[:, sc.norm_pos, sp] += cross
                second[:, sp, sc.norm_pos] += cross
        # stacked products (m small p × B matrices) rather than einsum: several times faster
        grad = 2.0 * np.matmul(jac, one_minus[:, :, None])[..., 0]
        gn = 2.0 * np.matmul(jac * weight[:, None, :], jac.transpose(0, 2, 1))
        return grad, gn + 2.0 * second, gn

    def _lin_stack(self) -> NDArray[np.float64]:
        """The constant (one-row) derivatives of the linear part stacked, (n_linear, B)."""
        if self._lin_rows is None:
            self._lin_rows = np.concatenate(self.derivs, axis=0)
        return self._lin_rows


@dataclass(eq=False)
class _Group:
    """Channels coupled by shared nuisances, with parameters in group-local columns.

    Internal parameters: s = 1 + θ for normalisation nuisances (origin 1, bound s ≥ 0) and α for
    shape nuisances (origin 0, unbounded). ``origin`` and ``lower`` hold these per column.
    """

    flats: list[_FlatChannel]
    inv_var: NDArray[np.float64]  # 1/σ² of the group's nuisances (0 for free ones)
    origin: NDArray[np.float64] | None = None  # θ = 0 in internal units: 1 (norm) or 0 (shape)
    lower: NDArray[np.float64] | None = None  # bound of the internal parameter: 0 or −inf

    def __post_init__(self) -> None:
        if self.origin is None:
            self.origin = np.ones(self.inv_var.size)
        if self.lower is None:
            self.lower = np.zeros(self.inv_var.size)

    @property
    def has_shapes(self) -> bool:
        """True if some channel has shape nuisances (χ² then need not be convex)."""
        return any(fc.shaped for fc in self.flats)

    def take(self, idx: NDArray[np.intp] | slice) -> _Group:
        """The same group restricted to the grid rows ``idx``."""
        return _Group([fc.take(idx) for fc in self.flats], self.inv_var, self.origin, self.lower)

    def magnitude(self, n_points: int) -> NDArray[np.float64]:
        """Σ (n + N_nominal) over all bins of the group, per grid row: the χ² rounding scale."""
        total = np.zeros(n_points)
        for fc in self.flats:
            total = total + (fc.n.sum(axis=-1) + fc.nominal.sum(axis=-1))
        return total

    def chi2(self, idx, scale):
        """χ² with pulls at internal parameters (s = 1 + θ, or α), shape (m,)."""
        return self.chi2_mu(idx, scale)[0]

    def chi2_mu(self, idx, scale):
        """(χ² as :meth:`chi2`, per channel the prediction N it used, None for a channel with
        shape nuisances): the N of accepted points are handed to :meth:`grad_hess`."""
        total = (scale - self.origin) ** 2 @ self.inv_var
        mus = []
        for fc in self.flats:
            c, mu = fc.chi2_mu(idx, scale)
            total = total + c
            mus.append(mu)
        return total, mus

    def grad_hess(self, idx, scale, mus=None):
        """Gradient and Hessian with respect to the internal parameters (equal to those in θ).

        ``mus``: per channel the prediction at (``idx``, ``scale``) if known, else None (from
        :meth:`chi2_mu`; the same numbers as recomputing it)."""
        grad, hess, _ = self._grad_hess(idx, scale, gauss_newton=False, mus=mus)
        return grad, hess

    def grad_hess_gn(self, idx, scale, mus=None):
        """Gradient, Hessian and the Gauss–Newton Hessian (pulls included in both)."""
        return self._grad_hess(idx, scale, gauss_newton=True, mus=mus)

    def _grad_hess(self, idx, scale, gauss_newton: bool, mus=None):
        m, p = scale.shape
        grad = 2.0 * (scale - self.origin) * self.inv_var
        hess = np.zeros((m, p, p))
        diag = np.arange(p)
        hess[:, diag, diag] = 2.0 * self.inv_var
        gn = hess.copy() if gauss_newton else None
        for i, fc in enumerate(self.flats):
            if not fc.index.size:
                continue
            mu = None if mus is None else mus[i]
            cols = (fc.index[:, None], fc.index[None, :])
            if gauss_newton:
                g, h, h_gn = fc.grad_hess_gn(idx, scale, mu)
                gn[:, cols[0], cols[1]] += h_gn
            else:
                g, h = fc.grad_hess(idx, scale, mu)
            grad[:, fc.index] += g
            hess[:, cols[0], cols[1]] += h
        return grad, hess, gn


def _nuisance_values(value: ArrayLike, what: str) -> NDArray[np.float64]:
    """θ values of one nuisance as a float array: finite numbers (a scalar or an array), else a
    ConfigError naming ``what``. A Python or NumPy float, the common case, costs one check, an
    array one pass (:func:`finite_array` then words the message)."""
    if isinstance(value, float) and math.isfinite(value):
        return np.asarray(value, dtype=float)
    if is_bool(value, recurse=True):
        raise ConfigError(f"{what} must be a number or array of numbers, got {value!r} "
                          "(true/false is not a number)")
    if value is None:  # NumPy would read it as NaN
        raise ConfigError(f"{what} must be a number or array of numbers, got None")
    if not is_text(value):
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            pass  # finite_array names what was given
        else:
            if np.isfinite(arr).all():
                return arr
    return finite_array(value, what, numbers="a number or array of numbers")


class PoissonModel:
    """Channels combined by summing their χ², with nuisances shared by name.

    Parameters
    ----------
    channels : Channel or sequence of Channel
        The channels (detectors). Names must be unique; grid shapes must broadcast together.
    sigmas : mapping of str to float or None, optional
        Pull width σ of each nuisance (fractional, in [1e-150, 1e150]; ``None`` or ``inf``: free
        normalisation). Entries override sigmas given on the components. Every nuisance needs a σ
        from one of the two places; a name that no component uses is an error.

    Attributes
    ----------
    channels : tuple of Channel
    nuisances : tuple of str
        All nuisance names (normalisation and shape), in order of first appearance; the order of
        gradient/Hessian axes.
    shape_nuisances : tuple of str
        The names among them that are shape nuisances (unit Gaussian pull, unbounded).
    sigmas : dict of str to float
        Resolved pull widths (``inf`` for free ones).
    grid_shape : tuple of int
        Shape of the χ² returned by :meth:`chi2` and :meth:`profile`.
    groups : tuple of tuple of str
        Channels that are coupled by shared nuisances (each group is profiled separately).
    """

    def __init__(
        self,
        channels: Channel | Sequence[Channel],
        sigmas: Mapping[str, float | None] | None = None,
    ):
        if isinstance(channels, Channel):
            channels = (channels,)
        if isinstance(channels, str | bytes) or not isinstance(channels, Iterable):
            raise ConfigError(
                f"channels must be a Channel or a sequence of Channel objects, got {channels!r}"
            )
        if sigmas is not None and not isinstance(sigmas, Mapping):
            raise ConfigError(
                f"sigmas must be a mapping of nuisance name to pull width (or None), got {sigmas!r}"
            )
        channels = tuple(channels)
        if not channels:
            raise ConfigError("channels is empty; give at least one Channel")
        for ch in channels:
            if not isinstance(ch, Channel):
                raise ConfigError(f"channels must be Channel objects, got {type(ch).__name__}")
        names = [ch.name for ch in channels]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ConfigError(f"channels: duplicate channel names {dup}")
        self.channels = channels
        self.nuisances = tuple(dict.fromkeys(p for ch in channels for p in ch.nuisances))
        self.shape_nuisances = tuple(
            dict.fromkeys(p for ch in channels for p in ch.shape_nuisances)
        )
        both = sorted(
            {c.nuisance for ch in channels for c in ch.components if c.nuisance}
            & set(self.shape_nuisances)
        )
        if both:
            raise ConfigError(
                f"nuisance {both[0]!r} is used both as a normalisation nuisance and as a shape "
                "nuisance; give them different names"
            )
        self.sigmas = self._resolve_sigmas(sigmas or {})
        try:
            self.grid_shape = tuple(np.broadcast_shapes(*(ch.grid_shape for ch in channels)))
        except ValueError:
            shapes = ", ".join(f"{ch.name} {ch.grid_shape}" for ch in channels)
            raise ConfigError(f"channels: grid shapes do not broadcast: {shapes}") from None
        self._inv_var = np.array([1.0 / self.sigmas[p] ** 2 for p in self.nuisances])
        is_shape = np.array([p in self.shape_nuisances for p in self.nuisances], dtype=bool)
        self._origin = np.where(is_shape, 0.0, 1.0)
        self._lower = np.where(is_shape, -np.inf, 0.0)
        # a linear normsys factor 1 + α (1 − f₋) reaches 0 at α = −1/(1 − f₋): the profiler's
        # lower bound is where it is _NORMSYS_FLOOR, like s = 1 + θ ≥ 0 for the normalisation
        # nuisances (not 0 itself, where the derivatives, computed as ratios f'/f, are 0/0; the
        # counts differ from 0 by a part in 10¹²). A factor f₊ < 1 falling to 0 at α = 1/(1 − f₊)
        # is bounded by the domain check alone: χ² = inf beyond it.
        for c in (c for ch in channels for c in ch.components):
            for name, (down, _up) in c.normsys.items():
                if down < 1.0:
                    k = self.nuisances.index(name)
                    bound = (_NORMSYS_FLOOR - 1.0) / (1.0 - down)
                    self._lower[k] = max(self._lower[k], bound)
        self._flat = [self._flatten_channel(ch) for ch in channels]
        self._all = _Group(self._flat, self._inv_var, self._origin, self._lower)
        self.groups = self._find_groups()

    # -- construction helpers --------------------------------------------------------------------

    def _resolve_sigmas(self, given: Mapping[str, float | None]) -> dict[str, float]:
        unknown = [k for k in given if k not in self.nuisances]
        if unknown:
            raise UnknownNameError("nuisance in sigmas", unknown[0], self.nuisances)
        shaped = [k for k in given if k in self.shape_nuisances]
        if shaped:
            raise ConfigError(
                f"sigmas[{shaped[0]!r}]: {shaped[0]!r} is a shape nuisance; its pull is the unit "
                "Gaussian α² of the ±1σ templates (scale the templates to change its width)"
            )
        resolved: dict[str, float] = {p: 1.0 for p in self.shape_nuisances}
        origin: dict[str, str] = {}
        for ch in self.channels:
            for comp in ch.components:
                if comp.nuisance is None or comp.sigma is None:
                    continue
                where = f"{ch.name}/{comp.name}"
                prev = resolved.get(comp.nuisance)
                if prev is not None and prev != comp.sigma and comp.nuisance not in given:
                    raise ConfigError(
                        f"nuisance {comp.nuisance!r}: conflicting sigma {prev!r} (from "
                        f"{origin[comp.nuisance]}) and {comp.sigma!r} (from {where}); give it "
                        "once in sigmas="
                    )
                resolved[comp.nuisance] = comp.sigma
                origin[comp.nuisance] = where
        for k, v in given.items():
            resolved[k] = _check_sigma(v, f"sigmas[{k!r}]")
        missing = [p for p in self.nuisances if p not in resolved]
        if missing:
            raise ConfigError(
                f"sigmas: no pull width for nuisance(s) {missing}; give each in sigmas= "
                "(None or inf for a free normalisation) or as Component(sigma=...)"
            )
        return {p: resolved[p] for p in self.nuisances}

    def _flatten_channel(self, ch: Channel) -> _FlatChannel:
        grid = self.grid_shape
        n = _flatten(ch.observed, grid)
        nominal = _flatten(ch.expected_total(), grid)
        names = ch.nuisances
        index = np.array([self.nuisances.index(p) for p in names], dtype=np.intp)
        linear = [c for c in ch.components if not (c.shapes or c.normsys)]
        derivs, lin_pos = [], []
        for pos, name in enumerate(names):
            parts = [c.expected for c in linear if c.nuisance == name]
            if not parts:
                continue
            total = parts[0] if len(parts) == 1 else np.sum(np.broadcast_arrays(*parts), axis=0)
            derivs.append(_flatten(total, grid))
            lin_pos.append(pos)
        plain = [c.expected for c in linear if c.nuisance is None]
        if not plain:
            fixed = np.zeros((1, ch.n_bins))
        elif len(plain) == 1:
            fixed = _flatten(plain[0], grid)
        else:
            fixed = _flatten(np.sum(np.broadcast_arrays(*plain), axis=0), grid)
        shaped = []
        for comp in ch.components:
            if not (comp.shapes or comp.normsys):
                continue
            lead = np.broadcast_shapes(*comp._lead_shapes())
            nom = _flatten(np.broadcast_to(comp.expected, (*lead, ch.n_bins)), grid)
            interps: list[FlatInterpolator | LinearFactor] = []
            multiplicative = comp.shape_code in MULTIPLICATIVE or not comp.shapes
            for key, (down, up) in comp.shapes.items():
                what = f"channel {ch.name!r}, component {comp.name!r}, shape nuisance {key!r}"
                down = _flatten(np.broadcast_to(down, (*lead, ch.n_bins)), grid)
                up = _flatten(np.broadcast_to(up, (*lead, ch.n_bins)), grid)
                if key in comp.conserve_total and not multiplicative:
                    down, up = rescale_to_total(nom, down, what), rescale_to_total(nom, up, what)
                interps.append(flat_interpolator(comp.shape_code, nom, down, up, what))
            interps.extend(LinearFactor(down, up) for down, up in comp.normsys.values())
            unit = comp.shape_nuisances  # shapes, then normsys: the order of interps
            shaped.append(_ShapedFlat(
                nom, interps, np.array([names.index(k) for k in unit], dtype=np.intp),
                names.index(comp.nuisance) if comp.nuisance else -1,
                multiplicative, tuple(k in comp.conserve_total for k in unit),
                bounded=bool(comp.normsys),
            ))
        if not shaped:
            return _FlatChannel(ch.name, n, n > 0, nominal, fixed, derivs, index)
        return _FlatChannel(
            ch.name, n, n > 0, nominal, fixed, derivs, index, shaped=_merge_blocks(shaped),
            lin_pos=np.array(lin_pos, dtype=np.intp),
        )

    def _find_groups(self) -> tuple[tuple[str, ...], ...]:
        parent = list(range(len(self.channels)))

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        owner: dict[str, int] = {}
        for i, ch in enumerate(self.channels):
            for p in ch.nuisances:
                if p in owner:
                    parent[root(i)] = root(owner[p])
                else:
                    owner[p] = i
        groups: dict[int, list[str]] = {}
        for i, ch in enumerate(self.channels):
            groups.setdefault(root(i), []).append(ch.name)
        return tuple(tuple(g) for g in groups.values())

    # -- evaluation ------------------------------------------------------------------------------

    @property
    def n_points(self) -> int:
        """Number of grid points (1 for a model without grid axes)."""
        return math.prod(self.grid_shape)

    def _theta(
        self, nuisances: Mapping[str, ArrayLike] | None, what: str = "nuisances"
    ) -> NDArray[np.float64]:
        """Model-wide θ as a (G, P) array; unnamed nuisances are 0. Every value must be a finite
        number (a ConfigError names ``what[name]``): NaN would give a NaN χ², and NumPy would
        read text or booleans as numbers."""
        if nuisances is not None and not isinstance(nuisances, Mapping):
            raise ConfigError(
                f"{what} must be a mapping of nuisance name to value(s), got {nuisances!r}"
            )
        theta = np.zeros((self.n_points, len(self.nuisances)))
        for k, v in (nuisances or {}).items():
            if k not in self.nuisances:
                raise UnknownNameError("nuisance", k, self.nuisances)
            arr = _nuisance_values(v, f"{what}[{k!r}]")
            try:
                theta[:, self.nuisances.index(k)] = np.broadcast_to(arr, self.grid_shape).ravel()
            except ValueError:
                raise ConfigError(
                    f"{what}[{k!r}] has shape {arr.shape}, which does not broadcast to the "
                    f"grid shape {self.grid_shape}"
                ) from None
        return theta

    def chi2(self, nuisances: Mapping[str, ArrayLike] | None = None) -> NDArray[np.float64]:
        """χ² at given nuisance values (not profiled), pulls included.

        Parameters
        ----------
        nuisances : mapping of str to array_like, optional
            θ per nuisance name, finite numbers (scalars or arrays broadcastable to the grid; not
            text or booleans); missing names are 0. A normalisation θ below −1 is not refused: χ²
            is ``inf`` where the prediction is then ≤ 0 in a bin with data, else finite.

        Returns
        -------
        ndarray
            Shape :attr:`grid_shape`; ``inf`` where a prediction is ≤ 0 in a bin with data.
        """
        total = self._all.chi2(None, self._origin + self._theta(nuisances))
        return np.broadcast_to(total, (self.n_points,)).reshape(self.grid_shape)

    def chi2_by_channel(
        self, nuisances: Mapping[str, ArrayLike] | None = None
    ) -> dict[str, NDArray[np.float64]]:
        """χ² of each channel at given nuisance values, without pull terms."""
        scale = self._origin + self._theta(nuisances)
        return {fc.name: fc.chi2(None, scale).reshape(self.grid_shape) for fc in self._flat}

    def expected(
        self, nuisances: Mapping[str, ArrayLike] | None = None
    ) -> dict[str, NDArray[np.float64]]:
        """Expected counts of each channel at given nuisance values (missing ones are 0).

        Returns
        -------
        dict of str to ndarray
            Channel name → prediction N_i of shape ``(*grid, n_bins)`` (shape nuisances
            interpolated, normalisations applied); the input of toy generation
            (:mod:`cevns.stats.toys`).
        """
        scale = self._origin + self._theta(nuisances)
        out = {}
        for fc in self._flat:
            mu = fc.prediction(None, scale)
            out[fc.name] = np.broadcast_to(mu, (self.n_points, mu.shape[-1])).reshape(
                *self.grid_shape, mu.shape[-1]
            )
        return out

    def gradient(self, nuisances: Mapping[str, ArrayLike] | None = None) -> NDArray[np.float64]:
        """Analytic gradient ∂χ²/∂θ_p, shape ``(*grid, P)`` in the order of :attr:`nuisances`."""
        grad, _ = self._all.grad_hess(None, self._origin + self._theta(nuisances))
        return grad.reshape(*self.grid_shape, len(self.nuisances))

    def hessian(self, nuisances: Mapping[str, ArrayLike] | None = None) -> NDArray[np.float64]:
        """Analytic Hessian ∂²χ²/∂θ_p∂θ_q, shape ``(*grid, P, P)``."""
        _, hess = self._all.grad_hess(None, self._origin + self._theta(nuisances))
        p = len(self.nuisances)
        return hess.reshape(*self.grid_shape, p, p)

    def profile(
        self,
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
        """Minimise χ² over all nuisances at every grid point (batched projected Newton).

        Every normalisation nuisance is bounded below by θ = −1 (no component's expected counts
        are ever negative); shape nuisances are unbounded (see ``docs/statistics.md``).

        Parameters
        ----------
        tol : float
            Convergence when the Newton decrement estimate of χ² − χ²_min, g·H⁻¹g / 2, is ≤ tol.
        max_iter : int
            Maximum Newton iterations.
        raise_on_failure : bool
            Raise :class:`~cevns.errors.FitError` if any grid point did not converge (default:
            flag it in ``result.converged`` and warn).
        level : float, optional
            The highest Δχ² level the caller will read off. Points whose profiled χ² is certainly
            above ``reference + level`` (a rigorous lower bound from convexity says so) stop
            early and are marked ``decided`` ("above level"), not unconverged. Default: never.
        reference : float, optional
            An upper bound on the χ² minimum that Δχ² will be taken from. Default: the smallest
            χ² at θ = 0 over this model's grid (valid when Δχ² is taken within this model).
        stop_rtol : float
            A point stops early only once its reported χ² is within ``stop_rtol × (χ² lower
            bound − reference − level)`` of the lower bound, so that Δχ² values above the level
            are still accurate (they enter contour interpolation).
        warn : bool
            Issue a :class:`~cevns.stats.profile.ProfileConvergenceWarning` with the number of
            unconverged points (default True).
        start : mapping of str to array_like, optional
            A starting θ per nuisance (scalars or arrays broadcastable to the grid; missing names
            0), e.g. the result of a neighbouring problem (:attr:`ProfileResult.nuisances`).
            Used at the points where its χ² is below the one at θ = 0; the minimum found is
            the same to ``tol`` when χ² has one minimum, in fewer iterations from a close start.

        Returns
        -------
        ProfileResult
        """
        from cevns.stats.profile import profile_model

        return profile_model(
            self, tol=tol, max_iter=max_iter, raise_on_failure=raise_on_failure, level=level,
            reference=reference, stop_rtol=stop_rtol, warn=warn, start=start,
        )

    def _flat_index(self, index: int | Iterable[int]) -> int:
        if not self.grid_shape:
            if index not in ((), 0):
                raise ConfigError(f"index {index!r}: the model has no grid axes; use ()")
            return 0
        idx = (index,) if isinstance(index, int | np.integer) else tuple(index)
        try:
            return int(np.ravel_multi_index(idx, self.grid_shape))
        except ValueError as exc:
            raise ConfigError(f"index {index!r} for grid shape {self.grid_shape}: {exc}") from None

    def point_chi2(self, index: int | Iterable[int], theta: ArrayLike) -> float:
        """χ² at one grid point for a θ vector in the order of :attr:`nuisances`."""
        return self._point_chi2(self._flat_index(index), theta)

    def _point_chi2(self, flat: int, theta: ArrayLike) -> float:
        th = np.asarray(theta, dtype=float).reshape(1, len(self.nuisances))
        return float(self._all.chi2(np.array([flat]), self._origin + th)[0])

    def minuit(self, index: int | Iterable[int] = (), start: ArrayLike | None = None) -> Minuit:
        """An :class:`iminuit.Minuit` for the χ² at one grid point, over the named nuisances.

        Use it for cross-checks and for uncertainties (``.migrad().hesse()``, ``.minos()``); the
        batched :meth:`profile` is the tool for grids.

        Parameters
        ----------
        index : int or tuple of int
            Grid index (``()`` for a model without grid axes).
        start : array_like, optional
            Starting θ (default 0).

        Returns
        -------
        iminuit.Minuit
            Not yet minimised; ``errordef`` is set for a χ² (Δχ² = 1 errors), ``tol`` to 1e-4
            and every normalisation nuisance has the lower limit θ = −1 (expected counts never
            negative), a linear ``normsys`` nuisance the α where its factor falls to 0; shape
            nuisances have no limits.
        """
        try:
            from iminuit import Minuit
        except ImportError:  # pragma: no cover - iminuit is a core dependency
            raise MissingDependencyError("iminuit is needed: pip install iminuit") from None
        flat = self._flat_index(index)
        p = len(self.nuisances)
        x0 = np.zeros(p) if start is None else np.asarray(start, dtype=float).reshape(p)
        m = Minuit(lambda theta: self._point_chi2(flat, theta), x0, name=self.nuisances)
        m.errordef = Minuit.LEAST_SQUARES
        # The same physical bound as the profiler: (1 + θ) C ≥ 0 for every component; shape
        # nuisances are unbounded.
        # (the lower bound of a linear normsys factor too; other shape nuisances are unbounded)
        m.limits = [(None, None) if not math.isfinite(low) else (float(low - origin), None)
                    for low, origin in zip(self._lower, self._origin, strict=True)]
        # Migrad's default tolerance (EDM < 2e-4 for a χ²) leaves χ² ~1e-4 above the minimum when
        # the limits' internal sine transform is active; 1e-4 (EDM < 2e-7) costs a few calls.
        m.tol = 1e-4
        return m

    def __repr__(self) -> str:
        sig = ", ".join(
            f"{p}: {'free' if math.isinf(s) else f'{s:g}'}" for p, s in self.sigmas.items()
        )
        return (
            f"PoissonModel({len(self.channels)} channels {[c.name for c in self.channels]}, "
            f"grid {self.grid_shape}, nuisances {{{sig}}})"
        )


def chi2_at(
    channels: Channel | Sequence[Channel],
    nuisances: Mapping[str, ArrayLike] | None = None,
    sigmas: Mapping[str, float | None] | None = None,
) -> NDArray[np.float64]:
    """χ² of combined channels at given nuisance values (missing ones are 0).

    Shorthand for ``PoissonModel(channels, sigmas).chi2(nuisances)``.
    """
    return PoissonModel(channels, sigmas).chi2(nuisances)
