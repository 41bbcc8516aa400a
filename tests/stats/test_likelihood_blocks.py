"""Shaped components evaluated as one block (cevns.stats.likelihood._ShapedBlock).

Free per-bin background rates under one shared shape systematic (the steady-state rates per PE bin
of the CsI releases) are many multiplicative shaped components with the same shape nuisances, each
with its own normalisation. The batched profiler evaluates them as one block. References: the same
model with every component evaluated on its own (``_merge_blocks`` replaced by the identity, the
per-component path that tests/stats/test_shapes.py and test_shape_profile.py check against finite
differences and iminuit), and central finite differences of χ² for the block's gradient.
"""

from __future__ import annotations

import numpy as np
import pytest

import cevns.stats.likelihood as likelihood
from cevns.stats import FREE, Channel, Component, PoissonModel

N_TIME = 6  # time bins per energy bin
N_E = 5  # energy bins, one free rate each


def _per_bin_rates(rng, code="polyexp", conserve=True, second_shape=False, normsys=False):
    """A channel of N_E × N_TIME bins: a signal with its own shape nuisance, and one free rate per
    energy bin (nonzero in its N_TIME bins only) under a shared time-slope shape nuisance whose
    per-bin ratios are the same for every rate."""
    n_bins = N_E * N_TIME
    t = np.tile(np.linspace(-1.0, 1.0, N_TIME), N_E)
    up_ratio, down_ratio = 1.0 + 0.3 * t, 1.0 / (1.0 + 0.25 * t)
    other_up, other_down = np.exp(0.1 * np.cos(3 * t)), np.exp(-0.12 * np.cos(3 * t))
    signal = rng.uniform(3, 12, n_bins)
    comps = [Component("sig", signal, nuisance="sig", sigma=0.1,
                       shapes={"sig_shape": (0.9 * signal * (1 - 0.1 * t),
                                             1.1 * signal * (1 + 0.1 * t))})]
    for e in range(N_E):
        part = np.zeros(n_bins)
        part[e * N_TIME:(e + 1) * N_TIME] = rng.uniform(5, 40) * rng.uniform(0.5, 1.5, N_TIME)
        shapes = {"slope": (part * down_ratio, part * up_ratio)}
        if second_shape:
            shapes["curve"] = (part * other_down, part * other_up)
        kw = {"normsys": {"lumi": (0.95, 1.05)}} if normsys and e == 0 else {}
        comps.append(Component(f"ss{e}", part, nuisance=f"rate{e}", sigma=FREE, shapes=shapes,
                               shape_code=code, conserve_total=conserve, **kw))
    truth = sum(c.expected for c in comps)
    return Channel("on", rng.poisson(truth).astype(float), comps)


def _models(channels, monkeypatch):
    merged = PoissonModel(channels)
    with monkeypatch.context() as m:
        m.setattr(likelihood, "_merge_blocks", list)
        plain = PoissonModel(channels)
    return merged, plain


def _n_blocks(model):
    return sum(isinstance(sc, likelihood._ShapedBlock) for fc in model._flat for sc in fc.shaped)


def _random_points(model, rng, n=4):
    out = []
    for _ in range(n):
        point = {}
        for name in model.nuisances:
            shape = name in model.shape_nuisances
            point[name] = rng.normal(0.0, 0.8) if shape else rng.uniform(-0.3, 0.4)
        out.append(point)
    return out


