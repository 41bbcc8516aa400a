"""The binned expectation of a COHERENT release: rate engine ⊗ release response ⊗ timing.

A :class:`ReleaseModel` turns a loaded release (:mod:`cevns.datasets.coherent`) into what the
Poisson likelihood of :mod:`cevns.stats` needs:

- the observed counts of the fitted window, flattened to one bin axis (energy × time, or
  energy × F90 × time for LAr);
- the signal of any cross-section basis (:class:`cevns.physics.basis.CrossSectionBasis`): for
  each basis term j, recoil nodes T_n with quadrature weights w_n, target nuclei k and flavours α,

      c[j, α, n] = Σ_k N_k Φ₀ w_n ∫dE φ_α(E) b_j(E, T_n)          (rate engine, per exposure)
      H[j, e, (f,) t] = Σ_α (R @ c[j, α])[e] (· psd[e, f]) · timing_α[t]

  with ``R`` the release's response matrix (quenching, smearing, efficiency) and the release's
  timing fractions (and LAr F90 fractions); the expected signal at strength parameters θ is then
  Σ_j c_j(θ) H_j (:meth:`ReleaseModel.fold`, :meth:`ReleaseModel.signal_basis`);
- the backgrounds with their normalisation priors as :class:`cevns.stats.Component` s with named
  nuisances, and for CsI a second channel, the anti-coincidence window, that measures the
  steady-state background (:meth:`ReleaseModel.channels`).

The engine's flavour names (``"numu"``, ``"nue"``, ``"numubar"``,
:data:`cevns.physics.flux.FLAVOURS`) are mapped to the release's (``"nu_mu"``, ``"nu_e"``,
``"nu_mu_bar"``) by :data:`ENGINE_TO_RELEASE_FLAVOUR`.

Recoil quadrature: Gauss–Legendre panels from 0.01 keVnr (the response of every release is
< 10⁻⁶ there) to the largest recoil of the Michel end point, geometric panels of ratio ≤ 1.25
plus the kinematic kinks of the prompt line (:func:`cevns.rates.engine.kinematic_breakpoints`).
The SM totals change by < 10⁻⁴ between 8 and 12 nodes per panel (``tests/fits``).
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
    Histogram,
    NeutrinoTiming,
    Release,
)
from cevns.errors import ConfigError
from cevns.experiment.response import gauss_legendre_panels
from cevns.physics.basis import CrossSectionBasis
from cevns.physics.constants import E_MICHEL_MAX
from cevns.physics.flux import FLAVOURS
from cevns.physics.kinematics import max_recoil_energy
from cevns.physics.nuclei import Nucleus, get_nucleus
from cevns.physics.units import fm, keV
from cevns.rates.engine import differential_rate_per_target, kinematic_breakpoints
from cevns.stats import FREE, Channel, Component

__all__ = [
    "ENGINE_TO_RELEASE_FLAVOUR",
    "BackgroundTerm",
    "ReleaseModel",
    "recoil_quadrature",
]

#: Engine flavour name → release flavour name.
ENGINE_TO_RELEASE_FLAVOUR: dict[str, str] = {
    "numu": "nu_mu", "nue": "nu_e", "numubar": "nu_mu_bar",
}

#: Lowest true recoil integrated (keVnr): below it every release's response is negligible.
RECOIL_FLOOR_KEV = 0.01

SteadyState = Literal["anticoincidence", "prior"]


def recoil_quadrature(
    nuclei: list[Nucleus],
    *,
    floor: float = RECOIL_FLOOR_KEV * keV,
    panel_ratio: float = 1.25,
    order: int = 8,
    sterile_mass: float = 0.0,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Gauss–Legendre nodes and weights in true recoil energy for a π-DAR source.

    Panels run from ``floor`` to the largest recoil of the Michel end point over ``nuclei``,
    geometrically spaced (ratio ≤ ``panel_ratio``), with a panel edge at every kinematic kink.

    Returns
    -------
    (nodes, weights) : ndarrays in internal energy units
    """
    t_max = max(float(max_recoil_energy(E_MICHEL_MAX, nuc.mass)) for nuc in nuclei)
    n_panels = max(1, math.ceil(math.log(t_max / floor) / math.log(panel_ratio)))
    kinks = kinematic_breakpoints(nuclei)
    if sterile_mass > 0:  # up-scattering to a sterile state: the kinks of m₄ too
        kinks = np.concatenate([kinks, kinematic_breakpoints(nuclei, sterile_mass)])
    edges = np.unique(np.concatenate([
        [0.0], np.geomspace(floor, t_max, n_panels + 1), kinks[(kinks > floor) & (kinks < t_max)],
    ]))
    return gauss_legendre_panels(edges, order)


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
    """

    name: str
    expected: NDArray[np.float64]
    nuisance: str
    sigma: float
    prior: str


def _factorised(counts: NDArray[np.float64]) -> NDArray[np.float64]:
    """Outer product of the two projections of a 2-D histogram, same total."""
    total = counts.sum()
    if total <= 0:
        return counts.copy()
    return np.multiply.outer(counts.sum(axis=1), counts.sum(axis=0)) / total


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
    order, panel_ratio : int, float
        Recoil quadrature (see :func:`recoil_quadrature`).
    helm_skin_fm : float
        Helm surface thickness s (fm) of the target nuclei's form factors: the Lewin–Smith
        0.9 fm by default, the standard choice for fits to COHERENT data (the ESS presets use
        1.0 fm, docs/assumptions.md). It is carried by :attr:`nuclei`, so every cached signal of
        this model belongs to this value; a model with another skin is another model.

    Attributes
    ----------
    release : Release
        The release as fitted (restricted/re-binned).
    observed : ndarray, shape (n_bins,)
        Observed counts of the coincidence window, flattened (C order of ``release.observed``).
    shape : tuple of int
        Shape of ``release.observed.counts``.
    nuclei : list of Nucleus
    n_targets : ndarray
        Number of nuclei of each kind in the detector.
    nodes, weights : ndarray
        Recoil quadrature (internal energy units).
    response : ndarray, shape (n_energy_bins, n_nodes)
        ``release.response_matrix(nodes)``.
    backgrounds : dict of str to BackgroundTerm
    control : ndarray or None
        Anti-coincidence counts (flattened) when the steady state is measured by them.
    """

    release: Release
    steady_state: SteadyState = "anticoincidence"
    factorise_steady_state: bool = True
    restrict: bool = True
    order: int = 8
    panel_ratio: float = 1.25
    helm_skin_fm: float = 0.9
    observed: NDArray[np.float64] = field(init=False)
    shape: tuple[int, ...] = field(init=False)
    nuclei: list[Nucleus] = field(init=False)
    n_targets: NDArray[np.float64] = field(init=False)
    nodes: NDArray[np.float64] = field(init=False)
    weights: NDArray[np.float64] = field(init=False)
    response: NDArray[np.float64] = field(init=False)
    backgrounds: dict[str, BackgroundTerm] = field(init=False)
    control: NDArray[np.float64] | None = field(init=False)
    _timing: NDArray[np.float64] = field(init=False, repr=False)
    _control_template: NDArray[np.float64] | None = field(init=False, repr=False, default=None)
    _cache: dict = field(init=False, repr=False, default_factory=dict)

    #: constructor inputs: read-only once built, since everything cached derives from them
    _INPUTS = ("release", "steady_state", "factorise_steady_state", "restrict", "order",
               "panel_ratio", "helm_skin_fm")

    def __setattr__(self, name, value) -> None:
        if name in self._INPUTS and "_cache" in self.__dict__:
            raise ConfigError(f"ReleaseModel.{name} is fixed once the model is built (its caches "
                              f"derive from it); build a new ReleaseModel instead")
        super().__setattr__(name, value)

    def __post_init__(self) -> None:
        if self.steady_state not in ("anticoincidence", "prior"):
            raise ConfigError(f"steady_state must be 'anticoincidence' or 'prior', got "
                              f"{self.steady_state!r}")
        if not (math.isfinite(self.helm_skin_fm) and 0 < self.helm_skin_fm <= 3.0):
            raise ConfigError(f"helm_skin_fm must be a finite thickness in (0, 3] fm, got "
                              f"{self.helm_skin_fm!r}")
        rel = self.release
        if isinstance(rel, CsI2017Release) and self.restrict:
            (e_lo, e_hi), (t_lo, t_hi) = rel.analysis_region["energy"], rel.analysis_region["time"]
            e_edges, t_edges = rel.observed.axes[0].edges, rel.observed.axes[1].edges
            rel = rel.merge_bins(
                energy=e_edges[(e_edges >= e_lo - 1e-9) & (e_edges <= e_hi + 1e-9)],
                time=t_edges[(t_edges >= t_lo - 1e-9) & (t_edges <= t_hi + 1e-9)],
            )
            object.__setattr__(self, "release", rel)  # the restricted copy is what is fitted
        self.shape = rel.observed.shape
        self.observed = rel.observed.counts.ravel().copy()
        skin = float(self.helm_skin_fm) * fm
        self.nuclei = [get_nucleus(name).with_helm_skin(skin) for name, _ in rel.setup.targets]
        self.n_targets = np.array([rel.setup.number_of_targets(name) for name, _ in rel.setup.targets])
        self.nodes, self.weights = recoil_quadrature(self.nuclei, panel_ratio=self.panel_ratio,
                                                     order=self.order)
        self.response = rel.response_matrix(self.nodes)
        self._timing = np.stack([rel.timing_fractions(ENGINE_TO_RELEASE_FLAVOUR[f]) for f in FLAVOURS])
        self._build_backgrounds()

    # -- backgrounds -------------------------------------------------------------------------------

    def _anticoincidence(self) -> Histogram | None:
        rel = self.release
        if isinstance(rel, CsI2017Release):
            return rel.anticoincidence_beam_on
        if isinstance(rel, CsI2021Release):
            return rel.anticoincidence
        return None

    def _build_backgrounds(self) -> None:
        rel = self.release
        ac = self._anticoincidence()
        self.control = None
        self._control_template = None
        terms: dict[str, BackgroundTerm] = {}
        for name, comp in rel.backgrounds.items():
            norm = comp.normalisation
            expected = comp.expected()
            if name == "steady_state" and ac is not None:
                template = _factorised(ac.counts) if self.factorise_steady_state else ac.counts
                expected = template * (norm.value / comp.template_reference_total)
            sigma_abs = norm.uncertainty
            if sigma_abs is None:  # pragma: no cover - every shipped background has a prior
                raise ConfigError(f"{rel.name}: background {name!r} has no prior uncertainty")
            sigma = sigma_abs / norm.value
            prior = f"{norm.value:g} ± {sigma_abs:.3g} {norm.unit}".rstrip()
            if name == "steady_state" and ac is not None and self.steady_state == "anticoincidence":
                sigma = FREE
                prior = "free; measured by the anti-coincidence window"
                self.control = ac.counts.ravel().copy()
                self._control_template = expected.ravel().copy()
            terms[name] = BackgroundTerm(name, expected.ravel().copy(), f"bkg_{name}", sigma, prior)
        self.backgrounds = terms

    # -- signal ------------------------------------------------------------------------------------

    @property
    def n_bins(self) -> int:
        """Number of bins of the fitted window."""
        return self.observed.size

    def node_rates(self, basis: CrossSectionBasis) -> NDArray[np.float64]:
        """Expected events per recoil node for unit coefficient of each basis term.

        Returns
        -------
        ndarray, shape (n_terms, n_flavours, n_nuclei, n_nodes)
            N_k Φ₀ w_n ∫dE φ_α(E) b_j(E, T_n) over the release's exposure (flavours in the order
            of :data:`cevns.physics.flux.FLAVOURS`).
        """
        key = ("node_rates", basis)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        setup = self.release.setup
        scale = self.n_targets * setup.fluence_per_flavour
        out = np.zeros((len(basis.names), len(FLAVOURS), len(self.nuclei), self.nodes.size))
        for k, nucleus in enumerate(self.nuclei):
            for a, flavour in enumerate(FLAVOURS):
                rate = differential_rate_per_target(basis, nucleus, flavour, self.nodes)
                out[:, a, k, :] = scale[k] * rate * self.weights
        out.setflags(write=False)
        self._cache[key] = out
        return out

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
        energy = node_counts @ self.response.T  # (..., flavours, n_energy)
        psd = self.release.psd_fractions
        if psd is None:
            out = np.einsum("...fe,ft->...et", energy, self._timing)
        else:
            out = np.einsum("...fe,eg,ft->...egt", energy, psd, self._timing)
        return out.reshape(*out.shape[: energy.ndim - 2], self.n_bins)

    def signal_basis(self, basis: CrossSectionBasis) -> NDArray[np.float64]:
        """Binned expectation of every term of ``basis``, shape (n_terms, n_bins); cached."""
        key = ("signal_basis", basis)
        hit = self._cache.get(key)
        if hit is None:
            hit = self.fold(self.node_rates(basis).sum(axis=2))
            hit.setflags(write=False)
            self._cache[key] = hit
        return hit

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
        components = [Component("cevns", signal, nuisance="signal_norm" if signal_sigma else None,
                                sigma=signal_sigma if signal_sigma else None)]
        for term in self.backgrounds.values():
            components.append(Component(term.name, term.expected, nuisance=term.nuisance,
                                        sigma=term.sigma))
        out = [Channel("coincidence", self.observed, components)]
        if self.control is not None:
            out.append(Channel("anticoincidence", self.control, [
                Component("steady_state", self._control_template, nuisance="bkg_steady_state",
                          sigma=FREE)]))
        return out

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
        CsI-2017 uses the released arrival-time PDFs and refuses. Node rates are shared, folded
        caches are not.
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
        new._timing = np.stack([new.release.timing_fractions(ENGINE_TO_RELEASE_FLAVOUR[f])
                                for f in FLAVOURS])
        new._cache = {k: v for k, v in self._cache.items() if k[0] == "node_rates"}
        return new

    def with_sterile_mass(self, sterile_mass: float) -> ReleaseModel:
        """The model on a recoil quadrature with the kinematic kinks of a sterile mass m₄ as well
        (internal energy units; up-scattering bases): own nodes, response and caches."""
        new = object.__new__(ReleaseModel)
        new.__dict__.update(self.__dict__)
        new.nodes, new.weights = recoil_quadrature(self.nuclei, panel_ratio=self.panel_ratio,
                                                   order=self.order, sterile_mass=sterile_mass)
        new.response = self.release.response_matrix(new.nodes)
        new._cache = {}
        return new

    def asimov(self, signal: NDArray[np.float64]) -> ReleaseModel:
        """The model with Asimov data: observed = ``signal`` + nominal backgrounds.

        The anti-coincidence control channel (CsI) gets its expectation, the steady-state
        template. Fitting the result recovers the injected parameters with χ²_min = 0.
        """
        observed = np.asarray(signal, dtype=float).reshape(self.n_bins) + self.background_total()
        return self.with_observed(observed, self._control_template)

    def background_total(self, nuisances: Mapping[str, float] | None = None) -> NDArray[np.float64]:
        """Σ backgrounds × (1 + θ) at the given nuisance values (default 0), flattened."""
        nuisances = dict(nuisances or {})
        total = np.zeros(self.n_bins)
        for term in self.backgrounds.values():
            total += term.expected * (1.0 + float(nuisances.get(term.nuisance, 0.0)))
        return total
