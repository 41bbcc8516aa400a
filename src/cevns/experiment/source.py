"""Neutrino sources as data: π⁺ decay at rest, or a tabulated spectrum per flavour (docs/sources.md).

A :class:`Source` is one of two kinds:

``kind = "pi-dar"`` (default)
    π⁺ decay at rest at a spallation target: the prompt ν_μ line and the Michel ν_e and ν̄_μ
    spectra (:mod:`cevns.physics.flux`), r neutrinos per flavour per proton on target.
``kind = "tabulated"``
    A spectrum per flavour read from a CSV file (``spectrum_file``) or given inline
    (``spectrum``), plus optional monochromatic ``lines``; normalised ``per-pot`` (ν per proton
    on target per MeV, emitted isotropically) or ``per-cm2-s`` (ν cm⁻² s⁻¹ MeV⁻¹ at the
    detector). This is how reactor or solar sources are added without code.

The exposure is given by protons on target — ``pot_per_year``, ``pot_total`` (a finished data
period) or the beam: ``beam_power_MW`` with ``proton_energy_GeV`` (POT/s = P/(E_p e)) — and by the
beam time per year (``beam_days_per_year`` or ``beam_hours_per_year``) and ``run_years``.
"""

from __future__ import annotations

import csv
import math
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, ValidationInfo, field_validator, model_validator

from cevns.config import StrictModel, read_user_text
from cevns.errors import CevnsError, ConfigError, UnknownNameError, is_bool, is_text
from cevns.physics.constants import ELEMENTARY_CHARGE_COULOMB
from cevns.physics.flux import (
    FLAVOURS,
    VALID_FLAVOURS,
    FlavourSpectrum,
    pion_dar_breakpoint_energies,
    pion_dar_flavour_spectrum,
    tabulated_spectrum,
)
from cevns.physics.units import MeV, cm, day, m, s

BackgroundExposure = Literal["beam-coincidence", "beam-time", "calendar"]
SourceKind = Literal["pi-dar", "tabulated"]
Normalisation = Literal["per-pot", "per-cm2-s"]

#: Shortest source-detector distance accepted, in m (1 mm; the flux falls as 1/L²).
MIN_BASELINE_M = 1e-3
#: Longest source-detector distance accepted, in m (1000 km, as ``--baseline-m``): far beyond any
#: π-DAR experiment; near 1e154 m the 1/L² of the flux overflows.
MAX_BASELINE_M = 1e6
#: Largest exposures accepted (protons on target), far above any beam: beyond them counts overflow.
MAX_POT = {"pot_per_year": 1e27, "pot_total": 1e30}
#: Highest neutrino energy of a tabulated spectrum or line, in MeV (1 TeV): far above any source
#: of coherent scattering (π-DAR ends at 52.8 MeV, reactors near 10 MeV); far beyond it the
#: kinematics overflow and a line was silently dropped.
MAX_NEUTRINO_ENERGY_MEV = 1e6
#: Seconds in a day and in an hour (the beam time per year is given in either).
_DAY_S, _HOUR_S = 86400.0, 3600.0


def _check_flavour_name(name: str) -> str:
    if name not in VALID_FLAVOURS:
        raise UnknownNameError("flavour", name, VALID_FLAVOURS)
    return name


class SpectralLine(StrictModel):
    """A monochromatic line of a tabulated source (e.g. the prompt ν_μ of π⁺ decay at rest)."""

    flavour: str
    energy_MeV: float = Field(gt=0, le=MAX_NEUTRINO_ENERGY_MEV,
                              description="line energy in MeV, at most 1e6 (1 TeV)")
    intensity: float = Field(gt=0, description="ν per POT (per-pot) or ν cm⁻² s⁻¹ (per-cm2-s)")

    @field_validator("flavour")
    @classmethod
    def _flavour(cls, value: str) -> str:
        return _check_flavour_name(value)


