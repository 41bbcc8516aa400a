"""Tables and figures of a fit: ``fit.csv``/``fit.md``, ``prediction.csv``/``.md``, profiles,
data-versus-fit projections (PNG; PDF too with ``pdf=True``; none with ``no_figures=True``) and
``provenance.json``.

Files written by :func:`write_outputs` (``FitResult.write``):

===========================  ======================================================================
``fit.csv``, ``fit.md``      one row per fitted parameter: ``parameter, unit, best, lower, upper``
                             (1σ), ``limit_90cl`` (couplings), ``sm`` (the parameter's SM value; for
                             ``n_cevns`` our SM count), the collaboration's value and 1σ edges where
                             stated, the iminuit cross-check, χ²_min, the signal prior, wall time,
                             ``sm_cevns`` / ``published_sm_cevns`` (SM CEvNS counts: ours and the
                             collaboration's)
``prediction.csv``, ``.md``  our SM CEvNS count next to the collaboration's prediction
``profile_<p>.csv``          the profiled χ² on the fine grid
``profile_<p>.png``          Δχ² against the parameter (``.pdf`` too with ``pdf=True``)
``data_vs_fit.png``          data and the best fit (of ``n_cevns`` if fitted, else the first
                             parameter) projected on each axis (energy, time, F90 for LAr); lower
                             row: data minus fitted backgrounds against the fitted and SM CEvNS
``provenance.json``          versions, git revision, options, files, timings
===========================  ======================================================================
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cevns.fits.parameters import sm_signal
from cevns.provenance import provenance_record

if TYPE_CHECKING:  # pragma: no cover
    from cevns.fits.fit import FitResult, ParameterFit

__all__ = ["comparison_table", "markdown_table", "summary_table", "write_combined_outputs",
           "write_comparison_table", "write_outputs"]

_COLOURS = {"steady_state": "0.65", "brn": "tab:orange", "delayed_brn": "tab:brown",
            "nin": "tab:brown", "cevns": "tab:blue"}
_LABELS = {"steady_state": "steady state", "brn": "prompt BRN", "delayed_brn": "delayed BRN",
           "nin": "NIN", "cevns": "CEvNS (fit)"}
_AXIS_LABELS = {"energy": "energy", "time": r"time [$\mu$s]", "f90": "F90"}


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float | int | np.floating):
        return f"{float(value):.{digits}g}"
    return str(value)


def _write_csv(rows: list[dict[str, Any]], path: Path) -> Path:
    """Write ``rows`` as CSV, atomically (:func:`cevns.fsio.atomic_open`: temporary file, then
    rename)."""
    from cevns.fsio import atomic_open

    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    with atomic_open(path, "wb", fsync=False) as fh:
        fh.write(text.getvalue().encode("utf-8"))
    return path


def _write_text(path: Path, text: str) -> Path:
    """Write a Markdown table, atomically (:func:`cevns.fsio.atomic_open`)."""
    from cevns.fsio import atomic_open

    with atomic_open(path, "w", fsync=False) as fh:
        fh.write(text)
    return path


def markdown_table(result: FitResult) -> str:
    """The fit results of one release as Markdown (what ``fit.md`` holds)."""
    pred = result.prediction_row()
    lines = [f"## {result.release}", "",
             f"Fitted window: {pred['window']}; {result.model.observed.sum():g} events observed.",
             ""]
    if pred["published"] is not None:
        lines.append(f"SM prediction (this package): {pred['sm_prediction']:.1f} CEvNS events; "
                     f"collaboration: {pred['published']:g} ± {pred['published_uncertainty']:g} "
                     f"({pred['difference_percent']:+.1f} %). Source: {pred['published_source']}.")
    else:
        lines.append(f"SM prediction (this package): {pred['sm_prediction']:.1f} CEvNS events; "
                     "the release states none.")
    lines += ["", "| parameter | best | 1σ interval | 90 % C.L. limit | SM | published | "
              "iminuit (MINOS) | signal prior | time [s] |", "|---|---|---|---|---|---|---|---|---|"]
    for fit in result.fits.values():
        row = fit.row()
        unit = f" {row['unit']}" if row["unit"] else ""
        pub = ""
        if fit.published is not None:
            p = fit.published
            pub = f"{p.value:g} ± {p.uncertainty:g}" if p.uncertainty else f"{p.value:g}"
        m = fit.minuit
        mn = ""
        if m is not None:
            mn = (f"{m.best:.4g} [{_fmt(m.lower) or '—'}, {_fmt(m.upper) or '—'}]"
                  + ("" if m.valid else " (invalid)"))
        prior = "free" if row["signal_sigma"] is None else f"{100 * row['signal_sigma']:.1f} %"
        lines.append(
            f"| {fit.name}{unit} | {fit.best:.4g} | [{fit.lower:.4g}, {fit.upper:.4g}] | "
            f"{_fmt(fit.limit_90cl)} | {_fmt(row['sm'])} | {pub} | {mn} | {prior} | "
            f"{fit.runtime_s:.2f} |")
    notes = []
    for fit in result.fits.values():
        notes.extend(f"- {fit.name}: {note}" for note in fit.notes)
        opts = fit.signal_model.options
        if opts:
            notes.append(f"- {fit.name}: " + ", ".join(f"{k} = {v}" for k, v in opts.items()))
    if notes:
        lines += ["", *notes]
    lines.append("")
    return "\n".join(lines)


def summary_table(results: list[FitResult]) -> str:
    """One Markdown table for several releases: SM prediction and every fitted parameter.

    This is the results table of ``docs/coherent.md`` ("Fits"); the tests regenerate it and
    compare the numbers.
    """
    lines = ["| release | quantity | this package: best | 1σ interval | 90 % C.L. | SM | "
             "collaboration |", "|---|---|---|---|---|---|---|"]
    for result in results:
        pred = result.prediction_row()
        pub = (f"{pred['published']:g} ± {pred['published_uncertainty']:g}"
               if pred["published"] is not None else "—")
        lines.append(f"| {result.release} | SM prediction [events] | {result.sm_prediction:.1f} | "
                     f"| | | {pub} |")
        for fit in result.fits.values():
            unit = f" [{fit.spec.unit}]" if fit.spec.unit else ""
            p = fit.published
            pub = f"{p.value:g} ± {p.uncertainty:g}" if p is not None and p.uncertainty else "—"
            lines.append(
                f"| {result.release} | {fit.name}{unit} | {fit.best:.4g} | "
                f"[{fit.lower:.4g}, {fit.upper:.4g}] | {_fmt(fit.limit_90cl)} | "
                f"{fit.signal_model.sm_value:.4g} | {pub} |")
    return "\n".join(lines) + "\n"


def _figure(nrows: int, ncols: int, **kwargs):
    """A figure on its own Agg canvas: no pyplot, no ``matplotlib.use`` (a notebook keeps its
    backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=kwargs.pop("figsize", None), layout=kwargs.pop("layout", None))
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def _save(fig, out: Path, stem: str, pdf: bool = False) -> list[Path]:
    """Write ``stem.png`` (and ``stem.pdf`` if asked, as ``cevns run --pdf``); return the paths.

    Each file is written under a temporary name in the folder and renamed onto its own
    (:func:`cevns.fsio.atomic_open`, as the figures of ``cevns run``): a failure or an
    interrupt while drawing leaves the figure of an earlier run whole and no temporary behind.
    """
    from cevns.fsio import atomic_open

    paths = [out / f"{stem}.png"] + ([out / f"{stem}.pdf"] if pdf else [])
    for path, kwargs in zip(paths, ({"dpi": 130}, {}), strict=False):
        with atomic_open(path, "wb", fsync=False) as fh:
            fig.savefig(fh, format=path.suffix[1:], bbox_inches="tight", **kwargs)
    return paths


