"""Numbers of a user's copy of a COHERENT release that parse but cannot be right (audit 6: A2,
C1, D1, E and the ``rebin`` items of A5/C9): infinite, zero or negative exposures, distances,
normalisations and uncertainties, all-zero templates, an expected count of 1e300. Each is a
``DataError`` when the release is read, naming the file and the field (or line), with no NumPy
RuntimeWarning; before, the release loaded and gave NaN or negative backgrounds, or a fit later
divided by zero. ``CsI2021Release.rebin`` refuses edges that are not numbers with a ConfigError
naming the argument."""

from __future__ import annotations

import datetime
import re
import warnings

import numpy as np
import pytest

from cevns.datasets import load_release
from cevns.datasets.coherent import BackgroundComponent, Histogram, Parameter
from cevns.datasets.coherent.containers import Axis
from cevns.errors import ConfigError, DataError

CSI17, LAR = "coherent-csi-2017", "coherent-lar-2020"
CSI_YAML, LAR_YAML = "coherent_parameters.yaml", "LArParametersAnlA.yaml"


def _edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, (old, path.name)
    path.write_text(text.replace(old, new), encoding="utf-8")


def _zero_last_column(path):
    """Every data line's last number set to 0 (the audit's all-zero PDF)."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if re.match(r"\s*[-+]?\d", line):
            sep = ", " if "," in line else " "
            parts = re.split(r",\s*|\s+", line.strip())
            line = sep.join([*parts[:-1], "0"])
        lines.append(line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _refused(release, folder, *words):
    """load_release raises a DataError whose one-line message holds ``words``, and no warning
    (the NaN cases printed a NumPy RuntimeWarning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DataError) as info:
            load_release(release, data_dir=folder)
    message = str(info.value)
    assert "\n" not in message, message
    for word in words:
        assert word in message, (word, message)
    return message


# -- A2 / C1 / D1: the parameter files ------------------------------------------------------------

@pytest.mark.parametrize(("old", "new", "words"), [
    # A2: inf gave a NaN background (RuntimeWarning at csi2017.py:299), a negative value a BRN
    # template with negative counts
    ("value: 7.47594\n", "value: 7.47594e400\n", ("beamExposure.value", "finite", "got inf")),
    ("value: 7.47594\n", "value: -7.47594\n", ("beamExposure.value must be > 0", "got -7.47594")),
    ("value: 7.47594\n", "value: 0\n", ("beamExposure.value must be > 0", "got 0")),
    # A2 / C1a: -1 gave negative BRN counts, 0 a ZeroDivisionError in fits/model.py
    ("  value: 1\n  uncertainty: 0.25", "  value: -1\n  uncertainty: 0.25",
     ("promptNeutronNormalization.value must be > 0", "got -1")),
    ("  value: 1\n  uncertainty: 0.25", "  value: 0\n  uncertainty: 0.25",
     ("promptNeutronNormalization.value must be > 0", "got 0")),
    # D1: these reached the statistics layer ("sigma of 'bkg_brn' must be …")
    ("uncertainty: 0.25", "uncertainty: -1", ("promptNeutronNormalization.uncertainty must be ≥ 0",
                                              "got -1")),
    ("uncertainty: 0.25", "uncertainty: 0", ("promptNeutronNormalization.uncertainty must be > 0",
                                             "got 0")),
    ("uncertainty: 0.25", "uncertainty: negligible",
     ("promptNeutronNormalization.uncertainty must be a number > 0",)),
    # D1: "invalid configuration (Source): baseline_m …", no file named
    ("value: 19.3", "value: -19.3", ("distanceToTarget.value must be in [0.001, 1e+06] m",
                                     "got -19.3")),
    ("value: 0.08\n", "value: 0\n", ("neutrinosPerProton.value must be > 0", "got 0")),
    ("uncertainty: 0.008", "uncertainty: -0.008", ("neutrinosPerProton.uncertainty must be ≥ 0",)),
    # D1: x_0 = 1e300 gave RuntimeWarnings and "expected must be finite; found nan"
    ("value: 10.8507", "value: 1e300", ("acceptanceEfficiency", "x_0 = 1e+300",
                                        "is 0 at every 1-PE bin centre")),
    ("error_hi: 0.0212", "error_hi: -0.0212", ("acceptanceEfficiency.a.error_hi must be ≥ 0",)),
    # a ConfigError of the response model without the file: now names file and field
    ("value: 0.0878", "value: 0", ("csiQF.value must be in (0, 1]", "got 0")),
    ("value: 13.348", "value: 1e6", ("csiLightYield.value", "less than or equal to 1000")),
    ("value: 0.6655", "value: 1.5", ("acceptanceEfficiency (a, k, x_0)", "cannot exceed 1")),
    # an integer too long for a float was an OverflowError
    ("value: 7.47594\n", "value: 1" + "0" * 400 + "\n", ("beamExposure.value", "finite")),
])
def test_csi2017_parameter_file_numbers(copy_release, old, new, words):
    folder = copy_release(CSI17)
    _edit(folder / CSI_YAML, old, new)
    _refused(CSI17, folder, CSI_YAML, *words)


