"""Byte-bounded caches of the rate engine (issue #15: memory of a mass scan stays flat)."""

from __future__ import annotations

import numpy as np
import pytest

from cevns.cache import ByteLRU, cache_info, nbytes, set_cache_budget
from cevns.errors import ConfigError, UnknownNameError
from cevns.experiment import get_detector, get_source
from cevns.experiment.response import _RESPONSES as response_cache
from cevns.rates import basis_spectra, clear_cache, compute_basis_spectra, engine


def test_byte_lru_evicts_least_recently_used_beyond_the_budget():
    c = ByteLRU("test-lru", max_bytes=3 * 800 + 10)
    arrays = {k: np.full(100, float(k)) for k in range(5)}  # 800 bytes each
    for k in range(3):
        c.put(k, arrays[k])
    assert len(c) == 3 and c.current_bytes == 2400
    assert c.get(0) is arrays[0]  # 0 is now most recently used
    c.put(3, arrays[3])  # evicts 1, the least recently used
    assert c.get(1) is None and c.get(0) is arrays[0] and c.get(3) is arrays[3]
    assert c.current_bytes <= c.max_bytes and c.info()["evictions"] == 1
    c.put(9, np.zeros(10_000))  # larger than the whole budget: not stored, nothing evicted
    assert c.get(9) is None and len(c) == 3
    c.resize(800)
    assert len(c) == 1 and c.current_bytes == 800
    built = []
    assert c.get_or_build("x", lambda: built.append(1) or np.zeros(10)).shape == (10,)
    assert c.get_or_build("x", lambda: built.append(1) or np.zeros(10)).shape == (10,)
    assert built == [1]
    with pytest.raises(ConfigError, match="budget"):
        c.resize(-1)


def test_nbytes_counts_arrays_inside_dataclasses():
    det, src = get_detector("CsI"), get_source("ess")
    from cevns.physics.basis import SMBasis

    bs = compute_basis_spectra(det, src, SMBasis())
    assert nbytes(bs) >= bs.counts.nbytes + bs.node_rates.nbytes
    # the response matrix is not held by the spectra (it lives in its own cache)
    assert nbytes(bs) < bs.counts.nbytes + bs.node_rates.nbytes + bs.response.matrix.nbytes


def test_a_tiny_budget_changes_memory_not_answers():
    from cevns.physics.basis import SMBasis
    from cevns.scenarios import get_scenario

    det, src = get_detector("Ar"), get_source("ess")
    scenario = get_scenario("upscattering", interaction="S")
    values = {"sterile_mass_MeV": np.array([1.0, 5.0, 20.0, 40.0]),
              "mediator_mass_MeV": np.array([100.0]), "coupling": np.array([1e-3])}
    clear_cache()
    ample = scenario.counts(det, src, values, grid="outer")
    ref = basis_spectra(det, src, SMBasis())
    assert cache_info()["basis_spectra"]["entries"] >= 4  # one per sterile mass at least
    budgets = (engine._CACHE.max_bytes, response_cache.max_bytes)
    try:
        set_cache_budget("basis_spectra", 0)
        set_cache_budget("response", 0)
        clear_cache()
        tight = scenario.counts(det, src, values, grid="outer")
        info = cache_info()
        assert info["basis_spectra"]["bytes"] == 0 and info["response"]["bytes"] == 0
        again = basis_spectra(det, src, SMBasis())
        np.testing.assert_array_equal(again.counts, ref.counts)
        np.testing.assert_array_equal(again.response.matrix, ref.response.matrix)
    finally:
        set_cache_budget("basis_spectra", budgets[0])
        set_cache_budget("response", budgets[1])
        clear_cache()
    np.testing.assert_array_equal(tight, ample)


def test_set_cache_budget_names_the_caches():
    with pytest.raises(UnknownNameError, match="basis_spectra"):
        set_cache_budget("nope", 10)


@pytest.mark.parametrize("raw", ["inf", "1e400", "nan", "-5"])
def test_an_infinite_cache_budget_is_refused(monkeypatch, raw):
    """CEVNS_CACHE_MB=inf (or 1e400) used to end in an OverflowError (an internal error)."""
    from cevns.cache import default_budget

    monkeypatch.setenv("CEVNS_CACHE_MB", raw)
    with pytest.raises(ConfigError, match="CEVNS_CACHE_MB must be a finite number"):
        default_budget()
    with pytest.raises(ConfigError, match="budget"):
        set_cache_budget("basis_spectra", float(raw))


