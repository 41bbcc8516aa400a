"""Executors: where the tiles of a scan run.

Every executor submits each tile as an independent future and yields results as they complete, in
completion order. Only the driver (the process calling :func:`~cevns.scan.runner.run_scan`) sees the
results and writes the store.

``serial``
    In the calling process, one tile after the other. For debugging and small scans.
``processes``
    A local :class:`concurrent.futures.ProcessPoolExecutor` (``max_workers``, default the CPU
    count, at most :data:`MAX_WORKERS`). Worker processes are forked from a ``"forkserver"`` by
    default (``"spawn"`` where the OS has none), so the task must be importable (a top-level
    function in a module, not in ``__main__`` of ``python -c``). :meth:`Executor.prepare_workers`
    starts the server with the modules the tasks need imported once, and the first
    :meth:`Executor.stream` starts the workers its queue needs at once, in the background, while
    the driver goes on. Never more workers than items of work are started.
``dask``
    :mod:`dask.distributed` (the optional extra ``cevns[dask]``): a ``LocalCluster`` by default, a
    scheduler ``address`` (``"tcp://host:8786"``), an existing ``Client`` or cluster object
    (e.g. a ``dask_jobqueue.SLURMCluster``), or a cluster class named by dotted path. The
    ``LocalCluster`` it starts itself is started in the background by
    :meth:`Executor.prepare_workers` and the first :meth:`Executor.stream` (no more workers than
    items of work, added later as work comes), its workers forked from dask's forkserver with the
    modules imported once, while the driver runs the first tiles (as the process pool does).

Neither executor leaves process-wide state behind: multiprocessing's default start method stays
unset if it was, and the environment variables a dask ``Nanny`` writes into ``os.environ`` before
it starts a worker are put back as they were (:func:`cevns.forkserver.keep_process_state`).

Use :func:`make_executor` to build one from a name, a spec mapping (e.g. from TOML) or an object.
Executors are context managers; an executor started by the caller can be shared by several scans.

The unit of work is a :class:`Work` item (task, config, tile, tag). :meth:`Executor.stream` runs a
:class:`WorkQueue` — highest priority first, with work added while it runs — and keeps every
worker busy until the queue is empty: the tiles of several scans
(:func:`~cevns.scan.runner.run_scans`), or whole analyses and the tiles of their scans
(:mod:`cevns.analyses.schedule`). :meth:`Executor.run_work` is the shorthand for a fixed list,
:meth:`Executor.run_tiles` for the tiles of one scan.

Failing loudly
--------------
- ``KeyboardInterrupt`` in the driver propagates as ``KeyboardInterrupt`` on every executor. Pool
  workers ignore SIGINT (a Ctrl-C in a terminal reaches the whole process group; only the driver
  acts on it), and the driver terminates them on its way out.
- Pool workers run a parent-death watchdog thread: when the driver dies (SIGTERM, SIGKILL, a
  crash) they exit within ``0.5 s`` instead of living on as orphans.
- On dask, a scan with pending tiles and no worker for ``worker_timeout`` seconds (default 30)
  raises :class:`~cevns.errors.ScanError` instead of waiting forever.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import copy
import heapq
import importlib
import inspect
import itertools
import logging
import multiprocessing
import os
import pickle
import queue as _queue
import signal
import sys
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from cevns.errors import (
    CevnsError,
    ConfigError,
    MissingDependencyError,
    ScanError,
    UnknownNameError,
    _did_you_mean,
)
from cevns.forkserver import (
    DASK_MODULES,
    MAX_WORKERS,
    check_scheduler_address,
    keep_process_state,
    preload_list,
)
from cevns.forkserver import available as forkserver_available
from cevns.forkserver import start_early as start_forkserver
from cevns.scan.tiles import Tile

__all__ = [
    "EXECUTORS",
    "LOCAL_CLUSTER_CONFIG",
    "MAX_WORKERS",
    "DaskExecutor",
    "Executor",
    "ProcessExecutor",
    "SerialExecutor",
    "Task",
    "TileResult",
    "WORKER_ENVIRON",
    "Work",
    "WorkQueue",
    "make_executor",
    "task_name",
]

log = logging.getLogger(__name__)

TileResult = Mapping[str, Any]
Task = Callable[[dict[str, Any], Tile], TileResult]


def task_name(task: Callable[..., Any]) -> str:
    """``module.qualname`` of a task, for messages and provenance."""
    module = getattr(task, "__module__", None)
    qualname = getattr(task, "__qualname__", None)
    if module and qualname:
        return f"{module}.{qualname}"
    return repr(task)


def _annotate(exc: BaseException, item: Work) -> None:
    exc.add_note(f"in cevns scan task {task_name(item.task)!r} on {item.describe()}")


@dataclass(frozen=True, eq=False)
class Work:
    """One unit of work: ``task(config, tile)``, labelled with the caller's `tag`.

    The tag (e.g. the index of the scan the tile belongs to) comes back with the result, so that
    the tiles of several scans — or whole analyses beside them — can share one queue. `tile` is
    ``None`` for work that is not a tile of a grid (the task then receives ``None``).
    """

    task: Task
    config: dict[str, Any]
    tile: Tile | None = None
    tag: Any = None

    def run(self) -> TileResult:
        """Compute the item in this process."""
        return self.task(self.config, self.tile)

    def describe(self) -> str:
        """For messages: the tile, else the tag."""
        return self.tile.describe() if self.tile is not None else f"work item {self.tag!r}"


class WorkQueue:
    """Work waiting for a worker: highest `priority` first, equal priorities first in, first out.

    :meth:`Executor.stream` takes items from it as workers free up; the consumer of the stream may
    :meth:`put` more work while it runs (e.g. the tiles of a scan that a finished item asked for),
    and it is run before anything queued with a lower priority.
    """

    def __init__(self, work: Sequence[Work] = (), priority: float = 0.0):
        self._heap: list[tuple[float, int, Work]] = []
        self._count = itertools.count()
        # an executor may take items from a thread of its own (the dask executor, as soon as
        # the cluster it starts in the background is up) while the consumer puts more
        self._lock = threading.Lock()
        for item in work:
            self.put(item, priority)

    def put(self, item: Work, priority: float = 0.0) -> None:
        """Queue `item`; a higher `priority` runs earlier."""
        with self._lock:
            heapq.heappush(self._heap, (-float(priority), next(self._count), item))

    def peek(self) -> Work | None:
        """The next item (left in the queue), or ``None`` when the queue is empty."""
        with self._lock:
            return self._heap[0][2] if self._heap else None

    def pop(self) -> tuple[Work, float] | None:
        """The next item and its priority, or ``None`` when the queue is empty."""
        with self._lock:
            if not self._heap:
                return None
            priority, _, item = heapq.heappop(self._heap)
        return item, -priority

    def pop_tile(self) -> Work | None:
        """The next item if it is a tile of a grid (``tile`` not ``None``), else ``None`` (the
        item is left in the queue)."""
        with self._lock:
            if not self._heap or self._heap[0][2].tile is None:
                return None
            return heapq.heappop(self._heap)[2]

    def __len__(self) -> int:
        return len(self._heap)


class Executor(ABC):
    """Runs tiles of a scan and yields their results as they complete.

    Subclasses implement :meth:`_start`, :meth:`_close` and :meth:`stream`. An executor owns
    the resources it starts (a process pool, a ``LocalCluster``) and releases them in
    :meth:`close`; resources handed to it (a ``Client``) stay open.
    """

    #: Registry name of the executor kind.
    name: str = "executor"
    #: Whether the workers run on this machine and see its files (they may then write results
    #: themselves, as the analyses of :mod:`cevns.analyses.schedule` do).
    local: bool = True

    def __init__(self) -> None:
        self._started = False

    @property
    def started(self) -> bool:
        """Whether :meth:`start` has been called and :meth:`close` has not."""
        return self._started

    def start(self) -> Executor:
        """Acquire the resources (idempotent). Returns self."""
        if not self._started:
            self._start()
            self._started = True
        return self

    def close(self, wait: bool = True) -> None:
        """Release the resources this executor started (idempotent).

        Parameters
        ----------
        wait : bool
            Wait for running tiles to end. ``False`` after an interrupt, to return at once.
        """
        if self._started:
            self._started = False
            self._close(wait)

    def __enter__(self) -> Executor:
        return self.start()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.close(wait=exc_type is None)

    def _start(self) -> None:  # noqa: B027 - optional hook
        pass

    def _close(self, wait: bool) -> None:  # noqa: B027 - optional hook
        pass

    def check_task(self, task: Callable[..., Any]) -> None:  # noqa: B027 - optional hook
        """Raise :class:`ScanError` if `task` cannot run on this executor."""

    def prepare_workers(self, modules: Sequence[str] = ()) -> None:  # noqa: B027 - optional hook
        """Start the workers now, with `modules` imported, while the driver goes on (a hint: a
        no-op unless the executor starts workers lazily, as the process pool and the dask
        executor's own ``LocalCluster`` do)."""

    @abstractmethod
    def stream(self, queue: WorkQueue) -> Iterator[tuple[Work, TileResult]]:
        """Run the items of `queue`, highest priority first, and yield ``(item, item.run())``
        in completion order, until the queue is empty and nothing runs.

        The consumer may :meth:`WorkQueue.put` more work between two results; it is taken up as
        workers free up. The items may belong to several scans (different tasks and configs).
        An exception raised by a task propagates with a note naming the task and the tile.
        Closing the generator early (an error or ``KeyboardInterrupt`` in the consumer) cancels
        the items that have not run.
        """

    def run_work(self, work: Sequence[Work]) -> Iterator[tuple[Work, TileResult]]:
        """Submit every work item and yield ``(item, item.task(item.config, item.tile))`` in
        completion order (:meth:`stream` of a queue holding `work`, in order)."""
        return self.stream(WorkQueue(work))

    def run_tiles(
        self, task: Task, config: dict[str, Any], tiles: Sequence[Tile]
    ) -> Iterator[tuple[Tile, TileResult]]:
        """Submit every tile of one scan and yield ``(tile, task(config, tile))`` in completion
        order (see :meth:`run_work`)."""
        results = self.run_work([Work(task, config, tile) for tile in tiles])
        try:
            for item, result in results:
                yield item.tile, result
        finally:
            results.close()

    def describe(self) -> str:
        """Short description for provenance records, e.g. ``"processes(max_workers=2)"``."""
        return self.name

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"


class SerialExecutor(Executor):
    """Runs the tiles one after the other in the calling process."""

    name = "serial"

    def stream(self, queue: WorkQueue) -> Iterator[tuple[Work, TileResult]]:
        """Run each item in turn (see :meth:`Executor.stream`)."""
        while (entry := queue.pop()) is not None:
            yield entry[0], _run_here(entry[0])


def _run_here(item: Work) -> TileResult:
    """Run `item` in this process; an exception gets a note naming the task and the tile."""
    try:
        return item.run()
    except Exception as exc:
        _annotate(exc, item)
        raise


#: Seconds between two checks of the parent-death watchdog of a pool worker.
WATCHDOG_INTERVAL_S = 0.5


def _run_here_until_up(exe: Any, queue: WorkQueue, on_up: Callable[[], None],
                       submitting: threading.Lock) -> Iterator[tuple[Work, TileResult]]:
    """While the workers of `exe` start (its ``_up`` event not set), run the tiles at the head of
    `queue` in this process (the same function on the same input: the same result); stop at the
    first item that is not a tile of a grid. `on_up` is left for the thread that starts the
    workers, which calls it the moment they are up (to hand them the queue at once), and taken
    back on the way out; `submitting` is held while an item is taken from the queue."""
    with exe._up_lock:
        exe._on_up = on_up
    try:
        while not exe._up.is_set():
            with submitting:
                item = queue.pop_tile()
            if item is None:
                break
            yield item, _run_here(item)
    finally:
        with exe._up_lock:
            exe._on_up = None


def _alive(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie (Linux: a killed driver whose parent has
    not reaped it yet is dead for us)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's: not our driver, but alive
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].split()[0] != b"Z"
    except (OSError, IndexError):  # no /proc (macOS): the signal test is all there is
        return True


def _watch_parent(parent: int, driver: int, interval: float) -> None:
    """Exit the process as soon as its parent is gone (it is re-parented: ``getppid`` changes) or
    the driver is (a worker forked by a forkserver has the server as its parent, which outlives
    the driver as long as the workers hold its pipe open)."""
    while True:
        time.sleep(interval)
        if os.getppid() != parent or not _alive(driver):
            os._exit(70)  # no cleanup: the driver that would receive anything is gone


def _pool_worker_init(interval: float, modules: Sequence[str] = (),
                      driver: int | None = None) -> None:
    """Initializer of every pool worker: ignore SIGINT, fix glibc's malloc thresholds for NumPy
    work (:func:`cevns.cache.tune_worker_malloc`), start the parent-death watchdog, import
    `modules` (already imported by a forkserver's preload: then free).

    A Ctrl-C in a terminal sends SIGINT to the whole foreground process group. The driver turns
    it into ``KeyboardInterrupt`` and terminates the workers; a worker that acted on it itself
    would instead die mid-queue and break the pool (a ``BrokenProcessPool`` instead of the
    interrupt). The watchdog is the portable stand-in for Linux's ``prctl(PR_SET_PDEATHSIG)``:
    it makes a worker outlive a killed driver (process id `driver`, default the parent) by at
    most ``interval`` seconds.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from cevns.cache import tune_worker_malloc

    tune_worker_malloc()  # inherited from the forkserver already; a spawned worker sets its own
    parent = os.getppid()
    threading.Thread(target=_watch_parent, args=(parent, driver or parent, interval),
                     daemon=True, name="cevns-parent-watchdog").start()
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:  # a hint only: the task imports what it needs itself
            log.debug("worker could not preload %s", module, exc_info=True)


def _ready() -> None:
    """A no-op task: submitting one per worker makes the pool start them all."""


#: Seconds :func:`_spawn_all` waits for the workers it starts to be ready; after that the work is
#: handed to the pool anyway (it then waits in the pool for them).
SPAWN_WAIT_S = 30.0


def _spawn_all(pool: cf.ProcessPoolExecutor, n: int, stop: threading.Event) -> None:
    """Start `n` workers of `pool` (each ``submit`` finding no idle worker starts one) and wait
    until they have run their no-op task (or `stop` is set): the work submitted next then finds
    them idle instead of starting more workers of its own (the pool starts one whenever a task
    finds none idle)."""
    try:
        futures = [pool.submit(_ready) for _ in range(n)]
    except Exception:  # the pool was shut down meanwhile; its first real task would tell
        log.debug("could not pre-start the pool workers", exc_info=True)
        return
    deadline = time.monotonic() + SPAWN_WAIT_S
    waiting = set(futures)
    while waiting and not stop.is_set() and time.monotonic() < deadline:
        waiting = cf.wait(waiting, timeout=0.05)[1]


#: Default start method of :class:`ProcessExecutor`: ``"forkserver"`` where available.
DEFAULT_MP_CONTEXT = "forkserver" if forkserver_available() else "spawn"


def _check_workers(name: str, value: Any) -> None:
    """A number of local worker processes: ``None`` (the default) or an int from 1 to
    :data:`MAX_WORKERS` (the bound of the command line's ``--workers``), else a ConfigError."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_WORKERS:
        raise ConfigError(f"{name} = {value!r}; expected an int from 1 to {MAX_WORKERS} "
                          "(worker processes on this machine)")




def _broken_pool_error(item: Work, exc: BaseException) -> ScanError:
    return ScanError(
        f"a worker process of the pool died while running {task_name(item.task)!r} ({exc}). A "
        "scan with a store keeps its completed tiles: run it again with resume=True. If the "
        "workers die at once from a script, the script probably starts the scan when it is "
        "imported: the workers import the main module, so put that code in an  if __name__ == "
        "'__main__':  block"
    )


def _run_work(item: Work) -> TileResult:
    """Run `item` in a pool or dask worker, then hand the heap's free memory back to the OS if
    there is much of it (:func:`cevns.cache.release_free_memory`): a worker's resident memory
    then tracks what it holds instead of the fragmented high-water mark of every tile it ran."""
    from cevns.cache import release_free_memory

    try:
        return item.run()
    finally:
        release_free_memory()


class ProcessExecutor(Executor):
    """Runs tiles in a local pool of worker processes.

    Workers ignore SIGINT and exit when the driver dies (see the module docstring); an
    interrupted or failed scan terminates them instead of waiting for their running tiles.

    Parameters
    ----------
    max_workers : int, optional
        Largest number of worker processes, 1 to :data:`MAX_WORKERS`; default ``os.cpu_count()``.
        A worker is started only for work that finds no idle one: a scan of 3 tiles starts at
        most 3 (``"fork"``: the pool's size is fixed by the first :meth:`stream`, at most its
        queued items; a later stream with more work replaces the idle pool by a larger one).
    mp_context : str, optional
        Multiprocessing start method. Default ``"forkserver"`` where the OS has it (Linux, macOS),
        else ``"spawn"``: both are safe in threaded programs. With ``"forkserver"`` one server
        process imports the modules the workers need (:meth:`prepare_workers`) once and every
        worker is forked from it ready to run, instead of each worker starting Python and
        importing them again (≈ 0.7 s of CPU per worker for cevns, 2 s with matplotlib and
        xarray). ``"fork"`` starts fastest and accepts tasks defined in ``__main__`` but is unsafe
        if the driver runs threads.
    """

    name = "processes"

    def __init__(self, max_workers: int | None = None, mp_context: str | None = None):
        super().__init__()
        if mp_context is None:
            mp_context = DEFAULT_MP_CONTEXT
        _check_workers("max_workers", max_workers)
        methods = multiprocessing.get_all_start_methods()
        if mp_context not in methods:
            raise UnknownNameError("multiprocessing start method", mp_context, methods)
        self.max_workers = max_workers or min(os.cpu_count() or 1, MAX_WORKERS)
        self.mp_context = mp_context
        self._pool: cf.ProcessPoolExecutor | None = None
        self._pool_size = 0

    @property
    def n_workers(self) -> int:
        """Number of worker processes."""
        return self.max_workers

    def _start(self) -> None:
        self._spawner: threading.Thread | None = None
        self._used = False  # a stream has handed the pool work: too late to prepare
        self._prepared = False
        self._modules: tuple[str, ...] = ()
        self._up = threading.Event()
        self._up_lock = threading.Lock()
        self._on_up: Callable[[], None] | None = None
        self._closing = threading.Event()  # stops the spawner's wait for its workers
        self._pool, self._pool_size = None, 0  # made by the first stream, sized to its work

    def _new_pool(self, size: int) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(
            size, mp_context=multiprocessing.get_context(self.mp_context),
            initializer=_pool_worker_init,
            initargs=(WATCHDOG_INTERVAL_S, self._modules, os.getpid()),
        )

    def _pool_for(self, n_items: int) -> cf.ProcessPoolExecutor:
        """The pool for a stream with `n_items` queued: of ``max_workers`` (it starts a worker
        only for a task that finds none idle), except that a ``"fork"`` pool, which forks all
        its workers at its first task, has at most `n_items` (an idle one too small for this
        stream is replaced)."""
        size = self.max_workers
        if self.mp_context == "fork":
            size = min(size, max(1, n_items))
        if self._pool is not None and self._pool_size >= size:
            return self._pool
        if self._pool is not None:  # between two streams: nothing runs in it
            self._pool.shutdown(wait=True)
        self._pool, self._pool_size = self._new_pool(size), size
        return self._pool

    def prepare_workers(self, modules: Sequence[str] = ()) -> None:
        """Have the workers start with `modules` imported, and at once: the first
        :meth:`stream` starts as many workers as it has items queued (at most ``max_workers``),
        all together, in the background.

        The pool otherwise starts a worker only when a task finds none idle, so the second
        worker would start (and import everything) only once the first task runs. Called before
        the pool's first task: with ``"forkserver"`` the server is started now and imports
        `modules` once, while the driver goes on, and the workers are forked from it; with
        ``"spawn"`` each worker imports them as it starts. The first :meth:`stream` runs tiles in
        the driver until the workers are ready. A no-op once the pool has been handed work.
        """
        if not self._started or self._used or self._prepared:
            return
        self._modules = tuple(dict.fromkeys(modules))
        self._prepared = True
        if self.mp_context == "forkserver":
            # started here, not by the pool, so that it ignores Ctrl-C (cevns.forkserver); a
            # server already running keeps its modules (the command line starts it before it
            # imports the library)
            start_forkserver(self._modules)

    def _spawn_in_background(self, pool: cf.ProcessPoolExecutor, n: int) -> None:
        """Start `n` workers of `pool` in a thread; once they are ready, hand them the work
        (the ``_on_up`` that :func:`_run_here_until_up` leaves) and set ``_up``."""
        up = self._up

        def spawn() -> None:
            try:
                with keep_process_state():
                    _spawn_all(pool, n, self._closing)
                with self._up_lock:
                    on_up, self._on_up = self._on_up, None
                if on_up is not None:  # stream() is in a tile of its own: fill the pool now
                    on_up()
            except Exception:  # a broken pool: the driver's own submission tells
                log.debug("could not fill the pool", exc_info=True)
            finally:
                up.set()

        self._spawner = threading.Thread(target=spawn, daemon=True, name="cevns-pool-spawner")
        self._spawner.start()

    def _wait_spawner(self) -> None:
        """Wait until :meth:`prepare_workers` has started the workers (if it was called)."""
        self._used = True
        if self._spawner is not None:
            self._spawner.join()
            self._spawner = None

    def worker_pids(self) -> list[int]:
        """Process ids of the live pool workers (empty before the first submission)."""
        pool = self._pool
        processes = getattr(pool, "_processes", None) or {}
        return [p.pid for p in list(processes.values()) if p.is_alive()]

    def _close(self, wait: bool) -> None:
        pool, self._pool, self._pool_size = self._pool, None, 0
        if pool is None:
            return
        self._closing.set()
        self._wait_spawner()  # the workers it starts must be in ``_processes`` to be stopped
        # CPython keeps the workers in ``_processes`` (a documented-by-use private attribute; Python
        # 3.14 adds ``terminate_workers()``); take them before shutdown() forgets them
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=wait, cancel_futures=True)
        if wait:
            return
        for proc in processes:  # an interrupt must not wait for running tiles
            if proc.is_alive():
                proc.terminate()
        deadline = time.monotonic() + 5.0
        for proc in processes:
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join(1.0)

    def check_task(self, task: Callable[..., Any]) -> None:
        """Refuse a task that cannot be pickled (a lambda, a closure, a local function)."""
        try:
            pickle.dumps(task)
        except Exception as exc:
            raise ScanError(
                f"task {task_name(task)!r} cannot be pickled for the processes executor ({exc}); "
                "a task must be a top-level function of an importable module"
            ) from exc

    def stream(self, queue: WorkQueue) -> Iterator[tuple[Work, TileResult]]:
        """Keep ``max_workers + 1`` items in the pool, taken from `queue` by priority (see
        :meth:`Executor.stream`): one waits in the pool for the next free worker, the others wait
        in `queue`, where work put later with a higher priority still overtakes them. A worker is
        started only for an item that finds none idle: never more workers than items.

        After :meth:`prepare_workers`, the first stream starts one worker per queued item (at
        most ``max_workers``) at once, in the background; while they start, the driver, idle
        otherwise, runs the tiles at the head of the queue itself (the same function on the same
        input: the same result); it stops at the first item that is not a tile of a grid, and
        once the workers are up, when the starting thread has already filled the pool.
        """
        if not self._started:
            raise ScanError("the processes executor is not started; use it as a context manager")
        if queue.peek() is None:
            return
        pool = self._pool_for(len(queue))
        pending: dict[cf.Future, Work] = {}
        submitting = threading.Lock()  # the spawner thread may fill the pool (below)

        def fill() -> None:
            # a submit that finds no idle worker starts one (the first may start the forkserver)
            with submitting, keep_process_state():
                while len(pending) <= self._pool_size and (entry := queue.pop()) is not None:
                    try:
                        pending[pool.submit(_run_work, entry[0])] = entry[0]
                    except BrokenProcessPool as exc:  # its workers died while starting
                        raise _broken_pool_error(entry[0], exc) from exc

        try:
            if self._prepared and not self._used and self._spawner is None:
                self._spawn_in_background(pool, min(self._pool_size, len(queue)))
            if self._spawner is not None and not self._up.is_set():
                # the spawner fills the pool the moment the workers are started, so that they
                # need not wait for the end of the tile the driver is in
                yield from _run_here_until_up(self, queue, fill, submitting)
            self._wait_spawner()
            while True:
                fill()
                if not pending:
                    return
                done, _ = cf.wait(list(pending), return_when=cf.FIRST_COMPLETED)
                for future in done:
                    item = pending.pop(future)
                    try:
                        result = future.result()
                    except BrokenProcessPool as exc:
                        raise _broken_pool_error(item, exc) from exc
                    except Exception as exc:
                        _annotate(exc, item)
                        raise
                    yield item, result
        finally:
            for future in pending:
                future.cancel()

    def describe(self) -> str:
        """E.g. ``"processes(max_workers=2, spawn)"``."""
        return f"processes(max_workers={self.max_workers}, {self.mp_context})"


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise MissingDependencyError(
            "the dask executor needs dask.distributed, which is not installed; "
            "install it with: pip install 'cevns[dask]'"
        ) from exc
    return distributed


def _import_dotted(path: str) -> Any:
    module_name, _, attr = path.rpartition(".")
    if not module_name:
        raise ConfigError(f"cluster {path!r}: expected a dotted path such as "
                          "'dask_jobqueue.SLURMCluster'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise MissingDependencyError(
            f"cluster class {path!r}: cannot import module {module_name!r} ({exc}); "
            f"install the package that provides it (e.g. pip install dask-jobqueue)"
        ) from exc
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ConfigError(
            f"cluster class {path!r}: module {module_name!r} has no {attr!r}"
        ) from None


#: Environment of the worker processes of the ``LocalCluster`` this executor starts, applied
#: through dask's ``distributed.nanny.pre-spawn-environ`` configuration (``None`` unsets a key).
#: dask sets ``MALLOC_TRIM_THRESHOLD_=65536`` by default (to give memory back to the OS). Any
#: explicit glibc threshold switches off glibc's *dynamic* mmap threshold, so every NumPy
#: temporary above 128 KiB is then mmap-ed and unmapped, page-faulting on each use: measured,
#: 10 tiles of the NGI scan took 2.01 s of task CPU instead of 0.94 s. cevns workers keep
#: glibc's default instead. BLAS/OpenMP threads stay at 1 per worker (dask's default).
WORKER_ENVIRON: dict[str, str | None] = {
    "MALLOC_TRIM_THRESHOLD_": None,
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}

#: dask configuration of the ``LocalCluster`` this executor starts, on top of dask's defaults: fewer
#: wake-ups of the event loops that run beside the tasks (the scheduler and the nannies in the
#: driver, one per worker), which cost CPU on the cores the tasks need. dask's defaults sample the
#: stack of a running task every 10 ms for its profiler (off here: cevns reads no dask profile),
#: check every server's event loop every 20 ms (0.5 s here: it only times the loop for a warning
#: after 3 s blocked), every worker's memory every 100 ms (1 s: a tile holds tens of MB) and
#: the host's CPU, memory, disk and network every 0.5 s (2 s).
LOCAL_CLUSTER_CONFIG: dict[str, Any] = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "500ms",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
}


