"""cevns.config: the TOML type checks of StrictModel (``type_mismatch``)."""

from __future__ import annotations

import pickle
from typing import Literal

import numpy as np
import pytest

from cevns.config import StrictModel, type_mismatch, validate
from cevns.errors import ConfigError


@pytest.mark.parametrize("value", [True, np.True_, np.array(True)])
def test_a_boolean_where_a_number_is_wanted(value):
    # pydantic's lax mode reads true, np.True_ and a 0-d bool array as 1: refused with the TOML
    # spelling of the value (the message type_mismatch writes)
    assert type_mismatch(float, value) == "must be a number, got true"
    assert type_mismatch(int | None, value) == "must be a number, got true"
    assert type_mismatch(Literal[1, 2], value) == "must be one of 1, 2, got true"
    assert type_mismatch(bool, value) is None
    assert type_mismatch(float | bool, value) is None


def test_only_a_boolean_where_a_boolean_is_wanted():
    assert type_mismatch(bool, 1) == "must be true or false, got 1"
    assert type_mismatch(bool, "no") == 'must be true or false, got "no"'
    # a bool array is not a scalar boolean (is_bool(..., scalar_only=True)) but is of a boolean
    # dtype: neither "must be a number" for a number field nor "true or false" for a bool one;
    # left to pydantic's own validation
    assert type_mismatch(float, np.array([True, False])) is None
    assert type_mismatch(bool, np.array([True, False])) is None


def test_items_of_lists_are_checked():
    assert type_mismatch(list[float], [1.0, True]) == "item 1: must be a number, got true"
    assert type_mismatch(list[float], [1.0, 2]) is None


# -- the structured problems of a refused configuration (ConfigError.problems) -------------------

class _Options(StrictModel):
    interaction: Literal["scalar", "vector"]
    contact: bool = False
    mass_MeV: float = 1.0


def test_every_refused_field_is_a_structured_problem():
    # the message lists the same problems, one "path: message" line each; a caller that words
    # them itself (the command line's --option) reads the fields, not the message
    with pytest.raises(ConfigError) as info:
        validate(_Options, {"contcat": True, "mass_MeV": 3}, where="scenario")
    problems = {p.key: p for p in info.value.problems}
    assert set(problems) == {"interaction", "contcat"}
    assert problems["interaction"].kind == "missing"
    assert problems["interaction"].path == ("scenario", "interaction")
    assert problems["contcat"].kind == "unknown"
    assert problems["contcat"].hint == "did you mean 'contact'?"
    # a value of the wrong TOML type (refused before pydantic's own checks) names its field too
    with pytest.raises(ConfigError) as wrong:
        validate(_Options, {"interaction": "scalar", "mass_MeV": "3"}, where="scenario")
    (problem,) = wrong.value.problems
    assert (problem.path, problem.kind) == (("scenario", "mass_MeV"), "invalid")
    assert "text" in problem.message
    for err in (info.value, wrong.value):
        for p in err.problems:
            assert f"{'.'.join(p.path)}: {p.text}" in str(err)


def test_a_refused_value_is_a_field_of_its_own():
    # the value pydantic refused is Problem.given, apart from the message, so that a caller can
    # quote it as the user typed it (the command line: "true", read as True)
    with pytest.raises(ConfigError) as info:
        validate(_Options, {"interaction": "tensor"}, where="scenario")
    (problem,) = info.value.problems
    assert problem.given == "'tensor'"
    assert "tensor" not in problem.message
    assert problem.text == f"{problem.message} (got 'tensor')"
    assert f"scenario.interaction: {problem.text}" in str(info.value)


def test_problems_survive_pickling_and_default_to_none():
    # an error raised in a worker process reaches the driver pickled
    with pytest.raises(ConfigError) as info:
        validate(_Options, {"interaction": "tensor"}, where="scenario")
    again = pickle.loads(pickle.dumps(info.value))
    assert again.problems == info.value.problems and len(again.problems) == 1
    assert ConfigError("plain message").problems == ()
