"""Benchmark: binned SM spectra of the six ESS detectors, engine vs brute-force quad reference.

Run: ``python benchmarks/bench_spectra.py``. The engine is timed cold (no cache: every basis
spectrum built from scratch) and the reference is the independent ``scipy.integrate.quad``
implementation of the tests (``tests/_reference/quad_reference.py``), over every bin, flavour and
target. Both are run in this process; the ratio is printed, and the largest relative difference.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "_reference"))

from quad_reference import binned_counts  # noqa: E402

from cevns.experiment import ESS_DETECTORS, get_detector, get_source  # noqa: E402
from cevns.physics.basis import SMBasis  # noqa: E402
from cevns.physics.cross_sections import sm_basis_coefficients  # noqa: E402
from cevns.physics.flux import FLAVOURS  # noqa: E402
from cevns.physics.units import MeV, cm  # noqa: E402
from cevns.rates import clear_cache, compute_basis_spectra  # noqa: E402


def engine_all(src):
    out = {}
    coeff = sm_basis_coefficients()
    clear_cache()  # cold: response matrices are rebuilt too
    for name in ESS_DETECTORS:
        bs = compute_basis_spectra(get_detector(name), src, SMBasis())
        out[name] = np.einsum("j,jfkb->fb", coeff, bs.counts)
    return out


def reference_all(src):
    out = {}
    fluence = src.flux_per_flavour() * cm**2
    for name in ESS_DETECTORS:
        det = get_detector(name)
        edges = det.bin_edges / MeV
        sm = None
        if det.smeared:
            sm = {"eth": det.threshold / MeV, "sigma0": det.resolution.sigma0,
                  "law": det.resolution.law}
        arr = np.zeros((len(FLAVOURS), det.n_bins))
        for a, f in enumerate(FLAVOURS):
            for (nuc, _), n_t in zip(det.nuclei, det.number_of_targets(), strict=True):
                nd = {"Z": nuc.Z, "N": nuc.N, "mass_u": nuc.atomic_mass_u, "spin": nuc.spin,
                      "sp": nuc.spin_proton, "sn": nuc.spin_neutron}
                ma = nuc.atomic_mass_u * 931.49410242
                t_max = 2 * 52.82918775**2 / (ma + 2 * 52.82918775)
                for i in range(det.n_bins):
                    arr[a, i] += binned_counts(f, nd, n_t, fluence, det.efficiency, edges[i],
                                               edges[i + 1], t_max, sm)
        out[name] = arr
    return out


def main():
    src = get_source("ess")
    engine_all(src)  # warm imports
    reps = 10
    t0 = time.perf_counter()
    for _ in range(reps):
        fast = engine_all(src)
    t_fast = (time.perf_counter() - t0) / reps
    t0 = time.perf_counter()
    ref = reference_all(src)
    t_ref = time.perf_counter() - t0
    worst = max(float(np.max(np.abs(fast[n] - ref[n]) / np.maximum(np.abs(ref[n]), 1e-300)
                             * (np.abs(ref[n]) > 1e-9))) for n in ESS_DETECTORS)
    print("binned SM spectra, six ESS detectors, all bins x 3 flavours x targets (cold, no cache)")
    print(f"  engine (Gauss-Legendre, response matrix): {t_fast * 1e3:8.1f} ms")
    print(f"  reference (scipy quad over E and T)     : {t_ref * 1e3:8.1f} ms")
    print(f"  speed-up                                : {t_ref / t_fast:8.0f} x")
    print(f"  largest relative difference             : {worst:.2e}")


if __name__ == "__main__":
    main()
