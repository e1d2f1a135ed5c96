"""MAX_SIDE with TILE_SIZE > 0 (issue 14): the longest side of each tile a model sees. A tile larger
than MAX_SIDE is read on the grid decimated to fit, outputs lie on that grid and on the same ground
as the native run; a tile that fits stays native. Streamed through Processing on a 20,000^2 sparse
GeoTIFF with real imagery and a magenta square the fake backends find in the pixels they are given."""
from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.windows import Window
from shapely.geometry import box

from eolens.inference.results import PixelBox, PixelPolygon, PixelResult
from tests.test_whole_layers import AT, NAIP, RES, _big, _map_box, _polygons, _run

SQUARE = (1301, 1203, 1417, 1289)   # source pixels (col0, row0, col1, row1): odd edges on purpose
MAGENTA = (255, 0, 255)


@pytest.fixture(scope="module")
def layer(shared_data, tmp_path_factory):
    with rasterio.open(sorted((shared_data / NAIP).glob("*.tif"))[0]) as ds:
        image = np.maximum(ds.read(), 1)
    c0, r0, c1, r1 = (v - o for v, o in zip(SQUARE, AT * 2))
    image[:3, r0:r1, c0:c1] = np.array(MAGENTA, np.uint8)[:, None, None]  # RGB of RGBN
    return _big(tmp_path_factory.mktemp("max_side") / "layer.tif", image)


@pytest.fixture(scope="module")
def florence(tiny_models):
    return str(tiny_models.path("florence2"))


def _magenta(image: np.ndarray):
    """(col0, row0, col1, row1) pixel corners of the magenta pixels, or None."""
    hit = (image[..., 0] > 220) & (image[..., 1] < 40) & (image[..., 2] > 220)
    if not hit.any():
        return None
    rows, cols = np.nonzero(hit)
    return cols.min(), rows.min(), cols.max() + 1, rows.max() + 1


@pytest.fixture
def backend(florence, monkeypatch):
    """The cached tiny backend answering from the pixels it sees; ``.shapes`` records them."""
    from eolens.inference.models.runtime import load_model

    model = load_model(florence, device="cpu")
    shapes: list[tuple[int, int]] = []

    def run(request, progress=None, cancel=None):
        shapes.append(request.image.shape[:2])
        h, w = request.image.shape[:2]
        if request.task == "caption":
            return PixelResult(text=f"{w}x{h}")
        found = _magenta(request.image)
        if found is None:
            return PixelResult()
        x0, y0, x1, y1 = (float(v) for v in found)
        ring = np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)])
        return PixelResult(boxes=[PixelBox(x0, y0, x1, y1, "square", 0.9)],
                           polygons=[PixelPolygon(ring, "square")])

    monkeypatch.setattr(model, "run", run)
    model.shapes = shapes
    yield model
    del model.shapes


def _params(florence, tile, max_side, **extra):
    return {"INPUT": extra.pop("INPUT"), "MODEL": florence, "DEVICE": "cpu", "TILE_SIZE": tile,
            "MAX_SIDE": max_side, **extra}


def _close(a, b, pixel: float) -> bool:
    """Same ground within one ``pixel`` (map units) on every side."""
    return all(abs(u - v) <= pixel + 1e-6 for u, v in zip(a.bounds, b.bounds))


def _grid(path: str):
    with rasterio.open(path) as ds:
        return ds.width, ds.height, ds.transform, ds.crs


def _source_grid(layer: str):
    return _grid(layer)


# --- the rule, once -----------------------------------------------------------------------
def test_tile_scale_decimates_only_tiles_longer_than_max_side(sample_dir):
    from eolens.inference.tiling import iter_windows, tile_grid, tile_scale

    path = str(sample_dir / "OSBS_029.tif")                  # 400 x 400
    assert tile_scale(path, None, None, 256, 32, 512) == (None, 256, 32)
    assert tile_scale(path, None, None, 256, 32, None) == (None, 256, 32)
    assert tile_scale(path, None, None, 256, 32, 256) == (None, 256, 32)
    for tile, overlap, max_side, k in ((300, 40, 100, 3), (256, 32, 128, 2), (5000, 0, 100, 4)):
        grid_side, on_grid, overlap_on_grid = tile_scale(path, None, None, tile, overlap, max_side)
        grid = tile_grid(path, max_side=grid_side)
        assert grid.factor == k and on_grid <= max_side and overlap_on_grid == overlap // k
        longest = max(max(int(w.width), int(w.height))
                      for w in iter_windows(grid.width, grid.height, on_grid, overlap_on_grid))
        assert longest <= max_side
        assert on_grid * k <= min(tile, 400) < (on_grid + 1) * k   # the same ground, to a pixel


# --- detect -------------------------------------------------------------------------------
def test_detect_reads_tiles_longer_than_max_side_coarser_on_the_same_ground(
        provider, layer, florence, backend, tmp_path):
    square = _map_box(*SQUARE)
    runs = {}
    for max_side in (0, 512):
        backend.shapes.clear()
        res = _run("eolens:detect", _params(florence, 1024, max_side, INPUT=layer, PROMPT="square",
                                            OVERLAP=128, OUTPUT=str(tmp_path / f"b{max_side}.gpkg")))
        runs[max_side] = (_polygons(res["OUTPUT"]), list(backend.shapes))
    (native, native_shapes), (coarse, coarse_shapes) = runs[0], runs[512]
    assert max(max(s) for s in native_shapes) == 1024
    assert coarse_shapes and max(max(s) for s in coarse_shapes) <= 512
    assert len(native) == len(coarse) == 1
    assert _close(native[0], square, RES)                 # native: to one source pixel
    assert _close(coarse[0], native[0], 2 * RES)          # decimated by 2: to one of its pixels


