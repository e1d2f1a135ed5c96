"""Stream a large raster as overlapping tiles (merging their results: ``inference/tile_merge.py``).

Tiles are read one at a time (never the whole scene) on a "tile grid": the requested window,
optionally decimated by an integer factor so every tile maps to whole source pixels and each
tile's transform is exactly ``grid.transform * translation(col, row)``.
"""
from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from affine import Affine
from rasterio.windows import Window

from .cancel import CancelToken, ensure_token
from .io.dates import acquisition_date
from .errors import InputError, NoDataError, TooLargeError
from .io.geoimage import GeoImage
from .io.raster_read import (
    DEFAULT_BUDGET, Bounds, bounds_window, check_budget, fit_shape, open_raster, read_window, require_crs,
    select_bands, to_geoimage,
)
from .io.stretch import band_limits

_STRETCH_SIDE = 1024  # the scene-wide stretch is estimated on a decimated read this size
_SAMPLE_GRID, _SAMPLE_SIDE = 8, 128  # ... or, when that read is too costly, on 8 x 8 native chips
MAX_TILES = 500_000  # tiles one streamed run plans and keeps results for (~1 KiB each)

@dataclass(frozen=True)
class TileGrid:
    """The full grid tiles are cut from; ``transform`` georeferences a mosaic of it."""

    width: int
    height: int
    transform: Affine
    crs_wkt: str
    window: Window        # source pixels covered (a multiple of ``factor``)
    factor: int           # source pixels per grid pixel (per axis, bar degenerate slivers)


def _offsets(size: int, tile: int, stride: int) -> range | list[int]:
    last = max(size - tile, 0)
    offs = range(0, last + 1, stride)
    if offs[-1] + tile < size:  # last tile flush with the edge rather than past it
        return [*offs, size - tile]
    return offs


def _check_tiling(tile: int, overlap: int) -> None:
    if tile <= 0 or not 0 <= overlap < tile:
        raise InputError(f"Tile size {tile} and overlap {overlap}: need 0 <= overlap < tile.")


def iter_windows(width: int, height: int, tile: int, overlap: int) -> Iterator[Window]:
    """Windows of at most ``tile`` px overlapping by ``overlap`` px that cover the grid, lazily
    (a 10^6-pixel-wide grid has 10^7 windows: they are never all held)."""
    _check_tiling(tile, overlap)
    stride = tile - overlap
    cols = _offsets(width, tile, stride)
    for r in _offsets(height, tile, stride):
        for c in cols:
            yield Window(c, r, min(tile, width), min(tile, height))


def window_count(width: int, height: int, tile: int, overlap: int) -> int:
    """``len(list(iter_windows(...)))`` without planning them."""
    _check_tiling(tile, overlap)
    stride = tile - overlap
    return len(_offsets(width, tile, stride)) * len(_offsets(height, tile, stride))


def iter_blocks(width: int, height: int, block: int, halo: int = 0) -> Iterator[tuple[Window, Window]]:
    """(core, read) windows, row-major: the cores cut the grid into ``block``-px squares (so a
    tiled GeoTIFF of that block size is written one whole block at a time) and each read is
    its core grown by ``halo`` px per side, clipped to the grid."""
    _check_tiling(block, 0)
    for r in range(0, height, block):
        for c in range(0, width, block):
            core = Window(c, r, min(block, width - c), min(block, height - r))
            c0, r0 = max(0, c - halo), max(0, r - halo)
            c1, r1 = min(width, c + core.width + halo), min(height, r + core.height + halo)
            yield core, Window(c0, r0, c1 - c0, r1 - r0)


def block_count(width: int, height: int, block: int) -> int:
    """How many ``block`` x ``block`` blocks cover a ``width`` x ``height`` raster."""
    return math.ceil(width / block) * math.ceil(height / block)


def writer_block(core: int) -> int:
    """The largest GeoTIFF block side (16..512) that divides ``core``, so cores align to blocks."""
    return next((b for b in (512, 256, 128, 64, 32, 16) if core % b == 0), 16)


def plan_windows(width: int, height: int, tile: int, overlap: int) -> list[Window]:
    """All windows of :func:`iter_windows` as a list (small grids only)."""
    return list(iter_windows(width, height, tile, overlap))


