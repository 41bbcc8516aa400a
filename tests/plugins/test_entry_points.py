"""A scenario registered by entry point in another package, used from a TOML analysis.

The example package (tests/plugins/example_plugin) is made visible the way an installer does it:
its module and a ``*.dist-info`` folder with ``entry_points.txt`` on ``sys.path``. The analysis
then runs through the installed ``cevns`` command in a subprocess.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent / "example_plugin"


def _install_like(target: Path, entry_points: str) -> Path:
    shutil.copytree(HERE / "src" / "cevns_example_plugin", target / "cevns_example_plugin")
    dist = target / "cevns_example_plugin-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: cevns-example-plugin\n"
                                   "Version: 0.1.0\n")
    (dist / "entry_points.txt").write_text(entry_points)
    return target


def _run(args, path: Path, cwd: Path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(path), os.environ.get("PYTHONPATH", "")])}
    from installed import CEVNS  # the environment's installed command

    return subprocess.run([*CEVNS, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


ANALYSIS = textwrap.dedent("""
    schema_version = 1
    name = "plugin_scale"
    title = "rate scale of a plug-in scenario"
    kind = "profile"
    detectors = ["CsI"]
    scenario = { name = "scaled-sm" }
    scan = { parameter = "scale", start = 0.8, stop = 1.2, num = 21 }
    stats = { sigma_signal = 0.10, sigma_background = 0.01 }
