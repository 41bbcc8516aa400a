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

from cevns.analyses.mathtext import MathText
from cevns.config import StrictModel
from cevns.errors import ConfigError
from cevns.physics.constants import SIN2_THETA_W


class NewPhysicsScenario(StrictModel):
    """Scenario name and options."""

    name: str
    options: dict[str, Any] = {}


class NewPhysicsCurve(StrictModel):
    """One new-physics spectrum of a spectra figure: total signal (SM + new physics).

    The scenario, its options, the names of ``values`` and their ranges are checked when the
    analysis file is read, not when the spectra are computed."""

    label: MathText
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

    def at_sin2_theta_w(self, sin2_theta_w: float) -> NewPhysicsCurve:
        """The benchmark as a spectra analysis at ``sin2_theta_w`` computes it: its scenario's
        ``sin2_theta_w`` parameter set to the analysis's value, unless ``values`` sets it (the
        curve is then drawn beside, and divided by, the SM at that value). A scenario without
        that parameter is returned unchanged (:func:`check_new_physics` refuses it in an analysis
        away from the default)."""
        from cevns.scenarios import get_scenario

        scenario = get_scenario(self.scenario.name, **self.scenario.options)
        if "sin2_theta_w" not in scenario.parameters or "sin2_theta_w" in self.values:
            return self
        return self.model_copy(update={"values": {**self.values,
                                                  "sin2_theta_w": float(sin2_theta_w)}})

    @model_validator(mode="after")
    def _known(self) -> NewPhysicsCurve:
        from cevns.scenarios import get_scenario

        scenario = get_scenario(self.scenario.name, **self.scenario.options)
        scenario.check_names(self.values)
        for name, value in self.values.items():
            scenario.parameters[name].check(value)
        return self


def check_new_physics(curves, detectors, source, sin2_theta_w: float = SIN2_THETA_W) -> None:
    """Whole-file checks of the ``new_physics`` benchmarks of a spectra analysis, when the file is
    read (raises :class:`ConfigError` naming ``new_physics[i]``):

    - labels are not blank and are unique (they name the curves of the figure and the rows of the
      new-physics table: a repeated label would attribute one benchmark's numbers to another);
    - no two benchmarks are the same point (scenario, options and values);
    - a benchmark is new physics: at least one *strength* parameter of its scenario (coupling,
      magnetic moment, α₁₁, sin²θ_W …) away from its default, which is the Standard-Model value
      ("off"), sin²θ_W away from the analysis's ``sin2_theta_w`` (the value the benchmark takes
      unless ``values`` sets it, :meth:`NewPhysicsCurve.at_sin2_theta_w`). With every strength at
      its SM value the rate is the SM rate whatever the shape parameters (a mediator or sterile
      mass), and the curve would silently be the SM curve;
    - with ``sin2_theta_w`` away from the default, a scenario that has a ``sin2_theta_w``
      parameter (its curve could not be computed at the analysis's value);
    - a sterile mass every ``detectors``' targets can be produced at ``source`` (the check the
      sterile scenarios make when the spectra are computed).
    """
    from cevns.errors import KinematicsError
    from cevns.scenarios import get_scenario

    for i, curve in enumerate(curves):
        field = f"new_physics[{i}]"
        if not curve.label.strip():
            raise ConfigError(f"{field}.label: empty; every benchmark needs a label (it names the "
                              "benchmark's curve in the legend and its rows in the tables)")
        for j in range(i):
            if curve.label == curves[j].label:
                raise ConfigError(f"{field}.label: {curve.label!r} is also the label of "
                                  f"new_physics[{j}]; benchmark labels must be unique (they "
                                  "name the curves and the rows of the new-physics table)")
            if (curve.scenario, dict(curve.values)) == (curves[j].scenario, dict(curves[j].values)):
                raise ConfigError(f"{field}: the same benchmark as new_physics[{j}] (scenario "
                                  f"{curve.scenario.name!r}, the same options and values); "
                                  "list each benchmark once")
        scenario = get_scenario(curve.scenario.name, **curve.scenario.options)
        if "sin2_theta_w" not in scenario.parameters and sin2_theta_w != SIN2_THETA_W:
            raise ConfigError(
                f"{field}.scenario: scenario {curve.scenario.name!r} has no sin2_theta_w "
                f"parameter, so its curve cannot be computed at the analysis's sin2_theta_w = "
                f"{sin2_theta_w:g} (it would be drawn at {SIN2_THETA_W:g} beside the SM at "
                f"{sin2_theta_w:g}); leave sin2_theta_w at its default for this benchmark")
        used = curve.at_sin2_theta_w(sin2_theta_w).values  # the values the curve is computed at
        strength = {n: p for n, p in scenario.parameters.items() if p.kind == "strength"}
        sm = {n: sin2_theta_w if n == "sin2_theta_w" else p.default for n, p in strength.items()}
        values = {n: float(used.get(n, sm[n])) for n in strength}
        if strength and all(v == sm[n] for n, v in values.items()):
            shown = ", ".join(f"{n} = {v:g}" + (" (the analysis's sin2_theta_w)" if n ==
                                                "sin2_theta_w" and v != SIN2_THETA_W else "")
                              for n, v in values.items())
            given = ("values = {} sets no parameter" if not curve.values else
                     f"values sets only {', '.join(curve.values)}")
            raise ConfigError(
                f"{field}.values: {given}, and every strength parameter of scenario "
                f"{curve.scenario.name!r} is at its default, the Standard-Model value ({shown}): "
                "the benchmark would be the SM curve; give at least one of "
                f"{', '.join(strength)} a value away from the SM")
        for det in detectors:  # what the scenario cannot compute (a sterile mass beyond reach)
            try:
                scenario.check_values(det, source, dict(used))
            except (ConfigError, KinematicsError) as exc:
                raise type(exc)(f"{field}.values: {exc} (benchmark {curve.label!r})") from None


def new_physics_counts(curve: NewPhysicsCurve, detector, source) -> np.ndarray:
    """Expected signal counts per bin of ``curve`` in ``detector`` (the SM included), at the
    curve's ``values`` (scenario defaults for the others): a spectra analysis passes
    ``curve.at_sin2_theta_w(analysis.sin2_theta_w)``."""
    from cevns.scenarios import get_scenario

    scenario = get_scenario(curve.scenario.name, **curve.scenario.options)
    try:
        scenario.check_names(curve.values)
    except ConfigError as exc:
        raise ConfigError(f"new_physics {curve.label!r}: {exc}") from None
    return np.asarray(scenario.counts(detector, source, dict(curve.values)), dtype=float)


__all__ = ["NewPhysicsCurve", "check_new_physics", "new_physics_counts"]
