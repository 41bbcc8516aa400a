"""Any registered scenario's parameter as a fit parameter of a COHERENT release.

The ESS projections compute a scenario's signal as Σ_j c_j(θ) H_j: the scenario's coefficients
(:meth:`cevns.scenarios.Scenario.coefficients`) times the binned spectra of its cross-section basis
(:meth:`~cevns.scenarios.Scenario.basis_for`). A fit to a release uses exactly the same pieces:
the release is a real :class:`cevns.experiment.Detector` and :class:`cevns.experiment.Source`
(:attr:`ReleaseModel.detector`, :attr:`ReleaseModel.source`), H_j comes from the engine's cached
:func:`cevns.rates.basis_spectra` for them, and only the release's time (and F90) bins are added
by :meth:`cevns.fits.model.ReleaseModel.fold_energy`. Nothing is kept twice: a scenario registered
in code or by a plug-in is fittable as soon as it is registered.

Naming
------
``SCENARIO.PARAMETER``, e.g. ``dipole.magnetic_moment``, ``ngi.coupling``,
``nonunitarity.alpha11``, ``sterile-oscillation.sin2_2theta``, ``upscattering.coupling``,
``sm.sin2_theta_w``; a few unambiguous short names are aliases (:data:`ALIASES`, e.g.
``dipole_moment``). Scenario options (``interaction``, ``channel`` …) and the values of the other
parameters (``mediator_mass_MeV``, ``sterile_mass_MeV`` …) are given separately, as in an analysis
file's ``[scenario] options`` and ``fixed`` tables; parameters not given take the scenario's
defaults (their SM / "off" values). :data:`DEFAULT_OPTIONS` fills the options a scenario requires
and the command line did not give (the ν_μ channel of the dipole and 3+1 scenarios), and says so
in the output.

Kinematics
----------
A basis term of a sterile mass m₄ > 0 (dipole portal, up-scattering) is integrated by the engine
on a recoil quadrature that carries the kinks of m₄ as well
(:func:`cevns.rates.engine.kinematic_breakpoints`), as for the ESS projections. The 3+1 basis reads
the baseline and production region of the release's Source and the threshold of its Detector.
Shape parameters that act through the recoil energy only (NGI mediator mass, neutron radius) use
the scenario's recoil re-weighting fast path (:meth:`cevns.rates.BasisSpectra.reweighted`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cevns.errors import ConfigError, Problem, UnknownNameError
from cevns.fits.model import ReleaseModel
from cevns.physics.units import fm
from cevns.scenarios import Scenario, get_scenario, scenario_names

__all__ = [
    "ALIASES",
    "DEFAULT_OPTIONS",
    "ScenarioChoice",
    "is_scenario_parameter",
    "parse_assignments",
    "resolve_parameter",
    "scenario_parameter_names",
    "term_counts",
]

#: Short names of scenario parameters (unambiguous across the built-in scenarios).
ALIASES: dict[str, str] = {
    "dipole_moment": "dipole.magnetic_moment",
    "magnetic_moment": "dipole.magnetic_moment",
    "alpha11": "nonunitarity.alpha11",
    "alpha22": "nonunitarity.alpha22",
    "sin2_2theta": "sterile-oscillation.sin2_2theta",
}

#: Options filled in when a fit names none: the ν_μ channel (the SNS prompt ν_μ and delayed ν̄_μ
#: are two thirds of the flux). Every other required option (an NGI or up-scattering
#: ``interaction``) must be given; the error names it.
DEFAULT_OPTIONS: dict[str, dict[str, Any]] = {
    "dipole": {"channel": "mu"},
    "sterile-oscillation": {"channel": "mu"},
}


def is_scenario_parameter(name: str) -> bool:
    """True for ``SCENARIO.PARAMETER`` names and :data:`ALIASES`."""
    return name in ALIASES or "." in name


def scenario_parameter_names() -> list[str]:
    """What ``-p`` accepts besides the classic names: ``<scenario>.<parameter>`` and aliases."""
    return [*ALIASES, *(f"{s}.<parameter>" for s in scenario_names())]


def resolve_parameter(name: str, valid_classic: list[str] | None = None) -> tuple[str, str]:
    """``(scenario, parameter)`` of a scenario parameter name; errors list the valid names."""
    full = ALIASES.get(name, name)
    if "." not in full:
        raise UnknownNameError("fit parameter", name,
                               [*(valid_classic or []), *scenario_parameter_names()])
    scenario, parameter = full.split(".", 1)
    if scenario not in scenario_names():
        raise UnknownNameError(f"scenario (in fit parameter {name!r})", scenario, scenario_names())
    return scenario, parameter


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_assignments(items: list[str] | None, what: str) -> dict[str, Any]:
    """``["key=value", …]`` → dict; values read as TOML (numbers, true/false), else strings."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise ConfigError(f"{what} {item!r}: expected KEY=VALUE, e.g. "
                              + ("interaction=vector" if what == "--option"
                                 else "mediator_mass_MeV=10"))
        if key in out:
            raise ConfigError(f"{what} {key!r} given twice")
        out[key] = _parse_value(value)
    return out