def _local_cluster_settings() -> dict[str, Any]:
    """The dask configuration of a ``LocalCluster`` this executor starts and of each of its
    nannies (:data:`WORKER_ENVIRON` as ``pre-spawn-environ``, :data:`LOCAL_CLUSTER_CONFIG`, and
    workers forked from a server that imported distributed and its dependencies once instead of
    each starting Python and importing them: dask's own forkserver support)."""
    settings: dict[str, Any] = {f"distributed.nanny.pre-spawn-environ.{k}": v
                                for k, v in WORKER_ENVIRON.items()}
    settings.update(LOCAL_CLUSTER_CONFIG)
    settings["distributed.worker.multiprocessing-method"] = DEFAULT_MP_CONTEXT
    return settings


@contextlib.contextmanager
def _dask_forkserver_preload(modules: Sequence[str]) -> Iterator[None]:
    """Inside: the forkserver preload list is dask's own (``distributed.utils.get_mp_context``)
    plus `modules`; on exit, the list and dask's private record of having set it
    (``distributed.utils._forkserver_preload_set``) are put back as they were found.

    :meth:`DaskExecutor._start_local` starts the server itself first
    (:func:`cevns.forkserver.start_early`), and a running server keeps its modules: there this
    context only keeps dask from leaving its own list behind in the process. A forkserver started
    inside (by the first Nanny of a ``LocalCluster``, if none runs yet) imports `modules` once
    and forks every worker with them loaded. Enter it inside a ``dask.config.set`` of
    ``distributed.worker.multiprocessing-method = forkserver`` (else it does nothing). Without the
    private record (another dask version), dask would replace the list with its own at the first
    worker: the modules are then not preloaded, which costs time, not correctness.
    """
    import dask

    if (DEFAULT_MP_CONTEXT != "forkserver"
            or dask.config.get("distributed.worker.multiprocessing-method") != "forkserver"):
        yield
        return
    from distributed import utils

    missing = object()
    preload, flag = preload_list(), getattr(utils, "_forkserver_preload_set", missing)
    try:
        ctx = utils.get_mp_context()  # sets dask's own list, once per process
        ctx.set_forkserver_preload(list(dict.fromkeys([*preload_list(), *modules])))
        yield
    finally:
        multiprocessing.get_context("forkserver").set_forkserver_preload(preload)
        if flag is not missing:
            utils._forkserver_preload_set = flag


