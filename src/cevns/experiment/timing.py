"""Neutrino arrival times at a π-DAR source as data: beam pulse, lifetimes, time window.

See docs/response.md (section "Timing"). A detector's ``timing`` table gives the proton pulse on
target and the analysis time window (or bins); :meth:`TimingSpec.fractions` returns, per
flavour, the fraction of neutrinos arriving in each time bin (times an optional time-dependent
efficiency):

- prompt ν_μ (π⁺ → μ⁺ ν_μ): t = t_POT + Exp(τ_π),
- delayed ν_e, ν̄_μ (μ⁺ → e⁺ ν_e ν̄_μ): t = t_POT + Exp(τ_π) + Exp(τ_μ),

with the PDG lifetimes τ_π = 26.033 ns and τ_μ = 2196.9811 ns (R.L. Workman et al. (PDG), PTEP 2022,
083C01). A Gaussian pulse gives closed-form CDFs (exponentially modified Gaussians, evaluated in
log space); a tabulated pulse (piecewise-linear density on a time grid) is convolved numerically
with the decay densities. Times are in µs; the neutrino flight time is a constant shift absorbed in
the pulse's time origin.

The Gaussian case is the model of :class:`cevns.datasets.coherent.timing.SNSTimingModel` (used by
the COHERENT releases); the tests check that both give the same fractions.

Example (TOML)::

    [detector.MyDet.timing]
    pulse = { model = "gaussian", mean_us = 0.44, sigma_us = 0.15 }
    window_us = [0.0, 6.0]
    efficiency = { model = "exponential", onset_us = 0.52, rate_per_us = 0.0494 }
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import Field, model_validator

from cevns.config import StrictModel
from cevns.physics.constants import MUON_LIFETIME_US, PION_LIFETIME_US
from cevns.physics.flux import FLAVOURS

__all__ = [
    "MUON_LIFETIME_US",
    "PION_LIFETIME_US",
    "BeamPulse",
    "ExponentialTimeEfficiency",
    "GaussianPulse",
    "NoTimeEfficiency",
    "TabulatedPulse",
    "TimingSpec",
]

#: Which flavours are prompt (π decay) and which delayed (μ decay).
PROMPT_FLAVOURS = ("numu",)

#: Largest time accepted anywhere in a timing table, in µs (1 s; beam pulses and analysis windows
#: are µs to ms long). Beyond ~1e154 µs the pulse's CDFs overflow.
MAX_TIME_US = 1e6
#: Most time points one arrival-time integral evaluates (sub-steps of the window with an
#: efficiency × points of a tabulated pulse): 2·10⁷ × 8 bytes = 160 MB per array.
MAX_TIME_POINTS = 20_000_000
#: Below this fraction of every flavour the time window is taken to receive no neutrinos.
MIN_WINDOW_FRACTION = 1e-12


def _time(value: float, where: str) -> None:
    if abs(value) > MAX_TIME_US:
        raise ValueError(f"{where}: {value:g} µs is beyond ±{MAX_TIME_US:g} µs (1 s); times are "
                         "in µs")


def _gauss_exp_cdf(t: NDArray[np.float64], mean: float, sigma: float, tau: float) -> NDArray:
    """CDF of Normal(mean, sigma) + Exponential(tau)."""
    from scipy.special import log_ndtr, ndtr  # lazy: not imported by the CLI's input checks

    z = (t - mean) / sigma
    log_tail = -(t - mean) / tau + sigma**2 / (2.0 * tau**2) + log_ndtr(z - sigma / tau)
    return ndtr(z) - np.exp(log_tail)


def _exp_cdf(t: NDArray[np.float64], tau: float) -> NDArray:
    return np.where(t > 0, -np.expm1(-np.maximum(t, 0.0) / tau), 0.0)


def _prompt_decay_cdf(t):
    return _exp_cdf(t, PION_LIFETIME_US)


def _delayed_decay_cdf(t):
    tp, tm = PION_LIFETIME_US, MUON_LIFETIME_US
    return (tm * _exp_cdf(t, tm) - tp * _exp_cdf(t, tp)) / (tm - tp)


class GaussianPulse(StrictModel):
    """Gaussian proton pulse on target: mean and width σ in µs (SNS: ≈ 0.44 and 0.15 µs)."""

    model: Literal["gaussian"] = "gaussian"
    mean_us: float = Field(ge=-MAX_TIME_US, le=MAX_TIME_US)
    sigma_us: float = Field(gt=0, le=MAX_TIME_US)

    def prompt_cdf(self, t: ArrayLike) -> NDArray[np.float64]:
        """P(t_arrival < t) for prompt neutrinos."""
        return _gauss_exp_cdf(np.asarray(t, dtype=float), self.mean_us, self.sigma_us,
                              PION_LIFETIME_US)

    def delayed_cdf(self, t: ArrayLike) -> NDArray[np.float64]:
        """P(t_arrival < t) for delayed neutrinos (hypo-exponential π → μ chain)."""
        t = np.asarray(t, dtype=float)
        tp, tm = PION_LIFETIME_US, MUON_LIFETIME_US
        f_mu = _gauss_exp_cdf(t, self.mean_us, self.sigma_us, tm)
        f_pi = _gauss_exp_cdf(t, self.mean_us, self.sigma_us, tp)
        return (tm * f_mu - tp * f_pi) / (tm - tp)


class TabulatedPulse(StrictModel):
    """A measured pulse shape: density (any normalisation) at ``time_us``, linear in between, 0 outside.

    The arrival-time CDF is the convolution of the pulse with the decay-time CDF, computed on the
    pulse's own grid refined to at most ``step_us`` (trapezoidal rule).
    """

    model: Literal["tabulated"] = "tabulated"
    time_us: tuple[float, ...]
    density: tuple[float, ...]
    step_us: float = Field(default=0.002, gt=0)

    @model_validator(mode="after")
    def _table(self) -> TabulatedPulse:
        t = np.asarray(self.time_us)
        if t.size < 2 or np.any(np.diff(t) <= 0):
            raise ValueError("timing.pulse.time_us must have ≥ 2 strictly increasing values")
        if len(self.density) != t.size:
            raise ValueError(f"timing.pulse: {len(self.density)} density values for {t.size} "
                             "times")
        if any(d < 0 for d in self.density) or not any(d > 0 for d in self.density):
            raise ValueError("timing.pulse.density must be ≥ 0 with some value > 0")
        for end in (t[0], t[-1]):
            _time(float(end), "timing.pulse.time_us")
        if self.n_points() > MAX_TIME_POINTS:
            raise ValueError(f"timing.pulse: step_us = {self.step_us:g} cuts "
                             f"{t[0]:g}–{t[-1]:g} µs into {self.n_points():.4g} points, more than "
                             f"{MAX_TIME_POINTS} (MAX_TIME_POINTS): use a larger step_us")
        return self

    def n_points(self) -> float:
        """Points of the grid the pulse is integrated on (:meth:`_grid`), counted, not made."""
        return (self.time_us[-1] - self.time_us[0]) / self.step_us + len(self.time_us)

    def _grid(self) -> tuple[np.ndarray, np.ndarray]:
        t = np.asarray(self.time_us, dtype=float)
        n = max(2, int(np.ceil((t[-1] - t[0]) / self.step_us)) + 1)
        grid = np.union1d(t, np.linspace(t[0], t[-1], n))
        dens = np.interp(grid, t, np.asarray(self.density, dtype=float))
        w = np.zeros_like(grid)
        dt = np.diff(grid)
        w[:-1] += 0.5 * dt
        w[1:] += 0.5 * dt
        w = w * dens
        return grid, w / w.sum()

    def _cdf(self, t: ArrayLike, decay_cdf) -> NDArray[np.float64]:
        t = np.asarray(t, dtype=float)
        grid, w = self._grid()
        return decay_cdf(t[..., None] - grid) @ w

    def prompt_cdf(self, t: ArrayLike) -> NDArray[np.float64]:
        """P(t_arrival < t) for prompt neutrinos."""
        return self._cdf(t, _prompt_decay_cdf)

    def delayed_cdf(self, t: ArrayLike) -> NDArray[np.float64]:
        """P(t_arrival < t) for delayed neutrinos."""
        return self._cdf(t, _delayed_decay_cdf)


#: A beam-pulse model, chosen by its ``model`` key.
BeamPulse = Annotated[GaussianPulse | TabulatedPulse, Field(discriminator="model")]


class NoTimeEfficiency(StrictModel):
    """Efficiency 1 at all times."""

    model: Literal["none"] = "none"

    def __call__(self, t: ArrayLike) -> NDArray[np.float64]:
        """1 everywhere."""
        return np.ones(np.shape(t))


class ExponentialTimeEfficiency(StrictModel):
    """ε(t) = 1 for t < onset, exp(−rate (t − onset)) after (COHERENT CsI-2021: 0.52 µs, 0.0494/µs)."""

    model: Literal["exponential"] = "exponential"
    onset_us: float = Field(ge=-MAX_TIME_US, le=MAX_TIME_US)
    rate_per_us: float = Field(ge=0)

    def __call__(self, t: ArrayLike) -> NDArray[np.float64]:
        """Efficiency at times ``t`` (µs)."""
        t = np.asarray(t, dtype=float)
        return np.where(t < self.onset_us, 1.0, np.exp(-self.rate_per_us * (t - self.onset_us)))


TimeEfficiency = Annotated[NoTimeEfficiency | ExponentialTimeEfficiency,
                           Field(discriminator="model")]


class TimingSpec(StrictModel):
    """Arrival-time model and analysis time window or bins of a detector (times in µs).

    ``window_us = [lo, hi]`` is one time bin; ``edges_us`` several. Without either, the window is
    everything (fractions 1 before the efficiency).
    """

    pulse: BeamPulse
    window_us: tuple[float, float] | None = None
    edges_us: tuple[float, ...] | None = None
    efficiency: TimeEfficiency = NoTimeEfficiency()
    step_us: float = Field(default=0.002, gt=0, description="sub-bin width with an efficiency")

    @model_validator(mode="after")
    def _window(self) -> TimingSpec:
        if self.window_us is not None and self.edges_us is not None:
            raise ValueError("timing: give window_us or edges_us, not both")
        e = self.time_edges
        if np.any(np.diff(e) <= 0):
            raise ValueError(f"timing: time window/edges must increase, got {e.tolist()}")
        where = "timing.edges_us" if self.edges_us is not None else "timing.window_us"
        for value in e[np.isfinite(e)]:
            _time(float(value), where)
        if not isinstance(self.efficiency, NoTimeEfficiency):
            if not np.all(np.isfinite(e)):
                raise ValueError("timing: a time efficiency needs a window (window_us = [lo, hi] "
                                 "or edges_us)")
            steps = float(np.sum(np.ceil(np.diff(e) / self.step_us))) + e.size
            pulse = getattr(self.pulse, "n_points", lambda: 1.0)()
            if steps * pulse > MAX_TIME_POINTS:
                raise ValueError(
                    f"timing: step_us = {self.step_us:g} cuts the window {e[0]:g}–{e[-1]:g} µs "
                    f"into {steps:.4g} steps" + (f", each convolved with {pulse:.4g} points of "
                                                 "the tabulated pulse" if pulse > 1 else "")
                    + f": more than {MAX_TIME_POINTS} (MAX_TIME_POINTS); use a larger step_us "
                    "or a shorter window")
        return self

    @property
    def time_edges(self) -> np.ndarray:
        """Time-bin edges in µs (±inf for an open window)."""
        if self.edges_us is not None:
            return np.asarray(self.edges_us, dtype=float)
        if self.window_us is not None:
            return np.asarray(self.window_us, dtype=float)
        return np.array([-np.inf, np.inf])

    def prompt_delayed(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Fractions of prompt and delayed arrivals in each time bin, times the efficiency."""
        edges = self.time_edges
        pulse = self.pulse
        if isinstance(self.efficiency, NoTimeEfficiency):
            finite = np.where(np.isfinite(edges), edges, np.sign(edges) * 1e9)
            return np.diff(pulse.prompt_cdf(finite)), np.diff(pulse.delayed_cdf(finite))
        if not np.all(np.isfinite(edges)):
            raise ValueError("timing: a time efficiency needs a finite window")
        prompt = np.empty(edges.size - 1)
        delayed = np.empty(edges.size - 1)
        for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
            sub = np.linspace(lo, hi, max(2, int(np.ceil((hi - lo) / self.step_us)) + 1))
            eff = self.efficiency(0.5 * (sub[1:] + sub[:-1]))
            prompt[i] = np.sum(np.diff(pulse.prompt_cdf(sub)) * eff)
            delayed[i] = np.sum(np.diff(pulse.delayed_cdf(sub)) * eff)
        return prompt, delayed

    def fractions(self) -> dict[str, NDArray[np.float64]]:
        """Per flavour (:data:`cevns.physics.flux.FLAVOURS`): the fraction in each time bin.

        Raises :class:`~cevns.errors.KinematicsError` if the window receives no neutrinos
        (every fraction below :data:`MIN_WINDOW_FRACTION`): a window before the pulse, or an
        efficiency that is zero in it, would otherwise give a silent zero signal.
        """
        prompt, delayed = self.prompt_delayed()
        if max(float(np.max(prompt, initial=0.0)), float(np.max(delayed, initial=0.0))) \
                < MIN_WINDOW_FRACTION:
            from cevns.errors import KinematicsError

            e = self.time_edges
            raise KinematicsError(
                f"timing: the window {e[0]:g}–{e[-1]:g} µs receives no neutrinos (fraction "
                f"< {MIN_WINDOW_FRACTION:g} of the prompt and delayed arrivals, efficiency "
                f"included) for the pulse {self.pulse.model!r}; check window_us, the pulse's "
                "time origin and the efficiency")
        return {f: (prompt if f in PROMPT_FLAVOURS else delayed) for f in FLAVOURS}
