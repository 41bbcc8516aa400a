"""Overlays: curves from other experiments drawn over an item's figure, by name.

An exclusion item may ask for overlays in its analysis file::

    overlays = ["coherent"]

Each name is looked up in a registry of *overlay functions*. An overlay function receives an
:class:`OverlayRequest` (the parsed analysis, the variant drawn in the panel, the item's x and y
grids, and whether the run is a quick preview) and returns a list of :class:`Overlay` s, each
either a Δχ² grid on the item's own (x, y) grid — drawn as the contour at the item's level — or
an explicit polyline in the item's axis units. Every overlay carries a legend label and a
one-line ``source`` that says where it comes from (printed in the item's notes), so that a curve
computed by this package is never mistaken for a published one. What a function returns is
checked (:func:`call_overlay`; the fields of each :class:`Overlay` when it is made): a plug-in's
slip is an error naming it, not a crash while drawing or a curve silently missing.

Built-in overlays live in modules listed in :data:`BUILTIN_MODULES`, imported on first lookup;
a plug-in adds one with :func:`register_overlay` (or an entry point of the group
``cevns.overlays`` whose object is the function; the entry-point name is the overlay's name).

An overlay registered with ``in_quick=False`` (the ``"coherent"`` one: full likelihood fits of the
COHERENT releases, about 0.5 s per panel) is not computed in ``--quick`` previews; the item's
notes say so. Others (cheap polylines, plug-ins by default) are drawn in previews too.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cevns.errors import ConfigError, finite_array, not_real_numbers

__all__ = [
    "BUILTIN_MODULES",
    "OVERLAY_GROUP",
    "Overlay",
    "OverlayRequest",
    "call_overlay",
    "get_overlay",
    "overlay_in_quick",
    "overlay_names",
    "register_overlay",
]

#: Entry-point group through which installed packages add overlays.
OVERLAY_GROUP = "cevns.overlays"

#: Modules of cevns that register built-in overlays when imported.
BUILTIN_MODULES: tuple[str, ...] = ("cevns.analyses.coherent_overlay",)


@dataclass(frozen=True)
class OverlayRequest:
    """What an overlay function is asked for: one panel of one item."""

    analysis: Any                      #: the parsed analysis (an ExclusionAnalysis)
    variant: Any | None                #: the variant drawn in the panel, or None
    x: NDArray[np.float64]             #: the item's x grid, in the item's x-axis units
    y: NDArray[np.float64]             #: the item's y grid, in the item's y-axis units
    quick: bool = False                #: a quick preview: the overlay may use a coarser grid


@dataclass(frozen=True)
class Overlay:
    """One curve drawn over an item's figure.

    Either ``delta_chi2`` (shape ``(len(x), len(y))``, drawn as the contour at the item's
    level) or, when it is None, the polyline ``(x, y)`` drawn as it is.
    """

    label: str                         #: legend text (mathtext allowed)
    source: str                        #: one line: what was computed or published, and by whom
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    delta_chi2: NDArray[np.float64] | None = None
    style: dict[str, Any] = field(default_factory=dict)   #: matplotlib line keywords

    @property
    def note(self) -> str:
        """The line of the item's notes file that names the overlay and its source."""
        return f"overlay {self.label}: {self.source}"

    def __post_init__(self) -> None:
        # an Overlay is made by plug-in code: what would fail later (a crash while drawing, NaN
        # rows in the overlays table, a curve silently dropped) is refused here, naming it
        if not isinstance(self.label, str) or not self.label.strip():
            raise ConfigError(f"overlay label: must be a non-empty string (the legend text), "
                              f"got {self.label!r}")
        where = f"overlay {self.label!r}"
        if not isinstance(self.source, str) or not self.source.strip():
            raise ConfigError(f"{where}: source must be a non-empty string (one line: where the "
                              f"curve comes from), got {self.source!r}")
        x = finite_array(self.x, f"{where}: x", numbers="an array of real numbers")
        y = finite_array(self.y, f"{where}: y", numbers="an array of real numbers")
        if self.delta_chi2 is not None:
            if x.ndim != 1 or y.ndim != 1:
                raise ConfigError(f"{where}: the axes of a Δχ² grid must be 1-D, got x of shape "
                                  f"{x.shape} and y of shape {y.shape}")
            d = _delta_grid(self.delta_chi2, where)
            if d.shape != (x.size, y.size):
                raise ConfigError(f"{where}: Δχ² grid of shape {d.shape} does "
                                  f"not match its axes ({x.size}, {y.size})")
        elif x.shape != y.shape:
            raise ConfigError(f"{where}: polyline x and y differ in shape "
                              f"({x.shape} vs {y.shape})")
        elif x.ndim != 1:
            raise ConfigError(f"{where}: a polyline's x and y must be 1-D, got shape {x.shape}")
        problem = _style_problem(self.style)
        if problem:
            raise ConfigError(f"{where}: {problem}")


