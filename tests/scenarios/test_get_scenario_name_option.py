"""An option called ``name`` is an unknown option of the scenario, not a clash with
get_scenario's own first argument (audit 8: ``TypeError: got multiple values for argument
'name'`` reached users as an internal error)."""

from __future__ import annotations

import pytest

from cevns.errors import ConfigError
from cevns.scenarios import get_scenario


@pytest.mark.parametrize("scenario", ["ngi", "dipole", "sm"])
def test_an_option_called_name_is_an_unknown_option(scenario):
    options = {"interaction": "vector"} if scenario == "ngi" else {}
    with pytest.raises(ConfigError, match=r"scenario.name: unknown key"):
        get_scenario(scenario, name="dipole", **options)
