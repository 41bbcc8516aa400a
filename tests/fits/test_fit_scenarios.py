"""Any registered scenario's parameter as a fit parameter (cevns.fits.scenario_signal)."""

from __future__ import annotations

import numpy as np
import pytest

from cevns.errors import ConfigError, UnknownNameError
from cevns.fits import fit_parameter, make_signal_model, sm_signal
from cevns.physics.dipole import DipoleBasis
from cevns.physics.units import MeV
from cevns.stats import level_value, profile_chi2


def test_dipole_moment_against_an_independent_brute_force_scan(models):
    """The 90 % C.L. limit on μ_νμ (m₄ = 0) of CsI-2021 from the fit against a direct scan.

    Independent path: the dipole term's binned counts straight from the physics basis
    (DipoleBasis → ReleaseModel.node_rates → fold), the signal SM + μ² × dipole by hand, the χ²
    profiled on a fine brute-force grid, the Δχ² = 2.71 crossing interpolated linearly.
    """
    model = models["coherent-csi-2021"]
    fit = fit_parameter(model, "dipole_moment")
    assert fit.name == "dipole.magnetic_moment"
    assert fit.signal_model.options["channel"] == "mu"  # the documented default
    dipole = model.fold(model.node_rates(DipoleBasis(0.0, "mu")).sum(axis=2))[0]
    sm = sm_signal(model)
    mu = np.linspace(0.0, 4e-9, 801)
    signal = sm[None, :] + (mu**2)[:, None] * dipole[None, :]
    chi2 = profile_chi2(model.channels(signal, signal_sigma=fit.signal_model.signal_sigma)).chi2
    delta = chi2 - chi2.min()
    best = mu[np.argmin(chi2)]
    above = np.flatnonzero((delta > level_value("90cl_1dof")) & (mu > best))[0]
    limit = np.interp(level_value("90cl_1dof"), delta[above - 1:above + 1], mu[above - 1:above + 1])
    assert fit.limit_90cl == pytest.approx(limit, rel=2e-3)
    assert fit.best == pytest.approx(best, abs=1e-11)
    # iminuit over μ and every nuisance at once finds the same minimum
    assert fit.minuit.valid and fit.minuit.best == pytest.approx(fit.best, rel=2e-3, abs=1e-12)
    assert fit.minuit.chi2_min == pytest.approx(fit.profile.chi2_min, abs=1e-4)


def test_scenario_names_give_the_classic_signals_exactly(models):
    """The registry path and the classic parameters are one signal (equal to 1e-12); their fits
    agree to the grid resolution (the scans start from different ranges)."""
    model = models["coherent-csi-2021"]
    pairs = [(("sm.sin2_theta_w", {}), ("sin2_theta_w", {}), [0.2, 0.23857, 0.3]),
             (("ngi.coupling", {"options": {"interaction": "vector"},
                                "fixed": {"mediator_mass_MeV": 10.0}}),
              ("ngi_vector_coupling", {}), [0.0, 3e-5, 1e-4]),
             (("sm.neutron_radius_fm", {"options": {"form_factor": "separate"}}),
              ("neutron_radius_fm", {}), [4.0, 5.0, 6.0])]
    for (new_name, kw), (old_name, _), values in pairs:
        new = make_signal_model(model, new_name, **kw)
        old = make_signal_model(model, old_name)
        np.testing.assert_allclose(new.signal(values), old.signal(values), rtol=1e-12)
        assert new.signal_sigma == pytest.approx(old.signal_sigma, rel=1e-12)
        a = fit_parameter(model, new_name, cross_check=False, **kw)
        b = fit_parameter(model, old_name, cross_check=False)
        assert (a.best, a.lower, a.upper) == pytest.approx((b.best, b.lower, b.upper), rel=1e-4)
        if b.limit_90cl is not None:
            assert a.limit_90cl == pytest.approx(b.limit_90cl, rel=1e-4)


