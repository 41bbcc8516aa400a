"""Profile-likelihood fits of one parameter at a time, with iminuit as the global cross-check.

For a parameter p (:mod:`cevns.fits.parameters`) the χ² of :mod:`cevns.stats`

    χ²(p, θ) = Σ_channels 2 Σ_i [N_i − n_i + n_i ln(n_i/N_i)] + Σ_k (θ_k/σ_k)²,
    N_i(p, θ) = (1 + θ_sig) S_i(p) + Σ_b (1 + θ_b) B_b,i

is profiled over the nuisances θ at every point of a grid in p at once
(:func:`cevns.stats.profile_chi2`, batched Newton). The scan is adaptive: a coarse grid over the
parameter's starting range is widened until Δχ² = 6 is crossed on both sides (or a physical bound
is reached), then a fine grid covers that region. :class:`cevns.stats.Profile1D` reads off the
best fit (parabola-refined) and the 1σ interval (Δχ² = 1); couplings also get the 90 % C.L. limit
(Δχ² = 2.71).

Independently, iminuit minimises χ²(p, θ) over p and all nuisances together (MIGRAD, then MINOS
on p): :class:`MinuitFit`. Both are reported; they agree to the grid resolution when the fit is
well behaved.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cevns.datasets.coherent import Parameter, Release, load_release, release_names
from cevns.datasets.coherent.experiment import RELEASE_HELM_SKIN_FM
from cevns.errors import CevnsWarning, ConfigError, FitError, UnknownNameError, finite_number
from cevns.fits.model import ReleaseModel, SteadyState
from cevns.fits.parameters import (
    FIT_PARAMETERS,
    MEDIATOR_MASS_VALID,
    SignalModel,
    check_fit_request,
    check_parameter,
    make_signal_model,
    published_values,
    sm_signal,
)
from cevns.stats import Profile1D, ProfileResult, level_value

__all__ = [
    "DEFAULT_PARAMETERS",
    "FIT_PARAMETERS",
    "CrossCheckWarning",
    "FitResult",
    "MinuitFit",
    "ParameterFit",
    "check_points",
    "cross_check_disagreement",
    "fit_parameter",
    "fit_release",
    "minuit_fit",
    "parameter_names",
    "profile",
]

#: Parameters fitted when none are named: the normalisation and sin²θ_W everywhere, plus the
#: neutron radius for CsI and the normalisation with the release's own CEvNS PDF for LAr.
DEFAULT_PARAMETERS: dict[str, tuple[str, ...]] = {
    "coherent-csi-2017": ("n_cevns", "sin2_theta_w", "neutron_radius_fm"),
    "coherent-csi-2021": ("n_cevns", "sin2_theta_w", "neutron_radius_fm"),
    "coherent-lar-2020": ("n_cevns", "n_cevns_release", "sin2_theta_w"),
}

_SCAN_LEVEL = 6.0  # Δχ² the coarse scan must cross on both sides (≈ 2.4σ)
_COARSE_POINTS = 41
_MAX_WIDENINGS = 6
#: The Δχ² = 6 region must span at least this many steps of the coarse grid, else the scan zooms
#: in on it (every shipped fit spans ≥ 7 from its default range, so none zooms): a region inside
#: one coarse step (a --range far wider than the region) would otherwise be read off a straight
#: line between two grid points, with an interval and limit wrong by orders of magnitude.
_MIN_REGION_STEPS = 4
#: Zooms at most; each narrows the grid about 10–40 times (from 4π to a coupling region of 1e-6
#: in five), so this many resolve any region a finite range can hold down to ~1e-15 of it.
_MAX_ZOOMS = 12
#: Bytes per point and bin of the batched profile (its Newton arrays; measured 110–250 on the
#: shipped releases): with the release's bins, the memory the fine grid's ``points`` need,
#: checked against ``CEVNS_MAX_GRID_BYTES`` before anything is allocated.
PROFILE_BYTES_PER_BIN = 256
#: The profile and the iminuit cross-check disagree "grossly" when a best fit or 1σ edge of one
#: lies farther than this fraction of the wider 1σ interval from the other's (they agree to
#: ~1e-5 of it on every shipped fit): a :class:`CrossCheckWarning` and a note then say so.
CROSS_CHECK_TOLERANCE = 0.25


class CrossCheckWarning(CevnsWarning):
    """The profile scan and the iminuit cross-check of a fit disagree grossly (the fit's notes say
    how); the scan grid may not resolve the Δχ² region: give a narrower starting range."""


@dataclass(frozen=True)
class MinuitFit:
    """Global minimum of χ²(p, θ) found by iminuit (MIGRAD), with MINOS errors on p.

    Attributes
    ----------
    best : float
        Best-fit parameter.
    lower, upper : float or None
        MINOS 1σ interval edges (``None`` where MINOS failed, e.g. at a parameter limit).
    chi2_min : float
        χ² at the minimum.
    nuisances : dict of str to float
        Best-fit nuisances.
    valid : bool
        MIGRAD's validity flag.
    n_calls : int
        χ² evaluations.
    """

    best: float
    lower: float | None
    upper: float | None
    chi2_min: float
    nuisances: dict[str, float]
    valid: bool
    n_calls: int


@dataclass(eq=False)
class ParameterFit:
    """The fit of one parameter: profile, best fit, intervals, cross-check, comparison.

    Attributes
    ----------
    name : str
    signal_model : SignalModel
    profile : Profile1D
        Profiled χ² on the fine grid.
    profile_result : ProfileResult
        Nuisances on the grid.
    best : float
    lower, upper : float
        1σ interval (Δχ² = 1) envelope; an edge at a physical bound is flagged in ``notes``.
    limit_90cl : float or None
        Upper edge of the 90 % C.L. region (couplings).
    nuisances : dict of str to float
        Nuisances profiled at ``best``.
    minuit : MinuitFit or None
    published : Parameter or None
        The collaboration's value, where stated.
    runtime_s : float
        Wall time of this parameter's scan and cross-check.
    notes : list of str
    """

    name: str
    signal_model: SignalModel
    profile: Profile1D
    profile_result: ProfileResult
    best: float
    lower: float
    upper: float
    limit_90cl: float | None
    nuisances: dict[str, float]
    minuit: MinuitFit | None
    published: Parameter | None
    runtime_s: float
    notes: list[str] = field(default_factory=list)

    @property
    def spec(self):
        """The :class:`~cevns.fits.parameters.ParameterSpec`."""
        return self.signal_model.spec

    def expected(self) -> dict[str, NDArray[np.float64]]:
        """Expected counts per component at the best fit (flattened bins)."""
        model = self.signal_model.model
        return model.expected_components(self.signal_model.signal([self.best])[0], self.nuisances)

    def row(self) -> dict[str, Any]:
        """One row of ``fit.csv``."""
        pub = self.published
        m = self.minuit
        return {
            "parameter": self.name,
            "unit": self.spec.unit,
            "best": self.best,
            "lower": self.lower,
            "upper": self.upper,
            "limit_90cl": self.limit_90cl,
            "sm": self.signal_model.sm_value,
            "published": pub.value if pub else None,
            "published_lower": pub.value - pub.sigma_low if pub and pub.sigma_low else None,
            "published_upper": pub.value + pub.sigma_high if pub and pub.sigma_high else None,
            "minuit_best": m.best if m else None,
            "minuit_lower": m.lower if m else None,
            "minuit_upper": m.upper if m else None,
            "chi2_min": self.profile.chi2_min,
            "signal_sigma": self.signal_model.signal_sigma,
            "runtime_s": self.runtime_s,
            "scenario": self.spec.scenario or "",
            "options": ", ".join(f"{k}={v}" for k, v in self.signal_model.options.items()),
            "published_source": pub.source if pub else "",
        }

    def __repr__(self) -> str:
        unit = f" {self.spec.unit}" if self.spec.unit and self.spec.unit != "events" else ""
        lim = f", 90% C.L. ≤ {self.limit_90cl:.4g}" if self.limit_90cl is not None else ""
        return (f"ParameterFit({self.name}: {self.best:.4g} [{self.lower:.4g}, "
                f"{self.upper:.4g}]{unit}{lim})")

    def _summary_rows(self) -> list[tuple[str, str]]:
        unit = f" {self.spec.unit}" if self.spec.unit and self.spec.unit != "events" else ""
        rows = [("best fit", f"{self.best:.4g}{unit}"),
                ("1σ interval", f"[{self.lower:.4g}, {self.upper:.4g}]{unit}"),
                ("χ²_min", f"{self.profile.chi2_min:.4g}")]
        if self.limit_90cl is not None:
            rows.append(("90% C.L. limit", f"{self.limit_90cl:.4g}{unit}"))
        if self.published is not None:
            pub = self.published
            rows.append(("published", f"{pub.value:g}" + (f" ± {pub.uncertainty:g}"
                                                           if pub.uncertainty else "")))
        return rows

    def _repr_html_(self) -> str:
        from cevns._repr import html_summary

        return html_summary(f"ParameterFit {self.name}", self._summary_rows())


class FitsByName:
    """Results that hold their fitted parameters in ``fits`` (name → fit): ``result[name]``."""

    fits: dict

    def __getitem__(self, name: str):
        if name not in self.fits:
            raise UnknownNameError("fitted parameter", name, self.fits)
        return self.fits[name]


@dataclass(eq=False)
class FitResult(FitsByName):
    """All parameter fits of one release, with the SM prediction and the published numbers.

    Attributes
    ----------
    release : str
    model : ReleaseModel
    fits : dict of str to ParameterFit
    sm_prediction : float
        Our SM CEvNS count in the fitted window.
    published : dict of str to Parameter
        ``"sm_prediction"`` and ``"n_cevns"`` of the collaboration, where stated.
    runtime_s : float
        Total wall time (loading, model building and all fits).
    files : list of Path
        Files written by :meth:`write` (empty until then).
    """

    release: str
    model: ReleaseModel
    fits: dict[str, ParameterFit]
    sm_prediction: float
    published: dict[str, Parameter]
    runtime_s: float
    files: list[Path] = field(default_factory=list)


    def rows(self) -> list[dict[str, Any]]:
        """The rows of ``fit.csv``, one per fitted parameter.

        Each row also carries ``sm_cevns`` (our SM CEvNS count in the fitted window) and
        ``published_sm_cevns`` (the collaboration's prediction, where stated).
        """
        pub = self.published.get("sm_prediction")
        rows = []
        for fit in self.fits.values():
            row = fit.row()
            source = row.pop("published_source")
            row["sm_cevns"] = self.sm_prediction
            row["published_sm_cevns"] = pub.value if pub else None
            row["published_source"] = source
            rows.append(row)
        return rows

    def prediction_row(self) -> dict[str, Any]:
        """Our SM CEvNS count next to the collaboration's prediction (``prediction.csv``)."""
        pub = self.published.get("sm_prediction")
        return {
            "release": self.release,
            "sm_prediction": self.sm_prediction,
            "published": pub.value if pub else None,
            "published_uncertainty": pub.uncertainty if pub else None,
            # a published prediction of 0 (refused by the release readers) has no percentage
            "difference_percent": 100.0 * (self.sm_prediction / pub.value - 1.0)
            if pub and pub.value else None,
            "window": _window(self.model),
            "published_source": pub.source if pub else "",
        }

    def summary(self) -> str:
        """A terminal-friendly summary."""
        pred = self.prediction_row()
        lines = [f"{self.release}: {self.model.n_bins} bins ({_window(self.model)}), "
                 f"{self.model.observed.sum():g} events observed",
                 f"  SM prediction {self.sm_prediction:.1f} CEvNS events"
                 + (f" (collaboration {pred['published']:g} ± {pred['published_uncertainty']:g})"
                    if pred["published"] is not None else "")]
        for f in self.fits.values():
            pub = f"; published {f.published.value:g} ± {f.published.uncertainty:g}" \
                if f.published and f.published.uncertainty else ""
            lines.append(f"  {f!r}{pub}")
        lines.append(f"  wall time {self.runtime_s:.1f} s")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        import html

        head = (f"<caption>{html.escape(self.release)}: SM prediction "
                f"{self.sm_prediction:.1f} CEvNS events ({self.runtime_s:.1f} s)</caption>")
        cols = ("parameter", "best", "1σ interval", "90% C.L.", "published")
        rows = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in (
                f.name, f"{f.best:.4g}", f"[{f.lower:.4g}, {f.upper:.4g}]",
                f"{f.limit_90cl:.4g}" if f.limit_90cl is not None else "",
                f"{f.published.value:g} ± {f.published.uncertainty:g}"
                if f.published and f.published.uncertainty else "")) + "</tr>"
            for f in self.fits.values())
        header = "<tr>" + "".join(f"<th>{c}</th>" for c in cols) + "</tr>"
        return f"<table>{head}{header}{rows}</table>"

    def write(self, out: str | Path, *, force: bool = False, pdf: bool = False,
              no_figures: bool = False) -> list[Path]:
        """Write tables (CSV + Markdown), figures (PNG; PDF too with ``pdf``, none with
        ``no_figures``) and provenance to ``out``.

        One configuration per folder, as for ``cevns fit``: a folder holding another fit, other
        results or files cevns did not write is refused unless ``force``."""
        from cevns.fits.report import write_outputs

        self.files = write_outputs(self, Path(out), force=force, pdf=pdf, no_figures=no_figures)
        return self.files


