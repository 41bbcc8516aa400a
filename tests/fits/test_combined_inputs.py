"""Arguments of the combined COHERENT grid (cevns.fits.combined.combined_chi2 / combined_grid /
grid_parts): ties applied on every kind of grid, and every bad argument a ConfigError that names
it (bad-input audit 8)."""

from __future__ import annotations

import numpy as np
import pytest

from cevns.errors import ConfigError
from cevns.fits.combined import combined_chi2, combined_grid

MASSES = np.array([5.0, 300.0])
COUPLINGS = np.geomspace(1e-5, 1e-3, 3)
VECTOR = {"interaction": "vector"}


def test_a_strength_tied_to_the_coupling_on_a_mass_grid_is_applied():
    """ngi with sin²θ_W tied to the coupling (300 g) on a mass × coupling grid: each column equals
    the grid computed with sin²θ_W *fixed* at 300 g for that coupling alone (the fixed-value path,
    10⁻⁶), and differs from the grid without the tie (the audit found the tie dropped: the two
    were identical)."""
    ties = {"sin2_theta_w": ("coupling", 300.0)}
    off, tied = combined_chi2("ngi", "mediator_mass_MeV", MASSES, "coupling", COUPLINGS,
                              options=VECTOR, ties=ties)
    _, untied = combined_chi2("ngi", "mediator_mass_MeV", MASSES, "coupling", COUPLINGS,
                              options=VECTOR)
    assert np.max(np.abs(tied - untied)) > 1.0
    for j, g in enumerate(COUPLINGS):
        _, fixed = combined_chi2("ngi", "mediator_mass_MeV", MASSES, "coupling", np.array([g]),
                                 options=VECTOR, fixed={"sin2_theta_w": 300.0 * g})
        np.testing.assert_allclose(tied[:, j], fixed[:, 0], rtol=0, atol=1e-6)
    # the same points as pairs
    _, pairs = combined_chi2("ngi", "mediator_mass_MeV", np.repeat(MASSES, 3), "coupling",
                             np.tile(COUPLINGS, 2), pairs=True, options=VECTOR, ties=ties)
    np.testing.assert_allclose(pairs, tied.ravel(), rtol=0, atol=1e-6)


def test_a_strength_tied_to_the_mass_axis_varies_along_it():
    """A strength tied to the shape axis (sin²θ_W = 10⁻³ × m_X / MeV) takes each column's own
    value: column i equals the grid with sin²θ_W fixed at 10⁻³ m_i."""
    ties = {"sin2_theta_w": ("mediator_mass_MeV", 1e-3)}
    _, tied = combined_chi2("ngi", "mediator_mass_MeV", MASSES, "coupling", COUPLINGS,
                            options=VECTOR, ties=ties)
    for i, m in enumerate(MASSES):
        _, fixed = combined_chi2("ngi", "mediator_mass_MeV", np.array([m]), "coupling", COUPLINGS,
                                 options=VECTOR, fixed={"sin2_theta_w": 1e-3 * m})
        np.testing.assert_allclose(tied[i], fixed[0], rtol=0, atol=1e-6)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"ties": {"sin2_theta_w": ("coupling", 300.0)}, "fixed": {"sin2_theta_w": 0.2}},
     r"ties.sin2_theta_w: 'sin2_theta_w' is also fixed \(0.2\); a parameter is either fixed or "
     "tied"),
    ({"ties": {"sin2_theta_w": ("coupling", 1e4)}},
     r"ties.sin2_theta_w = 10000 × coupling: parameter sin2_theta_w: values must be ≤ 1"),
    ({"ties": {"sin2_theta_w": ("coupling", 0.0)}}, r"ratio = 0.0; expected a finite number ≠ 0"),
    ({"ties": {"sin2_theta_w": ("coupling", float("nan"))}}, "expected a finite number"),
    ({"ties": {"sin2_theta_w": 0.5}}, r"ties.sin2_theta_w must be \(scanned parameter, ratio\)"),
    ({"ties": {"sin2_theta_w": "coupling"}}, r"must be \(scanned parameter, ratio\)"),
    ({"ties": {"coupling": ("mediator_mass_MeV", 1.0)}}, "'coupling' is scanned; it cannot also"),
    ({"ties": {"sin2_theta_w": ("g", 1.0)}}, "'g' is not a scanned parameter"),
    ({"ties": [("sin2_theta_w", "coupling")]}, "ties must be a mapping"),
    ({"options": ["interaction"]}, "options must be a mapping"),
    ({"fixed": [1]}, "fixed must be a mapping"),
    ({"level": "x"}, "level = 'x'; expected a finite Δχ² above 0"),
    ({"level": 0.0}, "level = 0.0"),
    ({"level": True}, "level = True"),
])
def test_bad_keyword_arguments_are_named(kwargs, match):
    call = {"options": VECTOR, **kwargs}
    with pytest.raises(ConfigError, match=match):
        combined_chi2("ngi", "mediator_mass_MeV", MASSES, "coupling", COUPLINGS, **call)


