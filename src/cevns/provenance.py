"""Provenance records written beside every output: what produced these files.

Each record names the cevns version, the git revision when the package runs from a git checkout,
and a *source digest*: SHA-256 over the installed package's ``.py``, ``.toml`` and ``.mplstyle``
files (relative path and content, in sorted order). The digest identifies the code also after
``pip install .``, where there is no git revision; it is computed once per process, on first use.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import json
import platform
import re
import subprocess
from pathlib import Path
from typing import Any

import cevns

#: file types that make up the package's behaviour (code, shipped analyses and presets, style)
SOURCE_SUFFIXES = (".py", ".toml", ".mplstyle")


def git_revision() -> str | None:
    """The git revision of the cevns source tree, if it is a git checkout."""
    root = Path(cevns.__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def source_digest(root: Path | None = None) -> str:
    """SHA-256 (hex) of the package sources under ``root`` (default: the installed package).

    Every file whose name ends in one of :data:`SOURCE_SUFFIXES` contributes its path relative
    to ``root`` and its bytes, in sorted path order; ``__pycache__`` is skipped. Two installs with
    the same sources have the same digest, whatever their location or file times.
    """
    if root is None:
        return _package_digest()
    return _digest(Path(root))


@functools.cache
def _package_digest() -> str:
    return _digest(Path(cevns.__file__).resolve().parent)


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    files = sorted(p for p in root.rglob("*")
                   if p.suffix in SOURCE_SUFFIXES and p.is_file() and "__pycache__" not in p.parts)
    for p in files:
        rel = p.relative_to(root).as_posix().encode()
        h.update(len(rel).to_bytes(4, "big") + rel)
        data = p.read_bytes()
        h.update(len(data).to_bytes(8, "big") + data)
    return h.hexdigest()


def provenance_record(**fields) -> dict:
    """Package versions, git revision, source digest, platform and time, plus the given fields."""
    from importlib.metadata import PackageNotFoundError, version

    import numpy as np
    import scipy

    try:  # the installed version, without importing matplotlib (a run without figures needs none)
        matplotlib_version = version("matplotlib")
    except PackageNotFoundError:
        matplotlib_version = None
    return {
        "cevns_version": cevns.__version__,
        "git_revision": git_revision(),
        "source_sha256": source_digest(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "matplotlib": matplotlib_version,
        "python": platform.python_version(),
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        **fields,
    }


# -- output folders: one configuration per folder ----------------------------------------------

#: the run record of a result folder: the configuration it holds (written when the folder is
#: claimed, before anything is computed) and what was written (at the end)
CONFIG_FILE = "config.json"
RECORD_FILE = "provenance.json"
#: the record of a ``cevns reproduce`` folder (its items are result folders inside it)
INDEX_FILE = "index.json"
#: a subfolder cevns may leave in an output folder: the scan stores of an interrupted run
SCANS_FOLDER = "scans"


def config_digest(config: dict) -> str:
    """The digest of a configuration record: SHA-256 of its canonical JSON, first 16 hex digits
    (:meth:`cevns.analyses.base.AnalysisBase.digest` is this of an analysis's dump)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _command_of(config: Any) -> str:
    """Which command wrote a configuration record: ``fit`` or ``run`` (an analysis)."""
    if isinstance(config, dict) and config.get("command") == "fit":
        return "fit"
    return "run"


def describe_config(config: Any) -> str:
    """A few words naming what a configuration record holds (for messages)."""
    if _command_of(config) == "fit":
        params = config.get("parameters") or ["the release's default parameters"]
        return (f"a 'cevns fit' of {config.get('release', '?')} "
                f"({', '.join(str(p) for p in params)})")
    if isinstance(config, dict) and "kind" in config:
        return f"the {config.get('kind')} analysis {config.get('name', '?')!r} ('cevns run')"
    return "results of another cevns command"


def read_record(path: Path, what: str) -> Any:
    """Read a JSON record cevns wrote into an output folder; a corrupt one is an
    :class:`~cevns.errors.OutputError` naming the path and suggesting ``--force``."""
    from cevns.errors import OutputError

    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        message = " ".join(str(exc).split())
        raise OutputError(f"{path}: corrupt {what} ({message}); use --force to overwrite the "
                          "folder's results") from None
    except OSError as exc:
        raise OutputError(f"cannot read {path}: {exc.strerror or exc}") from None
    return doc


def _read_table(path: Path, what: str) -> dict | None:
    if not path.exists():
        return None
    doc = read_record(path, what)
    if not isinstance(doc, dict):
        from cevns.errors import OutputError

        raise OutputError(f"{path}: corrupt {what} (not a JSON table); use --force to overwrite "
                          "the folder's results")
    return doc


def _holds_record(folder: Path) -> bool:
    return any((folder / name).is_file() for name in (CONFIG_FILE, RECORD_FILE, INDEX_FILE))


def foreign_entries(out: Path) -> list[Path]:
    """Entries of ``out`` that no cevns command wrote: everything but hidden files, a ``scans``
    folder (scan stores) and subfolders holding a cevns record (result folders)."""
    entries = []
    for p in sorted(Path(out).iterdir()):
        if p.name.startswith("."):
            continue
        if p.is_dir() and not p.is_symlink() and (p.name == SCANS_FOLDER or _holds_record(p)):
            continue
        entries.append(p)
    return entries


def _in_the_way(out: Path, entries: list[Path], outputs) -> Path:
    """The entry to name in a refusal: one that would be overwritten if any, else the first."""
    names = set(outputs or ())
    for p in entries:
        if p.name in names or any(p.name.startswith(f"{n}.") or p.name.startswith(f"{n}_")
                                  for n in names):
            return p
    return entries[0]


def refuse_foreign(out: Path, outputs=(), *, force: bool = False) -> None:
    """Refuse a non-empty output folder that holds no cevns record (``--force`` writes anyway).

    ``outputs`` are names (or stems) the command would write; the message names an existing
    file among them, so the user sees what would be overwritten.
    """
    from cevns.errors import OutputError

    if force:
        return
    entries = foreign_entries(out)
    if entries:
        victim = _in_the_way(out, entries, outputs)
        more = f" (and {len(entries) - 1} more)" if len(entries) > 1 else ""
        raise OutputError(f"output folder {out} is not empty and holds no cevns results: "
                          f"{victim}{more} could be overwritten; choose another --out (a new or "
                          "empty folder) or use --force to write there anyway")


def summarize_changes(changes, limit: int = 300) -> str:
    """What changed between two configurations (the ``(key, old, new)`` of
    :func:`cevns.scan.digest.config_diff`) in at most about ``limit`` characters: a short value
    as ``key: old → new``, definitions added or removed by name (``detector added: Ge, Xe``),
    the keys changed inside a definition by name (``detector.CsI changed (threshold_keVnr,
    mass_kg)``), never a whole definition."""
    from cevns.scan.digest import ABSENT

    groups: dict[tuple[str, str], list[str]] = {}
    for key, a, b in changes:
        parent, _, name = key.rpartition(".")
        if a is ABSENT or b is ABSENT:
            verb = "added" if a is ABSENT else "removed"
            groups.setdefault((parent, verb), []).append(name if parent else key)
            continue
        parts = key.split(".")
        head, leaf = ".".join(parts[:2]), ".".join(parts[2:])
        shown = f"{key}: {a!r} → {b!r}"
        if not leaf and not isinstance(a, dict) and not isinstance(b, dict) and len(shown) <= 80:
            groups.setdefault((shown, ""), [])
            continue
        names = groups.setdefault((head, "changed"), [])
        name = re.split(r"[.\[]", leaf)[0] if leaf else ""
        if name and name not in names:
            names.append(name)
    items = []
    for (what, verb), names in groups.items():
        if verb == "changed":
            items.append(f"{what} changed" + (f" ({', '.join(names)})" if names else ""))
        elif verb:
            items.append(f"{what + ' ' if what else ''}{verb}: {', '.join(names)}")
        else:
            items.append(what)
    text = ""
    for k, item in enumerate(items):
        more = f"; … ({len(items) - k} more)"
        if text and len(text) + len(item) + len(more) > limit:
            return text + more
        text = f"{text}; {item}" if text else item[:limit]
    return text


def output_lock(out: str | Path):
    """Hold the writer's lock of the output folder ``out`` (created if missing) for a ``with``
    block (:func:`cevns.fsio.folder_lock`): a second command writing the same folder is refused
    with an :class:`~cevns.errors.OutputError` naming the process that writes it, instead of the
    two mixing or losing results (``index.json``, ``config.json``). Released on every exit;
    the lock of a process that died is taken over. Re-entrant within one process."""
    from cevns import fsio
    from cevns.errors import OutputError

    def refuse(folder: Path, pid: str) -> OutputError:
        return OutputError(f"output folder {folder} is being written by another process (pid "
                           f"{pid}); a folder has one writer at a time: wait for it to finish "
                           "or choose another --out")

    return fsio.folder_lock(out, refuse)


def only_claimed(out: str | Path) -> bool:
    """Whether the folder ``out`` holds nothing of a run but the ``config.json`` of its claim:
    no ``provenance.json``, no ``index.json``, no output, no scan store (``scans``), no file of
    the user's; hidden entries (the writer's ``.lock``, a temporary ``.NAME.tmp``) aside. A
    command that failed after it claimed the folder leaves it so, and a later command of
    another configuration may claim it (:func:`claim_output_folder`). A folder an interrupted
    run left with scan tiles or partial outputs is not "only claimed": ``--resume`` continues
    it, so another configuration still needs ``--force``."""
    folder = Path(out)
    if not (folder / CONFIG_FILE).is_file() or (folder / CONFIG_FILE).is_symlink():
        return False
    try:
        entries = list(folder.iterdir())
    except OSError:
        return False
    return all(p.name == CONFIG_FILE or p.name.startswith(".") for p in entries)


def claim_output_folder(out: str | Path, config: dict, *, resume: bool = False,
                        force: bool = False, outputs=(), resumable: bool = True) -> Path:
    """Check that the results of ``config`` may be written into ``out``; create the folder and
    record ``config.json`` in it (before anything is computed). Returns the folder.

    One configuration per folder (docs/errors.md):

    * a new or empty folder is claimed, and so is a folder that holds nothing but the
      ``config.json`` of another claim (:func:`only_claimed`: its command failed before it wrote
      anything; nothing of it is lost);
    * a folder whose record (``config.json``, else the digest in ``provenance.json``) holds the
      same configuration is reused (``--resume`` continues its scans);
    * a folder holding another configuration is refused (:class:`~cevns.errors.ConfigError`;
      with ``resume`` listing what changed), one holding results of another command (a fit, a
      run, a ``cevns reproduce`` folder) or files no cevns command wrote is refused
      (:class:`~cevns.errors.OutputError`, naming a file that would be overwritten);
    * a corrupt record is reported with its path;
    * ``force`` skips these checks and records the new configuration (``resume`` and ``force``
      exclude each other; the caller refuses both).

    ``outputs`` are the names or stems the command writes (for the message); ``resumable`` says
    whether the message may suggest ``--resume``.
    """
    from cevns import fsio
    from cevns.errors import ConfigError, OutputError

    out = fsio.ensure_dir(Path(out))
    cfg_path, rec_path = out / CONFIG_FILE, out / RECORD_FILE
    digest = config_digest(config)

    def record() -> None:
        fsio.atomic_write_text(fsio.inside(out, CONFIG_FILE),
                               json.dumps(config, indent=2, default=str) + "\n")

    if force:
        record()
        return out
    old_config = _read_table(cfg_path, "configuration record")
    old_record = _read_table(rec_path, "provenance record")
    if old_config is None and old_record is None:
        if (out / INDEX_FILE).is_file():
            raise OutputError(f"{out} holds the results of 'cevns reproduce' ({out / INDEX_FILE}), "
                              f"not of {describe_config(config)}; choose another --out or use "
                              "--force to overwrite")
        refuse_foreign(out, (*outputs, CONFIG_FILE, RECORD_FILE))
        record()
        return out
    old = old_config if old_config is not None else old_record
    old_digest = (config_digest(old_config) if old_config is not None
                  else old_record.get("digest"))
    if old_digest == digest:
        if old_config is None:  # a record of an older version: add the configuration
            record()
        return out
    if old_record is None and only_claimed(out):  # a run that failed before writing anything
        record()
        return out
    if _command_of(old) != _command_of(config):
        victim = cfg_path if cfg_path.exists() else rec_path
        raise OutputError(f"{out} holds {describe_config(old)}, not {describe_config(config)}: "
                          f"its record {victim} would be overwritten; choose another --out or use "
                          "--force to overwrite")
    from cevns.scan.digest import config_diff

    changes = config_diff(old_config, config) if old_config is not None else []
    listed = summarize_changes(changes)
    if resume:
        raise ConfigError(f"{out}: cannot resume, the configuration changed: "
                          f"{listed or 'digest differs'}")
    # --resume continues a folder's own configuration only: it is no way out of this one
    also = (" (--resume continues a folder only with the configuration it holds)"
            if resumable else "")
    what = listed or f"digest {old_digest}, now {digest}"
    raise ConfigError(f"{out} holds results of a different configuration ({what}); use --force "
                      f"to overwrite them or choose another --out{also}")


# -- what the previous run of a folder wrote ------------------------------------------------------


def recorded_outputs(out: str | Path, command: str | None = None) -> tuple[str | None, list[str]]:
    """The digest and the files listed by the run record (``provenance.json``) of ``out``.

    ``command`` (``"fit"`` or ``"run"``) restricts this to a record of that command (``None``:
    any). A missing record, a corrupt one (the folder's claim reports it, or ``--force`` replaces
    it) or one of another command lists nothing: ``(None, [])``. Only names of files directly in
    the folder are returned (slugs, :func:`cevns.fsio.check_slug`; the records of ``cevns run``
    and ``cevns fit`` list nothing else), never a path into a subfolder or out of the folder.

    Read before a run that may replace the folder's results, so that the files of the earlier
    run it does not write again can be removed afterwards (:func:`remove_stale_outputs`).
    """
    from cevns.errors import CevnsError
    from cevns.fsio import check_slug

    path = Path(out) / RECORD_FILE
    if not path.is_file():
        return None, []
    try:
        old = read_record(path, "provenance record")
    except OSError:
        return None, []
    if not isinstance(old, dict) or (command is not None and _command_of(old) != command):
        return None, []
    names = []
    for name in old.get("files") or []:
        try:
            names.append(check_slug(name, "file"))
        except CevnsError:
            continue
    digest = old.get("digest")
    return (digest if isinstance(digest, str) else None), names


def remove_stale_outputs(out: str | Path, old_files, written) -> list[Path]:
    """Remove from ``out`` the files of its previous run (``old_files``, the names its record
    listed: :func:`recorded_outputs`) that this run did not write again (``written``: names or
    paths; the folder's own ``config.json`` and ``provenance.json`` are never removed).

    Only regular files named in the old record are removed, directly inside ``out``: a symbolic
    link, a folder, or any file the record does not list (a user's own) is left alone. Returns
    the paths removed. Used by ``cevns fit`` and by every analysis run (``cevns run``, the
    items of ``cevns reproduce``, :func:`cevns.analyses.run_analysis`) when their results
    replace those of another configuration, so that the folder holds exactly the files its new
    ``provenance.json`` lists.
    """
    from cevns import fsio
    from cevns.errors import CevnsError

    keep = {Path(f).name for f in written} | {CONFIG_FILE, RECORD_FILE, INDEX_FILE}
    removed = []
    for name in dict.fromkeys(old_files):
        if name in keep or Path(name).name != name:
            continue
        try:
            stale = fsio.inside(Path(out), fsio.check_slug(name, "file"))
        except CevnsError:
            continue
        if stale.is_file() and not (Path(out) / name).is_symlink():
            with fsio.os_errors(stale, "remove"):
                stale.unlink()
            removed.append(stale)
    return removed
