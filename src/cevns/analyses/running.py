"""Paper Fig. 3: the MS-bar running of sin²θ_W with low-energy measurements and the ESS projection.

The curve is :func:`cevns.physics.running.sin2_theta_w_msbar`; the measurements are the cited
table ``cevns/data/sin2w_measurements.toml``; the ESS point is the combined 1σ interval of the
shipped ``table4`` analysis (computed through the scan layer, so a ``cevns reproduce`` run shares
the grid with ``table4``), drawn at the signal-weighted mean momentum transfer of the ESS detectors.

Points computed by cevns itself (a fit to real data) come from *point providers*: functions
registered with :func:`register_point` under a name and listed in the item's ``computed_points``.
The built-in ``"coherent-csi-2021"`` fits sin²θ_W to the COHERENT CsI-2021 release
(:func:`cevns.fits.fit_release`); a combined COHERENT fit registers itself the same way and is
added to ``fig3.toml`` (docs/scenarios/running.md).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from cevns.analyses.base import AnalysisBase, RunOptions, register_kind
from cevns.analyses.output import figure, save_figure, write_table
from cevns.config import StrictModel
from cevns.errors import ConfigError, UnknownNameError


class Measurement(StrictModel):
    """One determination of sin²θ_W (see the data file's header for the fields).

    ``error`` is the symmetric 1σ error, or the lower one when ``error_plus`` is given.
    ``disputed`` marks a value whose interpretation the literature disputes (drawn with an open
    marker and "disputed" in the legend); ``conversion`` states how a value quoted in another
    scheme was brought to MS-bar; ``plot_q_GeV`` draws the point at another abscissa than its
    scale (to separate two points at one scale; the table keeps ``q_GeV``).
    """

    name: str
    q_GeV: float = Field(gt=0)
    value: float = Field(gt=0, lt=1)
    error: float = Field(gt=0)
    error_plus: float | None = Field(default=None, gt=0)
    scheme: str
    reference: str
    conversion: str | None = None
    disputed: bool = False
    plot_q_GeV: float | None = Field(default=None, gt=0)
    computed: bool = False

    @property
    def errors(self) -> tuple[float, float]:
        """(minus, plus) 1σ errors."""
        return self.error, self.error if self.error_plus is None else self.error_plus


class MeasurementTable(StrictModel):
    """The data file ``sin2w_measurements.toml``."""

    schema_version: int = Field(ge=1, le=1)
    measurement: tuple[Measurement, ...]


def load_measurements() -> tuple[Measurement, ...]:
    """The cited table of published sin²θ_W determinations shipped with the package."""
    import tomllib

    from cevns.config import validate

    text = resources.files("cevns.data").joinpath("sin2w_measurements.toml").read_text("utf-8")
    return validate(MeasurementTable, tomllib.loads(text),
                    where="sin2w_measurements.toml").measurement


class RunningAnalysis(AnalysisBase):
    """sin²θ_W(μ) curve, measurements and the ESS projection (paper Fig. 3)."""

    kind: Literal["running"]
    projection: str = Field(default="table4", description="shipped profile item whose combined "
                            "interval is the ESS point")
    mu_min_GeV: float = Field(default=1e-4, gt=0)
    mu_max_GeV: float = Field(default=91.1876, gt=0)
    points: int = Field(default=300, ge=10, le=100_000)
    computed_points: tuple[str, ...] = Field(
        default=(), description="point providers (register_point) whose values cevns computes, "
        "e.g. 'coherent-csi-2021'")

    def figure_caption(self) -> str:
        """The caption of the item (its table's and the results report's):
        :func:`running_caption`."""
        return running_caption(self)

    @model_validator(mode="after")
    def _consistent(self) -> RunningAnalysis:
        """The scale range, the projection item and the point providers, when the file is read."""
        from cevns.analyses.catalogue import shipped_analysis
        from cevns.physics.running import M_Z_GEV

        if not self.mu_max_GeV <= M_Z_GEV or not self.mu_min_GeV < self.mu_max_GeV:
            raise ConfigError(f"mu_min_GeV, mu_max_GeV: need 0 < mu_min_GeV < mu_max_GeV ≤ M_Z = "
                              f"{M_Z_GEV} GeV, got {self.mu_min_GeV} and {self.mu_max_GeV}")
        try:
            proj = shipped_analysis(self.projection)
        except ConfigError as exc:
            raise ConfigError(f"projection: {exc}") from None
        scan = getattr(proj, "scan", None)
        if proj.kind != "profile" or scan is None or scan.parameter != "sin2_theta_w":
            raise ConfigError(f"projection: {self.projection!r} is not a sin2_theta_w profile "
                              "(e.g. table4)")
        ignored = self._ignored_keys(proj)
        if ignored:
            raise ConfigError(
                f"{', '.join(ignored)}: {'does' if len(ignored) == 1 else 'do'} not apply to a "
                "'running' analysis: its ESS point is the combined interval of the shipped profile "
                f"item named by the key projection (here {self.projection!r}), computed with that "
                "item's detectors, source and detector settings; remove "
                f"{'it' if len(ignored) == 1 else 'them'} (choose the ESS point with projection)")
        for i, name in enumerate(self.computed_points):
            if name in self.computed_points[:i]:  # it would be computed (and drawn) twice
                raise ConfigError(f"computed_points[{i}]: {name!r} is listed twice "
                                  f"(computed_points[{self.computed_points.index(name)}]); "
                                  "list each point once")
            if name not in _POINTS:
                raise ConfigError(f"computed_points.{i}: "
                                  f"{UnknownNameError('computed sin²θ_W point', name, _POINTS)}")
        return self

    def _ignored_keys(self, proj: AnalysisBase) -> list[str]:
        """The keys of the common header that would change the ESS point but cannot: it is
        ``proj``'s (:func:`ess_momentum_transfer_GeV` of the projection item). A key is accepted
        if left out or equal to the projection's; ``detectors`` also at its default (what a
        ``config.json`` of a file without it records)."""
        names = (self.detectors if "detectors" in self.model_fields_set else proj.detectors)
        ignored = [] if names in (proj.detectors, type(self).model_fields["detectors"].default) \
            else ["detectors"]
        ignored += [f"detector.{n}" for n in proj.detectors  # an inline [detector.NAME]
                    if n in self.detector and self.detector[n] != proj.detector.get(n)]
        mine, theirs = self.source, proj.source
        if ((mine.preset, mine.run_years, mine.baseline_m, mine.definitions.get(mine.preset))
                != (theirs.preset, theirs.run_years, theirs.baseline_m,
                    theirs.definitions.get(theirs.preset))):
            ignored.append("source")
        ignored += [key for key in ("detector_overrides", "helm_skin_fm")
                    if getattr(self, key) != getattr(proj, key)]
        return ignored


#: A point provider: (analysis, run options) → the computed measurement.
PointProvider = Callable[[RunningAnalysis, RunOptions], Measurement]
_POINTS: dict[str, PointProvider] = {}


def register_point(name: str) -> Callable[[PointProvider], PointProvider]:
    """Register a provider of a sin²θ_W point computed by cevns, under ``name`` (a decorator).

    The provider is called as ``provider(analysis, options)`` when ``name`` is listed in an item's
    ``computed_points`` and returns a :class:`Measurement` (with ``computed=True``). Like the other
    registries (``register_scenario``, ``register_overlay``): a name that is not a slug, a name
    another provider has, and a provider that is not a function of two arguments are a
    :class:`ConfigError`; registering the same function again changes nothing.
    """
    import inspect

    from cevns.plugins import name_problem, record

    if not isinstance(name, str) or not name:
        raise ConfigError(f"register_point: a point provider name must be a non-empty string, "
                          f"got {name!r}")
    problem = name_problem(name, "point provider")
    if problem:
        raise ConfigError(f"register_point: {problem}")

    def deco(func: PointProvider) -> PointProvider:
        where = f"register_point({name!r})"
        known = _POINTS.get(name)
        if known is not None and known is not func:
            raise ConfigError(f"{where}: the sin²θ_W point provider name {name!r} is already "
                              f"taken by {getattr(known, '__module__', '?')}."
                              f"{getattr(known, '__qualname__', repr(known))} (a provider of "
                              "that name is already registered); choose another name")
        if isinstance(func, type) or not callable(func):
            raise ConfigError(f"{where}: expected a function (analysis, options) → Measurement, "
                              f"got {func!r}")
        try:
            signature = inspect.signature(func)
        except (TypeError, ValueError):  # a builtin without a signature: trust it
            signature = None
        if signature is not None:
            try:
                signature.bind(None, None)
            except TypeError:
                shown = getattr(func, "__qualname__", repr(func))
                raise ConfigError(f"{where}: the provider {shown}{signature} cannot be called "
                                  "as provider(analysis, options)") from None
        _POINTS[name] = func
        record("point provider", name, func)  # an exception in its code is the plug-in's
        return func
    return deco


def point_provider_names() -> list[str]:
    """Names of the registered point providers."""
    return sorted(_POINTS)


def computed_point(name: str, an: RunningAnalysis, options: RunOptions) -> Measurement:
    """The point of provider ``name``; an unknown name is an error listing the valid ones."""
    if name not in _POINTS:
        raise UnknownNameError("computed sin²θ_W point", name, point_provider_names())
    try:
        point = _POINTS[name](an, options)
    except ConfigError as exc:  # e.g. an invalid Measurement built by the provider: say whose
        raise ConfigError(f"point provider {name!r}: {exc}") from exc
    if not isinstance(point, Measurement):
        raise ConfigError(f"point provider {name!r} returned {type(point).__name__}, "
                          "not a cevns.analyses.running.Measurement")
    return point


def ess_momentum_transfer_GeV(an: AnalysisBase) -> float:
    """Signal-weighted mean ``|q|`` = ⟨√(2 m_A T)⟩ [GeV] of the SM spectra of ``an``'s detectors.

    T at the reconstructed bin centres, m_A the abundance-weighted mean nuclear mass of each
    detector: a representative scale for plotting, not an input of any fit.
    """
    from cevns.physics.units import GeV
    from cevns.rates import sm_spectrum

    src = an.source.build()
    num = den = 0.0
    for det in an.build_detectors():
        spec = sm_spectrum(det, src)
        centres = 0.5 * (spec.edges_keVnr[1:] + spec.edges_keVnr[:-1])
        weights = np.array([w for _, w in det.nuclei], dtype=float)
        mass = float(np.sum([nuc.mass * w for nuc, w in det.nuclei]) / weights.sum())
        from cevns.physics.units import keV

        q = np.sqrt(2.0 * mass * centres * keV)
        num += float(np.sum(spec.signal_per_bin * q))
        den += float(np.sum(spec.signal_per_bin))
    return num / den / GeV


def release_momentum_transfer_GeV(model) -> float:
    """Detected-signal-weighted mean ``|q|`` = ⟨√(2 m_A T)⟩ [GeV] of a COHERENT release model.

    The SM node rates of each nucleus are weighted by √(2 m_A T) and folded through the release's
    own response (quenching, efficiency, binning, timing), so the mean is over *detected* events:
    a representative scale for plotting, not an input of any fit.
    """
    from cevns.physics.basis import SMBasis
    from cevns.physics.constants import SIN2_THETA_W
    from cevns.physics.cross_sections import sm_basis_coefficients
    from cevns.physics.units import GeV

    rates = np.einsum("j,jfkn->fkn", sm_basis_coefficients(SIN2_THETA_W),
                      model.node_rates(SMBasis()))
    q = np.sqrt(2.0 * np.array([nuc.mass for nuc in model.nuclei])[:, None] * model.nodes[None, :])
    num = float(np.sum(model.fold(np.sum(rates * q[None], axis=1))))
    den = float(np.sum(model.fold(np.sum(rates, axis=1))))
    return num / den / GeV


@register_point("coherent-csi-2021")
def coherent_csi_2021_point(an: RunningAnalysis, options: RunOptions) -> Measurement:
    """sin²θ_W fitted by cevns to the COHERENT CsI-2021 data release (1σ profile interval).

    :func:`cevns.fits.fit_release` with the neutron radius at its default (the correlation with
    R_n is not profiled here), drawn at the release's detected-signal-weighted ⟨|q|⟩.
    """
    from cevns.fits import fit_release

    result = fit_release("coherent-csi-2021", ["sin2_theta_w"], cross_check=False)
    fit = result["sin2_theta_w"]
    return Measurement(
        name="COHERENT CsI (our fit)", q_GeV=release_momentum_transfer_GeV(result.model),
        value=fit.best, error=fit.best - fit.lower, error_plus=fit.upper - fit.best,
        scheme="MS-bar (tree-level CEvNS, sin²θ_W free, R_n at the default Helm radius)",
        reference="this package: cevns fit coherent-csi-2021 -p sin2_theta_w (docs/coherent.md); "
                  "data: Akimov et al. (COHERENT), PRL 129, 081801 (2022)",
        computed=True)


def _moved_markers(meas) -> str:
    """The caption's sentence on markers drawn at another scale than their Q (or nothing)."""
    moved = [f"{m.name} (Q = {m.q_GeV:g} GeV) at {m.plot_q_GeV:g} GeV" for m in meas
             if m.plot_q_GeV is not None and m.plot_q_GeV != m.q_GeV]
    if not moved:
        return ""
    return (" Drawn at another scale than their Q, so that no marker hides another: "
            + "; ".join(moved) + " (the table gives Q).")


