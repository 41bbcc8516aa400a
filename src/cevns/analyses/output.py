"""Writing tables and figures (CSV + Markdown, PNG + PDF)."""

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
    cols = list(rows[0])
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


def figure(nrows: int = 1, ncols: int = 1, **kwargs):
    """A new matplotlib figure on the non-interactive Agg backend.

    The layout is fixed once when the figure is saved (``tight_layout``) rather than by the
    constrained-layout engine, which redraws every tick of every log axis several times per file.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    kwargs.pop("layout", None)
    return plt.subplots(nrows, ncols, **kwargs)


def save_figure(fig, out: Path, stem: str, *, quick: bool = False) -> list[Path]:
    """Save ``fig`` as PNG and PDF (PNG only for a ``quick`` preview); close it; return paths."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    paths = [out / f"{stem}.png"]
    fig.savefig(paths[0], dpi=100 if quick else 130, bbox_inches="tight")
    if not quick:
        paths.append(out / f"{stem}.pdf")
        fig.savefig(paths[1], bbox_inches="tight")
    plt.close(fig)
    return paths
