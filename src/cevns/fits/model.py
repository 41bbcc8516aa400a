"""The binned expectation of a COHERENT release: rate engine ⊗ release response ⊗ timing.

A :class:`ReleaseModel` turns a loaded release (:mod:`cevns.datasets.coherent`) into what the
Poisson likelihood of :mod:`cevns.stats` needs:

- the observed counts of the fitted window, flattened to one bin axis (energy × time, or
  energy × F90 × time for LAr);
- the signal of any cross-section basis (:class:`cevns.physics.basis.CrossSectionBasis`), from
  the rate engine of the ESS projections: the release is a :class:`cevns.experiment.Detector`
  (targets, mass, the release's quenching, smearing, efficiency and bins as a ``response`` table)
  at a :class:`cevns.experiment.Source` (the SNS data period), built by the release
  (:meth:`cevns.datasets.coherent.Release.detector`, :meth:`~cevns.datasets.coherent.Release.
  source`); the engine's cached :func:`cevns.rates.basis_spectra` gives per term j, flavour α and
  energy bin e the counts B[j, α, e] (summed over nuclei), and

      H[j, e, (f,) t] = Σ_α B[j, α, e] (· psd[e, f]) · timing_α[t]

  spreads them over the release's time bins (and LAr F90 bins) with the release's per-flavour
  arrival-time fractions; the expected signal at strength parameters θ is then Σ_j c_j(θ) H_j
  (:meth:`ReleaseModel.fold_energy`, :meth:`ReleaseModel.signal_basis`);
- the backgrounds with their normalisation priors as :class:`cevns.stats.Component` s with named
  nuisances, and for CsI a second channel, the anti-coincidence window, that measures the
  steady-state background (:meth:`ReleaseModel.channels`).

The releases use the engine's flavour names (``"numu"``, ``"nue"``, ``"numubar"``,
:data:`cevns.physics.flux.FLAVOURS`); :data:`ENGINE_TO_RELEASE_FLAVOUR` is kept as the identity
map for code written against the old release names.

Recoil quadrature: the engine's (:mod:`cevns.experiment.response`): Gauss–Legendre panels with
edges at the keVnr-equivalents of the analysis bin edges (± 1, 2, 4 smearing widths), at the
kinematic kinks of the source's lines and Michel end point (of a sterile mass m₄ too), geometric
panels of ratio ≤ ``panel_ratio``; ``order`` nodes per panel.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from cevns.datasets.coherent import (
    CsI2017Release,
    CsI2021Release,
    EnergyResponse,
    Histogram,
    LAr2020Release,
    NeutrinoTiming,
    Release,
)
from cevns.datasets.coherent.experiment import RELEASE_HELM_SKIN_FM
from cevns.errors import ConfigError, DataError, finite_number
from cevns.experiment.detector import Detector
from cevns.experiment.source import Source
from cevns.physics.basis import CrossSectionBasis, SMBasis
from cevns.physics.flux import FLAVOURS
from cevns.physics.nuclei import Nucleus
from cevns.rates.engine import BasisSpectra, basis_spectra
from cevns.stats import FREE, Channel, Component, PoissonModel
from cevns.stats.shapes import flat_interpolator

__all__ = [
    "ENGINE_TO_RELEASE_FLAVOUR",
    "LAR_SHAPE_CODE",
    "SHAPE_TOTALS",
    "LAR_ONE_SIDED",
    "LAR_TEMPLATES",
    "BackgroundTerm",
    "ReleaseModel",
]

#: Engine flavour name → release flavour name: the identity since the releases adopted the
#: engine's names (deprecated; kept so that existing code keeps working).
ENGINE_TO_RELEASE_FLAVOUR: dict[str, str] = {f: f for f in FLAVOURS}

SteadyState = Literal["anticoincidence", "prior"]
Likelihood = Literal["collaboration", "simple"]

#: Prior (1σ) of the proton-pulse mean of the neutrino-timing shape nuisance, µs. Our choice
#: (docs/coherent_csi.md): the 0.03 µs between the two estimates of the CsI-2021 pulse (LAr-2020
#: POT trace 0.44 µs; fit to the release's NIN timing PDF 0.47 µs), rounded up. The LAr-2020
#: release's own ±0.2 µs is the loose alternative; its effect on N_CEvNS is in the docs.
TIMING_MEAN_SIGMA_US = 0.05
#: Prior (1σ) of the proton-pulse width, µs: our choice (no release states one), docs/coherent_csi.md.
TIMING_WIDTH_SIGMA_US = 0.02
#: Prior (1σ) of the CsI light yield, PE/keVee, for the light-yield shape nuisance of both CsI
#: releases: the CsI-2017 release's calibration at the ²⁴¹Am 59.54 keV line, 13.348 ± 0.019 PE/keVee
#: (``coherent_parameters.yaml``, csiLightYield). CsI-2021 (same crystal and PMT) quotes 13.35
#: PE/keVee without an uncertainty and gets the same prior (our reading; docs/coherent_csi.md).
LIGHT_YIELD_SIGMA_PE_PER_KEVEE = 0.019
#: Prior (1σ, fraction of b) of the CsI-2021 gamma-smearing shape slope b = 9.56 /keVee (PE ~ Gamma
#: with shape 1 + b·E_ee): our choice, no source states an uncertainty (docs/coherent_csi.md).
GAMMA_SMEARING_SIGMA = 0.10
#: CsI-2021, collaboration likelihood: the pulse (mean, σ) in µs that fits the release's NIN timing
#: PDF ``ninTrec.txt`` (neutrons from the collaboration's simulated neutrino arrival times;
#: supplementary.toml, tests/datasets/test_coherent_timing.py), used as the nominal neutrino timing.
CSI2021_NIN_PULSE_US = (0.47, 0.146)
#: Analytic pulse that reproduces the CsI-2017 arrival-time PDFs (cevns.datasets.coherent.timing).
CSI2017_PULSE_US = (0.692, 0.142)

# -- LAr-2020: CEvNS template choice and the release's shape nuisances (docs/coherent_lar.md) -------

#: CEvNS templates of the LAr-2020 fit: ``"release-factorised"`` (default) our energy spectrum ×
#: the release's F90(energy) × the release's time distribution, the collaboration's factorisation;
#: ``"physics"`` our per-flavour template, energy and time correlated (prompt ν_μ softer).
LAR_TEMPLATES: tuple[str, ...] = ("release-factorised", "physics")
LArTemplate = Literal["release-factorised", "physics"]

#: Interpolation code of every shape nuisance of the release fits, CsI and LAr
#: (:mod:`cevns.stats.shapes`): HistFactory code 4,
#: multiplicative per bin, smooth, never negative.
LAR_SHAPE_CODE = "polyexp"

#: LAr-2020: how a one-sided shape systematic (only a +1σ variant released: CEvNS timing mean,
#: BRN timing width) gets its −1σ template. ``"mirror"`` (default): the linear mirror
#: down = 2 · nominal − up, i.e. the first-order effect of the opposite shift of the underlying
#: parameter. ``"nominal"``: down = nominal (earlier versions); with code-4 interpolation the
#: polynomial between the −1σ and +1σ templates then moves the template *against* the released
#: variant for −1 < α < 0 (by up to 11 % per bin) and back to nominal at α = −1: a spurious second
#: minimum of χ² in α, which made the profile jump between minima from one grid point to the next
#: (docs/coherent_lar.md, issue #12).
LAR_ONE_SIDED: tuple[str, ...] = ("mirror", "nominal")
LArOneSided = Literal["mirror", "nominal"]
#: Smallest per-bin ratio of a mirrored −1σ template (a bin the +1σ variant more than doubles
#: would otherwise go negative; no shipped variant does, its largest ratio is 1.35).
MIRROR_FLOOR = 1e-3


#: How the shape nuisances of the release fits treat the template's total
#: (:mod:`cevns.stats.shapes`, "Shape-only systematics"). ``"conserved"`` (default): every variant
#: of the release fits is a shape variant (the LAr-2020 release's variants have the nominal
#: total; the CsI ones are rescaled to it, their rate effect lives in the signal-normalisation
#: prior), so the interpolated template is renormalised to the nominal total at every α.
#: ``"interpolated"``: plain per-bin code-4 interpolation (earlier versions), whose total drops
#: by up to 1.4 % between the variants and grows beyond them; a fitted normalisation absorbs that
#: (1000 toys: N_CEvNS bias CsI-2021 +0.115σ instead of +0.076σ, LAr-2020 +0.257σ instead of
#: +0.185σ; docs/statistics.md §7).
SHAPE_TOTALS: tuple[str, ...] = ("conserved", "interpolated")
ShapeTotals = Literal["conserved", "interpolated"]


def _shaped_component(name: str, expected, *, nuisance: str | None = None,
                      sigma: float | None = None, shapes: Mapping[str, tuple] | None = None,
                      conserve: bool = True) -> Component:
    """A :class:`cevns.stats.Component`, with HistFactory code-4 shape nuisances if any
    (shape only, i.e. total-conserving, if ``conserve``)."""
    if not shapes:
        return Component(name, expected, nuisance=nuisance, sigma=sigma)
    return Component(name, expected, nuisance=nuisance, sigma=sigma, shapes=dict(shapes),
                     shape_code=LAR_SHAPE_CODE, conserve_total=conserve)


def _check_shape_ratios(release, syst, down: NDArray[np.float64], up: NDArray[np.float64]) -> None:
    """The ±1σ ratios of one LAr shape systematic must be ones the fit's interpolation
    (:data:`LAR_SHAPE_CODE`) can use; else a :class:`DataError` naming the release's files and
    the bin, before any fit (the statistics layer would refuse them during the fit, naming only
    the nuisance and suggesting a ``shape_code`` the command line does not offer). The released
    ratios lie between 0.03 and 17; a damaged variant or nominal file gives ratios far outside.
    """
    lo, hi = down.reshape(1, -1), up.reshape(1, -1)
    try:
        flat_interpolator(LAR_SHAPE_CODE, np.ones_like(lo), lo, hi, syst.name)
    except ConfigError:
        bad = next(i for i in range(lo.shape[1]) if not _ratio_pair_ok(lo[0, i], hi[0, i]))
        axes = syst.nominal.axes
        index = np.unravel_index(bad, syst.nominal.shape)
        where = ", ".join(f"{ax.name} {ax.centers[j]:g}{(' ' + ax.unit) if ax.unit else ''}"
                          for ax, j in zip(axes, index, strict=True))
        raise DataError(
            f"{release.data_dir}: {syst.source}: in the bin at {where} the −1σ/+1σ variants are "
            f"{down.flat[bad]:.4g} and {up.flat[bad]:.4g} times the nominal (after scaling each "
            "to the nominal total), too far apart for the fit's interpolation of the shape "
            f"systematic {syst.name!r}; is a value in one of these files damaged?") from None


def _ratio_pair_ok(down: float, up: float) -> bool:
    try:
        flat_interpolator(LAR_SHAPE_CODE, np.ones((1, 1)), np.array([[down]]),
                          np.array([[up]]), "bin")
    except ConfigError:
        return False
    return True


def polyexp_factor(down_ratio, up_ratio, alpha: float) -> NDArray[np.float64]:
    """The code-4 factor f(α) per bin for the ratios down/nominal and up/nominal
    (:func:`cevns.stats.shapes.flat_interpolator`, the profiler's own interpolation)."""
    lo = np.atleast_1d(np.asarray(down_ratio, dtype=float)).reshape(1, -1)
    hi = np.atleast_1d(np.asarray(up_ratio, dtype=float)).reshape(1, -1)
    interp = flat_interpolator("polyexp", np.ones_like(lo), lo, hi, "shape factor")
    return interp(np.array([[float(alpha)]]))[0][0]


@dataclass(frozen=True)
class BackgroundTerm:
    """One background of the fit: expected counts at its nominal normalisation and its pull.

    Attributes
    ----------
    name : str
        Component name (the release's background name).
    expected : ndarray, shape (n_bins,)
        Expected counts at the nominal normalisation, flattened.
    nuisance : str
        Name of the normalisation nuisance θ (prediction × (1 + θ)).
    sigma : float
        Fractional prior width of θ (``FREE`` = inf: constrained by a control channel only).
    prior : str
        Human-readable prior, e.g. ``"497 ± 160 events"``.
    parts : tuple of (str, ndarray)
        When the background has one free normalisation per part (the CsI steady state of the
        collaboration likelihood: one per PE bin): each part's nuisance and expected counts;
        ``expected`` is then their sum and ``nuisance`` is not a fit parameter.
    """

    name: str
    expected: NDArray[np.float64]
    nuisance: str
    sigma: float
    prior: str
    parts: tuple[tuple[str, NDArray[np.float64]], ...] = ()

    def at(self, nuisances: Mapping[str, float] | None = None) -> NDArray[np.float64]:
        """Expected counts at the given nuisance values (missing ones 0), flattened."""
        nuisances = nuisances or {}
        if self.parts:
            return sum(part * (1.0 + float(nuisances.get(name, 0.0)))
                       for name, part in self.parts)
        return self.expected * (1.0 + float(nuisances.get(self.nuisance, 0.0)))


def _factorised(counts: NDArray[np.float64]) -> NDArray[np.float64]:
    """Outer product of the two projections of a 2-D histogram, same total."""
    total = counts.sum()
    if total <= 0:
        return counts.copy()
    return np.multiply.outer(counts.sum(axis=1), counts.sum(axis=0)) / total


def check_helm_skin(value: object) -> float:
    """``helm_skin_fm`` (the Helm surface thickness of :class:`ReleaseModel`) as a float, or a
    :class:`~cevns.errors.ConfigError` naming it: one finite number in (0, 3] fm, not text
    (``"0.9"``) and not true/false (``True`` would be read as 1 fm)."""
    return finite_number(value, "helm_skin_fm", "a finite thickness in (0, 3] fm",
                         ok=lambda s: 0 < s <= 3.0)


@dataclass(eq=False)
class ReleaseModel:
    """Observed counts, signal folding and backgrounds of one release, ready for a Poisson fit.

    Parameters
    ----------
    release : Release
        A loaded release (:func:`cevns.datasets.coherent.load_release`). CsI-2017 is restricted
        to its analysis region (6 ≤ PE < 30, 0 ≤ t < 6 µs) unless ``restrict=False``.
    steady_state : {"anticoincidence", "prior"}
        CsI only. ``"anticoincidence"`` (default): the steady-state normalisation is a free
        nuisance measured by a second Poisson channel, the anti-coincidence window of equal
        length (same template in both windows). ``"prior"``: a Gaussian pull of width √N instead.
        LAr always uses the release's prior 3154 ± 25.
    factorise_steady_state : bool
        CsI only. Build the steady-state template as the outer product of the energy and time
        projections of the anti-coincidence counts (default): a steady-state background has one
        energy spectrum at all times, and the product has far smaller bin-to-bin fluctuations
        than the raw 2-D counts (≈ 3 events per bin). ``False``: the raw counts.
    restrict : bool
        CsI-2017: fit only the analysis region (default True).
    likelihood : {"collaboration", "simple"}
        CsI only (LAr always uses its release's likelihood). ``"collaboration"`` (default): the
        steady-state background is one free rate per PE bin, shared by the coincidence and
        anti-coincidence windows, with an analytic time shape (flat × time efficiency for
        CsI-2021, an exponential fitted to the steady-state-only windows for CsI-2017), and the
        signal carries shape nuisances (neutrino-timing pulse mean and width, light yield;
        CsI-2021 also gamma smearing and the released efficiency and quenching ±1σ variants);
        docs/coherent_csi.md. ``"simple"``: the
        likelihood of earlier versions (one steady-state normalisation, template from the
        anti-coincidence data, no shape nuisances), kept reproducible. ``steady_state="prior"``
        implies the simple likelihood (the collaboration's needs the anti-coincidence window).
    order, panel_ratio : int, float
        The engine's true-recoil rule: Gauss–Legendre nodes per panel and the largest ratio of a
        panel's ends (:func:`cevns.experiment.response.build_response`).
    template : {"release-factorised", "physics"}
        LAr-2020 only: the CEvNS template (docs/coherent_lar.md). ``"release-factorised"``
        (default): the window-integrated energy spectrum of the rate engine × the release's F90
        distribution per energy bin × the release's CEvNS time distribution, the factorisation of
        the collaboration's PDF, which reproduces its fit (N = 159 ± 43). ``"physics"``: energy
        and time correlated per flavour (the prompt ν_μ has the softest recoils).
    shape_nuisances : bool or None
        LAr-2020 only: profile the release's shape variants (:data:`cevns.datasets.coherent.
        lar2020.SHAPE_SYSTEMATICS`: CEvNS F90 and timing mean, BRN energy, timing mean and
        width) as HistFactory shape nuisances (code 4, unit-Gaussian prior). ``None`` (default):
        on for LAr-2020.
    timing_mean_sigma_us, timing_width_sigma_us : float
        CsI collaboration likelihood: 1σ priors (µs) of the neutrino-timing shape nuisances
        (pulse mean and width); defaults :data:`TIMING_MEAN_SIGMA_US`,
        :data:`TIMING_WIDTH_SIGMA_US` (our choice, docs/coherent_csi.md); the LAr-2020 release's
        own ±0.2 µs on the mean is the loose alternative.
    light_yield_sigma_pe_per_kevee : float
        CsI collaboration likelihood: 1σ prior (PE/keVee) of the light-yield shape nuisance
        ``light_yield``; default :data:`LIGHT_YIELD_SIGMA_PE_PER_KEVEE` (the CsI-2017 release's
        ²⁴¹Am calibration, 0.019 PE/keVee), in (0, 5].
    gamma_smearing_sigma : float
        CsI-2021, collaboration likelihood: 1σ prior of the gamma-smearing shape nuisance
        ``gamma_smearing`` as a fraction of the shape slope b (9.56 /keVee); default
        :data:`GAMMA_SMEARING_SIGMA` (0.10, our choice), in (0, 0.9].
    lar_one_sided : {"mirror", "nominal"}
        LAr-2020 only: the −1σ template of a one-sided shape systematic (:data:`LAR_ONE_SIDED`):
        the linear mirror of the +1σ variant (default) or the nominal template.
    shape_totals : {"conserved", "interpolated"}
        Shape nuisances of every release (:data:`SHAPE_TOTALS`): ``"conserved"`` (default) the
        interpolated template keeps the nominal total at every α (shape-only nuisances; the
        variants are shape variants), ``"interpolated"`` plain per-bin code-4 interpolation,
        whose total varies with α (earlier versions; a fitted normalisation absorbs that change,
        which adds to the toy bias of N_CEvNS, docs/statistics.md §7).
    helm_skin_fm : float
        Helm surface thickness s (fm) of the target nuclei's form factors: the Lewin–Smith
        0.9 fm by default, the standard choice for fits to COHERENT data (the ESS presets use
        1.0 fm, docs/assumptions.md). It is a field of :attr:`detector`, hence part of every
        engine cache key; a model with another skin is another model.

    Attributes
    ----------
    release : Release
        The release as fitted (restricted/re-binned).
    observed : ndarray, shape (n_bins,)
        Observed counts of the coincidence window, flattened (C order of ``release.observed``).
    shape : tuple of int
        Shape of ``release.observed.counts``.
    detector : Detector
        The release's detector (:meth:`cevns.datasets.coherent.Release.detector`).
    source : Source
        The release's SNS data period (:meth:`cevns.datasets.coherent.Release.source`).
    nuclei : list of Nucleus
        ``detector.nuclei`` (with the Helm skin).
    n_targets : ndarray
        Number of nuclei of each kind in the detector.
    nodes, weights : ndarray
        The engine's true-recoil nodes and weights of the SM build (internal energy units).
    response : ndarray, shape (n_energy_bins, n_nodes)
        ``release.response_matrix(nodes)``: detection probability per bin at each node.
    backgrounds : dict of str to BackgroundTerm
    control : ndarray or None
        Anti-coincidence counts (flattened) when the steady state is measured by them.
    """

    release: Release
    steady_state: SteadyState = "anticoincidence"
    factorise_steady_state: bool = True
    restrict: bool = True
    order: int = 10
    panel_ratio: float = 1.25
    helm_skin_fm: float = RELEASE_HELM_SKIN_FM
    likelihood: Likelihood = "collaboration"
    template: LArTemplate = "release-factorised"
    shape_nuisances: bool | None = None
    timing_mean_sigma_us: float = TIMING_MEAN_SIGMA_US
    timing_width_sigma_us: float = TIMING_WIDTH_SIGMA_US
    light_yield_sigma_pe_per_kevee: float = LIGHT_YIELD_SIGMA_PE_PER_KEVEE
    gamma_smearing_sigma: float = GAMMA_SMEARING_SIGMA
    lar_one_sided: LArOneSided = "mirror"
    shape_totals: ShapeTotals = "conserved"
    observed: NDArray[np.float64] = field(init=False)
    shape: tuple[int, ...] = field(init=False)
    detector: Detector = field(init=False)
    source: Source = field(init=False)
    nuclei: list[Nucleus] = field(init=False)
    n_targets: NDArray[np.float64] = field(init=False)
    nodes: NDArray[np.float64] = field(init=False)
    weights: NDArray[np.float64] = field(init=False)
    response: NDArray[np.float64] = field(init=False)
    backgrounds: dict[str, BackgroundTerm] = field(init=False)
    control: NDArray[np.float64] | None = field(init=False)
    _timing: NDArray[np.float64] = field(init=False, repr=False)
    _control_template: NDArray[np.float64] | None = field(init=False, repr=False, default=None)
    _ss_rows: list[tuple[str, NDArray[np.float64]]] = field(init=False, repr=False,
                                                          default_factory=list)
    _cache: dict = field(init=False, repr=False, default_factory=dict)

    #: constructor inputs: read-only once built, since everything cached derives from them
    _INPUTS = ("release", "steady_state", "factorise_steady_state", "restrict", "order",
               "panel_ratio", "helm_skin_fm", "likelihood", "template", "shape_nuisances",
                "timing_mean_sigma_us", "timing_width_sigma_us", "light_yield_sigma_pe_per_kevee",
                "gamma_smearing_sigma", "lar_one_sided", "shape_totals")

    def __setattr__(self, name, value) -> None:
        if name in self._INPUTS and "_cache" in self.__dict__:
            raise ConfigError(f"ReleaseModel.{name} is fixed once the model is built (its caches "
                              f"derive from it); build a new ReleaseModel instead")
        super().__setattr__(name, value)

    def __post_init__(self) -> None:
        if self.steady_state not in ("anticoincidence", "prior"):
            raise ConfigError(f"steady_state must be 'anticoincidence' or 'prior', got "
                              f"{self.steady_state!r}")
        if self.likelihood not in ("collaboration", "simple"):
            raise ConfigError(f"likelihood must be 'collaboration' or 'simple', got "
                              f"{self.likelihood!r}")
        check_helm_skin(self.helm_skin_fm)  # text and true/false too: not a thickness
        for name, top, unit in (("timing_mean_sigma_us", 1.0, " µs"),
                                ("timing_width_sigma_us", 1.0, " µs"),
                                ("light_yield_sigma_pe_per_kevee", 5.0, " PE/keVee"),
                                ("gamma_smearing_sigma", 0.9, " (fraction of b)")):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and not isinstance(value, bool)
                    and math.isfinite(value) and 0 < value <= top):
                raise ConfigError(f"{name} must be a prior width in (0, {top:g}]{unit}, got "
                                  f"{value!r}")
        rel = self.release
        if isinstance(rel, CsI2017Release) and self.restrict:
            (e_lo, e_hi), (t_lo, t_hi) = rel.analysis_region["energy"], rel.analysis_region["time"]
            e_edges, t_edges = rel.observed.axes[0].edges, rel.observed.axes[1].edges
            rel = rel.merge_bins(
                energy=e_edges[(e_edges >= e_lo - 1e-9) & (e_edges <= e_hi + 1e-9)],
                time=t_edges[(t_edges >= t_lo - 1e-9) & (t_edges <= t_hi + 1e-9)],
            )
            object.__setattr__(self, "release", rel)  # the restricted copy is what is fitted
        if (isinstance(rel, CsI2021Release) and self.likelihood == "collaboration"
                and self.steady_state == "anticoincidence"):
            mean, sigma = CSI2021_NIN_PULSE_US
            pulse = replace(rel.timing_model, pot_mean=mean, pot_sigma=sigma,
                            source="fit to the release's NIN timing PDF (ninTrec.txt)")
            rel = rel.rebin(rel.observed.axes[0].edges, rel.observed.axes[1].edges, pulse)
            object.__setattr__(self, "release", rel)
        self.shape = rel.observed.shape
        self.observed = rel.observed.counts.ravel().copy()
        self.detector = rel.detector(helm_skin_fm=float(self.helm_skin_fm))
        self.source = rel.source()
        self.nuclei = [nuc for nuc, _ in self.detector.nuclei]
        self.n_targets = self.detector.number_of_targets()
        engine_response = self.spectra(SMBasis()).response
        self.nodes, self.weights = engine_response.nodes, engine_response.weights
        self.response = rel.response_matrix(self.nodes)
        self._timing = np.stack([rel.timing_fractions(f) for f in FLAVOURS])
        self._build_backgrounds()
        self._init_lar()

    # -- backgrounds -------------------------------------------------------------------------------

    def _anticoincidence(self) -> Histogram | None:
        rel = self.release
        if isinstance(rel, CsI2017Release):
            return rel.anticoincidence_beam_on
        if isinstance(rel, CsI2021Release):
            return rel.anticoincidence
        return None

    @property
    def collaboration(self) -> bool:
        """True when the collaboration likelihood applies (CsI with ``likelihood="collaboration"``)."""
        return (self.likelihood == "collaboration" and self.steady_state == "anticoincidence"
                and self._anticoincidence() is not None)

    def _build_backgrounds(self) -> None:
        rel = self.release
        ac = self._anticoincidence()
        self.control = None
        self._control_template = None
        self._ss_rows = []
        terms: dict[str, BackgroundTerm] = {}
        for name, comp in rel.backgrounds.items():
            norm = comp.normalisation
            expected = comp.expected()
            if name == "steady_state" and ac is not None and self.collaboration:
                terms[name] = self._steady_state_rows(ac)
                continue
            if name == "steady_state" and ac is not None:
                template = _factorised(ac.counts) if self.factorise_steady_state else ac.counts
                expected = template * (norm.value / comp.template_reference_total)
            sigma_abs = norm.uncertainty
            # The readers refuse these (naming the file and field); a Release changed through
            # the API (with_changes) is checked here, before a division by zero or a negative
            # background.
            if not (math.isfinite(norm.value) and norm.value > 0):
                raise DataError(f"{rel.name}: background {name!r}: normalisation "
                                f"{norm.value:g} ({norm.source or 'no source'}) must be finite "
                                "and > 0 (the fit scales it; its prior is relative to it)")
            if sigma_abs is None or not (math.isfinite(sigma_abs) and sigma_abs > 0):
                raise DataError(f"{rel.name}: background {name!r}: the prior uncertainty "
                                f"{sigma_abs} of its normalisation ({norm.source or 'no source'}) "
                                "must be a finite number > 0")
            sigma = sigma_abs / norm.value
            prior = f"{norm.value:g} ± {sigma_abs:.3g} {norm.unit}".rstrip()
            if name == "steady_state" and ac is not None and self.steady_state == "anticoincidence":
                sigma = FREE
                prior = "free; measured by the anti-coincidence window"
                self.control = ac.counts.ravel().copy()
                self._control_template = expected.ravel().copy()
            terms[name] = BackgroundTerm(name, expected.ravel().copy(), f"bkg_{name}", sigma, prior)
        self.backgrounds = terms

    def steady_state_time_shape(self) -> NDArray[np.float64]:
        """Fraction of the steady-state background in each fitted time bin (sums to 1).

        CsI-2021: flat in time × the release's time efficiency ε(t) (the anti-coincidence data
        agree: an exponential fit to their time distribution gives a slope consistent with ε).
        CsI-2017 (no time efficiency released): exp(−k t) with k fitted (binned Poisson
        likelihood) to the time distribution of the three steady-state-only windows (beam-on
        anti-coincidence, beam-off coincidence and anti-coincidence) in the analysis region; see
        :attr:`steady_state_slope`.
        """
        edges = self.release.observed.axes[1].edges
        eff = getattr(self.release, "time_efficiency", None)
        if eff is not None:
            w = np.diff(edges) * eff.bin_average(edges)
        else:
            k = self.steady_state_slope
            w = np.diff(np.exp(-k * edges)) / -k if k != 0 else np.diff(edges)
        return w / w.sum()

    @property
    def steady_state_slope(self) -> float:
        """CsI-2017: fitted slope k (1/µs) of the steady-state time shape exp(−k t); else 0."""
        rel = self.release
        if not isinstance(rel, CsI2017Release):
            return 0.0
        hit = self._cache.get("ss_slope")
        if hit is not None:
            return hit
        from scipy.optimize import minimize_scalar

        # the beam-off windows only: the beam-on anti-coincidence window is in the likelihood
        counts = sum(h.counts.sum(axis=0) for h in (
            rel.coincidence_beam_off, rel.anticoincidence_beam_off))
        edges = rel.observed.axes[1].edges

        def nll(k: float) -> float:
            w = np.diff(np.exp(-k * edges)) / -k if abs(k) > 1e-12 else np.diff(edges)
            return -float(np.sum(counts * np.log(w / w.sum())))

        k = float(minimize_scalar(nll, bounds=(-2.0, 2.0), method="bounded",
                                  options={"xatol": 1e-8}).x)
        h = 1e-3
        curvature = (nll(k + h) - 2.0 * nll(k) + nll(k - h)) / h**2
        if not (math.isfinite(curvature) and curvature > 0):  # no beam-off events (refused by
            # the reader for its copies): the slope is not measured
            raise DataError(f"{rel.name}: the beam-off windows (data_coincidence_beamOff.txt, "
                            "data_anticoincidence_beamOff.txt) do not measure the steady-state "
                            f"time slope in the fitted bins ({counts.sum():g} events)")
        self._cache["ss_slope"] = k
        self._cache["ss_slope_sigma"] = 1.0 / math.sqrt(curvature)
        return k

    @property
    def steady_state_slope_sigma(self) -> float:
        """CsI-2017: 1σ of :attr:`steady_state_slope` (from the curvature of its likelihood)."""
        if not isinstance(self.release, CsI2017Release):
            return 0.0
        self.steady_state_slope  # noqa: B018 - fills the cache
        return self._cache["ss_slope_sigma"]

    def _slope_shape(self, slope: float) -> NDArray[np.float64]:
        edges = self.release.observed.axes[1].edges
        w = np.diff(np.exp(-slope * edges)) / -slope if abs(slope) > 1e-12 else np.diff(edges)
        return w / w.sum()

    def steady_state_shapes(self) -> dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]]:
        """Shape nuisance of the steady-state time slope (CsI-2017, collaboration likelihood):
        ``"ss_time_slope"`` → (down, up) ratios per fitted bin for k ∓ σ_k; else empty."""
        if not (self.collaboration and isinstance(self.release, CsI2017Release)):
            return {}
        k, sk = self.steady_state_slope, self.steady_state_slope_sigma
        nominal = self._slope_shape(k)
        n_e = self.shape[0]
        down = np.tile(self._slope_shape(k - sk) / nominal, n_e)
        up = np.tile(self._slope_shape(k + sk) / nominal, n_e)
        return {"ss_time_slope": (down, up)}

    def _steady_state_rows(self, ac: Histogram) -> BackgroundTerm:
        """One free steady-state rate per PE bin, shared by the C and AC windows."""
        shape_t = self.steady_state_time_shape()
        n_e = ac.counts.shape[0]
        rows = []
        for e in range(n_e):
            template = np.zeros(ac.counts.shape)
            # nominal = the AC count of the PE bin (0.5 if empty, to keep the rate identifiable)
            template[e] = max(float(ac.counts[e].sum()), 0.5) * shape_t
            rows.append((f"ss_pe{e:02d}", template.ravel()))
        self._ss_rows = rows
        self.control = ac.counts.ravel().copy()
        total = sum(r for _, r in rows)
        self._control_template = total.copy()
        return BackgroundTerm(
            "steady_state", total, "bkg_steady_state", FREE,
            f"free per PE bin ({n_e} rates), measured jointly by the anti-coincidence window",
            parts=tuple(rows))

    # -- signal shape nuisances --------------------------------------------------------------------

    def _sm_node_counts(self) -> NDArray[np.float64]:
        """SM events per flavour and recoil node (summed over nuclei), shape (3, n_nodes)."""
        from cevns.physics.constants import SIN2_THETA_W
        from cevns.scenarios import get_scenario

        scenario = get_scenario("sm")
        basis = scenario.basis({})
        coeff = np.asarray(scenario.coefficients({"sin2_theta_w": np.asarray(SIN2_THETA_W)}))
        return np.tensordot(coeff, self.node_rates(basis).sum(axis=2), axes=1)

    def _fold_with(self, nodes: NDArray[np.float64], response: NDArray[np.float64],
                   timing: NDArray[np.float64]) -> NDArray[np.float64]:
        energy = nodes @ response.T
        return np.einsum("fe,ft->et", energy, timing).ravel()

    def _timing_variant(self, mean_shift: float, width_shift: float) -> NDArray[np.float64]:
        """Timing fractions (3 flavours × time bins) with the pulse mean/width shifted (µs)."""
        rel = self.release
        edges = rel.observed.axes[1].edges
        model = getattr(rel, "timing_model", None)
        if model is not None:
            moved = replace(model, pot_mean=model.pot_mean + mean_shift,
                            pot_sigma=model.pot_sigma + width_shift)
            p, d = moved.fractions(edges, efficiency=getattr(rel, "time_efficiency", None))
            return np.stack([p, d, d])
        # CsI-2017: released PDFs × (shifted / nominal) of the analytic pulse reproducing them
        from cevns.datasets.coherent.timing import SNSTimingModel

        mu, sig = CSI2017_PULSE_US
        nominal = SNSTimingModel(mu, sig).fractions(edges)
        varied = SNSTimingModel(mu + mean_shift, sig + width_shift).fractions(edges)
        out = []
        for f in FLAVOURS:
            j = 0 if f == "numu" else 1
            ratio = np.where(nominal[j] > 1e-12, varied[j] / np.maximum(nominal[j], 1e-300), 1.0)
            out.append(rel.timing_fractions(f) * ratio)
        return np.stack(out)

    def signal_shapes(self) -> dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]]:
        """Shape nuisances of the signal: name → (down, up) ratios to the nominal, per bin.

        Each ratio is the SM prediction with the systematic at −1σ / +1σ divided by the nominal
        one, rescaled to the nominal total (shape only: the rate uncertainty of each source stays
        in the signal-normalisation prior), and applied to any signal hypothesis. Empty for the
        simple likelihood. Cached.
        """
        if not self.collaboration:
            return {}
        hit = self._cache.get(("signal_shapes",))
        if hit is not None:
            return hit
        rel = self.release
        nodes = self._sm_node_counts()
        nominal = self._fold_with(nodes, self.response, self._timing)
        variants: dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]] = {
            "timing_mean": tuple(self._fold_with(nodes, self.response,
                                                 self._timing_variant(s * self.timing_mean_sigma_us, 0))
                                 for s in (-1.0, 1.0)),
            "timing_width": tuple(self._fold_with(nodes, self.response, self._timing_variant(
                0, s * self.timing_width_sigma_us)) for s in (-1.0, 1.0)),
        }

        def with_response(response=None, **change):
            r = self.probability_matrix(response or replace(rel.response, **change))
            return self._fold_with(nodes, r, self._timing)

        # light yield (both releases) and gamma smearing (CsI-2021): the response recomputed with
        # the parameter at ∓1σ (docs/coherent_csi.md)
        smearing, d_ly = rel.response.smearing, self.light_yield_sigma_pe_per_kevee
        variants["light_yield"] = tuple(with_response(rel.response.with_smearing(
            light_yield=smearing.light_yield + s * d_ly)) for s in (-1.0, 1.0))
        if isinstance(rel, CsI2021Release):
            b = smearing.shape_slope_per_kevee
            variants["gamma_smearing"] = tuple(with_response(rel.response.with_smearing(
                shape_slope_per_kevee=b * (1.0 + s * self.gamma_smearing_sigma)))
                for s in (-1.0, 1.0))
            eff, scint = rel.efficiency_variants, rel.scintillation_variants
            variants["efficiency"] = (with_response(efficiency=eff["minus_1sigma"]),
                                      with_response(efficiency=eff["plus_1sigma"]))
            for k in (0, 1):
                variants[f"quenching_{k}"] = (
                    with_response(quenching=scint[f"syst{k}_minus_1sigma"]),
                    with_response(quenching=scint[f"syst{k}_plus_1sigma"]))
        out = {}
        for name, pair in variants.items():
            ratios = []
            for v in pair:
                v = v * (nominal.sum() / v.sum())
                r = np.where(nominal > 0, v / np.where(nominal > 0, nominal, 1.0), 1.0)
                ratios.append(np.clip(r, 1e-3, None))
            out[name] = (ratios[0], ratios[1])
        self._cache[("signal_shapes",)] = out
        return out

    # -- signal ------------------------------------------------------------------------------------

    @property
    def timing_fractions(self) -> NDArray[np.float64]:
        """The neutrino timing the signal is folded with: a read-only view, shape
        ``(len(FLAVOURS), n_time_bins)``, dimensionless.

        Row ``f`` (in the order of :data:`cevns.physics.flux.FLAVOURS`: ν_μ prompt, then ν_e and
        ν̄_μ delayed) holds the fraction of flavour ``f``'s arrivals in each time bin of the fitted
        window — the last axis of ``release.observed``, edges in µs — times the release's time
        efficiency where it has one (:meth:`Release.timing_fractions
        <cevns.datasets.coherent.containers.Release.timing_fractions>` of each flavour). A row
        sums to the share of that flavour seen in the window (CsI-2021: 0.997, 0.847, 0.847).
        Writing into it raises ``ValueError``: the model's folded signal derives from it.
        """
        view = self._timing.view()
        view.flags.writeable = False
        return view

    @property
    def n_bins(self) -> int:
        """Number of bins of the fitted window."""
        return self.observed.size

    def spectra(self, basis: CrossSectionBasis) -> BasisSpectra:
        """The engine's binned counts of ``basis`` for this release: :func:`cevns.rates.
        basis_spectra` of (:attr:`detector`, :attr:`source`, ``basis``) with this model's recoil
        rule — cached by the engine on all of them."""
        return basis_spectra(self.detector, self.source, basis, nodes_per_panel=int(self.order),
                             panel_ratio=float(self.panel_ratio))

    def energy_counts(self, basis: CrossSectionBasis) -> NDArray[np.float64]:
        """Counts per basis term, flavour and energy bin, summed over nuclei (the engine's):
        shape (n_terms, n_flavours, n_energy_bins), flavours of :data:`cevns.physics.flux.FLAVOURS`."""
        return self.spectra(basis).counts.sum(axis=2)

    def node_rates(self, basis: CrossSectionBasis) -> NDArray[np.float64]:
        """Expected events per recoil node for unit coefficient of each basis term.

        The engine's node rates times the quadrature weights, on :attr:`nodes` (a basis whose
        sterile mass moves the kinematic kinks has other nodes: use :meth:`energy_counts`).

        Returns
        -------
        ndarray, shape (n_terms, n_flavours, n_nuclei, n_nodes)
            N_k Φ₀ w_n ∫dE φ_α(E) b_j(E, T_n) over the release's exposure (flavours in the order
            of :data:`cevns.physics.flux.FLAVOURS`).
        """
        spectra = self.spectra(basis)
        response = spectra.response
        if response.nodes.shape != self.nodes.shape or np.any(response.nodes != self.nodes):
            raise ConfigError(f"{self.release.name}: basis {type(basis).__name__} is integrated on "
                              "other recoil nodes (the kinks of its sterile mass); use "
                              "energy_counts()")
        return spectra.node_rates * response.weights

    def probability_matrix(self, response: EnergyResponse | None = None) -> NDArray[np.float64]:
        """P(energy bin | T_n) of the release's response, or of a variant of it (±1σ), on
        :attr:`nodes`; cached per variant (keyed on all its pieces and bins)."""
        if response is None:
            return self.response
        key = ("probability_matrix", response.quenching, response.smearing, response.efficiency,
               response.efficiency_variable, tuple(response.axis.edges.tolist()))
        hit = self._cache.get(key)
        if hit is None:
            hit = response.response_matrix(self.nodes)
            hit.setflags(write=False)
            self._cache[key] = hit
        return hit

    def fold(self, node_counts: NDArray[np.float64]) -> NDArray[np.float64]:
        """Expected counts in the fitted bins from counts per node, flavour (and nucleus).

        Parameters
        ----------
        node_counts : ndarray, shape (..., n_flavours, n_nodes)
            Events per recoil node and flavour (already summed over nuclei).

        Returns
        -------
        ndarray, shape (..., n_bins)
            Flattened like :attr:`observed`.
        """
        return self.fold_energy(node_counts @ self.response.T)

    def fold_energy(self, energy: NDArray[np.float64]) -> NDArray[np.float64]:
        """Expected counts in the fitted bins from counts per flavour and energy bin.

        Each flavour's energy spectrum is spread over the time bins with the release's
        arrival-time fractions (LAr: and over the F90 bins with the release's F90 distribution).

        Parameters
        ----------
        energy : ndarray, shape (..., n_flavours, n_energy_bins)

        Returns
        -------
        ndarray, shape (..., n_bins)
            Flattened like :attr:`observed`.
        """
        psd = self.release.psd_fractions
        if psd is None:
            out = np.einsum("...fe,ft->...et", energy, self._timing)
        elif self._lar_factorised:
            # in-window energy spectrum × F90(energy) × the release's time distribution
            window = np.einsum("...fe,f->...e", energy, self._timing.sum(axis=1))
            out = np.einsum("...e,eg,t->...egt", window, psd, self.release.cevns_time_pdf)
        else:
            out = np.einsum("...fe,eg,ft->...egt", energy, psd, self._timing)
        return out.reshape(*out.shape[: energy.ndim - 2], self.n_bins)

    def signal_basis(self, basis: CrossSectionBasis) -> NDArray[np.float64]:
        """Binned expectation of every term of ``basis``, shape (n_terms, n_bins): the engine's
        counts (:meth:`energy_counts`) spread over the release's time (and F90) bins."""
        return self.fold_energy(self.energy_counts(basis))

    def unflatten(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        """Flattened bin values back to the shape of ``release.observed``."""
        return np.asarray(values).reshape(*np.shape(values)[:-1], *self.shape)

    # -- likelihood --------------------------------------------------------------------------------

    def channels(
        self,
        signal: NDArray[np.float64],
        *,
        signal_sigma: float | None,
    ) -> list[Channel]:
        """The Poisson channels of the fit for a (grid of) signal prediction(s).

        Parameters
        ----------
        signal : ndarray, shape (..., n_bins)
            Expected CEvNS counts, flattened.
        signal_sigma : float or None
            Fractional prior width of the signal normalisation nuisance ``signal_norm``; ``None``:
            no such nuisance (the signal normalisation is itself the fitted parameter).

        Returns
        -------
        list of Channel
            ``"coincidence"`` and, if the steady state is measured there, ``"anticoincidence"``.
        """
        signal = np.asarray(signal, dtype=float)
        shapes = {k: (signal * lo, signal * hi) for k, (lo, hi) in self.signal_shapes().items()}
        shapes.update(self.lar_shapes(signal).get("cevns", {}))
        components = [_shaped_component("cevns", signal,
                                        nuisance="signal_norm" if signal_sigma else None,
                                        sigma=signal_sigma if signal_sigma else None, shapes=shapes,
                                        conserve=self._conserve)]
        background, control = self._background_components()
        out = [Channel("coincidence", self.observed, [*components, *background])]
        if self.control is not None:
            out.append(Channel("anticoincidence", self.control, control))
        return out

    def _background_components(self) -> tuple[list[Component], list[Component]]:
        """The (immutable) background components of the two channels; built once, cached."""
        key = ("background_components", tuple(id(t) for t in self.backgrounds.values()))
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        background: list[Component] = []
        for term in self.backgrounds.values():
            if term.parts:
                background.extend(self._ss_components(term.name, term.parts))
                continue
            ratios = self._lar_ratios.get(term.name, {})
            shapes = {n: (term.expected * down, term.expected * up)
                      for n, (down, up) in ratios.items()}
            background.append(_shaped_component(term.name, term.expected, nuisance=term.nuisance,
                                                sigma=term.sigma, shapes=shapes,
                                                conserve=self._conserve))
        control: list[Component] = []
        if self.control is not None:
            if self._ss_rows:
                control = self._ss_components("steady_state", self._ss_rows)
            else:
                control = [Component("steady_state", self._control_template,
                                     nuisance="bkg_steady_state", sigma=FREE)]
        self._cache[key] = (background, control)
        return background, control

    def _ss_components(self, prefix: str, rows) -> list[Component]:
        ratios = self.steady_state_shapes()
        return [_shaped_component(f"{prefix}_{name}", part, nuisance=name, sigma=FREE,
                                  shapes={k: (part * lo, part * hi) for k, (lo, hi) in ratios.items()},
                                  conserve=self._conserve)
                for name, part in rows]

    def poisson_model(self, signal: NDArray[np.float64], *, signal_sigma: float | None):
        """The Poisson model of :meth:`channels` (with shape nuisances where there are any)."""
        return PoissonModel(self.channels(signal, signal_sigma=signal_sigma))

    def with_observed(
        self, observed: NDArray[np.float64], control: NDArray[np.float64] | None = None
    ) -> ReleaseModel:
        """A shallow copy with other observed counts (e.g. Asimov data); caches are shared."""
        observed = np.asarray(observed, dtype=float)
        if observed.size != self.n_bins:
            raise ConfigError(f"{self.release.name}: observed has {observed.size} values, the fit "
                              f"window has {self.n_bins} bins")
        new = object.__new__(ReleaseModel)
        new.__dict__.update(self.__dict__)
        new.observed = observed.reshape(self.n_bins)
        if control is not None:
            if self.control is None:
                raise ConfigError(f"{self.release.name}: this model has no control channel")
            control = np.asarray(control, dtype=float)
            if control.size != self.control.size:
                raise ConfigError(f"{self.release.name}: control has {control.size} values, "
                                  f"expected {self.control.size}")
            new.control = control.reshape(self.control.shape)
        return new

    def with_pot_mean(self, pot_mean: float) -> ReleaseModel:
        """The model with the analytic neutrino timing at another proton-pulse mean (µs).

        For the releases whose neutrino timing is the analytic SNS model (LAr-2020, CsI-2021);
        CsI-2017 uses the released arrival-time PDFs and refuses. The engine spectra are shared
        (engine cache), the model's own caches are not.
        """
        rel = self.release
        timing_model = getattr(rel, "timing_model", None)
        if timing_model is None:
            raise ConfigError(f"{rel.name}: neutrino timing comes from the released PDFs, not the "
                              "analytic SNS model; it has no pulse mean to vary")
        moved = replace(timing_model, pot_mean=float(pot_mean))
        edges = rel.timing.axis.edges
        efficiency = getattr(rel, "time_efficiency", None)
        prompt, delayed = moved.fractions(edges, efficiency=efficiency)
        new = object.__new__(ReleaseModel)
        new.__dict__.update(self.__dict__)
        timing = NeutrinoTiming(rel.timing.axis, prompt, delayed,
                                source=f"{rel.timing.source}; pulse mean {pot_mean:g} µs")
        # node rates do not depend on the timing: shared below; the folded caches are not
        new.__dict__["release"] = rel.with_changes(timing=timing, timing_model=moved)
        new._timing = np.stack([new.release.timing_fractions(f)
                                for f in FLAVOURS])
        new._cache = {}  # the signal's engine spectra do not depend on the timing: engine-cached
        return new

    def asimov(self, signal: NDArray[np.float64]) -> ReleaseModel:
        """The model with Asimov data: observed = ``signal`` + nominal backgrounds.

        The anti-coincidence control channel (CsI) gets its expectation, the steady-state
        template. Fitting the result recovers the injected parameters with χ²_min = 0.
        """
        observed = np.asarray(signal, dtype=float).reshape(self.n_bins) + self.background_total()
        return self.with_observed(observed, self._control_template)

    def expected_components(
        self, signal: NDArray[np.float64], nuisances: Mapping[str, float] | None = None
    ) -> dict[str, NDArray[np.float64]]:
        """Expected counts per component of the coincidence window at the given nuisance values
        (normalisations and shape nuisances; missing ones 0), flattened: ``"cevns"`` and one
        entry per background. Computed by the likelihood's own components (the same
        interpolation, shape-only or not, as the fit), so they sum to the fitted prediction."""
        nuisances = dict(nuisances or {})
        coincidence = self.channels(np.asarray(signal, dtype=float), signal_sigma=1.0)[0]
        out: dict[str, NDArray[np.float64]] = {}
        owner = {f"{term.name}_{name}": term.name
                 for term in self.backgrounds.values() for name, _ in term.parts}
        for comp in coincidence.components:
            model = PoissonModel([Channel("c", coincidence.observed, [comp])],
                                 sigmas={comp.nuisance: 1.0} if comp.nuisance else None)
            value = model.expected({k: v for k, v in nuisances.items()
                                    if k in model.nuisances})["c"]
            key = owner.get(comp.name, comp.name)
            out[key] = out[key] + value if key in out else value
        return out

    # -- LAr-2020: template choice and shape nuisances --------------------------------------------

    def _init_lar(self) -> None:
        """Check the LAr options and resolve ``shape_nuisances``."""
        lar = isinstance(self.release, LAr2020Release)
        if self.template not in LAR_TEMPLATES:
            raise ConfigError(f"template must be one of {', '.join(map(repr, LAR_TEMPLATES))}, "
                              f"got {self.template!r}")
        if not lar and self.template != "release-factorised":
            raise ConfigError(f"template={self.template!r} applies to coherent-lar-2020 only, not "
                              f"{self.release.name!r}")
        wanted = self.shape_nuisances
        if wanted and not lar:
            raise ConfigError(f"shape_nuisances: the release's shape variants are profiled for "
                              f"coherent-lar-2020 only, not {self.release.name!r}")
        object.__setattr__(self, "shape_nuisances", lar if wanted is None else bool(wanted))
        self._lar_factorised = lar and self.template == "release-factorised"
        self._lar_ratios: dict[str, dict[str, tuple[NDArray, NDArray]]] = {}
        if self.shape_totals not in SHAPE_TOTALS:
            raise ConfigError(f"shape_totals must be one of "
                              f"{', '.join(map(repr, SHAPE_TOTALS))}, got {self.shape_totals!r}")
        if self.lar_one_sided not in LAR_ONE_SIDED:
            raise ConfigError(f"lar_one_sided must be one of "
                              f"{', '.join(map(repr, LAR_ONE_SIDED))}, got {self.lar_one_sided!r}")
        if lar and self.shape_nuisances:
            for name, syst in self.release.shape_systematics.items():
                down, up = syst.ratios()
                if syst.one_sided and self.lar_one_sided == "mirror":
                    down = np.maximum(2.0 - up, MIRROR_FLOOR)
                    down.setflags(write=False)
                _check_shape_ratios(self.release, syst, down, up)
                self._lar_ratios.setdefault(syst.component, {})[name] = (down, up)

    @property
    def _conserve(self) -> bool:
        """Shape nuisances keep the template total (``shape_totals="conserved"``)."""
        return self.shape_totals == "conserved"

    @property
    def shape_nuisance_names(self) -> tuple[str, ...]:
        """Names of the shape nuisances of the fit (empty unless LAr with ``shape_nuisances``)."""
        return tuple(n for comp in self._lar_ratios.values() for n in comp)

    def lar_shapes(self, signal: NDArray[np.float64]) -> dict[str, dict[str, tuple]]:
        """The ±1σ templates of every shape nuisance, per component name.

        The release's variants act as per-bin ratios to its nominal template
        (:meth:`cevns.datasets.coherent.lar2020.ShapeSystematic.ratios`), applied to our CEvNS
        ``signal`` (shape ``(..., n_bins)``) and to the BRN background.

        Returns
        -------
        dict
            ``{"cevns": {name: (down, up)}, "brn": {name: (down, up)}}``; empty without shape
            nuisances. Templates have the component's shape (flattened bins last).
        """
        out: dict[str, dict[str, tuple]] = {}
        for comp, ratios in self._lar_ratios.items():
            nominal = signal if comp == "cevns" else self.backgrounds[comp].expected
            out[comp] = {name: (nominal * down, nominal * up)
                         for name, (down, up) in ratios.items()}
        return out

    def background_total(self, nuisances: Mapping[str, float] | None = None) -> NDArray[np.float64]:
        """Σ backgrounds × (1 + θ) at the given nuisance values (default 0), flattened."""
        nuisances = dict(nuisances or {})
        total = np.zeros(self.n_bins)
        for term in self.backgrounds.values():
            total += term.at(nuisances)
        return total
