"""Audit 11: the output folder and the files of ``cevns fit``.

B. The fit's figures (``fits/report.py`` ``_save``) and tables were written straight onto their
   final names: a write that failed or was interrupted half-way left a truncated file where the
   earlier run's good one had been. They go through a temporary file and a rename now.
C. A ``cevns fit`` that failed after claiming its folder left only ``config.json``, and the
   corrected command (another configuration) was refused as "holds results of a different
   configuration … use --force" although nothing had been computed.
"""

from __future__ import annotations

import io
import json
import os
import subprocess

import pytest
from installed import CEVNS  # the environment's installed command

from cevns.fits import report


def cevns(*args, cwd=None):
    """``cevns`` as a user runs it (the subprocess helpers of tests/cli/test_output_safety.py)."""
    return subprocess.run([*CEVNS, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


class _InterruptedFigure:
    """A figure whose drawing stops half-way, after part of the file is written."""

    def savefig(self, target, **kwargs):
        if isinstance(target, (str, os.PathLike)):
            with open(target, "wb") as fh:
                fh.write(b"\x89PNG half")
        else:
            target.write(b"\x89PNG half")
        raise KeyboardInterrupt


def test_an_interrupted_fit_figure_keeps_the_earlier_one(tmp_path):
    # guards: _save wrote fig.savefig(final path): an interrupt while the PNG/PDF was written
    # truncated the figure of the earlier run; now the earlier file stays, with no temporary,
    # and a complete write is the PNG that savefig makes (the round trip)
    fig, ax = report._figure(1, 1, figsize=(3.0, 2.0))
    ax.plot([0, 1], [1, 0])
    paths = report._save(fig, tmp_path, "profile_x", pdf=True)
    assert paths == [tmp_path / "profile_x.png", tmp_path / "profile_x.pdf"]
    png, pdf = (p.read_bytes() for p in paths)
    expected = io.BytesIO()
    fig.savefig(expected, format="png", dpi=130, bbox_inches="tight")
    assert png == expected.getvalue() and pdf.startswith(b"%PDF")
    with pytest.raises(KeyboardInterrupt):
        report._save(_InterruptedFigure(), tmp_path, "profile_x", pdf=True)
    assert [p.read_bytes() for p in paths] == [png, pdf]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["profile_x.pdf", "profile_x.png"]


def test_a_failed_fit_table_keeps_the_earlier_one(tmp_path):
    # guards: fit.csv was opened for writing (emptied) before its rows were formatted: an error
    # in a row left a header without rows in place of the earlier table
    class Unprintable:
        def __str__(self):
            raise RuntimeError("no text")

    path = report._write_csv([{"parameter": "n_cevns", "best": 127.1}], tmp_path / "fit.csv")
    before = path.read_text()
    assert before.splitlines() == ["parameter,best", "n_cevns,127.1"]
    with pytest.raises(RuntimeError, match="no text"):
        report._write_csv([{"parameter": "n_cevns", "best": Unprintable()}], path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["fit.csv"]


def test_a_fit_that_failed_after_claiming_its_folder_does_not_block_the_next(tmp_path):
    # guards the audit's reproducer: the failed fit left only config.json, and the corrected
    # command was refused as "a different configuration"; a folder with results still is
    failed = cevns("fit", "coherent-csi-2017", "-p", "sm.sin2_theta_w", "--range",
                   "0.2,0.2000000001", "--out", "f1", cwd=tmp_path)
    assert failed.returncode == 2, failed.stderr
    assert sorted(p.name for p in (tmp_path / "f1").iterdir()) == ["config.json"]
    res = cevns("fit", "coherent-csi-2017", "-p", "n_cevns", "--out", "f1", "--no-figures",
                cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert json.loads((tmp_path / "f1" / "config.json").read_text())["parameters"] == ["n_cevns"]
    record = json.loads((tmp_path / "f1" / "provenance.json").read_text())
    assert record["parameters"] == ["n_cevns"] and "fit.csv" in record["files"]
    # the folder now holds results: another configuration is refused again (before any fit)
    res = cevns("fit", "coherent-csi-2017", "-p", "sm.sin2_theta_w", "--out", "f1",
                "--no-figures", cwd=tmp_path)
    assert res.returncode == 2 and "different configuration" in res.stderr, res.stderr
    assert json.loads((tmp_path / "f1" / "config.json").read_text())["parameters"] == ["n_cevns"]


def test_reproduce_takes_a_folder_a_failed_fit_only_claimed(tmp_path):
    # the claim of a failed fit (config.json alone) is no result: reproduce uses the folder and
    # drops the stale claim; a folder with a fit's results is still refused
    out = tmp_path / "f1"
    bad = subprocess.run([*CEVNS, "fit", "coherent-csi-2017", "-p", "sm.sin2_theta_w", "--range",
                          "0.2,0.2000000001", "--out", str(out)],
                         capture_output=True, text=True, timeout=600)
    assert bad.returncode == 2 and sorted(p.name for p in out.iterdir()) == ["config.json"]
    res = subprocess.run([*CEVNS, "reproduce", "--only", "events", "--no-figures",
                          "--executor", "serial", "--out", str(out)],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    assert not (out / "config.json").exists() and (out / "index.json").is_file()
