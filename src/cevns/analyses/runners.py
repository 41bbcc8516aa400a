"""Runners of the built-in analysis kinds. Importing this module registers them."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from cevns.analyses.base import AnalysisBase, RunOptions, register_kind
from cevns.analyses.output import figure, save_figure, write_table
from cevns.analyses.spectra_bsm import NewPhysicsCurve, check_new_physics, new_physics_counts
from cevns.errors import ConfigError
from cevns.physics.constants import SIN2_THETA_W
from cevns.physics.cross_sections import check_sin2_theta_w
from cevns.physics.flux import FLAVOURS
from cevns.rates import sm_spectrum


class SpectraAnalysis(AnalysisBase):
    """SM spectra per detector with √background (paper Fig. 1)."""

    kind: Literal["spectra"]
    sin2_theta_w: float = SIN2_THETA_W
    sqrt_background: bool = True
    log_x: bool = True
    new_physics: tuple[NewPhysicsCurve, ...] = ()
    ratio_panel: bool = Field(
        default=False, description="beneath each panel, every new-physics benchmark divided by "
        "the SM total, bin by bin (needs new_physics); presentation only")

    @field_validator("sin2_theta_w")
    @classmethod
    def _sin2_in_range(cls, value: float) -> float:
        return _checked_sin2(value)

    @model_validator(mode="after")
    def _ratio_needs_benchmarks(self) -> SpectraAnalysis:
        if self.ratio_panel and not self.new_physics:
            raise ConfigError("ratio_panel = true divides the new-physics benchmarks by the SM; "
                              "this analysis has no [[new_physics]]")
        if self.new_physics:  # labels, SM-equal points, sterile reach: when the file is read
            check_new_physics(self.new_physics, self.build_detectors(), self.source.build(),
                              self.sin2_theta_w)
        return self


class EventTableAnalysis(AnalysisBase):
    """Total events per detector and flavour, signal and background."""

    kind: Literal["event-table"]
    sin2_theta_w: float = SIN2_THETA_W

    @field_validator("sin2_theta_w")
    @classmethod
    def _sin2_in_range(cls, value: float) -> float:
        return _checked_sin2(value)


def _checked_sin2(value: float) -> float:
    """An analysis's ``sin2_theta_w`` if finite and in [0, 1], when the file is read (not when
    the spectra are computed, after the output folder is written); else ConfigError."""
    return float(check_sin2_theta_w(value, "value"))


@register_kind("spectra", SpectraAnalysis, "SM spectra per detector (Fig. 1)")
def run_spectra(an: SpectraAnalysis, out: Path, options: RunOptions) -> list[Path]:
    src = an.source.build()
    dets = an.build_detectors()
    spectra = [(det, sm_spectrum(det, src, sin2_theta_w=an.sin2_theta_w)) for det in dets]
    rows = [r for _, spec in spectra for r in spec.to_rows()]
    # new-physics benchmark curves of Fig. 1 (analyses/spectra_bsm.py), computed once
    new_physics = {det.name: [(c.label, _benchmark_counts(i, c, det, src, an.sin2_theta_w))
                              for i, c in enumerate(an.new_physics)]
                   for det in dets}
    plain = {c.label: c.plain_label for c in an.new_physics}  # tables are plain text
    bsm_rows = [{"detector": name, "curve": plain[label], "total_events": float(counts.sum()),
                 "max_per_bin": float(counts.max())}
                for name, curves in new_physics.items() for label, counts in curves]
    files: list[Path] = []
    if not options.no_figures:
        files += plot_spectra(an, spectra, out, options, new_physics=new_physics)
    files += write_table(rows, out, f"{an.name}_spectra")
    if bsm_rows:
        files += write_table(bsm_rows, out, f"{an.name}_new_physics", floatfmt=".1f")
    return files


def _benchmark_counts(index: int, curve: NewPhysicsCurve, det, src,
                      sin2_theta_w: float = SIN2_THETA_W) -> np.ndarray:
    """:func:`new_physics_counts` at the analysis's ``sin2_theta_w`` (unless the benchmark's
    ``values`` set it: :meth:`NewPhysicsCurve.at_sin2_theta_w`), its errors naming the benchmark
    (``new_physics[1]``)."""
    from cevns.errors import KinematicsError

    try:
        return new_physics_counts(curve.at_sin2_theta_w(sin2_theta_w), det, src)
    except (ConfigError, KinematicsError) as exc:
        cls = KinematicsError if isinstance(exc, KinematicsError) else ConfigError
        raise cls(f"new_physics[{index}] ({curve.label!r}): {exc}") from None


def plot_spectra(an: SpectraAnalysis, spectra: list, out: Path, options: RunOptions,
                 new_physics: dict | None = None) -> list[Path]:
    """One panel per detector: CEvNS events per bin by flavour, their sum, √(background) and the
    new-physics benchmark curves (``new_physics``: detector name → [(label, counts per bin)]).

    Panel titles are the detector and its exposure; the caption goes in the report.
    """
    from cevns.analyses.style import (
        FLAVOUR_STYLES,
        FLAVOUR_TEX,
        RATIO_STRIP,
        detector_label,
        figure_legend,
        ratio_strip,
        styled,
        variant_style,
    )

    n = len(spectra)
    ncols = 1 if n == 1 else 2 if n in (2, 4) else 3
    nrows = int(np.ceil(n / ncols))
    with styled():
        n_curves = max((len(v) for v in (new_physics or {}).values()), default=0)
        n_entries = len(FLAVOURS) + 1 + int(an.sqrt_background) + n_curves
        # legend above the panels: short SM entries on one row, each long benchmark label on its own
        leg_cols = (len(FLAVOURS) + 1 + int(an.sqrt_background)) if n > 1 else 3
        leg_rows = int(np.ceil((n_entries - n_curves) / leg_cols)) + n_curves
        with_ratio = an.ratio_panel and n_curves > 0
        fig, axes = figure(nrows, ncols, width="single" if n == 1 else "double",
                           aspect=0.6 * (1.0 + RATIO_STRIP) if with_ratio else 0.6,
                           legend_rows=leg_rows, titles=True)
        ratios = []  # (strip, edges, [(style, ratio per bin)]) per panel, each on its own range
        years = an.source.build().run_years
        # with benchmarks drawn, solid lines are the SM (its flavours thin, their sum thick black)
        # and dotted or dashed ones new physics: the flavours' own dashes would mix the families
        with_bsm = any(new_physics.values()) if new_physics else False
        for ax, (det, spec) in zip(axes.flat, spectra, strict=False):
            edges = spec.edges_keVnr
            for a, f in enumerate(spec.flavours):  # the source's flavours (docs/sources.md)
                style = dict(FLAVOUR_STYLES.get(f, {}))
                if with_bsm:
                    style["linestyle"] = "-"
                # the prompt line on top: at low recoil the three nearly coincide
                ax.stairs(spec.signal[a].sum(axis=0), edges, label=FLAVOUR_TEX.get(f, f),
                          lw=0.8 if with_bsm else 0.9, zorder=2.1 if f == "numu" else 2.0,
                          **style)
            ax.stairs(spec.signal_per_bin, edges, color="k", lw=1.5, label="total CEvNS")
            curves = (new_physics or {}).get(det.name, [])
            in_strip = []
            for k, (label, counts) in enumerate(curves):
                style = variant_style(k + 3)  # purple, orange, sky blue: not the flavour colours
                ax.stairs(counts, edges, lw=1.4, label=label, color=style.get("color"),
                          linestyle=style.get("linestyle", (0, (4, 1.5))))
                sm = spec.signal_per_bin
                in_strip.append((style, np.divide(counts, sm, out=np.full(sm.shape, np.nan),
                                                  where=sm > 0)))
            if with_ratio:
                ratios.append((ratio_strip(ax), edges, in_strip))
            if an.sqrt_background:
                ax.stairs(np.sqrt(spec.background), edges, color="0.5", lw=1.0,
                          linestyle=(0, (1.2, 1.2)), label=r"$\sqrt{\mathrm{background}}$")
            if an.log_x:
                ax.set_xscale("log")
            ax.set_yscale("log")
            top = max(spec.signal_per_bin.max(), np.sqrt(spec.background).max(),
                      *(counts.max() for _, counts in curves))
            ax.set_ylim(top * 1e-4, top * 3)
            ax.set_xlim(edges[0], edges[-1])
            ax.set_title(f"{detector_label(det.name)}: {det.mass_kg:g} kg, "
                         f"{years:g} yr", fontsize=8)
            ax.set_xlabel(r"reconstructed recoil energy $E_\mathrm{nr}$ [keV]")
            ax.set_ylabel("events / bin")
        if ratios:
            _draw_sm_ratios(ratios, axes.flat)
        for ax in list(axes.flat)[n:]:
            ax.set_visible(False)
        handles, labels = axes.flat[0].get_legend_handles_labels()
        handles = [_line_handle(h) for h in handles]
        bsm = {label for curves in (new_physics or {}).values() for label, _ in curves}
        sm_h = [(h, lab) for h, lab in zip(handles, labels, strict=True) if lab not in bsm]
        bsm_h = [(h, lab) for h, lab in zip(handles, labels, strict=True) if lab in bsm]
        # SM entries in the first row(s); then one benchmark per row (long labels), as two legends
        top = figure_legend(fig, [h for h, _ in sm_h], [lab for _, lab in sm_h], ncols=leg_cols)
        if bsm_h:
            fig.add_artist(top)
            fig.legend([h for h, _ in bsm_h], [lab for _, lab in bsm_h], loc="upper center",
                       ncols=1,
                       bbox_to_anchor=(0.5, 1.0 - 0.95 * top.get_window_extent(
                           fig.canvas.get_renderer()).height / fig.bbox.height),
                       borderaxespad=0.1, frameon=False)
        return save_figure(fig, out, an.name, quick=options.quick, pdf=options.pdf,
                           on_figure=options.on_figure)


def _draw_sm_ratios(ratios, panels) -> None:
    """Fill the ratio strips of a spectra figure: each benchmark / SM per bin, in the benchmark's
    style, the SM at 1, each strip on the range of its own ratios (logarithmic when they span
    more than a factor 3, as a light sterile lepton's low-recoil excess does in Si, so that the
    few-percent effects of the heavy targets stay visible beside it); round tick values, and the
    main panel's x label moved to its strip."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    from cevns.analyses.style import ratio_range, ratio_ticks

    for (strip, edges, curves), ax in zip(ratios, panels, strict=False):
        values = [r[np.isfinite(r) & (r > 0)] for _, r in curves]
        low = min([1.0, *(float(v.min()) for v in values if v.size)])
        high = max([1.0, *(float(v.max()) for v in values if v.size)])
        strip.axhline(1.0, color="k", lw=1.0)
        for style, r in curves:
            strip.stairs(r, edges, lw=1.2, color=style.get("color"),
                         linestyle=style.get("linestyle", "-"))
        strip.set_xscale(ax.get_xscale())
        strip.set_xlim(ax.get_xlim())
        if high / low > 3.0:
            strip.set_yscale("log")
            strip.set_ylim(low / 1.3, high * 1.3)
            strip.yaxis.set_major_locator(LogLocator(base=10.0, subs=(1.0, 3.0)))
            strip.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            strip.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
        else:
            lo, hi = ratio_range([r for _, r in curves])
            strip.set_ylim(lo, hi)
            ratio_ticks(strip, lo, hi)
        strip.set_xlabel(ax.get_xlabel())
        ax.set_xlabel("")
        strip.set_ylabel("ratio to SM")


def _line_handle(stairs):
    """A line legend handle with the colour and dashes of a ``stairs`` artist."""
    from matplotlib.lines import Line2D

    return Line2D([], [], color=stairs.get_edgecolor(), linestyle=stairs.get_linestyle(),
                  linewidth=stairs.get_linewidth())


@register_kind("event-table", EventTableAnalysis, "events per detector and flavour")
def run_event_table(an: EventTableAnalysis, out: Path, options: RunOptions) -> list[Path]:
    src = an.source.build()
    rows = []
    for det in an.build_detectors():
        spec = sm_spectrum(det, src, sin2_theta_w=an.sin2_theta_w)
        row = {"detector": det.name, "bins": len(spec.background)}
        row.update({f: round(v, 2) for f, v in spec.per_flavour.items()})
        row["signal"] = round(spec.total_signal, 2)
        row["background"] = round(spec.total_background, 2)
        rows.append(row)
    where = f"{src.name} ({src.description})" if src.description else src.name  # the source used
    caption = (f"Expected events, {src.run_years:g} years at {where}, "
               f"sin²θ_W = {an.sin2_theta_w}; background over the "
               "configured exposure (see docs/assumptions.md).")
    return write_table(rows, out, an.name, floatfmt=".2f", caption=caption)
