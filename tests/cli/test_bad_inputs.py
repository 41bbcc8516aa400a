"""The installed ``cevns`` command on bad input: a battery of subprocess runs.

Every case runs the environment's console script (``tests/_helpers/installed.py``) in its own
folder and asserts what a user sees:

* a non-zero exit status (2 for a user error),
* no ``Traceback`` on stderr, one ``error:`` message,
* the message names the offending option, field, value or path,
* nothing is written outside the output folder: the case folder (the sentinel) holds exactly the
  files the case created, apart from the output folder ``out/`` itself.

The subprocesses of all cases are started together (bounded by the number of CPUs) by a
module-level fixture; each parametrised test then checks one result.
"""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from installed import CEVNS  # the environment's installed command


@dataclass(frozen=True)
class Case:
    """One bad input: arguments (``{d}`` is the case folder), files to create, expected words."""

    id: str
    args: tuple[str, ...]
    names: tuple[str, ...]
    files: dict = field(default_factory=dict)
    code: int = 2


# -- helpers to build input files ---------------------------------------------------------------

def analysis(body: str = "", **header) -> str:
    """An event-table analysis file (cheap to validate) with ``header`` keys replaced."""
    keys = {"schema_version": "1", "name": '"mine"', "title": '"my table"',
            "kind": '"event-table"', "detectors": '["CsI"]'}
    keys.update(header)
    return "".join(f"{k} = {v}\n" for k, v in keys.items() if v is not None) + body


DETECTOR = """technology = "t"
citation = "c"
mass_kg = 10.0
targets = [{ element = "Cs" }, { element = "I" }]
threshold_keVnr = 1.0
resolution = { law = "sqrt-threshold", sigma0 = 0.30 }
efficiency = 0.8
background = { rate_ckkd = 10.0, exposure = "beam-coincidence" }
binning = { rule = "resolution", width_in_sigma = 2.0 }
"""


def preset(detector: str = DETECTOR, extra: str = "", header: str = "schema_version = 1\n") -> str:
    return header + extra + "[detector.Mine]\n" + detector


def replace(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new)


RUN = ("run", "{d}/a.toml", "--out", "{d}/out")
PRESET = ("spectra", "--presets", "{d}/p.toml", "-d", "Mine")
BAD_UTF8 = b'schema_version = 1\nname = "caf\xe9"\n'

