"""Kinematic end points of the sterile-lepton exclusion plots, and grid refinement around them.

Up-scattering ν A → ν₄ A (dipole portal, paper Eqs. 21–23; NGI up-scattering, Eqs. 24–25) is only
possible below a largest sterile mass m₄. At neutrino energy E and nuclear recoil T (nucleus at
rest) the allowed region is (paper Eq. 22)

    m₄² ≤ f(T) = 2E (√(T² + 2 m_A T) − T) − 2 m_A T.

f is concave in T with its maximum at

    T* = m_A (√(k² / (k² − 1)) − 1),   k = 1 + m_A / E,

(df/dT = 0), where f(T*) = (√s − m_A)², s = m_A² + 2 m_A E: the absolute end point √s − m_A of
:func:`cevns.physics.kinematics.max_sterile_mass`. A detector only sees recoils above its
threshold, so its end point is √f(max(T*, T_thr)) at the source's largest energy: E = m_μ/2
(:data:`cevns.physics.constants.E_MICHEL_MAX`) at a π-DAR source, the line energy at a
kaon-decay-at-rest line, the last tabulated energy with neutrinos at a table. For every target
and threshold at the ESS, T* lies above the threshold (T* ≈ 11 keV for Cs, I, Xe; 53 keV for Si)
and the π-DAR end point is 52.7–52.8 MeV.

An exclusion curve drawn on a coarse logarithmic mass grid ends somewhere between the last grid
point with a signal and the next one (up to a grid step, ≈ 19 % for 50 points over 0.1–500 MeV,
beyond the physics). :func:`refine_axis_values` adds grid points just below and just above each
end point, so that the drawn wall sits within a fraction of a per cent of it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from cevns.errors import finite_array
from cevns.experiment import Detector
from cevns.physics.constants import E_MICHEL_MAX
from cevns.physics.units import MeV

#: Relative offsets of the grid points added on each side of a kinematic end point.
EDGE_OFFSETS = (1e-3, 4e-3, 1.5e-2, 5e-2)


def max_sterile_mass_above(neutrino_energy: float, nuclear_mass: float,
                           min_recoil: float = 0.0) -> float:
    """Heaviest m₄ producible at energy E with a nuclear recoil T ≥ ``min_recoil`` (internal units).

    ``max(0, f(max(T*, T_min)))^{1/2}`` with f and T* of the module docstring (paper Eq. 22).
    """
    e, ma = float(neutrino_energy), float(nuclear_mass)
    k = 1.0 + ma / e
    t_star = ma * (math.sqrt(k * k / (k * k - 1.0)) - 1.0)
    t = max(t_star, float(min_recoil))
    f = 2.0 * e * (math.sqrt(t * t + 2.0 * ma * t) - t) - 2.0 * ma * t
    return math.sqrt(f) if f > 0 else 0.0


def detector_end_point_MeV(detector: Detector, neutrino_energy: float = E_MICHEL_MAX) -> float:
    """Largest sterile mass [MeV] that gives a recoil above ``detector``'s threshold.

    The maximum over the detector's nuclei at ``neutrino_energy`` [internal units]: the π-DAR end
    point m_μ/2 by default; an analysis passes its source's largest energy
    (:func:`exclusion_edges_x`).
    """
    neutrino_energy = float(finite_array(neutrino_energy, "neutrino_energy", minimum=0.0,
                                         strict=True))
    return max(max_sterile_mass_above(neutrino_energy, nuc.mass, detector.threshold)
               for nuc, _ in detector.nuclei) / MeV


def refine_axis_values(base: np.ndarray, edges: Iterable[float],
                       offsets: Iterable[float] = EDGE_OFFSETS) -> np.ndarray:
    """``base`` plus points at ``edge × (1 ± δ)`` for every edge and offset, inside ``base``'s range.

    Edges closer than the smallest offset to each other form one cluster [low, high]: points are
    added at ``low × (1 − δ)`` and ``high × (1 + δ)`` (the end points of the six ESS detectors lie
    within 0.15 % of each other, so they share one set of points).

    Base points closer than the smallest offset to an added point are dropped (no near-duplicate
    grid lines). The result is sorted and strictly increasing.
    """
    base = np.asarray(base, dtype=float)
    lo, hi = base[0], base[-1]
    extra = []
    for low, high in _clusters(sorted(edges)):
        for d in offsets:
            extra += [low * (1.0 - d), high * (1.0 + d)]
    extra_arr = np.array([v for v in extra if lo < v < hi])
    if extra_arr.size == 0:
        return base
    tol = min(offsets) * 0.5
    keep = [b for b in base
            if b in (lo, hi) or np.min(np.abs(extra_arr / b - 1.0)) > tol]
    out = np.unique(np.concatenate([keep, extra_arr]))
    return out


def _clusters(edges: list[float]) -> list[tuple[float, float]]:
    out: list[list[float]] = []
    for e in edges:
        if out and e / out[-1][1] - 1.0 < 2.0 * EDGE_OFFSETS[0]:
            out[-1][1] = e
        else:
            out.append([e, e])
    return [(a, b) for a, b in out]


def exclusion_edges_x(an, variant, detectors: Iterable[Detector] | None = None) -> list[float]:
    """End points of ``variant`` of exclusion analysis ``an`` in units of its first axis.

    Only for sterile-lepton scenarios (``dipole``, ``upscattering``): the first axis is either the
    sterile mass itself or a parameter the sterile mass is tied to (m₄ = ratio × m_X). Returns one
    edge per distinct detector end point (an empty list for other scenarios). ``detectors``: those
    whose end points are wanted (default: the analysis's own, with the variant's overrides; the
    COHERENT overlay passes the releases' detectors). The end points are taken at the largest
    energy of the source those detectors see: the analysis's own source's
    ``max_neutrino_energy()`` (m_μ/2 for π-DAR, the line energy for a kaon-decay line) for its own
    detectors, m_μ/2 (the SNS π-DAR end point) for detectors passed in.
    """
    if an.scenario.name not in ("dipole", "upscattering"):
        return []
    xpar = an.x.parameter
    if xpar == "sterile_mass_MeV":
        ratio = 1.0
    else:
        tie = (variant.ties.get("sterile_mass_MeV") if variant is not None else None) \
            or an.ties.get("sterile_mass_MeV")
        if tie is None or tie.to != xpar:
            return []
        ratio = tie.ratio
    if detectors is not None:
        dets = list(detectors)
    else:
        dets = an.build_detectors()
        if variant is not None and variant.detector_overrides:
            dets = an.model_copy(update={"detector_overrides": {
                d: {**an.detector_overrides.get(d, {}), **variant.detector_overrides.get(d, {})}
                for d in {*an.detector_overrides, *variant.detector_overrides}}}).build_detectors()
    neutrino_energy = (float(an.source.build().max_neutrino_energy()) if detectors is None
                       else E_MICHEL_MAX)
    return sorted({round(detector_end_point_MeV(d, neutrino_energy) / ratio, 9) for d in dets})


def refined_exclusion(an, variant_index: int | None, quick: bool = False):
    """``an`` with its first axis refined around the kinematic end points of one variant.

    Returns ``an`` unchanged when there is nothing to refine (not a sterile-lepton scenario, or no
    end point inside the grid).
    """
    from cevns.analyses.sensitivity import AxisSpec

    variant = an.variants[variant_index] if variant_index is not None else None
    edges = exclusion_edges_x(an, variant)
    base = an.x.grid(quick)
    values = refine_axis_values(base, edges)
    if len(values) == len(base) and np.allclose(values, base):
        return an
    x = AxisSpec(parameter=an.x.parameter, values=tuple(float(v) for v in values))
    return an.model_copy(update={"x": x})


__all__ = ["EDGE_OFFSETS", "detector_end_point_MeV", "exclusion_edges_x",
           "max_sterile_mass_above", "refine_axis_values", "refined_exclusion"]