#: Variables a dask ``Nanny`` writes into the environment of the process it runs in, besides its
#: ``distributed.nanny.pre-spawn-environ`` settings: the workers' hash seed and the marker that
#: lets them set their process title.
_NANNY_ENVIRON = ("PYTHONHASHSEED", "__DASK_PARENT_PID")


def _dask_environ_keys() -> set[str]:
    """Every environment variable a ``Nanny`` created now would write into ``os.environ``."""
    import dask

    spawn = dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {}
    return {*WORKER_ENVIRON, *_NANNY_ENVIRON, *(spawn if isinstance(spawn, Mapping) else ())}


_NANNY_CLASS: Any = None


def _nanny_class() -> Any:
    """``_CevnsNanny``: the ``distributed.Nanny`` of the ``LocalCluster`` workers this executor
    starts (its ``worker_class``). A Nanny writes its worker's settings (``OMP_NUM_THREADS``,
    ``PYTHONHASHSEED``, …) into ``os.environ`` before it starts the worker process (dask's
    ``pre-spawn-environ``), and starting it may fix multiprocessing's default start method; this
    one puts both back as found once its worker is up (:func:`cevns.forkserver.
    keep_process_state`), whenever it starts one: with the cluster, when the cluster grows or
    adapts, and when a lost worker is restarted. Defined at the first use (importing
    ``distributed``), and importable as ``cevns.scan.executors._CevnsNanny``."""
    global _NANNY_CLASS
    if _NANNY_CLASS is None:
        import dask
        from distributed import Nanny

        class _CevnsNanny(Nanny):
            __doc__ = _nanny_class.__doc__

            def __init__(self, *args: Any, cevns_settings: Mapping[str, Any] | None = None,
                         **kwargs: Any) -> None:
                # a Nanny reads its worker's environment and configuration from dask's
                # configuration when it is created: one created later (by cluster.adapt or
                # scale, outside the executor's configuration context) reads them from the
                # settings it was given. (The start method is read when the worker process
                # starts, inside an await; it is not set there, since two workers starting at
                # once would restore each other's configuration out of order: such a worker is
                # started by dask's configured method, slower but the same.)
                with dask.config.set(dict(cevns_settings or {})):
                    super().__init__(*args, **kwargs)
                    # the Nanny's copy of the configuration shares its nested tables with
                    # dask's global one, which the end of this block (and of the executor's own
                    # context) puts back: a worker started after that would read the defaults
                    self.config = copy.deepcopy(self.config)

            async def instantiate(self) -> Any:
                keys = {*(getattr(self, "pre_spawn_env", None) or {}), *_NANNY_ENVIRON}
                with keep_process_state(keys):
                    return await super().instantiate()

        _CevnsNanny.__module__, _CevnsNanny.__qualname__ = __name__, "_CevnsNanny"
        _NANNY_CLASS = _CevnsNanny
    return _NANNY_CLASS