def test_off_values_reproduce_the_sm_signal(models):
    """At their "off" values the BSM scenarios predict the SM signal (a consistency check of the
    per-flavour contraction, the tuple bases and the oscillation basis on a release)."""
    model = models["coherent-lar-2020"]
    sm = sm_signal(model)
    cases = [("nonunitarity.alpha11", {}, 1.0), ("sterile-oscillation.sin2_2theta",
                                                 {"fixed": {"delta_m2_eV2": 1.0}}, 0.0),
             ("dipole.magnetic_moment", {"fixed": {"sterile_mass_MeV": 5.0}}, 0.0),
             ("upscattering.coupling", {"options": {"interaction": "S"},
                                        "fixed": {"mediator_mass_MeV": 10.0,
                                                  "sterile_mass_MeV": 5.0}}, 0.0)]
    for name, kw, off in cases:
        signal = make_signal_model(model, name, **kw).signal([off])[0]
        np.testing.assert_allclose(signal, sm, rtol=1e-10, err_msg=name)


def test_sterile_mass_terms_use_the_kinks_of_m4(models):
    """The dipole term at m₄ = 20 MeV as fitted against a much finer recoil rule of the engine
    (order 16, panel ratio 1.05): equal to 2e-4. The engine puts panel edges at the kinks of m₄
    (cevns.rates.engine.kinematic_breakpoints), so the term has recoil nodes of its own."""
    from cevns.fits import ReleaseModel
    from cevns.rates.engine import kinematic_breakpoints

    model = models["coherent-csi-2021"]
    m4 = 20.0
    sm_model = make_signal_model(model, "dipole.magnetic_moment", fixed={"sterile_mass_MeV": m4})
    total = float((sm_model.signal([1e-9])[0] - sm_signal(model)).sum())
    fine = ReleaseModel(model.release, order=16, panel_ratio=1.05)
    basis = DipoleBasis(m4 * MeV, "mu")
    reference = 1e-18 * float(fine.signal_basis(basis).sum())
    assert total == pytest.approx(reference, rel=2e-4)
    nodes = model.spectra(basis).response.nodes
    kinks = kinematic_breakpoints(model.nuclei, m4 * MeV)
    kinks = kinks[(kinks > nodes[0]) & (kinks < nodes[-1])]
    assert kinks.size and not np.isin(nodes, model.nodes).all()
    with pytest.raises(ConfigError, match="other recoil nodes"):
        model.node_rates(basis)


def test_unitarity_limit_is_one_sided_below_one(models):
    fit = fit_parameter(models["coherent-csi-2021"], "alpha11", cross_check=False)
    assert fit.spec.limit_side == "lower"
    assert fit.best == pytest.approx(1.0)
    assert 0.5 < fit.limit_90cl < fit.lower < 1.0
    assert any("one-sided" in n for n in fit.notes)
    # Δχ² at the limit, profiled afresh (not read off the scan grid), is the 90 % C.L. level
    sm = fit.signal_model
    chi2 = profile_chi2(sm.model.channels(sm.signal([fit.limit_90cl, 1.0]),
                                          signal_sigma=sm.signal_sigma)).chi2
    assert chi2[0] - chi2[1] == pytest.approx(level_value("90cl_1dof"), abs=0.02)


@pytest.mark.parametrize(("name", "kwargs", "match"), [
    ("nope.x", {}, r"unknown scenario .*'nope'.*valid choices: .*dipole"),
    ("dipole.nope", {}, r"unknown parameter of scenario 'dipole' 'nope'.*magnetic_moment"),
    ("coupling", {}, r"unknown fit parameter 'coupling'.*dipole_moment.*ngi\.<parameter>"),
    ("ngi.coupling", {}, r"interaction"),
    ("dipole.magnetic_moment", {"fixed": {"magnetic_moment": 1e-9}}, r"cannot also be fixed"),
    ("dipole.magnetic_moment", {"fixed": {"m4": 1.0}}, r"'m4'.*sterile_mass_MeV"),
    ("dipole.magnetic_moment", {"options": {"channel": "tau"}}, r"channel"),
    ("sin2_theta_w", {"fixed": {"x": 1.0}}, r"scenario parameters"),
    ("ngi.mediator_mass_MeV", {"options": {"interaction": "vector"}}, r"--range"),
])
def test_bad_names_and_options_are_clear_errors(models, name, kwargs, match):
    with pytest.raises((ConfigError, UnknownNameError), match=match):
        make_signal_model(models["coherent-csi-2021"], name, **kwargs)


