"""docs/architecture.md describes the imports as they are: every package imports only what its row lists.

The table "The imports of each package on the others" is parsed from the page and compared with the
``from cevns.X`` / ``import cevns.X`` statements of every module (read with ``ast``, nothing is
imported). A new dependency between layers must be added to the page, and an upward import shows up
as a failure here.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "cevns"
PAGE = ROOT / "docs" / "architecture.md"


def documented_imports() -> dict[str, set[str]]:
    table: dict[str, set[str]] = {}
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\| `(\w+)` \| ((?:`\w+`(?:, )?)+) \|$", line)
        if m:
            table[m.group(1)] = set(re.findall(r"`(\w+)`", m.group(2)))
    return table


def actual_imports() -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        layer = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] == "cevns" and len(parts) > 1 and parts[1] != layer:
                    found[layer].add(parts[1])
    return found


def test_table_is_parsed():
    table = documented_imports()
    assert {"physics", "experiment", "rates", "scenarios", "stats", "scan", "fits", "analyses",
            "cli"} <= set(table)


def test_imports_match_the_page():
    table = documented_imports()
    undocumented = {
        layer: sorted(deps - table.get(layer, set()))
        for layer, deps in actual_imports().items()
        if layer in table and deps - table[layer]
    }
    assert not undocumented, f"imports not listed in docs/architecture.md: {undocumented}"


def test_stats_and_scan_are_physics_free():
    actual = actual_imports()
    physics_stack = {"physics", "experiment", "rates", "scenarios", "datasets", "fits", "analyses"}
    assert not actual["stats"] & physics_stack
    assert not actual["scan"] & physics_stack
