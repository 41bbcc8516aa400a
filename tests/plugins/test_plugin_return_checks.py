"""What a plug-in's code returns is checked, and a bad value is a clear error naming the plug-in.

A plug-in that *raises* is named by :func:`cevns.plugins.plugin_failure`. One that returns the
wrong thing gave "internal error: … this is a bug in cevns", NaN rows in an overlays table or a
silently dropped curve:

* an overlay function returning None or other objects than :class:`Overlay`
  (:func:`cevns.analyses.overlays.call_overlay`), an :class:`Overlay` with a label that is not
  text, a ``style`` matplotlib does not take, a polyline with NaN points, a Δχ² grid that is NaN
  everywhere; ``register_overlay`` of the same function with another ``in_quick`` changed it;
* an analysis kind's runner that cannot take (analysis, out, options), or returns None, not paths
  or paths of files that do not exist (listed in provenance.json);
* an abstract scenario class, a scenario whose ``parameters`` is None, options given to a
  scenario that takes none.

Every registration is made on copies of the registries (the ``registries`` fixture, as
tests/scenarios/test_plugin_inputs_audit6.py does), restored afterwards.
"""

from __future__ import annotations

import textwrap
from typing import Literal

import numpy as np
import pytest

from cevns import cli
from cevns.analyses import base as kinds_base
from cevns.analyses import overlays
from cevns.analyses.base import AnalysisBase, register_kind
from cevns.analyses.overlays import Overlay, OverlayRequest
from cevns.errors import ConfigError
from cevns.physics.basis import SMBasis
from cevns.physics.cross_sections import sm_basis_coefficients
from cevns.scenarios import Parameter, Scenario, get_scenario, register_scenario
from cevns.scenarios import base as scenarios_base


@pytest.fixture
def registries(monkeypatch):
    """The overlay, analysis-kind and scenario registries as they are, restored afterwards."""
    from cevns import plugins

    overlays.overlay_names()  # the built-ins are registered before the registries are saved
    kinds_base.kinds()
    scenarios_base.scenario_names()
    monkeypatch.setattr(overlays, "_REGISTRY", dict(overlays._REGISTRY))
    monkeypatch.setattr(overlays, "_NOT_IN_QUICK", set(overlays._NOT_IN_QUICK))
    monkeypatch.setattr(kinds_base, "_KINDS", dict(kinds_base._KINDS))
    monkeypatch.setattr(scenarios_base, "_REGISTRY", dict(scenarios_base._REGISTRY))
    monkeypatch.setattr(plugins, "_PLUGGED", dict(plugins._PLUGGED))


def _run(argv, capsys):
    """``cevns.cli.main`` in-process: (exit status, stderr)."""
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    return exc.value.code, capsys.readouterr().err


def _refused(code, err, *said):
    assert code == 2, err
    assert "internal error" not in err and "bug in cevns" not in err, err
    for text in said:
        assert text in err, err


# -- overlays ------------------------------------------------------------------------------------

EXCLUSION = textwrap.dedent("""
    schema_version = 1
    name = "{name}"
    title = "t"
    kind = "exclusion"
    detectors = ["CsI"]
    overlays = ["{overlay}"]
    scenario = {{ name = "ngi", options = {{ interaction = "vector", vector_charge = "B-L" }} }}
    x = {{ parameter = "mediator_mass_MeV", start = 0.01, stop = 1e4, num = 12, spacing = "log" }}
    y = {{ parameter = "coupling", start = 1e-7, stop = 1e-1, num = 12, spacing = "log" }}
""")

LINE = (np.array([1.0, 10.0]), np.array([1e-5, 1e-4]))


def _label_int(request):
    return [Overlay(5, "test", *LINE)]


def _bad_style(request):
    return [Overlay("bad style", "test", *LINE, style={"colour": "red"})]


def _nan_polyline(request):
    return [Overlay("nan line", "test", np.array([1.0, np.nan, 3.0]), np.array([1e-5, 1e-4, 1e-3]))]


def _all_nan_grid(request):
    return [Overlay("nan grid", "test", request.x, request.y,
                    np.full((request.x.size, request.y.size), np.nan))]


def _returns_none(request):
    return None


def _returns_numbers(request):
    return [1, 2]


@pytest.mark.parametrize(("function", "said"), [
    (_returns_none, "returned None; expected a list of cevns.analyses.overlays.Overlay"),
    (_returns_numbers, "returned int 1 as item 0"),
    (_label_int, "overlay label: must be a non-empty string (the legend text), got 5"),
    (_bad_style, "overlay 'bad style': style {'colour': 'red'} is not valid for a matplotlib "
                 "line: Line2D.set() got an unexpected keyword argument 'colour'"),
    (_nan_polyline, "overlay 'nan line': x must be finite, got nan"),
    (_all_nan_grid, "overlay 'nan grid': Δχ² grid is NaN everywhere"),
])
def test_a_bad_overlay_is_a_clear_error_in_a_run(registries, tmp_path, capsys, function, said):
    # label=5 and the style were internal errors; the NaN polyline gave NaN rows in the overlays
    # table; the all-NaN grid an "All-NaN slice" warning and no curve, silently
    name = f"rc-{function.__name__[1:].replace('_', '-')}"
    overlays.register_overlay(name, function)
    (tmp_path / "a.toml").write_text(EXCLUSION.format(name="rc_overlay", overlay=name))
    code, err = _run(["run", str(tmp_path / "a.toml"), "--out", str(tmp_path / "out"), "--quick",
                      "--no-figures", "--executor", "serial"], capsys)
    _refused(code, err, f"error: overlay '{name}' (test_plugin_return_checks.{function.__name__})")
    assert said in err, err


