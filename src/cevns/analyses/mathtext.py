"""Text of an analysis file that is drawn in a figure, checked before anything is computed.

A label with ``$…$`` is matplotlib *mathtext*; a typo in it (``$\\nope$``, an unclosed
``$\\frac{``) used to surface as an internal error while the figure was drawn, after the whole
computation, leaving a folder that a corrected file could not reuse. Fields drawn in a figure
have the type :data:`MathText` (a ``str`` with a marker); :func:`check_drawn_text` parses every
such field of an analysis as the figure will (matplotlib's own parser) and refuses the first
that cannot be drawn, with its dotted path. :func:`cevns.analyses.run_analysis` and the
reproduce scheduler call it before they compute, when figures are drawn. It is not a validator
of the schema: reading an analysis (``cevns reproduce --list``, a ``--no-figures`` run) does not
import matplotlib.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any

from pydantic import BaseModel

from cevns.errors import ConfigError

__all__ = ["check_drawn_text", "check_mathtext"]


class _Drawn:
    """Marker of a ``str`` field drawn in a figure (:data:`MathText`)."""


# The type of a str field drawn in a figure (checked by check_drawn_text before computing).
MathText = Annotated[str, _Drawn()]


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
                          f"(got {text!r})")
    return text


def check_drawn_text(model: BaseModel, where: str = "") -> None:
    """Check every :data:`MathText` field of ``model`` and of the models it holds (lists and
    tuples of them included); a :class:`ConfigError` ``WHERE.PATH: cannot be drawn …`` for the
    first that matplotlib cannot draw."""
    for path, text in _drawn_fields(model, ()):
        try:
            check_mathtext(text)
        except ConfigError as exc:
            dotted = ".".join((where, *path) if where else path)
            raise ConfigError(f"{dotted}: {exc}") from None


def _drawn_fields(value: Any, path: tuple[str, ...]):
    if isinstance(value, BaseModel):
        for name, info in type(value).model_fields.items():
            item = getattr(value, name)
            if any(isinstance(m, _Drawn) for m in info.metadata) and isinstance(item, str):
                yield (*path, name), item
            else:
                yield from _drawn_fields(item, (*path, name))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _drawn_fields(item, (*path, str(i)))
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, BaseModel | list | tuple | dict):
                yield from _drawn_fields(item, (*path, str(key)))


@functools.lru_cache(maxsize=1024)
def _parse_problem(text: str, parser_type) -> str:
    """Why matplotlib cannot lay out ``text`` ("" if it can); memoised by the text (an analysis
    run again, the 30 shipped items of ``reproduce``, parse each label once a process)."""
    try:
        parser_type("path").parse(text, dpi=72)
    except ValueError as exc:
        return " ".join(str(exc).split())
    return ""
