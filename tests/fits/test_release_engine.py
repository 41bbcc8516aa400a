"""The release path is the engine path: ReleaseModel's signal comes from cevns.rates.basis_spectra
for the release's Detector and Source (docs/architecture.md, "The release path").

Expected values:

- one energy bin of each release against an independent scipy ``quad`` over T of flux × cross
  section (tests/_reference/quad_reference.py, re-typed from docs/physics.md) × the release's
  detection probability P(bin | T) (the release's EnergyResponse at each T);
- regression checks: the SM predictions and fitted intervals of the three releases as they were
  before the release path went through the engine (private recoil quadrature of ReleaseModel,
  commit 294458d). CsI agrees to 1e-7 (the number of targets: atomic masses of nuclei.toml
  against the releases' stated molar mass, 9.6e-8); LAr-2020 moved by 2.2e-5 in the SM total
  (2.8e-4 at most in one bin): the old quadrature did not put panel edges at the kinks of the
  tabulated LAr efficiency; the engine does (cevns.experiment.response._efficiency_kinks) and
  agrees with quad to 1e-14. Its fitted intervals moved by ≤ 3.5e-5.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from quad_reference import AMU, E_MAX, E_PI, dn_dt_per_target
from scipy.integrate import quad

from cevns.fits import ReleaseModel, fit_parameter, sm_signal
from cevns.physics.basis import SMBasis
from cevns.physics.constants import SIN2_THETA_W
from cevns.physics.cross_sections import sm_basis_coefficients
from cevns.physics.flux import FLAVOURS
from cevns.physics.units import MeV, cm, keV
from cevns.rates import basis_spectra, sm_spectrum


def _sm_energy_counts(model: ReleaseModel) -> np.ndarray:
    """SM counts per flavour and energy bin (the engine's, through the model)."""
    return np.einsum("j,jfe->fe", sm_basis_coefficients(SIN2_THETA_W),
                     model.energy_counts(SMBasis()))


def _quad_bin(rel, i: int, t_low_mev: float) -> float:
    """Σ_flavour Σ_nucleus N_k Φ₀ ∫dT P_i(T) ∫dE φ(E) dσ/dT — quad over T and E."""
    fluence = rel.setup.fluence_per_flavour * cm**2
    total = 0.0
    for name, _ in rel.setup.targets:
        nuc = rel.detector().nuclei[[n.name for n, _ in rel.detector().nuclei].index(name)][0]
        nd = {"Z": nuc.Z, "N": nuc.N, "mass_u": nuc.atomic_mass_u, "spin": nuc.spin,
              "sp": nuc.spin_proton, "sn": nuc.spin_neutron}
        ma = nd["mass_u"] * AMU
        t_max = 2 * E_MAX**2 / (ma + 2 * E_MAX)
        kinks = [2 * E_PI**2 / (ma + 2 * E_PI)]
        table = getattr(rel.response.efficiency, "x", None)
        if table is not None and rel.response.efficiency_variable == "true":
            # a tabulated efficiency of the mean observable: its kinks, as recoils
            det = rel.detector()
            kinks += [float(t) * keV / MeV for t in det.observable_to_recoil(table, 0)]
        kinks = sorted(k for k in kinks if t_low_mev < k < t_max)

        def integrand(t: float, nd=nd) -> float:
            p = float(rel.response_matrix(np.array([t * MeV]))[i, 0])
            if p == 0.0:
                return 0.0
            return p * sum(dn_dt_per_target(f, t, nd) for f in FLAVOURS)

        val, _ = quad(integrand, t_low_mev, t_max, points=kinks, epsabs=0, epsrel=1e-9,
                      limit=800)
        total += rel.setup.number_of_targets(name) * fluence * val
    return total


@pytest.mark.parametrize(("name", "i"), [("coherent-csi-2021", 3), ("coherent-lar-2020", 3)])
def test_one_bin_against_quad(models, name, i):
    """One energy bin against quad: 1e-6 (CsI: the number of targets from the atomic masses is
    9.6e-8 above the reference's, from the release's molar mass), 1e-9 (LAr)."""
    model = ReleaseModel(models[name].release, helm_skin_fm=1.0)  # the reference's skin
    ours = _sm_energy_counts(model).sum(axis=0)[i]
    ref = _quad_bin(model.release, i, t_low_mev=0.05 * model.detector.threshold / MeV)
    assert ours == pytest.approx(ref, rel=1e-6 if name.startswith("coherent-csi") else 1e-9)


def test_signal_is_the_engine_counts_spread_over_time(models):
    """H[j, e, t] = Σ_α B[j, α, e] timing_α[t] with B the cached basis_spectra of the release's
    Detector and Source: the same numbers, not a second computation."""
    model = models["coherent-csi-2021"]
    spectra = basis_spectra(model.detector, model.source, SMBasis(), nodes_per_panel=model.order,
                            panel_ratio=model.panel_ratio)
    assert model.spectra(SMBasis()) is spectra  # one cache, keyed on detector, source, basis
    timing = np.stack([model.release.timing_fractions(f) for f in FLAVOURS])
    expected = np.einsum("jfe,ft->jet", spectra.counts.sum(axis=2), timing)
    expected = expected.reshape(len(spectra.names), -1)
    np.testing.assert_allclose(model.signal_basis(SMBasis()), expected, rtol=1e-13, atol=1e-12)


# Before the change (ReleaseModel's own recoil quadrature, 8 nodes/panel from 0.01 keVnr):
# (SM total, n_cevns (best, lower, upper), sin2_theta_w (best, lower, upper)) from
# `cevns fit <release> --json`.
BEFORE = {
    "coherent-csi-2017": (166.64107675179713, (127.19133, 102.96432, 152.37437),
                          (0.19556741, 0.15087177, 0.25610725)),
    "coherent-csi-2021": (326.3641558100302, (311.62290, 276.97371, 347.09727),
                          (0.23078477, 0.20171073, 0.26461500)),
    "coherent-lar-2020": (120.07841883889948, (154.55256, 111.53674, 198.52351),
                          (0.27803288, 0.22488197, 0.32975045)),
}


def _tolerance(name: str) -> float:
    return 4e-5 if name == "coherent-lar-2020" else 2e-7


@pytest.mark.parametrize("name", sorted(BEFORE))
def test_sm_predictions_as_before(models, name):
    """Regression check of the SM totals against the numbers before the change."""
    assert sm_signal(models[name]).sum() == pytest.approx(BEFORE[name][0], rel=_tolerance(name))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BEFORE))
