"""Benchmark: the dipole portal's 100 (m₄) × 100 (μ) grid and the 3+1 100 (sin²2θ) × 100 (Δm²)
grid, six ESS detectors combined, profiled nuisances.

Run: ``python benchmarks/bench_sterile.py``. The fast path is `chi2_grid` (one basis build per
shape value — m₄ or Δm² —, strength values by coefficients, batched Newton). The reference
evaluates each grid point on its own: fresh spectra of every detector (`compute_basis_spectra`,
no cache) and an iminuit profile per detector; it is timed on a sample of points and extrapolated
(labelled so). Both in this process.

``python benchmarks/bench_sterile.py --against COMMIT [--repeat N]`` instead compares the engine
of this tree with that of an older commit on the work of the paper's sterile items (docs/engine.md,
"Shared work"): the up-scattering basis builds of fig11/fig12 (3 ratios m₄/m_X × 54 m_X × six
detectors), the dipole builds of fig10, the 3+1 Δm² grid of fig9 in eight tiles per channel and
three ``coherent`` overlay grids of fig7/fig10. The old code is extracted with ``git archive``
into a temporary folder; each workload runs in a fresh subprocess on either tree, the two
interleaved ``N`` times; printed: CPU seconds (min and median), the ratio, and the largest
relative difference of the numbers (counts, Δχ²) between the trees.
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np

from cevns.analyses import parse_analysis
from cevns.analyses.sensitivity import chi2_grid
from cevns.rates import clear_cache, compute_basis_spectra
from cevns.stats import PoissonModel, signal_background_channel

DETECTORS = ["CsI", "Xe", "Ge", "Si", "Ar", "C3F8"]
N_SAMPLE = 6


def make(scenario: dict, x: dict, y: dict):
    return parse_analysis({"schema_version": 1, "name": "bench", "title": "bench",
                           "kind": "scan2d", "detectors": DETECTORS, "scenario": scenario,
                           "x": x, "y": y})


def reference_point(an, values: dict) -> float:
    sc = an.scenario.build()
    src = an.source.build()
    clear_cache()  # straightforward: nothing carried over between points
    total, valid = 0.0, True
    for det in an.build_detectors():
        shape = {k: v for k, v in values.items() if sc.parameters[k].kind == "shape"}
        strength = {k: np.asarray(p.default) for k, p in sc.parameters.items()
                    if p.kind == "strength"}
        strength.update({k: np.asarray(v) for k, v in values.items()
                         if sc.parameters[k].kind == "strength"})
        bases = sc.basis_for(shape, det, src)
        bases = bases if isinstance(bases, tuple) else (bases,)
        counts = np.concatenate([compute_basis_spectra(det, src, b).counts.sum(axis=(1, 2))
                                 for b in bases])
        bkg = det.background_counts(src)
        observed = sc.counts(det, src, {}) + bkg
        signal = np.einsum("j,jb->b", sc.coefficients(strength), counts)
        ch = signal_background_channel(det.name, observed, signal, bkg)
        m = PoissonModel([ch]).minuit()
        m.migrad()
        total += m.fval
        valid &= bool(m.valid)
    return total, valid


def run(label, an):
    chi2_grid(an)
    clear_cache()
    t0 = time.perf_counter()
    grid = chi2_grid(an)["combined"]
    t_fast = time.perf_counter() - t0
    xs, ys = an.x.grid(), an.y.grid()
    rng = np.random.default_rng(3)
    t0 = time.perf_counter()
    worst, invalid = 0.0, 0
    for _ in range(N_SAMPLE):
        i, j = rng.integers(0, 100, 2)
        ref, valid = reference_point(an, {an.x.parameter: xs[i], an.y.parameter: ys[j]})
        if valid:
            worst = max(worst, abs(ref - grid[i, j]) / max(1.0, ref))
        else:  # Migrad fails far in the excluded region; not compared (docs/statistics.md)
            invalid += 1
    t_ref = (time.perf_counter() - t0) / N_SAMPLE * grid.size
    print(f"{label}: fast {t_fast:.2f} s | per-point reference {t_ref:.0f} s (extrapolated from "
          f"{N_SAMPLE} points) | speed-up {t_ref / t_fast:.0f}x | max rel. diff {worst:.1e} "
          f"({invalid} invalid Migrad)")


WORKLOADS = ("upscattering-S", "upscattering-V", "dipole", "oscillation", "overlay")


def workload(name: str) -> np.ndarray:
    """The numbers of one workload of ``--against`` (counts or Δχ², flattened)."""
    from cevns.rates import compute_basis_spectra

    if name.startswith("upscattering") or name == "dipole":
        kind = name.split("-")[-1]
        scen = ({"name": "dipole", "options": {"channel": "mu", "beyond_reach": "no-signal"}}
                if name == "dipole" else
                {"name": "upscattering", "options": {"interaction": kind,
                                                     "beyond_reach": "no-signal"}})
        an = make(scen, {"parameter": "sterile_mass_MeV", "start": 0.1, "stop": 50, "num": 5},
                  {"parameter": "coupling" if name != "dipole" else "magnetic_moment",
                   "start": 1e-9, "stop": 1e-3, "num": 5})
        sc, src = an.scenario.build(), an.source.build()
        out = []
        for det in an.build_detectors():
            for ratio in (0.1, 0.5, 1.0):
                for mx in np.geomspace(0.1, 1000.0, 54):
                    if name == "dipole":
                        if ratio * mx > 50.0:
                            continue
                        basis = sc.basis({"sterile_mass_MeV": ratio * mx})[1]
                    else:
                        basis = sc.basis({"sterile_mass_MeV": ratio * mx,
                                          "mediator_mass_MeV": mx})[1]
                    out.append(compute_basis_spectra(det, src, basis).counts.ravel())
        return np.concatenate(out)
    if name == "oscillation":
        import tomllib
        from importlib.resources import files

        raw = tomllib.loads((files("cevns.analyses") / "shipped" / "fig9.toml").read_text())
        dm2 = np.array(raw["y"]["values"])
        out = []
        for channel in ("e", "mu"):
            an = make({"name": "sterile-oscillation", "options": {"channel": channel}},
                      {"parameter": "sin2_2theta", "start": 1e-3, "stop": 1.0, "num": 5},
                      {"parameter": "delta_m2_eV2", "values": dm2.tolist()})
            sc, src = an.scenario.build(), an.source.build()
            for det in an.build_detectors():
                for tile in np.array_split(dm2, 8):
                    counts = sc._term_counts_many(det, src, [{"delta_m2_eV2": float(v)}
                                                             for v in tile])
                    out += [c.ravel() for c in counts]
        return np.concatenate(out)
    if name == "overlay":
        from cevns.fits.combined import combined_grid

        cases = [("ngi", "mediator_mass_MeV", np.geomspace(0.01, 1e4, 14), "coupling",
                  np.geomspace(1e-7, 1e-1, 16), {"interaction": "scalar"}),
                 ("ngi", "mediator_mass_MeV", np.geomspace(0.01, 1e4, 14), "coupling",
                  np.geomspace(1e-7, 1e-1, 16), {"interaction": "axial"}),
                 ("dipole", "sterile_mass_MeV", np.geomspace(0.1, 54, 14), "magnetic_moment",
                  np.geomspace(1e-11, 1e-6, 16), {"channel": "mu", "beyond_reach": "no-signal"})]
        return np.concatenate([combined_grid(sc, xn, xs, yn, ys, options=opt,
                                             level=None).ravel()
                               for sc, xn, xs, yn, ys, opt in cases])
    raise SystemExit(f"unknown workload {name!r}; one of {', '.join(WORKLOADS)}")


def _child(name: str, out: str) -> None:
    warnings.simplefilter("ignore", RuntimeWarning)
    t0 = time.process_time()
    values = workload(name)
    print(f"{time.process_time() - t0:.4f}")
    np.save(out, values)


def against(commit: str, repeat: int) -> None:
    """Interleaved runs of every workload on this tree and on ``commit`` (module docstring)."""
    import os
    import statistics
    import subprocess
    import tempfile
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        old.mkdir()
        archive = subprocess.run(["git", "-C", str(root), "archive", commit, "src"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
        trees = {"new": str(root / "src"), "old": str(old / "src")}
        print(f"this tree vs {commit}; load {os.getloadavg()[0]:.1f}; CPU s per workload "
              f"(min / median of {repeat})")
        for name in WORKLOADS:
            times: dict[str, list[float]] = {"new": [], "old": []}
            for _ in range(repeat):
                for which, src in trees.items():
                    env = {**os.environ, "PYTHONPATH": src}
                    out = Path(tmp) / f"{which}.npy"
                    run_ = subprocess.run([sys.executable, __file__, "--child", name, str(out)],
                                          env=env, check=True, capture_output=True, text=True)
                    times[which].append(float(run_.stdout.split()[0]))
            a, b = np.load(Path(tmp) / "new.npy"), np.load(Path(tmp) / "old.npy")
            scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-300)
            diff = float(np.max(np.abs(a - b) / scale)) if a.shape == b.shape else float("inf")
            tn, to = times["new"], times["old"]
            print(f"{name:16s} new {min(tn):6.2f} / {statistics.median(tn):6.2f}  old "
                  f"{min(to):6.2f} / {statistics.median(to):6.2f}  ratio "
                  f"{min(to) / min(tn):.2f} / {statistics.median(to) / statistics.median(tn):.2f}"
                  f"  max rel. diff {diff:.1e}  (load {os.getloadavg()[0]:.1f})")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
        return
    if len(sys.argv) > 2 and sys.argv[1] == "--against":
        repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 3
        against(sys.argv[2], repeat)
        return
    warnings.simplefilter("ignore", RuntimeWarning)
    dip = make({"name": "dipole", "options": {"channel": "mu", "beyond_reach": "no-signal"}},
               {"parameter": "sterile_mass_MeV", "start": 0.1, "stop": 52.8, "num": 100,
                "spacing": "log"},
               {"parameter": "magnetic_moment", "start": 1e-11, "stop": 1e-6, "num": 100,
                "spacing": "log"})
    run("dipole portal 100 (m4) x 100 (mu), six detectors", dip)
    osc = make({"name": "sterile-oscillation", "options": {"channel": "e"}},
               {"parameter": "delta_m2_eV2", "start": 0.01, "stop": 100.0, "num": 100,
                "spacing": "log"},
               {"parameter": "sin2_2theta", "start": 1e-3, "stop": 1.0, "num": 100,
                "spacing": "log"})
    run("3+1 100 (dm2) x 100 (sin2 2theta), six detectors", osc)


if __name__ == "__main__":
    main()
