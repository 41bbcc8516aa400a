"""The command line as a Unix tool: help, version, JSON output, exact CSV targets, output folders
that recover, errors that never become tracebacks, and Ctrl-C/SIGTERM giving exit 130 + resume."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from installed import CEVNS  # the environment's installed command

from cevns import cli, fsio
from cevns.errors import OutputError


def cevns(*args, cwd=None, env=None):
    return subprocess.run([*CEVNS, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=600)


def run_main(argv, capsys):
    """``cevns.cli.main`` in-process: (exit status, stdout, stderr)."""
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


# -- help, version, exit codes -------------------------------------------------------------------

def test_version_and_help_exit_zero():
    import cevns as pkg

    res = cevns("--version")
    assert res.returncode == 0 and res.stdout.strip() == f"cevns {pkg.__version__}"
    for args in (["-h"], ["--help"], ["spectra", "-h"], ["run", "--help"], ["reproduce", "-h"],
                 ["fit", "-h"], ["info", "-h"]):
        res = cevns(*args)
        assert res.returncode == 0, (args, res.stderr)
        assert "Usage" in res.stdout and "Traceback" not in res.stderr


def test_help_has_examples_exit_codes_and_shared_executor_options(capsys):
    code, out, _ = run_main(["--help"], capsys)
    assert code == 0 and "Examples" in out and "130" in out and "Exit status" in out
    for command in ("spectra", "run", "reproduce", "fit", "info"):
        code, out, _ = run_main([command, "--help"], capsys)
        assert code == 0 and "Examples" in out, command
    for command in ("run", "reproduce"):
        _, out, _ = run_main([command, "--help"], capsys)
        for option in ("--executor", "--workers", "--scheduler", "--resume", "--force", "--quick"):
            assert option in out, (command, option)


def test_no_arguments_prints_help_as_usage_error(capsys):
    code, out, err = run_main([], capsys)
    assert code == 2 and "Usage" in out + err


def test_usage_error_is_one_line(capsys):
    code, out, err = run_main(["spectra", "--years", "abc"], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and "--run-years" in err


def test_message_text_is_not_markup(capsys):
    # rich would drop "[dask]" (a style tag) and crash on "[/x]" (a closing tag without opening)
    from cevns.errors import MissingDependencyError

    def boom():
        raise MissingDependencyError("install it: pip install 'cevns[dask]' [/x]")

    cli.app.command("boom")(boom)
    try:
        code, _, err = run_main(["boom"], capsys)
    finally:
        cli.app.registered_commands.pop()
    assert code == 2 and err == "error: install it: pip install 'cevns[dask]' [/x]\n"


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_unexpected_exception_is_internal_error(capsys, monkeypatch, debug):
    def boom():
        raise ZeroDivisionError("division by zero")

    monkeypatch.delenv("CEVNS_DEBUG", raising=False)
    cli.app.command("boom")(boom)
    try:
        code, _, err = run_main(["--debug", "boom"] if debug else ["boom"], capsys)
    finally:
        cli.app.registered_commands.pop()
    assert code == 1 and "internal error: ZeroDivisionError" in err and "please report" in err
    assert ("Traceback" in err) is debug


def test_sin2w_alias_is_deprecated_but_works(capsys):
    code, out, err = run_main(["spectra", "-d", "Si", "--sin2w", "0.24", "--json"], capsys)
    assert code == 0 and "deprecated" in err and json.loads(out)["sin2_theta_w"] == 0.24


# -- JSON and CSV ----------------------------------------------------------------------------------

def test_spectra_json_matches_library(capsys):
    from cevns.rates import sm_spectrum

    code, out, err = run_main(["spectra", "-d", "CsI", "-d", "Ge", "--run-years", "2", "--json"],
                              capsys)
    assert code == 0, err
    doc = json.loads(out)  # stdout is pure JSON
    assert doc["run_years"] == 2.0 and [d["detector"] for d in doc["detectors"]] == ["CsI", "Ge"]
    for d in doc["detectors"]:
        ref = sm_spectrum(d["detector"], run_years=2)
        assert d["signal"] == pytest.approx(ref.total_signal, rel=1e-12)
        assert sum(b["signal"] for b in d["bins"]) == pytest.approx(ref.total_signal, rel=1e-9)


def test_info_json(capsys):
    code, out, _ = run_main(["info", "--json"], capsys)
    doc = json.loads(out)
    assert code == 0 and doc["sin2_theta_w"] == 0.23857
    assert "CsI" in {d["name"] for d in doc["detectors"]} and "fig1" in {i["name"] for i in doc["items"]}


def test_csv_writes_exactly_the_file(tmp_path):
    target = tmp_path / "counts.txt"
    res = cevns("spectra", "-d", "Si", "--csv", target, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counts.txt"]
    rows = list(csv.DictReader(target.open()))
    assert rows and {"lower_keVnr", "signal", "background"} <= set(rows[0])


def test_csv_to_stdout(capsys):
    code, out, _ = run_main(["spectra", "-d", "Si", "--csv", "-"], capsys)
    assert code == 0 and "lower_keVnr," in out
    # --json and --csv - would both write to stdout: refused (tests/cli/test_output_safety.py)
    code, out, err = run_main(["spectra", "-d", "Si", "--json", "--csv", "-"], capsys)
    assert code == 2 and out == "" and "--json" in err


def test_full_disk_is_output_error(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputError, match="No space left on device") as exc:
        fsio.atomic_write_text(tmp_path / "provenance.json", "{}")
    assert str(tmp_path / "provenance.json") in str(exc.value)
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind


def test_write_table_refuses_names_that_leave_the_folder(tmp_path):
    from cevns.analyses.output import write_table

    out = tmp_path / "out"
    out.mkdir()
    for stem in ("../x", "/abs", "a/b", ".."):
        with pytest.raises(OutputError):
            write_table([{"a": 1.0}], out, stem)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"] and not any(out.iterdir())


# -- output folders ----------------------------------------------------------------------------------

def test_corrupt_index_is_reported_and_force_recovers(tmp_path):
    (tmp_path / "index.json").write_text("{truncated")
    res = cevns("reproduce", "--only", "events", "--out", tmp_path)
    assert res.returncode == 2 and "index.json" in res.stderr and "--force" in res.stderr
    res = cevns("reproduce", "--only", "events", "--out", tmp_path, "--force")
    assert res.returncode == 0, res.stderr
    index = json.loads((tmp_path / "index.json").read_text())
    assert list(index) == ["events"]
    assert "events" in (tmp_path / "index.md").read_text()
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporary files


def test_bom_toml_is_accepted(tmp_path):
    text = ('schema_version = 1\nname = "bom"\ntitle = "with a byte-order mark"\n'
            'kind = "event-table"\ndetectors = ["Si"]\n')
    (tmp_path / "a.toml").write_bytes(b"\xef\xbb\xbf" + text.encode())
    res = cevns("run", tmp_path / "a.toml", "--out", tmp_path / "out")
    assert res.returncode == 0, res.stderr
    assert json.loads((tmp_path / "out" / "provenance.json").read_text())["files"] == \
        ["bom.csv", "bom.md"]


def test_import_is_light():
    code = ("import sys, cevns.cli; heavy = [m for m in ('matplotlib', 'scipy', 'scipy.stats', "
            "'xarray', 'dask', 'numpy') if m in sys.modules]; print(heavy)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0 and res.stdout.strip() == "[]", res.stdout + res.stderr


# -- interruption ----------------------------------------------------------------------------------

ANALYSIS = """schema_version = 1
name = "ngi-scalar"
title = "a small scan"
kind = "exclusion"
detectors = ["CsI", "Xe", "Ge", "Si", "Ar", "C3F8"]
per_detector = false
level = "90cl_2dof"

