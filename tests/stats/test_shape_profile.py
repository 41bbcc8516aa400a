"""Shape nuisances in the batched profiler (Component(shapes=..., shape_code=...)).

References: iminuit MIGRAD minimising the same χ² (PoissonModel.minuit, an independent minimiser
that uses no derivatives of ours), central finite differences of χ² for the analytic gradient and
Hessian, and the interpolation formulas of cevns.stats.shapes (themselves checked against pyhf in
test_shapes.py) for the prediction.
"""

from __future__ import annotations

import numpy as np
import pytest

from cevns.errors import ConfigError
from cevns.stats import FREE, Channel, Component, PoissonModel
from cevns.stats.shapes import ShapeSystematics, ShapeVariation

B = 12


def _templates(rng, nominal, n_shapes, size=0.15):
    out = {}
    for k in range(n_shapes):
        tilt = size * np.cos((k + 1) * np.linspace(0.0, 3.0, nominal.shape[-1]))
        out[f"shape{k}"] = (nominal * (1.0 - tilt * rng.uniform(0.7, 1.0)),
                            nominal * (1.0 + tilt * rng.uniform(0.8, 1.2)))
    return out


def _model(code="polyexp", grid=None, seed=0, shared=True, conserve=False):
    """Two channels; the signal scaled over ``grid``; shapes shared between channels, with norms."""
    rng = np.random.default_rng(seed)
    sig, bkg = rng.uniform(5, 30, B), rng.uniform(10, 40, B)
    scale = np.ones(1) if grid is None else np.asarray(grid)[:, None]
    shapes = _templates(rng, sig, 3)
    sig_shapes = {k: (scale * d, scale * u) for k, (d, u) in shapes.items()}
    bkg_shapes = {"bshape": (bkg * 0.9, bkg * 1.12)}
    if shared:
        bkg_shapes["shape0"] = (bkg * 0.97, bkg * 1.04)
    obs_a = rng.poisson(1.1 * sig + bkg).astype(float)
    obs_b = rng.poisson(2.0 * bkg).astype(float)
    a = Channel("A", obs_a, [
        Component("signal", scale * sig, nuisance="signal_norm", sigma=0.1, shapes=sig_shapes,
                  shape_code=code, conserve_total=conserve),
        Component("bkg", bkg, nuisance="bkg_norm", sigma=FREE, shapes=bkg_shapes, shape_code=code,
                  conserve_total=("bshape",) if conserve else False),
    ])
    b_shapes = {"shape0": (2 * bkg * 0.95, 2 * bkg * 1.06)} if shared else {}
    b = Channel("B", obs_b, [Component("bkg", 2.0 * bkg, nuisance="bkg_norm", shapes=b_shapes,
                                       shape_code=code)])
    return PoissonModel([a, b])


def test_prediction_is_interpolated_template_times_norm():
    """χ² at given (θ, α) equals the Poisson deviance of interp(nom; α)·(1 + θ) from shapes.py."""
    rng = np.random.default_rng(5)
    nom, obs = rng.uniform(5, 20, B), rng.poisson(12, B).astype(float)
    shapes = _templates(rng, nom, 2)
    ch = Channel("A", obs, [Component("s", nom, nuisance="n", sigma=0.2, shapes=shapes,
                                      shape_code="polyexp")])
    model = PoissonModel(ch)
    values = {"n": 0.13, "shape0": -0.6, "shape1": 1.7}
    ref = ShapeSystematics(nom, tuple(ShapeVariation(k, u, d, "polyexp")
                                      for k, (d, u) in shapes.items()))
    mu = ref.evaluate(np.array([values["shape0"], values["shape1"]]), derivatives=False) * 1.13
    dev = 2 * np.sum(mu - obs + np.where(obs > 0, obs * np.log(obs / mu), 0.0))
    expected = dev + (0.13 / 0.2) ** 2 + 0.6 ** 2 + 1.7 ** 2
    assert model.chi2(values) == pytest.approx(expected, rel=1e-13)
    assert model.shape_nuisances == ("shape0", "shape1")
    assert model.sigmas["shape0"] == 1.0


