"""Executors: the factory, dask.distributed (LocalCluster, Client, lost workers, retries) and an
unreachable scheduler."""

from __future__ import annotations

import os
import socket
import sys
import time

import numpy as np
import pytest
import scan_tasks

from cevns.errors import ConfigError, MissingDependencyError, ScanError, UnknownNameError
from cevns.scan import (
    DaskExecutor,
    Grid,
    ProcessExecutor,
    SerialExecutor,
    linear_axis,
    make_executor,
    run_scan,
)

distributed = pytest.importorskip("distributed")

GRID = Grid({"x": linear_axis(0.0, 3.0, 16), "y": linear_axis(1.0, 2.0, 5)})
CONFIG = {"scale": 0.5}


def reference(scale: float = 0.5) -> np.ndarray:
    x, y = np.meshgrid(GRID["x"], GRID["y"], indexing="ij")
    return scan_tasks.analytic(x, y, scale)


@pytest.fixture(scope="module")
def dask_executor():
    """One LocalCluster (2 worker processes, 1 thread each) for the whole module; its HTTP
    server on a free port (another test process may hold dask's default 8787)."""
    with DaskExecutor(n_workers=2, threads_per_worker=1,
                      cluster_kwargs={"dashboard_address": ":0"}) as executor:
        yield executor


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- factory ---------------------------------------------------------------------------------


def test_make_executor_names_and_specs():
    assert isinstance(make_executor("serial"), SerialExecutor)
    pool = make_executor({"name": "processes", "max_workers": 3})
    assert isinstance(pool, ProcessExecutor) and pool.max_workers == 3
    remote = make_executor("tcp://10.1.2.3:8786")
    assert isinstance(remote, DaskExecutor) and remote.address == "tcp://10.1.2.3:8786"
    spec = {"name": "dask", "address": "tcp://h:1", "connect_timeout": 2, "retries": 4}
    dask = make_executor(spec)
    assert (dask.address, dask.connect_timeout, dask.retries) == ("tcp://h:1", 2.0, 4)
    assert make_executor(dask) is dask


def test_make_executor_rejects():
    with pytest.raises(UnknownNameError, match="unknown executor 'mpi'; valid choices: dask, "
                       "processes, serial"):
        make_executor("mpi")
    with pytest.raises(UnknownNameError, match="unknown executor 'thread'"):
        make_executor({"name": "thread"})
    with pytest.raises(ConfigError, match=r"executor 'processes' has no option\(s\) \['workers'\]"):
        make_executor({"name": "processes", "workers": 2})
    with pytest.raises(ConfigError, match="has no 'name'"):
        make_executor({"max_workers": 2})
    with pytest.raises(ConfigError, match="max_workers = 0"):
        make_executor({"name": "processes", "max_workers": 0})
    with pytest.raises(ConfigError, match="connect_timeout"):
        DaskExecutor(connect_timeout=0)
    with pytest.raises(ConfigError, match="cannot make an executor from 3"):
        make_executor(3)


def test_missing_dask_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # makes `import distributed` fail
    with pytest.raises(MissingDependencyError, match=r"pip install 'cevns\[dask\]'"):
        DaskExecutor().start()


def test_unreachable_scheduler_fails_fast(tmp_path):
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    t0 = time.perf_counter()
    with pytest.raises(ScanError, match=f"cannot reach the dask scheduler at {address} within "
                       "2 s"):
        run_scan(scan_tasks.analytic_task, GRID, CONFIG, tmp_path / "s",
                 executor={"name": "dask", "address": address, "connect_timeout": 2})
    assert time.perf_counter() - t0 < 6.0
    assert DaskExecutor(address).connect_timeout == 5.0  # the default


# -- dask ------------------------------------------------------------------------------------


