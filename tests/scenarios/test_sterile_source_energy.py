"""The sterile-lepton scenarios follow the source's energy range, not the π-DAR end point:
the reachable sterile masses (m₄ up to the largest one the source's most energetic neutrino can
make) and the oscillation scenario's node count in E (over the source's own range)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cevns.errors import KinematicsError
from cevns.experiment import Source, get_detector, get_source
from cevns.physics.oscillation import energy_nodes_needed
from cevns.physics.units import MeV, eV, m
from cevns.scenarios import get_scenario

AR = get_detector("Ar").replace(max_neutrino_energy_MeV=240.0)
BASE = dict(name="k", kind="tabulated", normalisation="per-cm2-s", baseline_m=20.0,
            beam_hours_per_year=5000.0, duty_factor=1.0, run_years=1.0)
KDAR = Source(**BASE, lines=[{"flavour": "numu", "energy_MeV": 235.5, "intensity": 1e7}])


def test_a_sterile_mass_above_the_pi_dar_reach_is_reachable_at_a_kaon_line():
    """m₄ = 100 MeV: above what a 52.83 MeV neutrino can make (m₄ < E roughly), below the
    reach of 235.5 MeV. Refused at the ESS, with the ESS energy in the message; counted at the
    kaon line, with a positive, finite signal."""
    values = {"magnetic_moment": 1e-9, "sterile_mass_MeV": 100.0}
    dipole = get_scenario("dipole", channel="mu")
    with pytest.raises(KinematicsError, match=r"sterile_mass_MeV 100 .* at E_nu = 52\.83 MeV"):
        dipole.counts(get_detector("Ar"), get_source("ess"), values)
    counts = np.asarray(dipole.counts(AR, KDAR, values))
    assert np.all(np.isfinite(counts)) and counts.sum() > 0
    with pytest.raises(KinematicsError, match=r"at E_nu = 235\.50 MeV"):
        dipole.counts(AR, KDAR, {**values, "sterile_mass_MeV": 300.0})


def test_oscillation_nodes_cover_the_source_range():
    """The E-node count of the oscillation basis is the formula's over [E_low, E_max of the
    source]: m_μ/2 for π-DAR (unchanged), 200 MeV for a table reaching that far (more nodes).
    Δm² = 0.3 eV² keeps both below the cap of 160 nodes (47 and 68)."""
    osc = get_scenario("sterile-oscillation", channel="mu")
    shape = {"delta_m2_eV2": 0.3}
    det = get_detector("Ar").replace(max_neutrino_energy_MeV=200.0)
    e = np.linspace(10.0, 200.0, 20)
    table = Source(**BASE, spectrum={"energy_MeV": list(e), "flux": {"numu": [1e7] * 20}})
    n_ess = osc.basis_for(shape, det, get_source("ess"))[1].energy_nodes
    n_table = osc.basis_for(shape, det, table)[1].energy_nodes
    e_low = min(0.5 * (t + math.sqrt(t * t + 2 * nuc.mass * t))
                for t in [det.threshold] for nuc, _ in det.nuclei)
    baseline = get_source("ess").baseline_m * m
    assert n_ess == energy_nodes_needed(0.3 * eV**2, baseline, e_low, 105.6583755 / 2 * MeV)
    assert n_table == energy_nodes_needed(0.3 * eV**2, 20.0 * m, e_low, 200.0 * MeV)
    assert n_table > n_ess
