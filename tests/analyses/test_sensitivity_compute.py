"""The compute sub-model of the sensitivity kinds: the scan-store digest is taken over exactly
the fields the χ² grid reads (analyses/sensitivity/schema.py), so changing any of them changes
the digest and changing presentation does not; and ``chi2_grid`` of an analysis equals
``chi2_grid`` of its sub-model."""

from __future__ import annotations

import numpy as np
import pytest

from cevns.analyses.catalogue import shipped_analysis
from cevns.analyses.sensitivity import (
    SensitivityCompute,
    StatsSpec,
    Tie,
    chi2_grid,
    compute_config,
)
from cevns.scan import config_digest


def _digest(an, variant=None, quick=False):
    return config_digest(compute_config(an, variant, quick))


def small(item):
    return shipped_analysis(item).model_copy(update={"detectors": ("CsI", "Ar")})


# One change per field of the analyses that the numbers depend on (top-level keys of the files)
COMPUTE_CHANGES = {
    "detectors": lambda an: ("CsI",),
    "detector_overrides": lambda an: {"CsI": {"threshold_keVnr": 5.0}},
    "helm_skin_fm": lambda an: 0.9,
    "source": lambda an: an.source.model_copy(update={"run_years": 1.0}),
    "scenario": lambda an: an.scenario.model_copy(update={"options": {"interaction": "vector"}}),
    "truth": lambda an: {"coupling": 1e-6},
    "stats": lambda an: an.stats.model_copy(update={"sigma_background": 0.05}),
    "x": lambda an: an.x.model_copy(update={"num": 11}),
    "y": lambda an: an.y.model_copy(update={"stop": 0.5}),
}

# Presentation: titles, labels, panels, table layout, overlays drawn
PRESENTATION_CHANGES = {
    "name": "other",
    "title": "another title",
    "paper": "Fig. 99",
    "panels": "per-variant",
    "ratio_panel": True,
    "caption_note": "a sentence of the caption",
    "variant_column": "channel",
    "x_column": "m",
    "y_column": "g",
}


@pytest.mark.parametrize("field", sorted(COMPUTE_CHANGES))
def test_every_compute_field_changes_the_digest(field):
    an = small("fig6")
    before = _digest(an)  # no variant: the analysis's own scenario options
    changed = an.model_copy(update={field: COMPUTE_CHANGES[field](an)})
    assert _digest(changed) != before, field


def test_variant_fields_and_quick_change_the_digest():
    an = small("fig6")
    base = _digest(an, 0)
    assert _digest(an, 0, quick=True) != base
    assert _digest(an, 1) != base  # other scenario options
    for update in ({"fixed": {"coupling": 1e-3}}, {"detector_overrides": {"Ar": {"mass_kg": 20.0}}},
                   {"stats": StatsSpec(sigma_signal=0.2)}, {"options": {"interaction": "axial"}}):
        v = an.variants[0].model_copy(update=update)
        assert config_digest({"compute": an.compute(v).model_dump(mode="json")}) != base, update
    # a variant's label is presentation
    v = an.variants[0].model_copy(update={"label": "renamed"})
    assert config_digest({"compute": an.compute(v).model_dump(mode="json")}) == base


def test_fixed_ties_and_stop_level_change_the_digest():
    an = small("fig6")
    before = _digest(an)
    # (fig6 scans coupling and mediator mass: fix nothing else of NGI here, tie nothing)
    profile = shipped_analysis("fig2")
    assert _digest(profile.model_copy(update={"truth": {profile.scan.parameter: 0.24}})) != \
        _digest(profile)
    # a level read above 25 moves the early-stop level, which changes the values above it
    hi = an.model_copy(update={"stats": an.stats.model_copy(update={"levels": (30.0,)})})
    assert _digest(hi) != before
    dip = shipped_analysis("fig20")
    v = dip.variants[0]
    (name, tie) = next(iter({**dip.ties, **v.ties}.items()))
    other = v.model_copy(update={"ties": {**v.ties, name: Tie(to=tie.to, ratio=tie.ratio * 0.5)}})
    assert dip.compute(other) != dip.compute(v)
    assert dip.compute(other).ties[name].ratio == tie.ratio * 0.5


@pytest.mark.parametrize("field", sorted(PRESENTATION_CHANGES))
def test_presentation_leaves_the_digest_alone(field):
    an = small("fig6")
    before = _digest(an, 0)
    changed = an.model_copy(update={field: PRESENTATION_CHANGES[field]})
    assert _digest(changed, 0) == before, field


