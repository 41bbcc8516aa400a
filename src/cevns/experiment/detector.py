"""Detectors: targets, threshold, resolution, efficiency, background and binning (docs/physics.md#detectors).

A :class:`Detector` is a validated description; energies are given in keVnr (nuclear-recoil
energy), masses in kg, backgrounds in counts keV⁻¹ kg⁻¹ day⁻¹ ("ckkd"). Methods convert to the
internal unit system.

Two ways to describe the response (docs/response.md):

* the keVnr fields ``threshold_keVnr``, ``resolution``, ``efficiency``, ``binning`` (the ESS
  presets): no quenching, Gaussian smearing in keVnr, a flat efficiency — the ``none``-quenching
  special case of the response models;
* a ``response`` table (:class:`cevns.experiment.response_models.ResponseSpec`): quenching
  (Lindhard, constant, polynomial, linear, tabulated, per element), threshold and bins in keVnr,
  keVee or PE, efficiency curves, Gaussian / Poisson / gamma photoelectron smearing. Observed bins
  are then reported on the keVnr-equivalent scale of ``response.axis_element`` (the inverse of its
  mean observable), so that spectra keep one energy axis.
"""

from __future__ import annotations

import dataclasses
import math
import re
import warnings
from functools import cached_property, lru_cache
from typing import Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from cevns.config import StrictModel
from cevns.errors import CevnsWarning, ConfigError, KinematicsError
from cevns.experiment.response_models import MAX_RESPONSE_BINS, ResponseSpec, response_floor_fraction
from cevns.experiment.source import MAX_NEUTRINO_ENERGY_MEV, BackgroundExposure, Source
from cevns.experiment.timing import TimingSpec
from cevns.physics.constants import E_MICHEL_MAX, G_PER_MOL, N_AVOGADRO
from cevns.physics.flux import FLAVOURS
from cevns.physics.kinematics import _max_recoil_energy_unchecked
from cevns.physics.nuclei import (
    CompositionMode,
    Nucleus,
    element_composition,
    element_names,
    parse_formula,
)
from cevns.physics.units import MeV, day, fm, keV, kg

#: Bounds of :attr:`TargetSpec.atoms_per_molecule`: atoms per formula unit range from a dopant at
#: one part per million to a large molecule. Outside them the molar mass (Σ atoms × atomic mass)
#: underflows to 0 or overflows, and the number of targets with it (docs/nuclei.md).
MIN_ATOMS_PER_MOLECULE = 1e-6
MAX_ATOMS_PER_MOLECULE = 1e4


class TargetSpec(StrictModel):
    """One chemical element of the detector material and its atoms per molecule.

    ``enrichment`` (optional) replaces the natural isotopic composition by the given mole
    fractions, e.g. ``{Ge76 = 0.88, Ge74 = 0.12}`` (normalised to 1); it overrides the detector's
    ``composition`` for this element.
    """

    element: str
    atoms_per_molecule: float = Field(
        default=1.0, ge=MIN_ATOMS_PER_MOLECULE, le=MAX_ATOMS_PER_MOLECULE,
        description="atoms of this element per formula unit, from 1e-6 (a dopant at one part per "
                    "million, e.g. Tl in CsI[Tl] at 1e-3) to 1e4 (a large molecule or polymer "
                    "repeat unit); only ratios matter, and this range keeps the molar mass and the "
                    "number of targets finite and non-zero for every mass_kg")
    enrichment: dict[str, float] | None = None

    @model_validator(mode="after")
    def _enrichment_isotopes(self) -> TargetSpec:
        if self.enrichment is not None:
            element_composition(self.element, enrichment=self.enrichment)  # validates
        return self

    @field_validator("element")
    @classmethod
    def _known_element(cls, value: str) -> str:
        valid = element_names()
        if value not in valid:
            raise ValueError(f"unknown element {value!r}; valid choices: {', '.join(valid)}")
        return value


class NucleusData(StrictModel):
    """A detector's own numbers for one nucleus, overriding or completing the shipped tables.

    Typical use: spin expectation values of an isotope the shipped tables lack (``W183``), or a
    measured charge radius. Every field is optional except ``source`` (cite where the numbers come
    from); ``spin_proton`` and ``spin_neutron`` go together.
    """

    source: str = Field(min_length=1)
    spin_proton: float | None = None
    spin_neutron: float | None = None
    proton_rms_radius_fm: float | None = Field(default=None, gt=0, le=20.0,
                                               description="charge radius in fm, at most 20 "
                                               "(the heaviest nuclei have 6 fm)")

    @model_validator(mode="after")
    def _pair(self) -> NucleusData:
        if (self.spin_proton is None) != (self.spin_neutron is None):
            raise ValueError("give spin_proton and spin_neutron together")
        return self

    def apply(self, nucleus: Nucleus) -> Nucleus:
        """``nucleus`` with these numbers in place.

        A spin expectation value is bounded by the nucleons it sums over: each proton (neutron)
        carries a spin projection of at most ½, so ``|⟨S_p⟩| ≤ Z/2`` and ``|⟨S_n⟩| ≤ N/2``; a larger
        value is a :class:`ConfigError` (a typo, or a value in the wrong unit).
        """
        for field, value, count, what in (("spin_proton", self.spin_proton, nucleus.Z, "Z"),
                                          ("spin_neutron", self.spin_neutron, nucleus.N, "N")):
            if value is not None and abs(value) > count / 2:
                raise ConfigError(
                    f"nuclear_data.{nucleus.name}.{field}: |{value:g}| is above {what}/2 = "
                    f"{count / 2:g}, the most {count:g} nucleons of spin ½ can carry")
        changes: dict = {"source": f"{nucleus.source}; detector nuclear_data ({self.source})"}
        if self.spin_proton is not None:
            changes.update(spin_proton=self.spin_proton, spin_neutron=self.spin_neutron,
                           spin_data=True)
        if self.proton_rms_radius_fm is not None:
            changes["proton_rms_radius"] = self.proton_rms_radius_fm * fm
        return dataclasses.replace(nucleus, **changes)


