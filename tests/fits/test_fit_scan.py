"""The adaptive scan grid of the 1-D fits (cevns.fits.fit.adaptive_grid) and the iminuit
cross-check (audit 5, #2): a starting range far wider than the Δχ² region is zoomed in on, and
a gross disagreement between the profile and iminuit is a warning, not a silent number."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from cevns.errors import FitError
from cevns.fits import fit_parameter
from cevns.fits.parameters import ParameterSpec
from cevns.stats import Profile1D

# a coupling-like parameter: off at its lower bound 0, bounded above at 4π (a natural bound here)
SPEC = ParameterSpec("g", "g", "", 0.0, 4 * math.pi, True, "a coupling")


def _parabola(centre: float, sigma: float):
    """χ²(g) = ((g − centre)/σ)²: best fit ``centre``, 1σ interval centre ± σ (Δχ² = 1)."""
    return lambda g: ((np.asarray(g) - centre) / sigma) ** 2


@pytest.mark.parametrize("initial", [(0.0, 10.0), (0.0, 4 * math.pi)])
def test_a_region_much_narrower_than_the_range_is_zoomed_in_on(initial):
    """A Δχ² region of width ~1e-3 in a starting range of 10: the old grid read the interval
    off a straight line between the first two coarse points (0 and 0.25), [0, 6e-4] for the
    real LAr fit below. The expected numbers are the parabola's own: best 7.5e-4, 1σ ± 4e-4."""
    from cevns.fits.fit import adaptive_grid

    chi2 = _parabola(7.5e-4, 4e-4)
    grid = adaptive_grid(chi2, SPEC, initial, 201, "test")
    prof = Profile1D(grid, chi2(grid), parameter="g")
    one = prof.allowed_range(1.0)
    assert prof.best == pytest.approx(7.5e-4, abs=1e-6)  # parabola-refined minimum
    # linear interpolation between fine points of a parabola: error ≲ step²/σ ≪ 1e-6
    assert one.lower == pytest.approx(3.5e-4, abs=1e-6)
    assert one.upper == pytest.approx(1.15e-3, abs=1e-6)
    # the fine grid covers the Δχ² = 6 region (7.5e-4 + √6 × 4e-4 = 1.73e-3) with many points
    inside = np.count_nonzero(chi2(grid) <= 6.0)
    assert grid[-1] > 1.73e-3 and inside > 100


def test_a_region_that_cannot_be_resolved_is_a_fit_error_asking_for_a_narrower_range():
    """A region 1e-25 wide in [0, 10] needs more than the bounded number of zooms: a FitError
    naming the parameter and asking for a narrower --range, not a wrong interval."""
    from cevns.fits.fit import adaptive_grid

    with pytest.raises(FitError, match=r"test: the Δχ² = 6 region of g .*not resolved.*"
                                       r"narrower starting range.*--range LO,HI"):
        adaptive_grid(_parabola(1e-24, 1e-25), SPEC, (0.0, 10.0), 201, "test")


def test_a_region_open_at_a_validity_cap_is_a_fit_error():
    """A coupling the data do not constrain below its cap 4π (a validity limit, not a physical
    bound: cevns.physics.constants.MAX_COUPLING) is not reported with a "limit" at the cap."""
    from cevns.fits.fit import adaptive_grid

    capped = ParameterSpec("g", "g", "", 0.0, 4 * math.pi, True, "a coupling", upper_is_cap=True)
    with pytest.raises(FitError, match=r"test: the Δχ² = 6 region of g reaches its validity cap "
                                       r"12\.57 .*not constrain it below the cap"):
        adaptive_grid(_parabola(0.0, 100.0), capped, (0.0, 1.0), 201, "test")
    # a natural bound (the same number, not a cap) stays a physical edge of the region
    grid = adaptive_grid(_parabola(0.0, 100.0), SPEC, (0.0, 1.0), 201, "test")
    assert grid[-1] == 4 * math.pi