def test_per_detector_changes_the_digest_only_where_it_changes_what_is_computed():
    """per_detector = false with one shared α computes the joint fit only (the detectors' own
    fits are not needed): a different computation, a different store. With one α per detector
    the combination is the sum of the detectors' fits, which are computed either way."""
    an = small("fig6")  # per_detector = false, shared_signal = true (the default)
    assert not an.per_detector and an.stats.shared_signal
    assert an.compute(0).combined_only
    both = an.model_copy(update={"per_detector": True})
    assert not both.compute(0).combined_only
    assert _digest(both, 0) != _digest(an, 0)
    own = {"stats": an.stats.model_copy(update={"shared_signal": False})}
    per_alpha = an.model_copy(update=own)
    assert not per_alpha.compute(0).combined_only
    assert _digest(per_alpha.model_copy(update={"per_detector": True}), 0) == \
        _digest(per_alpha, 0)
    one = an.model_copy(update={"detectors": ("CsI",)})  # nothing to combine
    assert not one.compute(0).combined_only


def test_combined_only_computes_the_same_combined_chi2():
    """Skipping the detectors' own fits leaves the joint fit's χ² as it was (same arrays)."""
    from cevns.analyses.sensitivity import chi2_grid

    an = small("fig6")
    few = {"x": an.x.model_copy(update={"num": 4}), "y": an.y.model_copy(update={"num": 5})}
    an = an.model_copy(update=few)
    only = chi2_grid(an, variant=an.variants[0])
    both = chi2_grid(an.model_copy(update={"per_detector": True}), variant=an.variants[0])
    assert set(only) == {"combined"} and set(both) == {"CsI", "Ar", "combined"}
    np.testing.assert_array_equal(only["combined"], both["combined"])


def test_levels_below_the_stop_level_and_profile_layout_are_presentation():
    an = shipped_analysis("fig2")
    before = _digest(an)
    for update in ({"stats": an.stats.model_copy(update={"levels": ("90cl_1dof",)})},
                   {"table_level": "90cl_1dof"}, {"table": "limit"}, {"xlabel": "x"},
                   {"show": "combined"}, {"reference_label": "ref"}, {"reference_note": "n"},
                   {"title": "t"}):
        assert _digest(an.model_copy(update=update)) == before, update


def test_overlays_are_presentation():
    from cevns.analyses.overlays import _REGISTRY, register_overlay

    name = "test-compute-digest-overlay"
    register_overlay(name, lambda request: [])
    try:
        an = small("fig6")
        assert _digest(an.model_copy(update={"overlays": (name,)}), 0) == _digest(an, 0)
    finally:
        _REGISTRY.pop(name, None)


def test_sub_model_holds_only_used_definitions_and_round_trips():
    an = small("fig6")
    comp = an.compute(2, quick=True)
    assert set(comp.detector) == {"CsI", "Ar"}
    assert comp.scenario.options == {"interaction": "axial"}
    again = SensitivityCompute.model_validate(compute_config(an, 2, True)["compute"])
    assert again == comp


def test_chi2_grid_of_the_analysis_equals_that_of_its_sub_model():
    an = small("fig6")
    v = an.variants[1]
    a = chi2_grid(an, quick=True, variant=v, with_status=True)
    b = chi2_grid(an.compute(v, quick=True), with_status=True)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


@pytest.mark.parametrize(("combined", "per_detector"), [("fig6", "fig16"), ("fig11", "fig20")])
def test_a_combined_only_item_shares_the_store_of_its_per_detector_twin(combined, per_detector):
    """Within one run, Fig. 6 (combined only) takes the full computation that Fig. 16 (the same
    fits drawn per detector) asks for: one store for the pair, as before combined_only existed.
    Fig. 11's grids are refined per variant around kinematic end points, as Fig. 20's."""
    from cevns.analyses.edges import refined_exclusion
    from cevns.analyses.sensitivity.compute import (
        compute_config,
        full_twin_digests,
        shares_full_twin,
    )

    a, b = shipped_analysis(combined), shipped_analysis(per_detector)
    for quick in (True, False):  # the full grids are refined around more end points
        twins = full_twin_digests([a, b], quick=quick)
        assert twins and not full_twin_digests([b], quick=quick)  # nothing to share alone
        for v in range(len(a.variants)):
            ra, rb = refined_exclusion(a, v, quick), refined_exclusion(b, v, quick)
            assert shares_full_twin(ra, v, quick, twins)
            assert not shares_full_twin(rb, v, quick, twins)
            assert not shares_full_twin(ra, v, quick, full_twin_digests([a], quick=quick))
            alone = config_digest(compute_config(ra, v, quick))
            paired = config_digest(compute_config(ra, v, quick, full=True))
            assert paired == config_digest(compute_config(rb, v, quick)) != alone