#: Bound (in σ) on every shape nuisance in the iminuit cross-check (a unit-Gaussian prior makes
#: |α| > 10 cost Δχ² > 100: never a fit's answer, only MINOS probing far out).
SHAPE_NUISANCE_LIMIT = 10.0

def _window(model: ReleaseModel) -> str:
    parts = []
    for ax in model.release.observed.axes:
        unit = f" {ax.unit}" if ax.unit else ""
        parts.append(f"{ax.name} [{ax.edges[0]:g}, {ax.edges[-1]:g}){unit}")
    return " × ".join(parts)


# -- profiling -----------------------------------------------------------------------------------------


def profile(signal_model: SignalModel, values: NDArray[np.float64]) -> ProfileResult:
    """Profiled χ² of ``signal_model``'s release at parameter ``values`` (one batched call)."""
    model = signal_model.model
    result = model.poisson_model(signal_model.signal(values),
                                 signal_sigma=signal_model.signal_sigma).profile(warn=False)
    if not result.all_converged:
        bad = np.flatnonzero(~np.atleast_1d(result.converged))
        raise FitError(f"{model.release.name}: profiling {signal_model.spec.name} did not converge "
                       f"at {bad.size} of {values.size} points (first at {values[bad[0]]:.6g})")
    return result


def _clip(lo: float, hi: float, spec) -> tuple[float, float]:
    if spec.lower is not None:
        lo = max(lo, spec.lower)
    if spec.upper is not None:
        hi = min(hi, spec.upper)
    return lo, hi


