"""Detector response: from true recoil energy to reconstructed-energy bins.

The response is a matrix ``M[i, n]`` over true-recoil quadrature nodes T_n:

    N_i = Σ_n M[i, n] · dN/dT(T_n),   M[i, n] = w_n · ε · P(T_rec ∈ bin i | T_n),

with Gauss–Legendre weights w_n, the flat efficiency ε (applied in reconstructed energy, all bins
lie above threshold) and Gaussian smearing (paper Eq. 28)
P = Φ((T_hi − T)/σ(T)) − Φ((T_lo − T)/σ(T)). Without smearing (single-bin detectors) P is the
indicator of T in the bin.

The true-recoil nodes are Gauss–Legendre nodes on panels whose edges include every bin edge, every
kinematic breakpoint (where the rate has a kink: ends of the prompt line's recoil range, the Michel
end point of each nucleus), and a geometric subdivision so that no panel spans more than a factor
``panel_ratio`` in T. True recoils are integrated from ``floor_fraction × E_th`` (σ → 0 at low T;
below 0.05 E_th the probability to reach threshold is < 10⁻²⁰ for σ₀ ≤ 0.5).

Both detector descriptions go through :func:`cevns.experiment.response_models.fold_matrix`: the
keVnr fields as its ``none``-quenching special case (Gaussian smearing with σ = σ₀√(E_th T) or
σ₀ T, a flat efficiency), a ``response`` table with its own quenching, smearing and efficiency
(docs/response.md). A response whose quenching differs between target nuclei (Lindhard, per-element
models) gives one matrix per nucleus (``Response.per_nucleus``); :meth:`Response.fold` applies
either kind.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from threading import Lock

import numpy as np

from cevns.cache import ByteLRU, default_budget
from cevns.errors import KinematicsError
from cevns.experiment.detector import Detector
from cevns.experiment.response_models import (
    ConstantEfficiency,
    GaussianSmearing,
    NoQuenching,
    NoSmearing,
    fold_matrix,
    response_floor_fraction,
)
from cevns.physics.units import keV

#: Response matrices by (detector, breakpoints, rule): bounded by bytes (docs/engine.md); an
#: evicted matrix is rebuilt on its next use.
_RESPONSES = ByteLRU("response", default_budget(32 * 2**20))


class _PanelTable:
    """Response columns (before quadrature weights) of one detector and Gauss–Legendre order, by
    panel ends (lo, hi): least recently used panels dropped beyond ``max_bytes``. Thread-safe."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._blocks: OrderedDict[tuple[float, float], np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = Lock()

    def get_many(self, keys: list[tuple[float, float]]) -> list[np.ndarray | None]:
        with self._lock:
            out = [self._blocks.get(key) for key in keys]
            for key, block in zip(keys, out, strict=True):
                if block is not None:
                    self._blocks.move_to_end(key)
            return out

    def put(self, key: tuple[float, float], block: np.ndarray) -> None:
        with self._lock:
            if key in self._blocks:
                return
            self._blocks[key] = block
            self._bytes += block.nbytes
            while self._bytes > self.max_bytes and len(self._blocks) > 1:
                _, old = self._blocks.popitem(last=False)
                self._bytes -= old.nbytes


#: Largest size of one :class:`_PanelTable` (one detector and rule), bytes.
PANEL_TABLE_BYTES = 4 * 2**20
#: Columns of the response on the nodes of each quadrature panel, one :class:`_PanelTable` per
#: (detector, Gauss–Legendre order): a column depends only on the detector and its node, and the
#: nodes of a panel only on its ends and the order. A scan over a sterile mass moves the panels
#: next to the mass's kinematic kinks and leaves the others as they were; a new response computes
#: only its new panels (docs/engine.md, "Response matrices per sterile mass"). Bounded by bytes:
#: each table counts as its full :data:`PANEL_TABLE_BYTES`.
_PANELS = ByteLRU("response_panels", default_budget(8 * PANEL_TABLE_BYTES),
                  size=lambda table: table.max_bytes)


