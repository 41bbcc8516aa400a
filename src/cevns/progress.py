"""Progress display for long scans: a widget in Jupyter, rich bars in a terminal, silence in logs.

The library reports progress through plain callbacks — :class:`cevns.analyses.RunOptions`
``progress(label, done, total)`` and :func:`cevns.scan.run_scan` ``progress(done, total)`` — and
never prints by itself. :func:`progress_display` turns such callbacks into a display chosen like
``tqdm.auto``::

    from cevns.analyses import RunOptions, run_analysis, shipped_analysis
    from cevns.progress import progress_display

    with progress_display() as progress:
        run_analysis(shipped_analysis("fig6"), "results/fig6", RunOptions(progress=progress))

=============  =================================================================================
mode           when
=============  =================================================================================
``silent``     the environment variable ``CI`` is set (to anything but ``0``/``false``/``no``),
               or the output is not a terminal (a log file, a pipe)
``notebook``   running in a Jupyter kernel with ``ipywidgets`` installed (one bar per label)
``terminal``   otherwise: ``rich.progress`` bars (also in a notebook without ipywidgets)
=============  =================================================================================

``CEVNS_PROGRESS=silent|terminal|notebook`` overrides the choice. Nothing here changes global
state: the display lives only inside the ``with`` block.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal

from cevns.errors import ConfigError

Mode = Literal["silent", "terminal", "notebook"]
ProgressCallback = Callable[[str, int, int], None]
_MODES = ("silent", "terminal", "notebook")


def _in_ci() -> bool:
    value = os.environ.get("CI", "").strip().lower()
    return bool(value) and value not in ("0", "false", "no")


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()
    except AttributeError:  # pragma: no cover - a module named IPython without get_ipython
        return False
    return ip is not None and "IPKernelApp" in getattr(ip, "config", {})


def _has_ipywidgets() -> bool:
    import importlib.util

    return importlib.util.find_spec("ipywidgets") is not None


def forced_mode() -> Mode | None:
    """The display ``CEVNS_PROGRESS`` forces (None if unset or empty); any other value than
    silent, terminal or notebook is a :class:`ConfigError` naming the variable."""
    forced = os.environ.get("CEVNS_PROGRESS", "").strip().lower()
    if not forced:
        return None
    if forced not in _MODES:
        raise ConfigError(f"CEVNS_PROGRESS={forced!r}: valid choices {', '.join(_MODES)}")
    return forced  # type: ignore[return-value]


def progress_mode(console=None) -> Mode:
    """The display :func:`progress_display` would use here (see the module docstring)."""
    forced = forced_mode()
    if forced:
        return forced
    if _in_ci():
        return "silent"
    if _in_notebook():
        return "notebook" if _has_ipywidgets() else "terminal"
    if console is not None:
        return "terminal" if console.is_terminal else "silent"
    return "terminal" if sys.stderr.isatty() else "silent"


def _silent(label: str, done: int, total: int) -> None:
    """Ignore progress."""


@contextmanager
def progress_display(console=None, *, mode: Mode | None = None) -> Iterator[ProgressCallback]:
    """A ``progress(label, done, total)`` callback that draws one bar per label.

    Parameters
    ----------
    console : rich.console.Console, optional
        Where terminal bars go (default: a new console on stderr).
    mode : {"silent", "terminal", "notebook"}, optional
        Force a display; default :func:`progress_mode`.
    """
    mode = mode or progress_mode(console)
    if mode not in _MODES:
        raise ConfigError(f"progress mode {mode!r}: valid choices {', '.join(_MODES)}")
    if mode == "silent":
        yield _silent
    elif mode == "notebook":
        yield from _notebook()
    else:
        yield from _terminal(console)


def _terminal(console) -> Iterator[ProgressCallback]:
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = console or Console(stderr=True)
    bars = Progress(TextColumn("  {task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=True)
    tasks: dict[str, int] = {}

    def update(label: str, done: int, total: int) -> None:
        if label not in tasks:
            tasks[label] = bars.add_task(escape(label), total=total)
        bars.update(tasks[label], completed=done, total=total)

    with bars:
        yield update


def _notebook() -> Iterator[ProgressCallback]:
    import ipywidgets as widgets
    from IPython.display import display

    bars: dict[str, tuple] = {}

    def update(label: str, done: int, total: int) -> None:
        if label not in bars:
            bar = widgets.IntProgress(min=0, max=max(total, 1), description="")
            text = widgets.Label(f"{label}: {done}/{total}")
            bars[label] = (bar, text)
            display(widgets.HBox([bar, text]))
        bar, text = bars[label]
        bar.max = max(total, 1)
        bar.value = done
        bar.bar_style = "success" if done >= total else ""
        text.value = f"{label}: {done}/{total}"

    yield update
