"""Whole layers of any size (issue 14): change, detect and segment streamed through Processing
on 20,000 x 20,000 sparse GeoTIFFs with real imagery pasted in, and tiled change == untiled."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from rasterio.windows import Window
from shapely import wkb
from shapely.geometry import Point, box

from eolens.inference.results import PixelBox, PixelPolygon, PixelResult

SIDE = 20_000
AT = (1000, 1000)                       # where the NAIP pair is pasted (col, row)
SQUARE = (1490, 1490, 1580, 1580)       # a new bright square in B across the 1536 px seams
ORIGIN, RES = (400_000.0, 5_300_000.0), 5.0
NAIP = "change/naip_nd_2009_2020"
PAIRS = {"rennes": "change/oscd_rennes", "naip": NAIP}


def _big(path: Path, image: np.ndarray) -> str:
    """A SIDE x SIDE sparse, tiled, compressed GeoTIFF with ``image`` pasted at AT."""
    profile = dict(driver="GTiff", width=SIDE, height=SIDE, count=image.shape[0], dtype="uint8",
                   crs="EPSG:26914", transform=from_origin(*ORIGIN, RES, RES), nodata=0,
                   tiled=True, blockxsize=512, blockysize=512, compress="deflate", sparse_ok=True)
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(image, window=Window(*AT, image.shape[2], image.shape[1]))
    return str(path)


@pytest.fixture(scope="module")
def big_pair(shared_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("big")
    a_src, b_src = sorted(str(p) for p in (shared_data / NAIP).glob("*.tif"))
    with rasterio.open(a_src) as ds:
        a = ds.read()
    with rasterio.open(b_src) as ds:
        b = ds.read(out_shape=a.shape)
    b = np.maximum(b, 1)  # valid everywhere the date has data
    c0, r0, c1, r1 = (v - o for v, o in zip(SQUARE, AT * 2))
    b[:, r0:r1, c0:c1] = 255
    return _big(folder / "a.tif", np.maximum(a, 1)), _big(folder / "b.tif", b)


def _map_box(col0, row0, col1, row1):
    t = from_origin(*ORIGIN, RES, RES)
    (x0, y0), (x1, y1) = t * (col0, row1), t * (col1, row0)
    return box(x0, y0, x1, y1)


def _polygons(path: str) -> list:
    from osgeo import ogr

    ds = ogr.Open(path.split("|")[0])
    layer = ds.GetLayer(0)
    return [wkb.loads(bytes(f.GetGeometryRef().ExportToWkb())) for f in layer]


def _same_grid(raster: str, reference: str) -> None:
    with rasterio.open(raster) as ds, rasterio.open(reference) as ref:
        assert (ds.width, ds.height) == (ref.width, ref.height) == (SIDE, SIDE)
        assert ds.transform == ref.transform and ds.crs == ref.crs
        assert ds.profile["tiled"] and ds.compression is not None


def _run(alg: str, params: dict):
    import processing
    from qgis.core import QgsProcessingFeedback

    return processing.run(alg, params, feedback=QgsProcessingFeedback())


# --- change ----------------------------------------------------------------------------
def test_change_streams_a_20k_pair_on_its_grid_and_keeps_a_seam_region_whole(provider, big_pair,
                                                                            tmp_path):
    a, b = big_pair
    res = _run("eolens:change", {"INPUT": a, "INPUT_B": b, "MAX_SIDE": 0, "DEVICE": "cpu",
                                 "OUTPUT": str(tmp_path / "chg.gpkg"),
                                 "OUTPUT_RASTER": str(tmp_path / "heat.tif")})
    _same_grid(res["OUTPUT_RASTER"], a)
    with rasterio.open(res["OUTPUT_RASTER"]) as ds:
        assert ds.dtypes == ("float32",) and np.isnan(ds.nodata)
        c0, r0, c1, r1 = SQUARE
        heat = ds.read(1, window=Window(c0 + 4, r0 + 4, c1 - c0 - 8, r1 - r0 - 8))
        assert np.isfinite(heat).all() and heat.min() > 3.0          # the square changed
        assert np.isnan(ds.read(1, window=Window(5000, 5000, 64, 64))).all()  # nodata stays
    polys = _polygons(res["OUTPUT"])
    square = _map_box(*SQUARE)
    hits = [p for p in polys if p.intersects(square.centroid)]
    assert len(hits) == 1                                   # one polygon across four blocks
    assert hits[0].buffer(1e-6).contains(square.buffer(-3 * RES))
    assert res["TEXT"].startswith(f"{len(polys)} change regions")


def test_change_tiling_does_not_change_the_result(big_pair, tmp_path):
    from eolens.inference.change.spectral_tiled import stream_change

    a, b = big_pair
    window = _map_box(AT[0] - 50, AT[1] - 50, AT[0] + 1000, AT[1] + 800).bounds
    runs = [stream_change(a, b, window, block=k, mask_path=str(tmp_path / f"m{k}.tif"))
            for k in (128, 512)]
    assert runs[0].threshold == runs[1].threshold
    with rasterio.open(tmp_path / "m128.tif") as x, rasterio.open(tmp_path / "m512.tif") as y:
        assert np.array_equal(x.read(1), y.read(1))
    assert len(runs[0].polygons) == len(runs[1].polygons)


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_tiled_change_equals_untiled(shared_data, tmp_path, name):
    from eolens.inference import actions
    from eolens.inference.change.spectral import change_polygons, detect_change
    from eolens.inference.change.spectral_tiled import stream_change

    a, b = sorted(str(p) for p in (shared_data / PAIRS[name]).glob("*_t[12]_*.tif")) or \
        sorted(str(p) for p in (shared_data / PAIRS[name]).glob("*.tif"))
    ia, ib = actions.coregister_pair(a, b)
    ref = detect_change(ia, ib)
    ref_area = sum(p.area for p in change_polygons(ref, ia.transform))
    for block in (64, 256):
        res = stream_change(a, b, block=block, mask_path=str(tmp_path / "m.tif"))
        with rasterio.open(tmp_path / "m.tif") as ds:
            mask = ds.read(1).astype(bool)
            assert ds.transform == ia.transform and mask.shape == ref.mask.shape
        assert np.mean(mask != ref.mask) <= 1e-3
        assert abs(sum(p.area for p in res.polygons) / ref_area - 1) <= 0.01
        assert abs(res.threshold - ref.threshold) <= 1e-6 * max(1.0, ref.threshold)


def test_a_cancelled_streamed_change_leaves_no_file(provider, big_pair, tmp_path):
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    import processing

    feedback = QgsProcessingFeedback()
    feedback.progressChanged.connect(lambda p: p > 20 and feedback.cancel())
    a, b = big_pair
    with pytest.raises(QgsProcessingException):
        processing.run("eolens:change", {"INPUT": a, "INPUT_B": b, "MAX_SIDE": 0, "TILE_SIZE": 512,
                                         "OUTPUT": str(tmp_path / "c.gpkg"),
                                         "OUTPUT_RASTER": str(tmp_path / "h.tif")},
                       feedback=feedback)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# --- detect and segment ---------------------------------------------------------------------
def _clipped_to_tile(region, request, transform):
    """The part of the map-space ``region`` inside a tile, as pixel coordinates of that tile."""
    from eolens.inference.io.georef import map_to_pixel

    h, w = request.image.shape[:2]
    part = map_to_pixel(region, transform).intersection(box(0, 0, w, h))
    return None if part.is_empty or part.area < 1 else part


@pytest.fixture(scope="module")
def grounding_dino(tiny_models):
    return str(tiny_models.path("grounding_dino"))


def test_detect_streams_a_20k_layer_and_a_box_across_a_seam_is_one_box(
        provider, big_pair, grounding_dino, tmp_path, monkeypatch):
    from eolens.inference.models.runtime import load_model

    a, _ = big_pair
    params = {"INPUT": a, "PROMPT": "a pond", "MODEL": grounding_dino, "DEVICE": "cpu",
              "MAX_SIDE": 0, "TILE_SIZE": 1024, "OVERLAP": 128}
    res = _run("eolens:detect", {**params, "OUTPUT": str(tmp_path / "boxes.gpkg")})
    pasted = _map_box(AT[0], AT[1], AT[0] + 934, AT[1] + 724)
    boxes = _polygons(res["OUTPUT"])
    assert boxes                                              # tiny GroundingDINO always proposes
    reach = pasted.buffer(1024 * RES, join_style=2)             # only tiles with data ran
    assert all(reach.contains(g) for g in boxes)

    # A fixed object across the edge of tile 0-1023 (tile 896-1919 sees it whole): each tile
    # reports the part it sees; the output holds it once, whole.
    obj = _map_box(1000, 1100, 1080, 1200)
    backend = load_model(grounding_dino, device="cpu")

    def fake_run(request, progress=None, cancel=None):
        tile = request.meta_transform
        part = _clipped_to_tile(obj, request, tile)
        x0, y0, x1, y1 = part.bounds if part is not None else (0, 0, 0, 0)
        return PixelResult(boxes=[PixelBox(x0, y0, x1, y1, "pond", 0.9)] if part is not None else [])

    _patch_with_transforms(monkeypatch, backend, fake_run)
    res = _run("eolens:detect", {**params, "OUTPUT": str(tmp_path / "one.gpkg")})
    boxes = _polygons(res["OUTPUT"])
    assert len(boxes) == 1
    assert boxes[0].symmetric_difference(obj).area <= 1e-6 * obj.area


def _patch_with_transforms(monkeypatch, backend, fake_run):
    """The backend sees only pixels; hand it each tile's transform by wrapping iter_tiles."""
    from eolens.inference import tiling

    real = tiling.iter_tiles
    current = {}

    def iter_tiles(*args, **kwargs):
        for t in real(*args, **kwargs):
            current["t"] = t.transform
            yield t

    def run(request, progress=None, cancel=None):
        request.meta_transform = current["t"]
        return fake_run(request, progress, cancel)

    monkeypatch.setattr(tiling, "iter_tiles", iter_tiles)
    real_blocks = tiling.iter_block_tiles

    def iter_block_tiles(*args, **kwargs):
        for t in real_blocks(*args, **kwargs):
            current["t"] = t.transform
            yield t

    monkeypatch.setattr(tiling, "iter_block_tiles", iter_block_tiles)
    import eolens.inference.whole_layer as wl

    monkeypatch.setattr(wl, "iter_block_tiles", iter_block_tiles)
    monkeypatch.setattr(backend, "run", run)


