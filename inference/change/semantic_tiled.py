"""Semantic (deep-feature) change over a whole layer, streamed block by block in bounded memory.

1. The feature pass runs the model once per date and block of A's grid (each block read with a
   halo of context, B warped onto the same window), writes the cosine-distance heat into a
   tiled GeoTIFF and keeps the heat on a fixed lattice of grid pixels. The lattice does not
   move with the blocks, so every block contributes to the threshold and the block size only
   changes how much context the model sees;
2. the threshold (guarded Otsu above the semantic noise floor, as ``spectral.py``) comes from
   that sample; the mask pass reads the heat back block by block for the mask GeoTIFF and the
   polygons, merged across seams.

Memory: one block of both dates, its features and the polygons; the model runs 2x per block.
"""
from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

import numpy as np
from rasterio.windows import Window

from ..cancel import CancelToken, ProgressFn, ensure_token, noop_progress, sub_progress
from .semantic import cosine_distance, upsample_grid, semantic_floor
from .spectral_tiled import SAMPLE_PX, StreamedChange, RasterPair, display_limits, sample_reads
from ..io.coregister import overlap_bounds
from ..io.dates import acquisition_date
from ..errors import InputError, NoDataError
from ..io.export import TiledRasterWriter
from ..io.raster_read import DEFAULT_BUDGET, Bounds, open_raster, require_crs, select_bands
from ..io.stretch import passes_through
from .thresholds import Threshold, guarded_threshold
from ..tile_merge import SeamPolygons
from ..tiling import TileGrid, scene_grid, block_count, iter_blocks

BLOCK = 512        # pixels per block side (and the GeoTIFF block side)
HALO_SHARE = 8     # context per side: 1/8 of the block (64 px of a 512 px block)


