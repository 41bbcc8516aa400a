"""cevns.progress: silent in CI and logs, rich bars in a terminal, widgets in a notebook."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from cevns.errors import ConfigError
from cevns.progress import progress_display, progress_mode


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("CEVNS_PROGRESS", raising=False)


def _console(terminal: bool) -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, force_terminal=terminal, width=80), buf


def test_mode_choice(monkeypatch):
    term, _ = _console(True)
    log, _ = _console(False)
    assert progress_mode(term) == "terminal"
    assert progress_mode(log) == "silent"
    for value, mode in (("true", "silent"), ("1", "silent"), ("false", "terminal"), ("0", "terminal")):
        monkeypatch.setenv("CI", value)
        assert progress_mode(term) == mode
    monkeypatch.setenv("CEVNS_PROGRESS", "terminal")
    assert progress_mode(log) == "terminal"
    monkeypatch.setenv("CEVNS_PROGRESS", "bars")
    with pytest.raises(ConfigError, match="CEVNS_PROGRESS"):
        progress_mode(term)


def test_terminal_draws_bars_and_ci_is_silent(monkeypatch):
    term, buf = _console(True)
    with progress_display(term) as progress:
        progress("fig6 [scalar]", 0, 8)
        progress("fig6 [scalar]", 8, 8)
    assert "fig6 [scalar]" in buf.getvalue()
    monkeypatch.setenv("CI", "true")
    term, buf = _console(True)
    with progress_display(term) as progress:
        progress("fig6", 3, 8)
    assert buf.getvalue() == ""


def test_log_output_is_silent():
    log, buf = _console(False)
    with progress_display(log) as progress:
        for i in range(9):
            progress("x", i, 8)
    assert buf.getvalue() == ""


def test_bad_mode():
    with pytest.raises(ConfigError, match="valid choices"):
        with progress_display(mode="loud"):
            pass


def test_notebook_widgets():
    pytest.importorskip("ipywidgets")
    pytest.importorskip("IPython")
    with progress_display(mode="notebook") as progress:
        progress("scan", 2, 4)
        progress("scan", 4, 4)