def test_dask_cluster_by_dotted_path_and_cluster_object():
    # a threaded LocalCluster stands in for dask_jobqueue.SLURMCluster: same construction path
    kwargs = {"n_workers": 1, "processes": False, "dashboard_address": ":0"}  # None means 8787
    spec = {"name": "dask", "cluster": "distributed.LocalCluster", "cluster_kwargs": kwargs}
    ds = run_scan(scan_tasks.analytic_task, GRID, CONFIG, tile_shape=(8, 5), executor=spec)
    np.testing.assert_array_equal(ds["f"].values, reference())
    with distributed.LocalCluster(**kwargs) as cluster:
        executor = make_executor(cluster)
        assert isinstance(executor, DaskExecutor) and executor.user_client is cluster
        ds = run_scan(scan_tasks.analytic_task, GRID, CONFIG, tile_shape=(8, 5),
                      executor=executor)
        np.testing.assert_array_equal(ds["f"].values, reference())
        assert cluster.status.name == "running"  # a user's cluster is not closed
    with pytest.raises(MissingDependencyError, match="cannot import module 'no_such_jobqueue'"):
        DaskExecutor(cluster="no_such_jobqueue.SLURMCluster").start()
    with pytest.raises(ConfigError, match="module 'distributed' has no 'NoSuchCluster'"):
        DaskExecutor(cluster="distributed.NoSuchCluster").start()


def test_dask_equals_serial_and_processes(dask_executor, tmp_path):
    assert dask_executor.client is not None  # waits until the LocalCluster is up
    serial = run_scan(scan_tasks.analytic_task, GRID, CONFIG, tile_shape=(3, 5))
    pooled = run_scan(scan_tasks.analytic_task, GRID, CONFIG, tile_shape=(3, 5),
                      executor={"name": "processes", "max_workers": 2})
    dask = run_scan(scan_tasks.analytic_task, GRID, CONFIG, tmp_path / "d", tile_shape=(3, 5),
                    executor=dask_executor)
    np.testing.assert_array_equal(serial["f"].values, reference())
    for ds in (pooled, dask):
        np.testing.assert_array_equal(ds["f"].values, serial["f"].values)
        np.testing.assert_array_equal(ds["n"].values, serial["n"].values)
    assert dask.attrs["executor"].startswith("dask(tcp://127.0.0.1:")
    assert dask.attrs["executor"].endswith(", 2 workers)")
    assert dask_executor.started  # a started executor is left open for the next scan


def test_dask_accepts_a_client_object(dask_executor):
    ds = run_scan(scan_tasks.analytic_task, GRID, CONFIG, tile_shape=(4, 5),
                  executor=dask_executor.client)
    np.testing.assert_array_equal(ds["f"].values, reference())
    assert dask_executor.client.status == "running"  # a user's client is not closed


def test_dask_retries_a_failing_tile(dask_executor, tmp_path):
    config = {"scale": 0.5, "marker_dir": str(tmp_path)}
    ds = run_scan(scan_tasks.flaky_task, GRID, config, tile_shape=(8, 5), executor=dask_executor)
    np.testing.assert_array_equal(ds["f"].values, reference())
    # each of the 2 tiles failed once, then succeeded on its retry
    assert sorted(os.listdir(tmp_path)) == ["tile0", "tile1"]
    (tmp_path / "serial").mkdir()
    config["marker_dir"] = str(tmp_path / "serial")
    with pytest.raises(RuntimeError, match="transient failure") as info:  # serial: no retries
        run_scan(scan_tasks.flaky_task, GRID, config, tile_shape=(8, 5), executor="serial")
    assert "scan_tasks.flaky_task" in info.value.__notes__[0]


def test_dask_task_error_propagates_with_its_type(dask_executor, tmp_path):
    config = {"scale": 1.0, "fail_on": 1}
    with pytest.raises(ValueError, match="boom on tile 1") as info:
        run_scan(scan_tasks.failing_task, GRID, config, tmp_path / "s", tile_shape=(8, 5),
                 executor=DaskExecutor(client=dask_executor.client, retries=0))
    assert "tile 1 at (1, 0)" in info.value.__notes__[0]


