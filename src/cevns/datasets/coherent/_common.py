"""Helpers shared by the three release readers."""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cevns.datasets.coherent.containers import Parameter
from cevns.errors import CevnsError, ConfigError, DataError
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
    """A number of a release's YAML: finite (a value beyond ±1.8e308, which the file can hold
    as text, reads as ±inf and is refused like ``nan``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DataError(f"{path}: {where} is {value!r}, not a number")
    try:
        number = float(value)
    except OverflowError:  # an integer of more than 308 digits
        number = math.inf if value > 0 else -math.inf
    if not math.isfinite(number):
        raise DataError(f"{path}: {where} must be a finite number, got {number} (the file's "
                        "number is beyond the range of a float, ±1.8e308)")
    return number


def _optional_number(value: Any, path: Path, where: str) -> float | None:
    """An uncertainty of a release's YAML: ``None`` if absent or "negligible", else a finite
    number ≥ 0 (a 1σ width; the asymmetric ``error_lo``/``error_hi`` are given as positive
    numbers too)."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "negligible"):
        return None
    number = _number(value, path, where)
    if number < 0:
        raise DataError(f"{path}: {where} must be ≥ 0 (a 1σ uncertainty), got {number:g}")
    return number


def require_value(path: Path, where: str, value: float, valid: str, ok: bool) -> None:
    """Raise ``DataError`` "`path`: `where` must be `valid`, got `value`" unless ``ok``.

    The readers call it for every number of a release whose sign or range matters downstream
    (a zero or negative exposure, distance or normalisation gives silent NaN, negative
    backgrounds or a division by zero later), so that a damaged copy is refused when it is read,
    naming the file and the field.
    """
    if not ok:
        raise DataError(f"{path}: {where} must be {valid}, got {value:g}")


def require_prior(path: Path, key: str, parameter: Parameter, what: str) -> None:
    """A normalisation the fits give a Gaussian prior: value and uncertainty finite and > 0.

    The fit scales the normalisation by (1 + θ) with θ of width uncertainty / value: a value of 0
    divides by zero, a negative value gives negative expected counts, and an uncertainty of 0
    (or none, "negligible") is no prior width.
    """
    require_value(path, f"{key}.value", parameter.value,
                  f"> 0 ({what}; the fit scales it and its prior is relative to it)",
                  parameter.value > 0)
    if parameter.uncertainty is None:
        raise DataError(f"{path}: {key}.uncertainty must be a number > 0 (the width of the fit's "
                        f"prior on {what}), got none (missing or 'negligible')")
    require_value(path, f"{key}.uncertainty", parameter.uncertainty,
                  f"> 0 (the width of the fit's prior on {what})", parameter.uncertainty > 0)
    from cevns.errors import SIGMA_RANGE  # the statistics layer's bound, one definition

    lo, hi = SIGMA_RANGE
    relative = parameter.uncertainty / parameter.value
    if not lo <= relative <= hi:
        raise DataError(f"{path}: {key}: uncertainty / value = {parameter.uncertainty:g} / "
                        f"{parameter.value:g} must be in [{lo:g}, {hi:g}] (the relative width of "
                        f"the fit's prior on {what})")


def check_baseline(path: Path, where: str, value: float) -> None:
    """A source–detector distance in m: within the baselines a source accepts
    (:data:`cevns.experiment.source.MIN_BASELINE_M` … ``MAX_BASELINE_M``, 1 mm to 1000 km)."""
    from cevns.experiment.source import MAX_BASELINE_M, MIN_BASELINE_M

    require_value(path, where, value, f"in [{MIN_BASELINE_M:g}, {MAX_BASELINE_M:g}] m (the "
                  "source–detector distance)", MIN_BASELINE_M <= value <= MAX_BASELINE_M)


def validate_experiment(release: Any, path: Path, *, detector: str, source: str) -> None:
    """Build the release's :class:`~cevns.experiment.Detector` and
    :class:`~cevns.experiment.Source` once, as every fit does, so that numbers of the parameter
    file the per-field checks let through but the experiment layer refuses (a quenching curve
    that turns over, a mass or an exposure beyond its caps) are refused when the release is
    read, naming the file and the fields the detector (``detector``) or source (``source``) is
    built from."""
    for build, what, fields in ((release.detector, "detector", detector),
                                (release.source, "source", source)):
        try:
            build()
        except DataError:
            raise
        except CevnsError as exc:
            raise DataError(f"{path}: {fields} do not describe a valid {what}: "
                            f"{_one_line(exc)}") from None


def _one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line: the multi-line "invalid configuration (X):" message
    of a model validation becomes "field: reason; …" (the caller names the file and field)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if lines and lines[0].startswith("invalid configuration (") and lines[0].endswith(":"):
        lines = lines[1:] or lines
    # pydantic's model-level errors read ": Value error, <reason>"
    lines = [line.removeprefix(":").strip().removeprefix("Value error, ") for line in lines]
    return "; ".join(lines)


@contextmanager
def data_field(path: Path, where: str) -> Iterator[None]:
    """Report an error of the model built from the numbers ``where`` of file ``path`` (a
    quenching factor, a light yield, an efficiency curve …) as a :class:`DataError` naming the
    file and the field, on one line: the numbers came from the user's copy of the release, not
    from the user's configuration."""
    try:
        yield
    except DataError:
        raise
    except CevnsError as exc:
        raise DataError(f"{path}: {where}: {_one_line(exc)}") from None


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
    empty) or :class:`DataError` (missing, a file, another thing that is not a folder such as
    ``/dev/null``) naming it.
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
    if folder.is_file():
        raise DataError(f"{folder}: is a file, not a folder (data_dir of release {release!r})")
    if folder.exists() and not folder.is_dir():  # a device (/dev/null), a pipe, a socket
        raise DataError(f"{folder}: exists but is not a folder (data_dir of release "
                        f"{release!r})")
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


def require_template(
    path: Path, values: NDArray[np.float64], what: str,
    lines: NDArray[np.int_] | None = None, *, nonzero: bool = True,
) -> None:
    """Expected counts (a template, a PDF in events): each ≤ 2⁵³ (as observed counts; a larger
    "expected number of events" is a damaged value, which makes the fit's ratios overflow), and,
    with ``nonzero``, not all 0 (the template is scaled to its total, or a variant to the nominal
    total: an all-zero one divides by zero). ``lines``: the file line of each value (in C order),
    to name the line of a bad one. Negative entries are :func:`require_non_negative`'s."""
    flat = np.ravel(values)
    big = np.flatnonzero(flat >= MAX_EXACT_COUNT)
    if big.size:
        where = f", line {int(lines[big[0]])}" if lines is not None else ""
        raise DataError(f"{path}{where}: {what} value {float(flat[big[0]]):g} is not an expected "
                        f"number of events (at most 2^53 = {MAX_EXACT_COUNT:.4g})")
    if nonzero and not flat.sum() > 0:
        raise DataError(f"{path}: {what} is identically zero")


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