@dataclass(frozen=True)
class ScenarioChoice:
    """A scenario with its options and the fixed values of its other parameters.

    Attributes
    ----------
    scenario : Scenario
    name : str
        Registry name.
    options : dict
        Options used (including :data:`DEFAULT_OPTIONS` filled in).
    fixed : dict of str to float
        Values of the parameters that are not fitted (checked against their ranges).
    """

    scenario: Scenario
    name: str
    options: dict[str, Any]
    fixed: dict[str, float]

    @classmethod
    def build(cls, name: str, options: Mapping[str, Any] | None = None,
              fixed: Mapping[str, float] | None = None) -> ScenarioChoice:
        """Build scenario ``name``; unknown options or parameters are errors naming them."""
        opts = {**DEFAULT_OPTIONS.get(name, {}), **dict(options or {})}
        scenario = get_scenario(name, **opts)
        fixed = dict(fixed or {})
        scenario.check_names(fixed)
        params = scenario.parameters
        checked = {}
        for key, value in fixed.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"fixed value of {key!r} must be a number, got {value!r}")
            try:
                checked[key] = float(params[key].check(value))
            except ConfigError as err:  # name the fixed value, not only the parameter; the
                # problem lets the command line name its own option (--fix)
                raise ConfigError(f"fixed value {key} = {value!r}: {err}", problems=[
                    Problem(("fixed", key), "invalid", str(err))]) from None
        return cls(scenario, name, opts, checked)

    def parameter(self, name: str):
        """The :class:`cevns.scenarios.Parameter` ``name`` (error lists the valid ones)."""
        params = self.scenario.parameters
        if name not in params:
            raise UnknownNameError(f"parameter of scenario {self.name!r}", name, params)
        if name in self.fixed:
            raise ConfigError(f"{self.name}.{name} is fitted; it cannot also be fixed")
        return params[name]

    def value(self, name: str) -> float:
        """The value of a parameter that is not scanned: fixed, else the default."""
        return float(self.fixed.get(name, self.scenario.parameters[name].default))

    def shape_point(self, **scanned: float) -> dict[str, float]:
        """Every shape parameter's value: ``scanned`` ones, else fixed, else defaults."""
        return {n: float(scanned[n]) if n in scanned else self.value(n)
                for n in self.scenario.shape_parameters()}

    def strength(self, n_points: int, **scanned: NDArray[np.float64]) -> dict[str, NDArray]:
        """Strength arrays of length ``n_points``: ``scanned`` ones, else fixed/defaults."""
        return {n: np.broadcast_to(np.asarray(scanned[n], dtype=float), (n_points,))
                if n in scanned else np.full(n_points, self.value(n))
                for n in self.scenario.strength_parameters()}

    def describe(self) -> dict[str, Any]:
        """Options and fixed values, for tables and JSON."""
        return {**self.options, **self.fixed}


# -- the signal of a scenario's basis for a release ------------------------------------------------


def _per_flavour(model: ReleaseModel, energy: NDArray[np.float64]) -> NDArray[np.float64]:
    """(…, n_flavours, n_energy) engine counts → (…, n_flavours, n_bins), one flavour at a time."""
    n_f = energy.shape[-2]
    diagonal = np.zeros((*energy.shape[:-1], n_f, energy.shape[-1]))
    for a in range(n_f):
        diagonal[..., a, a, :] = energy[..., a, :]
    return model.fold_energy(diagonal)


