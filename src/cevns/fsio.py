"""Safe file output: paths that stay inside an output folder, atomic writes, clear OS errors.

Every file ``cevns`` writes for a user goes through this module, so that

* a name taken from user input (an analysis ``name``, an item, a stem) is a *slug* and cannot
  climb out of the output folder (``../../x``, absolute paths, path separators are refused);
* small metadata files (``provenance.json``, ``index.json`` …) are written atomically: a reader
  sees the old or the new file, never half of one;
* an operating-system error (missing folder, a file in the way, a full disk, no permission) becomes
  a :class:`cevns.errors.OutputError` that names the path, instead of a traceback.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cevns.errors import OutputError

_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def check_slug(name: str, what: str = "name") -> str:
    """Return ``name`` if it is a safe file-name stem, else raise :class:`OutputError`.

    A slug starts with a letter or digit and contains only letters, digits, ``.``, ``_`` and ``-``
    (at most 128 characters); ``..`` is refused.
    """
    if not isinstance(name, str) or not _SLUG.fullmatch(name) or ".." in name:
        raise OutputError(
            f"{what} {name!r} is not a safe file name: use letters, digits, '.', '_' and '-' "
            "(starting with a letter or digit, at most 128 characters, no '..')")
    return name


def inside(root: Path, *parts: str) -> Path:
    """``root / parts``, refusing any result that is not inside ``root`` (after resolving links)."""
    root_r = Path(root).resolve()
    target = root_r.joinpath(*parts).resolve()
    if target != root_r and root_r not in target.parents:
        raise OutputError(f"refusing to write {target}: it is outside the output folder {root_r}")
    return target


def ensure_dir(path: Path, what: str = "output folder") -> Path:
    """Create ``path`` (and parents) as a folder, or raise :class:`OutputError` naming the path."""
    path = Path(path)
    for p in [path, *path.parents]:
        if p.exists() and not p.is_dir():
            raise OutputError(f"{what} {path}: {p} exists and is not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {what} {path}: {exc.strerror or exc}") from exc
    return path


@contextmanager
def os_errors(path: Path | str, action: str = "write") -> Iterator[None]:
    """Turn an ``OSError`` raised inside the block into an :class:`OutputError` naming ``path``."""
    try:
        yield
    except OutputError:
        raise
    except OSError as exc:
        raise OutputError(f"cannot {action} {path}: {exc.strerror or exc}") from exc


def atomic_write_text(path: Path | str, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    with os_errors(path):
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding=encoding) as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return path
