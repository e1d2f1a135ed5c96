"""Semantic (deep-feature) change streamed block by block (issue 14): a 20,000 x 20,000 pair
through Processing with the tiny DINOv2, one block == the untiled run, and the dock's Change."""
from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

from tests.gui_helpers import forbid, naip_in_change_tab, plugin_settings, spy_calls, wait_idle
from tests.test_whole_layers import AT, NAIP, RES, SQUARE, _big, _map_box, _polygons, _run, _same_grid


@pytest.fixture(scope="module")
def same_but_square(shared_data, tmp_path_factory):
    """A: NAIP 2009 pasted into a 20,000^2 sparse GeoTIFF; B: the same with a bright square
    across the 1536 px block seams, so the only change is that square."""
    folder = tmp_path_factory.mktemp("sem")
    src = sorted(str(p) for p in (shared_data / NAIP).glob("*.tif"))[0]
    with rasterio.open(src) as ds:
        a = np.maximum(ds.read(), 1)
    b = a.copy()
    c0, r0, c1, r1 = (v - o for v, o in zip(SQUARE, AT * 2))
    b[:, r0:r1, c0:c1] = 255
    return _big(folder / "a.tif", a), _big(folder / "b.tif", b)


@pytest.fixture(scope="module")
def dinov2(tiny_models):
    import torch
    from eolens.inference.models.dinov2 import load_dinov2
    from eolens.inference.models.registry import REGISTRY

    return load_dinov2(REGISTRY["dinov2-small"], tiny_models.path("dinov2"), "cpu", torch.float32)


def test_semantic_change_streams_a_20k_pair_and_keeps_a_seam_region_whole(
        provider, same_but_square, tiny_models, tmp_path):
    a, b = same_but_square
    res = _run("eolens:change", {"INPUT": a, "INPUT_B": b, "METHOD": "semantic", "TILE_SIZE": 512,
                                 "MODEL": str(tiny_models.path("dinov2")), "MAX_SIDE": 0,
                                 "DEVICE": "cpu", "OUTPUT": str(tmp_path / "sem.gpkg"),
                                 "OUTPUT_RASTER": str(tmp_path / "heat.tif")})
    _same_grid(res["OUTPUT_RASTER"], a)
    c0, r0, c1, r1 = SQUARE
    with rasterio.open(res["OUTPUT_RASTER"]) as ds:
        assert ds.dtypes == ("float32",) and np.isnan(ds.nodata)
        inside = ds.read(1, window=Window(c0 + 8, r0 + 8, c1 - c0 - 16, r1 - r0 - 16))
        far = ds.read(1, window=Window(AT[0] + 2, AT[1] + 100, 16, 16))   # a block away
        assert np.isfinite(inside).all() and np.isfinite(far).all()
        assert inside.min() > 0 and np.all(far == 0)   # identical block: exactly no change
        assert np.isnan(ds.read(1, window=Window(5000, 5000, 64, 64))).all()  # nodata stays
    polys = _polygons(res["OUTPUT"])
    square = _map_box(*SQUARE)
    hits = [p for p in polys if p.intersects(square.centroid)]
    assert len(hits) == 1                                    # one polygon across four blocks
    assert hits[0].intersection(square).area > 0.5 * square.area
    assert all(p.distance(square) < 200 * RES for p in polys)   # change only near the square


def test_the_model_runs_once_per_block_and_date_on_block_plus_halo(same_but_square, dinov2,
                                                                    tmp_path, monkeypatch):
    from eolens.inference.change.semantic_tiled import halo_for, stream_semantic_change

    a, b = same_but_square
    seen = []
    real = dinov2.patch_tokens

    def spy(images, **kw):
        seen.append([im.shape for im in images])
        return real(images, **kw)

    monkeypatch.setattr(dinov2, "patch_tokens", spy)
    window = _map_box(AT[0], AT[1], AT[0] + 1024, AT[1] + 1024).bounds
    res = stream_semantic_change(a, b, dinov2, window, block=256,
                                 mask_path=str(tmp_path / "m.tif"))
    assert res.stats["blocks"] == 16 and res.grid.width == res.grid.height == 1024
    # only blocks whose read touches the square differ; identical blocks skip the model
    assert 0 < len(seen) < 16
    assert all(len(s) == 2 and s[0] == s[1] for s in seen)
    assert max(max(s[0][:2]) for s in seen) <= 256 + 2 * halo_for(256)
    with rasterio.open(tmp_path / "m.tif") as ds:
        assert ds.transform.a == RES and ds.read(1).any()


