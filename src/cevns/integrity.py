"""SHA-256 checksums of the data files shipped with cevns, checked when they are read.

Every packaged data file — the COHERENT releases (``datasets/coherent/data/**``, with
``supplementary.toml``), the nuclei table (``data/*.toml``), the presets (``presets/*.toml``) and
the published fit values (``fits/published.toml``) — is listed with its SHA-256 digest in the
manifest ``data/SHA256SUMS`` (the format of ``sha256sum``; paths relative to the ``cevns``
package). Reading a packaged file checks it: a file that differs from the release by a single
byte is a :class:`cevns.errors.DataError` naming it, never a silently different result.

A user's own copy of a release (``load_release(name, data_dir=...)``) is not compared with the
manifest: it is checked for its format (columns, rows, grids, numbers) by the readers.

After an intended change of a shipped file, regenerate the manifest and commit it::

    python -m cevns.integrity           # rewrite data/SHA256SUMS
    python -m cevns.integrity --check   # verify every listed file (exit status 1 if not)
"""

from __future__ import annotations

import hashlib
import sys
from functools import lru_cache
from importlib import resources
from pathlib import Path

from cevns.errors import DataError

#: Manifest location, relative to the ``cevns`` package.
MANIFEST = "data/SHA256SUMS"
#: Glob patterns (relative to the package) of the files the manifest covers.
COVERED = (
    "data/*.toml",
    "data/*.csv",
    "presets/*.toml",
    "presets/*.csv",
    "fits/published.toml",
    "datasets/coherent/supplementary.toml",
    "datasets/coherent/data/**/*",
)
REGENERATE = "python -m cevns.integrity"


def package_root() -> Path:
    """The folder of the installed ``cevns`` package."""
    return Path(str(resources.files("cevns")))


def sha256_file(path: Path) -> str:
    """SHA-256 hex digest of the bytes of ``path``."""
    return _sha256(str(path), *_stamp(path))


def _stamp(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
    except OSError as exc:
        raise DataError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    return st.st_mtime_ns, st.st_size


@lru_cache(maxsize=256)
def _sha256(path: str, mtime_ns: int, size: int) -> str:
    # keyed on (path, modification time, size): a changed file is hashed again
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def covered_files(root: Path | None = None) -> list[str]:
    """Paths (relative to the package, ``/``-separated, sorted) of every covered file."""
    root = root or package_root()
    found = {p.relative_to(root).as_posix() for pattern in COVERED for p in root.glob(pattern)
             if p.is_file() and p.name != "SHA256SUMS" and "__pycache__" not in p.parts}
    return sorted(found)


def _parse_manifest(text: str, where: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or not name:
            raise DataError(f"{where}, line {line_no}: not '<sha256>  <path>'")
        out[name.strip()] = digest.lower()
    return out


@lru_cache(maxsize=1)
def manifest() -> dict[str, str]:
    """The shipped manifest: package-relative path → SHA-256 hex digest."""
    path = package_root() / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: checksum manifest missing; run `{REGENERATE}`") from None
    return _parse_manifest(text, str(path))


def verify_file(path: Path, key: str) -> Path:
    """Check ``path`` against the manifest entry ``key`` (package-relative); return ``path``.

    Raises
    ------
    DataError
        If the file is missing, not listed, or its SHA-256 differs from the manifest's (the
        message names the file and both digests).
    """
    expected = manifest().get(key)
    if expected is None:
        raise DataError(f"{path}: packaged data file {key!r} is not in the checksum manifest "
                        f"{MANIFEST}; run `{REGENERATE}` after an intended change")
    if not path.is_file():
        raise DataError(f"{path}: packaged data file missing (listed in {MANIFEST})")
    actual = sha256_file(path)
    if actual != expected:
        raise DataError(f"{path}: packaged data file {key!r} was modified: SHA-256 {actual[:16]}… "
                        f"differs from the released {expected[:16]}… ({MANIFEST}). Reinstall "
                        f"cevns, or pass your own copy as a data directory; after an intended "
                        f"change run `{REGENERATE}`")
    return path


def verify_tree(folder: Path, prefix: str) -> Path:
    """Check every manifest entry under ``prefix`` (e.g. ``datasets/coherent/data/lar-2020``)
    against the files of ``folder``; a listed file missing there is a :class:`DataError`."""
    prefix = prefix.rstrip("/") + "/"
    entries = [k for k in manifest() if k.startswith(prefix)]
    if not entries:
        raise DataError(f"{folder}: no checksums for {prefix!r} in {MANIFEST}")
    for key in entries:
        verify_file(folder / key[len(prefix):], key)
    return folder


def packaged_path(key: str) -> Path:
    """Path of the packaged file ``key`` after checking it against the manifest."""
    return verify_file(package_root() / key, key)


def read_packaged_text(key: str) -> str:
    """Text of the packaged file ``key`` (package-relative), checked against the manifest."""
    return packaged_path(key).read_text(encoding="utf-8")


def write_manifest(root: Path | None = None) -> Path:
    """Write ``data/SHA256SUMS`` for every covered file under ``root`` (default: the package)."""
    root = root or package_root()
    lines = [f"{sha256_file(root / name)}  {name}" for name in covered_files(root)]
    header = (f"# SHA-256 of every packaged data file of cevns; regenerate with `{REGENERATE}`\n")
    path = root / MANIFEST
    path.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    manifest.cache_clear()
    return path


def check_all(root: Path | None = None) -> list[str]:
    """Problems with the manifest: modified, missing or unlisted files (empty list = all good)."""
    root = root or package_root()
    problems = []
    listed = manifest()
    for name in covered_files(root):
        if name not in listed:
            problems.append(f"{name}: not in {MANIFEST}")
    for name in listed:
        try:
            verify_file(root / name, name)
        except DataError as exc:
            problems.append(str(exc))
    return problems


def main(argv: list[str] | None = None) -> int:
    """``python -m cevns.integrity [--check]``."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--check"]:
        problems = check_all()
        for p in problems:
            print(p)
        print(f"{len(manifest())} files checked, {len(problems)} problem(s)")
        return 1 if problems else 0
    if args:
        print("usage: python -m cevns.integrity [--check]")
        return 2
    path = write_manifest()
    print(f"wrote {path} ({len(manifest())} files)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
