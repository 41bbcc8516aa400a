"""Plug-ins: scenarios and analysis kinds from other installed packages.

A package extends ``cevns`` without editing it by declaring entry points in its
``pyproject.toml``::

    [project.entry-points."cevns.scenarios"]
    my-model = "my_package.models:MyScenario"        # a cevns.scenarios.Scenario subclass

    [project.entry-points."cevns.analysis_kinds"]
    my-kind = "my_package.kinds:MY_KIND"              # a cevns.analyses.base.Kind

The entry-point name must equal the registered name (``MyScenario.name``). Plug-ins are loaded
the first time a registry is asked for its names; a plug-in that fails to import, or that is not
what its group expects, is a :class:`PluginError` naming the distribution and the entry point.
A name that is already registered (a built-in one, or another plug-in's) cannot be taken by a
plug-in (:class:`PluginError`) nor by ``register_scenario`` / ``register_kind`` /
``register_overlay`` in code (:class:`~cevns.errors.ConfigError`).
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, entry_points

from cevns.errors import CevnsError

SCENARIO_GROUP = "cevns.scenarios"
ANALYSIS_KIND_GROUP = "cevns.analysis_kinds"


class PluginError(CevnsError, ImportError):
    """An installed plug-in cannot be loaded or does not provide what its entry point promises."""


def _where(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    name = f"{dist.name} {dist.version}" if dist is not None else "an installed package"
    return f"plug-in {ep.name!r} ({ep.value}) of {name}, entry-point group {ep.group!r}"


@cache
def load_group(group: str) -> tuple[tuple[str, object, str], ...]:
    """Load every entry point of ``group``: ``(name, object, description of where it came from)``.

    Cached for the life of the process: the set of installed distributions does not change
    under a running program.
    """
    out = []
    for ep in sorted(entry_points(group=group), key=lambda e: e.name):
        try:
            obj = ep.load()
        except Exception as exc:  # any import-time failure of third-party code
            raise PluginError(f"cannot load {_where(ep)}: {type(exc).__name__}: {exc}") from exc
        out.append((ep.name, obj, _where(ep)))
    return tuple(out)
