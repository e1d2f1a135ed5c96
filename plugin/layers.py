"""Result layers: memory layers from GeoFeatures, the "EO Lens" group, styles. Main thread only."""
from __future__ import annotations

import datetime as _dt
import itertools
import os
import tempfile
from typing import Iterable, Optional

from qgis.core import (QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsFeature, QgsField,
                       QgsFields, QgsGeometry, QgsLayerTreeGroup, QgsMapLayer, QgsProject,
                       QgsRasterLayer, QgsRectangle, QgsVectorLayer)
from qgis.PyQt.QtCore import QVariant

from ..inference.io.georef import GeoFeature

GROUP = "EO Lens"
ROLE = "eolens/role"   # custom property that marks our layers

_QTYPES = {bool: QVariant.Bool, int: QVariant.LongLong, float: QVariant.Double, str: QVariant.String}


def crs_from_wkt(wkt: str) -> QgsCoordinateReferenceSystem:
    crs = QgsCoordinateReferenceSystem.fromWkt(wkt) if wkt else QgsCoordinateReferenceSystem()
    return crs


WORKFLOWS = {"boxes": "Find", "mask": "Find", "change": "Change", "search": "Search",
             "landcover": "Search", "captions": "Chat", "chat": "Chat"}
STORE_SUFFIX = "_eolens.gpkg"
_TEMP_STORE: Optional[str] = None
_serial = itertools.count(1)


def results_group(project: Optional[QgsProject] = None, role: str = "", source: str = "") -> QgsLayerTreeGroup:
    """EO Lens ▸ "<workflow> · <source layer>" (the top group alone when no role is given)."""
    root = (project or QgsProject.instance()).layerTreeRoot()
    group = root.findGroup(GROUP)
    group = group if group is not None else root.insertGroup(0, GROUP)
    workflow = WORKFLOWS.get(role.split("-")[0], "") if role else ""
    if not workflow:
        return group
    name = f"{workflow} · {source}" if source else workflow
    sub = next((g for g in group.children() if isinstance(g, QgsLayerTreeGroup) and g.name() == name), None)
    return sub if sub is not None else group.insertGroup(0, name)


def short(text: str, limit: int = 28) -> str:
    """A layer-panel-sized name (the full text goes to the layer's abstract)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def add_result(layer: QgsMapLayer, role: str, project: Optional[QgsProject] = None, *,
               source: str = "", details: str = "") -> QgsMapLayer:
    """Add ``layer`` to the project in its EO Lens group, marked with its role. A memory vector
    layer is first written into the results GeoPackage (beside a saved project), so it survives
    a reload; ``details`` (prompt, model, time) go to its abstract, shown in the layer tooltip."""
    project = project or QgsProject.instance()
    if isinstance(layer, QgsVectorLayer) and layer.providerType() == "memory":
        layer = persist(layer, store_path(project), role)
    layer.setCustomProperty(ROLE, role)
    set_abstract(layer, "\n".join(t for t in (details, f"EO Lens · {stamp()}") if t))
    project.addMapLayer(layer, False)
    results_group(project, role, source).insertLayer(0, layer)
    return layer


def set_abstract(layer: QgsMapLayer, text: str) -> None:
    server = getattr(layer, "serverProperties", None)
    if server is not None and hasattr(server(), "setAbstract"):
        server().setAbstract(text)
    else:
        layer.setAbstract(text)


def abstract(layer: QgsMapLayer) -> str:
    server = getattr(layer, "serverProperties", None)
    if server is not None and hasattr(server(), "abstract"):
        return server().abstract()
    return layer.abstract()


def store_path(project: Optional[QgsProject] = None) -> str:
    """The results GeoPackage: ``<project>_eolens.gpkg`` beside a saved project, else a temporary
    one for this session (moved beside the project when it is saved)."""
    global _TEMP_STORE
    project = project or QgsProject.instance()
    if project.fileName():
        home = os.path.dirname(os.path.abspath(project.fileName()))
        if os.path.isdir(home) and os.access(home, os.W_OK):
            return os.path.join(home, os.path.splitext(os.path.basename(project.fileName()))[0] + STORE_SUFFIX)
    if _TEMP_STORE is None or not os.path.isdir(os.path.dirname(_TEMP_STORE)):
        _TEMP_STORE = os.path.join(tempfile.mkdtemp(prefix="eolens-"), "results" + STORE_SUFFIX)
    return _TEMP_STORE


def persist(layer: QgsVectorLayer, path: str, role: str) -> QgsVectorLayer:
    """Write ``layer`` as a new table of the GeoPackage ``path``; the GeoPackage layer, styled alike."""
    table = f"{role.replace('-', '_')}_{_dt.datetime.now():%Y%m%d_%H%M%S}_{next(_serial)}"
    saved = _write_table(layer, path, table)
    if saved is None:
        return layer     # could not write: keep the memory layer (the message log says why)
    if layer.renderer() is not None:
        saved.setRenderer(layer.renderer().clone())
    return saved


def _write_table(layer: QgsVectorLayer, path: str, table: str) -> Optional[QgsVectorLayer]:
    from qgis.core import QgsVectorFileWriter

    opts = QgsVectorFileWriter.SaveVectorOptions()
    opts.driverName, opts.layerName, opts.fileEncoding = "GPKG", table, "UTF-8"
    opts.actionOnExistingFile = (QgsVectorFileWriter.ActionOnExistingFile.CreateOrOverwriteLayer
                                 if os.path.exists(path) else
                                 QgsVectorFileWriter.ActionOnExistingFile.CreateOrOverwriteFile)
    out = QgsVectorFileWriter.writeAsVectorFormatV3(layer, path, QgsProject.instance().transformContext(), opts)
    if out[0] != QgsVectorFileWriter.WriterError.NoError:
        from .qgis_log import log

        log(f"Could not write '{layer.name()}' to {path}: {out[1]}")
        return None
    saved = QgsVectorLayer(f"{path}|layername={table}", layer.name(), "ogr")
    return saved if saved.isValid() else None


def move_store(project: Optional[QgsProject] = None) -> int:
    """After the project got a (new) file name: copy every result table that lives in another
    results GeoPackage into this project's one and point the layers at it. Returns the count."""
    project = project or QgsProject.instance()
    if not project.fileName():
        return 0
    target, moved = store_path(project), 0
    for layer in result_layers(project):
        if not isinstance(layer, QgsVectorLayer) or layer.providerType() != "ogr":
            continue
        path, _, table = layer.source().partition("|layername=")
        if not path.endswith(STORE_SUFFIX) or os.path.abspath(path) == os.path.abspath(target):
            continue
        if _write_table(layer, target, table) is None:
            continue
        from qgis.core import QgsDataProvider

        layer.setDataSource(f"{target}|layername={table}", layer.name(), "ogr", QgsDataProvider.ProviderOptions())
        moved += 1
    return moved


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
