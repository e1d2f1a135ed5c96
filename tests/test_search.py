"""Text-to-tile search and zero-shot tile maps: planted-embedding checks and real tiny models."""
from __future__ import annotations

import numpy as np
import pytest
from affine import Affine

from eolens.inference.cancel import CancelToken
from eolens.inference.errors import Cancelled, InputError
from eolens.inference.io.geoimage import GeoImage
from eolens.inference.search import search_raster, search_tiles, zero_shot_map

COLOURS = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255)}
# A rotated, south-up-free grid: cells must still land on tile centres.
BASE = Affine.translation(500000, 4200000) * Affine.rotation(20) * Affine.scale(10, -10)


class PlantedBackend:
    """Embeds a tile as its normalised mean colour and a phrase as its colour: known answers."""

    def __init__(self):
        self.batches = 0

    def embed_phrases(self, phrases, templates=()):
        return np.array([_unit(COLOURS[p]) for p in phrases], np.float32)

    def encode_images(self, images, batch_size=32, cancel=None):
        self.batches += 1
        return np.array([_unit(i.reshape(-1, 3).mean(axis=0) + 1) for i in images], np.float32)

    def class_scores(self, sim):
        e = np.exp(10 * sim)
        return e / e.sum(axis=-1, keepdims=True)


def _unit(v):
    v = np.asarray(v, np.float32)
    return v / np.linalg.norm(v)


def _tiles(rows=3, cols=4, size=16, stride=12, planted=None, nodata=(), window=True):
    """Grey tiles on BASE; ``planted`` maps (row, col) -> colour name."""
    planted = planted or {}
    for i, (r, c) in enumerate((r, c) for r in range(rows) for c in range(cols)):
        rgb = np.full((size, size, 3), 90, np.uint8)
        if (r, c) in planted:
            rgb[:] = COLOURS[planted[(r, c)]]
        valid = np.full((size, size), (r, c) not in nodata)
        meta = {"index": i, **({"window": (c * stride, r * stride, size, size)} if window else {})}
        yield GeoImage(rgb, BASE * Affine.translation(c * stride, r * stride), "EPSG:32631",
                       valid, meta=meta)


def test_planted_tile_ranks_first_with_its_footprint():
    tiles = list(_tiles(planted={(1, 2): "red", (2, 0): "blue"}))
    res = search_tiles(PlantedBackend(), tiles, "red", batch_size=5, top_k=3)
    top = res.top()
    assert len(top) == 3
    assert top[0].properties["tile"] == 6 and top[0].properties["rank"] == 1
    assert top[0].geometry.equals(tiles[6].footprint())
    scores = [f.properties["score"] for f in top]
    assert scores == sorted(scores, reverse=True)
    assert res.crs_wkt == "EPSG:32631"
    assert res.top(1)[0].properties["query"] == "red"


def test_heat_grid_cells_centre_on_tiles():
    tiles = list(_tiles(planted={(1, 2): "red"}))
    grid, affine = search_tiles(PlantedBackend(), tiles, "red").heat_grid()
    assert grid.shape == (3, 4) and grid.dtype == np.float32
    assert np.unravel_index(np.argmax(grid), grid.shape) == (1, 2)
    for t in tiles:
        c, r = t.meta["window"][0] // 12, t.meta["window"][1] // 12
        centre = t.footprint().centroid
        np.testing.assert_allclose(affine * (c + 0.5, r + 0.5), (centre.x, centre.y), atol=1e-6)
    assert affine.a == pytest.approx(BASE.a * 12) and affine.d == pytest.approx(BASE.d * 12)


def test_tiles_without_windows_grid_the_same():
    with_win = search_tiles(PlantedBackend(), _tiles(planted={(0, 3): "red"}), "red")
    without = search_tiles(PlantedBackend(), _tiles(planted={(0, 3): "red"}, window=False), "red")
    (g1, a1), (g2, a2) = with_win.heat_grid(), without.heat_grid()
    np.testing.assert_array_equal(g1, g2)
    assert a1.almost_equals(a2)


def test_nodata_tiles_are_skipped_not_ranked():
    backend = PlantedBackend()
    res = search_tiles(backend, _tiles(nodata={(0, 0), (0, 1)}), "red", batch_size=2)
    assert res.skipped == 2 and backend.batches == 5  # the all-nodata first batch never encodes
    assert np.isnan(res.scores[:2]).all() and np.isfinite(res.scores[2:]).all()
    assert all(f.properties["tile"] not in (0, 1) for f in res.top(20))
    assert np.isnan(res.heat_grid()[0][0, :2]).all()


def test_cancel_stops_within_one_batch():
    backend, token, pulled = PlantedBackend(), CancelToken(), []

    def stream():
        for t in _tiles(rows=10, cols=10):
            pulled.append(t)
            yield t

    def progress(_):
        token.cancel()  # the user presses Cancel while the first batch is reported

    with pytest.raises(Cancelled):
        search_tiles(backend, stream(), "red", batch_size=8, total=100, progress=progress,
                     cancel=token)
    assert backend.batches == 1
    assert len(pulled) == 8  # not one tile read after the cancel


