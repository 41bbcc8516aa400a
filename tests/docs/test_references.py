"""The repository stands alone: code and docs cite its own pages, and every anchor they cite exists.

Docstrings and comments point at sections of ``docs/physics.md`` as ``docs/physics.md#anchor``;
the anchors are the GitHub/MyST slugs of its headings (``myst_heading_anchors`` in docs/conf.py),
so a renamed heading breaks the pointers. This test recomputes the slugs and checks every pointer.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("src", "docs", "tests", "benchmarks", "scripts")
SUFFIXES = {".py", ".md", ".toml", ".txt", ".yaml", ".cfg", ".rst", ".ipynb"}
# Built from pieces so that this file does not match itself.
FORBIDDEN = ["PHYSICS" + ".md", "ARCHITECTURE" + ".md", "STYLE" + ".md", ".." + "/shared"]


def _files():
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*")):
            parts = set(path.relative_to(ROOT).parts)
            if path.is_file() and path.suffix in SUFFIXES and not parts & {"_build", "generated"}:
                yield path


def slug(heading: str) -> str:
    """GitHub-style heading anchor, as MyST's ``myst_heading_anchors`` computes it."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def heading_anchors(markdown: Path) -> set[str]:
    anchors = set()
    in_code = False
    for line in markdown.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and (m := re.match(r"#{1,6} (.+)", line)):
            anchors.add(slug(m.group(1)))
    return anchors


def test_slug_rule():
    # GitHub's rule: lower case, punctuation dropped, spaces to hyphens
    assert slug("Helm form factor") == "helm-form-factor"
    assert slug("SM CEvNS") == "sm-cevns"
    assert slug("Table 3 calibration") == "table-3-calibration"
    assert slug("Up-scattering") == "up-scattering"


@pytest.mark.parametrize("needle", FORBIDDEN)
def test_no_pointer_outside_the_repository(needle):
    hits = [
        f"{path.relative_to(ROOT)}:{i}"
        for path in _files()
        for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if needle in line
    ]
    assert not hits, f"{needle!r} (outside the repository) is referenced at: {hits}"


def test_every_cited_physics_anchor_exists():
    anchors = {
        "physics.md": heading_anchors(ROOT / "docs" / "physics.md"),
        "architecture.md": heading_anchors(ROOT / "docs" / "architecture.md"),
    }
    # "docs/physics.md#a to #b", "docs/physics.md#a, #b", "(physics.md#a)" in Markdown links
    pointer = re.compile(r"(physics|architecture)\.md((?:#[\w-]+(?:,? (?:to|and) |, )?)+)")
    missing = []
    cited = 0
    for path in _files():
        if path == Path(__file__).resolve():
            continue  # its own docstring and comments show the pattern
        for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            for m in pointer.finditer(line):
                for anchor in re.findall(r"#([\w-]+)", m.group(2)):
                    cited += 1
                    if anchor not in anchors[f"{m.group(1)}.md"]:
                        missing.append(f"{path.relative_to(ROOT)}:{i}: {m.group(1)}.md#{anchor}")
    assert cited > 100, f"only {cited} pointers found: the pattern no longer matches the code"
    assert not missing, "anchors cited but not defined:\n" + "\n".join(missing)