def _delta_grid(value: object, where: str) -> NDArray[np.float64]:
    """``value`` as a float array of Δχ² values: NaN (not computed) and +inf (excluded) cells
    are drawn as far above the level (:func:`cevns.stats.finite_delta`), but a grid that is NaN
    everywhere has nothing to draw, and -inf is no Δχ²."""
    name = f"{where}: Δχ² grid"
    not_real_numbers(value, name, "an array of real numbers")
    try:
        d = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be an array of real numbers, got "
                          f"{type(value).__name__}") from None
    if d.size and np.isnan(d).all():
        raise ConfigError(f"{name} is NaN everywhere: there is nothing to draw")
    if np.any(d == -np.inf):
        raise ConfigError(f"{name} holds -inf; a Δχ² is a number ≥ 0, +inf (excluded) or NaN "
                          "(not computed)")
    return d


#: Line keywords an overlay cannot set in ``style``: the overlay's own label and points.
_NOT_STYLE = ("label", "data", "xdata", "ydata")


def _style_problem(style: object) -> str | None:
    """Why ``style`` is not a set of matplotlib line properties (:class:`matplotlib.lines.Line2D`),
    or None. Aliases (``c``, ``lw``) are refused: the style is merged with the default one,
    which uses the full names."""
    if not isinstance(style, dict):
        return f"style must be a dict of matplotlib line properties, got {style!r}"
    if not style:
        return None
    taken = [k for k in style if k in _NOT_STYLE]
    if taken:
        return (f"style cannot set {', '.join(map(repr, taken))}: the overlay's label and "
                "points are its own fields")
    from matplotlib.cbook import normalize_kwargs
    from matplotlib.lines import Line2D

    try:
        Line2D([], []).set(**style)  # a throwaway artist: unknown keys and bad values raise
    except Exception as exc:  # noqa: BLE001 - whatever matplotlib refuses, the style is wrong
        return f"style {style!r} is not valid for a matplotlib line: {exc}"
    full = normalize_kwargs(style, Line2D)  # the same keys in the same order, aliases replaced
    aliases = {k: n for k, n in zip(style, full, strict=True) if k != n}
    if aliases:
        return ("style: use the full names of matplotlib line properties, not aliases: "
                + ", ".join(f"{n!r} for {k!r}" for k, n in aliases.items()))
    return None


OverlayFunction = Callable[[OverlayRequest], list[Overlay]]

_REGISTRY: dict[str, OverlayFunction] = {}
#: names of the overlays that are skipped in ``--quick`` previews
_NOT_IN_QUICK: set[str] = set()
_LOADED = False


def register_overlay(name: str, function: OverlayFunction, *,
                     in_quick: bool = True) -> OverlayFunction:
    """Register ``function`` under ``name``.

    Like ``register_scenario`` and ``register_kind``: the built-in overlays are registered first
    (so that a user's ``"coherent"`` is refused here, not when the built-ins load later), and a
    :class:`ConfigError` refuses a name that is not a slug, a name another function already has,
    a ``function`` that is not a function of one argument (an :class:`OverlayRequest`), and the
    same function again with another ``in_quick``; registering it again as it is changes nothing.

    ``in_quick=False``: too costly for a ``--quick`` preview, which then skips it (and says so
    in the item's notes)."""
    if not _is_builtin(function):
        _import_builtins()
    problem = _overlay_problem(name, function)
    if problem:
        raise ConfigError(f"register_overlay: {problem}")
    if not isinstance(in_quick, bool):
        raise ConfigError(f"register_overlay: in_quick must be true or false, got {in_quick!r}")
    if _REGISTRY.get(name) is function and (name not in _NOT_IN_QUICK) != in_quick:
        raise ConfigError(f"register_overlay: overlay {name!r} is already registered with "
                          f"in_quick={not in_quick}; registering it again with "
                          f"in_quick={in_quick} would change it (register it once, with the "
                          "setting it needs)")
    _add(name, function, in_quick)
    return function


