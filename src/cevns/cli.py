"""The ``cevns`` command line: a thin front-end over the library.

Commands: ``spectra``, ``info``, ``run``, ``reproduce``, ``fit``. Errors raised on purpose by cevns
(:class:`cevns.errors.CevnsError`) are printed as one clear message with exit code 2.
"""

from __future__ import annotations

import json
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cevns.errors import CevnsError, ConfigError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Coherent elastic neutrino-nucleus scattering at π-DAR sources.")
console = Console()
err_console = Console(stderr=True)


def main() -> None:
    """Entry point of the ``cevns`` script."""
    try:
        app(standalone_mode=False)
    except CevnsError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("aborted")
        sys.exit(130)
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Exit):
            sys.exit(exc.exit_code)
        raise


@app.command()
def spectra(
    detector: Annotated[list[str] | None, typer.Option("--detector", "-d",
                                                       help="detector preset (repeatable)")] = None,
    years: Annotated[float | None, typer.Option(help="run time in years")] = None,
    source: Annotated[str, typer.Option(help="source preset")] = "ess",
    sin2w: Annotated[float | None, typer.Option("--sin2w", help="sin²θ_W (MS-bar, Q→0)")] = None,
    per_bin: Annotated[bool, typer.Option("--per-bin", help="also print every bin")] = False,
    csv: Annotated[Path | None, typer.Option(help="write the per-bin table to this CSV")] = None,
) -> None:
    """Print expected CEvNS counts per detector and flavour (and the background)."""
    from cevns.experiment import ESS_DETECTORS, get_source
    from cevns.physics.constants import SIN2_THETA_W
    from cevns.physics.flux import FLAVOUR_LABELS, FLAVOURS
    from cevns.rates import sm_spectrum

    src = get_source(source)
    if years is not None:
        src = src.with_run_years(years)
    s2w = SIN2_THETA_W if sin2w is None else sin2w
    if not 0 < s2w < 1:
        raise ConfigError(f"--sin2w must be in (0, 1), got {s2w}")
    names = detector or list(ESS_DETECTORS)
    table = Table(title=f"Expected events, {src.run_years:g} yr at {src.name} "
                        f"(sin²θ_W = {s2w})")
    table.add_column("detector")
    table.add_column("bins", justify="right")
    for f in FLAVOURS:
        table.add_column(FLAVOUR_LABELS[f], justify="right")
    table.add_column("CEvNS", justify="right")
    table.add_column("background", justify="right")
    rows = []
    for name in names:
        spec = sm_spectrum(name, src, sin2_theta_w=s2w)
        table.add_row(name, str(len(spec.background)),
                      *(f"{v:.1f}" for v in spec.per_flavour.values()),
                      f"{spec.total_signal:.1f}", f"{spec.total_background:.1f}")
        rows.extend(spec.to_rows())
        if per_bin:
            bins = Table(title=f"{name} per bin")
            for col in ("lower_keVnr", "upper_keVnr", *FLAVOURS, "signal", "background"):
                bins.add_column(col, justify="right")
            for r in spec.to_rows():
                bins.add_row(*(f"{r[c]:.4g}" for c in ("lower_keVnr", "upper_keVnr", *FLAVOURS,
                                                        "signal", "background")))
            console.print(bins)
    console.print(table)
    if csv is not None:
        from cevns.analyses.output import write_table

        written = write_table(rows, csv.parent if str(csv.parent) else Path("."), csv.stem)
        console.print(f"wrote {written[0]}")


@app.command()
def info() -> None:
    """List versions, presets (with citations), analysis kinds and reproduce items."""
    import numpy
    import scipy

    import cevns
    from cevns.analyses import item_names, kinds, shipped_analysis
    from cevns.experiment import detector_names, get_detector, get_source, source_names
    from cevns.physics.constants import SIN2_THETA_W

    console.print(f"cevns {cevns.__version__} (numpy {numpy.__version__}, scipy {scipy.__version__})")
    console.print(f"sin²θ_W = {SIN2_THETA_W} (MS-bar, Q → 0; PDG 2022)")
    t = Table(title="sources")
    for col in ("name", "baseline [m]", "ν/flavour/POT", "POT/yr", "citation"):
        t.add_column(col)
    for n in source_names():
        s = get_source(n)
        t.add_row(n, f"{s.baseline_m:g}", f"{s.nu_per_flavour_per_pot:g}",
                  f"{s.protons_per_year:.3g}", s.citation)
    console.print(t)
    t = Table(title="detectors")
    for col in ("name", "mass [kg]", "targets", "E_th [keVnr]", "σ₀", "ε", "SSB [ckkd]", "bins",
                "citation"):
        t.add_column(col)
    for n in detector_names():
        d = get_detector(n)
        t.add_row(n, f"{d.mass_kg:g}", "+".join(nuc.name for nuc, _ in d.nuclei),
                  f"{d.threshold_keVnr:g}", f"{d.resolution.sigma0:g}", f"{d.efficiency:g}",
                  f"{d.background.rate_ckkd:g}", str(d.n_bins), d.citation)
    console.print(t)
    t = Table(title="reproduce items")
    for col in ("item", "paper", "kind", "title"):
        t.add_column(col)
    for n in item_names():
        a = shipped_analysis(n)
        t.add_row(n, a.paper, a.kind, a.title)
    console.print(t)
    console.print("analysis kinds: " + ", ".join(sorted(kinds())))


