"""Scan API inputs the audit found ending in bare Python errors: a huge axis or grid is refused
before anything is allocated (CEVNS_MAX_GRID_BYTES), and a manifest that is valid JSON of the wrong
shape is reported as a corrupt record (ScanError)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from cevns.errors import ConfigError, ScanError
from cevns.scan import Grid, linear_axis, log_axis, run_scan
from cevns.scan.store import MANIFEST, TILES, ScanStore


def _task(config, tile):
    x, y = tile.mesh().values()
    return {"f": x * y}


@pytest.mark.parametrize("make", [linear_axis, log_axis])
def test_a_huge_axis_is_refused_before_allocation(make):
    # linear_axis(0, 1, 10**12) used to raise MemoryError (7.28 TiB)
    with pytest.raises(ConfigError, match=r"num: 1000000000000 points would need .* GiB, above "
                                          r"the limit 2 GiB \(CEVNS_MAX_GRID_BYTES\)"):
        make(1, 2, 10**12)


def test_the_axis_limit_follows_the_environment(monkeypatch):
    monkeypatch.setenv("CEVNS_MAX_GRID_BYTES", "800")
    assert linear_axis(0, 1, 100).size == 100
    with pytest.raises(ConfigError, match=r"CEVNS_MAX_GRID_BYTES"):
        linear_axis(0, 1, 101)


@pytest.mark.parametrize("raw", ["inf", "1e400"])
def test_an_infinite_limit_is_refused(monkeypatch, raw):
    # CEVNS_MAX_GRID_BYTES=inf used to end in an OverflowError (an internal error of cevns run)
    monkeypatch.setenv("CEVNS_MAX_GRID_BYTES", raw)
    with pytest.raises(ConfigError, match=r"CEVNS_MAX_GRID_BYTES='.*': must be a finite number"):
        linear_axis(0, 1, 10)


def test_a_huge_grid_is_refused_before_the_scan_starts(tmp_path):
    # a 10⁶ × 10⁶ grid used to allocate until the machine ran out of memory
    grid = Grid({"x": linear_axis(0, 1, 10**6), "y": linear_axis(0, 1, 10**6)})
    with pytest.raises(ConfigError, match=r"grid 1000000 × 1000000: 1000000000000 points"):
        run_scan(_task, grid, {}, store=tmp_path / "s")
    assert not (tmp_path / "s").exists()  # nothing created


@pytest.mark.parametrize("text", ["[]", "1", '"x"', "null"])
def test_a_manifest_of_the_wrong_shape_is_a_corrupt_record(tmp_path, text):
    # '[]' used to end in "AttributeError: 'list' object has no attribute 'get'"
    grid = Grid({"x": linear_axis(0, 1, 3), "y": [1.0, 2.0]})
    run_scan(_task, grid, {}, store=tmp_path / "s")
    (tmp_path / "s" / MANIFEST).write_text(text)
    with pytest.raises(ScanError, match=r"manifest\.json: corrupt record"):
        ScanStore(tmp_path / "s")
    with pytest.raises(ScanError, match=r"corrupt record"):
        run_scan(_task, grid, {}, store=tmp_path / "s", resume=True)


@pytest.mark.parametrize(("edit", "named"), [
    (lambda m: m.pop("grid"), "'grid' is missing"),
    (lambda m: m.pop("store_id"), "'store_id' is missing"),
    (lambda m: m.update(tile_shape="x"), "'tile_shape' is not a list"),
    (lambda m: m.update(grid=[{"name": "x"}]), "'grid' or 'tile_shape' unusable"),
    (lambda m: m.update(tile_shape=[0, 1]), "'grid' or 'tile_shape' unusable"),
])
def test_a_manifest_with_a_missing_or_bad_entry_is_a_corrupt_record(tmp_path, edit, named):
    # a manifest without 'grid' used to end in "KeyError: 'grid'" (an internal error of
    # cevns run --resume), one without 'store_id' in a KeyError when the first tile was read
    grid = Grid({"x": linear_axis(0, 1, 3), "y": [1.0, 2.0]})
    run_scan(_task, grid, {}, store=tmp_path / "s")
    manifest = json.loads((tmp_path / "s" / MANIFEST).read_text())
    edit(manifest)
    (tmp_path / "s" / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ScanError, match=rf"manifest\.json: corrupt record \({named}"):
        run_scan(_task, grid, {}, store=tmp_path / "s", resume=True)
    ds = run_scan(_task, grid, {}, store=tmp_path / "s", overwrite=True)  # the way out it names
    assert ds["f"].shape == (3, 2)


def test_a_file_above_the_store_is_named(tmp_path):
    # a file where a folder of the store path should be was a NotADirectoryError (exit 1)
    (tmp_path / "scans").write_text("not a folder")
    grid = Grid({"x": linear_axis(0, 1, 3), "y": [1.0, 2.0]})
    with pytest.raises(ScanError, match=r"scans exists and is not a directory: the scan store "
                                        r".*scans/s cannot be created under it"):
        run_scan(_task, grid, {}, store=tmp_path / "scans" / "s")
    assert (tmp_path / "scans").read_text() == "not a folder"


def _tiles_replaced_by_a_file(store: Path) -> Path:
    shutil.rmtree(store / TILES)
    (store / TILES).write_text("not a folder")
    return store / TILES


@pytest.mark.parametrize("how", [{"resume": True}, {"overwrite": True}, {}])
def test_a_file_in_place_of_the_tiles_folder_is_named(tmp_path, how):
    # resume ended in NotADirectoryError writing the first tile; overwrite deleted the manifest
    # and the result, then ended in FileExistsError; both internal errors (exit 1) of cevns run
    grid = Grid({"x": linear_axis(0, 1, 3), "y": [1.0, 2.0]})
    run_scan(_task, grid, {}, store=tmp_path / "s")
    tiles = _tiles_replaced_by_a_file(tmp_path / "s")
    with pytest.raises(ScanError, match=rf"^{re.escape(str(tiles))} is a file, not the scan "
                                        r"store's tiles folder; move it away, or delete the "
                                        rf"folder {re.escape(str(tmp_path / 's'))} to recompute"):
        run_scan(_task, grid, {}, store=tmp_path / "s", **how)
    assert (tmp_path / "s" / MANIFEST).is_file()  # nothing deleted before the refusal
    assert tiles.read_text() == "not a folder"


def test_a_file_in_place_of_the_tiles_folder_exits_2(tmp_path):
    """The same through the installed ``cevns run --resume``: exit 2, one line naming the path."""
    (tmp_path / "a.toml").write_text(textwrap.dedent("""
        schema_version = 1
        name = "tiny"
        title = "a five-point profile"
        kind = "profile"
        detectors = ["CsI"]
        scenario = { name = "sm" }
        scan = { parameter = "sin2_theta_w", start = 0.2, stop = 0.3, num = 5 }
    """))
    from installed import CEVNS  # the environment's installed command

    command = [*CEVNS, "run", "a.toml", "--out", "out", "--executor", "serial", "--no-figures"]
    first = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    (store,) = (tmp_path / "out" / "scans").iterdir()
    tiles = _tiles_replaced_by_a_file(store)
    res = subprocess.run([*command, "--resume"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    assert f"error: {tiles.relative_to(tmp_path)} is a file, not the scan store's tiles" in res.stderr