def __getattr__(name: str) -> Any:  # PEP 562: the Nanny subclass, made when dask is imported
    if name == "_CevnsNanny":
        return _nanny_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _class_name(cls: Any) -> str:
    return f"{getattr(cls, '__module__', '?')}.{getattr(cls, '__qualname__', repr(cls))}"


def _keywords(obj: Any) -> tuple[set[str], bool]:
    """The keyword names `obj` (a function or a class) takes, and whether it takes ``**kwargs``
    (also when its signature cannot be read)."""
    try:
        parameters = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        return set(), True
    names = {p.name for p in parameters
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)} - {"self"}
    return names, any(p.kind is p.VAR_KEYWORD for p in parameters)


def _cluster_keywords(cls: type, kwargs: Mapping[str, Any]) -> set[str] | None:
    """The keyword arguments ``cls(**kwargs)`` accepts, or ``None`` where that cannot be known
    (a ``**kwargs`` that is not followed here).

    A ``distributed.LocalCluster`` passes the keywords it does not take itself to its workers: a
    ``Nanny`` (``processes=True``, the default), which passes its own on to the ``Worker``, which
    passes them to its server base class; those are followed, unless a ``worker_class`` is given.
    """
    names, more = _keywords(cls)
    if not more:
        return names
    distributed = sys.modules.get("distributed")
    if (distributed is None or not issubclass(cls, distributed.LocalCluster)
            or "worker_class" in kwargs):
        return None
    try:
        from distributed.core import Server

        chain: list[Any] = [distributed.LocalCluster]
        if kwargs.get("processes", True) is not False:
            chain.append(distributed.Nanny)
        chain.append(distributed.Worker)
        chain += [k for k in distributed.Worker.__mro__[1:]
                  if "__init__" in vars(k) and isinstance(k, type) and issubclass(k, Server)][:1]
    except (AttributeError, ImportError, TypeError):  # another dask layout: not checked here
        return None
    for klass in chain:
        more_names, more = _keywords(klass)
        names |= more_names
    return None if more else names


