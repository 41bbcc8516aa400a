"""Executors: where the tiles of a scan run.

Every executor submits each tile as an independent future and yields results as they complete, in
completion order. Only the driver (the process calling :func:`~cevns.scan.runner.run_scan`) sees the
results and writes the store.

``serial``
    In the calling process, one tile after the other. For debugging and small scans.
``processes``
    A local :class:`concurrent.futures.ProcessPoolExecutor` (``max_workers``, default the CPU
    count). Worker processes are forked from a ``"forkserver"`` by default (``"spawn"`` where the
    OS has none), so the task must be importable (a top-level function in a module, not in
    ``__main__`` of ``python -c``). :meth:`Executor.prepare_workers` starts them all at once with
    the modules the tasks need imported once, in the server, while the driver goes on.
``dask``
    :mod:`dask.distributed` (the optional extra ``cevns[dask]``): a ``LocalCluster`` by default, a
    scheduler ``address`` (``"tcp://host:8786"``), an existing ``Client`` or cluster object
    (e.g. a ``dask_jobqueue.SLURMCluster``), or a cluster class named by dotted path. The
    ``LocalCluster`` it starts itself is started in the background by
    :meth:`Executor.prepare_workers`, its workers forked from dask's forkserver with the modules
    imported once, while the driver runs the first tiles (as the process pool does).

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
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from cevns.errors import ConfigError, MissingDependencyError, ScanError, UnknownNameError
from cevns.forkserver import DASK_MODULES, preload_list
from cevns.forkserver import available as forkserver_available
from cevns.forkserver import start_early as start_forkserver
from cevns.scan.tiles import Tile

__all__ = [
    "EXECUTORS",
    "LOCAL_CLUSTER_CONFIG",
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


def _spawn_all(pool: cf.ProcessPoolExecutor, n: int) -> None:
    """Start the `n` workers of `pool` (each ``submit`` finding no idle worker starts one)."""
    try:
        for _ in range(n):
            pool.submit(_ready)
    except Exception:  # the pool was shut down meanwhile; its first real task would tell
        log.debug("could not pre-start the pool workers", exc_info=True)


#: Default start method of :class:`ProcessExecutor`: ``"forkserver"`` where available.
DEFAULT_MP_CONTEXT = "forkserver" if forkserver_available() else "spawn"


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
        Number of worker processes; default ``os.cpu_count()``.
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
        if max_workers is not None and (
            isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1
        ):
            raise ConfigError(f"max_workers = {max_workers!r}; expected an int >= 1")
        methods = multiprocessing.get_all_start_methods()
        if mp_context not in methods:
            raise UnknownNameError("multiprocessing start method", mp_context, methods)
        self.max_workers = max_workers or os.cpu_count() or 1
        self.mp_context = mp_context
        self._pool: cf.ProcessPoolExecutor | None = None

    @property
    def n_workers(self) -> int:
        """Number of worker processes."""
        return self.max_workers

    def _start(self) -> None:
        self._spawner: threading.Thread | None = None
        self._used = False
        self._up = threading.Event()
        self._up_lock = threading.Lock()
        self._on_up: Callable[[], None] | None = None
        self._pool = self._new_pool(())

    def _new_pool(self, modules: tuple[str, ...]) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(
            self.max_workers, mp_context=multiprocessing.get_context(self.mp_context),
            initializer=_pool_worker_init,
            initargs=(WATCHDOG_INTERVAL_S, modules, os.getpid()),
        )

    def prepare_workers(self, modules: Sequence[str] = ()) -> None:
        """Start every worker now, in the background, with `modules` imported.

        The pool otherwise starts a worker only when a task finds none idle, so the second
        worker would start (and import everything) only once the first task runs. Called before
        the pool's first task: with ``"forkserver"`` the server imports `modules` once and forks
        the workers from it; with ``"spawn"`` each worker imports them as it starts. The driver
        goes on meanwhile (its first :meth:`stream` waits until the workers are started). A no-op
        once the pool has run a task or its workers are started.
        """
        if self._pool is None or self._used or self._spawner is not None:
            return
        modules = tuple(dict.fromkeys(modules))
        self._pool.shutdown(wait=True)  # never used: no process, no thread
        self._pool = pool = self._new_pool(modules)
        if self.mp_context == "forkserver":
            # started here, not by the pool, so that it ignores Ctrl-C (cevns.forkserver); a
            # server already running keeps its modules (the command line starts it before it
            # imports the library)
            start_forkserver(modules)
        up = self._up

        def spawn() -> None:
            try:
                _spawn_all(pool, self.max_workers)
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
        pool, self._pool = self._pool, None
        if pool is None:
            return
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
        in `queue`, where work put later with a higher priority still overtakes them.

        While the workers of :meth:`prepare_workers` are still starting, the driver, idle
        otherwise, runs the tiles at the head of the queue itself (the same function on the same
        input: the same result); it stops at the first item that is not a tile of a grid, and
        once the workers are up, when the starting thread has already filled the pool.
        """
        if self._pool is None:
            raise ScanError("the processes executor is not started; use it as a context manager")
        pool = self._pool
        pending: dict[cf.Future, Work] = {}
        submitting = threading.Lock()  # the spawner thread may fill the pool (below)

        def fill() -> None:
            with submitting:
                while len(pending) <= self.max_workers and (entry := queue.pop()) is not None:
                    pending[pool.submit(_run_work, entry[0])] = entry[0]

        try:
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
                        raise ScanError(
                            f"a worker process of the pool died while running "
                            f"{task_name(item.task)!r} ({exc}). A scan with a store keeps its "
                            "completed tiles: run it again with resume=True. If the workers die "
                            "at once from a script, the script probably starts the scan when it "
                            "is imported: the workers import the main module, so put that code "
                            "in an  if __name__ == '__main__':  block"
                        ) from exc
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