def _figure_options(pdf: object, no_figures: object) -> None:
    """``pdf`` and ``no_figures`` are booleans and not both true (the rule of ``cevns run``)."""
    from cevns.errors import ConfigError

    for name, value in (("pdf", pdf), ("no_figures", no_figures)):
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be True or False, got {value!r}")
    if pdf and no_figures:
        raise ConfigError("pdf=True writes every figure also as PDF, no_figures=True writes no "
                          "figure: give one of them")


def _steps(ax, edges, values, **kwargs):
    ax.stairs(values, edges, **kwargs)


def plot_data_vs_fit(result: FitResult, fit: ParameterFit, out: Path, *,
                     pdf: bool = False) -> list[Path]:
    """Data and best fit projected on every axis of the release (PNG; PDF too if ``pdf``)."""
    model = result.model
    hist = model.release.observed
    expected = {k: model.unflatten(v) for k, v in fit.expected().items()}
    sm = model.unflatten(sm_signal(model))
    data = hist.counts
    axes_list = hist.axes
    fig, axs = _figure(2, len(axes_list), figsize=(4.2 * len(axes_list), 6.4), squeeze=False,
                       gridspec_kw={"height_ratios": [2, 1.3]}, sharex="col")
    order = [k for k in ("steady_state", "brn", "delayed_brn", "nin") if k in expected] + ["cevns"]
    for col, axis in enumerate(axes_list):
        others = tuple(i for i in range(len(axes_list)) if i != col)
        edges = axis.edges
        centres = axis.centers
        top, bottom = axs[0, col], axs[1, col]
        # unequal bins (CsI-2021's collaboration binning) are drawn per unit of the axis
        widths = np.diff(edges)
        per_unit = not np.allclose(widths, widths[0])
        scale = 1.0 / widths if per_unit else np.ones(axis.size)
        unit_label = "µs" if axis.unit == "us" else axis.unit
        per = f"events / {unit_label}" if per_unit and axis.unit else "events / bin"
        base = np.zeros(axis.size)
        for name in order:
            part = expected[name].sum(axis=others) * scale
            top.fill_between(edges, np.append(base + part, (base + part)[-1]),
                             np.append(base, base[-1]), step="post", color=_COLOURS.get(name),
                             alpha=0.8, lw=0, label=_LABELS.get(name, name))
            base = base + part
        _steps(top, edges, base, color="k", lw=1.0, label="total (fit)")
        d = data.sum(axis=others)
        top.errorbar(centres, d * scale, yerr=np.sqrt(np.maximum(d, 1.0)) * scale, fmt="o", ms=3,
                     color="k", label="data")
        top.set_ylabel(per)
        background = sum(expected[k] for k in order if k != "cevns").sum(axis=others)
        excess = d - background
        bottom.errorbar(centres, excess * scale, yerr=np.sqrt(np.maximum(d, 1.0)) * scale,
                        fmt="o", ms=3, color="k", label="data − fitted backgrounds")
        _steps(bottom, edges, expected["cevns"].sum(axis=others) * scale,
               color=_COLOURS["cevns"], lw=1.5, label=f"CEvNS fit ({expected['cevns'].sum():.0f})")
        _steps(bottom, edges, sm.sum(axis=others) * scale, color="tab:red", ls="--", lw=1.2,
               label=f"CEvNS SM ({sm.sum():.0f})")
        bottom.axhline(0.0, color="0.5", lw=0.6)
        unit = f" [{axis.unit}]" if axis.unit and axis.name != "time" else ""
        bottom.set_xlabel(_AXIS_LABELS.get(axis.name, axis.name) + unit)
        bottom.set_ylabel(per.replace("events", "excess"))
    axs[0, 0].legend(fontsize=7, frameon=False)
    axs[1, 0].legend(fontsize=7, frameon=False)
    best = f"{fit.best:.4g}"
    fig.suptitle(f"{result.release}: data and best fit ({fit.name} = {best})", fontsize=10)
    fig.tight_layout()
    return _save(fig, out, "data_vs_fit", pdf)