def running_caption(an, meas=None) -> str:
    """The caption of a ``running`` item (its table's and the results report's): what the curve
    is, where the ESS point sits, which points are converted, disputed or ours, and which markers
    are drawn at another scale than their Q (`meas`: the measurements drawn; default the cited
    table)."""
    meas = load_measurements() if meas is None else meas
    return (f"{an.title.rstrip('.')}. Curve: one-loop MS-bar running (docs/scenarios/running.md), "
            "anchored at sin²θ_W(M_Z) = 0.23122 and sin²θ_W(0) = 0.23857; ESS point at the "
            "signal-weighted mean momentum transfer. NuTeV is converted from the on-shell "
            "scheme (see the scheme column) and disputed; the COHERENT CsI point is our own "
            "fit to the data release. The paper's own point values were lost from its text; "
            "the ESS error is ours." + _moved_markers(meas))


def _plot_running(an, mu, curve, meas, ess, years: float, out: Path, options) -> list[Path]:
    """The running curve, the measurements and the ESS projection (house style, one column).

    Published points: filled markers; disputed ones: open markers and "disputed" in the legend;
    points computed by cevns from real data: filled markers with a white edge.
    """
    from cevns.analyses.style import OKABE_ITO, place_legend, styled

    q_ess, best, lo, hi = ess
    # one colour and marker per determination (Okabe-Ito; vermillion is the ESS point); a name
    # not listed (a user's table, a new provider) cycles through the rest
    styles = {"APV (Cs)": ("orange", "o"), "Qweak": ("skyblue", "s"), "E158": ("green", "D"),
              "PVDIS": ("blue", "^"), "NuTeV": ("purple", "v"), "NuTeV, reanalysed": ("purple", "<"),
              "Z pole": ("black", "h"),
              # grey: the SM curve and the Z pole are black, and this point is ours
              "COHERENT CsI (our fit)": ("0.45", "s")}
    spare = [("black", "s"), ("orange", "d"), ("skyblue", ">"), ("green", "p")]
    with styled():
        fig, axes = figure(width="single", aspect=0.85, legend_rows=0, left_in=0.62)
        ax = axes[0, 0]
        ax.plot(mu, curve, color="k", lw=1.2, label=r"SM running ($\overline{\rm MS}$)")
        for i, m in enumerate(meas):
            colour, marker = styles.get(m.name, spare[i % len(spare)])
            # an angle quoted in another scheme and not converted says so where it is drawn
            label = (m.name + (r" ($\sin^2\theta_{\rm eff}$)" if m.scheme.startswith("effective")
                               else "")
                     + (", disputed" if m.disputed else ""))
            kw = {"mfc": "white"} if m.disputed else {}
            if m.computed:
                kw = {"mec": "white", "mew": 0.5, "ms": 4.5}
            ax.errorbar(m.plot_q_GeV or m.q_GeV, m.value, yerr=[[m.errors[0]], [m.errors[1]]],
                        fmt=marker, capsize=1.5, lw=0.8, color=OKABE_ITO.get(colour, colour),
                        label=label, **{"ms": 3.5, **kw})
        ax.errorbar(q_ess, best, yerr=[[best - lo], [hi - best]], fmt="*", ms=7, capsize=2,
                    lw=0.9, color=OKABE_ITO["vermillion"],
                    label=f"ESS projection ({years:g} yr, 1σ)")
        ax.set_xscale("log")
        ax.set_xlim(an.mu_min_GeV, an.mu_max_GeV * 1.5)
        ax.set_xlabel(r"renormalisation scale $\mu$ [GeV]")
        ax.set_ylabel(r"$\sin^2\theta_W(\mu)$ ($\overline{\rm MS}$)")
        handles, labels = ax.get_legend_handles_labels()
        place_legend(ax, handles, labels, outside="above", ncols=2)
        return save_figure(fig, out, an.name, quick=options.quick, pdf=options.pdf,
                           on_figure=options.on_figure)


