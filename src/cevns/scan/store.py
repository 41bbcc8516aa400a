"""The on-disk store of a scan: one directory, written tile by tile by one process.

Layout::

    STORE/
      manifest.json      format, store id (a random UUID), resolved config (canonical JSON data),
                         its SHA-256 digest, grid axes, tile shape, task name, output specs, one
                         record per run session
      tiles/
        t000000.npz      outputs of tile 0 (one array per output, shape tile.shape + trailing),
                         stamped with the store id, the config digest and the tile index
        t000007.npz      ... one file per *completed* tile
      result.nc          the assembled xarray.Dataset (netCDF-4/HDF5 via netCDF4), once complete
      .lock              advisory lock held by the writing process

Crash safety: every file is written to a temporary name in the same directory, flushed and
``fsync``-ed, then atomically renamed into place (``os.replace``), and the directory is
``fsync``-ed. A tile file therefore either exists complete or not at all, so the set of tile files
*is* the done-mask: :meth:`ScanStore.done_mask` lists the ``tiles`` directory. A process killed at
any moment (Ctrl-C, SIGKILL, power loss) leaves at worst a stray ``.*.tmp`` file, which the next
writer removes. The manifest is written before any tile and rewritten atomically.

Identity: every tile file carries the store id, the config digest and its own tile index
(:data:`STAMP_KEYS`). A tile file copied from another store of the same shape, or renamed within
a store, is refused with a :class:`~cevns.errors.ScanError` naming the file, when the scan is
resumed and whenever the tile is read. So is a tile whose outputs differ in name, dtype or shape
from those the manifest records (the tile's shape + each output's trailing shape): an edited
tile or manifest is never cast (a float χ² read as an integer) or broadcast into the grid.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import importlib.util
import json
import logging
import os
import re
import shutil
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from cevns.errors import ConfigError, MissingDependencyError, ScanError
from cevns.fsio import folder_lock
from cevns.scan.digest import canonical_json, config_digest
from cevns.scan.grid import Grid
from cevns.scan.tiles import Tiling

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["FORMAT", "FORMAT_VERSION", "STAMP_KEYS", "ScanStore", "netcdf_engine", "open_scan", "store_lock",
           "write_netcdf"]

log = logging.getLogger(__name__)

FORMAT = "cevns-scan-store"
#: Version 2 added the store id and the identity stamp of every tile file.
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
TILES = "tiles"
RESULT = "result.nc"
LOCK = ".lock"
#: Name of the boolean variable added to partial datasets (True where a tile was computed).
DONE_VARIABLE = "scan_done"

_TILE_FILE = re.compile(r"^t(\d+)\.npz$")

#: Arrays stored in every tile file beside the outputs, recording who wrote it; reserved names
#: (no task output may use them) that :meth:`ScanStore.read_tile` checks and strips.
STAMP_KEYS = ("__cevns_store_id__", "__cevns_config_digest__", "__cevns_tile_index__")


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":  # directories cannot be opened for fsync on Windows
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _atomic_file(final: Path, sync_dir: bool = True) -> Iterator[Any]:
    """Open a temporary file beside `final`; on success fsync it and rename it to `final`.

    The file is fsync-ed before the rename, so after a crash or power loss `final` is either
    complete or absent. `sync_dir` also fsyncs the directory, making the rename itself durable;
    tiles skip that (a tile lost to a power cut is recomputed on resume, never half-read).
    """
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if sync_dir:
        _fsync_dir(final.parent)


def _write_json(path: Path, data: Any) -> None:
    with _atomic_file(path) as fh:
        fh.write(json.dumps(data, indent=1, sort_keys=True, allow_nan=False).encode())


def netcdf_engine() -> str:
    """The xarray engine used to write and read netCDF-4/HDF5 files: ``"netcdf4"``, else
    ``"h5netcdf"``.

    ``"netcdf4"`` is netCDF4-python (a core dependency; the netCDF-C library the field uses).
    Where it is not installed, h5netcdf with h5py writes the same format (netCDF-4/HDF5), about
    4x slower (``docs/exports.md``).

    Raises
    ------
    MissingDependencyError
        If neither netCDF4 nor h5netcdf with h5py is importable.
    """
    if importlib.util.find_spec("netCDF4") is not None:
        return "netcdf4"
    if importlib.util.find_spec("h5netcdf") is not None and importlib.util.find_spec("h5py") is not None:
        log.debug("netCDF4 is not installed: netCDF files go through h5netcdf and h5py")
        return "h5netcdf"
    raise MissingDependencyError(
        "writing netCDF-4 files needs netCDF4 (a dependency of cevns): pip install netCDF4 "
        "(or h5netcdf with h5py: pip install 'h5netcdf[h5py]')"
    )


#: xarray engines :func:`write_netcdf` writes with (``"scipy"``: netCDF-3, the others netCDF-4)
NETCDF_ENGINES = ("netcdf4", "h5netcdf", "scipy")


def write_netcdf(dataset: xr.Dataset, path: str | os.PathLike[str], engine: str | None = None) -> None:
    """Write ``dataset`` to ``path``: the file of ``dataset.to_netcdf(path, engine=engine)``,
    without importing ``dask.distributed``.

    ``Dataset.to_netcdf`` asks dask which scheduler is active (to close the file between the
    writes of dask chunks, and to pick a write lock that works across processes), and that
    question imports ``distributed`` (0.3-0.6 s of CPU, once per process; for a small
    ``cevns run`` a fifth of its time). A NumPy-backed dataset written by one thread needs
    neither, so it is written by the two steps ``to_netcdf`` itself takes: open xarray's data
    store for the engine, with the global lock xarray holds around the netCDF-C/HDF5 calls, and
    :meth:`xarray.Dataset.dump_to_store` (the CF encoding of every variable and attribute).
    Datasets holding dask arrays, and ``engine="scipy"`` (netCDF3), go through
    ``Dataset.to_netcdf``. ``tests/analyses/test_cf_netcdf.py`` checks that the files are the
    same.

    Parameters
    ----------
    dataset : xarray.Dataset
    path : path-like
        Destination; an existing file is overwritten (callers that need atomic replacement
        write to a temporary name and rename, as :meth:`ScanStore.export_netcdf` does).
    engine : str, optional
        ``"netcdf4"``, ``"h5netcdf"`` or ``"scipy"``; default :func:`netcdf_engine`.

    Raises
    ------
    ConfigError
        If `engine` is not one of :data:`NETCDF_ENGINES`.
    """
    engine = engine or netcdf_engine()
    if engine not in NETCDF_ENGINES:
        raise ConfigError(f"netCDF engine {engine!r} is not one of {', '.join(NETCDF_ENGINES)}")
    if engine == "scipy" or any(
        v.chunks is not None for v in dataset.variables.values()
    ):
        dataset.to_netcdf(path, engine=engine)  # type: ignore[call-overload]
        return
    # netCDF-C reports a missing folder and a folder in the file's place as "Permission denied":
    # name them (an OSError, as from open())
    target = Path(path)
    if not target.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, "no such folder", str(target.parent))
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, "a folder is in the way", str(target))
    if engine == "netcdf4":
        from xarray.backends import NetCDF4DataStore
        from xarray.backends.netCDF4_ import NETCDF4_PYTHON_LOCK

        store = NetCDF4DataStore.open(os.fspath(path), mode="w", format="NETCDF4",
                                      lock=NETCDF4_PYTHON_LOCK)
    else:
        from xarray.backends import H5NetCDFStore
        from xarray.backends.locks import HDF5_LOCK

        store = H5NetCDFStore.open(os.fspath(path), mode="w", lock=HDF5_LOCK)
    try:
        dataset.dump_to_store(store)
    finally:
        store.close()


def _tiles_folder(root: Path) -> Path:
    """``root/tiles``, or a :class:`ScanError` naming it if something other than a folder (a
    file, a link to one) stands there: tiles could be neither listed nor written, and the
    store's done-mask would read as empty."""
    folder = root / TILES
    if folder.exists() and not folder.is_dir():
        raise ScanError(f"{folder} is a file, not the scan store's tiles folder; move it away, "
                        f"or delete the folder {root} to recompute the scan")
    return folder


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


