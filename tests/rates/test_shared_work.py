"""Work the engine shares between builds and flavours gives the same numbers as doing it again
(issue #15: the numerical cost of ``cevns reproduce``; docs/engine.md, "Shared work").

- terms of a flavour-blind basis are evaluated once for the flavours with the same E nodes;
- response columns are cached per quadrature panel and reused by the responses of other sterile
  masses;
- the up-scattering and dipole cross sections evaluate their T-only factors on the recoil column.

The references are the computations done afresh (no sharing, empty caches, T broadcast over the
whole (T, E) grid): the same arithmetic, so the comparisons are exact. Agreement with an
independent scipy ``quad`` integration is tested in ``test_bsm_rates_vs_quad.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from cevns.experiment import get_detector, get_source
from cevns.experiment import response as response_module
from cevns.experiment.response import build_response
from cevns.experiment.response_models import (
    ConstantEfficiency,
    GaussianSmearing,
    NoQuenching,
    fold_matrix,
)
from cevns.physics.dipole import DipoleBasis
from cevns.physics.flux import FLAVOURS
from cevns.physics.kinematics import max_recoil_energy, min_neutrino_energy
from cevns.physics.nuclei import get_nucleus
from cevns.physics.units import MeV, keV
from cevns.physics.upscattering import UpscatteringBasis
from cevns.rates import clear_cache, compute_basis_spectra
from cevns.rates.engine import kinematic_breakpoints


@dataclass(frozen=True)
class _NotShared:
    """The same basis, without the ``flavour_blind`` declaration: every flavour evaluates its own
    terms."""

    inner: UpscatteringBasis

    @property
    def names(self):
        return self.inner.names

    @property
    def sterile_mass(self):
        return self.inner.sterile_mass

    def terms(self, nucleus, flavour, energy, recoil):
        return self.inner.terms(nucleus, flavour, energy, recoil)


@pytest.mark.parametrize("detector", ["CsI", "C3F8"])
@pytest.mark.parametrize("interaction", ["S", "V", "A", "T"])
def test_flavour_blind_terms_shared_between_flavours_give_the_same_counts(detector, interaction):
    det, src = get_detector(detector), get_source("ess")
    basis = UpscatteringBasis(interaction, 5.0 * MeV, 20.0 * MeV)
    assert basis.flavour_blind
    shared = compute_basis_spectra(det, src, basis)
    alone = compute_basis_spectra(det, src, _NotShared(basis))
    np.testing.assert_array_equal(shared.counts, alone.counts)
    np.testing.assert_array_equal(shared.node_rates, alone.node_rates)
    assert shared.counts.sum() > 0


def _fresh_response(det, breakpoints):
    """The response built with empty caches (no panel reused)."""
    response_module._PANELS.clear()
    response_module._RESPONSES.clear()
    return build_response(det, breakpoints)


def _release_detector(name):
    from cevns.datasets.coherent import load_release

    return load_release(name).detector()


@pytest.mark.parametrize("detector", ["CsI", "Si", "Ar", "coherent-csi-2021",
                                      "coherent-lar-2020"])
def test_response_from_cached_panels_equals_a_fresh_build(detector):
    det = _release_detector(detector) if detector.startswith("coherent") else get_detector(detector)
    src = get_source("ess")
    nuclei = [n for n, _ in det.nuclei]
    masses = [0.0, 3.0, 3.3, 8.0]  # each moves the kinks of the sterile mass
    points = [kinematic_breakpoints(nuclei, m4 * MeV, src.breakpoint_energies()) for m4 in masses]
    response_module._PANELS.clear()
    response_module._RESPONSES.clear()
    warm = [build_response(det, bp) for bp in points]  # later ones reuse panels of earlier ones
    for bp, got in zip(points, warm, strict=True):
        ref = _fresh_response(det, bp)
        np.testing.assert_array_equal(got.nodes, ref.nodes)
        np.testing.assert_array_equal(got.weights, ref.weights)
        np.testing.assert_array_equal(got.matrix, ref.matrix)
    info = response_module._PANELS.info()
    assert info["entries"] >= 1 and info["bytes"] <= info["max_bytes"]


def test_response_equals_the_fold_on_all_nodes_at_once():
    # the keVnr path before the panel cache: one fold_matrix over every node (docs/response.md)
    det = get_detector("Ge")
    response_module._PANELS.clear()
    response_module._RESPONSES.clear()
    build_response(det, [2.0 * keV])  # fill the panel cache with other panels
    got = build_response(det, [3.0 * keV])
    smearing = GaussianSmearing(sqrt_threshold=det.resolution.sigma0)
    prob = fold_matrix(got.nodes / keV, det.bin_edges / keV, quenching=NoQuenching(),
                       smearing=smearing, efficiency=ConstantEfficiency(),
                       threshold=det.threshold_keVnr, subdivide=False)
    np.testing.assert_array_equal(got.matrix, det.efficiency * prob * got.weights[None, :])


def test_panel_table_stays_within_its_bytes():
    table = response_module._PanelTable(max_bytes=3 * 800)
    for k in range(10):
        table.put((float(k), float(k + 1)), np.zeros(100))  # 800 bytes each
    blocks = table.get_many([(float(k), float(k + 1)) for k in range(10)])
    assert sum(b is not None for b in blocks) == 3
    assert all(b is not None for b in blocks[-3:])  # the most recent ones stay


@pytest.mark.parametrize("make", [
    lambda: UpscatteringBasis("S", 2.0 * MeV, 10.0 * MeV),
    lambda: UpscatteringBasis("V", 2.0 * MeV, 10.0 * MeV, vector_model="B-L"),
    lambda: UpscatteringBasis("A", 4.0 * MeV, 0.0),
    lambda: UpscatteringBasis("T", 0.5 * MeV, 30.0 * MeV),
    lambda: DipoleBasis(3.0 * MeV, "mu"),
])
@pytest.mark.parametrize("nucleus", ["Cs133", "F19", "Ar40"])
def test_recoil_only_factors_on_the_recoil_column_equal_the_broadcast_grid(make, nucleus):
    # The engine passes T as a column against the E nodes; the form factor, spin structure and
    # propagator are then evaluated once per recoil. The reference passes T broadcast over the
    # whole grid (every factor evaluated at every (E, T) pair).
    basis, nuc = make(), get_nucleus(nucleus)
    t = np.linspace(0.0, 1.2, 40) * float(max_recoil_energy(52.8 * MeV, nuc.mass))
    e_lo = min_neutrino_energy(np.maximum(t, 1e-9 * keV), nuc.mass, basis.sterile_mass)
    x = np.linspace(0.0, 1.0, 9)
    energies = e_lo[:, None] + (52.8 * MeV - e_lo[:, None]) * x[None, :]  # some beyond reach
    column = basis.terms(nuc, "numubar", energies, t[:, None])
    full = basis.terms(nuc, "numubar", energies, np.broadcast_to(t[:, None], energies.shape))
    assert column.shape == full.shape
    np.testing.assert_array_equal(column, full)
    assert np.all(np.isfinite(column)) and (column.any() or nuc.spin == 0)


def test_clear_cache_forgets_response_panels():
    det, src = get_detector("Xe"), get_source("ess")
    compute_basis_spectra(det, src, UpscatteringBasis("S", 1.0 * MeV, 1.0 * MeV))
    assert len(response_module._PANELS) > 0
    clear_cache()
    assert len(response_module._PANELS) == 0


def test_pi_dar_flavours_are_the_three_shared_ones():
    # the sharing pays because the Michel ν_e and ν̄_μ have the same single panel
    src = get_source("ess")
    panels = [src.flavour_spectrum(f).panels for f in FLAVOURS if
              src.flavour_spectrum(f).density is not None]
    assert len(panels) == 2 and np.array_equal(panels[0], panels[1])