def plot_profile(fit: ParameterFit, out: Path, *, pdf: bool = False) -> list[Path]:
    """Δχ² of one parameter with the 1σ and 90 % levels, the SM and the published values (PNG;
    PDF too if ``pdf``)."""
    fig, ax = _figure(1, 1, figsize=(5.0, 3.6))
    ax = ax if not isinstance(ax, np.ndarray) else ax.ravel()[0]
    fit.profile.plot(ax=ax, color="k", label="profiled Δχ²")
    ax.axvline(fit.signal_model.sm_value, color="tab:red", ls=":", lw=1, label="SM")
    if fit.published is not None and fit.published.uncertainty:
        p = fit.published
        ax.axvspan(p.value - p.uncertainty, p.value + p.uncertainty, color="tab:green", alpha=0.2,
                   label="published ±1σ")
    ax.set_ylim(0, min(10.0, float(np.nanmax(fit.profile.delta_chi2[np.isfinite(
        fit.profile.delta_chi2)])) + 0.5))
    ax.legend(fontsize=7, frameon=False)
    ax.set_title(f"{fit.signal_model.model.release.name}: {fit.name}", fontsize=9)
    return _save(fig, out, f"profile_{fit.name}", pdf)


def fit_config(release: str, parameters=None, **request: Any) -> dict[str, Any]:
    """The configuration record (``config.json``) of a fit: the command, the release, the
    parameters and the given request (options, fixed values, data folder …)."""
    return {"command": "fit", "release": release,
            "parameters": list(parameters) if parameters else None,
            **{k: (str(v) if isinstance(v, Path) else v) for k, v in request.items()}}


def _result_config(result) -> dict[str, Any]:
    """The configuration record of a fit result written without one (the Python API)."""
    request: dict[str, Any] = {
        "options": {n: dict(_fit_options(f)) for n, f in result.fits.items()}}
    if hasattr(result, "releases"):
        request["releases"] = list(result.releases)
    else:
        request["data_dir"] = str(result.model.release.data_dir)
    return fit_config(getattr(result, "release", "coherent-combined"), list(result.fits), **request)


def _fit_options(fit) -> dict:
    options = getattr(fit, "options", None)
    if options is None:
        options = getattr(getattr(fit, "signal_model", None), "options", None)
    return dict(options or {})


