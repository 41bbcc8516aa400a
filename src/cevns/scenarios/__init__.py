"""Scenarios layer: physics models with declared strength and shape parameters.

See :mod:`cevns.scenarios.base` for the user guide. Built-in names: ``sm``, ``ngi`` (and the
sterile-sector scenarios as they land).
"""

from cevns.scenarios.base import (
    Parameter,
    Scenario,
    get_scenario,
    register_scenario,
    scenario_names,
)

__all__ = ["Parameter", "Scenario", "get_scenario", "register_scenario", "scenario_names"]