def test_a_wide_range_gives_the_numbers_of_the_default_range(models):
    """LAr-2020, vector NGI coupling (m_V = 1 GeV): ``scan_range=(0, 10)`` gave best 0,
    1σ [0, 6.3e-4], 90 % C.L. 1.04e-3 (1e10: [0, 2.2e5], 3.6e5) while the default range gives
    best 7.508e-4, [0, 1.152e-3], 1.354e-3 (audit 5 #2; the iminuit columns of that fit agreed
    with the default). Expected values: the same fit from its default range, computed here.
    The zoomed fit also agrees with iminuit: no CrossCheckWarning (warnings are errors here)."""
    model = models["coherent-lar-2020"]
    kw = {"options": {"interaction": "vector"}}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        wide = fit_parameter(model, "ngi.coupling", scan_range=(0.0, 10.0), **kw)
    default = fit_parameter(model, "ngi.coupling", cross_check=False, **kw)
    assert default.best == pytest.approx(7.508e-4, rel=1e-3)  # audit 5 report #2
    # both fine grids have 201 points over regions of different widths: agreement to a small
    # fraction of the 1σ width (1.15e-3)
    tol = 1e-3 * (default.upper - default.lower)
    assert wide.best == pytest.approx(default.best, abs=tol)
    assert wide.lower == pytest.approx(default.lower, abs=tol)
    assert wide.upper == pytest.approx(default.upper, abs=tol)
    assert wide.limit_90cl == pytest.approx(default.limit_90cl, abs=tol)
    assert wide.minuit.best == pytest.approx(wide.best, abs=tol)
    assert not any("iminuit" in n for n in wide.notes), wide.notes


def test_a_gross_disagreement_with_iminuit_is_a_warning_and_a_note(models, monkeypatch):
    """With the zoom switched off (the old grid), the LAr fit above disagrees with iminuit
    (profile best 0, iminuit 7.5e-4 at a 1σ width of 1.15e-3): a CrossCheckWarning and a note
    in the fit (fit.md, the command line), instead of a silent number."""
    import cevns.fits.fit as fit_module
    from cevns.fits import CrossCheckWarning

    monkeypatch.setattr(fit_module, "_MIN_REGION_STEPS", 0)  # the old grid: never zooms
    model = models["coherent-lar-2020"]
    with pytest.warns(CrossCheckWarning, match=r"coherent-lar-2020 ngi.coupling: the profile "
                                               r"scan and the iminuit cross-check disagree"):
        fit = fit_parameter(model, "ngi.coupling", options={"interaction": "vector"},
                            scan_range=(0.0, 10.0))
    assert fit.minuit.best == pytest.approx(7.5e-4, rel=1e-2)  # iminuit finds the true minimum
    assert any(n.startswith("warning: the profile scan and the iminuit cross-check disagree")
               and "narrower starting range" in n for n in fit.notes), fit.notes


def test_cross_check_disagreement_rule():
    """Disagreement is measured in units of the wider 1σ interval (CROSS_CHECK_TOLERANCE = 1/4);
    a missing MINOS edge or an invalid minimum is no disagreement."""
    from cevns.fits.fit import MinuitFit, cross_check_disagreement

    def m(best, lower, upper, valid=True):
        return MinuitFit(best, lower, upper, 0.0, {}, valid, 1)

    assert cross_check_disagreement(1.0, 0.5, 1.5, m(1.0001, 0.5, 1.5)) is None
    assert cross_check_disagreement(1.0, 0.5, 1.5, m(1.2, None, None)) is None  # 0.2 < 0.25
    text = cross_check_disagreement(1.0, 0.5, 1.5, m(1.3, None, None))  # 0.3 > 0.25 × 1
    assert text is not None and "best fit 1 (iminuit 1.3)" in text
    # the audit's case: a profile interval 1e8 times too wide
    text = cross_check_disagreement(0.0, 0.0, 2.2e5, m(7.5e-4, 0.0, 1.15e-3))
    assert text is not None and "1σ upper edge 2.2e+05 (iminuit 0.00115)" in text
    assert cross_check_disagreement(0.0, 0.0, 2.2e5, m(7.5e-4, 0.0, 1.15e-3, False)) is None
    assert cross_check_disagreement(0.0, 0.0, 2.2e5, None) is None
