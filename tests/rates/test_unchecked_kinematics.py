"""The rate engine and the basis terms call the unchecked kinematics
(``cevns.physics.kinematics._*_unchecked``) on inputs they made or checked themselves; the public
functions keep their checks. The two paths run the same formulas, so the spectra must be equal to
the bit: the reference here is the same computation with every unchecked call site switched back
to the checked public function."""

from __future__ import annotations

import numpy as np
import pytest

from cevns.errors import ConfigError
from cevns.experiment import get_detector, get_source
from cevns.physics import dipole, ngi, upscattering
from cevns.physics import kinematics as K
from cevns.physics.basis import SMBasis
from cevns.physics.dipole import DipoleBasis
from cevns.physics.ngi import NGIBasis
from cevns.physics.nuclei import get_nucleus
from cevns.physics.units import MeV
from cevns.physics.upscattering import UpscatteringBasis
from cevns.rates import compute_basis_spectra, engine

#: Every call site of an unchecked helper, with the checked function it stands for.
CALL_SITES = [
    (engine, "_recoil_energy_range_unchecked", K.recoil_energy_range),
    (engine, "_min_neutrino_energy_unchecked", K.min_neutrino_energy),
    (ngi, "_momentum_transfer_unchecked", K.momentum_transfer),
    (upscattering, "_momentum_transfer_unchecked", K.momentum_transfer),
    (dipole, "_momentum_transfer_unchecked", K.momentum_transfer),
]

CASES = [
    ("CsI", SMBasis()),
    ("Ar", NGIBasis("scalar", 10.0 * MeV)),
    ("Ge", UpscatteringBasis("S", 5.0 * MeV, 20.0 * MeV)),
    ("CsI", UpscatteringBasis("A", 2.0 * MeV, 50.0 * MeV)),
    ("Xe", DipoleBasis(3.0 * MeV, "mu")),
]


@pytest.mark.parametrize(("detector", "basis"), CASES, ids=[f"{d}-{type(b).__name__}"
                                                            for d, b in CASES])
def test_unchecked_kinematics_give_bit_identical_spectra(monkeypatch, detector, basis):
    det, src = get_detector(detector), get_source("ess")
    fast = compute_basis_spectra(det, src, basis)
    calls = {"n": 0}
    for module, name, checked in CALL_SITES:
        def counted(*args, _checked=checked):
            calls["n"] += 1
            return _checked(*args)
        monkeypatch.setattr(module, name, counted)
    checked_path = compute_basis_spectra(det, src, basis)
    assert calls["n"] > 0  # the checked functions were really used
    assert np.array_equal(fast.counts, checked_path.counts)
    assert np.array_equal(fast.node_rates, checked_path.node_rates)
    assert np.array_equal(fast.edges, checked_path.edges)


def test_public_kinematics_still_check():
    """The unchecked twins are private; the public functions refuse what they refused."""
    with pytest.raises(ConfigError, match="recoil_energy must be finite and ≥ 0"):
        K.momentum_transfer(np.array([np.nan]), 1000.0 * MeV)
    with pytest.raises(ConfigError, match="recoil_energy must be finite and ≥ 0"):
        engine.min_neutrino_energy(np.array([-1.0 * MeV]), 1000.0 * MeV)
    with pytest.raises(ConfigError, match="neutrino_energy must be finite and ≥ 0"):
        engine.kinematic_breakpoints([get_nucleus("Ar40")], 0.0, (np.inf,))
    with pytest.raises(ConfigError, match="sterile_mass must be finite and ≥ 0"):
        engine.kinematic_breakpoints([get_nucleus("Ar40")], -1.0 * MeV)


def test_a_plugin_sterile_mass_is_still_checked_once():
    """A basis of a plug-in brings its ``sterile_mass`` unchecked: the engine checks it once
    before the unchecked kinematics (as the checked recoil_energy_range did)."""

    class BadBasis:
        names = ("x",)
        sterile_mass = float("nan")

        def terms(self, nucleus, flavour, neutrino_energy, recoil_energy):
            raise AssertionError("not reached")

    with pytest.raises(ConfigError, match=r"^sterile_mass must be finite and ≥ 0, got nan$"):
        compute_basis_spectra(get_detector("Ar"), get_source("ess"), BadBasis())
