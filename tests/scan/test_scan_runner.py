"""run_scan with the serial and processes executors: values, store, resume and refusal rules."""

from __future__ import annotations

import importlib.util
import json
import os

import numpy as np
import pytest
import scan_tasks
import xarray as xr

from cevns.errors import ConfigError, MissingDependencyError, ScanError
from cevns.scan import Grid, ScanStore, linear_axis, open_scan, run_scan
from cevns.scan.store import netcdf_engine, store_lock

GRID = Grid({"x": linear_axis(0.0, 3.0, 13), "y": linear_axis(1.0, 2.0, 7)})
TILE = (3, 4)  # 5 x 2 = 10 tiles, ragged on both axes
CONFIG = {"scale": 1.5, "detector": {"mass_kg": 10.0, "bins": [1, 2, 3]}}


def reference(grid: Grid = GRID, scale: float = 1.5) -> np.ndarray:
    x, y = np.meshgrid(grid["x"], grid["y"], indexing="ij")
    return scan_tasks.analytic(x, y, scale)


def test_serial_scan_values_store_and_provenance(tmp_path):
    calls = []
    ds = run_scan(scan_tasks.analytic_task, GRID, CONFIG, tmp_path / "s", tile_shape=TILE,
                  progress=lambda done, total: calls.append((done, total)))
    np.testing.assert_allclose(ds["f"].values, reference(), rtol=0, atol=0)
    np.testing.assert_array_equal(ds["n"].values[:, 0], np.floor(10 * GRID["x"]))
    assert ds["n"].dtype == np.int64 and ds["f"].dims == ("x", "y")
    np.testing.assert_array_equal(ds["x"].values, GRID["x"])
    assert calls == [(i, 10) for i in range(11)]
    # provenance
    assert json.loads(ds.attrs["config"]) == CONFIG
    store = ScanStore(tmp_path / "s")
    assert ds.attrs["config_digest"] == store.digest and len(store.digest) == 64
    assert ds.attrs["task"] == "scan_tasks.analytic_task"
    assert ds.attrs["executor"] == "serial" and ds.attrs["wall_time_s"] > 0
    np.testing.assert_array_equal(ds.attrs["tile_shape"], TILE)
    (run,) = json.loads(ds.attrs["runs"])
    assert run["status"] == "completed" and run["tiles_computed"] == 10
    assert store.complete and store.done_mask().shape == (5, 2) and store.done_mask().all()
    # the consolidated netCDF holds the same dataset
    on_disk = xr.load_dataset(tmp_path / "s" / "result.nc", engine=netcdf_engine())
    xr.testing.assert_identical(on_disk, ds)
    xr.testing.assert_identical(open_scan(tmp_path / "s"), ds)


def test_axis_order_is_kept_through_the_store(tmp_path):
    # "mass" > "coupling" alphabetically: the store must not sort the axes
    grid = Grid({"y": GRID["y"], "x": GRID["x"]})
    ds = run_scan(scan_tasks.analytic_task, grid, CONFIG, tmp_path / "s", tile_shape=(3, 4))
    assert ds["f"].dims == ("y", "x") and ScanStore(tmp_path / "s").grid == grid
    # the task sees (y, x) meshes in that order: f = scale sin(y) x² + exp(-x y)
    y, x = np.meshgrid(grid["y"], grid["x"], indexing="ij")
    np.testing.assert_array_equal(ds["f"].values, scan_tasks.analytic(y, x, 1.5))
    reopened = open_scan(tmp_path / "s")
    assert reopened["f"].dims == ("y", "x") and list(reopened.coords) == ["y", "x"]


def test_processes_equal_serial(tmp_path):
    from cevns.scan.executors import DEFAULT_MP_CONTEXT

    serial = run_scan(scan_tasks.analytic_task, GRID, CONFIG, tile_shape=TILE)
    pooled = run_scan(scan_tasks.analytic_task, GRID, CONFIG, tmp_path / "p", tile_shape=TILE,
                      executor={"name": "processes", "max_workers": 2})
    np.testing.assert_array_equal(pooled["f"].values, serial["f"].values)
    np.testing.assert_array_equal(pooled["n"].values, serial["n"].values)
    assert pooled.attrs["executor"] == f"processes(max_workers=2, {DEFAULT_MP_CONTEXT})"
    assert pooled.attrs["config_digest"] == serial.attrs["config_digest"]