class SpectrumTable(StrictModel):
    """A tabulated spectrum: energies in MeV and, per flavour, dN/dE at those energies.

    Units of ``flux``: ν per POT per MeV (``normalisation = "per-pot"``) or ν cm⁻² s⁻¹ MeV⁻¹
    (``"per-cm2-s"``). Linear interpolation between the energies, zero outside them.
    """

    energy_MeV: tuple[float, ...]
    flux: dict[str, tuple[float, ...]]

    @model_validator(mode="after")
    def _shape(self) -> SpectrumTable:
        e = np.asarray(self.energy_MeV, dtype=float)
        if e.size < 2:
            raise ValueError(f"energy_MeV: at least 2 energies are needed, got {e.size}")
        if e[0] < 0:
            raise ValueError(f"energy_MeV: energies must be ≥ 0, got {e[0]:g}")
        if e[-1] > MAX_NEUTRINO_ENERGY_MEV:
            raise ValueError(f"energy_MeV: energies must be at most {MAX_NEUTRINO_ENERGY_MEV:g} "
                             f"MeV (1 TeV, far above any source of coherent scattering), got "
                             f"{e[-1]:g}")
        bad = np.nonzero(np.diff(e) <= 0)[0]
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"energy_MeV: energies must increase strictly; entry {i + 1} "
                             f"({e[i + 1]:g}) follows {e[i]:g}")
        if not self.flux:
            raise ValueError("flux: give at least one flavour column")
        for name, values in self.flux.items():
            _check_flavour_name(name)
            if len(values) != e.size:
                raise ValueError(f"flux.{name}: {len(values)} values for {e.size} energies")
            neg = [v for v in values if v < 0]
            if neg:
                raise ValueError(f"flux.{name}: values must be ≥ 0, got {neg[0]:g}")
        return self


def read_spectrum_csv(path: Path, shown: str | None = None) -> dict[str, Any]:
    """Read a tabulated spectrum: ``energy_MeV`` then one column per flavour (docs/sources.md).

    Lines starting with ``#`` are comments; the first other line is the header. Returns the
    :class:`SpectrumTable` fields. Every problem is a :class:`ConfigError` naming the file (and the
    row and column where it applies).
    """
    where = shown or str(path)
    text = read_user_text(path, f"spectrum_file {where}", "CSV")
    rows = [(n, r) for n, r in enumerate(csv.reader(text.splitlines()), start=1)
            if r and not r[0].lstrip().startswith("#") and any(c.strip() for c in r)]
    if not rows:
        raise ConfigError(f"spectrum_file {where}: empty (expected a header energy_MeV,<flavours>)")
    _, header = rows[0]
    header = [c.strip() for c in header]
    if header[0] != "energy_MeV":
        raise ConfigError(f"spectrum_file {where}: the first column must be 'energy_MeV', "
                          f"got {header[0]!r}")
    flavours = header[1:]
    if not flavours:
        raise ConfigError(f"spectrum_file {where}: no flavour columns after energy_MeV")
    for f in flavours:
        if f not in VALID_FLAVOURS:
            raise ConfigError(f"spectrum_file {where}: unknown flavour column {f!r}; valid "
                              f"flavours: {', '.join(VALID_FLAVOURS)}")
    if len(set(flavours)) != len(flavours):
        raise ConfigError(f"spectrum_file {where}: a flavour column appears twice: {flavours}")
    columns: list[list[float]] = [[] for _ in header]
    for line, row in rows[1:]:
        if len(row) != len(header):
            raise ConfigError(f"spectrum_file {where}, line {line}: {len(row)} columns, the "
                              f"header has {len(header)}")
        for j, cell in enumerate(row):
            try:
                value = float(cell)
            except ValueError:
                raise ConfigError(f"spectrum_file {where}, line {line}, column {header[j]}: "
                                  f"not a number: {cell.strip()!r}") from None
            if not math.isfinite(value):
                raise ConfigError(f"spectrum_file {where}, line {line}, column {header[j]}: "
                                  f"must be a finite number, got {cell.strip()!r}")
            columns[j].append(value)
    energies = columns[0]
    for i in range(1, len(energies)):
        if energies[i] <= energies[i - 1]:
            raise ConfigError(f"spectrum_file {where}: energy_MeV must increase strictly; "
                              f"{energies[i]:g} follows {energies[i - 1]:g} (data row {i + 1})")
    return {"energy_MeV": tuple(energies),
            "flux": {f: tuple(columns[j + 1]) for j, f in enumerate(flavours)}}


def _resolve_spectrum_file(name: str, context: dict | None) -> tuple[Path, str]:
    context = context or {}
    packaged = context.get("packaged_dir")
    if packaged is not None and not Path(name).is_absolute():
        # a built-in preset's table: checked against its SHA-256 (cevns.integrity) before reading
        from cevns.integrity import packaged_path

        try:
            return packaged_path(f"{packaged}/{name}"), f"cevns/{packaged}/{name}"
        except CevnsError as exc:
            raise ConfigError(f"spectrum_file {name}: {exc}") from None
    path = Path(name)
    if not path.is_absolute():
        path = Path(context.get("base_dir") or ".") / path
    return path, str(path)


