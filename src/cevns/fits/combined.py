"""Combined fit of the COHERENT CsI-2021 and LAr-2020 releases with a shared SNS flux nuisance.

Likelihood
----------
Both detectors saw the same source: the SNS neutrino yield per proton carries a 10 % uncertainty
in each release (LAr-2020: ``neutrinosPerProton`` 0.09 ± 0.009 in its YAML file; CsI-2017: 0.08 ±
0.008; CsI-2021: 10 %, ``fits/published.toml``). That piece is one nuisance θ_Φ, shared; the rest
of each release's signal-normalisation uncertainty (quenching and efficiency for CsI-2021, the
remainder of the 13.3 % total for LAr-2020: √(0.133² − 0.10²) = 8.8 %) and every background
nuisance stay per release::

    χ²(p) = min_θΦ [ Σ_r χ²_r(p | θ_Φ) + (θ_Φ / σ_Φ)² ],
    χ²_r(p | θ_Φ) = min_θr  χ²_r of release r with its signal S_r(p) × (1 + θ_Φ)

χ²_r is the release's own profiled χ² (:class:`cevns.fits.model.ReleaseModel`). Both minima are
taken at once, for all grid points, by one batched Newton profile of the releases' channels
together (:func:`joint_channels`): θ_Φ = σ_Φ α_Φ enters each signal as a linear ``normsys``
factor (1 + σ_Φ α_Φ) with the unit pull α_Φ² (:class:`cevns.stats.Component`), which is the
formula above exactly, with exact derivatives in θ_Φ. The profile starts from each release's own
minimum at θ_Φ = 0. The tests check it against an independent bounded scalar minimisation over
θ_Φ (SciPy's Brent method) of the releases' cold per-point profiles, against iminuit, and against
a fine scan in θ_Φ. With θ_Φ fixed the combined χ² is exactly the sum of the releases' χ² plus
the pull. (Until issue #15 the minimum over θ_Φ was found by successive parabolic interpolation,
four to six profiles of each release, which with the overlays' one parabolic step did not always
reach the minimum: their limits moved by up to 4.8 %, more where Δχ² levels off just above the
level; docs/coherent_fits.md.)

Releases
--------
CsI-2021 and LAr-2020 by default. CsI-2017 is a subset of the CsI-2021 exposure (the 2021 data
set contains the 2017 data, re-analysed): combining both would count those events twice, so it is
not a default; pass ``releases=`` explicitly to combine other sets.

Parameters
----------
Everything :func:`cevns.fits.fit_parameter` accepts but the per-release event counts
(``n_cevns``): ``sin2_theta_w`` (one value for both), ``neutron_radius_fm`` (CsI only: one rms
radius for Cs and I; argon stays at its default Helm radius and only helps through the shared flux
nuisance) and every registered scenario's parameter, with the same options and fixed values in
both releases. :func:`combined_grid` gives the Δχ² of a scenario on a 2-D grid (mediator mass ×
coupling, sterile mass × moment, Δm² × mixing …), which the ESS figures draw as the "coherent"
overlay (:mod:`cevns.analyses.coherent_overlay`).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cevns.datasets.coherent import load_release, release_names
from cevns.datasets.coherent.experiment import RELEASE_HELM_SKIN_FM
from cevns.errors import (
    CevnsWarning,
    ConfigError,
    DataError,
    FitError,
    UnknownNameError,
    is_bool,
    is_text,
    not_real_numbers,
)
from cevns.fits.fit import (
    FitsByName,
    adaptive_grid,
    check_ngi_options,
    check_points,
    parameter_names,
    summarise_profile,
)
from cevns.fits.model import ReleaseModel, check_helm_skin
from cevns.fits.parameters import (
    FIT_PARAMETERS,
    SignalModel,
    check_fit_request,
    check_parameter,
    make_signal_model,
    signal_uncertainty,
    sm_signal,
)
from cevns.fits.scenario_signal import (
    ScenarioChoice,
    contract,
    resolve_parameter,
    term_counts,
    term_counts_over,
)
from cevns.stats import Channel, Profile1D, profile_chi2
from cevns.stats.profile import ProfileResult

__all__ = [
    "COMBINED_RELEASE",
    "DEFAULT_RELEASES",
    "CombinedFit",
    "CombinedResult",
    "FLUX_NUISANCE",
    "FluxProfile",
    "combined_chi2",
    "combined_grid",
    "fit_combined",
    "flux_sigma",
    "grid_parts",
    "joint_channels",
    "packaged_model",
    "profile_flux",
    "rest_sigma",
]

#: Name of the combination on the command line (``cevns fit coherent-combined -p …``).
COMBINED_RELEASE = "coherent-combined"
#: Releases combined by default (CsI-2017 is contained in CsI-2021).
DEFAULT_RELEASES: tuple[str, ...] = ("coherent-csi-2021", "coherent-lar-2020")
#: Convergence of each release's profile (Newton decrement λ²/2 ≤ tol): the last, tiny Newton
#: step is taken as well, so the χ² is accurate far beyond it (tests: against 10⁻¹⁰ and iminuit).
_TOL = 1e-8
#: Parameters that are one number per release, not a shared physics parameter.
_PER_RELEASE = ("n_cevns", "n_cevns_release")


def packaged_model(release: str, helm_skin_fm: float = RELEASE_HELM_SKIN_FM) -> ReleaseModel:
    """The :class:`ReleaseModel` of a packaged release (cached: packaged data never change; the
    model is shared, so treat it as read-only — :meth:`ReleaseModel.with_observed` and friends
    return copies).

    The cache is keyed on the values (release name, skin as a float), however they are passed:
    ``packaged_model(r)`` and ``packaged_model(r, RELEASE_HELM_SKIN_FM)`` are one model (an
    ``lru_cache`` on this function keyed them apart, and a worker drawing a COHERENT overlay
    built both releases twice)."""
    if release not in release_names():
        raise UnknownNameError("COHERENT release", release, release_names())
    return _packaged_model(str(release), check_helm_skin(helm_skin_fm))


@lru_cache(maxsize=8)
def _packaged_model(release: str, helm_skin_fm: float) -> ReleaseModel:
    return ReleaseModel(load_release(release), helm_skin_fm=helm_skin_fm)


def _release_flux_sigma(model: ReleaseModel) -> float:
    _, pieces = signal_uncertainty(model)
    if "flux" in pieces:
        return float(pieces["flux"])
    flux = model.release.setup.neutrinos_per_flavour_per_proton.relative_uncertainty
    if flux is None:  # pragma: no cover - every shipped release states one
        raise DataError(f"{model.release.name}: no neutrino-flux uncertainty known")
    return float(flux)


def flux_sigma(models: Sequence[ReleaseModel]) -> float:
    """The shared flux uncertainty σ_Φ; the releases must agree on it (10 % for all three)."""
    values = {m.release.name: _release_flux_sigma(m) for m in models}
    first = next(iter(values.values()))
    if any(not math.isclose(v, first, rel_tol=1e-6) for v in values.values()):
        raise DataError(f"the releases state different flux uncertainties {values}; a shared "
                        "flux nuisance needs one value")
    return first


def rest_sigma(model: ReleaseModel, total: float | None) -> float | None:
    """Per-release signal-normalisation width without the flux piece: √(σ_total² − σ_Φ²)."""
    if total is None:
        return None
    flux = _release_flux_sigma(model)
    rest2 = total * total - flux * flux
    return math.sqrt(rest2) if rest2 > 1e-12 else None


@dataclass(frozen=True)
class FluxProfile:
    """Combined χ² minimised over the shared flux nuisance at every point.

    Attributes
    ----------
    chi2 : ndarray, shape (P,)
        Σ_r χ²_r + (θ_Φ/σ_Φ)² at the best θ_Φ.
    flux : ndarray, shape (P,)
        The best θ_Φ.
    by_release : dict of str to ndarray
        Each release's profiled χ² at that θ_Φ.
    """

    chi2: NDArray[np.float64]
    flux: NDArray[np.float64]
    by_release: dict[str, NDArray[np.float64]]


def _release_chi2(model: ReleaseModel, signal: NDArray, sigma: float | None, flux: NDArray,
                  level: float | None, reference: float | None,
                  start: Mapping[str, NDArray] | None = None, tol: float = _TOL,
                  ) -> tuple[NDArray[np.float64], dict[str, NDArray[np.float64]], list[Channel]]:
    """The release's profiled χ² at flux nuisances ``flux`` (one per point), the nuisances found
    (the warm start of the next flux value) and the channels profiled."""
    channels = model.channels(signal * (1.0 + flux)[:, None], signal_sigma=sigma)
    result = profile_chi2(channels, level=level, reference=reference, warn=False, start=start,
                          tol=tol)
    _check_converged(result, f"{model.release.name}: profiling")
    return (np.atleast_1d(result.chi2), {k: np.atleast_1d(v) for k, v in result.nuisances.items()},
            channels)


def _check_converged(result: ProfileResult, what: str) -> None:
    """:class:`FitError` if ``result`` has points neither converged nor decided above the level."""
    bad = ~(np.atleast_1d(result.converged) | np.atleast_1d(result.decided))
    if bad.any():
        raise FitError(f"{what} did not converge at {int(bad.sum())} of {bad.size} points of the "
                       "combined fit")


#: Name of the shared flux nuisance α_Φ (θ_Φ = σ_Φ α_Φ) in the joint model of the releases.
FLUX_NUISANCE = "flux"
#: Name of each release's signal component (:meth:`ReleaseModel.channels`).
_SIGNAL = "cevns"


def _renamed(channel: Channel, prefix: str, flux: tuple[float, float]) -> Channel:
    """``channel`` with its name and its nuisances' names prefixed (so that releases do not
    share them) and its signal scaled by the shared flux factor with ±1σ values ``flux`` (a
    linear ``normsys``, :class:`cevns.stats.Component`)."""
    def name(n: str | None) -> str | None:
        return None if n is None else prefix + n

    components = [
        replace(c, nuisance=name(c.nuisance), shapes={name(k): v for k, v in c.shapes.items()},
                conserve_total=frozenset(name(k) for k in c.conserve_total),
                normsys={FLUX_NUISANCE: flux} if c.name == _SIGNAL else None)
        for c in channel.components
    ]
    return Channel(prefix + channel.name, channel.observed, components)


def joint_channels(
    parts: Mapping[str, tuple[ReleaseModel, NDArray[np.float64], float | None]],
    sigma_flux: float,
) -> list[Channel]:
    """All releases' channels as one likelihood: the channel and nuisance names of release r
    prefixed with ``"r:"``, each signal component scaled by (1 + σ_Φ α_Φ) with one shared unit
    pull α_Φ (:data:`FLUX_NUISANCE`). Its profiled χ² is the combined χ² of the module docstring
    exactly: (1 + σ_Φ α_Φ) with α_Φ² is (1 + θ_Φ) with (θ_Φ/σ_Φ)²."""
    _check_sigma_flux(sigma_flux)
    return _joint({name: model.channels(signal, signal_sigma=sigma)
                   for name, (model, signal, sigma) in parts.items()}, sigma_flux)


def _check_sigma_flux(sigma_flux: float) -> None:
    if not (math.isfinite(sigma_flux) and 0.0 < sigma_flux < 1.0):
        raise ConfigError(f"sigma_flux must be in (0, 1), got {sigma_flux!r}")


def _joint(channels: Mapping[str, Sequence[Channel]], sigma_flux: float) -> list[Channel]:
    """The releases' own channels (release name → channels) renamed and joined by the flux."""
    flux = (1.0 - sigma_flux, 1.0 + sigma_flux)
    return [_renamed(ch, f"{name}:", flux) for name, chans in channels.items() for ch in chans]


