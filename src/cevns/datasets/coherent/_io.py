"""Low-level, validating readers for the text files of the COHERENT data releases.

Everything here raises :class:`cevns.errors.DataError` with the file path and what is wrong
(missing file, wrong number of columns or rows, a token that is not a number, a grid that is not
the one of the release). The release modules call these functions and add the release-specific
checks (bin centres, totals of PDFs).

The two parameter files of the releases (``coherent_parameters.yaml``, ``LArParametersAnlA.yaml``)
are YAML. PyYAML is not a dependency of ``cevns``, and those two files use a tiny, flat subset of
YAML (nested mappings, one list of mappings, ``|`` block scalars and plain multi-line scalars), so
:func:`read_flat_yaml` parses exactly that subset and refuses anything else with a ``DataError``.
The tests check it against ``yaml.safe_load`` when PyYAML happens to be installed.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cevns.errors import DataError

__all__ = ["read_table", "read_flat_yaml", "require_file", "check_grid"]


def require_file(path: Path, release: str) -> Path:
    """Return ``path`` if it is a readable file, else raise ``DataError`` naming it."""
    if not path.is_file():
        what = ("is a folder, not the file" if path.is_dir() else
                "is not a regular file" if path.exists() else "file not found")
        raise DataError(f"{path}: {what} (needed by release {release!r})")
    return path


def _read_text(path: Path) -> str:
    """The UTF-8 text of a release file, at most :data:`cevns.config.MAX_USER_FILE_BYTES` long
    (a larger file is not a release file: it is refused before it fills the memory)."""
    from cevns.config import read_user_bytes
    from cevns.errors import ConfigError

    try:
        return read_user_bytes(path, str(path)).decode("utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read file ({exc})") from None
    except ConfigError as exc:  # too large
        raise DataError(str(exc)) from None


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _parse_number(token: str, path: Path, line_no: int) -> float:
    try:
        value = float(token)
    except ValueError:
        raise DataError(f"{path}, line {line_no}: cannot parse {token!r} as a number") from None
    if not math.isfinite(value):
        raise DataError(f"{path}, line {line_no}: non-finite value {token!r}")
    return value


def read_table(
    path: Path,
    n_columns: int,
    *,
    delimiter: str | None = None,
    n_rows: int | None = None,
    header_lines: int = 0,
    comment: str = "#",
    with_lines: bool = False,
) -> Any:
    """Read a numeric text table and validate its shape.

    Parameters
    ----------
    path : Path
        The file.
    n_columns : int
        Number of columns every data line must have.
    delimiter : str or None
        Column separator; ``None`` splits on any whitespace.
    n_rows : int or None
        Number of data rows the release has; ``None`` accepts any number ≥ 1.
    header_lines : int
        At most this many leading lines that do not start with a number (column names) are
        skipped, so a copy with or without its column-name line reads the same.
    comment : str
        Lines starting with this (after stripping) are ignored, as are blank lines.
    with_lines : bool
        Also return the file line of each data row (for messages naming the line of a value
        that is read correctly but refused by a later check).

    Returns
    -------
    ndarray, shape (rows, n_columns)
        With ``with_lines``: ``(table, lines)``, ``lines`` an int array of shape (rows,).

    Raises
    ------
    DataError
        If the file is missing, a line has the wrong number of columns or a non-number, or the
        number of rows differs from ``n_rows`` (truncated file or file of another release).
    """
    text = _read_text(path)
    rows: list[list[float]] = []
    line_numbers: list[int] = []
    skipped = 0
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(comment):
            continue
        tokens = line.split(delimiter) if delimiter is not None else line.split()
        tokens = [t.strip() for t in tokens]
        if not rows and skipped < header_lines and not _is_number(tokens[0]):
            skipped += 1
            continue
        if len(tokens) != n_columns:
            raise DataError(
                f"{path}, line {line_no}: expected {n_columns} columns, found {len(tokens)} "
                f"({line[:60]!r}); truncated file or file of another release?"
            )
        rows.append([_parse_number(t, path, line_no) for t in tokens])
        line_numbers.append(line_no)
    if not rows:
        raise DataError(f"{path}: no data rows (empty or truncated file)")
    if n_rows is not None and len(rows) != n_rows:
        raise DataError(
            f"{path}: expected {n_rows} data rows, found {len(rows)} "
            "(truncated file or file of another release?)"
        )
    table = np.asarray(rows, dtype=float)
    if with_lines:
        return table, np.asarray(line_numbers, dtype=int)
    return table


def check_grid(
    path: Path, what: str, found: NDArray[np.float64], expected: NDArray[np.float64],
    atol: float = 1e-6,
) -> None:
    """Raise ``DataError`` unless the bin centres ``found`` equal ``expected``."""
    found = np.asarray(found, dtype=float)
    expected = np.asarray(expected, dtype=float)
    if found.shape != expected.shape or not np.allclose(found, expected, rtol=0.0, atol=atol):
        raise DataError(
            f"{path}: {what} are not those of the release (expected {_brief(expected)}, "
            f"found {_brief(found)}); file of another release?"
        )


def _brief(values: NDArray[np.float64]) -> str:
    values = np.ravel(values)
    if values.size <= 6:
        return "[" + ", ".join(f"{v:g}" for v in values) + "]"
    return (f"{values.size} values [{values[0]:g}, {values[1]:g}, …, {values[-1]:g}]")


# ---------------------------------------------------------------------------------------------
# A restricted YAML reader for the two flat parameter files of the releases.
# ---------------------------------------------------------------------------------------------

_KEY_RE = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*:(?:\s+(?P<value>.*))?$")
_NUMBER_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _scalar(text: str) -> Any:
    text = text.strip()
    if _NUMBER_RE.match(text):
        if re.match(r"^[+-]?\d+$", text):
            try:
                return int(text)
            except ValueError:  # more digits than int() converts (4300): a number out of range
                return math.copysign(math.inf, -1.0 if text.startswith("-") else 1.0)
        return float(text)  # ±inf beyond ±1.8e308: refused by the readers as not finite
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def read_flat_yaml(path: Path) -> dict[str, Any]:
    """Parse the restricted YAML subset of the releases' parameter files.

    Supported: ``key: scalar`` mappings nested by indentation, lists whose items are mappings
    (``- name: a`` followed by more keys at the item's indentation), block scalars introduced by
    ``|`` and plain scalars continued on more-indented lines. Numbers become ``int``/``float``,
    everything else ``str``. Anything else (anchors, flow collections, tabs …) is refused.

    Raises
    ------
    DataError
        Naming the file and line if the text is outside that subset.
    """
    text = _read_text(path)
    lines = text.splitlines()
    parser = _FlatYaml(path, lines, final_newline=text.endswith("\n"))
    result = parser.parse_block(0, 0)
    if parser.pos < len(lines):  # pragma: no cover - parse_block consumes until dedent below 0
        raise DataError(f"{path}, line {parser.pos + 1}: unexpected text")
    if not isinstance(result, dict) or not result:
        raise DataError(f"{path}: no parameters found (empty or truncated file)")
    return result


class _FlatYaml:
    def __init__(self, path: Path, lines: list[str], final_newline: bool = True):
        self.path, self.lines, self.pos = path, lines, 0
        self.final_newline = final_newline

    def _error(self, message: str) -> DataError:
        return DataError(f"{self.path}, line {self.pos + 1}: {message}")

    def _skip_blank(self) -> None:
        while self.pos < len(self.lines):
            stripped = self.lines[self.pos].strip()
            if stripped and not stripped.startswith("#"):
                return
            self.pos += 1

    @staticmethod
    def _indent(line: str) -> int:
        return len(line) - len(line.lstrip(" "))

    def parse_block(self, indent: int, min_indent: int) -> dict[str, Any] | list[Any]:
        """Parse a mapping or list whose items sit at column ``indent``."""
        self._skip_blank()
        if self.pos >= len(self.lines):
            return {}
        first = self.lines[self.pos]
        if "\t" in first[: self._indent(first) + 1]:
            raise self._error("tab in indentation")
        if first.strip().startswith("- "):
            return self._parse_list(self._indent(first))
        return self._parse_mapping(self._indent(first))

    def _parse_mapping(self, indent: int) -> dict[str, Any]:
        mapping: dict[str, Any] = {}
        while True:
            self._skip_blank()
            if self.pos >= len(self.lines):
                return mapping
            line = self.lines[self.pos]
            col = self._indent(line)
            if col < indent:
                return mapping
            if col > indent:
                raise self._error("unexpected indentation")
            key, value = self._key_value(line.strip())
            self.pos += 1
            if key in mapping:
                raise self._error(f"duplicate key {key!r}")
            mapping[key] = self._value(value, indent)

    def _parse_list(self, indent: int) -> list[Any]:
        items: list[Any] = []
        while True:
            self._skip_blank()
            if self.pos >= len(self.lines):
                return items
            line = self.lines[self.pos]
            col = self._indent(line)
            if col < indent:
                return items
            stripped = line.strip()
            if col > indent or not stripped.startswith("- "):
                raise self._error("expected a list item '- key: value'")
            # The item is a mapping whose keys sit at the column after "- ".
            item_indent = col + 2 + (len(stripped[2:]) - len(stripped[2:].lstrip(" ")))
            self.lines[self.pos] = " " * item_indent + stripped[2:].lstrip(" ")
            items.append(self._parse_mapping(item_indent))

    def _key_value(self, stripped: str) -> tuple[str, str | None]:
        match = _KEY_RE.match(stripped)
        if match is None:
            raise self._error(f"not a 'key: value' line: {stripped[:60]!r}")
        value = match.group("value")
        if value is not None:
            value = value.strip()
            if value[:1] in "[{&*!" or value.startswith("- "):
                raise self._error(f"unsupported YAML construct {value[:20]!r}")
        return match.group("key"), value or None

    def _value(self, value: str | None, indent: int) -> Any:
        if value == "|":
            return self._block_scalar(indent)
        if value is not None:
            # A plain scalar may continue on more-indented lines.
            parts = [value]
            while self.pos < len(self.lines):
                line = self.lines[self.pos]
                if line.strip() and self._indent(line) > indent and not _KEY_RE.match(line.strip()):
                    parts.append(line.strip())
                    self.pos += 1
                else:
                    break
            return _scalar(" ".join(parts))
        # Nothing after the colon: a nested block, or a plain scalar on the following lines.
        self._skip_blank()
        if self.pos >= len(self.lines) or self._indent(self.lines[self.pos]) <= indent:
            return None
        nxt = self.lines[self.pos].strip()
        if nxt.startswith("- ") or _KEY_RE.match(nxt):
            return self.parse_block(self._indent(self.lines[self.pos]), indent + 1)
        self.pos += 1
        return self._value(nxt, indent)

    def _block_scalar(self, indent: int) -> str:
        body: list[str] = []
        block_indent: int | None = None
        while self.pos < len(self.lines):
            line = self.lines[self.pos]
            if not line.strip():
                body.append("")
                self.pos += 1
                continue
            col = self._indent(line)
            if col <= indent:
                break
            if block_indent is None:
                block_indent = col
            body.append(line[block_indent:].rstrip())
            self.pos += 1
        at_end = self.pos >= len(self.lines)
        while body and body[-1] == "":
            body.pop()
            at_end = False
        # YAML "clip" chomping keeps one final line break, if the text has one.
        return "\n".join(body) + ("" if at_end and not self.final_newline else "\n")
