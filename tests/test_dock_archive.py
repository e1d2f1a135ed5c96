"""The Search tab's index mode, driven through the dock's widgets: real rasters indexed with a tiny
CLIP, text and "more like this" searches across the archive, and a click that opens the tile's
raster and zooms to the tile. Expected hits come from inference.archive.query run directly."""
from __future__ import annotations

import os
import shutil

import pytest
from qgis.core import (QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsGeometry, QgsProject,
                       QgsRasterLayer, QgsRectangle)

from eolens.inference.archive import query as iq
from eolens.inference.archive.build import IndexSettings, build_index, collect_rasters
from tests.gui_helpers import add_raster, plugin_settings, wait_idle

SOURCES = {"bahamas.tif": "geotiff/rasterio_RGB.byte.tif",
           "naip_2009.tif": "change/naip_nd_2009_2020/m_4709963_se_14_1_20090818.tif"}
K = 6


@pytest.fixture
def indexed(tmp_path, shared_data, tiny_models):
    root = tmp_path / "archive"
    root.mkdir()
    for name, src in SOURCES.items():
        shutil.copy(shared_data / src, root / name)
    path = str(tmp_path / "archive.gpkg")
    model = str(tiny_models.path("openclip"))
    report = build_index(path, collect_rasters([str(root)]),
                         IndexSettings(model, tile=224, overlap=0, device="cpu"))
    assert not report.failed and report.tiles_total > K
    return path, root


def _search(plugin, qtbot, button):
    with plugin_settings(device="cpu"):
        button.click()
        wait_idle(qtbot, plugin.dock)


def _search_index(plugin, qtbot, path: str, query: str):
    """Search tab: the archive ``path``, ``query``, top K, *Search the index*; the panel."""
    panel = plugin.dock.search
    panel.index_file.setFilePath(path)
    panel.query.setText(query)
    panel.top_k.setValue(K)
    _search(plugin, qtbot, panel.search_button)
    return panel


def _footprints(panel):
    layer = panel.footprints
    assert layer is not None and layer.customProperty("eolens/role") == "search-archive"
    return sorted(layer.getFeatures(), key=lambda f: f["rank"])


def _canvas_rect(iface, geom_4326: QgsGeometry) -> QgsRectangle:
    geom = QgsGeometry(geom_4326)
    geom.transform(QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:4326"),
                                          iface.canvas.mapSettings().destinationCrs(),
                                          QgsProject.instance()))
    return geom.boundingBox()


def test_choosing_an_index_turns_the_button_into_search_the_index(gui, indexed):
    _, plugin = gui
    panel = plugin.dock.search
    assert panel.search_button.text() == "Search the layer" and panel.like_button.isHidden()
    panel.index_file.setFilePath(indexed[0])
    assert panel.search_button.text() == "Search the index" and not panel.like_button.isHidden()
    panel.index_file.setFilePath("")
    assert panel.search_button.text() == "Search the layer"


