"""The exceptions of ``cevns``: one hierarchy, one module.

Catch :class:`CevnsError` to handle anything this package raises on purpose. Every message names
the offending field or value and, where a finite set is valid, the valid choices.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal


class CevnsError(Exception):
    """Base class of every error raised on purpose by cevns."""


@dataclass(frozen=True)
class Problem:
    """One refused field of a validated configuration (:attr:`ConfigError.problems`).

    Attributes
    ----------
    path : tuple of str
        Where the field is: the validation's ``where`` (e.g. ``"scenario"``) and the keys below
        it, e.g. ``("scenario", "interaction")``.
    kind : {"missing", "unknown", "invalid"}
        A required field not given, a key the model does not have, or a value it refuses.
    message : str
        The problem in words, without the path and without the refused value when that is in
        :attr:`given` (``"unknown key (did you mean 'interaction'?)"``, ``"Input should be
        'contact' or 'light'"``).
    hint : str
        The part of :attr:`message` that says what would be valid (``"did you mean
        'interaction'?"``, ``"valid keys: contact, interaction"``), or "".
    given : str
        The refused value as read, written as Python writes it (``"'axial'"``, ``"True"``), or ""
        where the message says it itself or there is none to show. A caller that knows how
        the user typed the value quotes that instead (``--option flag=true`` read as ``True``).
    """

    path: tuple[str, ...]
    kind: Literal["missing", "unknown", "invalid"]
    message: str
    hint: str = ""
    given: str = ""

    @property
    def text(self) -> str:
        """:attr:`message` with the refused value: ``"MESSAGE (got GIVEN)"``, or the message."""
        return f"{self.message} (got {self.given})" if self.given else self.message

    @property
    def key(self) -> str:
        """The field's own name (the last part of :attr:`path`), or "" for the whole input."""
        return self.path[-1] if self.path else ""


class ConfigError(CevnsError, ValueError):
    """A configuration, preset or argument is malformed, misspelled or out of range.

    Attributes
    ----------
    problems : tuple of Problem
        For a configuration refused by its schema (:func:`cevns.config.validate`): every refused
        field, structured, so that a caller can word them in its own terms (the command line
        names ``--option KEY=VALUE`` where a file names ``scenario.options.KEY``) without reading
        the message. Empty for other errors.
    """

    def __init__(self, *args: object, problems: Iterable[Problem] = ()):
        super().__init__(*args)
        self.problems: tuple[Problem, ...] = tuple(problems)


def finite_array(value: object, name: str, *, numbers: str = "a number or array of numbers",
                 minimum: float | None = None, strict: bool = False,
                 unit: tuple[float, str] | None = None, bounds: str | None = None):
    """``value`` as a float NumPy array, or a :class:`ConfigError` naming `name`: the check of
    user-given numbers before they reach a formula that would turn them into a silent NaN or 0.

    Parameters
    ----------
    value : array_like
        The numbers to check.
    name : str
        What they are, as the user named them (``"neutrino_energy"``); it starts every message.
    numbers : str
        What was expected where ``value`` is not numbers: "`name` must be `numbers`, got …".
    minimum : float or None
        ``None``: every entry must be finite ("`name` must be finite, got …"). A number: every
        entry must also be ≥ ``minimum`` (> with ``strict``), checked in the same two reductions
        (min and max) as finiteness ("`name` must be finite and ≥ 0, got …"); in the units of
        ``value``.
    strict : bool
        With ``minimum``: the bound itself is refused (> instead of ≥).
    unit : (float, str) or None
        ``(scale, label)``, e.g. ``(MeV, "MeV")``: a finite offending value is reported as
        ``value / scale`` followed by ``label`` (internal units read out in that unit); ``None``:
        as the number itself.
    bounds : str or None
        Without ``minimum``: the range the caller checks next, named in the message of a NaN or
        ±inf ("`name` must be finite and `bounds`, got nan"; e.g. ``"in [0, 1]"``), so that a
        non-finite value is told the same range as a finite value outside it.

    NumPy is imported here: this module stays light for the command line.
    """
    import numpy as np

    if is_text(value):
        raise ConfigError(f"{name} must be {numbers}, got {value!r}")
    not_real_numbers(value, name, numbers)
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be {numbers}, got {value!r}") from None
    above = strict or minimum is None  # no minimum: every value > -inf (NaN fails any comparison)
    low = -np.inf if minimum is None else minimum
    if arr.size == 0:
        return arr
    lo, hi = arr.min(), arr.max()  # two reductions, no temporary array on the common path
    if (lo > low if above else lo >= low) and hi < np.inf:
        return arr
    ok = ((arr > low) if above else (arr >= low)) & (arr < np.inf)
    bad = float(arr[~ok].flat[0])
    got = f"{bad / unit[0]:g} {unit[1]}" if unit is not None and np.isfinite(bad) else f"{bad}"
    if minimum is not None:
        expected = f"finite and {'>' if strict else '≥'} {minimum:g}"
    else:
        expected = f"finite and {bounds}" if bounds else "finite"
    raise ConfigError(f"{name} must be {expected}, got {got}")


#: The finite pull widths σ a nuisance may have, [1e-150, 1e150]: its pull weight 1/σ² (and the
#: Hessian term 2/σ²) is then a finite, non-zero float (σ² overflows above σ ≈ 1.3e154, 1/σ²
#: below σ ≈ 7.5e-155). Defined here, the leaf every layer imports, so that the statistics layer
#: (:data:`cevns.stats.likelihood.SIGMA_RANGE`) and the data readers that check a release's
#: relative prior widths (``cevns.datasets``, which sits below ``stats``) share one bound.
SIGMA_RANGE = (1e-150, 1e150)

#: NumPy dtype kinds that convert to float without an error but are not real numbers: bool
#: (True → 1.0), complex (the imaginary part dropped with a warning), datetime and timedelta
#: (a date read as a count of days).
_NOT_REAL_KINDS = {"b": "booleans", "c": "complex numbers", "M": "dates", "m": "time spans"}


def not_real_numbers(value: object, name: str, numbers: str) -> None:
    """Refuse, with a :class:`ConfigError` naming `name`, an array-like whose dtype converts to
    float without an error but is not real numbers (:data:`_NOT_REAL_KINDS`: a bool, complex,
    datetime or timedelta array or NumPy scalar), and a masked array (its mask would be dropped
    and the masked entries used as numbers). Python lists are left to the float conversion (a
    complex or a date in a list fails it). Only attributes are read: no copy, no import."""
    if getattr(value, "mask", None) is not None and type(value).__name__ == "MaskedArray":
        raise ConfigError(f"{name} must be {numbers}, got a masked array (its masked entries "
                          "would be used as numbers); pass the values to use, e.g. "
                          "a.compressed() or a.filled(...)")
    kind = getattr(getattr(value, "dtype", None), "kind", None)
    if kind in _NOT_REAL_KINDS:
        raise ConfigError(f"{name} must be {numbers}, got an array of {_NOT_REAL_KINDS[kind]} "
                          f"(dtype {value.dtype})")  # type: ignore[attr-defined]


def finite_number(value: object, name: str, valid: str, ok=None) -> float:
    """``value`` as a float if it is one finite number (not text, not true/false) for which
    ``ok(value)`` holds (if given); else a :class:`ConfigError` "`name` must be `valid`, got …"
    quoting the value as given. The scalar twin of :func:`finite_array` for keyword arguments such
    as a scale or a calibration target."""
    import math

    if is_bool(value) or is_text(value):
        raise ConfigError(f"{name} must be {valid}, got {value!r}")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be {valid}, got {value!r}") from None
    if not (math.isfinite(number) and (ok is None or ok(number))):
        raise ConfigError(f"{name} must be {valid}, got {value!r}")
    return number


def check_path_argument(path: object, what: str, *, kind: str = "file path",
                        give: str = "give a file name") -> None:
    """Refuse, with a :class:`ConfigError` naming ``what``, a ``path`` that is not a ``str`` or
    ``os.PathLike`` or that is empty (``""`` would mean the working folder; ``give`` says what to
    pass instead)."""
    import os

    if not isinstance(path, (str, os.PathLike)):
        raise ConfigError(f"{what} must be a {kind} (str or pathlib.Path), got "
                          f"{type(path).__name__} {path!r}")
    if not str(os.fspath(path)).strip():
        raise ConfigError(f"{what}: empty path {str(os.fspath(path))!r} (it would mean the "
                          f"working folder); {give}")


def is_text(value: object) -> bool:
    """Whether ``value`` is text where numbers are wanted: a ``str`` or ``bytes``, a NumPy string
    array, or a list or tuple holding one at any depth. NumPy converts ``"0.2"`` to 0.2 without a
    word, so a number read as text (a CSV column, a typo in Python) would otherwise pass."""
    if isinstance(value, (str, bytes)):
        return True
    dtype = getattr(value, "dtype", None)
    if dtype is not None:
        return dtype.kind in "US"
    if isinstance(value, (list, tuple)):
        return any(is_text(v) for v in value)
    return False


def is_bool(value: object, *, recurse: bool = False, scalar_only: bool = False) -> bool:
    """Whether ``value`` is a boolean: the check that refuses ``True`` where a number is wanted.

    ``float(True)`` is 1.0, ``int(np.False_)`` is 0 and NumPy reads a bool array as 0s and 1s, so
    a number check alone takes a boolean for a number; every such check asks this function first.

    Parameters
    ----------
    value : object
        What to look at. A Python ``bool`` is a boolean; so is anything with a ``dtype`` of kind
        ``"b"``: NumPy boolean scalars (``np.True_``), 0-d and n-d boolean arrays. Anything else
        (ints, floats, NumPy numbers, strings, ``None``, arrays of another dtype, also ``object``
        arrays that hold booleans) is not.
    recurse : bool
        Also ``True`` for a list or tuple that holds a boolean at any depth
        (``[1.0, True]``, ``[[True]]``). An object with a ``dtype`` is judged by its dtype alone,
        also inside a list.
    scalar_only : bool
        A value with a boolean ``dtype`` counts only when it is 0-d (``np.True_``,
        ``np.array(True)``); a boolean array of one or more dimensions is not a boolean then.

    Returns
    -------
    bool
        ``True`` if ``value`` is (or, with ``recurse``, holds) a boolean as described above.

    Notes
    -----
    Nothing is imported: the dtype is read with :func:`getattr`, so this leaf module stays free
    of NumPy at import time.

    Examples
    --------
    >>> import numpy as np
    >>> is_bool(True), is_bool(np.True_), is_bool(np.array([True, False]))
    (True, True, True)
    >>> is_bool(1), is_bool(1.0), is_bool(np.float64(1.0)), is_bool("true")
    (False, False, False, False)
    >>> is_bool([1.0, True]), is_bool([1.0, True], recurse=True)
    (False, True)
    >>> is_bool(np.array([True]), scalar_only=True)
    False
    """
    if isinstance(value, bool):
        return True
    dtype = getattr(value, "dtype", None)
    if dtype is not None:
        if getattr(dtype, "kind", "") != "b":
            return False
        return getattr(value, "ndim", 1) == 0 if scalar_only else True
    if recurse and isinstance(value, list | tuple):
        return any(is_bool(v, recurse=True, scalar_only=scalar_only) for v in value)
    return False


def _did_you_mean(name: object, valid: list[str]) -> str:
    """``" (did you mean 'X'?)"`` for the valid name that differs from ``name`` only in case, else
    the one valid name that ``name`` begins (a name cut short: ``sin2_theta`` → ``sin2_theta_w``),
    else the closest one by :func:`difflib.get_close_matches` — two when they are about as close
    (``" (did you mean 'X' or 'Y'?)"``); empty when nothing is close."""
    import difflib

    if not isinstance(name, str) or not name:
        return ""
    lower = name.lower()
    same_case = [v for v in valid if v.lower() == lower]
    if same_case:
        return f" (did you mean {same_case[0]!r}?)"
    longer = [v for v in valid if v.lower().startswith(lower)]
    if len(longer) == 1 and len(name) >= 3:
        return f" (did you mean {longer[0]!r}?)"
    by_lower = {v.lower(): v for v in valid}
    close = difflib.get_close_matches(lower, list(by_lower), n=2, cutoff=0.75)
    if not close:
        return ""
    names = [by_lower[c] for c in close]
    ratios = [difflib.SequenceMatcher(None, lower, c).ratio() for c in close]
    if len(names) == 2 and ratios[0] - ratios[1] <= 0.05:
        first, second = sorted(names) if ratios[0] == ratios[1] else names
        return f" (did you mean {first!r} or {second!r}?)"
    return f" (did you mean {names[0]!r}?)"


class UnknownNameError(ConfigError, KeyError):
    """A name (detector, nucleus, scenario, parameter, item …) is not known.

    Parameters
    ----------
    kind : str
        What was looked up, e.g. ``"detector"``.
    name : str
        The name that was asked for.
    valid : iterable of str
        The names that would have been accepted.
    """

    def __init__(self, kind: str, name: str, valid: Iterable[str]):
        self.kind, self.name, self.valid = kind, name, sorted(valid)
        hint = _did_you_mean(name, self.valid)
        super().__init__(f"unknown {kind} {name!r}{hint}; valid choices: {', '.join(self.valid)}")

    def __str__(self) -> str:  # KeyError would otherwise quote the whole message
        return self.args[0]

    def __reduce__(self):
        # pickle (a pool worker's error sent to the parent) rebuilds it from its arguments, not
        # from the message alone; the attributes (also ConfigError.problems) are the state
        return type(self), (self.kind, self.name, self.valid), self.__dict__


class KinematicsError(CevnsError, ValueError):
    """A request outside the kinematically allowed region (threshold above T_max, m₄ too heavy …)."""


class DataError(CevnsError, ValueError):
    """A data file is missing, truncated, of the wrong release or otherwise unreadable."""


class FitError(CevnsError, RuntimeError):
    """A minimisation or profile did not converge."""


class ScanError(CevnsError, RuntimeError):
    """A scan store is inconsistent, or resuming it would mix configurations."""


class MissingDependencyError(CevnsError, ImportError):
    """An optional dependency is needed; the message names the extra to install."""


class OutputError(CevnsError, OSError):
    """A result cannot be written: a missing or blocked folder, a full disk, no permission, or a path
    that would leave the output folder."""


class CevnsWarning(UserWarning):
    """Base class of every warning issued by cevns (filter it with ``warnings`` as usual)."""