def halo_for(block: int) -> int:
    """Pixels of context read around each block for the feature model."""
    return max(16, int(block) // HALO_SHARE)


def stream_semantic_change(path_a, path_b, backend: Any, bounds: Bounds | None = None,
                           bounds_crs=None, *, bands: Sequence[int] | None = None,
                           max_side: int | None = None, threshold: float | None = None,
                           min_area: float = 0.0, block: int = BLOCK,
                           heat_path: str | None = None, mask_path: str | None = None,
                           sample_px: int = SAMPLE_PX, budget_bytes: int = DEFAULT_BUDGET,
                           progress: ProgressFn | None = None,
                           cancel: CancelToken | None = None) -> StreamedChange:
    """Deep-feature change of B against A on A's grid over their overlap (and ``bounds``).

    ``backend``: any feature model with ``patch_tokens(images) -> (N, h, w, D)`` (DINOv2,
    CLIP). ``threshold`` in cosine distance (empty = automatic). ``heat_path`` / ``mask_path``
    are written block by block (give staged paths); without ``heat_path`` the heat goes to a
    temporary file that is removed afterwards.
    """
    if backend is None or not hasattr(backend, "patch_tokens"):
        raise InputError("Semantic change needs a feature model (DINOv2 or CLIP).")
    if block < 16 or block % 16:
        raise InputError(f"TILE_SIZE {block}: use a multiple of 16 pixels, at least 16.")
    path_a, path_b = os.fspath(path_a), os.fspath(path_b)
    progress, cancel = progress or noop_progress, ensure_token(cancel)
    with open_raster(path_a) as a, open_raster(path_b) as b, _heat_file(heat_path) as heat_file:
        require_crs(a, path_a)
        require_crs(b, path_b)
        ia, ib = select_bands(a, bands, path_a), select_bands(b, bands, path_b)
        grid = scene_grid(a, path_a, overlap_bounds(a, b, path_a, path_b, bounds, bounds_crs), a.crs, max_side)
        pair = _display_pair(a, b, path_a, path_b, ia, ib, grid, budget_bytes, sample_px, cancel)
        progress(5.0)
        sample = _feature_pass(pair, grid, backend, block, heat_file, sample_px,
                               sub_progress(progress, 5, 85), cancel)
        if sample.size == 0:
            raise NoDataError(f"Rasters '{path_a}' and '{path_b}' have no valid pixels in common "
                              "here.")
        t = _threshold(sample, threshold)
        polys = SeamPolygons(grid.width, grid.height, grid.transform, min_area)
        n_valid, n_changed = _mask_pass(heat_file, grid, block, t.value, polys, mask_path,
                                        sub_progress(progress, 85, 99), cancel)
    stats = {"bands": "rgb", "rule": t.rule, "otsu": t.otsu, "separability": t.separability,
             "floor": t.floor, "sample_px": int(sample.size),
             "changed_fraction": n_changed / max(n_valid, 1),
             "valid_fraction": n_valid / (grid.width * grid.height),
             "blocks": block_count(grid.width, grid.height, block), "halo": halo_for(block),
             "heat_range": [float(q) for q in np.percentile(sample, (2, 98))]}
    progress(100.0)
    return StreamedChange(grid, polys.polygons(), float(t.value), stats,
                          acquisition_date(path_a), acquisition_date(path_b))


def _display_pair(a, b, path_a, path_b, ia, ib, grid: TileGrid, budget: int, sample_px: int,
                  cancel: CancelToken) -> RasterPair:
    """Both dates as display RGB (what the model sees): 8-bit RGB as the file holds it, anything
    else stretched once per date from a sample, so every block of a date shares one stretch."""
    pair = RasterPair(a, b, path_a, path_b, ia, ib, grid, budget)
    pair.raw_bands = False
    if not all(_as_is(ds, idx) for ds, idx in ((a, ia), (b, ib))):
        pair.limits = display_limits(sample_reads(pair, grid, sample_px, cancel)[1])
    return pair


def _as_is(ds, idx: list[int]) -> bool:
    return passes_through(np.zeros((len(idx), 1, 1), ds.dtypes[idx[0] - 1]))


@contextmanager
def _heat_file(path: str | None) -> Iterator[str]:
    """``path`` itself, or a temporary GeoTIFF removed on exit."""
    if path:
        yield path
        return
    fd, tmp = tempfile.mkstemp(prefix="eolens-heat-", suffix=".tif")
    os.close(fd)
    try:
        yield tmp
    finally:
        os.remove(tmp)


def _lattice_step(grid: TileGrid, sample_px: int) -> int:
    return max(1, math.ceil(math.sqrt(grid.width * grid.height / max(sample_px, 1))))


def _feature_pass(pair: RasterPair, grid: TileGrid, backend: Any, block: int, heat_path: str,
                  sample_px: int, progress: ProgressFn, cancel: CancelToken) -> np.ndarray:
    """Heat of every block written to ``heat_path``; returns the heat on the sample lattice."""
    step, total, halo = _lattice_step(grid, sample_px), block_count(grid.width, grid.height, block), \
        halo_for(block)
    sample: list[np.ndarray] = []
    with TiledRasterWriter(heat_path, grid.width, grid.height, grid.transform, grid.crs_wkt,
                           dtype="float32", nodata=float("nan"), block=block) as out:
        for i, (core, read) in enumerate(iter_blocks(grid.width, grid.height, block, halo)):
            cancel.check()
            heat, valid = _block_heat(pair, read, core, backend, cancel)
            col, row = int(core.col_off), int(core.row_off)
            out.write(np.where(valid, heat, np.float32(np.nan)), col, row)
            on = valid & _lattice(col, row, valid.shape, step)
            sample.append(heat[on])
            progress(100.0 * (i + 1) / total)
    return np.concatenate(sample) if sample else np.zeros(0, np.float32)


def _block_heat(pair: RasterPair, read: Window, core: Window, backend: Any,
                cancel: CancelToken) -> tuple[np.ndarray, np.ndarray]:
    """(heat, valid) on ``core``: cosine distance of both dates' features over ``read``."""
    xa, xb, valid = pair.read(read)
    inner = (slice(int(core.row_off - read.row_off), int(core.row_off - read.row_off + core.height)),
             slice(int(core.col_off - read.col_off), int(core.col_off - read.col_off + core.width)))
    heat = np.zeros(valid.shape, np.float32)
    if valid[inner].any() and not np.array_equal(xa, xb):  # a layer against itself: zero
        rgb = [np.ascontiguousarray(np.moveaxis(x, 0, -1)) for x in (xa, xb)]
        fa, fb = backend.patch_tokens(rgb, cancel=cancel)
        heat = upsample_grid(cosine_distance(fa, fb), valid.shape).astype(np.float32)
    return np.where(valid, heat, 0.0)[inner], valid[inner]


def _lattice(col: int, row: int, shape: tuple[int, ...], step: int) -> np.ndarray:
    """Grid pixels whose row and column are multiples of ``step``, on a window at (col, row)."""
    rows = (np.arange(row, row + shape[0]) % step) == 0
    cols = (np.arange(col, col + shape[1]) % step) == 0
    return rows[:, None] & cols[None, :]


def _threshold(sample: np.ndarray, threshold: float | None) -> Threshold:
    floor = semantic_floor(sample)
    if threshold is not None:
        return Threshold(float(threshold), "user", float("nan"), float("nan"), floor)
    return guarded_threshold(sample, floor)


def _mask_pass(heat_path: str, grid: TileGrid, block: int, t: float, polys: SeamPolygons,
               mask_path: str | None, progress: ProgressFn,
               cancel: CancelToken) -> tuple[int, int]:
    import rasterio

    total, n_valid, n_changed = block_count(grid.width, grid.height, block), 0, 0
    with ExitStack() as stack:
        heat_ds = stack.enter_context(rasterio.open(heat_path))
        mask_out = stack.enter_context(TiledRasterWriter(
            mask_path, grid.width, grid.height, grid.transform, grid.crs_wkt, dtype="uint8",
            block=block)) if mask_path else None
        for i, (core, _) in enumerate(iter_blocks(grid.width, grid.height, block)):
            cancel.check()
            heat = heat_ds.read(1, window=core)
            valid = np.isfinite(heat)
            mask = valid & (np.nan_to_num(heat, nan=0.0) > t)
            n_valid, n_changed = n_valid + int(valid.sum()), n_changed + int(mask.sum())
            col, row = int(core.col_off), int(core.row_off)
            if mask_out is not None:
                mask_out.write(mask, col, row)
            polys.add(mask, col, row)
            progress(100.0 * (i + 1) / total)
    return n_valid, n_changed
