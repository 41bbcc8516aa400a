"""Typed containers for the COHERENT releases: parameters, binned histograms, event lists,
background components, neutrino timing, the experimental set-up, and the release itself.

All containers are frozen dataclasses holding read-only NumPy arrays, so a loaded release can be
shared between fits without being altered by accident. Observed quantities keep the units of the
release (PE, keVee, µs, F90); these are analysis coordinates, not physics inputs. Physical inputs
to a rate calculation (baseline, detector mass, recoil energies) are in the internal units of
:mod:`cevns.physics.units`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cevns.errors import ConfigError, UnknownNameError, finite_array, is_bool
from cevns.physics.constants import N_AVOGADRO
from cevns.physics.units import g, kg, m, mol

if TYPE_CHECKING:
    from cevns.datasets.coherent.response import EnergyResponse
    from cevns.experiment import Detector, Source

__all__ = [
    "Parameter",
    "Axis",
    "Histogram",
    "EventList",
    "BackgroundComponent",
    "NeutrinoTiming",
    "ExperimentSetup",
    "Release",
    "FLAVOURS",
    "PROMPT_FLAVOURS",
    "DELAYED_FLAVOURS",
    "DEPRECATED_FLAVOUR_NAMES",
    "canonical_flavour",
]

#: Neutrino flavours of a pion-decay-at-rest source, named as in the rate engine
#: (:data:`cevns.physics.flux.FLAVOURS`): one vocabulary throughout the package.
FLAVOURS: tuple[str, ...] = ("numu", "nue", "numubar")
#: ν_μ from π⁺ → μ⁺ ν_μ (τ_π = 26 ns): the "prompt" flavour.
PROMPT_FLAVOURS: tuple[str, ...] = ("numu",)
#: ν_e and ν̄_μ from μ⁺ → e⁺ ν_e ν̄_μ (τ_μ = 2.2 µs): the "delayed" flavours.
DELAYED_FLAVOURS: tuple[str, ...] = ("nue", "numubar")
#: Names the releases used before they adopted the engine's (deprecated; still accepted with a
#: :class:`DeprecationWarning`).
DEPRECATED_FLAVOUR_NAMES: dict[str, str] = {"nu_mu": "numu", "nu_e": "nue", "nu_mu_bar": "numubar"}


def canonical_flavour(flavour: str) -> str:
    """The engine's name of ``flavour``; the old release names warn (DeprecationWarning).

    Raises
    ------
    UnknownNameError
        If ``flavour`` is neither one of :data:`FLAVOURS` nor a deprecated alias.
    """
    if flavour in FLAVOURS:
        return flavour
    new = DEPRECATED_FLAVOUR_NAMES.get(flavour) if isinstance(flavour, str) else None
    if new is None:
        raise UnknownNameError("neutrino flavour", flavour, FLAVOURS)
    warnings.warn(f"neutrino flavour {flavour!r} is deprecated; use {new!r} (the rate engine's "
                  "name, cevns.physics.flux.FLAVOURS)", DeprecationWarning, stacklevel=3)
    return new


def edges_argument(value: object, name: str) -> NDArray[np.float64]:
    """Bin edges given to a method (``rebin``, ``merge_bins``) as a float array, or a
    :class:`ConfigError` naming the argument ``name``: text (``"0,60"``), booleans, complex
    numbers, dates or time spans, a masked array, or a NaN or infinite edge are not edges (NumPy
    would read some of them as numbers without a word). Shape and order are the caller's checks.
    """
    numbers = "bin edges (a sequence of finite numbers)"
    if is_bool(value, recurse=True):
        raise ConfigError(f"{name} must be {numbers}, got booleans {value!r}")
    return finite_array(value, name, numbers=numbers)


def _frozen(values: ArrayLike) -> NDArray[np.float64]:
    array = np.array(values, dtype=float)
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class Parameter:
    """A number stated by a release (or cited from its paper), with uncertainty and provenance.

    Attributes
    ----------
    name : str
        Short identifier, e.g. ``"distance"``.
    value : float
        Central value in ``unit`` (the unit the release states it in).
    unit : str
        Human-readable unit, e.g. ``"GWh"``, ``"m"``, ``"PE/keVee"``; ``""`` for pure numbers.
    uncertainty : float or None
        Symmetric 1σ uncertainty; ``None`` where the release gives none or calls it negligible.
    uncertainty_low, uncertainty_high : float or None
        Asymmetric 1σ uncertainties (both positive), where the release gives them.
    source : str
        Where the number comes from (file and key, or paper and table).
    """

    name: str
    value: float
    unit: str = ""
    uncertainty: float | None = None
    uncertainty_low: float | None = None
    uncertainty_high: float | None = None
    source: str = ""

    @property
    def sigma_low(self) -> float | None:
        """Downward 1σ uncertainty (the symmetric one if no asymmetric one is given)."""
        return self.uncertainty_low if self.uncertainty_low is not None else self.uncertainty

    @property
    def sigma_high(self) -> float | None:
        """Upward 1σ uncertainty (the symmetric one if no asymmetric one is given)."""
        return self.uncertainty_high if self.uncertainty_high is not None else self.uncertainty

    @property
    def relative_uncertainty(self) -> float | None:
        """Symmetric (or mean of the asymmetric) uncertainty divided by the value."""
        lo, hi = self.sigma_low, self.sigma_high
        if lo is None or hi is None or self.value == 0:
            return None
        return 0.5 * (lo + hi) / abs(self.value)

    def __str__(self) -> str:
        unc = ""
        if self.uncertainty is not None:
            unc = f" ± {self.uncertainty:g}"
        elif self.uncertainty_low is not None and self.uncertainty_high is not None:
            unc = f" +{self.uncertainty_high:g}/−{self.uncertainty_low:g}"
        return f"{self.name} = {self.value:g}{unc} {self.unit}".rstrip()


@dataclass(frozen=True)
class Axis:
    """One binned observable: bin edges (increasing), unit, name.

    Bins are half-open, ``[edges[i], edges[i+1])``.
    """

    name: str
    edges: NDArray[np.float64]
    unit: str

    def __post_init__(self) -> None:
        edges = _frozen(self.edges)
        if edges.ndim != 1 or edges.size < 2 or not np.all(np.diff(edges) > 0):
            raise ConfigError(f"axis {self.name!r}: edges must be ≥ 2 strictly increasing numbers")
        object.__setattr__(self, "edges", edges)

    def __repr__(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return (f"Axis({self.name!r}, {self.size} bins, "
                f"[{self.edges[0]:g}, {self.edges[-1]:g}){unit})")

    @property
    def size(self) -> int:
        """Number of bins."""
        return self.edges.size - 1

    @property
    def centers(self) -> NDArray[np.float64]:
        """Bin centres."""
        return 0.5 * (self.edges[1:] + self.edges[:-1])

    @property
    def widths(self) -> NDArray[np.float64]:
        """Bin widths."""
        return np.diff(self.edges)

    def edge_indices(self, edges: ArrayLike) -> NDArray[np.intp]:
        """Indices of ``edges`` among this axis' edges; ``ConfigError`` if one is not an edge."""
        wanted = edges_argument(edges, f"axis {self.name!r}: new edges")
        if wanted.ndim != 1 or wanted.size < 2 or not np.all(np.diff(wanted) > 0):
            raise ConfigError(f"axis {self.name!r}: new edges must be ≥ 2 increasing numbers")
        idx = np.abs(self.edges[:, None] - wanted[None, :]).argmin(axis=0)
        tol = 1e-9 * max(1.0, float(np.max(np.abs(self.edges))))
        ok = np.abs(self.edges[idx] - wanted) <= tol
        if not np.all(ok):
            raise ConfigError(
                f"axis {self.name!r}: edges {wanted[~ok].tolist()} are not edges of the existing "
                f"binning {self.edges.tolist()}; only merging of existing bins is possible"
            )
        return idx


