"""Python-API arguments of the COHERENT fits (bad-input audit 9): text and true/false where a
number is wanted, masked / boolean grid axes, one release name where a list is wanted, API
messages without command-line flags, and the command named in a written comparison table. Each
is a :class:`~cevns.errors.ConfigError` naming the argument, never a bare TypeError or a silent
conversion (``True`` → 1 fm, ``"1"`` → 1.0, a masked mass computed anyway)."""

from __future__ import annotations

import numpy as np
import pytest

from cevns.errors import ConfigError
from cevns.fits.combined import combined_chi2, combined_grid

MASSES = np.array([1.0, 10.0])
COUPLINGS = np.array([1e-5, 1e-4])
VECTOR = {"interaction": "vector"}


# -- #11: text and true/false where the fit API wants a number -----------------------------------

@pytest.mark.parametrize("skin", ["0.9", True, np.True_, b"1"])
def test_fit_release_refuses_a_helm_skin_that_is_not_a_number(skin):
    """``helm_skin_fm="0.9"`` was a bare TypeError; ``True`` fitted with a 1 fm skin."""
    from cevns.fits import fit_release

    with pytest.raises(ConfigError, match=r"helm_skin_fm must be a finite thickness in \(0, 3\] "
                                          r"fm, got "):
        fit_release("coherent-csi-2017", ["n_cevns"], helm_skin_fm=skin)


@pytest.mark.parametrize("skin", ["1", True])
def test_the_combined_grid_refuses_a_helm_skin_that_is_not_a_number(skin):
    """``combined_grid(..., helm_skin_fm="1")`` was computed with 1.0 fm (``float("1")``), as was
    ``True``; packaged_model is where the combination builds its models."""
    from cevns.fits.combined import packaged_model

    with pytest.raises(ConfigError, match="helm_skin_fm must be a finite thickness"):
        packaged_model("coherent-csi-2021", skin)
    with pytest.raises(ConfigError, match="helm_skin_fm must be a finite thickness"):
        combined_grid("ngi", "mediator_mass_MeV", MASSES, "coupling", COUPLINGS, options=VECTOR,
                      helm_skin_fm=skin)


@pytest.mark.parametrize("mass", ["10", True])
def test_fit_release_refuses_a_mediator_mass_that_is_not_a_number(mass):
    """``mediator_mass_MeV="10"`` was a bare TypeError; ``True`` fitted at 1 MeV."""
    from cevns.fits import fit_release

    with pytest.raises(ConfigError, match=r"mediator_mass_MeV must be a number > 0 \(MeV\), "
                                          f"got {mass!r}"):
        fit_release("coherent-csi-2017", ["ngi_vector_coupling"], mediator_mass_MeV=mass)


def test_the_combined_fit_and_the_signal_model_refuse_a_mediator_mass_that_is_not_a_number():
    from cevns.fits.combined import fit_combined, packaged_model
    from cevns.fits.parameters import make_signal_model

    with pytest.raises(ConfigError, match="mediator_mass_MeV must be a number > 0"):
        fit_combined("ngi_vector_coupling", mediator_mass_MeV="10")
    with pytest.raises(ConfigError, match="mediator_mass_MeV must be a number > 0"):
        make_signal_model(packaged_model("coherent-csi-2017"), "ngi_vector_coupling",
                          mediator_mass_MeV=True)


@pytest.mark.parametrize("scan_range", [("0", "1e-3"), (False, 1e-3), "01", np.array([0, 1])])
def test_a_scan_range_of_text_or_true_false_is_refused(scan_range):
    """``scan_range=("0", "1e-3")`` was fitted as (0, 0.001); ``(False, x)`` at 0."""
    from cevns.fits import fit_release

    if isinstance(scan_range, np.ndarray):
        scan_range = scan_range.astype(bool)
    with pytest.raises(ConfigError, match="ngi.coupling: scan range must be two finite numbers"):
        fit_release("coherent-csi-2017", ["ngi.coupling"], options=VECTOR, scan_range=scan_range)


