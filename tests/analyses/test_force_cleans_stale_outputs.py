"""Audit 6, A1: results forced over those of another configuration leave none of the old files
beside the new ones; files cevns did not write stay.

``cevns run p.toml --out of`` and then, after changing the analysis (detectors CsI → Ar),
``cevns run p.toml --out of --force`` left the CsI figure ``p.png`` and table
``p_profile_CsI.csv`` beside the Ar results, while ``provenance.json`` listed only the new files.
The files the old record lists that the new run does not write are now removed (the mechanism of
``cevns fit``: :func:`cevns.provenance.remove_stale_outputs`), in ``cevns run``, in each item
folder of ``cevns reproduce --force`` and in :func:`cevns.analyses.run_analysis`; any other file
(a user's own, also one named like the outputs) survives.

Also audit 6, E: a ``config.json`` analysis file with a key given twice is refused (TOML refuses
it too), instead of running with the last value.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import pytest
from test_reproduce_resume import _run  # the same subprocess helper (python -m cevns.cli)

from cevns.errors import ConfigError

PROFILE = """schema_version = 1
name = "p"
title = "audit 6 force"
kind = "profile"
detectors = ["{detector}"]
scenario = {{ name = "sm" }}
scan = {{ parameter = "sin2_theta_w", start = 0.18, stop = 0.30, num = 5 }}
"""

USER_FILES = {"notes.txt": "my notes\n", "p_mine.csv": "a,b\n1,2\n"}


def _listed(out: Path) -> set[str]:
    return set(json.loads((out / "provenance.json").read_text())["files"])


def _files(out: Path) -> set[str]:
    return {p.name for p in out.iterdir() if p.is_file()}


def _add_user_files(folder: Path) -> None:
    for name, text in USER_FILES.items():
        (folder / name).write_text(text)


def _user_files_kept(folder: Path) -> None:
    for name, text in USER_FILES.items():
        assert (folder / name).read_text() == text, name


def test_run_force_over_another_configuration_removes_its_outputs(tmp_path):
    toml = tmp_path / "p.toml"
    toml.write_text(PROFILE.format(detector="CsI"))
    res = _run("run", "p.toml", "--out", "of", "--executor", "serial", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    out = tmp_path / "of"
    assert {"p.png", "p_profile_CsI.csv"} <= _listed(out)
    _add_user_files(out)
    toml.write_text(PROFILE.format(detector="Ar"))
    res = _run("run", "p.toml", "--out", "of", "--force", "--no-figures", "--executor",
               "serial", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    files = _files(out)
    assert "p.png" not in files and "p_profile_CsI.csv" not in files, files
    assert "p_profile_Ar.csv" in files
    _user_files_kept(out)
    # the folder holds what its record lists, the record itself and the user's files
    assert files == _listed(out) | {"config.json", "provenance.json", *USER_FILES}


def _analysis(detector: str):
    from cevns.analyses import parse_analysis

    return parse_analysis(tomllib.loads(PROFILE.format(detector=detector)), where="p.toml")


def test_run_analysis_force_removes_only_files_the_old_record_lists(tmp_path):
    from cevns.analyses import RunOptions, run_analysis

    out = tmp_path / "out"
    options = RunOptions(no_figures=True)
    first = run_analysis(_analysis("CsI"), out, options)
    assert "p_profile_CsI.csv" in first["files"]
    _add_user_files(out)
    # a link named like an old output, and a name the old record lists outside the folder or
    # in a subfolder (a hand-edited record): none of them is removed
    (tmp_path / "elsewhere.csv").write_text("keep\n")
    (out / "p_link.csv").symlink_to(tmp_path / "elsewhere.csv")
    (out / "sub").mkdir()
    (out / "sub" / "x.csv").write_text("keep\n")
    record = json.loads((out / "provenance.json").read_text())
    record["files"] += ["p_link.csv", "../elsewhere.csv", "sub/x.csv", "sub", 7]
    (out / "provenance.json").write_text(json.dumps(record))
    second = run_analysis(_analysis("Ar"), out, RunOptions(no_figures=True, force=True))
    assert not (out / "p_profile_CsI.csv").exists()
    assert (out / "p_profile_Ar.csv").is_file() and "p_profile_Ar.csv" in second["files"]
    _user_files_kept(out)
    assert os.path.islink(out / "p_link.csv") and (tmp_path / "elsewhere.csv").is_file()
    assert (out / "sub" / "x.csv").is_file()


def test_reproduce_force_removes_an_items_outputs_of_another_configuration(tmp_path):
    out = tmp_path / "R"
    res = _run("reproduce", "--only", "events", "--out", str(out), "--no-figures")
    assert res.returncode == 0, res.stderr
    item = out / "events"
    # the item's folder as an earlier configuration left it: a file the new one does not write
    (item / "events_Old.csv").write_text("old,configuration\n")
    record = json.loads((item / "provenance.json").read_text())
    record["digest"] = "0" * 16
    record["files"].append("events_Old.csv")
    (item / "provenance.json").write_text(json.dumps(record))
    _add_user_files(item)
    res = _run("reproduce", "--only", "events", "--out", str(out), "--no-figures", "--force")
    assert res.returncode == 0, res.stderr
    assert not (item / "events_Old.csv").exists()
    assert (item / "events.csv").is_file()
    _user_files_kept(item)


# -- E: a config.json with a key given twice -------------------------------------------------


@pytest.mark.parametrize("nested", [False, True], ids=["top", "nested"])
def test_config_json_with_a_repeated_key_is_refused(tmp_path, nested):
    from cevns.analyses import load_analysis

    text = json.dumps(_analysis("CsI").model_dump(mode="json"), indent=2)
    if nested:  # a key of the [scan] table given twice
        text = text.replace('"num": 5,', '"num": 5, "num": 7,', 1)
        key = "num"
    else:
        text = text.replace('"name": "p",', '"name": "p", "name": "q",', 1)
        key = "name"
    assert text.count(f'"{key}"') >= 2
    path = tmp_path / "config.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=rf"config\.json: the key '{key}' appears twice"):
        load_analysis(path)