def test_processes_refuse_unpicklable_task(tmp_path):
    def local_task(config, tile):
        return {"f": np.zeros(tile.shape)}

    with pytest.raises(ScanError, match="cannot be pickled.*top-level function"):
        run_scan(local_task, GRID, CONFIG, tmp_path / "s", executor="processes")
    assert not (tmp_path / "s").exists()


def test_trailing_dims_inferred_and_declared(tmp_path):
    config = {"bins": 4}
    ds = run_scan(scan_tasks.spectrum_task, GRID, config, tile_shape=TILE)
    assert ds["counts"].dims == ("x", "y", "counts_dim0") and ds["counts"].shape == (13, 7, 4)
    x, y = np.meshgrid(GRID["x"], GRID["y"], indexing="ij")
    np.testing.assert_allclose(ds["counts"].values[..., 2], 3.0 * x * y, rtol=1e-15)
    np.testing.assert_allclose(ds["counts"].sum("counts_dim0"), 2.5 * ds["total"], rtol=1e-14)
    declared = run_scan(scan_tasks.spectrum_task, GRID, config, tmp_path / "d", tile_shape=TILE,
                        outputs={"counts": ("bin",), "total": ()})
    assert declared["counts"].dims == ("x", "y", "bin")
    with pytest.raises(ScanError, match="1 trailing dims, but 2 were declared"):
        run_scan(scan_tasks.spectrum_task, GRID, config, outputs={"counts": ("a", "b"),
                                                                  "total": ()})
    with pytest.raises(ScanError, match=r"missing \['extra'\], unexpected \[\]"):
        run_scan(scan_tasks.spectrum_task, GRID, config, outputs={"counts": ("bin",),
                                                                  "total": (), "extra": ()})
    with pytest.raises(ConfigError, match="differ from the grid axes"):
        run_scan(scan_tasks.spectrum_task, GRID, config, outputs={"counts": ("x",)})


def _interrupt_after(n_tiles: int):
    def progress(done, total):
        if done == n_tiles:
            raise KeyboardInterrupt

    return progress


def test_interrupt_saves_tiles_and_resume_computes_only_missing(tmp_path):
    log = tmp_path / "calls.log"
    config = {"scale": 1.5, "sleep": 0.0, "log": str(log)}
    store = tmp_path / "s"
    with pytest.raises(KeyboardInterrupt):
        run_scan(scan_tasks.logged_task, GRID, config, store, tile_shape=TILE,
                 progress=_interrupt_after(4))
    st = ScanStore(store)
    assert st.n_done == 4 and st.done_mask().sum() == 4
    assert st.runs[-1]["status"] == "interrupted" and st.runs[-1]["tiles_computed"] == 4
    assert not [p for p in (store / "tiles").iterdir() if p.name.endswith(".tmp")]
    first = [i for _, i in scan_tasks.read_log(log)]
    assert first == [0, 1, 2, 3]

    # a partial view while incomplete
    with pytest.raises(ScanError, match="incomplete \\(4 of 10 tiles done\\)"):
        open_scan(store)
    partial = open_scan(store, partial=True)
    done_points = partial["scan_done"].values
    assert done_points.sum() == 3 * 4 * 2 + 3 * 3 * 2  # tiles 0-3 = rows 0-5
    assert np.isnan(partial["f"].values[~done_points]).all()
    np.testing.assert_array_equal(partial["f"].values[done_points], reference()[done_points])

    ds = run_scan(scan_tasks.logged_task, GRID, config, store, resume=True)  # stored tile shape
    second = [i for _, i in scan_tasks.read_log(log)][len(first):]
    assert sorted(second) == list(range(4, 10))
    np.testing.assert_array_equal(ds["f"].values, reference())
    runs = json.loads(ds.attrs["runs"])
    assert [r["status"] for r in runs] == ["interrupted", "completed"]
    assert [r["tiles_computed"] for r in runs] == [4, 6]

    # resuming a complete scan computes nothing
    again = run_scan(scan_tasks.logged_task, GRID, config, store, resume=True)
    assert len(scan_tasks.read_log(log)) == 10
    xr.testing.assert_equal(again, ds)


