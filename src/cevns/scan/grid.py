"""A scan grid: ordered, named, validated axes.

>>> grid = Grid({"mass_MeV": log_axis(1.0, 1000.0, 4), "coupling": linear_axis(0.0, 1.0, 3)})
>>> grid.names, grid.shape, grid.size
(('mass_MeV', 'coupling'), (4, 3), 12)
>>> grid["mass_MeV"]
array([   1.,   10.,  100., 1000.])
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cevns.errors import ConfigError, UnknownNameError, not_real_numbers

__all__ = ["DEFAULT_MAX_GRID_BYTES", "MAX_GRID_BYTES_ENV", "Grid", "check_grid_bytes",
           "format_gib", "linear_axis", "log_axis", "max_grid_bytes"]

#: Default cap on the estimated memory of one grid (bytes): 2 GiB.
DEFAULT_MAX_GRID_BYTES = 2 * 1024**3
#: Environment variable that overrides :data:`DEFAULT_MAX_GRID_BYTES` (an integer number of bytes).
MAX_GRID_BYTES_ENV = "CEVNS_MAX_GRID_BYTES"


def max_grid_bytes() -> int:
    """The memory cap in bytes: ``CEVNS_MAX_GRID_BYTES`` if set, else 2 GiB (docs/errors.md)."""
    raw = os.environ.get(MAX_GRID_BYTES_ENV)
    if raw is None or raw.strip() == "":
        return DEFAULT_MAX_GRID_BYTES
    try:
        value = int(float(raw))
    except ValueError:
        raise ConfigError(f"{MAX_GRID_BYTES_ENV}={raw!r}: not a number of bytes") from None
    except OverflowError:  # inf, 1e400: no finite limit
        raise ConfigError(f"{MAX_GRID_BYTES_ENV}={raw!r}: must be a finite number of bytes") from None
    if value <= 0:
        raise ConfigError(f"{MAX_GRID_BYTES_ENV}={raw!r}: must be a positive number of bytes")
    return value


def format_gib(n: float) -> str:
    """``n`` bytes as GiB with three significant digits, for messages."""
    return f"{n / 1024**3:.3g} GiB"


def check_grid_bytes(points: int, what: str, per_point: int = 8) -> None:
    """Refuse an allocation of ``per_point`` bytes × ``points`` above :func:`max_grid_bytes`,
    before anything is allocated (``what`` names it in the message)."""
    need = per_point * int(points)
    cap = max_grid_bytes()
    if need > cap:
        raise ConfigError(f"{what}: {points} points would need {format_gib(need)}, above the limit "
                          f"{format_gib(cap)} ({MAX_GRID_BYTES_ENV})")


def _check_num(num: int) -> int:
    if isinstance(num, bool) or not isinstance(num, (int, np.integer)) or num < 1:
        raise ConfigError(f"num = {num!r}: the number of axis points must be an integer >= 1")
    check_grid_bytes(num, "num")
    return int(num)


def linear_axis(start: float, stop: float, num: int) -> NDArray[np.float64]:
    """`num` evenly spaced points from `start` to `stop` inclusive (``numpy.linspace``).

    Raises
    ------
    ConfigError
        If `num` < 1, an end point is not finite, or `stop` <= `start` with `num` > 1.
    """
    num = _check_num(num)
    if not (np.isfinite(start) and np.isfinite(stop)):
        raise ConfigError(f"linear axis from {start!r} to {stop!r}: end points must be finite")
    if num > 1 and not stop > start:
        raise ConfigError(f"linear axis from {start!r} to {stop!r}: stop must exceed start")
    return np.linspace(float(start), float(stop), num)


def log_axis(start: float, stop: float, num: int) -> NDArray[np.float64]:
    """`num` logarithmically spaced points from `start` to `stop` inclusive (``numpy.geomspace``).

    The end points are exact (``geomspace`` pins them), so ``log_axis(1e-3, 1e3, 7)`` holds
    exactly ``1e-3`` and ``1e3``.

    Raises
    ------
    ConfigError
        If `num` < 1, an end point is not finite and positive, or `stop` <= `start` with `num` > 1.
    """
    num = _check_num(num)
    if not (np.isfinite(start) and np.isfinite(stop) and start > 0 and stop > 0):
        raise ConfigError(
            f"log axis from {start!r} to {stop!r}: end points must be finite and positive"
        )
    if num > 1 and not stop > start:
        raise ConfigError(f"log axis from {start!r} to {stop!r}: stop must exceed start")
    return np.geomspace(float(start), float(stop), num)


def _check_axis(name: Any, values: ArrayLike) -> tuple[str, NDArray[Any]]:
    if not isinstance(name, str) or not name or "/" in name:
        raise ConfigError(f"grid axis name {name!r} must be a non-empty string without '/'")
    not_real_numbers(values, f"grid axis {name!r}", "integers or floats")  # a masked array too
    array = np.array(values)  # a copy: the grid must not change under the caller's feet
    if array.dtype.kind not in "iuf":
        raise ConfigError(
            f"grid axis {name!r} has dtype {array.dtype}; axes must hold integers or floats"
        )
    if array.ndim != 1:
        raise ConfigError(f"grid axis {name!r} must be 1-D, got shape {array.shape}")
    if array.size == 0:
        raise ConfigError(f"grid axis {name!r} is empty; an axis needs at least one point")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        bad = np.flatnonzero(~np.isfinite(array))[:5].tolist()
        raise ConfigError(f"grid axis {name!r} has non-finite values at positions {bad}")
    steps = np.diff(array)
    if np.any(steps <= 0):
        i = int(np.flatnonzero(steps <= 0)[0])
        raise ConfigError(
            f"grid axis {name!r} must be strictly increasing, but value [{i + 1}] = "
            f"{array[i + 1].item()!r} follows [{i}] = {array[i].item()!r}"
        )
    array.flags.writeable = False
    return name, array


class Grid:
    """Ordered named axes spanning a rectangular scan grid.

    Parameters
    ----------
    axes : mapping of str to array_like
        Axis name to 1-D, non-empty, finite, strictly increasing values (integers or floats).
        The order of the mapping is the order of the grid dimensions.

    Raises
    ------
    ConfigError
        If there is no axis, or an axis is malformed (the message names the axis).

    Notes
    -----
    The axes are copied and made read-only. Grids compare equal when they have the same names in the
    same order and bit-identical values.
    """

    __slots__ = ("_axes",)

    def __init__(self, axes: Mapping[str, ArrayLike]):
        if isinstance(axes, Grid):
            axes = axes.axes
        if not isinstance(axes, Mapping) or not axes:
            raise ConfigError("a grid needs at least one axis, given as a mapping name -> values")
        self._axes: dict[str, NDArray[Any]] = dict(_check_axis(n, v) for n, v in axes.items())

    @property
    def axes(self) -> dict[str, NDArray[Any]]:
        """Axis name → values (read-only arrays), in dimension order."""
        return dict(self._axes)

    @property
    def names(self) -> tuple[str, ...]:
        """Axis names in dimension order."""
        return tuple(self._axes)

    @property
    def shape(self) -> tuple[int, ...]:
        """Number of points along each axis."""
        return tuple(a.size for a in self._axes.values())

    @property
    def ndim(self) -> int:
        """Number of axes."""
        return len(self._axes)

    @property
    def size(self) -> int:
        """Total number of grid points."""
        return int(np.prod(self.shape))

    def __getitem__(self, name: str) -> NDArray[Any]:
        try:
            return self._axes[name]
        except KeyError:
            raise UnknownNameError("grid axis", name, self._axes) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._axes)

    def __len__(self) -> int:
        return len(self._axes)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Grid):
            return NotImplemented
        return self.names == other.names and all(
            a.dtype == b.dtype and np.array_equal(a, b)
            for a, b in zip(self._axes.values(), other._axes.values(), strict=True)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        parts = [
            f"{n}: {a.size} pts [{a[0]:.6g} … {a[-1]:.6g}]" for n, a in self._axes.items()
        ]
        return f"Grid({', '.join(parts)})"

    def to_json(self) -> list[dict[str, Any]]:
        """JSON form ``[{"name": str, "dtype": str, "values": list}, ...]`` in axis order.

        A list, not a mapping, so that the axis order survives JSON writers that sort keys.
        Floats round-trip exactly (Python writes the shortest repr that reads back the same).
        """
        return [
            {"name": n, "dtype": a.dtype.str, "values": a.tolist()} for n, a in self._axes.items()
        ]

    @classmethod
    def from_json(cls, data: list[Mapping[str, Any]]) -> Grid:
        """Inverse of :meth:`to_json`."""
        return cls({d["name"]: np.asarray(d["values"], dtype=d["dtype"]) for d in data})

    def differences(self, other: Grid) -> list[str]:
        """Human-readable list of how `other` differs from this grid (empty if equal)."""
        if self.names != other.names:
            return [f"axes {list(self.names)} → {list(other.names)}"]
        out = []
        for name in self.names:
            a, b = self._axes[name], other._axes[name]
            if a.dtype != b.dtype or not np.array_equal(a, b):
                out.append(
                    f"axis {name!r}: {a.size} pts [{a[0]:.6g} … {a[-1]:.6g}] {a.dtype} → "
                    f"{b.size} pts [{b[0]:.6g} … {b[-1]:.6g}] {b.dtype}"
                )
        return out
