"""Shared fixtures for the COHERENT dataset tests.

``sm_node_counts`` is a deliberately simple, independent Standard-Model CEvNS rate (vector
charge only, Helm form factor, π-DAR spectra, trapezoid nodes) used only to check that the
releases' parameters and our response reproduce the collaboration's predictions within loose
tolerances. It is not the project's rate engine.
"""

from __future__ import annotations

import numpy as np
import pytest

from cevns.datasets.coherent import load_release
from cevns.physics.constants import E_PROMPT, G_FERMI, HBARC, M_MUON
from cevns.physics.form_factors import helm_form_factor
from cevns.physics.nuclei import get_nucleus

RELEASES = ("coherent-csi-2017", "coherent-csi-2021", "coherent-lar-2020")
SIN2_THETA_W = 0.23857  # low-energy MS-bar value, docs/physics.md#constants


@pytest.fixture(scope="session")
def releases():
    """Each packaged release, loaded once."""
    return {name: load_release(name) for name in RELEASES}




def _michel(energy, flavour):
    x = energy / M_MUON
    if flavour == "nue":
        f = 192.0 / M_MUON * x**2 * (0.5 - x)
    else:
        f = 64.0 / M_MUON * x**2 * (0.75 - x)
    return np.where((energy > 0) & (energy < M_MUON / 2), f, 0.0)


def sm_node_counts(release, recoil_nodes):
    """Expected CEvNS events per recoil node and flavour over the release's exposure."""
    setup = release.setup
    weights = np.full_like(recoil_nodes, recoil_nodes[1] - recoil_nodes[0])
    weights[[0, -1]] *= 0.5
    e_grid = np.linspace(1e-3, 0.5 * M_MUON, 4001)
    de = e_grid[1] - e_grid[0]
    out = {"numu": 0.0, "nue": 0.0, "numubar": 0.0}
    for name, _ in setup.targets:
        nucleus = get_nucleus(name)
        mass = nucleus.mass
        weak_charge = nucleus.N - (1.0 - 4.0 * SIN2_THETA_W) * nucleus.Z
        q = np.sqrt(2.0 * mass * recoil_nodes + recoil_nodes**2)
        ff = helm_form_factor(q, nucleus.proton_rms_radius)
        # G_F^2 M / (4π) Q_W^2 F^2 (1 - M T / 2E^2), converted to an area with (ħc)^2.
        prefactor = G_FERMI**2 * mass / (4.0 * np.pi) * weak_charge**2 * ff**2 * HBARC**2
        scale = setup.number_of_targets(name) * setup.fluence_per_flavour * weights * prefactor
        out["numu"] = out["numu"] + scale * np.clip(
            1.0 - mass * recoil_nodes / (2.0 * E_PROMPT**2), 0.0, None)
        kin = np.clip(1.0 - mass * recoil_nodes[:, None] / (2.0 * e_grid[None, :] ** 2), 0, None)
        for flavour in ("nue", "numubar"):
            out[flavour] = out[flavour] + scale * (kin * _michel(e_grid, flavour)).sum(1) * de
    return out


@pytest.fixture(scope="session")
def sm_counts():
    """The reference SM rate function ``sm_node_counts(release, recoil_nodes)``."""
    return sm_node_counts
