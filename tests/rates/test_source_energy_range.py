"""Sources above the π-DAR end point: the detector's recoil range follows its
``max_neutrino_energy_MeV``, and the engine refuses a source that reaches above it (before, the
recoils of the more energetic neutrinos were silently lost: the response ended at the largest
recoil of a 52.83 MeV neutrino).

Reference: ``tests/_reference/quad_reference.py`` (the SM cross section typed again from
docs/physics.md, integrated with ``scipy.integrate.quad``), for a 236 MeV ν_μ line (kaon decay at
rest) on argon, bin by bin.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from quad_reference import dsigma_dt_cm2_per_mev
from scipy.integrate import quad

from cevns.errors import KinematicsError
from cevns.experiment import Detector, Source, get_detector, get_source
from cevns.physics.units import MeV
from cevns.rates import sm_spectrum

E_KDAR_MEV = 235.5  # ν_μ of K⁺ → μ⁺ ν_μ at rest
INTENSITY = 1.0e7  # ν cm⁻² s⁻¹
HOURS = 5000.0


def _kdar_source() -> Source:
    return Source(name="kdar", kind="tabulated", normalisation="per-cm2-s",
                  lines=[{"flavour": "numu", "energy_MeV": E_KDAR_MEV, "intensity": INTENSITY}],
                  baseline_m=20.0, beam_hours_per_year=HOURS, duty_factor=1.0, run_years=1.0)


def _argon(**extra) -> Detector:
    edges = (5.0, 50.0, 200.0, 500.0, 1000.0, 2000.0, 3000.0)  # keVnr; T_max(Ar-40) ≈ 2.96 MeV
    return Detector(name="Ar_kdar", mass_kg=1000.0, targets=[{"element": "Ar"}],
                    threshold_keVnr=5.0, binning={"rule": "edges", "edges_keVnr": edges}, **extra)


def test_a_kdar_line_matches_quad_bin_by_bin():
    det = _argon(max_neutrino_energy_MeV=240.0)
    spec = sm_spectrum(det, _kdar_source())
    got = spec.signal.sum(axis=(0, 1))  # flavours, nuclei
    edges_mev = det.bin_edges / MeV
    fluence_cm2 = INTENSITY * HOURS * 3600.0
    ref = np.zeros(got.size)
    for (nuc, _), n_t in zip(det.nuclei, det.number_of_targets(), strict=True):
        args = (nuc.Z, nuc.N, nuc.atomic_mass_u, nuc.spin, nuc.spin_proton, nuc.spin_neutron)
        ma = nuc.atomic_mass_u * 931.49410242
        t_max = 2 * E_KDAR_MEV**2 / (ma + 2 * E_KDAR_MEV)
        for i in range(got.size):
            lo, hi = edges_mev[i], min(edges_mev[i + 1], t_max)
            if hi > lo:
                val, _ = quad(lambda t, a=args: dsigma_dt_cm2_per_mev(E_KDAR_MEV, t, *a), lo, hi,
                              epsabs=0, epsrel=1e-11, limit=200)
                ref[i] += n_t * fluence_cm2 * val
    assert ref[-2] > 0 and got[-2] > 0  # recoils above 1 MeV: far beyond the π-DAR range
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-12 * ref.sum())
    # what the π-DAR range would have kept: the bins below T_max(52.83 MeV) ≈ 150 keV
    assert ref[2:].sum() > 0.1 * ref.sum()


def test_a_source_above_the_detector_range_is_refused():
    det = _argon()  # default: the π-DAR end point
    assert det.max_neutrino_energy_MeV == pytest.approx(105.6583755 / 2, rel=1e-12)
    with pytest.raises(KinematicsError, match=r"up to 235\.5 MeV.*52\.8292 MeV.*"
                                              r"max_neutrino_energy_MeV to at least 235\.5"):
        sm_spectrum(det, _kdar_source())


def test_pi_dar_and_its_table_fit_the_default_range():
    det = get_detector("CsI")
    for name in ("ess", "ess-table"):
        assert sm_spectrum(det, get_source(name)).total_signal > 0


def test_trailing_zeros_of_a_table_do_not_widen_its_range():
    """A table that goes on with zeros above 52.83 MeV emits nothing there: the default
    detector takes it, with the counts of the same table cut at its last non-zero interval.
    The two differ only by their quadrature: the rule's order per interval grows with the
    widest interval over the table's span (docs/sources.md), 2 nodes for the short table and
    12 for the long one; measured against a quad reference (epsrel 1e-10) on argon the long one
    is within 6e-10, the short one within 1.1e-7 — and within 6.2e-6 in the last CsI bins,
    whose counts come from the table's last, nearly empty intervals. Hence 2e-5 per bin."""
    e = np.linspace(10.0, 50.0, 41)
    flux = {"nue": list(1e7 * (1 - ((e - 30) / 20) ** 2))}  # 0 at both ends
    base = dict(name="t", kind="tabulated", normalisation="per-cm2-s", baseline_m=20.0,
                beam_hours_per_year=HOURS, duty_factor=1.0, run_years=1.0)
    short = Source(**base, spectrum={"energy_MeV": list(e), "flux": flux})
    e_long = list(e) + [100.0, 300.0]
    long = Source(**base, spectrum={"energy_MeV": e_long, "flux": {"nue": flux["nue"] + [0, 0]}})
    assert long.max_neutrino_energy() / MeV == 50.0
    det = get_detector("CsI")
    a, b = sm_spectrum(det, short).signal, sm_spectrum(det, long).signal
    np.testing.assert_allclose(b, a, rtol=2e-5, atol=1e-12 * a.sum())
    assert b.sum() == pytest.approx(a.sum(), rel=1e-7)


