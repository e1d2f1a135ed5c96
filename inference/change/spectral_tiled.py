"""Spectral change over a whole layer, streamed block by block in bounded memory.

The same change vector analysis as ``spectral.py``, on rasters of any size:

1. a first pass reads a sample (the whole grid when it is small, else native-resolution chips
   spread over it) and fits the global statistics once: the radiometric normalisation of B to
   A and the automatic threshold. The result therefore does not depend on the block size;
2. a second pass reads A block by block (each grown by the smoothing radius), warps B onto
   that window of A's grid, and writes the heat raster and the mask block by block into tiled,
   compressed GeoTIFFs; each block's mask is polygonised and regions are merged across seams.

No full-size array is ever built: memory is one block plus the polygons.
"""
from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from affine import Affine
from rasterio.windows import Window

from ..cancel import CancelToken, ProgressFn, ensure_token, noop_progress, sub_progress
from .spectral import (
    NOISE_SIGMAS, SMOOTH_RADIUS, Normalisation, smooth_valid, fit_normalisation, normalised_magnitude,
)
from ..io.coregister import overlap_bounds, warp_onto
from ..io.dates import acquisition_date
from ..errors import InputError, NoDataError, NoOverlapError
from ..io.export import TiledRasterWriter
from ..io.raster_read import DEFAULT_BUDGET, Bounds, open_raster, read_window, require_crs, select_bands
from ..io.stretch import band_limits, to_rgb8
from .thresholds import Threshold, guarded_threshold
from ..tile_merge import SeamPolygons
from ..tiling import TileGrid, scene_grid, source_window, block_count, iter_blocks

BLOCK = 512            # pixels per block side (and the GeoTIFF block side)
SAMPLE_PX = 1 << 20    # first-pass pixels: the whole grid up to this size, else chips
_CHIPS = 8             # ... 8 x 8 native chips spread evenly over the grid
_LATTICES = (_CHIPS, 32, 128)  # finer chip lattices tried when the chips are mostly nodata


@dataclass
class StreamedChange:
    """What a streamed run leaves in memory: the polygons and the global statistics."""

    grid: TileGrid
    polygons: list
    threshold: float
    stats: dict = field(default_factory=dict)
    date_a: str | None = None
    date_b: str | None = None