def _release_part(result: ProfileResult, name: str) -> NDArray[np.float64]:
    """Release ``name``'s own χ² in a joint profile: its channels and its nuisances' pulls."""
    prefix = f"{name}:"
    total = sum(np.atleast_1d(v) for k, v in result.chi2_by_channel.items()
                if k.startswith(prefix))
    for k, v in result.nuisances.items():
        sigma = result.sigmas[k]
        if k.startswith(prefix) and math.isfinite(sigma):
            total = total + (np.atleast_1d(v) / sigma) ** 2
    return np.asarray(total, dtype=float)


def profile_flux(
    parts: Mapping[str, tuple[ReleaseModel, NDArray[np.float64], float | None]],
    sigma_flux: float,
    *,
    flux: float | NDArray[np.float64] | None = None,
    level: float | None = None,
    tol: float = _TOL,
) -> FluxProfile:
    """Combined χ² of several releases with one shared flux nuisance.

    The minimum over θ_Φ and every release's nuisances is one joint Newton profile of
    :func:`joint_channels` (the gradient and Hessian in θ_Φ are exact, as for every other
    nuisance). It starts from each release's own profile at θ_Φ = 0: the joint minimum is then
    one or two Newton steps away at most points. Far inside an excluded region (Δχ² of hundreds)
    χ² can have several minima in θ_Φ — each release dropping its own signal normalisation, or
    the shared flux falling towards zero — and the one reached from that start is reported; a
    cold start there can stall at the flux's bound. Near the contours the minimum is unique and
    equals a point-by-point Brent minimisation over θ_Φ (tests/fits/test_combined_grid.py).

    Parameters
    ----------
    parts : mapping
        Release name → (model, signal of shape (P, n_bins), per-release normalisation width
        without the flux piece, or None).
    sigma_flux : float
        σ_Φ of the shared nuisance.
    flux : float or ndarray, optional
        Hold θ_Φ at this value (then χ² = Σ_r χ²_r(θ_Φ) + (θ_Φ/σ_Φ)² exactly, each release
        profiled alone).
    level : float, optional
        Early stop of the profiles above ``χ²(first point) + level`` (:meth:`PoissonModel.profile`;
        with shape nuisances, as in every shipped release, the profiler does not stop early).
    tol : float
        Convergence of every profile: the Newton estimate of χ² − χ²_min at most this (default
        10⁻⁸; a contour at Δχ² of a few units needs far less).

    Raises
    ------
    FitError
        If the profile does not converge at some point.
    """
    if flux is None:
        _check_sigma_flux(sigma_flux)
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol > 0):
        raise ConfigError(f"tol must be a positive number, got {tol!r}")
    n = None
    for _, signal, _ in parts.values():
        n = signal.shape[0] if n is None else n
        if signal.shape[0] != n:
            raise ConfigError("all releases need the same number of points")
    assert n is not None
    held = np.zeros(n) if flux is None else np.broadcast_to(
        np.asarray(flux, dtype=float), (n,)).copy()
    # points with the same signals in every release (and the same held flux) are profiled once:
    # e.g. a sterile lepton beyond its kinematic end point, where every point is the SM
    key = np.concatenate([np.asarray(sig, dtype=float).reshape(n, -1)
                          for _, sig, _ in parts.values()] + [held[:, None]], axis=1)
    _, first_of, which = np.unique(key, axis=0, return_index=True, return_inverse=True)
    if first_of.size < n:
        kept = np.sort(first_of)  # in the order given: point 0 stays first
        at = np.searchsorted(kept, first_of[np.ravel(which)])
        sub = {name: (model, np.asarray(sig)[kept], sigma)
               for name, (model, sig, sigma) in parts.items()}
        res = profile_flux(sub, sigma_flux, flux=None if flux is None else held[kept],
                           level=level, tol=tol)
        return FluxProfile(res.chi2[at], res.flux[at],
                           {k: v[at] for k, v in res.by_release.items()})
    # the first point alone: the early-stop reference and the warm start of the whole grid
    first = {name: _release_chi2(model, signal[:1], sigma, np.zeros(1), None, None, tol=tol)[:2]
             for name, (model, signal, sigma) in parts.items()}
    references = {name: float(c[0]) if level is not None else None
                  for name, (c, _) in first.items()}
    by, start, channels = {}, {}, {}
    for name, (model, signal, sigma) in parts.items():
        # at θ_Φ = 0 (flux not held) these channels are the release's part of the joint model
        by[name], found, channels[name] = _release_chi2(model, signal, sigma, held, level,
                                                        references[name], first[name][1], tol)
        start.update({f"{name}:{k}": v for k, v in found.items()})
    if flux is not None:
        return FluxProfile(sum(by.values()) + (held / sigma_flux) ** 2, held, by)
    start[FLUX_NUISANCE] = np.zeros(n)
    reference = None if level is None else sum(
        float(c[0]) for c, _ in first.values())
    result = profile_chi2(_joint(channels, sigma_flux), level=level, reference=reference,
                          warn=False, start=start, tol=tol)
    _check_converged(result, f"{' + '.join(parts)}: the joint profile")
    theta = sigma_flux * np.atleast_1d(result.nuisances[FLUX_NUISANCE])
    return FluxProfile(np.atleast_1d(result.chi2), theta,
                       {name: _release_part(result, name) for name in parts})