class ResolutionSpec(StrictModel):
    """Energy resolution law (docs/physics.md#detectors [M]).

    ``sqrt-threshold``: σ(T) = σ₀ √(E_th T) (σ(E_th) = σ₀ E_th; the paper's form, default);
    ``fractional``: σ(T) = σ₀ T; ``none``: no smearing.
    """

    law: Literal["sqrt-threshold", "fractional", "none"] = "sqrt-threshold"
    sigma0: float = Field(default=0.0, ge=0, le=10, description="relative resolution σ/T at "
                          "threshold, at most 10 (a σ of ten thresholds)")

    @model_validator(mode="after")
    def _sigma_needed(self) -> ResolutionSpec:
        if self.law != "none" and self.sigma0 <= 0:
            raise ValueError(f"law {self.law!r} needs sigma0 > 0")
        if self.law == "none" and "sigma0" in self.model_fields_set and self.sigma0 != 0:
            raise ValueError(f"sigma0 = {self.sigma0:g} is not used with law 'none' (no smearing): "
                             "choose law 'sqrt-threshold' or 'fractional', or drop sigma0")
        return self


class BackgroundSpec(StrictModel):
    """Steady-state background: flat rate in reconstructed recoil energy (docs/physics.md#detectors [A]).

    N_bkg,i = rate × mass × ΔT_i × t_bkg × scale, with t_bkg from ``exposure`` (see
    :meth:`cevns.experiment.source.Source.background_exposure_time`) unless ``exposure_days``
    overrides it.
    """

    rate_ckkd: float = Field(default=0.0, ge=0, description="counts / (keVnr kg day)")
    exposure: BackgroundExposure = "beam-coincidence"
    exposure_days: float | None = Field(default=None, gt=0, le=366000,
                                        description="live days, at most 366 000 (1000 years, "
                                        "the longest run_years)")
    scale: float = Field(default=1.0, ge=0, description="multiplies the background (calibration)")


class BinningSpec(StrictModel):
    """How reconstructed-energy bins are made.

    ``resolution``: from the threshold up, bins of width ``width_in_sigma`` × σ(bin centre), the last
    one cut at the largest recoil (the paper's rule for CsI, Xe, Ge, Si); ``single``: one bin from
    threshold to the largest recoil (Ar, C₃F₈), smeared by the detector's resolution like any bin
    (events cross the threshold); ``edges``: explicit ``edges_keVnr``. ``width_in_sigma`` is only
    used by rule ``resolution`` (refused with the others).
    """

    rule: Literal["resolution", "single", "edges"] = "resolution"
    width_in_sigma: float = Field(default=2.0, gt=0)
    edges_keVnr: tuple[float, ...] | None = None

    @model_validator(mode="after")
    def _edges(self) -> BinningSpec:
        if self.rule == "edges":
            e = self.edges_keVnr
            if not e or len(e) < 2:
                raise ValueError("rule 'edges' needs edges_keVnr with at least two values")
            increasing = all(b > a for a, b in zip(e[:-1], e[1:], strict=True))
            if any(not math.isfinite(x) for x in e) or not increasing:
                raise ValueError(f"edges_keVnr must be finite and strictly increasing, got {e}")
            if len(e) - 1 > MAX_RESPONSE_BINS:
                raise ValueError(f"edges_keVnr: {len(e) - 1} bins, more than {MAX_RESPONSE_BINS} "
                                 "(MAX_RESPONSE_BINS; the response of every bin is computed, its "
                                 "memory grows with the square of the bins): merge bins")
        elif self.edges_keVnr is not None:
            raise ValueError(f"edges_keVnr is only used with rule 'edges', not {self.rule!r}")
        if self.rule != "resolution" and "width_in_sigma" in self.model_fields_set and \
                self.width_in_sigma != type(self).model_fields["width_in_sigma"].default:
            raise ValueError(f"width_in_sigma is only used with rule 'resolution' (bins of "
                             f"width_in_sigma × σ), not {self.rule!r}: drop it")
        return self


#: A detector name becomes a file-name part (``p1_profile_CsI.csv``) and the name of a scan output
#: (a netCDF variable, cevns.scan): a letter or '_' first, then letters, digits, '_', '.', '-'.
_DETECTOR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,127}")
#: Labels the analyses' outputs reserve next to the detector names (any letter case: they become
#: file names, which may be case-insensitive): ``combined`` (the combination of the detectors, a
#: row, a curve and ``NAME_profile_combined.csv``) and the prefix ``status_`` (the profiler status
#: of detector NAME is stored as ``status_NAME`` beside its χ², cevns.analyses.sensitivity).
RESERVED_DETECTOR_NAME = "combined"
RESERVED_DETECTOR_PREFIX = "status_"


