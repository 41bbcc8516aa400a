"""Reading and validating configuration (presets, analysis files) with clear errors.

Every configuration model in cevns is a pydantic model with ``extra="forbid"``: a misspelled key is
an error that names its dotted path (``detector.CsI.treshold_keVnr: unknown key``), never a silently
ignored setting. :func:`validate` turns pydantic's ``ValidationError`` into a
:class:`cevns.errors.ConfigError` with one line per problem.
"""

from __future__ import annotations

import difflib
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from cevns.errors import ConfigError, KinematicsError

M = TypeVar("M", bound=BaseModel)
_DEPTH: ContextVar[int] = ContextVar("cevns_config_depth", default=0)


class StrictModel(BaseModel):
    """Base of every configuration model: unknown keys are errors, instances are immutable.

    Constructing one directly (``Detector(mass_kg=-1, ...)``) raises :class:`ConfigError` (or
    :class:`KinematicsError`) naming every bad field, like :func:`validate` does.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)

    def __eq__(self, other: object) -> bool:
        # compare declared fields only: cached properties (arrays) live in __dict__ too
        if type(other) is not type(self):
            return NotImplemented
        return self.model_dump() == other.model_dump()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.model_dump_json()))

    def __init__(self, **data: Any) -> None:
        # pydantic calls __init__ of nested models too: convert only at the outermost level so that
        # nested errors keep their full dotted location.
        token = _DEPTH.set(_DEPTH.get() + 1)
        try:
            super().__init__(**data)
        except ValidationError as exc:
            if _DEPTH.get() > 1:
                raise
            _raise(exc, type(self), "")
        finally:
            _DEPTH.reset(token)


def _format_error(err: dict, model: type[BaseModel], where: str) -> str:
    loc = ".".join(str(p) for p in err["loc"])
    path = f"{where}.{loc}" if where and loc else (where or loc)
    if err["type"] == "extra_forbidden":
        key = str(err["loc"][-1])
        # suggest the closest valid key of the model at that level, when we can find it
        hint = ""
        fields = _fields_at(model, err["loc"][:-1])
        if fields:
            close = difflib.get_close_matches(key, fields, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (valid keys: {', '.join(fields)})"
        return f"{path}: unknown key{hint}"
    value = err.get("input")
    shown = "" if isinstance(value, dict) else f" (got {value!r})"
    return f"{path}: {err['msg']}{shown}"


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


def _raise(exc: ValidationError, model: type[BaseModel], where: str):
    errors = exc.errors()
    causes = [e.get("ctx", {}).get("error") for e in errors]
    if causes and all(isinstance(c, KinematicsError) for c in causes):
        raise KinematicsError("; ".join(str(c) for c in causes)) from None
    lines = [_format_error(e, model, where) for e in errors]
    raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines)) from None


def validate(model: type[M], data: Any, where: str = "") -> M:
    """Validate ``data`` against ``model``; raise :class:`ConfigError` naming every bad field."""
    token = _DEPTH.set(_DEPTH.get() + 1)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        _raise(exc, model, where)
    finally:
        _DEPTH.reset(token)


def load_toml(path: str | Path) -> dict:
    """Read a TOML file (UTF-8, an optional byte-order mark is accepted), turning syntax errors,
    missing files, folders and undecodable bytes into :class:`ConfigError` naming the path."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
        return tomllib.loads(text)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a TOML file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
