"""Internal unit system.

Every dimensionful number inside ``cevns`` is stored as ``value * unit``, e.g. a threshold of
1 keVnr is ``1.0 * keV`` and a baseline of 20 m is ``20.0 * m``; read a number out in a given unit
by dividing, ``threshold / keV``. Natural units ħ = c = 1 are used for particle physics quantities
(energies, masses and momenta are all energies); the conversion to lengths goes through
:data:`cevns.physics.constants.HBARC`.

The base values are 1 by default (MeV, cm, s, kg). If the environment variable
``CEVNS_RANDOM_UNITS`` holds an integer seed (≥ 0) when this module is first imported, the base
values are drawn at random instead (the trick of the ``numericalunits`` package): any formula that
silently assumes a unit then gives a different dimensionless answer, which the test
``tests/physics/test_units.py`` detects by computing event counts under two seeds. Any other
non-empty value is a :class:`~cevns.errors.ConfigError` raised by that import.
"""

from __future__ import annotations

import os

import numpy as np


def _random_units_seed() -> int | None:
    """The seed in ``CEVNS_RANDOM_UNITS`` (None if unset or empty). Anything but a non-negative
    integer is a :class:`~cevns.errors.ConfigError` naming the variable, raised by the first
    import of this module (the command line reports it as ``error: …``, exit status 2)."""
    text = os.environ.get("CEVNS_RANDOM_UNITS")
    if not text:
        return None
    try:
        seed = int(text)
    except ValueError:
        seed = -1
    if seed < 0:
        from cevns.errors import ConfigError

        raise ConfigError(f"CEVNS_RANDOM_UNITS={text!r}: must be a non-negative integer seed "
                          "(a test-only setting: unset it for the normal units)")
    return seed


_seed = _random_units_seed()
if _seed is not None:
    _rng = np.random.default_rng(_seed)
    # log-uniform in [0.1, 10]: enough to expose a missing unit, small enough for float64 range.
    MeV, cm, s, kg = (float(10 ** _rng.uniform(-1.0, 1.0)) for _ in range(4))
else:
    MeV = 1.0
    cm = 1.0
    s = 1.0
    kg = 1.0

# energy
eV = MeV * 1e-6
keV = MeV * 1e-3
GeV = MeV * 1e3
# length
m = cm * 1e2
fm = cm * 1e-13
km = m * 1e3
# time
day = 86400.0 * s
year = 365.25 * day  # Julian year; the ESS "calendar year" of beam is defined by POT, not by this
# mass (macroscopic, for detector masses)
g = kg * 1e-3
tonne = kg * 1e3
# amount of substance: a pure count (N_A carries 1/mol)
mol = 1.0

__all__ = ["MeV", "eV", "keV", "GeV", "cm", "m", "fm", "km", "s", "day", "year", "kg", "g", "tonne",
           "mol"]
