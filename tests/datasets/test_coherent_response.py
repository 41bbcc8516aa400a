"""Sanity of the real-detector response matrices."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cevns.datasets.coherent.response import (
    ConstantQuenchingFactor,
    GammaPhotoelectrons,
    LogisticEfficiency,
    PoissonPhotoelectrons,
    TabulatedEfficiency,
)
from cevns.errors import ConfigError
from cevns.physics.units import keV

RELEASES = ("coherent-csi-2017", "coherent-csi-2021", "coherent-lar-2020")
FLAT = LogisticEfficiency(a=1.0, k=1e3, x0=-1.0)  # ε = 1 everywhere: isolates the smearing
#: Largest recoil used in the tests: above the CsI (≈ 46 keVnr) and Ar (≈ 150 keVnr) endpoints.
T_MAX = {"coherent-csi-2017": 60.0, "coherent-csi-2021": 60.0, "coherent-lar-2020": 200.0}


@pytest.mark.parametrize("name", RELEASES)
def test_matrix_shape_and_bounds(releases, name):
    rel = releases[name]
    nodes = np.linspace(0.0, T_MAX[name], 241) * keV
    r = rel.response_matrix(nodes)
    assert r.shape == (rel.observed.shape[0], nodes.size)
    assert np.all(np.isfinite(r)) and np.all(r >= 0)
    assert np.all(r.sum(axis=0) <= rel.response.max_efficiency + 1e-9)
    # A zero-energy recoil is never seen.
    assert r[:, 0].sum() == 0.0


@pytest.mark.parametrize("name, t_low", [("coherent-csi-2017", 1.0),
                                         ("coherent-csi-2021", 1.0),
                                         ("coherent-lar-2020", 1.0)])
def test_vanishes_far_below_threshold(releases, name, t_low):
    # CsI: 1 keVnr ≈ 1.2 PE against a 5–7 PE threshold; LAr: 1 keVnr ≈ 0.25 keVee where the
    # acceptance table is 0.
    r = releases[name].response_matrix(np.array([0.1, 0.5, t_low]) * keV)
    assert np.all(r.sum(axis=0) < 1e-3)


@pytest.mark.parametrize("name, t_plateau", [("coherent-csi-2017", 25.0),
                                             ("coherent-csi-2021", 25.0),
                                             ("coherent-lar-2020", 60.0)])
def test_reaches_efficiency_plateau(releases, name, t_plateau):
    rel = releases[name]
    col = rel.response_matrix(np.array([t_plateau]) * keV)[:, 0].sum()
    assert col == pytest.approx(rel.response.max_efficiency, rel=0.05)


@pytest.mark.parametrize("name, t_top, wiggle", [("coherent-csi-2017", 20.0, 1e-9),
                                                  ("coherent-csi-2021", 20.0, 1e-9),
                                                  ("coherent-lar-2020", 80.0, 0.0075)])
def test_column_sum_rises_with_energy(releases, name, t_top, wiggle):
    # Up to where events start to leave the top of the binning. The LAr acceptance table itself
    # is not monotonic (its largest downward step is 0.0074), hence the tolerance there.
    rel = releases[name]
    nodes = np.linspace(0.5, t_top, 60) * keV
    sums = rel.response_matrix(nodes).sum(axis=0)
    assert np.all(np.diff(sums) > -wiggle)


@pytest.mark.parametrize("name, offset", [("coherent-csi-2017", 0.5),
                                          ("coherent-csi-2021", 0.0),
                                          ("coherent-lar-2020", 0.0)])
def test_mean_tracks_quenching_model(releases, name, offset):
    """With a flat efficiency, the mean observed bin centre follows LY × E_ee(T) (or E_ee)."""
    rel = releases[name]
    response = rel.response.with_changes(efficiency=FLAT, efficiency_variable="reconstructed")
    axis = response.axis
    nodes = np.linspace(0.25, 0.6, 8) * T_MAX[name] * keV
    expected = response.mean_observed(nodes) + offset  # Poisson n sits in [n, n+1)
    inside = (expected > axis.edges[0] + 8) & (expected < 0.6 * axis.edges[-1])
    assert inside.sum() >= 3
    r = response.response_matrix(nodes)
    mean = (axis.centers[:, None] * r).sum(axis=0) / r.sum(axis=0)
    # Binning error: at most a fraction of a bin width for smooth distributions.
    np.testing.assert_allclose(mean[inside], expected[inside], atol=0.1 * axis.widths[0])


def test_csi2017_quenching_and_light_yield(releases):
    rel = releases["coherent-csi-2017"]
    # YAML: E_ee = 0.0878 T; PE = 13.348 PE/keVee × E_ee.
    np.testing.assert_allclose(rel.response.mean_observed(np.array([10.0]) * keV),
                               [10.0 * 0.0878 * 13.348])
    assert isinstance(rel.response.quenching, ConstantQuenchingFactor)
    assert isinstance(rel.response.smearing, PoissonPhotoelectrons)


def test_csi2017_acceptance_step(releases):
    eff = releases["coherent-csi-2017"].response.efficiency
    logistic = lambda x: 0.6655 / (1 + np.exp(-0.4942 * (x - 10.8507)))  # noqa: E731
    # YAML: H = 0 below 5 PE, ½ for 5 ≤ x < 6, 1 above; evaluated at 1-PE bin centres.
    np.testing.assert_allclose(eff([4.5, 5.5, 6.5, 20.5]),
                               [0.0, 0.5 * logistic(5.5), logistic(6.5), logistic(20.5)])


def test_csi2017_poisson_column_is_exact(releases):
    """One node: the 2-PE bin contents equal Poisson masses × acceptance at n + 0.5."""
    from scipy.stats import poisson

    rel = releases["coherent-csi-2017"]
    t = 12.0
    mu = 13.348 * 0.0878 * t
    n = np.arange(50)
    per_pe = poisson.pmf(n, mu) * rel.response.efficiency(n + 0.5)
    np.testing.assert_allclose(rel.response_matrix(np.array([t]) * keV)[:, 0],
                               per_pe.reshape(25, 2).sum(axis=1), rtol=1e-12)


def test_csi2021_scintillation_polynomial(releases):
    rel = releases["coherent-csi-2021"]
    t_kevnr = np.linspace(1.0, 50.0, 50)
    x = t_kevnr * 1e-3
    # README: Eee(T) = aT + bT² + cT³ + dT⁴ in MeV.
    a, b, c, d = 0.0554628, 4.30681, -111.707, 840.384
    expected = (a * x + b * x**2 + c * x**3 + d * x**4) * 1e3
    np.testing.assert_allclose(rel.response.electron_equivalent(t_kevnr * keV), expected)
    assert np.all(np.diff(expected) > 0)  # monotonic over the CEvNS range
    for variant in rel.scintillation_variants.values():
        assert np.all(np.diff(variant.electron_equivalent(t_kevnr)) > 0)
    # QF stays in the 5–10 % range measured for CsI[Na] (qfData files of the 2017 release).
    assert np.all((expected / t_kevnr > 0.05) & (expected / t_kevnr < 0.11))


def test_csi2021_gamma_smearing_moments(releases):
    smearing = releases["coherent-csi-2021"].response.smearing
    assert isinstance(smearing, GammaPhotoelectrons)
    eee = np.array([2.0])
    edges = np.linspace(0.0, 200.0, 4001)
    p = smearing.probabilities(eee, edges)[:, 0]
    centres = 0.5 * (edges[1:] + edges[:-1])
    mean = (centres * p).sum()
    var = ((centres - mean) ** 2 * p).sum()
    # README: mean = 13.35 PE/keVee × E_ee, shape k = 1 + 9.56 E_ee → variance mean²/k.
    assert p.sum() == pytest.approx(1.0, abs=1e-9)
    assert mean == pytest.approx(13.35 * 2.0, rel=1e-4)
    assert var == pytest.approx((13.35 * 2.0) ** 2 / (1 + 9.56 * 2.0), rel=1e-3)


def test_csi2021_efficiency_clipped(releases):
    eff = releases["coherent-csi-2021"].response.efficiency
    x = np.linspace(0, 60, 601)
    values = eff(x)
    assert np.all(values >= 0)
    # a/(1+exp(-b(x-c))) + d = 0 at x = c - ln(a/(-d) - 1)/b ≈ 7.07 PE.
    crossing = 10.8646 - np.log(1.32045 / 0.333322 - 1.0) / 0.285979
    assert np.all(values[x < crossing - 1e-6] == 0) and np.all(values[x > crossing + 1e-6] > 0)


def test_lar2020_response_pieces(releases):
    rel = releases["coherent-lar-2020"]
    table = rel.efficiency_table
    # The release's own keVnr ↔ keVee pairs follow from our quenching model.
    np.testing.assert_allclose(rel.response.electron_equivalent(table[:, 1] * keV), table[:, 0],
                               rtol=2e-3)
    # Gaussian resolution σ = 0.58 √E: one node far from edges has the right width.
    response = rel.response.with_changes(efficiency=FLAT, efficiency_variable="reconstructed")
    eee = np.array([55.0])
    edges = np.linspace(0.0, 120.0, 2401)
    p = response.smearing.probabilities(eee, edges)[:, 0]
    centres = 0.5 * (edges[1:] + edges[:-1])
    sigma = np.sqrt(((centres - 55.0) ** 2 * p).sum())
    assert sigma == pytest.approx(0.58 * np.sqrt(55.0), rel=1e-3)
    assert isinstance(rel.response.efficiency, TabulatedEfficiency)


def test_efficiency_variable_choice(releases):
    rel = releases["coherent-lar-2020"]
    true = rel.response_matrix(np.array([20.0]) * keV)
    reco = rel.response.with_changes(efficiency_variable="reconstructed").response_matrix(
        np.array([20.0]) * keV)
    assert true.sum() == pytest.approx(reco.sum(), rel=0.05)
    with pytest.raises(ConfigError):
        rel.response.with_changes(efficiency_variable="both")


def test_invalid_nodes(releases):
    rel = releases["coherent-csi-2017"]
    with pytest.raises(ConfigError):
        rel.response_matrix(np.array([-1.0]) * keV)
    with pytest.raises(ConfigError):
        rel.response_matrix(np.ones((2, 2)) * keV)


def test_poisson_needs_integer_edges(releases):
    rel = releases["coherent-csi-2017"]
    from cevns.datasets.coherent import Axis

    bad = rel.response.with_changes(axis=Axis("energy", np.array([0.5, 2.5]), "PE"))
    with pytest.raises(ConfigError, match="integer"):
        bad.response_matrix(np.array([10.0]) * keV)


def test_response_independent_of_unit_system(releases):
    """The matrix for the same physical energies does not depend on the internal unit choice."""
    script = (
        "import json, numpy as np\n"
        "from cevns.physics.units import keV\n"
        "from cevns.datasets import load_release\n"
        "out = {}\n"
        "for name in ('coherent-csi-2017', 'coherent-csi-2021', 'coherent-lar-2020'):\n"
        "    r = load_release(name).response_matrix(np.array([3.0, 12.0, 40.0]) * keV)\n"
        "    out[name] = r.tolist()\n"
        "print(json.dumps(out))\n"
    )
    env = dict(os.environ, CEVNS_RANDOM_UNITS="12345",
               PYTHONPATH=str(Path(__file__).resolve().parents[2] / "src"))
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, check=True)
    other = json.loads(result.stdout)
    for name in RELEASES:
        here = releases[name].response_matrix(np.array([3.0, 12.0, 40.0]) * keV)
        np.testing.assert_allclose(np.array(other[name]), here, rtol=1e-9, atol=1e-15)