# -- 1-D fits ------------------------------------------------------------------------------------


@dataclass(eq=False)
class CombinedFit:
    """A 1-D fit of the combination: profile over the parameter, interval, limit.

    Attributes
    ----------
    name : str
    spec : ParameterSpec
    profile : Profile1D
    best, lower, upper : float
        Best fit and 1σ envelope (Δχ² = 1).
    limit_90cl : float or None
        Parameters with a limit: the edge of the Δχ² = 2.71 region.
    flux_at_best : float
        The shared flux nuisance θ_Φ at the best fit.
    chi2_by_release : dict of str to float
        Each release's profiled χ² at the best fit.
    signal_models : dict of str to SignalModel
        Per release (a fixed SM signal where the parameter does not apply).
    applies_to : tuple of str
        Releases whose signal depends on the parameter.
    options : dict
    runtime_s : float
    notes : list of str
    """

    name: str
    spec: Any
    profile: Profile1D
    best: float
    lower: float
    upper: float
    limit_90cl: float | None
    flux_at_best: float
    chi2_by_release: dict[str, float]
    signal_models: dict[str, SignalModel]
    applies_to: tuple[str, ...]
    options: dict[str, Any]
    runtime_s: float
    notes: list[str] = field(default_factory=list)

    @property
    def sm_value(self) -> float:
        """The parameter's SM value."""
        return next(self.signal_models[r] for r in self.applies_to).sm_value

    def row(self) -> dict[str, Any]:
        """One row of ``fit.csv`` (the keys of :meth:`cevns.fits.ParameterFit.row` where they
        apply)."""
        return {
            "parameter": self.name,
            "unit": self.spec.unit,
            "best": self.best,
            "lower": self.lower,
            "upper": self.upper,
            "limit_90cl": self.limit_90cl,
            "sm": self.sm_value,
            "chi2_min": self.profile.chi2_min,
            "flux_nuisance": self.flux_at_best,
            "releases": " + ".join(self.chi2_by_release),
            "applies_to": " + ".join(self.applies_to),
            "runtime_s": self.runtime_s,
            "scenario": self.spec.scenario or "",
            "options": ", ".join(f"{k}={v}" for k, v in self.options.items()),
        }

    def __repr__(self) -> str:
        unit = f" {self.spec.unit}" if self.spec.unit else ""
        lim = f", 90% C.L. {'≥' if self.spec.limit_side == 'lower' else '≤'} " \
              f"{self.limit_90cl:.4g}" if self.limit_90cl is not None else ""
        return (f"CombinedFit({self.name}: {self.best:.4g} [{self.lower:.4g}, "
                f"{self.upper:.4g}]{unit}{lim}; θ_Φ = {self.flux_at_best:+.3f})")


