"""Shipped data are verified: the SHA-256 manifest is complete, and a modified file is an error."""

from __future__ import annotations

import shutil

import pytest

from cevns import integrity
from cevns.datasets import load_release
from cevns.errors import DataError

LAR = "datasets/coherent/data/lar-2020"


def test_manifest_lists_every_packaged_data_file_with_its_current_digest():
    # fails after any change of a shipped file: run `python -m cevns.integrity` and commit
    assert integrity.check_all() == []
    names = set(integrity.manifest())
    assert {"data/nuclei.toml", "presets/ess.toml", "presets/coherent.toml",
            "fits/published.toml", "datasets/coherent/supplementary.toml",
            f"{LAR}/cevnspdf.txt"} <= names


def _modified_lar_copy(tmp_path):
    copy = tmp_path / "lar-2020"
    shutil.copytree(integrity.package_root() / LAR, copy)
    pdf = copy / "cevnspdf.txt"
    lines = pdf.read_text().splitlines(keepends=True)
    e, f, t, value = lines[1].split()
    # one in-range value changed by 1 %: the format is intact, only the checksum can tell
    lines[1] = f"{e} {f} {t} {float(value) * 1.01:.6g}\n"
    pdf.write_text("".join(lines))
    return copy


def test_modified_packaged_file_is_a_data_error_naming_it(tmp_path, monkeypatch):
    from cevns.datasets.coherent import _common

    copy = _modified_lar_copy(tmp_path)
    with pytest.raises(DataError, match=r"cevnspdf\.txt.*modified"):
        integrity.verify_tree(copy, LAR)
    # as if the installed package had been edited: loading the release refuses it
    monkeypatch.setattr(_common, "_package_folder", lambda release: copy)
    with pytest.raises(DataError, match=r"cevnspdf\.txt"):
        load_release("coherent-lar-2020")


def test_users_own_copy_is_checked_for_format_not_checksum(tmp_path):
    copy = _modified_lar_copy(tmp_path)
    release = load_release("coherent-lar-2020", data_dir=copy)  # a user's data: accepted
    assert release.observed.counts.sum() > 0
    (copy / "cevnspdf.txt").write_text("5 0.525 0.15\n")  # truncated: a format error
    with pytest.raises(DataError, match="cevnspdf.txt"):
        load_release("coherent-lar-2020", data_dir=copy)


def test_modified_nuclei_table_is_refused(tmp_path):
    src = integrity.package_root() / "data" / "nuclei.toml"
    copy = tmp_path / "nuclei.toml"
    copy.write_text(src.read_text().replace("55", "56", 1))
    with pytest.raises(DataError, match="nuclei.toml"):
        integrity.verify_file(copy, "data/nuclei.toml")
    integrity.verify_file(src, "data/nuclei.toml")  # the shipped one passes


def test_unlisted_file_and_cli(tmp_path, capsys):
    with pytest.raises(DataError, match="not in the checksum manifest"):
        integrity.verify_file(tmp_path / "x.toml", "presets/x.toml")
    assert integrity.main(["--check"]) == 0
    assert "0 problem(s)" in capsys.readouterr().out
    assert integrity.main(["--bogus"]) == 2
