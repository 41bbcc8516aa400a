"""Several analyses in one queue (cevns.analyses.schedule): same files as a serial run.

The expected outputs are those of the serial executor, running the same items one after the other
in this process (the reference); the parallel run must give byte-identical files — CSV, Markdown
and LaTeX tables, CF netCDF grids and the PNG figures — since the tasks are the same functions on
the same inputs and the tiles are planned for one worker whatever the executor.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cevns.analyses import RunOptions, shipped_analysis
from cevns.analyses.schedule import expected_seconds, run_analyses
from cevns.scan import ScanStore

#: files that record how a run went (executor, wall time), not what it computed
RUN_RECORDS = {"provenance.json"}


def _run(items: list[str], root: Path, executor) -> dict:
    analyses = {n: shipped_analysis(n) for n in items}
    folders = {n: root / n for n in items}
    done: list[str] = []
    name = executor if isinstance(executor, str) else executor["name"]
    options = RunOptions(quick=True, executor=name, extra={"scan_root": root / "scans"})
    records = run_analyses(analyses, folders, options, executor,
                           on_done=lambda name, record: done.append(name))
    assert sorted(done) == sorted(items)
    return records


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and "scans" not in p.relative_to(root).parts
            and p.name not in RUN_RECORDS}


def _assert_same(serial_root: Path, other_root: Path) -> None:
    serial, other = _files(serial_root), _files(other_root)
    assert serial.keys() == other.keys()
    assert any(name.endswith(".png") for name in serial)
    assert any(name.endswith(".nc") for name in serial)
    differ = [name for name in serial if serial[name] != other[name]]
    assert not differ, f"differ from the serial run: {differ}"


# fig6: four variants in one scan batch (deferred to the driver, tiles in the queue);
# fig2 and table4: one shared store (the same computation presented twice), asked for by two
# analyses that may run at the same time; fig1: no scan at all
ITEMS = ["fig6", "fig2", "table4", "fig1"]


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["processes", "dask"])
def test_parallel_items_write_the_serial_files(tmp_path, executor):
    _run(ITEMS, tmp_path / "serial", "serial")
    if executor == "dask":
        pytest.importorskip("distributed")
        spec = {"name": "dask", "n_workers": 2}
    else:
        spec = {"name": "processes", "max_workers": 2}
    records = _run(ITEMS, tmp_path / "parallel", spec)
    _assert_same(tmp_path / "serial", tmp_path / "parallel")
    assert all(rec["files"] for rec in records.values())
    # every store was written by the driver, once, in a session of the parallel executor
    for store in (tmp_path / "parallel" / "scans").iterdir():
        runs = ScanStore(store).runs
        assert [r["status"] for r in runs] == ["completed"]
        assert runs[0]["executor"].startswith(executor)


def test_two_items_in_one_queue_match_serial(tmp_path):
    """The fast check: two cheap items, two worker processes (forked: they start at once)."""
    items = ["table4", "table5"]
    _run(items, tmp_path / "serial", "serial")
    _run(items, tmp_path / "parallel", {"name": "processes", "max_workers": 2,
                                        "mp_context": "fork"})
    _assert_same(tmp_path / "serial", tmp_path / "parallel")
    prov = json.loads((tmp_path / "parallel" / "table4" / "provenance.json").read_text())
    assert prov["executor"] == "processes"


def _cheap_overlay(request):
    """A made-up overlay for the test: excluded above y = 1e-4 on the item's grid."""
    import numpy as np

    from cevns.analyses.overlays import Overlay

    d = np.where(request.y[None, :] > 1e-4, 100.0, 0.0) * np.ones((request.x.size, 1))
    return [Overlay("test overlay", "made up for the test", request.x, request.y, delta_chi2=d)]


def test_overlays_run_as_tasks_of_their_own_and_match_serial(tmp_path, monkeypatch):
    """fig11 with an overlay computed per m4/mX ratio (three computations): on a parallel
    executor each is a task of its own beside the tiles, not part of the item's last task, and
    the files are the serial run's, figure and overlay table included. (The workers are forked
    after the overlay is registered, so they know it by name.)"""
    from cevns.analyses import overlays
    from cevns.scan.executors import ProcessExecutor

    monkeypatch.setattr(overlays, "_REGISTRY", dict(overlays._REGISTRY))
    overlays.register_overlay("t-cheap", _cheap_overlay)
    an = shipped_analysis("fig11").model_copy(update={"overlays": ("t-cheap",)})
    kinds: list[str] = []

    class Recording(ProcessExecutor):
        def stream(self, queue):
            for work, result in super().stream(queue):
                kinds.append(work.tag[0])
                yield work, result

    def run(root, executor):
        options = RunOptions(quick=True, executor="serial" if executor == "serial" else
                             "processes", extra={"scan_root": root / "scans"})
        return run_analyses({"fig11": an}, {"fig11": root / "fig11"}, options, executor)

    run(tmp_path / "serial", "serial")
    run(tmp_path / "parallel", Recording(max_workers=2, mp_context="fork"))
    _assert_same(tmp_path / "serial", tmp_path / "parallel")
    assert kinds.count("overlay") == 3 and "tile" in kinds
    assert kinds[-1] == "item"  # the item's last round ran after its overlays and tiles
    assert "test overlay" in (tmp_path / "parallel" / "fig11" / "fig11_overlays.csv").read_text()


def test_expected_seconds_orders_by_scan_work():
    """The cost model of the scans: fig7 (four variants of 100 × 100 points, six detectors, the
    COHERENT overlay) is expected to cost more than fig8 (one profile of one parameter), and the
    quick grids less than the full ones."""
    fig7, fig8 = shipped_analysis("fig7"), shipped_analysis("fig8")
    assert expected_seconds(fig7) > 10 * expected_seconds(fig8)
    assert expected_seconds(fig7, quick=True) < expected_seconds(fig7)
