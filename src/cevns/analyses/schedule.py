"""Several analyses on one executor: whole analyses and the tiles of their scans in one queue.

``cevns reproduce`` runs some thirty analyses of very unequal cost (a fraction of a second to tens
of seconds). Cutting only the scans of each analysis into tiles leaves the workers idle whenever an
analysis draws its figures or its scans are small; running whole analyses side by side leaves one
worker alone with the most expensive one at the end. :func:`run_analyses` does both, through one
:class:`~cevns.scan.executors.WorkQueue` of the executor:

1. every analysis is queued as one task, the longest expected first (:func:`expected_seconds`, the
   cost model of :mod:`cevns.analyses.scan_plan` for the scans plus a constant for the rest);
2. a task runs its analysis in a worker with a :class:`~cevns.scan.runner.DeferToDriver` executor:
   a scan batch is not computed there but handed back (:class:`~cevns.scan.runner.ScansDeferred`;
   the part of the analysis before its first scan is cheap, a few ms). On a fresh run the driver
   runs this first round of every analysis with scans itself while the workers start
   (:meth:`~cevns.scan.executors.Executor.prepare_workers` with :data:`WORKER_MODULES`), so that
   their tiles are queued before the first worker is up. The driver opens
   its stores (locks, refusal rules, resume), queues its tiles at the analysis's priority and
   writes every tile as it arrives: only the driver writes stores;
3. the overlays an exclusion analysis draws (e.g. the COHERENT fits of Figs. 7, 10–14, 0.5–1 s
   each) do not depend on its scans: on a fresh run each is queued as a task of its own
   (:func:`cevns.analyses.sensitivity.plots.compute_overlay`) beside the tiles, instead of being
   computed one after the other in the analysis's last task;
4. when all the stores an analysis asked for are complete (and its overlays computed), its task
   is queued again, ahead of everything: the analysis now finds its scans done
   (``stores_completed``, its overlays in ``overlays``) and writes its tables, grids and figures.
   A store asked for by two analyses (same computation, other presentation) is computed once.

Every output is the same as that of a serial run: the tasks are the same functions on the same
inputs, the tiles are planned for one worker whatever the executor (the plan is part of a scan's
identity), and each analysis writes only its own folder. Only the workers' files are assumed to be
the driver's: with a remote dask scheduler the analyses run one by one in the driver and only the
tiles go to the cluster.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cevns.analyses.base import AnalysisBase, RunOptions, run_analysis
from cevns.errors import ScanError
from cevns.forkserver import WORKER_MODULES

__all__ = ["RENDER_SECONDS", "WORKER_MODULES", "expected_seconds", "run_analyses"]

#: Expected CPU seconds of everything of an analysis but its scans (model validation, tables,
#: netCDF files, figures), by kind; measured on the shipped items (docs/cluster.md), rounded.
RENDER_SECONDS: dict[str, float] = {"spectra": 1.2, "running": 1.0, "event-table": 0.05,
                                    "threshold-study": 0.4}
#: The same for a kind not in :data:`RENDER_SECONDS` (the sensitivity kinds), per variant.
DEFAULT_RENDER_SECONDS = 0.5
#: Expected CPU seconds of one overlay per variant (the COHERENT fits drawn over a figure):
#: 0.30–0.53 s per panel measured with the joint flux profile (docs/coherent_fits.md), 3 s before
#: it; an A/B of the whole `cevns reproduce` with 3.0 and 0.5 showed no difference in wall time.
OVERLAY_SECONDS = 0.5
#: Priority of an analysis whose scans are done: its task jumps the queue.
_RERUN_PRIORITY = 1e9
#: Priority of an overlay computation: after those, before every tile.
_OVERLAY_PRIORITY = 1e8
#: An analysis asking for scans more often than this is a bug (its stores never complete).
_MAX_ROUNDS = 20


def expected_seconds(an: AnalysisBase, quick: bool = False) -> float:
    """Predicted CPU seconds of `an` on one worker: the cost model of its scans
    (:func:`cevns.analyses.scan_plan.tile_cost_model`, per grid point and single-detector fit:
    :func:`~cevns.analyses.scan_plan.fits_per_point`) times its grid points, for each variant,
    plus :data:`RENDER_SECONDS` of its kind and :data:`OVERLAY_SECONDS` per overlay and variant.
    It only orders the queue (longest first) and chooses the number of workers of
    ``--executor auto``: a factor of two off costs little."""
    from cevns.analyses.scan_plan import fits_per_point, tile_cost_model

    variants = max(1, len(getattr(an, "variants", ()) or ()))
    axes = getattr(an, "axes", None)
    scans = 0.0
    if callable(axes):
        points = math.prod(ax.grid(quick).size for ax in axes())
        for variant in getattr(an, "variants", ()) or (None,):
            stats = an.variant_stats(variant)
            model = tile_cost_model(fits_per_point(
                len(an.detectors), combine=stats.combine, shared_signal=stats.shared_signal,
                combined_only=an.combined_only(stats)))
            scans += model.fixed_s + model.per_point_s * points
    rest = RENDER_SECONDS.get(an.kind, DEFAULT_RENDER_SECONDS * variants)
    overlays = _overlay_count(an, quick) * OVERLAY_SECONDS
    return scans + rest + overlays


def _item_task(config: dict[str, Any], tile: None = None) -> dict[str, Any]:
    """Queue task: run one analysis in this worker; its larger scan batches go back to the driver.

    Returns ``{"record": provenance record}`` when the analysis is done, else
    ``{"deferred": [ScanRequest, …], "labels": [...]}``.
    """
    from cevns.scan.runner import DeferToDriver, ScansDeferred

    started = config.get("started_at") or time.time()  # its wall time counts from its first round
    labels: list[str] = []

    def progress(label: str, done: int, total: int) -> None:
        labels.append(label)

    extra = {"stores_completed": set(config["completed"]), "started_at": started,
             "folder_locked": True,  # the driver holds the lock of the analysis's folder
             "executor_object": DeferToDriver(label_of=lambda: labels[-1] if labels else None)}
    if config.get("overlays") is not None:
        extra["overlays"] = config["overlays"]
    if config["scan_root"] is not None:
        extra["scan_root"] = Path(config["scan_root"])
    if config.get("full_twins"):
        extra["full_twins"] = frozenset(config["full_twins"])
    options = RunOptions(quick=config["quick"], executor=config["executor"],
                         resume=config["resume"], progress=progress, extra=extra,
                         pdf=config["pdf"], no_figures=config["no_figures"],
                         force=config.get("force", False))
    try:
        return {"record": run_analysis(config["analysis"], config["out"], options)}
    except ScansDeferred as deferred:
        return {"deferred": deferred.requests, "labels": deferred.labels, "started": started}


def _overlay_task(config: dict[str, Any], tile: None = None) -> dict[str, Any]:
    """Queue task: the ``config["index"]``-th overlay computation of an exclusion analysis on its
    own grid (:func:`cevns.analyses.sensitivity.plots.compute_overlay`)."""
    from cevns.analyses.sensitivity.plots import compute_overlay

    an, quick = config["analysis"], config["quick"]
    return {"overlays": compute_overlay(an, an.x.grid(quick), an.y.grid(quick), quick,
                                        config["index"])}


def _overlay_count(an: AnalysisBase, quick: bool) -> int:
    """Overlay computations an analysis can hand to the queue (exclusion analyses only)."""
    if an.kind != "exclusion" or not getattr(an, "overlays", None):
        return 0
    from cevns.analyses.sensitivity.plots import overlay_count

    return overlay_count(an, quick)


@dataclass
class _Item:
    name: str
    analysis: AnalysisBase
    folder: Path
    expected: float
    rounds: int = 0
    waiting: set[int] = field(default_factory=set)
    overlays: list | None = None      #: results of its overlay tasks, by index (None: not queued)
    overlays_todo: int = 0
    final_pending: bool = False       #: scans done, waiting for its overlays
    started: float | None = None      #: when its first round began (time.time())


@dataclass
class _Open:
    """A scan batch being computed for one or more analyses."""

    batch: Any
    stores: list[str]
    items: set[str] = field(default_factory=set)


def run_analyses(analyses: Mapping[str, AnalysisBase], folders: Mapping[str, Path],
                 options: RunOptions, executor: Any,
                 on_start: Callable[[str], None] | None = None,
                 on_done: Callable[[str, dict], None] | None = None) -> dict[str, dict]:
    """Run every analysis into its folder on `executor` and return the provenance records.

    On the serial executor, or one whose workers do not share this machine's files (a remote
    dask scheduler), the analyses run one after the other in this process, their scans on the
    executor. Otherwise they go through one queue (see the module docstring). An executor not
    started yet is started here and closed at the end. ``on_start(name)``
    is called before an analysis runs in this process, ``on_done(name, record)`` after each
    completes.
    """
    from cevns.cache import release_free_memory
    from cevns.provenance import output_lock
    from cevns.scan import make_executor

    if not options.no_figures:  # every item's figure text, before any item is computed
        from cevns.analyses.mathtext import check_drawn_text

        for name, an in analyses.items():
            check_drawn_text(an, name)
    if len(analyses) > 1 and "full_twins" not in options.extra:
        from cevns.analyses.sensitivity.compute import full_twin_digests

        # Figs. 6 and 16 (and 10–14, 19–23) compute the same fits: one store for each pair
        options.extra["full_twins"] = full_twin_digests(analyses.values(), options.quick)
    exe = make_executor(executor)
    with ExitStack() as held:  # one writer per folder: this process, for the whole run
        for name in analyses:
            held.enter_context(output_lock(folders[name]))
        if exe.name == "serial" or not exe.local:
            options.extra["executor_object"] = exe  # shared: a store done by one analysis is reused
            records = {}
            for name, an in analyses.items():
                if on_start is not None:
                    on_start(name)
                records[name] = run_analysis(an, folders[name], options)
                release_free_memory()  # as a pool worker does after each task (cevns.cache)
                if on_done is not None:
                    on_done(name, records[name])
            return records
        return _Schedule(analyses, folders, options, exe, on_done).run()


class _Schedule:
    """The driver's side of :func:`run_analyses` on a parallel executor."""

    def __init__(self, analyses, folders, options: RunOptions, exe, on_done):
        from cevns.scan.executors import WorkQueue

        self.options, self.exe, self.on_done = options, exe, on_done
        self.items = {n: _Item(n, an, Path(folders[n]), expected_seconds(an, options.quick))
                      for n, an in analyses.items()}
        self.queue = WorkQueue()
        self.completed: set[str] = set(options.extra.get("stores_completed", ()))
        self.open: dict[int, _Open] = {}
        self.by_store: dict[str, int] = {}
        self.records: dict[str, dict] = {}
        self._ids = iter(range(1 << 62))

    def _config(self, item: _Item) -> dict[str, Any]:
        item.rounds += 1
        if item.rounds > _MAX_ROUNDS:
            raise ScanError(f"{item.name}: asked for scans {_MAX_ROUNDS} times; its stores never "
                            "complete")
        scan_root = self.options.extra.get("scan_root")
        return {"analysis": item.analysis, "out": str(item.folder),
                "quick": self.options.quick, "executor": self.options.executor,
                "resume": self.options.resume, "pdf": self.options.pdf,
                "no_figures": self.options.no_figures, "force": self.options.force,
                "scan_root": None if scan_root is None else str(scan_root),
                "completed": sorted(self.completed), "started_at": item.started,
                "full_twins": sorted(self.options.extra.get("full_twins", ())),
                "overlays": item.overlays if item.overlays_todo == 0 else None}

    def _submit(self, item: _Item, priority: float) -> None:
        from cevns.scan.executors import Work

        self.queue.put(Work(_item_task, self._config(item), None, ("item", item.name)), priority)

    def _first_round_here(self, item: _Item) -> bool:
        """Whether the driver runs the first round of `item` itself: an analysis with scans on a
        fresh run, whose first round only plans its scans (a few ms) and hands them back."""
        return (callable(getattr(item.analysis, "axes", None)) and not self.options.resume
                and not self.completed)

    def run(self) -> dict[str, dict]:
        status, owned = "failed", not self.exe.started
        try:
            self.exe.start()
            # the workers start (and import) in the background while this process plans the
            # scans: the first round of every analysis with scans runs here, so that their tiles
            # are queued before the first worker is up, instead of after a round trip
            self.exe.prepare_workers(WORKER_MODULES)
            for item in sorted(self.items.values(), key=lambda i: -i.expected):
                if self._first_round_here(item):
                    first = _item_task(self._config(item))
                    if "deferred" in first:  # it will run again: its overlays can go ahead
                        self._queue_overlays(item)
                    self._item_result(item, first)
                else:
                    self._submit(item, item.expected)
            results = self.exe.stream(self.queue)
            try:
                for work, result in results:
                    kind, key = work.tag
                    if kind == "item":
                        self._item_result(self.items[key], result)
                    elif kind == "overlay":
                        self._overlay_result(key, result)
                    else:
                        self._tile_result(key, work, result)
            finally:
                results.close()
            status = "completed"
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        finally:
            try:
                for key in list(self.open):
                    self._close(key, status)
            finally:
                if owned:  # started here: stop it (at once after an interrupt or an error)
                    self.exe.close(wait=status == "completed")
        return {n: self.records[n] for n in self.items}

    def _item_result(self, item: _Item, result: dict) -> None:
        if "record" in result:
            self.records[item.name] = result["record"]
            if self.on_done is not None:
                self.on_done(item.name, result["record"])
            return
        if item.started is None:
            item.started = result.get("started")
        fresh = []
        for request, label in zip(result["deferred"], result["labels"], strict=True):
            store = str(request.store)
            if store in self.completed:
                continue
            if store in self.by_store:  # asked for by another analysis too: computed once
                key = self.by_store[store]
                item.waiting.add(key)
                self.open[key].items.add(item.name)
                continue
            fresh.append((request, label or item.name))
        if fresh:
            key = self._open(item, fresh)
            if self.open[key].batch.n_todo == 0:  # resumed stores that were complete already
                self._finish(key)
        elif not item.waiting:  # every store it asked for is done: run it again at once
            self._rerun(item)

    def _rerun(self, item: _Item) -> None:
        """Queue `item`'s next round ahead of everything, once its overlays are computed too."""
        if item.overlays_todo:
            item.final_pending = True
            return
        self._submit(item, _RERUN_PRIORITY + item.expected)

    def _queue_overlays(self, item: _Item) -> None:
        """Queue `item`'s overlay computations ahead of every tile (longest item first): they do
        not wait for any scan, and an item's last round waits for them, so that run late they
        would hold the end of the queue."""
        from cevns.scan.executors import Work

        n = _overlay_count(item.analysis, self.options.quick)
        if not n:
            return
        item.overlays, item.overlays_todo = [None] * n, n
        for k in range(n):
            config = {"analysis": item.analysis, "quick": self.options.quick, "index": k}
            self.queue.put(Work(_overlay_task, config, None, ("overlay", (item.name, k))),
                           _OVERLAY_PRIORITY + item.expected)

    def _overlay_result(self, key: tuple[str, int], result: dict) -> None:
        item = self.items[key[0]]
        assert item.overlays is not None
        item.overlays[key[1]] = result["overlays"]
        item.overlays_todo -= 1
        if item.overlays_todo == 0 and item.final_pending:
            item.final_pending = False
            self._submit(item, _RERUN_PRIORITY + item.expected)

    def _open(self, item: _Item, fresh: list) -> int:
        from cevns.scan.runner import ScanBatch

        progress = self.options.progress

        def reporter(label: str):
            if progress is None:
                return None
            return lambda done, total: progress(label, done, total)

        requests = [replace(r, progress=reporter(label)) for r, label in fresh]
        for request in requests:
            self.exe.check_task(request.task)
        batch = ScanBatch(requests)
        batch.__enter__()
        key = next(self._ids)
        stores = [str(r.store) for r in requests]
        self.open[key] = _Open(batch, stores, {item.name})
        self.by_store.update(dict.fromkeys(stores, key))
        item.waiting.add(key)
        for work in batch.work(key):
            self.queue.put(replace(work, tag=("tile", work.tag)), item.expected)
        return key

    def _tile_result(self, tag: tuple[int, int], work, result) -> None:
        key, k = tag
        opened = self.open[key]
        opened.batch.accept(replace(work, tag=(key, k)), result)
        if opened.batch.n_todo == 0:
            self._finish(key)

    def _finish(self, key: int) -> None:
        opened = self.open[key]
        opened.batch.export()
        self._close(key, "completed")
        self.completed.update(opened.stores)
        for name in sorted(opened.items):
            item = self.items[name]
            item.waiting.discard(key)
            if not item.waiting:
                self._rerun(item)

    def _close(self, key: int, status: str) -> None:
        opened = self.open.pop(key)
        for store in opened.stores:
            self.by_store.pop(store, None)
        try:
            opened.batch.record(status, self.exe.describe())
        finally:
            opened.batch.__exit__(None, None, None)
