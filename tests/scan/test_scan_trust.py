"""Failing loudly (issue #10): interrupts propagate on every executor and leave a resumable store,
no pool worker outlives its driver, a dask cluster without workers is an error and not a hang, and
a tile file from another store is refused."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import scan_tasks
from kill_scan_script import scan_setup

from cevns.errors import ConfigError, ScanError
from cevns.scan import (
    DaskExecutor,
    Grid,
    ScanRequest,
    ScanStore,
    linear_axis,
    open_scan,
    run_scan,
    run_scans,
)

HERE = Path(__file__).parent
SRC = HERE.parents[1] / "src"
posix = pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals and process groups")

GRID = Grid({"x": linear_axis(0.0, 3.0, 10), "y": linear_axis(1.0, 2.0, 3)})


def reference(scale: float) -> np.ndarray:
    """The exact values of :func:`scan_tasks.analytic_task` on `GRID` (closed form)."""
    x, y = np.meshgrid(GRID["x"], GRID["y"], indexing="ij")
    return scan_tasks.analytic(x, y, scale)


# -- identity of tile files -----------------------------------------------------------------


def test_foreign_tile_file_is_refused_naming_the_file(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    run_scan(scan_tasks.analytic_task, GRID, {"scale": 1.0}, a, tile_shape=(2, 3))
    with pytest.raises(KeyboardInterrupt):  # b: same grid and tile shape, other config, partial
        run_scan(scan_tasks.analytic_task, GRID, {"scale": 2.0}, b, tile_shape=(2, 3),
                 progress=lambda done, total: done == 2 and (_ for _ in ()).throw(
                     KeyboardInterrupt))
    assert ScanStore(b).done_indices() == {0, 1}
    shutil.copy(a / "tiles" / "t000004.npz", b / "tiles" / "t000004.npz")  # same shape (2, 3)
    with pytest.raises(ScanError, match=r"t000004\.npz belongs to another store") as info:
        run_scan(scan_tasks.analytic_task, GRID, {"scale": 2.0}, b, resume=True)
    assert str(b / "tiles" / "t000004.npz") in str(info.value)
    with pytest.raises(ScanError, match="belongs to another store"):  # reading it too
        open_scan(b, partial=True)
    # the remedy the message gives works: delete it and resume
    (b / "tiles" / "t000004.npz").unlink()
    ds = run_scan(scan_tasks.analytic_task, GRID, {"scale": 2.0}, b, resume=True)
    np.testing.assert_array_equal(ds["f"].values, reference(2.0))
    assert "__cevns_store_id__" not in ds  # the stamp is not an output


def test_renamed_tile_file_and_reserved_output_names(tmp_path):
    store = tmp_path / "s"
    run_scan(scan_tasks.analytic_task, GRID, {"scale": 1.0}, store, tile_shape=(2, 3))
    os.replace(store / "tiles" / "t000001.npz", store / "tiles" / "t000003.npz")
    with pytest.raises(ScanError, match=r"t000003\.npz holds tile 1, not tile 3"):
        ScanStore(store).read_tile(3)
    with pytest.raises(ConfigError, match="reserved by the store"):
        run_scan(scan_tasks.analytic_task, GRID, {"scale": 1.0},
                 outputs={"__cevns_store_id__": ()})


# -- several scans through one queue --------------------------------------------------------


@pytest.mark.parametrize("executor", ["serial", {"name": "processes", "max_workers": 2}])
def test_run_scans_equals_scans_run_one_by_one(tmp_path, executor):
    scales = [0.5, 1.0, 3.0]
    calls = {k: [] for k in range(len(scales))}
    requests = [
        ScanRequest(scan_tasks.analytic_task, GRID, {"scale": s}, tmp_path / f"s{k}",
                    tile_shape=(k + 1, 3),
                    progress=lambda done, total, k=k: calls[k].append((done, total)))
        for k, s in enumerate(scales)
    ]
    datasets = run_scans(requests, executor=executor)
    for k, (s, ds) in enumerate(zip(scales, datasets, strict=True)):
        np.testing.assert_array_equal(ds["f"].values, reference(s))
        xr_alone = run_scan(scan_tasks.analytic_task, GRID, {"scale": s}, tile_shape=(k + 1, 3))
        np.testing.assert_array_equal(ds["f"].values, xr_alone["f"].values)
        n_tiles = ScanStore(tmp_path / f"s{k}").n_tiles
        assert calls[k][0] == (0, n_tiles) and calls[k][-1] == (n_tiles, n_tiles)
        (run,) = json.loads(ds.attrs["runs"])
        assert run["status"] == "completed" and run["batch_of"] == 3
    with pytest.raises(ConfigError, match="same store"):
        run_scans([requests[0], ScanRequest(scan_tasks.analytic_task, GRID, {"scale": 9.0},
                                            tmp_path / "s0")])


# -- Ctrl-C and killed drivers (subprocesses) -----------------------------------------------


def start_driver(tmp_path: Path, executor: str, sleep: float, n_x: int) -> subprocess.Popen:
    """Run ``kill_scan_script.py`` in its own session (a process group, as a terminal job is);
    output goes to files so that surviving children cannot hold a pipe open."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), str(HERE), env.get("PYTHONPATH", "")])
    out = open(tmp_path / "driver.out", "wb")  # noqa: SIM115 - closed by the child's exit
    return subprocess.Popen(
        [sys.executable, str(HERE / "kill_scan_script.py"), str(tmp_path / "store"),
         str(tmp_path / "calls.log"), str(sleep), str(n_x), executor],
        env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
    )


