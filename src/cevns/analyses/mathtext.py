"""Text of an analysis file that is drawn in a figure: checked when the file is read.

A label with ``$…$`` is matplotlib *mathtext*; a typo in it (``$\\nope$``, an unclosed ``$\\frac{``)
used to surface as an internal error while the figure was drawn, after the whole computation,
leaving a folder that a corrected file could not reuse. :data:`MathText` is the ``str`` type of
such fields: its validator parses the text as the figure will (matplotlib's own mathtext parser,
imported only for text that has a ``$``) and refuses it with the parser's reason.
"""

from __future__ import annotations

import functools
from typing import Annotated

from pydantic import AfterValidator

from cevns.errors import ConfigError

__all__ = ["check_mathtext"]


def check_mathtext(text: str) -> str:
    """``text`` if matplotlib can draw it, else a :class:`ConfigError` with the parser's reason.

    Text that matplotlib draws as plain text — no ``$``, or an odd number of unescaped ones
    (``matplotlib.cbook.is_math_text``) — is returned as it is. Otherwise the text is laid out by
    ``matplotlib.mathtext.MathTextParser("path")``, the parser a figure uses.
    """
    if "$" not in text:
        return text
    from matplotlib.cbook import is_math_text
    from matplotlib.mathtext import MathTextParser

    if not is_math_text(text):
        return text
    reason = _parse_problem(text, MathTextParser)
    if reason:
        raise ConfigError(f"cannot be drawn as mathtext ({reason}); write a valid matplotlib "
                          f"mathtext between $…$, or escape a literal dollar as \\$ "
                          f"(got {text!r})") from None
    return text


# The type of a str field drawn in a figure: its mathtext is checked when the file is read.
MathText = Annotated[str, AfterValidator(check_mathtext)]


@functools.lru_cache(maxsize=1024)
def _parse_problem(text: str, parser_type) -> str:
    """Why matplotlib cannot lay out ``text`` ("" if it can); memoised by the text (an analysis
    file read again, the 30 shipped items of ``reproduce``, parse each label once a process)."""
    try:
        parser_type("path").parse(text, dpi=72)
    except ValueError as exc:
        return " ".join(str(exc).split())
    return ""