def _is_builtin(function: object) -> bool:
    return getattr(function, "__module__", None) in BUILTIN_MODULES


def _import_builtins() -> None:
    """Import the modules of the built-in overlays (they register themselves)."""
    for module in BUILTIN_MODULES:
        importlib.import_module(module)


def _qualname(obj: object) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def _overlay_problem(name: object, function: object) -> str | None:
    """Why ``function`` cannot be registered as the overlay ``name``, or None: a name that is not
    a slug or that another function has, or an object that is not a function of one argument."""
    from cevns.plugins import name_problem

    if not isinstance(name, str) or not name:
        return f"an overlay name must be a non-empty string, got {name!r}"
    problem = name_problem(name, "overlay")
    if problem:
        return problem
    known = _REGISTRY.get(name)
    if known is not None and known is not function:
        return (f"overlay name {name!r} is already taken by {_qualname(known)} (an overlay of "
                "that name is already registered); choose another name")
    return _function_problem(function)


def _function_problem(function: object) -> str | None:
    """Why ``function`` is not an overlay function (called as ``function(request)`` and returning
    a list of :class:`Overlay`), or None."""
    if isinstance(function, type) or not callable(function):
        what = f"class {_qualname(function)}" if isinstance(function, type) else \
            f"{type(function).__name__} {function!r}"
        return (f"expected an overlay function (OverlayRequest → list of Overlay), got {what}")
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # a builtin without a signature: trust it
        return None
    try:
        signature.bind(None)
    except TypeError:
        return (f"the overlay function {_qualname(function)}{signature} cannot be called with "
                "one argument (the OverlayRequest)")
    return None


def _add(name: str, function: OverlayFunction, in_quick: bool) -> None:
    from cevns.plugins import record

    _REGISTRY[name] = function
    if in_quick:
        _NOT_IN_QUICK.discard(name)
    else:
        _NOT_IN_QUICK.add(name)
    record("overlay", name, function)  # an exception in its code is reported as the plug-in's


def overlay_in_quick(name: str) -> bool:
    """Whether the overlay ``name`` is computed in ``--quick`` previews (see
    :func:`register_overlay`); an unknown name is a :class:`ConfigError`."""
    get_overlay(name)
    return name not in _NOT_IN_QUICK


def _load() -> None:
    global _LOADED
    if _LOADED:
        return
    _import_builtins()
    from cevns.plugins import PluginError, load_group

    for name, obj, where in load_group(OVERLAY_GROUP):
        problem = _overlay_problem(name, obj)  # a name clash was silently ignored
        if problem:
            raise PluginError(f"{where}: {problem}")
        _add(name, obj, True)
    _LOADED = True


def overlay_names() -> list[str]:
    """Every registered overlay name, sorted."""
    _load()
    return sorted(_REGISTRY)


def call_overlay(name: str, request: OverlayRequest) -> list[Overlay]:
    """The overlays of the overlay function ``name`` for ``request``, checked: a function that
    returns anything but a list or tuple of :class:`Overlay` (``None``, a generator, other
    objects), or whose :class:`Overlay` is refused, is a :class:`ConfigError` naming it."""
    function = get_overlay(name)
    where = f"overlay {name!r} ({_qualname(function)})"
    try:
        found = function(request)
    except ConfigError as exc:  # an Overlay it made was refused (Overlay.__post_init__)
        raise ConfigError(f"{where}: {exc}") from exc
    expected = "expected a list of cevns.analyses.overlays.Overlay"
    if not isinstance(found, (list, tuple)):
        raise ConfigError(f"{where} returned {_shown(found)}; {expected}")
    for i, ov in enumerate(found):
        if not isinstance(ov, Overlay):
            raise ConfigError(f"{where} returned {_shown(ov)} as item {i}; {expected}")
    return list(found)


def _shown(value: object) -> str:
    return "None" if value is None else f"{type(value).__name__} {value!r:.80}"


def get_overlay(name: str) -> OverlayFunction:
    """The overlay function registered as ``name``; an unknown name is a :class:`ConfigError`."""
    _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise ConfigError(f"unknown overlay {name!r}; registered overlays: {known}") from None
