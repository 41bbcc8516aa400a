"""Help texts are rendered by rich: a literal "[" must be escaped or rich eats it as markup.

Found by reading ``cevns reproduce --help``: "[detector.NAME]" and "cevns[hepdata]" had vanished.
"""

from __future__ import annotations

import re
import subprocess
import sys

import click
import typer

from cevns.cli import app


def _all_params():
    root = typer.main.get_command(app)
    stack = [(root.name, root)]
    while stack:
        path, cmd = stack.pop()
        for p in cmd.params:
            yield path, p
        if isinstance(cmd, click.Group):
            stack.extend((f"{path} {n}", c) for n, c in cmd.commands.items())


def test_every_literal_bracket_in_option_help_is_escaped():
    offenders = []
    for path, p in _all_params():
        text = getattr(p, "help", None) or ""
        # an unescaped "[" followed by a word character would be parsed as a rich markup tag
        if re.search(r"(?<!\\)\[[A-Za-z/]", text):
            offenders.append(f"{path} {p.name}: {text[:60]}")
    assert not offenders, offenders


def test_reproduce_help_shows_the_bracketed_words():
    out = subprocess.run([sys.executable, "-m", "cevns", "reproduce", "--help"],
                         capture_output=True, text=True, env={"COLUMNS": "200", "PATH": ""},
                         check=True).stdout
    assert "[detector.NAME]" in out
    assert "cevns[hepdata]" in out