def test_raising_the_range_extends_rule_made_bins():
    """The `resolution` rule cuts its last bin at the largest recoil of the detector's
    max_neutrino_energy_MeV (T_max = 2E²/(M + 2E) of the lightest target)."""
    low, high = get_detector("CsI"), get_detector("CsI").replace(max_neutrino_energy_MeV=236.0)
    m_cs = min(n.mass for n, _ in low.nuclei) / MeV
    for det, energy in ((low, 105.6583755 / 2), (high, 236.0)):
        assert det.bin_edges[-1] / MeV == pytest.approx(2 * energy**2 / (m_cs + 2 * energy),
                                                        rel=1e-9)
    assert high.n_bins > low.n_bins
    assert sm_spectrum(high, _kdar_source()).total_signal > 0


@pytest.mark.parametrize("value", [0.0, -1.0, math.nan, math.inf, 2e6, True, "fifty"])
def test_bad_ranges_are_refused(value):
    from cevns.errors import ConfigError

    with pytest.raises(ConfigError, match="max_neutrino_energy_MeV"):
        _argon(max_neutrino_energy_MeV=value)


def test_a_timing_window_refuses_flavours_without_arrival_times():
    """A `timing` window models π-DAR arrival times only: a ν̄_e table at a timed detector is a
    ConfigError naming the flavour (it was a bare KeyError); the same source without the timing
    table, and a timed detector at the π-DAR source, are fine."""
    from cevns.errors import ConfigError

    reactor = Source(name="flat", kind="tabulated", normalisation="per-cm2-s",
                     spectrum={"energy_MeV": [10.0, 30.0], "flux": {"nuebar": [1e7, 1e7]}},
                     baseline_m=20.0, beam_hours_per_year=HOURS, duty_factor=1.0, run_years=1.0)
    timing = {"pulse": {"model": "gaussian", "mean_us": 0.44, "sigma_us": 0.15},
              "window_us": [0.0, 6.0]}
    timed = get_detector("CsI").replace(timing=timing)
    with pytest.raises(ConfigError, match=r"timing window.*source flat emits nuebar"):
        sm_spectrum(timed, reactor)
    assert sm_spectrum(get_detector("CsI"), reactor).total_signal > 0
    assert sm_spectrum(timed, get_source("ess")).total_signal > 0


def test_a_source_that_cannot_reach_the_threshold_is_refused():
    """A 1 MeV line on argon (unsmeared, threshold 0.1 keVnr): T_max = 2E²/(M + 2E) ≈ 0.054
    keVnr, below the threshold; the pair is refused (it was a silent signal of 0). A 2 MeV line
    reaches 0.21 keVnr and is counted. A smeared detector (CsI) is not refused: recoils below
    its threshold can be smeared above it."""
    def line(energy):
        return Source(name="low", kind="tabulated", normalisation="per-cm2-s",
                      lines=[{"flavour": "nue", "energy_MeV": energy, "intensity": 1e7}],
                      baseline_m=20.0, beam_hours_per_year=HOURS, duty_factor=1.0, run_years=1.0)
    m_ar = min(n.mass for n, _ in get_detector("Ar").nuclei) / MeV
    reach_kev = 1e3 * 2 * 1.0**2 / (m_ar + 2 * 1.0)
    with pytest.raises(KinematicsError, match=rf"up to 1 MeV.*{reach_kev:.4g} keVnr, below its "
                                              r"first bin edge 0\.1 keVnr"):
        sm_spectrum("Ar", line(1.0))
    assert sm_spectrum("Ar", line(2.0)).total_signal > 0
    assert np.isfinite(sm_spectrum("CsI", line(1.0)).total_signal)
