"""Reading and validating configuration (presets, analysis files) with clear errors.

Every configuration model in cevns is a pydantic model with ``extra="forbid"``: a misspelled key is
an error that names its dotted path (``detector.CsI.treshold_keVnr: unknown key``), never a silently
ignored setting. :func:`validate` turns pydantic's ``ValidationError`` into a
:class:`cevns.errors.ConfigError` with one line per problem.

Instances are immutable and always valid (docs/engine.md, "Cache keys"):

* NaN and ±inf are rejected in every float field (``allow_inf_nan=False``);
* every way of making one validates: the constructor, :func:`validate`, :meth:`StrictModel.replace`
  and :meth:`StrictModel.model_copy` (whose ``update=`` goes through the constructor, so a copy
  never carries derived state — bin edges, nuclei — computed for the original);
* equality and hashing use the declared fields only, so the model itself is the cache key of
  everything computed from it.
"""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar, Union

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from cevns.errors import CevnsError, ConfigError, KinematicsError, Problem, _did_you_mean, is_bool

M = TypeVar("M", bound=BaseModel)
S = TypeVar("S", bound="StrictModel")


class _StrictMeta(type(BaseModel)):
    """Metaclass whose ``__call__`` (``Detector(...)``) turns ``ValidationError`` into ConfigError.

    Only a direct construction goes through here: pydantic validates nested models without calling
    the class, so nested errors keep their full dotted location and are converted once, at the
    outermost level. No state is kept between calls.
    """

    def __call__(cls, *args: Any, **kwargs: Any):
        try:
            return super().__call__(*args, **kwargs)
        except ValidationError as exc:
            _raise(exc, cls, "")


