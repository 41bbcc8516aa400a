"""Writing tables and figures (CSV + Markdown, PNG + PDF)."""

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