# --- segment ------------------------------------------------------------------------------
def test_segment_mask_lies_on_the_decimated_grid_and_the_same_ground(
        provider, layer, florence, backend, tmp_path):
    backend.shapes.clear()
    res = _run("eolens:segment", _params(florence, 1024, 512, INPUT=layer, PROMPT="square",
                                         OVERLAP=128, OUTPUT=str(tmp_path / "s.gpkg"),
                                         OUTPUT_RASTER=str(tmp_path / "s.tif")))
    assert backend.shapes and max(max(s) for s in backend.shapes) <= 512
    width, height, transform, crs = _grid(res["OUTPUT_RASTER"])
    sw, sh, st, scrs = _source_grid(layer)
    assert (width, height) == (sw // 2, sh // 2) and crs == scrs
    assert transform == st * Affine.scale(2)
    square = _map_box(*SQUARE)
    polys = _polygons(res["OUTPUT"])
    assert len(polys) == 1 and _close(polys[0], square, 2 * RES)
    with rasterio.open(res["OUTPUT_RASTER"]) as ds:
        c0, r0, c1, r1 = (v // 2 for v in SQUARE)
        inside = ds.read(1, window=Window(c0 + 1, r0 + 1, c1 - c0 - 2, r1 - r0 - 2))
        assert inside.all()
        ring = ds.read(1, window=Window(c0 - 4, r0 - 4, c1 - c0 + 8, r1 - r0 + 8))
        assert ring.sum() <= (c1 - c0 + 2) * (r1 - r0 + 2)     # nothing beyond one pixel of it
        # the mask's pixels, placed with its own transform, cover the square's ground
        rows, cols = np.nonzero(ring)
        x0, y1 = ds.transform * (c0 - 4 + cols.min(), r0 - 4 + rows.min())
        x1, y0 = ds.transform * (c0 - 4 + cols.max() + 1, r0 - 4 + rows.max() + 1)
        assert _close(box(x0, y0, x1, y1), square, 2 * RES)


@pytest.mark.parametrize("max_side", [1024, 0])
def test_segment_tiles_that_fit_max_side_stay_native(provider, layer, florence, backend, tmp_path,
                                                     max_side):
    backend.shapes.clear()
    res = _run("eolens:segment", _params(florence, 512, max_side, INPUT=layer, PROMPT="square",
                                         OVERLAP=64, OUTPUT=str(tmp_path / "s.gpkg"),
                                         OUTPUT_RASTER=str(tmp_path / "s.tif")))
    assert _grid(res["OUTPUT_RASTER"]) == _source_grid(layer)     # the input's own grid
    assert max(max(s) for s in backend.shapes) == 512
    polys = _polygons(res["OUTPUT"])
    assert len(polys) == 1 and _close(polys[0], _map_box(*SQUARE), RES)


# --- caption ------------------------------------------------------------------------------
def _footprints(path: str) -> list:
    return sorted((tuple(round(v, 6) for v in p.bounds) for p in _polygons(path)))


@pytest.mark.parametrize("tile, max_side, longest", [(1024, 512, 512), (512, 1024, 512)])
def test_caption_tile_footprints_do_not_depend_on_max_side(provider, layer, florence, backend,
                                                           tmp_path, tile, max_side, longest):
    out = {}
    for m in (max_side, 0):
        backend.shapes.clear()
        res = _run("eolens:caption", _params(florence, tile, m, INPUT=layer,
                                             OUTPUT=str(tmp_path / f"c{m}.gpkg")))
        out[m] = (_footprints(res["OUTPUT"]), max(max(s) for s in backend.shapes))
    assert out[max_side][0] and out[max_side][0] == out[0][0]
    assert out[max_side][1] == longest and out[0][1] == tile
    x0, _, x1, _ = out[0][0][0]
    assert x1 - x0 == pytest.approx(tile * RES)                # tiles of TILE_SIZE source pixels


# --- the dock -----------------------------------------------------------------------------
def test_dock_whole_layer_find_masks_streams_through_segment_layer(gui, qtbot, tiny_models,
                                                                  sample_dir, monkeypatch):
    from tests.gui_helpers import add_raster, plugin_settings, wait_idle
    from tests.test_dock_workflows import POLY_ANSWER, _florence, _role, _whole_layer

    from eolens.inference import whole_layer
    from eolens.plugin import results

    iface, plugin = gui
    model = _florence(tiny_models, monkeypatch, POLY_ANSWER)
    calls, real = [], whole_layer.segment_layer

    def spy(*args, **kw):
        calls.append(kw)
        return real(*args, **kw)

    monkeypatch.setattr(whole_layer, "segment_layer", spy)
    layer = add_raster(sample_dir / "OSBS_029.tif")
    _whole_layer(plugin, layer)
    plugin.dock.find.tiled.setChecked(True)
    plugin.dock.find.prompt.setText("crowns")
    with plugin_settings(model_segment=model):
        plugin.dock.find.masks_button.click()
        wait_idle(qtbot, plugin.dock)
    assert iface.errors() == [] and len(calls) == 1
    raster = _role("mask-raster")
    assert raster.source() == calls[0]["raster_path"]
    assert raster.source().startswith(results.output_dir())
    assert _grid(raster.source()) == _grid(str(sample_dir / "OSBS_029.tif"))
    assert _role("mask-polygons").featureCount() >= 1
