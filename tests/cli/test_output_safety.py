"""Output safety of the installed ``cevns`` command (subprocess runs, as a user runs it).

Nothing a user computed or wrote is lost: an output folder holding files cevns did not write, or
the results of another command or configuration, is refused (exit 2) unless ``--force``; an
output never replaces an input of the same command; tables never cut numbers off; stdout holds
one format at a time. The Python API (``run_analysis``) follows the same rule.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from installed import CEVNS  # the environment's installed command

PROFILE = """schema_version = 1
name = "p1"
title = "test"
kind = "profile"
detectors = ["CsI"]
scenario = { name = "sm" }
scan = { parameter = "sin2_theta_w", start = 0.18, stop = 0.30, num = 5 }
stats = { sigma_signal = 0.10, sigma_background = 0.01 }
"""

EVENTS = """schema_version = 1
name = "ev"
title = "events"
kind = "event-table"
detectors = ["Si"]
"""


def cevns(*args, cwd=None, env=None, **kwargs):
    return subprocess.run([*CEVNS, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=600, **kwargs)


def _refused(res, *words):
    assert res.returncode == 2, (res.returncode, res.stderr)
    assert "Traceback" not in res.stderr and res.stderr.count("error:") == 1, res.stderr
    for word in words:
        assert word in res.stderr, (word, res.stderr)


# -- A3: folders with no cevns record, or with another command's record -----------------------

def test_run_refuses_a_user_folder_and_keeps_its_files(tmp_path):
    (tmp_path / "base.toml").write_text(PROFILE)
    (tmp_path / "userdir").mkdir()
    (tmp_path / "userdir" / "p1.csv").write_text("mine\n")
    res = cevns("run", "base.toml", "--out", "userdir", "--executor", "serial", cwd=tmp_path)
    _refused(res, "userdir/p1.csv", "--force", "--out")
    assert (tmp_path / "userdir" / "p1.csv").read_text() == "mine\n"
    assert sorted(p.name for p in (tmp_path / "userdir").iterdir()) == ["p1.csv"]
    res = cevns("run", "base.toml", "--out", "userdir", "--executor", "serial", "--force",
                cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    # rerunning the same configuration into its own folder is fine
    res = cevns("run", "base.toml", "--out", "userdir", "--executor", "serial", cwd=tmp_path)
    assert res.returncode == 0, res.stderr


def test_reproduce_refuses_a_user_folder_and_keeps_its_notes(tmp_path):
    proj = tmp_path / "myproj"
    proj.mkdir()
    (proj / "index.md").write_text("# my project notes\n")
    (proj / "index.html").write_text("<html>mine</html>\n")
    res = cevns("reproduce", "--only", "events", "--out", proj)
    _refused(res, "index", "--force")
    assert (proj / "index.md").read_text() == "# my project notes\n"
    assert (proj / "index.html").read_text() == "<html>mine</html>\n"
    # a reproduce folder is reused, and a run into it is refused
    res = cevns("reproduce", "--only", "events", "--out", tmp_path / "rp")
    assert res.returncode == 0, res.stderr
    res = cevns("reproduce", "--only", "events", "--out", tmp_path / "rp")
    assert res.returncode == 0, res.stderr
    (tmp_path / "ev.toml").write_text(EVENTS)
    _refused(cevns("run", tmp_path / "ev.toml", "--out", tmp_path / "rp"), "cevns reproduce",
             "--force")


def test_fit_refuses_a_user_folder(tmp_path):
    (tmp_path / "uf").mkdir()
    (tmp_path / "uf" / "fit.csv").write_text("my precious\n")
    res = cevns("fit", "coherent-csi-2017", "-p", "n_cevns", "--out", tmp_path / "uf")
    _refused(res, "fit.csv", "--force")
    assert (tmp_path / "uf" / "fit.csv").read_text() == "my precious\n"


@pytest.mark.slow  # 13-21 s; outside the 10-minute CI budget on the slow host (run with -m slow)
def test_fit_keeps_one_configuration_per_folder(tmp_path):
    out = tmp_path / "X"
    res = cevns("fit", "coherent-csi-2017", "-p", "n_cevns", "--out", out)
    assert res.returncode == 0, res.stderr
    assert (out / "profile_n_cevns.csv").exists() and (out / "config.json").exists()
    assert (out / "profile_n_cevns.png").exists()
    # the figures are no part of the configuration: the same fit without them reuses the folder
    # (and the later runs skip the 3 s of drawing they do not check)
    res = cevns("fit", "coherent-csi-2017", "-p", "n_cevns", "--out", out, "--no-figures")
    assert res.returncode == 0, res.stderr
    res = cevns("fit", "coherent-csi-2017", "-p", "sin2_theta_w", "--out", out)
    _refused(res, "different configuration", "n_cevns", "sin2_theta_w", "--force")
    res = cevns("fit", "coherent-csi-2017", "-p", "sin2_theta_w", "--out", out, "--force",
                "--no-figures")
    assert res.returncode == 0, res.stderr
    listed = (out / "fit.csv").read_text()
    assert "sin2_theta_w" in listed and "n_cevns," not in listed
    # no stale profile (CSV or figure) of the earlier fits next to a fit.csv that does not list it
    assert not list(out.glob("profile_n_cevns.*")) and not list(out.glob("*.png"))
    record = json.loads((out / "provenance.json").read_text())
    assert record["command"] == "fit" and record["digest"]
    assert all((out / f).exists() for f in record["files"])


def test_fit_into_a_run_folder_is_refused(tmp_path):
    (tmp_path / "ev.toml").write_text(EVENTS)
    assert cevns("run", tmp_path / "ev.toml", "--out", tmp_path / "o").returncode == 0
    before = (tmp_path / "o" / "provenance.json").read_text()
    res = cevns("fit", "coherent-csi-2017", "-p", "n_cevns", "--out", tmp_path / "o")
    _refused(res, "cevns run", "--force")
    assert (tmp_path / "o" / "provenance.json").read_text() == before
    assert not (tmp_path / "o" / "fit.csv").exists()


def test_run_analysis_api_refuses_the_same_way(tmp_path):
    code = f"""
