"""The example in the cevns.stats user guide (module docstring) runs and prints what it shows."""

from __future__ import annotations

import doctest

import cevns.stats


def test_user_guide_example():
    result = doctest.testmod(cevns.stats, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