@dataclass(frozen=True)
class Histogram:
    """Counts (or expected counts) on a product of :class:`Axis` objects.

    Attributes
    ----------
    axes : tuple of Axis
        One per array dimension, in array order.
    counts : ndarray
        Shape ``tuple(axis.size for axis in axes)``.
    """

    axes: tuple[Axis, ...]
    counts: NDArray[np.float64]

    def __post_init__(self) -> None:
        counts = _frozen(self.counts)
        shape = tuple(ax.size for ax in self.axes)
        if counts.shape != shape:
            raise ConfigError(f"histogram counts have shape {counts.shape}, axes need {shape}")
        names = [ax.name for ax in self.axes]
        if len(set(names)) != len(names):
            raise ConfigError(f"histogram axes must have distinct names, got {names}")
        object.__setattr__(self, "axes", tuple(self.axes))
        object.__setattr__(self, "counts", counts)

    def __repr__(self) -> str:
        axes = " × ".join(f"{ax.name}[{ax.size}]" for ax in self.axes)
        return f"Histogram({axes}, total={self.total:.6g})"

    @property
    def shape(self) -> tuple[int, ...]:
        """Array shape of ``counts``."""
        return self.counts.shape

    @property
    def total(self) -> float:
        """Sum over all bins."""
        return float(self.counts.sum())

    @property
    def axis_names(self) -> tuple[str, ...]:
        """Names of the axes, in array order."""
        return tuple(ax.name for ax in self.axes)

    def axis(self, name: str) -> Axis:
        """The axis called ``name``."""
        return self.axes[self._index(name)]

    def _index(self, name: str) -> int:
        names = self.axis_names
        if name not in names:
            raise UnknownNameError("histogram axis", name, names)
        return names.index(name)

    def project(self, name: str) -> NDArray[np.float64]:
        """Counts summed over every axis but ``name``."""
        i = self._index(name)
        other = tuple(j for j in range(len(self.axes)) if j != i)
        return self.counts.sum(axis=other)

    def with_counts(self, counts: ArrayLike) -> Histogram:
        """A histogram on the same axes with other counts."""
        return Histogram(self.axes, np.asarray(counts, dtype=float))

    def rebin(self, **edges: ArrayLike) -> Histogram:
        """Merge bins: ``rebin(energy=[6, 10, 20, 30])``; new edges must be existing edges.

        Counts outside the new outer edges are dropped, so this also restricts a region.
        """
        counts = self.counts
        axes = list(self.axes)
        for name, new_edges in edges.items():
            i = self._index(name)
            idx = axes[i].edge_indices(new_edges)
            # Sum the old bins between consecutive new edges: reduceat over the kept range.
            kept = np.take(counts, np.arange(idx[0], idx[-1]), axis=i)
            counts = np.add.reduceat(kept, idx[:-1] - idx[0], axis=i)
            axes[i] = Axis(axes[i].name, axes[i].edges[idx], axes[i].unit)
        return Histogram(tuple(axes), counts)

    def restrict(self, **ranges: tuple[float, float]) -> Histogram:
        """Keep the bins inside ``[lo, hi)`` on the named axes; ``lo``/``hi`` must be edges."""
        new_edges = {}
        for name, (lo, hi) in ranges.items():
            ax = self.axis(name)
            keep = (ax.edges >= lo - 1e-9) & (ax.edges <= hi + 1e-9)
            new_edges[name] = ax.edges[keep]
            if keep.sum() < 2 or not np.isclose(new_edges[name][0], lo) or not np.isclose(
                new_edges[name][-1], hi
            ):
                raise ConfigError(
                    f"axis {name!r}: range [{lo:g}, {hi:g}) does not fall on bin edges "
                    f"{ax.edges.tolist()}"
                )
        return self.rebin(**new_edges)

    def sum_in(self, **ranges: tuple[float, float]) -> float:
        """Total of the bins inside ``[lo, hi)`` on the named axes (ranges on bin edges)."""
        return self.restrict(**ranges).total


