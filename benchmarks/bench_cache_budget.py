"""Every shipped item in one process for several engine-cache budgets: CPU time, peak memory,
cache hits and misses.

    python benchmarks/bench_cache_budget.py --budgets 32 8 4

Each budget runs in a fresh ``python`` process with ``CEVNS_CACHE_MB`` set (the budget in MiB of
*each* engine cache, :mod:`cevns.cache`), running every item of ``cevns reproduce`` one after the
other (serially, default resolution) into a temporary folder. The budgets run side by side (all
at once), so they share the load; the misses are what the budget changes (an evicted basis or
response matrix is rebuilt on its next use), the CPU time is how much that costs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

CHILD = r"""
import json, os, resource, sys, time
from pathlib import Path
from cevns.analyses import RunOptions, item_names, shipped_analysis
from cevns.analyses.base import run_analysis
from cevns.cache import cache_info
out = Path(sys.argv[1])
t0 = time.process_time()
for item in item_names():
    run_analysis(shipped_analysis(item), out / item, RunOptions(extra={"scan_root": out / "scans"}))
print(json.dumps({"cpu_s": time.process_time() - t0,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "caches": cache_info()}))
"""


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", nargs="+", type=float, default=[32, 8, 4], metavar="MIB")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="cevns-cache-") as tmp:
        procs = {mib: subprocess.Popen([sys.executable, "-c", CHILD, os.path.join(tmp, str(mib))],
                                       env={**os.environ, "CEVNS_CACHE_MB": str(mib)},
                                       stdout=subprocess.PIPE, text=True)
                 for mib in args.budgets}
        results = {mib: json.loads(p.communicate()[0].strip().splitlines()[-1])
                   for mib, p in procs.items()}
    print(f"load {load:.1f} → {os.getloadavg()[0]:.1f}\n")
    print("| budget per cache | CPU | peak memory | basis_spectra hits / misses | "
          "response hits / misses |")
    print("|---:|---:|---:|---:|---:|")
    for mib, r in results.items():
        c = r["caches"]
        print(f"| {mib:g} MiB | {r['cpu_s']:.1f} s | {r['max_rss_mb']:.0f} MB | "
              f"{c['basis_spectra']['hits']} / {c['basis_spectra']['misses']} | "
              f"{c['response']['hits']} / {c['response']['misses']} |")


if __name__ == "__main__":
    main()
