"""Canonical JSON of a scan configuration, its digest, and the differences between two of them.

A configuration is a tree of mappings (string keys), sequences and scalars, possibly holding NumPy
scalars and arrays. :func:`canonicalize` turns it into plain JSON data (NumPy arrays become nested
lists, tuples become lists, non-finite floats become the strings ``"NaN"``, ``"Infinity"`` and
``"-Infinity"``); :func:`canonical_json` writes that with sorted keys and no whitespace, floats as
Python's shortest round-trip ``repr``; :func:`config_digest` is the SHA-256 of those bytes. Two
configurations with the same digest are the same scan.

>>> config_digest({"b": 1.0, "a": [1, 2]}) == config_digest({"a": (1, 2), "b": 1.0})
True
>>> config_diff({"det": {"mass": 10.0}}, {"det": {"mass": 12.0}})
[('det.mass', 10.0, 12.0)]
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cevns.errors import ConfigError

__all__ = [
    "ABSENT", "canonical_json", "canonicalize", "config_diff", "config_digest", "format_diff",
]

JSONValue = None | bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"]


class _Absent:
    """Marker for a key present in one configuration and not in the other."""

    def __repr__(self) -> str:
        return "<absent>"


ABSENT: Any = _Absent()


def _float(value: float) -> float | str:
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def canonicalize(value: Any, path: str = "config") -> JSONValue:
    """Return `value` as plain JSON data (dicts with str keys, lists, str, int, float, bool, None).

    Parameters
    ----------
    value : object
        A mapping, sequence, scalar, NumPy scalar or NumPy array (of bool, integer or float dtype).
    path : str
        Dotted path of `value`, used in error messages.

    Returns
    -------
    JSON data equal in content to `value`.

    Raises
    ------
    ConfigError
        If a key is not a string or a value has no JSON form (the message names the dotted path).
    """
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _float(float(value))
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise ConfigError(f"{path}: arrays of dtype {value.dtype} have no canonical JSON form")
        return canonicalize(value.tolist(), path)
    if isinstance(value, Mapping):
        out: dict[str, JSONValue] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ConfigError(
                    f"{path}: key {key!r} is a {type(key).__name__}; keys must be str"
                )
            out[key] = canonicalize(item, f"{path}.{key}")
        return out
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        return [canonicalize(item, f"{path}[{i}]") for i, item in enumerate(value)]
    raise ConfigError(
        f"{path}: a {type(value).__name__} has no canonical JSON form; use str, int, float, bool, "
        "None, lists, dicts with str keys or NumPy arrays"
    )


def canonical_json(value: Any) -> str:
    """Canonical JSON text of `value`: sorted keys, no whitespace, floats as shortest ``repr``."""
    return json.dumps(
        canonicalize(value), sort_keys=True, separators=(",", ":"), ensure_ascii=True,
        allow_nan=False,
    )


def config_digest(config: Any) -> str:
    """SHA-256 (hex) of :func:`canonical_json` of `config`."""
    return hashlib.sha256(canonical_json(config).encode("ascii")).hexdigest()


def config_diff(old: Any, new: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """List the dotted keys at which two configurations differ.

    Both are canonicalized first, so ``(1, 2)`` equals ``[1, 2]`` and a NumPy array equals its list.
    Mappings are compared key by key, lists of equal length item by item (``key[2]``); a key
    present on one side only is reported with :data:`ABSENT` on the other.

    Parameters
    ----------
    old, new : object
        The configurations (or canonical JSON data) to compare.
    path : str
        Prefix of the reported keys.

    Returns
    -------
    list of (dotted_key, old_value, new_value)
        Empty if the configurations are equal.
    """
    return _diff(canonicalize(old), canonicalize(new), path)


def _diff(old: JSONValue, new: JSONValue, path: str) -> list[tuple[str, Any, Any]]:
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[tuple[str, Any, Any]] = []
        for key in sorted(set(old) | set(new)):
            sub = f"{path}.{key}" if path else key
            if key not in old:
                out.append((sub, ABSENT, new[key]))
            elif key not in new:
                out.append((sub, old[key], ABSENT))
            else:
                out.extend(_diff(old[key], new[key], sub))
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [d for i, (a, b) in enumerate(zip(old, new, strict=True))
                for d in _diff(a, b, f"{path}[{i}]")]
    # bool is an int in Python: compare types too, so that 1 and True differ
    if type(old) is not type(new) or old != new:
        return [(path or "<root>", old, new)]
    return []


def _short(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def format_diff(diff: Sequence[tuple[str, Any, Any]], limit: int = 20) -> str:
    """Render :func:`config_diff` output as lines ``key: old → new`` (at most `limit` lines)."""
    lines = [f"  {key}: {_short(a)} → {_short(b)}" for key, a, b in diff[:limit]]
    if len(diff) > limit:
        lines.append(f"  … and {len(diff) - limit} more")
    return "\n".join(lines)
