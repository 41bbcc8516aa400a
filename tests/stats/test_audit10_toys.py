"""Audit 10: arguments of cevns.stats.toys refused with a ConfigError naming them, never a NaN
interval, an inverted one, a bare exception or a value silently truncated."""

from __future__ import annotations

import numpy as np
import pytest

from cevns.errors import ConfigError
from cevns.stats.toys import ToyModel, fc_critical_values, fc_interval, run_toys

COUNTING = ToyModel("cevns.stats.toys:counting_experiment", {"background": 3.0}, parameter="mu")
POI = np.linspace(0.0, 10.0, 11)
CHI2 = (POI - 3.0) ** 2


@pytest.mark.parametrize(("args", "match"), [
    ((POI, np.where(POI == 5, np.nan, CHI2), np.ones(11)), "chi2 must be finite.*nan at index 5"),
    ((POI, np.where(POI == 5, -np.inf, CHI2), np.ones(11)), "chi2 must be finite"),
    ((POI, np.full(11, np.inf), np.ones(11)), "chi2 must be finite.*no finite value"),
    ((POI, CHI2, np.where(POI == 2, np.nan, 1.0)), "critical must be finite.*index 2"),
    ((POI[::-1], CHI2, np.ones(11)), "strictly increasing"),
    ((POI, ["a"] * 11, np.ones(11)), "chi2 must be a 1-d array of numbers"),
    ((POI, CHI2, ["1"] * 11), "critical must be a 1-d array of numbers"),
    ((POI, CHI2 > 1, np.ones(11)), "chi2 must be a 1-d array of numbers"),
    ((np.where(POI == 4, np.nan, POI), CHI2, np.ones(11)), "poi must be finite"),
])
def test_fc_interval_refuses_nan_unordered_and_text(args, match):
    with pytest.raises(ConfigError, match=match):
        fc_interval(*args)


def test_fc_interval_still_accepts_an_excluded_point_and_gives_the_interval():
    assert fc_interval(POI, CHI2, np.ones(11)) == (2.0, 4.0)
    assert fc_interval(POI, np.where(POI == 9, np.inf, CHI2), np.ones(11)) == (2.0, 4.0)


@pytest.mark.parametrize(("seed", "match"), [
    (-1, "seed must be a whole number ≥ 0, got -1"),
    (None, "seed must be a whole number ≥ 0, got None.*reproducible"),
    (1.7, "seed must be a whole number ≥ 0, got 1.7"),
    (True, "seed must be a whole number ≥ 0, got True"),
    ("1", "seed must be a whole number ≥ 0, got '1'"),
])
def test_seed_is_a_whole_number(seed, match):
    with pytest.raises(ConfigError, match=match):
        run_toys(COUNTING, POI, 2.0, 5, seed=seed)
    with pytest.raises(ConfigError, match=match):
        fc_critical_values(COUNTING, POI, 5, seed=seed)


def test_n_toys_true_is_not_one_toy():
    with pytest.raises(ConfigError, match="n_toys"):
        run_toys(COUNTING, POI, 2.0, True)
    with pytest.raises(ConfigError, match="toys_per_tile"):
        fc_critical_values(COUNTING, POI, 5, toys_per_tile=np.True_)


def test_cls_one_number_or_a_sequence():
    one = fc_critical_values(COUNTING, POI, 5, cls=0.9, at=[2])
    assert list(one) == [0.9]
    assert np.array_equal(one[0.9], fc_critical_values(COUNTING, POI, 5, cls=[0.9], at=[2])[0.9],
                          equal_nan=True)
    for bad, match in ((1.2, r"cls: .*\(0, 1\), got 1.2"), ("0.9", "cls must be"),
                       ([], "cls must be"), (float("nan"), "cls must be finite"),
                       (True, "cls must be")):
        with pytest.raises(ConfigError, match=match):
            fc_critical_values(COUNTING, POI, 5, cls=bad)


def test_at_takes_grid_indices_not_poi_values():
    with pytest.raises(ConfigError, match="at must hold grid indices.*not POI values"):
        fc_critical_values(COUNTING, POI, 5, at=[1.7])
    for bad in (True, ["1"], [np.nan]):
        with pytest.raises(ConfigError, match="at"):
            fc_critical_values(COUNTING, POI, 5, at=bad)
    crit = fc_critical_values(COUNTING, POI, 5, at=[1.0], cls=0.9)[0.9]
    assert np.isfinite(crit[1]) and np.isnan(np.delete(crit, 1)).all()


def test_factory_keywords_checked_against_its_signature():
    typo = ToyModel("cevns.stats.toys:counting_experiment", {"backgrund": 3.0})
    match = "no argument 'backgrund' .did you mean 'background'.*background, efficiency"
    with pytest.raises(ConfigError, match=match):
        run_toys(typo, POI, 2.0, 5)
    with pytest.raises(ConfigError, match=match):
        fc_critical_values(typo, POI, 5)
    with pytest.raises(ConfigError, match=match):
        typo.channels(POI)
    with pytest.raises(ConfigError, match="missing a required argument: 'background'"):
        run_toys(ToyModel("cevns.stats.toys:counting_experiment"), POI, 2.0, 5)
    with pytest.raises(ConfigError, match="no argument 'backgrund'"):
        run_toys(COUNTING, POI, 2.0, 5, generator=typo)


def test_truth_is_a_finite_number():
    with pytest.raises(ConfigError, match="truth must be a finite number"):
        run_toys(COUNTING, POI, "2", 5)
