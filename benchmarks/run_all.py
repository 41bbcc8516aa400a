"""Run every benchmark side by side in one process and write a Markdown table.

    python benchmarks/run_all.py --out docs/benchmarks.md
    python benchmarks/run_all.py --out docs/benchmarks.md \\
        --baseline-python /path/to/baseline-venv/bin/python --reproduce

Each row is a ratio measured in this one run: the fast path (cevns) and a straightforward
reference (``scipy.integrate.quad``, or iminuit's Migrad point by point) on the same inputs. The
fast path is repeated ``--repeat`` times (min and median reported); the reference is timed once on
a random subset of grid points and *extrapolated* linearly to the whole grid (labelled so). The
agreement of the two on the subset is reported next to the ratio. The machine load (1-minute load
average, ``os.getloadavg``) is recorded next to every figure: on a shared machine the times
scale with it, ratios much less so.

With ``--baseline-python`` the import-time row is measured for that interpreter's cevns too; with
``--reproduce`` also the total wall time, CPU time and peak memory of ``cevns reproduce`` for the
current and (if given) the baseline installation, one after the other, via ``/usr/bin/time -v``
(each takes minutes), and the executors side by side (``bench_reproduce_executors.py``: serial,
processes and dask on two workers, ``--reproduce-repeat`` times each, on the default reproduce and
on a 200 × 200 NGI ``cevns run``, with a byte comparison of the outputs).
``--reproduce-logs NEW [BASE]`` instead reads such ``/usr/bin/time -v`` logs written earlier.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the bench_* modules
sys.path.insert(0, str(HERE.parent / "tests" / "rates"))  # quad_reference (bench_spectra)


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def load() -> float:
    """1-minute load average."""
    return os.getloadavg()[0]


@dataclass
class Row:
    group: str
    case: str
    fast: list[float]  # seconds, each repetition
    reference: float | None  # seconds (extrapolated where noted)
    reference_note: str
    agreement: str
    load_before: float
    load_after: float
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> str:
        if self.reference is None:
            return "—"
        r = self.reference / statistics.median(self.fast)
        return f"{r:.2f}×" if r < 10 else f"{r:,.0f}×"


def timed(func, repeat: int):
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - t0)
    return times, result


def fmt_s(seconds: float) -> str:
    if seconds < 1e-2:
        return f"{seconds * 1e3:.2f} ms"
    if seconds < 1:
        return f"{seconds * 1e3:.0f} ms"
    if seconds < 100:
        return f"{seconds:.2f} s"
    return f"{seconds:,.0f} s"


# --------------------------------------------------------------------------------------------
# Cases


def case_spectra(repeat: int) -> list[Row]:
    bench = _load("bench_spectra")
    from cevns.experiment import ESS_DETECTORS, get_source

    src = get_source("ess")
    bench.engine_all(src)  # warm imports
    before = load()
    fast_times, fast = timed(lambda: bench.engine_all(src), repeat)
    t0 = time.perf_counter()
    ref = bench.reference_all(src)
    t_ref = time.perf_counter() - t0
    worst = max(float(np.max(np.abs(fast[n] - ref[n]) / np.maximum(np.abs(ref[n]), 1e-300)
                             * (np.abs(ref[n]) > 1e-9))) for n in ESS_DETECTORS)
    return [Row("rates", "SM spectra, six detectors, all bins × flavours × targets (cold)",
                fast_times, t_ref, "`quad` over E and T, measured", f"max rel. {worst:.1e}",
                before, load())]


def case_stats(repeat: int, n_minuit: int) -> list[Row]:
    bench = _load("bench_stats")
    from cevns.stats import PoissonModel, signal_background_channel

    rng = np.random.default_rng(20250112)
    grid_a = np.linspace(0.5, 1.5, 100)[:, None] * np.linspace(0.9, 1.1, 100)[None, :]
    chans_a = bench.synthetic_channels(rng, grid_a, (20,), shared=False)
    grid_b = np.linspace(0.5, 1.5, 10_000)
    chans_b = bench.synthetic_channels(rng, grid_b, bench.ESS_BINS, shared=False)
    chans_c = [signal_background_channel(c.name, c.observed, c.components[0].expected,
                                         c.components[1].expected, shared_signal=True)
               for c in chans_b]
    rows = []
    for label, chans in (("100 × 100 grid, one 20-bin channel, 2 nuisances", chans_a),
                         ("10⁴ points, six channels (ESS binning), 12 independent nuisances",
                          chans_b),
                         ("10⁴ points, six channels, one shared α (7 nuisances)", chans_c)):
        before = load()
        times, (model, res) = timed(lambda c=chans: (lambda m: (m, m.profile()))(
            PoissonModel(c)), repeat)
        points = rng.choice(model.n_points, size=min(n_minuit, model.n_points), replace=False)
        t_sub, minuit_chi2 = bench.minuit_loop(model, points)
        diff = float(np.max(np.abs(res.chi2.reshape(-1)[points] - minuit_chi2)))
        rows.append(Row("stats: profiler vs iminuit loop", label, times,
                        t_sub * model.n_points / points.size,
                        f"Migrad per point, extrapolated from {points.size}",
                        f"max abs. Δχ² {diff:.1e}; {res.n_unconverged} unconverged", before, load()))
    return rows


def _bl_channels():
    """The per-detector channels of the fig6 B−L grid (100 × 100, six detectors)."""
    import cevns.analyses.sensitivity.compute as sens
    from cevns.analyses import shipped_analysis

    an = shipped_analysis("fig6")
    variant = an.variants[1]
    captured = []
    original = sens.profile_chi2

    def spy(channels, **kwargs):
        captured.append(list(channels))
        return original(channels, **kwargs)

    sens.profile_chi2 = spy
    try:
        sens.chi2_grid(an, variant=variant)
    finally:
        sens.profile_chi2 = original
    return [c[0] for c in captured if len(c) == 1]


def case_early_stop(repeat: int) -> list[Row]:
    from cevns.stats import chi2_at, profile_chi2

    channels = _bl_channels()
    reference = float(np.min(sum(chi2_at(c) for c in channels)))
    full = [profile_chi2([c]) for c in channels]
    early = [profile_chi2([c], level=25.0, reference=reference) for c in channels]
    before = load()
    t_early, t_full = [], []
    for _ in range(repeat):  # interleaved, so that a change of load hits both alike
        t_early += timed(lambda: [profile_chi2([c], level=25.0, reference=reference)
                                  for c in channels], 1)[0]
        t_full += timed(lambda: [profile_chi2([c]) for c in channels], 1)[0]
    decided = sum(int(e.decided.sum()) for e in early)
    n = sum(e.chi2.size for e in early)
    same = max(float(np.max(np.abs(e.chi2 - f.chi2)[~e.decided])) for e, f in zip(
        early, full, strict=True))
    unconv = sum(f.n_unconverged for f in full)
    iters = (sum(int(f.n_iter.sum()) for f in full), sum(int(e.n_iter.sum()) for e in early))
    return [Row("stats: early stop", "fig6 B−L grid, six detectors × 10⁴ points: early stop "
                "above Δχ² = 25 vs profiling every point to convergence",
                t_early, statistics.median(t_full), "full profile, median of the same repeats",
                f"{decided} of {n} points decided above level; others identical to "
                f"{same:.0e}; {unconv} unconverged; Newton iterations {iters[0]} → {iters[1]}",
                before, load())]


def case_sm(repeat: int) -> list[Row]:
    bench = _load("bench_sm")
    from cevns.analyses.sensitivity import chi2_grid
    from cevns.rates import clear_cache

    s2 = {"parameter": "sin2_theta_w", "start": 0.18, "stop": 0.30, "num": 100}
    rn = {"parameter": "neutron_radius_fm", "start": 4.0, "stop": 6.0, "num": 100}
    a = bench.analysis({"kind": "scan2d", "x": s2, "y": rn}, ["CsI"], "separate")
    b = bench.analysis({"kind": "profile", "scan": {**s2, "num": 10_000}},
                       ["CsI", "Xe", "Ge", "Si", "Ar", "C3F8"], "common")
    xa, ya, xb = a.x.grid(), a.y.grid(), b.scan.grid()
    def sample_a(rng):
        i, j = (int(v) for v in rng.integers(0, 100, 2))
        return (i, j), {"sin2_theta_w": xa[i], "neutron_radius_fm": ya[j]}

    def sample_b(rng):
        k = int(rng.integers(0, xb.size))
        return (k,), {"sin2_theta_w": xb[k]}

    rows = []
    for label, an, sample in (
        ("100 × 100 (sin²θ_W, R_n), CsI, spectra + profile (cold cache)", a, sample_a),
        ("10⁴-point sin²θ_W profile, six detectors, one shared α (cold cache)", b, sample_b),
    ):
        chi2_grid(an)  # warm imports

        def fast(an=an):
            clear_cache()
            return chi2_grid(an)

        before = load()
        times, grid = timed(fast, repeat)
        key = "combined" if "combined" in grid else next(iter(grid))
        rng = np.random.default_rng(2)
        t0 = time.perf_counter()
        worst = 0.0
        for _ in range(bench.N_SAMPLE):
            idx, values = sample(rng)
            worst = max(worst, abs(bench.reference_point(an, values) - grid[key][idx]))
        t_ref = (time.perf_counter() - t0) / bench.N_SAMPLE * grid[key].size
        rows.append(Row("analyses: whole grids", label, times, t_ref,
                        f"Migrad per point, extrapolated from {bench.N_SAMPLE}",
                        f"max abs. Δχ² {worst:.1e}", before, load()))
    return rows


def case_ngi(repeat: int) -> list[Row]:
    bench = _load("bench_ngi")
    from cevns.analyses import shipped_analysis
    from cevns.analyses.sensitivity import chi2_grid
    from cevns.rates import clear_cache

    an = shipped_analysis("fig6")
    chi2_grid(an, variant=an.variants[0])
    rows = []
    for variant in an.variants:
        def fast(variant=variant):
            clear_cache()
            return chi2_grid(an, variant=variant)["combined"]

        before = load()
        times, grid = timed(fast, repeat)
        masses, couplings = an.x.grid(), an.y.grid()
        idx = np.random.default_rng(1).integers(0, 100, size=(bench.N_SAMPLE, 2))
        t0 = time.perf_counter()
        worst, invalid = 0.0, 0
        for i, j in idx:
            ref, valid = bench.reference_point(an, variant, masses[i], couplings[j])
            if valid:
                worst = max(worst, abs(ref - grid[i, j]) / max(1.0, abs(ref)))
            else:
                invalid += 1
        t_ref = (time.perf_counter() - t0) / bench.N_SAMPLE * grid.size
        rows.append(Row("analyses: whole grids", f"NGI {variant.label}: 100 × 100 (m_X, g), six "
                        "detectors (cold cache)", times, t_ref,
                        f"fresh spectra + Migrad per point, extrapolated from {bench.N_SAMPLE}",
                        f"max rel. {worst:.1e} ({invalid} invalid Migrad)", before, load()))
    return rows


def case_sterile(repeat: int) -> list[Row]:
    bench = _load("bench_sterile")
    from cevns.analyses.sensitivity import chi2_grid
    from cevns.rates import clear_cache

    dip = bench.make({"name": "dipole", "options": {"channel": "mu", "beyond_reach": "no-signal"}},
                     {"parameter": "sterile_mass_MeV", "start": 0.1, "stop": 52.8, "num": 100,
                      "spacing": "log"},
                     {"parameter": "magnetic_moment", "start": 1e-11, "stop": 1e-6, "num": 100,
                      "spacing": "log"})
    osc = bench.make({"name": "sterile-oscillation", "options": {"channel": "e"}},
                     {"parameter": "delta_m2_eV2", "start": 0.01, "stop": 100.0, "num": 100,
                      "spacing": "log"},
                     {"parameter": "sin2_2theta", "start": 1e-3, "stop": 1.0, "num": 100,
                      "spacing": "log"})
    rows = []
    for label, an in (("dipole portal 100 (m₄) × 100 (μ), six detectors (cold cache)", dip),
                      ("3+1 100 (Δm²) × 100 (sin²2θ), six detectors (cold cache)", osc)):
        chi2_grid(an)

        def fast(an=an):
            clear_cache()
            return chi2_grid(an)["combined"]

        before = load()
        times, grid = timed(fast, repeat)
        xs, ys = an.x.grid(), an.y.grid()
        rng = np.random.default_rng(3)
        t0 = time.perf_counter()
        worst, invalid = 0.0, 0
        for _ in range(bench.N_SAMPLE):
            i, j = rng.integers(0, 100, 2)
            ref, valid = bench.reference_point(an, {an.x.parameter: xs[i],
                                                    an.y.parameter: ys[j]})
            if valid:
                worst = max(worst, abs(ref - grid[i, j]) / max(1.0, ref))
            else:
                invalid += 1
        t_ref = (time.perf_counter() - t0) / bench.N_SAMPLE * grid.size
        rows.append(Row("analyses: whole grids", label, times, t_ref,
                        f"fresh spectra + Migrad per point, extrapolated from {bench.N_SAMPLE}",
                        f"max rel. {worst:.1e} ({invalid} invalid Migrad)", before, load()))
    scan = _load("bench_oscillation_scan")
    before = load()
    fast, ref, diff = scan.measure()
    rows.append(Row("analyses: whole grids",
                    "3+1 counts on the Fig. 9 Δm² grid (195 × 2 channels × 6 detectors), "
                    "evenly spaced Δm² together (CPU s)", [fast], ref,
                    "one basis per Δm² (CPU s, same run)", f"max rel. {diff:.1e}", before,
                    load()))
    return rows


IMPORT_CODE = ("import cevns.rates, cevns.stats, cevns.analyses; "
               "cevns.analyses.shipped_analysis('fig6')")


def case_overlay(repeat: int) -> list[Row]:
    bench = _load("bench_overlay")
    before = load()
    times, reference, n_sub, diff = bench.measure(repeat, subset=8)
    return [Row("analyses: coherent overlay", "one fig7 overlay panel: CsI-2021 + LAr-2020 "
                "combined Δχ² on 14 × 16 points, shared flux nuisance, shape nuisances (CPU s)",
                times, reference, f"per point, cold profiles, extrapolated from {n_sub} (CPU s)",
                f"max abs. Δχ² {diff:.1e}", before, load())]


def _import_time(python: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([python, "-c", IMPORT_CODE], check=True, capture_output=True)
    return time.perf_counter() - t0


def case_imports(repeat: int, baseline_python: str | None) -> list[Row]:
    before = load()
    ours = [_import_time(sys.executable) for _ in range(repeat)]
    base = [_import_time(baseline_python) for _ in range(repeat)] if baseline_python else None
    probe = (f"{IMPORT_CODE}\nimport sys\nprint(' '.join(m for m in ('matplotlib.pyplot', "
             "'xarray', 'dask', 'scipy.stats') if m in sys.modules) or 'none')")
    heavy = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                           text=True).stdout.strip()
    note = f"heavy modules loaded: {heavy}"
    if base is not None:
        heavy_b = subprocess.run([baseline_python, "-c", probe], check=True, capture_output=True,
                                 text=True).stdout.strip()
        note += f" (baseline: {heavy_b})"
    return [Row("imports", "import the library and load one analysis file (level validation "
                "included) in a fresh interpreter, vs the baseline installation",
                ours, statistics.median(base) if base else None,
                "baseline interpreter, median" if base else "no baseline given", note,
                before, load())]


# --------------------------------------------------------------------------------------------
# cevns reproduce


@dataclass
class TimeV:
    label: str
    wall_s: float
    user_s: float
    sys_s: float
    max_rss_mb: float
    load_before: float | None = None
    load_after: float | None = None


def parse_time_v(text: str, label: str) -> TimeV:
    """Parse the output of ``/usr/bin/time -v``."""
    def grab(pattern: str) -> str:
        m = re.search(pattern, text)
        if not m:
            raise ValueError(f"{label}: no {pattern!r} in the /usr/bin/time -v log")
        return m.group(1)

    parts = [float(p) for p in grab(r"Elapsed \(wall clock\) time.*?: ([\d:.]+)").split(":")]
    wall = sum(p * 60**k for k, p in enumerate(reversed(parts)))
    loads = [float(x) for x in re.findall(r"load average: ([\d.]+)", text)]
    return TimeV(label, wall, float(grab(r"User time \(seconds\): ([\d.]+)")),
                 float(grab(r"System time \(seconds\): ([\d.]+)")),
                 float(grab(r"Maximum resident set size \(kbytes\): (\d+)")) / 1024,
                 loads[0] if loads else None, loads[-1] if len(loads) > 1 else None)


#: The `cevns reproduce` runs timed with ``--reproduce``: (label suffix, extra arguments, also
#: for the baseline installation). The first is each installation's default executor (``auto``
#: — a process pool on the cores — since the items share one queue; serial before).
REPRODUCE_RUNS = ((", default executor", (), True),
                  (", --quick", ("--quick",), True),
                  (", --executor serial", ("--executor", "serial"), False))


def run_reproduce(cevns_exe: str, label: str, extra: tuple[str, ...] = ()) -> TimeV:
    with tempfile.TemporaryDirectory() as tmp:
        before = load()
        # every descendant counted: the process pool's forkserver and its workers are not
        # children the command waits for (bench_reproduce_executors.timed)
        timed = _load("bench_reproduce_executors").timed
        proc = subprocess.run(timed([cevns_exe, "reproduce", *extra, "--out",
                                     str(Path(tmp) / "out")]), capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{label}: cevns reproduce failed:\n{proc.stderr[-2000:]}")
        tv = parse_time_v(proc.stderr, label)
        tv.load_before, tv.load_after = before, load()
        return tv


def started_cluster(repeat: int) -> str:
    """The 200 × 200 NGI scan on executors already started, each warm scan on a fresh grid
    (``bench_executors.py --case ngi200 --fresh-grids``): the scan's own speed-up, without the
    command's start-up and render."""
    bench = _load("bench_executors")
    before = load()
    rows = bench.bench(bench.ngi200_case(), repeat=max(3, repeat),
                       only=["processes, 2 workers", "dask, 2 workers"], fresh_grids=True)
    return ("### The same 200 × 200 scan on started executors\n\n" + bench.markdown(rows)
            + f"\n\nLoad {before:.1f} → {load():.1f}. `benchmarks/bench_executors.py --case ngi200 "
            "--fresh-grids`: the executor is started once, scanned once cold, then each warm scan "
            "runs on a grid no earlier scan saw (workers started, caches empty for its points), as "
            "a user's next scan on a running cluster; speed-up = serial / executor, warm scans.")


