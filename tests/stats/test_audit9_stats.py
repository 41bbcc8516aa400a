"""Input audit #9 (finding 6): a masked array, a boolean array or a complex array where a grid or
χ² values are meant is a ConfigError naming the argument (docs/errors.md), not a best fit at a
masked point, true/false read as a χ² of 1/0, or a complex χ² with its imaginary part dropped
behind numpy's warning. Also the Δχ² interpolation of the COHERENT overlay, which reads such
arrays the same way."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from cevns.analyses.coherent_overlay import interpolate_delta, refine_crossings
from cevns.errors import ConfigError
from cevns.stats import Profile1D, Scan2D, exclusion_curve

X = np.linspace(0.0, 1.0, 11)
CHI2 = (X - 0.4) ** 2 * 100
MASKED = np.ma.array(np.where(np.arange(11) == 9, -50.0, CHI2), mask=np.arange(11) == 9)
GRID = np.outer(np.ones(11), np.linspace(0.0, 20.0, 11))

MASKED_MESSAGE = r"got a masked array \(its masked entries would be used as numbers\)"
NOT_REAL = [
    (MASKED, MASKED_MESSAGE),
    (CHI2 > 10, r"got an array of booleans \(dtype bool\)"),
    (CHI2 + 0j, r"got an array of complex numbers \(dtype complex128\)"),
    (CHI2.astype(str), r"got array\(\['"),
]


@pytest.fixture(autouse=True)
def _no_numpy_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's ComplexWarning was the only sign before
        yield


@pytest.mark.parametrize(("values", "said"), NOT_REAL)
def test_profile_values_must_be_real_numbers(values, said):
    # the masked array gave the best fit at its masked point, 0.9
    with pytest.raises(ConfigError, match=rf"^chi2 must be an array of numbers, {said}"):
        Profile1D(X, values)
    with pytest.raises(ConfigError, match=rf"^x must be a 1-D array of numbers, {said}"):
        Profile1D(values, CHI2)
    assert Profile1D(X, MASKED.filled(np.inf)).best == pytest.approx(0.4)


@pytest.mark.parametrize(("values", "said"), NOT_REAL[:3])
def test_scan_and_exclusion_values_must_be_real_numbers(values, said):
    grid = np.broadcast_to(values[None, :], (11, 11))
    if isinstance(values, np.ma.MaskedArray):
        grid = np.ma.array(GRID, mask=np.eye(11, dtype=bool))
    with pytest.raises(ConfigError, match=rf"^chi2 must be an array of numbers, {said}"):
        Scan2D(X, X + 1.0, grid)
    with pytest.raises(ConfigError, match=rf"^delta_chi2 must be an array of numbers, {said}"):
        exclusion_curve(X + 1.0, X + 1.0, grid)
    with pytest.raises(ConfigError, match=rf"^y must be a 1-D array of numbers, {said}"):
        exclusion_curve(X + 1.0, values, GRID)


XS, YS = np.array([1.0, 10.0]), np.array([1e-3, 1e-2, 1e-1])
DELTA = np.array([[0.0, 1.0, 9.0], [0.0, 4.0, 16.0]])


@pytest.mark.parametrize(("name", "value", "said"), [
    ("xs", np.ma.array(XS, mask=[0, 1]), MASKED_MESSAGE),
    ("ys", YS > 0.005, r"got an array of booleans"),
    ("delta", np.ma.array(DELTA), MASKED_MESSAGE),
    ("delta", DELTA > 2, r"got an array of booleans"),
    ("x", np.ma.array(XS), MASKED_MESSAGE),
    ("y", np.ma.array(YS, mask=[0, 1, 0]), MASKED_MESSAGE),
    ("ys", YS.astype(str), "got text"),
])
def test_interpolate_delta_refuses_arrays_that_are_not_real_numbers(name, value, said):
    args = {"xs": XS, "ys": YS, "delta": DELTA, "x": XS, "y": YS, **{name: value}}
    with pytest.raises(ConfigError, match=rf"^interpolate_delta: {name} must be an array of real "
                                          rf"numbers, {said}"):
        interpolate_delta(args["xs"], args["ys"], args["delta"], args["x"], args["y"], True, True)


def test_refine_crossings_refuses_arrays_that_are_not_real_numbers():
    def evaluate(columns, y):
        return 5.0 * np.ones(columns.size)

    for name, value, said in (("ys", np.ma.array(YS, mask=[0, 1, 0]), MASKED_MESSAGE),
                              ("delta", np.ma.array(DELTA), MASKED_MESSAGE),
                              ("delta", DELTA > 2, "got an array of booleans")):
        args = {"ys": YS, "delta": DELTA, name: value}
        with pytest.raises(ConfigError, match=rf"^refine_crossings: {name} must be an array of "
                                              rf"real numbers, {said}"):
            refine_crossings(args["ys"], args["delta"], 2.71, True, evaluate)
    with pytest.raises(ConfigError, match=rf"^refine_crossings: at must be finite y values, "
                                          rf"{MASKED_MESSAGE}"):
        refine_crossings(YS, DELTA, 2.71, True, evaluate, at=np.ma.array([0.005, 0.05]))
    for answer in (lambda c, y: np.ma.array(np.full(c.size, 5.0), mask=True),
                   lambda c, y: np.ones(c.size, dtype=bool)):
        with pytest.raises(ConfigError, match=r"evaluate must return one Δχ² \(a real number"):
            refine_crossings(YS, DELTA, 2.71, True, answer)
    assert refine_crossings(YS, DELTA, 2.71, True, evaluate)[0] is not None