@contextlib.contextmanager
def store_lock(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold the writer's lock of the store at `path` (created if missing) for the ``with`` block:
    :func:`cevns.fsio.folder_lock`, not re-entrant, its ``.lock`` file kept.

    Raises
    ------
    ScanError
        If another process holds the lock (a scan is running into this store).
    """
    root = Path(path)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):  # the store, or a folder above it, is a file
        blocking = next((p for p in [root, *root.parents] if p.exists() and not p.is_dir()), root)
        if blocking == root:
            raise ScanError(f"store path {root} exists and is not a directory") from None
        raise ScanError(f"{blocking} exists and is not a directory: the scan store {root} cannot "
                        "be created under it") from None

    def refuse(folder: Path, holder: str) -> ScanError:
        return ScanError(f"store {folder} is being written by another process (pid {holder}); "
                         "a store has one writer at a time")

    # not re-entrant: a second run into this store in the same process is refused too; the lock
    # file stays (a folder holding only it is a store being created, see cevns.scan.runner)
    with folder_lock(root, refuse, "scan store", reentrant=False, keep_file=True):
        yield root


_RECOMPUTE = "recompute the scan (overwrite=True, or run without --resume)"

#: the manifest entries every store has (written by :meth:`ScanStore.create`) and their JSON types
_MANIFEST_KEYS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "store_id": (str, "a string"), "config": (dict, "an object"), "config_digest": (str, "a string"),
    "grid": (list, "a list"), "tile_shape": (list, "a list"), "task": (str, "a string"),
    "declared_outputs": ((dict, type(None)), "an object or null"),
    "outputs": ((dict, type(None)), "an object or null"), "runs": (list, "a list"),
}


def _output_spec_problems(manifest: Mapping[str, Any]) -> list[str]:
    """What is wrong with the output entries of a manifest (``outputs``: name → ``{"dtype",
    "dims", "shape"}`` as :func:`~cevns.scan.runner.check_result` records them from the first
    tile; ``declared_outputs``: name → trailing dimension names), or an empty list.

    Every tile is read against these entries: a dtype that is not a bool, integer or float dtype,
    or a shape that is not a list of sizes matching ``dims``, would make the tiles unreadable
    or, worse, cast them (a float χ² read as an integer).
    """
    problems = []
    for name, spec in (manifest.get("outputs") or {}).items():
        where = f"'outputs'[{name!r}]"
        if name in STAMP_KEYS:
            problems.append(f"{where} is a name reserved by the scan store")
            continue
        if not isinstance(spec, dict):
            problems.append(f"{where} is not an object")
            continue
        dtype, dims, shape = spec.get("dtype"), spec.get("dims"), spec.get("shape")
        try:
            kind = np.dtype(dtype).kind if isinstance(dtype, str) else None
        except (TypeError, ValueError):
            kind = None
        if kind is None or kind not in "biuf":
            problems.append(f"{where}.dtype {dtype!r} is not a bool, integer or float dtype")
        if not isinstance(dims, list) or not all(isinstance(d, str) and d for d in dims):
            problems.append(f"{where}.dims {dims!r} is not a list of dimension names")
        elif not isinstance(shape, list) or not all(
                isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
            problems.append(f"{where}.shape {shape!r} is not a list of sizes")
        elif len(shape) != len(dims):
            problems.append(f"{where}.shape {shape} does not match its dims {dims}")
    for name, dims in (manifest.get("declared_outputs") or {}).items():
        if not isinstance(dims, list) or not all(isinstance(d, str) and d for d in dims):
            problems.append(f"'declared_outputs'[{name!r}] {dims!r} is not a list of dimension "
                            "names")
    return problems


def _array_headers(data: Any) -> dict[str, tuple[tuple[int, ...], np.dtype[Any]]]:
    """Shape and dtype of every output array of an open ``.npz`` tile file, read from the
    ``.npy`` headers (the arrays themselves are not loaded)."""
    members = set(data.zip.namelist())
    out: dict[str, tuple[tuple[int, ...], np.dtype[Any]]] = {}
    for name in data.files:
        if name in STAMP_KEYS:
            continue
        member = f"{name}.npy" if f"{name}.npy" in members else name
        with data.zip.open(member) as fp:
            version = np.lib.format.read_magic(fp)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(fp)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(fp)
            else:  # a header version np.savez does not write: load the array to see it
                array = data[name]
                shape, dtype = array.shape, array.dtype
        out[name] = (tuple(shape), np.dtype(dtype))
    return out


class ScanStore:
    """A scan store directory (see the module docstring for the layout).

    Parameters
    ----------
    path : path-like
        Directory holding ``manifest.json``.

    Raises
    ------
    ScanError
        If `path` is not a scan store or its manifest is of an unknown format.
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        manifest_path = self.path / MANIFEST
        try:
            self.manifest: dict[str, Any] = json.loads(manifest_path.read_text())
        except FileNotFoundError:
            raise ScanError(f"{self.path} is not a cevns scan store (no {MANIFEST})") from None
        except (OSError, ValueError) as exc:
            raise ScanError(f"cannot read {manifest_path}: {exc}") from exc
        if not isinstance(self.manifest, dict):
            raise ScanError(f"cannot read {manifest_path}: corrupt record (a JSON "
                            f"{type(self.manifest).__name__}, not an object); {_RECOMPUTE}")
        fmt = self.manifest.get("format")
        if fmt != FORMAT or self.manifest.get("format_version") != FORMAT_VERSION:
            raise ScanError(
                f"{manifest_path}: format {fmt!r} version {self.manifest.get('format_version')!r}"
                f"; this cevns reads {FORMAT!r} version {FORMAT_VERSION}. Recompute the scan "
                "(overwrite=True, or run without --resume)"
            )
        bad = [f"{key!r} is missing" if key not in self.manifest else f"{key!r} is not {what}"
               for key, (kind, what) in _MANIFEST_KEYS.items()
               if not isinstance(self.manifest.get(key), kind)]
        if not bad:
            try:
                self.grid = Grid.from_json(self.manifest["grid"])
                self.tiling = Tiling(self.grid, tuple(self.manifest["tile_shape"]))
            except (KeyError, TypeError, ValueError) as exc:  # ConfigError is a ValueError
                bad = [f"'grid' or 'tile_shape' unusable: {exc}"]
        if not bad:
            bad = _output_spec_problems(self.manifest)
        if bad:
            raise ScanError(f"cannot read {manifest_path}: corrupt record ({'; '.join(bad)}); "
                            + _RECOMPUTE)

    # -- creation -------------------------------------------------------------------------------

    @staticmethod
    def is_store(path: str | os.PathLike[str]) -> bool:
        """Whether `path` holds a manifest (a store, complete or not)."""
        return (Path(path) / MANIFEST).is_file()

    @staticmethod
    def is_empty(path: str | os.PathLike[str]) -> bool:
        """Whether `path` is missing or holds nothing but a lock and temporary files."""
        root = Path(path)
        if not root.exists():
            return True
        return all(p.name == LOCK or p.name.endswith(".tmp") for p in root.iterdir())

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        *,
        config: Mapping[str, Any],
        grid: Grid,
        tile_shape: tuple[int, ...],
        task: str,
        declared_outputs: Mapping[str, list[str]] | None = None,
    ) -> ScanStore:
        """Write a new manifest and an empty ``tiles`` directory (the caller holds the lock)."""
        root = Path(path)
        root.mkdir(parents=True, exist_ok=True)
        _tiles_folder(root).mkdir(exist_ok=True)
        import cevns

        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "cevns_version": cevns.__version__,
            "created": _now(),
            "store_id": uuid.uuid4().hex,
            "config": json.loads(canonical_json(config)),
            "config_digest": config_digest(config),
            "grid": grid.to_json(),
            "tile_shape": list(tile_shape),
            "task": task,
            "declared_outputs": None if declared_outputs is None else
            {k: list(v) for k, v in declared_outputs.items()},
            "outputs": None,
            "runs": [],
        }
        _write_json(root / MANIFEST, manifest)
        return cls(root)

    def clear(self) -> None:
        """Delete the manifest, the tiles and the result (the caller holds the lock)."""
        self.discard(self.path)

    @staticmethod
    def discard(path: str | os.PathLike[str]) -> None:
        """Delete the store at `path` (of any format version of this format; the caller holds
        the lock). Refuses a directory whose manifest is not a cevns scan store's."""
        root = Path(path)
        try:
            fmt = json.loads((root / MANIFEST).read_text()).get("format")
        except (OSError, ValueError, AttributeError):
            fmt = None
        if fmt != FORMAT:
            raise ScanError(f"{root} does not hold a {FORMAT!r} manifest; not deleting it")
        _tiles_folder(root)  # a file in its place: refused before anything is deleted
        for name in (RESULT, MANIFEST):
            (root / name).unlink(missing_ok=True)
        shutil.rmtree(root / TILES, ignore_errors=True)
        for p in root.iterdir():
            if p.name.startswith(".") and p.name.endswith(".tmp"):
                p.unlink(missing_ok=True)

    def remove_temporaries(self) -> None:
        """Delete temporary files left by an interrupted writer (the caller holds the lock)."""
        for folder in (self.path, self.path / TILES):
            if folder.is_dir():
                for p in folder.iterdir():
                    if p.name.startswith(".") and p.name.endswith(".tmp"):
                        log.debug("removing stale temporary %s", p)
                        p.unlink(missing_ok=True)

    # -- manifest -------------------------------------------------------------------------------

    @property
    def store_id(self) -> str:
        """Random identifier of this store (a UUID4 in hex), stamped into every tile file."""
        return self.manifest["store_id"]

    @property
    def config(self) -> dict[str, Any]:
        """The stored configuration (canonical JSON data)."""
        return self.manifest["config"]

    @property
    def digest(self) -> str:
        """SHA-256 hex digest of the canonical JSON of the configuration."""
        return self.manifest["config_digest"]

    @property
    def tile_shape(self) -> tuple[int, ...]:
        """Maximum tile extent along each axis."""
        return self.tiling.tile_shape

    @property
    def task(self) -> str:
        """Name of the task that created the store."""
        return self.manifest["task"]

    @property
    def outputs(self) -> dict[str, dict[str, Any]] | None:
        """Output name → ``{"dtype", "dims", "shape"}`` of the trailing dimensions; None before
        the first tile."""
        return self.manifest["outputs"]

    @property
    def declared_outputs(self) -> dict[str, list[str]] | None:
        """Output name → trailing dimension names, as declared when the scan was created."""
        return self.manifest["declared_outputs"]

    @property
    def runs(self) -> list[dict[str, Any]]:
        """One record per run session: start time, executor, tiles computed, wall time, status."""
        return self.manifest["runs"]

    def _save_manifest(self) -> None:
        _write_json(self.path / MANIFEST, self.manifest)

    def set_outputs(self, spec: Mapping[str, Mapping[str, Any]]) -> None:
        """Record the output specs (done once, before the first tile is written)."""
        self.manifest["outputs"] = {k: dict(v) for k, v in spec.items()}
        self._save_manifest()

    def add_run(self, record: Mapping[str, Any]) -> None:
        """Append a run-session record to the manifest."""
        self.manifest["runs"].append(dict(record))
        self._save_manifest()

    # -- tiles ----------------------------------------------------------------------------------

    def _tile_path(self, index: int) -> Path:
        return self.path / TILES / f"t{index:06d}.npz"

    def done_indices(self) -> set[int]:
        """Indices of the tiles whose file exists (the done-mask as a set)."""
        folder = _tiles_folder(self.path)
        if not folder.is_dir():
            return set()
        n = len(self.tiling)
        out = set()
        for entry in os.scandir(folder):
            match = _TILE_FILE.match(entry.name)
            if match and int(match.group(1)) < n:
                out.add(int(match.group(1)))
        return out

    def done_mask(self) -> NDArray[np.bool_]:
        """Boolean array over the tile grid (shape ``tiling.tiles_shape``): True where done."""
        mask = np.zeros(len(self.tiling), dtype=bool)
        mask[list(self.done_indices())] = True
        return mask.reshape(self.tiling.tiles_shape)

    @property
    def n_tiles(self) -> int:
        """Number of tiles of the scan."""
        return len(self.tiling)

    @property
    def n_done(self) -> int:
        """Number of completed tiles."""
        return len(self.done_indices())

    @property
    def complete(self) -> bool:
        """Whether every tile is done."""
        return self.n_done == self.n_tiles

    def _stamp(self, index: int) -> dict[str, NDArray[Any]]:
        values = (self.store_id, self.digest, index)
        return {key: np.asarray(value) for key, value in zip(STAMP_KEYS, values, strict=True)}

    def write_tile(self, index: int, arrays: Mapping[str, NDArray[Any]]) -> None:
        """Write the outputs of tile `index` atomically, stamped with the store's identity (the
        caller holds the lock)."""
        clash = set(arrays) & set(STAMP_KEYS)
        if clash:
            raise ScanError(f"output names {sorted(clash)} are reserved by the scan store")
        with _atomic_file(self._tile_path(index), sync_dir=False) as fh:
            np.savez(fh, **arrays, **self._stamp(index))

    def _check_stamp(self, path: Path, index: int, data: Any) -> None:
        stamp = {key: data[key].item() if key in data.files else None for key in STAMP_KEYS}
        expected = dict(zip(STAMP_KEYS, (self.store_id, self.digest, index), strict=True))
        if stamp == expected:
            return
        store_id, digest, tile = stamp.values()
        if store_id is None:
            origin = "carries no store identity (written by another program or an older cevns)"
        elif store_id != self.store_id:
            origin = (f"belongs to another store (store id {store_id}, config digest "
                      f"{str(digest)[:12]}; this store is {self.store_id}, digest "
                      f"{self.digest[:12]})")
        elif digest != self.digest:
            origin = f"was written for another config (digest {str(digest)[:12]})"
        else:
            origin = f"holds tile {tile}, not tile {index} (renamed?)"
        raise ScanError(
            f"tile file {path} {origin}; refusing to mix it into this scan. Delete the file and "
            "resume the scan to recompute that tile"
        )

    def _check_arrays(self, path: Path, index: int,
                      arrays: Mapping[str, tuple[tuple[int, ...], np.dtype[Any]]]) -> None:
        """Refuse a tile file whose outputs are not those the manifest records: the names, and
        for each the dtype and the shape (the tile's shape + the output's trailing shape) that
        the task produced for the first tile (:meth:`set_outputs`). A tile assembled with
        another dtype would be cast silently (a float χ² truncated to an integer), one of
        another shape could not be placed in the grid."""
        spec = self.outputs
        tile_shape = self.tiling[index].shape
        changed = (f"the tile file or the store's {MANIFEST} was changed after the scan wrote "
                   f"them; {_RECOMPUTE}")
        if spec is None:
            raise ScanError(f"tile file {path} exists, but {self.path / MANIFEST} records no "
                            f"outputs (they are recorded before the first tile is written): "
                            + changed)
        missing, extra = sorted(set(spec) - set(arrays)), sorted(set(arrays) - set(spec))
        if missing or extra:
            what = "; ".join([*(f"lacks output {n!r}" for n in missing),
                              *(f"holds output {n!r}, which the manifest does not record"
                                for n in extra)])
            raise ScanError(f"tile file {path} (tile {index}) {what}; " + changed)
        for name, (shape, dtype) in arrays.items():
            want_dtype = np.dtype(spec[name]["dtype"])
            trailing = tuple(spec[name]["shape"])
            want_shape = tile_shape + trailing
            if dtype != want_dtype or shape != want_shape:
                raise ScanError(
                    f"tile file {path} (tile {index}): output {name!r} holds {dtype} values of "
                    f"shape {shape}, but the manifest records {want_dtype} of shape {want_shape} "
                    f"(tile shape {tile_shape} + trailing {trailing}); " + changed)

    def read_tile(self, index: int) -> dict[str, NDArray[Any]]:
        """The outputs of a completed tile.

        Raises
        ------
        ScanError
            If the tile is not done, its file is unreadable, the file was not written by this
            store for this tile (a foreign or renamed tile file), or its outputs differ in name,
            dtype or shape from those the manifest records; the message names the file.
        """
        return self._open_tile(index, read=True)

    def verify_tiles(self) -> None:
        """Check the identity stamp of every tile file, and the names, dtypes and shapes of its
        outputs against the manifest (before a resume computes anything).

        Raises
        ------
        ScanError
            Naming the first tile file that is unreadable, not this store's, or whose outputs
            differ from those the manifest records.
        """
        for index in sorted(self.done_indices()):
            self._open_tile(index, read=False)

    def _open_tile(self, index: int, *, read: bool) -> dict[str, NDArray[Any]]:
        """Open tile ``index``, check its identity stamp; return its outputs if ``read``."""
        path = self._tile_path(index)
        try:
            with np.load(path, allow_pickle=False) as data:
                self._check_stamp(path, index, data)
                self._check_arrays(path, index, _array_headers(data))
                if not read:
                    return {}
                return {name: data[name] for name in data.files if name not in STAMP_KEYS}
        except FileNotFoundError:
            raise ScanError(f"tile {index} of {self.path} is not done (no {path.name})") from None
        except ScanError:
            raise
        except Exception as exc:
            raise ScanError(
                f"tile file {path} is unreadable ({exc}); delete it and resume the scan to "
                "recompute that tile"
            ) from exc

    # -- assembly -------------------------------------------------------------------------------

    def attrs(self) -> dict[str, Any]:
        """Provenance attributes of the assembled dataset (netCDF-safe types only)."""
        runs = self.runs
        last = runs[-1] if runs else {}
        return {
            "cevns_scan_format": f"{FORMAT}/{FORMAT_VERSION}",
            "cevns_version": self.manifest["cevns_version"],
            "config": canonical_json(self.config),
            "config_digest": self.digest,
            "task": self.task,
            "grid_axes": json.dumps(list(self.grid.names)),
            "tile_shape": np.asarray(self.tile_shape, dtype=np.int64),
            "created": self.manifest["created"],
            "executor": last.get("executor", ""),
            "wall_time_s": float(sum(r.get("wall_time_s", 0.0) for r in runs)),
            "runs": json.dumps(runs, sort_keys=True),
        }

    def to_dataset(self, partial: bool = False) -> xr.Dataset:
        """Assemble the tiles into an ``xarray.Dataset``.

        Parameters
        ----------
        partial : bool
            Allow missing tiles: their points hold NaN (float outputs) or 0, and a boolean
            variable ``scan_done`` marks the computed points.

        Returns
        -------
        xarray.Dataset
            Coordinates: the grid axes; variables: the task outputs (dims: grid axes, then the
            trailing dimensions of the output); attrs: see :meth:`attrs`.

        Raises
        ------
        ScanError
            If tiles are missing and `partial` is false, or a tile file is unreadable.
        """
        import xarray as xr

        done = sorted(self.done_indices())
        if len(done) < self.n_tiles and not partial:
            raise ScanError(
                f"scan in {self.path} is incomplete ({len(done)} of {self.n_tiles} tiles done); "
                "resume it with resume=True, or pass partial=True to see what is done"
            )
        spec = self.outputs or {}
        arrays: dict[str, NDArray[Any]] = {}
        for name, s in spec.items():
            dtype = np.dtype(s["dtype"])
            fill = np.nan if dtype.kind == "f" else 0
            arrays[name] = np.full(self.grid.shape + tuple(s["shape"]), fill, dtype=dtype)
        computed = np.zeros(self.grid.shape, dtype=bool)
        for index in done:
            tile = self.tiling[index]
            data = self.read_tile(index)
            for name in spec:
                if name not in data:
                    raise ScanError(f"tile file {self._tile_path(index)} lacks output {name!r}")
                arrays[name][tile.slices] = data[name]
            computed[tile.slices] = True
        dims = self.grid.names
        variables = {
            name: (dims + tuple(spec[name]["dims"]), arr) for name, arr in arrays.items()
        }
        if partial:
            variables[DONE_VARIABLE] = (dims, computed)
        return xr.Dataset(variables, coords=self.grid.axes, attrs=self.attrs())

    def export_netcdf(
        self,
        path: str | os.PathLike[str] | None = None,
        engine: str | None = None,
        dataset: xr.Dataset | None = None,
    ) -> Path:
        """Write the complete dataset to a netCDF-4 file, atomically.

        Parameters
        ----------
        path : path-like, optional
            Destination; default ``STORE/result.nc``.
        engine : str, optional
            xarray engine; default :func:`netcdf_engine` (``"netcdf4"`` when netCDF4 is installed).
        dataset : xarray.Dataset, optional
            The result of :meth:`to_dataset`, if already assembled.

        Returns
        -------
        Path
            The file written.
        """
        if dataset is None:
            dataset = self.to_dataset()
        dest = Path(path) if path is not None else self.path / RESULT
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        try:
            write_netcdf(dataset, tmp, engine)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(dest.parent)
        return dest

    def __repr__(self) -> str:
        return (
            f"ScanStore({str(self.path)!r}, {self.grid!r}, {self.n_done}/{self.n_tiles} tiles, "
            f"digest {self.digest[:12]})"
        )


def open_scan(path: str | os.PathLike[str], partial: bool = False) -> xr.Dataset:
    """Open a scan store as an ``xarray.Dataset`` (loaded into memory).

    Reads the consolidated ``result.nc`` when it exists, else assembles the tile files.

    Parameters
    ----------
    path : path-like
        The store directory.
    partial : bool
        Accept an incomplete scan (see :meth:`ScanStore.to_dataset`).

    Raises
    ------
    ScanError
        If `path` is not a store, or the scan is incomplete and `partial` is false.
    """
    store = ScanStore(path)
    result = store.path / RESULT
    if result.is_file() and store.complete:
        import xarray as xr

        return xr.load_dataset(result, engine=netcdf_engine())
    return store.to_dataset(partial=partial)
