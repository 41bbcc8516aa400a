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


def test_finite_array_names_the_callers_bounds_for_a_non_finite_value():
    # bounds= is the range the caller checks next (scenario parameters); only the non-finite
    # message carries it, a finite value passes through unchecked against it
    import numpy as np

    from cevns.errors import finite_array

    with pytest.raises(ConfigError, match=r"^s must be finite and in \[0, 1\], got nan$"):
        finite_array([0.5, np.nan], "s", bounds="in [0, 1]")
    np.testing.assert_array_equal(finite_array([2.0], "s", bounds="in [0, 1]"), [2.0])
    with pytest.raises(ConfigError, match=r"^s must be finite and ≥ 0, got -inf$"):
        finite_array([-np.inf], "s", minimum=0.0, bounds="in [0, 1]")  # minimum names its own


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


# is_bool: the one "is this a boolean" check. The expected answers are the documented contract
# of cevns.errors.is_bool, which is what the four copies it replaced returned: stats.levels and
# Source.with_run_years (any bool dtype), config.type_mismatch (scalar_only) and
# Parameter.check of the scenarios (recurse).
def _bool_cases():
    import numpy as np

    return {
        "True": True, "False": False, "np.True_": np.True_, "np.False_": np.False_,
        "0-d array": np.array(True), "1-d array": np.array([True, False]),
        "2-d array": np.zeros((2, 2), dtype=bool),
        "int": 1, "zero": 0, "float": 1.0, "np.float64": np.float64(1.0), "np.int64": np.int64(1),
        "float array": np.array([1.0, 0.0]), "0-d float array": np.array(1.0),
        "str": "true", "None": None,
        "list with a bool": [1.0, True], "tuple with np.True_": (2.0, np.True_),
        "nested list": [[1.0], [False]], "list with a bool array": [np.array([True])],
        "list of numbers": [1, 2.0, np.int64(3)], "empty list": [],
        "object array holding a bool": np.array([True, 1.0], dtype=object),
    }


# name: (plain, recurse=True, scalar_only=True)
_IS_BOOL = {
    "True": (True, True, True), "False": (True, True, True),
    "np.True_": (True, True, True), "np.False_": (True, True, True),
    "0-d array": (True, True, True),
    "1-d array": (True, True, False), "2-d array": (True, True, False),
    "int": (False, False, False), "zero": (False, False, False), "float": (False, False, False),
    "np.float64": (False, False, False), "np.int64": (False, False, False),
    "float array": (False, False, False), "0-d float array": (False, False, False),
    "str": (False, False, False), "None": (False, False, False),
    # a container holds a bool: only with recurse
    "list with a bool": (False, True, False), "tuple with np.True_": (False, True, False),
    "nested list": (False, True, False), "list with a bool array": (False, True, False),
    "list of numbers": (False, False, False), "empty list": (False, False, False),
    # an array is judged by its dtype, as Parameter.check did: object arrays are not looked into
    "object array holding a bool": (False, False, False),
}


@pytest.mark.parametrize("case", sorted(_IS_BOOL))
def test_is_bool(case):
    from cevns.errors import is_bool

    value = _bool_cases()[case]
    plain, recursed, scalar = _IS_BOOL[case]
    assert is_bool(value) is plain
    assert is_bool(value, recurse=True) is recursed
    assert is_bool(value, scalar_only=True) is scalar


def test_is_bool_imports_nothing():
    """errors.py is a leaf of the layers (docs/architecture.md): the check reads the dtype with
    getattr and imports neither NumPy nor another cevns module."""
    import ast
    from pathlib import Path

    import cevns.errors

    tree = ast.parse(Path(cevns.errors.__file__).read_text(encoding="utf-8"))
    func = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "is_bool")
    assert not [n for n in ast.walk(func) if isinstance(n, ast.Import | ast.ImportFrom)]
    modules = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    assert all(not (getattr(n, "module", None) or "").startswith("cevns") for n in modules)


@pytest.mark.parametrize(("make", "what"), [
    (lambda np: np.array([20 + 5j, 3.0]), "an array of complex numbers"),
    (lambda np: np.ma.array([20.0, 7.0], mask=[False, True]), "a masked array"),
    (lambda np: np.array(["2020-01-01"], dtype="datetime64[D]"), "an array of dates"),
    (lambda np: np.array([1, 2], dtype="timedelta64[s]"), "an array of time spans"),
    (lambda np: np.array([True, False]), "an array of booleans"),
    (lambda np: np.complex128(2.0), "an array of complex numbers"),
])
def test_numbers_that_are_not_real_numbers_are_refused(make, what):
    """finite_array (energies, momentum transfers, scenario values, coefficients) and the counts
    of the statistics layer refuse arrays that NumPy turns into floats without an error but
    with a loss: a complex array's imaginary part (dropped with a warning), a masked array's mask
    (the masked entries used as numbers), dates (a count of days), booleans (0 and 1). A real
    array, a list and a pandas Series pass; so does an integer array."""
    np = pytest.importorskip("numpy")
    from cevns.errors import finite_array
    from cevns.stats import Channel, Component

    with pytest.raises(ConfigError, match=f"neutrino_energy must be numbers, got {what}"):
        finite_array(make(np), "neutrino_energy", numbers="numbers")
    with pytest.raises(ConfigError, match=f"observed must be an array of numbers, got {what}"):
        Channel(name="c", observed=np.atleast_1d(make(np))[:1].repeat(2),
                components=[Component(name="s", expected=np.array([20.0, 30.0]))])
    pd = pytest.importorskip("pandas")
    for fine in (np.array([1.0, 2.0]), [1.0, 2.0], np.array([1, 2]), pd.Series([1.0, 2.0])):
        np.testing.assert_array_equal(finite_array(fine, "x"), [1.0, 2.0])
