"""Search tab, index mode: text or an example region against an archive index (eolens:index)
-> the top-K tiles of every indexed raster, as a footprint layer and a ranked list."""
from __future__ import annotations

import os
from typing import Callable, Optional

from qgis.core import (QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsGeometry,
                       QgsProject, QgsRasterLayer, QgsRectangle)
from qgis.gui import QgsFileWidget
from qgis.PyQt.QtCore import QCoreApplication, Qt
from qgis.PyQt.QtWidgets import QListWidgetItem

from .. import layers

ROLE_GEOM = Qt.ItemDataRole.UserRole + 3     # the tile footprint, WKT in EPSG:4326
ROLE_SOURCE = Qt.ItemDataRole.UserRole + 4   # the raster file the tile lies in
ROLE_WINDOW = Qt.ItemDataRole.UserRole + 5   # (col_off, row_off, width, height) in that raster
WGS84 = "EPSG:4326"


def tr(text: str) -> str:
    return QCoreApplication.translate("SearchPanel", text)


def index_widget(parent) -> QgsFileWidget:
    """The "Index" chooser: an existing GeoPackage built by eolens:index."""
    widget = QgsFileWidget(parent)
    widget.setStorageMode(QgsFileWidget.StorageMode.GetFile)
    widget.setFilter(tr("Archive index (*.gpkg)"))
    widget.setDialogTitle(tr("Choose an archive index"))
    widget.lineEdit().setPlaceholderText(tr("No index: search the chosen layer"))
    widget.setToolTip(tr("An index file built with Index rasters… (eolens:index); with one chosen, "
                         "the search covers every raster in it"))
    return widget


def example_from_item(item: Optional[QListWidgetItem]) -> Optional[dict]:
    """"More like this" for a ranked archive tile: its raster and pixel window (plain data)."""
    if item is None or not item.data(ROLE_SOURCE):
        return None
    return {"path": item.data(ROLE_SOURCE), "window": tuple(item.data(ROLE_WINDOW))}


def example_from_source(src) -> dict:
    """"More like this" for the dock's layer over its area (a CaptureSource)."""
    return {"path": src.path or src.name, "image": src.image, "bounds": src.bounds,
            "bounds_crs": src.bounds_crs if src.bounds else None, "bands": src.bands}


def _window_bounds(path: str, window: tuple) -> tuple:
    """Worker side: a pixel window of ``path`` as bounds in the raster's own CRS."""
    from ...inference.io.raster_read import open_info

    c, r, w, h = window
    t = open_info(path).transform
    (x0, y0), (x1, y1) = t * (c, r), t * (c + w, r + h)
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def search_work(index_path: str, prompt: str, example: Optional[dict], top_k: int,
                device: str, offline: bool) -> Callable:
    """The task body: plain data in, an ActionResult of EPSG:4326 footprints out."""
    def work(progress, cancel):
        from ...inference.archive.query import search_index

        ex = dict(example) if example else None
        if ex and "window" in ex:
            ex["bounds"], ex["bounds_crs"] = _window_bounds(ex["path"], ex.pop("window")), None
        return search_index(index_path, prompt=prompt, example=ex, top_k=top_k, device=device,
                            offline=offline, progress=progress, cancel=cancel)
    return work


def hit_item(feature, rank_role) -> QListWidgetItem:
    """A ranked-list row: rank, file name and cosine score of one archive tile."""
    p = feature.properties
    item = QListWidgetItem(tr("#{}  {}  score {:.3f}").format(
        p["rank"], os.path.basename(p["source"]), p["score"]))
    item.setToolTip(tr("{} (tile at column {}, row {}); cosine similarity {:.4f}").format(
        p["source"], p["col_off"], p["row_off"], p["score"]))
    item.setData(rank_role, p["rank"])
    item.setData(ROLE_GEOM, feature.geometry.wkt)
    item.setData(ROLE_SOURCE, p["source"])
    item.setData(ROLE_WINDOW, [p["col_off"], p["row_off"], p["width"], p["height"]])
    return item


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def open_raster(path: str) -> Optional[QgsRasterLayer]:
    """The project's layer of the file ``path``; added to the project first when missing."""
    for layer in QgsProject.instance().mapLayers().values():
        if isinstance(layer, QgsRasterLayer) and not layers.is_result(layer) \
                and _same_file(layer.source().split("|")[0], path):
            return layer
    if not os.path.isfile(path):
        return None
    layer = QgsRasterLayer(path, os.path.splitext(os.path.basename(path))[0], "gdal")
    if not layer.isValid():
        return None
    QgsProject.instance().addMapLayer(layer)
    return layer


def tile_rect(item: QListWidgetItem, canvas) -> QgsRectangle:
    """The tile's footprint as a rectangle in the canvas CRS."""
    geom = QgsGeometry.fromWkt(item.data(ROLE_GEOM))
    xform = QgsCoordinateTransform(QgsCoordinateReferenceSystem(WGS84), canvas.mapSettings().destinationCrs(),
                                   QgsProject.instance())
    geom.transform(xform)
    return geom.boundingBox()
