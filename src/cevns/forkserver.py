"""The forkserver the local workers are forked from: its preload list, an early start, its stop.

On Linux a process pool (:class:`~cevns.scan.executors.ProcessExecutor`) and the workers of a
local dask cluster are forked from Python's *forkserver*, a helper process that imports the
worker modules (:data:`WORKER_MODULES`) once and forks every worker from itself: the workers start
with everything imported. Importing those modules takes the server about 1.2 s (NumPy, SciPy,
matplotlib, xarray, the analyses; measured on the 2-core machine of ``docs/benchmarks.md``).

The server normally starts when the executor starts its workers, after the driver has imported
and parsed everything, and the workers are up only about 1.2 s later. The ``cevns`` command line
calls :func:`start_early` before it imports anything heavy: the server then imports on a second
core while the driver imports and plans on the first, and the workers are forked the moment the
executor asks for them (``docs/cluster.md``).

This module imports only the standard library and :mod:`cevns.errors`, so that the command line
can use it first.
Python keeps the forkserver as a process-wide singleton: its preload list is read when the server
starts, and a server already running keeps its modules. :func:`start_early` puts the list back as
it found it; :func:`stop_at_exit` is for the end of the ``cevns`` script only.

Starting a process may change state of the whole process that the library must leave alone:
CPython fixes multiprocessing's *default* start method the first time it prepares a child
(``multiprocessing.spawn.get_preparation_data`` calls ``get_start_method()``), after which a
program's own ``multiprocessing.set_start_method(...)`` fails with "context has already been
set"; and a dask ``Nanny`` writes its worker settings into ``os.environ``.
:func:`keep_process_state` puts both back as found around every process start of the executors.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import signal
import threading
from collections.abc import Iterable, Iterator, Sequence

from cevns.errors import ConfigError

__all__ = ["DASK_MODULES", "MAX_WORKERS", "WORKER_MODULES", "available", "keep_process_state",
           "preload_list", "start_early", "started", "stop_at_exit"]

#: Largest number of local worker processes a pool or a ``LocalCluster`` may be asked for (the
#: ``max_workers`` of :class:`~cevns.scan.executors.ProcessExecutor`, the ``n_workers`` of the
#: ``LocalCluster`` of :class:`~cevns.scan.executors.DaskExecutor`, and the ``--workers`` option of
#: the command line). Each worker is a process of its own; fewer are started when there are
#: fewer items of work.
MAX_WORKERS = 4096


_ADDRESS = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]*://)?(\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]]+):(\d+)")


def check_scheduler_address(address: object) -> str:
    """Return `address` if it is a dask scheduler address, ``[scheme://]host:port`` with a port
    from 1 to 65535 (``"tcp://10.0.0.5:8786"``, ``"[::1]:8786"``) or ``inproc://…``; else raise
    a :class:`ConfigError` at once, instead of a failure after the connect timeout. Here, with the
    standard library only, so that the command line checks ``--scheduler`` by the same rule as
    :class:`cevns.scan.executors.DaskExecutor` without importing the scan layer."""
    if not isinstance(address, str) or not address.strip():
        raise ConfigError(f"dask scheduler address {address!r}: expected a string like "
                          "'tcp://10.0.0.5:8786'")
    if address.startswith("inproc://"):
        return address
    match = _ADDRESS.fullmatch(address)
    if match is None:
        raise ConfigError(f"{address!r} is not [scheme://]host:port and so is not a scheduler "
                          "address; give e.g. 'tcp://10.0.0.5:8786'")
    port = int(match.group(2))
    if not 1 <= port <= 65535:
        raise ConfigError(f"dask scheduler address {address!r}: the port must be from 1 to "
                          f"65535, got {port}")
    return address

#: Modules the workers import before their first task (the preload list of the forkserver, and
#: :meth:`~cevns.scan.executors.Executor.prepare_workers`): the analysis kinds, and what drawing
#: and writing the results needs (matplotlib's Agg canvas, xarray with its netCDF4 engine, and
#: dask.array, which xarray imports to tell dask arrays from NumPy ones whenever dask is
#: installed). Imported once by the forkserver, they cost nothing per worker.
WORKER_MODULES: tuple[str, ...] = (
    "cevns.analyses", "cevns.analyses.sensitivity", "cevns.analyses.runners",
    "cevns.analyses.running", "cevns.analyses.appendix_b", "cevns.scan",
    "matplotlib.figure", "matplotlib.backends.backend_agg", "xarray", "netCDF4", "dask.array")
#: What the workers of a local dask cluster import besides (dask's own forkserver preload starts
#: with it: ``distributed.utils.get_mp_context``).
DASK_MODULES: tuple[str, ...] = ("distributed",)
#: The server's first preloaded module: Ctrl-C ignored in the server and its workers.
_SERVER_INIT = "cevns._forkserver_init"


def available() -> bool:
    """Whether this platform has the ``"forkserver"`` start method (Linux, macOS)."""
    return "forkserver" in multiprocessing.get_all_start_methods()


def _server():
    from multiprocessing import forkserver

    return getattr(forkserver, "_forkserver", None)


def preload_list() -> list[str]:
    """The forkserver's current preload list (CPython keeps it in a private attribute; its
    documented default, ``["__main__"]``, where that is not readable)."""
    current = getattr(_server(), "_preload_modules", None)
    return list(current) if isinstance(current, (list, tuple)) else ["__main__"]


def _server_pid() -> int | None:
    pid = getattr(_server(), "_forkserver_pid", None)
    return pid if isinstance(pid, int) else None


def started() -> bool:
    """Whether this process has started a forkserver (multiprocessing restarts one that died
    when it is next used)."""
    return _server_pid() is not None


def start_early(modules: Sequence[str] = WORKER_MODULES) -> bool:
    """Start the forkserver now, importing `modules` (in the server, not here); return whether
    this call started it.

    A no-op (``False``) where the platform has no forkserver or this process has started one
    already. The preload list is set for the start only and put back as it was found. Returns at
    once: the server imports in its own process while the caller goes on; a pool that forks a
    worker before the imports are done waits for them.

    The server ignores Ctrl-C, and so do the workers forked from it (the driver stops them): a
    Ctrl-C reaches the whole foreground process group, and the server, importing for about a
    second, would otherwise print a ``KeyboardInterrupt`` traceback of its own beside the
    command's one-line message. It is started with ``SIGINT`` blocked in the calling thread for
    the few milliseconds of its fork and exec (a Ctrl-C meanwhile is delivered to the caller
    right after, not lost), and its first preloaded module, ``cevns._forkserver_init``, sets
    ``SIGINT`` to be ignored and unblocks it.
    """
    if isinstance(modules, str) or not all(isinstance(m, str) and m.strip() for m in modules):
        raise ConfigError(f"modules must be a sequence of module names, got {modules!r}")
    if not available() or started():
        return False
    from multiprocessing import forkserver

    ctx = multiprocessing.get_context("forkserver")
    previous = preload_list()
    ctx.set_forkserver_preload(list(dict.fromkeys([_SERVER_INIT, *modules])))
    mask = None
    if hasattr(signal, "pthread_sigmask"):
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        with keep_process_state():  # the server's start would fix the default start method
            forkserver.ensure_running()
    finally:
        ctx.set_forkserver_preload(previous)
        if mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    return True


def stop_at_exit() -> None:
    """Stop this process's forkserver at once (``SIGTERM``), if it has one: for the very end of
    the ``cevns`` script (an ``atexit`` handler), when every worker has been stopped.

    Left alone, the server notices the end of its parent only when the parent's end of a pipe
    closes, then runs the interpreter's finalisation over everything it imported (about 0.3 s);
    a pipe reader of the command (``cevns … | tee log``) waits for it, since the server shares
    the command's standard output. The server holds no data: terminating it loses nothing. Not
    for a process that goes on using process pools (its record of the server would be stale).
    """
    pid = _server_pid()
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        pass


# -- process-wide state around process starts ---------------------------------------------------

_kept_lock = threading.Lock()
_kept_depth = 0
_kept_method_unset = False
_kept_environ: dict[str, str | None] = {}


@contextlib.contextmanager
def keep_process_state(environ: Iterable[str] = ()) -> Iterator[None]:
    """Inside: processes may be started; on leaving, multiprocessing's default start method is
    unset again if it was unset on entering, and the variables named in `environ` have their
    values of entering again (unset if they were unset).

    CPython fixes the default start method the first time it prepares a child process (the
    forkserver's start, every ``"spawn"`` child: ``multiprocessing.spawn.get_preparation_data``
    calls ``multiprocessing.get_start_method()``), so that a program's later
    ``multiprocessing.set_start_method(...)`` would fail; a dask ``Nanny`` writes the settings of
    its worker (``OMP_NUM_THREADS``, ``PYTHONHASHSEED``, ``__DASK_PARENT_PID``, …) into
    ``os.environ`` before it starts the worker process. Neither is the library's to keep.

    Re-entrant and thread-safe: processes started by several threads at once (the nannies of a
    ``LocalCluster`` start together) share one record, taken by the first to enter and put back
    by the last to leave; a variable named only by a later entry is recorded when that one
    enters. The default method is put back with the public ``set_start_method(None,
    force=True)``. A value another thread of the program gives one of these variables, or a
    start method it sets, while processes start is undone on leaving.
    """
    global _kept_depth, _kept_method_unset
    with _kept_lock:
        if _kept_depth == 0:
            _kept_environ.clear()
            _kept_method_unset = multiprocessing.get_start_method(allow_none=True) is None
        for key in environ:
            _kept_environ.setdefault(key, os.environ.get(key))
        _kept_depth += 1
    try:
        yield
    finally:
        with _kept_lock:
            _kept_depth -= 1
            if _kept_depth == 0:
                _restore(_kept_method_unset, _kept_environ)


def _restore(method_unset: bool, environ: dict[str, str | None]) -> None:
    if method_unset and multiprocessing.get_start_method(allow_none=True) is not None:
        multiprocessing.set_start_method(None, force=True)
    for key, value in environ.items():
        if value is None:
            os.environ.pop(key, None)
        elif os.environ.get(key) != value:
            os.environ[key] = value
