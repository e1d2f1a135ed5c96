"""The four workflows driven through the dock's own widgets, in real QGIS, with tiny models.

Where a check needs a known model answer (so that boxes and masks have somewhere to land), the
tiny Florence-2's ``generate`` is made to emit a fixed, real-format ``<loc_>`` string; the rest of
the path (processor, parser, georeferencing, task, layers) is the real one.
"""
import time

import pytest
import rasterio
from qgis.core import QgsProject, QgsRasterLayer, QgsVectorLayer
from shapely import wkt as shapely_wkt

from tests.gui_helpers import add_raster, forbid, naip_in_change_tab, plugin_settings, spy_calls, wait_idle

BOX_ANSWER = "</s><s>tree<loc_100><loc_200><loc_500><loc_600></s>"
POLY_ANSWER = "</s><s><poly><loc_100><loc_100><loc_900><loc_100><loc_900><loc_900><loc_100><loc_900></poly></s>"


def _fixed_answer(monkeypatch, backend, text):
    tok = backend.processor.tokenizer
    ids = tok(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    monkeypatch.setattr(backend.model, "generate", lambda *a, **k: ids)


def _florence(tiny_models, monkeypatch, answer):
    from eolens.inference.models.runtime import load_model

    path = str(tiny_models.path("florence2"))
    _fixed_answer(monkeypatch, load_model(path), answer)   # the runtime caches this backend
    return path


def _role(role):
    from eolens.plugin.layers import find_role

    return find_role(role)


def _whole_layer(plugin, layer):
    plugin.dock.layer_combo.setLayer(layer)
    plugin.dock.area_combo.setCurrentIndex(1)


def test_find_boxes_land_on_the_right_ground(gui, qtbot, tiny_models, sample_dir, monkeypatch, no_network):
    from eolens.inference.io.raster_read import capture_native

    iface, plugin = gui
    model = _florence(tiny_models, monkeypatch, BOX_ANSWER)
    path = sample_dir / "OSBS_029.tif"
    layer = add_raster(path)
    _whole_layer(plugin, layer)
    plugin.dock.find.prompt.setText("trees")
    with plugin_settings(model_detect=model, max_side=400):
        plugin.dock.find.boxes_button.click()
        wait_idle(qtbot, plugin.dock)
    assert iface.errors() == []
    boxes = _role("boxes")
    assert boxes.crs() == layer.crs() and boxes.featureCount() == 1
    assert set(boxes.fields().names()) >= {"label", "score", "prompt", "model"}
    feat = next(boxes.getFeatures())
    image = capture_native(str(path), max_side=400)
    w, h = image.width, image.height
    corners = [image.transform * ((b + 0.5) * s / 1000, (c + 0.5) * t / 1000)
               for b, s, c, t in ((100, w, 200, h), (500, w, 600, h))]
    x0, x1 = sorted(p[0] for p in corners)
    y0, y1 = sorted(p[1] for p in corners)
    assert shapely_wkt.loads(feat.geometry().asWkt(6)).bounds == pytest.approx((x0, y0, x1, y1), abs=1e-3)
    assert feat["label"] == "tree" and feat["prompt"] == "trees"


def test_find_masks_then_export_gpkg_and_shp(gui, qtbot, tiny_models, sample_dir, monkeypatch, tmp_path):
    iface, plugin = gui
    model = _florence(tiny_models, monkeypatch, POLY_ANSWER)
    layer = add_raster(sample_dir / "OSBS_029.tif")
    _whole_layer(plugin, layer)
    plugin.dock.find.prompt.setText("the forest")
    with plugin_settings(model_segment=model, max_side=400):
        plugin.dock.find.masks_button.click()
        wait_idle(qtbot, plugin.dock)
    assert iface.errors() == []
    raster, polys = _role("mask-raster"), _role("mask-polygons")
    assert isinstance(raster, QgsRasterLayer) and raster.crs() == layer.crs()
    assert raster.extent().toString(3) == layer.extent().toString(3)
    with rasterio.open(raster.source()) as ds:
        mask = ds.read(1)
    assert 0.55 < mask.mean() < 0.7            # the 0.1..0.9 square, less nodata-masked pixels
    assert polys.featureCount() >= 1 and polys.crs() == layer.crs()
    for ext in ("gpkg", "shp"):
        out = tmp_path / f"masks.{ext}"
        report = plugin.dock.find.export(str(out), polys)
        assert report is not None
        again = QgsVectorLayer(str(out), "again", "ogr")
        assert again.isValid() and again.featureCount() == polys.featureCount()
        assert again.crs().toWkt() == layer.crs().toWkt() or again.crs().authid() == layer.crs().authid()
    assert plugin.dock.find.export(str(tmp_path / "masks.gpkg"), polys) is None   # never overwrite
    assert any("exists" in e for e in iface.errors())


def test_change_two_dates_gives_heat_and_polygons_on_a_grid(gui, qtbot, shared_data):
    iface, plugin = gui
    a, b = naip_in_change_tab(plugin, shared_data)
    panel = plugin.dock.change
    assert panel.date_a.text() == "2009-08-18" and panel.date_b.text() == "2020-08-31"
    panel.compare_button.click()
    wait_idle(qtbot, plugin.dock)
    assert iface.errors() == []
    heat, polys = _role("change-heat"), _role("change")
    assert heat.crs() == a.crs() and polys.crs() == a.crs()
    assert heat.rasterUnitsPerPixelX() == pytest.approx(a.rasterUnitsPerPixelX())
    inter = a.extent().intersect(b.extent())
    assert heat.extent().width() <= a.extent().width() + 1e-6
    assert abs(heat.extent().xMinimum() - inter.xMinimum()) <= a.rasterUnitsPerPixelX()
    assert polys.featureCount() > 0
    assert "change regions" in panel.view.toPlainText()


def test_change_with_no_overlap_is_a_clear_message(gui, qtbot, sample_dir):
    iface, plugin = gui
    a = add_raster(sample_dir / "rasterio_RGB.byte.tif")
    b = add_raster(sample_dir / "OSBS_029.tif")
    plugin.dock.area_combo.setCurrentIndex(1)
    plugin.dock.change.layer_a.setLayer(a)
    plugin.dock.change.layer_b.setLayer(b)
    plugin.dock.change.compare_button.click()
    wait_idle(qtbot, plugin.dock)
    errors = iface.errors()
    assert len(errors) == 1 and "overlap" in errors[0].lower()
    assert _role("change") is None


def test_search_ranks_tiles_and_zooms(gui, qtbot, tiny_models, sample_dir, no_network):
    iface, plugin = gui
    model = str(tiny_models.path("openclip"))
    layer = add_raster(sample_dir / "rasterio_RGB.byte.tif")
    _whole_layer(plugin, layer)
    panel = plugin.dock.search
    panel.query.setText("a harbour with ships")
    panel.top_k.setValue(5)
    panel.tile.setValue(128)
    with plugin_settings(model_search=model):
        panel.search_button.click()
        wait_idle(qtbot, plugin.dock)
    assert iface.errors() == []
    heat, top = _role("search-heat"), _role("search-top")
    assert heat.crs() == layer.crs() and top.crs() == layer.crs()
    assert top.featureCount() == 5 and panel.ranked.count() == 5
    ranks = [f["rank"] for f in top.getFeatures()]
    scores = [f["score"] for f in sorted(top.getFeatures(), key=lambda f: f["rank"])]
    assert sorted(ranks) == [1, 2, 3, 4, 5] and scores == sorted(scores, reverse=True)
    e, h = layer.extent(), heat.extent()       # the heat map covers the layer, no overhang
    for a, b in ((e.xMinimum(), h.xMinimum()), (e.xMaximum(), h.xMaximum()),
                 (e.yMinimum(), h.yMinimum()), (e.yMaximum(), h.yMaximum())):
        assert a == pytest.approx(b, abs=1e-6 * e.width())
    panel.zoom_to(panel.ranked.item(0))
    best = next(f for f in top.getFeatures() if f["rank"] == 1).geometry().boundingBox()
    assert iface.canvas.extent().contains(best)


def test_backend_exception_is_a_message_and_qgis_keeps_running(gui, qtbot, sample_dir, monkeypatch):
    from eolens.inference import actions

    iface, plugin = gui

    def broken(*args, **kwargs):
        raise RuntimeError("the backend fell over")

    monkeypatch.setattr(actions, "load", broken)
    layer = add_raster(sample_dir / "OSBS_029.tif")
    _whole_layer(plugin, layer)
    plugin.dock.chat.caption_button.click()
    wait_idle(qtbot, plugin.dock)
    errors = iface.errors()
    assert len(errors) == 1 and "the backend fell over" in errors[0]
    assert plugin.dock.task is None and plugin.dock.cancel_button.isEnabled() is False
    assert _role("captions") is None


def test_removing_the_input_layer_cancels_its_task(gui, qtbot, sample_dir, monkeypatch):
    """setDependentLayers: the task ends as cancelled, no partial layer, no error."""
    from eolens.inference import actions

    iface, plugin = gui
    started = []

    def slow_caption(image, model, *, detail, opts, progress, cancel):
        started.append(True)
        while True:            # a long generation that checks cancel per "token"
            time.sleep(0.05)
            cancel.check()

    monkeypatch.setattr(actions, "caption", slow_caption)
    layer = add_raster(sample_dir / "OSBS_029.tif")
    _whole_layer(plugin, layer)
    plugin.dock.chat.caption_button.click()
    qtbot.waitUntil(lambda: bool(started), timeout=30_000)
    QgsProject.instance().removeMapLayer(layer.id())
    wait_idle(qtbot, plugin.dock, timeout=10_000)
    assert plugin.dock.status.text() == "Cancelled."
    assert iface.errors() == [] and _role("captions") is None


@pytest.mark.parametrize("kind", ["truncated", "huge_sparse", "rotated"])
def test_bad_or_unusual_rasters_in_the_dock(gui, qtbot, tmp_path, monkeypatch, kind):
    """A truncated file and a 10^6 x 10^6 header give a message naming the file; a rotated
    raster captions fine and its footprint is the rotated quadrilateral."""
    from eolens.inference import actions
    from tests import georef_fixtures

    iface, plugin = gui
    monkeypatch.setattr(actions, "caption", lambda image, *a, **k: actions.ActionResult(
        text="x", crs_wkt=image.crs_wkt, features=[actions.GeoFeature(image.footprint(), {"caption": "x"})]))
    path = getattr(georef_fixtures, kind)(tmp_path)
    layer = add_raster(path, "bad raster")
    _whole_layer(plugin, layer)
    with plugin_settings(fit_to_model=False):
        plugin.dock.chat.caption_button.click()
        wait_idle(qtbot, plugin.dock)
    errors = iface.errors()
    if kind == "rotated":
        assert errors == []
        geom = next(_role("captions").getFeatures()).geometry()
        assert len(geom.asMultiPolygon()[0][0]) == 5                 # a quadrilateral, closed
        assert geom.area() < 0.9 * geom.boundingBox().area()      # not an axis-aligned box
    else:
        assert len(errors) == 1 and path.name in errors[0], errors


def test_out_of_memory_is_a_plain_message(gui, qtbot, sample_dir, monkeypatch):
    from eolens.inference import actions

    iface, plugin = gui

    def oom(*args, **kwargs):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(actions, "load", oom)
    _whole_layer(plugin, add_raster(sample_dir / "OSBS_029.tif"))
    plugin.dock.chat.caption_button.click()
    wait_idle(qtbot, plugin.dock)
    errors = iface.errors()
    assert len(errors) == 1 and "memory" in errors[0].lower() and "CPU" in errors[0]


def test_clicked_points_segment_with_sam_and_reuse_the_encoding(gui, qtbot, tiny_models, sample_dir,
                                                                no_network):
    from qgis.core import QgsPointXY

    iface, plugin = gui
    layer = add_raster(sample_dir / "OSBS_029.tif")
    iface.canvas.setDestinationCrs(layer.crs())
    iface.canvas.setExtent(layer.extent())
    _whole_layer(plugin, layer)
    find = plugin.dock.find
    c = layer.extent().center()
    find.add_point(QgsPointXY(c.x(), c.y()), include=True)
    find.add_point(QgsPointXY(c.x() + 5, c.y() + 5), include=False)
    assert find.labels == [1, 0] and len(find.markers) == 2
    with plugin_settings(model_segment_prompt=str(tiny_models.path("sam2")), max_side=128):
        find.segment_button.click()
        wait_idle(qtbot, plugin.dock)
        first_session = find.session
        find.segment_button.click()            # same capture, same model: no new encoding
        wait_idle(qtbot, plugin.dock)
    assert iface.errors() == []
    assert first_session is not None and find.session is first_session
    raster = _role("mask-raster")
    assert raster.crs() == layer.crs() and raster.extent().toString(3) == layer.extent().toString(3)
    find.clear_prompts()
    assert find.points == [] and find.markers == []


def test_prompting_the_same_view_twice_encodes_it_once(gui, qtbot, tiny_models, sample_dir, monkeypatch):
    from eolens.inference.models.runtime import load_model

    iface, plugin = gui
    model = _florence(tiny_models, monkeypatch, BOX_ANSWER)
    backend = load_model(model)
    calls = []
    hook = backend.model.model.vision_tower.register_forward_hook(lambda *a: calls.append(1))
    layer = add_raster(sample_dir / "OSBS_029.tif")
    _whole_layer(plugin, layer)
    iface.canvas.setDestinationCrs(layer.crs())
    e = layer.extent()
    iface.canvas.setExtent(type(e)(e.xMinimum(), e.yMinimum(), e.center().x(), e.center().y()))
    try:
        with plugin_settings(model_detect=model, model_segment=model, max_side=256):
            for prompt, button in (("trees", "boxes_button"), ("roads", "boxes_button"),
                                   ("the forest", "masks_button")):
                plugin.dock.find.prompt.setText(prompt)
                getattr(plugin.dock.find, button).click()
                wait_idle(qtbot, plugin.dock)
            assert len(calls) == 1
            plugin.dock.find.tiled.setChecked(False)
            plugin.dock.area_combo.setCurrentIndex(0)       # another capture: encoded anew
            plugin.dock.find.boxes_button.click()
            wait_idle(qtbot, plugin.dock)
    finally:
        hook.remove()
    assert iface.errors() == [] and len(calls) == 2


def test_result_rasters_go_beside_a_saved_project(gui, qtbot, shared_data, tmp_path):
    """A saved project keeps its result rasters in <project folder>/eolens-results."""
    iface, plugin = gui
    QgsProject.instance().setFileName(str(tmp_path / "analysis.qgz"))
    try:
        pair = shared_data / "change" / "naip_nd_2009_2020"
        a = add_raster(pair / "m_4709963_se_14_1_20090818.tif")
        b = add_raster(pair / "m_4709963_se_14_1_20200831.tif")
        plugin.dock.area_combo.setCurrentIndex(1)
        plugin.dock.change.layer_a.setLayer(a)
        plugin.dock.change.layer_b.setLayer(b)
        for _ in range(2):                      # a second run never overwrites the first
            plugin.dock.change.compare_button.click()
            wait_idle(qtbot, plugin.dock)
    finally:
        QgsProject.instance().setFileName("")
    written = sorted((tmp_path / "eolens-results").glob("change_heat-*.tif"))
    assert len(written) == 2 and iface.errors() == [], (iface.errors(), _role("change-heat").source())
    assert _role("change-heat").source() in {str(p) for p in written}


def test_whole_layer_masks_tile_by_tile_at_native_resolution(gui, qtbot, tiny_models, sample_dir,
                                                            monkeypatch):
    iface, plugin = gui
    model = _florence(tiny_models, monkeypatch, POLY_ANSWER)
    layer = add_raster(sample_dir / "OSBS_029.tif")
    _whole_layer(plugin, layer)
    plugin.dock.find.tiled.setChecked(True)
    plugin.dock.find.prompt.setText("crowns")
    with plugin_settings(model_segment=model, max_side=64):       # tiling ignores fit-to-model
        plugin.dock.find.masks_button.click()
        wait_idle(qtbot, plugin.dock)
    assert iface.errors() == []
    raster = _role("mask-raster")
    assert raster.width() == layer.width() and raster.height() == layer.height()
    assert raster.extent().toString(6) == layer.extent().toString(6)
    assert _role("mask-polygons").featureCount() >= 1


def test_whole_layer_change_in_the_dock_is_streamed_block_by_block(gui, qtbot, shared_data,
                                                                     monkeypatch):
    """Area "Whole layer": the dock runs whole_layer.change_layer (never the in-memory pair) and
    its heat GeoTIFF, written block by block, is the heat layer it adds."""
    from eolens.inference import actions, whole_layer

    calls = spy_calls(monkeypatch, whole_layer, "change_layer")
    forbid(monkeypatch, actions, "change", "the whole-layer change read the pair into memory")
    iface, plugin = gui
    a, b = naip_in_change_tab(plugin, shared_data)
    plugin.dock.change.compare_button.click()
    wait_idle(qtbot, plugin.dock)
    assert iface.errors() == [] and len(calls) == 1
    heat = _role("change-heat")
    assert heat.source() == calls[0]["heat_path"]
    with rasterio.open(heat.source()) as ds:
        assert ds.profile["tiled"] and ds.dtypes[0] == "float32"
        assert ds.res[0] == pytest.approx(a.rasterUnitsPerPixelX())   # A's grid, not decimated
    assert heat.renderer().type() == "singlebandpseudocolor"     # styled as heat, not as a mask
    assert _role("change").featureCount() > 0
