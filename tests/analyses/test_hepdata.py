"""HEPData submission of reproduced results: written with hepdata-lib, checked by hepdata-validator.

The default run converts a small results folder holding one analysis of every kind; the ``slow``
test converts the whole paper (``cevns reproduce --quick``).
"""

from __future__ import annotations

import csv
import tarfile
import warnings

import numpy as np
import pytest
import yaml

from cevns.analyses import RunOptions, parse_analysis, run_analysis
from cevns.analyses.catalogue import shipped_analysis
from cevns.analyses.hepdata import validate_submission, write_hepdata
from cevns.errors import ConfigError, DataError

pytest.importorskip("hepdata_lib")
pytest.importorskip("hepdata_validator")

HEAD = {"schema_version": 1, "title": "test item", "paper": "Fig. X"}
ANALYSES = [
    {"name": "spec", "kind": "spectra", "detectors": ["CsI", "Ar"]},
    {"name": "events", "kind": "event-table", "detectors": ["CsI", "Ar"]},
    {"name": "prof", "kind": "profile", "detectors": ["CsI", "Ar"], "scenario": {"name": "sm"},
     "reference": {"CsI": [0.22, 0.26], "Ar": [0.2, 0.3], "combined": [0.23, 0.25]},
     "scan": {"parameter": "sin2_theta_w", "start": 0.2, "stop": 0.28, "num": 44}},
    {"name": "grid", "kind": "scan2d", "detectors": ["Ar"],
     "scenario": {"name": "sm", "options": {"form_factor": "separate"}},
     "x": {"parameter": "sin2_theta_w", "start": 0.2, "stop": 0.28, "num": 44},
     "y": {"parameter": "neutron_radius_fm", "start": 3.0, "stop": 4.5, "num": 44}},
    {"name": "excl", "kind": "exclusion", "detectors": ["CsI", "Ar"],
     "scenario": {"name": "ngi", "options": {"interaction": "scalar"}},
     "variants": [{"label": "scalar", "options": {"interaction": "scalar"}},
                  {"label": "vector", "options": {"interaction": "vector"}}],
     "x": {"parameter": "mediator_mass_MeV", "start": 0.1, "stop": 1e3, "num": 44,
           "spacing": "log"},
     "y": {"parameter": "coupling", "start": 1e-7, "stop": 1e-2, "num": 44, "spacing": "log"}},
]


#: shipped items of the kinds not in ANALYSES (Fig. 3: running; App. B4: threshold-study)
SHIPPED = ["fig3", "appB4"]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    for doc in ANALYSES:
        an = parse_analysis({**HEAD, **doc})
        run_analysis(an, root / an.name, RunOptions(quick=True))
    for name in SHIPPED:  # the kinds with one shipped item each: running, threshold-study
        run_analysis(shipped_analysis(name), root / name, RunOptions(quick=True))
    return root


@pytest.fixture(scope="module")
def submission(results, tmp_path_factory):
    return write_hepdata(results, tmp_path_factory.mktemp("hepdata"))  # validates the archive


def _table(sub, name):
    docs = list(yaml.safe_load_all((sub.directory / "submission.yaml").read_text()))
    entry = next(d for d in docs[1:] if d["name"] == name)
    return entry, yaml.safe_load((sub.directory / entry["data_file"]).read_text())


def test_submission_is_valid_and_complete(submission):
    validate_submission(submission.directory)  # the folder, too
    assert sorted(submission.items) == ["appB4", "events", "excl", "fig3", "grid", "prof", "spec"]
    assert set(submission.tables) == {"spec CsI", "spec Ar", "events", "prof profile",
                                      "prof intervals", "grid Ar", "excl scalar", "excl vector",
                                      "fig3 running", "fig3 points", "appB4"}
    with tarfile.open(submission.archive) as tar:
        names = set(tar.getnames())
    assert {"submission.yaml", "spec.png", "fig3.png", "appB4.png"} <= names
    assert all(f"{t.lower().replace(' ', '_')}.yaml" in names for t in submission.tables)


def test_spectrum_table_numbers(submission, results):
    entry, data = _table(submission, "spec CsI")
    assert entry["location"] == "Fig. X"
    assert "--quick" in entry["description"]  # the fixture ran with RunOptions(quick=True)
    assert entry["additional_resources"][0]["location"] == "spec.png"
    with open(results / "spec" / "spec_spectra.csv") as fh:
        rows = [r for r in csv.DictReader(fh) if r["detector"] == "CsI"]
    ind = data["independent_variables"][0]
    assert ind["header"]["units"] == "keVnr"
    assert [v["low"] for v in ind["values"]] == pytest.approx(
        [float(r["lower_keVnr"]) for r in rows], rel=1e-7)  # 8 significant digits
    sig = next(d for d in data["dependent_variables"] if d["header"]["name"].startswith("CEvNS (all"))
    assert [v["value"] for v in sig["values"]] == pytest.approx([float(r["signal"]) for r in rows],
                                                                rel=1e-7)