def test_one_block_equals_the_untiled_semantic_change(shared_data, dinov2, tmp_path):
    from eolens.inference import actions
    from eolens.inference.change.spectral import detect_change
    from eolens.inference.change.semantic_tiled import stream_semantic_change

    a, b = sorted(str(p) for p in (shared_data / NAIP).glob("*.tif"))
    window = (486500.0, 5206500.0, 487500.0, 5207500.0)      # 200 x 200 px of the NAIP pair
    ia, ib = actions.coregister_pair(a, b, window, "EPSG:26914")
    ref = detect_change(ia, ib, method="semantic", feature_backend=dinov2)
    side = max(ref.mask.shape)
    res = stream_semantic_change(a, b, dinov2, window, "EPSG:26914", block=(side + 15) // 16 * 16,
                                 heat_path=str(tmp_path / "h.tif"), mask_path=str(tmp_path / "m.tif"))
    with rasterio.open(tmp_path / "h.tif") as h, rasterio.open(tmp_path / "m.tif") as m:
        assert h.transform == ia.transform and h.shape == ref.heat.shape
        heat, mask = h.read(1), m.read(1).astype(bool)
    valid = ref.valid
    assert np.allclose(heat[valid], ref.heat[valid], atol=1e-3)
    assert abs(res.threshold - ref.threshold) <= 1e-3
    assert np.mean(mask != ref.mask) <= 1e-3


def test_semantic_blocks_need_a_feature_model(same_but_square):
    from eolens.inference.change.semantic_tiled import stream_semantic_change
    from eolens.inference.errors import InputError

    with pytest.raises(InputError, match="feature model"):
        stream_semantic_change(*same_but_square, object())


def test_a_cancelled_semantic_stream_leaves_no_file(provider, same_but_square, tiny_models,
                                                    tmp_path):
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    import processing

    feedback = QgsProcessingFeedback()
    feedback.progressChanged.connect(lambda p: p > 20 and feedback.cancel())
    a, b = same_but_square
    with pytest.raises(QgsProcessingException):
        processing.run("eolens:change", {
            "INPUT": a, "INPUT_B": b, "METHOD": "semantic", "TILE_SIZE": 256, "MAX_SIDE": 0,
            "MODEL": str(tiny_models.path("dinov2")), "DEVICE": "cpu",
            "OUTPUT": str(tmp_path / "c.gpkg"), "OUTPUT_RASTER": str(tmp_path / "h.tif")},
            feedback=feedback)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_whole_layer_semantic_change_in_the_dock_streams(gui, qtbot, shared_data, tiny_models,
                                                         monkeypatch):
    from eolens.inference import actions, whole_layer

    calls = spy_calls(monkeypatch, whole_layer, "change_layer")
    forbid(monkeypatch, actions, "change", "the whole-layer semantic change read the pair into memory")
    iface, plugin = gui
    naip_in_change_tab(plugin, shared_data, "semantic")
    panel = plugin.dock.change
    with plugin_settings(model_features=str(tiny_models.path("dinov2")), max_side=256):
        panel.compare_button.click()
        wait_idle(qtbot, plugin.dock)
    assert iface.errors() == [] and len(calls) == 1
    assert calls[0]["method"] == "semantic"
    assert calls[0]["model"] == str(tiny_models.path("dinov2"))
    from qgis.core import QgsProject

    heat = [lyr for lyr in QgsProject.instance().mapLayers().values()
            if lyr.source() == calls[0]["heat_path"]]
    assert len(heat) == 1 and heat[0].renderer().type() == "singlebandpseudocolor"


@pytest.mark.parametrize("max_side, res", [(0, RES), (1024, RES), (256, 2 * RES)])
def test_max_side_caps_each_block_not_the_layer(provider, shared_data, tmp_path, max_side, res):
    """MAX_SIDE is the longest side a model sees: with TILE_SIZE 512 a cap of 1024 (or none)
    keeps the native grid, 256 halves it (blocks of 256 px on a grid of twice the pixel size)."""
    a, b = sorted(str(p) for p in (shared_data / NAIP).glob("*.tif"))
    out = _run("eolens:change", {"INPUT": a, "INPUT_B": b, "TILE_SIZE": 512, "MAX_SIDE": max_side,
                                 "DEVICE": "cpu", "OUTPUT": str(tmp_path / "c.gpkg"),
                                 "OUTPUT_RASTER": str(tmp_path / "h.tif")})
    with rasterio.open(out["OUTPUT_RASTER"]) as ds, rasterio.open(a) as ref:
        assert ds.res == (res, res) and ds.crs == ref.crs
        assert ds.bounds.left == pytest.approx(ref.bounds.left, abs=RES)
        assert ds.bounds.top == pytest.approx(ref.bounds.top, abs=RES)