def term_counts(model: ReleaseModel, scenario: Scenario, shape: dict[str, float]
                ) -> NDArray[np.float64]:
    """Expected counts of every basis term at one shape point: (n_terms, n_flavours, n_bins).

    The same basis as the ESS projections (:meth:`Scenario.basis_for` with the release's
    Detector and Source), through the same engine (:meth:`ReleaseModel.energy_counts`).
    """
    bases = scenario.basis_for(shape, model.detector, model.source)
    if not isinstance(bases, tuple):
        bases = (bases,)
    return np.concatenate([_per_flavour(model, model.energy_counts(b)) for b in bases], axis=0)


def term_counts_over(model: ReleaseModel, choice: ScenarioChoice, name: str,
                     values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Term counts at every value of one shape parameter: (n_values, n_terms, n_flavours, n_bins).

    Uses the scenario's recoil re-weighting (one set of E integrals for all values) where it has
    one, else one basis per value.
    """
    scenario = choice.scenario
    values = np.asarray(values, dtype=float)
    reference = scenario.reference_basis()
    others = {n: choice.value(n) for n in scenario.shape_parameters() if n != name}
    if reference is not None and not others:
        spectra = model.spectra(reference)
        factors = scenario.recoil_factors({name: values}, spectra, model.detector)
        return _per_flavour(model, spectra.reweighted(factors))
    return np.stack([term_counts(model, scenario, choice.shape_point(**{name: float(v)}))
                     for v in values])


def contract(scenario: Scenario, coefficients: NDArray[np.float64],
             per_term: NDArray[np.float64]) -> NDArray[np.float64]:
    """Σ_j c_j H_j: coefficients ``(terms, [flavours,] P)`` with counts ``([P,] terms, flavours,
    bins)`` → ``(P, bins)``."""
    c = np.asarray(coefficients, dtype=float)
    shared = per_term.ndim == 4  # one per_term per point
    if c.shape[0] != per_term.shape[-3]:
        raise ConfigError(f"scenario {scenario.name!r}: coefficients() and basis() do not match: "
                          f"{c.shape[0]} coefficients for {per_term.shape[-3]} basis terms")
    if scenario.per_flavour:
        return np.einsum("jfp,pjfb->pb" if shared else "jfp,jfb->pb", c, per_term)
    summed = per_term.sum(axis=-2)
    return np.einsum("jp,pjb->pb" if shared else "jp,jb->pb", c, summed)


def default_neutron_radius_fm(model: ReleaseModel) -> float:
    """Mean default Helm rms radius of the release's nuclei, fm (the SM value of R_n)."""
    return float(np.mean([nuc.default_helm_rms_radius() for nuc in model.nuclei]) / fm)


def strength_scan_range(signal, lower: float | None, upper: float | None, what: str, *,
                        upper_is_cap: bool = False) -> tuple[float, float]:
    """Starting range of a strength parameter: up to 4× the value that moves the count by 50 %.

    A parameter with two natural bounds (a mixing in [0, 1]) starts from them. An upper bound that
    is only a validity cap (``upper_is_cap``: a coupling's 4π, a magnetic moment's 1 μ_B; see
    :class:`cevns.scenarios.Parameter`) is not a starting point: the search stays below it and the
    range ends there at the latest."""
    if lower is not None and upper is not None and not upper_is_cap:
        return float(lower), float(upper)
    base = 0.0 if lower is None else max(float(lower), 0.0)
    trial = base + np.geomspace(1e-15, 1e6, 600)
    if upper is not None:
        trial = trial[trial <= upper]
    totals = signal(trial).sum(axis=1)
    reference = float(signal(np.array([base])).sum())
    moved = np.abs(totals / reference - 1.0) >= 0.5 if reference > 0 else totals > 1.0
    if not moved.any():
        raise ConfigError(f"{what} does not change the CEvNS count of this release over "
                          f"[{trial[0]:.3g}, {trial[-1]:.3g}]: no constraint")
    step = float(trial[np.argmax(moved)]) - base
    lo = base if lower is not None else base - 4.0 * step
    hi = base + 4.0 * step
    if upper is not None:
        hi = min(hi, float(upper))
    return lo, hi