def adaptive_grid(chi2, spec, initial_range: tuple[float, float], points: int, what: str
                  ) -> NDArray[np.float64]:
    """The fine grid of a 1-D scan: a coarse grid over ``initial_range`` (clipped to the spec's
    bounds) widened until Δχ² ≥ 6 on both sides or a bound, zoomed in until the Δχ² ≤ 6 region
    spans at least :data:`_MIN_REGION_STEPS` coarse steps, then ``points`` over that region.

    ``chi2`` maps a 1-D array of parameter values to their profiled χ².

    Raises
    ------
    FitError
        The region is not closed after :data:`_MAX_WIDENINGS` coarse grids or reaches a validity
        cap (``spec.upper_is_cap``: a coupling's 4π), or still lies within a few coarse steps
        after :data:`_MAX_ZOOMS` zooms (the message asks for a narrower starting range).
    """
    lo, hi = _clip(*initial_range, spec)
    grids = zooms = 0
    while True:
        grid = np.linspace(lo, hi, _COARSE_POINTS)
        prof = Profile1D(grid, chi2(grid), parameter=spec.name)
        region = prof.allowed_range(_SCAN_LEVEL)
        grids += 1
        width = hi - lo
        at_lower_bound = spec.lower is not None and lo <= spec.lower
        at_upper_bound = spec.upper is not None and hi >= spec.upper
        grow_lo = region.lower_open and not at_lower_bound
        grow_hi = region.upper_open and not at_upper_bound
        if grow_lo or grow_hi:
            lo, hi = _clip(lo - width * grow_lo, hi + width * grow_hi, spec)
            if grids - zooms >= _MAX_WIDENINGS:
                raise FitError(f"{what}: the Δχ² = {_SCAN_LEVEL:g} region of {spec.name} is not "
                               f"closed within [{lo:.4g}, {hi:.4g}]")
            continue
        if region.upper_open and at_upper_bound and getattr(spec, "upper_is_cap", False):
            raise FitError(f"{what}: the Δχ² = {_SCAN_LEVEL:g} region of {spec.name} reaches "
                           f"its validity cap {spec.upper:.4g} (far above any physical value): "
                           "the data do not constrain it below the cap")
        step = grid[1] - grid[0]
        if region.upper - region.lower >= _MIN_REGION_STEPS * step:
            break
        # the region lies within a few coarse steps: zoom in on it (± one step holds both
        # crossings, which lie between a grid point inside and the next one outside)
        if zooms >= _MAX_ZOOMS:
            raise FitError(
                f"{what}: the Δχ² = {_SCAN_LEVEL:g} region of {spec.name} "
                f"[{region.lower:.4g}, {region.upper:.4g}] is not resolved by the scan even after "
                f"{_MAX_ZOOMS} zooms from [{initial_range[0]:.4g}, {initial_range[1]:.4g}]; give "
                "a narrower starting range around it (--range LO,HI; scan_range in the API)")
        zooms += 1
        lo, hi = _clip(region.lower - step, region.upper + step, spec)
    fine_lo, fine_hi = _clip(region.lower - step, region.upper + step, spec)
    return np.linspace(fine_lo, fine_hi, points)


