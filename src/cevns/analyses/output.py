"""Writing tables and figures (CSV + Markdown; PNG, and PDF on request)."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

from cevns import fsio
from cevns.errors import OutputError


def _csv_text(rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def write_csv(rows: list[dict], path: Path | str | None) -> Path | None:
    """Write ``rows`` as CSV to exactly ``path``; ``None`` writes to stdout.

    A regular file is written atomically (a reader sees the old or the new file); an existing
    special file (``/dev/stdout``, a FIFO) is written directly. The folder must exist. Errors name
    the path (:class:`cevns.errors.OutputError`).
    """
    if not rows:
        raise ValueError("the table has no rows")
    text = _csv_text(rows)
    if path is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return None
    path = Path(path)
    if path.exists() and not path.is_file() and not path.is_dir():
        with fsio.os_errors(path):
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
        return path
    if path.is_dir():
        raise OutputError(f"cannot write {path}: is a folder")
    if not path.parent.is_dir():
        raise OutputError(f"cannot write {path}: folder {path.parent} does not exist")
    return fsio.atomic_write_text(path, text)


def write_table(rows: list[dict], out: Path, stem: str, *, floatfmt: str = ".6g",
                caption: str = "") -> list[Path]:
    """Write ``rows`` as ``stem.csv`` and ``stem.md`` inside ``out``; return both paths.

    ``stem`` must be a slug (:func:`cevns.fsio.check_slug`) and both files stay inside ``out``
    (:func:`cevns.fsio.inside`); each is written atomically.
    """
    if not rows:
        raise ValueError(f"table {stem} has no rows")
    fsio.check_slug(stem, "table name")
    cols = list(dict.fromkeys(k for r in rows for k in r))  # union of the rows' keys, in order
    rows = [{c: r.get(c) for c in cols} for r in rows]  # a missing cell is empty
    csv_path = fsio.atomic_write_text(fsio.inside(out, f"{stem}.csv"), _csv_text(rows))

    def fmt(v):
        if isinstance(v, float):
            return format(v, floatfmt)
        return "" if v is None else str(v)

    lines = ([f"{caption}", ""] if caption else []) + [
        "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(r[c]) for c in cols) + " |" for r in rows]
    md_path = fsio.atomic_write_text(fsio.inside(out, f"{stem}.md"), "\n".join(lines) + "\n")
    return [csv_path, md_path]


#: zlib level of the PNGs (matplotlib's and Pillow's default is 6): on the 29 figures of
#: ``cevns reproduce`` level 3 encodes in 0.58 s CPU instead of 0.82 s for 2.85 MB instead of
#: 2.52 MB (+13 %); the pixels are the same (PNG is lossless)
PNG_COMPRESS_LEVEL = 3


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
    ``quick`` preview is written at a lower resolution (110 instead of 200 dpi). The PNG is
    compressed at zlib level :data:`PNG_COMPRESS_LEVEL`. ``on_figure(stem, fig)``, if given, is
    called after saving (the figure checks of the test suite use it). Files are written
    atomically (temporary file, then rename), so a reader never sees half a PNG.
    """
    from cevns.analyses.style import major_ticks_in_view, minor_ticks_as_marks, styled

    paths = [out / f"{stem}.png"]
    with styled(), minor_ticks_as_marks(fig), major_ticks_in_view(fig):
        _atomic_savefig(fig, paths[0], dpi=110 if quick else 200,
                        pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL})
        if pdf:
            paths.append(out / f"{stem}.pdf")
            _atomic_savefig(fig, paths[1])
        else:  # a PDF left by an earlier run would no longer match the PNG
            (out / f"{stem}.pdf").unlink(missing_ok=True)
    if on_figure is not None:
        on_figure(stem, fig)
    return paths


def _atomic_savefig(fig, path: Path, **kwargs) -> None:
    """``fig.savefig`` to a temporary file in the same folder, then rename (OutputError on OSError;
    :func:`cevns.fsio.atomic_open`)."""
    from cevns.fsio import atomic_open

    with atomic_open(path, "wb", fsync=False) as fh:
        fig.savefig(fh, format=path.suffix[1:], **kwargs)