def check_tile_count(path: str, grid: TileGrid, count: int, tile: int,
                     max_tiles: int = MAX_TILES) -> None:
    """Refuse a run that would cut the scene into more than ``max_tiles`` tiles."""
    if count > max_tiles:
        raise TooLargeError(
            f"'{path}' ({grid.width:,} x {grid.height:,} pixels) would be cut into {count:,} tiles "
            f"of {tile} px, over the {max_tiles:,} one "
            "run can keep; choose a smaller EXTENT or a larger TILE_SIZE, or index the scene "
            "with eolens:index.")


def scene_grid(ds, path: str, bounds, bounds_crs, max_side: int | None) -> TileGrid:
    """The analysis grid of the area: its window, size and transform at most ``max_side`` wide."""
    win = bounds_window(ds, path, bounds, bounds_crs)
    k = max(1, math.ceil(max(win.width, win.height) / max_side)) if max_side else 1
    # Whole multiples of k only: drops under one grid pixel at the right/bottom edge.
    w, h = max(1, int(win.width) // k), max(1, int(win.height) // k)
    win = Window(win.col_off, win.row_off, min(w * k, win.width), min(h * k, win.height))
    transform = ds.window_transform(win) * Affine.scale(win.width / w, win.height / h)
    return TileGrid(w, h, transform, ds.crs.to_wkt(), win, k)


def tile_grid(path, bounds: Bounds | None = None, bounds_crs=None, *,
              max_side: int | None = None) -> TileGrid:
    """The analysis grid of the area of the raster at ``path`` (opens and checks the file)."""
    with open_raster(path) as ds:
        require_crs(ds, os.fspath(path))
        return scene_grid(ds, os.fspath(path), bounds, bounds_crs, max_side)


def tile_scale(path, bounds: Bounds | None, bounds_crs, tile: int, overlap: int,
               max_side: int | None) -> tuple[int | None, int, int]:
    """MAX_SIDE for a tiled run: the longest side of each tile a model sees. A tile (of ``tile``
    source px, or the whole area when smaller) longer than ``max_side`` is read on the grid
    decimated by the smallest whole factor k that brings it to ``max_side`` px or less.

    Returns ``(grid_max_side, tile, overlap)`` for :func:`tile_grid` / :func:`iter_tiles` /
    :func:`iter_block_tiles`: ``grid_max_side`` is None on the native grid, and ``tile`` and
    ``overlap`` are in grid pixels (``tile // k``, ``overlap // k``; the tile at most the area)."""
    _check_tiling(tile, overlap)
    native = tile_grid(path, bounds, bounds_crs)
    side = max(native.width, native.height)
    longest = min(int(tile), side)
    if not max_side or longest <= max_side:
        return None, int(tile), int(overlap)
    k = math.ceil(longest / max_side)
    while True:  # the grid side whose decimation factor in scene_grid is exactly k (k >= 2 here)
        grid_side = math.ceil(side / k)
        if math.ceil(side / grid_side) == k:
            break
        k += 1
    on_grid = max(1, longest // k)
    return grid_side, on_grid, min(int(overlap) // k, on_grid - 1)


def count_tiles(path, bounds: Bounds | None = None, bounds_crs=None, *, tile: int = 512,
                overlap: int = 64, max_side: int | None = None) -> int:
    """Planned tiles (an upper bound: tiles with no valid pixel are skipped by iter_tiles)."""
    g = tile_grid(path, bounds, bounds_crs, max_side=max_side)
    return window_count(g.width, g.height, tile, overlap)


def source_window(grid: TileGrid, win: Window) -> Window:
    """A window of the grid mapped back to the source raster's pixels."""
    sx, sy = grid.window.width / grid.width, grid.window.height / grid.height  # == factor
    return Window(grid.window.col_off + win.col_off * sx, grid.window.row_off + win.row_off * sy,
                  win.width * sx, win.height * sy)


def _stretch_sample(ds, path: str, grid: TileGrid, bands: list[int]):
    """A decimated read of the whole grid, or native chips spread over it when that read would
    touch too many pixels (no overviews)."""
    shape = fit_shape(grid.window, _STRETCH_SIDE)
    try:
        return read_window(ds, path, grid.window, shape, bands)
    except TooLargeError:
        pass
    w, h = int(grid.window.width), int(grid.window.height)
    side = min(_SAMPLE_SIDE, w, h)
    raws, valids = [], []
    for i in range(_SAMPLE_GRID):
        for j in range(_SAMPLE_GRID):
            c = grid.window.col_off + (w - side) * (j + 0.5) / _SAMPLE_GRID
            r = grid.window.row_off + (h - side) * (i + 0.5) / _SAMPLE_GRID
            raw, valid = read_window(ds, path, Window(int(c), int(r), side, side), (side, side), bands)
            raws.append(raw)
            valids.append(valid)
    return np.concatenate(raws, axis=2), np.concatenate(valids, axis=1)


def scene_limits(ds, path: str, grid: TileGrid, bands: list[int]):
    """Per-band stretch limits from a sample of the area's valid pixels."""
    raw, valid = _stretch_sample(ds, path, grid, bands)
    if not valid.any():
        raise NoDataError(f"No valid pixels in the requested area of '{path}': nothing to analyse here.")
    return band_limits(raw, valid)


def iter_tiles(path, bounds: Bounds | None = None, bounds_crs=None, *, tile: int = 512,
               overlap: int = 64, bands: Sequence[int] | None = None,
               max_side: int | None = None, cancel: CancelToken | None = None,
               budget_bytes: int = DEFAULT_BUDGET, max_tiles: int = MAX_TILES) -> Iterator[GeoImage]:
    """GeoImages of the tiles, read one by one; all-nodata tiles are skipped.

    Every tile shares one scene-wide stretch. ``meta``: ``window`` (col, row, w, h) in the
    tile grid, ``index`` in plan order, ``grid`` (the TileGrid, for mosaics).
    """
    def plan(grid: TileGrid):
        return (((w, None) for w in iter_windows(grid.width, grid.height, tile, overlap)),
                window_count(grid.width, grid.height, tile, overlap))

    yield from _stream(path, bounds, bounds_crs, plan, tile, bands, max_side, cancel, budget_bytes,
                       max_tiles)


def iter_block_tiles(path, bounds: Bounds | None = None, bounds_crs=None, *, block: int = 640,
                     halo: int = 64, bands: Sequence[int] | None = None,
                     max_side: int | None = None, cancel: CancelToken | None = None,
                     budget_bytes: int = DEFAULT_BUDGET,
                     max_tiles: int = MAX_TILES) -> Iterator[GeoImage]:
    """Like :func:`iter_tiles` on the plan of :func:`iter_blocks`: each tile is a core block
    grown by ``halo`` px; ``meta["core"]`` is the core (col, row, w, h) in the tile grid, the part
    of the tile's result a mosaic keeps (so seams fall mid-overlap and every output block is
    written once)."""
    def plan(grid: TileGrid):
        return (((read, core) for core, read in iter_blocks(grid.width, grid.height, block, halo)),
                block_count(grid.width, grid.height, block))

    yield from _stream(path, bounds, bounds_crs, plan, block + 2 * halo, bands, max_side, cancel,
                       budget_bytes, max_tiles)


def _stream(path, bounds, bounds_crs, plan, tile: int, bands, max_side, cancel, budget_bytes,
            max_tiles) -> Iterator[GeoImage]:
    path, cancel = os.fspath(path), ensure_token(cancel)
    date = acquisition_date(path)
    with open_raster(path) as ds:
        require_crs(ds, path)
        idx = select_bands(ds, bands, path)
        grid = scene_grid(ds, path, bounds, bounds_crs, max_side)
        windows, count = plan(grid)
        check_tile_count(path, grid, count, tile, max_tiles)
        limits = scene_limits(ds, path, grid, idx)
        for i, (win, core) in enumerate(windows):  # (read window, core window or None)
            cancel.check()
            shape = (int(win.height), int(win.width))
            check_budget(path, shape, len(idx), ds.dtypes[idx[0] - 1], budget_bytes)
            raw, valid = read_window(ds, path, source_window(grid, win), shape, idx)
            if not valid.any():
                continue
            meta = {"window": tuple(int(v) for v in win.flatten()), "index": i, "grid": grid,
                    "bands": idx, "mode": "tile"}
            if core is not None:
                meta["core"] = tuple(int(v) for v in core.flatten())
            transform = grid.transform * Affine.translation(win.col_off, win.row_off)
            yield to_geoimage(raw, valid, transform, grid.crs_wkt, path, date=date, meta=meta,
                              limits=limits)
