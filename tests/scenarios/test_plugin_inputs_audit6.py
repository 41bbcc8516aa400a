"""Plug-ins and registries given bad input (audit 6: A4, A5, C3, C7, C8, D2).

* A plug-in scenario whose coefficients give negative expected counts, or are NaN, is refused with
  a ConfigError naming the scenario and the parameter point (not a silent negative number, not an
  "overflow", not "no neutrino gives a recoil above its threshold").
* Parameter values given as NumPy complex, date or duration scalars in a list are refused, naming
  the parameter (NumPy read them as their real part or a count of days; arrays of them are
  refused by cevns.errors.finite_array).
* Registered names are slugs, in every registry; ``register_overlay`` and ``register_point``
  refuse what they cannot call, and a name a built-in overlay has, at the user's call.
* :func:`cevns.plugins.plugin_failure` names the plug-in whose code raised an exception.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from cevns.errors import ConfigError
from cevns.experiment import get_detector, get_source
from cevns.physics.basis import SMBasis
from cevns.physics.cross_sections import sm_basis_coefficients
from cevns.scenarios import Parameter, Scenario, get_scenario

CSI, ESS = get_detector("CsI"), get_source("ess")


class _Scaled(Scenario):
    """SM coefficients times ``scale`` (``sign`` and ``nan_above`` make it a bad plug-in)."""

    name = "h6-scaled"
    sign = 1.0
    nan_above = np.inf

    @property
    def parameters(self):
        return {"scale": Parameter("scale", "strength", 1.0, "", 0.0, 10.0),
                "sin2_theta_w": Parameter("sin2_theta_w", "strength", 0.23857, "", 0.0, 1.0)}

    def basis(self, shape):
        return SMBasis()

    def coefficients(self, strength):
        c = self.sign * np.asarray(sm_basis_coefficients(strength["sin2_theta_w"])) \
            * strength["scale"]
        return np.where(strength["scale"] > self.nan_above, np.nan, c)


class _Negative(_Scaled):
    name = "h6-negative"
    sign = -1.0


class _NaN(_Scaled):
    name = "h6-nan"
    nan_above = 2.0


class _Cancelling(_Scaled):
    """Two copies of the SM basis with opposite coefficients (a relative 1e-13 apart): the counts
    cancel to rounding, which is zero, not a negative rate."""

    name = "h6-cancel"

    def basis(self, shape):
        return SMBasis(), SMBasis()

    def coefficients(self, strength):
        c = super().coefficients(strength)
        return np.concatenate([c, -c * (1 + 1e-13)])


# -- A4, D2: a plug-in's negative or non-finite numbers ----------------------------------------

def test_negative_expected_counts_are_refused_naming_scenario_and_point():
    with pytest.raises(ConfigError) as err:
        _Negative().counts(CSI, ESS, {"scale": [0.5, 1.0]})
    text = str(err.value)
    for part in ("scenario 'h6-negative'", "negative expected counts", "detector CsI",
                 "scale = 0.5", "sin2_theta_w = 0.23857", "coefficients()"):
        assert part in text, (part, text)
    # rounding of exactly cancelling terms is not refused: it is 0, never a negative count
    out = _Cancelling().counts(CSI, ESS, {"scale": np.linspace(0.1, 3.0, 7)})
    assert out.shape == (7, CSI.n_bins) and out.min() >= 0.0 and out.max() < 1e-6


def test_nan_coefficients_are_the_scenarios_not_an_overflow():
    with pytest.raises(ConfigError) as err:
        _NaN().counts(CSI, ESS, {"scale": [0.5, 1.0, 3.0]})
    text = str(err.value)
    assert "scenario 'h6-nan'" in text and "coefficients() returned nan" in text, text
    assert "scale = 3" in text and "overflow" not in text, text


def test_coefficients_of_the_wrong_type_or_shape_are_named():
    class Complex(_Scaled):
        name = "h6-complex"

        def coefficients(self, strength):
            return super().coefficients(strength) * (1 + 1j)

    class Misshapen(_Scaled):
        name = "h6-misshapen"

        def coefficients(self, strength):
            return np.ones((4, 3))

    with pytest.raises(ConfigError, match=r"scenario 'h6-complex'.*coefficients\(\) must "
                                          "return real numbers"):
        Complex().counts(CSI, ESS, {"scale": [1.0, 2.0]})
    with pytest.raises(ConfigError, match=r"scenario 'h6-misshapen'.*does not broadcast"):
        Misshapen().counts(CSI, ESS, {"scale": [1.0, 2.0]})


# -- A5: parameter values that are not real numbers --------------------------------------------

@pytest.mark.parametrize(("values", "said"), [
    # arrays and NumPy scalars are refused by cevns.errors.finite_array; NumPy scalars in a list
    # converted to float without an error: a date as a count of days (18262), a complex number
    # as its real part (with a ComplexWarning)
    ([np.datetime64("2020-01-01")], "dates"),
    ([0.2, np.timedelta64(1, "s")], "time spans"),
    ((np.complex64(0.2), 0.3), "complex numbers"),
])
def test_numpy_scalars_in_a_list_that_are_not_real_numbers_are_refused(values, said):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ConfigError, match="parameter sin2_theta_w: values must be") as err:
            get_scenario("sm").counts(CSI, ESS, {"sin2_theta_w": values})
    assert said in str(err.value), str(err.value)


# -- C8: registered names are slugs -------------------------------------------------------------

@pytest.mark.parametrize("bad", ["a/b", "../../evil", "/abs", "x..y", "with space", "a.b"])
def test_a_scenario_name_that_is_not_a_slug_is_refused(bad):
    from cevns.scenarios import register_scenario, scenario_names

    cls = type("Bad", (_Scaled,), {"name": bad})
    with pytest.raises(ConfigError, match=f"register_scenario: scenario class Bad: scenario "
                                          f"name {bad!r}"):
        register_scenario(cls)
    assert bad not in scenario_names()


@pytest.fixture
def overlay_registry(monkeypatch):
    """The overlay and point registries as they are, restored afterwards."""
    from cevns import plugins
    from cevns.analyses import overlays, running

    overlays.overlay_names()  # the built-ins are registered before the registry is saved
    monkeypatch.setattr(overlays, "_REGISTRY", dict(overlays._REGISTRY))
    monkeypatch.setattr(overlays, "_NOT_IN_QUICK", set(overlays._NOT_IN_QUICK))
    monkeypatch.setattr(running, "_POINTS", dict(running._POINTS))
    monkeypatch.setattr(plugins, "_PLUGGED", dict(getattr(plugins, "_PLUGGED", {})),
                        raising=False)
    return overlays


@pytest.mark.parametrize(("name", "function", "message"), [
    ("x42", 42, "expected an overlay function"),                       # accepted, failed later
    ("cls", dict, "expected an overlay function.*class builtins.dict"),
    ("none", lambda: [], r"the overlay function .*cannot be called with one argument"),
    ("a/b", lambda request: [], "overlay name 'a/b' is not a safe file name"),
    ("../up", lambda request: [], "overlay name '../up' is not a safe file name"),
    ("coherent", lambda request: [], "overlay name 'coherent' is already taken by "
                                     "cevns.analyses.coherent_overlay"),
])
def test_register_overlay_refuses_what_it_cannot_use(overlay_registry, name, function, message):
    with pytest.raises(ConfigError, match=f"register_overlay: {message}"):
        overlay_registry.register_overlay(name, function)
    assert name == "coherent" or name not in overlay_registry.overlay_names()


def test_a_builtin_overlay_name_is_refused_before_the_builtins_load():
    """register_overlay("coherent", ...) in a fresh process was accepted, and every later lookup
    failed with "an overlay named 'coherent' is already registered" from the built-in module."""
    code = textwrap.dedent("""
        from cevns.analyses.overlays import register_overlay, overlay_names, get_overlay
        from cevns.errors import ConfigError
        try:
            register_overlay("coherent", lambda request: [])
        except ConfigError as exc:
            print("refused:", exc)
        print(overlay_names(), get_overlay("coherent").__module__)
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "refused: register_overlay: overlay name 'coherent' is already taken" in res.stdout
    assert "['coherent'] cevns.analyses.coherent_overlay" in res.stdout, res.stdout


