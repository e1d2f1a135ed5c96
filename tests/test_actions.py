"""The shared actions (dock + Processing) on real imagery with tiny models, without QGIS widgets."""
import numpy as np
import pytest
from affine import Affine

from eolens.inference import actions
from eolens.inference.io.geoimage import GeoImage

BOX_ANSWER = "</s><s>tree<loc_100><loc_200><loc_500><loc_600></s>"


def _fixed_answer(monkeypatch, backend, text):
    ids = backend.processor.tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    monkeypatch.setattr(backend.model, "generate", lambda *a, **k: ids)


def test_map_prompts_become_pixel_prompts_on_a_rotated_grid():
    from eolens.inference.segment_session import to_pixel_prompts

    t = Affine.translation(500_000, 4_000_000) * Affine.rotation(30) * Affine.scale(2, -2)
    image = GeoImage(np.zeros((50, 80, 3), np.uint8), t, "EPSG:32617", np.ones((50, 80), bool))
    points, boxes = to_pixel_prompts(image, [t * (10.5, 20.5)], [(*(t * (5, 5)), *(t * (15, 15)))])
    assert points[0] == pytest.approx((10.5, 20.5))
    x0, y0, x1, y1 = boxes[0]  # the pixel bbox of a map-axis-aligned box on a rotated grid
    assert x0 <= 5 + 1e-9 and y0 <= 5 + 1e-9 and x1 >= 15 - 1e-9 and y1 >= 15 - 1e-9


def test_segment_prompts_with_tiny_sam2(tiny_models, sample_dir, no_network):
    image = actions.capture(str(sample_dir / "OSBS_029.tif"), max_side=128)
    centre = image.transform * (image.width / 2, image.height / 2)
    out = actions.segment_prompts(image, str(tiny_models.path("sam2")), points=[centre], labels=[1],
                                  opts=actions.RunOptions(device="cpu"))
    assert out.raster.array.shape == (image.height, image.width)
    assert out.raster.transform == image.transform and out.crs_wkt == image.crs_wkt
    assert not out.raster.array[~image.valid].any()          # nothing over nodata
    for feat in out.features:
        assert {"label", "score", "instance", "prompt", "model"} <= set(feat.properties)
        assert image.footprint().buffer(1e-6).contains(feat.geometry)
    session = out.session                                     # the encoded image is reusable
    again = actions.segment_prompts(image, "unused", points=[centre], labels=[1], session=session)
    assert np.array_equal(again.raster.array, out.raster.array)


def test_detect_tiled_merges_in_map_space(tiny_models, sample_dir, monkeypatch, no_network):
    from eolens.inference.models.runtime import load_model
    from eolens.inference.tiling import count_tiles

    model = str(tiny_models.path("florence2"))
    _fixed_answer(monkeypatch, load_model(model, device="cpu"), BOX_ANSWER)
    path = str(sample_dir / "OSBS_029.tif")
    out = actions.detect_tiled(path, "trees", model, tile=200, overlap=0,
                               opts=actions.RunOptions(device="cpu"))
    assert len(out.features) == count_tiles(path, tile=200, overlap=0) == 4   # one box per tile
    whole = actions.capture(path).footprint()
    assert all(whole.contains(f.geometry) for f in out.features)
    assert len({f.geometry.wkt for f in out.features}) == 4


def test_zero_shot_classify_gives_a_class_per_tile(tiny_models, sample_dir, no_network):
    path = str(sample_dir / "rasterio_RGB.byte.tif")
    out = actions.classify(path, ["water", "forest", "urban"], str(tiny_models.path("openclip")),
                           tile=224, opts=actions.RunOptions(device="cpu"))
    assert out.features and {f.properties["class"] for f in out.features} <= {"water", "forest", "urban"}
    assert out.raster.array.dtype == np.int16 and out.raster.array.max() <= 2
    with pytest.raises(Exception, match="at least two class names"):
        actions.classify(path, ["water"], "unused")


