"""Shared fixtures of the figure and report tests: shipped items run once per session (quick)."""

from __future__ import annotations

import pytest

#: one cheap item of every kind with a figure, plus a table-only item
FAST_ITEMS = ("fig1", "fig8", "fig5", "fig7", "events", "table3")


def _run_items(root, names):
    from cevns.analyses import RunOptions, run_analysis, shipped_analysis

    figures: dict[str, object] = {}
    records = {}
    for name in names:
        an = shipped_analysis(name)
        rec = run_analysis(an, root / name, RunOptions(
            quick=True, on_figure=lambda stem, fig: figures.__setitem__(stem, fig)))
        records[name] = {"title": an.title, "paper": an.paper, "kind": an.kind,
                         "files": rec["files"], "wall_time_s": rec["wall_time_s"],
                         "quick": True}
    return figures, records


@pytest.fixture(scope="session")
def quick_items(tmp_path_factory):
    """``(out, figures, records)`` of :data:`FAST_ITEMS` run with ``quick=True``.

    ``figures`` maps each figure's stem to the drawn :class:`matplotlib.figure.Figure`;
    ``records`` is what ``cevns reproduce`` keeps in ``index.json``.
    """
    out = tmp_path_factory.mktemp("quick_items")
    figures, records = _run_items(out, FAST_ITEMS)
    return out, figures, records


@pytest.fixture(scope="session")
def all_quick_items(tmp_path_factory):
    """Every shipped item, quick (for the slow tests)."""
    from cevns.analyses import item_names

    out = tmp_path_factory.mktemp("all_quick_items")
    figures, records = _run_items(out, item_names())
    return out, figures, records