[scenario]
name = "ngi"
options = { interaction = "scalar" }

[x]
parameter = "mediator_mass_MeV"
start = 0.01
stop = 1e4
num = 100
spacing = "log"

[y]
parameter = "coupling"
start = 1e-7
stop = 1e-1
num = 100
spacing = "log"
"""


def _interrupt(args, sig, cwd):
    """Start ``cevns *args``, send ``sig`` once the first scan tile is saved; return the result."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}  # progress lines are silent in CI
    proc = subprocess.Popen([*CEVNS, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=cwd, env=env)
    lines = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        if re.search(r": [1-9][0-9]*/[0-9]+ tiles", line):  # a tile is saved: the scan runs
            proc.send_signal(sig)
            break
    out, err = proc.communicate(timeout=300)
    return proc.returncode, "".join(lines) + err


def _check_interrupted(code, err):
    assert code == 130, err
    assert "Traceback" not in err, err
    assert "interrupted" in err and "--resume" in err, err
    assert "resume=True" not in err  # the CLI option, not the Python argument
    return [line for line in err.splitlines() if "resume with:" in line][-1].split("resume with: ")[1]


@pytest.mark.parametrize("sig", [signal.SIGINT, pytest.param(signal.SIGTERM, marks=pytest.mark.slow)],
                         ids=["SIGINT", "SIGTERM"])
def test_run_interrupted_then_resumed(tmp_path, sig):
    (tmp_path / "a.toml").write_text(ANALYSIS)
    code, err = _interrupt(["run", "a.toml", "--out", "out"], sig, tmp_path)
    hint = _check_interrupted(code, err)
    assert hint == "cevns run a.toml --out out --resume"
    assert not (tmp_path / "out" / "provenance.json").exists()
    res = subprocess.run([*CEVNS, *hint.split()[1:]], capture_output=True, text=True, cwd=tmp_path,
                         timeout=600)
    assert res.returncode == 0, res.stderr
    assert json.loads((tmp_path / "out" / "provenance.json").read_text())["files"]


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["serial", "processes"])
def test_reproduce_interrupted_then_resumed(tmp_path, executor):
    code, err = _interrupt(["reproduce", "--only", "fig6", "--out", "out", "--quick",
                            "--executor", executor], signal.SIGINT, tmp_path)
    hint = _check_interrupted(code, err)
    assert hint.startswith("cevns reproduce --only fig6 --out out ")  # not out/quick
    assert "--quick" in hint.split()
    res = subprocess.run([*CEVNS, *hint.split()[1:]], capture_output=True, text=True, cwd=tmp_path,
                         timeout=900)
    assert res.returncode == 0, res.stderr
    # --quick previews go to OUT/quick (cevns.analyses.report.quick_folder)
    assert "fig6" in json.loads((tmp_path / "out" / "quick" / "index.json").read_text())


