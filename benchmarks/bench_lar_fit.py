"""Benchmark of a full LAr-2020 fit of N_CEvNS with every nuisance (docs/coherent_lar.md).

Run as ``python benchmarks/bench_lar_fit.py``. Two timings on the same likelihood:

- **cevns**: ``fit_parameter(ReleaseModel(rel), "n_cevns", cross_check=False)``: the adaptive
  batched profile (41 + 201 points) of the package, with the release's shape nuisances when
  ``cevns.stats`` supports them (the line says which);
- **reference**: MIGRAD (+ MINOS on N) over N and all eight nuisances at once, the χ² written out
  with :class:`cevns.stats.shapes.ShapeSystematics` (HistFactory code 4 for the shape nuisances,
  numerical gradients): the straightforward way.

Both are timed after the model is built (the model build is timed separately).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
from iminuit import Minuit

from cevns.datasets import load_release
from cevns.fits import ReleaseModel, fit_parameter, make_signal_model
from cevns.fits.model import LAR_SHAPE_CODE
from cevns.stats.shapes import ShapeSystematics, ShapeVariation


def reference_fit(model: ReleaseModel) -> tuple[float, float, float, int]:
    """MIGRAD + MINOS over N, the four normalisations and the five shape nuisances."""
    rel = model.release
    shape = make_signal_model(model, "n_cevns").signal([1.0])[0]
    ratios = {name: syst.ratios() for name, syst in rel.shape_systematics.items()}
    comps = {"cevns": shape, **{n: t.expected for n, t in model.backgrounds.items()}}
    systs = {}
    for comp, nominal in comps.items():
        names = [n for n, s in rel.shape_systematics.items() if s.component == comp]
        if names:
            systs[comp] = (names, ShapeSystematics(nominal, tuple(
                ShapeVariation(n, up=nominal * ratios[n][1], down=nominal * ratios[n][0],
                               interpolation=LAR_SHAPE_CODE,
                               conserve_total=model.shape_totals == "conserved")
                for n in names)))
    norms = [t.nuisance for t in model.backgrounds.values()]
    sigmas = np.array([t.sigma for t in model.backgrounds.values()])
    shapes = list(rel.shape_systematics)
    n_obs = model.observed
    pos = n_obs > 0
    calls = 0

    def chi2(x):
        nonlocal calls
        calls += 1
        alpha = dict(zip(shapes, x[1 + len(norms):], strict=True))
        mu = np.zeros_like(n_obs)
        for k, (comp, nominal) in enumerate(comps.items()):
            part = nominal
            if comp in systs:
                names, syst = systs[comp]
                part = syst.evaluate(np.array([alpha[n] for n in names]), derivatives=False)
            mu = mu + (x[0] if comp == "cevns" else 1.0 + x[k]) * part
        if np.any(mu[pos] <= 0):
            return 1e30
        dev = mu - n_obs
        dev[pos] -= n_obs[pos] * np.log(mu[pos] / n_obs[pos])
        pulls = x[1:1 + len(norms)] / sigmas
        return 2.0 * dev.sum() + pulls @ pulls + x[1 + len(norms):] @ x[1 + len(norms):]

    m = Minuit(chi2, np.array([150.0] + [0.0] * (len(norms) + len(shapes))),
               name=["n", *norms, *shapes])
    m.errordef = Minuit.LEAST_SQUARES
    m.limits["n"] = (0.0, None)
    for n in norms:
        m.limits[n] = (-1.0 + 1e-9, None)
    m.migrad()
    m.minos("n")
    me = m.merrors["n"]
    return m.values["n"], m.values["n"] + me.lower, m.values["n"] + me.upper, calls


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    rel = load_release("coherent-lar-2020")
    t0 = time.perf_counter()
    model = ReleaseModel(rel)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    fit = fit_parameter(model, "n_cevns", cross_check=False)
    fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    best, lower, upper, calls = reference_fit(model)
    ref = time.perf_counter() - t0
    load = os.getloadavg()[0]
    print(f"machine: {platform.processor() or platform.machine()}, load {load:.2f}")
    print(f"model build: {build:.3f} s")
    shapes = "on" if model.shape_nuisances else "OFF: cevns.stats has none"
    print(f"cevns fit_parameter (shape nuisances {shapes}): {fast:.3f} s, N = {fit.best:.1f} "
          f"[{fit.lower:.1f}, {fit.upper:.1f}]")
    print(f"reference MIGRAD+MINOS, all 9 parameters: {ref:.3f} s ({calls} χ² calls), "
          f"N = {best:.1f} [{lower:.1f}, {upper:.1f}]")


if __name__ == "__main__":
    main()
