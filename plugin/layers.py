"""Result layers: memory layers from GeoFeatures, the "EO Lens" group, styles. Main thread only."""
from __future__ import annotations

import datetime as _dt
from typing import Iterable, Optional

from qgis.core import (QgsCoordinateReferenceSystem, QgsFeature, QgsField, QgsFields,
                       QgsGeometry, QgsLayerTreeGroup, QgsMapLayer, QgsProject,
                       QgsRasterLayer, QgsVectorLayer)
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


def find_role(role: str, project: Optional[QgsProject] = None) -> Optional[QgsVectorLayer]:
    for layer in (project or QgsProject.instance()).mapLayers().values():
        if layer.customProperty(ROLE) == role:
            return layer
    return None


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