def _scan(signal_model: SignalModel, points: int) -> tuple[NDArray, ProfileResult]:
    """Coarse scan widened until Δχ² ≥ 6 on both sides, then a fine grid over that region."""
    fine = adaptive_grid(lambda g: profile(signal_model, g).chi2, signal_model.spec,
                         signal_model.initial_range, points, signal_model.model.release.name)
    return fine, profile(signal_model, fine)


# -- iminuit cross-check -------------------------------------------------------------------------------


def minuit_fit(signal_model: SignalModel, start: float, start_nuisances: dict[str, float]
               ) -> MinuitFit:
    """Minimise χ²(p, θ) over the parameter and all nuisances with iminuit (MIGRAD + MINOS on p).

    Parameters
    ----------
    signal_model : SignalModel
    start : float
        Starting parameter value (the profile's best fit).
    start_nuisances : dict
        Starting nuisances.
    """
    from iminuit import Minuit

    model = signal_model.model
    sigma = signal_model.signal_sigma
    start_model = model.poisson_model(signal_model.signal([start]), signal_sigma=sigma)
    names = start_model.nuisances
    shape_names = set(getattr(start_model, "shape_nuisances", ()))
    calls = 0

    spec = signal_model.spec
    low = -math.inf if spec.lower is None else spec.lower
    high = math.inf if spec.upper is None else spec.upper

    built: dict[float, Any] = {}

    def poisson_at(value: float):
        # MIGRAD and MINOS ask for the same parameter value several times (χ², gradient, the
        # difference quotient); building a model with shape nuisances costs ~0.1 s, so keep the
        # last few (keyed by the exact value: same input, same model)
        pm = built.get(value)
        if pm is None:
            if len(built) >= 8:
                built.pop(next(iter(built)))
            pm = built[value] = model.poisson_model(signal_model.signal([value]),
                                                    signal_sigma=sigma)
        return pm

    def chi2(x: NDArray[np.float64]) -> float:
        nonlocal calls
        calls += 1
        if not low <= x[0] <= high:  # MINOS may probe past a limit
            return 1e30
        pm = poisson_at(float(x[0]))
        value = float(pm.chi2(dict(zip(names, x[1:], strict=True)))[0])
        return value if math.isfinite(value) else 1e30

    def grad(x: NDArray[np.float64]) -> NDArray[np.float64]:
        # analytic in the nuisances, a central difference in the parameter (one-sided at a bound)
        if not low <= x[0] <= high:
            return np.zeros_like(x)
        pm = poisson_at(float(x[0]))
        g_nuis = np.asarray(pm.gradient(dict(zip(names, x[1:], strict=True)))).reshape(-1)
        h = 1e-6 * max(1.0, abs(float(x[0])))
        up, dn = min(x[0] + h, high), max(x[0] - h, low)
        xu, xd = x.copy(), x.copy()
        xu[0], xd[0] = up, dn
        g_p = (chi2(xu) - chi2(xd)) / (up - dn)
        return np.concatenate([[g_p], g_nuis])

    pname = signal_model.spec.name
    x0 = [start, *(start_nuisances.get(n, 0.0) for n in names)]
    m = Minuit(chi2, np.array(x0, dtype=float), grad=grad, name=(pname, *names))
    m.errordef = Minuit.LEAST_SQUARES
    # a validity cap (a coupling's 4π) is no limit of the fit: chi2() walls off what lies past it
    m.limits[pname] = (spec.lower, None if getattr(spec, "upper_is_cap", False) else spec.upper)
    for n in names:
        if n in shape_names:
            # unit-Gaussian shape nuisances: ±SHAPE_NUISANCE_LIMIT keeps MINOS from probing
            # α ~ 1e11 (where the exponential interpolation overflows); no fit comes near it
            m.limits[n] = (-SHAPE_NUISANCE_LIMIT, SHAPE_NUISANCE_LIMIT)
        else:
            m.limits[n] = (-1.0 + 1e-9, None)  # keep every component non-negative
    m.strategy = 1
    m.migrad()
    lower = upper = None
    if m.valid:
        try:
            m.minos(pname)
            me = m.merrors[pname]
            lower = m.values[pname] + me.lower if me.lower_valid else None
            upper = m.values[pname] + me.upper if me.upper_valid else None
        except RuntimeError:  # pragma: no cover - MINOS refuses an invalid minimum
            pass
    return MinuitFit(best=float(m.values[pname]), lower=lower, upper=upper, chi2_min=float(m.fval),
                     nuisances={n: float(m.values[n]) for n in names}, valid=bool(m.valid),
                     n_calls=calls)


