"""Safe file output: paths that stay inside an output folder, atomic writes, clear OS errors.

Every file ``cevns`` writes for a user goes through this module, so that

* a name taken from user input (an analysis ``name``, an item, a stem) is a *slug* and cannot
  climb out of the output folder (``../../x``, absolute paths, path separators are refused);
* small metadata files (``provenance.json``, ``index.json`` …) and figures are written atomically
  (:func:`atomic_open`): a reader sees the old or the new file, never half of one, and the file
  gets the permissions of any file the user creates (0o666 less the umask, e.g. 0644), not the
  owner-only 0600 of :func:`tempfile.mkstemp`; a symbolic link is written through: its final
  target gets the new content and the link stays a link (:func:`write_target`);
* the netCDF results, whose writer opens its file by name, are written atomically too
  (:func:`atomic_path`): an error or an interrupt leaves an earlier file whole, and a file
  that cannot be replaced (held open by another program) is named as such
  (:func:`replace_onto`);
* an operating-system error (missing folder, a file in the way, a full disk, no permission) becomes
  a :class:`cevns.errors.OutputError` that names the path, instead of a traceback;
* a folder has one writer at a time (:func:`folder_lock`): a second command writing the same
  output folder is refused, naming the process that writes it.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
from collections.abc import Callable, Iterator
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


def _link_problem(link: Path) -> str | None:
    """Why the symbolic link ``link`` leads to no existing file or folder (a loop, a missing
    target), or None if it does."""
    try:
        os.stat(link)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a symbolic link loop"
        return f"is a symbolic link to {os.readlink(link)}, which does not exist"
    return None


def ensure_dir(path: Path, what: str = "output folder") -> Path:
    """Create ``path`` (and parents) as a folder, or raise :class:`OutputError` naming the path
    (also for a symbolic link that loops or leads nowhere: it cannot become a folder)."""
    path = Path(path)
    for p in [path, *path.parents]:
        if p.is_symlink():
            problem = _link_problem(p)
            if problem:
                where = "" if p == path else f": {p}"
                raise OutputError(f"{what} {path}{where} {problem}, not a folder")
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


def _new_temporary(path: Path) -> tuple[int, Path]:
    """A new, empty file beside `path` (``.NAME.<random>.tmp``) opened for writing, created like
    any file the user makes: mode 0o666, less the umask, applied by the kernel (no process-wide
    setting is read or changed)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(64):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")  # pragma: no cover


def write_target(path: Path | str) -> Path:
    """The file a write to ``path`` replaces: ``path`` itself, or the final target of a symbolic
    link (followed through every link of a chain), so that the link stays a link and its target
    gets the new content. A dangling link's target is written (created) if its folder exists;
    a link loop, a link to a folder or a target in a missing folder is an :class:`OutputError`
    naming ``path``."""
    path = Path(path)
    if not path.is_symlink():
        return path
    target = Path(os.path.realpath(path))
    if target.is_symlink():  # realpath stops where a link loops
        raise OutputError(f"cannot write {path}: it is a symbolic link loop")
    if target.is_dir():
        raise OutputError(f"cannot write {path}: it is a symbolic link to the folder {target}")
    if not target.parent.is_dir():
        raise OutputError(f"cannot write {path}: it is a symbolic link to {target}, whose folder "
                          f"{target.parent} does not exist")
    return target


@contextmanager
def atomic_open(path: Path | str, mode: str = "w", *, encoding: str | None = "utf-8",
                fsync: bool = True) -> Iterator:
    """Open a temporary file beside ``path`` for writing (``mode`` "w" or "wb"); when the block
    ends without an error it is flushed (and fsync'ed with `fsync`) and renamed onto ``path``,
    else removed. An ``OSError`` becomes an :class:`OutputError` naming ``path``.

    If ``path`` is a symbolic link, the link's final target is written the same way (temporary
    file beside the target, renamed onto it; :func:`write_target`): the link stays.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open: mode must be 'w' or 'wb', got {mode!r}")
    path = Path(path)
    with os_errors(path):
        target = write_target(path)
        fd, tmp = _new_temporary(target)
        try:
            with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as fh:
                yield fh
                fh.flush()
                if fsync:
                    os.fsync(fh.fileno())
            replace_onto(tmp, target, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


@contextmanager
def atomic_path(path: Path | str, *, fsync: bool = False) -> Iterator[Path]:
    """The name of a new, empty temporary file beside ``path`` (``.NAME.<random>.tmp``), for a
    writer that opens its file by name (netCDF/HDF5): when the block ends without an error the
    file is renamed onto ``path`` (:func:`replace_onto`), else removed, so that an error or an
    interrupt leaves the previous ``path`` as it was and no temporary behind. With ``fsync`` the
    file is flushed to disk before the rename.

    Writing a new file also works while another program holds ``path`` open: the HDF5 library
    refuses to write a file another process has open (its file lock), and the netCDF library
    reports that as "Permission denied"; the rename replaces the file without opening it.

    A missing folder and a folder in the way are named as such (not as the "Permission denied"
    netCDF-C reports for both), and every ``OSError`` becomes an :class:`OutputError` naming
    ``path``. A symbolic link is written through, as by :func:`atomic_open`.
    """
    path = Path(path)
    with os_errors(path):
        target = write_target(path)
        if not target.parent.is_dir():
            raise FileNotFoundError(errno.ENOENT, "no such folder", str(target.parent))
        if target.is_dir():
            raise IsADirectoryError(errno.EISDIR, "a folder is in the way", str(target))
        fd, tmp = _new_temporary(target)
        try:
            os.close(fd)
            yield tmp
            if fsync:
                with open(tmp, "rb+") as fh:
                    os.fsync(fh.fileno())
            replace_onto(tmp, target, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


def replace_onto(tmp: Path, target: Path, path: Path | str | None = None) -> None:
    """Rename the finished temporary file ``tmp`` onto ``target`` (``os.replace``). A refusal
    (a file another program holds open cannot be replaced on Windows; a busy file elsewhere)
    is an :class:`OutputError` naming ``path`` (default ``target``) that says so."""
    try:
        os.replace(tmp, target)
    except OSError as exc:
        if isinstance(exc, PermissionError) or exc.errno in (errno.EBUSY, errno.ETXTBSY):
            raise OutputError(f"cannot replace {path or target}: {exc.strerror or exc}; the file "
                              "may be open in another program: close it there and run again, or "
                              "write elsewhere") from exc
        raise


def atomic_write_text(path: Path | str, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (:func:`atomic_open`: temporary file in the same
    folder, fsync, then rename)."""
    with atomic_open(path, "w", encoding=encoding) as fh:
        fh.write(text)
    return Path(path)


