"""Neutrino timing: the analytic SNS model against the releases' own timing information."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import minimize, minimize_scalar

from cevns.datasets.coherent import SNSTimingModel
from cevns.datasets.coherent.timing import ExponentialTimeEfficiency
from cevns.errors import ConfigError, UnknownNameError


def test_cdfs_are_distributions():
    model = SNSTimingModel(0.44, 0.15)
    t = np.linspace(-3, 40, 2001)
    for cdf in (model.prompt_cdf(t), model.delayed_cdf(t)):
        assert np.all(np.diff(cdf) >= -1e-12)
        assert cdf[0] == pytest.approx(0.0, abs=1e-9)
        assert cdf[-1] == pytest.approx(1.0, abs=1e-6)
    # Means: pulse + τ_π (prompt) and pulse + τ_π + τ_μ (delayed), PDG lifetimes.
    dens_p, dens_d = np.diff(model.prompt_cdf(t)), np.diff(model.delayed_cdf(t))
    mid = 0.5 * (t[1:] + t[:-1])
    assert (mid * dens_p).sum() == pytest.approx(0.44 + 0.026033, abs=1e-3)
    assert (mid * dens_d).sum() == pytest.approx(0.44 + 0.026033 + 2.1969811, abs=2e-3)
    with pytest.raises(ConfigError):
        SNSTimingModel(0.44, 0.0)


def test_model_reproduces_csi2017_pdfs(releases):
    """With a fitted pulse (0.692 µs, 0.142 µs) the model matches the released PDFs."""
    rel = releases["coherent-csi-2017"]
    edges = rel.timing.axis.edges
    prompt_pdf = rel.arrival_time_pdfs["prompt_neutrinos"]
    delayed_pdf = rel.arrival_time_pdfs["delayed_neutrinos"]

    def loss(p):
        prompt, delayed = SNSTimingModel(p[0], abs(p[1])).fractions(edges)
        return np.sum((prompt - prompt_pdf) ** 2) + np.sum((delayed - delayed_pdf) ** 2)

    fit = minimize(loss, [0.7, 0.15], method="Nelder-Mead")
    assert fit.x[0] == pytest.approx(0.692, abs=0.01)
    assert abs(fit.x[1]) == pytest.approx(0.142, abs=0.01)
    prompt, delayed = SNSTimingModel(fit.x[0], abs(fit.x[1])).fractions(edges)
    np.testing.assert_allclose(prompt, prompt_pdf, atol=2e-3)
    np.testing.assert_allclose(delayed, delayed_pdf, atol=2e-3)


def test_csi2021_pulse_consistent_with_nin_timing(releases):
    """The NIN time PDF follows the μ-decay ν: its fitted pulse mean lies in 440 ± 200 ns."""
    rel = releases["coherent-csi-2021"]
    nin = rel.timing_pdfs["nin"]
    edges = nin.axes[0].edges
    target = nin.counts / nin.counts.sum()

    def loss(p):
        _, delayed = SNSTimingModel(p[0], abs(p[1])).fractions(edges)
        return np.sum((delayed / delayed.sum() - target) ** 2)

    fit = minimize(loss, [0.5, 0.15], method="Nelder-Mead")
    mean = rel.parameters["pot_mean"]
    assert abs(fit.x[0] - mean.value) < mean.uncertainty
    assert abs(fit.x[1]) == pytest.approx(rel.parameters["pot_sigma"].value, abs=0.02)
    assert fit.fun < 1e-6


def test_lar2020_model_matches_cevns_time_projection(releases):
    """YAML pulse (440 ns, 150 ns) ⊗ π, μ decay reproduces the CEvNS PDF's time projection."""
    rel = releases["coherent-lar-2020"]
    target = rel.cevns_templates["nominal"].project("time")
    target = target / target.sum()
    prompt, delayed = rel.timing.prompt, rel.timing.delayed

    def mixture(w):
        m = w * prompt + (1 - w) * delayed
        return m / m.sum()

    w = minimize_scalar(lambda w: np.sum((mixture(w) - target) ** 2), bounds=(0, 1),
                        method="bounded").x
    np.testing.assert_allclose(mixture(w), target, atol=0.01)


