"""Batched toy fits: many data sets in one profiler call, restarts for non-convex χ².

References: each data set profiled on its own by :meth:`PoissonModel.profile` (the same χ²,
assembled per data set), and iminuit's MIGRAD from several starting points (an independent
minimiser; the lowest of its minima is the profiled χ²).
"""

from __future__ import annotations

import numpy as np
import pytest
from test_toys import on_off

from cevns.errors import ConfigError
from cevns.stats import Channel, Component, PoissonModel
from cevns.stats.profile import profile_datasets
from cevns.stats.toys import ToyModel, generate_toys, profile_toys, run_toys


def moving_signal(poi):
    """A signal whose shape nuisance moves it into a background-dominated bin (like the LAr
    CEvNS F90 variant): χ² has two minima in α at small signal."""
    poi = np.asarray(poi, dtype=float)
    s = poi[:, None] * np.array([40.0, 2.0])
    return [Channel("c", np.zeros(2), [
        Component("sig", s, shapes={"a": (s * np.array([1.4, 0.125]), s * np.array([0.6, 8.0]))},
                  shape_code="polyexp"),
        Component("bkg", np.array([20.0, 100.0]))])]


MOVING = {"c": np.array([[22.0, 160.0], [30.0, 150.0], [25.0, 170.0]])}
STARTS = (-3.0, -1.5, -0.5, 0.0, 0.5, 1.5, 3.0)


def _one_model(model, data, t):
    return PoissonModel([Channel(ch.name, data[ch.name][t], ch.components)
                         for ch in model.channels])


def _migrad_best(model, index, starts):
    """Lowest MIGRAD minimum over the starting points (θ vectors)."""
    best = np.inf
    for start in starts:
        m = model.minuit(index, start=np.asarray(start, dtype=float))
        m.migrad()
        best = min(best, m.fval)
    return best


@pytest.fixture(scope="module")
def on_off_toys():
    grid = np.linspace(0.2, 2.0, 19)
    model = PoissonModel(on_off(grid))
    data = generate_toys(PoissonModel(on_off([1.0])), np.arange(6), seed=3)
    return grid, model, data


def test_profile_datasets_matches_one_model_per_data_set(on_off_toys):
    _, model, data = on_off_toys
    chi2, conv, theta = profile_datasets(model, data)
    assert chi2.shape == conv.shape == (6, 19) and theta.shape == (6, 19, 3)
    assert conv.all()
    for t in range(6):
        ref = _one_model(model, data, t).profile(warn=False)
        np.testing.assert_allclose(chi2[t], ref.chi2, rtol=1e-10, atol=1e-9)
        for j, name in enumerate(model.nuisances):
            np.testing.assert_allclose(theta[t, :, j], ref.nuisances[name], atol=1e-5)
    # a subset of points, shared or per data set, gives the same numbers
    sub, _, _ = profile_datasets(model, data, points=[0, 7, 18])
    np.testing.assert_allclose(sub, chi2[:, [0, 7, 18]], rtol=1e-10, atol=1e-9)
    per = np.array([[t, 18 - t] for t in range(6)])
    own, _, _ = profile_datasets(model, data, points=per)
    np.testing.assert_allclose(own, np.take_along_axis(chi2, per, axis=1), rtol=1e-10, atol=1e-9)


def test_profile_toys_agrees_with_per_toy_iminuit(on_off_toys):
    grid, model, data = on_off_toys
    chi2, ok = profile_toys(model, data)
    assert ok.all()
    for t in range(3):
        one = _one_model(model, data, t)
        for g in (0, 9, 18):
            ref = _migrad_best(one, g, [np.zeros(3)])
            assert chi2[t, g] == pytest.approx(ref, abs=1e-5)


def test_restarts_find_the_lower_minimum_a_single_pass_misses():
    grid = np.linspace(0.0, 2.0, 21)
    model = PoissonModel(moving_signal(grid))
    single, _, _ = profile_datasets(model, MOVING)
    chi2, ok = profile_toys(model, MOVING)
    assert ok.all()
    assert np.all(chi2 <= single + 1e-9)
    # from θ = 0 Newton stops in the upper minimum (α ≈ −0.2) at one point (measured: by 12.5)
    assert np.max(single - chi2) > 10.0
    for t in range(3):
        one = _one_model(model, MOVING, t)
        for g in (1, 2, 5, 11, 20):
            ref = _migrad_best(one, g, [[a] for a in STARTS])
            assert chi2[t, g] == pytest.approx(ref, abs=1e-6)


def test_same_answer_whatever_the_tiling_with_shape_nuisances():
    model = ToyModel(f"{__name__}:on_off_model", {}, parameter="scale")
    grid = np.linspace(0.2, 2.0, 19)
    a = run_toys(model, grid, 1.0, 48, seed=2, toys_per_tile=16)
    b = run_toys(model, grid, 1.0, 48, seed=2, toys_per_tile=48)
    np.testing.assert_array_equal(a.best, b.best)
    assert a.row() == b.row()


def on_off_model(poi):
    """:func:`on_off` as a ToyModel factory of this module."""
    return on_off(poi)


def test_profile_datasets_errors(on_off_toys):
    _, model, data = on_off_toys
    with pytest.raises(ConfigError, match="counts for the channels"):
        profile_datasets(model, {"on": data["on"]})
    with pytest.raises(ConfigError, match="has shape"):
        profile_datasets(model, {"on": data["on"][:, :2], "off": data["off"]})
    with pytest.raises(ConfigError, match="grid indices"):
        profile_datasets(model, data, points=[0, 19])
    with pytest.raises(ConfigError, match="start has shape"):
        profile_datasets(model, data, start=np.zeros((6, 19, 2)))


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["processes", "dask"])
def test_executors_give_identical_results_with_shape_nuisances(executor):
    """Same tiling on another executor: the same toys, restarts and numbers, bit for bit."""
    if executor == "dask":
        pytest.importorskip("distributed")
    model = ToyModel(f"{__name__}:on_off_model", {}, parameter="scale")
    grid = np.linspace(0.2, 2.0, 19)
    serial = run_toys(model, grid, 1.0, 96, seed=2, toys_per_tile=32)
    spec = ({"name": "dask", "n_workers": 2} if executor == "dask"
            else {"name": "processes", "max_workers": 2})
    other = run_toys(model, grid, 1.0, 96, seed=2, toys_per_tile=32, executor=spec)
    np.testing.assert_array_equal(serial.best, other.best)
    assert serial.row() == other.row()
