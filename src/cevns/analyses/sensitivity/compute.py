"""The computation of the sensitivity kinds: χ² grids, scan tiles and the scan store.

:func:`chi2_grid` is a pure function of a :class:`~cevns.analyses.sensitivity.schema.SensitivityCompute`
(and the values of the first axis), so the scan layer can run it tile by tile on any executor;
:func:`scan_chi2` runs it through the scan layer into a store keyed on the digest of that
sub-model (:func:`compute_config`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cevns.analyses.base import RunOptions
from cevns.analyses.sensitivity.schema import (
    SensitivityBase,
    SensitivityCompute,
    Tie,
    Variant,
)
from cevns.errors import ConfigError
from cevns.stats import chi2_at, profile_chi2, signal_background_channel

__all__ = ["chi2_grid", "compute_config", "ngi_benchmark_case", "scan_chi2", "tile_axis"]


def _values_for(scenario, grid: dict[str, np.ndarray], fixed: dict[str, float],
                ties: dict[str, Tie]) -> dict[str, Any]:
    values: dict[str, Any] = dict(fixed)
    values.update(grid)
    for name, tie in ties.items():
        if tie.to not in grid:
            raise ConfigError(f"ties.{name}.to: {tie.to!r} is not a scanned parameter "
                              f"({', '.join(grid)})")
        values[name] = tie.ratio * grid[tie.to]
    scenario.check_names(values)
    return values


def chi2_grid(an: SensitivityBase | SensitivityCompute, first_axis: np.ndarray | None = None, *,
              quick: bool = False, variant: Variant | None = None,
              stop_level: float | None = None,
              with_status: bool = False) -> dict[str, np.ndarray]:
    """Profiled χ² of every detector (and ``"combined"``) on the analysis grid; only
    ``"combined"`` when the compute sub-model is ``combined_only``.

    Parameters
    ----------
    an : SensitivityBase or SensitivityCompute
        The analysis, or directly its compute sub-model (then `quick`, `variant` and `stop_level`
        are those it holds and must not be given).
    first_axis : ndarray, optional
        Values of the first axis to compute (a tile); default the whole axis.
    quick : bool
        Coarse grids.
    variant : Variant, optional
        Exclusion-plot variant (scenario options, fixed values, ties, detector overrides, stats).
    stop_level : float, optional
        Δχ² above which profiling may stop early (default: every level of the analysis, ≥ 25);
        values above it are accurate to 0.1 % of the excess.
    with_status : bool
        Also return ``status_<name>`` → profiler status per point (0 converged, 1 above level,
        2 unconverged).

    Returns
    -------
    dict
        Detector name → χ² array of the grid shape (one axis per scanned parameter).
    """
    if isinstance(an, SensitivityCompute):
        if quick or variant is not None or stop_level is not None:
            raise ConfigError("chi2_grid: quick, variant and stop_level are part of a "
                              "SensitivityCompute; give them to SensitivityBase.compute")
        comp = an
    else:
        comp = an.compute(variant, quick=quick, stop_level=stop_level)
    coords = None if first_axis is None else {comp.axes[0].parameter: first_axis}
    return _chi2(comp, _built(comp), coords, with_status)


def _built(comp: SensitivityCompute) -> tuple[Any, Any, list]:
    """(scenario, source, detectors) of a compute sub-model."""
    return comp.scenario.build(), comp.source.build(), comp.build_detectors()


def _chi2(comp: SensitivityCompute, built, coords: dict[str, np.ndarray] | None,
          with_status: bool) -> dict[str, np.ndarray]:
    grid = comp.grids()
    for name, values in (coords or {}).items():  # a tile: a block of the grid
        grid[name] = np.asarray(values, dtype=float)
    scenario, src, dets = built
    stats = comp.stats
    channels = []
    chi2 = {}
    for det in dets:
        truth_vals = dict(comp.truth)
        scenario.check_names(truth_vals)
        observed_signal = scenario.counts(det, src, truth_vals)
        if not float(np.sum(observed_signal)) > 0.0:
            # every Δχ² of this detector would be 0: a scan that constrains nothing, not a result
            raise ConfigError(f"detector {det.name} expects no CEvNS events from source {src.name} "
                              "at the truth point (no neutrino gives a recoil above its threshold "
                              "and inside its bins): it cannot constrain anything; remove it, or "
                              "check its threshold and the source's energies")
        background = det.background_counts(src)
        observed = observed_signal + background
        if comp.ties:
            # tied parameters follow a scanned one: evaluate point by point on the outer grid
            names = list(grid)
            mesh = np.meshgrid(*(grid[n] for n in names), indexing="ij")
            vals = _values_for(scenario, dict(zip(names, mesh, strict=True)), comp.fixed,
                               comp.ties)
            signal = scenario.counts(det, src, vals, grid="broadcast")
        else:
            vals = _values_for(scenario, grid, comp.fixed, comp.ties)
            signal = scenario.counts(det, src, vals, grid="outer")
        ch = signal_background_channel(det.name, observed, signal, background,
                                       sigma_alpha=stats.sigma_signal,
                                       sigma_beta=stats.sigma_background,
                                       shared_signal=stats.shared_signal)
        channels.append(ch)
    # Early stop (docs/statistics.md): points certainly above the highest level are not iterated
    # to the end. The reference bounds min Σ_d χ²_d from above, so the decision also holds for
    # the combination; the status (0 converged, 1 above level, 2 unconverged) is carried along.
    reference = float(np.min(sum(chi2_at(c) for c in channels)))
    stop = {"level": comp.stop_level, "reference": reference}
    joint = stats.combine and len(dets) > 1 and stats.shared_signal
    if not (joint and comp.combined_only):
        for det, ch in zip(dets, channels, strict=True):
            res = profile_chi2([ch], **stop)
            chi2[det.name], chi2[f"status_{det.name}"] = res.chi2, res.status
    if stats.combine and len(dets) > 1:
        if joint:
            res = profile_chi2(channels, **stop)
            chi2["combined"], chi2["status_combined"] = res.chi2, res.status
        else:
            chi2["combined"] = sum(chi2[d.name] for d in dets)
            chi2["status_combined"] = np.max([chi2[f"status_{d.name}"] for d in dets], axis=0)
    return chi2 if with_status else {k: v for k, v in chi2.items() if not k.startswith("status_")}


#: Parsed compute sub-models of the tasks this process has run, with their scenario, source and
#: detectors, by the digest of their JSON — a per-worker cache: every tile of a scan carries the
#: same config, so a worker parses and builds it once. Keyed on everything the parse depends on;
#: bounded (oldest dropped first).
_PARSED: dict[str, tuple[SensitivityCompute, tuple]] = {}
_PARSED_MAX = 16


def _parsed(config: dict) -> tuple[SensitivityCompute, tuple]:
    from cevns.scan import config_digest

    key = config_digest(config)
    hit = _PARSED.get(key)
    if hit is None:
        # the sub-model carries the resolved definitions of every detector and the source: the
        # task is independent of the worker's CEVNS_PRESETS
        comp = SensitivityCompute.model_validate(config["compute"])
        hit = (comp, _built(comp))
        while len(_PARSED) >= _PARSED_MAX:
            _PARSED.pop(next(iter(_PARSED)))
        _PARSED[key] = hit
    return hit


def _grid_task(config: dict, tile) -> dict[str, np.ndarray]:
    """Scan-layer task: χ² of every detector on one tile (a block of the grid, cut along one
    axis: :func:`tile_axis`).

    A pure function of (config, tile), so it runs on any executor and resumes tile by tile. The
    parsed compute sub-model is cached per process (keyed on the config's digest).
    """
    comp, built = _parsed(config)
    return _chi2(comp, built, tile.coords, with_status=True)


def tile_axis(an: SensitivityBase) -> int:
    """The axis a scan of `an` is cut along: its first *shape* axis (each of its values needs new
    basis spectra, so a tile of a block of them builds each once), else the first axis.

    A Δm² × sin²2θ scan (Fig. 9) cut along sin²2θ would rebuild every Δm² basis in every tile.
    """
    params = an.scenario.build().parameters
    for i, ax in enumerate(an.axes()):
        p = params.get(ax.parameter)
        if p is not None and p.kind == "shape":
            return i
    return 0


def _fits_per_point(compute: dict) -> int:
    """:func:`~cevns.analyses.scan_plan.fits_per_point` of a compute sub-model's JSON."""
    from cevns.analyses.scan_plan import fits_per_point

    stats = compute["stats"]
    return fits_per_point(len(compute["detectors"]), combine=stats["combine"],
                          shared_signal=stats["shared_signal"],
                          combined_only=bool(compute.get("combined_only")))


def _planned_tile_shapes(shapes: list[tuple[int, ...]], axes: list[int], n_detectors: int,
                         workers: int) -> list[tuple[int, ...]]:
    """:func:`~cevns.analyses.scan_plan.plan_tile_shapes` with each scan cut along its own axis."""
    from cevns.analyses.scan_plan import plan_tile_shapes

    moved = [(shape[a], *(n for i, n in enumerate(shape) if i != a))
             for shape, a in zip(shapes, axes, strict=True)]
    planned = plan_tile_shapes(moved, n_detectors, workers)
    out = []
    for shape, a, tile in zip(shapes, axes, planned, strict=True):
        t = list(shape)
        t[a] = tile[0]
        out.append(tuple(t))
    return out


def compute_config(an: SensitivityBase, variant_index: int | None, quick: bool,
                   full: bool = False) -> dict:
    """``{"compute": …}``: the JSON form of :meth:`SensitivityBase.compute` — the whole input of
    a scan task, and what the scan store's digest is taken over.

    Two analyses that differ only in presentation (title, labels, panels, tables, levels drawn,
    overlays) share it, and therefore share one scan store within a run. With `full` a
    ``combined_only`` computation takes its full version (every detector's fit too): the
    combined χ² is the same array (:func:`shares_full_twin`).
    """
    comp = an.compute(variant_index, quick=quick)
    if full and comp.combined_only:
        comp = comp.model_copy(update={"combined_only": False})
    return {"compute": comp.model_dump(mode="json")}


def shares_full_twin(an: SensitivityBase, variant_index: int | None, quick: bool,
                     full_twins: frozenset[str] | set[str]) -> bool:
    """True if `an`'s variant is ``combined_only`` and another analysis of the run asks for its
    full version (its digest in `full_twins`, :func:`full_twin_digests`): one store then serves
    both."""
    if not full_twins:
        return False
    comp = an.compute(variant_index, quick=quick)
    return comp.combined_only and _digest_of(
        comp.model_copy(update={"combined_only": False})) in full_twins


def _digest_of(comp: SensitivityCompute) -> str:
    from cevns.scan import config_digest

    return config_digest({"compute": comp.model_dump(mode="json")})


def full_twin_digests(analyses, quick: bool) -> frozenset[str]:
    """Digests of the full computations (every detector's fit, not ``combined_only``) that the
    sensitivity analyses among `analyses` ask for, when some other one is ``combined_only`` (else
    empty: nothing to share). Figs. 16 and 19–23 draw per detector what Figs. 6 and 10–14 draw
    combined; within one ``cevns reproduce`` each pair then shares one store. Exclusion grids are
    taken as they are computed: refined per variant around kinematic end points
    (:func:`cevns.analyses.edges.refined_exclusion`)."""
    from cevns.analyses.edges import refined_exclusion

    pairs = [(an, v) for an in analyses if isinstance(an, SensitivityBase)
             for v in (range(len(an.variants)) if getattr(an, "variants", ()) else (None,))]

    def only(an, v):
        return an.combined_only(an.variant_stats(None if v is None else an.variants[v]))

    if not any(only(an, v) for an, v in pairs):
        return frozenset()
    return frozenset(
        _digest_of((refined_exclusion(an, v, quick) if an.kind == "exclusion" else an)
                   .compute(v, quick=quick))
        for an, v in pairs if not only(an, v))


def scan_chi2(an: SensitivityBase, out: Path, options: RunOptions,
              variant_index: int | None = None,
              per_variant: dict[int, SensitivityBase] | None = None) -> dict[str, np.ndarray]:
    """:func:`chi2_grid` run through the scan layer: tiles, executor, resumable store.

    The store is ``<scan root>/<kind>-<digest>``, the digest being that of
    :func:`compute_config`; the scan root is ``out/scans`` unless the caller shares one across
    analyses (``options.extra["scan_root"]``, as ``cevns reproduce`` does). A store completed
    earlier in the same run is reused; otherwise, with ``options.resume`` only missing tiles are
    computed, and without it the store is recomputed.

    With a `variant_index`, the first call computes *every* variant of the analysis in one batch
    (:func:`cevns.scan.run_scans`: all their tiles in one queue, so that no worker idles at the
    end of a variant) and keeps the others' grids for the calls that follow. Tile sizes come from
    the cost model of :mod:`cevns.analyses.scan_plan` (tasks of 0.3–1 s, several per worker),
    cut along the first shape axis (:func:`tile_axis`); a resumed store keeps its own.
    `per_variant` gives the analysis to use for each variant of the batch where it differs from
    `an` (exclusion grids refined per variant around kinematic end points,
    :mod:`cevns.analyses.edges`).
    """
    from cevns.analyses.scan_plan import executor_workers
    from cevns.scan import Grid, ScanRequest, ScanStore, config_digest, run_scans

    per_variant = per_variant or {}

    def analysis_of(v):
        return per_variant.get(v, an)

    root = Path(options.extra.get("scan_root", out / "scans"))
    done_here = options.extra.setdefault("stores_completed", set())
    kept = options.extra.setdefault("scan_results", {})
    batch = [variant_index] if variant_index is None else list(range(len(an.variants)))
    grids = {v: Grid({ax.parameter: ax.grid(options.quick) for ax in analysis_of(v).axes()})
             for v in batch}
    # a combined-only variant whose full version another analysis of the run computes shares its
    # store (full_twin_digests)
    twins = options.extra.get("full_twins", frozenset())
    configs = {v: compute_config(analysis_of(v), v, options.quick,
                                 full=shares_full_twin(analysis_of(v), v, options.quick, twins))
               for v in batch}
    stores = {v: root / f"{an.kind}-{config_digest(configs[v])[:16]}" for v in batch}
    if str(stores[variant_index]) in kept:
        return kept.pop(str(stores[variant_index]))
    batch = [v for v in batch if v == variant_index or str(stores[v]) not in kept]

    executor = options.extra.get("executor_object", options.executor)
    shapes = _planned_tile_shapes([grids[v].shape for v in batch],
                                  [tile_axis(analysis_of(v)) for v in batch],
                                  max(_fits_per_point(configs[v]["compute"]) for v in batch),
                                  executor_workers(executor))
    requests = []
    for v, tile_shape in zip(batch, shapes, strict=True):
        label = an.name if v is None else f"{an.name} [{an.variants[v].label}]"

        def progress(done: int, total: int, label: str = label) -> None:
            if options.progress:
                options.progress(label, done, total)

        store = stores[v]
        resume = options.resume or str(store) in done_here
        if resume and ScanStore.is_store(store):
            tile_shape = None  # a resumed store keeps the tile shape it was cut with
        # no result.nc: the runners write the grids as CF netCDF themselves (analyses/cf.py)
        requests.append(ScanRequest(_grid_task, grids[v], configs[v], store, tile_shape=tile_shape,
                                    resume=resume, overwrite=not resume, progress=progress,
                                    export=False))
    datasets = run_scans(requests, executor=executor)
    result = {}
    for v, ds in zip(batch, datasets, strict=True):
        done_here.add(str(stores[v]))
        chi2 = {name: np.asarray(ds[name].values) for name in ds.data_vars}
        if v == variant_index:
            result = chi2
        else:
            kept[str(stores[v])] = chi2
    return result


def ngi_benchmark_case(item: str = "fig6", variant_index: int = 0, n_tiles: int | None = 10,
                       n_points: int | None = None, workers: int | None = None):
    """``(task, grid, config, tile_shape)`` of one shipped NGI grid, for
    ``benchmarks/bench_executors.py --case cevns.analyses.sensitivity:ngi_benchmark_case``.

    `n_points` replaces the number of points of both axes (e.g. 200 for a 200 × 200 grid); with
    `workers`, the tile shape is the one :func:`scan_chi2` would plan for that many workers,
    else the grid is cut into `n_tiles` tiles of whole rows.
    """
    from cevns.analyses.catalogue import shipped_analysis
    from cevns.analyses.scan_plan import plan_tile_shapes
    from cevns.scan import Grid

    an = shipped_analysis(item)
    if n_points is not None:
        an = an.model_copy(update={"x": an.x.model_copy(update={"num": n_points}),
                                   "y": an.y.model_copy(update={"num": n_points})})
    axes = an.axes()
    grid = Grid({ax.parameter: ax.grid() for ax in axes})
    config = compute_config(an, variant_index, quick=False)
    if workers is not None:
        (tile_shape,) = plan_tile_shapes([grid.shape], len(an.detectors), workers)
    else:
        n_first = len(grid.axes[axes[0].parameter])
        tile_shape = (max(1, n_first // (n_tiles or 10)), len(grid.axes[axes[1].parameter]))
    return _grid_task, grid, config, tile_shape
