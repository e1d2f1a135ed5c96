"""Main-thread snapshot of what a capture needs, as plain data the worker can use safely."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

from qgis.core import (QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsProject,
                       QgsRasterLayer, QgsRectangle)

from ..inference.errors import InputError


@dataclass(frozen=True)
class CaptureSource:
    """A raster layer reduced to plain data: file path, CRS, extent of interest, name, date."""

    path: str
    crs_wkt: str                                  # the layer's CRS
    bounds: Optional[tuple[float, float, float, float]]  # area of interest in ``bounds_crs``
    bounds_crs: str                               # WKT of ``bounds`` (the canvas CRS)
    name: str
    layer_id: str
    bands: Optional[tuple[int, ...]] = None


def layer_path(layer: QgsRasterLayer) -> str:
    """The GDAL file behind a layer, or raise if it is not a local file."""
    if layer is None or not layer.isValid():
        raise InputError("Choose a valid raster layer first.")
    if layer.providerType() != "gdal":
        raise InputError(f"Layer '{layer.name()}' is not a local raster file; use rendered capture.")
    path = layer.source().split("|")[0]
    if not os.path.isfile(path):
        raise InputError(f"Layer '{layer.name()}' points to '{path}', which does not exist.")
    return path


def check_crs(layer: QgsRasterLayer) -> None:
    if not layer.crs().isValid():
        raise InputError(f"Layer '{layer.name()}' has no CRS; assign one in Layer Properties ▸ Source.")


def snapshot(layer: QgsRasterLayer, extent: Optional[QgsRectangle] = None,
             extent_crs: Optional[QgsCoordinateReferenceSystem] = None,
             bands: Optional[tuple[int, ...]] = None) -> CaptureSource:
    """Plain-data description of ``layer`` over ``extent`` (default: the whole layer)."""
    path = layer_path(layer)
    check_crs(layer)
    bounds, bounds_crs = None, layer.crs().toWkt()
    if extent is not None and not extent.isEmpty():
        crs = extent_crs if extent_crs is not None and extent_crs.isValid() else layer.crs()
        bounds = (extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum())
        bounds_crs = crs.toWkt()
    return CaptureSource(path, layer.crs().toWkt(), bounds, bounds_crs, layer.name(), layer.id(),
                         bands)


def extent_in_layer_crs(source: CaptureSource, layer_crs: QgsCoordinateReferenceSystem) -> QgsRectangle:
    """The capture bounds reprojected (densified) into the layer CRS, for display and checks."""
    if source.bounds is None:
        raise InputError("No extent was given.")
    rect = QgsRectangle(*source.bounds)
    src = QgsCoordinateReferenceSystem.fromWkt(source.bounds_crs)
    if src == layer_crs:
        return rect
    xform = QgsCoordinateTransform(src, layer_crs, QgsProject.instance())
    return xform.transformBoundingBox(rect)
