"""The first vertical slice end to end: caption the view in the dock with the tiny Florence-2."""
import time

import pytest
import rasterio
from qgis.core import (QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsProject,
                       QgsRectangle, QgsSettings)
from shapely import wkt as shapely_wkt

from tests.gui_helpers import add_raster, plugin_settings, wait_idle


def _caption_layer():
    from eolens.plugin.layers import find_role

    return find_role("captions")


def _set_view(iface, layer, project_crs: str, frac=(0.25, 0.25, 0.6, 0.7)):
    """Zoom the canvas (in ``project_crs``) onto a part of ``layer``; return the extent used."""
    QgsProject.instance().setCrs(QgsCoordinateReferenceSystem(project_crs))
    iface.canvas.setDestinationCrs(QgsCoordinateReferenceSystem(project_crs))
    e = layer.extent()
    sub = QgsRectangle(e.xMinimum() + frac[0] * e.width(), e.yMinimum() + frac[1] * e.height(),
                       e.xMinimum() + frac[2] * e.width(), e.yMinimum() + frac[3] * e.height())
    xform = QgsCoordinateTransform(layer.crs(), iface.canvas.mapSettings().destinationCrs(),
                                   QgsProject.instance())
    iface.canvas.setExtent(xform.transformBoundingBox(sub))
    iface.canvas.refresh()
    return iface.canvas.extent()


@pytest.mark.parametrize("project_crs", ["EPSG:32618", "EPSG:3857"])
def test_caption_view_adds_a_footprint_on_the_captured_extent(gui, qtbot, tiny_models, sample_dir,
                                                              project_crs, no_network):
    from eolens.inference.io.raster_read import capture_native

    iface, plugin = gui
    florence = str(tiny_models.path("florence2"))
    layer = add_raster(sample_dir / "rasterio_RGB.byte.tif")
    view = _set_view(iface, layer, project_crs)
    dock = plugin.dock
    dock.layer_combo.setLayer(layer)
    with plugin_settings(model_caption=florence, fit_to_model=True, max_side=256):
        dock.chat.caption_button.click()
        wait_idle(qtbot, dock)
    assert iface.errors() == []
    log = _caption_layer()
    assert log is not None and log.featureCount() == 1
    assert log.crs() == layer.crs()                      # features live in the layer's CRS
    feat = next(log.getFeatures())
    assert feat["model"] == florence and feat["caption"] == dock.chat.view.toPlainText().split(": ", 1)[1]
    # the footprint is exactly what capture_native reads for the same extent and CRS
    crs_wkt = iface.canvas.mapSettings().destinationCrs().toWkt()
    bounds = (view.xMinimum(), view.yMinimum(), view.xMaximum(), view.yMaximum())
    expected = capture_native(str(sample_dir / "rasterio_RGB.byte.tif"), bounds, crs_wkt, max_side=256)
    got = shapely_wkt.loads(feat.geometry().asWkt(9))
    assert got.symmetric_difference(expected.footprint()).area < 1e-6 * expected.footprint().area
    # ... and it covers the view reprojected into the layer CRS, to within one source pixel
    view_in_layer = QgsCoordinateTransform(iface.canvas.mapSettings().destinationCrs(), layer.crs(),
                                           QgsProject.instance()).transformBoundingBox(view)
    view_in_layer = view_in_layer.intersect(layer.extent())  # the capture stops at the raster edge
    minx, miny, maxx, maxy = got.bounds
    px = layer.rasterUnitsPerPixelX()
    assert abs(minx - view_in_layer.xMinimum()) <= px and abs(maxx - view_in_layer.xMaximum()) <= px
    assert abs(miny - view_in_layer.yMinimum()) <= px and abs(maxy - view_in_layer.yMaximum()) <= px


def test_missing_model_folder_is_a_message_not_a_traceback(gui, qtbot, sample_dir, tmp_path):
    iface, plugin = gui
    layer = add_raster(sample_dir / "rasterio_RGB.byte.tif")
    _set_view(iface, layer, "EPSG:32618")
    plugin.dock.layer_combo.setLayer(layer)
    missing = tmp_path / "no-such-model"
    with plugin_settings(model_caption=str(missing), offline=True):
        plugin.dock.chat.caption_button.click()
        wait_idle(qtbot, plugin.dock)
    errors = iface.errors()
    assert len(errors) == 1 and "no-such-model" in errors[0]
    assert "Traceback" not in errors[0]
    assert _caption_layer() is None


def _no_crs_copy(src, dst):
    with rasterio.open(src) as ds:
        profile = ds.profile
        data = ds.read()
    profile.pop("crs", None)
    profile["transform"] = rasterio.Affine.identity()
    with rasterio.open(dst, "w", **profile) as out:
        out.write(data)
    return dst


@pytest.mark.parametrize("behaviour", ["NoAction", "UseProjectCrs"])
def test_raster_without_crs_is_a_clear_error(gui, qtbot, sample_dir, tmp_path, behaviour):
    iface, plugin = gui
    settings = QgsSettings()
    old = settings.value("Projections/unknownCrsBehavior")
    settings.setValue("Projections/unknownCrsBehavior", behaviour)
    try:
        layer = add_raster(_no_crs_copy(sample_dir / "OSBS_029.tif", tmp_path / "nocrs.tif"))
    finally:
        settings.setValue("Projections/unknownCrsBehavior", old)
    plugin.dock.layer_combo.setLayer(layer)
    plugin.dock.area_combo.setCurrentIndex(1)  # whole layer
    with plugin_settings(model_caption=str(tmp_path / "unused")):
        plugin.dock.chat.caption_button.click()
        wait_idle(qtbot, plugin.dock)
    errors = iface.errors()
    assert len(errors) == 1 and "no CRS" in errors[0], errors
    assert "nocrs" in errors[0]


