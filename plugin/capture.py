"""Main-thread snapshot of what a capture needs, as plain data the worker can use safely."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

from qgis.core import (QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsProject,
                       QgsRasterLayer, QgsRectangle)

from ..inference.errors import InputError
from ..inference.io.geoimage import GeoImage


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
    image: Optional[GeoImage] = None              # pixels rendered on the main thread (no file)


class NotInViewError(InputError):
    """An area that misses the layer; ``zoom_to`` (a layer or canvas rectangle) is offered."""

    def __init__(self, message: str, zoom_to=None, zoom_label: str = "") -> None:
        super().__init__(message)
        self.zoom_to, self.zoom_label = zoom_to, zoom_label


def is_local_file(layer: QgsRasterLayer) -> bool:
    return layer.providerType() == "gdal" and os.path.isfile(layer.source().split("|")[0])


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
             bands: Optional[tuple[int, ...]] = None, *, rendered: bool = False,
             max_side: int = 1024) -> CaptureSource:
    """Plain-data description of ``layer`` over ``extent`` (default: the whole layer).

    Local files are read natively in the worker; other layers (WMS/XYZ, or ``rendered=True`` for
    what the canvas shows, styles included) are rendered here, on the main thread.
    """
    if layer is None or not layer.isValid():
        raise InputError("Choose a valid raster layer first.")
    check_crs(layer)
    if rendered or layer.providerType() != "gdal":
        return _rendered(layer, extent, extent_crs, max_side)
    path = layer_path(layer)
    bounds, bounds_crs = None, layer.crs().toWkt()
    if extent is not None and not extent.isEmpty():
        crs = extent_crs if extent_crs is not None and extent_crs.isValid() else layer.crs()
        bounds = (extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum())
        bounds_crs = crs.toWkt()
    return CaptureSource(path, layer.crs().toWkt(), bounds, bounds_crs, layer.name(), layer.id(),
                         bands)


def _rendered(layer, extent, extent_crs, max_side: int) -> CaptureSource:
    from .capture_render import render_capture

    crs = extent_crs if extent is not None and extent_crs is not None and extent_crs.isValid() else layer.crs()
    if extent is None or extent.isEmpty():
        extent = layer.extent()
    ground_res = max(extent.width(), extent.height()) / max(1, max_side)
    image = render_capture(layer, extent, crs, ground_res)
    bounds = (extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum())
    return CaptureSource("", image.crs_wkt, bounds, crs.toWkt(), layer.name(), layer.id(), None, image)


def capture_image(source: CaptureSource, max_side: Optional[int]) -> GeoImage:
    """Worker side: the pixels of a snapshot (already rendered, or a native windowed read)."""
    if source.image is not None:
        return source.image
    from ..inference.actions import capture

    return capture(source.path, source.bounds, source.bounds_crs, bands=source.bands, max_side=max_side)


def require_file(source: CaptureSource, what: str) -> str:
    if not source.path:
        raise InputError(f"{what} reads the raster file tile by tile; '{source.name}' is not a local "
                         "raster file (turn off rendered capture, or save the layer as GeoTIFF).")
    return source.path


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