def _adapt_keywords(cluster_type: type) -> set[str] | None:
    """The keywords ``cluster.adapt(**adapt)`` accepts for a cluster of `cluster_type`, or
    ``None`` where that cannot be known. Each ``adapt`` of the class's MRO passes what it does
    not take to the next; dask's ``Cluster.adapt`` passes it to its ``Adaptive`` class, whose
    extra keywords go to ``Scheduler.workers_to_close``."""
    names: set[str] = set()
    adaptive: Any = None
    for klass in getattr(cluster_type, "__mro__", ()):
        method = vars(klass).get("adapt")
        if method is None:
            continue
        more_names, more = _keywords(method)
        names |= more_names
        try:
            default = inspect.signature(method).parameters["Adaptive"].default
        except (KeyError, TypeError, ValueError):
            default = None
        if adaptive is None and isinstance(default, type):
            adaptive = default
        if not more:
            return names
    if adaptive is None:
        return None
    more_names, more = _keywords(adaptive)
    names |= more_names - {"cluster"}
    if not more:
        return names
    try:
        from distributed.deploy.adaptive import Adaptive
        from distributed.scheduler import Scheduler
    except ImportError:
        return None
    if not issubclass(adaptive, Adaptive):
        return None
    more_names, more = _keywords(Scheduler.workers_to_close)
    return None if more else names | (more_names - {"target", "key", "attribute"})


def _unknown_keys_error(setting: str, where: str, unknown: list[str],
                        valid: set[str]) -> ConfigError:
    """``cluster_kwargs.n_wokers (did you mean 'n_workers'?): not accepted by …; valid: …``"""
    ordered = sorted(valid)
    names = ", ".join(f"{setting}.{key}{_did_you_mean(key, ordered)}" for key in unknown)
    return ConfigError(f"{names}: not accepted by {where}; valid: {', '.join(ordered)}")


def _check_adapt_values(adapt: Mapping[str, Any]) -> None:
    bounds = {}
    for key in ("minimum", "maximum"):
        if key not in adapt:
            continue
        value = adapt[key]
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or value != value or value < 0 or (key == "minimum" and value == float("inf"))):
            raise ConfigError(f"adapt.{key} = {value!r}; expected a number of workers >= 0")
        bounds[key] = value
    if len(bounds) == 2 and bounds["minimum"] > bounds["maximum"]:
        raise ConfigError(f"adapt.minimum = {bounds['minimum']!r} is above adapt.maximum = "
                          f"{bounds['maximum']!r}")


def _cluster_error(where: str, kwargs: Mapping[str, Any], exc: Exception) -> CevnsError:
    """The error to raise when building `where` with the user's `kwargs` raised `exc`: a
    ConfigError naming ``cluster_kwargs`` when the cause is a wrong argument (a ``TypeError`` or
    ``ValueError`` anywhere in its chain) and `kwargs` are the user's, else a ScanError."""
    if isinstance(exc, CevnsError):
        return exc
    cause: BaseException | None = exc
    seen = set()
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, (TypeError, ValueError)):
            break
        cause = cause.__cause__ or cause.__context__
    shown = cause if cause is not None else exc
    what = f"{type(shown).__name__}: {shown}".strip().rstrip(":")
    if cause is not None and kwargs:
        return ConfigError(f"cluster_kwargs = {dict(kwargs)!r}: {where} refused them ({what})")
    return ScanError(f"could not start {where}"
                     + (f" with cluster_kwargs = {dict(kwargs)!r}" if kwargs else "")
                     + f" ({what})")