@dataclass(frozen=True)
class EventList:
    """Unbinned events: reconstructed energy and time of each selected event.

    Attributes
    ----------
    energy : ndarray
        Reconstructed energy per event, in ``energy_unit`` (PE for CsI).
    time : ndarray
        Reconstructed time per event, in µs.
    source : str
        File the events were read from.
    """

    energy: NDArray[np.float64]
    time: NDArray[np.float64]
    energy_unit: str = "PE"
    time_unit: str = "us"
    source: str = ""

    def __post_init__(self) -> None:
        energy, time = _frozen(self.energy), _frozen(self.time)
        if energy.shape != time.shape or energy.ndim != 1:
            raise ConfigError("event energy and time must be 1-d arrays of equal length")
        object.__setattr__(self, "energy", energy)
        object.__setattr__(self, "time", time)

    def __repr__(self) -> str:
        return f"EventList({len(self)} events, {self.source or 'unnamed'})"

    def __len__(self) -> int:
        return int(self.energy.size)

    def count(
        self,
        energy_range: tuple[float, float] = (-math.inf, math.inf),
        time_range: tuple[float, float] = (-math.inf, math.inf),
    ) -> int:
        """Number of events with energy and time inside half-open ``[lo, hi)`` ranges."""
        sel = (
            (self.energy >= energy_range[0]) & (self.energy < energy_range[1])
            & (self.time >= time_range[0]) & (self.time < time_range[1])
        )
        return int(sel.sum())

    def histogram(self, energy_edges: ArrayLike, time_edges: ArrayLike) -> Histogram:
        """Bin the events into half-open (energy × time) bins; events outside are dropped."""
        e_axis = Axis("energy", np.asarray(energy_edges, dtype=float), self.energy_unit)
        t_axis = Axis("time", np.asarray(time_edges, dtype=float), self.time_unit)
        ie = np.searchsorted(e_axis.edges, self.energy, side="right") - 1
        it = np.searchsorted(t_axis.edges, self.time, side="right") - 1
        inside = (ie >= 0) & (ie < e_axis.size) & (it >= 0) & (it < t_axis.size)
        counts = np.zeros((e_axis.size, t_axis.size))
        np.add.at(counts, (ie[inside], it[inside]), 1.0)
        return Histogram((e_axis, t_axis), counts)


