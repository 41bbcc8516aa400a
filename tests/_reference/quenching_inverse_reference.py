"""Reference inverse of a detector's mean quenching: one ``scipy.optimize.brentq`` per value.

The inverse as it was computed before the elementwise root finder
(``Detector.observable_to_recoil``), on the same bracket of the monotone table. Used by
``tests/experiment/test_response_models.py`` and ``benchmarks/bench_quenching_inverse.py``.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq


def brent_inverse(detector, values, k):
    """True recoils whose mean observable (quenching of nucleus ``k``) equals each of ``values``."""
    t, m = detector._observable_grid(k)
    out = []
    for v in values:
        if v <= 0:
            out.append(0.0)
        elif v >= m[-1]:
            out.append(v * t[-1] / m[-1])
        else:
            i = int(np.searchsorted(m, v))
            out.append(brentq(lambda x, v=v: float(detector._mean_observable(x, k)) - v,
                              t[max(i - 1, 0)], t[i], xtol=1e-14 * t[i], rtol=1e-14))
    return np.array(out)