import os
from cevns.analyses import RunOptions, parse_analysis, run_analysis
from cevns.errors import CevnsError
import tomllib
a = parse_analysis(tomllib.loads({EVENTS!r}))
b = parse_analysis(tomllib.loads({EVENTS.replace('"Si"', '"Ge"')!r}))
os.makedirs("ra2"); open("ra2/ev.csv", "w").write("mine")
for an, out, opts in ((a, "ra2", None), (a, "fresh", None), (b, "fresh", None)):
    try:
        run_analysis(an, out, opts)
        print("ok")
    except CevnsError as exc:
        print(type(exc).__name__, exc)
run_analysis(b, "fresh", RunOptions(force=True))
print(open("ra2/ev.csv").read())
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, timeout=600)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith("OutputError") and "ra2/ev.csv" in lines[0]
    assert lines[1] == "ok"
    assert lines[2].startswith("ConfigError") and "different configuration" in lines[2]
    assert lines[3] == "mine"


def test_corrupt_config_json_is_reported(tmp_path):
    (tmp_path / "ev.toml").write_text(EVENTS)
    assert cevns("run", tmp_path / "ev.toml", "--out", tmp_path / "o").returncode == 0
    (tmp_path / "o" / "config.json").write_text('{"a":')
    _refused(cevns("run", tmp_path / "ev.toml", "--out", tmp_path / "o"), "config.json",
             "corrupt", "--force")
    assert (tmp_path / "o" / "config.json").read_text() == '{"a":'
    assert cevns("run", tmp_path / "ev.toml", "--out", tmp_path / "o", "--force").returncode == 0
    assert json.loads((tmp_path / "o" / "config.json").read_text())["name"] == "ev"


# -- A4: outputs never replace inputs ------------------------------------------------------------

PRESET = """schema_version = 1
[detector.NaI]
mass_kg = 10.0
formula = "NaI"
threshold_keVnr = 3.0
"""


def test_spectra_csv_onto_its_preset_file_is_refused(tmp_path):
    (tmp_path / "mine.toml").write_text(PRESET)
    for target in ("mine.toml", "./mine.toml", str(tmp_path / "mine.toml")):
        res = cevns("spectra", "--presets", "mine.toml", "-d", "NaI", "--csv", target,
                    cwd=tmp_path)
        _refused(res, "--csv", "input")
    assert (tmp_path / "mine.toml").read_text() == PRESET
    env = {**os.environ, "CEVNS_PRESETS": str(tmp_path / "mine.toml")}
    _refused(cevns("spectra", "-d", "NaI", "--csv", "mine.toml", cwd=tmp_path, env=env), "input")
    assert (tmp_path / "mine.toml").read_text() == PRESET


