"""Light sterile neutrino: 3+1 disappearance (paper Eqs. 19–20; docs/physics.md#sterile-oscillations).

Survival probabilities at baseline L,

    P_ee(E) = 1 − sin²2θ₁₄ sin²φ(E),   P_μμ(E) = 1 − sin²2θ₂₄ sin²φ(E),
    φ(E) = Δm²₄₁ L / (4E)   (= 1.26693 Δm²[eV²] L[m] / E[MeV]; ħc restores the units),

with Δm²₄₁ ≫ the solar and atmospheric splittings, no matter effects and no active–active
oscillation at 20 m. CEvNS is flavour blind, so only the loss into the sterile state matters.
Channel ``"e"`` (θ₁₄) acts on ν_e, channel ``"mu"`` (θ₂₄) on the prompt ν_μ and on ν̄_μ. For the
μ channel the paper writes Δm²₄₂; with Δm²₄₁ ≫ Δm²₂₁ the two are equal and this module uses one
``delta_m2`` for both [A]. The two analyses are separate (one mixing angle switched on at a time).

Strength vs shape: at fixed Δm² (shape) the rate is linear in s = sin²2θ (strength),

    N(s) = N_SM − s · N_osc(Δm²),   N_osc = SM rate with the affected flavours weighted by sin²φ(E).

:class:`OscillationBasis` gives both pieces in the :mod:`cevns.physics.basis` protocol and
:func:`oscillation_coefficients` the matching coefficients.

Numerical integration over E. The phase runs as 1/E, so for large Δm² the weight sin²φ(E)
oscillates quickly, fastest at the low end of the E integral: the rate engine must use enough E
nodes (:func:`energy_nodes_needed`), or integrate in u = 1/E where the phase is linear, or switch on
the analytic local average ``energy_window`` of :class:`OscillationBasis` (see
:func:`oscillation_weight`), which replaces sin²φ by its mean over a relative energy window and
tends to 1/2 when the phase changes by ≫ 1 across the window. The prompt ν_μ line has a single
energy and is always exact (no energy window is applied to it).

Baseline spread (off by default [A], docs/physics.md#sterile-oscillations): averaging over L uniform in
[L − ΔL/2, L + ΔL/2] is analytic, ⟨sin²φ⟩ = ½[1 − cos 2φ · sinc(φ ΔL/L)], sinc x = sin x / x.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from dataclasses import dataclass, field
from threading import Lock

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cevns.errors import ConfigError
from cevns.physics.basis import CrossSectionBasis, SMBasis
from cevns.physics.constants import E_MICHEL_MAX, HBARC, SIN2_THETA_W
from cevns.physics.cross_sections import sm_basis_coefficients
from cevns.physics.flux import FLAVOURS, LINE_ENERGY
from cevns.physics.nuclei import Nucleus
from cevns.physics.sterile import Channel, channel_acts_on, check_channel, check_nonnegative
from cevns.physics.units import MeV, eV, m

#: Default number of Gauss–Legendre nodes per half-period of sin²φ in :func:`energy_nodes_needed`.
NODES_PER_HALF_PERIOD = 2.0
#: Nodes always used on top of the oscillation requirement (for the smooth flux × σ factor).
BASE_NODES = 24


def check_mixing(sin2_2theta: ArrayLike) -> NDArray[np.float64]:
    """Return sin²2θ as an array after checking that every value lies in [0, 1]."""
    arr = np.asarray(sin2_2theta, dtype=float)
    bad = ~((arr >= 0) & (arr <= 1))
    if np.any(bad):
        raise ConfigError(f"sin2_2theta must lie in [0, 1], got {arr[bad].flat[0]!r}")
    return arr


def _check_geometry(
    delta_m2: float, baseline: float, baseline_spread: float = 0.0, energy_window: float = 0.0
) -> None:
    check_nonnegative("delta_m2", delta_m2, eV**2, "eV^2")
    if not (np.isfinite(energy_window) and 0 <= energy_window < 2):
        raise ConfigError(f"energy_window must lie in [0, 2), got {energy_window!r}")
    if not (np.isfinite(baseline) and baseline > 0):
        raise ConfigError(f"baseline must be positive, got {baseline / m:g} m")
    if not (np.isfinite(baseline_spread) and 0 <= baseline_spread <= 2 * baseline):
        raise ConfigError(
            f"baseline_spread must lie in [0, 2 * baseline] = [0, {2 * baseline / m:g}] m, "
            f"got {baseline_spread / m:g} m"
        )


def oscillation_phase(
    neutrino_energy: ArrayLike, delta_m2: ArrayLike, baseline: float
) -> NDArray[np.float64]:
    """φ = Δm² L / (4 E ħc) (dimensionless; Δm² in internal energy², e.g. ``1.0 * eV**2``)."""
    e = np.asarray(neutrino_energy, dtype=float)
    return np.asarray(delta_m2, dtype=float) * baseline / (4.0 * e * HBARC)


def _sinc(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """sin(x)/x with sinc(0) = 1 (NumPy's ``sinc`` is normalised by π)."""
    return np.sinc(x / math.pi)


def oscillation_weight(
    neutrino_energy: ArrayLike,
    delta_m2: float,
    baseline: float,
    *,
    baseline_spread: float = 0.0,
    energy_window: float = 0.0,
) -> NDArray[np.float64]:
    """The oscillating factor ⟨sin²φ(E)⟩, optionally averaged over L and over an energy window.

    Parameters
    ----------
    neutrino_energy : array_like
        E, internal energy units (> 0).
    delta_m2 : float
        Δm²₄₁ ≥ 0, internal energy² (``1.0 * eV**2``).
    baseline : float
        L > 0, internal length (``20.0 * m`` for the ESS).
    baseline_spread : float
        Full width ΔL of a uniform spread of L around ``baseline`` (0 = none, the default [A]).
        Exact: ⟨sin²(kL)⟩ = ½[1 − cos(2kL) sinc(k ΔL)], k = Δm²/(4E ħc).
    energy_window : float
        Relative full width w of a uniform window in E (0 = none, the default). A numerical
        device for coarse E grids: sin²φ is replaced by its local mean, using the linearised phase
        (window φ w), ½[1 − cos 2φ · sinc(φ w)]. It is exact when φ w ≪ 1 and tends to the average
        1/2 when φ w ≫ 1. Set w to the relative E-node spacing of the engine.

    Returns
    -------
    ndarray
        D sin²φ + (1 − D)/2 with damping D = sinc(φ ΔL/L) sinc(φ w) (D = 1 without averaging:
        exactly sin²φ). Values in [0, 1].
    """
    _check_geometry(delta_m2, baseline, baseline_spread, energy_window)
    phase = oscillation_phase(neutrino_energy, delta_m2, baseline)
    if baseline_spread == 0 and energy_window == 0:
        return np.sin(phase) ** 2
    # Independent uniform smearings of the phase multiply their characteristic functions;
    # D sin²φ + (1 − D)/2 = ½ − ½ D cos 2φ (three sines or cosines per node: the cost of a scan
    # over Δm², so a factor that is 1 is not evaluated)
    ph = np.atleast_1d(phase)
    damping = None
    for ratio in (baseline_spread / baseline, energy_window):
        if ratio:
            factor = _sinc_nonnegative(ph * ratio)
            damping = factor if damping is None else np.multiply(damping, factor, out=damping)
    out = np.cos(2.0 * ph)
    out *= damping
    out *= -0.5
    out += 0.5
    return out.reshape(phase.shape)[()] if phase.ndim == 0 else out


def _sinc_nonnegative(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """sin(x)/x with the value 1 at x = 0 (x ≥ 0; a cheaper :func:`_sinc`)."""
    out = np.sin(x)
    np.divide(out, x, out=out, where=x != 0)
    out[x == 0] = 1.0
    return out


#: Largest relative deviation of the Δm² steps from their mean for :func:`evenly_spaced`.
EVEN_STEP_TOLERANCE = 1e-9


def evenly_spaced(values: ArrayLike) -> bool:
    """True if ``values`` (≥ 3, increasing, > 0) have equal steps within
    :data:`EVEN_STEP_TOLERANCE` (e.g. a Δm² grid written as 3, 3.6, 4.2, … in a TOML file)."""
    d = np.asarray(values, dtype=float).ravel()
    if d.size < 3 or not d[0] > 0:
        return False
    steps = np.diff(d)
    mean = (d[-1] - d[0]) / (d.size - 1)
    return bool(mean > 0 and np.all(np.abs(steps - mean) <= EVEN_STEP_TOLERANCE * mean))


def oscillation_weights(
    neutrino_energy: ArrayLike,
    delta_m2s: ArrayLike,
    baseline: float,
    *,
    baseline_spread: float = 0.0,
    energy_window: float = 0.0,
) -> NDArray[np.float64]:
    """:func:`oscillation_weight` at several Δm² on the same E nodes, shape ``(n_Δm², *E.shape)``.

    The rows of :func:`iter_oscillation_weights`, stacked (see there for the method and its
    accuracy).
    """
    d = np.asarray(delta_m2s, dtype=float).ravel()
    e = np.asarray(neutrino_energy, dtype=float)
    out = np.empty((d.size, *e.shape))
    for k, row in enumerate(iter_oscillation_weights(e, d, baseline,
                                                     baseline_spread=baseline_spread,
                                                     energy_window=energy_window)):
        out[k] = row
    return out


def iter_oscillation_weights(
    neutrino_energy: ArrayLike,
    delta_m2s: ArrayLike,
    baseline: float,
    *,
    baseline_spread: float = 0.0,
    energy_window: float = 0.0,
):
    """The rows of :func:`oscillation_weights` one Δm² at a time (a generator).

    A row is valid until the next one is asked for (its buffer is reused): memory stays at a few
    arrays of the shape of E however many Δm² a run has, so a scan need not cut its runs of Δm²
    to bound memory.

    On an evenly spaced run of Δm² (:func:`evenly_spaced`) the phases φ_k = Δm²_k · c(E) are
    linear in k, so the factors exp(i f φ_k) of each frequency f (2 for cos 2φ, ΔL/L and w for the
    two dampings; 1 for sin φ without averaging) follow by one complex multiplication from
    exp(i f φ_{k−1}): one cosine and one sine per frequency for the start of the run and for its
    step instead of one sine or cosine per frequency and Δm². The small residuals
    ε_k = Δm²_k − (Δm²_0 + k step) of decimal grids are applied as the extra factor exp(i f ε_k c)
    (when f ε_k c may exceed 10⁻¹²). Each row equals :func:`oscillation_weight` to ≲ 10⁻¹²
    absolute over runs of up to a few hundred Δm² (``tests/physics/test_oscillation.py``); other
    Δm² sets are evaluated one by one with :func:`oscillation_weight`.
    """
    d = np.asarray(delta_m2s, dtype=float).ravel()
    e = np.asarray(neutrino_energy, dtype=float)
    for value in d:
        _check_geometry(float(value), baseline, baseline_spread, energy_window)
    if not evenly_spaced(d):
        for value in d:
            yield np.asarray(oscillation_weight(e, float(value), baseline,
                                                baseline_spread=baseline_spread,
                                                energy_window=energy_window))
        return
    c = oscillation_phase(e, 1.0, baseline)  # φ per unit Δm² (internal energy⁻²)
    ratios = [r for r in (baseline_spread / baseline, energy_window) if r]
    freqs = [2.0, *ratios] if ratios else [1.0]
    step = (d[-1] - d[0]) / (d.size - 1)
    eps = d - (d[0] + np.arange(d.size) * step)
    c_max = float(np.max(c)) if c.size else 0.0
    z = [_unit_phasor((f * d[0]) * c) for f in freqs]
    rotation = [_unit_phasor((f * step) * c) for f in freqs]
    row = np.empty(e.shape)
    # damping Π_r sin(r φ)/(r φ) with φ = Δm² c: the 1/(Π_r r · c^n) part is common to all Δm²
    inverse = 1.0 / (math.prod(ratios) * c ** len(ratios)) if ratios else None
    for k in range(d.size):
        if k:
            for zf, rf in zip(z, rotation, strict=True):
                zf *= rf
        exact = []
        for f, zf in zip(freqs, z, strict=True):
            if f * abs(eps[k]) * c_max < 1e-12:  # a phase error below 1e-12: negligible
                exact.append(zf)
                continue
            x = (f * eps[k]) * c
            if f * abs(eps[k]) * c_max < 1e-5:  # exp(ix) to second order: error < 2e-16
                exact.append(zf * ((1.0 - 0.5 * x * x) + 1j * x))
            else:
                exact.append(zf * np.exp(1j * x))
        if not ratios:
            np.square(exact[0].imag, out=row)
            yield row
            continue
        np.multiply(exact[0].real, inverse, out=row)
        for zf in exact[1:]:
            row *= zf.imag
        row *= -0.5 / d[k] ** len(ratios)
        row += 0.5
        yield row


def _unit_phasor(phase: NDArray[np.float64]) -> NDArray[np.complex128]:
    """exp(i φ) as cos φ + i sin φ (the same numbers as ``np.exp(1j * φ)``, a third faster)."""
    out = np.empty(np.shape(phase), dtype=complex)
    np.cos(phase, out=out.real)
    np.sin(phase, out=out.imag)
    return out


def survival_probability(
    neutrino_energy: ArrayLike,
    sin2_2theta: ArrayLike,
    delta_m2: float,
    baseline: float,
    *,
    baseline_spread: float = 0.0,
    energy_window: float = 0.0,
) -> NDArray[np.float64]:
    """P_αα(E) = 1 − sin²2θ ⟨sin²(Δm² L/4E)⟩ (P_ee with θ₁₄, P_μμ with θ₂₄; paper Eq. 19).

    Arguments as :func:`oscillation_weight`; ``sin2_2theta`` ∈ [0, 1] broadcasts against E.
    """
    s = check_mixing(sin2_2theta)
    weight = oscillation_weight(neutrino_energy, delta_m2, baseline,
                                baseline_spread=baseline_spread, energy_window=energy_window)
    return 1.0 - s * weight


def flavour_survival_probability(
    flavour: str,
    neutrino_energy: ArrayLike,
    channel: Channel,
    sin2_2theta: ArrayLike,
    delta_m2: float,
    baseline: float,
    *,
    baseline_spread: float = 0.0,
    energy_window: float = 0.0,
) -> NDArray[np.float64]:
    """Survival probability of a π-DAR ``flavour`` when the mixing of ``channel`` is switched on.

    Channel ``"e"``: P_ee on ``"nue"``, 1 on ``"numu"`` and ``"numubar"``; channel ``"mu"``: P_μμ
    on ``"numu"`` and ``"numubar"``, 1 on ``"nue"`` (paper Eq. 20). The prompt line gets no
    energy window.
    """
    acts = channel_acts_on(channel, flavour)
    window = 0.0 if flavour in LINE_ENERGY else energy_window
    probability = survival_probability(neutrino_energy, sin2_2theta, delta_m2, baseline,
                                       baseline_spread=baseline_spread, energy_window=window)
    return probability if acts else np.ones_like(probability)


def energy_nodes_needed(
    delta_m2: float,
    baseline: float,
    energy_min: float,
    energy_max: float = E_MICHEL_MAX,
    *,
    nodes_per_half_period: float = NODES_PER_HALF_PERIOD,
    base_nodes: int = BASE_NODES,
) -> int:
    """Gauss–Legendre nodes in E on [E_min, E_max] that resolve sin²(Δm² L/4E).

    sin²φ has period π in φ = c/E, so its local half-period in E is π E²/c; n Gauss–Legendre nodes
    on [a, b] sit at a local spacing π √((E − a)(b − E))/n. Asking for ``nodes_per_half_period``
    nodes per half-period everywhere gives

        n = base_nodes + ceil(nodes_per_half_period · c · max_E √((E − a)(b − E))/E²),

    the maximum being at the smaller root of 2E² − 3(a + b)E + 4ab = 0. With the defaults the
    integral of a Michel spectrum times sin²φ over [E_min, m_μ/2] is accurate to better than 10⁻⁶
    (``tests/physics/test_oscillation.py``). Pass the smallest E the engine integrates from
    (E_min at the lowest recoil energy): n grows as 1/E_min. If the count is too large, integrate
    in u = 1/E (the phase is linear there) or use the ``energy_window`` average.
    """
    _check_geometry(delta_m2, baseline)
    if not (0 < energy_min < energy_max):
        raise ConfigError(
            f"need 0 < energy_min < energy_max, got energy_min = {energy_min / MeV:g} MeV and "
            f"energy_max = {energy_max / MeV:g} MeV"
        )
    a, b = float(energy_min), float(energy_max)
    e_star = (3.0 * (a + b) - math.sqrt(9.0 * (a + b) ** 2 - 32.0 * a * b)) / 4.0
    phase_scale = float(oscillation_phase(1.0, delta_m2, baseline))  # c = φ(E) · E
    density = phase_scale * math.sqrt((e_star - a) * (b - e_star)) / e_star**2
    return int(base_nodes + math.ceil(nodes_per_half_period * density))


#: Base (un-oscillated) terms of the last few (basis, nucleus, flavour, E nodes, T nodes, Helm skin)
#: combinations. A Δm² scan past the E-node cap evaluates the same base cross section on the same
#: nodes for every Δm²; only the oscillation weight changes. Keyed on the basis, the nucleus (its
#: Helm skin included), the flavour, the T nodes by value and the E nodes' shape, first row and
#: first column; every hit is then checked against the full E nodes (kept with the entry), so it
#: cannot go stale — hashing the whole (n_T, n_E) node array on every call cost more than the
#: terms it saved.
_BASE_TERMS: OrderedDict = OrderedDict()
_BASE_TERMS_LOCK = Lock()
_BASE_TERMS_MAX = 48
#: ... and at most this many bytes of terms and nodes (a finely smeared detector's entry at the
#: E-node cap is ~9 MB; memory stays flat however many Δm² a scan visits). A scan basis asks once
#: per chunk of Δm² (:class:`OscillationScanBasis`), so a few entries suffice; the cache lives for
#: the whole process, its bytes stay resident under later work.
_BASE_TERMS_MAX_BYTES = 20 * 2**20


def _digest(*arrays: np.ndarray) -> bytes:
    h = hashlib.blake2b(digest_size=20)
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
        h.update(b"|")
    return h.digest()


def _cached_base_terms(base, nucleus, flavour, neutrino_energy, recoil_energy):
    e = np.asarray(neutrino_energy, dtype=float)
    t = np.asarray(recoil_energy, dtype=float)
    e2 = e.reshape(1, -1) if e.ndim < 2 else e.reshape(-1, e.shape[-1])
    digest = _digest(t, e2[0], e2[:, 0])
    try:
        # the nucleus carries its Helm skin (part of its value), so the key covers it
        key = (base, nucleus, flavour, e.shape, t.shape, digest)
        hash(key)
    except TypeError:  # an unhashable base basis: no caching
        return np.asarray(base.terms(nucleus, flavour, e, t))
    with _BASE_TERMS_LOCK:
        hit = _BASE_TERMS.get(key)
        if hit is not None:
            _BASE_TERMS.move_to_end(key)
    if hit is not None and np.array_equal(hit[0], e):
        return hit[1]
    value = np.array(base.terms(nucleus, flavour, e, t), dtype=float)
    value.setflags(write=False)
    nodes = np.array(e)
    nodes.setflags(write=False)
    with _BASE_TERMS_LOCK:
        _BASE_TERMS[key] = (nodes, value)
        size = sum(n.nbytes + v.nbytes for n, v in _BASE_TERMS.values())
        while len(_BASE_TERMS) > 1 and (len(_BASE_TERMS) > _BASE_TERMS_MAX
                                        or size > _BASE_TERMS_MAX_BYTES):
            _, (n, v) = _BASE_TERMS.popitem(last=False)
            size -= n.nbytes + v.nbytes
    return value


def oscillation_coefficients(
    sin2_2theta: ArrayLike, base_coefficients: ArrayLike
) -> NDArray[np.float64]:
    """Coefficients of an :class:`OscillationBasis`: (c_base, −sin²2θ · c_base).

    Parameters
    ----------
    sin2_2theta : array_like
        sin²2θ₁₄ or sin²2θ₂₄, each in [0, 1].
    base_coefficients : array_like
        Coefficients of the wrapped basis, shape ``(n_base, *shape)``.

    Returns
    -------
    ndarray
        Shape ``(2 n_base, *broadcast(shape, np.shape(sin2_2theta)))``.
    """
    s = check_mixing(sin2_2theta)
    c = np.asarray(base_coefficients, dtype=float)
    shape = np.broadcast_shapes(c.shape[1:], s.shape)
    c = np.broadcast_to(c[(slice(None),) + (None,) * (len(shape) + 1 - c.ndim)], (len(c), *shape))
    return np.concatenate([c, -s * c])


def oscillation_sm_coefficients(
    sin2_2theta: ArrayLike, sin2_theta_w: ArrayLike = SIN2_THETA_W
) -> NDArray[np.float64]:
    """Coefficients of an :class:`OscillationBasis` around the SM basis at (sin²2θ, sin²θ_W).

    Shape ``(8, *broadcast shape)``: the SM coefficients (g_p², 2 g_p g_n, g_n², 1) then −sin²2θ
    times them.
    """
    return oscillation_coefficients(sin2_2theta, sm_basis_coefficients(sin2_theta_w))


def _channel_flavours(channel: Channel) -> tuple[str, ...]:
    """The π-DAR flavours whose flux the mixing of ``channel`` changes."""
    return tuple(f for f in FLAVOURS if channel_acts_on(channel, f))


@dataclass(frozen=True)
class OscillationBasis:
    """3+1 disappearance as basis terms: ``base`` terms, then ``base`` terms × ⟨sin²φ(E)⟩.

    The second half is non-zero only for the flavours of ``channel``; with
    :func:`oscillation_coefficients` the rate is N_base − sin²2θ · N_osc. Names: the base names,
    then the same names prefixed ``"osc:"``.

    Parameters
    ----------
    delta_m2 : float
        Δm²₄₁ ≥ 0 (shape parameter), internal energy² (``1.0 * eV**2``).
    channel : {"e", "mu"}
        ``"e"``: θ₁₄ on ν_e; ``"mu"``: θ₂₄ on ν_μ and ν̄_μ.
    baseline : float
        Source–detector distance L > 0, internal length (the ESS: ``20.0 * m``).
    baseline_spread, energy_window : float
        Analytic averages, off by default; see :func:`oscillation_weight`. The energy window is
        never applied to the prompt ν_μ line.
    base : CrossSectionBasis
        The elastic cross section being oscillated (default: :class:`~cevns.physics.basis.SMBasis`).
        Its ``sterile_mass`` is inherited.
    oscillating_only : bool
        Only the ``"osc:"`` half. A scan over Δm² then pairs one cached ``base`` basis with one
        of these per Δm², and the base terms are not recomputed with the many E nodes the
        oscillating half needs.
    energy_nodes : int or None
        Gauss–Legendre order in E the rate engine should use (see :func:`energy_nodes_needed`);
        ``None`` = the engine's default.
    """

    delta_m2: float
    channel: Channel
    baseline: float
    baseline_spread: float = 0.0
    energy_window: float = 0.0
    base: CrossSectionBasis = field(default_factory=SMBasis)
    oscillating_only: bool = False
    energy_nodes: int | None = None

    def __post_init__(self) -> None:
        check_channel(self.channel)
        _check_geometry(self.delta_m2, self.baseline, self.baseline_spread, self.energy_window)

    @property
    def names(self) -> tuple[str, ...]:
        """Base names followed by the ``"osc:"``-prefixed oscillating copies."""
        osc = tuple(f"osc:{name}" for name in self.base.names)
        return osc if self.oscillating_only else (*self.base.names, *osc)

    @property
    def flavours(self) -> tuple[str, ...]:
        """Flavours with non-zero terms (the engine skips the others)."""
        return _channel_flavours(self.channel) if self.oscillating_only else FLAVOURS

    @property
    def sterile_mass(self) -> float:
        """Mass of the outgoing lepton: that of the base cross section (0 for CEvNS)."""
        return self.base.sterile_mass

    def terms(
        self, nucleus: Nucleus, flavour: str, neutrino_energy: ArrayLike, recoil_energy: ArrayLike
    ) -> NDArray[np.float64]:
        """Stack of base terms and base terms × ⟨sin²φ(E)⟩ (zero for unaffected flavours)."""
        base = _cached_base_terms(self.base, nucleus, flavour, neutrino_energy, recoil_energy)
        if not channel_acts_on(self.channel, flavour):
            osc = np.zeros_like(base)
        else:
            window = 0.0 if flavour in LINE_ENERGY else self.energy_window
            osc = base * oscillation_weight(neutrino_energy, self.delta_m2, self.baseline,
                                            baseline_spread=self.baseline_spread,
                                            energy_window=window)
        return osc if self.oscillating_only else np.concatenate([base, osc])


@dataclass(frozen=True)
class OscillationScanBasis:
    """The ``"osc:"`` half of :class:`OscillationBasis` at several Δm² at once (a Δm² scan).

    Term ``k · n_base + j`` is base term ``j`` × ⟨sin²φ(E)⟩ at ``delta_m2s[k]``: the same numbers
    as ``OscillationBasis(delta_m2s[k], …, oscillating_only=True)`` (to ≲ 10⁻¹², see
    :func:`oscillation_weights`), computed together. The rate engine integrates such a basis
    through :meth:`factored_terms` (base terms once, one weight per Δm²), so the base cross
    section, the spectrum and the E nodes are shared by the whole run of Δm².
    """

    delta_m2s: tuple[float, ...]
    channel: Channel
    baseline: float
    baseline_spread: float = 0.0
    energy_window: float = 0.0
    base: CrossSectionBasis = field(default_factory=SMBasis)
    energy_nodes: int | None = None

    def __post_init__(self) -> None:
        check_channel(self.channel)
        for value in self.delta_m2s:
            _check_geometry(value, self.baseline, self.baseline_spread, self.energy_window)

    def single(self, k: int) -> OscillationBasis:
        """The equivalent one-Δm² basis of entry ``k``."""
        return OscillationBasis(delta_m2=self.delta_m2s[k], channel=self.channel,
                                baseline=self.baseline, baseline_spread=self.baseline_spread,
                                energy_window=self.energy_window, base=self.base,
                                oscillating_only=True, energy_nodes=self.energy_nodes)

    @property
    def names(self) -> tuple[str, ...]:
        """``"osc:<base name>@<k>"`` for every Δm² index k (outer) and base term (inner)."""
        return tuple(f"osc:{name}@{k}" for k in range(len(self.delta_m2s))
                     for name in self.base.names)

    @property
    def flavours(self) -> tuple[str, ...]:
        """Flavours with non-zero terms (those of the channel)."""
        return _channel_flavours(self.channel)

    sterile_mass = OscillationBasis.sterile_mass

    def factored_terms(
        self, nucleus: Nucleus, flavour: str, neutrino_energy: ArrayLike, recoil_energy: ArrayLike
    ) -> tuple[NDArray[np.float64], WeightRows]:
        """(base terms ``(n_base, …)``, weights): the terms are their products. The weights are
        :class:`WeightRows`, one row per Δm², made while they are iterated over (memory of one
        row, not of ``n_Δm²``)."""
        base = _cached_base_terms(self.base, nucleus, flavour, neutrino_energy, recoil_energy)
        e = np.asarray(neutrino_energy, dtype=float)
        n = len(self.delta_m2s)
        if not channel_acts_on(self.channel, flavour):
            zero = np.zeros(e.shape)
            return base, WeightRows(n, lambda: (zero for _ in range(n)))
        window = 0.0 if flavour in LINE_ENERGY else self.energy_window
        return base, WeightRows(n, lambda: iter_oscillation_weights(
            e, self.delta_m2s, self.baseline, baseline_spread=self.baseline_spread,
            energy_window=window))

    def terms(
        self, nucleus: Nucleus, flavour: str, neutrino_energy: ArrayLike, recoil_energy: ArrayLike
    ) -> NDArray[np.float64]:
        """All terms, shape ``(n_Δm² · n_base, …)`` (Δm² index outer)."""
        base, weights = self.factored_terms(nucleus, flavour, neutrino_energy, recoil_energy)
        out = np.stack([w * base for w in weights])
        return out.reshape(-1, *out.shape[2:])


class WeightRows:
    """``n`` weight rows made on demand: ``len`` is ``n``, each iteration calls ``rows()`` anew
    (a row may be a buffer reused for the next one: use it before asking for the next)."""

    def __init__(self, n: int, rows) -> None:
        self._n = n
        self._rows = rows

    def __len__(self) -> int:
        return self._n

    def __iter__(self):
        return iter(self._rows())