class Source(StrictModel):
    """A neutrino source seen from one baseline (docs/sources.md).

    π-DAR: the flux of each flavour integrated over the run is Φ₀ = r N_POT/(4π L²), with r
    neutrinos per flavour per proton on target, N_POT the protons delivered during the run and L
    the baseline. Give exactly one of ``pot_per_year``, ``pot_total`` or ``beam_power_MW`` with
    ``proton_energy_GeV`` (then N_POT/yr = P · t_beam/(E_p e), t_beam the beam time per year);
    N_POT = N_POT/yr × ``run_years``. ``proton_energy_GeV`` may also be given next to a POT number,
    as a record (it is then not used).

    A finished data period (a COHERENT release) is described by ``pot_total``, the protons on
    target it collected: then N_POT = ``pot_total`` whatever ``run_years`` says, ``pot_per_year``
    must not be given, ``run_years`` (with the beam time and ``duty_factor``) only sets the
    steady-state background exposure, and :meth:`with_run_years` is refused (the exposure of a
    data period is fixed).

    Tabulated (``kind = "tabulated"``): dN/dE per flavour from ``spectrum_file`` (CSV, read when
    the source is validated; a relative path is relative to the preset file) or inline
    ``spectrum``; with ``normalisation = "per-pot"`` the fluence is table × N_POT/(4π L²), with
    ``"per-cm2-s"`` it is table × live time (run_years × beam time per year). When both
    ``spectrum_file`` and ``spectrum`` are present (a resolved definition written by cevns), the
    inline data are used and the file name is a record of their origin.
    """

    name: str = "custom"
    description: str = ""
    citation: str = ""
    kind: SourceKind = "pi-dar"
    baseline_m: float = Field(gt=0, description="source-detector distance in m, at least "
                              "1 mm (MIN_BASELINE_M) and at most 1e6 m (MAX_BASELINE_M): the "
                              "flux falls as 1/L²")
    production_region_m: float | None = Field(
        default=None, ge=0, description="length of the ν production region along the line of "
        "sight, m (baseline averaging; None: unknown)")
    nu_per_flavour_per_pot: float | None = Field(default=None, gt=0,
                                                 description="r: ν per flavour per proton (π-DAR)")
    pot_per_year: float | None = Field(default=None, gt=0,
                                       description="protons on target per year, at most 1e27 "
                                       "(the ESS gives 2.8e23)")
    beam_power_MW: float | None = Field(default=None, gt=0, description="proton beam power, MW")
    proton_energy_GeV: float | None = Field(default=None, gt=0,
                                            description="proton kinetic energy, GeV")
    beam_days_per_year: float | None = Field(default=None, gt=0, le=366,
                                             description="days of beam per (calendar) year")
    beam_hours_per_year: float | None = Field(default=None, gt=0, le=8784,
                                              description="hours of beam per (calendar) year")
    duty_factor: float = Field(gt=0, le=1, description="fraction of beam time inside beam windows")
    run_years: float = Field(default=3.0, gt=0, le=1000,
                             description="years of data taking, at most 1000")
    pot_total: float | None = Field(default=None, gt=0,
                                    description="protons on target of a whole data period, at "
                                    "most 1e30 (exclusive with pot_per_year)")
    spectrum_file: str | None = Field(default=None, description="tabulated: CSV file "
                                      "(energy_MeV, one column per flavour)")
    spectrum: SpectrumTable | None = None
    normalisation: Normalisation | None = Field(default=None, description="tabulated: per-pot "
                                                "or per-cm2-s")
    lines: tuple[SpectralLine, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _read_spectrum_file(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict) and data.get("spectrum_file") and data.get("spectrum") is None:
            name = data["spectrum_file"]
            if not isinstance(name, str):
                return data  # the field validator names the wrong type
            path, shown = _resolve_spectrum_file(name, info.context)
            data = {**data, "spectrum": read_spectrum_csv(path, shown)}
        return data

    @field_validator("baseline_m")
    @classmethod
    def _not_too_close(cls, value: float) -> float:
        if value < MIN_BASELINE_M:
            raise ValueError(f"the baseline must be at least {MIN_BASELINE_M:g} m (1 mm)")
        if value > MAX_BASELINE_M:
            raise ValueError(f"the baseline must be at most {MAX_BASELINE_M:g} m (1000 km)")
        return value

    @field_validator("pot_per_year", "pot_total")
    @classmethod
    def _pot_bound(cls, value: float | None, info: ValidationInfo) -> float | None:
        cap = MAX_POT[info.field_name]
        if value is not None and value > cap:
            raise ValueError(f"at most {cap:g} protons on target (the ESS gives 2.8e23 a year)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Source:
        if (self.beam_days_per_year is None) == (self.beam_hours_per_year is None):
            raise ValueError("give the beam time per year as beam_days_per_year or "
                             "beam_hours_per_year (exactly one)")
        if self.kind == "pi-dar":
            tab = [k for k in ("spectrum_file", "spectrum", "normalisation")
                   if getattr(self, k) is not None] + (["lines"] if self.lines else [])
            if tab:
                raise ValueError(f"{', '.join(tab)}: only for kind = \"tabulated\" (this source "
                                 "is kind = \"pi-dar\")")
            if self.nu_per_flavour_per_pot is None:
                raise ValueError("nu_per_flavour_per_pot: required for a π-DAR source "
                                 "(ν per flavour per proton on target)")
            self._check_exposure()
            return self
        # tabulated
        if self.spectrum is None and not self.lines:
            raise ValueError("a tabulated source needs spectrum_file (or an inline spectrum) "
                             "and/or lines")
        if self.normalisation is None:
            raise ValueError("normalisation: required for a tabulated source: \"per-pot\" "
                             "(ν per POT per MeV) or \"per-cm2-s\" (ν cm⁻² s⁻¹ MeV⁻¹ at the "
                             "detector)")
        if self.nu_per_flavour_per_pot is not None:
            raise ValueError("nu_per_flavour_per_pot: not used by a tabulated source (its "
                             "table carries the yield); remove it")
        dup = [ln.flavour for ln in self.lines]
        if len(set(dup)) != len(dup):
            raise ValueError(f"lines: one line per flavour, got {dup}")
        if not self.lines and not any(v > 0 for col in self.spectrum.flux.values() for v in col):
            # one flavour at 0 is a flavour switched off; all of them is a source of nothing
            raise ValueError(f"spectrum: every flux value of every flavour "
                             f"({', '.join(self.spectrum.flux)}) is 0 and there are no lines: "
                             "the source emits no neutrinos (a zero signal everywhere)")
        if self.normalisation == "per-pot":
            self._check_exposure()
        else:
            given = [k for k in ("pot_per_year", "pot_total", "beam_power_MW")
                     if getattr(self, k) is not None]
            if given:
                raise ValueError(f"{', '.join(given)}: not used with normalisation = "
                                 "\"per-cm2-s\" (the table is a flux at the detector); remove")
        return self

    def _check_exposure(self) -> None:
        pot_forms = [k for k in ("pot_per_year", "pot_total") if getattr(self, k) is not None]
        if len(pot_forms) > 1:
            raise ValueError(f"give pot_total ({self.pot_total:g}, a whole data period) or "
                             f"pot_per_year ({self.pot_per_year:g}), not both")
        if self.beam_power_MW is not None:
            if pot_forms:
                raise ValueError(f"give the protons on target ({pot_forms[0]}) or the beam "
                                 f"(beam_power_MW = {self.beam_power_MW:g} with "
                                 "proton_energy_GeV), not both")
            if self.proton_energy_GeV is None:
                raise ValueError("beam_power_MW needs proton_energy_GeV (POT/s = P/(E_p e))")
            return
        if not pot_forms:
            raise ValueError("give pot_per_year, or beam_power_MW and proton_energy_GeV, "
                             "or pot_total")

    # --- exposure ---------------------------------------------------------------------------
    @property
    def beam_days(self) -> float:
        """Days of beam per year (from ``beam_days_per_year`` or ``beam_hours_per_year``/24)."""
        if self.beam_days_per_year is not None:
            return self.beam_days_per_year
        return self.beam_hours_per_year / 24.0

    def _beam_seconds(self) -> float:
        if self.beam_days_per_year is not None:
            return self.beam_days_per_year * _DAY_S
        return self.beam_hours_per_year * _HOUR_S

    def _needs_pot(self) -> None:
        if self.kind == "tabulated" and self.normalisation == "per-cm2-s":
            raise ConfigError(f"source {self.name}: a flux given per cm² per s has no protons "
                              "on target")

    @property
    def protons_per_year(self) -> float:
        """Protons on target per year (given, from beam power and proton energy, or
        ``pot_total / run_years`` for a data period)."""
        self._needs_pot()
        if self.pot_total is not None:
            return self.pot_total / self.run_years
        if self.pot_per_year is not None:
            return self.pot_per_year
        seconds = self._beam_seconds()
        return self.beam_power_MW * 1e6 * seconds / (self.proton_energy_GeV * 1e9
                                                      * ELEMENTARY_CHARGE_COULOMB)

    @property
    def protons_on_target(self) -> float:
        """Protons on target over the whole run (``pot_total`` for a data period)."""
        self._needs_pot()
        if self.pot_total is not None:
            return self.pot_total
        return self.protons_per_year * self.run_years

    def flux_per_flavour(self) -> float:
        """π-DAR: time-integrated flux per flavour over the run, in internal units (1/area)."""
        if self.kind != "pi-dar":
            raise ConfigError(f"source {self.name}: flux_per_flavour is for π-DAR sources; a "
                              "tabulated source has a spectrum per flavour (fluence_scale)")
        baseline = self.baseline_m * m
        return self.nu_per_flavour_per_pot * self.protons_on_target / (4.0 * math.pi * baseline**2)

    def flux_per_flavour_per_year_cm2(self) -> float:
        """Φ₀ per calendar year in ν cm⁻² (1.671e15 for the ESS preset)."""
        return self.flux_per_flavour() / self.run_years * cm**2

    def fluence_scale(self) -> float:
        """What multiplies each flavour's spectrum (:meth:`flavour_spectrum`) to give the
        run-integrated fluence dΦ/dE (internal units).

        π-DAR: r N_POT/(4π L²) (= :meth:`flux_per_flavour`, the spectra being normalised to 1);
        tabulated per-pot: N_POT/(4π L²); tabulated per-cm2-s: the live time, run_years × beam
        time per year.
        """
        if self.kind == "pi-dar":
            return self.flux_per_flavour()
        if self.normalisation == "per-pot":
            baseline = self.baseline_m * m
            return self.protons_on_target / (4.0 * math.pi * baseline**2)
        return self.run_years * self._beam_seconds() * s

    # --- spectra ----------------------------------------------------------------------------
    @property
    def flavours(self) -> tuple[str, ...]:
        """The flavours this source emits, in canonical order (:data:`VALID_FLAVOURS`)."""
        if self.kind == "pi-dar":
            return FLAVOURS
        present = set(self.spectrum.flux if self.spectrum is not None else ())
        present |= {ln.flavour for ln in self.lines}
        return tuple(f for f in VALID_FLAVOURS if f in present)

    @cached_property
    def _spectra(self) -> dict[str, FlavourSpectrum]:
        if self.kind == "pi-dar":
            return {f: pion_dar_flavour_spectrum(f) for f in FLAVOURS}
        if self.normalisation == "per-pot":
            per_line = 1.0  # ν per POT
        else:
            per_line = 1.0 / (cm**2 * s)  # ν cm⁻² s⁻¹
        per_density = per_line / MeV  # table values are per MeV
        out = {}
        for f in self.flavours:
            lines = [(ln.energy_MeV * MeV, ln.intensity * per_line)
                     for ln in self.lines if ln.flavour == f]
            values = None
            energies = None
            if self.spectrum is not None and f in self.spectrum.flux:
                energies = np.asarray(self.spectrum.energy_MeV) * MeV
                values = np.asarray(self.spectrum.flux[f]) * per_density
            out[f] = tabulated_spectrum(energies, values, lines)
        return out

    def flavour_spectrum(self, flavour: str) -> FlavourSpectrum:
        """The spectrum of ``flavour`` per unit :meth:`fluence_scale` (a ConfigError naming the
        source's flavours if it does not emit ``flavour``)."""
        spectra = self._spectra
        if flavour not in spectra:
            raise UnknownNameError(f"flavour of source {self.name}", flavour, tuple(spectra))
        return spectra[flavour]

    def breakpoint_energies(self) -> tuple[float, ...]:
        """Neutrino energies where rates have kinks in T (π-DAR: E_π and m_μ/2)."""
        if self.kind == "pi-dar":
            return pion_dar_breakpoint_energies()
        points: list[float] = []
        for f in self.flavours:
            points.extend(self._spectra[f].breakpoint_energies())
        return tuple(dict.fromkeys(points))

    def max_neutrino_energy(self) -> float:
        """Largest neutrino energy of the source (internal units)."""
        return max(self._spectra[f].max_energy for f in self.flavours)

    def total_flux_per_year_cm2(self) -> dict[str, float]:
        """ν cm⁻² per calendar year for each flavour (lines plus the integrated continuum).

        The continuum is integrated with a 16-point Gauss–Legendre rule on each of its panels
        (the table's intervals, or the Michel spectrum's [0, m_μ/2]): exact for a linearly
        interpolated table and for the cubic Michel spectra. (A trapezoid over the panel ends,
        used before, gave 0 for the π-DAR ν_e, whose density vanishes at both ends.)
        """
        x, w = np.polynomial.legendre.leggauss(16)
        out = {}
        for f in self.flavours:
            spec = self._spectra[f]
            total = sum(w for _, w in spec.lines)
            if spec.density is not None:
                e = np.asarray(spec.panels, dtype=float)
                lo, half = e[:-1, None], 0.5 * np.diff(e)[:, None]
                total += float(np.sum(half * w * spec.density(lo + half * (1.0 + x))))
            out[f] = total * self.fluence_scale() / self.run_years * cm**2
        return out

    def background_exposure_time(self, mode: BackgroundExposure) -> float:
        """Live time over which steady-state background is counted (internal time units).

        ``beam-coincidence``: run_years × beam days × duty factor (only events inside the beam
        windows are kept); ``beam-time``: run_years × beam days; ``calendar``: run_years × 365.25 d.
        """
        if mode == "beam-coincidence":
            return self.run_years * self.beam_days * self.duty_factor * day
        if mode == "beam-time":
            return self.run_years * self.beam_days * day
        if mode == "calendar":
            return self.run_years * 365.25 * day
        raise ConfigError(f"background exposure {mode!r}: valid choices beam-coincidence, "
                          "beam-time, calendar")

    def _summary_rows(self) -> list[tuple[str, str]]:
        rows = [("kind", self.kind), ("baseline", f"{self.baseline_m:g} m")]
        if self.kind == "pi-dar":
            rows.append(("ν per flavour per POT", f"{self.nu_per_flavour_per_pot:g}"))
        else:
            rows.append(("flavours", ", ".join(self.flavours)))
            rows.append(("normalisation", str(self.normalisation)))
        if not (self.kind == "tabulated" and self.normalisation == "per-cm2-s"):
            rows.append(("POT per year", f"{self.protons_per_year:.4g}"))
        rows += [("beam", f"{self.beam_days:g} d/yr, duty factor {self.duty_factor:g}"),
                 ("run time", f"{self.run_years:g} yr")]
        if self.kind == "pi-dar":
            rows.append(("flux per flavour", f"{self.flux_per_flavour_per_year_cm2():.4g} ν/cm²/yr"))
        else:
            flux = ", ".join(f"{f}: {v:.4g}" for f, v in self.total_flux_per_year_cm2().items())
            rows.append(("flux per year", f"{flux} ν/cm²"))
        return rows

    def __repr__(self) -> str:
        from cevns._repr import text_summary

        return text_summary(f"Source({self.name!r})", self._summary_rows())

    __str__ = __repr__

    def _repr_html_(self) -> str:
        from cevns._repr import html_summary

        return html_summary(f"Source {self.name}", self._summary_rows())

    def check_baseline_change(self) -> None:
        """Refuse to move this source to another baseline (``--baseline-m``, an analysis file's
        ``source.baseline_m``) when the flux would not follow: a tabulated source with
        ``normalisation = "per-cm2-s"`` gives its flux at the detector, and the flux at another
        distance is another table (:class:`ConfigError`)."""
        if self.kind == "tabulated" and self.normalisation == "per-cm2-s":
            raise ConfigError(f"source {self.name}: its table is the flux at the detector "
                              "(normalisation = \"per-cm2-s\"), which another baseline_m would "
                              "not change; define a source with the flux at the new distance and "
                              "that baseline_m")

    def with_run_years(self, years: float) -> Source:
        """A validated copy of this source with another run time (years, finite and > 0)."""
        if is_bool(years) or is_text(years):
            raise ConfigError(f"run_years must be a number of years, got {years!r}")
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
