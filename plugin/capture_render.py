"""Rendered capture: what QGIS draws for a layer (WMS/XYZ, styled, any provider) as a GeoImage.

Call on the main thread. The output size is snapped to whole pixels of ``ground_res`` and the
extent adjusted to match, so the north-up transform is exact for the pixels returned.
"""
from __future__ import annotations

import numpy as np
from affine import Affine
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsMapLayer,
    QgsMapRendererCustomPainterJob,
    QgsMapSettings,
    QgsProject,
    QgsRectangle,
)
from qgis.PyQt.QtCore import QSize, Qt
from qgis.PyQt.QtGui import QColor, QImage, QPainter

from ..inference.io.dates import acquisition_date
from ..inference.errors import InputError, NoDataError, TooLargeError
from ..inference.io.geoimage import GeoImage
from ..inference.io.raster_read import DEFAULT_BUDGET


def render_size(extent: QgsRectangle, ground_res: float) -> tuple[int, int]:
    """(width, height) in pixels of ``extent`` at ``ground_res`` map units per pixel."""
    if not ground_res or ground_res <= 0 or extent.isEmpty():
        raise InputError("Rendered capture needs a non-empty extent and a positive ground resolution.")
    return max(1, round(extent.width() / ground_res)), max(1, round(extent.height() / ground_res))


def map_settings(layer: QgsMapLayer, extent: QgsRectangle, crs: QgsCoordinateReferenceSystem,
                 size: tuple[int, int]) -> QgsMapSettings:
    ms = QgsMapSettings()
    ms.setLayers([layer])
    ms.setDestinationCrs(crs)
    ms.setTransformContext(QgsProject.instance().transformContext())
    ms.setOutputSize(QSize(*size))
    ms.setOutputDpi(96)
    ms.setBackgroundColor(QColor(Qt.GlobalColor.transparent))
    ms.setFlag(QgsMapSettings.Flag.Antialiasing, False)  # no blended edges in the valid mask
    ms.setExtent(extent)
    return ms


def image_to_rgba(img: QImage) -> np.ndarray:
    """(H, W, 4) uint8 copy of a QImage, un-premultiplied."""
    img = img.convertToFormat(QImage.Format.Format_RGBA8888)
    h, w = img.height(), img.width()
    ptr = img.constBits()
    ptr.setsize(img.bytesPerLine() * h)
    rows = np.frombuffer(ptr, np.uint8).reshape(h, img.bytesPerLine())
    return rows[:, : w * 4].reshape(h, w, 4).copy()


def _render(ms: QgsMapSettings) -> QImage:
    size = ms.outputSize()
    img = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(Qt.GlobalColor.transparent)
    painter = QPainter(img)
    try:
        job = QgsMapRendererCustomPainterJob(ms, painter)
        job.renderSynchronously()  # this thread, no event loop: safe inside a Processing run
    finally:
        painter.end()
    return img


def render_capture(layer: QgsMapLayer, extent: QgsRectangle, crs: QgsCoordinateReferenceSystem,
                   ground_res: float, *, budget_bytes: int = DEFAULT_BUDGET) -> GeoImage:
    """Render ``layer`` over ``extent`` (in ``crs``) at ``ground_res`` into a GeoImage.

    ``valid`` is where the render is not transparent (nodata, outside the layer).
    """
    w, h = render_size(extent, ground_res)
    if w * h * 8 > budget_bytes:
        raise TooLargeError(f"Rendering '{layer.name()}' at {ground_res:g} per pixel needs {w} x {h} "
                            "pixels, over the memory budget; use a coarser resolution.")
    snapped = QgsRectangle(extent.xMinimum(), extent.yMaximum() - h * ground_res,
                           extent.xMinimum() + w * ground_res, extent.yMaximum())
    ms = map_settings(layer, snapped, crs, (w, h))
    vis = ms.visibleExtent()  # what QGIS really draws (equals ``snapped``: aspect ratios match)
    transform = Affine(vis.width() / w, 0.0, vis.xMinimum(), 0.0, -vis.height() / h, vis.yMaximum())
    rgba = image_to_rgba(_render(ms))
    valid = rgba[..., 3] > 0
    if not valid.any():
        raise NoDataError(f"Layer '{layer.name()}' draws nothing in this extent: nothing to analyse here.")
    rgb = np.where(valid[..., None], rgba[..., :3], 0).astype(np.uint8)
    source = layer.source().split("|")[0]
    return GeoImage(rgb=rgb, transform=transform,
                    crs_wkt=crs.toWkt(QgsCoordinateReferenceSystem.WktVariant.WKT_PREFERRED_GDAL),
                    valid=valid, date=acquisition_date(source, layer.name()), source=layer.id(),
                    meta={"mode": "rendered", "ground_res": ground_res, "layer_name": layer.name()})