def test_intervals_as_before(models, name):
    """Regression check of the fitted N_CEvNS and sin²θ_W intervals (≈ 5–11 s per release), with
    the shape interpolation of that time (``shape_totals="interpolated"``; the default became
    total-conserving later, docs/statistics.md §7) and without the light-yield and gamma-smearing
    nuisances added after it (their priors shrunk to 1e-9, which makes their variants the nominal
    template; with them N moves by ~1e-4 events, docs/coherent_csi.md) and with LAr's one-sided
    shape systematics as they were then (``lar_one_sided="nominal"``, docs/coherent_lar.md)."""
    from cevns.datasets.coherent import load_release

    _, n_cevns, sin2w = BEFORE[name]
    model = ReleaseModel(load_release(name), shape_totals="interpolated",
                         light_yield_sigma_pe_per_kevee=1e-9, gamma_smearing_sigma=1e-9,
                         lar_one_sided="nominal")
    for parameter, before in (("n_cevns", n_cevns), ("sin2_theta_w", sin2w)):
        fit = fit_parameter(model, parameter, cross_check=False)
        assert (fit.best, fit.lower, fit.upper) == pytest.approx(before, rel=_tolerance(name))


def test_ess_projection_with_the_csi2021_response(models):
    """A Detector with the CsI-2021 release response runs through sm_spectrum at the ESS: the same
    detector, nodes and response as the fit, so its counts are the release's engine counts scaled
    by the fluence ratio Φ_ESS/Φ_SNS (the π-DAR spectra are the same)."""
    model = models["coherent-csi-2021"]
    spec = sm_spectrum(model.detector, "ess")
    ess = spec.signal.sum(axis=1)  # (flavours, bins)
    from cevns.experiment import get_source

    ratio = get_source("ess").fluence_scale() / model.source.fluence_scale()
    np.testing.assert_allclose(ess, ratio * _sm_energy_counts(model), rtol=1e-12)
    assert math.isfinite(spec.total_signal) and spec.total_signal > 0


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items() if v is not None) + "}"


def test_cli_spectra_with_a_coherent_style_preset(models, tmp_path):
    """`cevns spectra --presets` with a user detector whose response table is the CsI-2021
    release response (written out as TOML) gives sm_spectrum's counts for that detector."""
    import json

    from typer.testing import CliRunner

    from cevns.cli import app

    det = models["coherent-csi-2021"].detector
    response = det.response.model_dump(exclude_none=True)
    lines = ["schema_version = 1", "[detector.CsI2021Like]", 'targets = [{element = "Cs"}, {element = "I"}]',
             f"mass_kg = {det.mass_kg!r}", f"helm_skin_fm = {det.helm_skin_fm!r}",
             f"response = {_toml(response)}"]
    path = tmp_path / "p.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["spectra", "--presets", str(path), "-d", "CsI2021Like",
                                      "--source", "ess", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    expected = sm_spectrum(det.model_copy(update={"name": "CsI2021Like"}), "ess")
    (row,) = data["detectors"]
    assert row["n_bins"] == det.n_bins == 9
    assert row["signal"] == pytest.approx(expected.total_signal, rel=1e-12)
    for flavour, value in expected.per_flavour.items():
        assert row["per_flavour"][flavour] == pytest.approx(value, rel=1e-12)