def test_hepdata_submission_over_a_preset_file_is_refused(tmp_path):
    """A ``--hepdata`` folder of an earlier cevns submission (marker present) whose
    ``submission/`` holds a preset file of the same command: write_hepdata rewrites that folder,
    so the run is refused before anything is computed, also with --force."""
    pytest.importorskip("hepdata_lib")
    sub = tmp_path / "hf" / "submission"
    sub.mkdir(parents=True)
    (tmp_path / "hf" / ".cevns-hepdata").write_text("marker\n")
    (sub / "mine.yaml").write_text(PRESET)  # any name: the YAML files there are replaced
    for extra in ((), ("--force",)):
        res = cevns("reproduce", "--only", "events", "--out", "rp", "--presets", sub / "mine.yaml",
                    "--hepdata", "hf", *extra, cwd=tmp_path)
        _refused(res, "mine.yaml", "input")
    assert (sub / "mine.yaml").read_text() == PRESET
    assert not (tmp_path / "rp").exists()


def test_fit_table_refuses_a_file_without_markers(tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text("# My notes\n\nimportant text\n")
    start = time.monotonic()
    res = cevns("fit", "--table", notes)
    _refused(res, "<!-- fit-table:begin -->", "<!-- fit-table:end -->", "notes.md")
    assert time.monotonic() - start < 30  # refused before fitting every release
    assert notes.read_text() == "# My notes\n\nimportant text\n"


def test_fit_table_in_a_missing_folder_is_refused_before_the_fits(tmp_path):
    res = cevns("fit", "--table", tmp_path / "nodir" / "x.md")
    _refused(res, "nodir", "does not exist")
    assert "comparison table" not in res.stderr


# -- C4, C5: tables and stdout --------------------------------------------------------------------

def test_piped_spectra_table_does_not_cut_numbers(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    res = cevns("spectra", "--run-years", "1000", cwd=tmp_path, env=env)
    assert res.returncode == 0, res.stderr
    assert "…" not in res.stdout
    assert "84714974.9" in res.stdout and "background" in res.stdout


def test_json_with_csv_to_stdout_is_refused(tmp_path):
    res = cevns("spectra", "--json", "--csv", "-", "-d", "CsI", cwd=tmp_path)
    _refused(res, "--json", "--csv")
    assert res.stdout == ""
    res = cevns("spectra", "--json", "-d", "CsI", cwd=tmp_path)
    assert res.returncode == 0 and json.loads(res.stdout)


@pytest.mark.parametrize("target", ["/dev/stdout", "/proc/self/fd/1", "out.json"])
def test_json_with_csv_to_a_file_that_is_stdout_is_refused(tmp_path, target):
    # the CSV used to be appended to the JSON: 'cevns spectra --json | jq .' failed to parse
    with (tmp_path / "out.json").open("w") as stdout:
        res = subprocess.run([*CEVNS, "spectra", "--json", "--csv", target, "-d", "CsI"],
                             stdout=stdout, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                             timeout=600)
    _refused(res, "--json", f"--csv {target}", "stdout")
    assert (tmp_path / "out.json").read_text() == ""
    with open(os.devnull, "w") as stdout:  # /dev/null for both: nothing mixes
        res = subprocess.run([*CEVNS, "spectra", "--json", "--csv", os.devnull, "-d", "CsI"],
                             stdout=stdout, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                             timeout=600)
    assert res.returncode == 0, res.stderr


# -- docs/catalogue.md: a data period's run time cannot be changed --------------------------------

def test_years_of_a_fixed_exposure_source_are_refused(tmp_path):
    res = cevns("spectra", "-d", "CsI", "--source", "sns-csi-2021", "--years", "5", cwd=tmp_path)
    _refused(res, "sns-csi-2021", "its run time cannot be changed")
    assert cevns("spectra", "-d", "CsI", "--source", "sns-csi-2021", cwd=tmp_path).returncode == 0


# -- D: empty paths, folders left behind, checks before the work, resume hints --------------------

@pytest.mark.parametrize("args", [
    ("run", "base.toml", "--out", ""),
    ("reproduce", "--only", "events", "--out", ""),
    ("reproduce", "--only", "events", "--out", "rp", "--hepdata", ""),
    ("fit", "coherent-csi-2017", "--out", ""),
    ("fit", "coherent-csi-2017", "--data-dir", "", "--out", "f"),
    ("run", "", "--out", "r"),
    ("spectra", "--presets", ""),
    ("reproduce", "--only", "events", "--out", "rp", "--presets", ""),
], ids=["run-out", "reproduce-out", "hepdata", "fit-out", "data-dir", "run-file", "presets",
        "reproduce-presets"])
def test_empty_paths_are_refused(tmp_path, args):
    (tmp_path / "base.toml").write_text(PROFILE)
    _refused(cevns(*args, cwd=tmp_path), "empty path")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.toml"]


def test_hepdata_onto_a_file_is_refused_before_the_run(tmp_path):
    pytest.importorskip("hepdata_lib")
    (tmp_path / "hf").write_text("mine\n")
    res = cevns("reproduce", "--only", "events", "--out", "rp", "--hepdata", "hf", cwd=tmp_path)
    _refused(res, "hf", "not a folder")
    assert not (tmp_path / "rp" / "index.json").exists()


def test_hepdata_where_nothing_can_be_written_is_refused_before_the_run(tmp_path):
    """/proc is a folder, but no submission can be made in it: refused before any item runs
    (the whole reproduce ran first, then failed to create the folder)."""
    pytest.importorskip("hepdata_lib")
    if not os.path.isdir("/proc"):
        pytest.skip("no /proc")
    res = cevns("reproduce", "--only", "events", "--out", "rp", "--hepdata", "/proc",
                cwd=tmp_path)
    _refused(res, "/proc/submission")
    assert not (tmp_path / "rp" / "index.json").exists()


def test_reproduce_reads_its_preset_files_before_making_the_folder(tmp_path):
    # a missing --presets file was reported after the output folder had been created
    _refused(cevns("reproduce", "--only", "events", "--out", "rp", "--presets", "nope.toml",
                   cwd=tmp_path), "nope.toml", "no such file")
    assert list(tmp_path.iterdir()) == []


def test_reproduce_list_checks_and_follows_only(tmp_path):
    # --list used to ignore --only, even an unknown item
    _refused(cevns("reproduce", "--list", "--only", "fig99", cwd=tmp_path), "fig99",
             "valid choices")
    res = cevns("reproduce", "--list", "--only", "events", "--only", "fig1", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert [line.split()[0] for line in res.stdout.splitlines()] == ["events", "fig1"]


@pytest.mark.parametrize("args", [("coherent-csi-2018",), ("coherent-csi-2017", "-p", "bogus")],
                         ids=["release", "parameter"])
def test_unknown_fit_names_leave_no_folder(tmp_path, args):
    _refused(cevns("fit", *args, cwd=tmp_path), "unknown")
    assert list(tmp_path.iterdir()) == []


SCAN = PROFILE.replace("num = 5", "num = 4000").replace('"p1"', '"p2"')


@pytest.mark.parametrize("figures", ["--no-figures", "--pdf"])  # exclusive (a usage error)
def test_interrupt_hint_keeps_figure_options(tmp_path, figures):
    (tmp_path / "a.toml").write_text(SCAN)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    proc = subprocess.Popen([*CEVNS, "run", "a.toml", "--out", "out", "--executor", "serial",
                             figures], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line or "tiles" in line:
            break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    if proc.returncode == 0:
        pytest.skip("the run finished before the interrupt")
    assert proc.returncode == 130, err
    hint = err.split("resume with: ")[1].split()
    assert figures in hint and hint[-1] == "--resume"


@pytest.mark.parametrize(("content", "message"), [
    ("[]", "--coverage: a JSON object of releases"),
    ('{"coherent-csi-2021": {"n_cevns": {"coverage": 67.3}}}',
     "--coverage.coherent-csi-2021.n_cevns.coverage: a fraction in [0, 1]"),
])
def test_fit_table_refuses_a_coverage_file_of_the_wrong_shape(tmp_path, content, message):
    """A --coverage file that is JSON but not release → parameter → {coverage, bias_sigma, …}
    (e.g. a percentage instead of a fraction) is refused (it is read before the fits run), not
    silently turned into empty columns."""
    (tmp_path / "cov.json").write_text(content)
    proc = cevns("fit", "--table", "t.md", "--coverage", "cov.json", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "t.md").exists()


@pytest.mark.skipif(not os.path.isfile("/proc/version"), reason="needs Linux /proc")
def test_spectra_csv_that_cannot_be_written_prints_nothing(tmp_path):
    """The CSV file is written before the table is printed: a target that cannot be written
    (/proc/version, a regular file in a folder where no file can be made) gives the error alone,
    not a table followed by an error."""
    res = cevns("spectra", "-d", "CsI", "--csv", "/proc/version", cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert res.stdout == ""
    assert res.stderr.startswith("error: ") and "/proc/version" in res.stderr
    assert "Traceback" not in res.stderr


def test_spectra_csv_to_a_file_still_prints_the_table(tmp_path):
    res = cevns("spectra", "-d", "CsI", "--csv", "out.csv", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "Expected events" in res.stdout and "wrote out.csv" in res.stderr
    assert (tmp_path / "out.csv").read_text().startswith("detector,")