# --------------------------------------------------------------------------------------------
# Output


def markdown(rows: list[Row], repro: list[TimeV], repeat: int, started: str,
             executors: str = "") -> str:
    import cevns

    commit = subprocess.run(["git", "-C", str(HERE.parent), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip() or "unknown"
    lines = [
        "# Benchmarks",
        "",
        "Regenerate this page with one command (it takes a few minutes):",
        "",
        "```",
        "python benchmarks/run_all.py --out docs/benchmarks.md",
        "```",
        "",
        f"Measured {started} on commit `{commit}` (cevns {cevns.__version__}), Python "
        f"{platform.python_version()}, NumPy {np.__version__}, {platform.machine()}, "
        f"{os.cpu_count()} CPU(s). Every ratio is measured in this one run, the fast path and "
        "its reference side by side on the same inputs. Fast path: min and median of "
        f"{repeat} repetitions. Reference: timed once, on a random subset of grid points where "
        "noted and extrapolated linearly to the whole grid. **Load** is the 1-minute load "
        "average before → after the row: times scale with it on a shared machine (the ratio "
        "uses the median fast time and is less sensitive, not insensitive).",
        "",
    ]
    group = None
    for row in rows:
        if row.group != group:
            group = row.group
            lines += ["", f"## {group}", "",
                      "| case | fast min | fast median | reference | ratio | agreement | load |",
                      "|---|---|---|---|---|---|---|"]
        ref = "—" if row.reference is None else f"{fmt_s(row.reference)} ({row.reference_note})"
        lines.append(f"| {row.case} | {fmt_s(min(row.fast))} | "
                     f"{fmt_s(statistics.median(row.fast))} | {ref} | {row.ratio} | "
                     f"{row.agreement} | {row.load_before:.1f} → {row.load_after:.1f} |")
    lines += ["", "## `cevns reproduce` (all 30 items)", ""]
    if repro:
        lines += ["| installation | wall time | CPU time (user + sys) | peak memory (max RSS) | "
                  "load |", "|---|---|---|---|---|"]
        for tv in repro:
            ld = ("?" if tv.load_before is None else f"{tv.load_before:.1f}") + " → " + (
                "?" if tv.load_after is None else f"{tv.load_after:.1f}")
            lines.append(f"| {tv.label} | {tv.wall_s:.1f} s | {tv.user_s + tv.sys_s:.1f} s | "
                         f"{tv.max_rss_mb:.0f} MB | {ld} |")
        lines += ["", "Measured with `/usr/bin/time -v cevns reproduce --out <tmp>`, one "
                  "installation after the other (or read from such logs with `--reproduce-logs`, "
                  "each log starting and ending with an `uptime` line). On a loaded machine the "
                  "wall time mostly measures the load, the CPU time the work. Peak memory and "
                  "the caches behind it: `docs/engine.md`."]
    else:
        lines.append("Not measured in this run (pass `--reproduce`, or `--reproduce-logs`).")
    if executors:
        lines += ["", "## Executors side by side (`cevns reproduce`, 200 × 200 NGI `cevns run`)",
                  "", executors.rstrip(), "",
                  "Measured by `benchmarks/bench_reproduce_executors.py` (called by `run_all.py "
                  "--reproduce`): each executor in turn, repeated, two workers for the parallel "
                  "ones; *files = serial* compares every output file but the run records "
                  "byte by byte with the first serial run."]
    lines += ["", "The early-stop row compares `profile(level=25)` with profiling every point to "
              "convergence on the same channels, repetitions interleaved. Since the profiler "
              "enforces the physical bounds (`docs/statistics.md` §3) the points far above the "
              "level converge in a few iterations anyway, so stopping early saves few Newton "
              "iterations (counts in the row) and little time.",
              "", "*Agreement* of the NGI rows is the largest |χ²_fast − χ²_Migrad| / max(1, "
              "χ²_Migrad) over the sampled points. Where it exceeds ~1e-5 the per-point MIGRAD "
              "reference is the one that misses: at the B−L point m = 0.43 MeV, g = 9.3e-3 "
              "(Δχ² ≈ 5500, far inside the excluded region) MIGRAD from its default start stops "
              "at 367.3 for Si with the signal nuisance at its bound, while the batched profile "
              "finds 355.0 and MIGRAD started there confirms 355.0 (checked 2026-11-30)."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="Markdown file to write (default: stdout)")
    parser.add_argument("--repeat", type=int, default=5, help="repetitions of each fast path")
    parser.add_argument("--minuit-points", type=int, default=200,
                        help="iminuit subset size of the stats rows")
    parser.add_argument("--only", action="append", default=None,
                        choices=["spectra", "stats", "early-stop", "sm", "ngi", "sterile",
                                 "overlay", "imports"],
                        help="run only these groups (repeatable)")
    parser.add_argument("--baseline-python", help="python of a baseline cevns installation")
    parser.add_argument("--reproduce", action="store_true",
                        help="also time `cevns reproduce` (default, --quick and dask on 2 workers; "
                             "current and baseline alternating): several minutes")
    parser.add_argument("--reproduce-logs", nargs="+", metavar="LOG",
                        help="/usr/bin/time -v logs of cevns reproduce: current [baseline]")
    parser.add_argument("--reproduce-repeat", type=int, default=2,
                        help="runs of each executor in the side-by-side table (--reproduce)")
    parser.add_argument("--labels", nargs=2, default=["this commit", "baseline"],
                        metavar=("CURRENT", "BASELINE"),
                        help="names of the two installations in the reproduce table")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be ≥ 1")
    warnings.simplefilter("ignore", RuntimeWarning)  # Migrad probing absurd points
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    only = set(args.only or ["spectra", "stats", "early-stop", "sm", "ngi", "sterile",
                             "overlay", "imports"])
    rows: list[Row] = []
    steps = [("imports", lambda: case_imports(args.repeat, args.baseline_python)),
             ("spectra", lambda: case_spectra(args.repeat)),
             ("stats", lambda: case_stats(args.repeat, args.minuit_points)),
             ("early-stop", lambda: case_early_stop(args.repeat)),
             ("sm", lambda: case_sm(args.repeat)),
             ("ngi", lambda: case_ngi(args.repeat)),
             ("sterile", lambda: case_sterile(args.repeat)),
             ("overlay", lambda: case_overlay(args.repeat))]
    for name, step in steps:
        if name in only:
            t0 = time.perf_counter()
            new = step()
            rows += new
            print(f"{name}: {len(new)} row(s) in {time.perf_counter() - t0:.0f} s "
                  f"(load {load():.1f})", file=sys.stderr)
    repro: list[TimeV] = []
    if args.reproduce_logs:
        for path, label in zip(args.reproduce_logs, args.labels, strict=False):
            repro.append(parse_time_v(Path(path).read_text(), label))
    elif args.reproduce:
        # current and baseline alternate run by run, so that a change of load hits both alike
        for suffix, extra, on_baseline in REPRODUCE_RUNS:
            repro.append(run_reproduce(str(Path(sys.executable).with_name("cevns")),
                                       args.labels[0] + suffix, extra))
            if args.baseline_python and on_baseline:
                repro.append(run_reproduce(str(Path(args.baseline_python).with_name("cevns")),
                                           args.labels[1] + suffix, extra))
    executors = ""
    if args.reproduce:
        bench = _load("bench_reproduce_executors")
        summaries = bench.measure(str(Path(sys.executable).with_name("cevns")),
                                  repeat=args.reproduce_repeat,
                                  log=lambda m: print(m, file=sys.stderr, flush=True))
        executors = bench.markdown(summaries)
        executors += "\n\n" + started_cluster(args.reproduce_repeat)
    text = markdown(rows, repro, args.repeat, started, executors)
    if args.out:
        from cevns.fsio import atomic_write_text

        atomic_write_text(args.out, text)
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        print(text)


if __name__ == "__main__":
    main()
