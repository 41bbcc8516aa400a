"""Audit 10: arguments of cevns.fits.coverage refused with a ConfigError naming them."""

from __future__ import annotations

import pytest

from cevns.errors import ConfigError
from cevns.fits import coverage as cv

REL = "coherent-csi-2017"


def test_releases_and_parameters_are_sequences_of_known_names():
    with pytest.raises(ConfigError, match="releases must be a sequence.*single string"):
        cv.coverage_table(releases=REL, n_toys=2)
    with pytest.raises(ConfigError, match="parameters must be a sequence.*single string"):
        cv.coverage_table(parameters="n_cevns", n_toys=2)
    with pytest.raises(ConfigError, match="releases must be"):
        cv.coverage_table(releases=[1], n_toys=2)
    # a misspelled parameter or release is refused, not silently skipped (an empty table)
    with pytest.raises(ConfigError, match="did you mean 'n_cevns'"):
        cv.coverage_table(parameters=("n_cevs",), n_toys=2)
    with pytest.raises(ConfigError, match="did you mean 'coherent-csi-2017'"):
        cv.coverage_table(releases=("coherent-csi-2017x",), parameters=("sin2_theta_w",),
                          n_toys=2)


def test_results_and_json_of_the_wrong_type():
    with pytest.raises(ConfigError, match=r"results must hold \(release, CoverageResult\) pairs"):
        cv.coverage_table([("a", 5)])
    with pytest.raises(ConfigError, match="results must be an iterable"):
        cv.coverage_table(5)
    with pytest.raises(ConfigError, match="data must be the JSON object"):
        cv.coverage_table_from_json([1, 2])
    with pytest.raises(ConfigError, match="coverage JSON a/b: a row must be an object"):
        cv.coverage_table_from_json({"a": {"b": 3}})
    with pytest.raises(ConfigError, match="coverage JSON a: must map parameter"):
        cv.coverage_table_from_json({"a": [1]})


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"truth": float("nan")}, "truth must be a finite number"),
    ({"truth": "166"}, "truth must be a finite number"),
    ({"points": 0}, "points must be a whole number ≥ 3 .*got 0"),
    ({"points": 2}, "points must be a whole number ≥ 3"),
    ({"points": 2.7}, "points must be a whole number ≥ 3.*got 2.7"),
    ({"points": True}, "points must be a whole number"),
    ({"delta_chi2": 0.0}, "delta_chi2 must be a Δχ² value > 0"),
    ({"delta_chi2": float("nan")}, "delta_chi2 must be"),
    ({"delta_chi2": 1e-12}, "delta_chi2 = 1e-12 is too small"),
])
def test_release_poi_grid_arguments(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        cv.release_poi_grid(REL, "n_cevns", **kwargs)


def test_release_poi_grid_small_grid_still_spans_the_truth():
    grid, truth = cv.release_poi_grid(REL, "n_cevns", points=3)
    assert grid.size == 4 and grid[0] < truth < grid[-1]
