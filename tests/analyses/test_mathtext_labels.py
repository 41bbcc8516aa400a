"""Text an analysis file draws in a figure is checked as mathtext when the file is read
(``cevns.analyses.mathtext``): a typo in ``$…$`` was an internal error after the whole computation,
leaving a folder the corrected file could not reuse (eleventh audit)."""

from __future__ import annotations

import subprocess
import tomllib
from importlib import resources

import pytest
from installed import CEVNS  # the environment's installed command

from cevns.analyses import parse_analysis, shipped_analysis
from cevns.analyses.base import RunOptions, run_analysis
from cevns.analyses.mathtext import check_drawn_text, check_mathtext
from cevns.errors import ConfigError


def _shipped_dir():
    return resources.files("cevns.analyses").joinpath("shipped")


def _doc(name: str) -> dict:
    return tomllib.loads((_shipped_dir() / f"{name}.toml").read_text())


@pytest.mark.parametrize("text", ["plain", "cost $5", r"escaped \$5 and $g_A$", r"$m_{Z'}$ [MeV]"])
def test_text_matplotlib_draws_is_kept(text):
    assert check_mathtext(text) == text


@pytest.mark.parametrize("text", [r"axial $\nope$", r"bad $\frac{1}{$ label", r"$x^{$"])
def test_mathtext_matplotlib_cannot_draw_is_refused(text):
    with pytest.raises(ConfigError, match="cannot be drawn as mathtext"):
        check_mathtext(text)


@pytest.mark.parametrize(("item", "edit", "where"), [
    ("fig6", lambda d: d["variants"][2].update(label=r"axial $\nope$"), "fig6.variants.2.label"),
    ("table4", lambda d: d.update(xlabel=r"$\badcommand$"), "table4.xlabel"),
    ("table4", lambda d: d.update(reference_label=r"$\frac{a}{$"), "table4.reference_label"),
    ("fig1", lambda d: d["new_physics"][0].update(label=r"bad $\frac{1}{$ label"),
     "fig1.new_physics.0.label"),
    ("appB4", lambda d: d["cases"][0].update(label=r"$\nope$"), "appB4.cases.0.label"),
])
def test_every_drawn_label_is_checked_before_computing(tmp_path, item, edit, where):
    doc = _doc(item)
    edit(doc)
    an = parse_analysis(doc, where=item)  # reading needs no matplotlib: not checked here
    with pytest.raises(ConfigError, match=rf"{where}: cannot be drawn as mathtext"):
        check_drawn_text(an, item)
    with pytest.raises(ConfigError, match="cannot be drawn as mathtext"):
        run_analysis(an, tmp_path / "o", RunOptions(quick=True))
    assert not (tmp_path / "o").exists()  # refused before the folder is made
    check_drawn_text(shipped_analysis(item), item)  # the shipped labels all parse


def test_cevns_run_refuses_the_file_before_computing(tmp_path):

    text = (_shipped_dir() / "fig6.toml").read_text().replace('label = "axial"',
                                                             r'label = "axial $\\nope$"', 1)
    assert text != (_shipped_dir() / "fig6.toml").read_text()
    (tmp_path / "f.toml").write_text(text)
    res = subprocess.run([*CEVNS, "run", "f.toml", "--out", "o", "--executor", "serial"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr and "cannot be drawn as mathtext" in res.stderr
    assert "variants.2.label" in res.stderr
    assert not (tmp_path / "o").exists()
