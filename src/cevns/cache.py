"""A thread-safe LRU cache bounded by bytes, for the rate engine's intermediate results.

The engine caches basis spectra (one per detector, source and basis value — e.g. one per sterile
mass of a scan) and response matrices (one per detector and set of kinematic breakpoints). An LRU
bounded by the *number* of entries does not bound memory: a response matrix of a finely smeared
detector is ~0.3 MB, and a mass scan creates hundreds. :class:`ByteLRU` evicts the least recently
used entries once the summed size of the values exceeds a budget; an evicted entry is simply
rebuilt on its next use (every cached value is a pure function of its key).

Budgets are set per cache with :func:`set_cache_budget` (or the environment variable
``CEVNS_CACHE_MB``, read once at import: the budget in MiB of *each* cache). See
``docs/engine.md``.
"""

from __future__ import annotations

import ctypes
import math
import os
from collections import OrderedDict
from collections.abc import Callable, Hashable
from threading import Lock
from typing import Any

import numpy as np

from cevns.errors import ConfigError, UnknownNameError

#: Default budget of a cache, in bytes (8 MiB). A scan cut along its shape axis uses each
#: basis within one tile, so a larger budget buys no reuse in the shipped analyses, only memory.
DEFAULT_BUDGET = 8 * 2**20


def nbytes(value: Any) -> int:
    """Approximate size in bytes of the arrays held by ``value`` (arrays, dataclasses, tuples).

    Counts NumPy arrays (``.nbytes``) found directly, in tuples/lists/dicts, or as attributes of
    an object with ``__dict__`` or ``__dataclass_fields__``; 64 bytes for anything else. Arrays
    that are views of another array count with their own size.
    """
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, (tuple, list)):
        return 64 + sum(nbytes(v) for v in value)
    if isinstance(value, dict):
        return 64 + sum(nbytes(v) for v in value.values())
    fields = getattr(value, "__dataclass_fields__", None)
    if fields is not None:
        return 64 + sum(nbytes(getattr(value, name, None)) for name in fields)
    return 64