class StrictModel(BaseModel, metaclass=_StrictMeta):
    """Base of every configuration model: unknown keys are errors, instances are immutable.

    Constructing one directly (``Detector(mass_kg=-1, ...)``) raises :class:`ConfigError` (or
    :class:`KinematicsError`) naming every bad field, like :func:`validate` does. NaN and ±inf are
    never valid floats. Copies are made with :meth:`replace` (or ``model_copy(update=...)``), which
    re-validate: an instance is never invalid, and never carries state derived from another one.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True,
                              allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_type_coercion(cls, data: Any) -> Any:
        """A number field takes numbers and a true/false field takes booleans, as written in TOML:
        pydantic would otherwise read ``mass_kg = true`` as 1 kg, ``shared_signal = "no"`` as
        false and ``mass_kg = "18"`` as 18 (see :func:`type_mismatch`)."""
        if isinstance(data, dict):
            for name, value in data.items():
                field = cls.model_fields.get(name) if isinstance(name, str) else None
                problem = type_mismatch(field.annotation, value) if field is not None else None
                if problem:
                    raise _FieldTypeError(name, problem)
        return data

    def _identity(self) -> str:
        """The declared fields as canonical JSON: what equality and hashing compare.

        Computed once per instance (instances are immutable) and kept in ``__dict__`` beside the
        cached properties: cache lookups keyed on a detector or source would otherwise serialise
        it on every lookup (measured: about 1 s of a whole ``cevns reproduce``).
        """
        key = self.__dict__.get("_cevns_identity")
        if key is None:
            key = self.model_dump_json()
            self.__dict__["_cevns_identity"] = key
        return key

    def __eq__(self, other: object) -> bool:
        # compare declared fields only: cached properties (arrays) live in __dict__ too
        if type(other) is not type(self):
            return NotImplemented
        return self is other or self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._identity()))

    @classmethod
    def model_construct(cls: type[S], _fields_set: set[str] | None = None, **values: Any) -> S:
        """Validates too (unlike pydantic's): no instance of a cevns model skips validation."""
        return cls(**values)

    def __setattr__(self, name: str, value: Any) -> None:
        raise ConfigError(f"{type(self).__name__}.{name}: instances are immutable; make a changed "
                          f"copy with .replace({name}=...)")

    def __delattr__(self, name: str) -> None:
        raise ConfigError(f"{type(self).__name__}.{name}: instances are immutable")

    def _fields(self) -> dict[str, Any]:
        """The declared fields by name (nested models kept as the valid instances they are)."""
        return {name: getattr(self, name) for name in type(self).model_fields}

    def replace(self: S, **changes: Any) -> S:
        """A validated copy with ``changes`` applied (field name → new value).

        Raises :class:`ConfigError` naming the field if a change is invalid or unknown. Derived
        state of the original (cached bin edges, nuclei …) is never carried over.

        >>> from cevns.experiment import get_detector
        >>> get_detector("CsI").replace(threshold_keVnr=5.0).n_bins
        7
        """
        return type(self)(**{**self._fields(), **changes})

    def model_copy(self: S, *, update: dict[str, Any] | None = None, deep: bool = False) -> S:
        """Like :meth:`replace`: ``update`` is validated through the constructor.

        pydantic's own ``model_copy`` copies ``__dict__`` (including cached derived values) and does
        not validate ``update``; here a copy is always a freshly validated instance. Instances are
        immutable, so ``deep`` changes nothing.
        """
        return self.replace(**(update or {}))


class _FieldTypeError(ConfigError):
    """A value of the wrong TOML type in field ``field``, or a value a model validator refuses in
    that field (its message is shown after the field's dotted path, like pydantic's own field
    errors)."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)

    def __reduce__(self):  # pickled with both arguments (cevns.errors.UnknownNameError)
        return type(self), (self.field, self.args[0]), self.__dict__


def _toml(value: Any) -> str:
    """``value`` as it would be written in a TOML file (``true``, ``"18"``, ``1``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _arms(annotation: Any) -> list[Any]:
    """The alternatives of ``annotation`` (``X | None`` → ``[X]``; ``Annotated`` unwrapped)."""
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (Union, types.UnionType):
        return [a for arm in typing.get_args(annotation) if arm is not type(None) for a in _arms(arm)]
    return [annotation]


def type_mismatch(annotation: Any, value: Any) -> str | None:
    """Why ``value`` is not of the TOML type ``annotation`` asks for, or None.

    Only the silent conversions of pydantic's lax mode are refused: a boolean or a string where
    only a number is valid (``true`` → 1, ``"18"`` → 18), a complex number where a number is
    (NumPy's ``complex128(10+5j)`` → 10.0) and anything but a boolean where only a boolean is
    (``"no"`` → false, ``1`` → true); items of lists and values of tables are checked
    against their declared type. Everything else is left to the model's own validation.
    """
    arms = _arms(annotation)
    if Any in arms or object in arms:
        return None
    numeric = [a for a in arms if a in (int, float)]
    if is_bool(value, scalar_only=True):  # True/False, np.True_, a 0-d bool array
        value = bool(value)  # numpy.bool_ too: pydantic would read np.True_ as 1 as well
        if numeric and bool not in arms:
            return f"must be a number, got {_toml(value)}"
        choices = [c for a in arms if typing.get_origin(a) is typing.Literal
                   for c in typing.get_args(a)]
        if choices and not any(isinstance(c, bool) for c in choices) and \
                any(isinstance(c, int) for c in choices):
            return f"must be one of {', '.join(map(_toml, choices))}, got {_toml(value)}"
        return None
    if numeric and (isinstance(value, complex)
                    or getattr(getattr(value, "dtype", None), "kind", None) == "c"):
        # pydantic reads a NumPy complex scalar as its real part (np.complex128(10+5j) → 10.0)
        return f"must be a real number, got {value!r}"
    if arms == [bool] and not is_bool(value):  # scalars returned above: a bool array is left
        return f"must be true or false, got {_toml(value)}"
    if isinstance(value, str):
        if numeric and len(numeric) == len(arms):
            return f"must be a number, got the text {_toml(value)} (write numbers without quotes)"
        return None
    for arm in arms:
        origin, args = typing.get_origin(arm), typing.get_args(arm)
        if origin in (list, tuple, set, frozenset, Sequence) and isinstance(value, list | tuple):
            if origin is tuple and args and args[-1] is not Ellipsis:
                pairs = zip(args, value, strict=False)  # fixed length: pydantic counts the items
            else:
                pairs = ((args[0] if args else Any, item) for item in value)
            for i, (item_type, item) in enumerate(pairs):
                problem = type_mismatch(item_type, item)
                if problem:
                    return f"item {i}: {problem}"
        elif origin in (dict, Mapping) and len(args) == 2 and isinstance(value, dict):
            for key, item in value.items():
                problem = type_mismatch(args[1], item)
                if problem:
                    return f"{key}: {problem}"
    return None


def _format_error(err: dict, model: type[BaseModel], where: str) -> Problem:
    """One pydantic error as a :class:`~cevns.errors.Problem` (path, kind, message)."""
    path = tuple(p for p in ((where,) if where else ()) + tuple(str(x) for x in err["loc"]))
    if err["type"] == "extra_forbidden":
        key = str(err["loc"][-1])
        # suggest the closest valid key of the model at that level, when we can find it
        hint = ""
        fields = _fields_at(model, err["loc"][:-1])
        if fields:
            hint = _did_you_mean(key, list(fields)) or f" (valid keys: {', '.join(fields)})"
        return Problem(path, "unknown", f"unknown key{hint}", hint.strip().strip("()"))
    kind = "missing" if err["type"] == "missing" else "invalid"
    cause = err.get("ctx", {}).get("error")
    if isinstance(cause, _FieldTypeError):
        return Problem((*path, cause.field), kind, str(cause))
    if isinstance(cause, CevnsError):
        # raised by a validator of ours: its message already names the field and the value
        return Problem(path, kind, str(cause))
    value = err.get("input")
    return Problem(path, kind, _short_numbers(err["msg"]),
                   given="" if isinstance(value, dict) else repr(value))


def _line(problem: Problem) -> str:
    """A problem as one line of a :class:`ConfigError` message: ``path: message``."""
    path = ".".join(problem.path)
    return f"{path}: {problem.text}" if path else problem.text


def _short_numbers(message: str) -> str:
    """pydantic writes a bound such as ``le=1e9`` in full ("less than or equal to 1000000000");
    numbers of more than seven digits are shown as ``1e+09`` instead."""
    return re.sub(r"(?<![\w.])\d{8,}(?:\.0+)?(?![\w.])", lambda m: f"{float(m.group()):g}", message)


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names of the sub-model reached by ``loc`` (best effort, for typo hints)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return []
        ann = fields[part].annotation
        current = _unwrap_model(ann)
        if current is None:
            return []
    return sorted(getattr(current, "model_fields", {}))


def _unwrap_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _unwrap_model(arg)
        if found is not None:
            return found
    return None


def _nested(outer: tuple[str, ...], problem: Problem) -> Problem:
    """``problem`` of a validation nested in another one, with the path of the field that ran it
    in front (``source`` given once where the inner validation is named after its field)."""
    inner = problem.path
    if outer and inner and inner[0] == outer[-1]:
        inner = inner[1:]
    elif outer and inner and inner[0].startswith(f"{outer[-1]}: "):
        # an inner validation named after the file and its table ("f.toml: detector.NaI"):
        # the file is named once
        inner = (inner[0][len(outer[-1]) + 2:], *inner[1:])
    return dataclasses.replace(problem, path=(*outer, *inner))


def _raise(exc: ValidationError, model: type[BaseModel], where: str):
    errors = exc.errors()
    causes = [e.get("ctx", {}).get("error") for e in errors]
    if causes and all(isinstance(c, KinematicsError) for c in causes):
        raise KinematicsError("; ".join(str(c) for c in causes)) from None
    problems = []
    for err, cause in zip(errors, causes, strict=True):
        if isinstance(cause, ConfigError) and cause.problems:
            # a validation run by a validator (an analysis's source built from its overrides):
            # its fields under this one's path, not its whole message as one line
            outer = _format_error(err, model, where).path
            problems += [_nested(outer, p) for p in cause.problems]
        else:
            problems.append(_format_error(err, model, where))
    what = where or model.__name__
    raise ConfigError(f"invalid configuration ({what}):\n  " + "\n  ".join(map(_line, problems)),
                      problems=problems) from None


def validate(model: type[M], data: Any, where: str = "", context: dict | None = None) -> M:
    """Validate ``data`` against ``model``; raise :class:`ConfigError` naming every bad field.

    ``context`` is handed to the model's validators (pydantic validation context), e.g. the
    catalogue an analysis file resolves its detector names with.
    """
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        _raise(exc, model, where)


def load_toml(path: str | Path) -> dict:
    """Read a TOML file (UTF-8, an optional byte-order mark is accepted), turning syntax errors,
    missing files, folders and undecodable bytes into :class:`ConfigError` naming the path."""
    path = Path(path)
    text = read_user_text(path, str(path), "TOML")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def parse_json(text: str, where: str) -> Any:
    """Parse the JSON ``text`` of a file a user named (``where``: the path, for messages).

    A key given twice in one object is refused, as TOML and the release YAML reader refuse it:
    JSON parsers keep its last value, so ``{"name": "p", "name": "q"}`` would silently mean
    ``q``. Invalid JSON and a repeated key are :class:`ConfigError` starting with ``where``.
    """

    def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise ConfigError(f"{where}: the key {key!r} appears twice in one object (JSON "
                                  "would keep only its last value); give each key once")
            out[key] = value
        return out

    try:
        return json.loads(text, object_pairs_hook=unique_keys)
    except ConfigError:
        raise
    except ValueError as exc:
        raise ConfigError(f"{where}: not valid JSON: {exc}") from None


#: The largest file cevns reads for a user, in MiB (preset and analysis files, a tabulated
#: source's spectrum, a ``--coverage`` JSON file, COHERENT release files): far above any real one,
#: small enough that a wrong path (``/dev/zero``, a disk image) is an error, not a full memory.
MAX_USER_FILE_MIB = 64
MAX_USER_FILE_BYTES = MAX_USER_FILE_MIB * 1024 * 1024
_CHUNK_BYTES = 1024 * 1024

def read_user_bytes(path: str | Path, where: str) -> bytes:
    """The bytes of a file a user named, at most :data:`MAX_USER_FILE_BYTES` of them.

    The file is opened as given (``/dev/fd/3`` of a shell's process substitution ``<(…)``, a
    FIFO and ``/dev/stdin`` are read as the stream they are) and read in chunks of 1 MiB. A
    file with more bytes is a :class:`ConfigError` starting with ``where`` ("…: larger than 64 MiB;
    is this the right file?"), raised after reading one byte more than the limit, never the whole
    file. ``OSError`` (a missing file, a folder, no permission) is raised as it is: callers word it.
    """
    with open(path, "rb") as fh:
        data = bytearray()
        while len(data) <= MAX_USER_FILE_BYTES:
            chunk = fh.read(min(_CHUNK_BYTES, MAX_USER_FILE_BYTES + 1 - len(data)))
            if not chunk:
                break
            data += chunk
    if len(data) > MAX_USER_FILE_BYTES:
        raise ConfigError(f"{where}: larger than {MAX_USER_FILE_MIB} MiB; is this the right file?")
    return bytes(data)


def read_user_text(path: Path, where: str, kind: str) -> str:
    """The text of a file a user named (UTF-8, an optional byte-order mark accepted).

    Read with :func:`read_user_bytes` (the path as given, at most :data:`MAX_USER_FILE_BYTES`).
    A missing file, a folder, undecodable bytes, a file larger than that or an unreadable file is
    a :class:`ConfigError` that starts with ``where`` (the path, or the setting that named it);
    ``kind`` names the expected format ("TOML", "CSV") in the message about a folder.
    """
    try:
        return read_user_bytes(path, where).decode("utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{where}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{where}: is a folder, not a {kind} file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read: {exc.strerror or exc}") from None
