"""Command-line fixes of an audit (subprocess runs of the installed ``cevns``, as a user runs it).

Each test names what it checks: user files read with a size cap and as given (pipes too), writes
through symbolic links, stdout holding one format, outputs that never replace inputs (also with
``--force``), options and environment variables that are refused instead of silently ignored, and
a run of the ``config.json`` a run wrote.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys

import pytest
from test_output_safety import CEVNS, _refused, cevns  # the same subprocess helpers

PROFILE = """schema_version = 1
name = "p1"
title = "test"
kind = "profile"
detectors = ["CsI"]
scenario = { name = "sm" }
scan = { parameter = "sin2_theta_w", start = 0.18, stop = 0.30, num = 5 }
"""

MINE = """schema_version = 1
[detector.Mine]
formula = "Ge"
mass_kg = 10.0
threshold_keVnr = 1.0
"""

#: a tabulated source whose table is the flux at the detector (docs/sources.md)
AT_DETECTOR = """schema_version = 1
[source.R]
kind = "tabulated"
spectrum_file = "{csv}"
normalisation = "per-cm2-s"
baseline_m = 20.0
beam_hours_per_year = 7000.0
duty_factor = 1.0
run_years = 1.0
"""

FLAT = "energy_MeV,nuebar\n0.0,1e12\n10.0,1e12\n"


def _limit_memory():  # the old code read /dev/zero until the memory was full
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


# -- 1. a user file is read up to 64 MiB ------------------------------------------------------

@pytest.mark.skipif(not os.path.exists("/dev/zero") or sys.platform != "linux",
                    reason="needs /dev/zero and RLIMIT_AS")
def test_an_endless_user_file_is_refused_without_filling_the_memory(tmp_path):
    """/dev/zero as a preset file, an analysis file or a spectrum file is refused with one line
    (it used to be read whole: MemoryError, an internal error, or the kernel's OOM killer)."""
    (tmp_path / "rz.toml").write_text(AT_DETECTOR.format(csv="/dev/zero"))
    for args in (("spectra", "-d", "CsI", "--presets", "/dev/zero"), ("run", "/dev/zero"),
                 ("spectra", "-d", "CsI", "--presets", "rz.toml", "--source", "R")):
        res = cevns(*args, cwd=tmp_path, preexec_fn=_limit_memory)
        _refused(res, "/dev/zero: larger than 64 MiB; is this the right file?")


def test_a_regular_file_over_64_mib_is_refused(tmp_path):
    """A (sparse) regular preset file of 64 MiB + 1 byte is refused by its size, not reported
    as invalid TOML after reading it all."""
    big = tmp_path / "big.toml"
    with big.open("wb") as fh:
        fh.truncate(64 * 1024 * 1024 + 1)
    _refused(cevns("spectra", "-d", "CsI", "--presets", big, cwd=tmp_path),
             "big.toml: larger than 64 MiB")


# -- 2. a pipe (process substitution) is read as given ------------------------------------------

def _pipe(text: str) -> int:
    """The read end of a pipe holding ``text`` (its write end closed: the reader sees the end)."""
    read, write = os.pipe()
    os.write(write, text.encode())
    os.close(write)
    return read


@pytest.mark.skipif(not os.path.isdir("/dev/fd"), reason="needs /dev/fd")
def test_a_preset_file_from_a_pipe_is_read(tmp_path):
    """``--presets <(cat mine.toml)`` (a /dev/fd/N pipe) is read, not resolved to
    ``/proc/…/pipe:[…]`` and reported as a missing file."""
    fd = _pipe(MINE)
    try:
        res = cevns("spectra", "-d", "Mine", "--presets", f"/dev/fd/{fd}", cwd=tmp_path,
                    pass_fds=(fd,))
    finally:
        os.close(fd)
    assert res.returncode == 0, res.stderr
    assert "Mine" in res.stdout


@pytest.mark.skipif(shutil.which("bash") is None or not os.path.isdir("/dev/fd"),
                    reason="needs bash and /dev/fd")
def test_process_substitution_in_bash(tmp_path):
    (tmp_path / "mine.toml").write_text(MINE)
    command = f"{' '.join(map(str, CEVNS))} spectra -d Mine --presets <(cat mine.toml)"
    res = subprocess.run(["bash", "-c", command], capture_output=True, text=True, cwd=tmp_path,
                         timeout=600)
    assert res.returncode == 0, res.stderr
    assert "Mine" in res.stdout


# -- 3. writes through symbolic links ------------------------------------------------------------

def test_spectra_csv_through_a_symbolic_link_writes_its_target(tmp_path):
    """--csv LINK keeps the link and writes its target (the link used to be replaced by a regular
    file, the target left as it was); a dangling link creates its target."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "target.csv").write_text("old\n")
    (tmp_path / "link.csv").symlink_to("data/target.csv")
    res = cevns("spectra", "-d", "CsI", "--csv", "link.csv", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "link.csv").is_symlink()
    assert (tmp_path / "data" / "target.csv").read_text().startswith("detector,")
    (tmp_path / "dangling.csv").symlink_to("data/new.csv")
    res = cevns("spectra", "-d", "CsI", "--csv", "dangling.csv", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "dangling.csv").is_symlink()
    assert (tmp_path / "data" / "new.csv").read_text().startswith("detector,")


@pytest.mark.parametrize("command", [("spectra", "-d", "CsI", "--csv"), ("fit", "--table")])
def test_a_link_into_a_missing_folder_is_refused_before_the_work(tmp_path, command):
    """A dangling link whose target's folder does not exist is an error naming it, before any
    computation (nothing on stdout; --table before the fits), and the link stays."""
    (tmp_path / "out.x").symlink_to("nodir/out.x")
    res = cevns(*command, "out.x", cwd=tmp_path)
    _refused(res, "out.x", "symbolic link", "nodir", "does not exist")
    assert res.stdout == "" and (tmp_path / "out.x").is_symlink()
    assert not (tmp_path / "nodir").exists()


# -- 4. --csv - : stdout holds only the CSV -----------------------------------------------------

@pytest.mark.parametrize("target", ["-", "/dev/stdout"])
def test_csv_to_stdout_is_all_that_stdout_holds(tmp_path, target):
    """The human table used to be printed on stdout before the CSV; now stdout parses as CSV."""
    res = cevns("spectra", "-d", "CsI", "-d", "Xe", "--csv", target, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert rows and {r["detector"] for r in rows} == {"CsI", "Xe"}
    assert all(float(r["signal"]) >= 0 for r in rows)
    assert "Expected events" not in res.stdout


# -- 5. an output never replaces an input, also with --force ------------------------------------

def test_run_never_writes_its_results_over_its_analysis_file(tmp_path):
    """An analysis file named like one of the run's outputs (DIR/p1.md, --out DIR) is refused,
    also with --force (it used to be replaced by the results table)."""
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "p1.md").write_text(PROFILE)
    for force in ((), ("--force",)):
        res = cevns("run", "d/p1.md", "--out", "d", "--executor", "serial", *force, cwd=tmp_path)
        _refused(res, "d/p1.md", "input", "--force")
        assert (tmp_path / "d" / "p1.md").read_text() == PROFILE
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["p1.md"]


def test_reproduce_never_writes_its_report_over_its_preset_file(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "index.md").write_text(MINE)
    res = cevns("reproduce", "--only", "events", "--presets", "r/index.md", "--out", "r",
                "--force", "--executor", "serial", cwd=tmp_path)
    _refused(res, "r/index.md", "input")
    assert (tmp_path / "r" / "index.md").read_text() == MINE
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["index.md"]


# -- 6. a baseline is refused where it would change nothing ---------------------------------------

def test_baseline_of_a_flux_given_at_the_detector_is_refused(tmp_path):
    """--baseline-m with a per-cm2-s source was silently ignored (while --json reported it); an
    analysis file's source.baseline_m too. A π-DAR source still moves."""
    (tmp_path / "flat.csv").write_text(FLAT)
    (tmp_path / "r.toml").write_text(AT_DETECTOR.format(csv="flat.csv"))
    res = cevns("spectra", "--presets", "r.toml", "--source", "R", "-d", "CsI",
                "--baseline-m", "40", "--json", cwd=tmp_path)
    _refused(res, "source R", "per-cm2-s", "baseline_m")
    assert res.stdout == ""
    (tmp_path / "an.toml").write_text('schema_version = 1\nname = "ev"\ntitle = "t"\n'
                                      'kind = "event-table"\ndetectors = ["CsI"]\n'
                                      'presets = ["r.toml"]\n'
                                      'source = { preset = "R", baseline_m = 40.0 }\n')
    res = cevns("run", "an.toml", "--out", "ev", cwd=tmp_path)
    _refused(res, "source.baseline_m", "per-cm2-s")
    assert not (tmp_path / "ev").exists()
    res = cevns("spectra", "-d", "CsI", "--baseline-m", "40", "--json", cwd=tmp_path)
    assert res.returncode == 0 and json.loads(res.stdout)["baseline_m"] == 40.0


# -- 7. a detector given twice ---------------------------------------------------------------------

def test_a_detector_given_twice_is_refused(tmp_path):
    res = cevns("spectra", "-d", "CsI", "-d", "Xe", "-d", "CsI", cwd=tmp_path)
    _refused(res, "'CsI' given twice", "--detector")
    assert res.stdout == ""


# -- 8, 9. environment variables ----------------------------------------------------------------

@pytest.mark.parametrize("value", ["abc", "-5", "1.5"])
def test_a_bad_random_units_seed_is_an_error(tmp_path, value):
    """CEVNS_RANDOM_UNITS (a test-only knob) used to end in an internal ValueError (exit 1)."""
    env = {**os.environ, "CEVNS_RANDOM_UNITS": value}
    _refused(cevns("spectra", "-d", "CsI", cwd=tmp_path, env=env),
             f"CEVNS_RANDOM_UNITS={value!r}", "non-negative integer")


def test_a_valid_random_units_seed_still_works(tmp_path):
    env = {**os.environ, "CEVNS_RANDOM_UNITS": "12345"}
    res = cevns("spectra", "-d", "CsI", "--json", cwd=tmp_path, env=env)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["detectors"][0]["signal"] > 0


def test_a_bad_progress_setting_is_an_error(tmp_path):
    """CEVNS_PROGRESS=foo was accepted silently by the command line."""
    env = {**os.environ, "CEVNS_PROGRESS": "foo"}
    _refused(cevns("spectra", "-d", "CsI", cwd=tmp_path, env=env), "CEVNS_PROGRESS='foo'",
             "silent, terminal, notebook")
    env["CEVNS_PROGRESS"] = "silent"
    assert cevns("spectra", "-d", "CsI", cwd=tmp_path, env=env).returncode == 0


# -- 10. wording -----------------------------------------------------------------------------------

def test_an_output_folder_that_is_a_link_loop_is_named_so(tmp_path):
    (tmp_path / "p1.toml").write_text(PROFILE)
    (tmp_path / "loopB").symlink_to("loopA")
    (tmp_path / "loopA").symlink_to("loopB")
    res = cevns("run", "p1.toml", "--out", "loopA", cwd=tmp_path)
    _refused(res, "loopA", "symbolic link loop", "not a folder")
    assert "File exists" not in res.stderr


def test_a_coverage_folder_is_named_a_folder(tmp_path):
    (tmp_path / "cov").mkdir()
    res = cevns("fit", "--table", "t.md", "--coverage", "cov", cwd=tmp_path)
    _refused(res, "--coverage cov", "is a folder")
    assert "no such file" not in res.stderr and not (tmp_path / "t.md").exists()


# -- 11. the config.json of a run runs again -------------------------------------------------------

@pytest.mark.slow  # 13-21 s; outside the 10-minute CI budget on the slow host (run with -m slow)
def test_run_of_the_config_json_a_run_wrote(tmp_path):
    """docs/catalogue.md: 'cevns run out/config.json' (it used to fail: 'not valid TOML'); into
    its own folder too, where it is the record the run rewrites with the same analysis."""
    (tmp_path / "p1.toml").write_text(PROFILE)
    assert cevns("run", "p1.toml", "--out", "a", "--executor", "serial",
                 cwd=tmp_path).returncode == 0
    res = cevns("run", "a/config.json", "--out", "b", "--executor", "serial", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "b" / "config.json").read_text() == \
        (tmp_path / "a" / "config.json").read_text()
    assert (tmp_path / "b" / "p1.csv").read_text() == (tmp_path / "a" / "p1.csv").read_text()
    res = cevns("run", "a/config.json", "--out", "a", "--executor", "serial", cwd=tmp_path)
    assert res.returncode == 0, res.stderr


def test_spectra_warns_when_a_detector_sees_no_event(tmp_path):
    """A source below 2 MeV gives CsI no recoil above threshold: the count 0 is printed (it is the
    answer) with one ``warning:`` line naming the detector and the source; before, nothing said so."""
    (tmp_path / "low.csv").write_text("energy_MeV,nuebar\n0.0,1e12\n2.0,1e12\n")
    (tmp_path / "r.toml").write_text(AT_DETECTOR.format(csv="low.csv"))
    res = cevns("spectra", "--presets", "r.toml", "--source", "R", "-d", "CsI", "-d", "Ar",
                cwd=tmp_path)  # argon, about 3× lighter, still sees recoils above its threshold
    assert res.returncode == 0, res.stderr
    warnings = [line for line in res.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [f"warning: detector {d} expects no CEvNS event from source R: no neutrino "
                        "gives a recoil above its threshold and inside its bins, or the detection "
                        "efficiency is zero there"
                        for d in ("CsI",)], res.stderr
    ok = cevns("spectra", "-d", "CsI", cwd=tmp_path)  # the ESS source: no warning
    assert ok.returncode == 0 and "warning" not in ok.stderr
