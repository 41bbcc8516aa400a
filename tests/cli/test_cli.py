"""The command line: the main job, the spectra table, and clear errors for bad input."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from cevns.cli import app
from cevns.rates import sm_spectrum

runner = CliRunner()


def cevns(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "cevns", *args], capture_output=True,
                          text=True, cwd=cwd)


def test_reproduce_events_matches_library(tmp_path):
    res = cevns("reproduce", "--only", "events", "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr
    with (tmp_path / "events" / "events.csv").open() as fh:
        rows = {r["detector"]: r for r in csv.DictReader(fh)}
    assert set(rows) == {"CsI", "Xe", "Ge", "Si", "Ar", "C3F8"}
    for name, row in rows.items():
        assert float(row["signal"]) == pytest.approx(sm_spectrum(name).total_signal, abs=0.006)
    prov = json.loads((tmp_path / "events" / "provenance.json").read_text())
    assert prov["files"] == ["events.csv", "events.md"] and prov["digest"]
    assert "events" in (tmp_path / "index.md").read_text()


def test_reproduce_fig1_writes_png_only_by_default(tmp_path):
    res = cevns("reproduce", "--only", "fig1", "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "fig1" / "fig1.png").stat().st_size > 5000
    assert not (tmp_path / "fig1" / "fig1.pdf").exists()  # PDF only on request (RunOptions.pdf)


def test_reproduce_list_names_items():
    res = runner.invoke(app, ["reproduce", "--list"])
    assert res.exit_code == 0
    assert "fig1" in res.output and "events" in res.output


def test_unknown_item_lists_valid_ones(tmp_path):
    res = cevns("reproduce", "--only", "fig99", "--out", str(tmp_path))
    assert res.returncode == 2
    assert "unknown reproduce item 'fig99'" in res.stderr and "fig1" in res.stderr


def test_unknown_detector_in_spectra():
    res = cevns("spectra", "--detector", "NaI")
    assert res.returncode == 2 and "valid choices" in res.stderr and "Traceback" not in res.stderr


def test_negative_years_rejected():
    res = cevns("spectra", "--years", "-1")
    assert res.returncode == 2 and "--run-years" in res.stderr


def test_spectra_table_and_csv(tmp_path):
    out = tmp_path / "csi.csv"
    res = cevns("spectra", "-d", "CsI", "--years", "1", "--csv", str(out))
    assert res.returncode == 0, res.stderr
    assert "CsI" in res.stdout
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 20
    total = sum(float(r["signal"]) for r in rows)
    assert total == pytest.approx(sm_spectrum("CsI", run_years=1).total_signal, rel=1e-9)


def test_output_folder_of_other_config_refused(tmp_path):
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "provenance.json").write_text('{"digest": "0000"}')
    res = cevns("reproduce", "--only", "events", "--out", str(tmp_path))
    assert res.returncode == 2 and "different configuration" in res.stderr
    # the advice offered must work: --resume is refused for a changed configuration, so the
    # message offers --force or another folder, and says what --resume does (it said "or --resume")
    assert "use --force to overwrite them or choose another --out" in res.stderr
    assert "or --resume" not in res.stderr
    resumed = cevns("reproduce", "--only", "events", "--out", str(tmp_path), "--resume")
    assert resumed.returncode == 2 and "cannot resume" in resumed.stderr
    res = cevns("reproduce", "--only", "events", "--out", str(tmp_path), "--force")
    assert res.returncode == 0


def test_info_runs():
    res = runner.invoke(app, ["info"])
    assert res.exit_code == 0 and "0.23857" in res.output