@pytest.mark.parametrize(("x", "y", "match"), [
    (np.array([]), COUPLINGS, r"mediator_mass_MeV: values must be a non-empty 1-D array"),
    (MASSES, np.array([]), r"coupling: values must be a non-empty 1-D array"),
    (10.0, COUPLINGS, r"got shape \(\)"),
    (np.ones((2, 2)) * 10, COUPLINGS, r"got shape \(2, 2\)"),
    ("abc", COUPLINGS, "values must be real numbers, got 'abc'"),
    (["a", "b"], COUPLINGS, "values must be numbers"),
    (MASSES.astype(complex), COUPLINGS, "values must be real numbers"),
])
def test_bad_axes_are_named(x, y, match):
    with pytest.raises(ConfigError, match=match):
        combined_chi2("ngi", "mediator_mass_MeV", x, "coupling", y, options=VECTOR)


def test_the_same_parameter_on_both_axes_and_shape_ties_on_strength_grids_are_refused():
    """A grid of coupling × coupling had ignored its x values (every row equal); a shape
    parameter tied to a strength axis had been dropped."""
    with pytest.raises(ConfigError, match="'coupling' is both scanned parameters"):
        combined_grid("ngi", "coupling", COUPLINGS, "coupling", COUPLINGS, options=VECTOR,
                      fixed={"mediator_mass_MeV": 10.0})
    with pytest.raises(ConfigError, match="a tied shape parameter must follow the shape "
                                          r"parameter of the grid \(ties.mediator_mass_MeV\)"):
        combined_grid("ngi", "coupling", COUPLINGS, "sin2_theta_w", np.array([0.2, 0.3]),
                      options=VECTOR, ties={"mediator_mass_MeV": ("coupling", 1e5)})


@pytest.mark.parametrize(("parameter", "kwargs", "match"), [
    ("sin2_theta_w", {"mediator_mass_MeV": 5.0},
     r"fit_combined: mediator_mass_MeV=5.0 is used only by ngi_scalar_coupling.*not by "
     r"sin2_theta_w: it would change nothing"),
    ("ngi_scalar_coupling", {"vector_charge": "universal"},
     r"vector_charge='universal' is used only by ngi_vector_coupling"),
    ("ngi.coupling", {"vector_charge": "universal", "options": {"interaction": "vector"}},
     r"a scenario parameter takes it as options=\{'vector_charge': 'universal'\}"),
])
def test_fit_combined_refuses_ngi_settings_its_parameter_does_not_take(parameter, kwargs, match):
    """As fit_release does (audit 8): the combined fit of sin²θ_W with a mediator mass, or of
    ngi.coupling with the legacy vector_charge, used to run and ignore the value."""
    from cevns.fits.combined import fit_combined

    with pytest.raises(ConfigError, match=match):
        fit_combined(parameter, **kwargs)


def test_a_grid_that_constrains_nothing_says_so():
    """Up-scattering with the sterile lepton fixed at 60 MeV, beyond what any release's π-DAR
    neutrinos can produce (52.8 MeV for ¹³³Cs), with beyond_reach = "no-signal": every point is
    the SM, Δχ² = 0 everywhere — mathematically right, and now said (audit 8: it was silent)."""
    from cevns.errors import CevnsWarning

    with pytest.warns(CevnsWarning, match="no point of the grid changes the prediction"):
        delta = combined_grid("upscattering", "mediator_mass_MeV", MASSES, "coupling", COUPLINGS,
                              options={"interaction": "S", "beyond_reach": "no-signal"},
                              fixed={"sterile_mass_MeV": 60.0})
    assert np.all(delta == 0.0)
