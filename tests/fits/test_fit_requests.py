"""What fit_release / fit_parameter / fit_combined_release accept (audit 5, #11 and #16): a
fine grid too large for memory is refused before anything is allocated, and one parameter name
given as a string is that parameter, not a list of its letters."""

from __future__ import annotations

import pytest

from cevns.errors import ConfigError, UnknownNameError
from cevns.fits import fit_parameter, fit_release
from cevns.fits.combined import fit_combined_release


def test_a_fine_grid_too_large_for_memory_is_refused_before_the_data_are_read(tmp_path):
    # it ran into "MemoryError: Unable to allocate 6.98 TiB for an array with shape
    # (1000000000, 960)"; the data folder is empty: the request's own mistake comes first
    with pytest.raises(ConfigError, match=r"points .*1000000000 points would need .* GiB, above "
                                          r"the limit .*CEVNS_MAX_GRID_BYTES"):
        fit_release("coherent-lar-2020", ["n_cevns"], points=10**9, cross_check=False,
                    data_dir=tmp_path)


def test_the_grid_memory_counts_the_bins_of_the_release(models, monkeypatch):
    """201 points × 960 bins of LAr-2020 × 256 bytes (PROFILE_BYTES_PER_BIN) = 49 MB: above a
    10 MB limit, while CsI-2017 (144 bins: 7.4 MB) stays below it."""
    from cevns.fits.fit import PROFILE_BYTES_PER_BIN

    assert PROFILE_BYTES_PER_BIN * 201 * models["coherent-lar-2020"].n_bins > 10e6
    assert PROFILE_BYTES_PER_BIN * 201 * models["coherent-csi-2017"].n_bins < 10e6
    monkeypatch.setenv("CEVNS_MAX_GRID_BYTES", "10000000")
    with pytest.raises(ConfigError, match=r"points \(the fine grid of the coherent-lar-2020 "
                                          r"n_cevns profile, 960 bins per point\)"):
        fit_parameter(models["coherent-lar-2020"], "n_cevns", cross_check=False)
    fit = fit_parameter(models["coherent-csi-2017"], "n_cevns", cross_check=False)
    assert fit.profile.x.size == 201


def test_the_combined_fit_checks_the_grid_memory_too():
    with pytest.raises(ConfigError, match=r"points .*CEVNS_MAX_GRID_BYTES"):
        fit_combined_release(["sin2_theta_w"], points=10**9)


def test_one_parameter_name_as_a_string_is_that_parameter():
    """``fit_release(release, "n_cevns")`` fitted the letters: "unknown fit parameter 'n'".
    Expected numbers: the CsI-2017 n_cevns fit of tests/fits and docs/coherent.md, 127.1."""
    result = fit_release("coherent-csi-2017", "n_cevns", cross_check=False)
    assert list(result.fits) == ["n_cevns"]
    assert result.fits["n_cevns"].best == pytest.approx(127.09, abs=0.05)


@pytest.mark.parametrize("call", [
    lambda: fit_release("coherent-csi-2017", "n_cevnz"),
    lambda: fit_combined_release("sin2_theta_x"),
])
def test_a_misspelled_name_as_a_string_is_named_whole(call):
    with pytest.raises(UnknownNameError, match=r"unknown fit parameter '(n_cevnz|sin2_theta_x)' "
                                               r"\(did you mean"):
        call()


def test_parameters_that_are_not_names_are_refused():
    with pytest.raises(ConfigError, match=r"parameters must be names \(text\), got 3"):
        fit_release("coherent-csi-2017", ["n_cevns", 3])
    with pytest.raises(ConfigError, match=r"parameters must be a parameter name or a list of "
                                          r"names, got 5"):
        fit_release("coherent-csi-2017", 5)