# -- API -----------------------------------------------------------------------------------------------


def parameter_names(parameters: str | Sequence[str] | None) -> tuple[str, ...]:
    """The fit parameters as a tuple of names: one name given as a string is that parameter
    (not its letters); ``None`` or empty gives ``()`` (the caller's default). Anything but
    names is a :class:`~cevns.errors.ConfigError`."""
    if parameters is None:
        return ()
    if isinstance(parameters, str):
        return (parameters,)
    try:
        names = tuple(parameters)
    except TypeError:
        raise ConfigError(f"parameters must be a parameter name or a list of names, got "
                          f"{parameters!r}") from None
    for name in names:
        if not isinstance(name, str):
            raise ConfigError(f"parameters must be names (text), got {name!r} in {parameters!r}")
    return names


#: The parameters of :data:`FIT_PARAMETERS` that take ``mediator_mass_MeV`` (every NGI coupling)
#: and ``vector_charge`` (the vector one): a scenario parameter such as ``ngi.coupling`` takes them
#: as ``fixed`` values and ``options`` instead.
NGI_OPTION_USERS: dict[str, tuple[str, ...]] = {
    "mediator_mass_MeV": tuple(n for n in FIT_PARAMETERS
                               if n.startswith("ngi_") and n.endswith("_coupling")),
    "vector_charge": ("ngi_vector_coupling",),
}


def unused_ngi_options(names: Sequence[str], **given: Any) -> list[str]:
    """The keys of ``given`` (``mediator_mass_MeV``, ``vector_charge``) with a value (not
    ``None``) that no parameter of ``names`` takes (:data:`NGI_OPTION_USERS`): they would change
    nothing, and a fit must refuse them rather than record values it did not use."""
    return [key for key, value in given.items()
            if value is not None and not any(n in NGI_OPTION_USERS[key] for n in names)]