def test_dask_survives_a_lost_worker(dask_executor, tmp_path):
    client = dask_executor.client
    log = tmp_path / "calls.log"
    config = {"scale": 0.5, "sleep": 0.25, "log": str(log)}
    killed = []

    def kill_a_busy_worker(done, total):
        if done == 2 and not killed:
            busy = [w for w, keys in client.processing().items() if keys]
            client.run(scan_tasks.exit_worker, workers=busy[:1], wait=False)
            killed.extend(busy[:1])

    ds = run_scan(scan_tasks.started_task, GRID, config, tmp_path / "s", tile_shape=(2, 5),
                  executor=dask_executor, progress=kill_a_busy_worker)
    np.testing.assert_array_equal(ds["f"].values, reference())
    assert len(killed) == 1
    starts = [i for _, i in scan_tasks.read_log(log)]
    assert sorted(set(starts)) == list(range(8))
    # the tile running on the killed worker was started twice: the scheduler re-ran it elsewhere
    assert len(starts) > 8
    client.wait_for_workers(2, timeout=30)  # the nanny restarts the worker for later tests


def test_prepared_pool_starts_every_worker_and_equals_serial(tmp_path):
    """prepare_workers starts all workers at once (not one per task found without an idle
    worker); the tiles the driver runs while they start give the same values as serial."""
    from cevns.scan import ProcessExecutor, run_scan

    grid = {"y": np.linspace(0.0, 1.0, 6), "x": np.linspace(-1.0, 1.0, 5)}
    config = {"scale": 1.5}
    serial = run_scan(scan_tasks.analytic_task, grid, config, tile_shape=(1, 5))
    with ProcessExecutor(max_workers=2) as executor:
        executor.prepare_workers(["scan_tasks"])
        pooled = run_scan(scan_tasks.analytic_task, grid, config, tmp_path / "p",
                          tile_shape=(1, 5), executor=executor)
        assert len(executor.worker_pids()) == 2
    np.testing.assert_array_equal(pooled["f"].values, serial["f"].values)


def test_prepared_pool_leaves_the_forkserver_preload_as_it_found_it():
    """The forkserver preload list is process-wide: prepare_workers sets it for its server and
    puts the previous list back once the workers are started."""
    import multiprocessing

    from cevns.forkserver import preload_list as _forkserver_preload
    from cevns.scan import ProcessExecutor

    if "forkserver" not in multiprocessing.get_all_start_methods():
        pytest.skip("no forkserver on this platform")
    before = _forkserver_preload()
    with ProcessExecutor(max_workers=1, mp_context="forkserver") as executor:
        executor.prepare_workers(["scan_tasks"])
        executor._wait_spawner()
        assert _forkserver_preload() == before
    assert _forkserver_preload() == before


#: Run in a fresh interpreter (the forkserver is process-wide: one started by an earlier test
#: would keep its own preload list). Prints the facts the test below checks, as JSON.
_DASK_PRELOAD_SCRIPT = r"""
import json, os, sys
import numpy as np
import dask
from distributed import utils
import scan_tasks
from cevns.scan import DaskExecutor, Work, run_scan
from cevns.forkserver import preload_list as _forkserver_preload

keys = ["distributed.worker.profile.enabled", "distributed.admin.tick.interval",
        "distributed.worker.multiprocessing-method"]
state = lambda: {"preload": _forkserver_preload(), "flag": utils._forkserver_preload_set,
                 "config": [dask.config.get(k) for k in keys]}
out = {"before": state()}
grid = {"y": np.linspace(0.0, 1.0, 12), "x": np.linspace(-1.0, 1.0, 5)}
serial = run_scan(scan_tasks.analytic_task, grid, {"scale": 1.5}, tile_shape=(1, 5))
with DaskExecutor(n_workers=1) as executor:
    executor.prepare_workers(["scan_tasks", "wave"])  # wave: a module nothing else imports
    ds = run_scan(scan_tasks.analytic_task, grid, {"scale": 1.5}, sys.argv[1], tile_shape=(1, 5),
                  executor=executor)
    out["equal"] = bool(np.array_equal(ds["f"].values, serial["f"].values))
    work = Work(scan_tasks.modules_task, {"modules": ["wave", "scan_tasks"]})
    [(_, result)] = list(executor.run_work([work]))
    out["worker"] = result
    out["worker_profile"] = list(executor.client.run(
        lambda: dask.config.get("distributed.worker.profile.enabled")).values())
    out["during"] = state()
out["driver_pid"] = os.getpid()
out["driver_has_wave"] = "wave" in sys.modules
out["after"] = state()
print(json.dumps(out))
"""


