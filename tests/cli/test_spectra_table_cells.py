"""``cevns spectra`` prints counts of any size in cells a terminal can show (audit 5: a tabulated
flux of 10³⁰⁰ /cm²/s printed a 300-digit count), labelled by flavour without the π-DAR roles
("prompt", "delayed") when the source is a tabulated spectrum."""

from __future__ import annotations

import os
import re

from test_audit_cli_fixes import AT_DETECTOR  # a source given at the detector
from test_output_safety import cevns  # the same subprocess helper


def test_huge_counts_are_printed_with_an_exponent_and_small_ones_with_one_decimal(tmp_path):
    (tmp_path / "f.csv").write_text("energy_MeV,numu\n0,0\n10,1e300\n50,1e300\n")
    (tmp_path / "p.toml").write_text(AT_DETECTOR.format(csv="f.csv"))
    res = cevns("spectra", "-d", "CsI", "--source", "R", "--presets", "p.toml", cwd=tmp_path,
                env={**os.environ, "COLUMNS": "200"})
    assert res.returncode == 0, res.stderr
    row = next(line for line in res.stdout.splitlines() if "CsI" in line)
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    assert re.fullmatch(r"\d\.\d{3}e\+29\d", cells[2]), cells  # the ν_μ count, ~1e297
    assert cells[2] == cells[3]  # the only flavour is the whole CEvNS count
    assert re.fullmatch(r"\d+\.\d", cells[4]), cells  # the background: below 1e9, one decimal
    assert max(len(line) for line in res.stdout.splitlines()) < 120
    # a tabulated ν_μ spectrum is no π-DAR "prompt" line
    assert "ν_μ" in res.stdout and "prompt" not in res.stdout