def check_ngi_options(names: Sequence[str], mediator_mass_MeV: float | None,
                      vector_charge: str | None, *, caller: str = "fit_release") -> None:
    """Refuse :func:`unused_ngi_options` in the API's words (``caller``: ``fit_release``,
    ``fit_combined``): a value no fitted parameter takes would change nothing; a scenario
    parameter (``ngi.coupling``) takes it as a fixed value or an option instead. A
    ``mediator_mass_MeV`` that is not one number > 0 (text, true/false) is refused first."""
    if mediator_mass_MeV is not None:
        finite_number(mediator_mass_MeV, "mediator_mass_MeV", MEDIATOR_MASS_VALID,
                      ok=lambda m: m > 0)
    unused = unused_ngi_options(names, mediator_mass_MeV=mediator_mass_MeV,
                                vector_charge=vector_charge)
    if not unused:
        return
    key = unused[0]
    value = mediator_mass_MeV if key == "mediator_mass_MeV" else vector_charge
    hint = ""
    if any(n not in FIT_PARAMETERS for n in names):
        how = (f"fixed={{'mediator_mass_MeV': {value!r}}}" if key == "mediator_mass_MeV"
               else f"options={{'vector_charge': {value!r}}}")
        hint = f"; a scenario parameter takes it as {how}"
    raise ConfigError(f"{caller}: {key}={value!r} is used only by "
                      f"{', '.join(NGI_OPTION_USERS[key])}, not by {', '.join(names)}: it would "
                      f"change nothing{hint}")


def cross_check_disagreement(best: float, lower: float, upper: float, minuit: MinuitFit | None
                             ) -> str | None:
    """How the profile's best fit and 1σ interval ``[lower, upper]`` and a valid iminuit fit
    (MIGRAD best, MINOS edges) disagree by more than :data:`CROSS_CHECK_TOLERANCE` of the wider
    of the two 1σ intervals, or ``None`` where they agree (or iminuit has no valid minimum)."""
    if minuit is None or not minuit.valid:
        return None
    width = upper - lower
    if minuit.lower is not None and minuit.upper is not None:
        width = max(width, minuit.upper - minuit.lower)
    pairs = [("best fit", best, minuit.best), ("1σ lower edge", lower, minuit.lower),
             ("1σ upper edge", upper, minuit.upper)]
    off = [f"{what} {ours:.4g} (iminuit {theirs:.4g})" for what, ours, theirs in pairs
           if theirs is not None and math.isfinite(theirs)
           and abs(ours - theirs) > CROSS_CHECK_TOLERANCE * width]
    if not width > 0 or not off:
        return None
    return ("the profile scan and the iminuit cross-check disagree: " + ", ".join(off)
            + "; the scan grid may not resolve the Δχ² region — give a narrower starting range "
            "(--range LO,HI; scan_range in the API)")


def check_points(points: object, n_bins: int | None, what: str) -> int:
    """``points`` of a profile's fine grid: an integer ≥ 11 whose batched profile over
    ``n_bins`` bins fits in ``CEVNS_MAX_GRID_BYTES`` (:data:`PROFILE_BYTES_PER_BIN` each),
    checked before anything is allocated; else a :class:`~cevns.errors.ConfigError` naming
    ``points``. ``n_bins=None`` (the bins are not known yet): at least one bin per point."""
    if not (isinstance(points, int) and not isinstance(points, bool) and points >= 11):
        raise ConfigError(f"points must be an integer ≥ 11, got {points!r}")
    from cevns.scan.grid import check_grid_bytes  # lazy: the scan layer is heavy

    bins = "" if n_bins is None else f", {n_bins} bins per point"
    check_grid_bytes(points, f"points (the fine grid of the {what} profile{bins})",
                     per_point=PROFILE_BYTES_PER_BIN * (n_bins or 1))
    return points


def summarise_profile(prof: Profile1D, spec) -> tuple[Any, float | None, list[str]]:
    """The 1σ region (an :class:`cevns.stats.Interval` envelope), the 90 % C.L. limit (parameters
    with a limit) and notes on bounds and several-piece regions."""
    name = spec.name
    one = prof.allowed_range(level_value("1sigma_1dof"))
    notes = []
    for edge, is_open in (("lower", one.lower_open), ("upper", one.upper_open)):
        if is_open:
            notes.append(f"1σ {edge} edge at the physical bound of {name}")
    if len(prof.interval("1sigma_1dof")) > 1:
        notes.append("the 1σ region has several pieces ("
                     + ", ".join(str(p) for p in prof.interval("1sigma_1dof"))
                     + "); lower/upper give their envelope")
    if spec.limit and len(prof.interval("90cl_1dof")) > 1:
        notes.append("the 90 % C.L. region has several pieces ("
                     + ", ".join(str(p) for p in prof.interval("90cl_1dof"))
                     + "); limit_90cl is the " + spec.limit_side + " edge of the "
                     + ("last" if spec.limit_side == "upper" else "first") + " one")
    limit = None
    if spec.limit:
        region = prof.allowed_range(level_value("90cl_1dof"))
        limit = region.lower if spec.limit_side == "lower" else region.upper
        bound = spec.lower if spec.limit_side == "upper" else spec.upper
        if bound is not None and math.isclose(prof.best, bound, rel_tol=0, abs_tol=1e-12):
            notes.append(f"best fit at the physical bound {bound:g}: quote the one-sided 90 % "
                         f"C.L. {spec.limit_side} limit {limit:.4g} (Δχ² = 2.71)")
    return one, limit, notes