@pytest.mark.parametrize(("kwargs", "said"), [
    (dict(label="", source="s", x=LINE[0], y=LINE[1]), "label: must be a non-empty string"),
    (dict(label="a", source=None, x=LINE[0], y=LINE[1]), "'a': source must be a non-empty string"),
    (dict(label="a", source="s", x=["p", "q"], y=LINE[1]), "'a': x must be an array of real"),
    (dict(label="a", source="s", x=LINE[0], y=LINE[1], style={"lw": 2}),
     "not aliases: 'linewidth' for 'lw'"),
    (dict(label="a", source="s", x=LINE[0], y=LINE[1], style={"label": "b"}),
     "style cannot set 'label'"),
    (dict(label="a", source="s", x=LINE[0], y=LINE[1], style={"color": "nocolour"}),
     "'nocolour' is not a valid value for color"),
    (dict(label="a", source="s", x=np.arange(2.0), y=np.arange(3.0),
          delta_chi2=np.full((2, 3), -np.inf)), "Δχ² grid holds -inf"),
])
def test_overlay_fields_are_checked(kwargs, said):
    with pytest.raises(ConfigError, match=f"^overlay {kwargs['label']!r}: .*{said}|{said}"):
        Overlay(**kwargs)


def test_overlay_grids_with_nan_and_inf_cells_and_a_style_are_accepted():
    ov = Overlay("a", "s", np.arange(2.0), np.arange(3.0),
                 delta_chi2=np.array([[0.0, np.nan, np.inf], [1.0, 2.0, 3.0]]),
                 style={"color": "0.25", "linestyle": "--", "linewidth": 1.4})
    assert ov.delta_chi2.shape == (2, 3)


@pytest.mark.parametrize(("returned", "said"), [
    (None, "returned None; expected a list of cevns.analyses.overlays.Overlay"),
    ([1, 2], "returned int 1 as item 0; expected a list of cevns.analyses.overlays.Overlay"),
    ((o for o in ()), "returned generator"),
])
def test_call_overlay_checks_what_the_function_returns(registries, returned, said):
    overlays.register_overlay("rc-returns", lambda request: returned)
    request = OverlayRequest(analysis=None, variant=None, x=np.arange(3.0), y=np.arange(2.0))
    with pytest.raises(ConfigError, match=rf"^overlay 'rc-returns' \(.*<lambda>\) {said}"):
        overlays.call_overlay("rc-returns", request)


def test_call_overlay_names_the_overlay_whose_overlay_is_refused(registries):
    overlays.register_overlay("rc-label", _label_int)
    request = OverlayRequest(analysis=None, variant=None, x=np.arange(3.0), y=np.arange(2.0))
    with pytest.raises(ConfigError, match=r"^overlay 'rc-label' \(.*_label_int\): overlay label"):
        overlays.call_overlay("rc-label", request)
    line = Overlay("line", "test", *LINE)
    overlays.register_overlay("rc-tuple", lambda request: (line,))
    assert overlays.call_overlay("rc-tuple", request) == [line]


def test_registering_an_overlay_again_with_another_in_quick_is_refused(registries):
    # it silently changed whether the overlay is computed in --quick previews
    def slow(request):
        return []

    overlays.register_overlay("rc-slow", slow, in_quick=False)
    overlays.register_overlay("rc-slow", slow, in_quick=False)  # as it is: changes nothing
    with pytest.raises(ConfigError, match="register_overlay: overlay 'rc-slow' is already "
                                          "registered with in_quick=False"):
        overlays.register_overlay("rc-slow", slow)
    assert not overlays.overlay_in_quick("rc-slow")


# -- analysis kinds ------------------------------------------------------------------------------


class _KindNone(AnalysisBase):
    kind: Literal["rc-kind-none"]


class _KindInt(AnalysisBase):
    kind: Literal["rc-kind-int"]


class _KindMissing(AnalysisBase):
    kind: Literal["rc-kind-missing"]


def _runs_none(an, out, options):
    return None


def _runs_int(an, out, options):
    return [123]


def _runs_missing(an, out, options):
    return [out / "does_not_exist.csv"]