def test_dask_workers_preloaded_in_background_and_settings_restored(tmp_path):
    """DaskExecutor.prepare_workers starts the LocalCluster in the background with the modules
    preloaded by its forkserver: the worker has them imported before its first task (``wave``,
    which neither the driver nor the task imports), the tiles the driver runs meanwhile equal a
    serial run's, the worker runs with LOCAL_CLUSTER_CONFIG, and the forkserver preload list,
    dask's private record of having set it and the driver's dask configuration are as found,
    during the scan (once the workers are up) and after."""
    import json
    import multiprocessing
    import subprocess
    from pathlib import Path

    if "forkserver" not in multiprocessing.get_all_start_methods():
        pytest.skip("no forkserver on this platform")
    here = str(Path(__file__).parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([here, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", _DASK_PRELOAD_SCRIPT, str(tmp_path / "s")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["equal"]
    assert out["worker"]["pid"] != out["driver_pid"]
    assert out["worker"]["loaded"] == ["scan_tasks", "wave"]
    assert not out["driver_has_wave"]
    assert out["worker_profile"] == [False]  # LOCAL_CLUSTER_CONFIG reached the worker
    assert out["during"] == out["before"] and out["after"] == out["before"]
    assert out["before"]["flag"] is False  # dask's own record: untouched by cevns at the end


def test_dask_background_start_error_reaches_the_driver(monkeypatch):
    """An error while the LocalCluster starts in the background is raised in the driver, by the
    scan that needed the cluster."""
    from cevns.scan import Work

    def broken(self, modules=()):
        raise ScanError("the cluster could not start")

    monkeypatch.setattr(DaskExecutor, "_start_local", broken)
    with DaskExecutor(n_workers=1) as executor:
        executor.prepare_workers(["scan_tasks"])
        work = Work(scan_tasks.modules_task, {"modules": []})
        with pytest.raises(ScanError, match="the cluster could not start"):
            list(executor.run_work([work]))


def test_dask_forkserver_preload_is_put_back_even_after_an_error():
    """The context that gives dask's forkserver the workers' modules restores the process-wide
    preload list and dask's private flag on the way out, an exception included; outside a
    forkserver configuration it changes nothing."""
    import multiprocessing

    import dask
    from distributed import utils

    from cevns.forkserver import preload_list as _forkserver_preload
    from cevns.scan.executors import _dask_forkserver_preload

    if "forkserver" not in multiprocessing.get_all_start_methods():
        pytest.skip("no forkserver on this platform")
    before = (_forkserver_preload(), utils._forkserver_preload_set)
    with dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}):
        with pytest.raises(RuntimeError, match="boom"):
            with _dask_forkserver_preload(["wave"]):
                inside = _forkserver_preload()
                raise RuntimeError("boom")
    assert inside[-1] == "wave" and "distributed" in inside  # dask's own list, then ours
    assert (_forkserver_preload(), utils._forkserver_preload_set) == before
    with dask.config.set({"distributed.worker.multiprocessing-method": "spawn"}):
        with _dask_forkserver_preload(["wave"]):
            assert _forkserver_preload() == before[0]
