"""Paper Appendix B: how much the sensitivities gain from lower recoil thresholds.

The paper varies the threshold of CsI (5 → 1 keVnr) and Si (5 → 0.16 keVnr) for three physics
cases — the weak mixing angle, the light vector (B−L) mediator and the sterile dipole portal
(μ_νe and μ_νμ) — and quotes improvement factors (their values did not survive in the paper's
text). Kind ``threshold-study`` computes, per detector and case, the sensitivity at each threshold
and the factor

    improvement = (sensitivity at the high threshold) / (sensitivity at the nominal threshold),

where the sensitivity is the 1σ half-width for an ``interval`` case (sin²θ_W) and the upper limit
on the strength parameter for a ``limit`` case (coupling g, μ_eff) at a fixed shape (mediator or
sterile mass). Factors > 1 mean the low threshold helps.

Each case is a one-parameter Δχ² profile per detector (Asimov data, the statistics of
:class:`~cevns.analyses.sensitivity.StatsSpec`), computed with
:func:`~cevns.analyses.sensitivity.chi2_grid`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from cevns.analyses.base import AnalysisBase, RunOptions, register_kind
from cevns.analyses.mathtext import MathText
from cevns.analyses.output import figure, save_figure, write_table
from cevns.config import StrictModel
from cevns.errors import ConfigError


class ThresholdCase(StrictModel):
    """One physics case of the threshold study."""

    label: MathText
    type: Literal["interval", "limit"]
    scenario: dict[str, Any]
    scan: dict[str, Any]
    fixed: dict[str, float] = {}
    level: str = "1sigma_1dof"


class ThresholdStudy(AnalysisBase):
    """Sensitivity at the nominal and at a raised threshold, per detector and case."""

    kind: Literal["threshold-study"]
    raised_threshold_keVnr: float = Field(default=5.0, gt=0)
    cases: tuple[ThresholdCase, ...]

    def figure_caption(self) -> str:
        """The caption of the item (its table's and the results report's), naming every case
        with its masses (the figure's tick labels are short)."""
        return (f"{self.title.rstrip('.')}. Improvement = sensitivity at "
                f"{self.raised_threshold_keVnr:g} keVnr / at the nominal threshold (1σ half-width "
                "for sin²θ_W, upper limit otherwise; > 1: the lower threshold helps). Cases: "
                f"{'; '.join(c.label for c in self.cases)}. The paper's own factors did not "
                "survive in its text, so there is no reference column.")

    @model_validator(mode="after")
    def _cases(self) -> ThresholdStudy:
        """Every case for every detector at both thresholds is a valid profile analysis, and the
        raised threshold lies above every detector's nominal one, when the file is read."""
        for det, built in zip(self.detectors, self.build_detectors(), strict=True):
            if not self.raised_threshold_keVnr > built.threshold_keVnr:
                raise ConfigError(f"raised_threshold_keVnr = {self.raised_threshold_keVnr:g} is "
                                  f"not above the nominal threshold of {det} "
                                  f"({built.threshold_keVnr:g} keVnr)")
            for case in self.cases:
                for threshold in (None, self.raised_threshold_keVnr):
                    _case_analysis(self, case, det, threshold)
        return self


def _case_analysis(an: ThresholdStudy, case: ThresholdCase, det: str, threshold: float | None):
    """The profile analysis of one case for one detector (at ``threshold`` keVnr if given)."""
    from cevns.analyses.base import parse_analysis

    over = dict(an.detector_overrides.get(det, {}))
    if threshold is not None:
        over["threshold_keVnr"] = threshold
    doc = {"schema_version": 1, "name": "appB", "title": "appB", "kind": "profile",
           "detectors": [det], "source": an.source.model_dump(exclude_none=True),
           "detector": {det: an.detector[det]},  # the resolved definition (docs/catalogue.md)
           "detector_overrides": {det: over} if over else {},
           # the analysis-level Helm skin (a per-detector override still wins over it)
           **({"helm_skin_fm": an.helm_skin_fm} if an.helm_skin_fm is not None else {}),
           "scenario": case.scenario, "scan": case.scan, "fixed": case.fixed,
           "stats": {"combine": False, "levels": [case.level]}}
    return parse_analysis(doc, where=f"{an.name}.cases[{case.label}]")


def _sensitivity(an: ThresholdStudy, case: ThresholdCase, det: str,
                 threshold: float | None, quick: bool) -> float:
    from cevns.analyses.sensitivity import chi2_grid
    from cevns.stats import Profile1D

    prof_an = _case_analysis(an, case, det, threshold)
    x = prof_an.scan.grid(quick)
    chi2 = chi2_grid(prof_an, quick=quick)[det]
    prof = Profile1D(x, chi2 - np.nanmin(chi2), parameter=prof_an.scan.parameter)
    pieces = prof.interval(case.level)
    if not pieces or pieces[-1].upper_open:
        raise ConfigError(f"{an.name}: case {case.label!r} for {det} does not close inside the "
                          f"scan range; extend scan.stop")
    if case.type == "interval":
        if pieces[0].lower_open:
            raise ConfigError(f"{an.name}: case {case.label!r} for {det}: the interval is open "
                              "below; extend scan.start")
        return 0.5 * (pieces[-1].upper - pieces[0].lower)
    return pieces[-1].upper


_MATHTEXT = (("sin²θ_W", r"$\sin^2\theta_W$"), ("m_V", r"$m_V$"), ("dipole μ_νe", "dipole\n$\\mu_{\\nu_e}$"),
             ("dipole μ_νμ", "dipole\n$\\mu_{\\nu_\\mu}$"), ("m₄", r"$m_4$"),
             ("light vector B−L", "light vector\n($B-L$)"), (", ", "\n"))


def _display(label: str) -> str:
    """A case label as a short mathtext tick label (the masses are in the table and caption)."""
    label = label.split(",")[0]
    for plain, math in _MATHTEXT:
        label = label.replace(plain, math)
    return label


def _plot_factors(an, rows: list[dict], out: Path, options) -> list[Path]:
    """Improvement factors per case, one bar per detector (house style, one column)."""
    from cevns.analyses.style import detector_label, detector_style, place_legend, styled

    labels = [c.label for c in an.cases]
    width = 0.8 / len(an.detectors)
    with styled():
        fig, axes = figure(width="single", aspect=0.75, legend_rows=0, bottom_in=0.6,
                           left_in=0.62)
        ax = axes[0, 0]
        for i, det in enumerate(an.detectors):
            vals = [next(r["improvement"] for r in rows if r["detector"] == det and r["case"] == c)
                    for c in labels]
            pos = np.arange(len(labels)) + (i - (len(an.detectors) - 1) / 2) * width
            thr = next(r["nominal_threshold_keVnr"] for r in rows if r["detector"] == det)
            label = (f"{detector_label(det)}: {an.raised_threshold_keVnr:g} → {thr:g} "
                     r"keV$_\mathrm{nr}$")
            ax.bar(pos, vals, width, color=detector_style(det)["color"], label=label)
        ax.axhline(1.0, color="0.5", lw=0.8)
        ax.set_xticks(np.arange(len(labels)), [_display(lab) for lab in labels], fontsize=6.5)
        ax.set_ylabel("improvement factor\n(ratio: raised / nominal threshold)")
        ax.set_xlabel("physics case (masses in the caption)")
        ax.set_ylim(0, max(r["improvement"] for r in rows) * 1.22)
        handles, names = ax.get_legend_handles_labels()
        place_legend(ax, handles, names, outside="above", ncols=1)
        return save_figure(fig, out, an.name, quick=options.quick, pdf=options.pdf,
                           on_figure=options.on_figure)


@register_kind("threshold-study", ThresholdStudy, "threshold dependence (Appendix B)")
def run_threshold_study(an: ThresholdStudy, out: Path, options: RunOptions) -> list[Path]:
    rows = []
    built = dict(zip(an.detectors, an.build_detectors(), strict=True))  # overrides applied
    for det in an.detectors:
        nominal_thr = float(built[det].threshold_keVnr)
        for case in an.cases:
            nominal = _sensitivity(an, case, det, None, options.quick)
            raised = _sensitivity(an, case, det, an.raised_threshold_keVnr, options.quick)
            rows.append({"detector": det, "case": case.label,
                         "quantity": "1σ half-width" if case.type == "interval"
                         else f"upper limit ({case.level})",
                         "nominal_threshold_keVnr": nominal_thr, "at_nominal": nominal,
                         "raised_threshold_keVnr": an.raised_threshold_keVnr,
                         "at_raised": raised, "improvement": raised / nominal})
    files: list[Path] = []
    if not options.no_figures:
        files += _plot_factors(an, rows, out, options)
    files += write_table(rows, out, an.name, floatfmt=".4g", caption=an.figure_caption())
    return files


__all__ = ["ThresholdCase", "ThresholdStudy"]
