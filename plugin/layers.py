"""Result layers: memory layers from GeoFeatures, the "EO Lens" group, styles. Main thread only."""
from __future__ import annotations

import datetime as _dt
from typing import Iterable, Optional

from qgis.core import (QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsFeature, QgsField,
                       QgsFields, QgsGeometry, QgsLayerTreeGroup, QgsMapLayer, QgsProject,
                       QgsRasterLayer, QgsRectangle, QgsVectorLayer)
from qgis.PyQt.QtCore import QVariant

from ..inference.georef import GeoFeature

GROUP = "EO Lens"
ROLE = "eolens/role"   # custom property that marks our layers

_QTYPES = {bool: QVariant.Bool, int: QVariant.LongLong, float: QVariant.Double, str: QVariant.String}


def crs_from_wkt(wkt: str) -> QgsCoordinateReferenceSystem:
    crs = QgsCoordinateReferenceSystem.fromWkt(wkt) if wkt else QgsCoordinateReferenceSystem()
    return crs


def results_group(project: Optional[QgsProject] = None) -> QgsLayerTreeGroup:
    root = (project or QgsProject.instance()).layerTreeRoot()
    group = root.findGroup(GROUP)
    return group if group is not None else root.insertGroup(0, GROUP)


def add_result(layer: QgsMapLayer, role: str, project: Optional[QgsProject] = None) -> QgsMapLayer:
    """Add ``layer`` to the project inside the EO Lens group, marked with its role."""
    project = project or QgsProject.instance()
    layer.setCustomProperty(ROLE, role)
    project.addMapLayer(layer, False)
    results_group(project).insertLayer(0, layer)
    return layer


def is_result(layer: Optional[QgsMapLayer]) -> bool:
    """True for a layer EO Lens made (it is never offered as an input)."""
    return layer is not None and bool(layer.customProperty(ROLE))


def input_rasters(project: Optional[QgsProject] = None) -> list[QgsRasterLayer]:
    """Valid raster layers that are not EO Lens results, topmost in the layer tree first."""
    project = project or QgsProject.instance()
    order = [n.layer() for n in project.layerTreeRoot().findLayers()]
    known = {id(lyr) for lyr in order}
    order += [lyr for lyr in project.mapLayers().values() if id(lyr) not in known]
    return [lyr for lyr in order if isinstance(lyr, QgsRasterLayer) and lyr.isValid()
            and not is_result(lyr)]


def result_layers(project: Optional[QgsProject] = None) -> list[QgsMapLayer]:
    return [lyr for lyr in (project or QgsProject.instance()).mapLayers().values() if is_result(lyr)]


def extent_in(layer: QgsMapLayer, crs: QgsCoordinateReferenceSystem) -> QgsRectangle:
    """The layer's extent in ``crs`` (densified reprojection); the raw extent when a CRS is unknown."""
    if not crs.isValid() or not layer.crs().isValid() or layer.crs() == crs:
        return layer.extent()
    try:
        xform = QgsCoordinateTransform(layer.crs(), crs, QgsProject.instance())
        return xform.transformBoundingBox(layer.extent())
    except Exception:  # noqa: BLE001 - an untransformable extent shows nothing
        return QgsRectangle()


def is_visible(layer: QgsMapLayer, project: Optional[QgsProject] = None) -> bool:
    node = (project or QgsProject.instance()).layerTreeRoot().findLayer(layer.id())
    return node is None or node.isVisible()


def shows(layer: QgsMapLayer, view: QgsRectangle, crs: QgsCoordinateReferenceSystem) -> bool:
    """Does ``view`` (in ``crs``) show any of ``layer``? An empty view shows everything."""
    if view is None or view.isEmpty():
        return True
    return extent_in(layer, crs).intersects(view)