def wait_for_tiles(proc: subprocess.Popen, store: Path, n: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ScanStore.is_store(store) and len(ScanStore(store).done_indices()) >= n:
            return
        if proc.poll() is not None:
            raise AssertionError(f"the scan exited early ({proc.returncode})")
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError(f"fewer than {n} tiles after {timeout} s")


def descendants(pid: int) -> list:
    psutil = pytest.importorskip("psutil")
    return psutil.Process(pid).children(recursive=True)


def wait_gone(processes: list, timeout: float) -> list:
    """The processes still alive (and not zombies) after up to `timeout` seconds."""
    psutil = pytest.importorskip("psutil")
    deadline = time.monotonic() + timeout
    while True:
        alive = []
        for p in processes:
            try:
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    alive.append(p)
            except psutil.NoSuchProcess:
                pass
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


def kill_all(processes: list) -> None:
    for p in processes:
        try:
            p.kill()
        except Exception:
            pass


@posix
@pytest.mark.parametrize("executor", ["processes", pytest.param("dask", marks=pytest.mark.slow)])
def test_ctrl_c_raises_keyboard_interrupt_and_leaves_a_resumable_store(tmp_path, executor):
    """SIGINT to the driver's whole process group, as Ctrl-C in a terminal sends it."""
    if executor == "dask":
        pytest.importorskip("distributed")
    n_x, sleep = 10, 0.2
    proc = start_driver(tmp_path, executor, sleep, n_x)
    store = tmp_path / "store"
    wait_for_tiles(proc, store, 2)
    children = descendants(proc.pid)
    assert children, "the executor started no worker process"
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=30)
    finally:
        survivors = wait_gone(children, 10.0)
        kill_all(survivors)
    output = (tmp_path / "driver.out").read_bytes()
    assert proc.returncode != 0 and b"KeyboardInterrupt" in output, output[-2000:]
    assert b"BrokenProcessPool" not in output and b"ScanError" not in output
    assert not survivors, f"worker processes outlived the driver: {survivors}"

    st = ScanStore(store)
    (run,) = st.runs
    assert run["status"] == "interrupted" and run["tiles_computed"] == st.n_done
    done = st.done_indices()
    assert 2 <= len(done) < n_x
    st.verify_tiles()  # every finished tile kept, complete and this store's

    grid, config, _ = scan_setup(str(tmp_path / "calls.log"), sleep, n_x)
    ds = run_scan(scan_tasks.logged_task, grid, config, store, resume=True)
    resumed = [i for pid, i in scan_tasks.read_log(tmp_path / "calls.log") if pid == os.getpid()]
    assert sorted(resumed) == sorted(set(range(n_x)) - done)  # only the missing tiles
    uninterrupted = run_scan(scan_tasks.logged_task, grid,
                             {**config, "sleep": 0.0, "log": str(tmp_path / "r")},
                             tile_shape=(1, 4))
    assert ds["f"].values.tobytes() == uninterrupted["f"].values.tobytes()  # bit-identical
    np.testing.assert_array_equal(ds["n"].values, uninterrupted["n"].values)


@posix
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_no_pool_worker_survives_its_driver(tmp_path, sig):
    """SIGKILL and SIGTERM of the driver alone (no chance to clean up): the workers' parent-death
    watchdog ends them within its 0.5 s period; SIGINT: the driver terminates them."""
    proc = start_driver(tmp_path, "processes", 0.5, 40)
    wait_for_tiles(proc, tmp_path / "store", 1)
    workers = descendants(proc.pid)
    assert workers
    proc.send_signal(sig)
    proc.wait(timeout=30)
    survivors = wait_gone(workers, 5.0)
    kill_all(survivors)
    assert not survivors, f"{len(survivors)} pool workers outlived a driver killed by {sig!r}"


