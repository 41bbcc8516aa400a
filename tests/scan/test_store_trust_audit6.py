"""Audit 6 (A6, C2, D4): the scan store checks its tiles against what the scan produced, and a
refused resume says in one line what differs and what to do.

* A6: a manifest whose output dtype was edited (``<f8`` → ``<i8``) made ``--resume`` read the
  float tiles as integers (χ² truncated, exit 0); every tile's arrays are now checked against
  the manifest's outputs (names, dtype, tile shape + trailing shape): a :class:`ScanError`
  naming the tile file, before a resume computes anything.
* C2: a tile of the wrong shape, or a manifest whose output shape was edited, gave a raw
  ``ValueError`` (exit 1): now a ScanError naming the tile file (or the manifest) and the shapes.
* D4: the refusal of ``--resume`` after the manifest's grid changed was three lines showing two
  identical summaries and an API hint to a command-line user: now one line naming the value
  that differs and the command-line and API ways out.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scan_tasks

from cevns.errors import ScanError
from cevns.scan import Grid, ScanStore, linear_axis, open_scan, run_scan

GRID = Grid({"x": linear_axis(0.0, 3.0, 6), "y": linear_axis(1.0, 2.0, 4)})
TILE = (3, 4)  # two tiles
CONFIG = {"scale": 1.5}

CLI = [sys.executable, "-m", "cevns.cli"]

PROFILE = """schema_version = 1
name = "p"
title = "audit 6 store"
kind = "profile"
detectors = ["CsI"]
scenario = { name = "sm" }
scan = { parameter = "sin2_theta_w", start = 0.18, stop = 0.30, num = 5 }
"""


def _store(tmp_path: Path, complete: bool = True) -> Path:
    """A store of :data:`GRID` (both tiles done, or only tile 0)."""
    path = tmp_path / "s"
    progress = None
    if not complete:
        def progress(done, total):
            if done == 1:
                raise KeyboardInterrupt
    try:
        run_scan(scan_tasks.analytic_task, GRID, CONFIG, path, tile_shape=TILE, progress=progress)
    except KeyboardInterrupt:
        pass
    (path / "result.nc").unlink(missing_ok=True)  # read the tiles, not the consolidated file
    return path


def _edit_manifest(path: Path, edit) -> None:
    manifest = json.loads((path / "manifest.json").read_text())
    edit(manifest)
    (path / "manifest.json").write_text(json.dumps(manifest))


def _rewrite_tile(path: Path, index: int, edit) -> Path:
    tile = path / "tiles" / f"t{index:06d}.npz"
    with np.load(tile) as data:
        arrays = {name: data[name] for name in data.files}
    edit(arrays)
    with open(tile, "wb") as fh:
        np.savez(fh, **arrays)
    return tile


def _set(manifest, output, key, value):
    manifest["outputs"][output][key] = value


# -- A6 / C2: tiles against the manifest ------------------------------------------------------


def test_manifest_dtype_edited_to_integer_is_refused_not_truncated(tmp_path):
    path = _store(tmp_path)
    _edit_manifest(path, lambda m: _set(m, "f", "dtype", "<i8"))
    tile = str(path / "tiles" / "t000000.npz")
    for read in (lambda: open_scan(path), lambda: run_scan(
            scan_tasks.analytic_task, GRID, CONFIG, path, resume=True)):
        with pytest.raises(ScanError) as info:
            read()
        message = str(info.value)
        assert tile in message and "'f'" in message and "float64" in message
        assert "int64" in message and "\n" not in message


def test_tile_of_the_wrong_shape_is_a_scan_error_naming_the_tile(tmp_path):
    path = _store(tmp_path)
    tile = _rewrite_tile(path, 1, lambda a: a.update(f=a["f"][:, :-1]))
    with pytest.raises(ScanError, match=r"t000001\.npz.*'f'.*shape \(3, 3\).*\(3, 4\)") as info:
        open_scan(path)
    assert str(tile) in str(info.value)
    # on resume it is refused before anything is computed, and nothing is deleted
    with pytest.raises(ScanError, match=r"t000001\.npz"):
        run_scan(scan_tasks.analytic_task, GRID, CONFIG, path, resume=True)
    assert ScanStore(path).done_indices() == {0, 1}


@pytest.mark.parametrize(("edit", "message"), [
    (lambda m: _set(m, "f", "shape", [2]), r"manifest\.json.*'outputs'\['f'\]\.shape \[2\]"),
    (lambda m: (_set(m, "f", "shape", [2]), _set(m, "f", "dims", ["bin"])),
     r"t000000\.npz.*'f'.*shape \(3, 4\).*\(3, 4, 2\)"),
    (lambda m: _set(m, "f", "dtype", "xyz"), r"manifest\.json.*'outputs'\['f'\]\.dtype 'xyz'"),
    (lambda m: _set(m, "n", "dtype", "<U3"), r"'outputs'\['n'\]\.dtype '<U3'"),
    (lambda m: m.update(outputs=None), r"t000000\.npz exists.*records no outputs"),
    (lambda m: m["outputs"].pop("n"), r"t000000\.npz.*holds output 'n'"),
    (lambda m: m["outputs"].update(g=dict(m["outputs"]["f"])),
     r"t000000\.npz \(tile 0\) lacks output 'g'.*recompute the scan"),
], ids=["shape", "shape-and-dims", "dtype-garbage", "dtype-text", "no-outputs", "output-dropped",
        "output-added"])
def test_edited_manifest_outputs_are_scan_errors(tmp_path, edit, message):
    path = _store(tmp_path)
    _edit_manifest(path, edit)
    with pytest.raises(ScanError, match=message):
        open_scan(path)


def test_partial_store_with_a_retyped_tile_is_refused_before_computing(tmp_path):
    path = _store(tmp_path, complete=False)
    assert ScanStore(path).done_indices() == {0}
    _rewrite_tile(path, 0, lambda a: a.update(n=a["n"].astype(np.float64)))
    with pytest.raises(ScanError, match=r"t000000\.npz.*'n'.*float64.*int64"):
        run_scan(scan_tasks.analytic_task, GRID, CONFIG, path, resume=True)
    assert ScanStore(path).done_indices() == {0}  # tile 1 was not computed
    ds = run_scan(scan_tasks.analytic_task, GRID, CONFIG, path, overwrite=True)  # the way out
    assert ds["n"].dtype == np.int64


# -- D4: the refusal of a resume after the stored grid changed ----------------------------------


def test_grid_value_changed_in_the_manifest_is_named_in_one_line(tmp_path):
    path = _store(tmp_path)
    _edit_manifest(path, lambda m: m["grid"][0]["values"].__setitem__(2, 1.25))
    with pytest.raises(ScanError) as info:
        run_scan(scan_tasks.analytic_task, GRID, CONFIG, path, resume=True)
    message = str(info.value)
    assert "\n" not in message, message
    assert "axis 'x': value [2] is 1.25 in the store, 1.2 in this run" in message
    assert "--resume" in message and "--force" in message and "overwrite=True" in message


# -- the same through the command line ---------------------------------------------------------


def _cevns(*args, cwd):
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished ``cevns run`` of :data:`PROFILE` (one scan store of one tile)."""
    root = tmp_path_factory.mktemp("audit6_store")
    (root / "p.toml").write_text(PROFILE)
    res = _cevns("run", "p.toml", "--out", "o1", "--executor", "serial", "--no-figures",
                 cwd=root)
    assert res.returncode == 0, res.stderr
    return root


