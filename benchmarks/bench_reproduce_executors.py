"""``cevns reproduce`` and a 200 × 200 NGI ``cevns run`` on each executor, side by side.

    python benchmarks/bench_reproduce_executors.py --repeat 2
    python benchmarks/bench_reproduce_executors.py --case ngi200 --repeat 3 --executors serial processes
    python benchmarks/bench_reproduce_executors.py --baseline ./cevns-main   # old code beside

Each run is a fresh ``/usr/bin/time -v cevns …`` into a new temporary folder: wall time, CPU time
(user + sys of the command and of every process it started, the pool's forkserver and its
workers included: :func:`timed`) and peak memory (of the largest process), with the
1-minute load average before and after. The executors alternate run by run (serial, processes,
dask, serial, …) so that a change of load hits each alike. The outputs of every run are compared
byte by byte with those of the first serial run (every file an item writes but its
``provenance.json``, which records the executor and the times).

Cases: ``reproduce`` (all items, default resolution) and ``ngi200`` (``cevns run`` of Fig. 6 —
four mediators, six detectors — on a 200 × 200 grid). ``run_all.py --reproduce`` calls
:func:`measure` with both.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

#: executor name → the command-line options that select it (two workers for the parallel ones)
EXECUTORS = {
    "serial": ("--executor", "serial"),
    "processes": ("--executor", "processes", "--workers", "2"),
    "dask": ("--executor", "dask", "--workers", "2"),
}
#: Runs a command as a Linux "child subreaper" and reaps every process it leaves behind, so that
#: ``/usr/bin/time -v`` of this wrapper counts them all. A process pool's forkserver (and the
#: workers it forks) is not the command's child and outlives it by a moment: without the
#: wrapper its CPU time and memory would be missing from the measurement.
REAP_ALL = """
import ctypes, os, subprocess, sys
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
code = subprocess.call(sys.argv[1:])
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
sys.exit(code)
"""


def timed(command: list[str]) -> list[str]:
    """`command` under ``/usr/bin/time -v``, every descendant counted (see :data:`REAP_ALL`)."""
    return ["/usr/bin/time", "-v", sys.executable, "-c", REAP_ALL, *command]


#: files that record how a run went, not what it computed
RUN_RECORDS = {"provenance.json", "index.json", "index.md", "index.html", "contact_sheet.png"}


@dataclass
class Run:
    case: str
    executor: str
    wall_s: float
    cpu_s: float
    max_rss_mb: float
    load_before: float
    load_after: float
    identical: bool | None = None


@dataclass
class Summary:
    case: str
    executor: str
    runs: list[Run] = field(default_factory=list)

    def stat(self, attr: str, how) -> float:
        return how(getattr(r, attr) for r in self.runs)


def _time_v(text: str) -> tuple[float, float, float]:
    """(wall, CPU = user + sys, peak memory in MB) of a ``/usr/bin/time -v`` output."""
    from run_all import parse_time_v  # benchmarks/ is on sys.path (this script's folder)

    tv = parse_time_v(text, "cevns")
    return tv.wall_s, tv.user_s + tv.sys_s, tv.max_rss_mb


def ngi200_file(folder: Path) -> Path:
    """Fig. 6's analysis file with 200 points on both axes."""
    from importlib.resources import files

    text = (files("cevns.analyses") / "shipped" / "fig6.toml").read_text()
    text, n = re.subn(r"(?m)^num = 100$", "num = 200", text)
    if n != 2:
        raise RuntimeError("fig6.toml: expected two 'num = 100' axes")
    text = text.replace('name = "fig6"', 'name = "ngi200"', 1)
    path = folder / "ngi200.toml"
    path.write_text(text)
    return path


def _outputs(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and "scans" not in p.relative_to(root).parts
            and p.name not in RUN_RECORDS}


