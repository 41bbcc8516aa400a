"""The parallel executors leave the process as they found it, start no more workers than there is
work, and refuse wrong settings with a one-line ConfigError before anything starts.

- ``os.environ``: a dask ``Nanny`` writes ``OMP_NUM_THREADS``, ``PYTHONHASHSEED``,
  ``__DASK_PARENT_PID`` … into the environment of the process it runs in; the executor puts them
  back (unset ones unset, the user's own values kept).
- multiprocessing's default start method: starting the forkserver or a ``spawn`` child fixes it in
  CPython; the executors leave it unset, so that a program may still choose one.
- worker counts: a pool or a ``LocalCluster`` starts at most one worker per item of work, and the
  API bounds ``max_workers`` / ``n_workers`` as the command line bounds ``--workers``.

The process-state checks run in a fresh interpreter: the test process's own start method and
forkserver may have been fixed by other tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from cevns.errors import ConfigError
from cevns.scan import DaskExecutor, ProcessExecutor, make_executor

HERE = Path(__file__).parent


def _fresh_python(script: str, tmp_path: Path, env: dict[str, str] | None = None) -> dict:
    """Run `script` in a new interpreter (``scan_tasks`` importable); its last line is JSON."""
    base = {k: v for k, v in os.environ.items()
            if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                         "PYTHONHASHSEED", "__DASK_PARENT_PID")}
    base["PYTHONPATH"] = os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True,
                          text=True, env={**base, **(env or {})}, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


_POOL_SCRIPT = r"""
import json, multiprocessing as mp
import numpy as np
import scan_tasks
from cevns.scan import ProcessExecutor, Tiling

out = {"before": mp.get_start_method(allow_none=True)}
tiles = list(Tiling({"y": np.linspace(0.0, 1.0, 2), "x": np.linspace(-1.0, 1.0, 5)}, (1, 5)))
config = {"scale": 1.5}
with ProcessExecutor(max_workers=8) as executor:  # 2 tiles: at most 2 workers
    executor.prepare_workers(["scan_tasks"])
    results = {t.index: r for t, r in executor.run_tiles(scan_tasks.analytic_task, config, tiles)}
    out["workers"] = len(executor.worker_pids())
out["equal"] = len(results) == 2 and all(
    np.array_equal(results[t.index]["f"], scan_tasks.analytic_task(config, t)["f"]) for t in tiles)