class DaskExecutor(Executor):
    """Runs tiles on a dask.distributed cluster.

    Exactly one way of finding the cluster applies, in this order: `client` (an existing
    ``distributed.Client``, or a cluster object such as a ``LocalCluster`` or a
    ``dask_jobqueue.SLURMCluster``), `address` (a running scheduler), `cluster` (a cluster class by
    dotted path, built with `cluster_kwargs` and scaled to `n_workers`), else a new
    ``LocalCluster`` of `n_workers` worker processes with `threads_per_worker` threads each.

    The ``LocalCluster`` is started at the first use of :attr:`client`, or in the background by
    :meth:`prepare_workers` (workers forked with the task modules imported; the driver runs tiles
    meanwhile). Its dask configuration is :data:`WORKER_ENVIRON` and :data:`LOCAL_CLUSTER_CONFIG`,
    set only around its creation.

    Worker processes with one thread each suit this work: a tile is NumPy on arrays of a few
    hundred kB interleaved with Python (the likelihood's Newton steps, pydantic models) that holds
    the GIL, so threads of one process would mostly wait for each other.

    Parameters
    ----------
    address : str, optional
        Scheduler address, e.g. ``"tcp://10.0.0.5:8786"``.
    client : distributed.Client or cluster object, optional
        Use this client (not closed by :meth:`close`) or connect a new client to this cluster.
    cluster : str, optional
        Dotted path of a cluster class, e.g. ``"dask_jobqueue.SLURMCluster"``.
    cluster_kwargs : mapping, optional
        Keyword arguments of the cluster class (or of ``LocalCluster``).
    n_workers : int, optional
        Workers of the new cluster (``LocalCluster`` default: CPU count // `threads_per_worker`;
        for a `cluster` class, passed to ``cluster.scale``).
    threads_per_worker : int
        Threads per ``LocalCluster`` worker; 1 suits CPU-bound NumPy tasks.
    adapt : mapping, optional
        Adaptive scaling: ``cluster.adapt(**adapt)``, e.g. ``{"minimum": 0, "maximum": 50}``, on
        the cluster this executor builds or is given (not with an `address` or a bare ``Client``
        without a cluster). Replaces `n_workers`.
    connect_timeout : float
        Seconds to wait for the scheduler before raising :class:`ScanError`.
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
            if isinstance(value, bool) or not (isinstance(value, (int, float)) and value > 0):
                raise ConfigError(f"{key} = {value!r}; expected seconds > 0"
                                  + (" or None" if optional else ""))
        if address is not None and not isinstance(address, str):
            raise ConfigError(f"address = {address!r}; expected a string like 'tcp://host:8786'")
        if adapt is not None and not isinstance(adapt, Mapping):
            raise ConfigError(f"adapt = {adapt!r}; expected a mapping such as "
                              "{'minimum': 0, 'maximum': 50}")
        if adapt is not None and address is not None:
            raise ConfigError("adapt needs a cluster object or class; a scheduler address alone "
                              "cannot be scaled from here")
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

    @property
    def client(self) -> Any:
        """The ``distributed.Client`` (``None`` when not started). A ``LocalCluster`` still
        starting (:meth:`prepare_workers`) is waited for; one not started yet is started now."""
        self._await_cluster()
        return self._client

    def _start(self) -> None:
        distributed = _import_distributed()
        self._starter = self._starter_error = None
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
        if self.cluster_class is not None:
            cls = _import_dotted(self.cluster_class)
            self._owned_cluster = cls(**self.cluster_kwargs)
            if self.n_workers and self.adapt is None:
                self._owned_cluster.scale(self.n_workers)
            self._connect_owned(distributed)
            return
        # the LocalCluster starts at the first use, or in the background by prepare_workers
        # (which must come before its forkserver starts, to have the workers' modules preloaded)
        self._local_pending = True

    def _local_kwargs(self) -> dict[str, Any]:
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
        return kwargs

    def _start_local(self, modules: Sequence[str] = ()) -> None:
        """Start the ``LocalCluster`` and connect the client, the workers forked from a
        forkserver that imported `modules` (see :meth:`prepare_workers`)."""
        import dask

        distributed = _import_distributed()
        settings: dict[str, Any] = {f"distributed.nanny.pre-spawn-environ.{k}": v
                                    for k, v in WORKER_ENVIRON.items()}
        settings.update(LOCAL_CLUSTER_CONFIG)
        # workers forked from a server that imported distributed and its dependencies once,
        # instead of each starting Python and importing them (dask's own forkserver support)
        settings["distributed.worker.multiprocessing-method"] = DEFAULT_MP_CONTEXT
        kwargs = self._local_kwargs()
        if DEFAULT_MP_CONTEXT == "forkserver" and kwargs.get("processes", True):
            # started here, not by dask's first Nanny, so that it ignores Ctrl-C and sets the
            # workers' malloc thresholds (a server already running keeps its modules:
            # cevns.forkserver)
            start_forkserver((*DASK_MODULES, *modules))
        with dask.config.set(settings):  # read by each Nanny when it is created
            with _dask_forkserver_preload(modules):
                cluster = distributed.LocalCluster(**kwargs)
        self._owned_cluster = cluster
        self._connect_owned(distributed)

    def _connect_owned(self, distributed: Any) -> None:
        try:
            self._adapt(self._owned_cluster)
            self._client = self._owned_client = self._connect(distributed, self._owned_cluster)
        except BaseException:
            self._owned_cluster.close()
            self._owned_cluster = None
            raise

    def prepare_workers(self, modules: Sequence[str] = ()) -> None:
        """Start the ``LocalCluster`` now, in a background thread, its workers forked from a
        forkserver that imported `modules` (and dask's own list) once, while the driver goes on.

        A no-op unless this executor starts a ``LocalCluster`` that is not started yet. The
        cluster's start starts the forkserver with ``distributed`` and `modules` preloaded
        (:func:`cevns.forkserver.start_early`: it ignores Ctrl-C and sets the workers' malloc
        thresholds). A server already running (the command line starts it first) keeps its
        modules: the workers then import what it lacks with their first task. Where no server
        could be started so (no forkserver on the platform), the first worker of the cluster
        starts one with dask's list plus `modules`; the list, and dask's private record of having
        set it, are put back as found once the workers are started. The driver's first
        :meth:`stream` runs tiles itself until the cluster is up.
        """
        if not self._started or not self._local_pending or self._starter is not None:
            return
        modules = tuple(dict.fromkeys(modules))

        up = self._up = threading.Event()

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

    def _await_cluster(self) -> None:
        """Wait for the LocalCluster of :meth:`prepare_workers` (re-raising its error in this
        thread), or start it here if nothing started it yet."""
        if not self._local_pending:
            return
        if self._starter is not None:
            self._starter.join()
        elif self._started:
            self._start_local()
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
        if self._starter is not None:  # a cluster still starting is closed once it is up
            self._starter.join()
            self._starter = None
            if self._starter_error is not None:  # never needed: the driver ran every tile
                log.warning("the dask LocalCluster did not start: %s", self._starter_error)
                self._starter_error = None
        self._local_pending = False
        for obj in (self._owned_client, self._owned_cluster):
            if obj is not None:
                try:
                    obj.close()
                except Exception:  # closing is best effort; the scan result is already safe
                    log.debug("error while closing %r", obj, exc_info=True)
        self._client = self._owned_client = self._owned_cluster = None

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
            if self._starter is not None and not self._up.is_set():
                yield from _run_here_until_up(self, queue, submit_queued, submitting)
                if not self._up.is_set() and not pending and queue.peek() is None:
                    return  # all done here: nothing waits for the cluster (close() stops it)
            if self.client is None:
                raise ScanError("the dask executor is not started; use it as a context manager")
            self._log_workers()
            submit_queued()
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