def test_segment_streams_a_20k_layer_onto_its_grid_and_merges_a_seam_region(
        provider, big_pair, tiny_models, tmp_path, monkeypatch):
    from eolens.inference.models.runtime import load_model

    a, _ = big_pair
    florence = str(tiny_models.path("florence2"))
    params = {"INPUT": a, "PROMPT": "ponds", "MODEL": florence, "DEVICE": "cpu", "MAX_SIDE": 0,
              "TILE_SIZE": 1024, "OVERLAP": 128}
    res = _run("eolens:segment", {**params, "OUTPUT": str(tmp_path / "seg.gpkg"),
                                  "OUTPUT_RASTER": str(tmp_path / "seg.tif")})
    _same_grid(res["OUTPUT_RASTER"], a)
    with rasterio.open(res["OUTPUT_RASTER"]) as ds:
        assert ds.dtypes == ("uint8",)
        assert set(np.unique(ds.read(1, window=Window(*AT, 1024, 1024)))) <= {0, 1}

    # A region across a block seam (cores of 896 px: a seam at column 1792) comes back whole.
    region = Point(*(from_origin(*ORIGIN, RES, RES) * (1792, 1300))).buffer(40 * RES)
    backend = load_model(florence, device="cpu")

    def fake_run(request, progress=None, cancel=None):
        part = _clipped_to_tile(region, request, request.meta_transform)
        polys = [] if part is None else [PixelPolygon(np.asarray(g.exterior.coords))
                                         for g in getattr(part, "geoms", [part])]
        return PixelResult(polygons=polys)

    _patch_with_transforms(monkeypatch, backend, fake_run)
    res = _run("eolens:segment", {**params, "OUTPUT": str(tmp_path / "one.gpkg"),
                                  "OUTPUT_RASTER": str(tmp_path / "one.tif")})
    polys = _polygons(res["OUTPUT"])
    assert len(polys) == 1
    assert abs(polys[0].area / region.area - 1) < 0.03        # rasterised circle vs the circle


