"""Every number the README shows is recomputed here (docs/contributing.md: regression-test shown numbers)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cevns.rates import sm_spectrum

README = Path(__file__).resolve().parents[1] / "README.md"


def _event_table() -> dict[str, list[float]]:
    rows = {}
    for line in README.read_text().splitlines():
        m = re.match(r"\| (CsI|Xe|Ge|Si|Ar|C3F8) \| (\d+) \|(.*)\|$", line)
        if m:
            rows[m.group(1)] = [float(m.group(2))] + [float(x) for x in m.group(3).split("|")]
    return rows


def test_readme_event_table_is_current():
    rows = _event_table()
    assert set(rows) == {"CsI", "Xe", "Ge", "Si", "Ar", "C3F8"}
    for name, (bins, numu, nue, numubar, signal, background) in rows.items():
        spec = sm_spectrum(name)
        assert bins == len(spec.background)
        flav = spec.per_flavour
        assert [numu, nue, numubar] == pytest.approx([flav["numu"], flav["nue"], flav["numubar"]],
                                                     abs=0.006)
        assert signal == pytest.approx(spec.total_signal, abs=0.006)
        assert background == pytest.approx(spec.total_background, abs=0.006)
