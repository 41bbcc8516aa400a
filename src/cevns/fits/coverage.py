"""Toy-MC coverage and bias of the fits to the COHERENT releases (docs/statistics.md §6).

For one release and one fit parameter the toys are generated from the release's own likelihood
(:meth:`ReleaseModel.channels` with the signal of :func:`make_signal_model`) at the parameter's
SM value, with the nuisances drawn from their constraints, and fitted exactly as the data are
(profile over every nuisance on a grid of the parameter, parabola-refined minimum, Δχ² = 1 and
2.71 intervals, or Feldman–Cousins critical values with ``interval_method="fc"``). The toys run
through :func:`cevns.stats.toys.run_toys`, i.e. through the scan executors (serial, processes,
dask), and the same seed gives the same numbers on every executor.

The driver only uses the public API of :mod:`cevns.fits` (``ReleaseModel(load_release(name))``,
``make_signal_model``, ``ReleaseModel.channels``, ``ReleaseModel.asimov``), so it follows the
release likelihoods as they change.

>>> from cevns.fits.coverage import release_coverage
>>> res = release_coverage("coherent-csi-2017", "n_cevns", n_toys=64)  # doctest: +SKIP
>>> abs(res.coverage_68 - 0.683) < 4 * res.coverage_68_err  # doctest: +SKIP
True
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cevns.errors import ConfigError, finite_number
from cevns.stats import Channel, Profile1D, profile_chi2
from cevns.stats.toys import (
    CoverageResult,
    IntervalMethod,
    NuisanceMode,
    ToyModel,
    _whole,
    run_toys,
)

# CoverageResult is re-exported for convenience but documented in cevns.stats.toys (listing it
# here would make autodoc/viewcode attribute that module's source to this one).
__all__ = [
    "coverage_table",
    "coverage_table_from_json",
    "release_coverage",
    "release_poi_grid",
    "release_toy_channels",
    "release_toy_model",
]

#: Δχ² half-range of the POI grid of the toys around the truth (from the Asimov profile): toys
#: whose minimum lies beyond it are counted as failed when undecidable (n_failed).
GRID_DELTA_CHI2 = 25.0
#: Points of the POI grid.
GRID_POINTS = 81


@functools.lru_cache(maxsize=4)
def _release_model(release: str):
    from cevns.datasets.coherent import load_release
    from cevns.fits.model import ReleaseModel

    return ReleaseModel(load_release(release))


@functools.lru_cache(maxsize=8)
def _signal_model(release: str, parameter: str):
    from cevns.fits.parameters import make_signal_model

    return make_signal_model(_release_model(release), parameter)


def release_toy_channels(poi: NDArray[np.float64], release: str, parameter: str) -> list[Channel]:
    """The release's channels with the signal of ``parameter`` on the grid ``poi`` (a toy-model
    factory for :class:`cevns.stats.toys.ToyModel`; observed counts are those of the data and
    are replaced by the toys)."""
    sm = _signal_model(release, parameter)
    return sm.model.channels(sm.signal(np.asarray(poi, dtype=float)),
                             signal_sigma=sm.signal_sigma)


def release_toy_model(release: str, parameter: str) -> ToyModel:
    """The :class:`~cevns.stats.toys.ToyModel` of one release and fit parameter."""
    return ToyModel("cevns.fits.coverage:release_toy_channels",
                    {"release": release, "parameter": parameter}, parameter=parameter)


def release_poi_grid(
    release: str, parameter: str, truth: float | None = None, *,
    delta_chi2: float = GRID_DELTA_CHI2, points: int = GRID_POINTS,
) -> tuple[NDArray[np.float64], float]:
    """POI grid for the toys and the truth: the Asimov data set at ``truth`` (default: the
    parameter's SM value) is profiled, and the grid spans its Δχ² ≤ ``delta_chi2`` region
    (clipped to the parameter's physical bounds), ``points`` points plus the truth.

    ``delta_chi2`` must be a Δχ² > 0 large enough that the region holds a point of the Asimov
    scan; ``points`` a whole number ≥ 3 (the toys' minimum is refined by a parabola through
    three grid points)."""
    if truth is not None:
        truth = finite_number(truth, "truth", "a finite number or None (the SM value)")
    delta_chi2 = finite_number(delta_chi2, "delta_chi2", "a Δχ² value > 0", ok=lambda v: v > 0)
    if not _whole(points, 3):
        raise ConfigError(f"points must be a whole number ≥ 3 (grid points of the toys), got "
                          f"{points!r}")
    sm = _signal_model(release, parameter)
    truth = float(sm.sm_value if truth is None else truth)
    asimov = sm.model.asimov(sm.signal([truth])[0])
    spec = sm.spec
    lo, hi = sm.initial_range
    for _ in range(8):
        x = np.linspace(lo, hi, 121)
        chi2 = profile_chi2(asimov.channels(sm.signal(x), signal_sigma=sm.signal_sigma),
                            warn=False).chi2
        profile = Profile1D(x, chi2, parameter=parameter)
        if not profile.interval(delta_chi2):
            raise ConfigError(f"{release}/{parameter}: delta_chi2 = {delta_chi2:g} is too small: "
                              f"the Asimov Δχ² ≤ {delta_chi2:g} region holds no point of a "
                              f"{x.size}-point scan of [{lo:.4g}, {hi:.4g}] (the default is "
                              f"{GRID_DELTA_CHI2:g})")
        region = profile.allowed_range(delta_chi2)
        grow_lo = region.lower_open and (spec.lower is None or lo > spec.lower)
        grow_hi = region.upper_open and (spec.upper is None or hi < spec.upper)
        if not (grow_lo or grow_hi):
            break
        width = hi - lo
        lo, hi = lo - width * grow_lo, hi + width * grow_hi
        if spec.lower is not None:
            lo = max(lo, spec.lower)
        if spec.upper is not None:
            hi = min(hi, spec.upper)
    else:
        raise ConfigError(f"{release}/{parameter}: the Asimov Δχ² ≤ {delta_chi2:g} region is not "
                          f"closed within [{lo:.4g}, {hi:.4g}]")
    if not region.lower <= truth <= region.upper or not region.lower < region.upper:
        raise ConfigError(f"{release}/{parameter}: delta_chi2 = {delta_chi2:g} is too small: the "
                          f"Asimov Δχ² ≤ {delta_chi2:g} region [{region.lower:.6g}, "
                          f"{region.upper:.6g}] resolved on a {x.size}-point scan does not span "
                          f"the truth {truth:.6g} (the default is {GRID_DELTA_CHI2:g})")
    grid = np.linspace(region.lower, region.upper, int(points))
    return np.union1d(grid, [truth]), truth


def release_coverage(
    release: str,
    parameter: str,
    n_toys: int = 1000,
    *,
    executor: Any = "serial",
    seed: int = 0,
    truth: float | None = None,
    nuisances: NuisanceMode = "sampled",
    interval_method: IntervalMethod = "wilks",
    fc_toys: int = 1000,
    toys_per_tile: int = 128,
) -> CoverageResult:
    """Coverage of the 68.27 % and 90 % intervals, bias and pull width of one fitted parameter.

    Parameters
    ----------
    release : str
        Release name, e.g. ``"coherent-csi-2021"``.
    parameter : str
        A fit parameter (:data:`cevns.fits.FIT_PARAMETERS`), e.g. ``"n_cevns"``.
    n_toys : int
        Toys (≥ 1000 for the published table).
    executor : str, mapping or Executor
        ``"serial"``, ``"processes"``, ``"dask"`` … (:func:`cevns.scan.make_executor`).
    seed : int
        Same seed, same toys and same numbers on every executor.
    truth : float, optional
        Generated value (default: the parameter's SM value).
    nuisances : {"sampled", "fixed"}
        True nuisances drawn from their constraints (default) or at 0.
    interval_method : {"wilks", "fc"}
        Wilks levels or Feldman–Cousins critical values (``fc_toys`` toys per grid point).

    Returns
    -------
    CoverageResult
        ``coverage_68``, ``coverage_68_err``, ``coverage_90``, ``bias_sigma``, ``pull_width``,
        ``n_toys``, ``n_failed`` and more.
    """
    grid, truth = release_poi_grid(release, parameter, truth)
    return run_toys(release_toy_model(release, parameter), grid, truth, n_toys, seed=seed,
                    nuisances=nuisances, interval_method=interval_method, fc_toys=fc_toys,
                    executor=executor, toys_per_tile=toys_per_tile)


def _fmt(value: float, digits: int = 3) -> str:
    return "—" if not math.isfinite(value) else f"{value:.{digits}f}"


def coverage_table(
    results: Iterable[tuple[str, CoverageResult]] | None = None,
    *,
    releases: Sequence[str] = ("coherent-csi-2017", "coherent-csi-2021", "coherent-lar-2020"),
    parameters: Sequence[str] = ("n_cevns", "sin2_theta_w"),
    n_toys: int = 1000,
    executor: Any = "serial",
    seed: int = 0,
) -> str:
    """A Markdown table of coverage, bias and pull width per release and parameter.

    Parameters
    ----------
    results : iterable of (release, CoverageResult), optional
        Results already computed; default: compute them with :func:`release_coverage` for every
        release × parameter (parameters a release does not support are skipped).
    releases, parameters, n_toys, executor, seed
        What to compute when ``results`` is not given.

    Returns
    -------
    str
        Markdown (a header line, a separator and one row per result).
    """
    if results is None:
        from cevns.datasets.coherent import release_names
        from cevns.errors import UnknownNameError
        from cevns.fits.parameters import FIT_PARAMETERS
        from cevns.fits.scenario_signal import resolve_parameter

        releases = _names(releases, "releases", "release names")
        parameters = _names(parameters, "parameters", "fit parameter names")
        for rel in releases:
            if rel not in release_names():
                raise UnknownNameError("COHERENT release", rel, release_names())
        for par in parameters:
            if par not in FIT_PARAMETERS:
                resolve_parameter(par, list(FIT_PARAMETERS))  # raises, listing the valid names
        computed = []
        for rel in releases:
            for par in parameters:
                spec = FIT_PARAMETERS.get(par)
                if spec is not None and spec.releases is not None and rel not in spec.releases:
                    continue  # not fitted for this release
                computed.append((rel, release_coverage(rel, par, n_toys, executor=executor,
                                                       seed=seed)))
        results = computed
    elif isinstance(results, str | bytes | Mapping) or not isinstance(results, Iterable):
        raise ConfigError(f"results must be an iterable of (release, CoverageResult) pairs, got "
                          f"{type(results).__name__} {results!r}")
    rows = []
    for item in results:
        if not (isinstance(item, tuple | list) and len(item) == 2
                and isinstance(item[0], str) and isinstance(item[1], CoverageResult)):
            raise ConfigError(f"results must hold (release, CoverageResult) pairs, got {item!r}")
        rows.append((item[0], item[1].row()))
    return _markdown(rows)


def _names(value: object, name: str, what: str) -> tuple[str, ...]:
    """A sequence of names as a tuple; one name given as a string (which would be read letter by
    letter) and anything else refused with a :class:`ConfigError` naming ``name``."""
    if isinstance(value, str):
        raise ConfigError(f"{name} must be a sequence of {what}, got the single string "
                          f"{value!r}; write ({value!r},) or [{value!r}]")
    if not isinstance(value, Iterable) or isinstance(value, Mapping):
        raise ConfigError(f"{name} must be a sequence of {what}, got {type(value).__name__} "
                          f"{value!r}")
    names = tuple(value)
    if not names or not all(isinstance(v, str) for v in names):
        raise ConfigError(f"{name} must be a non-empty sequence of {what}, got {value!r}")
    return names


def _markdown(rows: Iterable[tuple[str, Mapping[str, Any]]]) -> str:
    """Markdown table from (release, :meth:`CoverageResult.row`-like dict) pairs."""
    head = ("| release | parameter | truth | toys (failed) | coverage 68.3 % | coverage 90 % | "
            "bias [σ] | pull width | intervals |")
    lines = [head, "|" + "---|" * 9]
    for rel, r in rows:
        lines.append(
            f"| {rel} | {r['parameter']} | {r['truth']:.6g} | {r['n_toys']} ({r['n_failed']}) | "
            f"{_fmt(r['coverage_68'])} ± {_fmt(r['coverage_68_err'])} | "
            f"{_fmt(r['coverage_90'])} ± {_fmt(r['coverage_90_err'])} | "
            f"{_fmt(r['bias_sigma'])} ± {_fmt(r['bias_sigma_err'])} | {_fmt(r['pull_width'])} | "
            f"{r['interval_method']}, nuisances {r['nuisances']}"
            + (f"; fitter: {r['fitter']}" if r.get("fitter") else "") + " |")
    return "\n".join(lines) + "\n"


#: Keys of a row of ``docs/coherent_coverage.json`` (scripts/coherent_coverage.py) that differ
#: from those of :meth:`CoverageResult.row`.
_JSON_KEYS = {"coverage": "coverage_68", "coverage_err": "coverage_68_err"}


def coverage_table_from_json(data: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    """The Markdown table of :func:`coverage_table` from the JSON written by
    ``scripts/coherent_coverage.py`` (release → parameter → row), in the file's order."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"data must be the JSON object release → parameter → row, got "
                          f"{type(data).__name__} {data!r}")
    rows = []
    for rel, params in data.items():
        if not isinstance(params, Mapping):
            raise ConfigError(f"coverage JSON {rel}: must map parameter → row, got "
                              f"{type(params).__name__} {params!r}")
        for par, entry in params.items():
            if not isinstance(entry, Mapping):
                raise ConfigError(f"coverage JSON {rel}/{par}: a row must be an object, got "
                                  f"{type(entry).__name__} {entry!r}")
            row = {_JSON_KEYS.get(k, k): v for k, v in entry.items()}
            row.setdefault("parameter", par)
            missing = {"truth", "n_toys", "n_failed", "coverage_68", "coverage_68_err",
                       "coverage_90", "coverage_90_err", "bias_sigma", "bias_sigma_err",
                       "pull_width", "interval_method", "nuisances"} - set(row)
            if missing:
                raise ConfigError(f"coverage JSON {rel}/{par}: missing {sorted(missing)}")
            rows.append((rel, {k: (math.nan if v is None else v) for k, v in row.items()}))
    return _markdown(rows)
