"""Follow-ups of the tenth audit in the library and the records: the wall time of an analysis
run on a process pool includes its tiles, a scan refused in a user's folder leaves no lock file
there and names the remedy."""

from __future__ import annotations

import glob
import json
import subprocess

import numpy as np
import pytest
from installed import CEVNS  # the environment's installed command

from cevns.errors import ScanError
from cevns.scan import Grid, linear_axis, run_scan

EXCLUSION = """schema_version = 1
name = "ex"
title = "test"
kind = "exclusion"
detectors = ["CsI"]
level = "90cl_2dof"

[scenario]
name = "upscattering"
options = { interaction = "A", beyond_reach = "no-signal" }

[x]
parameter = "mediator_mass_MeV"
start = 0.1
stop = 1000.0
num = 40
spacing = "log"

[y]
parameter = "coupling"
start = 1e-7
stop = 1e-1
num = 60
spacing = "log"

[[variants]]
label = "m4 = 0.5 mX"
ties = { sterile_mass_MeV = { to = "mediator_mass_MeV", ratio = 0.5 } }
"""


def test_wall_time_on_a_process_pool_includes_the_tiles(tmp_path):
    (tmp_path / "ex.toml").write_text(EXCLUSION)
    out = tmp_path / "o"
    res = subprocess.run([*CEVNS, "run", str(tmp_path / "ex.toml"), "--out", str(out),
                          "--executor", "processes", "--workers", "2", "--no-figures"],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    wall = json.loads((out / "provenance.json").read_text())["wall_time_s"]
    scans = [run["wall_time_s"] for m in glob.glob(str(out / "scans" / "*" / "manifest.json"))
             for run in json.loads(open(m).read())["runs"]]
    assert scans and wall >= max(scans), (wall, scans)
    assert f"done in {wall:.1f} s" in res.stderr


def _task(config, tile):
    x, y = tile.mesh().values()
    return {"f": x + y}


def test_scan_refused_in_a_user_folder_leaves_no_lock_file(tmp_path):
    (tmp_path / "notes.txt").write_text("precious")
    grid = Grid({"x": linear_axis(0.0, 1.0, 3), "y": linear_axis(0.0, 1.0, 2)})
    for kwargs in ({}, {"overwrite": True}, {"resume": True}):
        with pytest.raises(ScanError, match="neither empty nor a cevns scan store.*delete the "
                                            "folder"):
            run_scan(_task, grid, {"a": 1}, tmp_path, **kwargs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    assert np.all(run_scan(_task, grid, {"a": 1}, tmp_path / "new")["f"].values >= 0)