class DaskExecutor(Executor):
    """Runs tiles on a dask.distributed cluster.

    Exactly one way of finding the cluster applies, in this order: `client` (an existing
    ``distributed.Client``, or a cluster object such as a ``LocalCluster`` or a
    ``dask_jobqueue.SLURMCluster``), `address` (a running scheduler), `cluster` (a cluster class by
    dotted path, built with `cluster_kwargs` and scaled to `n_workers`), else a new
    ``LocalCluster`` of `n_workers` worker processes with `threads_per_worker` threads each.

    The ``LocalCluster`` is started at the first use of :attr:`client`, or, after
    :meth:`prepare_workers`, in the background by the first :meth:`stream` (workers forked with the
    task modules imported; the driver runs tiles meanwhile), with no more workers than the stream
    has items queued; more are added, up to `n_workers`, when more work comes. Its dask
    configuration is :data:`WORKER_ENVIRON` and :data:`LOCAL_CLUSTER_CONFIG`, set only around its
    creation and its growth; the variables its nannies write into ``os.environ`` and
    multiprocessing's default start method are put back as they were once each worker is up.

    Worker processes with one thread each suit this work: a tile is NumPy on arrays of a few
    hundred kB interleaved with Python (the likelihood's Newton steps, pydantic models) that holds
    the GIL, so threads of one process would mostly wait for each other.

    Parameters
    ----------
    address : str, optional
        Scheduler address, ``[scheme://]host:port`` with a port from 1 to 65535, e.g.
        ``"tcp://10.0.0.5:8786"`` (checked here: :func:`check_scheduler_address`).
    client : distributed.Client or cluster object, optional
        Use this client (not closed by :meth:`close`) or connect a new client to this cluster.
    cluster : str, optional
        Dotted path of a cluster class, e.g. ``"dask_jobqueue.SLURMCluster"`` (or the class).
    cluster_kwargs : mapping, optional
        Keyword arguments of the cluster class (or of ``LocalCluster``). Names the class does not
        take are a :class:`ConfigError` when it starts (for a class with ``**kwargs`` other than
        ``LocalCluster``, whose own are followed to its workers: when the class refuses them).
    n_workers : int, optional
        Workers of the new cluster (``LocalCluster``: at most :data:`MAX_WORKERS`, default CPU
        count // `threads_per_worker`, and never more than the items of work; for a `cluster`
        class, passed to ``cluster.scale``).
    threads_per_worker : int
        Threads per ``LocalCluster`` worker; 1 suits CPU-bound NumPy tasks.
    adapt : mapping, optional
        Adaptive scaling: ``cluster.adapt(**adapt)``, e.g. ``{"minimum": 0, "maximum": 50}``, on
        the cluster this executor builds or is given (not with an `address` or a bare ``Client``
        without a cluster). Replaces `n_workers`. A key the cluster's ``adapt`` does not take, or
        a ``minimum`` above the ``maximum``, is a :class:`ConfigError`.
    connect_timeout : float
        Seconds (finite) to wait for the scheduler before raising :class:`ScanError`.
    worker_timeout : float or None
        Seconds a scan with pending tiles may go on without any worker before it raises
        :class:`ScanError` (default 30). On a batch queue whose jobs may wait longer than that
        before they start, raise it (or ``None``: wait forever).
    retries : int
        Times a tile that raised is resubmitted before the error propagates (``Client.submit``
        ``retries``). A tile on a worker that dies is rescheduled by the scheduler regardless, up
        to ``distributed.scheduler.allowed-failures`` (default 3) worker deaths per tile.
    """

    name = "dask"

    def __init__(
        self,
        address: str | None = None,
        *,
        client: Any = None,
        cluster: str | None = None,
        cluster_kwargs: Mapping[str, Any] | None = None,
        n_workers: int | None = None,
        threads_per_worker: int = 1,
        adapt: Mapping[str, Any] | None = None,
        connect_timeout: float = 5.0,
        worker_timeout: float | None = 30.0,
        retries: int = 2,
    ):
        super().__init__()
        for key, value, low in (("n_workers", n_workers, 1), ("threads_per_worker",
                                threads_per_worker, 1), ("retries", retries, 0)):
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"{key} = {value!r}; expected an int >= {low}")
        for key, value, optional in (("connect_timeout", connect_timeout, False),
                                     ("worker_timeout", worker_timeout, True)):
            if value is None and optional:
                continue
            if isinstance(value, bool) or not (isinstance(value, (int, float)) and value > 0) or (
                    key == "connect_timeout" and value == float("inf")):
                raise ConfigError(f"{key} = {value!r}; expected seconds > 0"
                                  + (" (finite)" if key == "connect_timeout" else "")
                                  + (" or None" if optional else ""))
        if address is not None:
            if not isinstance(address, str):
                raise ConfigError(f"address = {address!r}; expected a string like "
                                  "'tcp://host:8786'")
            check_scheduler_address(address)
        if cluster is not None and not (isinstance(cluster, type) or (
                isinstance(cluster, str) and cluster.strip())):
            raise ConfigError(f"cluster = {cluster!r}; expected the dotted path of a dask "
                              "cluster class, e.g. 'dask_jobqueue.SLURMCluster'")
        for key, value in (("cluster_kwargs", cluster_kwargs), ("adapt", adapt)):
            if value is not None and not (isinstance(value, Mapping)
                                          and all(isinstance(k, str) for k in value)):
                raise ConfigError(f"{key} = {value!r}; expected a mapping of argument names to "
                                  "values" + (", such as {'minimum': 0, 'maximum': 50}"
                                              if key == "adapt" else ""))
        if adapt is not None and address is not None:
            raise ConfigError("adapt needs a cluster object or class; a scheduler address alone "
                              "cannot be scaled from here")
        if adapt is not None:
            _check_adapt_values(adapt)
        if client is not None or address is not None:
            given = "client" if client is not None else "address"
            for key, value in (("cluster", cluster), ("cluster_kwargs", cluster_kwargs)):
                if value:
                    raise ConfigError(f"{key} builds a cluster, but {given} names one already: "
                                      "give one of them")
        if cluster is None and client is None and address is None:  # a LocalCluster
            _check_workers("n_workers", n_workers)  # processes on this machine
            local_n = (cluster_kwargs or {}).get("n_workers")
            if isinstance(local_n, int) and not isinstance(local_n, bool) and local_n != 0:
                _check_workers("cluster_kwargs.n_workers", local_n)  # (0: none until scaled)
        self.address = address
        self.user_client = client
        self.cluster_class = cluster
        self.cluster_kwargs = dict(cluster_kwargs or {})
        self.n_workers = n_workers
        self.threads_per_worker = threads_per_worker
        self.adapt = None if adapt is None else dict(adapt)
        self.connect_timeout = float(connect_timeout)
        self.worker_timeout = None if worker_timeout is None else float(worker_timeout)
        self.retries = retries
        self._client: Any = None
        self._owned_client: Any = None
        self._owned_cluster: Any = None
        self._no_worker_since: float | None = None
        #: a LocalCluster to start (at the first use, or by prepare_workers in the background)
        self._local_pending = False
        self._starter: threading.Thread | None = None
        self._starter_error: BaseException | None = None
        self._up = threading.Event()
        self._up_lock = threading.Lock()
        self._on_up: Callable[[], None] | None = None
        #: the modules of prepare_workers (None: not called); the LocalCluster's worker target
        #: (None: not capped to the work) and the workers it was asked for so far; its grower
        self._prepared: tuple[str, ...] | None = None
        self._start_items: int | None = None
        self._target: int | None = None
        self._launched = 0
        self._grower: threading.Thread | None = None
        self._settings_checked = False

    @property
    def client(self) -> Any:
        """The ``distributed.Client`` (``None`` when not started). A ``LocalCluster`` still
        starting (:meth:`prepare_workers`) is waited for; one not started yet is started now."""
        self._await_cluster()
        return self._client

    def _start(self) -> None:
        distributed = _import_distributed()
        self._starter = self._starter_error = self._grower = None
        self._prepared, self._target, self._launched = None, None, 0
        user = self.user_client
        if user is not None:
            if isinstance(user, distributed.Client):
                self._client = user
                cluster = getattr(user, "cluster", None)
            else:  # a cluster object: LocalCluster, SLURMCluster, ...
                self._client = self._owned_client = self._connect(distributed, user)
                cluster = user
            self._adapt(cluster)
            return
        if self.address is not None:
            self._client = self._owned_client = self._connect(distributed, self.address)
            return
        self._check_settings()
        if self.cluster_class is not None:
            self._start_class(distributed)
            return
        # the LocalCluster starts at the first use, or in the background by the first stream
        # after prepare_workers (which must come before its forkserver starts, to have the
        # workers' modules preloaded); its settings are checked above, in the driver
        self._local_pending = True

    def check_task(self, task: Callable[..., Any]) -> None:
        """Check the settings of the cluster this executor builds (:meth:`_check_settings`):
        :func:`~cevns.scan.runner.run_scan` calls this before it creates a store, so that a
        wrong setting leaves none behind."""
        self._check_settings()

    def _check_settings(self) -> None:
        """Raise a :class:`ConfigError` for a `cluster` that is not a class, `cluster_kwargs`
        the class (or ``LocalCluster``) does not take, or `adapt` keys its ``adapt`` does not
        take; :class:`MissingDependencyError` without dask.distributed. Imports ``distributed``
        and the cluster class (once)."""
        if self._settings_checked:
            return
        distributed = _import_distributed()
        if self.user_client is None and self.address is None:
            if self.cluster_class is not None:
                cls = self._cluster_type()
                where = (self.cluster_class if isinstance(self.cluster_class, str)
                         else _class_name(cls))
            else:
                cls, where = distributed.LocalCluster, "distributed.LocalCluster"
            self._check_cluster_kwargs(cls, where, self.cluster_kwargs)
            self._check_adapt(cls, f"{where}.adapt")
        self._settings_checked = True

    def _cluster_type(self) -> type:
        """The class named by `cluster`: a ConfigError unless it is a class."""
        spec = self.cluster_class
        obj = spec if isinstance(spec, type) else _import_dotted(str(spec))
        if not isinstance(obj, type):
            kind = "a module" if inspect.ismodule(obj) else f"a {type(obj).__name__}"
            raise ConfigError(f"cluster = {spec!r} is {kind}, not a cluster class; give the "
                              "dotted path of a dask cluster class, e.g. "
                              "'dask_jobqueue.SLURMCluster'")
        return obj

    def _check_cluster_kwargs(self, cls: type, where: str, kwargs: Mapping[str, Any]) -> None:
        """A ConfigError naming `cluster_kwargs` keys that `cls` does not take (where its
        signature tells)."""
        valid = _cluster_keywords(cls, kwargs)
        if valid is None:
            return
        unknown = sorted(set(self.cluster_kwargs) - valid)
        if unknown:
            raise _unknown_keys_error("cluster_kwargs", where, unknown, valid)

    def _check_adapt(self, cluster_type: type, where: str) -> None:
        """A ConfigError naming `adapt` keys that ``cluster_type.adapt`` does not take (where its
        signature tells)."""
        if self.adapt is None:
            return
        valid = _adapt_keywords(cluster_type)
        if valid is None:
            return
        unknown = sorted(set(self.adapt) - valid)
        if unknown:
            raise _unknown_keys_error("adapt", where, unknown, valid - {"Adaptive"})

    def _start_class(self, distributed: Any) -> None:
        """Build the cluster class `cluster` with `cluster_kwargs`, scale it to `n_workers` (or
        adapt it) and connect the client."""
        cls = self._cluster_type()
        where = self.cluster_class if isinstance(self.cluster_class, str) else _class_name(cls)
        kwargs = dict(self.cluster_kwargs)
        if (issubclass(cls, distributed.LocalCluster) and kwargs.get("processes", True)
                is not False and "worker_class" not in kwargs):
            kwargs["worker_class"] = _nanny_class()  # leaves os.environ as it finds it
        with keep_process_state(_dask_environ_keys()):
            try:
                self._owned_cluster = cls(**kwargs)
            except Exception as exc:
                raise _cluster_error(where, self.cluster_kwargs, exc) from exc
            if self.n_workers and self.adapt is None:
                self._owned_cluster.scale(self.n_workers)
            self._connect_owned(distributed)

    def _local_kwargs(self, n_items: int | None = None) -> dict[str, Any]:
        """The arguments of the ``LocalCluster``; with `n_items` (the work queued when it
        starts), no more workers than items (the target is kept for :meth:`_grow`)."""
        kwargs: dict[str, Any] = {
            "threads_per_worker": self.threads_per_worker,
            "processes": True,
            "dashboard_address": None,
            "silence_logs": logging.WARNING,
        }
        if self.n_workers is not None:
            kwargs["n_workers"] = self.n_workers
        if self.adapt is not None:
            kwargs["n_workers"] = 0
        kwargs.update(self.cluster_kwargs)
        if kwargs.get("processes", True) is not False and "worker_class" not in kwargs:
            kwargs["worker_class"] = _nanny_class()  # leaves os.environ as it finds it
            # each nanny keeps the settings it starts its worker with, also one added later
            # (adapt, scale) when this executor's configuration context is long left
            kwargs["cevns_settings"] = _local_cluster_settings()
        if n_items is None or self.adapt is not None:
            return kwargs
        target = kwargs.get("n_workers")
        threads = kwargs.get("threads_per_worker")
        if target is None and kwargs.get("processes", True) is not False and (
                isinstance(threads, int) and not isinstance(threads, bool) and threads >= 1):
            try:  # LocalCluster's own default
                from dask.system import CPU_COUNT
            except ImportError:
                CPU_COUNT = os.cpu_count() or 1  # noqa: N806
            target = max(1, CPU_COUNT // threads)
        if isinstance(target, int) and not isinstance(target, bool) and target > max(1, n_items):
            kwargs["n_workers"] = max(1, n_items)
            self._target = target
            if "memory_limit" not in kwargs:  # each worker's share, as for `target` workers
                try:
                    from distributed.worker_memory import parse_memory_limit

                    kwargs["memory_limit"] = parse_memory_limit("auto", 1, target)
                except Exception:  # another dask: its default (the share of fewer workers)
                    log.debug("no memory_limit for %d workers", target, exc_info=True)
        return kwargs

    @contextlib.contextmanager
    def _local_settings(self, modules: Sequence[str]) -> Iterator[None]:
        """Inside: the dask configuration the ``LocalCluster``'s nannies read when they are
        created (:data:`WORKER_ENVIRON`, :data:`LOCAL_CLUSTER_CONFIG`, dask's forkserver with
        `modules` preloaded); on leaving, that configuration, the forkserver preload list, the
        environment variables the nannies write and multiprocessing's default start method are
        as they were."""
        import dask

        with dask.config.set(_local_cluster_settings()):  # read by each Nanny when it is created
            with keep_process_state(_dask_environ_keys()), _dask_forkserver_preload(modules):
                yield

    def _start_local(self, modules: Sequence[str] = ()) -> None:
        """Start the ``LocalCluster`` and connect the client, the workers forked from a
        forkserver that imported `modules` (see :meth:`prepare_workers`); no more workers than
        the items of work ``_start_items`` (when not ``None``)."""
        distributed = _import_distributed()
        kwargs = self._local_kwargs(self._start_items)
        if DEFAULT_MP_CONTEXT == "forkserver" and kwargs.get("processes", True):
            # started here, not by dask's first Nanny, so that it ignores Ctrl-C and sets the
            # workers' malloc thresholds (a server already running keeps its modules:
            # cevns.forkserver)
            start_forkserver((*DASK_MODULES, *modules))
        with self._local_settings(modules):
            try:
                cluster = distributed.LocalCluster(**kwargs)
            except Exception as exc:
                raise _cluster_error("distributed.LocalCluster", self.cluster_kwargs,
                                     exc) from exc
        n = kwargs.get("n_workers")
        self._launched = n if isinstance(n, int) else 0
        self._owned_cluster = cluster
        self._connect_owned(distributed)

    def _grow(self, n_items: int) -> None:
        """Add ``LocalCluster`` workers, in the background, for `n_items` of work, up to the
        target that :meth:`_local_kwargs` capped (no-op while a previous growth runs)."""
        if (self._target is None or self._launched >= self._target
                or n_items <= self._launched or self._owned_cluster is None
                or (self._grower is not None and self._grower.is_alive())):
            return
        want = min(self._target, n_items)
        cluster, client, modules = self._owned_cluster, self._client, self._prepared or ()
        self._launched = want

        def grow() -> None:
            try:
                with self._local_settings(modules):
                    cluster.scale(want)
                    client.wait_for_workers(want, timeout=max(60.0, self.connect_timeout))
            except Exception as exc:  # the workers there are go on; a dead cluster tells later
                log.warning("could not add dask workers (%d wanted): %s", want, exc)

        self._grower = threading.Thread(target=grow, daemon=True, name="cevns-dask-grower")
        self._grower.start()

    def _connect_owned(self, distributed: Any) -> None:
        try:
            self._adapt(self._owned_cluster)
            self._client = self._owned_client = self._connect(distributed, self._owned_cluster)
        except BaseException:
            self._owned_cluster.close()
            self._owned_cluster = None
            raise

    def prepare_workers(self, modules: Sequence[str] = ()) -> None:
        """Have the ``LocalCluster`` start in the background at the first :meth:`stream`, with
        as many workers as it has items queued (at most `n_workers`), forked from a forkserver
        that imported `modules` (and dask's own list) once, while the driver goes on.

        A no-op unless this executor starts a ``LocalCluster`` that is not started yet. The
        forkserver is started now, with ``distributed`` and `modules` preloaded
        (:func:`cevns.forkserver.start_early`: it ignores Ctrl-C and sets the workers' malloc
        thresholds), and imports while the driver plans. A server already running (the command
        line starts it first) keeps its modules: the workers then import what it lacks with their
        first task. Where no server could be started so (no forkserver on the platform), the
        first worker of the cluster starts one with dask's list plus `modules`; the list, and
        dask's private record of having set it, are put back as found once the workers are
        started. The driver's first :meth:`stream` runs tiles itself until the cluster is up.
        """
        if (not self._started or not self._local_pending or self._starter is not None
                or self._prepared is not None):
            return
        self._prepared = modules = tuple(dict.fromkeys(modules))
        if DEFAULT_MP_CONTEXT == "forkserver" and self.cluster_kwargs.get("processes", True):
            start_forkserver((*DASK_MODULES, *modules))  # imports while the driver goes on

    def _start_in_background(self, n_items: int) -> None:
        """Start the ``LocalCluster`` of :meth:`prepare_workers` in a thread, for `n_items` of
        work; once it is up, submit the queue (the ``_on_up`` that :func:`_run_here_until_up`
        leaves) and set ``_up``."""
        modules = self._prepared or ()
        up = self._up = threading.Event()
        self._start_items = n_items

        def start() -> None:
            try:
                self._start_local(modules)
                with self._up_lock:
                    on_up, self._on_up = self._on_up, None
                if on_up is not None:  # stream() waits in a tile of its own: submit the queue
                    on_up()
            except BaseException as exc:  # re-raised in the driver by _await_cluster
                self._starter_error = exc
            finally:
                up.set()

        self._starter = threading.Thread(target=start, daemon=True, name="cevns-dask-starter")
        self._starter.start()

    def _await_cluster(self, n_items: int | None = None) -> None:
        """Wait for the LocalCluster started in the background (re-raising its error in this
        thread), or start it here if nothing started it yet (with `n_items`: for that much
        work)."""
        if not self._local_pending:
            return
        if self._starter is not None:
            self._starter.join()
        elif self._started:
            self._start_items = n_items
            try:
                self._start_local(self._prepared or ())
            finally:
                self._local_pending = False
        self._local_pending = False
        error, self._starter_error = self._starter_error, None
        if error is not None:
            raise error

    def _adapt(self, cluster: Any) -> None:
        if self.adapt is None:
            return
        if cluster is None or not hasattr(cluster, "adapt"):
            raise ConfigError(f"adapt = {self.adapt!r}: the dask client has no cluster object to "
                              "scale; pass the cluster (e.g. a SLURMCluster) instead")
        self._check_adapt(type(cluster), f"{_class_name(type(cluster))}.adapt")
        try:
            cluster.adapt(**self.adapt)
        except TypeError as exc:
            raise ConfigError(f"adapt = {self.adapt!r}: {exc}") from exc

    @property
    def local(self) -> bool:  # type: ignore[override]
        """True for the ``LocalCluster`` this executor starts itself (its workers share this
        machine's files); False for a scheduler address, a client or a cluster object or class."""
        return (self.address is None and self.user_client is None
                and self.cluster_class is None)

    def n_live_workers(self) -> int:
        """Number of workers the scheduler knows now (asks the scheduler)."""
        return len(self.client.nthreads())

    def _log_workers(self) -> None:
        if self.n_live_workers() == 0:  # normal for a batch-queue cluster whose jobs wait
            log.info("dask scheduler %s has no workers yet; tiles wait until workers join "
                     "(at most worker_timeout = %s s)", self.client.scheduler.address,
                     self.worker_timeout)

    def _connect(self, distributed: Any, target: Any) -> Any:
        where = target if isinstance(target, str) else repr(target)
        try:
            return distributed.Client(target, timeout=self.connect_timeout,
                                      set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ScanError(
                f"cannot reach the dask scheduler at {where} within {self.connect_timeout:g} s "
                f"({exc}); is the scheduler running and the address right?"
            ) from exc

    def _close(self, wait: bool) -> None:
        """Close what this executor started. A ``LocalCluster`` whose start failed when the
        driver had run every tile itself: a wrong setting (``ConfigError``) is raised here (after
        a scan without error, `wait`), anything else logged."""
        error: BaseException | None = None
        if self._starter is not None:  # a cluster still starting is closed once it is up
            self._starter.join()
            self._starter = None
            if self._starter_error is not None:  # never needed: the driver ran every tile
                if wait and isinstance(self._starter_error, ConfigError):
                    error = self._starter_error
                else:
                    log.warning("the dask LocalCluster did not start: %s", self._starter_error)
                self._starter_error = None
        if self._grower is not None:  # its workers must be known to be closed
            self._grower.join()
            self._grower = None
        self._local_pending = False
        self._target = None
        for obj in (self._owned_client, self._owned_cluster):
            if obj is not None:
                try:
                    obj.close()
                except Exception:  # closing is best effort; the scan result is already safe
                    log.debug("error while closing %r", obj, exc_info=True)
        self._client = self._owned_client = self._owned_cluster = None
        if error is not None:
            raise error

    def _check_workers(self, n_pending: int) -> None:
        """Raise :class:`ScanError` once no worker has been connected for ``worker_timeout`` s."""
        if self.worker_timeout is None or self.n_live_workers() > 0:
            self._no_worker_since = None
            return
        now = time.monotonic()
        if self._no_worker_since is None:
            self._no_worker_since = now
            log.warning("no dask worker left with %d tiles pending; giving up in %g s unless one "
                        "joins", n_pending, self.worker_timeout)
        elif now - self._no_worker_since >= self.worker_timeout:
            raise self._no_worker_error(now - self._no_worker_since, n_pending) from None

    def _no_worker_error(self, waited: float, n_pending: int) -> ScanError:
        where = self._client.scheduler.address if self._client is not None else "?"
        return ScanError(
            f"no dask worker is connected to the scheduler {where}: {n_pending} tiles waited "
            f"{waited:.0f} s (worker_timeout = {self.worker_timeout:g} s) without one. The workers "
            "died or never started (jobs still queued, wrong address, crashed nannies). The "
            "completed tiles are saved: start workers and run again with resume=True, or raise "
            "worker_timeout (None waits forever) for a batch queue whose jobs start late"
        )

    def stream(self, queue: WorkQueue) -> Iterator[tuple[Work, TileResult]]:
        """Submit every queued item with ``retries`` and its priority (dask's ``priority``: the
        scheduler hands out the highest first); work put later is submitted after each result
        (see :meth:`Executor.stream`).

        Raises
        ------
        ScanError
            If items are pending and no worker has been connected for ``worker_timeout`` s.
        """
        if not self._started:
            raise ScanError("the dask executor is not started; use it as a context manager")
        token = uuid.uuid4().hex[:8]
        finished: _queue.Queue[Any] = _queue.Queue()  # filled by dask's callback thread
        pending: dict[Any, Work] = {}
        counter = itertools.count()
        submitting = threading.Lock()  # the starter thread may submit the queue (below)

        def submit_queued() -> None:
            with submitting:
                while (entry := queue.pop()) is not None:
                    item, priority = entry
                    label = getattr(item.task, "__name__", "task")
                    where = item.tile.index if item.tile is not None else "item"
                    future = self._client.submit(
                        _run_work, item, key=f"cevns-{label}-{token}-{next(counter)}-{where}",
                        retries=self.retries, pure=False, priority=round(priority * 1000),
                    )
                    pending[future] = item
                    future.add_done_callback(finished.put)

        # while the LocalCluster of prepare_workers starts, the driver, idle otherwise, runs the
        # tiles at the head of the queue itself (the same function on the same input: the same
        # result); it stops at the first item that is not a tile of a grid, and once the cluster
        # is up. The starter thread submits the rest of the queue the moment the cluster is up,
        # so that the workers need not wait for the end of the driver's tile.
        poll = 1.0 if self.worker_timeout is None else min(1.0, self.worker_timeout / 5)
        self._no_worker_since: float | None = None
        try:
            if self._local_pending and self._starter is None and self._prepared is not None:
                if queue.peek() is None:
                    return  # no work: no cluster
                self._start_in_background(len(queue))
            if self._starter is not None and not self._up.is_set():
                yield from _run_here_until_up(self, queue, submit_queued, submitting)
                if not self._up.is_set() and not pending and queue.peek() is None:
                    return  # all done here: nothing waits for the cluster (close() stops it)
            self._await_cluster(len(queue))
            if self._client is None:
                raise ScanError("the dask executor is not started; use it as a context manager")
            self._log_workers()
            submit_queued()
            self._grow(len(pending))
            while pending:
                try:
                    future = finished.get(timeout=poll)
                except _queue.Empty:
                    self._check_workers(len(pending))
                    continue
                item = pending.get(future)
                if item is None:  # a duplicate notification
                    continue
                # a finished result lives on a worker until fetched: if that worker is lost
                # first, the future is recomputed, so the fetch too must watch the workers
                while True:
                    try:
                        result = future.result(timeout=poll)
                        break
                    except TimeoutError:
                        self._check_workers(len(pending))
                    except Exception as exc:
                        _annotate(exc, item)
                        raise
                self._no_worker_since = None
                del pending[future]
                future.release()
                yield item, result
                submit_queued()
                self._grow(len(pending))
        finally:
            if pending and self._client is not None:
                try:
                    self._client.cancel(list(pending))
                except Exception:  # the scheduler may be gone; nothing is left to cancel
                    log.debug("could not cancel pending tiles", exc_info=True)

    def describe(self) -> str:
        """E.g. ``"dask(tcp://127.0.0.1:40000, 2 workers)"``."""
        if self._client is None:  # not started, or a LocalCluster still starting
            where = self.address or self.cluster_class or "LocalCluster"
            return f"dask({where})"
        try:
            return f"dask({self._client.scheduler.address}, {self.n_live_workers()} workers)"
        except Exception:
            return "dask(?)"


#: Executor kinds by name.
EXECUTORS: dict[str, type[Executor]] = {
    "serial": SerialExecutor,
    "processes": ProcessExecutor,
    "dask": DaskExecutor,
}


def make_executor(spec: str | Mapping[str, Any] | Executor | Any = "serial") -> Executor:
    """Build an executor from a name, a spec mapping or an object.

    Parameters
    ----------
    spec : str, mapping, Executor, dask Client or cluster
        - ``"serial"``, ``"processes"``, ``"dask"``: that executor with default settings;
        - a scheduler address containing ``"://"`` (``"tcp://host:8786"``): a dask executor
          connected to it;
        - a mapping ``{"name": ..., **options}`` (e.g. a TOML table); the options are the keyword
          arguments of :class:`ProcessExecutor` or :class:`DaskExecutor`;
        - an :class:`Executor`: returned as is;
        - a ``distributed.Client`` or a dask cluster object: a dask executor using it.

    Raises
    ------
    UnknownNameError
        If the name is not an executor kind (the message lists the valid ones).
    ConfigError
        If a spec mapping has an option that the executor does not take.
    """
    if isinstance(spec, Executor):
        return spec
    if isinstance(spec, str):
        if "://" in spec:
            return DaskExecutor(address=spec)
        if spec not in EXECUTORS:
            raise UnknownNameError("executor", spec, EXECUTORS)
        return EXECUTORS[spec]()
    if isinstance(spec, Mapping):
        options = dict(spec)
        name = options.pop("name", None)
        if name is None:
            raise ConfigError(f"executor spec {spec!r} has no 'name'; valid: {sorted(EXECUTORS)}")
        if name not in EXECUTORS:
            raise UnknownNameError("executor", name, EXECUTORS)
        cls = EXECUTORS[name]
        valid = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
        unknown = sorted(set(options) - set(valid))
        if unknown:
            raise ConfigError(
                f"executor {name!r} has no option(s) {unknown}; valid options: {valid}"
            )
        return cls(**options)
    # a dask Client or cluster object, recognised without importing dask
    if hasattr(spec, "scheduler_address") or (
        hasattr(spec, "submit") and hasattr(spec, "scheduler_info")
    ):
        return DaskExecutor(client=spec)
    raise ConfigError(
        f"cannot make an executor from {spec!r}; give a name ({', '.join(EXECUTORS)}), a "
        "scheduler address, a mapping with a 'name', an Executor or a dask Client/cluster"
    )