_FIT_OUTPUTS = ("fit", "prediction", "profile", "data_vs_fit")


def _claim(out: Path, config: dict | None, result,
           force: bool) -> tuple[Path, dict[str, Any], list[str]]:
    """Check and claim the output folder of a fit (the rule of ``cevns run``:
    :func:`cevns.provenance.claim_output_folder`, which records ``config.json``); return it, the
    configuration recorded, and the files listed by the fit record it held (to remove those the
    new fit does not write again)."""
    from cevns.provenance import claim_output_folder, recorded_outputs

    config = config if config is not None else _result_config(result)
    # a corrupt record lists nothing: the claim below reports it unless forced
    _, old_files = recorded_outputs(out, command="fit")
    out = claim_output_folder(out, config, force=force, outputs=_FIT_OUTPUTS, resumable=False)
    return out, config, old_files


def _finish_record(out: Path, config: dict[str, Any], files: list[Path],
                   old_files: list[str], **fields: Any) -> Path:
    """Write ``provenance.json`` (``config.json`` was recorded by :func:`_claim`); remove files
    of the folder's previous fit (listed in its record) that this fit did not write again."""
    from cevns import fsio
    from cevns.provenance import RECORD_FILE, config_digest, remove_stale_outputs

    prov = out / RECORD_FILE
    remove_stale_outputs(out, old_files, files)
    record = provenance_record(command="fit", digest=config_digest(config), **fields,
                               files=[p.name for p in files] + [prov.name])
    fsio.atomic_write_text(fsio.inside(out, RECORD_FILE),
                           json.dumps(record, indent=2, default=str) + "\n")
    return prov


def write_outputs(result: FitResult, out: Path, *, config: dict | None = None,
                  force: bool = False, pdf: bool = False,
                  no_figures: bool = False) -> list[Path]:
    """Write every output of ``result`` into ``out`` (created); return the paths written.

    Figures as ``cevns run`` writes them: PNG, PNG and PDF with ``pdf``, none with
    ``no_figures``. Files of the folder's previous fit that this one does not write again (a
    PDF of an earlier ``pdf=True`` run among them) are removed, so that the folder holds exactly
    the files its ``provenance.json`` lists.

    The folder is checked as ``cevns run`` checks its own (one configuration per folder): a
    folder holding another fit, results of another command or files cevns did not write is
    refused unless ``force``. ``config`` is the configuration record (``config.json``; default:
    derived from ``result``).
    """
    _figure_options(pdf, no_figures)
    out, config, old_files = _claim(Path(out), config, result, force)
    files: list[Path] = [_write_csv(result.rows(), out / "fit.csv")]
    files.append(_write_text(out / "fit.md", markdown_table(result)))
    files.append(_write_csv([result.prediction_row()], out / "prediction.csv"))
    pred = result.prediction_row()
    files.append(_write_text(out / "prediction.md", "| " + " | ".join(pred) + " |\n|"
                             + "---|" * len(pred) + "\n| "
                             + " | ".join(_fmt(v) for v in pred.values()) + " |\n"))
    for fit in result.fits.values():
        path = out / f"profile_{fit.name}.csv"
        fit.profile.to_csv(path)
        files.append(path)
        if not no_figures:
            files.extend(plot_profile(fit, out, pdf=pdf))
    reference = result.fits.get("n_cevns") or next(iter(result.fits.values()))
    if not no_figures:
        files.extend(plot_data_vs_fit(result, reference, out, pdf=pdf))
    prov = _finish_record(
        out, config, files, old_files, release=result.release,
        parameters=list(result.fits), data_dir=str(result.model.release.data_dir),
        options={name: fit.signal_model.options for name, fit in result.fits.items()},
        runtime_s={"total": result.runtime_s,
                   **{name: fit.runtime_s for name, fit in result.fits.items()}})
    files.append(prov)
    return files


# -- the combined fit -----------------------------------------------------------------------------