def test_write_outputs_never_overwrites(tmp_path, sample_dir):
    from eolens.inference.io.georef import GeoFeature

    image = actions.capture(str(sample_dir / "OSBS_029.tif"), max_side=64)
    result = actions.ActionResult(features=[GeoFeature(image.footprint(), {"caption": "x"})],
                                  crs_wkt=image.crs_wkt,
                                  raster=actions.RasterOut(image.valid.astype(np.uint8), image.transform,
                                                           image.crs_wkt))
    actions.write_outputs(result, str(tmp_path / "a.gpkg"), str(tmp_path / "a.tif"))
    before = (tmp_path / "a.gpkg").read_bytes()
    with pytest.raises(Exception, match="exists"):
        actions.write_outputs(result, str(tmp_path / "a.gpkg"))
    assert (tmp_path / "a.gpkg").read_bytes() == before


def test_change_regions_are_labelled_by_clip(tiny_models, shared_data, no_network):
    pair = shared_data / "change" / "naip_nd_2009_2020"
    a, b = actions.coregister_pair(str(pair / "m_4709963_se_14_1_20090818.tif"),
                                   str(pair / "m_4709963_se_14_1_20200831.tif"), max_side=256)
    labels = ["new buildings", "water change"]
    out = actions.change(a, b, label_model=str(tiny_models.path("openclip")), labels=labels,
                         opts=actions.RunOptions(device="cpu"))
    assert out.features
    for f in out.features:
        assert f.properties["label"] in labels and 0.0 <= f.properties["label_score"] <= 1.0
    assert out.raster.transform == a.transform and out.raster.array.shape == a.valid.shape


POLY_ANSWER = ("</s><s><poly><loc_100><loc_100><loc_900><loc_100><loc_900><loc_900>"
               "<loc_100><loc_900></poly></s>")


def test_segment_layer_writes_tile_masks_on_the_layer_grid(tiny_models, sample_dir, monkeypatch,
                                                          no_network, tmp_path):
    import rasterio

    from eolens.inference.models.runtime import load_model
    from eolens.inference.tiling import iter_blocks
    from eolens.inference.whole_layer import core_and_halo, segment_layer

    model = str(tiny_models.path("florence2"))
    _fixed_answer(monkeypatch, load_model(model, device="cpu"), POLY_ANSWER)
    path, mask_path = str(sample_dir / "OSBS_029.tif"), str(tmp_path / "mask.tif")
    out = segment_layer(path, "crowns", model, tile=208, overlap=16, raster_path=mask_path,
                        opts=actions.RunOptions(device="cpu"))
    with rasterio.open(path) as ds, rasterio.open(mask_path) as m:
        assert m.transform == ds.transform and (m.width, m.height) == (ds.width, ds.height)
        nodata = ~ds.dataset_mask().astype(bool)
        mask = m.read(1).astype(bool)
    # each tile answers the square 0.1..0.9 of what it sees; the mask keeps its core's part
    expect = np.zeros_like(mask)
    for core, read in iter_blocks(mask.shape[1], mask.shape[0], *core_and_halo(208, 16)):
        c, r, w, h = (int(v) for v in read.flatten())
        sq = np.zeros_like(mask)
        sq[r + int(0.1 * h) + 1:r + int(0.9 * h) - 1, c + int(0.1 * w) + 1:c + int(0.9 * w) - 1] = True
        cc, cr, cw, ch = (int(v) for v in core.flatten())
        expect[cr:cr + ch, cc:cc + cw] = sq[cr:cr + ch, cc:cc + cw]
    expect &= ~nodata
    assert len(out.features) >= 4                       # one square per tile, seams in between
    assert not mask[nodata].any()
    assert expect.sum() > 0.3 * mask.size and mask[expect].all()
    assert mask.sum() <= 1.1 * expect.sum() and not mask[:15, :15].any()
