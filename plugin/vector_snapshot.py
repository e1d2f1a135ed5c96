"""Main-thread copy of vector features as plain data (fid, WKB, attributes) for a worker."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional

from qgis.core import (QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsFeatureRequest,
                       QgsProject, QgsRectangle, QgsWkbTypes)
from qgis.PyQt.QtCore import QDate, QDateTime, QTime, Qt, QVariant

from ..inference.features import FeatureIn


@dataclass
class VectorSnapshot:
    features: list[FeatureIn]
    crs_wkt: str                 # the CRS of the WKB
    name: str


def _value(v):
    """A plain Python value: NULL -> None, dates -> ISO text, numbers and text as they are."""
    if isinstance(v, QVariant):
        v = None if v.isNull() else v.value()
    if isinstance(v, (QDateTime, QDate, QTime)):
        return v.toString(Qt.DateFormat.ISODate) if v.isValid() else None
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return v.item() if hasattr(v, "item") else str(v)


def iter_features(source, request: Optional[QgsFeatureRequest] = None) -> Iterator[FeatureIn]:
    """The features of ``source`` as plain data, one at a time (never all held at once)."""
    names = source.fields().names()
    for feat in source.getFeatures(request or QgsFeatureRequest()):
        geom = feat.geometry()
        wkb = bytes(geom.asWkb()) if geom is not None and not geom.isNull() else None
        yield FeatureIn(int(feat.id()), wkb, {n: _value(feat[n]) for n in names})


_FAMILIES = ("Point", "LineString", "Polygon")
_KINDS = {"int": "int", "uint": "int", "qlonglong": "int", "qulonglong": "int",
          "double": "real", "bool": "bool"}


def geometry_families(source, request: Optional[QgsFeatureRequest] = None) -> set[str]:
    """The geometry families (Point, LineString, Polygon) of ``source``: its declared type, or
    one pass over the geometries alone when the layer mixes types."""
    declared = QgsWkbTypes.displayString(QgsWkbTypes.singleType(QgsWkbTypes.flatType(
        source.wkbType())))
    if declared in _FAMILIES:
        return {declared}
    req = QgsFeatureRequest(request) if request is not None else QgsFeatureRequest()
    req.setNoAttributes()
    families = set()
    for feat in source.getFeatures(req):
        geom = feat.geometry()
        if geom is not None and not geom.isNull() and not geom.isEmpty():
            families.add(QgsWkbTypes.displayString(QgsWkbTypes.singleType(QgsWkbTypes.flatType(
                geom.wkbType()))))
    return families


def field_kinds(source) -> list[tuple[str, str]]:
    """(name, kind) of each field of ``source``, kinds as inference's export names them (dates
    become ISO text, as :func:`iter_features` hands them over)."""
    out = []
    for fld in source.fields():
        type_name = (QVariant.typeToName(fld.type()) or "").lower()
        out.append((fld.name(), _KINDS.get(type_name, "str")))
    return out


def count_features(source, request: Optional[QgsFeatureRequest] = None) -> int:
    """How many features ``request`` yields (the layer's count when there is no filter)."""
    if request is None and source.featureCount() >= 0:
        return int(source.featureCount())
    req = QgsFeatureRequest(request) if request is not None else QgsFeatureRequest()
    req.setNoAttributes()
    req.setFlags(req.flags() | QgsFeatureRequest.Flag.NoGeometry)
    return sum(1 for _ in source.getFeatures(req))


def extent_request(source, extent: Optional[QgsRectangle],
                   extent_crs: Optional[QgsCoordinateReferenceSystem]) -> Optional[QgsFeatureRequest]:
    """A request for the features of ``source`` intersecting ``extent`` (None: all of them)."""
    if extent is None or extent.isEmpty():
        return None
    rect = extent
    if extent_crs is not None and extent_crs.isValid() and extent_crs != source.sourceCrs():
        rect = QgsCoordinateTransform(extent_crs, source.sourceCrs(), QgsProject.instance()) \
            .transformBoundingBox(extent)
    request = QgsFeatureRequest()
    request.setFilterRect(rect)
    return request


def copy_features(source, name: str = "", *, to_crs: Optional[QgsCoordinateReferenceSystem] = None,
                  extent: Optional[QgsRectangle] = None,
                  extent_crs: Optional[QgsCoordinateReferenceSystem] = None) -> VectorSnapshot:
    """Every feature of ``source`` (a QgsFeatureSource or vector layer), optionally reprojected
    to ``to_crs`` and limited to those intersecting ``extent``."""
    src_crs = source.sourceCrs()
    request = QgsFeatureRequest()
    if extent is not None and not extent.isEmpty():
        rect = extent
        if extent_crs is not None and extent_crs.isValid() and extent_crs != src_crs:
            rect = QgsCoordinateTransform(extent_crs, src_crs, QgsProject.instance()) \
                .transformBoundingBox(extent)
        request.setFilterRect(rect)
    xform = None
    if to_crs is not None and to_crs.isValid() and to_crs != src_crs:
        xform = QgsCoordinateTransform(src_crs, to_crs, QgsProject.instance())
    names = source.fields().names()
    out = []
    for feat in source.getFeatures(request):
        geom = feat.geometry()
        wkb = None
        if geom is not None and not geom.isNull():
            if xform is not None:
                geom.transform(xform)
            wkb = bytes(geom.asWkb())
        attrs = {n: _value(feat[n]) for n in names}
        out.append(FeatureIn(int(feat.id()), wkb, attrs))
    crs = to_crs if xform is not None else src_crs
    return VectorSnapshot(out, crs.toWkt(), name)


def context_layers(layers, extent: QgsRectangle, extent_crs: QgsCoordinateReferenceSystem,
                   to_crs: QgsCoordinateReferenceSystem, fields=None) -> list:
    """Grounding context (issue 16): the features of each vector layer that intersect the
    capture's ``extent`` (in ``extent_crs``), reprojected to the capture CRS ``to_crs``, as
    ``inference.grounding.context_layers.ContextLayer`` plain data. Main thread only."""
    from ..inference.grounding.context_layers import ContextLayer

    out = []
    for layer in layers:
        if layer is None or not hasattr(layer, "getFeatures") or not layer.isSpatial():
            continue
        snap = copy_features(layer, layer.name(), to_crs=to_crs, extent=extent,
                             extent_crs=extent_crs)
        out.append(ContextLayer(snap.name, snap.features, fields, snap.crs_wkt, layer.id()))
    return out


def context_for_capture(layers, source, fields=None) -> list:
    """:func:`context_layers` for the dock's capture (a ``capture.CaptureSource``): its area, or
    the whole raster layer, in the CRS of the pixels (a rendered capture's own CRS)."""
    to_crs = QgsCoordinateReferenceSystem.fromWkt(
        source.image.crs_wkt if source.image is not None else source.crs_wkt)
    if source.bounds is not None:
        extent = QgsRectangle(*source.bounds)
        extent_crs = QgsCoordinateReferenceSystem.fromWkt(source.bounds_crs)
    else:
        raster = QgsProject.instance().mapLayer(source.layer_id)
        if raster is None:
            return []
        extent, extent_crs = raster.extent(), raster.crs()
    return context_layers(layers, extent, extent_crs, to_crs, fields)