class ByteLRU:
    """Least-recently-used cache whose values' summed :func:`nbytes` stays ≤ ``max_bytes``.

    Parameters
    ----------
    name : str
        Name for :func:`set_cache_budget` and messages.
    max_bytes : int
        Budget in bytes; a single value larger than the budget is not stored at all.
    size : callable, optional
        Size of a value in bytes (default :func:`nbytes`).
    """

    def __init__(self, name: str, max_bytes: int = DEFAULT_BUDGET,
                 size: Callable[[Any], int] = nbytes):
        self.name = name
        self.max_bytes = _check_budget(max_bytes)
        self._size = size
        self._data: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = Lock()
        self.hits = self.misses = self.evictions = 0
        _REGISTRY[name] = self

    @property
    def current_bytes(self) -> int:
        """Summed size of the values held now."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: Hashable) -> Any | None:
        """The value for ``key`` (marked most recently used), or None."""
        return self._get(_Key(key))

    def _get(self, key: _Key) -> Any | None:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return item[0]

    def put(self, key: Hashable, value: Any) -> None:
        """Store ``value``; evict least recently used entries beyond the budget."""
        self._put(_Key(key), value)

    def _put(self, key: _Key, value: Any) -> None:
        size = int(self._size(value))
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            if size > self.max_bytes:
                return
            self._data[key] = (value, size)
            self._bytes += size
            self._evict()

    def get_or_build(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """``get(key)``, or build the value, store it and return it."""
        wrapped = _Key(key)  # the key is hashed once, not at every dictionary operation
        hit = self._get(wrapped)
        if hit is None:
            hit = build()
            self._put(wrapped, hit)
        return hit

    def _evict(self) -> None:
        while self._bytes > self.max_bytes and self._data:
            _, (_, size) = self._data.popitem(last=False)
            self._bytes -= size
            self.evictions += 1

    def resize(self, max_bytes: int) -> None:
        """Change the budget (evicting at once if needed)."""
        with self._lock:
            self.max_bytes = _check_budget(max_bytes)
            self._evict()

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._data.clear()
            self._bytes = 0

    def info(self) -> dict[str, int]:
        """Entries, bytes, budget, hits, misses and evictions so far."""
        return {"entries": len(self._data), "bytes": self._bytes, "max_bytes": self.max_bytes,
                "hits": self.hits, "misses": self.misses, "evictions": self.evictions}

    def __repr__(self) -> str:
        i = self.info()
        return (f"ByteLRU({self.name!r}, {i['entries']} entries, {i['bytes'] / 2**20:.1f} of "
                f"{i['max_bytes'] / 2**20:.1f} MiB)")


_REGISTRY: dict[str, ByteLRU] = {}


class _Key:
    """A cache key with its hash computed once. The engine's keys hold validated models
    (detector, source) whose hash serialises them: a dictionary lookup, a move to the end and a
    store would each pay for it again."""

    __slots__ = ("key", "hash")

    def __init__(self, key: Hashable) -> None:
        self.key = key
        self.hash = hash(key)

    def __hash__(self) -> int:
        return self.hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Key) and self.hash == other.hash and self.key == other.key


def _check_budget(max_bytes: Any) -> int:
    try:
        value = int(max_bytes)
    except (TypeError, ValueError, OverflowError):  # OverflowError: ±inf
        raise ConfigError(f"cache budget must be a number of bytes ≥ 0, got {max_bytes!r}") from None
    if value < 0 or value != max_bytes:
        raise ConfigError(f"cache budget must be a whole number of bytes ≥ 0, got {max_bytes!r}")
    return value


def _env_budget(fallback: int) -> int:
    raw = os.environ.get("CEVNS_CACHE_MB")
    if raw is None or not raw.strip():
        return fallback
    try:
        mib = float(raw)
    except ValueError:
        raise ConfigError(f"CEVNS_CACHE_MB must be a number of MiB ≥ 0, got {raw!r}") from None
    if not (mib >= 0 and math.isfinite(mib)):
        raise ConfigError(f"CEVNS_CACHE_MB must be a finite number of MiB ≥ 0, got {raw!r}")
    return int(mib * 2**20)


def default_budget(fallback: int = DEFAULT_BUDGET) -> int:
    """Budget of a new cache: ``CEVNS_CACHE_MB`` MiB if set, else ``fallback`` bytes."""
    return _env_budget(fallback)


def set_cache_budget(name: str, max_bytes: int) -> None:
    """Set the byte budget of the cache ``name`` (``"basis_spectra"``, ``"response"``)."""
    if name not in _REGISTRY:
        raise UnknownNameError("cache", name, sorted(_REGISTRY))
    _REGISTRY[name].resize(max_bytes)


def cache_info() -> dict[str, dict[str, int]]:
    """:meth:`ByteLRU.info` of every engine cache, by name."""
    return {name: c.info() for name, c in _REGISTRY.items()}


#: :func:`release_free_memory` hands memory back only when the allocator holds more than this
#: many free bytes (32 MiB): a trim costs a walk of the heap and, later, the page faults of
#: growing it again, so it is worth it only for a sizeable amount.
RELEASE_MIN_FREE = 32 * 2**20


#: glibc ``malloc`` thresholds of the worker processes (:func:`tune_worker_malloc`): blocks up
#: to 32 MiB (the ceiling of glibc's own dynamic threshold on 64-bit) come from the heap instead
#: of a fresh ``mmap`` each, and the top of the heap is given back only above 64 MiB free.
WORKER_MMAP_THRESHOLD = 32 * 2**20
WORKER_TRIM_THRESHOLD = 64 * 2**20
#: One malloc arena per worker process: a dask worker runs its tasks in a thread, which glibc
#: would otherwise serve from an arena of its own (see :func:`tune_worker_malloc`).
WORKER_ARENA_MAX = 1
# mallopt parameters (glibc malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def _glibc() -> Any:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        return libc
    except (OSError, AttributeError):  # not glibc, or older than 2.33
        return None


_LIBC: Any = None


def tune_worker_malloc() -> bool:
    """Fix glibc's ``malloc`` thresholds of this process (:data:`WORKER_MMAP_THRESHOLD`,
    :data:`WORKER_TRIM_THRESHOLD`) and its number of arenas (:data:`WORKER_ARENA_MAX`); return
    whether all were set (False: not glibc).

    For cevns's own worker processes only — the forkserver calls it first thing
    (``cevns._forkserver_init``), so that every pool or dask worker forked from it inherits the
    setting, and each pool worker again as it starts (``spawn``) — never for a process that
    imports cevns as a library. glibc's defaults serve each NumPy temporary above 128 KiB with a
    fresh ``mmap`` (raising that threshold only as such blocks are freed, to 32 MiB at most) and
    trim the heap's top as soon as 128 KiB are free there: the next temporary then faults in
    pages the kernel must zero again. Measured on 1000 toy fits of the CsI-2021 likelihood on two
    workers: 10–13 s of system time of 46–50 s CPU with the defaults, 2.3 s of 36–37 s with these
    thresholds (the untouched driver included), the same results (docs/statistics.md §7). The
    workers still hand free memory back after every task (:func:`release_free_memory`), so their
    resident memory stays bounded.

    A dask worker runs its tasks in a thread of its own, and glibc gives a thread its own arena,
    whose heaps it grows and shrinks in 64 MiB mappings with other rules than the main heap: the
    same `cevns reproduce` tasks took 45.3 s of CPU in two dask workers against 38.3 s in two pool
    workers, and 38.4 s in the dask workers with one arena (one run each, per-task CPU logged in
    the workers by a temporary log not kept in the repository). Side by side, two runs each (the
    arena limit switched off by a temporary environment check, also not kept; the dask timing
    with it: ``benchmarks/bench_reproduce_executors.py --case reproduce``), `cevns reproduce` on
    dask took 21.5–21.8 s wall and 39.2–39.7 s of user CPU with one arena,
    22.3–22.7 s and 40.6–41.2 s without. One arena is what a pool worker, whose tasks run in its
    main thread, uses anyway.
    """
    global _LIBC
    if _LIBC is None:
        _LIBC = _glibc() or False
    if not _LIBC:
        return False
    mallopt = _LIBC.mallopt
    return all([mallopt(_M_MMAP_THRESHOLD, WORKER_MMAP_THRESHOLD) == 1,
                mallopt(_M_TRIM_THRESHOLD, WORKER_TRIM_THRESHOLD) == 1,
                mallopt(_M_ARENA_MAX, WORKER_ARENA_MAX) == 1])


def release_free_memory(min_free: int = RELEASE_MIN_FREE) -> int:
    """Hand the free memory glibc's ``malloc`` holds back to the OS if it exceeds `min_free`
    bytes (``malloc_trim(0)``); return the free bytes it held then (0: nothing done).

    glibc returns freed memory to the OS only from the top of its heap; long-lived arrays (cache
    entries, results) between freed temporaries keep the rest resident, so a worker that has run
    many tiles holds far more than it uses. The scan workers call this after every task (see
    :mod:`cevns.scan.executors`): it changes no setting and no result, only which free pages stay
    resident. A no-op on other C libraries.
    """
    global _LIBC
    if isinstance(min_free, bool) or not isinstance(min_free, int | np.integer) or min_free < 0:
        raise ConfigError(f"release_free_memory: min_free must be a whole number of bytes ≥ 0, "
                          f"got {min_free!r}")
    if _LIBC is None:
        _LIBC = _glibc() or False
    if not _LIBC:
        return 0
    free = int(_LIBC.mallinfo2().fordblks)
    if free < min_free:
        return 0
    _LIBC.malloc_trim(0)
    return free