@pytest.mark.parametrize("conserve", [False, True])
@pytest.mark.parametrize("code", ["polyexp", "exponential", "polynomial", "linear"])
def test_gradient_and_hessian_match_finite_differences(code, conserve):
    model = _model(code, grid=[0.8, 1.0, 1.3], conserve=conserve)
    rng = np.random.default_rng(11)
    point = {p: rng.uniform(-0.8, 0.8, 3) for p in model.nuisances}
    for p in model.shape_nuisances:  # stay away from the kink at α = 0 of codes 0 and 1
        point[p] = np.where(np.abs(point[p]) < 0.1, 0.3, point[p])
    grad, hess = model.gradient(point), model.hessian(point)
    h = 1e-5
    for j, p in enumerate(model.nuisances):
        up = dict(point, **{p: point[p] + h})
        dn = dict(point, **{p: point[p] - h})
        fd_grad = (model.chi2(up) - model.chi2(dn)) / (2 * h)
        np.testing.assert_allclose(grad[:, j], fd_grad, rtol=1e-6, atol=1e-6)
        fd_hess = (model.gradient(up) - model.gradient(dn)) / (2 * h)
        np.testing.assert_allclose(hess[:, j], fd_hess, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(hess, np.swapaxes(hess, 1, 2), rtol=1e-12)


@pytest.mark.parametrize(("code", "conserve"),
                         [("polyexp", False), ("polynomial", False), ("polyexp", True)])
def test_profile_matches_migrad_on_a_grid(code, conserve):
    """Shared shape nuisances across channels, with normalisation nuisances (one pulled, one free),
    on a grid of signal scales: the profiled χ² agrees with MIGRAD's minimum to 1e-4."""
    grid = np.linspace(0.5, 1.6, 6)
    model = _model(code, grid=grid, conserve=conserve)
    result = model.profile(raise_on_failure=True)
    for i in range(grid.size):
        m = model.minuit(i)
        m.migrad()
        assert m.valid
        assert result.chi2[i] == pytest.approx(m.fval, abs=1e-4)
        assert result.chi2[i] <= m.fval + 1e-6  # Newton converges to the minimum, not above it
        fitted = np.array([result.nuisances[p][i] for p in model.nuisances])
        np.testing.assert_allclose(fitted, np.asarray(m.values), atol=2e-3)


def test_shape_and_norm_on_the_same_component_vs_migrad_without_grid():
    model = _model("polyexp", shared=False, seed=3)
    result = model.profile(raise_on_failure=True)
    m = model.minuit()
    m.migrad()
    assert float(result.chi2) == pytest.approx(m.fval, abs=1e-4)


def test_twenty_shape_nuisances_two_hundred_bins_vs_migrad():
    rng = np.random.default_rng(4)
    n_bins = 200
    sig, bkg = rng.uniform(5, 30, n_bins), rng.uniform(10, 40, n_bins)
    shapes = _templates(rng, sig, 20, size=0.05)
    obs = rng.poisson(sig + bkg).astype(float)
    grid = np.array([0.8, 1.0, 1.2])[:, None]
    ch = Channel("A", obs, [
        Component("sig", grid * sig, shapes={k: (grid * d, grid * u) for k, (d, u) in shapes.items()}),
        Component("bkg", bkg, nuisance="b", sigma=0.05)])
    model = PoissonModel(ch)
    result = model.profile(raise_on_failure=True)
    assert len(model.nuisances) == 21
    m = model.minuit(1)
    m.migrad()
    assert float(result.chi2[1]) == pytest.approx(m.fval, abs=1e-4)


def test_grid_varying_templates_broadcast():
    """Templates with the grid axis and nominal without it (and vice versa) give the same χ² as
    building each grid point separately."""
    rng = np.random.default_rng(8)
    nom, obs = rng.uniform(5, 20, B), rng.poisson(12, B).astype(float)
    widths = np.array([0.05, 0.1, 0.2])[:, None]
    ch = Channel("A", obs, [Component("s", nom, shapes={"w": (nom * (1 - widths), nom * (1 + widths))})])
    res = PoissonModel(ch).profile(raise_on_failure=True)
    assert res.chi2.shape == (3,)
    for i, w in enumerate(widths[:, 0]):
        single = Channel("A", obs, [Component("s", nom, shapes={"w": (nom * (1 - w), nom * (1 + w))})])
        one = PoissonModel(single).profile(raise_on_failure=True)
        assert float(one.chi2) == pytest.approx(res.chi2[i], rel=1e-10)
        assert float(one.nuisances["w"]) == pytest.approx(res.nuisances["w"][i], abs=1e-6)


def test_linear_code_is_bounded_by_non_negative_counts():
    """A linear (code 0) template whose down variant is empty: α < −1 would make counts negative;
    the χ² there is inf and the profiler stays inside (counts ≥ 0), as does MIGRAD."""
    nom = np.array([10.0, 10.0])
    ch = Channel("A", [0.0, 0.0], [Component("s", nom, shapes={"a": (nom * 0.0, nom * 1.5)},
                                             shape_code="linear")])
    model = PoissonModel(ch)
    assert model.chi2({"a": -1.2}) == np.inf
    res = model.profile(warn=False)
    assert float(res.nuisances["a"]) >= -1.0 - 1e-12
    # minimum of 20(1 + α) + α² on α ≥ −1 is at the bound, χ² = 1
    assert float(res.chi2) == pytest.approx(1.0, abs=1e-3)


def test_models_without_shapes_are_unchanged():
    """No shape nuisances: the profile is the old linear one (origin 1, bound θ ≥ −1)."""
    model = _model("polyexp")
    plain = PoissonModel([Channel(ch.name, ch.observed,
                                  [Component(c.name, c.expected, c.nuisance, c.sigma)
                                   for c in ch.components]) for ch in model.channels])
    assert plain.shape_nuisances == ()
    res = plain.profile(raise_on_failure=True)
    m = plain.minuit()
    m.migrad()
    assert float(res.chi2) == pytest.approx(m.fval, abs=1e-4)


def test_errors_name_the_problem():
    nom = np.ones(3)
    with pytest.raises(ConfigError, match="shape_code"):
        Component("s", nom, shapes={"a": (nom, nom)}, shape_code="cubic")
    with pytest.raises(ConfigError, match="pair"):
        Component("s", nom, shapes={"a": nom})
    with pytest.raises(ConfigError, match="bins"):
        Component("s", nom, shapes={"a": (np.ones(4), np.ones(4))})
    with pytest.raises(ConfigError, match="both"):
        Component("s", nom, nuisance="a", sigma=0.1, shapes={"a": (nom, nom)})
    with pytest.raises(ConfigError, match="≥ 0"):
        Component("s", nom, shapes={"a": (-nom, nom)})
    ch = Channel("A", nom, [Component("s", nom, shapes={"a": (0.5 * nom, 2 * nom)})])
    with pytest.raises(ConfigError, match="shape nuisance"):
        PoissonModel(ch, sigmas={"a": 0.5})
    both = [Channel("A", nom, [Component("s", nom, shapes={"a": (0.5 * nom, 2 * nom)})]),
            Channel("B", nom, [Component("s", nom, nuisance="a", sigma=0.1)])]
    with pytest.raises(ConfigError, match="both"):
        PoissonModel(both)
    with pytest.raises(ConfigError, match="> 0"):
        PoissonModel(Channel("A", nom, [Component("s", nom, shapes={"a": (0 * nom, 2 * nom)})]))
    with pytest.raises(ConfigError, match="polyexp"):  # extreme ratios: code 4 polynomial ≤ 0
        PoissonModel(Channel("A", nom, [Component("s", nom, shapes={"a": (1e-6 * nom, 50 * nom)})]))


def test_free_per_bin_rates_profile_robustly():
    """One free rate per bin (σ = None) for a steady-state background measured in a control
    channel ~ 3× longer, as the CsI fits do: 20 free nuisances plus a signal norm; the profile
    agrees with MIGRAD and with the closed form of an unconstrained signal-free control fit."""
    rng = np.random.default_rng(2)
    n_bins = 20
    ss = rng.uniform(2.0, 40.0, n_bins)
    ss[3] = 0.3  # a nearly empty bin
    sig = rng.uniform(1.0, 20.0, n_bins)
    grid = np.linspace(0.0, 2.0, 21)[:, None]
    on = rng.poisson(sig + ss).astype(float)
    off = rng.poisson(3.0 * ss).astype(float)
    off[3] = 0.0  # no control counts at all in one bin
    comps_on = [Component("sig", grid * sig, nuisance="signal_norm", sigma=0.1)]
    comps_off = []
    for i in range(n_bins):
        e = np.zeros(n_bins)
        e[i] = ss[i]
        comps_on.append(Component(f"ss{i}", e, nuisance=f"rate{i}", sigma=FREE))
        comps_off.append(Component(f"ss{i}", 3.0 * e, nuisance=f"rate{i}", sigma=FREE))
    model = PoissonModel([Channel("on", on, comps_on), Channel("off", off, comps_off)])
    assert sum(np.isinf(s) for s in model.sigmas.values()) == n_bins
    res = model.profile(raise_on_failure=True)
    assert int(res.n_iter.max()) < 50
    for i in (0, 10, 20):
        m = model.minuit(i)
        m.migrad()
        assert float(res.chi2[i]) == pytest.approx(m.fval, abs=1e-4)
    # At zero signal each bin's rate r fits on+off jointly: N_on = r ss, N_off = 3 r ss, so the
    # MLE of the total rate is (on + off)/(4 ss) (closed form for two Poisson counts).
    rate0 = np.array([res.nuisances[f"rate{i}"][0] for i in range(n_bins)]) + 1.0
    np.testing.assert_allclose(rate0, (on + off) / (4.0 * ss), rtol=1e-6, atol=1e-9)


def test_a_warm_start_finds_the_same_minimum_in_fewer_steps():
    """profile(start=...) from a nearby point (the minimum of a neighbouring problem, here the
    cold solution perturbed) reaches the cold profile's χ² (reference: the profile from θ = 0,
    itself checked against iminuit above) to 1e-9 in fewer Newton iterations; a start whose χ² is
    above the one at θ = 0 is not used."""
    model = _model(grid=np.linspace(0.5, 3.0, 9))
    cold = model.profile()
    assert cold.all_converged
    near = {k: v * 1.02 + 0.01 for k, v in cold.nuisances.items()}
    warm = model.profile(start=near)
    assert warm.all_converged
    np.testing.assert_allclose(warm.chi2, cold.chi2, rtol=0, atol=1e-9)
    assert warm.n_iter.sum() < cold.n_iter.sum()
    far = {k: np.full(9, 40.0) for k in model.shape_nuisances}
    assert np.all(model.chi2(far) > model.chi2())
    ignored = model.profile(start=far)
    np.testing.assert_array_equal(ignored.n_iter, cold.n_iter)
    np.testing.assert_allclose(ignored.chi2, cold.chi2, rtol=0, atol=1e-12)


def test_conserve_total_prediction_matches_shapes_and_keeps_the_total():
    """Component(conserve_total=...) in the profiler: the prediction equals ShapeSystematics with
    the same shape-only variations (per grid row), so each row's total stays that of its
    nominal whatever one shape-only α is (two such nuisances conserve it exactly only when their
    ratios factorise); a subset of names makes only those shape-only."""
    rng = np.random.default_rng(5)
    grid = np.array([0.7, 1.0, 1.9])
    nom, obs = rng.uniform(5, 20, B), rng.poisson(12, B).astype(float)
    shapes = _templates(rng, nom, 2)
    for conserve, flags in ((True, (True, True)), (("shape1",), (False, True))):
        comp = Component("s", grid[:, None] * nom, shapes={
            k: (grid[:, None] * d, grid[:, None] * u) for k, (d, u) in shapes.items()},
            shape_code="polyexp", conserve_total=conserve)
        model = PoissonModel(Channel("A", obs, [comp]))
        values = {"shape0": np.array([-0.6, 0.3, 2.2]), "shape1": np.array([1.7, -1.4, 0.5])}
        mu = model.expected(values)["A"]
        for i, g in enumerate(grid):
            ref = ShapeSystematics(g * nom, tuple(
                ShapeVariation(k, g * u, g * d, "polyexp", conserve_total=f)
                for (k, (d, u)), f in zip(shapes.items(), flags, strict=True)))
            want = ref.evaluate(np.array([values["shape0"][i], values["shape1"][i]]), False)
            one = ref.evaluate(np.array([0.0, values["shape1"][i]]), False)
            assert one.sum() == pytest.approx(g * nom.sum(), rel=1e-12)
            dev = 2 * np.sum(want - obs + np.where(obs > 0, obs * np.log(obs / want), 0.0))
            expected = dev + values["shape0"][i] ** 2 + values["shape1"][i] ** 2
            point = {k: v[i] for k, v in values.items()}
            sub = PoissonModel(Channel("A", obs, [Component(
                "s", g * nom, shapes={k: (g * d, g * u) for k, (d, u) in shapes.items()},
                shape_code="polyexp", conserve_total=conserve)]))
            assert float(sub.chi2(point)) == pytest.approx(expected, rel=1e-12)
            np.testing.assert_allclose(mu[i], want, rtol=1e-12)
        assert float(model.chi2(values)[2]) == pytest.approx(float(sub.chi2(
            {k: v[2] for k, v in values.items()})), rel=1e-12)


def test_conserve_total_errors():
    nom = np.ones(B)
    with pytest.raises(ConfigError, match="not among its shape nuisances"):
        Component("s", nom, shapes={"a": (0.9 * nom, 1.1 * nom)}, conserve_total=("b",))
    with pytest.raises(ConfigError, match="conserve_total must be True, False or a collection"):
        Component("s", nom, shapes={"a": (0.9 * nom, 1.1 * nom)}, conserve_total="a")
    # a 0-d array (np.array(True) too) raised a bare "TypeError: iteration over a 0-d array"
    # from frozenset(); now the ConfigError above, as ShapeVariation refuses np.array(True)
    for flag in (np.array(True), np.array(1.0)):
        with pytest.raises(ConfigError, match=r"conserve_total must be True, False or a "
                                              r"collection of shape-nuisance names, got array\("):
            Component("s", nom, shapes={"a": (0.9 * nom, 1.1 * nom)}, conserve_total=flag)
    comp = Component("s", nom, shapes={"a": (0.9 * nom, 1.1 * nom)}, conserve_total=True)
    assert comp.conserve_total == frozenset({"a"})
    assert "conserve_total=['a']" in repr(comp)
