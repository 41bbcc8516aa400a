"""write_table: rows with different columns (a profile reference for some detectors only)."""

from __future__ import annotations

import csv

from cevns.analyses.output import write_table


def test_rows_with_different_columns(tmp_path):
    rows = [{"detector": "CsI", "best": 0.2386, "paper": 0.2391},
            {"detector": "Xe", "best": 0.2385},
            {"detector": "combined", "best": 0.2386, "note": "all six"}]
    csv_path, md_path = write_table(rows, tmp_path, "t")
    with csv_path.open() as fh:
        back = list(csv.DictReader(fh))
    assert list(back[0]) == ["detector", "best", "paper", "note"]
    assert back[1]["paper"] == "" and back[2]["note"] == "all six"
    md = md_path.read_text().splitlines()
    assert md[0] == "| detector | best | paper | note |"
    assert md[3] == "| Xe | 0.2385 |  |  |"