def test_a_runner_that_cannot_take_its_arguments_is_refused_at_registration(registries):
    class Model(AnalysisBase):
        kind: Literal["rc-kind-zero"]

    with pytest.raises(ConfigError, match=r"register_kind: analysis kind 'rc-kind-zero': its "
                                          r"runner .*<lambda>\(\) cannot be called as "
                                          r"runner\(analysis, out, options\)"):
        register_kind("rc-kind-zero", Model)(lambda: [])
    assert "rc-kind-zero" not in kinds_base.kinds()


def test_a_runner_registered_again_with_another_model_is_refused(registries):
    register_kind("rc-kind-none", _KindNone)(_runs_none)
    register_kind("rc-kind-none", _KindNone)(_runs_none)  # as it is: changes nothing
    with pytest.raises(ConfigError, match="analysis kind 'rc-kind-none' is already registered "
                                          "with model"):
        register_kind("rc-kind-none", _KindInt)(_runs_none)


@pytest.mark.parametrize(("kind", "model", "runner", "said"), [
    ("rc-kind-none", _KindNone, _runs_none, "returned None; a runner returns a list of the paths "
                                            "of the files it wrote"),
    ("rc-kind-int", _KindInt, _runs_int, "returned int 123 among its files"),
    ("rc-kind-missing", _KindMissing, _runs_missing, "does_not_exist.csv', which does not exist"),
])
def test_what_a_runner_returns_is_checked(registries, tmp_path, capsys, kind, model, runner,
                                          said):
    # None and [123] were internal errors; a path that does not exist was listed in
    # provenance.json as a file the run wrote
    register_kind(kind, model)(runner)
    (tmp_path / "k.toml").write_text(f'schema_version = 1\nname = "rck"\ntitle = "t"\n'
                                     f'kind = "{kind}"\ndetectors = ["CsI"]\n')
    code, err = _run(["run", str(tmp_path / "k.toml"), "--out", str(tmp_path / "out")], capsys)
    _refused(code, err, f"error: analysis kind {kind!r} (runner ", said)
    assert not (tmp_path / "out" / "provenance.json").exists()


# -- scenarios -----------------------------------------------------------------------------------


class _SM(Scenario):
    parameters = {"sin2_theta_w": Parameter("sin2_theta_w", "strength", 0.23857, "", 0.0, 1.0)}

    def basis(self, shape):
        return SMBasis()

    def coefficients(self, strength):
        return sm_basis_coefficients(strength["sin2_theta_w"])


def test_an_abstract_scenario_class_is_refused_at_registration(registries):
    # accepted, then "internal error: Can't instantiate abstract class" when an analysis used it
    class Abstract(Scenario):
        name = "rc-abstract"

    with pytest.raises(ConfigError, match="register_scenario: scenario class .*Abstract "
                                          r"\('rc-abstract'\) is abstract: it does not define "
                                          "basis, coefficients, parameters"):
        register_scenario(Abstract)
    assert "rc-abstract" not in scenarios_base.scenario_names()


PROFILE = textwrap.dedent("""
    schema_version = 1
    name = "rc_scenario"
    title = "t"
    kind = "profile"
    detectors = ["CsI"]
    scenario = {{ name = "{scenario}"{options} }}
    scan = {{ parameter = "sin2_theta_w", start = 0.2, stop = 0.3, num = 11 }}
""")


def test_options_a_scenario_does_not_take_are_a_clear_error(registries, tmp_path, capsys):
    # "internal error: TypeError: NoOpt() takes no arguments"
    class NoOpt(_SM):
        name = "rc-noopt"

    register_scenario(NoOpt)
    (tmp_path / "a.toml").write_text(PROFILE.format(scenario="rc-noopt",
                                                    options=", options = { foo = 1 }"))
    code, err = _run(["run", str(tmp_path / "a.toml"), "--out", str(tmp_path / "out")], capsys)
    _refused(code, err, "scenario.options: scenario 'rc-noopt' takes no options (got foo)")
    assert type(get_scenario("rc-noopt")) is NoOpt  # without options: built as before

    class SomeOpts(_SM):
        name = "rc-someopts"

        def __init__(self, mode="a"):
            self.mode = mode

    register_scenario(SomeOpts)
    assert get_scenario("rc-someopts", mode="b").mode == "b"
    with pytest.raises(ConfigError, match=r"scenario 'rc-someopts' cannot take the options given "
                                          r"\(foo\): .*'foo'; it is built as .*SomeOpts\(mode='a'\)"):
        get_scenario("rc-someopts", foo=1)


def test_scenario_parameters_that_are_not_parameters_are_a_clear_error(registries, tmp_path,
                                                                      capsys):
    # "internal error: TypeError: argument of type 'NoneType' is not iterable"
    class NoParams(_SM):
        name = "rc-noparams"
        parameters = None

    register_scenario(NoParams)
    (tmp_path / "a.toml").write_text(PROFILE.format(scenario="rc-noparams", options=""))
    code, err = _run(["run", str(tmp_path / "a.toml"), "--out", str(tmp_path / "out")], capsys)
    _refused(code, err, "scenario 'rc-noparams' (module test_plugin_return_checks): parameters "
                        "must be a dict name → cevns.scenarios.Parameter, got None")