def test_progress_per_batch_with_total():
    seen = []
    search_tiles(PlantedBackend(), _tiles(), "red", batch_size=5, total=12, progress=seen.append)
    assert seen[:3] == pytest.approx([100 * 5 / 12, 100 * 10 / 12, 100.0]) and seen[-1] == 100.0


def test_zero_shot_map_labels_and_class_grid():
    planted = {(0, 0): "red", (1, 1): "green", (2, 3): "blue"}
    res = zero_shot_map(PlantedBackend(), _tiles(planted=planted, nodata={(2, 2)}),
                        ["red", "green", "blue"], batch_size=4)
    assert res.probs.shape == (12, 3)
    labels = res.labels
    assert (labels[0], labels[5], labels[11], labels[10]) == (0, 1, 2, -1)
    grid, _ = res.class_grid()
    assert grid.dtype == np.int16 and grid.shape == (3, 4)
    assert (grid[0, 0], grid[1, 1], grid[2, 3], grid[2, 2]) == (0, 1, 2, -1)
    np.testing.assert_allclose(res.scores[0], res.probs[0].max())


def test_empty_query_is_input_error():
    with pytest.raises(InputError):
        search_tiles(PlantedBackend(), _tiles(), "  ")


# --- end to end with the tiny real models on real imagery -----------------------------------

SCENE = "geotiff/rasterio_RGB.byte.tif"


@pytest.fixture(scope="module", params=("openclip", "hfclip"))
def backend(request, tiny_models):
    from eolens.inference.models import runtime

    return runtime.load_model(str(tiny_models.path(request.param)), device="cpu")


def test_search_real_scene_scores_equal_direct_cosine(backend, shared_data, no_network):
    from eolens.inference.tiling import count_tiles, iter_tiles

    path = shared_data / SCENE
    tiles = list(iter_tiles(path, tile=224, overlap=32))
    res = search_tiles(backend, iter(tiles), "a river", batch_size=5, total=len(tiles))
    keep = [i for i, t in enumerate(tiles) if t.valid.mean() >= 0.25]
    direct = backend.encode_images([tiles[i].rgb for i in keep]) @ \
        backend.embed_phrases(["a river"])[0]
    np.testing.assert_allclose(res.scores[keep], direct, atol=1e-5)
    best = keep[int(np.argmax(direct))]
    assert res.top(1)[0].properties["tile"] == tiles[best].meta["index"]
    assert res.top(1)[0].geometry.equals(tiles[best].footprint())
    grid, affine = res.heat_grid()
    assert grid.shape == (4, 4) and len(res.tiles) == count_tiles(path, tile=224, overlap=32)
    centre = tiles[5].footprint().centroid  # an interior tile: its cell is centred on it
    np.testing.assert_allclose(affine * (1.5, 1.5), (centre.x, centre.y), atol=1e-6)


def test_search_raster_matches_search_tiles(backend, shared_data, no_network):
    from eolens.inference.tiling import iter_tiles

    path = shared_data / SCENE
    a = search_raster(backend, path, "forest", tile=224, overlap=32, batch_size=8)
    b = search_tiles(backend, iter_tiles(path, tile=224, overlap=32), "forest", batch_size=8)
    np.testing.assert_allclose(a.scores, b.scores, atol=1e-6)


def test_zero_shot_real_scene(backend, shared_data, no_network):
    from eolens.inference.tiling import iter_tiles

    classes = ["water", "forest", "farmland"]
    tiles = list(iter_tiles(shared_data / SCENE, tile=224, overlap=32))
    res = zero_shot_map(backend, tiles, classes, batch_size=6, min_valid=0.0)
    expected = backend.class_scores(backend.encode_images([t.rgb for t in tiles])
                                    @ backend.embed_phrases(classes).T)
    np.testing.assert_allclose(res.probs, expected, atol=1e-5)
    np.testing.assert_array_equal(res.labels, expected.argmax(axis=1))


def test_coverage_grid_ends_flush_with_an_edge_shifted_tile():
    from affine import Affine

    from eolens.inference.search import TileScore, TileScores, coverage_grid

    t = Affine(300.0, 0, 1000.0, 0, -300.0, 5000.0)
    res = TileScores(crs_wkt="EPSG:32618", source_transform=t)
    # 791 px wide: tiles at 0, 128, ..., 640 and a last one shifted flush to 663
    for i, col in enumerate([0, 128, 256, 384, 512, 640, 663]):
        res.tiles.append(TileScore(i, (col, 0, 128, 128), t, None, float(i)))
    grid, g = coverage_grid(res)
    assert g * (grid.shape[1], grid.shape[0]) == pytest.approx(t * (791, 128))   # no overhang
    assert g * (0, 0) == pytest.approx(t * (0, 0))
    assert grid[0, -1] == 6.0 and grid[0, 0] == 0.0       # the edge tile is painted at its place
    assert not np.isnan(grid).any()