@dataclass(eq=False)
class CombinedResult(FitsByName):
    """Every parameter fitted on the combination."""

    releases: tuple[str, ...]
    fits: dict[str, CombinedFit]
    flux_sigma: float
    runtime_s: float
    files: list[Path] = field(default_factory=list)

    def rows(self) -> list[dict[str, Any]]:
        """One row per parameter."""
        return [f.row() for f in self.fits.values()]

    def summary(self) -> str:
        """Terminal-friendly summary."""
        lines = [f"{COMBINED_RELEASE}: {' + '.join(self.releases)}, shared flux nuisance "
                 f"σ_Φ = {100 * self.flux_sigma:.0f} %"]
        lines += [f"  {f!r}" for f in self.fits.values()]
        lines.append(f"  wall time {self.runtime_s:.1f} s")
        return "\n".join(lines)

    __repr__ = summary

    def write(self, out: str | Path, *, force: bool = False, pdf: bool = False,
              no_figures: bool = False) -> list[Path]:
        """Write ``fit.csv``/``fit.md``, the profiles (CSV, PNG; PDF too with ``pdf``, no figure
        with ``no_figures``) and provenance; a folder of other results is refused unless
        ``force``."""
        from cevns.fits.report import write_combined_outputs

        self.files = write_combined_outputs(self, Path(out), force=force, pdf=pdf,
                                            no_figures=no_figures)
        return self.files