@pytest.mark.parametrize(("name", "function", "message"), [
    ("x", 3, "expected a function"),
    ("one", lambda analysis: None, r"cannot be called as provider\(analysis, options\)"),
    ("a/b", lambda analysis, options: None, "point provider name 'a/b' is not a safe file name"),
    ("coherent-csi-2021", lambda analysis, options: None, "is already taken by"),
])
def test_register_point_refuses_what_it_cannot_use(overlay_registry, name, function, message):
    from cevns.analyses.running import point_provider_names, register_point

    with pytest.raises(ConfigError, match=message):
        register_point(name)(function)
    assert name == "coherent-csi-2021" or name not in point_provider_names()


# -- C7: the plug-in whose code raised is named -------------------------------------------------

PLUGIN_MODULE = '''
import numpy as np
from cevns.physics.basis import SMBasis
from cevns.scenarios import Parameter, Scenario


def boom_overlay(request):
    raise ValueError("overlay boom")


def boom_point(analysis, options):
    return _helper()


def _helper():
    raise KeyError("point boom")


class BoomScenario(Scenario):
    name = "h6-boom"

    @property
    def parameters(self):
        return {"scale": Parameter("scale", "strength", 1.0, "", 0.0, 10.0)}

    def basis(self, shape):
        return SMBasis()

    def coefficients(self, strength):
        raise ZeroDivisionError("scenario boom")
'''