def write_combined_outputs(result, out: Path, *, config: dict | None = None,
                           force: bool = False, pdf: bool = False,
                           no_figures: bool = False) -> list[Path]:
    """Write ``fit.csv``, ``fit.md``, ``profile_<p>.csv``, ``profile_<p>.png`` (``.pdf`` too with
    ``pdf``; no figure with ``no_figures``) and ``provenance.json`` of a
    :class:`cevns.fits.combined.CombinedResult` into ``out`` (created; checked as in
    :func:`write_outputs`)."""
    _figure_options(pdf, no_figures)
    out, config, old_files = _claim(Path(out), config, result, force)
    files: list[Path] = [_write_csv(result.rows(), out / "fit.csv")]
    lines = [f"## {' + '.join(result.releases)} (shared flux nuisance, σ = "
             f"{100 * result.flux_sigma:.0f} %)", "",
             "| parameter | best | 1σ interval | 90 % C.L. limit | SM | flux θ_Φ | χ²_min |",
             "|---|---|---|---|---|---|---|"]
    for f in result.fits.values():
        unit = f" {f.spec.unit}" if f.spec.unit else ""
        lines.append(f"| {f.name}{unit} | {f.best:.4g} | [{f.lower:.4g}, {f.upper:.4g}] | "
                     f"{_fmt(f.limit_90cl)} | {_fmt(f.sm_value)} | {f.flux_at_best:+.3f} | "
                     f"{f.profile.chi2_min:.2f} |")
    notes = [f"- {f.name}: {n}" for f in result.fits.values() for n in f.notes]
    notes += [f"- {f.name}: " + ", ".join(f"{k} = {v}" for k, v in f.options.items())
              for f in result.fits.values() if f.options]
    files.append(_write_text(out / "fit.md",
                             "\n".join(lines + ([""] + notes if notes else [])) + "\n"))
    for f in result.fits.values():
        path = out / f"profile_{f.name}.csv"
        f.profile.to_csv(path)
        files.append(path)
        if no_figures:
            continue
        fig, ax = _figure(1, 1, figsize=(5.0, 3.6))
        f.profile.plot(ax=ax, color="k", label="profiled Δχ² (combined)")
        if math.isfinite(f.sm_value):
            ax.axvline(f.sm_value, color="tab:red", ls=":", lw=1, label="SM")
        finite = f.profile.delta_chi2[np.isfinite(f.profile.delta_chi2)]
        ax.set_ylim(0, min(10.0, float(np.max(finite)) + 0.5))
        ax.legend(fontsize=7, frameon=False)
        ax.set_title(f"{' + '.join(result.releases)}: {f.name}", fontsize=9)
        files.extend(_save(fig, out, f"profile_{f.name}", pdf))
    prov = _finish_record(
        out, config, files, old_files, release="coherent-combined",
        releases=list(result.releases), parameters=list(result.fits),
        flux_sigma=result.flux_sigma, options={n: f.options for n, f in result.fits.items()},
        runtime_s={"total": result.runtime_s, **{n: f.runtime_s for n, f in result.fits.items()}})
    files.append(prov)
    return files


# -- the comparison table -------------------------------------------------------------------------

#: Releases of the comparison table and the parameters fitted on each.
TABLE_RELEASES: dict[str, tuple[str, ...]] = {
    "coherent-csi-2017": ("n_cevns", "sin2_theta_w", "neutron_radius_fm", "ngi_vector_coupling",
                          "ngi_scalar_coupling", "dipole_moment"),
    "coherent-csi-2021": ("n_cevns", "sin2_theta_w", "neutron_radius_fm", "ngi_vector_coupling",
                          "ngi_scalar_coupling", "dipole_moment"),
    "coherent-lar-2020": ("n_cevns", "n_cevns_release", "sin2_theta_w", "ngi_vector_coupling",
                          "ngi_scalar_coupling", "dipole_moment"),
}
#: Parameters of the combined column.
TABLE_COMBINED: tuple[str, ...] = ("sin2_theta_w", "neutron_radius_fm", "ngi_vector_coupling",
                                   "ngi_scalar_coupling", "dipole_moment")
#: The command that regenerates the table in the docs (``table_command`` of its two files).
TABLE_COMMAND = "cevns fit --table docs/coherent_fits.md --coverage docs/coherent_coverage.json"


def table_command(table: str | Path, coverage: str | Path | None = None) -> str:
    """The command that writes the comparison table to ``table`` (with the toy coverage of the
    JSON file ``coverage``, if given), as the header of the written table names it:
    ``cevns fit --table TABLE [--coverage COVERAGE]``, each path as given (shell-quoted where it
    needs quotes). :data:`TABLE_COMMAND` is the one of the docs."""
    import shlex

    command = f"cevns fit --table {shlex.quote(str(table))}"
    return command if coverage is None else f"{command} --coverage {shlex.quote(str(coverage))}"


_ROWS = (
    ("sin2_theta_w", "sin²θ_W, best [1σ]", "interval"),
    ("neutron_radius_fm", "R_n (CsI: Cs and I) [fm], best [1σ]", "interval"),
    ("ngi_vector_coupling", "g_V (B−L), m_V = 10 MeV: 90 % C.L. upper limit", "limit"),
    ("ngi_scalar_coupling", "g_S, m_S = 10 MeV: 90 % C.L. upper limit", "limit"),
    ("dipole.magnetic_moment", "μ_νμ [μ_B] (dipole portal, m₄ = 0): 90 % C.L. upper limit",
     "limit"),
)


def _interval(fit) -> str:
    return f"{fit.best:.4g} [{fit.lower:.4g}, {fit.upper:.4g}]"