def _check_releases(releases: Sequence[str]) -> tuple[str, ...]:
    if isinstance(releases, (str, bytes)):  # tuple("coherent-csi-2021") is its letters
        raise ConfigError(f"releases must be a sequence of release names (e.g. "
                          f"{list(DEFAULT_RELEASES)!r}), not one string: got {releases!r}")
    releases = tuple(releases)
    if len(releases) < 2 or len(set(releases)) != len(releases):
        raise ConfigError(f"a combination needs at least two different releases, got {releases}")
    for r in releases:
        if r not in release_names():
            raise UnknownNameError("COHERENT release", r, release_names())
    if {"coherent-csi-2017", "coherent-csi-2021"} <= set(releases):
        raise ConfigError("coherent-csi-2017 is contained in coherent-csi-2021 (the same "
                          "detector's data, re-analysed): combining both counts events twice")
    return releases


def _applies(name: str, model: ReleaseModel) -> bool:
    """Whether a parameter acts on a release: the neutron radius only on CsI (one R_n for Cs
    and I is not one for argon)."""
    par = name if name in FIT_PARAMETERS else resolve_parameter(name, list(FIT_PARAMETERS))[1]
    if par == "neutron_radius_fm":
        return {nuc.Z for nuc in model.nuclei} <= {53, 55}
    return True


class _FixedSignal:
    """The SM signal of a release on which the fitted parameter does not act."""

    def __init__(self, model: ReleaseModel):
        self.model = model
        self._sm = sm_signal(model)
        self.signal_sigma, self.sigma_pieces = signal_uncertainty(model)
        self.sm_value = math.nan

    def signal(self, values) -> NDArray[np.float64]:
        v = np.atleast_1d(np.asarray(values, dtype=float))
        return np.broadcast_to(self._sm, (v.size, self._sm.size))


def fit_combined(
    parameter: str,
    *,
    releases: Sequence[str] = DEFAULT_RELEASES,
    options: Mapping[str, Any] | None = None,
    fixed: Mapping[str, float] | None = None,
    scan_range: tuple[float, float] | None = None,
    points: int = 201,
    helm_skin_fm: float = RELEASE_HELM_SKIN_FM,
    mediator_mass_MeV: float | None = None,
    vector_charge: str | None = None,
) -> CombinedFit:
    """Fit one parameter on the combination of ``releases`` (shared flux nuisance).

    Parameters are named as for :func:`cevns.fits.fit_parameter`; ``n_cevns`` is one number per
    release and is refused. ``mediator_mass_MeV`` (default 10 MeV) and ``vector_charge`` (default
    ``"B-L"``) belong to the ``ngi_*_coupling`` parameters (the charge to ``ngi_vector_coupling``);
    given for another parameter they would change nothing and are refused (a scenario parameter
    such as ``ngi.coupling`` takes them as ``fixed={"mediator_mass_MeV": …}`` and
    ``options={"vector_charge": …}``).
    """
    start = time.perf_counter()
    releases = _check_releases(releases)
    check_ngi_options((parameter,), mediator_mass_MeV, vector_charge, caller="fit_combined")
    mediator_mass_MeV = 10.0 if mediator_mass_MeV is None else mediator_mass_MeV
    vector_charge = "B-L" if vector_charge is None else vector_charge
    if parameter in _PER_RELEASE:
        raise ConfigError(f"{parameter} is one number per release; fit it per release "
                          f"(cevns fit {releases[0]} -p {parameter})")
    check_points(points, None, COMBINED_RELEASE)  # the type; the memory with the bins below
    if parameter in FIT_PARAMETERS and (options or fixed or scan_range is not None):
        raise ConfigError(f"{parameter}: options, fixed values and a scan range apply to "
                          "scenario parameters (SCENARIO.PARAMETER) only")
    check_fit_request((parameter,), options=options, fixed=fixed, scan_range=scan_range,
                      vector_charge=vector_charge)
    models = {r: packaged_model(r, helm_skin_fm) for r in releases}
    check_points(points, sum(m.n_bins for m in models.values()),
                 f"{COMBINED_RELEASE} {parameter}")
    extra: dict[str, Any] = ({"mediator_mass_MeV": mediator_mass_MeV,
                              "vector_charge": vector_charge} if parameter in FIT_PARAMETERS
                             else {"options": options, "fixed": fixed, "scan_range": scan_range})
    signal_models: dict[str, Any] = {}
    applies = tuple(r for r in releases if _applies(parameter, models[r]))
    if not applies:
        raise ConfigError(f"{parameter} acts on none of {', '.join(releases)}")
    for r in applies:
        check_parameter(parameter, r)
    for r in releases:
        signal_models[r] = (make_signal_model(models[r], parameter, **extra) if r in applies
                            else _FixedSignal(models[r]))
    first = signal_models[applies[0]]
    spec = first.spec
    sigma_flux = flux_sigma(list(models.values()))
    rests = {r: rest_sigma(models[r], signal_models[r].signal_sigma) for r in releases}

    def combined(values: NDArray[np.float64], **kw) -> FluxProfile:
        parts = {r: (models[r], signal_models[r].signal(values), rests[r]) for r in releases}
        return profile_flux(parts, sigma_flux, **kw)

    grid = adaptive_grid(lambda g: combined(g).chi2, spec, first.initial_range, points,
                         COMBINED_RELEASE)
    prof = Profile1D(grid, combined(grid).chi2, parameter=spec.name, label=spec.label)
    one, limit, notes = summarise_profile(prof, spec)
    at_best = combined(np.array([prof.best]))
    skipped = [r for r in releases if r not in applies]
    if skipped:
        notes.append(f"{spec.name} acts on {', '.join(applies)} only; {', '.join(skipped)} "
                     "enter(s) at the SM and constrain the shared flux nuisance")
    return CombinedFit(spec.name, spec, prof, prof.best, one.lower, one.upper, limit,
                       float(at_best.flux[0]),
                       {r: float(v[0]) for r, v in at_best.by_release.items()},
                       signal_models, applies, dict(first.options),
                       time.perf_counter() - start, notes)


