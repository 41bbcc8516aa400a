"""Audit 11: a detector naming one element twice in ``targets`` is refused (its spectrum had two
targets of one name and could not be read back), and ``replace(formula=...)`` on a detector with
targets takes the formula's targets instead of refusing "give either formula or targets"."""

from __future__ import annotations

import pytest

from cevns.config import validate
from cevns.errors import ConfigError
from cevns.experiment import Detector, detector_names, get_detector

NA_NA = dict(name="NaNa", mass_kg=10, threshold_keVnr=3, efficiency=0.8)


@pytest.mark.parametrize(("targets", "message"), [
    ([{"element": "Na"}, {"element": "Na"}],
     r"targets: element 'Na' is given twice \(targets\[0\] and targets\[1\]\): give one entry "
     r"per element with its atoms_per_molecule, e.g. \{ element = \"Na\", atoms_per_molecule = "
     r"2 \}"),
    # not next to each other, other atom counts: the example sums them
    ([{"element": "Na"}, {"element": "I"}, {"element": "Na", "atoms_per_molecule": 0.5}],
     r"element 'Na' is given twice \(targets\[0\] and targets\[2\]\).*atoms_per_molecule = 1.5 \}"),
    # one natural and one enriched entry of an element would repeat its isotopes as well
    ([{"element": "Ge"}, {"element": "Ge", "enrichment": {"Ge76": 0.88, "Ge74": 0.12}}],
     r"element 'Ge' is given twice \(targets\[0\] and targets\[1\]\)"),
], ids=["adjacent", "apart", "enriched"])
def test_a_repeated_element_is_refused(targets, message):
    # guards: Detector(targets=[Na, Na]) was accepted and gave a Spectrum with the target 'Na23'
    # twice, which from_dataframe / from_xarray could not read back
    with pytest.raises(ConfigError, match=message):
        Detector(**NA_NA, targets=targets)
    # not refusing too much: one entry per element, as the message says, is accepted
    one = {}
    for t in targets:
        one.setdefault(t["element"], {"element": t["element"]})
    det = Detector(**NA_NA, targets=list(one.values()))
    nuclei = [nuc.name for nuc, _ in det.nuclei]
    assert len(set(nuclei)) == len(nuclei)


def test_a_repeated_element_in_a_preset_file_names_its_path():
    # guards: the refusal reads as every preset error does, with the dotted path of the field
    with pytest.raises(ConfigError, match=r"detector\.NaNa\.targets: element 'Na' is given twice"):
        validate(Detector, {**NA_NA, "targets": [{"element": "Na"}, {"element": "Na"}]},
                 where="detector.NaNa")
    # the fix the message gives is accepted, and so is a formula naming an element twice
    # (CH3COOH: parse_formula adds its atoms up)
    det = validate(Detector, {**NA_NA, "targets": [{"element": "Na", "atoms_per_molecule": 2}]},
                   where="detector.NaNa")
    assert [(t.element, t.atoms_per_molecule) for t in det.targets] == [("Na", 2.0)]
    acid = Detector(**{**NA_NA, "name": "acid"}, formula="CH3COOH")
    assert [(t.element, t.atoms_per_molecule) for t in acid.targets] == [("C", 2.0), ("H", 4.0),
                                                                         ("O", 2.0)]
    # every shipped preset still loads, with one entry per element
    for name in detector_names():
        elements = [t.element for t in get_detector(name).targets]
        assert len(set(elements)) == len(elements), name


def test_replace_formula_takes_the_formulas_targets():
    # guards: get_detector("CsI").replace(formula="NaI") failed with "give either formula 'NaI'
    # or targets, not both": the old targets were passed on next to the new formula
    csi = get_detector("CsI")
    nai = csi.replace(formula="NaI")
    assert nai.formula == "NaI"
    assert [(t.element, t.atoms_per_molecule) for t in nai.targets] == [("Na", 1.0), ("I", 1.0)]
    assert [nuc.name for nuc, _ in nai.nuclei] == ["Na23", "I127"]
    assert nai == Detector(**{**csi._fields(), "formula": "NaI", "targets": None})
    # model_copy(update=...) goes the same way; the other fields are kept
    assert csi.model_copy(update={"formula": "NaI"}) == nai
    assert (nai.mass_kg, nai.threshold_keVnr, nai.name) == (csi.mass_kg, csi.threshold_keVnr,
                                                           csi.name)
    # from a detector made from a formula, to another formula
    ge = Detector(**{**NA_NA, "name": "G"}, formula="Ge")
    assert [t.element for t in ge.replace(formula="Si").targets] == ["Si"]
    # targets given with the formula are not dropped: both given must still agree
    same = csi.replace(formula="NaI", targets=[{"element": "Na"}, {"element": "I"}])
    assert [t.element for t in same.targets] == ["Na", "I"]
    with pytest.raises(ConfigError, match=r"give either formula 'NaI' or targets, not both "
                                          r"\(they disagree\)"):
        csi.replace(formula="NaI", targets=[{"element": "Cs"}, {"element": "I"}])
    # no formula change: the targets are kept as they are (a replace of another field)
    assert csi.replace(threshold_keVnr=5.0).targets == csi.targets
    assert csi.replace(formula=None).targets == csi.targets
