"""``run_scan``: evaluate a task over a grid, tile by tile, on an executor, into a store;
``run_scans``: several such scans through one queue."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import logging
import re
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cevns.errors import ConfigError, ScanError, check_path_argument
from cevns.scan.digest import canonicalize, config_diff, format_diff
from cevns.scan.executors import (
    Executor,
    SerialExecutor,
    Task,
    Work,
    make_executor,
    task_name,
)
from cevns.scan.grid import Grid, check_grid_bytes
from cevns.scan.store import DONE_VARIABLE, STAMP_KEYS, ScanStore, store_lock
from cevns.scan.tiles import Tile, Tiling

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["DeferToDriver", "Progress", "ScanBatch", "ScanRequest", "ScansDeferred", "check_result",
           "run_scan", "run_scans"]

log = logging.getLogger(__name__)

Progress = Callable[[int, int], Any]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


def _check_declared(
    outputs: Mapping[str, Sequence[str]] | None, grid: Grid
) -> dict[str, list[str]] | None:
    if outputs is None:
        return None
    if not isinstance(outputs, Mapping) or not outputs:
        raise ConfigError(
            "outputs must map each output name to its trailing dimension names, e.g. "
            "{'delta_chi2': (), 'counts': ('bin',)}"
        )
    declared: dict[str, list[str]] = {}
    for name, dims in outputs.items():
        _check_output_name(name, grid)
        if isinstance(dims, str) or not all(isinstance(d, str) and d for d in dims):
            raise ConfigError(f"outputs[{name!r}] = {dims!r}: expected a sequence of dim names")
        clash = set(dims) & set(grid.names)
        if clash or len(set(dims)) != len(dims):
            raise ConfigError(
                f"outputs[{name!r}] = {list(dims)}: trailing dims must be distinct and differ from "
                f"the grid axes {list(grid.names)}"
            )
        declared[name] = list(dims)
    return declared


def _check_output_name(name: Any, grid: Grid) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(
            f"output name {name!r} must start with a letter or '_' and hold only letters, digits, "
            "'_', '.', '-'"
        )
    if name in grid.names or name == DONE_VARIABLE or name in STAMP_KEYS:
        raise ConfigError(f"output name {name!r} is taken by a grid axis or reserved by the store "
                          f"({DONE_VARIABLE!r}, {', '.join(STAMP_KEYS)})")


def check_result(
    result: Any,
    tile: Tile,
    spec: Mapping[str, Mapping[str, Any]] | None,
    *,
    task: str,
    grid: Grid,
    declared: Mapping[str, Sequence[str]] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
    """Validate what a task returned for `tile`.

    Parameters
    ----------
    result : object
        The task's return value; must be a mapping output name → array of shape
        ``tile.shape + trailing`` with a bool, integer or float dtype.
    tile : Tile
        The tile it was computed for.
    spec : mapping or None
        Output name → ``{"dtype", "dims", "shape"}`` fixed by earlier tiles; None for the first.
    task : str
        Task name for messages.
    grid : Grid
        The scan grid (output names must differ from its axes).
    declared : mapping, optional
        Output name → trailing dimension names declared by the caller.

    Returns
    -------
    arrays : dict of str to ndarray
        The outputs as arrays.
    spec : dict
        The output spec (inferred from this result when `spec` is None).

    Raises
    ------
    ScanError
        If the result is not a mapping, lacks or adds an output, or an output has the wrong
        shape or dtype; the message names the task, the output and the tile.
    """
    where = f"task {task!r} on {tile.describe()}"
    if not isinstance(result, Mapping):
        raise ScanError(
            f"{where} returned a {type(result).__name__}; a task must return a dict mapping output "
            "names to arrays of shape tile.shape"
        )
    expected = set(spec) if spec is not None else set(declared) if declared is not None else None
    if expected is not None and set(result) != expected:
        missing, extra = sorted(expected - set(result)), sorted(set(result) - expected)
        raise ScanError(f"{where} returned outputs {sorted(map(str, result))}; missing {missing}, "
                        f"unexpected {extra}")
    if not result:
        raise ScanError(f"{where} returned no outputs")
    arrays: dict[str, np.ndarray] = {}
    new_spec: dict[str, dict[str, Any]] = {}
    ndim = len(tile.shape)
    for name, value in result.items():
        if spec is None:
            try:
                _check_output_name(name, grid)
            except ConfigError as exc:
                raise ScanError(f"{where}: {exc}") from None
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise ScanError(
                f"{where}: output {name!r} has dtype {array.dtype}; outputs must be bool, integer "
                "or float arrays"
            )
        if spec is not None:
            s = spec[name]
            shape = tile.shape + tuple(s["shape"])
            if array.shape != shape:
                raise ScanError(f"{where}: output {name!r} has shape {array.shape}, expected "
                                f"{shape} (tile shape {tile.shape} + trailing {tuple(s['shape'])})")
            if array.dtype != np.dtype(s["dtype"]):
                raise ScanError(f"{where}: output {name!r} has dtype {array.dtype}, expected "
                                f"{np.dtype(s['dtype'])} (fixed by the first tile)")
        else:
            if array.shape[:ndim] != tile.shape:
                raise ScanError(f"{where}: output {name!r} has shape {array.shape}; its leading "
                                f"dimensions must be the tile shape {tile.shape}")
            trailing = array.shape[ndim:]
            if declared is not None:
                dims = list(declared[name])
                if len(dims) != len(trailing):
                    raise ScanError(
                        f"{where}: output {name!r} has shape {array.shape}: {len(trailing)} "
                        f"trailing dims, but {len(dims)} were declared ({dims})"
                    )
            else:
                dims = [f"{name}_dim{k}" for k in range(len(trailing))]
            new_spec[name] = {"dtype": array.dtype.str, "dims": dims, "shape": list(trailing)}
        arrays[name] = array
    return arrays, (dict(spec) if spec is not None else new_spec)  # type: ignore[arg-type]


def _grid_differences(stored: Grid, given: Grid) -> list[str]:
    """How the `given` grid differs from the `stored` one, one phrase per axis (empty if equal).

    An axis whose summary (size, end points, dtype) is the same on both sides is described by
    its first differing value, which the summary would hide (an interior value edited in a
    manifest, or moved by a rounding)."""
    summary = stored.differences(given)
    if stored.names != given.names:
        return [f"grid {d}" for d in summary]
    out = []
    for name in stored.names:
        a, b = np.asarray(stored[name]), np.asarray(given[name])
        if a.dtype == b.dtype and np.array_equal(a, b):
            continue
        line = next((d for d in summary if d.startswith(f"axis {name!r}:")), None)
        if line is not None and a.size == b.size and a.dtype == b.dtype:
            left, _, right = line.partition(": ")[2].partition(" → ")
            if left == right:  # the summaries agree: name the values that differ
                k = np.flatnonzero(a != b)
                line = (f"axis {name!r}: value [{k[0]}] is {a[k[0]].item()!r} in the store, "
                        f"{b[k[0]].item()!r} in this run" + (
                            f" ({k.size} of {a.size} values differ)" if k.size > 1 else ""))
        out.append(f"grid {line or f'axis {name!r} differs'}")
    return out


def _mismatches(
    store: ScanStore,
    config: Mapping[str, Any],
    grid: Grid,
    tile_shape: tuple[int, ...] | None,
    declared: Mapping[str, list[str]] | None,
) -> list[str]:
    """What differs between the scan in `store` and the one asked for, one phrase per item
    (stored → given), each on one line."""
    problems = []
    diff = config_diff(store.config, config)
    if diff:
        lines = [line.strip() for line in format_diff(diff, limit=5).splitlines()]
        problems.append("config (stored → given): " + "; ".join(lines))
    problems.extend(_grid_differences(store.grid, grid))
    if tile_shape is not None and tile_shape != store.tile_shape:
        problems.append(f"tile_shape {store.tile_shape} → {tile_shape}")
    if declared is not None and declared != store.declared_outputs:
        problems.append(f"declared outputs {store.declared_outputs} → {declared}")
    return problems


def _different_scan(path: Path, problems: list[str], resume: bool) -> str:
    """The one-line refusal of a store that holds another scan: what differs (stored → given)
    and the ways out, for the command line (whose ``--resume`` reaches here with the store of
    the same analysis, so the store itself was changed) and for the Python API."""
    what = "; ".join(problems)
    if resume:
        return (f"cannot resume the scan in {path}: it holds a different scan ({what}); "
                "run without --resume (or with --force) to recompute it, or "
                "choose another --out (Python API: pass overwrite=True, or restore the stored "
                "settings)")
    return (f"cannot start a new scan in {path}: it holds a different scan ({what}); pass "
            "overwrite=True to discard the stored tiles, or use another store (command line: "
            "--force, or another --out)")


def _foreign_store(path: Path) -> ScanError:
    """The refusal of a folder that is neither empty nor a scan store, naming the way out."""
    return ScanError(
        f"{path} is neither empty nor a cevns scan store (it has no manifest.json); refusing to "
        f"write into it: if it is a scan whose manifest was lost (an interrupted run), delete "
        f"the folder {path} to recompute the scan; else choose another store"
    )


def _prepare_store(
    path: Path,
    *,
    task: str,
    grid: Grid,
    config: Mapping[str, Any],
    tile_shape: Any,
    resume: bool,
    overwrite: bool,
    declared: dict[str, list[str]] | None,
) -> ScanStore:
    """Open or create the store under the lock, applying the refusal rules."""
    if ScanStore.is_store(path):
        try:
            store = ScanStore(path)
        except ScanError:
            if not overwrite:
                raise
            log.info("overwriting the unreadable or older-format scan store in %s", path)
            ScanStore.discard(path)
            store = None
    else:
        store = None
    if store is not None:
        store.remove_temporaries()
        if overwrite:
            log.info("overwriting the scan in %s (%d tiles were done)", path, store.n_done)
            store.clear()
        else:
            resolved = None if tile_shape is None else Tiling(grid, tile_shape).tile_shape
            problems = _mismatches(store, config, grid, resolved, declared)
            if problems:
                raise ScanError(_different_scan(path, problems, resume))
            if not resume:
                raise ScanError(
                    f"{path} already holds this scan ({store.n_done} of {store.n_tiles} tiles "
                    "done); pass resume=True to complete it or overwrite=True to start afresh"
                )
            if store.task != task:
                log.warning("resuming a scan made by task %r with task %r", store.task, task)
            store.verify_tiles()  # a foreign tile file is refused before anything is computed
            return store
    elif not ScanStore.is_empty(path):
        raise _foreign_store(path)
    tiling = Tiling(grid, tile_shape)
    store = ScanStore.create(
        path, config=config, grid=grid, tile_shape=tiling.tile_shape, task=task,
        declared_outputs=declared,
    )
    store.remove_temporaries()
    return store


@dataclass
class ScanRequest:
    """One scan of a :func:`run_scans` batch: the arguments of :func:`run_scan` but `executor`.

    See :func:`run_scan` for the meaning of every field. ``export=False`` skips writing the
    consolidated ``STORE/result.nc`` (a caller that writes its own files of the same grids saves
    a netCDF write per scan; :func:`~cevns.scan.open_scan` then assembles the tile files).
    """

    task: Task
    grid: Grid | Mapping[str, Any]
    config: Mapping[str, Any]
    store: str | Path | None = None
    tile_shape: Sequence[int] | Mapping[str, int] | None = None
    resume: bool = False
    overwrite: bool = False
    outputs: Mapping[str, Sequence[str]] | None = None
    progress: Progress | None = None
    export: bool = True


@dataclass
class _Active:
    """A scan of the batch being computed: its validated request and its open store."""

    request: ScanRequest
    name: str
    grid: Grid
    config: dict[str, Any]
    declared: dict[str, list[str]] | None
    store: ScanStore
    temporary: bool
    todo: list[Tile] = field(default_factory=list)
    spec: dict[str, dict[str, Any]] | None = None
    n_done: int = 0
    computed: int = 0


def run_scan(
    task: Task,
    grid: Grid | Mapping[str, Any],
    config: Mapping[str, Any],
    store: str | Path | None = None,
    *,
    executor: str | Mapping[str, Any] | Executor | Any = "serial",
    tile_shape: Sequence[int] | Mapping[str, int] | None = None,
    resume: bool = False,
    overwrite: bool = False,
    outputs: Mapping[str, Sequence[str]] | None = None,
    progress: Progress | None = None,
) -> xr.Dataset:
    """Evaluate `task` on every tile of `grid` and return the assembled dataset.

    Parameters
    ----------
    task : callable
        ``task(config, tile) -> {output_name: array}``; each array has shape ``tile.shape``
        (optionally followed by trailing dimensions of fixed size). Must be picklable (a
        top-level function) for the ``processes`` and ``dask`` executors.
    grid : Grid or mapping of str to array_like
        The scan axes.
    config : mapping
        Everything else the task needs, as JSON-able data (NumPy arrays allowed). It is passed to
        the task as given; its canonical JSON and digest are recorded in the store.
    store : path-like, optional
        Store directory (created if missing). ``None`` scans into a temporary directory that is
        deleted afterwards (no resume).
    executor : str, mapping, Executor or dask Client/cluster
        Where tiles run; see :func:`~cevns.scan.executors.make_executor`. An executor passed
        already started is used and left open; otherwise it is started and closed here.
    tile_shape : sequence or mapping of int, optional
        Maximum tile extent per axis; default :func:`~cevns.scan.tiles.default_tile_shape`, or the
        stored one when resuming.
    resume : bool
        Continue the scan in `store`, computing only the missing tiles. Refused if the stored
        config, grid, tile shape or declared outputs differ; the message lists what changed.
        With an empty or missing store, starts a new scan.
    overwrite : bool
        Discard a scan already in `store`.
    outputs : mapping of str to sequence of str, optional
        Declare the outputs: name → names of the trailing dims (``()`` for one value per grid
        point). Undeclared, the first tile fixes the outputs and trailing dims are named
        ``{output}_dim{k}``.
    progress : callable, optional
        Called as ``progress(done_tiles, total_tiles)`` at the start and after each saved tile.

    Returns
    -------
    xarray.Dataset
        Coordinates: the grid axes; variables: the outputs; attrs: config (canonical JSON),
        config_digest, task, tile_shape, executor, wall_time_s, runs (JSON list of sessions).
        The same dataset is written to ``STORE/result.nc``.

    Raises
    ------
    ScanError
        On the refusal rules above, an invalid task result, a tile file that is not this store's,
        an unreachable scheduler, a dask cluster without workers for ``worker_timeout`` s, or a
        store locked by another process.
    ConfigError
        On an invalid grid, config, tile shape, executor spec or output declaration.
    KeyboardInterrupt
        Re-raised after an interrupt; every tile completed before it is saved, and the executor,
        if started here, is shut down without waiting for running tiles.
    """
    request = ScanRequest(task, grid, config, store, tile_shape, resume, overwrite, outputs,
                          progress)
    return run_scans([request], executor=executor)[0]


def _check_store_path(store: object) -> None:
    """A store is None (a temporary one), or a non-empty path (str or os.PathLike): ``""`` would
    mean the working folder."""
    if store is None:
        return
    check_path_argument(store, "store", kind="folder path or None",
                        give="give a folder for the scan store, or None for a temporary one")


def _validate(request: ScanRequest) -> tuple[Grid, dict[str, list[str]] | None, str]:
    task, config = request.task, request.config
    if not callable(task):
        raise ConfigError(f"task {task!r} is not callable")
    grid = request.grid if isinstance(request.grid, Grid) else Grid(request.grid)
    # every output holds at least 8 bytes per grid point: refuse a grid that cannot fit up front
    check_grid_bytes(grid.size, f"grid {' × '.join(map(str, grid.shape))}")
    if not isinstance(config, Mapping):
        raise ConfigError(f"config must be a mapping, not {type(config).__name__}")
    canonicalize(config)  # raises ConfigError naming the first key without a JSON form
    for flag in ("resume", "overwrite", "export"):  # "no" would be truthy
        value = getattr(request, flag)
        if not isinstance(value, bool | np.bool_):
            raise ConfigError(f"{flag} must be True or False, got {value!r}")
    _check_store_path(request.store)
    if request.resume and request.overwrite:
        raise ConfigError("resume=True and overwrite=True exclude each other")
    return grid, _check_declared(request.outputs, grid), task_name(task)


def run_scans(
    requests: Sequence[ScanRequest],
    *,
    executor: str | Mapping[str, Any] | Executor | Any = "serial",
) -> list[xr.Dataset]:
    """Run several scans through one queue of the executor and return their datasets, in order.

    The missing tiles of every scan are submitted together, so that the workers stay busy until
    the whole batch is done instead of idling at the end of each scan (the tail of one scan runs
    beside the start of the next). Each scan keeps its own store, lock, refusal rules and
    progress callback, exactly as with :func:`run_scan`; the results are identical to running the
    scans one by one.

    Parameters
    ----------
    requests : sequence of ScanRequest
        The scans; their stores must be distinct paths (or ``None``).
    executor : str, mapping, Executor or dask Client/cluster
        As for :func:`run_scan`.

    Raises
    ------
    ConfigError
        If two requests name the same store, or as :func:`run_scan`.
    ScanError, KeyboardInterrupt
        As :func:`run_scan`; after an interrupt or an error every store holds every tile received
        before it and records the session (``interrupted`` / ``failed``).
    """
    requests = list(requests)
    exe = make_executor(executor)
    batch = ScanBatch(requests)
    if isinstance(exe, DeferToDriver):
        done = exe.take(batch)  # raises ScansDeferred unless the stores are complete
        if done is not None:
            return done
        exe = SerialExecutor()  # a temporary store: computed here
    for request in requests:
        exe.check_task(request.task)  # before a store exists: a refused task leaves none behind
    with batch:
        if batch.n_todo:
            _compute(batch, exe)
        return batch.datasets()


class ScanBatch:
    """The scans of one :func:`run_scans` call, opened for computing.

    Entering the context validates nothing more (the constructor did), locks and prepares every
    store (the refusal rules of :func:`run_scan`) and lists the missing tiles; :meth:`work` gives
    them as :class:`~cevns.scan.executors.Work`, :meth:`accept` checks and saves a result,
    :meth:`record` writes the session record, :meth:`datasets` assembles the results. Leaving the
    context releases the locks. :func:`run_scans` drives one batch on an executor;
    :mod:`cevns.analyses.schedule` drives several, of several analyses, through one queue.
    """

    def __init__(self, requests: Sequence[ScanRequest]):
        self.requests = list(requests)
        self._checked = [_validate(r) for r in self.requests]
        paths = [Path(r.store).resolve() for r in self.requests if r.store is not None]
        if len(set(paths)) != len(paths):
            dup = sorted({str(p) for p in paths if paths.count(p) > 1})
            raise ConfigError(f"run_scans: several scans write into the same store {dup}")
        self.active: list[_Active] = []
        self._stack: contextlib.ExitStack | None = None
        self.started, self._t0 = _now(), time.perf_counter()

    def __enter__(self) -> ScanBatch:
        self.started, self._t0 = _now(), time.perf_counter()
        with contextlib.ExitStack() as stack:
            for request, (grid, declared, name) in zip(self.requests, self._checked, strict=True):
                if request.store is None:
                    path = Path(stack.enter_context(
                        tempfile.TemporaryDirectory(prefix="cevns-scan-")))
                else:
                    path = Path(request.store)
                    # refused before the lock: no lock file is left in a folder not ours (one
                    # with a lock file may be a store being created: the lock decides)
                    if (path.is_dir() and not (path / ".lock").exists()
                            and not ScanStore.is_store(path) and not ScanStore.is_empty(path)):
                        raise _foreign_store(path)
                stack.enter_context(store_lock(path))
                st = _prepare_store(
                    path, task=name, grid=grid, config=request.config,
                    tile_shape=request.tile_shape, resume=request.resume,
                    overwrite=request.overwrite, declared=declared,
                )
                done = st.done_indices()
                scan = _Active(request, name, grid, dict(request.config), declared, st,
                               request.store is None, spec=st.outputs, n_done=len(done))
                scan.todo = [st.tiling[i] for i in range(st.n_tiles) if i not in done]
                log.info("scan %s into %s: %d tiles, %d done, %d to compute", name, path,
                         st.n_tiles, len(done), len(scan.todo))
                if request.progress is not None:
                    request.progress(scan.n_done, st.n_tiles)
                self.active.append(scan)
            self._stack = stack.pop_all()
        return self

    def __exit__(self, *exc: Any) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            stack.close()

    @property
    def n_todo(self) -> int:
        """Tiles still to compute."""
        return sum(len(scan.todo) - scan.computed for scan in self.active)

    def work(self, key: Any = None) -> list[Work]:
        """The missing tiles, scan after scan, tagged ``(key, scan index)``."""
        return [Work(scan.request.task, scan.config, tile, (key, k))
                for k, scan in enumerate(self.active) for tile in scan.todo]

    def accept(self, item: Work, result: Any) -> None:
        """Check the result of a tile of :meth:`work` and save it in its store."""
        scan = self.active[item.tag[1]]
        tile = item.tile
        arrays, new_spec = check_result(result, tile, scan.spec, task=scan.name, grid=scan.grid,
                                        declared=scan.declared)
        if scan.spec is None:
            # before the first tile file, so every tile file has a spec to be read with
            scan.store.set_outputs(new_spec)
            scan.spec = new_spec
        scan.store.write_tile(tile.index, arrays)
        scan.computed += 1
        scan.n_done += 1
        log.debug("saved %s of %s", tile.describe(), scan.store.path)
        if scan.request.progress is not None:
            scan.request.progress(scan.n_done, scan.store.n_tiles)

    def record(self, status: str, executor: str, started: str | None = None,
               wall: float | None = None) -> None:
        """Add the session record to the store of every scan that had tiles to compute (`started`
        and `wall` default to the time the batch was opened and the time since)."""
        started = self.started if started is None else started
        wall = time.perf_counter() - self._t0 if wall is None else wall
        working = [scan for scan in self.active if scan.todo]
        for scan in working:
            if status == "interrupted":
                log.warning("scan interrupted: %d of %d tiles saved in %s; resume with "
                            "resume=True", scan.n_done, scan.store.n_tiles, scan.store.path)
            entry = {"started": started, "executor": executor, "tiles_computed": scan.computed,
                     "wall_time_s": round(wall, 6), "status": status}
            if len(working) > 1:
                entry["batch_of"] = len(working)  # the wall time is that of the whole batch
            try:
                scan.store.add_run(entry)
            except Exception:  # provenance is best effort; the tiles are already safe
                log.warning("could not record the run in %s", scan.store.path, exc_info=True)
            log.info("scan %s: %s, %d tiles in %.3g s on %s", scan.name, status, scan.computed,
                     wall, executor)

    def export(self) -> None:
        """Write ``STORE/result.nc`` of every scan whose request says ``export=True``."""
        for scan in self.active:
            if not scan.temporary and scan.request.export:
                scan.store.export_netcdf(dataset=scan.store.to_dataset())

    def datasets(self) -> list[xr.Dataset]:
        """The assembled datasets, in request order; each written to ``STORE/result.nc`` unless
        its request says ``export=False`` or the store is temporary."""
        out = []
        for scan in self.active:
            dataset = scan.store.to_dataset()
            if not scan.temporary and scan.request.export:
                scan.store.export_netcdf(dataset=dataset)
            out.append(dataset)
        return out


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _compute(batch: ScanBatch, exe: Executor) -> None:
    owned = not exe.started
    started_at = _now()
    t0 = time.perf_counter()
    status, description = "failed", exe.describe()
    try:
        exe.start()
        exe.prepare_workers(sorted({m for scan in batch.active
                                    if (m := getattr(scan.request.task, "__module__", None))}))
        description = exe.describe()
        # one queue: the tiles of the next scan start while the last tiles of this one still run
        results = exe.run_work(batch.work())
        try:
            for item, result in results:
                batch.accept(item, result)
        finally:
            results.close()  # cancels tiles not yet run
        status = "completed"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        wall = time.perf_counter() - t0
        if status == "completed":  # a cluster started in the background has its address now
            description = exe.describe()
        if owned:
            exe.close(wait=status == "completed")
        batch.record(status, description, started_at, wall)


class ScansDeferred(BaseException):  # noqa: N818 - a control-flow signal, not an error
    """Raised by :func:`run_scans` on a :class:`DeferToDriver` executor: the batch is handed to
    the driver's queue instead of being computed here.

    A ``BaseException`` so that no ``except Exception`` between :func:`run_scans` and the code
    that set up the :class:`DeferToDriver` (a runner of :mod:`cevns.analyses`) swallows it.
    ``requests`` are the batch's requests without their progress callbacks (they go to another
    process); ``labels`` the label each one reported, or ``None``.
    """

    def __init__(self, requests: list[ScanRequest], labels: list[str | None]):
        super().__init__(f"{len(requests)} scans deferred to the driver")
        self.requests = requests
        self.labels = labels


class DeferToDriver(Executor):
    """The executor of code running *inside* a worker of a larger queue
    (:mod:`cevns.analyses.schedule`): :func:`run_scans` hands a batch with at least `min_tiles`
    tiles to compute back to the driver (:class:`ScansDeferred`), which runs its tiles in its own
    queue beside other work and then reruns the caller with the stores complete; a smaller batch,
    or one with a temporary store, is computed here, serially. The default, one tile, leaves every
    store to the driver: two workers asking for the same store at once would otherwise both
    write it. A batch whose stores are all complete is read without the writer's lock, so that
    several workers may read one store at once.

    Before deferring, each request's progress callback is called once as
    ``progress(0, n_tiles)``; ``label_of`` (if given) is then asked for the label that call
    reported, which travels with the request.
    """

    name = "deferred"

    def __init__(self, min_tiles: int = 1, label_of: Callable[[], str | None] | None = None):
        super().__init__()
        self.min_tiles = min_tiles
        self.label_of = label_of

    def stream(self, queue: Any) -> Any:
        raise ScanError("the deferred executor runs nothing itself; it is for run_scans")

    def take(self, batch: ScanBatch) -> list[xr.Dataset] | None:
        """Raise :class:`ScansDeferred` for `batch`; or return its datasets when every store is
        complete (read without the writer's lock: the driver finished them, and several workers
        may read one store at once); or ``None`` for a batch with a temporary store, to be
        computed here."""
        todo = 0
        for request, (grid, declared, _) in zip(batch.requests, batch._checked, strict=True):
            if request.store is None:
                return None
            if not _complete(request, grid, declared):
                todo += len(Tiling(grid, request.tile_shape))
        if todo == 0:
            return [ScanStore(r.store).to_dataset() for r in batch.requests]
        if todo < self.min_tiles:
            return None
        labels: list[str | None] = []
        for request, (grid, _, _) in zip(batch.requests, batch._checked, strict=True):
            label = None
            if request.progress is not None:
                request.progress(0, len(Tiling(grid, request.tile_shape)))
                label = self.label_of() if self.label_of is not None else None
            labels.append(label)
        raise ScansDeferred([dataclasses.replace(r, progress=None) for r in batch.requests],
                            labels)


def _complete(request: ScanRequest, grid: Grid, declared: dict[str, list[str]] | None) -> bool:
    """Whether `request` resumes a store of this very scan that holds every tile."""
    if request.store is None or not request.resume or not ScanStore.is_store(request.store):
        return False
    try:
        store = ScanStore(request.store)
    except ScanError:
        return False
    resolved = None if request.tile_shape is None else Tiling(grid, request.tile_shape).tile_shape
    return (store.n_done == store.n_tiles
            and not _mismatches(store, request.config, grid, resolved, declared))