@contextmanager
def _progress_display():
    """Per-scan progress: rich progress bars in a terminal, plain lines otherwise (logs, CI)."""
    if not console.is_terminal:
        def plain(label: str, done: int, total: int) -> None:
            if done == total or done % max(1, total // 4) == 0:
                console.print(f"  {label}: {done}/{total} tiles", highlight=False, markup=False)

        yield plain
        return
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bars = Progress(TextColumn("  {task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=True)
    tasks: dict[str, int] = {}

    def update(label: str, done: int, total: int) -> None:
        if label not in tasks:
            tasks[label] = bars.add_task(escape(label), total=total)
        bars.update(tasks[label], completed=done, total=total)

    with bars:
        yield update


def _check_out_dir(out: Path, config: dict, digest: str, resume: bool, force: bool) -> None:
    """Refuse to mix results of different configurations in one folder.

    Without ``--resume`` a different configuration needs ``--force``; with ``--resume`` it is
    always refused, naming what changed.
    """
    prov = out / "provenance.json"
    if not prov.exists() or force:
        return
    old = json.loads(prov.read_text()).get("digest")
    if old == digest:
        return
    if resume:
        from cevns.scan import config_diff

        old_config = out / "config.json"
        changes = config_diff(json.loads(old_config.read_text()), config) \
            if old_config.exists() else []
        listed = "; ".join(f"{key}: {a!r} → {b!r}" for key, a, b in changes) or "digest differs"
        raise ConfigError(f"{out}: cannot resume, the configuration changed: {listed}")
    raise ConfigError(f"{out} holds results of a different configuration (digest {old}, "
                      f"now {digest}); use --force to overwrite or --resume")


@app.command()
def run(
    analysis_file: Annotated[Path, typer.Argument(help="analysis TOML file")],
    out: Annotated[Path | None, typer.Option(help="output folder")] = None,
    quick: Annotated[bool, typer.Option(help="coarse grids for a fast preview")] = False,
    resume: Annotated[bool, typer.Option(help="resume an interrupted scan")] = False,
    force: Annotated[bool, typer.Option(help="overwrite results of another configuration")] = False,
) -> None:
    """Run one analysis file."""
    from cevns.analyses import RunOptions, load_analysis, run_analysis

    an = load_analysis(analysis_file)
    out = out or Path("results") / an.name
    _check_out_dir(out, an.model_dump(mode="json"), an.digest(), resume, force)
    with _progress_display() as progress:
        rec = run_analysis(an, out, RunOptions(quick=quick, resume=resume, progress=progress))
    console.print(f"{an.name}: {len(rec['files'])} files in {out} ({rec['wall_time_s']:.1f} s)")


@app.command()
def reproduce(
    only: Annotated[list[str] | None, typer.Option("--only", help="item name (repeatable)")] = None,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("results"),
    list_items: Annotated[bool, typer.Option("--list", help="list the items and exit")] = False,
    quick: Annotated[bool, typer.Option(help="coarse grids for a fast preview")] = False,
    executor: Annotated[str, typer.Option(help="serial | processes | dask")] = "serial",
    workers: Annotated[int | None, typer.Option(help="worker processes (processes, dask)")] = None,
    scheduler: Annotated[str | None, typer.Option(
        help="dask scheduler address, e.g. tcp://host:8786 (implies --executor dask)")] = None,
    resume: Annotated[bool, typer.Option(help="resume interrupted scans")] = False,
    force: Annotated[bool, typer.Option(help="overwrite results of another configuration")] = False,
) -> None:
    """Regenerate the paper's figures and tables from the shipped analyses."""
    from cevns.analyses import RunOptions, item_names, run_analysis, shipped_analysis
    from cevns.errors import UnknownNameError

    names = item_names()
    if list_items:
        for n in names:
            a = shipped_analysis(n)
            console.print(f"{n:10s} {a.paper:28s} {a.title}", highlight=False)
        return
    if scheduler:
        executor = "dask"
    if executor not in ("serial", "processes", "dask"):
        raise UnknownNameError("executor", executor, ["serial", "processes", "dask"])
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    selected = only or names
    for n in selected:
        if n not in names:
            raise UnknownNameError("reproduce item", n, names)
    analyses = {n: shipped_analysis(n) for n in selected}
    if quick:  # previews never overwrite full results
        from cevns.analyses.report import quick_folder

        out = quick_folder(out)
    for n, an in analyses.items():
        _check_out_dir(out / n, an.model_dump(mode="json"), an.digest(), resume, force)
    from cevns.scan import make_executor

    spec: dict = {"name": executor}
    if workers is not None:
        spec["max_workers" if executor == "processes" else "n_workers"] = workers
    if scheduler:
        spec["address"] = scheduler
    if executor == "serial":
        spec = {"name": "serial"}
    records = {}
    start = time.perf_counter()
    with make_executor(spec) as executor_object, _progress_display() as progress:
        options = RunOptions(quick=quick, executor=executor, resume=resume,
                             progress=progress,
                             extra={"executor_object": executor_object,
                                    "scan_root": out / "scans"})
        for n, an in analyses.items():
            console.print(f"[bold]{n}[/] — {an.title}")
            records[n] = run_analysis(an, out / n, options)
            console.print(f"  done in {records[n]['wall_time_s']:.1f} s")
    _write_index(out, analyses, records)
    console.print(f"{len(records)} items in {time.perf_counter() - start:.1f} s → {out}/index.md")


def _write_index(out: Path, analyses: dict, records: dict) -> None:
    """Merge this run's records into ``index.json``; write the report (see analyses.report)."""
    from cevns.analyses.report import write_report
    from cevns.fsio import atomic_write_text

    existing = {}
    index_json = out / "index.json"
    if index_json.exists():
        existing = json.loads(index_json.read_text())
    for n, an in analyses.items():
        existing[n] = {"title": an.title, "paper": an.paper, "kind": an.kind,
                       "files": records[n]["files"], "wall_time_s": records[n]["wall_time_s"],
                       "quick": records[n].get("quick", False)}
    atomic_write_text(index_json, json.dumps(existing, indent=2) + "\n")
    write_report(out, existing)


@app.command()
def fit(
    release: Annotated[str, typer.Argument(
        help="coherent-csi-2017 | coherent-csi-2021 | coherent-lar-2020")],
    parameter: Annotated[list[str] | None, typer.Option(
        "--parameter", "-p", help="n_cevns, n_cevns_release (LAr), sin2_theta_w, neutron_radius_fm (CsI), "
        "ngi_{scalar,vector,axial,tensor}_coupling (repeatable; default: the release's set)")] = None,
    out: Annotated[Path | None, typer.Option(help="output folder (default results/RELEASE)")] = None,
    data_dir: Annotated[Path | None, typer.Option(
        "--data-dir", help="folder with your own copy of the release files")] = None,
    mediator_mass: Annotated[float, typer.Option(
        "--mediator-mass", help="NGI mediator mass [MeV]")] = 10.0,
    vector_charge: Annotated[str, typer.Option(
        "--vector-charge", help="NGI vector quark couplings: B-L | universal")] = "B-L",
) -> None:
    """Fit a COHERENT data release: profile χ² per parameter, tables and figures."""
    from cevns.fits import fit_release

    out = out or Path("results") / release
    result = fit_release(release, parameter or None, out=out, data_dir=data_dir,
                         mediator_mass_MeV=mediator_mass, vector_charge=vector_charge)
    table = Table(title=f"{release}: SM prediction {result.sm_prediction:.1f} CEvNS events")
    for col in ("parameter", "best", "1σ interval", "90% C.L.", "SM", "published"):
        table.add_column(col)
    for f in result.fits.values():
        pub = f"{f.published.value:g} ± {f.published.uncertainty:g}" if f.published else ""
        lim = f"{f.limit_90cl:.4g}" if f.limit_90cl is not None else ""
        table.add_row(f.name, f"{f.best:.4g}", f"[{f.lower:.4g}, {f.upper:.4g}]", lim,
                      f"{f.signal_model.sm_value:.4g}", pub)
    console.print(table)
    console.print(f"{len(result.files)} files in {out} ({result.runtime_s:.1f} s)")


if __name__ == "__main__":  # pragma: no cover
    main()
