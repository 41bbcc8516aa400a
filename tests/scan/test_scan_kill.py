"""A scan killed from outside (SIGKILL, SIGINT) resumes where it stopped, recomputing only the
missing tiles, and gives the same result as an uninterrupted scan."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import scan_tasks
from kill_scan_script import scan_setup

from cevns.scan import ScanStore, run_scan

pytestmark = pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals")

HERE = Path(__file__).parent
SRC = HERE.parents[1] / "src"


def start_scan(store: Path, log: Path, sleep: float, n_x: int, executor: str = "serial"):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), str(HERE), env.get("PYTHONPATH", "")])
    return subprocess.Popen(
        [sys.executable, str(HERE / "kill_scan_script.py"), str(store), str(log), str(sleep),
         str(n_x), executor],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def wait_for_tiles(proc: subprocess.Popen, store: Path, n: int, timeout: float = 30.0) -> None:
    """Poll the store's done-mask until at least `n` tiles are saved."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ScanStore.is_store(store) and ScanStore(store).done_mask().sum() >= n:
            return
        if proc.poll() is not None:
            raise AssertionError(f"scan exited early: {proc.communicate()[1].decode()}")
        time.sleep(0.01)
    proc.kill()
    raise AssertionError(f"fewer than {n} tiles after {timeout} s")


def uninterrupted(tmp_path: Path, n_x: int):
    grid, config, tile_shape = scan_setup(str(tmp_path / "reference.log"), 0.0, n_x)
    return run_scan(scan_tasks.logged_task, grid, config, tile_shape=tile_shape)


def test_sigkill_then_resume_recomputes_only_missing_tiles(tmp_path):
    store, log, n_x = tmp_path / "store", tmp_path / "calls.log", 16
    proc = start_scan(store, log, sleep=0.05, n_x=n_x)
    wait_for_tiles(proc, store, 4)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=10) == -signal.SIGKILL

    done_at_kill = ScanStore(store).done_indices()
    assert 4 <= len(done_at_kill) < n_x
    killed_calls = scan_tasks.read_log(log)
    assert {pid for pid, _ in killed_calls} == {proc.pid}

    grid, config, _ = scan_setup(str(log), 0.05, n_x)
    ds = run_scan(scan_tasks.logged_task, grid, config, store, resume=True)
    resumed = [i for pid, i in scan_tasks.read_log(log) if pid == os.getpid()]
    assert sorted(resumed) == sorted(set(range(n_x)) - done_at_kill)  # each missing tile once

    reference = uninterrupted(tmp_path, n_x)
    np.testing.assert_array_equal(ds["f"].values, reference["f"].values)
    np.testing.assert_array_equal(ds["n"].values, reference["n"].values)
    runs = ScanStore(store).runs
    assert len(runs) == 1 and runs[0]["tiles_computed"] == n_x - len(done_at_kill)  # the killed
    # session never got to write its record; that is the price of SIGKILL, not of the tiles


def test_sigkill_during_tile_writes_leaves_a_readable_store(tmp_path):
    # no sleep: the driver spends its time writing tiles, so the kill lands mid-write
    store, log, n_x = tmp_path / "store", tmp_path / "calls.log", 150
    proc = start_scan(store, log, sleep=0.0, n_x=n_x)
    wait_for_tiles(proc, store, 20)
    time.sleep(0.007)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    st = ScanStore(store)
    for index in st.done_indices():  # every tile file present is complete
        assert st.read_tile(index)["f"].shape == (1, 4)
    grid, config, _ = scan_setup(str(log), 0.0, n_x)
    ds = run_scan(scan_tasks.logged_task, grid, config, store, resume=True)
    assert not [p for p in (store / "tiles").iterdir() if p.name.endswith(".tmp")]
    np.testing.assert_array_equal(ds["f"].values, uninterrupted(tmp_path, n_x)["f"].values)


def test_sigint_saves_completed_tiles_and_records_the_interrupt(tmp_path):
    store, log, n_x = tmp_path / "store", tmp_path / "calls.log", 16
    proc = start_scan(store, log, sleep=0.05, n_x=n_x)
    wait_for_tiles(proc, store, 3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode != 0 and b"KeyboardInterrupt" in err
    st = ScanStore(store)
    (run,) = st.runs
    assert run["status"] == "interrupted" and run["tiles_computed"] == st.n_done
    assert 3 <= st.n_done < n_x
    done = st.done_indices()
    grid, config, _ = scan_setup(str(log), 0.05, n_x)
    ds = run_scan(scan_tasks.logged_task, grid, config, store, resume=True)
    resumed = [i for pid, i in scan_tasks.read_log(log) if pid == os.getpid()]
    assert sorted(resumed) == sorted(set(range(n_x)) - done)
    assert [r["status"] for r in json.loads(ds.attrs["runs"])] == ["interrupted", "completed"]
    np.testing.assert_array_equal(ds["f"].values, uninterrupted(tmp_path, n_x)["f"].values)