def test_profile_and_interval_tables(submission, results):
    entry, data = _table(submission, "prof profile")
    assert "1 dof" in entry["description"] and "0.9 CL" in entry["description"]
    dets = [d["qualifiers"][0]["value"] for d in data["dependent_variables"]]
    assert dets == ["CsI", "Ar", "combined"]
    _, inter = _table(submission, "prof intervals")
    assert [v["value"] for v in inter["independent_variables"][0]["values"]] == \
        ["CsI", "Ar", "combined"]
    names = [d["header"]["name"] for d in inter["dependent_variables"]]
    assert {"best", "lower", "upper", "paper_lower", "paper_upper"} <= set(names)
    paper_lower = next(d for d in inter["dependent_variables"]
                       if d["header"]["name"] == "paper_lower")
    assert [v["value"] for v in paper_lower["values"]] == [0.22, 0.2, 0.23]
    best = next(d for d in inter["dependent_variables"] if d["header"]["name"] == "best")
    with open(results / "prof" / "prof.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [v["value"] for v in best["values"]] == pytest.approx([float(r["best"]) for r in rows],
                                                                 rel=1e-7)
    assert "units" not in best["header"]  # sin²θ_W is dimensionless


def test_scan_and_exclusion_tables(submission, results):
    import xarray as xr

    entry, grid = _table(submission, "grid Ar")
    with xr.open_dataset(results / "grid" / "grid_Ar.nc", engine="netcdf4") as ds:
        delta = ds["delta_chi2"].values
    x, y = grid["independent_variables"]
    assert y["header"]["units"] == "fm"
    assert len(x["values"]) == delta.size
    got = np.array([v["value"] for v in grid["dependent_variables"][0]["values"]])
    np.testing.assert_allclose(got, delta.ravel(), rtol=1e-7, atol=1e-300)
    entry, ex = _table(submission, "excl vector")
    quals = {q["name"]: q["value"] for q in ex["dependent_variables"][0]["qualifiers"]}
    assert quals["CL"] == "0.9" and quals["dof"] == "2" and quals["variant"] == "vector"
    with open(results / "excl" / "excl.csv") as fh:
        rows = [r for r in csv.DictReader(fh) if r["variant"] == "vector"]
    masses = [v["value"] for v in ex["independent_variables"][0]["values"]]
    for dep in ex["dependent_variables"]:
        det = {q["name"]: q["value"] for q in dep["qualifiers"]}["detector"]
        expect = {float(r["mass_MeV"]): float(r["coupling"]) for r in rows if r["detector"] == det}
        for m, v in zip(masses, dep["values"], strict=True):
            match = [k for k in expect if k == pytest.approx(m, rel=1e-7)]
            if match:
                assert v["value"] == pytest.approx(expect[match[0]], rel=1e-7)
            else:
                assert v["value"] == "-"