def test_cancel_stops_a_caption_within_two_seconds(gui, qtbot, tiny_models, sample_dir, monkeypatch):
    """A slow generation (each token waits) is cancelled through the dock's Cancel button."""
    from eolens.inference import actions

    iface, plugin = gui
    florence = str(tiny_models.path("florence2"))
    real_load = actions.load
    tokens = []

    def slow_load(model, task, opts, progress=None, cancel=None):
        backend = real_load(model, task, opts, progress, cancel)
        real_run, real_kwargs = backend.run, backend.generate_kwargs

        def run(request, progress=None, cancel=None):
            def slow(p):  # every generated token takes 0.2 s
                tokens.append(p)
                time.sleep(0.2)
                if progress:
                    progress(p)
            return real_run(request, slow, cancel)

        monkeypatch.setattr(backend, "run", run)
        monkeypatch.setattr(backend, "generate_kwargs", lambda request: {
            **real_kwargs(request), "max_new_tokens": 1000, "min_new_tokens": 1000, "num_beams": 1})
        return backend

    monkeypatch.setattr(actions, "load", slow_load)
    layer = add_raster(sample_dir / "rasterio_RGB.byte.tif")
    _set_view(iface, layer, "EPSG:32618")
    plugin.dock.layer_combo.setLayer(layer)
    with plugin_settings(model_caption=florence, max_side=128):
        plugin.dock.chat.caption_button.click()
        qtbot.waitUntil(lambda: len(tokens) >= 3, timeout=60_000)
        t0 = time.monotonic()
        plugin.dock.cancel_button.click()
        wait_idle(qtbot, plugin.dock, timeout=10_000)
        elapsed = time.monotonic() - t0
    assert elapsed < 2.0
    assert plugin.dock.status.text() == "Cancelled."
    assert _caption_layer() is None
    assert iface.errors() == []


def test_rendered_capture_captions_what_the_map_shows(gui, qtbot, tiny_models, sample_dir, no_network):
    """Rendered mode: the pixels come from the canvas renderer, in the canvas CRS."""
    iface, plugin = gui
    florence = str(tiny_models.path("florence2"))
    layer = add_raster(sample_dir / "rasterio_RGB.byte.tif")
    view = _set_view(iface, layer, "EPSG:3857")
    plugin.dock.layer_combo.setLayer(layer)
    with plugin_settings(model_caption=florence, rendered_capture=True, max_side=300):
        plugin.dock.chat.caption_button.click()
        wait_idle(qtbot, plugin.dock)
    assert iface.errors() == []
    log = _caption_layer()
    assert log.crs().authid() == "EPSG:3857"               # rendered in the canvas CRS
    got = shapely_wkt.loads(next(log.getFeatures()).geometry().asWkt(6))
    res = max(view.width(), view.height()) / 300             # snapped to whole output pixels
    minx, miny, maxx, maxy = got.bounds
    assert minx == pytest.approx(view.xMinimum(), abs=1e-3) and maxy == pytest.approx(view.yMaximum(), abs=1e-3)
    assert abs(maxx - view.xMaximum()) <= res and abs(miny - view.yMinimum()) <= res


def test_search_needs_a_file_when_capture_is_rendered(gui, qtbot, sample_dir):
    iface, plugin = gui
    layer = add_raster(sample_dir / "rasterio_RGB.byte.tif")
    _set_view(iface, layer, "EPSG:32618")
    plugin.dock.layer_combo.setLayer(layer)
    plugin.dock.search.query.setText("ships")
    with plugin_settings(rendered_capture=True, model_search="unused"):
        plugin.dock.search.search_button.click()
        wait_idle(qtbot, plugin.dock)
    errors = iface.errors()
    assert len(errors) == 1 and "not a local raster file" in errors[0]


def test_band_choice_reaches_the_capture(gui, qtbot, shared_data, monkeypatch):
    from eolens.inference import actions

    iface, plugin = gui
    seen = []
    monkeypatch.setattr(actions, "caption", lambda image, *a, **k: seen.append(image) or
                        actions.ActionResult(text="x", crs_wkt=image.crs_wkt))
    layer = add_raster(shared_data / "geotiff" / "landsat8_LC80200392015216LGN00_B1-B7.tif")
    plugin.dock.layer_combo.setLayer(layer)
    plugin.dock.area_combo.setCurrentIndex(1)
    plugin.dock.bands_edit.setText("7, 5, 3")
    plugin.dock.chat.caption_button.click()
    wait_idle(qtbot, plugin.dock)
    assert iface.errors() == [] and list(seen[0].meta["bands"]) == [7, 5, 3]
    plugin.dock.bands_edit.setText("7,5")
    plugin.dock.chat.caption_button.click()
    wait_idle(qtbot, plugin.dock)
    assert len(iface.errors()) == 1 and "three bands" in iface.errors()[0]
