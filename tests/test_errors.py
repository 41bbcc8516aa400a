"""cevns.errors: the messages users read."""

from __future__ import annotations

import pytest

from cevns.errors import ConfigError, UnknownNameError


@pytest.mark.parametrize(("name", "valid", "hint"), [
    ("csi", ["Ar", "CsI", "Xe"], "did you mean 'CsI'?"),          # case only
    ("Fig1", ["fig1", "fig10", "table3"], "did you mean 'fig1'?"),
    ("esss", ["ess", "sns-csi", "lujan"], "did you mean 'ess'?"),  # one letter too many
    ("n_cevnss", ["n_cevns", "sin2_theta_w"], "did you mean 'n_cevns'?"),
    # a name cut short: the one valid name it begins, although another is closer by difflib
    ("sin2_theta", ["sin2_2theta", "sin2_theta_w", "n_cevns"], "did you mean 'sin2_theta_w'?"),
    # two about equally close names are both offered
    ("fig2x", ["fig20", "fig21", "table3"], "did you mean 'fig20' or 'fig21'?"),
])
def test_unknown_names_suggest_the_closest_valid_one(name, valid, hint):
    err = UnknownNameError("thing", name, valid)
    assert isinstance(err, ConfigError) and isinstance(err, KeyError)
    assert str(err).startswith(f"unknown thing {name!r} ({hint}); valid choices: ")
    assert str(err).endswith(", ".join(sorted(valid)))


@pytest.mark.parametrize("name", ["Xenon", "", 3])
def test_no_suggestion_when_nothing_is_close(name):
    """A far name (or not a string) gets the list only, never a wrong guess."""
    err = UnknownNameError("detector", name, ["Ar", "CsI", "Xe"])
    assert "did you mean" not in str(err)
    assert str(err) == f"unknown detector {name!r}; valid choices: Ar, CsI, Xe"


def test_finite_array_names_the_argument():
    import numpy as np

    from cevns.errors import ConfigError, finite_array

    np.testing.assert_array_equal(finite_array([1, 2.5], "x"), [1.0, 2.5])
    assert finite_array(3, "x").dtype == float
    with pytest.raises(ConfigError, match=r"^x must be a number or array of numbers, got 'a'$"):
        finite_array("a", "x")
    with pytest.raises(ConfigError, match=r"^energy must be finite, got inf$"):
        finite_array([1.0, np.inf, np.nan], "energy")
    with pytest.raises(ConfigError, match=r"^y must be numbers, got \[1, 'b'\]"):
        finite_array([1, "b"], "y", numbers="numbers")


def test_finite_array_with_a_minimum():
    """The one energy/mass check of the package (kinematics, cross sections, form factors,
    sterile-sector parameters): finite and ≥ (or >) a bound in one call, the offending value read
    out in the unit the caller names; the expected messages are written out here."""
    import numpy as np

    from cevns.errors import finite_array

    np.testing.assert_array_equal(finite_array([0.0, 2.0], "t", minimum=0.0), [0.0, 2.0])
    assert finite_array([], "t", minimum=0.0, strict=True).size == 0
    with pytest.raises(ConfigError, match=r"^t must be finite and ≥ 0, got -2 MeV$"):
        finite_array([1.0, -2.0, -3.0], "t", minimum=0.0, unit=(1.0, "MeV"))
    with pytest.raises(ConfigError, match=r"^e must be finite and > 0, got 0 keV$"):
        finite_array([5e-3, 0.0], "e", minimum=0.0, strict=True, unit=(1e-3, "keV"))
    # a NaN or an infinity is shown as itself, without a unit; the first bad entry is named
    with pytest.raises(ConfigError, match=r"^t must be finite and ≥ 0, got nan$"):
        finite_array([1.0, np.nan, -1.0], "t", minimum=0.0, unit=(1.0, "MeV"))
    with pytest.raises(ConfigError, match=r"^t must be finite and ≥ 0, got inf$"):
        finite_array(np.inf, "t", minimum=0.0)
    with pytest.raises(ConfigError, match=r"^x must be finite, got -inf$"):
        finite_array([-np.inf], "x")
