"""cevns.config: the TOML type checks of StrictModel (``type_mismatch``)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pytest

from cevns.config import type_mismatch


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
