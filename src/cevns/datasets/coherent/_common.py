"""Helpers shared by the three release readers."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cevns.datasets.coherent.containers import Parameter
from cevns.errors import ConfigError, DataError
from cevns.integrity import read_packaged_text, verify_tree

#: Folder names of the packaged copies, by registry name.
RELEASE_FOLDERS = {
    "coherent-csi-2017": "csi-2017",
    "coherent-csi-2021": "csi-2021",
    "coherent-lar-2020": "lar-2020",
}


def _package_folder(release: str) -> Path:
    root = resources.files("cevns.datasets.coherent").joinpath("data", RELEASE_FOLDERS[release])
    return Path(str(root))


def packaged_data_dir(release: str) -> Path:
    """Directory of the packaged copy of ``release``'s files, checked against the manifest.

    Every file of the release is compared with its SHA-256 in ``cevns/data/SHA256SUMS``
    (:mod:`cevns.integrity`): a modified packaged file is a :class:`DataError` naming it. A user's
    own copy (``data_dir=``) is not compared, only format-checked by the readers.
    """
    return verify_tree(_package_folder(release),
                       f"datasets/coherent/data/{RELEASE_FOLDERS[release]}")


@cache
def _supplementary() -> dict[str, Any]:
    text = read_packaged_text("datasets/coherent/supplementary.toml")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # pragma: no cover - shipped file
        raise DataError(f"supplementary.toml is not valid TOML: {exc}") from exc


def supplementary_parameter(folder: str, key: str, name: str | None = None) -> Parameter:
    """A cited parameter from ``supplementary.toml`` (values not in the released files)."""
    table = _supplementary().get(folder, {})
    if key not in table:  # pragma: no cover - shipped file
        raise DataError(f"supplementary.toml: [{folder}.{key}] missing")
    entry = table[key]
    return Parameter(
        name=name or key,
        value=float(entry["value"]),
        unit=str(entry.get("unit", "")),
        uncertainty=float(entry["uncertainty"]) if "uncertainty" in entry else None,
        source=str(entry["source"]),
    )


def yaml_entry(params: Mapping[str, Any], path: Path, key: str) -> Mapping[str, Any]:
    """The mapping ``params[key]``; ``DataError`` naming the file if it is absent."""
    entry = params.get(key)
    if not isinstance(entry, Mapping):
        raise DataError(f"{path}: parameter {key!r} missing (file of another release?)")
    return entry


def _number(value: Any, path: Path, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DataError(f"{path}: {where} is {value!r}, not a number")
    return float(value)


def _optional_number(value: Any, path: Path, where: str) -> float | None:
    if value is None or (isinstance(value, str) and value.strip().lower() == "negligible"):
        return None
    return _number(value, path, where)


def yaml_parameter(
    params: Mapping[str, Any], path: Path, key: str, name: str, unit: str | None = None
) -> Parameter:
    """A top-level ``key: {value, units, uncertainty}`` entry of a release's YAML as a Parameter.

    ``unit`` overrides the file's ``units`` string (used to give a canonical spelling).
    """
    entry = yaml_entry(params, path, key)
    unc_key = "uncertainty" if "uncertainty" in entry else "uncertainty_stat"
    return Parameter(
        name=name,
        value=_number(entry.get("value"), path, f"{key}.value"),
        unit=unit if unit is not None else str(entry.get("units", "")),
        uncertainty=_optional_number(entry.get(unc_key), path, f"{key}.{unc_key}"),
        source=f"{path.name}: {key}",
    )


def yaml_subparameters(
    params: Mapping[str, Any], path: Path, key: str, names: tuple[str, ...]
) -> dict[str, Parameter]:
    """The ``parameters:`` list of a YAML entry, by name, as Parameters (asymmetric errors kept)."""
    entry = yaml_entry(params, path, key)
    items = entry.get("parameters")
    if not isinstance(items, list):
        raise DataError(f"{path}: {key}.parameters missing (file of another release?)")
    found: dict[str, Parameter] = {}
    for item in items:
        if not isinstance(item, Mapping) or "name" not in item:
            raise DataError(f"{path}: malformed item in {key}.parameters: {item!r}")
        sub = str(item["name"])
        where = f"{key}.{sub}"
        found[sub] = Parameter(
            name=sub,
            value=_number(item.get("value"), path, f"{where}.value"),
            unit=str(item.get("units", "")),
            uncertainty=_optional_number(item.get("uncertainty"), path, f"{where}.uncertainty"),
            uncertainty_low=_optional_number(item.get("error_lo"), path, f"{where}.error_lo"),
            uncertainty_high=_optional_number(item.get("error_hi"), path, f"{where}.error_hi"),
            source=f"{path.name}: {where}",
        )
    missing = [n for n in names if n not in found]
    if missing:
        raise DataError(f"{path}: {key}.parameters lacks {missing} (file of another release?)")
    return found


def release_folder(data_dir: Any, release: str) -> Path:
    """The folder of ``release``'s files: ``data_dir`` (a user's copy), else the packaged copy.

    ``data_dir`` must be a path (``str`` or ``os.PathLike``), not empty (that would silently mean
    the working folder) and an existing folder: otherwise a :class:`ConfigError` (wrong type,
    empty) or :class:`DataError` (missing, a file) naming it.
    """
    if data_dir is None:
        return packaged_data_dir(release)
    if not isinstance(data_dir, str | os.PathLike):
        raise ConfigError(f"data_dir must be a folder path (str or pathlib.Path), got "
                          f"{type(data_dir).__name__} {data_dir!r}")
    if not str(data_dir).strip():
        raise ConfigError(f"data_dir {str(data_dir)!r}: an empty path would mean the working "
                          "folder; give the folder that holds the release's files")
    folder = Path(data_dir)
    if folder.exists() and not folder.is_dir():
        raise DataError(f"{folder}: is a file, not a folder (data_dir of release {release!r})")
    if not folder.is_dir():
        raise DataError(f"{folder}: directory not found (release {release!r})")
    return folder


#: Largest count a float holds exactly (2⁵³); a larger "observed count" is not a count.
MAX_EXACT_COUNT = 2.0**53


def require_counts(path: Path, counts: NDArray[np.float64]) -> None:
    """Observed counts must be non-negative integers (below 2⁵³, where floats stay exact)."""
    if np.any(counts < 0) or not np.allclose(counts, np.round(counts)):
        raise DataError(f"{path}: observed counts must be non-negative integers")
    if np.any(counts >= MAX_EXACT_COUNT):
        raise DataError(f"{path}: observed count {float(np.max(counts)):g} is not a count of "
                        f"events (at most 2^53 = {MAX_EXACT_COUNT:.4g})")


def require_non_negative(path: Path, values: NDArray[np.float64], what: str) -> None:
    """PDF values and expected counts must be ≥ 0."""
    if np.any(values < 0):
        raise DataError(f"{path}: {what} has negative entries")


def rebin_flat(
    source_edges: NDArray[np.float64],
    values: NDArray[np.float64],
    target_edges: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Re-bin histogram ``values`` assuming a flat density inside each source bin."""
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    at = np.interp(target_edges, source_edges, cumulative)
    return np.diff(at)


def edges_from_centres(centres: NDArray[np.float64]) -> NDArray[np.float64]:
    """Edges of equal-width bins from their centres."""
    width = float(centres[1] - centres[0])
    return np.concatenate([centres - 0.5 * width, centres[-1:] + 0.5 * width])
