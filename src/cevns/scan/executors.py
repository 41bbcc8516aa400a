"""Executors: where the tiles of a scan run.

Every executor submits each tile as an independent future and yields results as they complete, in
completion order. Only the driver (the process calling :func:`~cevns.scan.runner.run_scan`) sees the
results and writes the store.

``serial``
    In the calling process, one tile after the other. For debugging and small scans.
``processes``
    A local :class:`concurrent.futures.ProcessPoolExecutor` (``max_workers``, default the CPU
    count). Worker processes are started with the ``"spawn"`` method by default, so the task must
    be importable (a top-level function in a module, not in ``__main__`` of ``python -c``).
``dask``
    :mod:`dask.distributed` (the optional extra ``cevns[dask]``): a ``LocalCluster`` by default, a
    scheduler ``address`` (``"tcp://host:8786"``), an existing ``Client`` or cluster object
    (e.g. a ``dask_jobqueue.SLURMCluster``), or a cluster class named by dotted path.

Use :func:`make_executor` to build one from a name, a spec mapping (e.g. from TOML) or an object.
Executors are context managers; an executor started by the caller can be shared by several scans.
"""

from __future__ import annotations

import concurrent.futures as cf
import importlib
import inspect
import logging
import multiprocessing
import os
import pickle
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from cevns.errors import ConfigError, MissingDependencyError, ScanError, UnknownNameError
from cevns.scan.tiles import Tile

__all__ = [
    "EXECUTORS",
    "DaskExecutor",
    "Executor",
    "ProcessExecutor",
    "SerialExecutor",
    "Task",
    "TileResult",
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


def _annotate(exc: BaseException, task: Callable[..., Any], tile: Tile) -> None:
    exc.add_note(f"in cevns scan task {task_name(task)!r} on {tile.describe()}")


class Executor(ABC):
    """Runs tiles of a scan and yields their results as they complete.

    Subclasses implement :meth:`_start`, :meth:`_close` and :meth:`run_tiles`. An executor owns
    the resources it starts (a process pool, a ``LocalCluster``) and releases them in
    :meth:`close`; resources handed to it (a ``Client``) stay open.
    """

    #: Registry name of the executor kind.
    name: str = "executor"

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

    @abstractmethod
    def run_tiles(
        self, task: Task, config: dict[str, Any], tiles: Sequence[Tile]
    ) -> Iterator[tuple[Tile, TileResult]]:
        """Submit every tile and yield ``(tile, task(config, tile))`` in completion order.

        An exception raised by the task propagates with a note naming the task and the tile.
        Closing the generator early (an error or ``KeyboardInterrupt`` in the consumer) cancels
        the tiles that have not run.
        """

    def describe(self) -> str:
        """Short description for provenance records, e.g. ``"processes(max_workers=2)"``."""
        return self.name

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"


class SerialExecutor(Executor):
    """Runs the tiles one after the other in the calling process."""

    name = "serial"

    def run_tiles(
        self, task: Task, config: dict[str, Any], tiles: Sequence[Tile]
    ) -> Iterator[tuple[Tile, TileResult]]:
        """Run each tile in turn (see :meth:`Executor.run_tiles`)."""
        for tile in tiles:
            try:
                result = task(config, tile)
            except Exception as exc:
                _annotate(exc, task, tile)
                raise
            yield tile, result


class ProcessExecutor(Executor):
    """Runs tiles in a local pool of worker processes.

    Parameters
    ----------
    max_workers : int, optional
        Number of worker processes; default ``os.cpu_count()``.
    mp_context : str
        Multiprocessing start method: ``"spawn"`` (default, safe in threaded programs and the same
        on every OS), ``"forkserver"`` or ``"fork"`` (fast start, tasks may live in ``__main__``,
        unsafe if the driver runs threads).
    """

    name = "processes"

    def __init__(self, max_workers: int | None = None, mp_context: str = "spawn"):
        super().__init__()
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

    def _start(self) -> None:
        self._pool = cf.ProcessPoolExecutor(
            self.max_workers, mp_context=multiprocessing.get_context(self.mp_context)
        )

    def _close(self, wait: bool) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)
            self._pool = None

    def check_task(self, task: Callable[..., Any]) -> None:
        """Refuse a task that cannot be pickled (a lambda, a closure, a local function)."""
        try:
            pickle.dumps(task)
        except Exception as exc:
            raise ScanError(
                f"task {task_name(task)!r} cannot be pickled for the processes executor ({exc}); "
                "a task must be a top-level function of an importable module"
            ) from exc

    def run_tiles(
        self, task: Task, config: dict[str, Any], tiles: Sequence[Tile]
    ) -> Iterator[tuple[Tile, TileResult]]:
        """Submit every tile to the pool (see :meth:`Executor.run_tiles`)."""
        if self._pool is None:
            raise ScanError("the processes executor is not started; use it as a context manager")
        pending = {self._pool.submit(task, config, tile): tile for tile in tiles}
        try:
            for future in cf.as_completed(list(pending)):
                tile = pending.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool as exc:
                    raise ScanError(
                        f"a worker process of the pool died while running {task_name(task)!r} "
                        f"({exc}); the completed tiles are saved: run again with resume=True"
                    ) from exc
                except Exception as exc:
                    _annotate(exc, task, tile)
                    raise
                yield tile, result
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