def _damaged_copy(root: Path, name: str) -> tuple[Path, Path]:
    out = root / name
    shutil.copytree(root / "o1", out)
    (store,) = (out / "scans").iterdir()
    return out, store


def _refused_resume(root: Path, out: Path):
    res = _cevns("run", "p.toml", "--out", out.name, "--resume", "--executor", "serial",
                 "--no-figures", cwd=root)
    assert res.returncode == 2, (res.returncode, res.stderr)
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in res.stderr, res.stderr
    return errors[0]


def test_cli_resume_over_a_retyped_manifest_output_is_refused(finished_run):
    out, store = _damaged_copy(finished_run, "retyped")
    before = (out / "p_profile_CsI.csv").read_text()
    _edit_manifest(store, lambda m: _set(m, "CsI", "dtype", "<i8"))
    line = _refused_resume(finished_run, out)
    assert "t000000.npz" in line and "'CsI'" in line and "int64" in line, line
    assert (out / "p_profile_CsI.csv").read_text() == before  # no truncated table written


def test_cli_resume_over_a_tile_of_the_wrong_shape_is_refused(finished_run):
    out, store = _damaged_copy(finished_run, "reshaped")
    _rewrite_tile(store, 0, lambda a: a.update(CsI=a["CsI"][:-1]))
    line = _refused_resume(finished_run, out)
    assert "t000000.npz" in line and "shape (4,)" in line and "(5,)" in line, line


def test_cli_resume_after_a_grid_edit_says_what_differs_and_what_to_do(finished_run):
    out, store = _damaged_copy(finished_run, "regridded")
    _edit_manifest(store, lambda m: m["grid"][0]["values"].__setitem__(2, 0.245))
    line = _refused_resume(finished_run, out)
    assert "value [2] is 0.245 in the store, 0.24 in this run" in line, line
    assert "without --resume" in line and "--force" in line and "--out" in line, line