CASES = [
    # -- command-line usage --------------------------------------------------------------------
    Case("unknown-option", ("--bogus",), ("--bogus",)),
    Case("unknown-subcommand-option", ("spectra", "--bogus"), ("--bogus",)),
    Case("unknown-command", ("nocmd",), ("nocmd",)),
    Case("years-not-a-number", ("spectra", "--years", "abc"), ("--run-years",)),
    Case("run-years-inf", ("spectra", "--run-years", "inf"), ("--run-years", "inf")),
    Case("run-years-minus-inf", ("spectra", "--run-years", "-inf"), ("--run-years",)),
    Case("run-years-nan", ("spectra", "--run-years", "nan"), ("--run-years", "nan")),
    Case("run-years-zero", ("spectra", "--run-years", "0"), ("--run-years",)),
    Case("run-years-negative", ("spectra", "--years", "-1"), ("--run-years",)),
    Case("run-years-huge", ("spectra", "--run-years", "1e9"), ("--run-years",)),
    Case("baseline-zero", ("spectra", "--baseline-m", "0"), ("--baseline-m",)),
    Case("baseline-inf", ("spectra", "--baseline-m", "inf"), ("--baseline-m",)),
    Case("sin2-above-one", ("spectra", "--sin2-theta-w", "1.5"), ("--sin2-theta-w",)),
    Case("sin2-nan", ("spectra", "--sin2-theta-w", "nan"), ("--sin2-theta-w",)),
    Case("sin2w-alias-negative", ("spectra", "--sin2w", "-0.1"), ("--sin2w",)),
    Case("unknown-detector", ("spectra", "-d", "NaI"), ("NaI", "valid choices")),
    Case("detector-markup", ("spectra", "-d", "[/x]"), ("'[/x]'",)),
    Case("detector-markup-bold", ("spectra", "-d", "[bold]x"), ("'[bold]x'",)),
    Case("unknown-source", ("spectra", "--source", "nowhere"), ("nowhere", "valid choices")),
    Case("source-missing-value", ("spectra", "--source"), ("--source",)),
    Case("detector-missing-value", ("spectra", "-d"), ("-d",)),
    Case("csv-trailing-slash", ("spectra", "-d", "CsI", "--csv", "{d}/newdir/"), ("--csv", "folder")),
    Case("csv-existing-folder", ("spectra", "-d", "CsI", "--csv", "{d}/sub"), ("--csv", "sub"),
         files={"sub/keep": ""}),
    Case("csv-missing-parent", ("spectra", "-d", "CsI", "--csv", "{d}/missing/x.csv"),
         ("missing", "does not exist")),
    Case("csv-parent-is-file", ("spectra", "-d", "CsI", "--csv", "{d}/f/x.csv"), ("f",),
         files={"f": "a file"}),
    Case("csv-empty-name", ("spectra", "-d", "CsI", "--csv", ""), ("--csv",)),
    Case("csv-full-disk", ("spectra", "-d", "CsI", "--csv", "/dev/full"),
         ("/dev/full", "No space left")),
    Case("presets-missing", ("spectra", "--presets", "{d}/nope.toml"), ("nope.toml", "no such file")),
    Case("run-missing-argument", ("run",), ("FILE",)),
    Case("run-missing-file", ("run", "{d}/nope.toml"), ("nope.toml", "no such file")),
    Case("run-folder-as-file", ("run", "{d}/sub"), ("sub", "folder"), files={"sub/keep": ""}),
    Case("run-workers-zero", (*RUN, "--workers", "0"), ("--workers",), files={"a.toml": analysis()}),
    Case("run-workers-text", (*RUN, "--workers", "two"), ("--workers",),
         files={"a.toml": analysis()}),
    Case("run-unknown-executor", (*RUN, "--executor", "threads"), ("--executor", "threads"),
         files={"a.toml": analysis()}),
    Case("run-resume-and-force", (*RUN, "--resume", "--force"), ("--resume", "--force"),
         files={"a.toml": analysis()}),
    Case("run-out-is-file", ("run", "{d}/a.toml", "--out", "{d}/f"), ("f", "not a folder"),
         files={"a.toml": analysis(), "f": "x"}),
    Case("run-out-under-file", ("run", "{d}/a.toml", "--out", "{d}/f/sub"), ("f", "not a folder"),
         files={"a.toml": analysis(), "f": "x"}),
    Case("run-corrupt-provenance", RUN, ("provenance.json", "--force"),
         files={"a.toml": analysis(), "out/provenance.json": "{not json"}),
    Case("run-other-configuration", RUN, ("different configuration", "--force"),
         files={"a.toml": analysis(), "out/provenance.json": '{"digest": "0000"}'}),
    Case("reproduce-unknown-item", ("reproduce", "--only", "fig99", "--out", "{d}/out"),
         ("fig99", "valid choices")),
    Case("reproduce-item-path", ("reproduce", "--only", "../x", "--out", "{d}/out"), ("../x",)),
    Case("reproduce-out-is-file", ("reproduce", "--only", "events", "--out", "{d}/f"),
         ("f", "not a folder"), files={"f": "x"}),
    Case("reproduce-out-under-file", ("reproduce", "--only", "events", "--out", "{d}/f/sub"),
         ("f", "not a folder"), files={"f": "x"}),
    Case("reproduce-workers-negative", ("reproduce", "--workers", "-3", "--out", "{d}/out"),
         ("--workers",)),
    Case("reproduce-unknown-executor", ("reproduce", "--executor", "gpu", "--out", "{d}/out"),
         ("--executor", "gpu")),
    Case("reproduce-resume-and-force", ("reproduce", "--resume", "--force", "--out", "{d}/out"),
         ("--resume", "--force")),
    Case("reproduce-corrupt-index", ("reproduce", "--only", "events", "--out", "{d}/out"),
         ("index.json", "--force"), files={"out/index.json": "[1, 2"}),
    Case("reproduce-index-not-a-table", ("reproduce", "--only", "events", "--out", "{d}/out"),
         ("index.json", "--force"), files={"out/index.json": "[1, 2]"}),
    Case("reproduce-corrupt-provenance", ("reproduce", "--only", "events", "--out", "{d}/out"),
         ("provenance.json", "--force"), files={"out/events/provenance.json": b"\xff\xfe"}),
    Case("reproduce-other-configuration", ("reproduce", "--only", "events", "--out", "{d}/out"),
         ("different configuration",),
         files={"out/events/provenance.json": '{"digest": "0000"}'}),
    Case("fit-missing-release", ("fit",), ("RELEASE",)),
    Case("fit-release-path", ("fit", "../../x", "--out", "{d}/out"), ("../../x",)),
    Case("fit-mediator-mass-zero", ("fit", "coherent-csi-2017", "--mediator-mass-mev", "0"),
         ("--mediator-mass-mev",)),
    Case("fit-mediator-mass-nan", ("fit", "coherent-csi-2017", "--mediator-mass", "nan"),
         ("--mediator-mass-mev",)),
    Case("fit-data-dir-missing", ("fit", "coherent-csi-2017", "--data-dir", "{d}/nope",
                                  "--out", "{d}/out"), ("--data-dir", "nope")),
    Case("info-unknown-option", ("info", "--bogus"), ("--bogus",)),
    # -- analysis files ---------------------------------------------------------------------------
    Case("toml-syntax", RUN, ("a.toml", "not valid TOML"), files={"a.toml": "name = \n"}),
    Case("toml-not-utf8", RUN, ("a.toml", "UTF-8"), files={"a.toml": BAD_UTF8}),
    Case("toml-utf16", RUN, ("a.toml", "UTF-8"),
         files={"a.toml": analysis().encode("utf-16")}),
    Case("toml-empty", RUN, ("kind",), files={"a.toml": ""}),
    Case("analysis-missing-kind", RUN, ("kind",), files={"a.toml": analysis(kind=None)}),
    Case("analysis-unknown-kind", RUN, ("analysis kind", "histogram"),
         files={"a.toml": analysis(kind='"histogram"')}),
    Case("analysis-name-climbs-out", RUN, ("name", "../../x"),
         files={"a.toml": analysis(name='"../../x"')}),
    Case("analysis-name-absolute", RUN, ("name", "/tmp/x"),
         files={"a.toml": analysis(name='"/tmp/x"')}),
    Case("analysis-name-with-slash", RUN, ("name", "a/b"), files={"a.toml": analysis(name='"a/b"')}),
    Case("analysis-name-empty", RUN, ("name",), files={"a.toml": analysis(name='""')}),
    Case("analysis-name-dotfile", RUN, ("name", ".hidden"),
         files={"a.toml": analysis(name='".hidden"')}),
    Case("analysis-missing-title", RUN, ("title",), files={"a.toml": analysis(title=None)}),
    Case("analysis-schema-version", RUN, ("schema_version",),
         files={"a.toml": analysis(schema_version="2")}),
    Case("analysis-typo-key", RUN, ("detektors",), files={"a.toml": analysis(detektors='["CsI"]')}),
    Case("analysis-unknown-detector", RUN, ("NaI",), files={"a.toml": analysis(detectors='["NaI"]')}),
    Case("analysis-no-detectors", RUN, ("detectors",), files={"a.toml": analysis(detectors="[]")}),
    Case("analysis-run-years-negative", RUN, ("source.run_years",),
         files={"a.toml": analysis("[source]\nrun_years = -1\n")}),
    Case("analysis-run-years-inf", RUN, ("source.run_years", "finite"),
         files={"a.toml": analysis("[source]\nrun_years = inf\n")}),
    Case("analysis-baseline-zero", RUN, ("source.baseline_m",),
         files={"a.toml": analysis("[source]\nbaseline_m = 0\n")}),
    Case("analysis-unknown-source", RUN, ("nowhere",),
         files={"a.toml": analysis('[source]\npreset = "nowhere"\n')}),
    Case("analysis-source-preset-list", RUN, ("source.preset", "valid string"),
         files={"a.toml": analysis("[source]\npreset = []\n")}),
    Case("analysis-source-preset-table", RUN, ("source.preset", "valid string"),
         files={"a.toml": analysis("[source]\npreset = {}\n")}),
    Case("analysis-source-typo", RUN, ("run_yeras",),
         files={"a.toml": analysis("[source]\nrun_yeras = 1\n")}),
    Case("analysis-sin2-nan", RUN, ("sin2_theta_w", "finite"),
         files={"a.toml": analysis(sin2_theta_w="nan")}),
    Case("analysis-sin2-text", RUN, ("sin2_theta_w",),
         files={"a.toml": analysis(sin2_theta_w='"abc"')}),
    Case("analysis-helm-skin-negative", RUN, ("helm_skin_fm",),
         files={"a.toml": analysis(helm_skin_fm="-1")}),
    Case("analysis-override-negative-mass", RUN, ("mass_kg",),
         files={"a.toml": analysis("[detector_overrides.CsI]\nmass_kg = -1\n")}),
    Case("analysis-override-typo", RUN, ("treshold_keVnr",),
         files={"a.toml": analysis("[detector_overrides.CsI]\ntreshold_keVnr = 1\n")}),
    Case("analysis-override-other-detector", RUN, ("detector_overrides", "Xe"),
         files={"a.toml": analysis("[detector_overrides.Xe]\nmass_kg = 1\n")}),
    # -- preset files -------------------------------------------------------------------------------
    Case("preset-folder", ("spectra", "--presets", "{d}/sub"), ("sub", "folder"),
         files={"sub/keep": ""}),
    Case("preset-syntax", PRESET, ("p.toml", "not valid TOML"), files={"p.toml": "[detector.\n"}),
    Case("preset-not-utf8", PRESET, ("p.toml", "UTF-8"), files={"p.toml": BAD_UTF8}),
    Case("preset-no-schema-version", PRESET, ("schema_version",),
         files={"p.toml": preset(header="")}),
    Case("preset-unknown-table", PRESET, ("detectors",),
         files={"p.toml": preset(extra="[detectors.X]\nmass_kg = 1\n")}),
    Case("preset-negative-mass", PRESET, ("detector.Mine.mass_kg",),
         files={"p.toml": preset(replace(DETECTOR, "mass_kg = 10.0", "mass_kg = -1.0"))}),
    Case("preset-infinite-mass", PRESET, ("detector.Mine.mass_kg", "finite"),
         files={"p.toml": preset(replace(DETECTOR, "mass_kg = 10.0", "mass_kg = inf"))}),
    Case("preset-unknown-element", PRESET, ("Unobtainium",),
         files={"p.toml": preset(replace(DETECTOR, '"Cs"', '"Unobtainium"'))}),
    Case("preset-typo-key", PRESET, ("treshold_keVnr",),
         files={"p.toml": preset(replace(DETECTOR, "threshold_keVnr", "treshold_keVnr"))}),
    Case("preset-threshold-text", PRESET, ("threshold_keVnr",),
         files={"p.toml": preset(replace(DETECTOR, "threshold_keVnr = 1.0",
                                         'threshold_keVnr = "low"'))}),
    Case("preset-efficiency-nan", PRESET, ("efficiency",),
         files={"p.toml": preset(replace(DETECTOR, "efficiency = 0.8", "efficiency = nan"))}),
    Case("preset-source-baseline-zero", ("spectra", "--presets", "{d}/p.toml", "--source", "S"),
         ("source.S.baseline_m",),
         files={"p.toml": "schema_version = 1\n[source.S]\nbaseline_m = 0\n"}),
    Case("preset-source-typo", ("spectra", "--presets", "{d}/p.toml", "--source", "S"),
         ("baseline",), files={"p.toml": "schema_version = 1\n[source.S]\nbaseline = 20\n"}),
]