def test_seam_polygons_equal_whole_mask_polygons_with_holes_across_seams(shared_data):
    """A real NIR threshold mask (holed regions cut by many seams, islands inside holes) comes
    back from 64 px blocks exactly as polygonising the whole mask at once."""
    from eolens.inference.io.georef import mask_to_polygons
    from eolens.inference.tile_merge import SeamPolygons
    from eolens.inference.tiling import iter_blocks

    path = sorted((shared_data / NAIP).glob("*.tif"))[0]
    with rasterio.open(path) as ds:
        nir = ds.read(4, window=Window(0, 0, 400, 300))
    mask = nir > 120
    transform = from_origin(*ORIGIN, RES, RES)
    polys = SeamPolygons(mask.shape[1], mask.shape[0], transform)
    for core, _ in iter_blocks(mask.shape[1], mask.shape[0], 64):
        c, r, w, h = (int(v) for v in (core.col_off, core.row_off, core.width, core.height))
        polys.add(mask[r:r + h, c:c + w], c, r)
    ours = polys.polygons()
    whole = mask_to_polygons(mask.astype(np.uint8), transform)
    assert sum(len(p.interiors) for p in whole) > 5        # the case is a holed one
    assert len(ours) == len(whole)
    assert sum(len(p.interiors) for p in ours) == sum(len(p.interiors) for p in whole)
    assert all(p.is_valid for p in ours)
    key = lambda p: (round(p.bounds[0], 3), round(p.bounds[1], 3), round(p.area, 3))  # noqa: E731
    for a, b in zip(sorted(ours, key=key), sorted(whole, key=key)):
        assert a.symmetric_difference(b).area < 1e-6 * RES * RES


def test_streamed_outputs_carry_overviews_so_qgis_draws_them_cheaply(big_pair, tmp_path):
    """A 20,000^2 heat raster without overviews costs QGIS ~1.2 GB of block cache to draw whole;
    with internal overviews a whole-extent read touches a small level only."""
    import resource

    from osgeo import gdal

    from eolens.inference.change.spectral_tiled import stream_change

    a, b = big_pair
    heat, mask = str(tmp_path / "h.tif"), str(tmp_path / "m.tif")
    stream_change(a, b, heat_path=heat, mask_path=mask)
    for path in (heat, mask):
        with rasterio.open(path) as ds:
            assert ds.overviews(1) == [2, 4, 8, 16, 32, 64]
        ds = gdal.Open(path)               # keep the dataset alive while its band is used
        assert ds.GetRasterBand(1).GetOverview(5).XSize == -(-SIDE // 64)   # ceil
        assert ds.GetMetadataItem("COMPRESSION", "IMAGE_STRUCTURE") == "DEFLATE"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ds = gdal.Open(heat)
    ds.GetRasterBand(1).ReadAsArray(buf_xsize=1000, buf_ysize=1000)
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 100  # MB