@dataclass(frozen=True)
class BackgroundComponent:
    """One background of a release, as a template in the analysis binning plus its normalisation.

    ``template`` holds the release's (or our) template in the observed binning; its own count in
    the region the normalisation refers to is ``reference_total`` (default: its total). For a
    normalisation ``x`` the expectation is ``template.counts * x / reference_total`` (see
    :meth:`expected`). The normalisation is in the unit the release quotes: an event count in the
    release's reference region, or a unitless scale factor (CsI-2017 prompt neutrons: 1 ± 0.25,
    with ``reference_total = 1``).

    Attributes
    ----------
    name : str
        ``"steady_state"``, ``"brn"`` (prompt beam-related neutrons), ``"delayed_brn"``, ``"nin"``.
    description : str
        What the component is and how the template was built.
    template : Histogram
        Template counts on the release's observed axes.
    normalisation : Parameter
        Nominal normalisation and its prior 1σ uncertainty, as stated by the release.
    reference_total : float or None
        The template's count in the reference region of ``normalisation`` (None: its total).
    fitted_normalisation : Parameter or None
        The collaboration's best-fit normalisation, where the release states it.
    shape_variants : mapping of str to Histogram
        Alternative templates (±1σ shape systematics) where the release provides them.
    """

    name: str
    description: str
    template: Histogram
    normalisation: Parameter
    reference_total: float | None = None
    fitted_normalisation: Parameter | None = None
    shape_variants: Mapping[str, Histogram] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # expected() divides by the reference total: a template (or reference count) of 0 would
        # divide by zero, a negative or non-finite one give negative or NaN backgrounds
        ref = self.template_reference_total
        if not (math.isfinite(ref) and ref > 0):
            what = ("its template's total" if self.reference_total is None
                    else "reference_total")
            raise ConfigError(f"background {self.name!r}: {what} must be finite and > 0 (the "
                              f"template is scaled by normalisation / it), got {ref:g} "
                              f"(normalisation from {self.normalisation.source or 'unnamed'})")

    @property
    def template_reference_total(self) -> float:
        """The template's own count in the region the normalisation refers to."""
        return self.template.total if self.reference_total is None else self.reference_total

    def expected(
        self, normalisation: float | None = None, variant: str | None = None
    ) -> NDArray[np.float64]:
        """Expected counts per bin for ``normalisation`` (default: ``normalisation.value``).

        ``template * normalisation / template_reference_total``; ``variant`` picks one of
        :attr:`shape_variants` instead of the nominal template (scaled by the same factor).
        """
        norm = self.normalisation.value if normalisation is None else normalisation
        if variant is None:
            counts = self.template.counts
        elif variant in self.shape_variants:
            counts = self.shape_variants[variant].counts
        else:
            raise UnknownNameError("shape variant", variant, self.shape_variants)
        return counts * (norm / self.template_reference_total)