def test_csi2021_timing_includes_time_efficiency(releases):
    rel = releases["coherent-csi-2021"]
    raw_prompt, raw_delayed = rel.timing_model.fractions(rel.timing.axis.edges)
    assert np.all(rel.timing.prompt <= raw_prompt + 1e-12)
    assert np.all(rel.timing.delayed <= raw_delayed + 1e-12)
    # Before the 0.52-µs onset the efficiency is 1.
    np.testing.assert_allclose(rel.timing.prompt[0], raw_prompt[0], rtol=1e-9)
    # Late bins lose exp(-0.0494 (t - 0.52)).
    # Late bins lose exp(-0.0494 (t - 0.52)), averaged over the last bin (4–6 µs) with the
    # delayed arrival density ∝ exp(-t/2.197 µs).
    t = np.linspace(4.0, 6.0, 20001)
    dens = np.exp(-t / 2.1969811)
    expected = np.sum(dens * np.exp(-0.0494 * (t - 0.52))) / np.sum(dens)
    late = rel.timing.delayed[-1] / raw_delayed[-1]
    assert late == pytest.approx(expected, rel=2e-3)


def test_time_efficiency_bin_average():
    eff = ExponentialTimeEfficiency(onset=0.52, rate=0.0494)
    edges = np.array([0.0, 0.5, 1.0, 3.0, 6.0])
    fine = np.linspace(0, 6, 600001)
    values = eff(0.5 * (fine[1:] + fine[:-1]))
    expected = [values[(fine[:-1] >= lo) & (fine[:-1] < hi)].mean()
                for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    np.testing.assert_allclose(eff.bin_average(edges), expected, rtol=1e-5)


def test_flavour_lookup(releases):
    timing = releases["coherent-csi-2017"].timing
    np.testing.assert_array_equal(timing.fractions("numu"), timing.prompt)
    np.testing.assert_array_equal(timing.fractions("nue"), timing.delayed)
    np.testing.assert_array_equal(timing.fractions("numubar"), timing.delayed)
    with pytest.raises(UnknownNameError, match="nue"):
        timing.fractions("nu_tau")


def test_deprecated_release_flavour_names_still_work(releases):
    """The old release names map to the engine's, with a DeprecationWarning naming the new one."""
    timing = releases["coherent-csi-2017"].timing
    for old, new in (("nu_mu", "numu"), ("nu_e", "nue"), ("nu_mu_bar", "numubar")):
        with pytest.warns(DeprecationWarning, match=new):
            np.testing.assert_array_equal(timing.fractions(old), timing.fractions(new))


def test_csi2021_timing_pdfs_exclude_time_efficiency(releases):
    """The NIN timing PDF decays with the muon lifetime alone: ε(t) is not folded into it."""
    nin = releases["coherent-csi-2021"].timing_pdfs["nin"]
    t, w = nin.axes[0].centers, nin.counts
    late = (t > 2.0) & (t < 6.0)
    slope = -np.polyfit(t[late], np.log(w[late]), 1)[0]
    assert slope == pytest.approx(1.0 / 2.1969811, rel=2e-3)  # PDG τ_μ
    assert abs(slope - (1.0 / 2.1969811 + 0.0494)) > 0.04  # with the efficiency it would be this


# -- ExponentialTimeEfficiency: closed-form bin average against quad, the rate-0 limit (once 0/0
# = NaN), invalid parameters refused

EDGES = np.array([0.0, 0.25, 0.52, 0.6, 1.0, 2.0, 4.0, 6.0])


@pytest.mark.parametrize("rate", [0.0494, 1.0, 1e-9])
def test_bin_average_matches_quadrature(rate):
    eff = ExponentialTimeEfficiency(0.52, rate)
    expected = [quad(lambda t: float(eff(t)), lo, hi, points=[0.52] if lo < 0.52 < hi else None)[0]
                / (hi - lo) for lo, hi in zip(EDGES[:-1], EDGES[1:], strict=True)]
    np.testing.assert_allclose(eff.bin_average(EDGES), expected, rtol=1e-12)


def test_rate_zero_is_an_efficiency_of_one():
    eff = ExponentialTimeEfficiency(0.52, 0.0)
    np.testing.assert_array_equal(eff.bin_average(EDGES), np.ones(EDGES.size - 1))
    np.testing.assert_array_equal(eff(EDGES), np.ones(EDGES.size))


@pytest.mark.parametrize(("onset", "rate", "words"), [
    (0.52, -0.1, "rate must be finite and ≥ 0"),
    (0.52, math.nan, "rate must be finite"),
    (math.inf, 0.05, "onset must be finite"),
    ("soon", 0.05, "onset must be a number"),
])
def test_invalid_parameters_are_refused(onset, rate, words):
    with pytest.raises(ConfigError, match=words):
        ExponentialTimeEfficiency(onset, rate)