class RasterPair:
    """A and B open together; reads both dates on any window of A's grid."""

    def __init__(self, a, b, path_a: str, path_b: str, ia: list[int], ib: list[int],
                 grid: TileGrid, budget: int) -> None:
        self.a, self.b, self.path_a, self.path_b = a, b, path_a, path_b
        self.ia, self.ib, self.grid, self.budget = ia, ib, grid, budget
        self.raw_bands = len(ia) == len(ib)   # else both as display RGB, like the untiled run
        self.limits: tuple | None = None

    def read(self, win: Window, raw: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(A (C, h, w), B (C, h, w), valid (h, w)) on ``win`` of the grid: the raw bands when
        ``raw`` or both dates have as many bands, else both as display RGB."""
        shape = (int(win.height), int(win.width))
        raw_a, valid = read_window(self.a, self.path_a, source_window(self.grid, win), shape, self.ia)
        if not valid.any():
            return raw_a, raw_a, valid
        transform = self.grid.transform * Affine.translation(win.col_off, win.row_off)
        try:
            raw_b, ok = warp_onto(self.b, self.path_b, self.ib, transform, shape, self.a.crs,
                                   self.budget)
        except NoOverlapError:  # B's footprint does not reach this block
            return raw_a, raw_a, np.zeros(shape, bool)
        valid &= ok
        if raw or self.raw_bands:
            return raw_a, raw_b, valid
        la, lb = self.limits or (None, None)
        return (np.moveaxis(to_rgb8(raw_a, valid, limits=la), -1, 0),
                np.moveaxis(to_rgb8(raw_b, valid, limits=lb), -1, 0), valid)


def _sample_windows(grid: TileGrid, sample_px: int, chips: int = _CHIPS) -> list[Window]:
    w, h = grid.width, grid.height
    if w * h <= sample_px:
        return [Window(0, 0, w, h)]
    side = max(16, int(math.sqrt(sample_px) / chips))
    sw, sh = min(side, w), min(side, h)
    return [Window(int((w - sw) * (j + 0.5) / chips), int((h - sh) * (i + 0.5) / chips), sw, sh)
            for i in range(chips) for j in range(chips)]


def _grown(win: Window, grid: TileGrid, halo: int) -> tuple[Window, tuple[slice, slice]]:
    """``win`` grown by ``halo`` (clipped to the grid) and the slices of ``win`` inside it."""
    c0, r0 = max(0, int(win.col_off) - halo), max(0, int(win.row_off) - halo)
    c1 = min(grid.width, int(win.col_off + win.width) + halo)
    r1 = min(grid.height, int(win.row_off + win.height) + halo)
    dc, dr = int(win.col_off) - c0, int(win.row_off) - r0
    return (Window(c0, r0, c1 - c0, r1 - r0),
            (slice(dr, dr + int(win.height)), slice(dc, dc + int(win.width))))


def block_heat(xa: np.ndarray, xb: np.ndarray, valid: np.ndarray, norm: Normalisation,
               identical: bool = False) -> np.ndarray:
    """Heat in noise sigmas (float32, 0 where invalid) of one window, smoothed over valid pixels."""
    heat = np.zeros(valid.shape, np.float32)
    if not valid.any():
        return heat
    va, vb = xa[:, valid].astype(np.float64), xb[:, valid].astype(np.float64)
    if identical and np.array_equal(va, vb):  # a layer against itself: exactly zero
        return heat
    heat[valid] = normalised_magnitude(norm, va, vb)
    return smooth_valid(heat, valid, SMOOTH_RADIUS)


def _values(reads: list, i: int) -> np.ndarray:
    """(C, N) values of date ``i`` at the valid core pixels of every sample read."""
    return np.concatenate([r[i][(slice(None), *r[3])][:, r[2][r[3]]] for r in reads], axis=1)


def _limits(values: np.ndarray) -> list:
    return band_limits(values[:, None, :], np.ones((1, values.shape[1]), bool))


def sample_reads(pair: RasterPair, grid: TileGrid, sample_px: int, cancel: CancelToken,
                 halo: int = SMOOTH_RADIUS) -> tuple[list[Window], list]:
    """Native chips spread over the grid (finer lattices while mostly nodata): the windows read
    and, per window, (raw A, raw B, valid, core slices)."""
    wins: list[Window] = []
    reads: list = []
    for chips in _LATTICES:  # a sparse scene: finer lattices until enough pixels are valid
        for win in _sample_windows(grid, sample_px, chips):
            cancel.check()
            grown, core = _grown(win, grid, halo)
            wins.append(grown)
            reads.append((*pair.read(grown, raw=True), core))
        if len(wins) == 1 or sum(int(r[2][r[3]].sum()) for r in reads) >= sample_px // 16:
            break
    return wins, reads


def display_limits(reads: list) -> tuple:
    """Per-date display stretch from sampled raw reads, as one capture of each date would have."""
    return tuple(_limits(_values(reads, i)) for i in (0, 1))


def _first_pass(pair: RasterPair, grid: TileGrid, sample_px: int, threshold: float | None,
                cancel: CancelToken) -> tuple[Normalisation, bool, Threshold, dict]:
    """Normalisation, "identical pair" and threshold from the sample (tiling-independent)."""
    wins, reads = sample_reads(pair, grid, sample_px, cancel)
    if not pair.raw_bands:
        pair.limits = display_limits(reads)
        reads = [(*pair.read(w), r[3]) for w, r in zip(wins, reads)]
    va, vb = _values(reads, 0), _values(reads, 1)
    if va.shape[1] == 0:
        raise NoDataError(f"Rasters '{pair.path_a}' and '{pair.path_b}' have no valid pixels in "
                          "common here.")
    va, vb = va.astype(np.float64), vb.astype(np.float64)
    identical = bool(np.array_equal(va, vb))
    norm = fit_normalisation(va, vb) if not identical else Normalisation(
        (1.0,) * len(va), (0.0,) * len(va), (1.0,) * len(va))
    del va, vb
    values = np.concatenate([block_heat(xa, xb, v, norm, identical)[c][v[c]]
                             for xa, xb, v, c in reads])
    if threshold is not None:
        t = Threshold(float(threshold), "user", float("nan"), float("nan"), NOISE_SIGMAS)
    else:
        t = guarded_threshold(values, NOISE_SIGMAS)
    stats = {"bands": "bands" if pair.raw_bands else "rgb", "n_bands": len(norm.gains),
             "gains": [round(g, 4) for g in norm.gains], "sample_px": int(values.size),
             "heat_range": [float(q) for q in np.percentile(values, (2, 98))] if values.size else [0.0, 1.0]}
    return norm, identical, t, stats


def stream_change(path_a, path_b, bounds: Bounds | None = None, bounds_crs=None, *,
                  bands: Sequence[int] | None = None, max_side: int | None = None,
                  threshold: float | None = None, min_area: float = 0.0, block: int = BLOCK,
                  heat_path: str | None = None, mask_path: str | None = None,
                  sample_px: int = SAMPLE_PX, budget_bytes: int = DEFAULT_BUDGET,
                  progress: ProgressFn | None = None,
                  cancel: CancelToken | None = None) -> StreamedChange:
    """Spectral change of B against A on A's grid over their overlap (and ``bounds``).

    ``heat_path`` / ``mask_path``: GeoTIFFs written block by block (write them to staged paths,
    ``export.OutputSet``, so a failed or cancelled run leaves nothing). ``block`` only changes
    how the work is cut, not the result. ``min_area`` in square map units of A's CRS.
    """
    path_a, path_b = os.fspath(path_a), os.fspath(path_b)
    progress, cancel = progress or noop_progress, ensure_token(cancel)
    if block < 16 or block % 16:
        raise InputError(f"TILE_SIZE {block}: use a multiple of 16 pixels, at least 16.")
    with open_raster(path_a) as a, open_raster(path_b) as b:
        require_crs(a, path_a)
        require_crs(b, path_b)
        ia, ib = select_bands(a, bands, path_a), select_bands(b, bands, path_b)
        grid = scene_grid(a, path_a, overlap_bounds(a, b, path_a, path_b, bounds, bounds_crs), a.crs, max_side)
        pair = RasterPair(a, b, path_a, path_b, ia, ib, grid, budget_bytes)
        norm, identical, t, stats = _first_pass(pair, grid, sample_px, threshold, cancel)
        progress(10.0)
        polys = SeamPolygons(grid.width, grid.height, grid.transform, min_area)
        counts = _second_pass(pair, grid, block, norm, identical, t.value, polys, heat_path,
                              mask_path, sub_progress(progress, 10, 95), cancel)
    n_valid, n_changed = counts
    if n_valid == 0:
        raise NoDataError(f"Rasters '{path_a}' and '{path_b}' have no valid pixels in common here.")
    stats.update(rule=t.rule, otsu=t.otsu, separability=t.separability, floor=t.floor,
                 changed_fraction=n_changed / n_valid,
                 valid_fraction=n_valid / (grid.width * grid.height), blocks=block_count(
                     grid.width, grid.height, block))
    result = StreamedChange(grid, polys.polygons(), float(t.value), stats,
                            acquisition_date(path_a), acquisition_date(path_b))
    progress(100.0)
    return result


def _second_pass(pair: RasterPair, grid: TileGrid, block: int, norm: Normalisation, identical: bool,
                 t: float, polys: SeamPolygons, heat_path, mask_path, progress: ProgressFn,
                 cancel: CancelToken) -> tuple[int, int]:
    from contextlib import ExitStack

    total, n_valid, n_changed = block_count(grid.width, grid.height, block), 0, 0
    with ExitStack() as stack:
        heat_out = stack.enter_context(TiledRasterWriter(
            heat_path, grid.width, grid.height, grid.transform, grid.crs_wkt, dtype="float32",
            nodata=float("nan"), block=block)) if heat_path else None
        mask_out = stack.enter_context(TiledRasterWriter(
            mask_path, grid.width, grid.height, grid.transform, grid.crs_wkt, dtype="uint8",
            block=block)) if mask_path else None
        for i, (core, read) in enumerate(iter_blocks(grid.width, grid.height, block, SMOOTH_RADIUS)):
            cancel.check()
            xa, xb, valid = pair.read(read)
            heat = block_heat(xa, xb, valid, norm, identical)
            dc, dr = int(core.col_off - read.col_off), int(core.row_off - read.row_off)
            inner = (slice(dr, dr + int(core.height)), slice(dc, dc + int(core.width)))
            heat, valid = heat[inner], valid[inner]
            mask = (heat > t) & valid
            n_valid += int(valid.sum())
            n_changed += int(mask.sum())
            col, row = int(core.col_off), int(core.row_off)
            if heat_out is not None:
                heat_out.write(np.where(valid, heat, np.float32(np.nan)), col, row)
            if mask_out is not None:
                mask_out.write(mask, col, row)
            polys.add(mask, col, row)
            progress(100.0 * (i + 1) / total)
    return n_valid, n_changed
