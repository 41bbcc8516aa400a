"""Benchmark: what the unchecked kinematics saves the rate engine (cevns.physics.kinematics).

Run: ``python benchmarks/bench_kinematics_checks.py [--repeat N]``. The workload is the engine's
share of fig20 (``cevns reproduce --only fig20``): up-scattering basis builds (scalar mediator,
m₄ = 0.5 m_X, 54 mediator masses from 0.1 to 1000 MeV) for the six ESS detectors, with
``compute_basis_spectra`` (no basis cache; the response matrices are cached after the first
round, as in a run). It is timed twice in the same process, interleaved ``N`` times: as the code
runs (unchecked kinematics at the engine's own call sites) and with every such call site switched
back to the checked public function. Printed: the minimum and median CPU seconds of each and
their difference (on a shared machine the difference is within the noise of a round), then the
steadier estimate: the calls per round at each call site times the per-call cost of the checks
(``timeit`` of the checked and the unchecked function on the arguments recorded at that site,
minimum of 7 repeats); the counts of the two paths are compared with ``np.array_equal``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import timeit
from collections import defaultdict
from pathlib import Path

import numpy as np

from cevns.experiment import get_detector, get_source
from cevns.physics.units import MeV
from cevns.physics.upscattering import UpscatteringBasis
from cevns.rates import compute_basis_spectra

DETECTORS = ("CsI", "Xe", "Ge", "Si", "Ar", "C3F8")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "rates"))
# every call site of an unchecked helper, with the checked function it stands for (the list the
# bit-identity test switches back)
from test_unchecked_kinematics import CALL_SITES  # noqa: E402


def workload() -> list[np.ndarray]:
    src = get_source("ess")
    dets = [get_detector(d) for d in DETECTORS]
    out = []
    for mx in np.geomspace(0.1, 1000.0, 54) * MeV:
        basis = UpscatteringBasis("S", 0.5 * mx, mx)
        out.extend(compute_basis_spectra(det, src, basis).counts for det in dets)
    return out


def timed(checked: bool) -> tuple[float, list[np.ndarray]]:
    saved = [(m, n, getattr(m, n)) for m, n, _ in CALL_SITES]
    if checked:
        for module, name, function in CALL_SITES:
            setattr(module, name, function)
    try:
        t0 = time.process_time()
        result = workload()
        return time.process_time() - t0, result
    finally:
        for module, name, function in saved:
            setattr(module, name, function)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    _, reference = timed(False)  # warm-up (imports, response matrices) and the reference counts
    times: dict[bool, list[float]] = {False: [], True: []}
    same = True
    for _ in range(args.repeat):
        for checked in (False, True):
            seconds, counts = timed(checked)
            times[checked].append(seconds)
            same &= all(np.array_equal(a, b) for a, b in zip(reference, counts, strict=True))
    builds = 54 * len(DETECTORS)
    for checked, label in ((False, "unchecked (as run)"), (True, "checked call sites")):
        ts = times[checked]
        print(f"{label:20s} min {min(ts):.3f} s  median {statistics.median(ts):.3f} s "
              f"({builds} builds)")
    diff = statistics.median(times[True]) - statistics.median(times[False])
    print(f"difference of the medians: {diff:.3f} s per round; counts bit-identical: {same}")
    estimate_from_calls()


def estimate_from_calls() -> None:
    """Calls per round at each call site × (checked − unchecked) time per call."""
    recorded: dict[str, list[tuple]] = defaultdict(list)
    saved = [(m, n, getattr(m, n)) for m, n, _ in CALL_SITES]
    for module, name, function in CALL_SITES:
        site = f"{module.__name__.rsplit('.', 1)[1]}.{name}"

        def recording(*args, _function=function, _site=site):
            recorded[_site].append(args)
            return _function(*args)
        setattr(module, name, recording)
    try:
        workload()
    finally:
        for module, name, function in saved:
            setattr(module, name, function)
    total = 0.0
    for (module, name, checked), (_, _, unchecked) in zip(CALL_SITES, saved, strict=True):
        site = f"{module.__name__.rsplit('.', 1)[1]}.{name}"
        calls = recorded.get(site, [])
        if not calls:
            continue
        sample = calls[:: max(1, len(calls) // 50)]  # 50 argument sets spread over the round

        def run(function, sample=sample):
            for args in sample:
                function(*args)
        per = [min(timeit.repeat(lambda f=f: run(f), number=20, repeat=7)) / (20 * len(sample))
               for f in (checked, unchecked)]
        cost = len(calls) * (per[0] - per[1])
        total += cost
        print(f"  {site:45s} {len(calls):5d} calls  checked {per[0] * 1e6:5.1f} µs  "
              f"unchecked {per[1] * 1e6:5.1f} µs  → {cost * 1e3:6.1f} ms")
    print(f"estimated saving: {total * 1e3:.1f} ms per round of {54 * len(DETECTORS)} builds")

if __name__ == "__main__":
    main()
