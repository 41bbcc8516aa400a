"""CPU time of the sensitivity profiles with and without the line minimum of a Newton step cut at a
bound (``cevns.stats.profile._line_minimum``), on the χ² grids of shipped items.

Run from the repository root::

    PYTHONPATH=src python benchmarks/bench_profile_line.py [--repeat 3] [--items fig16 fig20 fig7]

For each item's first variant (full resolution) the profile calls of
``cevns.analyses.sensitivity.compute._chi2`` (each detector alone, and the joint fit of the
shared-α combination) are recorded once, then re-run the two ways, alternating; the channels are
built once, so only the profiling is timed (process CPU seconds, min and median over
``--repeat``). Reported beside the times: the Newton iterations summed over all points, and the
largest difference of the two ways' χ² at points both call converged (and, relative to the
excess over the early-stop level, at points decided above it).
"""

from __future__ import annotations

import argparse
import statistics
import time
from unittest import mock

import numpy as np


def _calls(item: str):
    from cevns.analyses import shipped_analysis
    from cevns.analyses.sensitivity import compute as comp_module

    an = shipped_analysis(item)
    comp = an.compute(0 if getattr(an, "variants", ()) else None)
    built = comp_module._built(comp)
    calls = []
    real = comp_module.profile_chi2

    def record(channels, **kw):
        calls.append((channels, kw))
        return real(channels, **kw)

    with mock.patch.object(comp_module, "profile_chi2", record):
        comp_module._chi2(comp, built, None, True)
    return calls, comp.stop_level


def _run(calls, line_minimum: bool):
    import cevns.stats.profile as profile_module

    with mock.patch.object(profile_module, "_LINE_MINIMUM", line_minimum):
        t0 = time.process_time()
        results = [profile_module.profile_chi2(ch, **kw) for ch, kw in calls]
        return time.process_time() - t0, results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--items", nargs="+", default=["fig16", "fig20", "fig7", "fig11"])
    args = ap.parse_args()
    print("| item (first variant) | fits | bound then climb: min / median | line minimum: "
          "min / median | ratio (medians) | Newton iterations | max Δχ² converged | decided |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for item in args.items:
        calls, stop = _calls(item)
        times = {False: [], True: []}
        res = {}
        for _ in range(args.repeat):
            for way in (False, True):
                dt, res[way] = _run(calls, way)
                times[way].append(dt)
        worst = decided = 0.0
        for a, b in zip(res[False], res[True], strict=True):
            both = (a.status == 0) & (b.status == 0)
            d = np.abs(a.chi2 - b.chi2)
            worst = max(worst, float(np.max(np.where(both, d, 0.0))))
            dec = (a.status == 1) | (b.status == 1)
            excess = np.maximum(a.chi2 - np.min(a.chi2) - stop, 1.0)
            decided = max(decided, float(np.max(np.where(dec, d / excess, 0.0))))
        its = [sum(int(r.n_iter.sum()) for r in res[w]) for w in (False, True)]
        old, new = (statistics.median(times[w]) for w in (False, True))
        print(f"| {item} | {len(calls)} | {min(times[False]):.2f} / {old:.2f} s | "
              f"{min(times[True]):.2f} / {new:.2f} s | {old / new:.2f}× | {its[0]:,} → {its[1]:,} "
              f"| {worst:.1e} | {decided:.1e} of the excess |", flush=True)


if __name__ == "__main__":
    main()