@dataclass(frozen=True)
class Response:
    """Response matrix of a detector on a set of true-recoil nodes (internal energy units).

    ``matrix`` has shape (n_bins, n_nodes), or (n_nuclei, n_bins, n_nodes) when
    ``per_nucleus`` (nucleus-dependent quenching).
    """

    edges: np.ndarray
    nodes: np.ndarray
    weights: np.ndarray
    matrix: np.ndarray
    per_nucleus: bool = False

    @property
    def n_bins(self) -> int:
        """Number of reconstructed bins."""
        return len(self.edges) - 1

    def fold(self, node_rates: np.ndarray) -> np.ndarray:
        """Binned counts ``(..., n_nuclei, n_bins)`` of node rates ``(..., n_nuclei, n_nodes)``."""
        if not self.per_nucleus:
            return node_rates @ self.matrix.T
        return np.einsum("...kn,kbn->...kb", node_rates, self.matrix)

    def fold_reweighted(self, factors: np.ndarray, node_rates: np.ndarray) -> np.ndarray:
        """``(*batch, n_terms, n_flavours, n_bins)`` of node rates times recoil-only factors.

        ``factors`` has shape ``(*batch, n_terms, n_nuclei, n_nodes)``, ``node_rates``
        ``(n_terms, n_flavours, n_nuclei, n_nodes)``; the sum runs over nuclei.
        """
        if not self.per_nucleus:
            weighted = np.einsum("...jkn,jfkn->...jfn", factors, node_rates)
            return weighted @ self.matrix.T
        return np.einsum("...jkn,jfkn,kbn->...jfb", factors, node_rates, self.matrix)


def _panel_edges(points: np.ndarray, panel_ratio: float) -> np.ndarray:
    """Sorted unique ``points``, with geometric subdivisions where neighbours differ by > ratio.

    Each gap [lo, hi] is cut into n = ⌈ln(hi/lo)/ln ratio⌉ equal steps in log10 (the arithmetic
    of ``np.geomspace(lo, hi, n + 1)``, done for all gaps at once; the gap ends are exact).
    """
    pts = np.unique(points)
    lo, hi = pts[:-1], pts[1:]
    n = np.maximum(1, np.ceil(np.log(hi / lo) / np.log(panel_ratio))).astype(int)
    gap = np.repeat(np.arange(lo.size), n)
    ends = np.cumsum(n)
    k = np.arange(1, gap.size + 1) - np.repeat(ends - n, n)
    log_lo, log_hi = np.log10(lo), np.log10(hi)
    sub = 10.0 ** (k * ((log_hi - log_lo) / n)[gap] + log_lo[gap])
    sub[ends - 1] = hi
    return np.concatenate([pts[:1], sub])