""")


def test_plugin_scenario_from_toml(tmp_path):
    path = _install_like(tmp_path / "site",
                         "[cevns.scenarios]\nscaled-sm = cevns_example_plugin:ScaledSM\n")
    (tmp_path / "a.toml").write_text(ANALYSIS)
    res = _run(["run", "a.toml", "--out", "out"], path, tmp_path)
    assert res.returncode == 0, res.stderr
    tables = list((tmp_path / "out").rglob("*.csv"))
    assert tables, list((tmp_path / "out").rglob("*"))
    text = "\n".join(t.read_text() for t in tables)
    assert "scale" in text


@pytest.fixture
def plugin_path(tmp_path, monkeypatch):
    """Put a plug-in on sys.path in this process; restore the registries afterwards."""
    from cevns.analyses import overlays
    from cevns.plugins import load_group
    from cevns.scenarios import base

    base.scenario_names()  # the built-ins are registered before the registry is saved
    saved = dict(base._REGISTRY)
    monkeypatch.setattr(overlays, "_REGISTRY", dict(overlays._REGISTRY))
    monkeypatch.setattr(overlays, "_LOADED", False)

    def install(entry: str, group: str = "cevns.scenarios") -> None:
        path = _install_like(tmp_path / "site", f"[{group}]\n{entry}\n")
        monkeypatch.syspath_prepend(str(path))
        load_group.cache_clear()

    yield install
    load_group.cache_clear()
    base._REGISTRY.clear()
    base._REGISTRY.update(saved)
    sys.modules.pop("cevns_example_plugin", None)


def test_plugin_scenario_in_process(plugin_path):
    """The scenario is listed, and its counts are scale × SM (exact)."""
    from cevns.experiment import get_detector, get_source
    from cevns.scenarios import get_scenario, scenario_names

    plugin_path("scaled-sm = cevns_example_plugin:ScaledSM")
    assert "scaled-sm" in scenario_names()
    det, src = get_detector("Xe"), get_source("ess")
    two = get_scenario("scaled-sm").counts(det, src, {"scale": 2.0})
    sm = get_scenario("sm").counts(det, src, {})
    np.testing.assert_allclose(two, 2 * sm, rtol=1e-13)


@pytest.mark.parametrize(("entry", "message"), [
    ("scaled = cevns_example_plugin:ScaledSM", "entry-point name must equal the scenario's name"),
    ("scaled-sm = cevns_example_plugin:np", "expected a cevns.scenarios.Scenario subclass"),
    ("scaled-sm = cevns_example_plugin_missing:X", "cannot load plug-in 'scaled-sm'"),
    ("sm = cevns_example_plugin:ScaledSM", "entry-point name must equal"),
    ("broken = cevns_example_plugin:Broken", r"coefficients\(\) and basis\(\) do not match"),
])
def test_bad_plugins_are_clear_errors(plugin_path, entry, message):
    from cevns.errors import CevnsError
    from cevns.experiment import get_detector, get_source
    from cevns.scenarios import get_scenario, scenario_names

    plugin_path(entry)
    with pytest.raises(CevnsError, match=message):
        scenario_names()
        get_scenario("broken").counts(get_detector("Xe"), get_source("ess"), {})


@pytest.mark.parametrize(("entry", "message"), [
    # an overlay named like a built-in one was silently ignored
    ("coherent = cevns_example_plugin:ScaledSM", "overlay name 'coherent' is already taken by"),
    ("mine = cevns_example_plugin:np", "expected an overlay function"),  # was a ConfigError
])
def test_bad_overlay_plugins_are_plugin_errors(plugin_path, entry, message):
    from cevns.analyses.overlays import overlay_names
    from cevns.plugins import PluginError

    plugin_path(entry, group="cevns.overlays")
    with pytest.raises(PluginError, match=f"plug-in '{entry.split()[0]}'.*{message}"):
        overlay_names()


def test_a_scenario_registered_in_code_cannot_replace_another(plugin_path):
    # register_scenario replaced the built-in 'sm' silently (every analysis naming 'sm' then ran
    # the user's class) and accepted a class without a name or a non-Scenario
    from cevns.errors import ConfigError
    from cevns.scenarios import get_scenario, register_scenario
    from cevns.scenarios.builtin import StandardModel

    class Mine(StandardModel):
        name = "sm"

    class Nameless(StandardModel):
        name = ""

    with pytest.raises(ConfigError, match="scenario name 'sm' is already taken by "
                                          "cevns.scenarios.builtin.StandardModel"):
        register_scenario(Mine)
    with pytest.raises(ConfigError, match="Nameless has no name"):
        register_scenario(Nameless)
    with pytest.raises(ConfigError, match="expected a cevns.scenarios.Scenario subclass"):
        register_scenario(dict)
    assert type(get_scenario("sm")) is StandardModel
    assert register_scenario(StandardModel) is StandardModel  # the same class again: a no-op


def test_an_analysis_kind_registered_in_code_cannot_replace_another(monkeypatch):
    # register_kind("profile", ...) replaced the built-in profile runner silently
    from cevns.analyses import base
    from cevns.analyses.base import AnalysisBase, kinds, register_kind
    from cevns.errors import ConfigError

    before = kinds()["profile"]
    monkeypatch.setattr(base, "_KINDS", dict(base._KINDS))  # restored whatever happens
    with pytest.raises(ConfigError, match="analysis kind 'profile' is already taken by "
                                          "cevns.analyses.sensitivity.run.run_profile"):
        register_kind("profile", AnalysisBase)(lambda analysis, out, options: [])
    with pytest.raises(ConfigError, match="model must be an AnalysisBase subclass"):
        register_kind("mine", dict)(lambda analysis, out, options: [])
    assert kinds()["profile"] is before and "mine" not in kinds()


@pytest.mark.parametrize("name", ["profile", "spectra", "threshold-study"])
def test_a_plugin_analysis_kind_cannot_take_a_builtin_name(plugin_path, monkeypatch, name):
    """A plug-in kind named like a built-in one is refused, whichever module of cevns.analyses
    the built-in lives in (they are found from the package's files, not from a hand-kept list)."""
    from cevns.analyses import base
    from cevns.plugins import PluginError

    base.kinds()  # the built-ins are registered before the registry is saved
    monkeypatch.setattr(base, "_KINDS", dict(base._KINDS))
    builtin = base._KINDS[name]
    plugin_path(f"{name} = cevns_example_plugin:ECHO_KIND", group="cevns.analysis_kinds")
    with pytest.raises(PluginError, match=f"plug-in '{name}'.*analysis kind '{name}' is already "
                                          "taken by cevns.analyses."):
        base.kinds()
    assert base._KINDS[name] is builtin


def test_a_plugin_analysis_kind_with_a_new_name_is_accepted(plugin_path, monkeypatch):
    from cevns.analyses import base

    base.kinds()
    monkeypatch.setattr(base, "_KINDS", dict(base._KINDS))
    plugin_path("echo = cevns_example_plugin:ECHO_KIND", group="cevns.analysis_kinds")
    registry = base.kinds()
    assert registry["echo"].run.__module__ == "cevns_example_plugin"
    assert {"profile", "spectra", "echo"} <= set(registry)
