"""The toy-coverage input of the comparison table (cevns.fits.report.check_coverage, audit 5 #3):
unknown releases, parameters and keys are refused, naming them and the valid ones."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from cevns.errors import ConfigError, UnknownNameError
from cevns.fits.report import check_coverage, load_coverage

SHIPPED = Path(__file__).resolve().parents[2] / "docs" / "coherent_coverage.json"


@pytest.fixture
def shipped():
    return json.loads(SHIPPED.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("change", "error", "message"), [
    # a typo next to the real key was read past: the table showed the real key's number
    (lambda d: d["coherent-csi-2017"]["n_cevns"].__setitem__("covrage", 0.6), UnknownNameError,
     r"unknown key in --coverage\.coherent-csi-2017\.n_cevns 'covrage' \(did you mean "
     r"'coverage'\?\); valid choices: .*coverage_90.*n_toys"),
    (lambda d: d.__setitem__("coherent-bogus", d["coherent-csi-2017"]), UnknownNameError,
     r"unknown release in --coverage 'coherent-bogus'; valid choices: coherent-csi-2017, "
     r"coherent-csi-2021, coherent-lar-2020"),
    (lambda d: d["coherent-csi-2017"].__setitem__("bogus_param", d["coherent-csi-2017"]["n_cevns"]),
     UnknownNameError, r"unknown fit parameter in --coverage\.coherent-csi-2017 'bogus_param'; "
                       r"valid choices: .*n_cevns.*sin2_theta_w"),
    (lambda d: d["coherent-lar-2020"].__setitem__("neutron_radius_fm",
                                                  d["coherent-csi-2017"]["n_cevns"]),
     ConfigError, r"--coverage\.coherent-lar-2020\.neutron_radius_fm: fit parameter "
                  r"'neutron_radius_fm' is fitted for coherent-csi-2017, coherent-csi-2021 only"),
])
def test_unknown_names_are_refused(tmp_path, shipped, change, error, message):
    assert load_coverage(SHIPPED) == shipped  # the shipped file, as it is, is accepted
    doc = copy.deepcopy(shipped)
    change(doc)
    with pytest.raises(error, match=message):
        check_coverage(doc, "--coverage")
    path = tmp_path / "c.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(error, match=message):
        load_coverage(path)