def test_text_search_lists_the_archive_top_k_and_a_click_opens_and_zooms(gui, qtbot, indexed, no_network):
    iface, plugin = gui
    path, root = indexed
    panel = _search_index(plugin, qtbot, path, "a harbour with ships")
    assert iface.errors() == []
    expected = iq.search_text(path, "a harbour with ships", K, device="cpu")
    feats = _footprints(panel)
    assert len(feats) == K and panel.ranked.count() == K
    assert [f["source"] for f in feats] == [h.source for h in expected]
    assert [f["score"] for f in feats] == pytest.approx([h.score for h in expected], abs=1e-5)
    assert panel.footprints.crs().authid() == "EPSG:4326"
    for i, hit in enumerate(expected):
        text = panel.ranked.item(i).text()
        assert os.path.basename(hit.source) in text and f"{hit.score:.3f}" in text
    # a tile of a raster that is not in the project yet: it opens, the map zooms to the tile
    pick = next(i for i, h in enumerate(expected) if "naip" in h.source)
    assert not any(isinstance(lyr, QgsRasterLayer) for lyr in QgsProject.instance().mapLayers().values())
    item = panel.ranked.item(pick)
    panel.ranked.setCurrentItem(item)
    panel.ranked.itemClicked.emit(item)
    opened = [lyr for lyr in QgsProject.instance().mapLayers().values() if isinstance(lyr, QgsRasterLayer)]
    assert [os.path.realpath(lyr.source()) for lyr in opened] == [os.path.realpath(expected[pick].source)]
    tile = _canvas_rect(iface, QgsGeometry.fromWkt(expected[pick].geometry.wkt))
    view = iface.canvas.extent()
    assert view.contains(tile) and view.area() < 6 * tile.area()
    assert [f["rank"] for f in panel.footprints.selectedFeatures()] == [expected[pick].rank]
    # clicking another tile of the same raster does not open it twice
    other = next(i for i, h in enumerate(expected) if h.source == expected[pick].source and i != pick) \
        if sum(h.source == expected[pick].source for h in expected) > 1 else pick
    panel.ranked.itemClicked.emit(panel.ranked.item(other))
    assert len([lyr for lyr in QgsProject.instance().mapLayers().values()
                if isinstance(lyr, QgsRasterLayer)]) == 1


def test_more_like_this_for_a_ranked_tile_finds_that_tile_first(gui, qtbot, indexed, no_network):
    iface, plugin = gui
    path, _ = indexed
    panel = _search_index(plugin, qtbot, path, "farmland")
    first = _footprints(panel)
    seed = first[2]                      # a tile that is not the text query's best
    panel.ranked.setCurrentItem(panel.ranked.item(2))
    _search(plugin, qtbot, panel.like_button)
    assert iface.errors() == []
    feats = _footprints(panel)
    assert len(feats) == K
    # the tile itself is its own best match (cosine 1 against its stored vector)
    assert (feats[0]["source"], feats[0]["col_off"], feats[0]["row_off"]) == \
        (seed["source"], seed["col_off"], seed["row_off"])
    assert feats[0]["score"] == pytest.approx(1.0, abs=1e-3)
    assert [f["score"] for f in feats] == sorted((f["score"] for f in feats), reverse=True)


def test_more_like_this_for_a_drawn_rectangle_on_a_layer(gui, qtbot, indexed, no_network):
    iface, plugin = gui
    path, root = indexed
    layer = add_raster(root / "bahamas.tif")
    plugin.dock.layer_combo.setLayer(layer)
    iface.canvas.setDestinationCrs(layer.crs())
    panel = plugin.dock.search
    panel.index_file.setFilePath(path)
    panel.top_k.setValue(K)
    e = layer.extent()                 # pixels 224..448 x 224..448 of the raster: one indexed tile
    px = e.width() / layer.width()
    rect = QgsRectangle(e.xMinimum() + 224 * px, e.yMaximum() - 448 * px,
                        e.xMinimum() + 448 * px, e.yMaximum() - 224 * px)
    plugin.dock.set_drawn(rect)
    panel.ranked.clearSelection()
    _search(plugin, qtbot, panel.like_button)
    assert iface.errors() == []
    feats = _footprints(panel)
    expected = iq.search_example(path, str(root / "bahamas.tif"), (rect.xMinimum(), rect.yMinimum(),
                                 rect.xMaximum(), rect.yMaximum()), None, K, device="cpu")
    assert [(f["source"], f["col_off"], f["row_off"]) for f in feats] == \
        [(h.source, h.col_off, h.row_off) for h in expected]
    assert (feats[0]["col_off"], feats[0]["row_off"]) == (224, 224)
    assert feats[0]["source"] == str(root / "bahamas.tif")


def test_a_missing_index_is_a_plain_message(gui, qtbot, tmp_path):
    iface, plugin = gui
    panel = plugin.dock.search
    panel.index_file.setFilePath(str(tmp_path / "nowhere.gpkg"))
    panel.query.setText("ships")
    panel.search_button.click()
    assert plugin.dock.task is None
    assert any("nowhere.gpkg" in e for e in iface.errors())
