"""The response models as data (cevns.experiment.response_models, timing; docs/response.md).

Where the expected numbers come from is said in each test: the formulas of docs/response.md written
out again here, published ranges (Lindhard k for Ge), the COHERENT release classes, or — for the
ESS presets — the previous implementation of the keVnr response, kept here verbatim as a
regression reference.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from quenching_inverse_reference import brent_inverse
from scipy.special import ndtr
from scipy.stats import poisson

from cevns.errors import CevnsError, ConfigError, KinematicsError
from cevns.experiment import Detector, get_detector, get_source
from cevns.experiment.presets import ESS_DETECTORS
from cevns.experiment.response import build_response, response_key
from cevns.experiment.response_models import (
    ConstantEfficiency,
    ConstantQuenching,
    GammaPESmearing,
    GaussianSmearing,
    LindhardQuenching,
    LogisticEfficiency,
    NoSmearing,
    PoissonPESmearing,
    PolynomialQuenching,
    ResponseSpec,
    TabulatedQuenching,
    fold_matrix,
    lindhard_quenching_factor,
)
from cevns.experiment.timing import GaussianPulse, TabulatedPulse, TimingSpec
from cevns.physics.basis import SMBasis
from cevns.physics.units import keV
from cevns.rates.engine import basis_spectra
from cevns.rates.spectrum import sm_spectrum

GE_RESPONSE = {"quenching": {"model": "lindhard", "k": 0.162},
               "smearing": {"model": "gaussian", "noise": 0.1},
               "threshold": {"value": 1.5, "unit": "keVee"},
               "bins": {"unit": "keVee", "width": 0.5, "stop": 10.0}}


def ge_detector(**response) -> Detector:
    return Detector(name="GeTest", formula="Ge", mass_kg=18.0,
                    response={**GE_RESPONSE, **response})


# --------------------------------------------------------------- the ESS presets are unchanged


def _old_keVnr_matrix(detector, resp):
    """The keVnr response as it was before the response models (commit b42e925), verbatim."""
    edges, nodes, weights = detector.bin_edges, resp.nodes, resp.weights
    if detector.smeared:
        sigma = detector.resolution_sigma(nodes)
        cdf = ndtr((edges[:, None] - nodes[None, :]) / sigma[None, :])
        prob = cdf[1:] - cdf[:-1]
    else:
        idx = np.searchsorted(edges, nodes, side="right") - 1
        prob = (idx[None, :] == np.arange(len(edges) - 1)[:, None]).astype(float)
    return detector.efficiency * prob * weights[None, :]


@pytest.mark.parametrize("name", ESS_DETECTORS)
def test_ess_presets_unchanged(name):
    """Regression: the keVnr fields as the `none`-quenching case give the old counts to 1e-12."""
    det = get_detector(name)
    bs = basis_spectra(det, get_source("ess"), SMBasis())
    old = bs.node_rates @ _old_keVnr_matrix(det, bs.response).T
    np.testing.assert_allclose(bs.counts, old, rtol=1e-12, atol=1e-300)
    assert not bs.response.per_nucleus


# ------------------------------------------------------------------------------------ quenching


def test_lindhard_formula_and_published_ge_range():
    # Lindhard et al. (1963), Lewin & Smith Eq. (6.3), written out again.
    z, k, t = 32, 0.162, np.array([0.4, 2.0, 6.3, 20.0])
    eps = 11.5 * z ** (-7 / 3) * t
    g = 3 * eps**0.15 + 0.7 * eps**0.6 + eps
    np.testing.assert_allclose(lindhard_quenching_factor(t, z, k), k * g / (1 + k * g),
                               rtol=1e-14)
    # Bonhomme et al., EPJC 82 (2022) 815: QF 0.16–0.23 over 0.4–6.3 keVnr, Lindhard k = 0.162.
    qf = lindhard_quenching_factor(np.array([0.4, 6.3]), z, k)
    assert qf[0] == pytest.approx(0.16, abs=0.01) and qf[1] == pytest.approx(0.23, abs=0.01)


def test_lindhard_default_k_is_per_nucleus():
    det = ge_detector(quenching={"model": "lindhard"})
    nuc = det.nuclei[0][0]
    a = nuc.Z + nuc.N
    assert LindhardQuenching().k_for(nuc) == pytest.approx(0.133 * 32 ** (2 / 3) / math.sqrt(a))
    with pytest.raises(ConfigError, match="needs the target nucleus"):
        LindhardQuenching(k=0.2).electron_equivalent(np.array([1.0]))


def test_tabulated_quenching_interpolates_and_extrapolates_with_constant_qf():
    q = TabulatedQuenching(recoil_keVnr=(2.0, 10.0), quenching_factor=(0.1, 0.2))
    # inside: E_ee linear between (2, 0.2) and (10, 2.0); outside: QF of the end point
    np.testing.assert_allclose(q.electron_equivalent(np.array([1.0, 6.0, 20.0])),
                               [0.1, 0.2 + (2.0 - 0.2) * 0.5, 4.0])
    same = TabulatedQuenching(recoil_keVnr=(2.0, 10.0), electron_equivalent_keVee=(0.2, 2.0))
    np.testing.assert_allclose(same.electron_equivalent(np.array([6.0])), [1.1])


def test_polynomial_units():
    mev = PolynomialQuenching(coefficients=(0.0554628, 4.30681), energy_unit="MeV")
    kev = PolynomialQuenching(coefficients=(0.0554628, 4.30681e-3))
    t = np.linspace(1, 40, 7)
    np.testing.assert_allclose(mev.electron_equivalent(t), kev.electron_equivalent(t), rtol=1e-13)


@pytest.mark.parametrize("response, match", [
    ({"quenching": {"model": "lindhardt", "k": 0.2}},
     r"response\.quenching: .*'lindhardt'.*'none', 'constant', 'linear', 'polynomial', "
     r"'lindhard', 'tabulated'"),
    ({"quenching": {"model": "lindhard", "k": -0.2}}, r"response\.quenching\.lindhard\.k"),
    ({"quenching": {"model": "tabulated", "recoil_keVnr": [1, 2, 3],
                    "quenching_factor": [0.2, 0.05, 0.2]}}, "not monotone"),
    ({"quenching": {"model": "tabulated", "recoil_keVnr": [1, 3, 2],
                    "quenching_factor": [0.2, 0.2, 0.2]}}, "strictly increasing"),
    ({"threshold": {"value": 3.0, "unit": "keVee"},
      "bins": {"unit": "keVee", "edges": [2.0, 3.0, 4.0]}}, "above the first bin edge"),
    ({"threshold": {"value": 30, "unit": "PE"}}, r"threshold\.unit = 'PE' needs a photoelectron"),
    ({"smearing": {"model": "gaussian"}}, "needs one of noise"),
    ({"smearing": {"model": "poisson"}}, r"'poisson'.*'poisson-pe', 'gamma-pe'"),
    ({"efficiency": {"model": "tabulated", "x": [1, 2], "y": [0.5, 1.5]}}, r"in \[0, 1\]"),
    ({"quenching_by_element": {"Na": {"model": "constant", "quenching_factor": 0.1}}},
     "not among its target elements; valid choices: Ge"),
    ({"quenching": {"model": "polynomial", "coefficients": [0.2, -0.002]}},
     "not monotone.*response.quenching"),
    ({"quenching": {"model": "lindhard", "k": 0.162}, "bins": {"unit": "keVnr", "stop": 30.0}},
     r"bins\.unit = 'keVnr' cannot be converted"),
    ({"bins": {"unit": "keVee", "width": 0.5}}, "give edges, or stop"),
    ({"resolution_keV": 0.1}, "unknown key"),
])
def test_bad_response_tables_are_named(response, match):
    with pytest.raises(ConfigError, match=match):
        ge_detector(**response)


def test_threshold_above_every_signal():
    with pytest.raises(KinematicsError, match="above the largest possible signal"):
        ge_detector(smearing={"model": "none"}, threshold={"value": 300, "unit": "keVee"},
                    bins={"unit": "keVee", "width": 1.0, "stop": 400.0})


def test_response_and_keVnr_fields_exclude_each_other():
    with pytest.raises(ConfigError, match="not also threshold_keVnr"):
        Detector(name="X", formula="Ge", mass_kg=1.0, threshold_keVnr=1.0, response=GE_RESPONSE)
    with pytest.raises(ConfigError, match="threshold_keVnr: required"):
        Detector(name="X", formula="Ge", mass_kg=1.0)
    det = ge_detector()
    assert det.replace(mass_kg=2.0).response == det.response  # copies keep the table


def test_cache_keys_contain_every_response_field():
    a, b = ge_detector(), ge_detector(quenching={"model": "lindhard", "k": 0.2})
    c = ge_detector(efficiency={"model": "constant", "value": 0.9})
    keys = {response_key(d, ()) for d in (a, b, c)}
    assert len(keys) == 3
    src = get_source("ess")
    totals = [sm_spectrum(d, src).total_signal for d in (a, b, c)]
    assert totals[1] > totals[0]  # larger k: more light, more recoils above 1.5 keVee
    assert totals[2] == pytest.approx(0.9 * totals[0], rel=1e-12)


# ------------------------------------------------------------------- smearing and efficiency


def test_gaussian_sigma_forms():
    e = np.array([1.0, 4.0])
    assert np.allclose(GaussianSmearing(stochastic=0.58).sigma(e), 0.58 * np.sqrt(e))
    assert np.allclose(GaussianSmearing(fractional=0.1).sigma(e), 0.1 * e)
    assert np.allclose(GaussianSmearing(sqrt_threshold=0.3).sigma(e, 2.0), 0.3 * np.sqrt(2 * e))
    both = GaussianSmearing(noise=0.1, stochastic=0.2, fractional=0.05)
    assert np.allclose(both.sigma(e), np.sqrt(0.01 + 0.04 * e + (0.05 * e) ** 2))


def test_fold_matrix_gaussian_against_erf():
    t = np.array([5.0, 10.0, 20.0])
    q = ConstantQuenching(quenching_factor=0.2)
    edges = np.array([1.0, 2.0, 3.0])
    m = fold_matrix(t, edges, quenching=q, smearing=GaussianSmearing(noise=0.3),
                    efficiency=ConstantEfficiency(value=0.5), subdivide=False)
    e = 0.2 * t
    ref = 0.5 * np.array([[ndtr((hi - x) / 0.3) - ndtr((lo - x) / 0.3) for x in e]
                          for lo, hi in zip(edges[:-1], edges[1:], strict=True)])
    np.testing.assert_allclose(m, ref, rtol=1e-13)
    # sub-bins change nothing for a flat efficiency (telescoping sums)
    np.testing.assert_allclose(fold_matrix(t, edges, quenching=q,
                                           smearing=GaussianSmearing(noise=0.3),
                                           efficiency=ConstantEfficiency(value=0.5)), ref,
                               rtol=1e-12)


def test_efficiency_unit_conversion_keVee_to_PE():
    """A logistic curve in keVee on a PE observable = the same curve rescaled to PE."""
    ly = 15.0
    base = {"quenching": {"model": "constant", "quenching_factor": 0.1},
            "smearing": {"model": "poisson-pe", "light_yield": ly},
            "threshold": {"value": 10, "unit": "PE"}, "bins": {"unit": "PE", "width": 10,
                                                                 "stop": 100}}
    kevee = ResponseSpec(**base, efficiency={"model": "logistic", "unit": "keVee", "k": 3.0,
                                             "x0": 1.2})
    pe = ResponseSpec(**base, efficiency={"model": "logistic", "k": 3.0 / ly, "x0": 1.2 * ly})
    t = np.linspace(2, 60, 9)
    np.testing.assert_allclose(kevee.matrix(t), pe.matrix(t), rtol=1e-12)
    # Poisson column, exactly: masses of n PE times ε(n + 0.5) summed per 10-PE bin
    n = np.arange(10, 100)
    eff = LogisticEfficiency(k=3.0 / ly, x0=1.2 * ly)
    col = poisson.pmf(n, ly * 0.1 * 30.0) * eff(n + 0.5)
    np.testing.assert_allclose(pe.matrix(np.array([30.0]))[:, 0], col.reshape(9, 10).sum(axis=1),
                               rtol=1e-12)


def test_poisson_pe_masses_equal_scipy_stats_poisson():
    """The Poisson-PE masses are computed without importing scipy.stats (its import costs up to
    2 s of a `cevns fit`); reference: ``scipy.stats.poisson.pmf`` itself, to the last bit, at
    means from 0 (an E_ee of 0: all mass at n = 0) to far in the tail."""
    smear = PoissonPESmearing(light_yield=13.348)
    eee = np.array([0.0, 1e-6, 0.05, 0.7, 3.0, 12.5, 80.0])
    fine = np.arange(0.0, 1201.0)
    got = smear.probabilities(eee, fine)
    ref = poisson.pmf(fine[:-1, None], smear.mean_observed(eee)[None, :])
    np.testing.assert_array_equal(got, ref)
    assert got[0, 0] == 1.0 and not got[1:, 0].any()
    assert np.all(np.isfinite(got))


def test_efficiency_in_keVnr_acts_on_the_true_recoil():
    spec = ResponseSpec(**{**GE_RESPONSE, "quenching": {"model": "constant",
                                                        "quenching_factor": 0.2}},
                        efficiency={"model": "tabulated", "unit": "keVnr", "x": [5.0, 15.0],
                                    "y": [0.0, 1.0]})
    flat = ResponseSpec(**{**GE_RESPONSE, "quenching": {"model": "constant",
                                                        "quenching_factor": 0.2}})
    t = np.array([8.0, 12.0, 30.0])
    np.testing.assert_allclose(spec.matrix(t), flat.matrix(t) * np.array([0.3, 0.7, 1.0]),
                               rtol=1e-13)


def test_gamma_pe_moments():
    s = GammaPESmearing(light_yield=13.35, shape_slope_per_kevee=9.56)
    edges = np.linspace(0, 200, 4001)
    p = s.probabilities(np.array([2.0]), edges)[:, 0]
    c = 0.5 * (edges[1:] + edges[:-1])
    mean = (c * p).sum()
    assert mean == pytest.approx(26.7, rel=1e-4)
    assert ((c - mean) ** 2 * p).sum() == pytest.approx(26.7**2 / (1 + 19.12), rel=1e-3)


def test_coherent_release_classes_are_the_experiment_models():
    from cevns.datasets.coherent import response as cr

    assert isinstance(cr.ConstantQuenchingFactor(0.0878), ConstantQuenching)
    assert isinstance(cr.PoissonPhotoelectrons(13.348), PoissonPESmearing)
    assert cr.PolynomialScintillation((0.05, 4.3)).energy_unit == "MeV"
    assert cr.GaussianResolution(0.58).resolution_coefficient == 0.58
    assert issubclass(cr.LogisticEfficiency, LogisticEfficiency)
    with pytest.raises(ConfigError, match="x"):
        cr.TabulatedEfficiency((1.0, 0.5), (0.1, 0.2))


# ------------------------------------------------------------------------ per-nucleus folding


def test_per_element_quenching_folds_per_nucleus():
    det = Detector(name="NaITest", formula="NaI", mass_kg=10.0, response={
        "quenching_by_element": {"Na": {"model": "constant", "quenching_factor": 0.15},
                                 "I": {"model": "constant", "quenching_factor": 0.05}},
        "smearing": {"model": "none"},
        "threshold": {"value": 1.0, "unit": "keVee"},
        "bins": {"unit": "keVee", "width": 1.0, "stop": 20.0}})
    resp = build_response(det)
    assert resp.per_nucleus and resp.matrix.shape[0] == 2
    rates = np.random.default_rng(1).random((2, 3, 2, resp.nodes.size))
    loop = np.stack([rates[:, :, k] @ resp.matrix[k].T for k in range(2)], axis=2)
    np.testing.assert_allclose(resp.fold(rates), loop, rtol=1e-13)
    factors = np.random.default_rng(2).random((4, 2, 2, resp.nodes.size))
    ref = np.einsum("bjkn,jfkn,kin->bjfi", factors, rates, resp.matrix)
    np.testing.assert_allclose(resp.fold_reweighted(factors, rates), ref, rtol=1e-13)
    # the threshold is that of the nucleus quenched least (Na: 1 keVee / 0.15), whatever the axis
    assert det.threshold / keV == pytest.approx(1.0 / 0.15, rel=1e-10)
    on_iodine = det.replace(response=det.response.replace(axis_element="I"))
    assert on_iodine.threshold / keV == pytest.approx(1.0 / 0.15, rel=1e-10)
    assert on_iodine.bin_edges[0] / keV == pytest.approx(1.0 / 0.05, rel=1e-10)
    # axis labels: keVnr-equivalent of Na (first target), T = E_ee / 0.15
    np.testing.assert_allclose(det.bin_edges[:3] / keV, np.array([1.0, 2.0, 3.0]) / 0.15,
                               rtol=1e-10)
    # without smearing, a recoil counts iff its E_ee is in [1, 20) keVee
    t = resp.nodes / keV
    inside_i = (0.05 * t >= 1.0) & (0.05 * t < 20.0)
    np.testing.assert_allclose(resp.matrix[1].sum(axis=0), resp.weights * inside_i, atol=1e-15)


def test_missing_element_quenching_is_an_error():
    with pytest.raises(ConfigError, match="no model for I"):
        Detector(name="X", formula="NaI", mass_kg=1.0, response={
            "quenching_by_element": {"Na": {"model": "constant", "quenching_factor": 0.15}},
            "threshold": {"value": 1.0, "unit": "keVee"},
            "bins": {"unit": "keVee", "width": 1.0, "stop": 20.0}})


# ------------------------------------------------------------------------------------- timing


def test_gaussian_pulse_equals_the_coherent_timing_model():
    from cevns.datasets.coherent.timing import ExponentialTimeEfficiency as CohEff
    from cevns.datasets.coherent.timing import SNSTimingModel

    edges = np.linspace(-0.5, 6.0, 14)
    coh = SNSTimingModel(pot_mean=0.44, pot_sigma=0.15)
    ours = TimingSpec(pulse={"model": "gaussian", "mean_us": 0.44, "sigma_us": 0.15},
                      edges_us=tuple(edges))
    p, d = ours.prompt_delayed()
    cp, cd = coh.fractions(edges)
    np.testing.assert_allclose(p, cp, rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(d, cd, rtol=1e-13, atol=1e-16)
    eff = TimingSpec(pulse=ours.pulse, edges_us=tuple(edges),
                     efficiency={"model": "exponential", "onset_us": 0.52, "rate_per_us": 0.0494})
    cp, cd = coh.fractions(edges, efficiency=CohEff(0.52, 0.0494))
    np.testing.assert_allclose(eff.prompt_delayed()[0], cp, rtol=1e-12, atol=1e-16)
    np.testing.assert_allclose(eff.prompt_delayed()[1], cd, rtol=1e-12, atol=1e-16)


def test_tabulated_pulse_approaches_the_gaussian():
    g = GaussianPulse(mean_us=0.44, sigma_us=0.15)
    grid = np.linspace(-0.4, 1.3, 341)
    dens = np.exp(-0.5 * ((grid - 0.44) / 0.15) ** 2)
    tab = TabulatedPulse(time_us=tuple(grid), density=tuple(dens))
    t = np.array([0.2, 0.5, 1.0, 3.0, 8.0])
    np.testing.assert_allclose(tab.prompt_cdf(t), g.prompt_cdf(t), atol=2e-4)
    np.testing.assert_allclose(tab.delayed_cdf(t), g.delayed_cdf(t), atol=2e-4)


def test_detector_timing_window_scales_each_flavour():
    timing = {"pulse": {"model": "gaussian", "mean_us": 0.44, "sigma_us": 0.15},
              "window_us": [0.0, 1.0]}
    plain = ge_detector()
    timed = Detector(**{**plain.model_dump(exclude_none=True), "timing": timing})
    src = get_source("ess")
    a, b = sm_spectrum(plain, src), sm_spectrum(timed, src)
    spec = TimingSpec(**timing)
    frac = spec.fractions()
    for f, value in a.per_flavour.items():
        assert b.per_flavour[f] == pytest.approx(value * frac[f][0], rel=1e-12)
    assert frac["numu"][0] > 0.9 and 0.2 < frac["nue"][0] < 0.4  # τ_μ = 2.2 µs: ~ 1 − e^(−0.5)
    with pytest.raises(ConfigError, match="one window"):
        Detector(**{**plain.model_dump(exclude_none=True),
                    "timing": {**timing, "window_us": None, "edges_us": [0, 1, 2]}})


def test_response_detector_summary_and_errors_are_cevns_errors():
    det = ge_detector()
    text = repr(det)
    assert "1.5 keVee" in text and "lindhard" in text
    assert isinstance(ConfigError("x"), CevnsError)
    assert NoSmearing().probabilities(np.array([1.5]), np.array([1.0, 2.0]))[0, 0] == 1.0


# ------------------------------------------- the COHERENT releases in the detector vocabulary


def test_csi2017_release_response_written_as_a_detector_table():
    """A user's TOML-style table with the numbers of coherent_parameters.yaml (CsI-2017) gives
    the release's response matrix (the reader's EnergyResponse) to 1e-12."""
    from cevns.datasets import load_release

    rel = load_release("coherent-csi-2017")
    det = Detector(name="CsI2017", formula="CsI", mass_kg=14.6, response={
        "quenching": {"model": "constant", "quenching_factor": 0.0878},
        "smearing": {"model": "poisson-pe", "light_yield": 13.348},
        "efficiency": {"model": "logistic", "a": 0.6655, "k": 0.4942, "x0": 10.8507,
                       "step_low": 5.0, "step_high": 6.0},
        "threshold": {"value": 0, "unit": "PE"},
        "bins": {"unit": "PE", "edges": list(np.arange(0.0, 50.1, 2.0))}})
    t = np.linspace(0.5, 45.0, 60)
    np.testing.assert_allclose(det.response.matrix(t), rel.response_matrix(t * keV),
                               rtol=1e-12, atol=1e-300)
    assert not det.response.nucleus_dependent  # one matrix for Cs and I


def test_lar2020_release_response_written_as_a_detector_table():
    from cevns.datasets import load_release

    rel = load_release("coherent-lar-2020")
    eff = rel.response.efficiency
    det = Detector(name="LAr2020", formula="Ar", mass_kg=24.4, response={
        "quenching": {"model": "linear", "a": 0.246, "b_per_kevnr": 0.00078},
        "smearing": {"model": "gaussian", "stochastic": 0.58},
        "efficiency": {"model": "tabulated", "x": list(eff.x), "y": list(eff.y)},
        "efficiency_variable": "true",
        "threshold": {"value": float(rel.response.axis.edges[0]), "unit": "keVee"},
        "bins": {"unit": "keVee", "edges": list(rel.response.axis.edges)}})
    t = np.linspace(1.0, 140.0, 50)
    np.testing.assert_allclose(det.response.matrix(t, subdivide=True),
                               rel.response_matrix(t * keV), rtol=1e-12, atol=1e-300)
    # the detector's default skips the 0.1-keVee sub-bins (efficiency of the true energy): the
    # same CDF differences, summed without the telescoping steps
    np.testing.assert_allclose(det.response.matrix(t), rel.response_matrix(t * keV),
                               rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("quenching", [
    {"model": "lindhard", "k": 0.157},
    # curved, and a quenching factor ≤ 1 up to Ge's largest recoil (0.2 T + 1e-4 T² exceeded 1)
    {"model": "polynomial", "coefficients": [0.1, 0.002, -1e-5]},
])
def test_observable_to_recoil_matches_scalar_brent(quenching):
    """The elementwise inverse of the mean observable equals a Brent search per value (10⁻¹³
    relative), at table nodes, between them, at and beyond the largest recoil and at v ≤ 0."""
    det = ge_detector(quenching=quenching)
    t, m = det._observable_grid(0)
    values = np.concatenate([[-1.0, 0.0, m[1], m[7], m[-1], 2.0 * m[-1]],
                             np.geomspace(0.5 * m[1], 1.1 * m[-1], 700)])
    got = det.observable_to_recoil(values, 0)
    want = brent_inverse(det, values, 0)  # tests/_reference: brentq per value
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=0.0)
    inside = (values > 0) & (values < m[-1])  # and it is the inverse: the observable comes back
    np.testing.assert_allclose(det._mean_observable(got[inside], 0), values[inside], rtol=1e-12)


# ------------------------------------------------ bins given as width and stop (audit 6, A3/D3)


@pytest.mark.parametrize(("bins", "threshold", "expected"), [
    # a multiple of the width: equal bins ending at stop
    ({"unit": "keVee", "width": 0.5, "stop": 10.0}, {"value": 1.5, "unit": "keVee"},
     np.arange(1.5, 10.01, 0.5)),
    # not a multiple: bins of exactly the width, the last one cut at stop (was nine bins of 0.967)
    ({"unit": "keVee", "width": 1.0, "stop": 10.2}, {"value": 1.5, "unit": "keVee"},
     np.array([1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5, 10.2])),
])
def test_width_bins_have_the_width_given(bins, threshold, expected):
    """``bins = { width, stop }``: every bin is ``width`` wide from the threshold, the last one
    ends at ``stop`` (narrower if stop − threshold is not a multiple of the width); the number
    of bins counted before they are made (MAX_RESPONSE_BINS check) is the number made."""
    spec = ResponseSpec(quenching={"model": "lindhard", "k": 0.162},
                        smearing={"model": "gaussian", "noise": 0.1}, threshold=threshold,
                        bins=bins)
    edges = spec.observable_edges()
    np.testing.assert_allclose(edges, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.diff(edges)[:-1], bins["width"], rtol=1e-12)
    assert spec._n_bins() == edges.size - 1


def test_poisson_pe_width_bins_are_whole_photoelectrons_or_refused_when_read():
    """A Poisson photoelectron response counts whole PE: integer threshold, width and stop give
    integer edges (the last bin cut at stop: 16, 46, …, 586, 615); a threshold in keVee that is
    not a whole number of PE is refused when the detector is read, naming the numbers — it was
    accepted by ``cevns info`` and refused only when the spectrum was computed, with edges the
    user never wrote (the width rule spread the bins evenly: 16, 45.95, …)."""
    nai = {"quenching_by_element": {"Na": {"model": "constant", "quenching_factor": 0.15},
                                    "I": {"model": "constant", "quenching_factor": 0.05}},
           "smearing": {"model": "poisson-pe", "light_yield": 15.0},
           "bins": {"unit": "PE", "width": 30, "stop": 615}}
    edges = ResponseSpec(**nai, threshold={"value": 16, "unit": "PE"}).observable_edges()
    np.testing.assert_array_equal(edges, [*range(16, 587, 30), 615])
    with pytest.raises(ValueError, match=r"whole numbers of PE; threshold 1\.1 keVee, width 30 "
                                         r"and stop 615 PE give 16\.5, 46\.5"):
        ResponseSpec(**nai, threshold={"value": 1.1, "unit": "keVee"})