def _coverage_cells(coverage, release: str, parameter: str) -> tuple[str, str]:
    entry = (coverage or {}).get(release, {}).get(parameter)
    if not entry:
        return "—", "—"
    n = entry.get("n_toys")
    cov = f"{100 * float(entry['coverage']):.1f} %" + (f" ({int(n)} toys)" if n else "")
    bias = f"{float(entry['bias_sigma']):+.2f}" if entry.get("bias_sigma") is not None else "—"
    return cov, bias


def comparison_table(results=None, combined=None, coverage=None) -> str:
    """The comparison of our fits with the published numbers, as Markdown.

    Parameters
    ----------
    results : list of FitResult, optional
        Fits of the releases (default: :data:`TABLE_RELEASES`, fitted here).
    combined : CombinedResult, optional
        The combined fit (default: :data:`TABLE_COMBINED` on CsI-2021 + LAr-2020, fitted here).
    coverage : mapping, optional
        **Toy coverage input** (from the toy studies of ``cevns.fits.coverage``): release →
        parameter → ``{"coverage": fraction of toys whose 1σ interval holds the truth,
        "bias_sigma": mean (best − truth)/σ, "n_toys": int}``. Missing entries print "—".

    Returns
    -------
    str
        Three Markdown tables: per-release counts, the physics parameters per release and
        combined, the literature numbers next to ours.
    """
    from cevns.fits.combined import fit_combined_release
    from cevns.fits.fit import fit_release
    from cevns.fits.parameters import published_entry

    if results is None:
        results = [fit_release(r, p, cross_check=False) for r, p in TABLE_RELEASES.items()]
    if combined is None:
        combined = fit_combined_release(TABLE_COMBINED)
    by_release = {r.release: r for r in results}
    lines = ["**Counts.** SM prediction and fitted CEvNS count per release; the difference is "
             "(ours − published) in units of the published 1σ; coverage and bias come from toy "
             "experiments (`coverage=` input of `cevns.fits.report.comparison_table`).", "",
             "| release | SM prediction: this package | SM prediction: published | "
             "N_CEvNS: this package, best [1σ] | N_CEvNS: published | difference [σ] | "
             "coverage of the 1σ interval (toys) | bias [σ] (toys) |",
             "|---|---|---|---|---|---|---|---|"]
    for result in results:
        pred = result.published.get("sm_prediction")
        entry = published_entry(result.release, "sm_prediction") or {}
        if pred is None:
            pub_pred = "—"
        elif "uncertainty_theory" in entry:
            pub_pred = (f"{pred.value:g} ± {entry['uncertainty_theory']:g} (th) ± "
                        f"{entry['uncertainty_experiment']:g} (exp)")
        else:
            pub_pred = f"{pred.value:g} ± {pred.uncertainty:g}"
        for name in ("n_cevns", "n_cevns_release"):
            if name not in result.fits:
                continue
            fit = result.fits[name]
            pub = fit.published
            pub_text = f"{pub.value:g} ± {pub.uncertainty:g}" if pub and pub.uncertainty else "—"
            diff = (f"{(fit.best - pub.value) / pub.uncertainty:+.2f}"
                    if pub and pub.uncertainty else "—")
            cov, bias = _coverage_cells(coverage, result.release, name)
            label = result.release + (" (release CEvNS PDF)" if name == "n_cevns_release" else "")
            lines.append(f"| {label} | {result.sm_prediction:.1f} | {pub_pred} | "
                         f"{fit.best:.1f} [{fit.lower:.1f}, {fit.upper:.1f}] | {pub_text} | "
                         f"{diff} | {cov} | {bias} |")
    releases = list(by_release)
    lines += ["", "**Physics parameters.** One parameter at a time, the others at their SM "
              "values; 1σ: Δχ² = 1, 90 % C.L.: Δχ² = 2.71 (one-sided where the best fit is at "
              "the physical bound 0). Combined: " + " + ".join(combined.releases)
              + f" with one shared flux nuisance (σ = {100 * combined.flux_sigma:.0f} %).", "",
              "| quantity | " + " | ".join(releases) + " | combined |",
              "|---|" + "---|" * (len(releases) + 1)]
    for name, label, kind in _ROWS:
        cells = []
        for r in releases:
            fit = by_release[r].fits.get(name) or by_release[r].fits.get(
                "dipole.magnetic_moment" if name.startswith("dipole") else name)
            cells.append("—" if fit is None else
                         _interval(fit) if kind == "interval" else f"{fit.limit_90cl:.3g}")
        fit = combined.fits.get(name)
        cells.append("—" if fit is None else
                     _interval(fit) if kind == "interval" else f"{fit.limit_90cl:.3g}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "**Literature.** Published numbers from other fits of the same data "
              "(`fits/published.toml`, `[literature.*]`), next to ours on the same release.", "",
              "| quantity | published | data | this package | source |", "|---|---|---|---|---|"]
    from cevns.fits.parameters import _published_table

    for key, entry in _published_table().get("literature", {}).items():
        release = entry.get("release", "")
        result = by_release.get(release)
        if "uncertainty" in entry:
            pub = f"{entry['value']:g} ± {entry['uncertainty']:g}"
        else:
            pub = (f"{entry['value']:g} +{entry['uncertainty_high']:g} "
                   f"−{entry['uncertainty_low']:g}")
        ours = "—"
        if result is not None:
            if key.startswith("neutron_radius") and "neutron_radius_fm" in result.fits:
                ours = _interval(result.fits["neutron_radius_fm"])
            elif key.startswith("neutron_skin") and "neutron_radius_fm" in result.fits:
                from cevns.physics.units import fm

                rp = float(np.mean([n.proton_rms_radius for n in result.model.nuclei]) / fm)
                f = result.fits["neutron_radius_fm"]
                ours = (f"{f.best - rp:.2f} [{f.lower - rp:.2f}, {f.upper - rp:.2f}] "
                        f"(R_n − R_p, R_p = {rp:.3f})")
            elif key.startswith("sin2_theta_w") and "sin2_theta_w" in result.fits:
                ours = _interval(result.fits["sin2_theta_w"])
        lines.append(f"| {entry.get('label', key)} | {pub} | {release} | {ours} | "
                     f"{entry['source'].split(': ')[0]} |")
    return "\n".join(lines) + "\n"


