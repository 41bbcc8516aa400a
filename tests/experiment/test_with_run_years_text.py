"""Source.with_run_years refuses text, as every other number of the package does (audit 8:
``"3"`` was read as 3 years)."""

from __future__ import annotations

import pytest

from cevns.errors import ConfigError
from cevns.experiment import get_source


@pytest.mark.parametrize("years", ["3", b"3", ["3"], True])
def test_text_and_booleans_are_not_years(years):
    with pytest.raises(ConfigError, match="run_years must be a number of years"):
        get_source("ess").with_run_years(years)


def test_numbers_are_years():
    assert get_source("ess").with_run_years(3).run_years == 3.0
