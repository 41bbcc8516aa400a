"""The parameters a release can be fitted for, and the signal each one predicts.

=========================  ===========================================================  ========
name                       what it is                                                   kind
=========================  ===========================================================  ========
``n_cevns``                number of CEvNS events in the fitted window (SM shape)       norm
``n_cevns_release``        LAr only: the same with the release's own CEvNS PDF          norm
                           (``cevnspdf.txt``) instead of the rate engine — a check of
                           the likelihood and backgrounds independent of our signal
``sin2_theta_w``           weak mixing angle (SM scenario, one Helm form factor)        strength
``neutron_radius_fm``      one rms neutron radius for Cs and I (SM scenario with        shape
                           ``form_factor="separate"``: F_p at the charge radius)
``ngi_<X>_coupling``       coupling g of an NGI mediator X ∈ {scalar, vector, axial,    strength
                           tensor} at a fixed mediator mass (NGI scenario)
=========================  ===========================================================  ========

A :class:`SignalModel` maps a 1-D array of parameter values to expected CEvNS counts in the
fitted bins, ``(n_values, n_bins)``:

- strength parameters contract the scenario's basis coefficients with the binned basis spectra of
  :meth:`cevns.fits.model.ReleaseModel.signal_basis` (one rate-engine build per release);
- the neutron radius re-weights the node rates of the SM reference basis (F_n ≡ 1) by the
  scenario's own recoil factors (:meth:`cevns.scenarios.Scenario.recoil_factors`), then folds;
- ``n_cevns`` scales the SM signal shape.

Every parameter but ``n_cevns`` carries the release's signal-normalisation nuisance
(:func:`signal_uncertainty`); ``n_cevns`` *is* the normalisation.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cevns.datasets.coherent import CsI2021Release, LAr2020Release, Parameter
from cevns.errors import ConfigError, DataError, UnknownNameError, finite_number, is_bool, is_text
from cevns.fits.model import ReleaseModel
from cevns.fits.scenario_signal import (
    ScenarioChoice,
    contract,
    default_neutron_radius_fm,
    resolve_parameter,
    strength_scan_range,
    term_counts,
    term_counts_over,
)
from cevns.integrity import read_packaged_text
from cevns.physics.constants import MAX_MASS_MEV, SIN2_THETA_W, SIN2_THETA_W_RANGE
from cevns.physics.ngi import INTERACTIONS, VECTOR_CHARGES
from cevns.physics.units import fm
from cevns.scenarios import get_scenario

__all__ = [
    "FIT_PARAMETERS",
    "ParameterSpec",
    "SignalModel",
    "check_fit_request",
    "check_parameter",
    "make_signal_model",
    "published_values",
    "scenario_signal_model",
    "signal_uncertainty",
    "sm_signal",
]


@dataclass(frozen=True)
class ParameterSpec:
    """What a fit parameter is: name, label, unit, physical range, releases it applies to.

    Attributes
    ----------
    name : str
        Parameter name of the API and the CLI.
    label : str
        Axis label (matplotlib mathtext).
    unit : str
        Unit of its values (``""`` for pure numbers).
    lower, upper : float or None
        Physical range of the scan (``None``: unbounded).
    limit : bool
        Report a 90 % C.L. limit (couplings) besides the 1σ interval.
    description : str
        One line for tables.
    releases : tuple of str or None
        Releases it can be fitted on (``None``: all).
    limit_side : {"upper", "lower"}
        Which edge of the 90 % C.L. region is the limit: ``"upper"`` for a parameter that is off
        at its lower bound (couplings, moments, mixings), ``"lower"`` for one that is off at its
        upper bound (the unitarity parameters α_ii ≤ 1).
    scenario : str or None
        The registered scenario a ``SCENARIO.PARAMETER`` fit parameter belongs to.
    upper_is_cap : bool
        ``upper`` is a validity cap far above any physical value (a coupling's 4π, a magnetic
        moment's 1 μ_B; :class:`cevns.scenarios.Parameter`): scans stay below it, but iminuit is
        not given it as a limit (its fit is the same as without it).
    """

    name: str
    label: str
    unit: str
    lower: float | None
    upper: float | None
    limit: bool
    description: str
    releases: tuple[str, ...] | None = None
    limit_side: str = "upper"
    scenario: str | None = None
    upper_is_cap: bool = False


_CSI = ("coherent-csi-2017", "coherent-csi-2021")

#: Every fittable parameter, by name.
FIT_PARAMETERS: dict[str, ParameterSpec] = {
    "n_cevns": ParameterSpec(
        "n_cevns", r"$N_\mathrm{CEvNS}$", "events", 0.0, None, False,
        "number of CEvNS events in the fitted window (SM spectral shape)"),
    "n_cevns_release": ParameterSpec(
        "n_cevns_release", r"$N_\mathrm{CEvNS}$ (release PDF)", "events", 0.0, None, False,
        "number of CEvNS events with the release's own CEvNS PDF (cevnspdf.txt) instead of the "
        "rate engine: a check of the likelihood", releases=("coherent-lar-2020",)),
    "sin2_theta_w": ParameterSpec(
        "sin2_theta_w", r"$\sin^2\theta_W$", "", *SIN2_THETA_W_RANGE, False,
        "weak mixing angle (tree-level SM, one Helm form factor at the default radius)"),
    "neutron_radius_fm": ParameterSpec(
        "neutron_radius_fm", r"$R_n$ [fm]", "fm", 0.5, 20.0, False,
        "rms neutron radius, one value for Cs and I (F_p at the charge radius)", releases=_CSI),
    **{
        f"ngi_{x}_coupling": ParameterSpec(
            f"ngi_{x}_coupling", rf"$g_\mathrm{{{x[0].upper()}}}$", "", 0.0, None, True,
            f"{x} NGI mediator coupling g at a fixed mediator mass (90 % C.L. limit)")
        for x in INTERACTIONS
    },
}


def check_parameter(name: str, release: str) -> ParameterSpec | None:
    """The spec of ``name``; errors name the parameter and the valid choices.

    ``None`` for a scenario parameter (``SCENARIO.PARAMETER`` or an alias): its spec depends on
    the scenario options and is made by :func:`make_signal_model`.
    """
    if name not in FIT_PARAMETERS:
        resolve_parameter(name, list(FIT_PARAMETERS))  # raises, listing every valid name
        return None
    spec = FIT_PARAMETERS[name]
    if spec.releases is not None and release not in spec.releases:
        raise ConfigError(
            f"fit parameter {name!r} is fitted for {', '.join(spec.releases)} only, not "
            f"{release!r}"
        )
    return spec


def check_fit_request(
    names: Sequence[str],
    *,
    options: Mapping[str, Any] | None = None,
    fixed: Mapping[str, float] | None = None,
    scan_range: tuple[float, float] | None = None,
    vector_charge: str = "B-L",
) -> None:
    """Check everything of a fit request that does not need the release's data: a name given
    twice, the NGI ``vector_charge``, and for scenario parameters the scenario's options, the
    fixed values, the scan range and that a shape parameter without a natural range has one.

    :func:`cevns.fits.fit_release` and ``cevns fit`` call it before any file is read or an output
    folder is claimed, so that a misspelled option is not reported after the folder holds the
    record of a fit that never ran. The names themselves: :func:`check_parameter`.
    """
    twice = sorted({n for n in names if list(names).count(n) > 1})
    if twice:
        raise ConfigError(f"parameters named twice: {twice}")
    if vector_charge not in VECTOR_CHARGES:
        raise UnknownNameError("vector_charge", vector_charge, VECTOR_CHARGES)
    scenario_names_ = [n for n in names if n not in FIT_PARAMETERS]
    if (options or fixed or scan_range is not None) and not scenario_names_:
        raise ConfigError("options, fixed values and a scan range apply to scenario parameters "
                          "(SCENARIO.PARAMETER, e.g. dipole.magnetic_moment) only")
    for name in scenario_names_:
        scenario_name, par = resolve_parameter(name, list(FIT_PARAMETERS))
        choice = ScenarioChoice.build(scenario_name, options, fixed)
        check_scan_range(f"{scenario_name}.{par}", choice.parameter(par), scan_range)


def _exact(value: float) -> str:
    """``value`` as ``:g`` prints it where that is exact, else in full (1.0000001, not 1)."""
    short = f"{value:g}"
    return short if float(short) == value else repr(value)


def check_scan_range(full: str, p, scan_range) -> tuple[float, float] | None:
    """The starting range ``(lo, hi)`` of scenario parameter ``full`` (a
    :class:`cevns.scenarios.Parameter` ``p``) given as ``scan_range``, checked against the
    parameter's bounds; ``None`` if none is given and the parameter does not need one."""
    if scan_range is not None:
        try:  # text ("0", "1e-3") and true/false would be read as numbers: refused as well
            if is_text(scan_range) or is_bool(scan_range, recurse=True):
                raise TypeError
            lo, hi = (float(x) for x in scan_range)
        except (TypeError, ValueError):
            lo = hi = math.nan
        if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
            raise ConfigError(f"{full}: scan range must be two finite numbers LO < HI, got "
                              f"{scan_range!r}")
        try:
            p.check([lo, hi])
        except ConfigError as err:  # say that it is the range (--range LO,HI) that is refused
            raise ConfigError(f"{full}: scan range (--range) {_exact(lo)},{_exact(hi)} is "
                              f"outside the parameter's range: {err}") from None
        return lo, hi
    # a mass bounded only by the validity cap of every mass (10⁹ MeV) has no natural range either
    if p.kind != "strength" and (p.lower is None or p.upper is None or p.upper >= MAX_MASS_MEV):
        raise ConfigError(f"{full} is a shape parameter without a natural scan range: give one "
                          "(--range LO,HI), e.g. --range 1,100 for a mass in MeV")
    return None


# -- published numbers and signal uncertainties -----------------------------------------------------


@cache
def _published_table() -> dict[str, Any]:
    text = read_packaged_text("fits/published.toml")  # checked against its SHA-256
    return tomllib.loads(text)


def published_entry(section: str, key: str) -> dict[str, Any] | None:
    """One table of ``published.toml`` (``what``, ``compare``, ``source``, numbers), or None."""
    entry = _published_table().get(section, {}).get(key)
    return dict(entry) if entry is not None else None


def _toml_parameter(release: str, key: str) -> Parameter | None:
    entry = _published_table().get(release, {}).get(key)
    if entry is None:
        return None
    return Parameter(key, float(entry["value"]), entry.get("unit", ""),
                     float(entry["uncertainty"]), source=entry["source"])


def published_values(model: ReleaseModel) -> dict[str, Parameter]:
    """The collaboration's numbers for this release: ``"sm_prediction"`` and ``"n_cevns"``.

    LAr-2020 states both in its YAML file (read from the release); CsI-2017 in the Science paper
    and CsI-2021 in the PRL (``published.toml``, with their sources).
    """
    rel = model.release
    out: dict[str, Parameter] = {}
    if isinstance(rel, LAr2020Release):
        out["sm_prediction"] = rel.cevns_normalisation
        out["n_cevns"] = rel.cevns_fitted_normalisation
    for key in ("sm_prediction", "n_cevns"):
        p = _toml_parameter(rel.name, key)
        if p is not None:
            out[key] = p
    if "n_cevns" in out and isinstance(rel, LAr2020Release):
        out["n_cevns_release"] = out["n_cevns"]
    return out


def _variant_spread(model: ReleaseModel, field_name: str, variants: dict, pairs) -> float:
    """Quadrature sum over ±1σ pairs of the mean |relative change| of the SM CEvNS count."""
    rel = model.release
    scenario = get_scenario("sm")
    basis = scenario.basis({})
    coefficients = np.asarray(scenario.coefficients({"sin2_theta_w": np.asarray(SIN2_THETA_W)}))
    per_node = np.einsum("j,jfkn->fn", coefficients, model.node_rates(basis))  # (flavours, nodes)
    time_totals = model.timing_fractions.sum(axis=1)  # timing fractions do not depend on the response

    def count(response_matrix: NDArray[np.float64]) -> float:
        return float(((per_node @ response_matrix.T).sum(axis=1) * time_totals).sum())

    nominal = count(model.response)
    total = 0.0
    for pair in pairs:
        changes = []
        for name in pair:
            varied = rel.response.with_changes(**{field_name: variants[name]})
            changes.append(abs(count(model.probability_matrix(varied)) / nominal - 1.0))
        total += (0.5 * sum(changes)) ** 2
    return math.sqrt(total)


def signal_uncertainty(model: ReleaseModel, drop: tuple[str, ...] = ()) -> tuple[float, dict[str, float]]:
    """Fractional prior width of the signal normalisation nuisance, and its pieces.

    Parameters
    ----------
    model : ReleaseModel
    drop : tuple of str
        Pieces to leave out, e.g. ``("form_factor",)`` when the form factor is fitted.

    Returns
    -------
    (total, pieces)
        ``total`` = quadrature sum of ``pieces`` (fractions).
    """
    key = ("signal_uncertainty", drop)
    hit = model._cache.get(key)
    if hit is not None:
        return hit
    rel = model.release
    table = _published_table().get(rel.name, {}).get("signal_uncertainty", {})
    pieces: dict[str, float] = {k: float(v) for k, v in table.items()
                                if isinstance(v, int | float) and not isinstance(v, bool)}
    flux = rel.setup.neutrinos_per_flavour_per_proton.relative_uncertainty
    if flux is not None:
        if "flux" in pieces and not math.isclose(pieces["flux"], flux, rel_tol=1e-6):
            raise DataError(f"published.toml: {rel.name} flux uncertainty {pieces['flux']} differs "
                            f"from the release's neutrinosPerProton ({flux:.4g})")
        pieces["flux"] = flux
    if isinstance(rel, CsI2021Release):
        pieces["quenching"] = _variant_spread(
            model, "quenching", rel.scintillation_variants,
            [("syst0_plus_1sigma", "syst0_minus_1sigma"),
             ("syst1_plus_1sigma", "syst1_minus_1sigma")])
        pieces["efficiency"] = _variant_spread(
            model, "efficiency", rel.efficiency_variants, [("plus_1sigma", "minus_1sigma")])
    if isinstance(rel, LAr2020Release):
        pred = rel.cevns_normalisation
        pieces = {"total (release)": pred.uncertainty / pred.value}
    pieces = {k: v for k, v in pieces.items() if k not in drop}
    if not pieces:  # pragma: no cover - every shipped release has one
        raise DataError(f"{rel.name}: no signal uncertainty known")
    total = math.sqrt(sum(v * v for v in pieces.values()))
    model._cache[key] = (total, pieces)
    return total, pieces


# -- signal models ------------------------------------------------------------------------------------


@dataclass(eq=False)
class SignalModel:
    """Expected CEvNS counts of one release as a function of one fit parameter.

    Attributes
    ----------
    spec : ParameterSpec
    model : ReleaseModel
    sm_value : float
        The parameter's value in the SM prediction (for ``n_cevns``: the SM count).
    initial_range : (float, float)
        Where the scan starts.
    signal_sigma : float or None
        Fractional width of the signal-normalisation prior (``None`` for ``n_cevns``).
    sigma_pieces : dict of str to float
        The pieces of ``signal_sigma``.
    options : dict
        Scenario options used (NGI interaction, mediator mass, vector charge).
    """

    spec: ParameterSpec
    model: ReleaseModel
    sm_value: float
    initial_range: tuple[float, float]
    signal_sigma: float | None
    sigma_pieces: dict[str, float] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    _signal: Any = field(default=None, repr=False)

    def signal(self, values: ArrayLike) -> NDArray[np.float64]:
        """Expected CEvNS counts, shape ``(len(values), n_bins)``."""
        v = np.atleast_1d(np.asarray(values, dtype=float))
        if v.ndim != 1:
            raise ConfigError(f"{self.spec.name}: values must be a 1-d array")
        out = self._signal(v)
        return np.clip(out, 0.0, None)


def _sm_signal(model: ReleaseModel) -> NDArray[np.float64]:
    scenario = get_scenario("sm")
    basis = scenario.basis({})
    coefficients = scenario.coefficients({"sin2_theta_w": np.asarray(SIN2_THETA_W)})
    return np.asarray(coefficients) @ model.signal_basis(basis)


def sm_signal(model: ReleaseModel) -> NDArray[np.float64]:
    """SM CEvNS expectation in the fitted bins (sin²θ_W = 0.23857, default Helm radii)."""
    return _sm_signal(model)


def make_signal_model(
    model: ReleaseModel,
    name: str,
    *,
    mediator_mass_MeV: float = 10.0,
    vector_charge: str = "B-L",
    options: Mapping[str, Any] | None = None,
    fixed: Mapping[str, float] | None = None,
    scan_range: tuple[float, float] | None = None,
) -> SignalModel:
    """The :class:`SignalModel` of parameter ``name`` for ``model``'s release.

    Parameters
    ----------
    model : ReleaseModel
    name : str
        One of :data:`FIT_PARAMETERS`, or any registered scenario's parameter as
        ``SCENARIO.PARAMETER`` (or an alias, :data:`cevns.fits.scenario_signal.ALIASES`).
    mediator_mass_MeV : float
        NGI parameters of :data:`FIT_PARAMETERS`: the mediator mass (MeV).
    vector_charge : {"B-L", "universal"}
        NGI vector mediator of :data:`FIT_PARAMETERS`: quark-coupling model.
    options : mapping, optional
        Scenario parameters only: the scenario's options (``interaction``, ``channel`` …).
    fixed : mapping, optional
        Scenario parameters only: values of the scenario's other parameters (default: theirs).
    scan_range : (float, float), optional
        Scenario parameters only: where the scan starts (needed for a shape parameter without two
        bounds, e.g. a mediator mass).
    """
    spec = check_parameter(name, model.release.name)
    if spec is None:
        return scenario_signal_model(model, name, options=options, fixed=fixed,
                                     scan_range=scan_range)
    if options or fixed or scan_range is not None:
        raise ConfigError(f"{name}: options, fixed values and a scan range apply to scenario "
                          f"parameters (SCENARIO.PARAMETER) only; {name} takes "
                          "mediator_mass_MeV/vector_charge (NGI) or nothing")
    if name == "n_cevns":
        sm = _sm_signal(model)
        total = float(sm.sum())
        shape = sm / total
        return SignalModel(spec, model, total, (0.0, 3.0 * total), None,
                           _signal=lambda v: v[:, None] * shape)
    if name == "n_cevns_release":
        template = np.asarray(model.release.cevns_templates["nominal"].counts, dtype=float).ravel()
        total = float(template.sum())
        shape = template / total
        return SignalModel(spec, model, total, (0.0, 3.0 * total), None,
                           _signal=lambda v: v[:, None] * shape)
    if name == "sin2_theta_w":
        scenario = get_scenario("sm")
        h = model.signal_basis(scenario.basis({}))
        sigma, pieces = signal_uncertainty(model)
        return SignalModel(spec, model, SIN2_THETA_W, (0.0, 0.6), sigma, pieces,
                           _signal=lambda v: np.einsum(
                               "jg,jb->gb", scenario.coefficients({"sin2_theta_w": v}), h))
    if name == "neutron_radius_fm":
        return _neutron_radius_model(model, spec)
    interaction = name.split("_")[1]
    return _ngi_model(model, spec, interaction, mediator_mass_MeV, vector_charge)


def _neutron_radius_model(model: ReleaseModel, spec: ParameterSpec) -> SignalModel:
    scenario = get_scenario("sm", form_factor="separate")
    reference = scenario.reference_basis()
    spectra = model.spectra(reference)  # the engine's build, with its node rates
    coefficients = np.asarray(scenario.coefficients({"sin2_theta_w": np.asarray(SIN2_THETA_W)}))
    sigma, pieces = signal_uncertainty(model, drop=("form_factor",))

    def signal(v: NDArray[np.float64]) -> NDArray[np.float64]:
        factors = scenario.recoil_factors({"neutron_radius_fm": v}, spectra, model.detector)
        return np.einsum("j,pjb->pb", coefficients, model.fold_energy(spectra.reweighted(factors)))

    default = float(np.mean([nuc.default_helm_rms_radius() for nuc in model.nuclei]) / fm)
    return SignalModel(spec, model, default, (2.0, 10.0), sigma, pieces, _signal=signal)


#: What ``mediator_mass_MeV`` of the ``ngi_*_coupling`` parameters must be (its error message).
MEDIATOR_MASS_VALID = "a number > 0 (MeV)"


def _ngi_model(model: ReleaseModel, spec: ParameterSpec, interaction: str,
               mediator_mass_MeV: float, vector_charge: str) -> SignalModel:
    mediator_mass_MeV = finite_number(mediator_mass_MeV, "mediator_mass_MeV",
                                      MEDIATOR_MASS_VALID, ok=lambda m: m > 0)
    options: dict[str, Any] = {"interaction": interaction}
    if interaction == "vector":
        options["vector_charge"] = vector_charge
    scenario = get_scenario("ngi", **options)
    h = model.signal_basis(scenario.basis({"mediator_mass_MeV": mediator_mass_MeV}))
    s2w = np.asarray(SIN2_THETA_W)

    def signal(v: NDArray[np.float64]) -> NDArray[np.float64]:
        c = scenario.coefficients({"coupling": v, "sin2_theta_w": np.broadcast_to(s2w, v.shape)})
        return np.einsum("jg,jb->gb", c, h)

    # Scan range: up to 4× the coupling that changes the CEvNS count by 50 %.
    trial = np.geomspace(1e-9, 10.0, 400)
    totals = signal(trial).sum(axis=1)
    sm_total = float(signal(np.zeros(1)).sum())
    moved = np.abs(totals / sm_total - 1.0) >= 0.5
    if not moved.any():
        names = ", ".join(nuc.name for nuc in model.nuclei)
        raise ConfigError(
            f"{spec.name}: the {interaction} NGI term does not change the CEvNS count of "
            f"{model.release.name} (targets {names}; spin-dependent terms vanish for J = 0) — "
            "no constraint"
        )
    g_half = float(trial[np.argmax(moved)])
    sigma, pieces = signal_uncertainty(model)
    options["mediator_mass_MeV"] = mediator_mass_MeV
    return SignalModel(spec, model, 0.0, (0.0, 4.0 * g_half), sigma, pieces, options,
                       _signal=signal)



def scenario_signal_model(
    model: ReleaseModel,
    name: str,
    *,
    options: Mapping[str, Any] | None = None,
    fixed: Mapping[str, float] | None = None,
    scan_range: tuple[float, float] | None = None,
) -> SignalModel:
    """The :class:`SignalModel` of a registered scenario's parameter ``SCENARIO.PARAMETER``.

    The signal is the scenario's Σ_j c_j(θ) H_j (:mod:`cevns.fits.scenario_signal`), with the
    release's signal-normalisation nuisance (:func:`signal_uncertainty`; the form-factor piece is
    dropped when the neutron radius is fitted).
    """
    scenario_name, par = resolve_parameter(name, list(FIT_PARAMETERS))
    choice = ScenarioChoice.build(scenario_name, options, fixed)
    p = choice.parameter(par)
    scenario = choice.scenario
    full = f"{scenario_name}.{par}"
    off_at_lower = p.lower is not None and p.default == p.lower
    off_at_upper = p.upper is not None and p.default == p.upper
    limit = p.kind == "strength" and (off_at_lower or off_at_upper)
    cap = bool(getattr(p, "upper_is_cap", False)) and p.upper is not None
    spec = ParameterSpec(full, p.label or par, p.unit, p.lower, p.upper, limit,
                         f"{scenario.description}: {par}" if scenario.description else par,
                         limit_side="lower" if off_at_upper and not off_at_lower else "upper",
                         scenario=scenario_name, upper_is_cap=cap)
    drop = ("form_factor",) if par == "neutron_radius_fm" else ()
    sigma, pieces = signal_uncertainty(model, drop=drop)
    if p.kind == "strength":
        per_term = term_counts(model, scenario, choice.shape_point())

        def signal(v: NDArray[np.float64]) -> NDArray[np.float64]:
            strength = choice.strength(v.size, **{par: v})
            return contract(scenario, scenario.coefficients(strength), per_term)
    else:
        cache: dict[float, NDArray[np.float64]] = {}

        def signal(v: NDArray[np.float64]) -> NDArray[np.float64]:
            missing = np.array([x for x in dict.fromkeys(v.tolist()) if x not in cache])
            if missing.size:
                for x, h in zip(missing, term_counts_over(model, choice, par, missing),
                                strict=True):
                    cache[float(x)] = h
            strength = choice.strength(v.size)
            return contract(scenario, scenario.coefficients(strength),
                            np.stack([cache[float(x)] for x in v]))

    sm_value = p.default
    if par == "neutron_radius_fm" and math.isnan(sm_value):
        sm_value = default_neutron_radius_fm(model)
    initial = check_scan_range(full, p, scan_range)
    if initial is None and p.kind == "strength":
        initial = strength_scan_range(signal, p.lower, p.upper, full, upper_is_cap=cap)
    elif initial is None:  # a shape parameter with two bounds (check_scan_range refuses others)
        initial = (2.0, 10.0) if par == "neutron_radius_fm" else (float(p.lower), float(p.upper))
    if p.lower_open and initial[0] <= p.lower:
        initial = (p.lower + 1e-6 * (initial[1] - p.lower), initial[1])
    return SignalModel(spec, model, float(sm_value), initial, sigma, pieces,
                       choice.describe(), _signal=signal)