#: the markers between which ``cevns fit --table FILE`` writes the table into an existing file
TABLE_BEGIN, TABLE_END = "<!-- fit-table:begin -->", "<!-- fit-table:end -->"


def _table_text(path: Path) -> str | None:
    """The text of an existing table file (``None`` if it does not exist yet; see
    :func:`cevns.config.read_user_text` for the errors)."""
    from cevns.config import read_user_text

    if not path.exists():
        return None
    return read_user_text(path, f"--table {path}", "Markdown")


def check_table_target(path: str | Path) -> Path:
    """Check a ``--table`` file before the fits: its folder exists, and an existing file has the
    ``<!-- fit-table:begin -->`` / ``<!-- fit-table:end -->`` markers (the table replaces only
    what is between them; a file without them is refused, never replaced as a whole). A
    symbolic link is written through (:func:`cevns.fsio.write_target`)."""
    from cevns import fsio
    from cevns.errors import ConfigError, OutputError

    text_path = str(path)
    if not text_path:
        raise ConfigError("--table: empty file name")
    path = Path(path)
    if text_path.endswith(("/", "\\")) or path.is_dir():
        raise ConfigError(f"--table {path}: is a folder; give a Markdown file")
    parent = path.parent
    for p in [parent, *parent.parents]:
        if p.exists() and not p.is_dir():
            raise OutputError(f"--table {path}: {p} is not a folder")
    if not parent.is_dir():
        raise OutputError(f"--table {path}: folder {parent} does not exist")
    if path.exists() and not path.is_file():
        raise OutputError(f"--table {path}: not a regular file")
    fsio.write_target(path)  # a symbolic link that loops or leads into a missing folder
    text = _table_text(path)
    if text is not None:
        begin = text.find(TABLE_BEGIN)
        if begin < 0 or text.find(TABLE_END, begin) < 0:
            raise ConfigError(
                f"--table {path}: the file exists and has no '{TABLE_BEGIN}' … '{TABLE_END}' "
                "markers, so the table would replace all of its content; add the two markers, "
                "each on a line of its own, where the table should go (or give a new file name)")
    return path


#: The keys of one entry (release → parameter → entry) of the toy-coverage input: what
#: ``scripts/coherent_coverage.py`` writes, plus ``parameter`` and ``fitter`` that
#: :func:`cevns.fits.coverage.coverage_table_from_json` reads. Any other key is refused (a
#: misspelled ``covrage`` next to the real key would otherwise pass unread).
COVERAGE_KEYS = ("coverage", "coverage_err", "coverage_90", "coverage_90_err", "bias_sigma",
                 "bias_sigma_err", "pull_width", "n_pulls", "truth", "n_toys", "n_failed", "seed",
                 "interval_method", "nuisances", "workers", "wall_s", "cpu_s", "load_1min",
                 "parameter", "fitter")