@dataclass(frozen=True)
class NeutrinoTiming:
    """Fractions of prompt and delayed neutrino events falling in each observed time bin.

    The fractions already include any time-dependent efficiency of the release (so they may sum
    to less than one), and events outside the time window are lost. Prompt = ν_μ from π decay;
    delayed = ν_e and ν̄_μ from μ decay.

    Attributes
    ----------
    axis : Axis
        The observed time binning (µs).
    prompt, delayed : ndarray
        Fraction per time bin.
    source : str
        Provenance: the release's arrival-time PDFs or the analytic model and its parameters.
    """

    axis: Axis
    prompt: NDArray[np.float64]
    delayed: NDArray[np.float64]
    source: str = ""

    def __post_init__(self) -> None:
        for name in ("prompt", "delayed"):
            values = _frozen(getattr(self, name))
            if values.shape != (self.axis.size,) or np.any(values < 0):
                raise ConfigError(f"timing {name} fractions must be {self.axis.size} values ≥ 0")
            object.__setattr__(self, name, values)

    def fractions(self, flavour: str) -> NDArray[np.float64]:
        """Time-bin fractions for ``flavour`` (one of :data:`FLAVOURS`; the deprecated release
        names ``"nu_mu"``, ``"nu_e"``, ``"nu_mu_bar"`` are accepted with a warning)."""
        flavour = canonical_flavour(flavour)
        if flavour in PROMPT_FLAVOURS:
            return self.prompt
        if flavour in DELAYED_FLAVOURS:
            return self.delayed
        raise UnknownNameError("neutrino flavour", flavour, FLAVOURS)


@dataclass(frozen=True)
class ExperimentSetup:
    """Exposure, geometry and target of a release: what a rate engine needs besides physics.

    Attributes
    ----------
    exposure : Parameter
        Integrated beam energy on target, GWh.
    protons_on_target : Parameter
        Number of protons on target (pure number).
    neutrinos_per_flavour_per_proton : Parameter
        ν yield per flavour per proton (isotropic).
    distance : Parameter
        Source–detector distance, m.
    detector_mass : Parameter
        (Fiducial) target mass, kg.
    targets : tuple of (str, int)
        Nucleus names of :func:`cevns.physics.nuclei.get_nucleus` and atoms per formula unit.
    molar_mass : Parameter
        Molar mass of one formula unit, g/mol.
    live_time : Parameter or None
        Live time in days, where stated.
    """

    exposure: Parameter
    protons_on_target: Parameter
    neutrinos_per_flavour_per_proton: Parameter
    distance: Parameter
    detector_mass: Parameter
    targets: tuple[tuple[str, int], ...]
    molar_mass: Parameter
    live_time: Parameter | None = None

    @property
    def baseline(self) -> float:
        """Source–detector distance in internal length units."""
        return self.distance.value * m

    @property
    def mass(self) -> float:
        """Detector mass in internal mass units."""
        return self.detector_mass.value * kg

    @property
    def neutrinos_per_flavour(self) -> float:
        """Neutrinos emitted per flavour over the exposure: POT × yield."""
        return self.protons_on_target.value * self.neutrinos_per_flavour_per_proton.value

    @property
    def fluence_per_flavour(self) -> float:
        """Time-integrated neutrino fluence per flavour at the detector, per internal area."""
        return self.neutrinos_per_flavour / (4.0 * math.pi * self.baseline**2)

    def number_of_targets(self, nucleus: str) -> float:
        """Number of nuclei ``nucleus`` in the detector mass."""
        names = [name for name, _ in self.targets]
        if nucleus not in names:
            raise UnknownNameError("target nucleus", nucleus, names)
        per_unit = dict(self.targets)[nucleus]
        formula_units = self.mass / (self.molar_mass.value * g / mol) * N_AVOGADRO
        return formula_units * per_unit


