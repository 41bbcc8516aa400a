"""Plug-ins through the installed ``cevns`` command (audit 6: C7, C8, A4, D2).

* An exception raised by a plug-in's code (a scenario's ``coefficients``, an analysis kind's runner)
  was reported as "internal error: … this is a bug in cevns"; it names the plug-in, its module and
  distribution, and says the error is the plug-in's (exit 1; ``--debug`` shows the traceback).
* A plug-in scenario named "a/b" was loaded, and ``cevns fit -p a/b.scale`` failed after the fit
  while writing ``profile_a/b.scale.csv``: the name is refused when the plug-in loads (exit 2).
* A plug-in scenario's negative counts were reported as "no neutrino gives a recoil above its
  threshold", its NaN coefficients as an "overflow": each is named for what it is (exit 2).

The plug-in is made visible as an installer does: its module and a ``*.dist-info`` folder with
``entry_points.txt`` on ``PYTHONPATH`` (as tests/plugins/test_entry_points.py does).
"""

from __future__ import annotations

import os
import textwrap

from test_output_safety import _refused, cevns

PLUGIN = textwrap.dedent('''
    import numpy as np
    from pathlib import Path

    from cevns.analyses.base import AnalysisBase, Kind
    from cevns.physics.basis import SMBasis
    from cevns.physics.cross_sections import sm_basis_coefficients
    from cevns.scenarios import Parameter, Scenario


    class _Base(Scenario):
        def __init__(self, **options):
            pass

        @property
        def parameters(self):
            return {"scale": Parameter("scale", "strength", 1.0, "", 0.0, 10.0),
                    "sin2_theta_w": Parameter("sin2_theta_w", "strength", 0.23857, "", 0.0, 1.0)}

        def basis(self, shape):
            return SMBasis()

        def coefficients(self, strength):
            return np.asarray(sm_basis_coefficients(strength["sin2_theta_w"])) * strength["scale"]


    class Raising(_Base):
        name = "raisescen"

        def coefficients(self, strength):
            raise ValueError("boom from plug-in")


    class Negative(_Base):
        name = "negscen"

        def coefficients(self, strength):
            return -super().coefficients(strength)


    class NaNs(_Base):
        name = "nanscen"

        def coefficients(self, strength):
            return np.where(strength["scale"] > 2, np.nan, super().coefficients(strength))


    class Slash(_Base):
        name = "a/b"


    class BoomAnalysis(AnalysisBase):
        pass


    def run_boom(analysis, out, options):
        raise RuntimeError("kind boom")


    BOOM_KIND = Kind(model=BoomAnalysis, run=run_boom, description="raises")
''')

PROFILE = textwrap.dedent("""
    schema_version = 1
    name = "{name}"
    title = "plug-in {name}"
    kind = "profile"
    detectors = ["CsI"]
    scenario = {{ name = "{name}" }}
    scan = {{ parameter = "scale", start = 0.5, stop = 3.0, num = 6 }}
""")


def _install(tmp_path, entry_points: str) -> dict:
    """The plug-in ``h6plug 0.3`` with ``entry_points`` on PYTHONPATH: the environment to run in."""
    site = tmp_path / "site"
    dist = site / "h6plug-0.3.dist-info"
    dist.mkdir(parents=True)
    (site / "h6plug.py").write_text(PLUGIN)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: h6plug\nVersion: 0.3\n")
    (dist / "entry_points.txt").write_text(entry_points)
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(site),
                                                         os.environ.get("PYTHONPATH", "")])}


def _blamed_on_plugin(res, *words):
    assert res.returncode == 1, (res.returncode, res.stderr)
    assert "bug in cevns" not in res.stderr and "internal error" not in res.stderr, res.stderr
    assert "error in plug-in code (module h6plug)" in res.stderr, res.stderr
    assert "h6plug 0.3" in res.stderr and "not from cevns" in res.stderr, res.stderr
    for word in words:
        assert word in res.stderr, (word, res.stderr)


def test_a_plugin_scenario_that_raises_is_named_not_called_a_cevns_bug(tmp_path):
    env = _install(tmp_path, "[cevns.scenarios]\nraisescen = h6plug:Raising\n")
    (tmp_path / "r.toml").write_text(PROFILE.format(name="raisescen"))
    res = cevns("run", "r.toml", "--out", "o1", "--executor", "serial", cwd=tmp_path, env=env)
    _blamed_on_plugin(res, "scenario 'raisescen'", "raisescen = h6plug:Raising",
                      "ValueError: boom from plug-in", "--debug")
    assert "Traceback" not in res.stderr, res.stderr
    res = cevns("--debug", "run", "r.toml", "--out", "o2", "--executor", "serial", cwd=tmp_path,
                env=env)
    _blamed_on_plugin(res, "scenario 'raisescen'", "Traceback", 'h6plug.py", line')


def test_a_plugin_analysis_kind_that_raises_is_named(tmp_path):
    env = _install(tmp_path, "[cevns.analysis_kinds]\nboom = h6plug:BOOM_KIND\n")
    (tmp_path / "k.toml").write_text('schema_version = 1\nname = "k"\ntitle = "t"\n'
                                     'kind = "boom"\ndetectors = ["CsI"]\n')
    res = cevns("run", "k.toml", "--out", "o", "--executor", "serial", cwd=tmp_path, env=env)
    _blamed_on_plugin(res, "analysis kind 'boom'", "RuntimeError: kind boom")


def test_a_plugin_scenario_name_that_is_not_a_slug_is_refused_before_the_fit(tmp_path):
    env = _install(tmp_path, "[cevns.scenarios]\na/b = h6plug:Slash\n")
    res = cevns("fit", "coherent-csi-2017", "-p", "a/b.scale", "--range", "0.5,2", "--out", "fo",
                "--no-figures", cwd=tmp_path, env=env)
    _refused(res, "plug-in 'a/b'", "h6plug 0.3", "scenario name 'a/b' is not a safe file name")
    assert not (tmp_path / "fo").exists()


def test_negative_and_nan_plugin_counts_are_named_for_what_they_are(tmp_path):
    env = _install(tmp_path, "[cevns.scenarios]\nnegscen = h6plug:Negative\n"
                             "nanscen = h6plug:NaNs\n")
    for name, words, not_said in [
        ("negscen", ["scenario 'negscen' (module h6plug) gives negative expected counts",
                     "scale = 1", "coefficients()"], "no neutrino gives a recoil"),
        ("nanscen", ["scenario 'nanscen' (module h6plug): coefficients() returned nan",
                     "scale = 2.5"], "overflow"),
    ]:
        (tmp_path / f"{name}.toml").write_text(PROFILE.format(name=name))
        res = cevns("run", f"{name}.toml", "--out", f"o_{name}", "--executor", "serial",
                    cwd=tmp_path, env=env)
        _refused(res, *words)
        assert not_said not in res.stderr, res.stderr