def test_plugin_failure_names_the_plugin_that_raised(overlay_registry, tmp_path, monkeypatch):
    from cevns.analyses.running import computed_point, register_point
    from cevns.plugins import plugin_failure
    from cevns.scenarios import base, register_scenario

    (tmp_path / "h6_boom_plugin.py").write_text(PLUGIN_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))
    mod = importlib.import_module("h6_boom_plugin")
    try:
        overlay_registry.register_overlay("h6-boom-overlay", mod.boom_overlay)
        register_point("h6-boom-point")(mod.boom_point)
        register_scenario(mod.BoomScenario)
        calls = [
            (lambda: overlay_registry.get_overlay("h6-boom-overlay")(None),
             "overlay 'h6-boom-overlay'", "ValueError: overlay boom"),
            (lambda: computed_point("h6-boom-point", None, None),
             "point provider 'h6-boom-point'", "KeyError: 'point boom'"),
            (lambda: get_scenario("h6-boom").counts(CSI, ESS, {"scale": 2.0}),
             "scenario 'h6-boom'", "ZeroDivisionError: scenario boom"),
        ]
        for call, named, raised in calls:
            with pytest.raises(Exception) as err:  # noqa: PT011 - the plug-in's own exception
                call()
            text = plugin_failure(err.value)
            assert text is not None and text.startswith("error in plug-in code (module "
                                                         "h6_boom_plugin)"), text
            assert named in text and raised in text and "registered in code" in text, text
            assert "not from cevns" in text, text
        # an exception of cevns's own code is not blamed on a plug-in
        with pytest.raises(ConfigError) as own:
            get_scenario("sm").counts(CSI, ESS, {"sin2_theta_w": 2.0})
        assert plugin_failure(own.value) is None
    finally:
        sys.modules.pop("h6_boom_plugin", None)


def test_an_analysis_kind_name_must_be_a_slug_too():
    """register_kind applies the rule of every registry (cevns.plugins.name_problem): an analysis
    kind named 'a/b' would become part of file names."""
    from cevns.analyses.base import AnalysisBase, register_kind
    from cevns.errors import ConfigError

    with pytest.raises(ConfigError, match="analysis kind name 'a/b' is not a safe file name"):
        register_kind("a/b", AnalysisBase)(lambda an, out, options: [])


def test_an_invalid_point_built_by_a_provider_names_the_provider(overlay_registry):
    """A point provider whose Measurement is invalid: the ConfigError names the provider (audit
    7: it named only "Measurement")."""
    from cevns.analyses.running import Measurement, computed_point, register_point

    def bad_point(an, options):
        return Measurement(name="x", q_GeV=-1.0, value=0.24, error=0.01, scheme="MS-bar",
                           reference="none")

    register_point("a7-bad-point")(bad_point)
    with pytest.raises(ConfigError, match=r"(?s)point provider 'a7-bad-point': .*q_GeV"):
        computed_point("a7-bad-point", None, None)