def fit_parameter(
    model: ReleaseModel,
    name: str,
    *,
    points: int = 201,
    cross_check: bool = True,
    mediator_mass_MeV: float = 10.0,
    vector_charge: str = "B-L",
    options: Mapping[str, Any] | None = None,
    fixed: Mapping[str, float] | None = None,
    scan_range: tuple[float, float] | None = None,
) -> ParameterFit:
    """Fit one parameter of a release model: adaptive profile scan, intervals, iminuit check.

    Parameters
    ----------
    model : ReleaseModel
        The release (or Asimov data built from it, :meth:`ReleaseModel.with_observed`).
    name : str
        One of :data:`cevns.fits.parameters.FIT_PARAMETERS`, or any registered scenario's
        parameter ``SCENARIO.PARAMETER`` (:mod:`cevns.fits.scenario_signal`).
    points : int
        Points of the fine grid (≥ 11; their batched profile must fit in
        ``CEVNS_MAX_GRID_BYTES``, :func:`check_points`).
    cross_check : bool
        Also minimise with iminuit over the parameter and all nuisances. A gross disagreement
        with the profile (:func:`cross_check_disagreement`) adds a note and issues a
        :class:`CrossCheckWarning`.
    mediator_mass_MeV, vector_charge
        NGI options (see :func:`cevns.fits.parameters.make_signal_model`).
    options, fixed, scan_range
        Scenario parameters: scenario options, values of the other parameters, starting scan
        range (see :func:`cevns.fits.parameters.make_signal_model`).

    Returns
    -------
    ParameterFit
        A parameter with a limit (couplings, moments, mixings) also gets ``limit_90cl``, the edge
        of the Δχ² = 2.71 region on the side away from its "off" value; when the best fit is at
        the physical bound the notes say that the limit is the one-sided result to quote.
    """
    check_points(points, model.n_bins, f"{model.release.name} {name}")
    start = time.perf_counter()
    signal_model = make_signal_model(model, name, mediator_mass_MeV=mediator_mass_MeV,
                                     vector_charge=vector_charge, options=options, fixed=fixed,
                                     scan_range=scan_range)
    spec = signal_model.spec
    name = spec.name  # an alias resolves to SCENARIO.PARAMETER
    grid, result = _scan(signal_model, points)
    prof = Profile1D(grid, result.chi2, parameter=name, label=spec.label)
    one, limit, notes = summarise_profile(prof, spec)
    at_best = profile(signal_model, np.array([prof.best]))
    nuisances = {k: float(v[0]) for k, v in at_best.nuisances.items()}
    minuit = minuit_fit(signal_model, prof.best, nuisances) if cross_check else None
    disagreement = cross_check_disagreement(prof.best, one.lower, one.upper, minuit)
    if disagreement is not None:
        notes.append(f"warning: {disagreement}")
        warnings.warn(f"{model.release.name} {name}: {disagreement}", CrossCheckWarning,
                      stacklevel=2)
    pub = published_values(model).get(name)
    return ParameterFit(name, signal_model, prof, result, prof.best, one.lower, one.upper, limit,
                        nuisances, minuit, pub, time.perf_counter() - start, notes)


