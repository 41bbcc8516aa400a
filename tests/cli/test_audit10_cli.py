"""Command-line follow-ups of the tenth audit (installed ``cevns``, as a user runs it): one writer
per output folder, no claim before the executor is reached, short configuration differences,
a lost scan manifest names its remedy, ``info --json`` shows the thresholds of the text table."""

from __future__ import annotations

import fcntl
import json
import re
from pathlib import Path

import pytest
from test_audit8_cli import EXCLUSION
from test_output_safety import _refused, cevns  # the same subprocess helpers

ROOT = Path(__file__).resolve().parents[2]


def _hold_lock(folder: Path, pid: int = 4242):
    """Hold the writer's lock of ``folder`` as another process would (its pid in ``.lock``)."""
    folder.mkdir(parents=True, exist_ok=True)
    fh = open(folder / ".lock", "a+")
    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    fh.write(str(pid))
    fh.flush()
    return fh


def test_reproduce_into_a_folder_being_written_is_refused(tmp_path):
    out = tmp_path / "rp"
    fh = _hold_lock(out / "quick")
    try:
        res = cevns("reproduce", "--only", "events", "--quick", "--out", out, "--executor",
                    "serial", "--no-figures")
        _refused(res, "being written by another process (pid 4242)", str(out / "quick"))
        assert not (out / "quick" / "index.json").exists()
        assert not (out / "quick" / "events").exists()
    finally:
        fh.close()
    # the lock of a process that is gone (its file left behind) is taken over, and released
    res = cevns("reproduce", "--only", "events", "--quick", "--out", out, "--executor",
                "serial", "--no-figures")
    assert res.returncode == 0, res.stderr
    assert list(json.loads((out / "quick" / "index.json").read_text())) == ["events"]
    assert not (out / "quick" / ".lock").exists()


def test_run_into_a_folder_being_written_is_refused(tmp_path):
    (tmp_path / "ex.toml").write_text(EXCLUSION)
    out = tmp_path / "o"
    fh = _hold_lock(out)
    try:
        res = cevns("run", tmp_path / "ex.toml", "--out", out, "--executor", "serial",
                    "--no-figures", "--force")
        _refused(res, "being written by another process (pid 4242)")
        assert sorted(p.name for p in out.iterdir()) == [".lock"]  # nothing claimed or written
    finally:
        fh.close()


def test_fit_into_a_folder_being_written_is_refused(tmp_path):
    # cevns fit takes the same lock as run and reproduce: before, a fit went on writing into a
    # folder another command was writing
    out = tmp_path / "f"
    fh = _hold_lock(out)
    try:
        res = cevns("fit", "coherent-csi-2021", "-p", "n_cevns", "--out", out, "--no-figures")
        _refused(res, "being written by another process (pid 4242)")
        assert sorted(p.name for p in out.iterdir()) == [".lock"]  # nothing claimed or written
    finally:
        fh.close()


def test_unreachable_scheduler_claims_no_folder(tmp_path):
    (tmp_path / "ex.toml").write_text(EXCLUSION)
    out = tmp_path / "exE"
    res = cevns("run", tmp_path / "ex.toml", "--out", out, "--scheduler", "tcp://127.0.0.1:1",
                "--no-figures")
    _refused(res, "cannot reach the dask scheduler")
    assert not (out / "config.json").exists()


def test_different_configuration_is_summarised_compactly(tmp_path):
    (tmp_path / "ex.toml").write_text(EXCLUSION)
    (tmp_path / "ex2.toml").write_text(EXCLUSION.replace('detectors = ["CsI"]',
                                                         'detectors = ["CsI", "Ge", "Xe"]'))
    out = tmp_path / "o"
    res = cevns("run", tmp_path / "ex.toml", "--out", out, "--executor", "serial", "--no-figures")
    assert res.returncode == 0, res.stderr
    res = cevns("run", tmp_path / "ex2.toml", "--out", out, "--executor", "serial",
                "--no-figures")
    _refused(res, "different configuration", "detector added: Ge, Xe", "--force")
    assert len(res.stderr.strip()) < 500, res.stderr


