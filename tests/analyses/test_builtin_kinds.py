"""The built-in analysis kinds are found from the files of the cevns.analyses package (no
hand-kept list of modules to edit when a kind moves): every module that applies
``@register_kind(`` is imported before a user's kind is registered, and a runner defined in the
package counts as built-in."""

from __future__ import annotations

import sys

import pytest

from cevns.analyses import base


def test_the_shipped_kind_modules_are_found():
    # the modules the hand-kept list named before (cevns 0.1): the derivation finds them
    assert base._builtin_kind_modules() == (
        "cevns.analyses.appendix_b", "cevns.analyses.runners", "cevns.analyses.running",
        "cevns.analyses.sensitivity.run")


def test_every_registered_builtin_kind_comes_from_a_found_module():
    registry = base.kinds()
    modules = {kind.run.__module__ for kind in registry.values() if base._is_builtin(kind.run)}
    assert modules == set(base._builtin_kind_modules())
    assert {"profile", "scan2d", "exclusion", "spectra", "event-table", "running",
            "threshold-study"} <= set(registry)


def test_a_kind_moved_to_another_module_is_still_found(tmp_path, monkeypatch):
    """A package laid out like cevns.analyses: the modules that apply the decorator, in
    sub-packages too, are found; a mention in a comment or a folder that is no package is not."""
    package = tmp_path / "fake_analyses"
    (package / "sensitivity").mkdir(parents=True)
    (package / "loose").mkdir()
    (package / "__init__.py").write_text("")
    (package / "sensitivity" / "__init__.py").write_text("")
    (package / "moved.py").write_text('@register_kind("a", M)\ndef run(a, o, p):\n    return []\n')
    (package / "sensitivity" / "deep.py").write_text('@register_kind("b", M, "doc")\ndef r(): ...\n')
    (package / "other.py").write_text("# register_kind(...) is applied elsewhere\nX = 1\n")
    (package / "loose" / "stray.py").write_text('@register_kind("c", M)\ndef r(): ...\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert base._builtin_kind_modules("fake_analyses") == (
            "fake_analyses.moved", "fake_analyses.sensitivity.deep")
    finally:
        sys.modules.pop("fake_analyses", None)  # the package is imported to find its files


def test_builtin_means_defined_in_the_package():
    def runner(analysis, out, options):
        return []

    assert not base._is_builtin(runner)  # defined in a test module
    runner.__module__ = "cevns.analyses.some_new_module"
    assert base._is_builtin(runner)
    runner.__module__ = "cevns.analysesx"  # a prefix of the name is not the package
    assert not base._is_builtin(runner)


def test_spectra_ratio_strips_need_benchmarks():
    """``ratio_panel`` of a spectra item divides its new-physics benchmarks by the SM: without
    benchmarks it is refused when the file is read, not drawn as empty strips."""
    from cevns.analyses import shipped_analysis
    from cevns.errors import ConfigError

    fig1 = shipped_analysis("fig1")
    assert fig1.ratio_panel and fig1.new_physics
    with pytest.raises(ConfigError, match=r"ratio_panel = true .* no \[\[new_physics\]\]"):
        fig1.replace(new_physics=())
    assert not fig1.replace(new_physics=(), ratio_panel=False).ratio_panel
