"""The shipped analyses: the items of ``cevns reproduce``, in the paper's order."""

from __future__ import annotations

from importlib import resources

from cevns.analyses.base import AnalysisBase, parse_analysis
from cevns.config import load_toml
from cevns.errors import UnknownNameError
from cevns.experiment.catalogue import Catalogue


def _natural_key(name: str):
    import re

    kind = 0 if name.startswith("fig") else 1 if name.startswith("table") else 2
    digits = re.findall(r"\d+", name)
    return (kind, int(digits[0]) if digits else 0, name)


def item_names() -> list[str]:
    """Names of the shipped analyses (``fig1``, ``events``, …)."""
    root = resources.files("cevns.analyses").joinpath("shipped")
    names = [p.name[:-5] for p in root.iterdir() if p.name.endswith(".toml")]
    return sorted(names, key=_natural_key)


def shipped_analysis(name: str, catalogue: Catalogue | None = None) -> AnalysisBase:
    """The validated shipped analysis called ``name`` (names resolved in ``catalogue``, default
    built-ins + ``CEVNS_PRESETS``; docs/catalogue.md)."""
    valid = item_names()
    if name not in valid:
        raise UnknownNameError("reproduce item", name, valid)
    root = resources.files("cevns.analyses").joinpath("shipped")
    with resources.as_file(root.joinpath(f"{name}.toml")) as path:
        return parse_analysis(load_toml(path), where=f"{name}.toml", catalogue=catalogue)


def items(catalogue: Catalogue | None = None) -> dict[str, AnalysisBase]:
    """All shipped analyses by name."""
    return {name: shipped_analysis(name, catalogue) for name in item_names()}
