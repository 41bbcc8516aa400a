"""Writing tables and figures (CSV + Markdown; PNG, and PDF on request)."""

from __future__ import annotations

import csv
from pathlib import Path


def write_table(rows: list[dict], out: Path, stem: str, *, floatfmt: str = ".6g",
                caption: str = "") -> list[Path]:
    """Write ``rows`` as ``stem.csv`` and ``stem.md``; return both paths."""
    if not rows:
        raise ValueError(f"table {stem} has no rows")
    cols = list(rows[0])
    csv_path = out / f"{stem}.csv"
    with csv_path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=cols)
        writer.writeheader()
        writer.writerows(rows)

    def fmt(v):
        if isinstance(v, float):
            return format(v, floatfmt)
        return "" if v is None else str(v)

    lines = ([f"{caption}", ""] if caption else []) + [
        "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(r[c]) for c in cols) + " |" for r in rows]
    md_path = out / f"{stem}.md"
    md_path.write_text("\n".join(lines) + "\n")
    return [csv_path, md_path]


def figure(nrows: int = 1, ncols: int = 1, *, width: str | float = "single",
           height: float | None = None, **kwargs):
    """A new figure in the house style (see :mod:`cevns.analyses.style`); no pyplot, no backend.

    Returns ``(fig, axes)`` with ``axes`` a 2-D array. Create and fill it inside
    :func:`cevns.analyses.style.styled` so that the style applies to every artist.
    """
    from cevns.analyses.style import new_figure

    kwargs.pop("layout", None)
    kwargs.pop("figsize", None)
    return new_figure(nrows, ncols, width=width, height=height, **kwargs)


def save_figure(fig, out: Path, stem: str, *, quick: bool = False, pdf: bool = False,
                on_figure=None) -> list[Path]:
    """Save ``fig`` as ``stem.png`` (and ``stem.pdf`` if ``pdf``, else remove a stale one).

    The margins are fixed when the figure is made (:func:`cevns.analyses.style.new_figure`); no
    ``tight_layout`` and no ``bbox_inches="tight"`` (each would lay the figure out again). A
    ``quick`` preview is written at a lower resolution. ``on_figure(stem, fig)``, if given, is
    called after saving (the figure checks of the test suite use it). Files are written
    atomically (temporary file, then rename), so a reader never sees half a PNG.
    """
    from cevns.analyses.style import styled

    paths = [out / f"{stem}.png"]
    with styled():
        _atomic_savefig(fig, paths[0], dpi=110 if quick else 200)
        if pdf:
            paths.append(out / f"{stem}.pdf")
            _atomic_savefig(fig, paths[1])
        else:  # a PDF left by an earlier run would no longer match the PNG
            (out / f"{stem}.pdf").unlink(missing_ok=True)
    if on_figure is not None:
        on_figure(stem, fig)
    return paths


def _atomic_savefig(fig, path: Path, **kwargs) -> None:
    """``fig.savefig`` to a temporary file in the same folder, then rename (OutputError on OSError)."""
    import os
    import tempfile

    from cevns.fsio import os_errors

    with os_errors(path):
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fig.savefig(fh, format=path.suffix[1:], **kwargs)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
