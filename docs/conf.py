"""Sphinx configuration of the cevns documentation.

Build (from the repository root)::

    pip install '.[docs]'
    sphinx-build -W --keep-going -b html docs docs/_build/html

Markdown pages are read by MyST (``myst_nb`` includes ``myst_parser``); the tutorial notebooks in
``docs/notebooks`` are executed at every build (``nb_execution_mode = "force"``), so a notebook that
no longer runs fails the build. The API reference is generated from the docstrings (autosummary +
autodoc, NumPy-style sections through napoleon).
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import version as _dist_version

# Use the installed package; fall back to the source tree for a checkout without installation.
try:
    import cevns  # noqa: F401
except ImportError:  # pragma: no cover - only without `pip install .`
    sys.path.insert(0, os.path.abspath("../src"))

project = "cevns"
author = "cevns developers"
copyright = "cevns developers"
try:
    release = _dist_version("cevns")
except Exception:  # pragma: no cover
    release = "0.1.0"
version = release

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx_copybutton",
]

exclude_patterns = ["_build", "jupyter_execute", "**.ipynb_checkpoints", "README.md"]
templates_path = ["_templates"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"

# --- MyST ---------------------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
# GitHub-style anchors for headings down to level 4, so that `physics.md#helm-form-factor` works
# both on the site and in the repository browser (code comments point at these anchors).
myst_heading_anchors = 4

# --- notebooks (myst-nb) ------------------------------------------------------------------------
nb_execution_mode = "force"
nb_execution_timeout = 180
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

# --- API reference --------------------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = False  # True fails on some keyword-only defaults (Sphinx 9)
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_preprocess_types = False
# Type expressions in signatures (numpy.typing aliases, pydantic internals) are not all resolvable
# as cross-references; they are shown as text rather than reported.
nitpicky = False
# Type fields such as "ndarray, shape (n_bins,)" are turned into fuzzy cross-references; words like
# "shape" then match attributes of several classes. Those ambiguities are not errors in the docs.
suppress_warnings = ["ref.python"]

# --- HTML -----------------------------------------------------------------------------------------
# furo: a clean, accessible theme with light/dark modes and a sidebar built from the toctree; it
# renders MyST Markdown and notebook outputs well and has no JavaScript framework to pin.
html_theme = "furo"
html_title = f"cevns {release}"
html_static_path = []
html_show_sourcelink = True

# --- link checking ----------------------------------------------------------------------------------
# The build machines have no internet: `-b linkcheck` checks only internal links; tests/docs parses
# the built HTML and verifies every relative href/src.
linkcheck_ignore = [r"https?://.*"]
