"""NGI options the chosen interaction does not read are refused when the scenario is built (input
audit #9, finding 5): ``vector_charge`` and ``coupling_sign`` with a scalar, axial or tensor
mediator changed nothing, and ``coupling_sign = -1`` with the default ``vector_charge = "B-L"``
failed only mid-scan, after the output folder was written."""

from __future__ import annotations

import pytest

from cevns.analyses import load_analysis
from cevns.errors import ConfigError
from cevns.scenarios import get_scenario

VALUES = {"coupling": 3e-5, "mediator_mass_MeV": 10.0}


@pytest.mark.parametrize("interaction", ["scalar", "axial", "tensor"])
@pytest.mark.parametrize(("options", "field"), [
    ({"vector_charge": "B-L"}, "vector_charge"),
    ({"vector_charge": "universal"}, "vector_charge"),
    ({"coupling_sign": -1}, "coupling_sign"),
    ({"coupling_sign": 1}, "coupling_sign"),
    ({"vector_charge": "universal", "coupling_sign": -1, "contact": True}, "vector_charge"),
])
def test_vector_options_of_another_interaction_are_refused(interaction, options, field):
    with pytest.raises(ConfigError, match=rf"scenario\.{field}: used by interaction 'vector' "
                                          rf"only .*interaction '{interaction}' does not read it"
                       ) as info:
        get_scenario("ngi", interaction=interaction, **options)
    assert info.value.problems[0].path == ("scenario", field)
    # what the interaction reads is still accepted: the propagator option, the defaults
    assert get_scenario("ngi", interaction=interaction, contact=True).options.contact


@pytest.mark.parametrize("options", [{"coupling_sign": -1},
                                     {"coupling_sign": -1, "vector_charge": "B-L"},
                                     {"coupling_sign": 1, "vector_charge": "B-L"}])
def test_a_coupling_sign_with_the_b_minus_l_charges_is_refused_when_built(options):
    # coupling_sign = -1 used to build, then fail in counts(): "coupling_sign applies to
    # vector_charge='universal' only"
    with pytest.raises(ConfigError, match=r"scenario\.coupling_sign: used with vector_charge "
                                          r"'universal' only; for 'B-L' the product"):
        get_scenario("ngi", interaction="vector", **options)
    universal = get_scenario("ngi", interaction="vector", vector_charge="universal",
                             coupling_sign=-1)
    assert universal.counts("CsI", "ess", VALUES).sum() > 0


def test_replace_carries_only_the_options_given():
    # a default is not "given": a scalar's options can be copied with another contact setting,
    # and a copy that keeps a vector option for another interaction is refused
    scalar = get_scenario("ngi", interaction="scalar").options
    assert scalar.replace(contact=True).contact
    vector = get_scenario("ngi", interaction="vector", vector_charge="universal").options
    assert vector.replace(coupling_sign=-1).coupling_sign == -1
    with pytest.raises(ConfigError, match=r"\(NGIOptions\):\s+vector_charge: used by interaction "
                                          r"'vector' only"):
        vector.replace(interaction="tensor")


ANALYSIS = """schema_version = 1
name = "x"
title = "t"
kind = "exclusion"
detectors = ["CsI"]
level = "90cl_2dof"

[scenario]
name = "ngi"
options = {scenario}

[x]
parameter = "mediator_mass_MeV"
start = 1.0
stop = 100.0
num = 3
spacing = "log"

[y]
parameter = "coupling"
start = 1e-6
stop = 1e-2
num = 3
spacing = "log"
{variants}
"""


@pytest.mark.parametrize(("scenario", "variants", "named"), [
    ('{ interaction = "vector", coupling_sign = -1 }', "",
     r"case\.toml\.scenario\.options\.coupling_sign: used with vector_charge 'universal' only"),
    ('{ interaction = "vector", vector_charge = "universal" }',
     '[[variants]]\nlabel = "a"\n[[variants]]\nlabel = "s"\noptions = { interaction = "scalar" }\n',
     r"case\.toml\.variants\[1\]\.options\.vector_charge: used by interaction 'vector' only"),
])
def test_an_analysis_file_with_an_unread_ngi_option_is_refused_when_read(tmp_path, scenario,
                                                                         variants, named):
    path = tmp_path / "case.toml"
    path.write_text(ANALYSIS.replace("{scenario}", scenario).replace("{variants}", variants),
                    encoding="utf-8")
    with pytest.raises(ConfigError, match=named):
        load_analysis(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case.toml"]