@pytest.mark.parametrize(("old", "new", "words"), [
    # A2: −3154 gave a total background of −2624 events, −497 a total of 2690
    ("value: 3154", "value: -3154", ("ssBackgroundPredictionNormalization.value must be > 0",)),
    ("value: 497", "value: -497",
     ("promptBeamRelatedNeutronPredictionNormalization.value must be > 0",)),
    ("uncertainty: 160", "uncertainty: -160",
     ("promptBeamRelatedNeutronPredictionNormalization.uncertainty must be ≥ 0",)),
    # C1a / C1b: ZeroDivisionError in fits/model.py:438 and (after the fit) fits/fit.py:293
    ("value: 3154", "value: 0", ("ssBackgroundPredictionNormalization.value must be > 0",
                                 "got 0")),
    ("value: 128", "value: 0", ("cevnsPredictionNormalization.value must be > 0", "got 0")),
    ("uncertainty: 33", "uncertainty: 0",
     ("delayedBeamRelatedNeutronPredictionNormalization.uncertainty must be > 0",)),
    ("value: 553", "value: -553",
     ("promptBeamRelatedNeutronBestfitNormalization.value must be ≥ 0",)),
    # D1: the Source / Detector refused these later without naming the file
    ("value: 13.8", "value: 0", ("beamExposure.value must be in (0, 1e+08]",)),
    ("value: 24.4", "value: 0", ("fiducialMass.value must be > 0",)),
    ("value: 0.246", "value: -0.246", ("larQF.a.value must be in [0, 1]",)),
    ("value: 0.00078", "value: -0.01", ("larQF", "do not describe a valid detector",
                                        "not monotone")),
    ("value: 150", "value: 0", ("snsPOTTraceTiming.b.value must be > 0",)),
])
def test_lar2020_parameter_file_numbers(copy_release, old, new, words):
    folder = copy_release(LAR)
    _edit(folder / LAR_YAML, old, new)
    _refused(LAR, folder, LAR_YAML, *words)


# -- A2 / C1c / D1: templates -----------------------------------------------------------------------

@pytest.mark.parametrize("file", [
    "brnpdf.txt", "bkgpdf.txt", "delbrnpdf.txt",  # C1c: ZeroDivisionError in expected()
    "brnpdf-1sigEnergy.txt", "cevnspdf+1sigF90.txt",  # A2: NaN shape variants
    "cevnspdf.txt",  # was "first energy bin is empty"
])
def test_an_all_zero_lar_pdf_is_identically_zero(copy_release, file):
    folder = copy_release(LAR)
    _zero_last_column(folder / file)
    _refused(LAR, folder, f"{file}: PDF is identically zero")