def test_keyboard_interrupt_outside_a_scan(capsys, monkeypatch):
    def stop():
        raise KeyboardInterrupt

    cli.app.command("stop")(stop)
    try:
        code, _, err = run_main(["stop"], capsys)
    finally:
        cli.app.registered_commands.pop()
    assert code == 130 and "interrupted" in err


def test_check_out_dir_messages(tmp_path):
    (tmp_path / "provenance.json").write_text(json.dumps({"digest": "a"}))
    (tmp_path / "config.json").write_text(json.dumps({"x": 1}))
    with pytest.raises(Exception, match=r"cannot resume.*x: 1 → 2"):
        cli._check_out_dir(tmp_path, {"x": 2}, resume=True, force=False)
    cli._check_out_dir(tmp_path, {"x": 2}, resume=False, force=True)  # --force: no error


def test_documented_exit_statuses_match_the_code():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "errors.md").read_text()
    table = doc.split("## Exit statuses")[1].split("##")[0]
    documented = {int(m) for m in re.findall(r"^\| (\d+) \|", table, flags=re.M)}
    assert documented == {cli.EXIT_OK, cli.EXIT_INTERNAL, cli.EXIT_USAGE, cli.EXIT_INTERRUPTED}


def test_broken_pipe_is_quiet():
    proc = subprocess.Popen([*CEVNS, "info"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader went away
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == cli.EXIT_INTERNAL and err == ""


@pytest.mark.slow
def test_fit_json(tmp_path, capsys):
    code, out, err = run_main(["fit", "coherent-csi-2017", "-p", "n_cevns", "--json",
                               "--out", str(tmp_path)], capsys)
    assert code == 0, err
    doc = json.loads(out)
    (row,) = doc["parameters"]
    assert row["parameter"] == "n_cevns" and row["lower"] < row["best"] < row["upper"]
    assert doc["files"] and "files in" in err


def test_unconverted_os_error_names_the_path(capsys):
    def locked():
        raise PermissionError(13, "Permission denied", "/some/where.csv")

    cli.app.command("locked")(locked)
    try:
        code, _, err = run_main(["locked"], capsys)
    finally:
        cli.app.registered_commands.pop()
    assert code == 1 and err == "error: /some/where.csv: Permission denied\n"


def test_exit_collection_is_skipped_only_by_the_script(capsys, monkeypatch):
    """`main(argv)` called from Python registers nothing at exit (the caller's process goes on);
    the script (`main()` with sys.argv) registers the gc.freeze that spares the interpreter a
    collection over every object at exit, and the stop of the worker forkserver
    (tests/test_forkserver.py). The script's outputs and exit status are those of the
    subprocess tests of this file."""
    import gc

    from cevns.forkserver import stop_at_exit

    registered = []
    monkeypatch.setattr(cli.atexit, "register", registered.append)
    run_main(["--version"], capsys)
    assert registered == []
    monkeypatch.setattr(sys, "argv", ["cevns", "--version"])
    with pytest.raises(SystemExit):
        cli.main()
    assert registered == [cli._skip_exit_collection, stop_at_exit]
    frozen = gc.get_freeze_count()
    try:
        cli._skip_exit_collection()
        assert gc.get_freeze_count() > frozen  # every tracked object moved out of reach
    finally:
        gc.unfreeze()


def test_reproduce_interrupted_while_writing_the_index_gives_the_resume_hint(
        tmp_path, capsys, monkeypatch):
    """Ctrl-C after the items, while the index is written: exit 130 with the resume hint (the
    items are saved; the resume recomputes nothing and writes the index)."""
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_write_index", interrupted)
    code, _, err = run_main(["reproduce", "--only", "events", "--out", str(tmp_path / "out"),
                             "--executor", "serial"], capsys)
    hint = _check_interrupted(code, err)
    assert hint.startswith("cevns reproduce --only events --out ")
    assert (tmp_path / "out" / "events" / "provenance.json").exists()