def best_raster(view: QgsRectangle, crs: QgsCoordinateReferenceSystem,
                active: Optional[QgsMapLayer] = None) -> Optional[QgsRasterLayer]:
    """The analyst's most likely input: the active raster, else the topmost visible raster in the
    view, else the topmost raster in the view, else the topmost raster."""
    rasters = input_rasters()
    if active in rasters:
        return active
    in_view = [lyr for lyr in rasters if shows(lyr, view, crs)]
    visible = [lyr for lyr in in_view if is_visible(lyr)]
    for choice in (visible, in_view, rasters):
        if choice:
            return choice[0]
    return None


def best_pair(view: QgsRectangle, crs: QgsCoordinateReferenceSystem, date_of=None):
    """(before, after): two different input rasters, in the view first, older first when both
    dates are known; (layer, None) when there is only one."""
    rasters = input_rasters()
    ranked = sorted(rasters, key=lambda lyr: (not shows(lyr, view, crs), not is_visible(lyr)))
    if not ranked:
        return None, None
    if len(ranked) == 1:
        return ranked[0], None
    a, b = ranked[0], ranked[1]
    if date_of is not None:
        da, db = date_of(a), date_of(b)
        if da and db and db < da:
            a, b = b, a
    return a, b


def find_role(role: str, project: Optional[QgsProject] = None) -> Optional[QgsVectorLayer]:
    for layer in (project or QgsProject.instance()).mapLayers().values():
        if layer.customProperty(ROLE) == role:
            return layer
    return None


def find_roles(role: str, project: Optional[QgsProject] = None) -> list[QgsMapLayer]:
    return [lyr for lyr in (project or QgsProject.instance()).mapLayers().values()
            if lyr.customProperty(ROLE) == role]


def fields_for(features: Iterable[GeoFeature], extra: Optional[dict] = None) -> QgsFields:
    kinds: dict[str, type] = dict(extra or {})
    for feat in features:
        for key, value in feat.properties.items():
            kinds.setdefault(key, type(value) if type(value) in _QTYPES else str)
    fields = QgsFields()
    for name, kind in kinds.items():
        fields.append(QgsField(name, _QTYPES.get(kind, QVariant.String)))
    return fields


def memory_layer(name: str, crs_wkt: str, features: list[GeoFeature],
                 geometry: str = "MultiPolygon", fields: Optional[QgsFields] = None) -> QgsVectorLayer:
    """A memory layer holding ``features`` (shapely geometries in ``crs_wkt``)."""
    layer = QgsVectorLayer(f"{geometry}?crs=EPSG:4326", name, "memory")
    layer.setCrs(crs_from_wkt(crs_wkt))
    fields = fields if fields is not None else fields_for(features)
    layer.dataProvider().addAttributes(fields.toList())
    layer.updateFields()
    append_features(layer, features)
    return layer


def append_features(layer: QgsVectorLayer, features: Iterable[GeoFeature]) -> None:
    names = layer.fields().names()
    out = []
    for feat in features:
        qf = QgsFeature(layer.fields())
        geom = QgsGeometry()
        geom.fromWkb(feat.geometry.wkb)
        if geom.type() == 2 and not geom.isMultipart():  # polygon layers are MultiPolygon
            geom.convertToMultiType()
        qf.setGeometry(geom)
        qf.setAttributes([_plain(feat.properties.get(n)) for n in names])
        out.append(qf)
    layer.dataProvider().addFeatures(out)
    layer.updateExtents()
    layer.triggerRepaint()


def raster_layer(path: str, name: str) -> QgsRasterLayer:
    return QgsRasterLayer(path, name, "gdal")


def stamp() -> str:
    return _dt.datetime.now().strftime("%Y-%m-%d %H:%M")


def attributes(feature: QgsFeature, names) -> dict:
    """Feature attributes as plain Python values (NULL becomes None)."""
    return {n: _plain(feature[n]) for n in names}


def _plain(value):
    if isinstance(value, QVariant):
        return None if value.isNull() else value.value()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "item"):
        return value.item()
    return str(value)
