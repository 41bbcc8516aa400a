"""docs/cluster.md: every executor configuration on the page is one the scan layer accepts, and
with a LocalCluster standing in for the batch-system class (same keys: cluster by dotted path,
cluster_kwargs, adapt from zero workers, worker_timeout) a scan runs to the serial result."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import numpy as np
import pytest

from cevns.scan import DaskExecutor, make_executor, run_scan

PAGE = Path(__file__).resolve().parents[2] / "docs" / "cluster.md"


def _executor_specs() -> list[dict]:
    blocks = re.findall(r"```toml\n(.*?)```", PAGE.read_text(), re.S)
    return [tomllib.loads(b)["scan"]["executor"] for b in blocks]


def test_page_configs_build_dask_executors():
    specs = _executor_specs()
    assert {s["cluster"] for s in specs} == {"dask_jobqueue.SLURMCluster",
                                             "dask_jobqueue.PBSCluster"}
    for spec in specs:
        executor = make_executor(spec)  # the cluster class is imported only when started
        assert isinstance(executor, DaskExecutor) and not executor.started


def _task(config, tile):
    return {"f": np.add.outer(tile.coords["a"], tile.coords["b"])}


@pytest.mark.slow
def test_page_config_with_a_local_stand_in_runs_a_scan():
    pytest.importorskip("distributed")
    spec = dict(_executor_specs()[0])
    spec["cluster"] = "distributed.LocalCluster"
    spec["cluster_kwargs"] = {"n_workers": 0, "processes": False, "dashboard_address": None}
    spec["adapt"] = {"minimum": 0, "maximum": 2, "interval": "100ms"}
    spec["worker_timeout"] = 60
    grid = {"a": np.arange(6.0), "b": np.arange(4.0)}
    ds = run_scan(_task, grid, {}, tile_shape=(2, 4), executor=spec)
    np.testing.assert_array_equal(ds["f"].values, np.add.outer(grid["a"], grid["b"]))