def test_running_tables(submission, results):
    """Fig. 3: the curve and the points with their asymmetric errors, as in the item's CSVs."""
    _, curve = _table(submission, "fig3 running")
    with open(results / "fig3" / "fig3_curve.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    mu = [v["value"] for v in curve["independent_variables"][0]["values"]]
    s2 = [v["value"] for v in curve["dependent_variables"][0]["values"]]
    np.testing.assert_allclose(mu, [float(r["mu_GeV"]) for r in rows], rtol=1e-7)
    np.testing.assert_allclose(s2, [float(r["sin2_theta_w_msbar"]) for r in rows], rtol=1e-7)
    _, points = _table(submission, "fig3 points")
    with open(results / "fig3" / "fig3.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    names = [v["value"] for v in points["independent_variables"][0]["values"]]
    assert names == [r["item"] for r in rows]
    value = next(d for d in points["dependent_variables"]
                 if d["header"]["name"] == r"$\sin^2\theta_W$")["values"]
    for row, cell in zip(rows, value, strict=True):
        assert cell["value"] == pytest.approx(float(row["sin2_theta_w"]), rel=1e-7)
        (err,) = cell["errors"]
        if "symerror" in err:  # hepdata-lib writes equal errors as one symmetric error
            lo = hi = err["symerror"]
        else:
            lo, hi = -err["asymerror"]["minus"], err["asymerror"]["plus"]
        assert lo == pytest.approx(float(row["error_minus"]), rel=1e-7)
        assert hi == pytest.approx(float(row["error_plus"]), rel=1e-7)


def test_threshold_study_table(submission, results):
    _, table = _table(submission, "appB4")
    with open(results / "appB4" / "appB4.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    keys = [v["value"] for v in table["independent_variables"][0]["values"]]
    assert keys == [f"{r['detector']}: {r['case']}, {r['quantity']}" for r in rows]
    cols = {d["header"]["name"]: [v["value"] for v in d["values"]]
            for d in table["dependent_variables"]}
    np.testing.assert_allclose(cols["ratio raised / nominal"],
                               [float(r["improvement"]) for r in rows], rtol=1e-7)
    np.testing.assert_allclose(cols["at the raised threshold"],
                               [float(r["at_raised"]) for r in rows], rtol=1e-7)


def test_errors(results, tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        write_hepdata(results, tmp_path / "h", items=["fig99"])
    with pytest.raises(DataError, match="no result folders"):
        write_hepdata(tmp_path, tmp_path / "h")
    with pytest.raises(DataError, match="does not exist"):
        write_hepdata(tmp_path / "missing", tmp_path / "h")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "submission.yaml").write_text("---\ncomment: x\n---\nname: t\ndata_file: t.yaml\n")
    with pytest.raises(DataError, match="invalid"):
        validate_submission(bad)


def test_a_submission_not_written_by_cevns_is_never_replaced(results, tmp_path):
    """write_hepdata replaces the YAML files of its own earlier submission, never those of a
    submission/ folder or a submission.tar.gz it did not write (no marker file)."""
    from cevns.analyses.hepdata import SUBMISSION_MARKER
    from cevns.errors import OutputError

    again = tmp_path / "again"  # our own submission: written twice, the second replaces it
    write_hepdata(results, again, items=["events"], validate=False)
    out = write_hepdata(results, again, items=["events"], validate=False)
    assert (again / SUBMISSION_MARKER).is_file() and out.archive.is_file()
    mine = tmp_path / "mine" / "submission"
    mine.mkdir(parents=True)
    (mine / "submission.yaml").write_text("my own\n")
    with pytest.raises(OutputError, match="not written by cevns"):
        write_hepdata(results, mine.parent, items=["events"], validate=False)
    assert (mine / "submission.yaml").read_text() == "my own\n"
    archive_only = tmp_path / "tar"
    archive_only.mkdir()
    (archive_only / "submission.tar.gz").write_bytes(b"mine")
    with pytest.raises(OutputError, match="submission.tar.gz"):
        write_hepdata(results, archive_only, items=["events"], validate=False)
    assert (archive_only / "submission.tar.gz").read_bytes() == b"mine"
    assert not (archive_only / "submission").exists()


def test_import_keeps_warning_filters():
    import sys

    before = list(warnings.filters)
    sys.modules.pop("hepdata_lib", None)
    from cevns.analyses.hepdata import _lib

    _lib()
    assert warnings.filters == before


@pytest.mark.slow
def test_whole_paper_quick(tmp_path):
    from typer.testing import CliRunner

    from cevns.analyses import item_names
    from cevns.cli import app

    out = tmp_path / "results"
    res = CliRunner().invoke(app, ["reproduce", "--quick", "--out", str(out)])
    assert res.exit_code == 0, res.output
    sub = write_hepdata(out / "quick", tmp_path / "hepdata")  # --quick writes into OUT/quick
    assert sub.items == item_names()
    validate_submission(sub.directory)


def test_missing_hepdata_extra_is_refused_before_anything_runs(tmp_path, monkeypatch):
    """`cevns reproduce --hepdata` without the extra: exit 2 naming the extra, nothing written."""
    import importlib.util

    from typer.testing import CliRunner

    from cevns.analyses.hepdata import require_hepdata
    from cevns.cli import app
    from cevns.errors import MissingDependencyError

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "hepdata_lib" else real(name, *a))
    with pytest.raises(MissingDependencyError, match=r"pip install 'cevns\[hepdata\]'"):
        require_hepdata()
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["reproduce", "--only", "events", "--out", str(out),
                                      "--hepdata", str(tmp_path / "hd")])
    assert result.exit_code != 0
    assert isinstance(result.exception, MissingDependencyError)
    assert not out.exists()


def test_every_shipped_kind_is_convertible():
    """`reproduce --hepdata` checks the kinds before computing: every shipped item passes, an
    unknown kind (e.g. a plug-in's) is refused by name."""
    from cevns.analyses import item_names
    from cevns.analyses.hepdata import check_convertible

    check_convertible([shipped_analysis(n).kind for n in item_names()])
    with pytest.raises(ConfigError, match=r"my-kind.*convertible kinds: spectra"):
        check_convertible(["profile", "my-kind"])