def check_coverage(coverage, where: str = "coverage") -> dict:
    """The toy-coverage input of :func:`comparison_table`, checked: release → parameter → entry
    with ``coverage`` in [0, 1], ``bias_sigma`` a finite number or null and ``n_toys`` a
    non-negative integer if given (the shape ``scripts/coherent_coverage.py`` writes); anything
    else is a :class:`~cevns.errors.ConfigError` naming the entry, never a silently empty column.

    The releases must be COHERENT releases (:func:`cevns.datasets.coherent.release_names`), the
    parameters fit parameters of their release (:func:`cevns.fits.parameters.check_parameter`)
    and the keys of an entry among :data:`COVERAGE_KEYS`: an unknown or misspelled one is an
    :class:`~cevns.errors.UnknownNameError` naming it and listing the valid ones."""
    import math

    from cevns.datasets.coherent import release_names
    from cevns.errors import ConfigError, UnknownNameError
    from cevns.fits.parameters import check_parameter

    def bad(at: str, what: str) -> ConfigError:
        return ConfigError(f"{where}{at}: {what} (expected release → parameter → "
                           '{"coverage": …, "bias_sigma": …, "n_toys": …})')

    if not isinstance(coverage, dict):
        raise bad("", f"a JSON object of releases, got {type(coverage).__name__}")
    releases = release_names()
    for release, params in coverage.items():
        if release not in releases:
            raise UnknownNameError(f"release in {where}", release, releases)
        if not isinstance(params, dict):
            raise bad(f".{release}", f"an object of parameters, got {type(params).__name__}")
        for name, entry in params.items():
            at = f".{release}.{name}"
            try:
                check_parameter(name, release)
            except UnknownNameError as err:
                raise UnknownNameError(f"fit parameter in {where}.{release}", name,
                                       err.valid) from None
            except ConfigError as err:
                raise ConfigError(f"{where}{at}: {err}") from None
            if not isinstance(entry, dict) or "coverage" not in entry:
                raise bad(at, "an object with a 'coverage' key")
            for key in entry:
                if key not in COVERAGE_KEYS:
                    raise UnknownNameError(f"key in {where}{at}", key, COVERAGE_KEYS)
            value = entry["coverage"]
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not 0.0 <= value <= 1.0:
                raise bad(f"{at}.coverage", f"a fraction in [0, 1], got {value!r}")
            bias = entry.get("bias_sigma")
            if bias is not None and (isinstance(bias, bool) or not isinstance(bias, (int, float))
                                     or not math.isfinite(bias)):
                raise bad(f"{at}.bias_sigma", f"a finite number or null, got {bias!r}")
            n = entry.get("n_toys")
            if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 0):
                raise bad(f"{at}.n_toys", f"a non-negative integer, got {n!r}")
    return coverage


def load_coverage(path: str | Path) -> dict:
    """The toy coverage of ``--coverage FILE``: the JSON file read as given (a pipe too, at most
    :data:`cevns.config.MAX_USER_FILE_BYTES`) and checked by :func:`check_coverage`. A missing
    file, a folder, text that is not JSON or of the wrong shape is a
    :class:`~cevns.errors.ConfigError` naming ``--coverage`` and the path."""
    from cevns.config import read_user_text
    from cevns.errors import ConfigError

    text = read_user_text(Path(path), f"--coverage {path}", "JSON")
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"--coverage {path}: not valid JSON ({exc})") from None
    return check_coverage(doc, "--coverage")


def write_comparison_table(path: str | Path, *, coverage=None, command: str | None = None) -> Path:
    """Write :func:`comparison_table` to ``path``: between the ``<!-- fit-table:begin -->`` and
    ``<!-- fit-table:end -->`` markers of an existing file, or as a new file. An existing file
    without the markers is refused (:func:`check_table_target`, checked before the fits).

    ``coverage`` is a mapping (see :func:`comparison_table`) or the path of a JSON file with it.
    ``command`` is what the table's header says generated it (default: :func:`table_command`
    of ``path`` and a ``coverage`` path as given; with a coverage mapping, this call).
    """
    from cevns import fsio

    if command is None:
        command = (table_command(path, coverage) if not isinstance(coverage, dict) else
                   f"cevns.fits.report.write_comparison_table({str(path)!r}, coverage=…)")
    path = check_table_target(path)
    if coverage is not None and not isinstance(coverage, dict):
        coverage = load_coverage(coverage)
    if coverage is not None:
        coverage = check_coverage(coverage, "--coverage")
    table = (f"<!-- generated by `{command}`; do not edit by hand -->\n\n"
             + comparison_table(coverage=coverage))
    text = _table_text(check_table_target(path))  # the file as it is now, after the fits
    if text is not None:
        head, rest = text.split(TABLE_BEGIN, 1)
        _, tail = rest.split(TABLE_END, 1)
        text = f"{head}{TABLE_BEGIN}\n{table}{TABLE_END}{tail}"
    else:
        text = table
    fsio.atomic_write_text(path, text)
    return path
