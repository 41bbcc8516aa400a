"""The Newton iteration hands each channel's prediction N from the χ² of the accepted
line-search point to the next gradient and Hessian: they must equal those computed afresh,
bit for bit (expected values: the same functions without the handed-over N)."""

from __future__ import annotations

import math

import numpy as np

from cevns.stats import Channel, Component, PoissonModel


def _arrays(rng, n_points, n_bins=9):
    sig = rng.uniform(5.0, 50.0, (n_points, n_bins))
    bkg = rng.uniform(1.0, 20.0, n_bins)
    bkg2 = rng.uniform(0.5, 5.0, (n_points, n_bins))
    obs = rng.poisson(sig.mean(axis=0) + bkg + 2.0).astype(float)
    obs[0] = 0.0  # an empty bin: the masked χ² branch
    return sig, bkg, bkg2, obs


def _model(sig, bkg, bkg2, obs):
    a = Channel("a", obs, [Component("s", sig, nuisance="alpha", sigma=0.1),
                           Component("b", bkg, nuisance="beta_a", sigma=0.05),
                           Component("c", bkg2, nuisance="gamma", sigma=math.inf)])
    b = Channel("b", obs + 1.0, [Component("s", 0.5 * sig, nuisance="alpha", sigma=0.1),
                                 Component("b", bkg, nuisance="beta_b", sigma=0.02)])
    return PoissonModel([a, b])


def test_handed_over_prediction_gives_the_same_gradient_and_hessian():
    rng = np.random.default_rng(11)
    model = _model(*_arrays(rng, 40))
    group = model._all
    scale = model._origin + rng.uniform(-0.3, 0.3, (model.n_points, len(model.nuisances)))
    rows = np.arange(3, 30, 2)
    for idx, sc in ((None, scale), (rows, scale[rows])):
        c, mus = group.chi2_mu(idx, sc)
        assert np.array_equal(c, group.chi2(idx, sc))
        g0, h0 = group.grad_hess(idx, sc)
        g1, h1 = group.grad_hess(idx, sc, mus)
        assert np.array_equal(g0, g1) and np.array_equal(h0, h1)


def test_profile_of_each_point_alone_equals_the_grid():
    # each grid point alone against all at once: the handed-over N never mixes rows (the
    # tolerance allows for BLAS sums over another number of rows)
    sig, bkg, bkg2, obs = _arrays(np.random.default_rng(5), 12)
    res = _model(sig, bkg, bkg2, obs).profile()
    assert res.all_converged
    for k in (0, 5, 11):
        one = _model(sig[k:k + 1], bkg, bkg2[k:k + 1], obs).profile()
        assert abs(float(one.chi2[0]) - float(res.chi2[k])) <= 1e-9 * (1.0 + float(res.chi2[k]))
