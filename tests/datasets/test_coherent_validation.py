"""Corrupted, truncated, missing or foreign files give a DataError that names the file."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from cevns.datasets import load_release
from cevns.datasets.coherent._common import packaged_data_dir
from cevns.errors import ConfigError, DataError


def _truncate(path, keep_fraction=0.5):
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: int(len(text) * keep_fraction)], encoding="utf-8")


@pytest.mark.parametrize(
    "release, file",
    [
        ("coherent-csi-2017", "data_coincidence_beamOn.txt"),
        ("coherent-csi-2017", "data_anticoincidence_beamOff.txt"),
        ("coherent-csi-2017", "arrivalTimePDF_delayedNeutrinos.txt"),
        ("coherent-csi-2017", "promptPDF.txt"),
        ("coherent-csi-2017", "qfData_tunl.txt"),
        ("coherent-csi-2017", "coherent_parameters.yaml"),
        ("coherent-csi-2021", "dataBeamOnC.txt"),
        ("coherent-csi-2021", "dataBeamOnAC.txt"),
        ("coherent-csi-2021", "brnTrec.txt"),
        ("coherent-csi-2021", "ninPE.txt"),
        ("coherent-csi-2021", "scintRespCoefficients.txt"),
        ("coherent-lar-2020", "cevnspdf.txt"),
        ("coherent-lar-2020", "datanobkgsub.txt"),
        ("coherent-lar-2020", "brnpdf-1sigEnergy.txt"),
        ("coherent-lar-2020", "timingdata1d.txt"),
        ("coherent-lar-2020", "CENNS10AnlAEfficiency.txt"),
        ("coherent-lar-2020", "LArParametersAnlA.yaml"),
    ],
)
def test_truncated_file_names_the_file(copy_release, release, file):
    folder = copy_release(release)
    _truncate(folder / file)
    with pytest.raises(DataError) as info:
        load_release(release, data_dir=folder)
    assert file in str(info.value)


@pytest.mark.parametrize("release, file", [
    ("coherent-csi-2017", "data_coincidence_beamOff.txt"),
    ("coherent-csi-2021", "effCoefficients.txt"),
    ("coherent-lar-2020", "delbrnpdf.txt"),
])
def test_missing_file_names_the_file(copy_release, release, file):
    folder = copy_release(release)
    (folder / file).unlink()
    with pytest.raises(DataError, match="file not found") as info:
        load_release(release, data_dir=folder)
    assert file in str(info.value)


@pytest.mark.parametrize("release, file, old, new", [
    ("coherent-csi-2017", "data_coincidence_beamOn.txt", "1.0, 0.25, 2", "1.0, 0.25, two"),
    ("coherent-csi-2021", "dataBeamOnC.txt", "111.189 2.24", "111.189 2.2.4"),
    ("coherent-lar-2020", "bkgpdf.txt", "5 0.525 0.15 24.4769", "5 0.525 0.15 24,4769"),
])
def test_unparsable_number(copy_release, release, file, old, new):
    folder = copy_release(release)
    path = folder / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(DataError, match="line") as info:
        load_release(release, data_dir=folder)
    assert file in str(info.value)


def test_wrong_release_files(copy_release):
    # A CsI-2017 count file replaced by a LAr 3-D histogram: wrong number of columns.
    folder = copy_release("coherent-csi-2017")
    shutil.copy(packaged_data_dir("coherent-lar-2020") / "cevnspdf.txt",
                folder / "data_coincidence_beamOn.txt")
    with pytest.raises(DataError, match="data_coincidence_beamOn.txt"):
        load_release("coherent-csi-2017", data_dir=folder)


def test_wrong_grid_detected(copy_release):
    # Same shape, other binning: the LAr 3-D file with its first two columns swapped.
    folder = copy_release("coherent-lar-2020")
    path = folder / "brnpdf.txt"
    rows = [line.split() for line in path.read_text(encoding="utf-8").splitlines()]
    path.write_text("\n".join(" ".join([r[1], r[0], r[2], r[3]]) for r in rows) + "\n",
                    encoding="utf-8")
    with pytest.raises(DataError, match="brnpdf.txt.*bin centres"):
        load_release("coherent-lar-2020", data_dir=folder)


def test_pdf_normalisation_checked(copy_release):
    folder = copy_release("coherent-csi-2017")
    path = folder / "arrivalTimePDF_promptNeutrinos.txt"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("0.9094831995369566", "0.8094831995369566"), encoding="utf-8")
    with pytest.raises(DataError, match="arrivalTimePDF_promptNeutrinos.txt.*sums to"):
        load_release("coherent-csi-2017", data_dir=folder)


def test_negative_counts_rejected(copy_release):
    folder = copy_release("coherent-lar-2020")
    path = folder / "datanobkgsub.txt"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("5 0.525 0.15 32", "5 0.525 0.15 -32", 1), encoding="utf-8")
    with pytest.raises(DataError, match="datanobkgsub.txt"):
        load_release("coherent-lar-2020", data_dir=folder)


def test_a_folder_where_a_file_should_be_is_named_so(copy_release):
    """A folder in place of a release file: "is a folder", not "file not found" (audit 7)."""
    folder = copy_release("coherent-csi-2021")
    (folder / "brnPE.txt").unlink()
    (folder / "brnPE.txt").mkdir()
    with pytest.raises(DataError, match=r"brnPE.txt: is a folder, not the file"):
        load_release("coherent-csi-2021", data_dir=folder)


def test_events_out_of_range(copy_release):
    folder = copy_release("coherent-csi-2021")
    path = folder / "dataBeamOnAC.txt"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("151.773 1.044", "151.773 21.044", 1), encoding="utf-8")
    with pytest.raises(DataError, match="dataBeamOnAC.txt.*time outside"):
        load_release("coherent-csi-2021", data_dir=folder)


def test_other_release_directory():
    # Pointing one release at another's folder: its files are missing.
    with pytest.raises(DataError, match="file not found"):
        load_release("coherent-csi-2021", data_dir=packaged_data_dir("coherent-csi-2017"))


def test_not_a_directory(tmp_path):
    with pytest.raises(DataError, match="directory not found"):
        load_release("coherent-lar-2020", data_dir=tmp_path / "nowhere")


def test_yaml_missing_parameter(copy_release):
    folder = copy_release("coherent-csi-2017")
    path = folder / "coherent_parameters.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("csiLightYield:", "csiLightYieldX:"), encoding="utf-8")
    with pytest.raises(DataError, match="coherent_parameters.yaml.*csiLightYield"):
        load_release("coherent-csi-2017", data_dir=folder)


def test_yaml_non_numeric_value(copy_release):
    folder = copy_release("coherent-lar-2020")
    path = folder / "LArParametersAnlA.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("value: 27.5", "value: twenty"), encoding="utf-8")
    with pytest.raises(DataError, match="LArParametersAnlA.yaml.*distanceToTarget"):
        load_release("coherent-lar-2020", data_dir=folder)


@pytest.mark.parametrize("release", ["coherent-csi-2017", "coherent-csi-2021",
                                     "coherent-lar-2020"])
def test_user_directory_reads_the_same(copy_release, releases, release):
    folder = copy_release(release)
    own = load_release(release, data_dir=str(folder))
    assert own.data_dir == folder
    np.testing.assert_array_equal(own.observed.counts, releases[release].observed.counts)


def test_csi2017_copy_without_column_header(copy_release, releases):
    # The beam-off files carry a column-name line in these copies; a copy without it reads too.
    folder = copy_release("coherent-csi-2017")
    path = folder / "data_coincidence_beamOff.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("Photoelectrons")
    path.write_text("\n".join(lines[1:]) + "\n", encoding="utf-8")
    rel = load_release("coherent-csi-2017", data_dir=folder)
    assert rel.coincidence_beam_off.total == 507


# -- third bad-input audit -------------------------------------------------------------------------


def _replace_line(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(("data_dir", "match"), [
    (5, r"data_dir must be a folder path \(str or pathlib.Path\), got int 5"),
    ("", r"data_dir '': an empty path would mean the working folder"),
    (b"/tmp", r"data_dir must be a folder path"),
])
def test_a_data_dir_that_is_not_a_path_is_a_config_error(data_dir, match):
    # 5 was a bare TypeError; '' silently read the working folder ("file not found")
    with pytest.raises(ConfigError, match=match):
        load_release("coherent-csi-2017", data_dir=data_dir)


def test_a_data_dir_that_is_a_file_says_so(tmp_path):
    # was "directory not found", for a path that exists
    path = tmp_path / "release.txt"
    path.write_text("x")
    with pytest.raises(DataError, match=r"release.txt: is a file, not a folder \(data_dir of "
                                        r"release 'coherent-lar-2020'\)"):
        load_release("coherent-lar-2020", data_dir=path)


def test_an_observed_count_beyond_two_to_the_53_is_refused(copy_release):
    # 1e300 was read as an observed count
    folder = copy_release("coherent-csi-2017")
    _replace_line(folder / "data_coincidence_beamOn.txt", "1.0, 0.25, 2", "1.0, 0.25, 1e300")
    with pytest.raises(DataError, match=r"data_coincidence_beamOn.txt: observed count 1e\+300 "
                                        r"is not a count"):
        load_release("coherent-csi-2017", data_dir=folder)


@pytest.mark.parametrize(("old", "new"), [
    ("1.32045  0.285979 10.8646 -0.333322", "5.0  0.285979 10.8646 -0.333322"),  # plateau 4.7
    ("1.32045  0.285979 10.8646 -0.333322", "0.2  0.285979 10.8646 -0.333322"),  # plateau < 0
    ("1.32045  0.285979 10.8646 -0.333322", "1.32045  -0.285979 10.8646 -0.333322"),  # falls
])
def test_csi2021_efficiency_curve_must_be_an_efficiency(copy_release, old, new):
    # an efficiency above 1, or zero everywhere, was accepted
    folder = copy_release("coherent-csi-2021")
    _replace_line(folder / "effCoefficients.txt", old, new)
    with pytest.raises(DataError, match=r"effCoefficients.txt: efficiency curve 'nominal' .* "
                                        r"is not an efficiency"):
        load_release("coherent-csi-2021", data_dir=folder)


@pytest.mark.parametrize("new", ["0 0 0 0", "-0.0554628 4.30681 -111.707 840.384",
                                 "2.0 4.30681 -111.707 840.384"])
def test_csi2021_scintillation_curve_must_be_a_quenching_curve(copy_release, new):
    # zero, negative or above-T light was accepted (a zero or meaningless signal in the fits)
    folder = copy_release("coherent-csi-2021")
    _replace_line(folder / "scintRespCoefficients.txt", "0.0554628 4.30681 -111.707 840.384", new)
    with pytest.raises(DataError, match=r"scintRespCoefficients.txt: scintillation curve "
                                        r"'nominal' .* is not a quenching curve"):
        load_release("coherent-csi-2021", data_dir=folder)


def test_lar2020_systematic_factors_must_be_positive(copy_release):
    folder = copy_release("coherent-lar-2020")
    _replace_line(folder / "systerrors1denergy.txt", "5 0.946611 1.06579", "5 -0.946611 1.06579")
    with pytest.raises(DataError, match=r"systerrors1denergy.txt: the −1σ/\+1σ factors must be "
                                        r"> 0"):
        load_release("coherent-lar-2020", data_dir=folder)
