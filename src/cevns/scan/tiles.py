"""Cutting a grid into rectangular tiles.

A :class:`Tiling` cuts a :class:`~cevns.scan.grid.Grid` into blocks of at most ``tile_shape``
points; the blocks at the upper end of an axis are smaller when the tile extent does not divide the
axis length. Tiles are numbered in C order over the tile grid (last axis fastest), so the tile with
index ``i`` is a pure function of (grid, tile_shape, i) and can be rebuilt anywhere.

>>> from cevns.scan.grid import Grid
>>> tiling = Tiling(Grid({"x": [0.0, 1.0, 2.0, 3.0, 4.0], "y": [10, 20, 30]}), (2, 3))
>>> len(tiling), tiling.tiles_shape
(3, (3, 1))
>>> tile = tiling[2]
>>> tile.position, tile.shape, tile.coords["x"]
((2, 0), (1, 3), array([4.]))
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cevns.errors import ConfigError
from cevns.scan.grid import Grid

__all__ = ["DEFAULT_TILE_POINTS", "Tile", "Tiling", "default_tile_shape"]

#: Target number of grid points per tile when no tile shape is given.
DEFAULT_TILE_POINTS = 4096


@dataclass(frozen=True, eq=False)
class Tile:
    """One rectangular block of a grid, the unit of work of a scan.

    Attributes
    ----------
    index : int
        Flat index of the tile in C order over the tile grid.
    position : tuple of int
        Multi-index of the tile in the tile grid.
    slices : tuple of slice
        Slices of the full grid covered by this tile, one per axis.
    coords : dict of str to ndarray
        Axis name → the coordinate values of this tile along that axis.
    """

    index: int
    position: tuple[int, ...]
    slices: tuple[slice, ...]
    coords: dict[str, NDArray[Any]]

    @property
    def shape(self) -> tuple[int, ...]:
        """Number of grid points of the tile along each axis."""
        return tuple(c.size for c in self.coords.values())

    @property
    def size(self) -> int:
        """Number of grid points in the tile."""
        return int(np.prod(self.shape))

    @property
    def names(self) -> tuple[str, ...]:
        """Axis names, in dimension order."""
        return tuple(self.coords)

    def mesh(self, sparse: bool = False) -> dict[str, NDArray[Any]]:
        """Coordinates broadcast over the tile (``numpy.meshgrid`` with ``indexing="ij"``).

        Parameters
        ----------
        sparse : bool
            If true, return open (broadcastable) arrays instead of full ``tile.shape`` arrays.
        """
        arrays = np.meshgrid(*self.coords.values(), indexing="ij", sparse=sparse)
        return dict(zip(self.coords, arrays, strict=True))

    def rng(self, seed: int) -> np.random.Generator:
        """A random generator that depends only on (`seed`, tile index), for toy Monte Carlo.

        The streams of different tiles are independent (``SeedSequence`` spawn keys). They depend on
        the tiling: keep the tile shape fixed for reproducible toys.
        """
        return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(self.index,)))

    def describe(self) -> str:
        """One-line description for messages: index and coordinate ranges."""
        parts = []
        for (name, c), s in zip(self.coords.items(), self.slices, strict=True):
            parts.append(f"{name}[{s.start}:{s.stop}] = {c[0]:.6g}…{c[-1]:.6g}")
        return f"tile {self.index} at {self.position} ({', '.join(parts)})"

    def __repr__(self) -> str:
        return f"Tile({self.describe()})"


def _whole(n: object) -> bool:
    """Whether ``n`` is a whole number ≥ 1 (an int or NumPy integer, not true/false)."""
    return not isinstance(n, bool | np.bool_) and isinstance(n, int | np.integer) and n >= 1


def default_tile_shape(
    shape: Sequence[int], target_points: int = DEFAULT_TILE_POINTS
) -> tuple[int, ...]:
    """Tile shape of about `target_points` points, keeping trailing axes whole.

    Axes are filled from the last one backwards: each takes its full length while the tile stays
    within `target_points`; the first axis that does not fit gets ``target_points // product``
    points (at least 1) and the axes before it get 1. A (mass, coupling) grid of 100 × 100 thus
    gets tiles of 40 masses × all 100 couplings, so a tile sees few distinct values of the
    leading ("shape") parameter.

    Raises
    ------
    ConfigError
        If `shape` is not a sequence of whole numbers ≥ 1 (a grid's axis lengths), or
        `target_points` is not a whole number ≥ 1.
    """
    if isinstance(shape, str | bytes) or not isinstance(shape, Sequence | np.ndarray):
        raise ConfigError(f"default_tile_shape: shape must be a sequence of axis lengths, got "
                          f"{type(shape).__name__} {shape!r}")
    for axis, n in enumerate(shape):
        if not _whole(n):
            raise ConfigError(f"default_tile_shape: shape[{axis}] = {n!r}; axis lengths must be "
                              f"whole numbers >= 1, got shape {tuple(shape)!r}")
    if not _whole(target_points):
        raise ConfigError(f"default_tile_shape: target_points = {target_points!r}; expected a "
                          "whole number >= 1")
    shape = [int(n) for n in shape]
    target_points = int(target_points)
    tile = [1] * len(shape)
    product = 1
    for axis in range(len(shape) - 1, -1, -1):
        if product * shape[axis] <= target_points:
            tile[axis] = shape[axis]
            product *= shape[axis]
        else:
            tile[axis] = max(1, target_points // product)
            break
    return tuple(tile)


def _resolve_tile_shape(
    grid: Grid, tile_shape: Sequence[int] | Mapping[str, int] | None
) -> tuple[int, ...]:
    if tile_shape is None:
        return default_tile_shape(grid.shape)
    if isinstance(tile_shape, Mapping):
        unknown = set(tile_shape) - set(grid.names)
        if unknown:
            raise ConfigError(
                f"tile_shape names unknown axes {sorted(unknown)}; grid axes: {list(grid.names)}"
            )
        tile_shape = [tile_shape.get(name, n) for name, n in zip(grid.names, grid.shape,
                                                                   strict=True)]
    tile_shape = tuple(tile_shape)
    if len(tile_shape) != grid.ndim:
        raise ConfigError(
            f"tile_shape {tile_shape} has {len(tile_shape)} entries; the grid has {grid.ndim} "
            f"axes {list(grid.names)}"
        )
    out = []
    for name, n, extent in zip(grid.names, grid.shape, tile_shape, strict=True):
        if isinstance(extent, bool) or not isinstance(extent, (int, np.integer)) or extent < 1:
            raise ConfigError(f"tile_shape for axis {name!r} is {extent!r}; expected an int >= 1")
        out.append(min(int(extent), n))
    return tuple(out)


class Tiling:
    """A grid cut into tiles.

    Parameters
    ----------
    grid : Grid or mapping
        The grid (a mapping is turned into a :class:`Grid`).
    tile_shape : sequence of int, mapping of str to int, or None
        Maximum tile extent along each axis. A mapping names axes; omitted axes are not cut.
        Extents larger than the axis are clipped to it. ``None`` chooses
        :func:`default_tile_shape`.

    Raises
    ------
    ConfigError
        If `tile_shape` does not match the grid or holds a non-positive extent.
    """

    def __init__(
        self,
        grid: Grid | Mapping[str, Any],
        tile_shape: Sequence[int] | Mapping[str, int] | None = None,
    ):
        self.grid = grid if isinstance(grid, Grid) else Grid(grid)
        self.tile_shape: tuple[int, ...] = _resolve_tile_shape(self.grid, tile_shape)
        self.tiles_shape: tuple[int, ...] = tuple(
            -(-n // t) for n, t in zip(self.grid.shape, self.tile_shape, strict=True)
        )

    def __len__(self) -> int:
        return int(np.prod(self.tiles_shape))

    def __getitem__(self, index: int) -> Tile:
        n = len(self)
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"tile index must be an int, not {type(index).__name__}")
        if not 0 <= index < n:
            raise IndexError(f"tile index {index} out of range for {n} tiles")
        position = tuple(int(p) for p in np.unravel_index(int(index), self.tiles_shape))
        slices = tuple(
            slice(p * t, min((p + 1) * t, size))
            for p, t, size in zip(position, self.tile_shape, self.grid.shape, strict=True)
        )
        coords = {
            name: self.grid[name][s].copy() for name, s in zip(self.grid.names, slices,
                                                                 strict=True)
        }
        return Tile(int(index), position, slices, coords)

    def __iter__(self) -> Iterator[Tile]:
        return (self[i] for i in range(len(self)))

    def __repr__(self) -> str:
        return f"Tiling({self.grid!r}, tile_shape={self.tile_shape}, {len(self)} tiles)"
