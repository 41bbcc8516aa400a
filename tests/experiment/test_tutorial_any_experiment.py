"""The tutorial docs/tutorial_any_experiment.md, run as a user would: its TOML files, the installed CLI.

The files are read from the page itself (```toml blocks starting with ``# file: NAME``), so the
page and the test cannot drift apart. Expected numbers:

- spectra: an independent ``scipy.integrate.quad`` integration over the true recoil of the same
  response written out here (Lindhard formula, normal CDF; Poisson masses × logistic efficiency),
  with the brute-force SM rate dN/dT of tests/_reference/quad_reference.py; tolerance 1e-6
  relative (the brief asks 1e-4; both detectors meet 1e-7);
- the B−L curves: physics limits (flat for a mediator much lighter than the momentum transfer,
  g ∝ m for a heavy one), finiteness and monotonicity;
- the totals quoted on the page, to the printed rounding.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from quad_reference import AMU, E_MAX, E_PI, dn_dt_per_target
from scipy.integrate import quad
from scipy.special import ndtr
from scipy.stats import poisson

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "tutorial_any_experiment.md"
FLAVOURS = ("numu", "nue", "numubar")


def page_files() -> dict[str, str]:
    text = PAGE.read_text(encoding="utf-8")
    return {m.group(1): m.group(2) for m in
            re.finditer(r"```toml\n# file: (\S+)\n(.*?)```", text, flags=re.S)}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("tutorial")
    for name, body in page_files().items():
        (d / name).write_text(body, encoding="utf-8")
    return d


def cevns(*args, cwd):
    env = {**os.environ, "PYTHONWARNINGS": "error::RuntimeWarning"}
    env.pop("CEVNS_PRESETS", None)
    proc = subprocess.run([sys.executable, "-m", "cevns", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_page_has_the_files():
    assert set(page_files()) == {"my_experiments.toml", "bl_gemini.toml", "bl_nai10.toml"}


def _nucleus_dict(nuc) -> dict:
    return {"Z": nuc.Z, "N": nuc.N, "mass_u": nuc.atomic_mass_u, "spin": nuc.spin,
            "sp": nuc.spin_proton, "sn": nuc.spin_neutron}


def _reference_bins(detector, source, probability, bins) -> np.ndarray:
    """Σ_nuclei N_k Φ ∫ dT P_i(T; nucleus) Σ_f dN_f/dT, by quad (T in MeV)."""
    from cevns.physics.units import cm

    fluence = source.flux_per_flavour() * cm**2
    out = []
    for i in bins:
        total = 0.0
        for (nuc, _), element, n_t in zip(detector.nuclei, detector.nucleus_elements,
                                          detector.number_of_targets(), strict=True):
            nd = _nucleus_dict(nuc)
            ma = nuc.atomic_mass_u * AMU
            t_max = 2 * E_MAX**2 / (ma + 2 * E_MAX)
            kink = 2 * E_PI**2 / (ma + 2 * E_PI)

            def f(t_mev, nd=nd, nuc=nuc, element=element, i=i):
                p = probability(i, t_mev * 1e3, nuc, element)
                return p * sum(dn_dt_per_target(fl, t_mev, nd) for fl in FLAVOURS) if p else 0.0

            val = quad(f, 1e-6, t_max, points=[kink], epsabs=0, epsrel=1e-9, limit=400)[0]
            total += n_t * fluence * val
        out.append(total)
    return np.array(out)


def _spectrum(workdir, *args):
    data = json.loads(cevns("spectra", "--presets", "my_experiments.toml", *args, "--json",
                            cwd=workdir))
    (det,) = data["detectors"]
    return det


def test_gemini_spectrum_matches_quad(workdir):
    from cevns.experiment import Catalogue

    out = _spectrum(workdir, "-d", "GeMini", "--source", "SNS-GeMini")
    cat = Catalogue.default().with_files(workdir / "my_experiments.toml")
    det, src = cat.detector("GeMini"), cat.source("SNS-GeMini")
    edges = np.arange(1.5, 10.0 + 1e-9, 0.5)  # keVee, as in the file
    k, z = 0.162, 32

    def e_ee(t_kev):  # Lindhard (1963), Lewin & Smith Eq. (6.3)
        eps = 11.5 * z ** (-7 / 3) * t_kev
        g = 3 * eps**0.15 + 0.7 * eps**0.6 + eps
        return k * g / (1 + k * g) * t_kev

    def prob(i, t_kev, nuc, element):
        e = e_ee(t_kev)
        return ndtr((edges[i + 1] - e) / 0.1) - ndtr((edges[i] - e) / 0.1)

    assert len(out["bins"]) == len(edges) - 1
    check = [0, 4, 9, 16]
    ref = _reference_bins(det, src, prob, check)
    got = np.array([out["bins"][i]["signal"] for i in check])
    np.testing.assert_allclose(got, ref, rtol=1e-6)
    # bin edges on the keVnr-equivalent axis: E_ee(lower_keVnr) = the keVee edge
    lower = np.array([b["lower_keVnr"] for b in out["bins"]])
    np.testing.assert_allclose(e_ee(lower), edges[:-1], rtol=1e-9)
    assert out["signal"] == pytest.approx(374.5, abs=0.05)  # quoted on the page


def test_nai_spectrum_matches_quad(workdir):
    from cevns.experiment import Catalogue

    out = _spectrum(workdir, "-d", "NaI10")
    cat = Catalogue.default().with_files(workdir / "my_experiments.toml")
    det, src = cat.detector("NaI10"), cat.source("ess")
    qf, ly = {"Na": 0.15, "I": 0.05}, 15.0
    edges = np.arange(15, 616, 30)

    def eff(x_kevee):
        return 1.0 / (1.0 + np.exp(-4.0 * (x_kevee - 1.5)))

    def prob(i, t_kev, nuc, element):
        n = np.arange(edges[i], edges[i + 1])  # n photoelectrons, efficiency at n + 0.5 PE
        return float(poisson.pmf(n, ly * qf[element] * t_kev) @ eff((n + 0.5) / ly))

    assert len(out["bins"]) == len(edges) - 1
    check = [0, 1, 4, 10]
    ref = _reference_bins(det, src, prob, check)
    got = np.array([out["bins"][i]["signal"] for i in check])
    np.testing.assert_allclose(got, ref, rtol=1e-6)
    lower = np.array([b["lower_keVnr"] for b in out["bins"]])
    np.testing.assert_allclose(lower, edges[:-1] / ly / qf["Na"], rtol=1e-9)  # Na axis
    assert out["signal"] == pytest.approx(423.3, abs=0.05)


def test_info_lists_the_user_detectors(workdir):
    text = cevns("info", "--presets", "my_experiments.toml", cwd=workdir)
    assert "GeMini" in text and "NaI10" in text


def _bl_curve(workdir, name):
    out = workdir / f"out-{name}"
    cevns("run", f"{name}.toml", "--out", str(out), cwd=workdir)
    item = name.replace("_", "-")
    rows = np.genfromtxt(out / f"{item}.csv", delimiter=",", names=True, dtype=None,
                         encoding="utf-8")
    png = out / f"{item}.png"
    assert png.stat().st_size > 10_000
    return np.asarray(rows["mass_MeV"], float), np.asarray(rows["coupling"], float)


def _check_bl(mass, g):
    assert mass.size == 12 and np.all(np.isfinite(g)) and np.all(g > 0)
    assert np.all(np.diff(g) >= -1e-3 * g[:-1])  # a heavier mediator is never easier to see
    # light mediator (m ≪ q ≈ 15–70 MeV): the limit no longer depends on m
    assert g[1] / g[0] == pytest.approx(1.0, abs=0.01)
    # heavy mediator (m ≫ q): contact limit, g ∝ m
    slope = np.log(g[-1] / g[-2]) / np.log(mass[-1] / mass[-2])
    assert slope == pytest.approx(1.0, abs=0.05)
    assert 1e-5 < g[0] < 1e-4  # the order of magnitude quoted on the page


def test_bl_curve_gemini(workdir):
    mass, g = _bl_curve(workdir, "bl_gemini")
    _check_bl(mass, g)
    assert g[0] == pytest.approx(2.76e-5, rel=0.01)  # quoted on the page


@pytest.mark.slow
def test_bl_curve_nai10(workdir):
    mass, g = _bl_curve(workdir, "bl_nai10")
    _check_bl(mass, g)
    assert g[0] == pytest.approx(2.75e-5, rel=0.01)
