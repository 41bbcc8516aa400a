"""One queue for several kinds of work: WorkQueue priorities, Executor.stream with work added while
it runs, and DeferToDriver (a scan batch handed back to the driver, complete stores read by
several workers at once).

Expected values are those of the task itself, computed directly (``_task`` below is x · y).
"""

from __future__ import annotations

import numpy as np
import pytest

from cevns.scan import (
    DeferToDriver,
    ScanRequest,
    ScansDeferred,
    Work,
    WorkQueue,
    make_executor,
    run_scan,
    run_scans,
)
from cevns.scan.store import store_lock

GRID = {"x": [1.0, 2.0, 3.0, 4.0], "y": [10.0, 20.0]}


def _task(config, tile):
    x, y = tile.mesh().values()
    return {"f": config["scale"] * x * y}


def _echo(config, tile):
    return config["value"]


def test_work_queue_pops_highest_priority_first_and_ties_in_order():
    queue = WorkQueue()
    for value, priority in ((1, 0.0), (2, 5.0), (3, 0.0), (4, 5.0), (5, 9.0)):
        queue.put(Work(_echo, {"value": value}, tag=value), priority)
    order = []
    while (entry := queue.pop()) is not None:
        order.append(entry[0].tag)
    assert order == [5, 2, 4, 1, 3]
    assert len(queue) == 0


@pytest.mark.parametrize("spec", ["serial", {"name": "processes", "max_workers": 2,
                                             "mp_context": "fork"}])
def test_stream_takes_work_put_while_it_runs(spec):
    """The consumer adds a follow-up item for every first-round result; all of them run."""
    queue = WorkQueue([Work(_echo, {"value": k}, tag=("first", k)) for k in range(4)])
    seen = []
    with make_executor(spec) as exe:
        for item, result in exe.stream(queue):
            seen.append(item.tag)
            assert result == item.config["value"]
            if item.tag[0] == "first":
                queue.put(Work(_echo, {"value": 10 + result}, tag=("second", result)), 1.0)
    assert sorted(seen) == sorted([("first", k) for k in range(4)]
                                  + [("second", k) for k in range(4)])
    if spec == "serial":  # one worker: every follow-up overtakes the first-round items left
        assert seen == [("first", 0), ("second", 0), ("first", 1), ("second", 1),
                        ("first", 2), ("second", 2), ("first", 3), ("second", 3)]


def _request(store, resume=False, progress=None):
    return ScanRequest(_task, GRID, {"scale": 2.0}, store, tile_shape=(1, 2), resume=resume,
                       overwrite=not resume, progress=progress)


def test_defer_to_driver_hands_back_a_batch_with_tiles_to_compute(tmp_path):
    reported = []
    exe = DeferToDriver(label_of=lambda: "label-a")
    with pytest.raises(ScansDeferred) as caught:
        run_scans([_request(tmp_path / "s", progress=lambda d, t: reported.append((d, t)))],
                  executor=exe)
    (request,) = caught.value.requests
    assert request.progress is None and request.store == tmp_path / "s"
    assert caught.value.labels == ["label-a"]
    assert reported == [(0, 4)]  # four tiles of one row
    assert not (tmp_path / "s").exists()  # the driver creates the store, not the worker


def test_defer_to_driver_reads_complete_stores_without_the_writers_lock(tmp_path):
    store = tmp_path / "s"
    run_scan(_task, GRID, {"scale": 2.0}, store, tile_shape=(1, 2))
    with store_lock(store):  # another worker reading the same store holds the lock now
        (ds,) = run_scans([_request(store, resume=True)], executor=DeferToDriver())
    expected = 2.0 * np.outer(GRID["x"], GRID["y"])
    np.testing.assert_array_equal(ds["f"].values, expected)


def test_defer_to_driver_does_not_take_another_scans_store_as_complete(tmp_path):
    store = tmp_path / "s"
    run_scan(_task, GRID, {"scale": 3.0}, store, tile_shape=(1, 2))  # another config
    with pytest.raises(ScansDeferred):
        run_scans([_request(store, resume=True)], executor=DeferToDriver())