@dataclass(frozen=True, kw_only=True)
class Release:
    """A COHERENT data release, read and validated, ready to be consumed by a fit.

    The observed histogram has axes ``("energy", "time")`` for CsI and
    ``("energy", "f90", "time")`` for LAr. A signal prediction for a model is

    ``N[e, (f,) t] = Σ_flavour (R @ c_flavour)[e] (· psd[e, f]) · timing_flavour[t]``

    where ``R = response_matrix(T_nodes)`` and ``c_flavour[j]`` are expected events at recoil node
    ``j`` (dN/dT × quadrature weight, summed over target nuclei); see :meth:`predict_signal`.

    Attributes
    ----------
    name : str
        Registry name, e.g. ``"coherent-csi-2017"``.
    title : str
        One-line description.
    reference : str
        Paper and data-release citation.
    data_dir : Path
        Directory the files were read from.
    parameters : mapping of str to Parameter
        Every number read from the release's parameter files, plus cited supplements.
    setup : ExperimentSetup
        Exposure, distance, mass and targets.
    observed : Histogram
        Beam-on counts in the signal (coincidence) window, in the analysis binning.
    backgrounds : mapping of str to BackgroundComponent
        The release's backgrounds in the same binning.
    response : EnergyResponse
        True recoil energy → observed energy bins (quenching, light yield, smearing, efficiency).
    timing : NeutrinoTiming
        Prompt/delayed time-bin fractions in the observed time binning.
    psd_fractions : ndarray or None
        LAr only: fraction of CEvNS events of each energy bin in each F90 bin, shape (n_E, n_F90).
    analysis_region : mapping of str to (float, float)
        The region the collaboration's analysis used, per axis (half-open ranges).
    notes : tuple of str
        Caveats of the release that a user should know.
    """

    name: str
    title: str
    reference: str
    data_dir: Path
    parameters: Mapping[str, Parameter]
    setup: ExperimentSetup
    observed: Histogram
    backgrounds: Mapping[str, BackgroundComponent]
    response: EnergyResponse
    timing: NeutrinoTiming
    psd_fractions: NDArray[np.float64] | None = None
    analysis_region: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}: observed {self.observed!r}>"

    def summary(self) -> str:
        """A human-readable multi-line overview: data, backgrounds, set-up, caveats."""
        lines = [f"{self.name}: {self.title}", f"  {self.reference}",
                 f"  files: {self.data_dir}",
                 f"  observed: {self.observed!r}"]
        region = ", ".join(f"{k} [{lo:g}, {hi:g})" for k, (lo, hi) in
                           self.analysis_region.items())
        lines.append(f"  analysis region: {region} → {self.in_analysis_region().total:g} events")
        for name, comp in self.backgrounds.items():
            expected = self.observed.with_counts(comp.expected())
            lines.append(f"  background {name}: {comp.normalisation} "
                         f"({expected.total:.4g} in the binning)")
        s = self.setup
        lines.append(f"  exposure {s.exposure.value:g} {s.exposure.unit}, "
                     f"POT {s.protons_on_target.value:.4g}, "
                     f"ν/flavour/POT {s.neutrinos_per_flavour_per_proton.value:g}, "
                     f"L = {s.distance.value:g} m, mass {s.detector_mass.value:g} kg, "
                     f"targets {', '.join(n for n, _ in s.targets)}")
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)

    def response_matrix(self, recoil_energy_nodes: ArrayLike) -> NDArray[np.float64]:
        """``R[i, j]``: probability that a recoil at node ``j`` is observed in energy bin ``i``.

        See :meth:`cevns.datasets.coherent.response.EnergyResponse.response_matrix`.
        """
        return self.response.response_matrix(recoil_energy_nodes)

    def timing_fractions(self, flavour: str) -> NDArray[np.float64]:
        """Time-bin fractions of ``flavour`` (``"numu"``, ``"nue"``, ``"numubar"``)."""
        return self.timing.fractions(flavour)

    def fold_energy_counts(
        self, energy_counts: Mapping[str, ArrayLike]
    ) -> NDArray[np.float64]:
        """Spread expected counts per observed energy bin and flavour over the other axes.

        Parameters
        ----------
        energy_counts : mapping of flavour to array, shape (n_energy_bins,)
            E.g. ``{"numu": R @ c_mu, …}`` (:data:`FLAVOURS`). Missing flavours count as zero.

        Returns
        -------
        ndarray with the shape of ``observed.counts``.
        """
        out = np.zeros(self.observed.shape)
        n_e = self.observed.axes[0].size
        for flavour, counts in energy_counts.items():
            e = np.asarray(counts, dtype=float)
            if e.shape != (n_e,):
                raise ConfigError(
                    f"energy counts for {flavour!r} have shape {e.shape}, expected ({n_e},)"
                )
            t = self.timing.fractions(flavour)
            if self.psd_fractions is None:
                out += np.multiply.outer(e, t)
            else:
                out += np.einsum("e,ef,t->eft", e, self.psd_fractions, t)
        return out

    def predict_signal(
        self,
        recoil_energy_nodes: ArrayLike,
        node_counts: Mapping[str, ArrayLike],
        response_matrix: NDArray[np.float64] | None = None,
    ) -> NDArray[np.float64]:
        """Expected signal counts in the observed binning.

        Parameters
        ----------
        recoil_energy_nodes : array_like, shape (n_nodes,)
            True recoil energies, internal energy units.
        node_counts : mapping of flavour to array, shape (n_nodes,)
            Expected events per node (dN/dT × quadrature weight, summed over target nuclei, for
            the whole exposure and before any detector effect).
        response_matrix : ndarray, optional
            A precomputed ``response_matrix(recoil_energy_nodes)`` (it is built once per detector
            in a scan; pass it to avoid rebuilding).

        Returns
        -------
        ndarray with the shape of ``observed.counts``.
        """
        r = self.response_matrix(recoil_energy_nodes) if response_matrix is None else (
            response_matrix
        )
        energy = {fl: r @ np.asarray(c, dtype=float) for fl, c in node_counts.items()}
        return self.fold_energy_counts(energy)

    def expected_background(
        self, normalisations: Mapping[str, float] | None = None
    ) -> NDArray[np.float64]:
        """Sum of the background templates, each at its nominal or the given normalisation."""
        normalisations = dict(normalisations or {})
        unknown = set(normalisations) - set(self.backgrounds)
        if unknown:
            raise UnknownNameError("background", sorted(unknown)[0], self.backgrounds)
        total = np.zeros(self.observed.shape)
        for name, component in self.backgrounds.items():
            total += component.expected(normalisations.get(name))
        return total

    def in_analysis_region(self, histogram: Histogram | None = None) -> Histogram:
        """``histogram`` (default: the observed data) restricted to the analysis region."""
        histogram = self.observed if histogram is None else histogram
        return histogram.restrict(**self.analysis_region)

    def with_changes(self, **changes: object) -> Release:
        """A copy with some fields replaced (``dataclasses.replace``)."""
        return replace(self, **changes)

    def detector(self, *, helm_skin_fm: float | None = None,
                 response: EnergyResponse | None = None) -> Detector:
        """This release's detector as a :class:`cevns.experiment.Detector` (targets, mass, the
        response as a ``response`` table, the analysis bins); ``response``: a variant of
        :attr:`response` (±1σ). See :func:`cevns.datasets.coherent.experiment.release_detector`."""
        from cevns.datasets.coherent.experiment import RELEASE_HELM_SKIN_FM, release_detector

        skin = RELEASE_HELM_SKIN_FM if helm_skin_fm is None else helm_skin_fm
        return release_detector(self, helm_skin_fm=skin, response=response)

    def source(self) -> Source:
        """The SNS π-DAR source of this data period as a :class:`cevns.experiment.Source`."""
        from cevns.datasets.coherent.experiment import release_source

        return release_source(self)
