"""The batched Helm form factor (one call for many rms radii, used by the neutron-radius
re-weighting) and the unmasked branch of 3 j₁(x)/x give the same numbers, bit for bit, as the
one-radius function and the masked branch (expected values: those functions themselves)."""

from __future__ import annotations

import numpy as np
import pytest

from cevns.errors import ConfigError
from cevns.physics.constants import HBARC
from cevns.physics.form_factors import _three_j1_over_x, helm_form_factor, helm_form_factors
from cevns.physics.units import fm


def test_batch_equals_one_radius_at_a_time():
    rng = np.random.default_rng(7)
    for _ in range(50):
        q = rng.uniform(0.0, 1.0, rng.integers(1, 400)) * rng.uniform(0.1, 3.0) * HBARC / fm
        # radii below √3 s (≈ 1.7 fm) take the continued (x² < 0) branch
        radii = rng.uniform(0.5, 6.0, rng.integers(1, 12)) * fm
        skin = rng.uniform(0.8, 1.1) * fm
        batch = helm_form_factors(q, radii, skin)
        assert batch.shape == (radii.size, q.size)
        for p, r in enumerate(radii):
            assert np.array_equal(batch[p], helm_form_factor(q, r, skin))
            assert np.array_equal(batch[p], helm_form_factor(q, float(r), skin))


def test_batch_keeps_the_shape_of_q_and_checks_radii():
    q = np.linspace(0.0, 0.2, 12).reshape(3, 4) * HBARC / fm
    assert helm_form_factors(q, [4.5 * fm, 5.0 * fm]).shape == (2, 3, 4)
    for bad in (0.0, -1.0, np.nan, np.inf):
        with pytest.raises(ConfigError, match="rms_radius"):
            helm_form_factors(q, [4.5 * fm, bad * fm])
    with pytest.raises(ConfigError, match="rms_radii"):
        helm_form_factors(q, ["five"])
    with pytest.raises(ConfigError, match="rms_radii"):
        helm_form_factors(q, np.ones((2, 2)) * fm)
    with pytest.raises(ConfigError, match="helm_skin"):
        helm_form_factors(q, [4.5 * fm], np.nan)


def test_unmasked_branch_equals_masked_branch():
    x2 = np.random.default_rng(3).uniform(1e-2, 500.0, 5000)
    fast = _three_j1_over_x(x2)  # every x² ≥ 1e-2: no masks
    masked = _three_j1_over_x(np.concatenate([x2, [-0.5, 1e-3]]))[:-2]  # forces the masks
    assert np.array_equal(fast, masked)


@pytest.mark.parametrize("q", [np.nan, -1.0, np.inf, [0.1, np.nan], [[0.1, 0.2], [0.3, -0.4]], "a"])
def test_both_reject_momenta_that_are_not_finite_and_non_negative(q):
    """A form factor of a NaN, infinite or negative |q| would be a silent NaN: both functions
    raise a ConfigError naming the argument instead."""
    with pytest.raises(ConfigError, match="momentum_transfer"):
        helm_form_factor(q, 4.8 * fm)
    with pytest.raises(ConfigError, match="momentum_transfer"):
        helm_form_factors(q, [4.8 * fm])
    assert helm_form_factor(np.array([]), 4.8 * fm).shape == (0,)  # no values, nothing to check
