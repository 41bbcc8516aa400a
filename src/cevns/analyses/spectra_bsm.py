"""New-physics spectra drawn beside the SM spectra of paper Fig. 1.

The paper's Fig. 1 shows, per detector, the SM CEvNS spectrum together with "contributions from
various new physics scenarios". Which benchmark points the paper used did not survive in its
text; the shipped ``fig1`` therefore draws illustrative benchmarks of its own choosing (a light
vector B−L mediator, the sterile dipole portal and lepton-unitarity violation, each at a point
near the present COHERENT sensitivity), labelled with their parameter values. Any scenario of
:mod:`cevns.scenarios` can be listed in an analysis file::

    [[new_physics]]
    label = "light vector (B-L)"
    scenario = { name = "ngi", options = { interaction = "vector", vector_charge = "B-L" } }
    values = { coupling = 2e-5, mediator_mass_MeV = 10.0 }
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field, model_validator

from cevns.config import StrictModel
from cevns.errors import ConfigError


class NewPhysicsScenario(StrictModel):
    """Scenario name and options."""

    name: str
    options: dict[str, Any] = {}


class NewPhysicsCurve(StrictModel):
    """One new-physics spectrum of a spectra figure: total signal (SM + new physics).

    The scenario, its options, the names of ``values`` and their ranges are checked when the
    analysis file is read, not when the spectra are computed."""

    label: str
    scenario: NewPhysicsScenario
    values: dict[str, float]
    note: str = Field(default="", description="what a reader must know to read the curve "
                      "(printed in the caption), e.g. why it lies above the SM")

    @property
    def plain_label(self) -> str:
        """The curve as plain text for tables (``label`` is mathtext for the figure): scenario,
        options and values, e.g. ``ngi (interaction = vector, vector_charge = B-L): coupling =
        2e-05, mediator_mass_MeV = 10``."""
        opts = ", ".join(f"{k} = {v}" for k, v in self.scenario.options.items())
        vals = ", ".join(f"{k} = {v:g}" for k, v in self.values.items())
        return f"{self.scenario.name}{f' ({opts})' if opts else ''}: {vals}"

    @model_validator(mode="after")
    def _known(self) -> NewPhysicsCurve:
        from cevns.scenarios import get_scenario

        scenario = get_scenario(self.scenario.name, **self.scenario.options)
        scenario.check_names(self.values)
        for name, value in self.values.items():
            scenario.parameters[name].check(value)
        return self


def new_physics_counts(curve: NewPhysicsCurve, detector, source) -> np.ndarray:
    """Expected signal counts per bin of ``curve`` in ``detector`` (the SM included)."""
    from cevns.scenarios import get_scenario

    scenario = get_scenario(curve.scenario.name, **curve.scenario.options)
    try:
        scenario.check_names(curve.values)
    except ConfigError as exc:
        raise ConfigError(f"new_physics {curve.label!r}: {exc}") from None
    return np.asarray(scenario.counts(detector, source, dict(curve.values)), dtype=float)


__all__ = ["NewPhysicsCurve", "new_physics_counts"]
