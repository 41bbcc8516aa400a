"""Bad input to the fits: clear errors that name the release, parameter or file."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from cevns.errors import ConfigError, DataError, UnknownNameError
from cevns.fits import ReleaseModel, fit_parameter, fit_release, make_signal_model


def test_unknown_release_lists_the_valid_ones():
    with pytest.raises(UnknownNameError, match="coherent-csi-2019.*coherent-csi-2017"):
        fit_release("coherent-csi-2019")


def test_unknown_parameter_lists_the_valid_ones():
    with pytest.raises(UnknownNameError, match="'sin2w'.*sin2_theta_w"):
        fit_release("coherent-csi-2017", ["sin2w"])


def test_parameter_that_does_not_apply():
    with pytest.raises(ConfigError, match="neutron_radius_fm.*coherent-lar-2020"):
        fit_release("coherent-lar-2020", ["neutron_radius_fm"])
    with pytest.raises(ConfigError, match="axial NGI term.*Ar_nat.*no constraint"):
        fit_release("coherent-lar-2020", ["ngi_axial_coupling"])
    with pytest.raises(ConfigError, match="named twice"):
        fit_release("coherent-lar-2020", ["n_cevns", "n_cevns"])


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"options": {"interaction": "bogus"}}, ConfigError, "interaction"),
    ({"options": {"interaction": "vector"}, "fixed": {"mediator_mass_MeV": -1.0}}, ConfigError,
     "mediator_mass_MeV"),
    ({"options": {"interaction": "vector"}, "scan_range": (1.0, 0.0)}, ConfigError, "LO < HI"),
    ({"options": {"interaction": "vector"}, "scan_range": (1.0,)}, ConfigError, "LO < HI"),
    ({"options": {"interaction": "vector"}, "vector_charge": "bogus"}, UnknownNameError,
     "vector_charge 'bogus'"),
])
def test_scenario_requests_are_checked_before_the_data_are_read(tmp_path, kwargs, error,
                                                                 message):
    # the data folder is empty: the request's own mistake is reported, not a missing file
    with pytest.raises(error, match=message):
        fit_release("coherent-csi-2017", ["ngi.coupling"], data_dir=tmp_path, **kwargs)


def test_an_unknown_vector_charge_is_refused():
    # it was ignored (the default parameters have no vector mediator) and the fit ran
    with pytest.raises(UnknownNameError, match="vector_charge 'bogus'.*B-L, universal"):
        fit_release("coherent-csi-2017", vector_charge="bogus")


def test_bad_options(models):
    model = models["coherent-csi-2017"]
    with pytest.raises(ConfigError, match="points"):
        fit_parameter(model, "n_cevns", points=3)
    with pytest.raises(ConfigError, match="mediator_mass_MeV"):
        make_signal_model(model, "ngi_vector_coupling", mediator_mass_MeV=-1.0)
    with pytest.raises(ConfigError, match="steady_state"):
        ReleaseModel(model.release, steady_state="beam-off")
    with pytest.raises(ConfigError, match="144 bins"):
        model.with_observed(np.ones(10))
    with pytest.raises(ConfigError, match="no control channel"):
        ReleaseModel(model.release, steady_state="prior").with_observed(np.ones(144), np.ones(144))


@pytest.mark.parametrize("release, file", [
    ("coherent-csi-2017", "data_coincidence_beamOn.txt"),
    ("coherent-csi-2021", "dataBeamOnAC.txt"),
    ("coherent-lar-2020", "brnpdf.txt"),
])
def test_truncated_file_in_data_dir_is_named(copy_release, release, file):
    folder = copy_release(release)
    path = folder / file
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(DataError, match=file):
        fit_release(release, ["n_cevns"], data_dir=folder)


def test_missing_file_in_data_dir_is_named(copy_release):
    folder = copy_release("coherent-lar-2020")
    (folder / "LArParametersAnlA.yaml").unlink()
    with pytest.raises(DataError, match="LArParametersAnlA.yaml"):
        fit_release("coherent-lar-2020", data_dir=folder)


def test_missing_data_dir_is_named(tmp_path):
    with pytest.raises(DataError, match="nowhere"):
        fit_release("coherent-csi-2017", data_dir=tmp_path / "nowhere")


def test_cli_errors_are_one_clear_line(tmp_path):
    res = subprocess.run([sys.executable, "-m", "cevns.cli", "fit", "coherent-nai", "--out",
                          str(tmp_path)], capture_output=True, text=True)
    assert res.returncode == 2
    assert "unknown COHERENT release 'coherent-nai'" in res.stderr
    assert "Traceback" not in res.stderr
    assert not any(tmp_path.iterdir())


def test_a_loaded_release_is_fitted_as_given():
    """fit_release takes a release already loaded (what ``cevns fit --data-dir`` passes after
    checking the folder) and gives the fit of the same release by name; a data_dir with it is
    refused (which copy would be meant?)."""
    from cevns.datasets.coherent import load_release

    loaded = load_release("coherent-csi-2017")
    by_object = fit_release(loaded, ["n_cevns"], cross_check=False, points=41)
    by_name = fit_release("coherent-csi-2017", ["n_cevns"], cross_check=False, points=41)
    assert by_object.release == "coherent-csi-2017"
    assert by_object.fits["n_cevns"].best == by_name.fits["n_cevns"].best
    assert by_object.sm_prediction == by_name.sm_prediction
    with pytest.raises(ConfigError, match="data_dir '/elsewhere' given with the release "
                                          "'coherent-csi-2017' already loaded"):
        fit_release(loaded, ["n_cevns"], data_dir="/elsewhere")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"scan_range": (0.2, 1.0000001)}, r"sin2_theta_w: values must be ≤ 1, got 1\.0000001"),
    ({"scan_range": (-1e-9, 0.5)}, r"sin2_theta_w: values must be ≥ 0, got -1e-09"),
    ({"scan_range": (np.nan, 0.5)}, "scan range must be two finite numbers"),
    ({"scan_range": (0.2, np.inf)}, "scan range must be two finite numbers"),
    ({"fixed": {"sin2_theta_w": True}}, r"fixed value of 'sin2_theta_w' must be a number, got True"),
    ({"fixed": {"sin2_theta_w": 1.0000001}}, r"sin2_theta_w: values must be ≤ 1, got 1\.0000001"),
])
def test_a_sin2_theta_w_fit_outside_zero_one_is_refused(tmp_path, kwargs, message):
    # the one range of sin²θ_W, [0, 1] (cevns.physics.constants.SIN2_THETA_W_RANGE), before any
    # data are read (the data folder is empty)
    name = "ngi.coupling" if "fixed" in kwargs else "sm.sin2_theta_w"
    opts = {"options": {"interaction": "vector"}} if "fixed" in kwargs else {}
    with pytest.raises(ConfigError, match=message):
        fit_release("coherent-csi-2017", [name], data_dir=tmp_path, **opts, **kwargs)


def test_a_sin2_theta_w_fit_may_scan_up_to_the_edges():
    """The scenario parameter refused a scan range starting at 0 ("> 0"), while the classic fit
    parameter sin2_theta_w scans [0, 1]: both take the closed [0, 1] now (the expected ranges are
    that interval, cevns.physics.constants.SIN2_THETA_W_RANGE)."""
    from cevns.fits.parameters import FIT_PARAMETERS, check_fit_request

    check_fit_request(["sm.sin2_theta_w"], scan_range=(0.0, 1.0))  # raised before
    spec = FIT_PARAMETERS["sin2_theta_w"]
    assert (spec.lower, spec.upper) == (0.0, 1.0)