def fit_combined_release(
    parameters: str | Sequence[str] | None,
    *,
    releases: Sequence[str] = DEFAULT_RELEASES,
    out: str | Path | None = None,
    **kwargs: Any,
) -> CombinedResult:
    """Fit several parameters on the combination; optionally write the outputs to ``out``.

    ``parameters`` is a list of names, or one name as a string (default ``sin2_theta_w``)."""
    start = time.perf_counter()
    releases = _check_releases(releases)
    parameters = parameter_names(parameters) or ("sin2_theta_w",)
    fits: dict[str, CombinedFit] = {}
    for p in parameters:
        fit = fit_combined(p, releases=releases, **kwargs)
        if fit.name in fits:
            raise ConfigError(f"parameter {fit.name!r} named twice (aliases included)")
        fits[fit.name] = fit
    sigma = flux_sigma([packaged_model(r, kwargs.get("helm_skin_fm", RELEASE_HELM_SKIN_FM))
                        for r in releases])
    result = CombinedResult(releases, fits, sigma, time.perf_counter() - start)
    if out is not None:
        result.write(out)
    return result


# -- 2-D grids -----------------------------------------------------------------------------------


def _axis_values(name: str, values: Any) -> NDArray[np.float64]:
    """``values`` of a scanned parameter as a 1-D float array with at least one value; a
    ConfigError naming the axis for text, true/false, complex numbers, a masked array (its
    masked entries would be computed), scalars, empty or multi-dimensional arrays (the
    parameter's own range is checked by its :class:`~cevns.scenarios.Parameter`)."""
    if isinstance(values, (str, bytes)) or is_bool(values, recurse=True) \
            or np.iscomplexobj(values):
        raise ConfigError(f"{name}: values must be real numbers, got {values!r}")
    if is_text(values):  # ["1", "10"]: NumPy would read the text as numbers
        raise ConfigError(f"{name}: values must be numbers, got {values!r}")
    not_real_numbers(values, f"{name}: values", "real numbers")  # a masked array, dates
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: values must be numbers, got {values!r}") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ConfigError(f"{name}: values must be a non-empty 1-D array (one value per grid "
                          f"point of that axis); got shape {arr.shape}")
    return arr


def _checked_ties(choice: ScenarioChoice, ties: Mapping[str, Any] | None, x_name: str,
                  y_name: str, xs: NDArray[np.float64], ys: NDArray[np.float64],
                  fixed: Mapping[str, Any]) -> dict[str, tuple[str, float]]:
    """``ties`` as {parameter: (scanned parameter, ratio)}, checked: known, not scanned, not
    fixed, following a scanned parameter with a finite ratio ≠ 0, and its values
    (ratio × that axis) inside the tied parameter's range."""
    out: dict[str, tuple[str, float]] = {}
    for name, tie in dict(ties or {}).items():
        choice.scenario.check_names({name: 0.0})
        if not (isinstance(tie, (tuple, list)) and len(tie) == 2):
            raise ConfigError(f"ties.{name} must be (scanned parameter, ratio), got {tie!r}")
        to, ratio = tie
        if name in (x_name, y_name):
            raise ConfigError(f"ties.{name}: {name!r} is scanned; it cannot also be tied")
        if name in fixed:
            raise ConfigError(f"ties.{name}: {name!r} is also fixed ({fixed[name]!r}); a "
                              "parameter is either fixed or tied, not both")
        if to not in (x_name, y_name):
            raise ConfigError(f"ties.{name}: {to!r} is not a scanned parameter")
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float, np.integer,
                                                             np.floating)) \
                or not math.isfinite(ratio) or ratio == 0:
            raise ConfigError(f"ties.{name}: ratio = {ratio!r}; expected a finite number ≠ 0")
        try:
            choice.scenario.parameters[name].check(float(ratio) * (xs if to == x_name else ys))
        except ConfigError as err:
            raise ConfigError(f"ties.{name} = {float(ratio):g} × {to}: {err}") from None
        out[name] = (to, float(ratio))
    return out