def test_resume_refuses_changed_config_and_names_the_keys(tmp_path):
    store = tmp_path / "s"
    with pytest.raises(KeyboardInterrupt):
        run_scan(scan_tasks.analytic_task, GRID, CONFIG, store, tile_shape=TILE,
                 progress=_interrupt_after(2))
    changed = {"scale": 1.5, "detector": {"mass_kg": 12.0, "bins": [1, 2, 3]}, "new": "x"}
    with pytest.raises(ScanError) as info:
        run_scan(scan_tasks.analytic_task, GRID, changed, store, resume=True)
    message = str(info.value)
    assert "cannot resume the scan in" in message
    assert "detector.mass_kg: 10.0 → 12.0" in message
    assert "new: <absent> → 'x'" in message
    assert "scale" not in message.split("config (stored → given):")[1]
    assert ScanStore(store).n_done == 2  # nothing was touched


def test_resume_refuses_changed_grid_or_tile_shape(tmp_path):
    store = tmp_path / "s"
    with pytest.raises(KeyboardInterrupt):
        run_scan(scan_tasks.analytic_task, GRID, CONFIG, store, tile_shape=TILE,
                 progress=_interrupt_after(2))
    finer = Grid({"x": linear_axis(0.0, 3.0, 14), "y": GRID["y"]})
    with pytest.raises(ScanError, match="grid axis 'x': 13 pts .* → 14 pts"):
        run_scan(scan_tasks.analytic_task, finer, CONFIG, store, resume=True)
    with pytest.raises(ScanError, match=r"tile_shape \(3, 4\) → \(2, 4\)"):
        run_scan(scan_tasks.analytic_task, GRID, CONFIG, store, resume=True, tile_shape=(2, 4))
    ds = run_scan(scan_tasks.analytic_task, GRID, CONFIG, store, resume=True, tile_shape=(3, 4))
    np.testing.assert_array_equal(ds["f"].values, reference())


def test_new_scan_into_existing_store_refused_unless_overwrite(tmp_path):
    store = tmp_path / "s"
    run_scan(scan_tasks.analytic_task, GRID, CONFIG, store, tile_shape=TILE)
    with pytest.raises(ScanError, match="already holds this scan \\(10 of 10 tiles done\\)"):
        run_scan(scan_tasks.analytic_task, GRID, CONFIG, store, tile_shape=TILE)
    other = {**CONFIG, "scale": 2.0}
    with pytest.raises(ScanError, match="holds a different scan(.|\n)*scale: 1.5 → 2.0"):
        run_scan(scan_tasks.analytic_task, GRID, other, store)
    ds = run_scan(scan_tasks.analytic_task, GRID, other, store, overwrite=True)
    np.testing.assert_array_equal(ds["f"].values, reference(scale=2.0))
    assert json.loads(ds.attrs["config"])["scale"] == 2.0
    with pytest.raises(ConfigError, match="exclude each other"):
        run_scan(scan_tasks.analytic_task, GRID, other, store, overwrite=True, resume=True)


def test_resume_into_missing_store_starts_a_new_scan(tmp_path):
    ds = run_scan(scan_tasks.analytic_task, GRID, CONFIG, tmp_path / "new", resume=True)
    np.testing.assert_array_equal(ds["f"].values, reference())


def test_foreign_directory_is_never_written_or_deleted(tmp_path):
    (tmp_path / "notes.txt").write_text("precious")
    for kwargs in ({}, {"overwrite": True}, {"resume": True}):
        with pytest.raises(ScanError, match="neither empty nor a cevns scan store"):
            run_scan(scan_tasks.analytic_task, GRID, CONFIG, tmp_path, **kwargs)
    assert (tmp_path / "notes.txt").read_text() == "precious"


def test_store_has_one_writer(tmp_path):
    with store_lock(tmp_path / "s"):
        with pytest.raises(ScanError, match="being written by another process"):
            run_scan(scan_tasks.analytic_task, GRID, CONFIG, tmp_path / "s")


