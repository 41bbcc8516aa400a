"""Audit 5 (#4, #9, #14, #15): the likelihood refuses nuisance values, pull widths, counts and
channel lists that gave a silent NaN, a text-to-number conversion or a raw OverflowError,
ZeroDivisionError or TypeError, with a ConfigError naming the argument; valid inputs are unchanged."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cevns.errors import ConfigError
from cevns.stats import (
    Component,
    PoissonModel,
    asimov,
    chi2_at,
    poisson_deviance,
    profile_chi2,
    signal_background_channel,
)

S = np.array([40.0, 30.0, 20.0])
B = np.array([10.0, 10.0, 10.0])


def _channels(**kwargs):
    return [signal_background_channel("A", asimov(S, B), S, B, **kwargs)]


# --- #4: nuisance values --------------------------------------------------------------------------
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, [0.1, math.nan], np.array([np.inf])])
def test_chi2_refuses_a_non_finite_nuisance_value(value):
    """NaN gave χ² = nan."""
    with pytest.raises(ConfigError, match=r"nuisances\['alpha_A'\] must be finite"):
        chi2_at(_channels(), {"alpha_A": value})


@pytest.mark.parametrize("value", ["0.1", b"0.1", ["0.1"], np.array(["0.1"]), None])
def test_chi2_refuses_text_as_a_nuisance_value(value):
    """"0.1" was read as 0.1, None as NaN."""
    with pytest.raises(ConfigError, match=r"nuisances\['alpha_A'\] must be a number or array"):
        chi2_at(_channels(), {"alpha_A": value})


@pytest.mark.parametrize("value", [True, np.False_, np.array([True]), [0.1, True]])
def test_chi2_refuses_a_boolean_nuisance_value(value):
    with pytest.raises(ConfigError, match=r"nuisances\['alpha_A'\] .*true/false is not a number"):
        chi2_at(_channels(), {"alpha_A": value})


def test_every_evaluation_checks_the_nuisance_values():
    model = PoissonModel(_channels())
    bad = {"beta_A": math.nan}
    for method in (model.chi2, model.chi2_by_channel, model.expected, model.gradient,
                   model.hessian):
        with pytest.raises(ConfigError, match=r"nuisances\['beta_A'\] must be finite"):
            method(bad)
    with pytest.raises(ConfigError, match=r"start\['beta_A'\] must be finite"):
        model.profile(start=bad)
    with pytest.raises(ConfigError, match="nuisances must be a mapping"):
        model.chi2([0.1, 0.0])


def test_valid_nuisance_values_unchanged_invalid_refused():
    chs = _channels()
    with pytest.raises(ConfigError, match="alpha_A"):
        chi2_at(chs, {"alpha_A": math.nan})
    value = float(chi2_at(chs, {"alpha_A": 0.1}))
    assert value == float(chi2_at(chs, {"alpha_A": np.float64(0.1)}))
    assert value == float(chi2_at(chs, {"alpha_A": np.array(0.1)}))
    mu = (1.1 * S + B)
    n = S + B
    expected = 2 * np.sum(mu - n + n * np.log(n / mu)) + (0.1 / 0.1) ** 2
    assert value == pytest.approx(expected, rel=1e-12)


# --- #9: pull widths ------------------------------------------------------------------------------
@pytest.mark.parametrize("sigma", [1e300, 1e-200, 1e151, 9e-151, True, np.True_, "0.1", [0.1, 0.2]])
def test_pull_width_outside_the_range_is_refused(sigma):
    """1e300 gave OverflowError, 1e-200 ZeroDivisionError (1/σ²); True and "0.1" were numbers."""
    with pytest.raises(ConfigError, match=r"sigma_alpha must be a number in \[1e-150, 1e150\], "
                                          "or inf or None"):
        _channels(sigma_alpha=sigma)


def test_pull_width_in_sigmas_and_components_is_refused():
    with pytest.raises(ConfigError, match=r"sigmas\['alpha_A'\] must be a number in \[1e-150"):
        profile_chi2(_channels(), sigmas={"alpha_A": 1e300})
    with pytest.raises(ConfigError, match=r"sigma of 'k' must be a number in \[1e-150"):
        Component("s", S, nuisance="k", sigma=1e-200)
    with pytest.raises(ConfigError, match="sigmas must be a mapping"):
        PoissonModel(_channels(), sigmas=[0.1])


@pytest.mark.parametrize("sigma", [1e-150, 1e150, math.inf, None, 0.1])
def test_pull_widths_at_the_ends_of_the_range_profile(sigma):
    from cevns.stats.likelihood import SIGMA_RANGE  # new in audit 5

    assert SIGMA_RANGE == (1e-150, 1e150)
    res = profile_chi2([signal_background_channel("A", asimov(S, B), 1.1 * S, B,
                                                  sigma_alpha=sigma)], warn=False)
    assert np.isfinite(res.chi2) and res.chi2 >= 0


# --- #15: counts given as text --------------------------------------------------------------------
def test_poisson_deviance_refuses_text():
    """["3"] was read as 3 (0.4328)."""
    with pytest.raises(ConfigError, match=r"observed must be an array of numbers, got text \['3'\]"):
        poisson_deviance(["3"], [2])
    with pytest.raises(ConfigError, match="expected must be an array of numbers, got text"):
        poisson_deviance([3], np.array(["2"]))
    assert poisson_deviance([3], [2]) == pytest.approx(2 * (2 - 3 + 3 * math.log(3 / 2)))


def test_counts_of_a_channel_refuse_text():
    with pytest.raises(ConfigError, match="must be an array of numbers, got text"):
        signal_background_channel("A", ["50", "40", "30"], S, B)
    with pytest.raises(ConfigError, match="must be an array of numbers, got text"):
        asimov(np.array(["1", "2"]))


# --- #14: channels that are not a sequence --------------------------------------------------------
@pytest.mark.parametrize("channels", [None, 3, 2.5, "A"])
def test_poisson_model_needs_a_sequence_of_channels(channels):
    """None and 3 gave TypeError: '…' object is not iterable."""
    with pytest.raises(ConfigError, match="channels must be a Channel or a sequence of Channel"):
        PoissonModel(channels)
    with pytest.raises(ConfigError, match="channels must be a Channel or a sequence of Channel"):
        chi2_at(channels)