# -- #6: masked, boolean and text grid axes --------------------------------------------------------

@pytest.mark.parametrize(("x", "match"), [
    (np.ma.array(MASSES, mask=[False, True]), "mediator_mass_MeV: values must be real numbers, "
                                              "got a masked array"),
    (np.array([True, True]), "mediator_mass_MeV: values must be real numbers"),
    ([True, True], "mediator_mass_MeV: values must be real numbers"),
    (["1", "10"], "mediator_mass_MeV: values must be numbers"),
])
def test_masked_boolean_or_text_axes_are_refused(x, match):
    """A masked mass was computed anyway (its mask dropped); ``[True, True]`` was read as 1 MeV
    twice; ``["1", "10"]`` as numbers."""
    with pytest.raises(ConfigError, match=match):
        combined_grid("ngi", "mediator_mass_MeV", x, "coupling", COUPLINGS, options=VECTOR)
    with pytest.raises(ConfigError, match=match.replace("mediator_mass_MeV", "coupling")):
        combined_chi2("ngi", "mediator_mass_MeV", MASSES, "coupling",
                      x if not isinstance(x, np.ndarray) or x.dtype == bool else x * 1e-5,
                      options=VECTOR, pairs=True)


# -- #12: one release name instead of a list -------------------------------------------------------

def test_one_release_name_instead_of_a_list_is_named():
    """It was read letter by letter: "needs at least two different releases, got ('c', 'o', …)"."""
    with pytest.raises(ConfigError, match="releases must be a sequence of release names") as err:
        combined_grid("ngi", "mediator_mass_MeV", MASSES, "coupling", COUPLINGS, options=VECTOR,
                      releases="coherent-csi-2021")
    assert "'coherent-csi-2021'" in str(err.value) and "('c', 'o'" not in str(err.value)


# -- #17a: the API does not name the command line's --fix ------------------------------------------

def test_a_refused_fixed_value_is_named_without_the_command_line_flag():
    with pytest.raises(ConfigError, match=r"fixed value sin2_theta_w = nan: parameter "
                                          "sin2_theta_w: values must be finite") as err:
        combined_grid("ngi", "mediator_mass_MeV", MASSES, "coupling", COUPLINGS, options=VECTOR,
                      fixed={"sin2_theta_w": float("nan")})
    assert "--fix" not in str(err.value)
    assert [p.path for p in err.value.problems] == [("fixed", "sin2_theta_w")]


# -- #15: the command named in a written table -----------------------------------------------------

@pytest.mark.parametrize(("coverage", "header"), [
    (None, "cevns fit --table {table}"),
    ("cov.json", "cevns fit --table {table} --coverage cov.json"),
])
def test_the_table_header_names_the_command_that_wrote_it(tmp_path, monkeypatch, coverage,
                                                         header):
    """Every table said "generated by `cevns fit --table docs/coherent_fits.md --coverage
    docs/coherent_coverage.json`", whatever file and coverage it was written with."""
    from cevns.fits import report

    monkeypatch.setattr(report, "comparison_table", lambda coverage=None: "TABLE\n")
    table = tmp_path / "my table.md"
    if coverage is not None:
        (tmp_path / coverage).write_text("{}", encoding="utf-8")
        coverage = tmp_path / coverage
    report.write_comparison_table(table, coverage=coverage)
    quoted = f"'{table}'"  # shell-quoted: the path has a space
    expected = header.format(table=quoted).replace("cov.json", str(coverage))
    assert table.read_text(encoding="utf-8") == (f"<!-- generated by `{expected}`; do not edit "
                                                 "by hand -->\n\nTABLE\n")
    assert report.table_command("docs/coherent_fits.md", "docs/coherent_coverage.json") \
        == report.TABLE_COMMAND