def fit_release(
    release: str | Release,
    parameters: Sequence[str] | None = None,
    *,
    out: str | Path | None = None,
    data_dir: str | Path | None = None,
    steady_state: SteadyState = "anticoincidence",
    points: int = 201,
    cross_check: bool = True,
    mediator_mass_MeV: float | None = None,
    vector_charge: str | None = None,
    helm_skin_fm: float = RELEASE_HELM_SKIN_FM,
    likelihood: str = "collaboration",
    options: Mapping[str, Any] | None = None,
    fixed: Mapping[str, float] | None = None,
    scan_range: tuple[float, float] | None = None,
    shape_totals: str = "conserved",
    force: bool = False,
) -> FitResult:
    """Fit a COHERENT release for one or more parameters (each a 1-D profile).

    The Helm surface thickness is pinned to the standard Lewin–Smith s = 0.9 fm for fits to data
    (``helm_skin_fm``); the package default 1.0 fm is the convention inferred from the ESS
    paper's Table 3 (docs/assumptions.md), not a property of the COHERENT analyses.

    Parameters
    ----------
    release : str or Release
        ``"coherent-csi-2017"``, ``"coherent-csi-2021"`` or ``"coherent-lar-2020"``, or a
        release already loaded (:func:`cevns.datasets.coherent.load_release`, e.g. from a
        ``data_dir`` checked before an output folder was claimed, as ``cevns fit --data-dir``
        does): it is fitted as it is, not read again.
    parameters : str or sequence of str, optional
        Names of :data:`cevns.fits.parameters.FIT_PARAMETERS` or scenario parameters
        ``SCENARIO.PARAMETER``; one name alone (``"n_cevns"``) is that one parameter. Default
        :data:`DEFAULT_PARAMETERS` of the release.
    out : path, optional
        If given, write ``fit.csv``/``fit.md``, ``prediction.csv``/``.md``, profiles, figures and
        ``provenance.json`` there.
    data_dir : path, optional
        A user's copy of the release files (default: the packaged copy); only with a release
        given by name.
    steady_state : {"anticoincidence", "prior"}
        CsI steady-state treatment (see :class:`cevns.fits.model.ReleaseModel`).
    points : int
        Fine-grid points per profile (≥ 11; checked against ``CEVNS_MAX_GRID_BYTES`` before the
        release is read).
    cross_check : bool
        Run the iminuit global fit too.
    mediator_mass_MeV, vector_charge
        Options of the ``ngi_*_coupling`` parameters (:data:`NGI_OPTION_USERS`; default 10 MeV
        and ``"B-L"``). Given while no fitted parameter takes it, it would change nothing and is
        refused; a scenario parameter (``ngi.coupling``) takes them as
        ``fixed={"mediator_mass_MeV": …}`` and ``options={"vector_charge": …}``.
    helm_skin_fm : float
        Helm surface thickness in fm for every form factor of the fit (default 0.9).
    likelihood : {"collaboration", "simple"}
        CsI likelihood (see :class:`cevns.fits.model.ReleaseModel`, docs/coherent_csi.md).
    options, fixed, scan_range
        For scenario parameters ``SCENARIO.PARAMETER``: the scenario's options, the values of
        its other parameters and the starting scan range (:func:`fit_parameter`).
    shape_totals : {"conserved", "interpolated"}
        Shape nuisances shape-only (default) or plain per-bin code 4 (earlier versions); see
        :class:`cevns.fits.model.ReleaseModel`.
    force : bool
        Write into ``out`` even if it holds another fit, other results or files cevns did not
        write (as ``cevns fit --force``; :meth:`FitResult.write`).

    Returns
    -------
    FitResult

    Raises
    ------
    UnknownNameError
        Unknown release or parameter (the message lists the valid names).
    DataError
        A missing, truncated or foreign file in ``data_dir`` (the message names the file).
    ConfigError
        A parameter that does not apply to the release (the neutron radius for LAr), bad options,
        ``mediator_mass_MeV`` or ``vector_charge`` that no fitted parameter takes, or a
        ``data_dir`` given with a release already loaded.
    """
    start = time.perf_counter()
    loaded = release if isinstance(release, Release) else None
    if loaded is not None:
        if data_dir is not None:
            raise ConfigError(f"fit_release: data_dir {str(data_dir)!r} given with the release "
                              f"{loaded.name!r} already loaded (from {loaded.data_dir}); give "
                              "either the release's name and data_dir, or the loaded release")
        release = loaded.name
    if release not in release_names():
        raise UnknownNameError("COHERENT release", release, release_names())
    names = parameter_names(parameters) or DEFAULT_PARAMETERS[release]
    for name in names:
        check_parameter(name, release)
    check_fit_request(names, options=options, fixed=fixed, scan_range=scan_range,
                      vector_charge="B-L" if vector_charge is None else vector_charge)
    check_ngi_options(names, mediator_mass_MeV, vector_charge)
    mediator_mass_MeV = 10.0 if mediator_mass_MeV is None else mediator_mass_MeV
    vector_charge = "B-L" if vector_charge is None else vector_charge
    # before the release is read: the type, and the memory of one bin per point (a bound below
    # the real need, which fit_parameter checks with the release's bins)
    check_points(points, None, release)
    if loaded is None:
        loaded = load_release(release, data_dir)
    model = ReleaseModel(loaded, steady_state=steady_state,
                         helm_skin_fm=helm_skin_fm, likelihood=likelihood,
                         shape_totals=shape_totals)
    fits = {}
    for name in names:
        extra = ({"options": options, "fixed": fixed, "scan_range": scan_range}
                 if name not in FIT_PARAMETERS else {})
        fit = fit_parameter(model, name, points=points, cross_check=cross_check,
                            mediator_mass_MeV=mediator_mass_MeV, vector_charge=vector_charge,
                            **extra)
        if fit.name in fits:
            raise ConfigError(f"parameter {fit.name!r} named twice (aliases included)")
        fits[fit.name] = fit
    result = FitResult(release, model, fits, float(sm_signal(model).sum()),
                       published_values(model), time.perf_counter() - start)
    if out is not None:
        result.write(out, force=force)
    return result

