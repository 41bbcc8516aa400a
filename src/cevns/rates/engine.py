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
from cevns.errors import ConfigError, UnknownNameError, finite_array, finite_number, is_bool
from cevns.experiment.detector import Detector
from cevns.experiment.presets import as_detector, as_source
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
from cevns.physics.nuclei import Nucleus, check_nucleus
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

    Every array is read-only (``counts``, ``edges``, ``node_rates``): :func:`basis_spectra`
    hands out the cached object itself, so a write (``bs.counts *= 2``) would change every later
    spectrum and fit of the process; it raises ``ValueError`` instead. An array given that could
    still be written (the caller's own, or a view of a writable one) is copied, never frozen
    behind the caller's back; work on a copy (``bs.counts.copy()``) to change numbers.
    """

    names: tuple[str, ...]
    counts: np.ndarray
    edges: np.ndarray
    nuclei: tuple[str, ...]
    detector: str
    flavours: tuple[str, ...] = FLAVOURS
    node_rates: np.ndarray | None = field(default=None, repr=False, compare=False)
    response_key: tuple | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("counts", "edges", "node_rates"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, read_only_array(value))

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


def read_only_array(value: object) -> np.ndarray:
    """``value`` as an array nobody can write through: itself when it is read-only and so is
    every array it is a view of (an array frozen when made: the engine's, a spectrum's), else a
    read-only copy (a writable array, or a read-only view of a writable one, stays the
    caller's: it is not frozen behind its back, nor can a later write to it reach the copy)."""
    arr = np.asarray(value)
    base = arr
    while isinstance(base, np.ndarray) and not base.flags.writeable:
        base = base.base
    if base is not None:  # a writable array (this one or under it), or a foreign buffer
        arr = arr.copy()
        arr.setflags(write=False)
    return arr


def kinematic_breakpoints(nuclei: list[Nucleus], sterile_mass: float = 0.0,
                          energies: tuple[float, ...] | None = None) -> np.ndarray:
    """True recoils where the rate has kinks: ends of the recoil range at the neutrino
    ``energies`` (default π-DAR: E_π and m_μ/2; a source's :meth:`breakpoint_energies`).

    ``nuclei`` is a list of :class:`~cevns.physics.nuclei.Nucleus` objects; a name or anything
    else is a :class:`~cevns.errors.ConfigError` (a name is told to go through
    :func:`~cevns.physics.nuclei.get_nucleus`, as in the physics functions).
    """
    if isinstance(nuclei, (str, Nucleus)) or not isinstance(nuclei, (list, tuple)):
        raise ConfigError(f"kinematic_breakpoints: nuclei must be a list of Nucleus objects "
                          f"(e.g. [get_nucleus('Xe131')]), got {type(nuclei).__name__} {nuclei!r}")
    nuclei = [check_nucleus(nuc, f"kinematic_breakpoints: nuclei[{i}]")
              for i, nuc in enumerate(nuclei)]
    return _breakpoints(nuclei, sterile_mass, energies, recoil_energy_range)


def _check_basis(basis: object, what: str) -> None:
    """Refuse, with a :class:`ConfigError` naming ``what``, an object that is not a cross-section
    basis (:class:`~cevns.physics.protocol.CrossSectionBasis`: ``names`` and ``terms``); attribute
    reads only, no ``isinstance`` against the runtime-checkable protocol (slower)."""
    if isinstance(basis, str) or not (hasattr(basis, "names")
                                       and callable(getattr(basis, "terms", None))):
        raise ConfigError(f"{what} must be a cross-section basis object such as "
                          f"cevns.physics.basis.SMBasis() (with names and terms(); "
                          f"cevns.physics.protocol.CrossSectionBasis), got "
                          f"{type(basis).__name__} {basis!r}")


def _check_order(value: object, name: str, *, optional: bool = False) -> None:
    """A Gauss–Legendre order: an int ≥ 1 (not true/false), or None if ``optional``."""
    if value is None and optional:
        return
    if is_bool(value) or not isinstance(value, (int, np.integer)) or value < 1:
        expected = "a whole number ≥ 1" + (" or None (the default)" if optional else "")
        raise ConfigError(f"{name} must be {expected}, got {value!r}")


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

    Bad arguments (a basis, nucleus or spectrum of the wrong type — a nucleus name is told to go
    through :func:`~cevns.physics.nuclei.get_nucleus` —, a negative or non-finite recoil energy
    or ``e_min``, an ``e_min`` of another shape, ``energy_nodes`` < 1) are a
    :class:`~cevns.errors.ConfigError`.
    """
    _check_basis(basis, "differential_rate_per_target: basis")
    nucleus = check_nucleus(nucleus, "differential_rate_per_target: nucleus")
    _check_order(energy_nodes, "energy_nodes", optional=True)
    if energy_nodes is not None:
        _check_rule_size(None, basis, energy_nodes, None, None)
    if spectrum is not None and not isinstance(spectrum, FlavourSpectrum):
        raise ConfigError(f"spectrum must be a FlavourSpectrum (Source.flavour_spectrum) or None, "
                          f"got {type(spectrum).__name__}")
    if shared_terms is not None and not isinstance(shared_terms, dict):
        raise ConfigError(f"shared_terms must be a dict or None, got {type(shared_terms).__name__}")
    t = finite_array(recoil_energy, "recoil_energy", minimum=0.0, unit=(MeV, "MeV"))
    if e_min is not None:
        e_min = finite_array(e_min, "e_min", minimum=0.0, unit=(MeV, "MeV"))
        if e_min.shape != t.shape:
            raise ConfigError(f"e_min has shape {e_min.shape}; it must be E_min(T) at each "
                              f"recoil_energy, shape {t.shape}")
    return _differential_rate(basis, nucleus, flavour, t, energy_nodes=energy_nodes,
                              spectrum=spectrum, e_min=e_min, shared_terms=shared_terms)


def _differential_rate(basis, nucleus, flavour, recoil_energy, *, energy_nodes=None,
                       spectrum=None, e_min=None, shared_terms=None) -> np.ndarray:
    """:func:`differential_rate_per_target` without its argument checks: the engine's own calls
    (:func:`_fold_rates`, on inputs checked by :func:`compute_basis_spectra`)."""
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
    detector: Detector | str,
    source: Source | str,
    basis: CrossSectionBasis,
    *,
    energy_nodes: int | None = None,
    nodes_per_panel: int = 10,
    panel_ratio: float = 1.25,
) -> BasisSpectra:
    """Binned counts of each basis term for ``detector`` at ``source`` (no caching).

    ``detector`` and ``source`` may also be preset names (``"CsI"``, ``"ess"``; looked up in the
    default catalogue: built-ins + ``CEVNS_PRESETS``). ``energy_nodes`` (the Gauss–Legendre order
    in neutrino energy; default: the basis's own, else 8) and ``nodes_per_panel`` are whole
    numbers ≥ 1; ``panel_ratio`` is a number > 1. ``nodes_per_panel`` and ``panel_ratio`` set the
    true-recoil rule of the response (:func:`cevns.experiment.response.build_response`). A rule
    whose arrays would exceed the memory limit ``CEVNS_MAX_GRID_BYTES`` (default 2 GiB) is
    refused before anything is allocated. See :func:`basis_spectra` for the cached version that
    analyses use.
    """
    detector, source = _resolve(detector, source, basis, "compute_basis_spectra")
    _check_options(detector, basis, energy_nodes, nodes_per_panel, panel_ratio)
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
    # read-only where made (no copy): basis_spectra shares this object with every caller
    for arr in (counts, node_rates):
        if arr.base is None:
            arr.setflags(write=False)
    return BasisSpectra(names=tuple(basis.names), counts=counts, edges=response.edges,
                        nuclei=tuple(n.name for n in nuclei), detector=detector.name,
                        flavours=flavours, node_rates=node_rates, response_key=key)


def _resolve(detector: object, source: object, basis: object,
             where: str) -> tuple[Detector, Source]:
    """The detector and source of :func:`basis_spectra` / :func:`compute_basis_spectra` by the
    package's one rule (:func:`cevns.experiment.as_detector`: objects as given, preset names
    looked up in the default catalogue, anything else a :class:`ConfigError` naming the argument);
    a basis that is not one is a :class:`ConfigError` too."""
    detector = as_detector(detector, where=where)  # type: ignore[arg-type]
    source = as_source(source, where=where)  # type: ignore[arg-type]
    _check_basis(basis, f"{where}: basis")
    return detector, source


#: The defaults of :func:`compute_basis_spectra`'s rule (its size check is skipped for them).
_DEFAULT_RULE = (None, 10, 1.25)


def _check_options(detector: Detector, basis, energy_nodes, nodes_per_panel,
                   panel_ratio) -> None:
    """The quadrature options of :func:`compute_basis_spectra`: whole orders ≥ 1, a panel ratio
    > 1, and (when not the defaults) arrays that fit in :func:`~cevns.scan.grid.max_grid_bytes`."""
    _check_order(energy_nodes, "energy_nodes", optional=True)
    _check_order(nodes_per_panel, "nodes_per_panel")
    finite_number(panel_ratio, "panel_ratio", "a finite number > 1 (the largest ratio "
                  "T_hi/T_lo of a response panel; default 1.25)", ok=lambda r: r > 1)
    if (energy_nodes, nodes_per_panel, panel_ratio) != _DEFAULT_RULE:
        _check_rule_size(detector, basis, energy_nodes, nodes_per_panel, float(panel_ratio))


def _check_rule_size(detector: Detector | None, basis, energy_nodes, nodes_per_panel,
                     panel_ratio) -> None:
    """Refuse quadrature rules whose arrays cannot fit: above :func:`~cevns.scan.grid.
    max_grid_bytes` (``CEVNS_MAX_GRID_BYTES``), estimated before anything is allocated.

    A Gauss–Legendre rule of order n solves an n × n eigenproblem (8 n² bytes); the rates hold
    (true-recoil nodes) × (energy nodes) per basis term, and the response (bins) × (nodes). The
    number of true-recoil nodes is estimated from the detector's recoil range (an upper bound:
    ``nodes_per_panel`` × (ln(T_max/T_low) / ln ``panel_ratio`` + bins + 8)). ``detector``
    None: the orders alone."""
    from cevns.scan.grid import MAX_GRID_BYTES_ENV, format_gib, max_grid_bytes

    cap = max_grid_bytes()
    limit = f"above the limit {format_gib(cap)} ({MAX_GRID_BYTES_ENV})"
    for name, order in (("energy_nodes", energy_nodes), ("nodes_per_panel", nodes_per_panel)):
        if order is not None and 8 * int(order) ** 2 > cap:
            raise ConfigError(f"{name} = {order}: its Gauss–Legendre rule solves a {order} × "
                              f"{order} eigenproblem, which would need "
                              f"{format_gib(8 * int(order) ** 2)}, {limit}")
    if detector is None:
        return
    from cevns.experiment.response_models import response_floor_fraction

    top = detector.max_recoil_energy
    low = max(response_floor_fraction(detector.response) * detector.threshold, 1e-9 * top)
    n_bins = detector.bin_edges.size - 1
    panels = math.log(top / low) / math.log(panel_ratio) + n_bins + 8 if top > low else n_bins + 8
    nodes = int(nodes_per_panel) * panels
    order = energy_nodes or getattr(basis, "energy_nodes", None) or DEFAULT_ENERGY_NODES
    n_terms, n_nuclei = max(1, len(basis.names)), len(detector.nuclei)
    need = 8 * nodes * max(n_terms * int(order), n_bins * n_nuclei, n_terms * 6 * n_nuclei)
    if need > cap:
        raise ConfigError(
            f"detector {detector.name}: nodes_per_panel = {nodes_per_panel} and panel_ratio = "
            f"{panel_ratio!r} give about {nodes:.3g} true-recoil nodes, each with {order} energy "
            f"nodes (energy_nodes); the rate arrays would need {format_gib(need)}, {limit}")


def _fold_rates(detector, source, basis, response, nuclei, n_targets, fluence, flavours, active,
                node_rates, m4, energy_nodes) -> np.ndarray:
    """Fill ``node_rates`` (terms, flavours, nuclei, nodes) and fold them into binned counts."""
    for k, nuc in enumerate(nuclei):
        e_min = _min_neutrino_energy_unchecked(response.nodes, nuc.mass, m4)  # checked inputs
        shared: dict = {}  # terms of a flavour-blind basis, shared by the flavours of nucleus k
        for a, flavour in enumerate(flavours):
            if active is not None and flavour in FLAVOURS and flavour not in active:
                continue
            rate = _differential_rate(basis, nuc, flavour, response.nodes,
                                      energy_nodes=energy_nodes,
                                      spectrum=source.flavour_spectrum(flavour),
                                      e_min=e_min, shared_terms=shared)
            node_rates[:, a, k, :] = (n_targets[k] * fluence
                                      * detector.flavour_fraction(flavour)) * rate
    return response.fold(node_rates)


#: The keyword arguments of :func:`compute_basis_spectra` that :func:`basis_spectra` passes on.
_OPTIONS = ("energy_nodes", "nodes_per_panel", "panel_ratio")

#: Basis spectra by (detector, source, basis, Helm skin, options): bounded by bytes (counts and
#: node rates; response matrices live in their own cache), see docs/engine.md.
_CACHE = ByteLRU("basis_spectra", default_budget())


def basis_spectra(
    detector: Detector | str, source: Source | str, basis: CrossSectionBasis, **kwargs
) -> BasisSpectra:
    """Cached :func:`compute_basis_spectra`: one build per (detector, source, basis) value.

    The basis object must be hashable (frozen dataclasses are); its value — e.g. a mediator mass —
    is the cache key, so a scan over a shape parameter builds each value once. The key is the
    full value of every argument (docs/engine.md, "Cache keys"): the detector's and source's
    declared fields (Helm skin, composition, threshold … — nothing else reaches the physics), the
    basis's fields and the keyword arguments. No process-wide setting enters a result.

    ``detector`` and ``source`` may be preset names, and ``kwargs`` are those of
    :func:`compute_basis_spectra` (``energy_nodes``, ``nodes_per_panel``, ``panel_ratio``); a
    misspelt one is an :class:`~cevns.errors.UnknownNameError` with a suggestion.
    """
    if isinstance(detector, str) or isinstance(source, str):
        detector, source = _resolve(detector, source, basis, "basis_spectra")
    for name in kwargs:
        if name not in _OPTIONS:
            raise UnknownNameError("basis_spectra keyword argument", name, _OPTIONS)
    key = (detector, source, basis, tuple(sorted(kwargs.items())))

    def build() -> BasisSpectra:
        # the types are checked on a miss only: a hit's key equals one that passed (a hot path)
        _resolve(detector, source, basis, "basis_spectra")
        return compute_basis_spectra(detector, source, basis, **kwargs)

    try:
        return _CACHE.get_or_build(key, build)
    except TypeError:
        _resolve(detector, source, basis, "basis_spectra")  # an argument of the wrong type
        _check_options(detector, basis, kwargs.get("energy_nodes"),
                       kwargs.get("nodes_per_panel", 10), kwargs.get("panel_ratio", 1.25))
        try:
            hash(key)
        except TypeError:
            raise ConfigError(f"basis_spectra: the basis and keyword arguments must be hashable "
                              f"(the cache key; a frozen dataclass), got "
                              f"{type(basis).__name__} and {kwargs!r}") from None
        raise


def clear_cache() -> None:
    """Forget all cached basis spectra and response matrices (for cold-start timings)."""
    from cevns.experiment.response import _PANELS, _RESPONSES, _table_recoil_points

    _CACHE.clear()
    _RESPONSES.clear()
    _PANELS.clear()
    _table_recoil_points.cache_clear()