@register_kind("running", RunningAnalysis, "MS-bar running of sin²θ_W with measurements (Fig. 3)")
def run_running(an: RunningAnalysis, out: Path, options: RunOptions) -> list[Path]:
    from cevns.analyses.catalogue import shipped_analysis
    from cevns.analyses.sensitivity import ProfileAnalysis, scan_chi2
    from cevns.physics.running import M_Z_GEV, sin2_theta_w_msbar
    from cevns.stats import Profile1D

    proj = shipped_analysis(an.projection)  # scale range and projection checked on reading
    if not isinstance(proj, ProfileAnalysis) or proj.scan.parameter != "sin2_theta_w":
        raise ConfigError(f"{an.name}.projection: {an.projection!r} is not a sin2_theta_w profile")
    chi2 = scan_chi2(proj, out, options)["combined"]
    x = proj.scan.grid(options.quick)
    prof = Profile1D(x, chi2 - np.nanmin(chi2), parameter="sin2_theta_w", label="combined")
    pieces = prof.interval("1sigma_1dof")
    if not pieces:
        raise ConfigError(f"{an.name}: no 1σ interval in {an.projection}")
    lo, hi, best = pieces[0].lower, pieces[-1].upper, prof.best
    q_ess = ess_momentum_transfer_GeV(proj)

    mu = np.geomspace(an.mu_min_GeV, an.mu_max_GeV, an.points)
    curve = sin2_theta_w_msbar(mu)
    meas = load_measurements() + tuple(computed_point(name, an, options)
                                       for name in an.computed_points)

    files: list[Path] = []
    if not options.no_figures:
        files += _plot_running(an, mu, curve, meas, (q_ess, best, lo, hi),
                               proj.source.build().run_years, out, options)

    rows = [{"item": m.name + (" (disputed)" if m.disputed else ""), "Q_GeV": m.q_GeV,
             "sin2_theta_w": m.value, "error_minus": m.errors[0], "error_plus": m.errors[1],
             "running_at_Q": float(sin2_theta_w_msbar(min(m.q_GeV, M_Z_GEV))),
             "scheme": m.scheme + (f"; converted: {m.conversion}" if m.conversion else ""),
             "reference": m.reference} for m in meas]
    rows.append({"item": "ESS projection (this work)", "Q_GeV": q_ess, "sin2_theta_w": best,
                 "error_minus": best - lo, "error_plus": hi - best,
                 "running_at_Q": float(sin2_theta_w_msbar(q_ess)),
                 "scheme": "MS-bar (Asimov data at sin²θ_W(0) = 0.23857)",
                 "reference": f"cevns reproduce --only {an.projection}"})
    files += write_table(rows, out, an.name, floatfmt=".5g", caption=running_caption(an, meas))
    curve_path = out / f"{an.name}_curve.csv"
    np.savetxt(curve_path, np.column_stack([mu, curve]), delimiter=",",
               header="mu_GeV,sin2_theta_w_msbar", comments="", fmt="%.8g")
    files.append(curve_path)
    return files


__all__ = ["Measurement", "PointProvider", "RunningAnalysis", "computed_point",
           "ess_momentum_transfer_GeV", "load_measurements", "point_provider_names",
           "register_point", "release_momentum_transfer_GeV"]