out["after"] = mp.get_start_method(allow_none=True)
mp.set_start_method("spawn")  # a program may still choose its start method
out["chosen"] = mp.get_start_method()
print(json.dumps(out))
"""


def test_process_pool_starts_no_more_workers_than_tiles_and_leaves_the_start_method(tmp_path):
    """A pool of 8 for 2 tiles starts at most 2 workers (it used to start all 8 up front), gives
    the values of the task run here, and multiprocessing's default start method is still unset after
    it (it used to be fixed, and ``set_start_method`` then raised "context has already been
    set")."""
    out = _fresh_python(_POOL_SCRIPT, tmp_path)
    assert out["equal"]
    assert out["before"] is None
    assert out["after"] is None
    assert out["chosen"] == "spawn"
    assert 1 <= out["workers"] <= 2


_DASK_SCRIPT = r"""
import json, multiprocessing as mp, os, sys
import scan_tasks
from cevns.scan import DaskExecutor, Work

keys = ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "MALLOC_TRIM_THRESHOLD_",
        "PYTHONHASHSEED", "__DASK_PARENT_PID"]
state = lambda: {"environ": {k: os.environ.get(k) for k in keys},
                 "method": mp.get_start_method(allow_none=True)}
out = {"before": state()}
work = [Work(scan_tasks.modules_task, {"modules": []}, None, "item")]
with DaskExecutor(n_workers=3) as executor:  # one item of work: one worker
    executor.prepare_workers(["scan_tasks"])
    results = list(executor.run_work(work))
    out["during"] = state()  # the workers are up
    out["workers"] = len(executor.client.nthreads())
out["results"] = len(results)
out["after"] = state()
print(json.dumps(out))
"""


def test_dask_leaves_environ_and_start_method_and_sizes_the_cluster_to_the_work(tmp_path):
    """After a LocalCluster has started its workers (and after it closed), the environment
    holds what it held before: the thread settings and dask's markers unset, the user's own
    ``PYTHONHASHSEED=0`` and ``OMP_NUM_THREADS=3`` kept (dask's Nanny used to leave
    ``PYTHONHASHSEED=6640``, ``MKL_NUM_THREADS=1``, … behind); the default start method is still
    unset; and one item of work starts one worker, not the three asked for."""
    pytest.importorskip("distributed")
    out = _fresh_python(_DASK_SCRIPT, tmp_path,
                        env={"PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "3"})
    before = out["before"]
    assert before["environ"]["PYTHONHASHSEED"] == "0"
    assert before["environ"]["OMP_NUM_THREADS"] == "3"
    assert before["environ"]["MKL_NUM_THREADS"] is None and before["method"] is None
    assert out["during"] == before
    assert out["after"] == before
    assert out["results"] == 1
    assert out["workers"] == 1


def test_local_cluster_of_default_size_is_sized_to_the_work():
    """Without n_workers (dask's default: one worker per CPU), a LocalCluster started for one
    item of work gets one worker; the rest are added if more work comes."""
    pytest.importorskip("distributed")
    from dask.system import CPU_COUNT

    executor = DaskExecutor()
    assert executor._local_kwargs(1).get("n_workers", 1) == 1
    assert executor._local_kwargs(10**6).get("n_workers", CPU_COUNT) == CPU_COUNT
    assert executor._local_kwargs().get("n_workers") is None  # not capped: dask's default


# -- bounds and settings: refused before anything starts --------------------------------------


def test_worker_counts_are_bounded_as_on_the_command_line():
    from cevns import cli
    from cevns.scan.executors import MAX_WORKERS

    option = typing.get_args(cli.WorkersOpt)[1]
    assert option.max == MAX_WORKERS  # one bound for --workers and the API
    with pytest.raises(ConfigError, match=r"max_workers = 4097; expected an int from 1 to 4096"):
        make_executor({"name": "processes", "max_workers": MAX_WORKERS + 1})
    with pytest.raises(ConfigError, match=r"max_workers = 1000000"):
        ProcessExecutor(max_workers=10**6)
    with pytest.raises(ConfigError, match=r"n_workers = 4097"):
        DaskExecutor(n_workers=MAX_WORKERS + 1)  # a LocalCluster on this machine
    assert ProcessExecutor(max_workers=MAX_WORKERS).max_workers == MAX_WORKERS  # nothing starts


@pytest.mark.parametrize(("address", "message"), [
    ("127.0.0.1:99999", r"'127.0.0.1:99999': the port must be from 1 to 65535, got 99999"),
    ("tcp://10.0.0.5:0", r"the port must be from 1 to 65535, got 0"),
    ("garbage", r"'garbage' is not \[scheme://\]host:port"),
])
def test_scheduler_address_is_checked_at_once(address, message):
    """A port above 65535 used to be accepted and to fail only after the connect timeout."""
    with pytest.raises(ConfigError, match=message):
        make_executor({"name": "dask", "address": address})
    assert DaskExecutor("tcp://[::1]:8786").address == "tcp://[::1]:8786"


@pytest.mark.parametrize(("spec", "message"), [
    ({"cluster_kwargs": ["a", "b"]}, r"cluster_kwargs = \['a', 'b'\]; expected a mapping"),
    ({"adapt": {"minimum": 3, "maximum": 1}}, r"adapt.minimum = 3 is above adapt.maximum = 1"),
    ({"connect_timeout": float("inf")}, r"connect_timeout = inf; expected seconds > 0 \(finite"),
    ({"address": "tcp://h:1", "cluster_kwargs": {"n_workers": 2}},
     r"cluster_kwargs builds a cluster, but address names one already"),
])
def test_dask_settings_refused_when_made(spec, message):
    with pytest.raises(ConfigError, match=message):
        make_executor({"name": "dask", **spec})


@pytest.mark.parametrize(("spec", "message"), [
    ({"cluster": "os.path"}, r"cluster = 'os.path' is a module, not a cluster class"),
    ({"cluster_kwargs": {"bogus": 1}, "n_workers": 1},
     r"cluster_kwargs.bogus: not accepted by distributed.LocalCluster; valid: .*n_workers"),
    ({"cluster": "distributed.LocalCluster", "cluster_kwargs": {"n_wokers": 1}},
     r"cluster_kwargs.n_wokers \(did you mean 'n_workers'\?\): not accepted by "
     r"distributed.LocalCluster"),
    ({"cluster": "distributed.LocalCluster", "cluster_kwargs": {"n_workers": "two"}},
     r"cluster_kwargs = \{'n_workers': 'two'\}: distributed.LocalCluster refused them "
     r"\(TypeError: "),
    ({"adapt": {"minimum": 0, "maxmum": 2}},
     r"adapt.maxmum \(did you mean 'maximum'\?\): not accepted by "
     r"distributed.LocalCluster.adapt; valid: .*maximum"),
    ({"cluster": "distributed.LocalCluster", "adapt": {"minimum": 0, "bogus": 3}},
     r"adapt.bogus: not accepted by distributed.LocalCluster.adapt"),
])
def test_dask_cluster_settings_refused_before_a_cluster_starts(spec, message):
    """Each used to be a raw exception ("Nanny failed to start", "'module' object is not
    callable", a TypeError) or, for adapt keys, silently ignored."""
    pytest.importorskip("distributed")
    executor = make_executor({"name": "dask", **spec})
    with pytest.raises(ConfigError, match=message):
        executor.start()
    assert not executor.started


_DASK_GROW_SCRIPT = r"""
import json, multiprocessing as mp, os, sys, time
import scan_tasks
from cevns.scan import DaskExecutor, Work

keys = ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "PYTHONHASHSEED",
        "__DASK_PARENT_PID"]
state = lambda: {"environ": {k: os.environ.get(k) for k in keys},
                 "method": mp.get_start_method(allow_none=True)}
item = lambda tag: Work(scan_tasks.modules_task, {"modules": ["scan_tasks"]}, None, tag)

def settled(before):
    # a worker being started has the settings in os.environ until it is up: wait for that
    deadline = time.monotonic() + 60
    while state() != before and time.monotonic() < deadline:
        time.sleep(0.1)
    return state()

out = {"before": state(), "states": [], "workers": []}
with DaskExecutor(n_workers=2) as executor:
    executor.prepare_workers(["scan_tasks"])
    first = list(executor.run_work([item(0)]))  # one item: one worker
    out["workers"].append(len(executor.client.nthreads()))
    second = list(executor.run_work([item(1), item(2)]))  # more work: the cluster grows
    executor.client.wait_for_workers(2, timeout=120)
    out["workers"].append(len(executor.client.nthreads()))
    out["states"].append(settled(out["before"]))
    out["preloaded"] = [r["loaded"] for _, r in first + second]
    executor.client.run(scan_tasks.exit_worker, wait=False)  # the nannies restart them
    time.sleep(1.0)
    executor.client.wait_for_workers(1, timeout=120)
    third = list(executor.run_work([item(3), item(4)]))
    out["states"].append(settled(out["before"]))
out["states"].append(state())
print(json.dumps(out))
"""


@pytest.mark.slow
def test_dask_cluster_grows_with_the_work_and_restarted_workers_leave_environ(tmp_path):
    """The LocalCluster started for one item gets its second worker when two items come, with
    the workers' modules preloaded; neither the growth nor the nannies' restart of killed
    workers leaves anything in ``os.environ`` or fixes the start method."""
    pytest.importorskip("distributed")
    out = _fresh_python(_DASK_GROW_SCRIPT, tmp_path, env={"OMP_NUM_THREADS": "3"})
    assert out["workers"] == [1, 2]
    assert out["preloaded"] == [["scan_tasks"]] * 3
    assert all(state == out["before"] for state in out["states"]), out


_DASK_SCALED_SCRIPT = r"""
import json, os
import scan_tasks
from cevns.scan import DaskExecutor, Work

def settings():
    import dask
    return [os.environ.get("MALLOC_TRIM_THRESHOLD_"), os.environ.get("OMP_NUM_THREADS"),
            dask.config.get("distributed.worker.profile.enabled")]

item = Work(scan_tasks.modules_task, {"modules": ["scan_tasks"]}, None, 0)
with DaskExecutor(n_workers=1) as executor:
    list(executor.run_work([item]))
    # a worker added by the cluster itself, long after the executor started it (as adapt does)
    executor.client.cluster.scale(2)
    executor.client.wait_for_workers(2, timeout=120)
    out = list(executor.client.run(settings).values())
print(json.dumps(out))
"""


@pytest.mark.slow
def test_dask_workers_added_later_get_the_executors_settings(tmp_path):
    """A ``LocalCluster`` worker started by ``cluster.adapt`` or ``scale`` after the executor
    started the cluster runs with the executor's settings (glibc's own malloc thresholds, one
    BLAS thread, dask's profiler off), not with dask's defaults (``MALLOC_TRIM_THRESHOLD_=65536``
    doubled the CPU of NumPy temporaries: cevns.scan.executors.WORKER_ENVIRON). Before, only
    the workers created inside the executor's configuration context had them."""
    pytest.importorskip("distributed")
    out = _fresh_python(_DASK_SCALED_SCRIPT, tmp_path)
    assert len(out) == 2 and all(o == [None, "1", False] for o in out), out
