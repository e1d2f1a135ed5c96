"""Tiles cover the raster, carry exact transforms, and merge back without seams."""
from __future__ import annotations

import itertools

import georef_fixtures as fx
import numpy as np
import pytest
import rasterio
from affine import Affine
from eolens.inference.cancel import CancelToken
from eolens.inference.errors import Cancelled, InputError
from eolens.inference.io.georef import GeoFeature, box_to_polygon
from eolens.inference.results import PixelBox
from eolens.inference.tiling import (
    count_tiles,
    iter_tiles,
    plan_windows,
    tile_grid,
)
from eolens.inference.tile_merge import mosaic_masks, nms_map
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.enums import Resampling


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 700), st.integers(1, 700), st.integers(8, 300), st.data())
def test_plan_windows_cover_the_grid(width, height, tile, data):
    overlap = data.draw(st.integers(0, tile - 1))
    wins = plan_windows(width, height, tile, overlap)
    cover = np.zeros((height, width), np.int32)
    for w in wins:
        assert 0 <= w.col_off and w.col_off + w.width <= width and w.width <= tile
        assert 0 <= w.row_off and w.row_off + w.height <= height and w.height <= tile
        cover[w.row_off:w.row_off + w.height, w.col_off:w.col_off + w.width] += 1
    assert cover.min() >= 1
    cols = sorted({w.col_off for w in wins})
    assert all(b - a <= tile - overlap for a, b in itertools.pairwise(cols))  # overlap kept


def test_bad_tile_parameters():
    with pytest.raises(InputError):
        plan_windows(100, 100, 64, 64)


def test_tiles_match_a_direct_read_and_mosaic_back():
    tiles = list(iter_tiles(fx.RGB_BYTE, tile=256, overlap=32))
    grid = tile_grid(fx.RGB_BYTE)
    with rasterio.open(fx.RGB_BYTE) as ds:
        full = ds.read()
        assert tuple(grid.transform)[:6] == pytest.approx(tuple(ds.transform)[:6])
    assert 0 < len(tiles) <= count_tiles(fx.RGB_BYTE, tile=256, overlap=32) == 16
    for t in tiles:
        c, r, w, h = t.meta["window"]
        assert np.array_equal(t.bands, full[:, r:r + h, c:c + w])
        assert tuple(t.transform)[:6] == pytest.approx(tuple(grid.transform * Affine.translation(c, r))[:6])
    mosaic = mosaic_masks([(t.bands[1], t.meta["window"]) for t in tiles], grid.width, grid.height)
    assert np.array_equal(mosaic, full[1].astype(np.float32))


def test_decimated_tiles_mosaic_equals_decimated_full_read():
    tiles = list(iter_tiles(fx.RGB_BYTE, tile=128, overlap=16, max_side=300))
    grid = tiles[0].meta["grid"]
    assert grid.factor == 3 and max(grid.width, grid.height) <= 300
    mosaic = mosaic_masks([(t.bands[0], t.meta["window"]) for t in tiles], grid.width, grid.height)
    with rasterio.open(fx.RGB_BYTE) as ds:
        direct = ds.read(1, window=grid.window, out_shape=(grid.height, grid.width),
                         resampling=Resampling.average)
        assert np.allclose(tuple(grid.transform)[:6],
                           tuple(ds.transform * Affine.scale(3))[:6])
    assert np.array_equal(mosaic, direct.astype(np.float32))


def test_tiles_share_one_stretch():
    tiles = {t.meta["index"]: t for t in iter_tiles(fx.RGB_BYTE, tile=256, overlap=0)}
    a, b = tiles[5], tiles[6]  # neighbours: equal raw values must get equal colours
    for ta, tb in ((a, b), (b, a)):
        va = ta.bands[0][ta.valid]
        common = np.intersect1d(va, tb.bands[0][tb.valid])[:20]
        for v in common:
            ca = ta.rgb[..., 0][ta.valid & (ta.bands[0] == v)][0]
            cb = tb.rgb[..., 0][tb.valid & (tb.bands[0] == v)][0]
            assert ca == cb


def test_cancel_stops_between_tiles():
    token = CancelToken()
    it = iter_tiles(fx.RGB_BYTE, tile=256, overlap=32, cancel=token)
    next(it)
    token.cancel()
    with pytest.raises(Cancelled):
        next(it)


def test_mosaic_mean_and_shape_check():
    out = mosaic_masks([(np.ones((2, 3)), (0, 0, 3, 2)), (np.zeros((2, 3)), (1, 0, 3, 2))], 4, 2,
                       mode="mean")
    assert np.allclose(out, [[1, 0.5, 0.5, 0], [1, 0.5, 0.5, 0]])
    with pytest.raises(InputError):
        mosaic_masks([(np.ones((3, 3)), (0, 0, 3, 2))], 4, 2)


def test_nms_merges_a_detection_split_by_a_seam():
    tiles = {t.meta["index"]: t for t in iter_tiles(fx.RGB_BYTE, tile=256, overlap=64)}
    left, right = tiles[0], tiles[1]  # right starts at column 192 of the grid
    assert right.meta["window"][0] == 192
    grid = left.meta["grid"]
    obj = PixelBox(230.0, 40.0, 280.0, 70.0)  # grid pixels: crosses the left tile's edge at 256
    truth = box_to_polygon(obj, grid.transform)
    partial = box_to_polygon(PixelBox(230.0, 40.0, 256.0, 70.0), left.transform)  # cut by the edge
    full = box_to_polygon(PixelBox(38.0, 40.0, 88.0, 70.0), right.transform)     # whole in `right`
    other = box_to_polygon(PixelBox(10.0, 10.0, 20.0, 20.0), left.transform)
    feats = [GeoFeature(partial, {"label": "ship", "score": 0.9}),
             GeoFeature(full, {"label": "ship", "score": 0.6}),
             GeoFeature(other, {"label": "ship", "score": 0.5}),
             GeoFeature(full, {"label": "plane", "score": 0.4})]
    kept = nms_map(feats, iou=0.5)
    assert sorted((f.properties["label"], f.properties["merged"]) for f in kept) == \
        [("plane", 1), ("ship", 1), ("ship", 2)]
    merged = next(f for f in kept if f.properties["merged"] == 2)
    assert merged.properties["score"] == 0.9
    assert merged.geometry.symmetric_difference(truth).area < 1e-6 * truth.area  # whole again
    assert len(merged.geometry.exterior.coords) == 5  # still a 4-vertex box