def write_file_text(path: Path | str, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to a file a user named (``to_csv`` of results): a regular file atomically
    (:func:`atomic_write_text`; a symbolic link is written through), a pipe or device such as
    ``/dev/stdout`` in place. A folder, a missing folder or a refused write is an
    :class:`OutputError` naming ``path``."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder; give a file name")
    target = write_target(path)
    if target.exists() and not target.is_file():  # a pipe or a device: written as it is
        with os_errors(path), open(target, "w", newline="", encoding=encoding) as fh:
            fh.write(text)
        return path
    return atomic_write_text(path, text, encoding)


#: Name of the lock file of a folder being written (:func:`folder_lock`).
LOCK_FILE = ".lock"
#: Folders this process holds the lock of (resolved path → depth): taking it again is a no-op.
_HELD: dict[Path, int] = {}


@contextmanager
def folder_lock(folder: Path | str, refuse: Callable[[Path, str], Exception] | None = None,
                what: str = "output folder", *, reentrant: bool = True,
                keep_file: bool = False) -> Iterator[Path]:
    """Hold the writer's lock of ``folder`` (created if missing) for the ``with`` block.

    The lock is an advisory ``flock`` on ``FOLDER/.lock``, which holds the writer's pid: the
    kernel releases it when the process ends however it ends (an error, Ctrl-C, a kill), so a
    lock file left by a dead process is simply taken over. The file is removed when the block
    ends (unless ``keep_file``), and so are the folders made for it if they are still empty (a
    refused or failed command leaves nothing behind). With ``reentrant`` (the default) taking a
    lock this process holds already is a no-op; without it a second holder in the same process
    is refused like another process (a scan store: two runs in one process must not write it
    together). If another holder has it, ``refuse(folder, pid)`` is raised, by default an
    :class:`OutputError` "``what`` FOLDER is being written by another process (pid N)".
    Without ``fcntl`` (not POSIX) there is no lock: the one-writer rule is the user's.
    """
    made = [p for p in [Path(folder), *Path(folder).parents] if not os.path.lexists(p)]
    folder = ensure_dir(Path(folder), what)
    key = folder.resolve()
    if reentrant and key in _HELD:
        _HELD[key] += 1
        try:
            yield folder
        finally:
            _HELD[key] -= 1
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield folder
        return
    path = folder / LOCK_FILE
    while True:
        try:
            fh = open(path, "a+")
        except FileNotFoundError:  # the folder, empty, was removed by the writer letting go
            ensure_dir(folder, what)
            continue
        except OSError as exc:
            raise OutputError(f"cannot lock {path}: {exc.strerror or exc}") from exc
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            holder = fh.read().strip() or "?"
            fh.close()
            if refuse is not None:
                raise refuse(folder, holder) from None
            raise OutputError(f"{what} {folder} is being written by another process (pid "
                              f"{holder}); a folder has one writer at a time: wait for it to "
                              "finish or choose another folder") from None
        try:  # the file may have been removed (and made anew) by the holder that just let go
            same = os.path.samestat(os.fstat(fh.fileno()), os.stat(path))
        except OSError:
            same = False
        if same:
            break
        fh.close()
    if reentrant:
        _HELD[key] = 1
    try:
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        yield folder
    finally:
        if reentrant:
            del _HELD[key]
        if not keep_file:
            try:
                path.unlink(missing_ok=True)  # still locked: no other process holds this file
            except OSError:
                pass
        fh.close()  # closing releases the flock
        for p in made:  # innermost first; a folder something was written into stays
            try:
                p.rmdir()
            except OSError:
                break