CASES = [
    {"code": "polyexp", "conserve": True},
    {"code": "exponential", "conserve": True},
    {"code": "polyexp", "conserve": False},
    {"code": "polyexp", "conserve": True, "second_shape": True},
    {"code": "exponential", "conserve": ["slope"], "second_shape": True},
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_block_equals_components_one_by_one(case, monkeypatch):
    """χ², gradient and Hessian of the merged model equal those of the components evaluated
    one by one, at random nuisance values (shape nuisances beyond ±1σ included)."""
    rng = np.random.default_rng(7)
    channels = [_per_bin_rates(rng, **case)]
    merged, plain = _models(channels, monkeypatch)
    assert _n_blocks(merged) == 1 and _n_blocks(plain) == 0
    for point in _random_points(merged, rng):
        np.testing.assert_allclose(merged.chi2(point), plain.chi2(point), rtol=1e-13)
        np.testing.assert_allclose(merged.gradient(point), plain.gradient(point),
                                   rtol=1e-11, atol=1e-11)
        np.testing.assert_allclose(merged.hessian(point), plain.hessian(point),
                                   rtol=1e-11, atol=1e-10)


def test_block_gradient_and_hessian_match_finite_differences():
    """The block's analytic derivatives against central differences of its own χ²."""
    rng = np.random.default_rng(3)
    model = PoissonModel([_per_bin_rates(rng, second_shape=True)])
    assert _n_blocks(model) == 1
    point = _random_points(model, rng, 1)[0]
    names = model.nuisances
    h = 1e-5
    grad = np.reshape(model.gradient(point), -1)
    hess = np.reshape(model.hessian(point), (len(names), len(names)))
    for i, name in enumerate(names):
        up, down = dict(point), dict(point)
        up[name] += h
        down[name] -= h
        fd = float(model.chi2(up) - model.chi2(down)) / (2 * h)
        np.testing.assert_allclose(grad[i], fd, rtol=1e-6, atol=1e-5)
        fd_row = np.reshape(model.gradient(up) - model.gradient(down), -1) / (2 * h)
        np.testing.assert_allclose(hess[i], fd_row, rtol=1e-5, atol=1e-4)


def test_profile_on_a_grid_equals_the_unmerged_profile(monkeypatch):
    """The profiled χ² over a grid of signal strengths, and the fitted nuisances, as without
    blocks (two channels sharing the rates: the coincidence / anti-coincidence pattern)."""
    rng = np.random.default_rng(11)
    on = _per_bin_rates(rng)
    grid = np.linspace(0.0, 2.5, 9)[:, None]
    comps = [Component("sig", grid * on.components[0].expected, nuisance="sig", sigma=0.1,
                       shapes={k: tuple(grid * np.asarray(x) for x in v)
                               for k, v in on.components[0].shapes.items()}),
             *on.components[1:]]
    on = Channel("on", on.observed, comps)
    off = Channel("off", rng.poisson(sum(c.expected for c in comps[1:])).astype(float),
                  list(comps[1:]))
    merged, plain = _models([on, off], monkeypatch)
    assert _n_blocks(merged) == 2
    a, b = merged.profile(), plain.profile()
    assert a.converged.all() and b.converged.all()
    np.testing.assert_allclose(a.chi2, b.chi2, rtol=1e-10, atol=1e-9)
    for name in merged.nuisances:
        np.testing.assert_allclose(a.nuisances[name], b.nuisances[name], atol=1e-6)


def test_what_is_not_merged(monkeypatch):
    """A component with a normsys, components whose ratios differ where both have counts, and a
    component without a normalisation of its own stay on the per-component path."""
    rng = np.random.default_rng(5)
    ch = _per_bin_rates(rng, normsys=True)
    model = PoissonModel([ch])
    # ss0 has a normsys: the other four rates form the block
    blocks = [sc for sc in model._flat[0].shaped if isinstance(sc, likelihood._ShapedBlock)]
    assert len(blocks) == 1 and blocks[0].nominals.shape[0] == N_E - 1
    # two rates over the same bins with different ratios there: not merged with each other
    n_bins = N_E * N_TIME
    part = np.full(n_bins, 10.0)
    a = Component("a", part, nuisance="ra", sigma=FREE, shapes={"s": (0.9 * part, 1.1 * part)})
    b = Component("b", part, nuisance="rb", sigma=FREE, shapes={"s": (0.8 * part, 1.3 * part)})
    c = Component("c", part, shapes={"s": (0.9 * part, 1.1 * part)})  # no normalisation
    model = PoissonModel([Channel("x", np.full(n_bins, 25.0), [a, b, c])])
    assert _n_blocks(model) == 0
    merged, plain = _models([Channel("x", np.full(n_bins, 25.0), [a, b, c])], monkeypatch)
    point = {"ra": 0.1, "rb": -0.2, "s": 0.7}
    np.testing.assert_allclose(merged.chi2(point), plain.chi2(point), rtol=1e-14)


def test_the_csi_2017_steady_state_rates_form_blocks():
    """The CsI-2017 release model's 12 per-PE-bin steady-state rates in each window are merged
    (the case the blocks exist for; its toy fits are ~2.4× faster, docs/statistics.md §7)."""
    from cevns.fits.coverage import release_toy_channels

    model = PoissonModel(release_toy_channels(np.array([150.0]), "coherent-csi-2017", "n_cevns"))
    sizes = sorted(sc.nominals.shape[0] for fc in model._flat for sc in fc.shaped
                   if isinstance(sc, likelihood._ShapedBlock))
    assert sizes == [12, 12]
