"""Sterile-sector scenarios (docs/physics.md#non-unitarity to #up-scattering; docs/scenarios/sterile.md).

``nonunitarity``
    lepton-unitarity violation: per-flavour factors R_α(α₁₁, α₂₂) on the SM rate (strength only).
``sterile-oscillation``
    3+1 disappearance: sin²2θ (strength) at Δm²₄₁ (shape), channel ``e`` (θ₁₄) or ``mu`` (θ₂₄).
``dipole``
    sterile dipole portal: μ_eff² (strength) at sterile mass m₄ (shape), on top of the SM.
``upscattering``
    up-scattering ν A → χ A through S, V, A, T: g⁴ (strength) at (m_X, m₄) (shape), on top of the SM.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

import numpy as np
from pydantic import field_validator

from cevns.config import StrictModel, validate
from cevns.errors import ConfigError, KinematicsError
from cevns.physics.basis import SMBasis
from cevns.physics.constants import MAX_MAGNETIC_MOMENT_MUB
from cevns.physics.cross_sections import sm_basis_coefficients
from cevns.physics.dipole import DipoleBasis, dipole_coefficients
from cevns.physics.flux import FLAVOURS
from cevns.physics.kinematics import max_sterile_mass, min_neutrino_energy
from cevns.physics.nonunitarity import unitarity_violation_ratios
from cevns.physics.oscillation import (
    OscillationBasis,
    OscillationScanBasis,
    energy_nodes_needed,
    evenly_spaced,
    oscillation_coefficients,
)
from cevns.physics.sterile import MAX_MASS_MEV  # the bound of the physics layer
from cevns.physics.units import MeV, eV, m
from cevns.physics.upscattering import UpscatteringBasis, upscattering_coefficients
from cevns.rates import basis_spectra
from cevns.scenarios.base import Parameter, Scenario, register_scenario
from cevns.scenarios.builtin import SIN2W, coupling_parameter

#: At most this many Gauss–Legendre nodes in E for the oscillation basis; beyond, the weight
#: sin²φ is replaced by its analytic mean over a relative energy window (see oscillation.py).
MAX_ENERGY_NODES = 160
#: Relative energy window used once the node cap is reached.
ENERGY_WINDOW = 0.05


def _sm_strength(strength: dict) -> np.ndarray:
    return sm_basis_coefficients(strength["sin2_theta_w"])


# --- lepton-unitarity violation ----------------------------------------------------------------


class NUOptions(StrictModel):
    """``reading``: production normalisation (docs/physics.md#non-unitarity; default "normalised" [A])."""

    reading: Literal["normalised", "unnormalised"] = "normalised"


@register_scenario
class NonUnitarity(Scenario):
    """Per-flavour event ratios R_α(α₁₁, α₂₂) on the SM rate; off-diagonal α's at 0."""

    name = "nonunitarity"
    description = "violation of lepton unitarity (alpha_11, alpha_22)"
    per_flavour = True

    def __init__(self, **options):
        self.options = validate(NUOptions, options, where="scenario")

    @property
    def parameters(self):
        return {
            "alpha11": Parameter("alpha11", "strength", 1.0, "", 0.0, 1.0, True, r"$\alpha_{11}$"),
            "alpha22": Parameter("alpha22", "strength", 1.0, "", 0.0, 1.0, True, r"$\alpha_{22}$"),
            "sin2_theta_w": SIN2W,
        }

    def basis(self, shape):
        return SMBasis()

    def basis_for(self, shape, detector, source):
        # the ratios R_α are per π-DAR flavour (production by π⁺ and μ⁺ decay)
        if tuple(source.flavours) != FLAVOURS:
            raise ConfigError(f"scenario 'nonunitarity': the event ratios are defined for the "
                              f"π-DAR flavours {', '.join(FLAVOURS)}; source {source.name!r} "
                              f"has {', '.join(source.flavours)}")
        return self.basis(shape)

    def coefficients(self, strength):
        ratios = unitarity_violation_ratios(strength["alpha11"], alpha22=strength["alpha22"],
                                            reading=self.options.reading)  # (3, *grid)
        sm = _sm_strength(strength)  # (4, *grid)
        return sm[:, None] * ratios[None]


# --- 3+1 oscillations ---------------------------------------------------------------------------


#: Extent of the ESS neutrino production region along the line of sight [m] [A]: the π⁺ are made
#: by the 2 GeV protons in the tungsten of the target wheel and stop within centimetres; the
#: protons' first interactions spread over ≈ 3 nuclear interaction lengths of tungsten
#: (λ_I = 9.95 cm, PDG Atomic and Nuclear Properties), i.e. ≈ 0.3 m.
SOURCE_EXTENT_M = 0.3

#: Linear size of each ESS detector's active volume [m] [A], ≈ (mass/density)^(1/3) for the
#: Baxter et al. (JHEP 02 (2020) 123) detectors: CsI 22.5 kg at 4.51 g/cm³, Ge 7 kg at 5.32 g/cm³,
#: Si 1 kg of CCDs (a stack ≈ 0.1 m), Ar 10 kg liquid at 1.40 g/cm³, C₃F₈ 10 kg liquid at
#: ≈ 1.35 g/cm³, rounded up for vessels; Xe 20 kg as a high-pressure gas TPC (≈ 0.6 m).
DETECTOR_SIZE_M = {"CsI": 0.2, "Xe": 0.6, "Ge": 0.1, "Si": 0.1, "Ar": 0.25, "C3F8": 0.25}


def physical_baseline_spread_m(detector_name: str, production_region_m: float | None = None,
                               detector_extent_m: float | None = None) -> float:
    """Default full width ΔL [m] of the uniform baseline spread for a detector at a source.

    Production region a and detector b are two independent uniform spreads of L; their sum has
    variance (a² + b²)/12, matched by one uniform spread of width √(a² + b²). a is the source's
    ``production_region_m`` (None: :data:`SOURCE_EXTENT_M`, the ESS estimate), b the detector's
    ``extent_m`` (None: :data:`DETECTOR_SIZE_M` for the six ESS detectors, else 0).
    """
    a = SOURCE_EXTENT_M if production_region_m is None else production_region_m
    det = DETECTOR_SIZE_M.get(detector_name, 0.0) if detector_extent_m is None else detector_extent_m
    return float(np.hypot(a, det))


class OscillationOptions(StrictModel):
    """``channel``: ``e`` (θ₁₄ on ν_e) or ``mu`` (θ₂₄ on ν_μ, ν̄_μ); ``baseline_spread_m``: full
    width ΔL [m] of a uniform spread of the baseline, ``"physical"`` (default: production region
    and detector size, :func:`physical_baseline_spread_m`) or a number (0 = a point source and a
    point detector, no averaging)."""

    channel: Literal["e", "mu"]
    baseline_spread_m: Literal["physical"] | float = "physical"

    @field_validator("baseline_spread_m")
    @classmethod
    def _spread(cls, value):
        if value != "physical" and not (np.isfinite(value) and value >= 0):
            raise ValueError(f"baseline_spread_m must be 'physical' or a length ≥ 0 in m, "
                             f"got {value!r}")
        return value

    def spread_m(self, detector_name: str, production_region_m: float | None = None,
                 detector_extent_m: float | None = None) -> float:
        """ΔL [m] used for ``detector_name`` (sizes as :func:`physical_baseline_spread_m`)."""
        if self.baseline_spread_m == "physical":
            return physical_baseline_spread_m(detector_name, production_region_m,
                                              detector_extent_m)
        return float(self.baseline_spread_m)


@register_scenario
class SterileOscillation(Scenario):
    """3+1 short-baseline disappearance on the flux (docs/physics.md#sterile-oscillations)."""

    name = "sterile-oscillation"
    description = "3+1 light sterile neutrino oscillations (sin2_2theta, delta_m2)"

    def __init__(self, **options):
        self.options = validate(OscillationOptions, options, where="scenario")

    @property
    def parameters(self):
        return {
            "sin2_2theta": Parameter("sin2_2theta", "strength", 0.0, "", 0.0, 1.0, False,
                                     r"$\sin^2 2\theta_{14}$" if self.options.channel == "e"
                                     else r"$\sin^2 2\theta_{24}$"),
            "delta_m2_eV2": Parameter("delta_m2_eV2", "shape", 1.0, "eV²", 0.0, None, False,
                                      r"$\Delta m^2_{41}$ [eV$^2$]"),
            "sin2_theta_w": SIN2W,
        }

    def basis(self, shape):
        raise ConfigError("scenario 'sterile-oscillation': the basis depends on the baseline and "
                          "the detector; use basis_for(shape, detector, source)")

    def basis_for(self, shape, detector, source):
        src, det = source, detector
        dm2 = shape["delta_m2_eV2"] * eV**2
        baseline = src.baseline_m * m
        nodes, window = None, 0.0
        if dm2 > 0:
            # the lowest neutrino energy any true-recoil node needs (heaviest nucleus, lowest T)
            t_low = 0.05 * det.threshold if det.smeared else det.threshold
            e_low = min(float(min_neutrino_energy(t_low, nuc.mass)) for nuc, _ in det.nuclei)
            # over the source's own energy range (m_μ/2 for π-DAR; higher for a kaon-decay
            # line or a table above it: the node count grows with the range). A source that
            # ends below e_low gives no recoil above threshold: any count will do there.
            e_from = max(e_low, 1e-3 * MeV)
            e_top = max(float(src.max_neutrino_energy()), 2.0 * e_from)
            needed = energy_nodes_needed(dm2, baseline, e_from, e_top)
            nodes = min(needed, MAX_ENERGY_NODES)
            if needed > MAX_ENERGY_NODES:
                window = ENERGY_WINDOW
        spread = self.options.spread_m(det.name, src.production_region_m,
                                       getattr(det, "extent_m", None))
        if not spread <= 2.0 * baseline / m:  # named here: the oscillation check knows no detector
            given = ("baseline_spread_m" if self.options.baseline_spread_m != "physical" else
                     f"the detector's extent_m ({getattr(det, 'extent_m', None)} m) and the "
                     f"source's production region ({src.production_region_m} m)")
            raise ConfigError(
                f"detector {det.name} at source {src.name}: the baseline spread {spread:g} m "
                f"from {given} is more than twice the baseline {baseline / m:g} m (the spread is "
                "the full width of baselines around it); give a smaller extent or spread, or the "
                "source's baseline_m")
        return SMBasis(), OscillationBasis(
            delta_m2=dm2, channel=self.options.channel, baseline=baseline,
            baseline_spread=spread * m,
            energy_window=window,
            oscillating_only=True, energy_nodes=nodes)

    def coefficients(self, strength):
        return oscillation_coefficients(strength["sin2_2theta"], _sm_strength(strength))

    def _term_counts_many(self, detector, source, points):
        """Counts at many Δm²: evenly spaced runs of Δm² that share E nodes and window are
        computed together (:class:`~cevns.physics.oscillation.OscillationScanBasis`, chunks of
        :data:`SCAN_CHUNK`), the others one by one. Same numbers to ≲ 10⁻¹²."""
        bases = [self.basis_for(point, detector, source) for point in points]
        sm = basis_spectra(detector, source, bases[0][0]).counts.sum(axis=2)
        osc: list = [None] * len(points)
        groups: dict = {}
        for i, (_, ob) in enumerate(bases):
            groups.setdefault(replace(ob, delta_m2=0.0), []).append(i)
        for proto, members in groups.items():
            members.sort(key=lambda i: bases[i][1].delta_m2)
            for chunk in _even_runs([bases[i][1].delta_m2 for i in members], SCAN_CHUNK):
                idx = [members[c] for c in chunk]
                if len(idx) < 3:
                    for i in idx:
                        osc[i] = basis_spectra(detector, source, bases[i][1]).counts.sum(axis=2)
                    continue
                scan = OscillationScanBasis(
                    delta_m2s=tuple(bases[i][1].delta_m2 for i in idx), channel=proto.channel,
                    baseline=proto.baseline, baseline_spread=proto.baseline_spread,
                    energy_window=proto.energy_window, base=proto.base,
                    energy_nodes=proto.energy_nodes)
                counts = basis_spectra(detector, source, scan).counts.sum(axis=2)
                n_base = len(proto.base.names)
                for k, i in enumerate(idx):
                    osc[i] = counts[k * n_base:(k + 1) * n_base]
        return [np.concatenate([sm, o], axis=0) for o in osc]


#: Largest number of Δm² in one :class:`~cevns.physics.oscillation.OscillationScanBasis`. Its
#: weights are made one Δm² at a time (a few n_T × n_E arrays whatever the chunk); what grows with
#: the chunk is its cached basis spectra (node rates n_Δm² × 4 terms × 3 flavours × n_T × 8 bytes,
#: ≤ 4.4 MB for the finest ESS detector). Each chunk pays one start of the phase recurrence
#: (:func:`~cevns.physics.oscillation.iter_oscillation_weights`): 32 takes a scan tile's rows in
#: one chunk (16 before: ~20 % of a 3+1 scan's CPU time was spent starting recurrences).
SCAN_CHUNK = 32


def _even_runs(values: list[float], size: int) -> list[list[int]]:
    """Indices of increasing ``values`` cut into evenly spaced runs of at most ``size``."""
    runs, start, n = [], 0, len(values)
    while start < n:
        stop = start + 1
        while (stop < n and stop - start < size
               and (stop - start < 2 or evenly_spaced(values[start:stop + 1]))):
            stop += 1
        if stop - start >= 3 or stop - start < 2:
            runs.append(list(range(start, stop)))
        else:  # two points that do not start a run: the first goes alone
            stop = start + 1
            runs.append([start])
        start = stop
    return runs


# --- dipole portal ------------------------------------------------------------------------------


_MASS_RANGE = ("a mass ≥ 0, at most 1e9 MeV: heavier is far beyond the reach of any "
               "source; masses are in MeV")
_MU_SIGN = ("the rate depends on μ² only, so the sign of μ is a convention: give |μ|; at most "
            "1 μ_B, the moment of the electron itself, far above any physical value "
            "(cevns.physics.constants.MAX_MAGNETIC_MOMENT_MUB); a magnetic moment is in units "
            "of the Bohr magneton")


class DipoleOptions(StrictModel):
    """``channel``: ``e`` (μ_νe on ν_e) or ``mu`` (μ_νμ on ν_μ and ν̄_μ); ``beyond_reach``: a
    sterile mass no neutrino can produce is an ``"error"`` (default) or gives ``"no-signal"``
    (for grids that run past the kinematic limit)."""

    channel: Literal["e", "mu"]
    beyond_reach: Literal["error", "no-signal"] = "error"


def _check_reachable(detector, source, sterile_masses: np.ndarray) -> None:
    """Refuse a sterile mass no neutrino of ``source`` can produce on any target of ``detector``
    (at the source's largest energy: m_μ/2 for π-DAR, 235.5 MeV for a kaon-decay line)."""
    energy = float(source.max_neutrino_energy())
    heaviest_reach = max(float(max_sterile_mass(energy, nuc.mass)) for nuc, _ in detector.nuclei)
    too_heavy = sterile_masses * MeV >= heaviest_reach
    if np.any(too_heavy):
        bad = float(np.max(sterile_masses))
        raise KinematicsError(
            f"sterile_mass_MeV {bad:g} is above the largest sterile mass reachable in {detector.name}, "
            f"{heaviest_reach / MeV:.2f} MeV at E_nu = {energy / MeV:.2f} MeV")


class _SterileMassScenario(Scenario):
    """Shared: the SM basis plus one m₄-dependent basis; m₄ must be reachable."""

    def check_values(self, detector, source, values) -> None:
        """A sterile mass (``values["sterile_mass_MeV"]``) no neutrino of ``source`` can produce
        on any target of ``detector`` is a :class:`~cevns.errors.KinematicsError` (with
        ``beyond_reach = "error"``, the default; ``"no-signal"`` gives the SM there)."""
        m4 = values.get("sterile_mass_MeV")
        if m4 is not None and self.options.beyond_reach == "error":
            self.parameters["sterile_mass_MeV"].check(m4)
            _check_reachable(detector, source, np.atleast_1d(np.asarray(m4, dtype=float)))


@register_scenario
class Dipole(_SterileMassScenario):
    """Active → sterile up-scattering through a transition magnetic moment (docs/physics.md#dipole-portal)."""

    name = "dipole"
    description = "sterile dipole portal (mu_eff in units of mu_B, sterile mass m4)"

    def __init__(self, **options):
        self.options = validate(DipoleOptions, options, where="scenario")

    @property
    def parameters(self):
        ch = "e" if self.options.channel == "e" else r"\mu"
        return {
            "magnetic_moment": Parameter("magnetic_moment", "strength", 0.0, "μ_B", 0.0,
                                         MAX_MAGNETIC_MOMENT_MUB, False,
                                         rf"$\mu_{{\nu_{ch}}}$ [$\mu_B$]",
                                         reason=_MU_SIGN, upper_is_cap=True),
            "sterile_mass_MeV": Parameter("sterile_mass_MeV", "shape", 0.0, "MeV", 0.0,
                                          MAX_MASS_MEV, False, r"$m_4$ [MeV]",
                                          reason=_MASS_RANGE),
            "sin2_theta_w": SIN2W,
        }

    def basis(self, shape):
        return SMBasis(), DipoleBasis(shape["sterile_mass_MeV"] * MeV, self.options.channel)

    def coefficients(self, strength):
        sm = _sm_strength(strength)
        mu = dipole_coefficients(strength["magnetic_moment"])
        shape = np.broadcast_shapes(sm.shape[1:], mu.shape[1:])
        return np.concatenate([np.broadcast_to(sm, (4, *shape)),
                               np.broadcast_to(mu, (1, *shape))])


# --- up-scattering through NGI ----------------------------------------------------------------


class UpscatteringOptions(StrictModel):
    """``interaction`` S, V, A or T; ``vector_model`` universal (Q̂_V = 3A, default [A]) or B-L;
    ``beyond_reach`` as for the dipole portal."""

    interaction: Literal["S", "V", "A", "T"]
    vector_model: Literal["universal", "B-L"] = "universal"
    beyond_reach: Literal["error", "no-signal"] = "error"


@register_scenario
class Upscattering(_SterileMassScenario):
    """ν A → χ A through a light S, V, A or T mediator, χ of mass m₄ (docs/physics.md#up-scattering)."""

    name = "upscattering"
    description = "up-scattering to a sterile neutral lepton via S, V, A, T mediators"

    def __init__(self, **options):
        self.options = validate(UpscatteringOptions, options, where="scenario")

    @property
    def parameters(self):
        return {
            "coupling": coupling_parameter(),
            "mediator_mass_MeV": Parameter("mediator_mass_MeV", "shape", 1e3, "MeV", 0.0,
                                           MAX_MASS_MEV, False, r"$m_X$ [MeV]",
                                           reason=_MASS_RANGE),
            "sterile_mass_MeV": Parameter("sterile_mass_MeV", "shape", 0.0, "MeV", 0.0,
                                          MAX_MASS_MEV, False, r"$m_4$ [MeV]",
                                          reason=_MASS_RANGE),
            "sin2_theta_w": SIN2W,
        }

    def basis(self, shape):
        return SMBasis(), UpscatteringBasis(self.options.interaction,
                                            shape["sterile_mass_MeV"] * MeV,
                                            shape["mediator_mass_MeV"] * MeV,
                                            vector_model=self.options.vector_model)

    def coefficients(self, strength):
        sm = _sm_strength(strength)
        g = upscattering_coefficients(strength["coupling"])
        shape = np.broadcast_shapes(sm.shape[1:], g.shape[1:])
        return np.concatenate([np.broadcast_to(sm, (4, *shape)), np.broadcast_to(g, (1, *shape))])


__all__ = ["Dipole", "NonUnitarity", "SterileOscillation", "Upscattering"]
