"""The rate engine: flux ⊗ cross section ⊗ response → binned expected counts (paper Eqs. 26–28).

For detector d, target species k, flavour α and basis term j:

    B[j, α, k, i] = N_T,k Φ₀ Σ_n M[i, n] ∫ dE φ_α(E) b_j(E, T_n)

with Φ₀ the source's fluence scale (:meth:`cevns.experiment.Source.fluence_scale`; for π-DAR the
run-integrated flux per flavour), φ_α the spectrum of flavour α per unit Φ₀, M the response matrix
of :mod:`cevns.experiment.response` and b_j the basis terms of a
:class:`cevns.physics.basis.CrossSectionBasis`. The flavours (axis α) are the source's own
(:attr:`cevns.experiment.Source.flavours`; π-DAR: ``numu, nue, numubar``).

Lines (the prompt ν_μ of π-DAR) are delta functions evaluated exactly at their energy. A
continuous spectrum is integrated with Gauss–Legendre nodes on each of its panels, cut at
E_min(T_n), for every true-recoil node at once (no Python loop over energies): the Michel spectra
are one panel [E_min(T_n), m_μ/2], where the SM integrand is a cubic polynomial in E and the rule
is exact; a tabulated spectrum has one panel per table interval (linear interpolation inside).

Expected counts for strength parameters θ are then ``Σ_j c_j(θ) B[j]`` — see
:meth:`BasisSpectra.combine`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from cevns.cache import ByteLRU, default_budget
from cevns.errors import ConfigError, finite_array
from cevns.experiment.detector import Detector
from cevns.experiment.response import (
    Response,
    gauss_legendre,
    response_from_key,
    response_key,
)
from cevns.experiment.source import Source
from cevns.physics.flux import (
    FLAVOURS,
    FlavourSpectrum,
    pion_dar_breakpoint_energies,
    pion_dar_flavour_spectrum,
)
from cevns.physics.kinematics import (
    _min_neutrino_energy_unchecked,
    _recoil_energy_range_unchecked,
    min_neutrino_energy,
    recoil_energy_range,
)
from cevns.physics.nuclei import Nucleus
from cevns.physics.protocol import CrossSectionBasis
from cevns.physics.units import MeV

#: Default Gauss–Legendre order in neutrino energy (exact for the SM: cubic integrand).
DEFAULT_ENERGY_NODES = 8


@dataclass(frozen=True)
class BasisSpectra:
    """Binned counts of every basis term, per flavour and per target nucleus.

    Attributes
    ----------
    names : tuple of str
        Basis-term names (axis 0 of :attr:`counts`).
    counts : ndarray, shape (n_terms, n_flavours, n_nuclei, n_bins)
        Expected counts over the source's run for unit coefficient of each term.
    edges : ndarray
        Reconstructed-energy bin edges (internal units).
    nuclei : tuple of str
        Target nuclei names (axis 2).
    flavours : tuple of str
        Flavours (axis 1): the source's (:attr:`cevns.experiment.Source.flavours`;
        :data:`cevns.physics.flux.FLAVOURS` for π-DAR).
    node_rates : ndarray, optional
        Differential rates at the true-recoil nodes, shape (n_terms, n_flavours, n_nuclei,
        n_nodes), for :meth:`reweighted`.
    response_key : tuple, optional
        What determines the response matrix (:func:`cevns.experiment.response.response_key`).
        The matrix itself is not held: :attr:`response` fetches it from the byte-bounded
        response cache, rebuilding it if it was evicted (memory stays flat over a mass scan).
    """

    names: tuple[str, ...]
    counts: np.ndarray
    edges: np.ndarray
    nuclei: tuple[str, ...]
    detector: str
    flavours: tuple[str, ...] = FLAVOURS
    node_rates: np.ndarray | None = field(default=None, repr=False, compare=False)
    response_key: tuple | None = field(default=None, repr=False, compare=False)

    @property
    def response(self) -> Response | None:
        """The response matrix these spectra were folded with (None if not recorded)."""
        return None if self.response_key is None else response_from_key(self.response_key)

    def reweighted(self, factors: np.ndarray) -> np.ndarray:
        """Counts after multiplying the true-recoil differential rate by recoil-only factors.

        For shape parameters that enter only through a function of T (a mediator propagator
        1/(2 m_A T + m²)), the E integrals need not be redone: ``factors`` of shape
        ``(*batch, n_terms, n_nuclei, n_nodes)`` multiply the stored node rates, and the response
        matrix maps them to bins. Returns ``(*batch, n_terms, n_flavours, n_bins)`` summed over
        nuclei.
        """
        if self.node_rates is None or self.response is None:
            raise ValueError("these basis spectra were built without node rates")
        f = np.asarray(factors, dtype=float)
        return self.response.fold_reweighted(f, self.node_rates)

    @property
    def n_bins(self) -> int:
        """Number of reconstructed bins."""
        return self.counts.shape[-1]

    def _summary_rows(self) -> list[tuple[str, str]]:
        from cevns.physics.units import keV

        per_term = self.counts.sum(axis=(1, 2, 3))
        terms = ", ".join(f"{n}: {v:.4g}" for n, v in zip(self.names, per_term, strict=True))
        return [("terms", f"{len(self.names)} ({', '.join(self.names)})"),
                ("flavours", ", ".join(self.flavours)), ("nuclei", ", ".join(self.nuclei)),
                ("bins", f"{self.n_bins} on [{self.edges[0] / keV:.4g}, "
                         f"{self.edges[-1] / keV:.4g}] keVnr"),
                ("counts per unit coefficient", terms if len(terms) < 400 else
                 terms[:399] + "…")]

    def __repr__(self) -> str:
        from cevns._repr import text_summary

        return text_summary(f"BasisSpectra({self.detector!r}, shape {self.counts.shape})",
                            self._summary_rows())

    def _repr_html_(self) -> str:
        from cevns._repr import html_summary

        return html_summary(f"BasisSpectra {self.detector}", self._summary_rows())

    def combine(self, coefficients: np.ndarray, *, per_flavour: bool = False) -> np.ndarray:
        """Expected signal counts Σ_j c_j B_j summed over flavours and nuclei.

        Parameters
        ----------
        coefficients : ndarray
            Shape ``(n_terms, *grid)`` (flavour blind) or, with ``per_flavour=True``,
            ``(n_terms, n_flavours, *grid)``.

        Returns
        -------
        ndarray
            Shape ``(*grid, n_bins)``.

        Raises
        ------
        ConfigError
            Coefficients that are not finite numbers (a NaN would make every count NaN), or whose
            shape does not match the basis.
        """
        c = finite_array(coefficients, "coefficients")
        summed = self.counts.sum(axis=2)  # (terms, flavours, bins)
        if per_flavour:
            if c.shape[:2] != summed.shape[:2]:
                raise ConfigError(f"coefficients shape {c.shape} does not start with "
                                  f"(n_terms, n_flavours) = {summed.shape[:2]}")
            return np.einsum("jf...,jfb->...b", c, summed)
        if c.ndim == 0 or c.shape[0] != summed.shape[0]:
            raise ConfigError(f"coefficients have shape {c.shape}; the basis has "
                              f"{summed.shape[0]} terms (shape (n_terms, *grid) expected)")
        return np.einsum("j...,jb->...b", c, summed.sum(axis=1))


def kinematic_breakpoints(nuclei: list[Nucleus], sterile_mass: float = 0.0,
                          energies: tuple[float, ...] | None = None) -> np.ndarray:
    """True recoils where the rate has kinks: ends of the recoil range at the neutrino
    ``energies`` (default π-DAR: E_π and m_μ/2; a source's :meth:`breakpoint_energies`)."""
    return _breakpoints(nuclei, sterile_mass, energies, recoil_energy_range)


def _breakpoints(nuclei, sterile_mass, energies, range_of) -> np.ndarray:
    """:func:`kinematic_breakpoints` with the recoil range given by ``range_of``: the checked
    :func:`~cevns.physics.kinematics.recoil_energy_range`, or its unchecked twin for the
    engine's own validated inputs (:func:`compute_basis_spectra`)."""
    if energies is None:
        energies = pion_dar_breakpoint_energies()
    e = np.asarray(energies, dtype=float).reshape(-1)
    # per nucleus: (T_min, T_max) of each energy in turn, all energies at once
    points = np.concatenate([np.stack(range_of(e, nuc.mass, sterile_mass),
                                      axis=-1).reshape(-1) for nuc in nuclei]) if nuclei else \
        np.zeros(0)
    return points[points > 0]


def differential_rate_per_target(
    basis: CrossSectionBasis,
    nucleus: Nucleus,
    flavour: str,
    recoil_energy: np.ndarray,
    *,
    energy_nodes: int | None = None,
    spectrum: FlavourSpectrum | None = None,
    e_min: np.ndarray | None = None,
    shared_terms: dict | None = None,
) -> np.ndarray:
    """∫ dE φ_α(E) b_j(E, T) per unit fluence scale, shape (n_terms, len(T)): events per target
    per unit recoil energy.

    ``spectrum`` is the flavour's spectrum (:meth:`cevns.experiment.Source.flavour_spectrum`);
    default: the normalised π-DAR spectrum of ``flavour``. ``e_min``: E_min(T) of this nucleus
    and the basis's sterile mass at ``recoil_energy`` if already known (the caller's, for several
    flavours). ``shared_terms``: for a basis that declares ``flavour_blind = True`` (its terms do
    not depend on the flavour), a dictionary that the calls of one nucleus and one set of recoil
    nodes share: the terms on a line energy or on the E nodes of a panel set are then evaluated
    once for all flavours with that line or those panels (the Michel ν_e and ν̄_μ spectra share
    their one panel [E_min(T), m_μ/2]). The result is the same as without it.
    """
    if spectrum is None:
        spectrum = pion_dar_flavour_spectrum(flavour)
    t = np.asarray(recoil_energy, dtype=float)
    if e_min is None:
        m4 = float(getattr(basis, "sterile_mass", 0.0))
        e_min = min_neutrino_energy(t, nucleus.mass, m4)
    memo = shared_terms if getattr(basis, "flavour_blind", False) else None
    n_terms = len(basis.names)
    out = np.zeros((n_terms, t.size))
    for e_line, weight in spectrum.lines:
        ok = e_min <= e_line
        if ok.any():
            terms = _memo_terms(memo, ("line", float(e_line)), basis, nucleus, flavour,
                                lambda ok=ok, e_line=e_line: (np.full(ok.sum(), e_line), t[ok]))
            out[:, ok] += terms if weight == 1.0 else weight * terms
    if spectrum.density is None:
        return out
    order = energy_nodes or getattr(basis, "energy_nodes", None) or DEFAULT_ENERGY_NODES
    x, w = gauss_legendre(order)
    panels = spectrum.panels
    e_top = float(panels[-1])
    ok = e_min < e_top
    if not ok.any():
        return out
    if panels.size == 2 and panels[0] == 0.0:
        # one panel from 0 (the Michel spectra): [E_min(T), E_top]
        lo = e_min[ok][:, None]
        half = 0.5 * (e_top - lo)
        energies = lo + half * (x[None, :] + 1.0)  # (nT, nE)
        spectrum_values = spectrum.density(energies)
        if hasattr(basis, "factored_terms"):
            out[:, ok] += _factored_integral(basis, nucleus, flavour, energies, t[ok][:, None],
                                             spectrum_values * half * w)
            return out
        # T as a column: bases evaluate T-only factors (form factors) once per recoil node
        terms = _memo_terms(memo, ("panel", e_top, order), basis, nucleus, flavour,
                            lambda: (energies, t[ok][:, None]))
        terms = np.broadcast_to(terms, (n_terms, *energies.shape))
        out[:, ok] += np.einsum("jte,te,e->jt", terms, spectrum_values * half, w)
        return out
    # one Gauss–Legendre rule per panel [a_p, b_p] ∩ [E_min(T), ∞): panels below E_min have zero
    # width; their nodes are put at E_top (a kinematically allowed energy) with zero weight. The
    # density is linear on each panel, so a panel needs only the share of the ``order`` nodes its
    # width asks for (twice that, at least 2): a fine table costs 2 nodes per interval
    widest = float(np.max(np.diff(panels)))
    per_panel = max(2, math.ceil(2 * order * widest / (e_top - float(panels[0]))))
    x, w = gauss_legendre(per_panel)
    a = np.maximum(panels[None, :-1], e_min[ok][:, None])  # (nT, nP)
    b = np.maximum(panels[None, 1:], a)
    half = 0.5 * (b - a)
    live = half > 0
    energies = a[..., None] + half[..., None] * (x + 1.0)  # (nT, nP, nE)
    energies = np.where(live[..., None], energies, e_top)
    weights = (half[..., None] * w) * spectrum.density(energies)  # zero on dead panels
    n_t = energies.shape[0]
    energies = energies.reshape(n_t, -1)
    weights = weights.reshape(n_t, -1)
    if hasattr(basis, "factored_terms"):
        out[:, ok] += _factored_integral(basis, nucleus, flavour, energies, t[ok][:, None],
                                         weights)
        return out
    terms = _memo_terms(memo, ("panels", panels.tobytes(), order), basis, nucleus, flavour,
                        lambda: (energies, t[ok][:, None]))
    terms = np.broadcast_to(terms, (n_terms, *energies.shape))
    out[:, ok] += np.einsum("jte,te->jt", terms, weights)
    return out


def _memo_terms(memo, key, basis, nucleus, flavour, nodes):
    """``basis.terms`` at ``nodes()`` = (E, T), looked up in / stored to ``memo`` under ``key``
    (the line energy or the panels and order, which fix the E nodes of a nucleus and a set of
    recoil nodes); ``memo`` None: evaluated."""
    if memo is not None:
        hit = memo.get(key)
        if hit is not None:
            return hit
    terms = basis.terms(nucleus, flavour, *nodes())
    if memo is not None:
        memo[key] = terms
    return terms


def _factored_integral(basis, nucleus, flavour, energies, recoil_column, weights):
    """Σ_e weights[t, e] · base[j, t, e] · g[k, t, e] as ``(n_k · n_j, n_T)`` (k outer) for a
    basis whose terms are products of base terms and per-term E weights (``factored_terms``,
    e.g. :class:`cevns.physics.oscillation.OscillationScanBasis`): the base terms are weighted
    once and contracted with each weight g_k. ``g`` is a sequence of rows (an array, or rows
    made one at a time as they are iterated over)."""
    base, g = basis.factored_terms(nucleus, flavour, energies, recoil_column)
    weighted = np.broadcast_to(base, (base.shape[0], *energies.shape)) * weights  # (j, t, e)
    out = np.empty((len(g), base.shape[0], energies.shape[0]))
    for k, gk in enumerate(g):  # no (k, j, t, e) temporary
        out[k] = np.einsum("jte,te->jt", weighted, np.broadcast_to(gk, energies.shape))
    return out.reshape(-1, energies.shape[0])


def compute_basis_spectra(
    detector: Detector,
    source: Source,
    basis: CrossSectionBasis,
    *,
    energy_nodes: int | None = None,
    nodes_per_panel: int = 10,
    panel_ratio: float = 1.25,
) -> BasisSpectra:
    """Binned counts of each basis term for ``detector`` at ``source`` (no caching).

    ``nodes_per_panel`` and ``panel_ratio`` set the true-recoil rule of the response
    (:func:`cevns.experiment.response.build_response`). See :func:`basis_spectra` for the cached
    version that analyses use.
    """
    detector.check_source(source)  # before anything is built
    nuclei = [nuc for nuc, _ in detector.nuclei]
    # The kinematics below runs unchecked (cevns.physics.kinematics: ~10 µs a call saved) on
    # inputs validated before: the nuclear masses by the Detector (its T_max check), the
    # breakpoint energies by the Source, the response nodes made here; m₄, which a plug-in basis
    # brings unchecked, once now.
    m4 = float(finite_array(getattr(basis, "sterile_mass", 0.0), "sterile_mass",
                            numbers="a number (internal energy units)", minimum=0.0,
                            unit=(MeV, "MeV")))
    key = response_key(detector, _breakpoints(nuclei, m4, source.breakpoint_energies(),
                                              _recoil_energy_range_unchecked),
                       nodes_per_panel=nodes_per_panel, panel_ratio=panel_ratio)
    response = response_from_key(key)
    n_targets = detector.number_of_targets()
    fluence = source.fluence_scale()
    flavours = source.flavours
    node_rates = np.zeros((len(basis.names), len(flavours), len(nuclei), response.nodes.size))
    # a basis may declare the π-DAR flavours it is non-zero for (``flavours``); the engine skips
    # the other π-DAR flavours. Any other flavour always reaches basis.terms, which computes it or
    # refuses it with a clear error: never a silent zero for a flavour a basis does not know.
    active = getattr(basis, "flavours", None)
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported below
        counts = _fold_rates(detector, source, basis, response, nuclei, n_targets, fluence,
                             flavours, active, node_rates, m4, energy_nodes)
    if not (np.all(np.isfinite(counts)) and np.all(np.isfinite(node_rates))):
        raise ConfigError(
            f"detector {detector.name} at source {source.name}: the expected counts overflow "
            f"(not finite) for mass_kg = {detector.mass_kg:g}, run_years = {source.run_years:g}, "
            f"baseline_m = {source.baseline_m:g} and the source's exposure; an input is far "
            "outside its physical range")
    return BasisSpectra(names=tuple(basis.names), counts=counts, edges=response.edges,
                        nuclei=tuple(n.name for n in nuclei), detector=detector.name,
                        flavours=flavours, node_rates=node_rates, response_key=key)


def _fold_rates(detector, source, basis, response, nuclei, n_targets, fluence, flavours, active,
                node_rates, m4, energy_nodes) -> np.ndarray:
    """Fill ``node_rates`` (terms, flavours, nuclei, nodes) and fold them into binned counts."""
    for k, nuc in enumerate(nuclei):
        e_min = _min_neutrino_energy_unchecked(response.nodes, nuc.mass, m4)  # checked inputs
        shared: dict = {}  # terms of a flavour-blind basis, shared by the flavours of nucleus k
        for a, flavour in enumerate(flavours):
            if active is not None and flavour in FLAVOURS and flavour not in active:
                continue
            rate = differential_rate_per_target(basis, nuc, flavour, response.nodes,
                                                energy_nodes=energy_nodes,
                                                spectrum=source.flavour_spectrum(flavour),
                                                e_min=e_min, shared_terms=shared)
            node_rates[:, a, k, :] = (n_targets[k] * fluence
                                      * detector.flavour_fraction(flavour)) * rate
    return response.fold(node_rates)


#: Basis spectra by (detector, source, basis, Helm skin, options): bounded by bytes (counts and
#: node rates; response matrices live in their own cache), see docs/engine.md.
_CACHE = ByteLRU("basis_spectra", default_budget())


def basis_spectra(
    detector: Detector, source: Source, basis: CrossSectionBasis, **kwargs
) -> BasisSpectra:
    """Cached :func:`compute_basis_spectra`: one build per (detector, source, basis) value.

    The basis object must be hashable (frozen dataclasses are); its value — e.g. a mediator mass —
    is the cache key, so a scan over a shape parameter builds each value once. The key is the
    full value of every argument (docs/engine.md, "Cache keys"): the detector's and source's
    declared fields (Helm skin, composition, threshold … — nothing else reaches the physics), the
    basis's fields and the keyword arguments. No process-wide setting enters a result.
    """
    key = (detector, source, basis, tuple(sorted(kwargs.items())))
    return _CACHE.get_or_build(key, lambda: compute_basis_spectra(detector, source, basis,
                                                                   **kwargs))


def clear_cache() -> None:
    """Forget all cached basis spectra and response matrices (for cold-start timings)."""
    from cevns.experiment.response import _PANELS, _RESPONSES, _table_recoil_points

    _CACHE.clear()
    _RESPONSES.clear()
    _PANELS.clear()
    _table_recoil_points.cache_clear()
