"""Neutrino sources: π⁺ decay at rest at a spallation target (docs/physics.md#flux)."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, model_validator

from cevns.config import StrictModel
from cevns.errors import ConfigError
from cevns.physics.constants import ELEMENTARY_CHARGE_COULOMB
from cevns.physics.units import cm, day, m

BackgroundExposure = Literal["beam-coincidence", "beam-time", "calendar"]


class Source(StrictModel):
    """A π-DAR neutrino source seen from one baseline.

    The flux of each flavour integrated over the run is Φ₀ = r N_POT/(4π L²), with r neutrinos per
    flavour per proton on target, N_POT the protons delivered during the run and L the baseline.
    Give either ``pot_per_year`` or ``beam_power_MW`` with ``proton_energy_GeV`` (then
    N_POT/yr = P · t_beam/(E_p e)), N_POT = N_POT/yr × ``run_years``.

    A finished data period (a COHERENT release) is described by ``pot_total``, the protons on
    target it collected: then N_POT = ``pot_total`` whatever ``run_years`` says, ``pot_per_year``
    must not be given, ``run_years`` (with ``beam_days_per_year`` and ``duty_factor``) only sets the
    steady-state background exposure, and :meth:`with_run_years` is refused (the exposure of a
    data period is fixed).
    """

    name: str = "custom"
    description: str = ""
    citation: str = ""
    baseline_m: float = Field(gt=0, description="source-detector distance in m")
    nu_per_flavour_per_pot: float = Field(gt=0, description="r: ν per flavour per proton")
    pot_per_year: float | None = Field(default=None, gt=0, description="protons on target per year")
    beam_power_MW: float | None = Field(default=None, gt=0)
    proton_energy_GeV: float | None = Field(default=None, gt=0)
    beam_days_per_year: float = Field(gt=0, le=366, description="days of beam per (calendar) year")
    duty_factor: float = Field(gt=0, le=1, description="fraction of beam time inside beam windows")
    run_years: float = Field(default=3.0, gt=0, description="years of data taking")
    pot_total: float | None = Field(default=None, gt=0,
                                    description="protons on target of a whole data period "
                                    "(exclusive with pot_per_year)")

    @model_validator(mode="after")
    def _pot_given(self) -> Source:
        if self.pot_total is not None:
            if self.pot_per_year is not None:
                raise ValueError(f"give pot_total ({self.pot_total:g}, a whole data period) or "
                                 f"pot_per_year ({self.pot_per_year:g}), not both")
            return self
        if self.pot_per_year is None and (self.beam_power_MW is None or self.proton_energy_GeV is None):
            raise ValueError("give pot_per_year, or beam_power_MW and proton_energy_GeV, "
                             "or pot_total")
        return self

    @property
    def protons_per_year(self) -> float:
        """Protons on target per year (given, from beam power and proton energy, or
        ``pot_total / run_years`` for a data period)."""
        if self.pot_total is not None:
            return self.pot_total / self.run_years
        if self.pot_per_year is not None:
            return self.pot_per_year
        seconds = self.beam_days_per_year * 86400.0
        return self.beam_power_MW * 1e6 * seconds / (self.proton_energy_GeV * 1e9
                                                      * ELEMENTARY_CHARGE_COULOMB)

    @property
    def protons_on_target(self) -> float:
        """Protons on target over the whole run (``pot_total`` for a data period)."""
        if self.pot_total is not None:
            return self.pot_total
        return self.protons_per_year * self.run_years

    def flux_per_flavour(self) -> float:
        """Time-integrated flux per flavour over the run, in internal units (1/area)."""
        baseline = self.baseline_m * m
        return self.nu_per_flavour_per_pot * self.protons_on_target / (4.0 * math.pi * baseline**2)

    def flux_per_flavour_per_year_cm2(self) -> float:
        """Φ₀ per calendar year in ν cm⁻² (1.671e15 for the ESS preset)."""
        return self.flux_per_flavour() / self.run_years * cm**2

    def background_exposure_time(self, mode: BackgroundExposure) -> float:
        """Live time over which steady-state background is counted (internal time units).

        ``beam-coincidence``: run_years × beam days × duty factor (only events inside the beam
        windows are kept); ``beam-time``: run_years × beam days; ``calendar``: run_years × 365.25 d.
        """
        if mode == "beam-coincidence":
            return self.run_years * self.beam_days_per_year * self.duty_factor * day
        if mode == "beam-time":
            return self.run_years * self.beam_days_per_year * day
        if mode == "calendar":
            return self.run_years * 365.25 * day
        raise ConfigError(f"background exposure {mode!r}: valid choices beam-coincidence, "
                          "beam-time, calendar")

    def _summary_rows(self) -> list[tuple[str, str]]:
        return [("baseline", f"{self.baseline_m:g} m"),
                ("ν per flavour per POT", f"{self.nu_per_flavour_per_pot:g}"),
                ("POT per year", f"{self.protons_per_year:.4g}"),
                ("beam", f"{self.beam_days_per_year:g} d/yr, duty factor {self.duty_factor:g}"),
                ("run time", f"{self.run_years:g} yr"),
                ("flux per flavour", f"{self.flux_per_flavour_per_year_cm2():.4g} ν/cm²/yr")]

    def __repr__(self) -> str:
        from cevns._repr import text_summary

        return text_summary(f"Source({self.name!r})", self._summary_rows())

    __str__ = __repr__

    def _repr_html_(self) -> str:
        from cevns._repr import html_summary

        return html_summary(f"Source {self.name}", self._summary_rows())

    def with_run_years(self, years: float) -> Source:
        """A validated copy of this source with another run time (years, finite and > 0)."""
        try:
            value = float(years)
        except (TypeError, ValueError):
            raise ConfigError(f"run_years must be a number of years, got {years!r}") from None
        if not (math.isfinite(value) and value > 0):
            raise ConfigError(f"run_years must be a finite number of years > 0, got {years!r}")
        if self.pot_total is not None:
            raise ConfigError(f"source {self.name}: a data period with a fixed exposure "
                              f"(pot_total = {self.pot_total:g}); its run time cannot be changed. "
                              "Use a source with pot_per_year or beam_power_MW for projections")
        return self.replace(run_years=value)
