"""Declarative analyses: one TOML file per paper figure or table (see :mod:`.base`)."""

from cevns.analyses.base import (
    AnalysisBase,
    RunOptions,
    kinds,
    load_analysis,
    parse_analysis,
    register_kind,
    run_analysis,
)
from cevns.analyses.catalogue import item_names, items, shipped_analysis
from cevns.analyses.hepdata import write_hepdata

__all__ = ["AnalysisBase", "RunOptions", "item_names", "items", "kinds", "load_analysis",
           "parse_analysis", "register_kind", "run_analysis", "shipped_analysis", "write_hepdata"]
