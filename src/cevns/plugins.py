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
``register_overlay`` / ``register_point`` in code (:class:`~cevns.errors.ConfigError`). Registered
names are slugs (:func:`name_problem`): users type them and they become parts of file names.

An exception raised by a plug-in's own code while cevns runs it (a scenario's ``coefficients``,
an overlay function, a point provider, an analysis kind's runner) is the plug-in's, not a cevns
bug: :func:`plugin_failure` names the plug-in for the command line's message.
"""

from __future__ import annotations

import os
import re
import sys
import traceback
from dataclasses import dataclass
from functools import cache
from importlib.metadata import EntryPoint, entry_points

from cevns.errors import CevnsError

SCENARIO_GROUP = "cevns.scenarios"
ANALYSIS_KIND_GROUP = "cevns.analysis_kinds"
OVERLAY_GROUP = "cevns.overlays"


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
        dist = getattr(ep, "dist", None)
        record(_GROUP_WHAT.get(group, group), ep.name, obj, entry_point=ep.value,
               distribution=f"{dist.name} {dist.version}" if dist is not None else
               "an installed package")
    return tuple(out)


#: What each entry-point group registers, as messages name it.
_GROUP_WHAT = {SCENARIO_GROUP: "scenario", ANALYSIS_KIND_GROUP: "analysis kind",
               OVERLAY_GROUP: "overlay"}


def name_problem(name: object, what: str) -> str | None:
    """Why ``name`` cannot be the registered name of a ``what`` (``"scenario"``, ``"overlay"`` …),
    or None.

    A registered name is typed by users and becomes part of file names (``profile_NAME.PARAM.csv``,
    an item's notes, a scan folder), so it must be a *slug*: the rule of analysis names and
    output stems, :func:`cevns.fsio.check_slug` — a letter or digit first, then letters, digits,
    ``.``, ``_`` and ``-``, at most 128 characters, no ``..``.
    """
    from cevns.errors import OutputError
    from cevns.fsio import check_slug

    try:
        check_slug(name, f"{what} name")  # type: ignore[arg-type]
    except OutputError as exc:
        return f"{exc}; registered names are typed by users and become parts of file names"
    return None


# --- which plug-in raised an exception -------------------------------------------------------------

@dataclass(frozen=True)
class _Plugged:
    """A third-party object a registry calls: what it is registered as, and where it came from."""

    what: str                      # "scenario", "overlay", "analysis kind", "point provider"
    name: str                      # its registered name
    obj: object
    entry_point: str | None = None  # "audplug:RaiseScen"
    distribution: str | None = None  # "audplug 0.1"


#: (what, name) → the plug-in object registered so, for objects not defined in cevns.
_PLUGGED: dict[tuple[str, str], _Plugged] = {}


def _module_of(obj: object) -> str | None:
    run = getattr(obj, "run", None)  # an analysis kind: its runner is the plug-in's code
    if run is not None and hasattr(obj, "model") and callable(run):
        obj = run
    obj = getattr(obj, "func", obj)  # functools.partial
    module = getattr(obj, "__module__", None)
    return module if isinstance(module, str) else None


def _in_cevns(module: str | None) -> bool:
    return module is not None and (module == "cevns" or module.startswith("cevns."))


def record(what: str, name: str, obj: object, *, entry_point: str | None = None,
           distribution: str | None = None) -> None:
    """Note that ``obj`` is registered as the ``what`` called ``name``, so that an exception
    raised by its code can be reported as the plug-in's (:func:`plugin_failure`). Objects
    defined in cevns itself are not noted: an exception in them is cevns's."""
    if _in_cevns(_module_of(obj)):
        return
    known = _PLUGGED.get((what, name))
    if known is not None and known.obj is obj and entry_point is None:
        return  # keep what the entry point said about it
    _PLUGGED[(what, name)] = _Plugged(what, name, obj, entry_point, distribution)


def _roots(module: str | None) -> tuple[str, ...]:
    """Files and folders holding the code of ``module``'s top-level package."""
    if not module:
        return ()
    top = sys.modules.get(module.split(".")[0]) or sys.modules.get(module)
    if top is None:
        return ()
    paths = [os.path.realpath(p) for p in getattr(top, "__path__", ()) or ()]
    file = getattr(top, "__file__", None)
    if not paths and file:
        paths = [os.path.realpath(file)]
    return tuple(paths)


def _under(filename: str, roots: tuple[str, ...]) -> bool:
    path = os.path.realpath(filename)
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def _codes(obj: object) -> set[object]:
    """The code objects of ``obj``: a function's, or those of the methods of a class (and of its
    bases outside cevns)."""
    run = getattr(obj, "run", None)
    if run is not None and hasattr(obj, "model") and callable(run):
        obj = run
    obj = getattr(obj, "func", obj)
    found: set[object] = set()
    top = str(getattr(obj, "__module__", "")).split(".")[0]
    classes = [c for c in obj.__mro__ if c.__module__.split(".")[0] == top] \
        if isinstance(obj, type) else []
    members = [v for c in classes for v in vars(c).values()] if classes else [obj]
    for member in members:
        member = getattr(member, "fget", member)        # properties
        member = getattr(member, "__func__", member)    # class and static methods
        code = getattr(member, "__code__", None)
        if code is not None:
            found.add(code)
    return found


def _identify(frame, candidates: list[_Plugged]) -> _Plugged | None:
    """The candidate whose code ``frame`` runs (a method of its class, or its function)."""
    for rec in candidates:
        if frame.f_code in _codes(rec.obj):
            if isinstance(rec.obj, type):
                this = frame.f_locals.get("self", frame.f_locals.get("cls"))
                owner = this if isinstance(this, type) else type(this)
                if this is not None and isinstance(owner, type) and not issubclass(owner, rec.obj):
                    continue  # an inherited method run for another registered class
            return rec
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    while exc is not None and exc not in out and len(out) < 8:
        out.append(exc)
        exc = exc.__cause__ or exc.__context__
    return out


def plugin_failure(exc: BaseException) -> str | None:
    """If ``exc`` was raised in the code of a registered plug-in (a scenario, overlay, analysis
    kind or point provider not defined in cevns, in this process or in a worker), one line
    naming the plug-in and saying the error is its own; else None.

    The plug-in is the first frame of the traceback, from the outside in, whose file lies in
    the package of a noted plug-in object (:func:`record`); a worker's traceback sent back as
    text (``concurrent.futures``) is searched for the same files.
    """
    if not _PLUGGED:
        return None
    records = list(_PLUGGED.values())
    roots = {id(rec): _roots(_module_of(rec.obj)) for rec in records}
    for link in _chain(exc):
        for frame, _ in traceback.walk_tb(link.__traceback__):
            if _in_cevns(frame.f_globals.get("__name__")):
                continue
            hits = [r for r in records if _under(frame.f_code.co_filename, roots[id(r)])]
            if hits:
                rec = _identify(frame, hits) or (hits[0] if len(hits) == 1 else None)
                return _failure_text(exc, rec, frame.f_globals.get("__name__"), hits)
        remote = getattr(link, "tb", None)  # concurrent.futures.process._RemoteTraceback
        if isinstance(remote, str):
            for filename in re.findall(r'File "([^"]+)", line \d+', remote):
                hits = [r for r in records if _under(filename, roots[id(r)])]
                if hits:
                    rec = hits[0] if len(hits) == 1 else None
                    return _failure_text(exc, rec, _module_of(hits[0].obj), hits)
    return None


def _failure_text(exc: BaseException, rec: _Plugged | None, frame_module: str | None,
                  hits: list[_Plugged]) -> str:
    message = " ".join(part.strip() for part in str(exc).splitlines() if part.strip())
    raised = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    if rec is None:  # several objects of one package, and the frame is none of theirs
        names = ", ".join(sorted(f"{r.what} {r.name!r}" for r in hits))
        return (f"error in plug-in code (module {frame_module}, which provides {names}): "
                f"{raised} — the error comes from the plug-in, not from cevns: report it to "
                "the plug-in's authors")
    module = _module_of(rec.obj) or frame_module
    origin = (f" of {rec.distribution} (entry point {rec.name} = {rec.entry_point})"
              if rec.entry_point else " (registered in code)")
    return (f"error in plug-in code (module {module}): {rec.what} {rec.name!r}{origin} raised "
            f"{raised} — the error comes from the plug-in, not from cevns: report it to the "
            "plug-in's authors")