def run_once(cevns: str, case: str, executor: str, work: Path) -> tuple[Run, dict[str, bytes]]:
    out = Path(tempfile.mkdtemp(prefix=f"{case}-{executor}-", dir=work))
    if case == "reproduce":
        args = ["reproduce", "--out", str(out)]
    else:
        args = ["run", str(ngi200_file(work)), "--out", str(out)]
    before = os.getloadavg()[0]
    proc = subprocess.run(timed([cevns, *args, *EXECUTORS[executor]]),
                          capture_output=True, text=True, cwd=work)
    after = os.getloadavg()[0]
    if proc.returncode != 0:
        raise RuntimeError(f"{case} on {executor} failed:\n{proc.stderr[-3000:]}")
    wall, cpu, rss = _time_v(proc.stderr)
    return Run(case, executor, wall, cpu, rss, before, after), _outputs(out)


def measure(cevns: str, cases=("reproduce", "ngi200"), executors=tuple(EXECUTORS),
            repeat: int = 2, log=print, baseline: str | None = None) -> list[Summary]:
    """Run every case ``repeat`` times on each executor, alternating; compare the outputs.

    With a `baseline` (the ``cevns`` command of another installation or commit), each executor
    also runs on it, interleaved with the runs of `cevns`, labelled ``"<executor> (baseline)"``.
    """
    summaries = []
    installs = [("", cevns)] + ([(" (baseline)", baseline)] if baseline else [])
    with tempfile.TemporaryDirectory(prefix="cevns-bench-") as tmp:
        for case in cases:
            by_exe = {e + tag: Summary(case, e + tag) for e in executors for tag, _ in installs}
            reference: dict[str, bytes] | None = None
            for k in range(repeat):
                for exe in executors:
                    for tag, command in installs:
                        run, files = run_once(command, case, exe, Path(tmp))
                        run.executor = exe + tag
                        if reference is None:
                            reference = files
                        run.identical = files == reference
                        by_exe[exe + tag].runs.append(run)
                        log(f"{case} {exe}{tag} #{k + 1}: wall {run.wall_s:.1f} s, CPU "
                            f"{run.cpu_s:.1f} s, peak {run.max_rss_mb:.0f} MB, load "
                            f"{run.load_before:.1f} → {run.load_after:.1f}, "
                            f"identical: {run.identical}")
            summaries += by_exe.values()
    return summaries


def markdown(summaries: list[Summary]) -> str:
    lines = ["| case | executor | wall min | wall median | CPU min | CPU median | speed-up "
             "(serial wall median / wall median) | peak memory | load | files = serial |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|---|"]
    serial = {s.case: s.stat("wall_s", statistics.median) for s in summaries
              if s.executor == "serial"}  # the speed-up of a baseline too is against this serial
    for s in summaries:
        med = s.stat("wall_s", statistics.median)
        speed = f"{serial[s.case] / med:.2f}×" if s.case in serial else "—"
        loads = ", ".join(f"{r.load_before:.1f} → {r.load_after:.1f}" for r in s.runs)
        same = "yes" if all(r.identical for r in s.runs) else "**no**"
        lines.append(f"| {s.case} | {s.executor} | {s.stat('wall_s', min):.1f} s | {med:.1f} s | "
                     f"{s.stat('cpu_s', min):.1f} s | {s.stat('cpu_s', statistics.median):.1f} s "
                     f"| {speed} | {s.stat('max_rss_mb', max):.0f} MB | {loads} | {same} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", choices=["reproduce", "ngi200"])
    parser.add_argument("--executors", nargs="+", choices=list(EXECUTORS), default=list(EXECUTORS))
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--baseline", metavar="CEVNS", help="the cevns command of another "
                        "installation or commit, run beside this one (e.g. a script running "
                        "PYTHONPATH=/path/to/old/src cevns \"$@\")")
    args = parser.parse_args(argv)
    cevns = str(Path(sys.executable).with_name("cevns"))
    summaries = measure(cevns, tuple(args.case or ("reproduce", "ngi200")), tuple(args.executors),
                        args.repeat, log=lambda m: print(m, file=sys.stderr, flush=True),
                        baseline=args.baseline)
    print(markdown(summaries))


if __name__ == "__main__":
    main()
