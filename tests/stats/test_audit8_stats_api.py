"""Audit 8: flags of the statistics API must be real booleans / ints ("no" built a shared channel,
log="yes" and axis=1.0 were accepted), Interval refuses NaN and reversed edges, to_csv and plot
refuse a path or an axes of the wrong type, and the documented inf of an impossible observation."""

from __future__ import annotations

import math
import re

import matplotlib
import numpy as np
import pytest

from cevns.errors import ConfigError
from cevns.stats import (
    Interval,
    Profile1D,
    exclusion_curve,
    finite_delta,
    poisson_deviance,
    profile_chi2,
    signal_background_channel,
)

matplotlib.use("Agg")

X = np.geomspace(1.0, 100.0, 5)
Y = np.geomspace(1e-5, 1e-2, 6)
D = np.outer(np.ones(5), np.linspace(0.0, 20.0, 6))


@pytest.mark.parametrize("value", ["no", "yes", 1, None])
def test_shared_signal_must_be_bool(value):
    with pytest.raises(ConfigError, match=rf"shared_signal must be true or false, got {value!r}"):
        signal_background_channel("c", [10, 20], [5, 5], [5, 15], shared_signal=value)


def test_shared_signal_text_refused_bool_unchanged():
    with pytest.raises(ConfigError, match="shared_signal must be true or false, got 'False'"):
        signal_background_channel("c", [10, 20], [5, 5], [5, 15], shared_signal="False")
    own = signal_background_channel("c", [10, 20], [5, 5], [5, 15], shared_signal=False)
    shared = signal_background_channel("c", [10, 20], [5, 5], [5, 15], shared_signal=np.True_)
    assert own.components[0].nuisance == "alpha_c"
    assert shared.components[0].nuisance == "alpha"


@pytest.mark.parametrize("log", ["yes", "no", 1, 0.0])
def test_exclusion_curve_log_must_be_bool(log):
    with pytest.raises(ConfigError, match=rf"log must be true, false or None \(detect\), got "
                                          rf"{log!r}"):
        exclusion_curve(X, Y, D, log=log)


@pytest.mark.parametrize("axis", [1.0, 0.0, True, np.float64(1.0)])
def test_exclusion_curve_axis_must_be_int(axis):
    with pytest.raises(ConfigError, match=rf"axis must be 0 or 1, got {re.escape(repr(axis))}"):
        exclusion_curve(X, Y, D, axis=axis)


def test_exclusion_curve_text_log_refused_valid_flags_unchanged():
    with pytest.raises(ConfigError, match="log must be true, false or None"):
        exclusion_curve(X, Y, D, log="False")
    a = exclusion_curve(X, Y, D, log=np.True_, axis=np.int64(1))
    b = exclusion_curve(X, Y, D, log=True, axis=1)
    np.testing.assert_array_equal(a.limit, b.limit)


@pytest.mark.parametrize("lower, upper, match", [
    (math.nan, 1.0, "Interval: lower must be a number, got nan"),
    (0.0, math.nan, "Interval: upper must be a number, got nan"),
    (2.0, 1.0, r"Interval: lower = 2.0 is above upper = 1.0; expected lower ≤ upper"),
    ("0", 1.0, "Interval: lower must be a number, got '0'"),
    (True, 1.0, "Interval: lower must be a number, got True"),
])
def test_interval_refuses_bad_edges(lower, upper, match):
    with pytest.raises(ConfigError, match=match):
        Interval(lower, upper)


def test_interval_refuses_non_bool_flag():
    with pytest.raises(ConfigError, match="Interval: upper_open must be true or false, got 'no'"):
        Interval(0.0, 1.0, upper_open="no")


def test_interval_reversed_refused_valid_unchanged():
    with pytest.raises(ConfigError, match="expected lower ≤ upper"):
        Interval(1.0, 0.0)
    piece = Interval(0.0, 1.0, np.False_, True)
    assert 0.5 in piece and piece.width == 1.0 and not piece.closed
    assert tuple(Interval(1.0, 1.0)) == (1.0, 1.0)


@pytest.mark.parametrize("path", [5, None, 1.5])
def test_to_csv_refuses_non_path(path):
    prof = Profile1D([0.0, 1.0, 2.0], [1.0, 0.0, 1.0])
    with pytest.raises(ConfigError, match=r"to_csv: path must be a file path \(str or "
                                          rf"pathlib.Path\), got {type(path).__name__}"):
        prof.to_csv(path)


def test_to_csv_refuses_empty_path():
    prof = Profile1D([0.0, 1.0, 2.0], [1.0, 0.0, 1.0])
    with pytest.raises(ConfigError, match="to_csv: path: empty path '' "):
        prof.to_csv("")


@pytest.mark.parametrize("make", [
    lambda: Profile1D([0.0, 1.0, 2.0], [1.0, 0.0, 1.0]),
    lambda: exclusion_curve(X, Y, D),
])
def test_plot_refuses_non_axes(make):
    with pytest.raises(ConfigError, match=r"\.plot: ax must be a matplotlib Axes .* got str 'x'"):
        make().plot(ax="x")


def test_plot_refuses_number_accepts_axes():
    import matplotlib.pyplot as plt

    prof = Profile1D([0.0, 1.0, 2.0, 3.0], [4.0, 0.0, 1.0, 9.0])
    assert all(isinstance(p, Interval) for p in prof.interval(1.0))  # built with valid edges
    with pytest.raises(ConfigError, match="Profile1D.plot: ax must be a matplotlib Axes"):
        prof.plot(ax=3)
    fig, ax = plt.subplots()
    try:
        assert prof.plot(ax=ax) is ax
    finally:
        plt.close(fig)


def test_finite_delta_refuses_text():
    with pytest.raises(ConfigError, match="finite_delta: delta must be an array of numbers, "
                                          "got 'a'"):
        finite_delta("a")


def test_zero_expected_with_data_is_documented_inf():
    """Mathematically exact (the data are impossible): kept, and said in the docstrings."""
    assert poisson_deviance([1, 2], [0, 2]) == np.inf
    assert "N = 0 and n > 0" in poisson_deviance.__doc__
    result = profile_chi2(signal_background_channel("c", [1, 0], [0, 0], [0, 0]))
    assert np.isinf(result.chi2)
    assert "zero expected counts for every" in " ".join(profile_chi2.__doc__.split())