class DaskExecutor(Executor):
    """Runs tiles on a dask.distributed cluster.

    Exactly one way of finding the cluster applies, in this order: `client` (an existing
    ``distributed.Client``, or a cluster object such as a ``LocalCluster`` or a
    ``dask_jobqueue.SLURMCluster``), `address` (a running scheduler), `cluster` (a cluster class by
    dotted path, built with `cluster_kwargs` and scaled to `n_workers`), else a new
    ``LocalCluster`` of `n_workers` worker processes with `threads_per_worker` threads each.

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
    connect_timeout : float
        Seconds to wait for the scheduler before raising :class:`ScanError`.
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
        connect_timeout: float = 5.0,
        retries: int = 2,
    ):
        super().__init__()
        for key, value, low in (("n_workers", n_workers, 1), ("threads_per_worker",
                                threads_per_worker, 1), ("retries", retries, 0)):
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"{key} = {value!r}; expected an int >= {low}")
        if not (isinstance(connect_timeout, (int, float)) and connect_timeout > 0):
            raise ConfigError(f"connect_timeout = {connect_timeout!r}; expected seconds > 0")
        if address is not None and not isinstance(address, str):
            raise ConfigError(f"address = {address!r}; expected a string like 'tcp://host:8786'")
        self.address = address
        self.user_client = client
        self.cluster_class = cluster
        self.cluster_kwargs = dict(cluster_kwargs or {})
        self.n_workers = n_workers
        self.threads_per_worker = threads_per_worker
        self.connect_timeout = float(connect_timeout)
        self.retries = retries
        self.client: Any = None
        self._owned_client: Any = None
        self._owned_cluster: Any = None

    def _start(self) -> None:
        distributed = _import_distributed()
        user = self.user_client
        if user is not None:
            if isinstance(user, distributed.Client):
                self.client = user
            else:  # a cluster object: LocalCluster, SLURMCluster, ...
                self.client = self._owned_client = self._connect(distributed, user)
            return
        if self.address is not None:
            self.client = self._owned_client = self._connect(distributed, self.address)
            return
        if self.cluster_class is not None:
            cls = _import_dotted(self.cluster_class)
            self._owned_cluster = cls(**self.cluster_kwargs)
            if self.n_workers:
                self._owned_cluster.scale(self.n_workers)
        else:
            kwargs: dict[str, Any] = {
                "threads_per_worker": self.threads_per_worker,
                "processes": True,
                "dashboard_address": None,
                "silence_logs": logging.WARNING,
            }
            if self.n_workers is not None:
                kwargs["n_workers"] = self.n_workers
            kwargs.update(self.cluster_kwargs)
            self._owned_cluster = distributed.LocalCluster(**kwargs)
        try:
            self.client = self._owned_client = self._connect(distributed, self._owned_cluster)
        except BaseException:
            self._owned_cluster.close()
            self._owned_cluster = None
            raise

    def _log_workers(self) -> None:
        n = len(self.client.scheduler_info().get("workers", {}))
        if n == 0:  # normal for a batch-queue cluster whose jobs have not started yet
            log.info("dask scheduler %s has no workers yet; tiles wait until workers join",
                     self.client.scheduler.address)

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
        for obj in (self._owned_client, self._owned_cluster):
            if obj is not None:
                try:
                    obj.close()
                except Exception:  # closing is best effort; the scan result is already safe
                    log.debug("error while closing %r", obj, exc_info=True)
        self.client = self._owned_client = self._owned_cluster = None

    def run_tiles(
        self, task: Task, config: dict[str, Any], tiles: Sequence[Tile]
    ) -> Iterator[tuple[Tile, TileResult]]:
        """Submit every tile with ``retries`` (see :meth:`Executor.run_tiles`)."""
        if self.client is None:
            raise ScanError("the dask executor is not started; use it as a context manager")
        distributed = _import_distributed()
        self._log_workers()
        token = uuid.uuid4().hex[:8]
        label = getattr(task, "__name__", "task")
        pending = {
            self.client.submit(
                task, config, tile, key=f"cevns-{label}-{token}-{tile.index}",
                retries=self.retries, pure=False,
            ): tile
            for tile in tiles
        }
        try:
            for future in distributed.as_completed(list(pending), loop=self.client.loop):
                tile = pending.pop(future)
                try:
                    result = future.result()
                except Exception as exc:
                    _annotate(exc, task, tile)
                    raise
                future.release()
                yield tile, result
        finally:
            if pending:
                self.client.cancel(list(pending))

    def describe(self) -> str:
        """E.g. ``"dask(tcp://127.0.0.1:40000, 2 workers)"``."""
        if self.client is None:
            where = self.address or self.cluster_class or "LocalCluster"
            return f"dask({where})"
        try:
            info = self.client.scheduler_info()
            return f"dask({info.get('address', '?')}, {len(info.get('workers', {}))} workers)"
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