def test_capped_strengths_keep_their_starting_range_below_the_cap(models):
    """Couplings and magnetic moments got upper caps in audit 5 (#7: 4π and 1 μ_B). A fit does
    not start from the cap: the starting range is still 4× the value that moves the count by
    50 % (the same as without a cap: strength_scan_range with no upper bound), and the spec
    marks the cap (iminuit is not given it as a limit)."""
    from cevns.fits.scenario_signal import strength_scan_range
    from cevns.physics.constants import MAX_COUPLING, MAX_MAGNETIC_MOMENT_MUB

    model = models["coherent-csi-2021"]
    ngi = make_signal_model(model, "ngi.coupling", options={"interaction": "vector"})
    assert (ngi.spec.upper, ngi.spec.upper_is_cap) == (MAX_COUPLING, True)
    # without the cap the search ran on the same log grid up to 1e6; the physics now refuses
    # g > 4π, so the reference is the first coupling of that grid below 4π that moves the count
    # by 50 %, times 4 (the rule of strength_scan_range)
    trial = np.geomspace(1e-15, 1e6, 600)
    trial = trial[trial <= MAX_COUPLING]
    totals = ngi.signal(trial).sum(axis=1) / ngi.signal(np.array([0.0])).sum()
    first = trial[np.argmax(np.abs(totals - 1.0) >= 0.5)]
    assert ngi.initial_range == (0.0, 4.0 * first)
    assert ngi.initial_range == strength_scan_range(ngi.signal, 0.0, MAX_COUPLING, "ngi.coupling",
                                                    upper_is_cap=True)
    assert 0.0 == ngi.initial_range[0] < ngi.initial_range[1] < 1e-2
    dipole = make_signal_model(model, "dipole.magnetic_moment")
    assert (dipole.spec.upper, dipole.spec.upper_is_cap) == (MAX_MAGNETIC_MOMENT_MUB, True)
    assert 0.0 == dipole.initial_range[0] < dipole.initial_range[1] < 1e-7


@pytest.mark.parametrize(("name", "kwargs", "message"), [
    ("ngi.coupling", {"options": {"interaction": "vector"}, "scan_range": (0.0, 1e300)},
     r"ngi\.coupling: scan range \(--range\) 0,1e\+300 is outside the parameter's range: "
     r"parameter coupling: values must be ≤ 12\.5664, got 1e\+300"),
    ("dipole.magnetic_moment", {"scan_range": (0.0, 1e300)},
     r"dipole\.magnetic_moment: scan range \(--range\) 0,1e\+300 is outside the parameter's "
     r"range: parameter magnetic_moment: values must be ≤ 1 μ_B, got 1e\+300"),
    ("ngi.mediator_mass_MeV", {"options": {"interaction": "vector"}, "scan_range": (1.0, 100.0),
                               "fixed": {"coupling": 1e300}},
     r"fixed value coupling = 1e\+300: parameter coupling: values must be ≤ 12\.5664"),
])
def test_a_range_or_fixed_value_above_the_cap_is_refused_before_the_data_are_read(
        tmp_path, name, kwargs, message):
    """Audit 5 #10: ``--range 0,1e300`` printed a numpy overflow RuntimeWarning and "expected must
    be finite" after the output folder was claimed. Now: a ConfigError naming the range (or
    the fixed value) and the cap, before anything is read (the data folder is empty)."""
    import warnings

    from cevns.fits import fit_release

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ConfigError, match=message):
            fit_release("coherent-csi-2021", [name], data_dir=tmp_path, **kwargs)