def test_lost_scan_manifest_names_the_remedy(tmp_path):
    (tmp_path / "ex.toml").write_text(EXCLUSION)
    out = tmp_path / "o"
    res = cevns("run", tmp_path / "ex.toml", "--out", out, "--executor", "serial", "--no-figures")
    assert res.returncode == 0, res.stderr
    for manifest in (out / "scans").glob("*/manifest.json"):
        manifest.unlink()
    for flag in ("--force", "--resume"):
        res = cevns("run", tmp_path / "ex.toml", "--out", out, "--executor", "serial",
                    "--no-figures", flag)
        _refused(res, "neither empty nor a cevns scan store", "delete the folder")


def _tutorial_presets(tmp_path: Path) -> Path:
    text = (ROOT / "docs" / "tutorial_any_experiment.md").read_text(encoding="utf-8")
    body = re.search(r"```toml\n# file: my_experiments.toml\n(.*?)```", text, flags=re.S)
    path = tmp_path / "my_experiments.toml"
    path.write_text(body.group(1), encoding="utf-8")
    return path


def test_info_json_shows_the_threshold_of_response_table_detectors(tmp_path):
    presets = _tutorial_presets(tmp_path)
    res = cevns("info", "--json", "--presets", presets)
    assert res.returncode == 0, res.stderr
    detectors = {d["name"]: d for d in json.loads(res.stdout)["detectors"]}
    text = cevns("info", "--presets", presets).stdout
    row = next(line for line in text.splitlines() if "│ GeMini " in line)
    cells = [c.strip() for c in row.split("│")]
    gemini = detectors["GeMini"]
    assert gemini["threshold_keVnr"] is None  # the definition as given: a response table
    assert f"{gemini['threshold_keVnr_equivalent']:.4g}" == cells[4] == "6.628"
    assert gemini["n_bins"] == int(cells[8]) == 17
    for d in detectors.values():
        assert d["threshold_keVnr_equivalent"] > 0 and d["n_bins"] > 0, d["name"]


@pytest.fixture(autouse=True)
def _no_presets_env(monkeypatch):
    monkeypatch.delenv("CEVNS_PRESETS", raising=False)


def test_spectra_uses_the_detectors_default_source(tmp_path):
    presets = _tutorial_presets(tmp_path)
    res = cevns("spectra", "--presets", presets, "-d", "GeMini", "--json")
    assert res.returncode == 0, res.stderr
    given = cevns("spectra", "--presets", presets, "-d", "GeMini", "--source", "SNS-GeMini",
                  "--json")
    assert json.loads(res.stdout) == json.loads(given.stdout)
    res = cevns("spectra", "--presets", presets, "-d", "GeMini", "-d", "CsI")
    _refused(res, "different default sources", "GeMini: SNS-GeMini", "CsI: ess", "--source")
    # the built-in detectors keep the ESS
    assert (json.loads(cevns("spectra", "-d", "CsI", "--json").stdout)
            == json.loads(cevns("spectra", "-d", "CsI", "--source", "ess", "--json").stdout))


def test_spectra_shows_small_counts_as_numbers_not_zero(tmp_path):
    # a count below 0.05 printed as 0.0, like no event at all
    res = cevns("spectra", "-d", "Ar", "--run-years", "1e-9", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    row = next(line for line in res.stdout.splitlines() if "Ar" in line and "│" in line)
    cells = [c.strip() for c in row.split("│") if c.strip()]
    assert all("e-0" in c for c in cells[2:]), cells  # 2.94e-07 …, not 0.0


def test_reproduce_list_refuses_options_it_would_ignore(tmp_path):
    # --out, --force, --quick, … were dropped silently with --list (rc 0)
    res = cevns("reproduce", "--list", "--out", "elsewhere", "--quick", "--force", cwd=tmp_path)
    _refused(res, "--list only lists the items", "--out, --force, --quick would change nothing")
    assert not (tmp_path / "elsewhere").exists()
    ok = cevns("reproduce", "--list", "--only", "fig1", cwd=tmp_path)
    assert ok.returncode == 0 and ok.stdout.startswith("fig1")
