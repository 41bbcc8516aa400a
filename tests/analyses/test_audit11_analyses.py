"""Audit 11: the options of :func:`cevns.analyses.run_analysis`, netCDF results written
atomically, and output folders that a failed run claimed without writing anything.

A. ``RunOptions`` checked nothing: ``force="no"`` (a true string) overwrote the results of
   another configuration, ``resume=True, force=True`` ran although the command line refuses the
   pair, ``executor="thread"`` failed only when the first scan ran, and ``run_analysis(a, 5,
   options)`` / options given as a dict ended in a bare TypeError / AttributeError. Each is now a
   ConfigError naming the field or argument, when the options are made.
B. The netCDF results (``cf.write_dataset``, ``bestfit.write_scan_netcdf``) were written straight
   onto their final name: a writer that failed half-way left a truncated file where a good one
   had been, and a reader holding the file open made HDF5 refuse the write ("Permission
   denied"). They are written under a temporary name and renamed now.
C. A folder that holds nothing but the ``config.json`` of a claim (the run failed before it
   wrote anything) is free for another configuration; one with anything of a run (scan tiles,
   an output, a record, a user's file) is still protected.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib

import numpy as np
import pytest
import xarray as xr

from cevns.analyses import RunOptions, parse_analysis, run_analysis
from cevns.errors import ConfigError

EVENTS = """schema_version = 1
name = "ev"
title = "events"
kind = "event-table"
detectors = ["{detector}"]
"""


def _events(detector: str = "Si"):
    return parse_analysis(tomllib.loads(EVENTS.format(detector=detector)), where="ev.toml")


# -- A: RunOptions and the arguments of run_analysis ---------------------------------------------

@pytest.mark.parametrize(("kwargs", "words"), [
    ({"force": "no"}, "RunOptions.force must be True or False, got str 'no'"),
    ({"resume": 1}, "RunOptions.resume must be True or False, got int 1"),
    ({"quick": "yes"}, "RunOptions.quick must be True or False"),
    ({"pdf": None}, "RunOptions.pdf must be True or False, got NoneType None"),
    ({"no_figures": np.array([True, False])}, "RunOptions.no_figures must be True or False"),
    ({"resume": True, "force": True},
     "resume=True continues the results in the folder, force=True replaces them: give one of them"),
    ({"pdf": True, "no_figures": True}, "no_figures=True writes no figure: give one of them"),
    ({"executor": "thread"}, "RunOptions.executor: unknown executor 'thread'"),
    ({"executor": {"name": "processes", "max_workers": 0}},
     "RunOptions.executor: max_workers = 0; expected an int from 1"),
    ({"executor": {"name": "processes", "max_workers": True}},
     "RunOptions.executor: max_workers = True"),
    ({"executor": {"name": "processes", "workers": 2}},
     "executor 'processes' has no option(s) ['workers']"),
    ({"executor": {"max_workers": 2}}, "has no 'name'"),
    ({"executor": None}, "RunOptions.executor: cannot make an executor from None"),
    ({"progress": "bar"}, "RunOptions.progress must be a function called as progress(label"),
    ({"on_figure": 1}, "RunOptions.on_figure must be a function"),
    ({"extra": None}, "RunOptions.extra must be a dict, got NoneType None"),
], ids=lambda v: None)
def test_run_options_are_checked_when_made(kwargs, words):
    # guards: a wrong option is refused at once, naming the field, instead of being read as a
    # flag ("no" is true) or failing when the first scan runs (the old RunOptions took anything)
    with pytest.raises(ConfigError) as info:
        RunOptions(**kwargs)
    assert words in str(info.value)


def test_run_options_take_every_executor_the_scan_layer_takes(tmp_path):
    # guards: the check accepts what cevns.scan.make_executor accepts (names, an address, a spec
    # mapping, executor objects, numpy booleans as flags), and a run with an executor object
    # writes its provenance record (it failed at the end: the object is not JSON)
    from cevns.scan import ProcessExecutor, SerialExecutor

    for executor in ("serial", "processes", "dask", "tcp://127.0.0.1:8786",
                     {"name": "processes", "max_workers": 2}, ProcessExecutor(max_workers=1)):
        assert RunOptions(executor=executor).executor is executor
    assert RunOptions(force=np.True_, quick=np.False_).force
    record = run_analysis(_events(), tmp_path / "o",
                          RunOptions(executor=SerialExecutor(), no_figures=True))
    assert record["executor"] == "serial"
    assert json.loads((tmp_path / "o" / "provenance.json").read_text())["executor"] == "serial"


@pytest.mark.parametrize(("out", "options", "words"), [
    (5, None, "run_analysis: out_dir must be a folder path (str or pathlib.Path), got int 5"),
    ("", None, "run_analysis: out_dir: empty path"),
    ("o", {"force": True}, "run_analysis: options must be a cevns.analyses.RunOptions or None, "
                           "got dict"),
    ("o", {}, "RunOptions(**options) makes them from a dict"),
    ("o", "quick", "got str 'quick'"),
], ids=["int-out", "empty-out", "dict-options", "empty-dict", "str-options"])
def test_run_analysis_checks_its_arguments(tmp_path, monkeypatch, out, options, words):
    # guards: run_analysis(a, 5, opts) was a bare TypeError, a dict of options an
    # AttributeError, and {} (falsy) ran with the default options; nothing is written
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        run_analysis(_events(), out, options)
    assert words in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_run_analysis_checks_an_analysis_and_options_changed_after_they_were_made(tmp_path):
    # guards: a name given for the analysis was an AttributeError; a field set after the
    # options were made (force = "no") is checked again by run_analysis before anything runs
    with pytest.raises(ConfigError, match="run_analysis: analysis must be an analysis"):
        run_analysis("fig6", tmp_path / "a")
    options = RunOptions(no_figures=True)
    options.force = "no"
    with pytest.raises(ConfigError, match="RunOptions.force must be True or False"):
        run_analysis(_events(), tmp_path / "b", options)
    assert list(tmp_path.iterdir()) == []


def test_a_true_string_does_not_force_over_another_configuration(tmp_path):
    # guards the audit's case: force="no" overwrote the results of another configuration
    out = tmp_path / "o"
    run_analysis(_events("Si"), out, RunOptions(no_figures=True))
    before = (out / "config.json").read_text()
    with pytest.raises(ConfigError, match="RunOptions.force"):
        run_analysis(_events("Ge"), out, RunOptions(no_figures=True, force="no"))
    assert (out / "config.json").read_text() == before


# -- B: netCDF results replace the earlier file only when complete --------------------------------

def _sample(scale: float = 1.0) -> xr.Dataset:
    return xr.Dataset({"chi2": (("x", "y"), scale * np.arange(12.0).reshape(3, 4), {"units": "1"})},
                      coords={"x": [0.1, 0.2, 0.3], "y": np.arange(4.0)},
                      attrs={"title": "t", "best_x": float("nan")})


def _load(path) -> xr.Dataset:
    return xr.load_dataset(path, engine="netcdf4")


def test_a_failing_netcdf_write_keeps_the_earlier_file(tmp_path):
    # guards: a writer failing half-way (here an attribute netCDF cannot store: the file is
    # created before the error) left a truncated file in place of the good one
    from cevns.analyses.cf import write_dataset

    path = tmp_path / "r.nc"
    assert write_dataset(_sample(), path) == path
    xr.testing.assert_identical(_load(path), _sample())  # the round trip
    bad = _sample(2.0)
    bad.attrs["cannot"] = {"be": "stored"}
    with pytest.raises(TypeError, match="illegal data type for attribute"):
        write_dataset(bad, path)
    xr.testing.assert_identical(_load(path), _sample())
    assert [p.name for p in tmp_path.iterdir()] == ["r.nc"]
    write_dataset(_sample(3.0), path)
    xr.testing.assert_identical(_load(path), _sample(3.0))
    assert [p.name for p in tmp_path.iterdir()] == ["r.nc"]


def test_an_interrupted_best_fit_scan_write_keeps_the_earlier_file(tmp_path, monkeypatch):
    # guards: bestfit.write_scan_netcdf wrote onto its final name as well (analyses/bestfit.py)
    import cevns.scan.store as store
    from cevns.analyses.bestfit import write_scan_netcdf
    from cevns.stats import Scan2D

    x, y = np.linspace(-1, 1, 21), np.linspace(-1, 1, 11)
    xx, yy = np.meshgrid(x, y, indexing="ij")
    path = tmp_path / "s.nc"
    write_scan_netcdf(Scan2D(x, y, xx**2 + yy**2, x_name="a", y_name="b"), path)
    before = path.read_bytes()
    written = store.write_netcdf

    def interrupted(ds, target, engine=None):
        written(ds, target, engine)
        with open(target, "r+b") as fh:  # half of the file is on disk when Ctrl-C comes
            fh.truncate(100)
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "write_netcdf", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_scan_netcdf(Scan2D(x, y, 2 * (xx**2 + yy**2), x_name="a", y_name="b"), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["s.nc"]
    np.testing.assert_allclose(Scan2D.from_netcdf(path).chi2, xx**2 + yy**2)


def test_a_netcdf_result_held_open_by_another_process_is_replaced(tmp_path):
    # guards: while another process held the .nc open (a notebook reading it), the rerun failed
    # with "cannot write …: Permission denied" (HDF5's file lock), naming the wrong cause
    pytest.importorskip("netCDF4")
    from cevns.analyses.cf import write_dataset

    path = tmp_path / "r.nc"
    write_dataset(_sample(), path)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time, netCDF4; d = netCDF4.Dataset(sys.argv[1]); "
         "print('open', flush=True); time.sleep(60)", str(path)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        write_dataset(_sample(2.0), path)
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    xr.testing.assert_identical(_load(path), _sample(2.0))
    assert [p.name for p in tmp_path.iterdir()] == ["r.nc"]


# -- C: a folder a failed run only claimed --------------------------------------------------------

def test_a_folder_holding_only_a_claim_is_free_and_one_with_results_is_not(tmp_path):
    # guards: a run that failed after claiming its folder left config.json alone, and a run of
    # another configuration (or another command) into it was refused as "a different
    # configuration … use --force"; a folder holding anything of a run still needs --force
    from cevns.provenance import claim_output_folder
    from cevns.scan import Grid, ScanStore

    si, ge = _events("Si"), _events("Ge")
    for claimed_by in (si.model_dump(mode="json"),  # another configuration of the same command
                       {"command": "fit", "release": "coherent-csi-2017"}):  # another command
        out = tmp_path / f"claimed-{len(claimed_by)}"
        claim_output_folder(out, claimed_by)
        (out / ".lock").write_text("")  # the writer's lock file may stay beside the claim
        record = run_analysis(ge, out, RunOptions(no_figures=True))
        assert "ev.csv" in record["files"]
        assert json.loads((out / "config.json").read_text())["detectors"] == ["Ge"]
    # anything beside the claim: a resumable scan store, a partial output, a user's file
    resumable = tmp_path / "scanned"
    claim_output_folder(resumable, si.model_dump(mode="json"))
    ScanStore.create(resumable / "scans" / "s1", config={"a": 1}, grid=Grid({"x": np.arange(3.0)}),
                     tile_shape=(1,), task="t")  # the store of an interrupted scan
    partial = tmp_path / "partial"
    claim_output_folder(partial, si.model_dump(mode="json"))
    (partial / "ev.csv").write_text("half\n")
    mine = tmp_path / "mine"
    claim_output_folder(mine, si.model_dump(mode="json"))
    (mine / "notes.txt").write_text("mine\n")
    for out in (resumable, partial, mine):
        with pytest.raises(ConfigError, match="different configuration"):
            run_analysis(ge, out, RunOptions(no_figures=True))
        with pytest.raises(ConfigError, match="cannot resume, the configuration changed"):
            run_analysis(ge, out, RunOptions(no_figures=True, resume=True))
        assert json.loads((out / "config.json").read_text())["detectors"] == ["Si"]
    assert (partial / "ev.csv").read_text() == "half\n"


def test_quick_never_computes_more_points_than_the_full_grid():
    # --quick took max(11, num // 4) points: an axis of 3 points became 11 under --quick
    from cevns.analyses.sensitivity.schema import AxisSpec

    small = AxisSpec(parameter="sin2_theta_w", start=0.2, stop=0.3, num=3)
    assert small.grid(quick=True).size == 3 == small.grid().size
    big = AxisSpec(parameter="sin2_theta_w", start=0.2, stop=0.3, num=200)
    assert big.grid(quick=True).size == 50 and big.grid().size == 200
    assert AxisSpec(parameter="sin2_theta_w", start=0.2, stop=0.3, num=20).grid(True).size == 11
