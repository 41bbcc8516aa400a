"""``cevns fit --data-dir`` with damaged numbers in the copy (audit 6: C1, D1): one ``error:``
line naming the file and field, exit 2, before any output folder exists. Before, zeros were a
ZeroDivisionError (exit 1, "internal error"; for LAr-2020 after the fit had written part of its
folder) and the other values were reported by the statistics layer without the file. The fit
model and the fit result also guard themselves against a release changed through the API."""

from __future__ import annotations

import subprocess
from dataclasses import replace

import numpy as np
import pytest
from installed import CEVNS  # the environment's installed command

from cevns.datasets import load_release
from cevns.datasets.coherent import Parameter
from cevns.errors import DataError
from cevns.fits import ReleaseModel
from cevns.fits.fit import FitResult


def cevns(*args, cwd=None):
    """``cevns`` as a user runs it (the subprocess helpers of tests/cli/test_output_safety.py)."""
    return subprocess.run([*CEVNS, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def _refused(res, *words):
    assert res.returncode == 2, (res.returncode, res.stderr)
    assert "Traceback" not in res.stderr and res.stderr.count("error:") == 1, res.stderr
    assert "internal error" not in res.stderr and "Warning" not in res.stderr, res.stderr
    for word in words:
        assert word in res.stderr, (word, res.stderr)


def _edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, (old, path.name)
    path.write_text(text.replace(old, new), encoding="utf-8")


def _set_line(path, index, value):
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[index] = " ".join([*lines[index].split()[:3], value])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize(("release", "damage", "words"), [
    # C1a: ZeroDivisionError at fits/model.py:438 (exit 1)
    ("coherent-csi-2017",
     lambda d: _edit(d / "coherent_parameters.yaml", "  value: 1\n  uncertainty: 0.25",
                     "  value: 0\n  uncertainty: 0.25"),
     ("coherent_parameters.yaml: promptNeutronNormalization.value must be > 0", "got 0")),
    # C1b: ZeroDivisionError at fits/fit.py:293 after the fit, leaving config.json and fit.csv
    ("coherent-lar-2020",
     lambda d: _edit(d / "LArParametersAnlA.yaml", "  value: 128\n", "  value: 0\n"),
     ("LArParametersAnlA.yaml: cevnsPredictionNormalization.value must be > 0", "got 0")),
    # D1: "shape nuisance 'cevns_f90' (polyexp): … use shape_code='exponential'"
    ("coherent-lar-2020", lambda d: _set_line(d / "cevnspdf.txt", 499, "1e300"),
     ("cevnspdf.txt, line 500: PDF value 1e+300 is not an expected number of events",)),
])
def test_a_damaged_copy_is_refused_before_the_fit(tmp_path, copy_release, release, damage, words):
    """Three cases through the command line (each run takes seconds); the other damaged numbers
    of the audit are refused by the same reader checks, tested through the API in
    tests/datasets/test_coherent_damaged_values.py."""
    folder = copy_release(release)
    damage(folder)
    res = cevns("fit", release, "-p", "n_cevns", "--data-dir", folder, "--out", "o",
                "--no-figures", cwd=tmp_path)
    _refused(res, str(folder), *words)
    assert not (tmp_path / "o").exists()


def test_lar_shape_variants_the_fit_cannot_interpolate_name_the_files(copy_release):
    """A nominal CEvNS entry of 1e10 (below the 2⁵³ cap of the reader) made the variants 1e8
    times the nominal elsewhere: the statistics layer refused them during the fit, suggesting a
    shape_code the command line does not have. The model refuses them when it is built."""
    folder = copy_release("coherent-lar-2020")
    _set_line(folder / "cevnspdf.txt", 499, "1e10")
    rel = load_release("coherent-lar-2020", data_dir=folder)
    with pytest.raises(DataError) as info:
        ReleaseModel(rel)
    message = str(info.value)
    for word in ("cevnspdf-1sigF90.txt (−1σ), cevnspdf+1sigF90.txt (+1σ), nominal cevnspdf.txt",
                 "in the bin at energy 5 keVee, f90 0.525, time 0.15 us",
                 "too far apart for the fit's interpolation of the shape systematic 'cevns_f90'"):
        assert word in message, (word, message)
    assert "shape_code" not in message


def test_the_model_refuses_a_zero_normalisation_given_through_the_api():
    # the readers refuse it; a Release changed with with_changes() divided by zero at
    # fits/model.py:438
    rel = load_release("coherent-csi-2017")
    brn = rel.backgrounds["brn"]
    zero = replace(brn, normalisation=replace(brn.normalisation, value=0.0))
    changed = rel.with_changes(backgrounds={**rel.backgrounds, "brn": zero})
    with pytest.raises(DataError, match=r"coherent-csi-2017: background 'brn': normalisation 0 "
                                        r"\(coherent_parameters.yaml: promptNeutronNormalization\) "
                                        r"must be finite and > 0"):
        ReleaseModel(changed)


def test_the_model_refuses_beam_off_windows_without_events():
    # the steady-state time slope of CsI-2017 is fitted to them: 1/sqrt(0) in ReleaseModel
    rel = load_release("coherent-csi-2017")
    empty = rel.coincidence_beam_off.with_counts(np.zeros(rel.coincidence_beam_off.shape))
    changed = rel.with_changes(coincidence_beam_off=empty, anticoincidence_beam_off=empty)
    with pytest.raises(DataError, match=r"the beam-off windows .* do not measure the "
                                        r"steady-state time slope"):
        ReleaseModel(changed)


def test_a_published_prediction_of_zero_has_no_percentage():
    # fits/fit.py:293 divided by it
    model = ReleaseModel(load_release("coherent-csi-2017"))
    result = FitResult("coherent-csi-2017", model, {}, 100.0,
                       {"sm_prediction": Parameter("sm_prediction", 0.0, "events", 1.0)}, 0.0)
    row = result.prediction_row()
    assert row["published"] == 0.0 and row["difference_percent"] is None