def grid_parts(
    scenario: str,
    x_name: str,
    x_values: NDArray[np.float64],
    y_name: str,
    y_values: NDArray[np.float64],
    *,
    options: Mapping[str, Any] | None = None,
    fixed: Mapping[str, float] | None = None,
    ties: Mapping[str, tuple[str, float]] | None = None,
    releases: Sequence[str] = DEFAULT_RELEASES,
    helm_skin_fm: float = RELEASE_HELM_SKIN_FM,
    pairs: bool = False,
) -> tuple[dict[str, tuple[ReleaseModel, NDArray[np.float64], float | None]], float, bool]:
    """The inputs of :func:`profile_flux` for a grid: per release (model, signals, rest σ) with
    the "off" (SM) point first and then the grid in C order; σ_Φ; whether x and y were swapped
    (a strength x with a shape y). See :func:`combined_grid`.

    With ``pairs=True`` the points are the pairs (x_values[k], y_values[k]) (arrays of one
    length) instead of the outer grid, in that order after the "off" point."""
    releases = _check_releases(releases)
    if not isinstance(pairs, (bool, np.bool_)):
        raise ConfigError(f"pairs = {pairs!r}; expected true or false")
    xs, ys = _axis_values(x_name, x_values), _axis_values(y_name, y_values)
    if pairs and xs.shape != ys.shape:
        raise ConfigError(f"points as pairs need two 1-D arrays of one length; got shapes "
                          f"{xs.shape} and {ys.shape}")
    if x_name == y_name:
        raise ConfigError(f"{x_name!r} is both scanned parameters; a grid needs two different ones")
    for what, value in (("options", options), ("fixed", fixed), ("ties", ties)):
        if value is not None and not isinstance(value, Mapping):
            raise ConfigError(f"{what} must be a mapping of names (a dict), got {value!r}")
    choice = ScenarioChoice.build(scenario, options, fixed)
    px, py = choice.parameter(x_name), choice.parameter(y_name)
    px.check(xs)
    py.check(ys)
    ties = _checked_ties(choice, ties, x_name, y_name, xs, ys, dict(fixed or {}))
    transpose = px.kind == "strength" and py.kind == "shape"
    if transpose:
        x_name, y_name, xs, ys, px, py = y_name, x_name, ys, xs, py, px
    if px.kind == "shape" and py.kind == "shape":
        raise ConfigError(f"{scenario}: {x_name} and {y_name} are both shape parameters; a grid "
                          "needs at least one strength parameter")
    models = {r: packaged_model(r, helm_skin_fm) for r in releases}
    for r in releases:
        if not _applies(f"{scenario}.{x_name}", models[r]) or \
                not _applies(f"{scenario}.{y_name}", models[r]):
            raise ConfigError(f"{scenario}.{x_name}/{y_name}: not a parameter of every release")
    sigma_flux = flux_sigma(list(models.values()))
    scenario_obj = choice.scenario
    nx, ny = xs.size, ys.size
    strength_ties = {n: (to, ratio) for n, (to, ratio) in ties.items()
                     if scenario_obj.parameters[n].kind == "strength"}
    shape_ties = {n: (to, ratio) for n, (to, ratio) in ties.items() if n not in strength_ties}
    if shape_ties and (px.kind != "shape"
                       or any(to != x_name for to, _ in shape_ties.values())):
        raise ConfigError("a tied shape parameter must follow the shape parameter of the grid "
                          f"(ties.{next(iter(shape_ties))})")

    def strengths(n_points: int, x_of_point: NDArray[np.float64],
                  y_of_point: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
        """The strength arrays of points whose scanned values are (x, y): the scanned strength,
        the strengths tied to either axis, the rest fixed or at their defaults."""
        axis = {x_name: x_of_point, y_name: y_of_point}
        scanned = {n: v for n, v in axis.items() if scenario_obj.parameters[n].kind == "strength"}
        scanned.update({n: ratio * axis[to] for n, (to, ratio) in strength_ties.items()})
        return choice.strength(n_points, **scanned)
    parts = {}
    # pairs: the distinct shape values once each (sorted), then every pair's own
    shape_values, which = np.unique(xs, return_inverse=True) if pairs else (xs, None)
    for r, model in models.items():
        if px.kind == "shape":
            if shape_ties:
                per_x = np.stack([term_counts(model, scenario_obj, choice.shape_point(
                    **{x_name: float(x)}, **{n: ratio * float(x)
                                             for n, (_, ratio) in shape_ties.items()}))
                    for x in shape_values])
            else:
                per_x = term_counts_over(model, choice, x_name, shape_values)
            if pairs:
                coeff = scenario_obj.coefficients(strengths(ys.size, xs, ys))
                signal = contract(scenario_obj, coeff, per_x[np.ravel(which)])
            elif any(to == x_name for to, _ in strength_ties.values()):  # strengths vary with x
                signal = np.stack([contract(scenario_obj, scenario_obj.coefficients(
                    strengths(ny, np.full(ny, xs[i]), ys)), per_x[i]) for i in range(nx)])
            else:
                coeff = scenario_obj.coefficients(strengths(ny, np.full(ny, np.nan), ys))
                signal = np.stack([contract(scenario_obj, coeff, per_x[i]) for i in range(nx)])
        else:
            per_term = term_counts(model, scenario_obj, choice.shape_point())
            gx, gy = (xs, ys) if pairs else np.meshgrid(xs, ys, indexing="ij")
            coeff = scenario_obj.coefficients(strengths(gx.size, gx.ravel(), gy.ravel()))
            signal = contract(scenario_obj, coeff, per_term)
        # the "off" point first: the early-stop reference and the Δχ² floor
        off = contract(scenario_obj, scenario_obj.coefficients(choice.strength(1)),
                       term_counts(model, scenario_obj, choice.shape_point()))
        flat = np.concatenate([off, signal.reshape(xs.size if pairs else nx * ny, -1)])
        parts[r] = (model, flat, rest_sigma(model, signal_uncertainty(model)[0]))
    return parts, sigma_flux, transpose


def combined_grid(
    scenario: str,
    x_name: str,
    x_values: NDArray[np.float64],
    y_name: str,
    y_values: NDArray[np.float64],
    *,
    options: Mapping[str, Any] | None = None,
    fixed: Mapping[str, float] | None = None,
    ties: Mapping[str, tuple[str, float]] | None = None,
    releases: Sequence[str] = DEFAULT_RELEASES,
    helm_skin_fm: float = RELEASE_HELM_SKIN_FM,
    level: float | None = None,
    tol: float = _TOL,
) -> NDArray[np.float64]:
    """Combined Δχ² of a scenario on the outer grid ``x_values × y_values``, shape (nx, ny).

    One of x, y is a shape parameter (mediator mass, sterile mass, Δm²) or both are strengths.
    Δχ² is taken from the minimum over the grid and the scenario's "off" point (every strength at
    its default, the SM), so that a grid which does not reach down to the SM still has Δχ² ≥ 0
    relative to it.

    Parameters
    ----------
    scenario : str
        Registered scenario name.
    x_name, y_name : str
        Scanned parameters.
    x_values, y_values : ndarray
        Grids in the parameters' units.
    options, fixed : mapping, optional
        Scenario options and fixed parameter values (as in an analysis file).
    ties : mapping, optional
        Parameter → (scanned parameter, ratio): value = ratio × that parameter (e.g. m₄ = 0.5 m_X).
    releases : sequence of str
    level : float or None
        Early stop of the profiles above this Δχ² (values above it are upper bounds within 0.1 % of
        their excess); None (default): profile every point to convergence (on these grids the
        early stop saves nothing measurable).
    tol : float
        Convergence of the profiles (:func:`profile_flux`).
    """
    off, chi2 = combined_chi2(scenario, x_name, x_values, y_name, y_values, options=options,
                              fixed=fixed, ties=ties, releases=releases,
                              helm_skin_fm=helm_skin_fm, level=level, tol=tol)
    return chi2 - min(off, float(np.min(chi2)))


def combined_chi2(
    scenario: str,
    x_name: str,
    x_values: NDArray[np.float64],
    y_name: str,
    y_values: NDArray[np.float64],
    *,
    pairs: bool = False,
    options: Mapping[str, Any] | None = None,
    fixed: Mapping[str, float] | None = None,
    ties: Mapping[str, tuple[str, float]] | None = None,
    releases: Sequence[str] = DEFAULT_RELEASES,
    helm_skin_fm: float = RELEASE_HELM_SKIN_FM,
    level: float | None = None,
    tol: float = _TOL,
) -> tuple[float, NDArray[np.float64]]:
    """The profiled combined χ² itself (not Δχ²): ``(χ² at the scenario's "off" point (the SM),
    χ² at the points)``, the points being the outer grid ``x_values × y_values`` (shape (nx, ny))
    or, with ``pairs=True``, the pairs (x_values[k], y_values[k]) (shape (K,)). Arguments as in
    :func:`combined_grid`, which is this minus the smallest of these values. With ``level``, the
    early stop is relative to the off point, so that points computed in separate calls (a grid,
    then pairs near its contour) share one reference."""
    if level is not None and (isinstance(level, bool) or not isinstance(
            level, (int, float, np.integer, np.floating)) or not (math.isfinite(level)
                                                                   and level > 0)):
        raise ConfigError(f"level = {level!r}; expected a finite Δχ² above 0 (the early-stop "
                          "threshold) or None")
    parts, sigma_flux, transpose = grid_parts(
        scenario, x_name, x_values, y_name, y_values, options=options, fixed=fixed, ties=ties,
        releases=releases, helm_skin_fm=helm_skin_fm, pairs=pairs)
    if all(np.array_equal(signal[1:], np.broadcast_to(signal[:1], signal[1:].shape))
           for _, signal, _ in parts.values()):
        warnings.warn(f"{scenario}: no point of the grid changes the prediction of "
                      f"{', '.join(parts)} from the scenario's off point (the SM) — e.g. a "
                      "sterile mass beyond every release's reach, or strengths at their "
                      "defaults: Δχ² = 0 everywhere, no constraint", CevnsWarning, stacklevel=2)
    chi2 = profile_flux(parts, sigma_flux, level=level, tol=tol).chi2
    if pairs:
        return float(chi2[0]), chi2[1:]
    nx, ny = np.size(x_values), np.size(y_values)
    if transpose:
        nx, ny = ny, nx
    grid = chi2[1:].reshape(nx, ny)
    return float(chi2[0]), grid.T if transpose else grid
