"""Short text and HTML summaries of public objects (``repr`` and Jupyter's ``_repr_html_``).

Every summary is a title and a few ``(key, value)`` rows with units: a few lines in a terminal,
a small table in a notebook. Never the arrays themselves.
"""

from __future__ import annotations

import html
from collections.abc import Sequence


def text_summary(title: str, rows: Sequence[tuple[str, str]]) -> str:
    """``title`` followed by aligned ``key  value`` lines."""
    if not rows:
        return title
    width = max(len(k) for k, _ in rows)
    return title + "\n" + "\n".join(f"  {k:<{width}}  {v}" for k, v in rows)


def html_summary(title: str, rows: Sequence[tuple[str, str]]) -> str:
    """A two-column HTML table with ``title`` as caption (all text escaped)."""
    body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                   f"<td style='text-align:left'>{html.escape(v)}</td></tr>" for k, v in rows)
    return f"<table><caption>{html.escape(title)}</caption>{body}</table>"


def fmt(value: float, digits: int = 4) -> str:
    """A number with ``digits`` significant digits."""
    return f"{value:.{digits}g}"