@lru_cache(maxsize=512)
def gauss_legendre(order: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes and weights on [−1, 1] (cached: NumPy solves an eigenproblem).

    A Δm² scan asks for every order from 24 to the cap of 160 (one per Δm² below the cap), twice
    per channel: 512 entries (≤ 1.3 MB) keep them all, so no order is solved twice.
    """
    x, w = np.polynomial.legendre.leggauss(order)
    x.setflags(write=False)
    w.setflags(write=False)
    return x, w


def gauss_legendre_panels(edges: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of an ``order``-point Gauss–Legendre rule on each panel of ``edges``."""
    x, w = gauss_legendre(order)
    lo, hi = edges[:-1, None], edges[1:, None]
    half = 0.5 * (hi - lo)
    nodes = (lo + hi) * 0.5 + half * x
    weights = half * w
    return nodes.ravel(), weights.ravel()


def build_response(
    detector: Detector,
    breakpoints: np.ndarray | list[float] = (),
    *,
    nodes_per_panel: int = 10,
    panel_ratio: float = 1.25,
    floor_fraction: float | None = None,
) -> Response:
    """Build the response matrix of ``detector`` (see module docstring); cached by value.

    Parameters
    ----------
    detector : Detector
        The detector.
    breakpoints : array_like
        True-recoil energies where the differential rate has a kink (internal units).
    nodes_per_panel : int
        Gauss–Legendre order per panel.
    panel_ratio : float
        Largest ratio T_hi/T_lo of a panel.
    floor_fraction : float, optional
        Lowest true recoil, as a fraction of the threshold (smeared detectors only); default
        :func:`~cevns.experiment.response_models.response_floor_fraction` of the detector's
        response: 0.05, or 10⁻³ for a photoelectron-counting smearing.
    """
    key = response_key(detector, breakpoints, nodes_per_panel=nodes_per_panel,
                       panel_ratio=panel_ratio, floor_fraction=floor_fraction)
    return response_from_key(key)


def response_key(
    detector: Detector,
    breakpoints: np.ndarray | list[float] = (),
    *,
    nodes_per_panel: int = 10,
    panel_ratio: float = 1.25,
    floor_fraction: float | None = None,
) -> tuple:
    """The value that determines a response matrix (hashable; see :func:`response_from_key`)."""
    bp = tuple(np.round(np.asarray(breakpoints, dtype=float), 15).tolist())
    if floor_fraction is None:
        floor_fraction = response_floor_fraction(detector.response)
    return (detector, bp, int(nodes_per_panel), float(panel_ratio), float(floor_fraction))


def response_from_key(key: tuple) -> Response:
    """The response matrix of a :func:`response_key` (cached by bytes, rebuilt when evicted)."""
    return _RESPONSES.get_or_build(key, lambda: _build_response(*key))


def _build_response(
    detector: Detector,
    breakpoints: tuple[float, ...],
    nodes_per_panel: int,
    panel_ratio: float,
    floor_fraction: float,
) -> Response:
    if detector.response is not None:
        return _build_table_response(detector, breakpoints, nodes_per_panel, panel_ratio,
                                     floor_fraction)
    edges = detector.bin_edges
    top = detector.max_recoil_energy
    smeared = detector.smeared
    low = floor_fraction * detector.threshold if smeared else edges[0]
    bp = np.asarray(breakpoints, dtype=float)
    points = np.concatenate([[low, top], edges, bp[(bp > low) & (bp < top)]])
    points = points[(points >= low) & (points <= top)]
    panels = _panel_edges(points, panel_ratio)
    nodes, weights = gauss_legendre_panels(panels, nodes_per_panel)
    # The keVnr fields are the `none`-quenching case of the response models (docs/response.md).
    law, s0 = detector.resolution.law, detector.resolution.sigma0
    if not smeared:
        smearing = NoSmearing()
    elif law == "sqrt-threshold":
        smearing = GaussianSmearing(sqrt_threshold=s0)
    else:
        smearing = GaussianSmearing(fractional=s0)

    def columns(t):
        return fold_matrix(t / keV, edges / keV, quenching=NoQuenching(), smearing=smearing,
                           efficiency=ConstantEfficiency(), threshold=detector.threshold_keVnr,
                           subdivide=False)

    prob = _panel_columns(detector, panels, nodes, nodes_per_panel, columns)  # a fresh array
    # ε · P · w, multiplied in place (the same products as ε * prob * weights[None, :])
    matrix = np.multiply(prob, detector.efficiency, out=prob)
    matrix *= weights[None, :]
    for arr in (nodes, weights, matrix):
        arr.setflags(write=False)  # shared by the cache
    return Response(edges=edges, nodes=nodes, weights=weights, matrix=matrix)


def _panel_columns(detector: Detector, panels: np.ndarray, nodes: np.ndarray, order: int,
                   columns) -> np.ndarray:
    """``columns(nodes)`` (shape ``(..., n_bins, n_nodes)``), computed only for the panels not in
    the panel cache :data:`_PANELS`.

    ``nodes`` are the ``order``-point Gauss–Legendre nodes of ``panels``
    (:func:`gauss_legendre_panels`), panel after panel. ``columns`` must compute each column from
    its own node alone (every response model does: quenching, smearing and efficiency act node by
    node), so the result is the same array as ``columns(nodes)``, number for number.
    """
    table = _PANELS.get_or_build((detector, order), lambda: _PanelTable(PANEL_TABLE_BYTES))
    keys = list(zip(panels[:-1].tolist(), panels[1:].tolist(), strict=True))
    blocks = table.get_many(keys)
    missing = [p for p, block in enumerate(blocks) if block is None]
    if missing:
        idx = (np.asarray(missing)[:, None] * order + np.arange(order)).ravel()
        fresh = columns(nodes[idx])
        for i, p in enumerate(missing):
            block = np.array(fresh[..., i * order:(i + 1) * order])
            block.setflags(write=False)  # shared by the cache
            table.put(keys[p], block)
            blocks[p] = block
    return np.concatenate(blocks, axis=-1)  # always a new array: callers scale it in place


@lru_cache(maxsize=64)
def _table_recoil_points(detector: Detector) -> tuple[tuple[np.ndarray, ...], float]:
    """The true recoils (internal units) a table response puts panel edges at, and the lowest
    keVnr-equivalent of the first analysis edge over the nuclei (internal units).

    For every nucleus: the keVnr-equivalent of every analysis edge (where the integrand can jump)
    and of edge ± 1, 2, 4 widths of the smearing (where a bin probability changes fastest), then
    the efficiency's kinks. They depend on the detector alone, not on the breakpoints of a
    response, so a scan over a sterile mass (a new response per mass) inverts the quenching once
    per detector: the cache is keyed on the detector's full value (its declared fields, as the
    response cache), the arrays are read-only.
    """
    spec = detector.response
    obs_edges = spec.observable_edges()
    n_nuc = len(detector.nuclei)
    threshold = float(spec.to_observable(spec.threshold.value, spec.threshold.unit))
    width = spec.smearing.width(obs_edges, threshold)
    steps = np.array([-4.0, -2.0, -1.0, 1.0, 2.0, 4.0])
    around = (obs_edges[:, None] + steps[None, :] * width[:, None]).ravel()
    around = around[around > 0]
    points = [detector.observable_to_recoil(obs_edges, k) * keV for k in range(n_nuc)]
    points += [detector.observable_to_recoil(around, k) * keV for k in range(n_nuc)]
    first = min(float(e[0]) for e in points[:n_nuc])
    points += _efficiency_kinks(detector)
    for p in points:
        p.setflags(write=False)
    return tuple(points), first


def _efficiency_kinks(detector: Detector) -> list[np.ndarray]:
    """True recoils (internal units) where a tabulated efficiency of the true recoil or of the
    mean observable has its kinks (the table points): panel edges, so that the piecewise-linear
    efficiency is integrated exactly. None for an efficiency of the reconstructed observable
    (applied on sub-bins, smooth in T) or an analytic one."""
    spec = detector.response
    table = getattr(spec.efficiency, "x", None)
    if table is None:
        return []
    x = np.asarray(table, dtype=float)
    if spec.efficiency_on_true_recoil():
        return [x * keV]
    if spec.efficiency_variable != "true":
        return []
    observed = x[x > 0] / spec.efficiency_scale()
    return [detector.observable_to_recoil(observed, k) * keV for k in range(len(detector.nuclei))]


def _build_table_response(
    detector: Detector,
    breakpoints: tuple[float, ...],
    nodes_per_panel: int,
    panel_ratio: float,
    floor_fraction: float,
) -> Response:
    """The response of a detector with a ``response`` table (docs/response.md)."""
    spec = detector.response
    obs_edges = spec.observable_edges()
    top = detector.max_recoil_energy
    per_nucleus_edges, first = _table_recoil_points(detector)
    if first <= 0:  # bins from 0 (a data release): from where the efficiency starts
        first = detector.threshold
    low = floor_fraction * first if detector.smeared else first
    low = max(low, 1e-9 * top)
    if low >= top:  # the detector refuses this for the default floor_fraction (_check_response)
        raise KinematicsError(
            f"detector {detector.name}: the response integrates true recoils from "
            f"floor_fraction = {floor_fraction:g} × the threshold ({low / keV:.4g} keVnr) up, above "
            f"the largest recoil {top / keV:.4g} keVnr: lower floor_fraction or the threshold")
    bp = np.asarray(breakpoints, dtype=float)
    points = np.concatenate([[low, top], *per_nucleus_edges, bp])
    points = points[(points >= low) & (points <= top)]
    panels = _panel_edges(points, panel_ratio)
    nodes, weights = gauss_legendre_panels(panels, nodes_per_panel)

    def columns(t):
        t_kev = t / keV
        if spec.nucleus_dependent:
            return np.stack([spec.matrix(t_kev, nucleus, element, edges=obs_edges)
                             for (nucleus, _), element in zip(detector.nuclei,
                                                              detector.nucleus_elements,
                                                              strict=True)])
        return spec.matrix(t_kev, edges=obs_edges)

    prob = _panel_columns(detector, panels, nodes, nodes_per_panel, columns)  # a fresh array
    matrix = np.multiply(prob, weights, out=prob)  # P · w in place (per nucleus: broadcast)
    edges = detector.bin_edges
    for arr in (nodes, weights, matrix):
        arr.setflags(write=False)  # shared by the cache
    return Response(edges=edges, nodes=nodes, weights=weights, matrix=matrix,
                    per_nucleus=spec.nucleus_dependent)