def _snapshot(root: Path) -> dict[str, int]:
    """Every file under ``root`` (except the output folder ``out``) with its size."""
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*")
            if p.is_file() and p.relative_to(root).parts[0] != "out"}


def _run(case: Case, base: Path):
    d = base / case.id
    d.mkdir()
    for rel, content in case.files.items():
        path = d / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    before = _snapshot(d)
    args = [a.replace("{d}", str(d)) for a in case.args]
    env = {k: v for k, v in os.environ.items() if k != "CEVNS_DEBUG"}
    res = subprocess.run([*CEVNS, *args], capture_output=True, text=True, cwd=d, env=env,
                         timeout=300)
    return res, before, _snapshot(d), d


def run_cases(cases, base: Path) -> dict:
    """Run every case of ``cases`` (a subprocess each, as many at once as there are cores) in its
    own folder under ``base``: ``{case id: (result, files before, files after, folder)}``."""
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        futures = {c.id: pool.submit(_run, c, base) for c in cases}
        return {k: f.result() for k, f in futures.items()}


def check_refused(case: Case, result) -> None:
    """The checks every bad input must pass: its exit status, one ``error:`` line naming the
    offending thing, no traceback, nothing written outside the output folder."""
    res, before, after, folder = result
    err = res.stderr
    assert res.returncode == case.code, (res.returncode, err)
    assert "Traceback" not in err and "internal error" not in err, err
    assert "error:" in err, err
    for word in case.names:
        assert word in err, (word, err)
    assert after == before, f"files written outside the output folder: {set(after) - set(before)}"
    assert not res.stdout.strip() or "error" not in res.stdout, res.stdout


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return run_cases(CASES, tmp_path_factory.mktemp("bad-inputs"))


def test_battery_is_large_and_ids_unique():
    assert len({c.id for c in CASES}) == len(CASES) >= 60


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case, results):
    check_refused(case, results[case.id])