@pytest.mark.parametrize(
    ("task", "match"),
    [
        (scan_tasks.wrong_shape_task,
         r"task 'scan_tasks.wrong_shape_task' on tile 0 .*: output 'f' has shape \(4, 3\); its "
         r"leading dimensions must be the tile shape \(3, 4\)"),
        (scan_tasks.dtype_flip_task,
         r"task 'scan_tasks.dtype_flip_task' on tile 1 .*: output 'f' has dtype float32, "
         r"expected float64 \(fixed by the first tile\)"),
        (scan_tasks.not_a_dict_task, r"returned a ndarray; a task must return a dict"),
    ],
)
def test_bad_task_output_is_a_scan_error(tmp_path, task, match):
    with pytest.raises(ScanError, match=match):
        run_scan(task, GRID, CONFIG, tmp_path / "s", tile_shape=TILE)
    assert ScanStore(tmp_path / "s").runs[-1]["status"] == "failed"


def test_task_exception_keeps_type_and_names_the_tile(tmp_path):
    config = {"scale": 1.0, "fail_on": 3}
    with pytest.raises(ValueError, match="boom on tile 3") as info:
        run_scan(scan_tasks.failing_task, GRID, config, tmp_path / "s", tile_shape=TILE)
    assert any("scan_tasks.failing_task" in n and "tile 3 at (1, 1)" in n
               for n in info.value.__notes__)
    assert ScanStore(tmp_path / "s").done_indices() == {0, 1, 2}


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"config": {"a": object()}}, ConfigError, r"config\.a: a object"),
        ({"config": [1, 2]}, ConfigError, "config must be a mapping"),
        ({"grid": {"x": [2.0, 1.0]}}, ConfigError, "'x' must be strictly increasing"),
        ({"grid": {"x": []}}, ConfigError, "'x' is empty"),
        ({"executor": "threads"}, ConfigError,
         "unknown executor 'threads'; valid choices: dask, processes, serial"),
        ({"task": 3}, ConfigError, "not callable"),
        ({"outputs": {"x": ()}}, ConfigError, "output name 'x' is taken by a grid axis"),
    ],
)
def test_bad_arguments_fail_before_touching_the_disk(tmp_path, kwargs, error, match):
    args = {"task": scan_tasks.analytic_task, "grid": GRID, "config": CONFIG} | kwargs
    with pytest.raises(error, match=match):
        run_scan(args["task"], args["grid"], args["config"], tmp_path / "s",
                 executor=kwargs.get("executor", "serial"), outputs=kwargs.get("outputs"))
    assert not (tmp_path / "s").exists()


def test_stray_temporary_files_are_removed_on_resume(tmp_path):
    store = tmp_path / "s"
    with pytest.raises(KeyboardInterrupt):
        run_scan(scan_tasks.analytic_task, GRID, CONFIG, store, tile_shape=TILE,
                 progress=_interrupt_after(1))
    stray = store / "tiles" / f".t000005.npz.{os.getpid() + 1}.tmp"
    stray.write_bytes(b"half a tile")
    run_scan(scan_tasks.analytic_task, GRID, CONFIG, store, resume=True)
    assert not stray.exists()
    assert sorted(p.name for p in (store / "tiles").iterdir()) == [
        f"t{i:06d}.npz" for i in range(10)
    ]


@pytest.mark.parametrize(("engine", "module"), [("h5netcdf", "h5py"), ("netcdf4", "netCDF4")])
def test_export_netcdf_round_trip(tmp_path, engine, module):
    pytest.importorskip(module, reason=f"the {engine} engine needs {module}")
    ds = run_scan(scan_tasks.spectrum_task, GRID, {"bins": 3}, tmp_path / "s", tile_shape=TILE,
                  outputs={"counts": ("bin",), "total": ()})
    path = ScanStore(tmp_path / "s").export_netcdf(tmp_path / "copy.nc", engine=engine)
    back = xr.load_dataset(path, engine=engine)
    xr.testing.assert_identical(back, ds)
    assert back.attrs["config_digest"] == ds.attrs["config_digest"]
    assert json.loads(back.attrs["config"]) == {"bins": 3}


def test_netcdf_engine_falls_back_to_h5netcdf(monkeypatch):
    pytest.importorskip("h5netcdf")
    pytest.importorskip("h5py")
    real = importlib.util.find_spec
    assert netcdf_engine() == "netcdf4"  # netCDF4 is a dependency
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "netCDF4" else real(name, *a))
    assert netcdf_engine() == "h5netcdf"
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("netCDF4", "h5py") else real(name, *a))
    with pytest.raises(MissingDependencyError, match="pip install netCDF4"):
        netcdf_engine()