def test_an_expected_count_of_1e300_names_the_line(copy_release):
    # D1: reported by the statistics layer as a shape-code problem ("use shape_code=…", an
    # option the command line does not have)
    folder = copy_release(LAR)
    path = folder / "cevnspdf.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[499] = " ".join([*lines[499].split()[:3], "1e300"])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _refused(LAR, folder, "cevnspdf.txt, line 500: PDF value 1e+300 is not an expected number "
                          "of events")


@pytest.mark.parametrize(("files", "words"), [
    (("promptPDF.txt",), ("promptPDF.txt: prompt-neutron PDF is identically zero",)),
    # the steady-state template is normalised to its count in the analysis region: 0 divided
    # by zero in expected()
    (("data_anticoincidence_beamOn.txt",),
     ("data_anticoincidence_beamOn.txt: no events in the analysis region",)),
    # the steady-state time slope is fitted to the beam-off windows: 1/sqrt(0) in the fit
    (("data_coincidence_beamOff.txt", "data_anticoincidence_beamOff.txt"),
     ("data_coincidence_beamOff.txt and data_anticoincidence_beamOff.txt: no events",)),
])
def test_csi2017_files_without_counts(copy_release, files, words):
    folder = copy_release(CSI17)
    for file in files:
        _zero_last_column(folder / file)
    _refused(CSI17, folder, *words)


# -- containers --------------------------------------------------------------------------------------

def test_a_background_with_an_all_zero_template_is_refused():
    # C1c: BackgroundComponent.expected() divided by the template's total of 0
    hist = Histogram((Axis("energy", np.array([0.0, 1.0, 2.0]), "PE"),), np.zeros(2))
    with pytest.raises(ConfigError, match=r"background 'brn': its template's total must be "
                                          r"finite and > 0"):
        BackgroundComponent("brn", "test", hist, Parameter("brn", 10.0, "events", 1.0))


# -- E: --data-dir /dev/null --------------------------------------------------------------------------

def test_a_data_dir_that_is_a_device_is_not_called_a_file():
    with pytest.raises(DataError, match=r"^/dev/null: exists but is not a folder \(data_dir of "
                                        r"release 'coherent-csi-2017'\)$"):
        load_release(CSI17, data_dir="/dev/null")


# -- A5 / C9: CsI2021Release.rebin edges ---------------------------------------------------------------

@pytest.fixture(scope="module")
def csi2021():
    return load_release("coherent-csi-2021")


@pytest.mark.parametrize(("energy", "time", "words"), [
    ("0,60", [0, 6], ("energy_edges must be bin edges", "'0,60'")),  # was ValueError csi2021.py:158
    ([0, 60], "0,6", ("time_edges must be bin edges", "'0,6'")),
    (["0", "60"], [0, 6], ("energy_edges must be bin edges",)),
    (np.array([0, 60 + 1j]), [0, 6], ("energy_edges", "complex")),  # real part used silently
    ([0, 60], [False, True], ("time_edges", "booleans")),
    (np.array([0, 60], dtype="datetime64[D]"), [0, 6], ("energy_edges", "dates")),
    ([datetime.date(2020, 1, 1), datetime.date(2020, 1, 2)], [0, 6], ("energy_edges",)),
    (np.ma.array([0.0, 30.0, 60.0], mask=[0, 1, 0]), [0, 6], ("energy_edges", "masked array")),
    ([0, np.nan], [0, 6], ("energy_edges must be finite",)),
])
def test_csi2021_rebin_edges_that_are_not_numbers(csi2021, energy, time, words):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the complex edges gave only a ComplexWarning
        with pytest.raises(ConfigError) as info:
            csi2021.rebin(energy, time)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_csi2021_rebin_timing_model_must_be_a_timing_model(csi2021):
    with pytest.raises(ConfigError, match="rebin: timing_model must be an SNSTimingModel"):
        csi2021.rebin([0, 60], [0, 6], timing_model="sns")


def test_csi2017_merge_bins_edges_that_are_not_numbers():
    rel = load_release(CSI17)
    with pytest.raises(ConfigError, match=r"axis 'energy': new edges must be bin edges"):
        rel.merge_bins(energy="6,30")
