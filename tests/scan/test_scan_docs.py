"""The examples in the docstrings of cevns.scan run and print what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "module", ["cevns.scan", "cevns.scan.cost", "cevns.scan.digest", "cevns.scan.grid", "cevns.scan.tiles"]
)
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