class Detector(StrictModel):
    """A detector at a neutrino source (a π-DAR source unless ``max_neutrino_energy_MeV`` says
    otherwise).

    Its recoil range — the bins of the ``resolution`` and ``single`` rules, the response's
    integration range, the quenching inversion — ends at the largest recoil of a neutrino of
    ``max_neutrino_energy_MeV`` (default: the muon-decay end point m_μ/2 = 52.83 MeV of π-DAR).
    A source with more energetic neutrinos (kaon decay at rest: 236 MeV; a decay-in-flight or
    tabulated spectrum) needs it raised: the rate engine refuses such a pair rather than miss
    the recoils above that range (docs/sources.md).

    Examples
    --------
    >>> from cevns.experiment import get_detector
    >>> det = get_detector("CsI")
    >>> det.threshold_keVnr, det.n_bins
    (1.0, 20)
    """

    name: str
    technology: str = ""
    citation: str = ""
    mass_kg: float = Field(gt=0, le=1e9, description="target mass in kg, at most 1e9 (a "
                           "megatonne)")
    # at least one: checked by _some_target, not min_length, which pydantic also reports (as
    # "at least 1 item after validation, not 0") when a target is refused
    targets: tuple[TargetSpec, ...]
    formula: str | None = Field(default=None, description="chemical formula, e.g. 'NaI', 'CaWO4'")
    nuclear_data: dict[str, NucleusData] = Field(default_factory=dict)
    composition: CompositionMode = "natural-effective"
    helm_skin_fm: float = Field(default=1.0, gt=0, le=3.0,
                                description="Helm surface thickness s of the targets' form factors "
                                            "in fm (1.0 fm: the ESS convention, docs/assumptions.md)")
    threshold_keVnr: float | None = Field(default=None, gt=0,
                                          description="keVnr threshold (without a response table)")
    resolution: ResolutionSpec = ResolutionSpec(law="none")
    efficiency: float = Field(default=1.0, gt=0, le=1, description="flat, above threshold")
    background: BackgroundSpec = BackgroundSpec()
    binning: BinningSpec = BinningSpec()
    default_source: str = "ess"
    extent_m: float | None = Field(default=None, ge=0, description="size of the active volume "
                                   "along the line of sight in m, for baseline averaging "
                                   "(docs/sources.md)")
    response: ResponseSpec | None = Field(
        default=None, description="real detector response (quenching, smearing, efficiency, bins "
                                  "in keVnr/keVee/PE); replaces the keVnr fields (docs/response.md)")
    timing: TimingSpec | None = Field(
        default=None, description="beam pulse and analysis time window: scales each flavour by "
                                  "its arrival fraction in the window (docs/response.md#timing)")
    max_neutrino_energy_MeV: float = Field(
        default=E_MICHEL_MAX / MeV, gt=0, le=MAX_NEUTRINO_ENERGY_MEV,
        description="largest neutrino energy the detector's recoil range is built for, in MeV "
                    "(default m_mu/2 = 52.83 MeV, the pi-DAR end point); a source with higher "
                    "energies needs it raised (docs/sources.md)")

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        if not _DETECTOR_NAME.fullmatch(value) or ".." in value:
            raise ValueError("not usable as a file and column name: "
                             "start with a letter or '_', then use letters, digits, '_', '.' and "
                             "'-' (at most 128 characters, no '..'; e.g. 'He3_det', not '3He det')")
        low = value.lower()
        if low == RESERVED_DETECTOR_NAME or low.startswith(RESERVED_DETECTOR_PREFIX):
            raise ValueError(f"{value!r} is reserved: analyses label the combination of their "
                             f"detectors {RESERVED_DETECTOR_NAME!r} and store the profiler status "
                             f"of detector NAME as '{RESERVED_DETECTOR_PREFIX}NAME'; choose another "
                             "name")
        return value

    @field_validator("targets")
    @classmethod
    def _some_target(cls, value: tuple[TargetSpec, ...]) -> tuple[TargetSpec, ...]:
        if not value:
            raise ConfigError("no target: give at least one, e.g. targets = [{ element = \"Ge\" }], "
                              "or a formula")
        first: dict[str, int] = {}
        for i, target in enumerate(value):
            j = first.setdefault(target.element, i)
            if j != i:  # its nuclei would appear twice under one name (a spectrum's targets)
                total = sum(t.atoms_per_molecule for t in value if t.element == target.element)
                raise ConfigError(
                    f"element {target.element!r} is given twice (targets[{j}] and targets[{i}]): "
                    f"give one entry per element with its atoms_per_molecule, e.g. {{ element = "
                    f"\"{target.element}\", atoms_per_molecule = {total:g} }}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _one_response_description(cls, data):
        """Either the keVnr fields or a ``response`` table, never both."""
        if not isinstance(data, dict):
            return data
        if data.get("response") is None:
            return data
        defaults = {"threshold_keVnr": None, "resolution": ResolutionSpec(law="none"),
                    "efficiency": 1.0, "binning": BinningSpec()}

        def given(key):
            value = data.get(key)
            if value is None:
                return False
            model = type(defaults[key])
            if isinstance(value, dict) and issubclass(model, StrictModel):
                try:
                    value = model(**value)
                except ConfigError:
                    return True
            return value != defaults[key]

        clash = [k for k in defaults if given(k)]
        if clash:
            raise ConfigError(f"response: give the threshold, resolution, efficiency and bins inside "
                              f"the response table, not also {', '.join(clash)} (docs/response.md)")
        return data

    @model_validator(mode="before")
    @classmethod
    def _targets_from_formula(cls, data):
        """``formula = "CaWO4"`` is shorthand for one target per element with its atom count."""
        if isinstance(data, dict) and data.get("formula") is not None:
            formula = data["formula"]
            atoms = parse_formula(formula)
            expanded = tuple({"element": el, "atoms_per_molecule": n} for el, n in atoms)
            if data.get("targets") not in (None, (), []):
                given = tuple(dict(t) if isinstance(t, dict) else t.model_dump(exclude_defaults=True)
                              for t in data["targets"])
                if [(t["element"], t.get("atoms_per_molecule", 1.0)) for t in given] != \
                        [(t["element"], t["atoms_per_molecule"]) for t in expanded]:
                    raise ValueError(f"give either formula {formula!r} or targets, not both "
                                     "(they disagree)")
                return data
            return {**data, "targets": expanded}
        return data

    def replace(self, **changes) -> Detector:
        """A validated copy with ``changes`` applied (:meth:`cevns.config.StrictModel.replace`).

        A new ``formula`` without ``targets`` replaces the targets too (the formula defines them):
        ``get_detector("CsI").replace(formula="NaI")`` has the targets Na and I.
        """
        if changes.get("formula") is not None and "targets" not in changes:
            changes = {**changes, "targets": None}
        return super().replace(**changes)

    @model_validator(mode="after")
    def _single_time_window(self) -> Detector:
        if self.timing is not None and self.timing.time_edges.size != 2:
            raise ConfigError(f"detector {self.name}: timing takes one window (window_us = [lo, hi]);"
                              f" got {self.timing.time_edges.size - 1} time bins in edges_us")
        return self

    def flavour_fraction(self, flavour: str) -> float:
        """Fraction of ``flavour`` neutrinos arriving in the timing window (1 without ``timing``)."""
        if self.timing is None:
            return 1.0
        return float(self._timing_fractions[flavour][0])

    @cached_property
    def _timing_fractions(self) -> dict:
        return self.timing.fractions()

    @model_validator(mode="after")
    def _threshold_reachable(self) -> Detector:
        if self.response is not None:
            self._check_response()
            return self
        if self.threshold_keVnr is None:
            raise ConfigError(f"detector {self.name}: threshold_keVnr: required (or describe the "
                              "response in a 'response' table, docs/response.md)")
        tmax = self.max_recoil_energy / keV
        if self.threshold_keVnr >= tmax:
            light = min(self.nuclei, key=lambda nf: nf[0].mass)[0]  # the largest T_max
            raise KinematicsError(
                f"detector {self.name}: threshold_keVnr {self.threshold_keVnr:g} keVnr is above the "
                f"largest possible recoil {tmax:.2f} keVnr for {light.name} at "
                f"E_nu = {self.max_neutrino_energy_MeV:.2f} MeV (max_neutrino_energy_MeV)"
            )
        if self.binning.rule == "resolution" and self.resolution.law == "none" and \
                "width_in_sigma" in self.binning.model_fields_set and \
                self.binning.width_in_sigma != BinningSpec.model_fields["width_in_sigma"].default:
            raise ConfigError(f"detector {self.name}: binning.width_in_sigma = "
                              f"{self.binning.width_in_sigma:g} is not used: resolution law 'none' "
                              "gives one bin from the threshold to the largest recoil; set a "
                              "resolution or drop width_in_sigma")
        if self.binning.rule == "edges" and self.binning.edges_keVnr[0] < self.threshold_keVnr:
            raise ValueError(
                f"binning.edges_keVnr starts at {self.binning.edges_keVnr[0]:g} keVnr, below the "
                f"threshold {self.threshold_keVnr:g} keVnr"
            )
        if self.binning.rule == "edges" and self.binning.edges_keVnr[0] >= tmax:
            raise KinematicsError(
                f"detector {self.name}: binning.edges_keVnr starts at "
                f"{self.binning.edges_keVnr[0]:g} keVnr, above the largest possible recoil "
                f"{tmax:.2f} keVnr at E_nu = {self.max_neutrino_energy_MeV:.2f} MeV: no bin can see a signal"
            )
        return self

    # --- composition -------------------------------------------------------------------------
    @cached_property
    def nuclei(self) -> tuple[tuple[Nucleus, float], ...]:
        """(nucleus, atoms of it per molecule) for every target nucleus, isotopes resolved.

        Each nucleus carries this detector's Helm skin (:attr:`helm_skin_fm`).
        """
        skin = self.helm_skin_fm * fm
        out = []
        used = set()
        for target in self.targets:
            for nucleus, fraction in element_composition(target.element, self.composition,
                                                         enrichment=target.enrichment):
                own = self.nuclear_data.get(nucleus.name)
                if own is not None:
                    nucleus = own.apply(nucleus)
                    used.add(nucleus.name)
                out.append((nucleus.with_helm_skin(skin), target.atoms_per_molecule * fraction))
        unused = set(self.nuclear_data) - used
        if unused:
            raise ConfigError(f"detector {self.name}: nuclear_data for {sorted(unused)}, which "
                              f"are not among its nuclei {[n.name for n, _ in out]}")
        return tuple(out)

    @cached_property
    def nucleus_elements(self) -> tuple[str, ...]:
        """The element of each nucleus of :attr:`nuclei` (same order)."""
        return tuple(target.element for target in self.targets
                     for _ in element_composition(target.element, self.composition,
                                                  enrichment=target.enrichment))

    @property
    def molar_mass(self) -> float:
        """Mass of one mole of molecules (internal units), Σ atoms × atomic mass."""
        return sum(n * nuc.atomic_mass_u for nuc, n in self.nuclei) * G_PER_MOL

    def number_of_targets(self) -> np.ndarray:
        """Number of nuclei of each species in :attr:`nuclei` order: (m/M) N_A n_k."""
        molecules = self.mass_kg * kg / self.molar_mass * N_AVOGADRO
        return np.array([molecules * n for _, n in self.nuclei])

    # --- response tables -------------------------------------------------------------------
    def _check_response(self) -> None:
        spec = self.response
        elements = [t.element for t in self.targets]
        for where, names in (("response.quenching_by_element", list(spec.quenching_by_element)),
                             ("response.axis_element", [spec.axis_element] if spec.axis_element
                              else [])):
            bad = [n for n in names if n not in elements]
            if bad:
                raise ConfigError(f"detector {self.name}: {where} names {bad}, not among its "
                                  f"target elements; valid choices: {', '.join(elements)}")
        missing = [el for el in elements if el not in spec.quenching_by_element]
        if missing and not spec.has_default_quenching:
            raise ConfigError(f"detector {self.name}: response.quenching_by_element has no model "
                              f"for {', '.join(missing)}; add them, or give response.quenching "
                              "for the other elements")
        edges = spec.observable_edges()
        tops = [float(self._mean_observable(self.max_recoil_energy / keV, k))
                for k in range(len(self.nuclei))]
        for k in range(len(self.nuclei)):
            self._observable_grid(k)  # monotonicity check
            self._check_quenching_factor(k)
        unit = spec.observable_unit
        if edges[0] >= max(tops) and not self.smeared:
            nuc = self.nuclei[int(np.argmax(tops))][0].name
            raise KinematicsError(
                f"detector {self.name}: response.threshold {spec.threshold.value:g} "
                f"{spec.threshold.unit} ({edges[0]:.4g} {unit}) is above the largest possible "
                f"signal {max(tops):.4g} {unit} ({nuc} at E_nu = {self.max_neutrino_energy_MeV:.2f} MeV)")
        # Smeared: the response integrates the recoils whose mean signal is at least `floor` × the
        # threshold (response_floor_fraction; observable_to_recoil extrapolates linearly above
        # the largest recoil); a threshold above max(tops) / floor leaves it no recoil at all (a
        # Poisson-PE threshold of 1 PE at a light yield of 1e-6 PE/keVee).
        floor = response_floor_fraction(spec)
        floor_empty = edges[0] * floor >= max(tops)
        if self.smeared and (floor_empty or edges[0] >= 10.0 * max(tops) + 1.0):
            why = (f"the response counts the recoils whose mean signal is at least "
                   f"{floor:g} × the threshold, and none reaches that"
                   if floor_empty else "smearing reaches it too rarely")
            raise KinematicsError(
                f"detector {self.name}: response.threshold ({edges[0]:.4g} {unit}) is far above "
                f"the largest mean signal {max(tops):.4g} {unit} (at E_nu = "
                f"{self.max_neutrino_energy_MeV:.2f} MeV): {why}; the threshold must be below "
                f"{min(max(tops) / floor, 10.0 * max(tops) + 1.0):.4g} {unit} "
                "(lower it, or check the quenching and the smearing's light_yield)")

    def _check_quenching_factor(self, k: int) -> None:
        """A nuclear recoil gives at most the light of an electron of the same energy: the
        quenching factor E_ee/T must not exceed 1 up to the largest recoil."""
        quench = self.response.quenching_for(self.nucleus_elements[k])
        if quench.observable_unit != "keVee":
            return
        t = self._observable_grid(k)[0][1:]
        qf = np.asarray(quench.electron_equivalent(t, self.nuclei[k][0]), dtype=float) / t
        above = qf > 1.0 + 1e-9
        if np.any(above):
            i = int(np.argmax(above))
            raise ConfigError(
                f"detector {self.name}: the quenching of {self.nuclei[k][0].name} gives "
                f"E_ee = {qf[i]:.4g} × T at T = {t[i]:.4g} keVnr: a quenching factor above 1 (a "
                "nuclear recoil cannot give more light than an electron of the same energy); "
                "check response.quenching")

    def _mean_observable(self, recoil_kevnr, k: int) -> np.ndarray:
        """Mean observable (keVee, PE or keVnr) of nucleus ``k`` at recoils in keVnr."""
        spec = self.response
        nucleus = self.nuclei[k][0]
        quench = spec.quenching_for(self.nucleus_elements[k])
        return spec.smearing.mean_observed(quench.electron_equivalent(recoil_kevnr, nucleus))

    def _observable_grid(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(T in keVnr, mean observable) on a fine grid up to the largest recoil; monotone check."""
        cache = self.__dict__.setdefault("_grids", {})
        if k not in cache:
            top = self.max_recoil_energy / keV
            t = np.concatenate([[0.0], np.geomspace(1e-6 * top, top, 4001)])
            m = np.asarray(self._mean_observable(t, k), dtype=float)
            if np.any(np.diff(m) <= 0) or not np.all(np.isfinite(m)):
                where = t[1:][np.diff(m) <= 0]
                raise ConfigError(
                    f"detector {self.name}: the quenching of {self.nuclei[k][0].name} is not "
                    f"monotone (E_ee must rise with T up to the largest recoil {top:.4g} keVnr; it "
                    f"does not near {where[0] if where.size else float('nan'):.4g} keVnr): check "
                    "response.quenching")
            cache[k] = (t, m)
        return cache[k]

    def observable_to_recoil(self, values, k: int) -> np.ndarray:
        """keVnr-equivalent of observed values for nucleus ``k`` (inverse of the mean observable).

        Above the largest recoil the quenching factor at the largest recoil is extrapolated.
        The roots are found for all values at once (SciPy's elementwise Chandrupatla bracketing,
        ``scipy.optimize.elementwise.find_root``) inside the bracket of the monotone table of
        :meth:`_observable_grid`, to 10⁻¹⁴ relative: the roots of one Brent search per value to
        10⁻¹³ (``tests/experiment/test_response_models.py``), 18–45× faster on 3000 values of
        the COHERENT release detectors (``benchmarks/bench_quenching_inverse.py``); the response
        tables need them once per detector
        (:func:`cevns.experiment.response._table_recoil_points`).
        """
        from scipy.optimize.elementwise import find_root

        t, m = self._observable_grid(k)
        v = np.atleast_1d(np.asarray(values, dtype=float)).ravel()
        out = np.where(v >= m[-1], v * (t[-1] / m[-1]), 0.0)
        inside = (v > 0) & (v < m[-1])
        if inside.any():
            vi = v[inside]
            i = np.searchsorted(m, vi)
            lo, hi = t[np.maximum(i - 1, 0)], t[i]
            exact_lo, exact_hi = m[np.maximum(i - 1, 0)] == vi, m[i] == vi
            res = find_root(lambda x, target: self._mean_observable(x, k) - target, (lo, hi),
                            args=(vi,), tolerances={"xatol": 0.0, "xrtol": 1e-14, "fatol": 0.0,
                                                    "frtol": 0.0})
            root = np.where(exact_lo, lo, np.where(exact_hi, hi, res.x))
            bad = ~(res.success | exact_lo | exact_hi)
            if bad.any():  # pragma: no cover - a monotone table brackets every root
                raise ConfigError(f"detector {self.name}: no recoil energy found for the observed "
                                  f"value {vi[bad][0]:.6g} of nucleus {self.nuclei[k][0].name}")
            out[inside] = root
        return out

    @property
    def axis_nucleus(self) -> int:
        """Index of the nucleus whose mean quenching labels the observed bins in keVnr."""
        element = self.response.axis_element or self.targets[0].element
        ks = [k for k, el in enumerate(self.nucleus_elements) if el == element]
        return max(ks, key=lambda k: self.nuclei[k][1])  # the most abundant isotope

    @property
    def observable_edges(self) -> np.ndarray:
        """Analysis bin edges in the observable's own unit (``response.observable_unit``)."""
        if self.response is None:
            return self.bin_edges / keV
        return self.response.observable_edges()

    # --- energies ----------------------------------------------------------------------------
    @cached_property
    def threshold(self) -> float:
        """Threshold in internal energy units (computed once per instance: instances are
        immutable, and with a response table it inverts the quenching).

        With a response table: the lowest true recoil, over the target nuclei, whose mean
        observable reaches the threshold (the keVnr-equivalent of the nucleus quenched least);
        bins that start at 0 (a data release's analysis bins) put it where the efficiency starts:
        :attr:`efficiency_onset_keVnr`.
        """
        if self.response is not None:
            first = self.response.observable_edges()[:1]
            if first[0] <= 0:
                return self.efficiency_onset_keVnr * keV
            return min(float(self.observable_to_recoil(first, k)[0])
                       for k in range(len(self.nuclei))) * keV
        return self.threshold_keVnr * keV

    @cached_property
    def efficiency_onset_keVnr(self) -> float:
        """Response table: the lowest true recoil (keVnr), over the target nuclei, whose mean
        observable has a non-zero efficiency (0 if the efficiency is positive at 0).

        Read on a grid of 20 000 steps up to the last bin edge (or the largest recoil for an
        efficiency in keVnr); the grid point below the first positive efficiency is returned.
        """
        spec = self.response
        if spec is None:
            raise ConfigError(f"detector {self.name}: efficiency_onset_keVnr needs a response table")
        if spec.efficiency_on_true_recoil():
            t = np.linspace(0.0, self.max_recoil_energy / keV, 20001)
            on = np.flatnonzero(np.asarray(spec.efficiency(t)) > 0)
            return float(t[max(on[0] - 1, 0)]) if on.size else 0.0
        x = np.linspace(0.0, float(spec.observable_edges()[-1]), 20001)
        on = np.flatnonzero(np.asarray(spec.efficiency(x * spec.efficiency_scale())) > 0)
        if not on.size or on[0] == 0:
            return 0.0
        start = x[on[0] - 1:on[0]]
        return min(float(self.observable_to_recoil(start, k)[0]) for k in range(len(self.nuclei)))

    @property
    def threshold_keVnr_equivalent(self) -> float:
        """Threshold in keVnr (:attr:`threshold`; keVnr-equivalent with a response table)."""
        return self.threshold / keV

    @property
    def max_neutrino_energy(self) -> float:
        """:attr:`max_neutrino_energy_MeV` in internal units."""
        return self.max_neutrino_energy_MeV * MeV

    @cached_property
    def max_recoil_energy(self) -> float:
        """Largest recoil of any target nucleus for a neutrino of :attr:`max_neutrino_energy`
        (internal units; computed once: the detector is immutable)."""
        return self._largest_recoil(self.max_neutrino_energy)

    def _largest_recoil(self, energy: float) -> float:
        """Largest recoil of any target nucleus for a neutrino of ``energy`` (internal units).

        Unchecked kinematics: the energies come from a validated field or Source (finite, > 0,
        ≤ 1e6 MeV), the masses from a checked Nucleus; called by the rate engine for every
        spectrum (:meth:`check_source`)."""
        e = np.array([float(energy)])
        return max(float(_max_recoil_energy_unchecked(e, nuc.mass)[0]) for nuc, _ in self.nuclei)

    def check_source(self, source: Source) -> None:
        """Refuse a source this detector cannot see as described.

        - *Energies*: the recoil range (the rule-made bins, the response's integration range,
          the quenching inversion) ends at the largest recoil of a neutrino of
          :attr:`max_neutrino_energy_MeV` (default the π-DAR end point m_μ/2); the recoils of
          more energetic neutrinos would be lost without a word. A relative 10⁻⁹ allows for a
          table whose last energy is m_μ/2 rounded.
        - *Reach*: an unsmeared detector described by keVnr fields whose first bin edge (its
          threshold, or the first explicit edge) lies above the largest recoil the source's most
          energetic neutrino can make sees nothing (a solar or reactor table at a keV-threshold
          detector, energies given in keV instead of MeV); such a pair is refused rather than
          answered with a signal of 0. A smeared detector can still see recoils below its
          threshold, smeared up, and is not refused.
        - *Arrival times*: a ``timing`` window has an arrival-time model for the π-DAR flavours
          only (ν_μ prompt; ν_e and ν̄_μ delayed by the muon lifetime); a source emitting
          another flavour has no arrival time to put in the window.

        Called by the rate engine for every spectrum and by an analysis file's validation,
        before anything is computed or written.

        Raises
        ------
        KinematicsError
            For energies: naming both energies, the recoil range and the field to raise; for a
            source that cannot reach the threshold: naming its reach and the threshold.
        ConfigError
            For a flavour without an arrival-time model: naming it and the way out.
        """
        if self.timing is not None:
            timed = [f for f in source.flavours if f not in FLAVOURS]
            if timed:
                raise ConfigError(
                    f"detector {self.name}: its timing window models the arrival times of the "
                    f"π-DAR flavours ({', '.join(FLAVOURS)}: ν_μ prompt, the others delayed by "
                    f"the muon lifetime); source {source.name} emits {', '.join(timed)}, "
                    "which has no arrival time: drop the detector's timing table for this "
                    "source, or describe the source in π-DAR flavours (docs/response.md#timing)")
        top = float(source.max_neutrino_energy())
        if self.response is None and not self.smeared and top > 0:
            reach = self._largest_recoil(top)
            first = float(self.bin_edges[0])  # the threshold, or the first explicit edge
            if first >= reach:
                raise KinematicsError(
                    f"source {source.name} emits neutrinos up to {top / MeV:.6g} MeV, whose "
                    f"largest recoil in detector {self.name} is {reach / keV:.4g} keVnr, below "
                    f"its first bin edge {first / keV:.4g} keVnr (threshold "
                    f"{self.threshold_keVnr:g} keVnr): no event can be seen (check the source's "
                    "energies, in MeV, and the detector's threshold and bins)")
        if top <= self.max_neutrino_energy * (1.0 + 1e-9):
            return
        raise KinematicsError(
            f"source {source.name} emits neutrinos up to {top / MeV:.6g} MeV, above the "
            f"{self.max_neutrino_energy_MeV:.6g} MeV detector {self.name} is built for: its "
            f"recoil range ends at {self.max_recoil_energy / keV:.4g} keVnr, so the recoils of "
            f"the more energetic neutrinos would be lost. Raise the detector's "
            f"max_neutrino_energy_MeV to at least {top / MeV:.6g} (an analysis file: "
            f"detector_overrides.{self.name}.max_neutrino_energy_MeV; docs/sources.md)")

    @property
    def smeared(self) -> bool:
        """True if reconstructed energies are smeared (a single bin too: events cross the threshold)."""
        if self.response is not None:
            return self.response.smearing.model != "none"
        return self.resolution.law != "none"

    def resolution_sigma(self, recoil_energy):
        """σ(T) in internal energy units for true recoil ``recoil_energy``."""
        return _resolution_sigma(self.resolution.law, self.resolution.sigma0, self.threshold,
                                 recoil_energy)

    @cached_property
    def bin_edges(self) -> np.ndarray:
        """Reconstructed-energy bin edges (internal units; keVnr-equivalent with a response table)."""
        if self.response is not None:
            out = self.observable_to_recoil(self.response.observable_edges(),
                                            self.axis_nucleus) * keV
            out.setflags(write=False)
            return out
        rule = self.binning.rule
        top = self.max_recoil_energy
        if rule in ("edges", "single") or self.resolution.law == "none":
            out = np.asarray(self.binning.edges_keVnr) * keV if rule == "edges" else \
                np.array([self.threshold, top])
            out.setflags(write=False)  # derived state of an immutable detector
            return out
        return _resolution_bin_edges(self.name, float(self.threshold), self.resolution.law,
                                     float(self.resolution.sigma0),
                                     float(self.binning.width_in_sigma), float(top))

    @property
    def n_bins(self) -> int:
        """Number of reconstructed-energy bins."""
        return len(self.bin_edges) - 1

    # --- summaries (repr, Jupyter) -------------------------------------------------------------
    def _summary_rows(self) -> list[tuple[str, str]]:
        targets = " + ".join(f"{n:g} {t.element}" if n != 1 else t.element
                             for t, n in ((t, t.atoms_per_molecule) for t in self.targets))
        if self.response is not None:
            r = self.response
            quench = ", ".join([*([r.quenching.model] if r.quenching else []),
                                *(f"{el}: {q.model}" for el, q in r.quenching_by_element.items())])
            quench = quench or "none"
            return [("technology", self.technology or "-"), ("mass", f"{self.mass_kg:g} kg"),
                    ("targets", f"{targets} ({len(self.nuclei)} nuclei)"),
                    ("threshold", f"{r.threshold.value:g} {r.threshold.unit} "
                                  f"(≈ {self.threshold_keVnr_equivalent:.4g} keVnr)"),
                    ("quenching", quench), ("smearing", r.smearing.model),
                    ("efficiency", r.efficiency.model),
                    ("background", f"{self.background.rate_ckkd:g} counts/(keVnr kg day)"),
                    ("bins", f"{self.n_bins} in {r.observable_unit}")]
        res = self.resolution
        resolution = "none" if res.law == "none" else f"σ₀ = {res.sigma0:g} ({res.law})"
        return [("technology", self.technology or "-"), ("mass", f"{self.mass_kg:g} kg"),
                ("targets", f"{targets} ({len(self.nuclei)} nuclei)"),
                ("threshold", f"{self.threshold_keVnr:g} keVnr"),
                ("resolution", resolution), ("efficiency", f"{self.efficiency:g}"),
                ("background", f"{self.background.rate_ckkd:g} counts/(keVnr kg day)"),
                ("bins", f"{self.n_bins} ({self.binning.rule})")]

    def __repr__(self) -> str:
        from cevns._repr import text_summary

        return text_summary(f"Detector({self.name!r})", self._summary_rows())

    __str__ = __repr__

    def _repr_html_(self) -> str:
        from cevns._repr import html_summary

        return html_summary(f"Detector {self.name}", self._summary_rows())

    def background_counts(self, source: Source) -> np.ndarray:
        """Expected steady-state background per bin over the run of ``source``.

        With a ``timing`` window the background exposure does not follow the window (a source has
        no pulse rate to compute it from): a non-zero background without ``exposure_days`` warns
        (docs/response.md#timing).
        """
        spec = self.background
        t_bkg = spec.exposure_days * day if spec.exposure_days else \
            source.background_exposure_time(spec.exposure)
        if self.timing is not None and spec.exposure_days is None and spec.rate_ckkd * spec.scale > 0 \
                and np.all(np.isfinite(self.timing.time_edges)):
            lo, hi = self.timing.time_edges
            warnings.warn(
                f"detector {self.name}: timing.window_us = [{lo:g}, {hi:g}] scales the signal, but "
                f"the steady-state background is counted over the source's exposure "
                f"(background.exposure = {spec.exposure!r}: {t_bkg / day:.6g} days at source "
                f"{source.name}), which does not follow the window; set background.exposure_days "
                "= run_years × beam days per year × pulse rate in Hz × window length in s "
                "(docs/response.md#timing)", CevnsWarning, stacklevel=2)
        rate = spec.rate_ckkd / (keV * kg * day)
        with np.errstate(over="ignore", invalid="ignore"):
            out = spec.scale * rate * self.mass_kg * kg * np.diff(self.bin_edges) * t_bkg
        if not np.all(np.isfinite(out)):
            raise ConfigError(
                f"detector {self.name} at source {source.name}: the expected background counts "
                f"overflow (not finite) for background.rate_ckkd = {spec.rate_ckkd:g}, "
                f"background.scale = {spec.scale:g}, mass_kg = {self.mass_kg:g} and a background "
                f"exposure of {t_bkg / day:.6g} days; an input is far outside its physical range")
        return out


def _resolution_sigma(law: str, s0: float, threshold: float, recoil_energy):
    """σ(T) of a resolution ``law`` with parameter ``s0`` (:meth:`Detector.resolution_sigma`)."""
    t = np.asarray(recoil_energy, dtype=float)
    if law == "sqrt-threshold":
        return s0 * np.sqrt(threshold * np.maximum(t, 0.0))
    if law == "fractional":
        return s0 * t
    return np.zeros_like(t)


@lru_cache(maxsize=256)
def _resolution_bin_edges(name: str, threshold: float, law: str, s0: float, k: float,
                          top: float) -> np.ndarray:
    """Bins of ``k`` σ from the threshold to ``top`` (:attr:`Detector.bin_edges`), read-only.

    Cached on every value it depends on: detectors are rebuilt from their description in every
    scan tile, and the fixed-point loop below is a Python loop over the bins.
    """
    edges = [threshold]
    while edges[-1] < top:
        lo = edges[-1]
        width = k * float(_resolution_sigma(law, s0, threshold, lo))
        for _ in range(200):  # fixed point of w = k σ(lo + w/2); contracts fast
            new = k * float(_resolution_sigma(law, s0, threshold, lo + 0.5 * width))
            if abs(new - width) <= 1e-13 * new:
                break
            width = new
        edges.append(lo + width)
        if len(edges) > MAX_RESPONSE_BINS + 1:
            raise KinematicsError(f"detector {name}: binning.width_in_sigma = {k:g} with "
                                  f"threshold_keVnr = {threshold / keV:g} gives more than "
                                  f"{MAX_RESPONSE_BINS} bins (MAX_RESPONSE_BINS; the response of "
                                  "every bin is computed): use wider bins or a higher threshold")
    edges[-1] = top  # docs/physics.md#detectors [A]: cut the last bin at T_max
    out = np.array(edges)
    out.setflags(write=False)  # shared by the cache and every detector of this value
    return out