# -- dask without workers -------------------------------------------------------------------


def test_dask_without_any_worker_is_an_error_not_a_hang(tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster:
        executor = DaskExecutor(client=cluster, worker_timeout=1.0)
        t0 = time.monotonic()
        with pytest.raises(ScanError, match=r"no dask worker .*\(worker_timeout = 1 s\)"):
            run_scan(scan_tasks.analytic_task, GRID, {"scale": 1.0}, tmp_path / "s",
                     tile_shape=(5, 3), executor=executor)
        assert time.monotonic() - t0 < 6.0
    assert ScanStore(tmp_path / "s").runs[-1]["status"] == "failed"


def test_dask_losing_every_worker_mid_scan_is_an_error_not_a_hang(tmp_path):
    distributed = pytest.importorskip("distributed")
    config = {"scale": 1.0, "sleep": 0.2, "log": str(tmp_path / "calls.log")}
    with distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
        lost_at = []

        def lose_every_worker(done, total):
            if done == 1 and not lost_at:
                cluster.scale(0)  # as when every batch job is pre-empted at once
                lost_at.append(time.monotonic())

        with pytest.raises(ScanError, match="no dask worker"):
            run_scan(scan_tasks.logged_task, GRID, config, tmp_path / "s", tile_shape=(1, 3),
                     executor=DaskExecutor(client=cluster, worker_timeout=2.0),
                     progress=lose_every_worker)
        waited = time.monotonic() - lost_at[0]
    assert 2.0 <= waited < 8.0  # bounded by worker_timeout + the 0.4 s poll + teardown
    st = ScanStore(tmp_path / "s")
    assert 1 <= st.n_done < 10
    ds = run_scan(scan_tasks.logged_task, GRID, {**config, "sleep": 0.0}, tmp_path / "s2")
    np.testing.assert_array_equal(ds["f"].values, reference(1.0))


def test_dask_adaptive_cluster_object_scales_up_for_the_scan(tmp_path):
    """The code path of a dask-jobqueue cluster (``cluster.adapt``), with a LocalCluster that has
    no worker until the scan asks for them standing in for SLURMCluster."""
    distributed = pytest.importorskip("distributed")
    spec = {"name": "dask", "cluster": "distributed.LocalCluster",
            "cluster_kwargs": {"n_workers": 0, "processes": False, "dashboard_address": None},
            "adapt": {"minimum": 0, "maximum": 2, "interval": "100ms"}, "worker_timeout": 20}
    ds = run_scan(scan_tasks.analytic_task, GRID, {"scale": 0.5}, tmp_path / "s",
                  tile_shape=(2, 3), executor=spec)
    np.testing.assert_array_equal(ds["f"].values, reference(0.5))
    with distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster:
        executor = DaskExecutor(client=cluster, adapt={"minimum": 1, "maximum": 2})
        ds = run_scan(scan_tasks.analytic_task, GRID, {"scale": 2.0}, tile_shape=(2, 3),
                      executor=executor)
        np.testing.assert_array_equal(ds["f"].values, reference(2.0))
    with pytest.raises(ConfigError, match="adapt needs a cluster"):
        DaskExecutor("tcp://127.0.0.1:1", adapt={"maximum": 2})
    with pytest.raises(ConfigError, match="worker_timeout"):
        DaskExecutor(worker_timeout=0)


def test_a_script_without_a_main_guard_gets_the_reason_in_the_error(tmp_path):
    """A script that starts a process-pool scan when imported (no ``if __name__ ==
    '__main__':``) kills every worker: they import the main module, which starts a scan again.
    The error must say so, not only that a worker died."""
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import time\n"
        "import numpy as np\n"
        "from cevns.scan import Grid, run_scan\n"
        "def task(config, tile):\n"
        "    time.sleep(0.5)  # the driver runs tiles itself only until the workers are up\n"
        "    return {'v': np.zeros(tile.shape)}\n"
        "run_scan(task, Grid({'x': np.arange(24.0)}), {}, tile_shape=(1,),\n"
        "         executor={'name': 'processes', 'max_workers': 2})\n",
        encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert proc.returncode != 0
    # the traceback's error line (multiprocessing may print warnings after it)
    errors = [line for line in proc.stderr.splitlines()
              if line.startswith("cevns.errors.ScanError: a worker process of the pool died")]
    assert len(errors) == 1, proc.stderr[-3000:]
    assert "if __name__ == '__main__':" in errors[0]
