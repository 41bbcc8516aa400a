"""CLI paths import only what they use (issue: a `cevns run` spent 1.7 s importing): no dask,
xarray, pyplot or scipy.stats where nothing needs them. Each case runs the CLI in a fresh
subprocess and lists the heavy modules left in ``sys.modules``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("dask", "distributed", "xarray", "matplotlib", "matplotlib.pyplot", "scipy.stats",
         "iminuit", "h5py", "netCDF4")

SCRIPT = """
import json, sys
from cevns.cli import main
commands, heavy = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for args in commands:
    sys.argv = ["cevns", *args]
    try:
        main()
    except SystemExit as exc:
        assert not exc.code, (args, exc.code)
print(json.dumps(sorted(m for m in sys.modules if m in heavy)))
"""


def _heavy_after(commands, tmp_path) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(commands), json.dumps(HEAVY)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_listing_commands_import_nothing_heavy(tmp_path):
    commands = [["--version"], ["info"], ["reproduce", "--list"], ["spectra"]]
    assert _heavy_after(commands, tmp_path) == []


@pytest.mark.slow
def test_a_run_without_figures_imports_no_matplotlib_and_no_scipy_stats(tmp_path):
    commands = [["reproduce", "--only", "table3", "--quick", "--no-figures", "--out",
                 str(tmp_path / "out")]]
    heavy = _heavy_after(commands, tmp_path)
    # xarray writes the CF files (and imports dask.array for its type checks); no figure, no
    # stats, and no dask.distributed (xarray's to_netcdf would import it: analyses/cf.py)
    assert not {"matplotlib", "matplotlib.pyplot", "scipy.stats", "iminuit",
                "distributed"} & set(heavy), heavy


@pytest.mark.slow
def test_a_run_with_its_figure_imports_no_pyplot_and_no_dask_distributed(tmp_path):
    path = Path(__file__).parents[2] / "src/cevns/analyses/shipped/table5.toml"
    heavy = _heavy_after([["run", str(path), "--executor", "serial", "--out",
                           str(tmp_path / "out")]], tmp_path)
    assert "matplotlib" in heavy  # the figure is drawn …
    assert "netCDF4" in heavy  # … and the grids written with netCDF4-python, h5py not loaded
    assert not {"matplotlib.pyplot", "scipy.stats", "iminuit", "distributed", "h5py"} & set(heavy), heavy


ERROR_SCRIPT = """
import json, sys
from cevns.cli import main
sys.argv = ["cevns", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as exc:
    assert exc.code == 2, exc.code
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "scipy")))
"""


@pytest.mark.parametrize("files", [
    {"a.toml": "x"},  # not TOML
    {"a.toml": 'schema_version = 1\nname = "a"\nkind = "events"\ndetectr = ["CsI"]\n'},  # a typo
])
def test_an_input_error_imports_no_scipy(tmp_path, files):
    """A mistake in an analysis file is reported before any scipy module is imported (they were
    ~0.4 s of the 1.0 s such an error took: the response models imported scipy.special)."""
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    proc = subprocess.run([sys.executable, "-c", ERROR_SCRIPT,
                           json.dumps(["run", "a.toml", "--out", "out"])],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "error:" in proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_a_fit_without_figures_imports_no_matplotlib_and_no_scipy_stats(tmp_path):
    """`cevns fit --no-figures` of CsI-2017 (the Poisson-PE response): no figure library, and no
    scipy.stats — its Poisson masses come from scipy.special (scipy.stats cost 0.3–2 s of each
    fit). iminuit is imported: the fit's global cross-check uses it."""
    heavy = _heavy_after([["fit", "coherent-csi-2017", "-p", "n_cevns", "--no-figures",
                           "--out", str(tmp_path / "fit")]], tmp_path)
    assert "iminuit" in heavy
    assert not {"matplotlib", "matplotlib.pyplot", "scipy.stats", "distributed"} & set(heavy), heavy
    assert not list((tmp_path / "fit").glob("*.png"))
