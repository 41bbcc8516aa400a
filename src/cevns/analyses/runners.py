"""Runners of the built-in analysis kinds. Importing this module registers them."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np

from cevns.analyses.base import AnalysisBase, RunOptions, register_kind
from cevns.analyses.output import figure, save_figure, write_table
from cevns.analyses.spectra_bsm import NewPhysicsCurve, draw_new_physics
from cevns.physics.constants import SIN2_THETA_W
from cevns.physics.flux import FLAVOUR_LABELS, FLAVOURS
from cevns.rates import sm_spectrum


class SpectraAnalysis(AnalysisBase):
    """SM spectra per detector with √background (paper Fig. 1)."""

    kind: Literal["spectra"]
    sin2_theta_w: float = SIN2_THETA_W
    sqrt_background: bool = True
    log_x: bool = True
    new_physics: tuple[NewPhysicsCurve, ...] = ()


class EventTableAnalysis(AnalysisBase):
    """Total events per detector and flavour, signal and background."""

    kind: Literal["event-table"]
    sin2_theta_w: float = SIN2_THETA_W


@register_kind("spectra", SpectraAnalysis, "SM spectra per detector (Fig. 1)")
def run_spectra(an: SpectraAnalysis, out: Path, options: RunOptions) -> list[Path]:
    src = an.source.build()
    dets = an.build_detectors()
    n = len(dets)
    ncols = 2 if n > 1 else 1
    nrows = int(np.ceil(n / ncols))
    fig, axes = figure(nrows, ncols, figsize=(5.2 * ncols, 3.8 * nrows), squeeze=False,
                       layout="constrained")
    rows, bsm_rows = [], []
    for ax, det in zip(axes.flat, dets, strict=False):
        spec = sm_spectrum(det, src, sin2_theta_w=an.sin2_theta_w)
        edges = spec.edges_keVnr
        for a, f in enumerate(FLAVOURS):
            ax.stairs(spec.signal[a].sum(axis=0), edges, label=FLAVOUR_LABELS[f], lw=1)
        ax.stairs(spec.signal_per_bin, edges, color="k", lw=1.6, label="total CEvNS")
        drawn = draw_new_physics(ax, an.new_physics, det, src, edges)
        bsm_rows += drawn
        if an.sqrt_background:
            ax.stairs(np.sqrt(spec.background), edges, color="grey", ls="--", label="√SSB")
        if an.log_x:
            ax.set_xscale("log")
        ax.set_yscale("log")
        top = max(spec.signal_per_bin.max(), np.sqrt(spec.background).max(),
                  *(r["max_per_bin"] for r in drawn))
        ax.set_ylim(top * 1e-4, top * 3)
        ax.set_title(f"{det.name} ({det.mass_kg:g} kg, {src.run_years:g} yr)")
        ax.set_xlabel("reconstructed recoil energy [keVnr]")
        ax.set_ylabel("events / bin")
        rows.extend(spec.to_rows())
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(an.title)
    files = save_figure(fig, out, an.name, quick=options.quick)
    files += write_table(rows, out, f"{an.name}_spectra")
    if bsm_rows:
        files += write_table(bsm_rows, out, f"{an.name}_new_physics", floatfmt=".1f")
    return files


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
    caption = (f"Expected events, {src.run_years:g} years at the ESS "
               f"(sin²θ_W = {an.sin2_theta_w}); background over the "
               "configured exposure (see docs/assumptions.md).")
    return write_table(rows, out, an.name, floatfmt=".2f", caption=caption)