def test_release_free_memory_only_when_much_is_free():
    """glibc keeps freed memory between long-lived blocks resident; release_free_memory hands it
    back (malloc_trim) only above its threshold, and is a no-op (0) on other C libraries."""
    from cevns.cache import release_free_memory

    assert release_free_memory(min_free=2**62) == 0  # never that much free: nothing done
    blocks = [np.ones(12_000) for _ in range(4000)]  # 96 kB each: heap blocks, not mmap-ed
    pinned = blocks[::2]  # every other block stays: 192 MB of holes the heap cannot shrink by
    del blocks
    released = release_free_memory(min_free=1)
    assert released == 0 or released > 100 * 2**20  # 0: not glibc
    assert len(pinned) == 2000


@pytest.mark.parametrize("bad", [-1, 1.5, float("nan"), "32", True])
def test_release_free_memory_rejects_a_bad_threshold(bad):
    """The threshold is a byte count: nonsense is a ConfigError naming it, not a silent trim."""
    from cevns.cache import release_free_memory
    from cevns.errors import ConfigError

    with pytest.raises(ConfigError, match="min_free"):
        release_free_memory(bad)


def _fresh_interpreter(code: str, mode: str) -> int:
    """The integer `code` prints, run as ``python -c code mode`` in a fresh interpreter (malloc
    settings are process-wide, and the test process is no worker)."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code, mode], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return int(out.stdout)


PAGE_FAULTS = """
import sys, resource, numpy as np
from cevns.cache import tune_worker_malloc
if sys.argv[1] == "tuned":
    assert tune_worker_malloc()
rng = np.random.default_rng(0)
keep = []
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for i in range(300):  # NumPy temporaries of 160 kB to 24 MB among small long-lived blocks
    x = np.ones(int(rng.uniform(2e4, 3e6)))
    y = x * 2.0
    if i % 10 == 0:
        keep.append(np.ones(1000))
    del x, y
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(__import__("platform").libc_ver()[0] != "glibc", reason="glibc only")
def test_tuned_workers_fault_in_fewer_pages_for_numpy_temporaries():
    """tune_worker_malloc keeps NumPy temporaries in the heap instead of a fresh mmap each (and
    the heap's top in place): the same loop of temporaries faults in far fewer pages (measured
    ≈ 7000–9000 page faults with glibc's defaults, ≈ 3300–3800 tuned). Each case runs in a fresh
    interpreter: the setting is process-wide, and the test process is no worker."""
    faults = {mode: _fresh_interpreter(PAGE_FAULTS, mode) for mode in ("default", "tuned")}
    assert faults["tuned"] < 0.7 * faults["default"], faults


ARENAS = """
import ctypes, os, sys, tempfile, threading
import numpy as np
from cevns.cache import tune_worker_malloc
if sys.argv[1] == "tuned":
    assert tune_worker_malloc()
def work():  # as a dask worker's task thread
    keep = [np.ones(5000) for _ in range(100)]
thread = threading.Thread(target=work)
thread.start()
thread.join()
libc = ctypes.CDLL("libc.so.6")
libc.fopen.restype, libc.fopen.argtypes = ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_char_p]
libc.malloc_info.argtypes, libc.fclose.argtypes = [ctypes.c_int, ctypes.c_void_p], [ctypes.c_void_p]
fd, path = tempfile.mkstemp()
os.close(fd)
f = libc.fopen(path.encode(), b"w")
libc.malloc_info(0, f)
libc.fclose(f)
with open(path) as xml:
    print(xml.read().count("<heap nr="))
os.unlink(path)
"""


@pytest.mark.skipif(__import__("platform").libc_ver()[0] != "glibc", reason="glibc only")
def test_tuned_workers_serve_task_threads_from_the_one_arena():
    """A dask worker runs its tasks in a thread; glibc gives such a thread an arena of its own
    (malloc_info lists two heaps), tune_worker_malloc keeps it at one (the measured cost of the
    second arena: docs/scans.md). Fresh interpreters, as above."""
    heaps = {mode: _fresh_interpreter(ARENAS, mode) for mode in ("default", "tuned")}
    assert heaps == {"default": 2, "tuned": 1}
