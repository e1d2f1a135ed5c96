"""Write features (GeoPackage / Shapefile) and rasters (GeoTIFF) that open right first time.

Everything is staged beside the target and renamed into place (``inference/io/staging.py``),
so a failed export leaves nothing behind and an existing file is only replaced on request.
Shapefile limits are handled: 10-byte unique field names, 254-byte strings (full text in a
sidecar JSON), no DateTime type, one geometry type (Polygon promoted to MultiPolygon),
UTF-8 ``.cpg`` and a ``.prj`` from the source CRS.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
from affine import Affine

from ..errors import EOLensError, InputError
from .georef import GeoFeature
from .staging import OutputSet, output_target, staging

VECTOR_DRIVERS = {".gpkg": "GPKG", ".shp": "ESRI Shapefile"}
RASTER_EXTS = (".tif", ".tiff")
_SHP_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".fulltext.json")
_SHP_NAME_BYTES = 10
SHP_STR_BYTES = 254


@dataclass
class ExportReport:
    """What a vector export wrote: path, field renames, warnings, sidecar and kept layers."""

    path: str
    field_map: dict[str, str] = field(default_factory=dict)   # property key -> written field name
    warnings: list[str] = field(default_factory=list)
    sidecar: str | None = None                              # full-length texts (Shapefile only)
    replaced_layer: bool = False                            # keep_layers: the layer existed
    kept_layers: list[str] = field(default_factory=list)    # keep_layers: the other layers


# --- fields --------------------------------------------------------------------------

def field_kind(values: list) -> str:
    """The attribute type of a column of values: bool, int, real, datetime, date or str."""
    vals = [v for v in values if v is not None]
    if vals and all(isinstance(v, (bool, np.bool_)) for v in vals):
        return "bool"
    if vals and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in vals):
        return "int"
    if vals and all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in vals):
        return "real"
    if vals and all(isinstance(v, datetime) for v in vals):
        return "datetime"
    if vals and all(isinstance(v, date) and not isinstance(v, datetime) for v in vals):
        return "date"
    return "str"


def field_text(v: Any) -> str:
    """A value as field text: JSON for containers, ISO 8601 for dates."""
    if isinstance(v, (dict, list, tuple)):
        return json.dumps(v, ensure_ascii=False, default=str)
    return v.isoformat() if isinstance(v, (date, datetime)) else str(v)


def shapefile_field_names(keys: list[str]) -> dict[str, str]:
    """Each key -> a dBase name of <= 10 ASCII bytes, unique (case-insensitive) after truncation."""
    used: set[str] = set()
    out = {}
    for key in keys:
        base = re.sub(r"[^0-9A-Za-z_]", "_", key) or "field"
        name, n = base[:_SHP_NAME_BYTES], 1
        while name.lower() in used:
            suffix = f"_{n}"
            name, n = base[:_SHP_NAME_BYTES - len(suffix)] + suffix, n + 1
        used.add(name.lower())
        out[key] = name
    return out


def clip_utf8(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, never inside a character."""
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


# --- geometry ------------------------------------------------------------------------

def _geometry_type(features: list[GeoFeature], shapefile: bool):
    from osgeo import ogr

    families = {f.geometry.geom_type.replace("Multi", "") for f in features}
    if len(families) > 1:
        if shapefile:
            raise InputError(f"A Shapefile holds one geometry type; got {sorted(families)}. "
                             "Use a GeoPackage.")
        return ogr.wkbUnknown, False
    family = families.pop() if families else "Polygon"
    multi = shapefile or any(f.geometry.geom_type.startswith("Multi") for f in features)
    return getattr(ogr, f"wkb{'Multi' if multi else ''}{family}"), multi


def _ogr_geometry(geom, multi: bool):
    from osgeo import ogr
    from shapely.geometry import MultiLineString, MultiPoint, MultiPolygon

    promote = {"Polygon": MultiPolygon, "Point": MultiPoint, "LineString": MultiLineString}
    if multi and geom.geom_type in promote:
        geom = promote[geom.geom_type]([geom])
    return ogr.CreateGeometryFromWkb(geom.wkb)


# --- vector --------------------------------------------------------------------------

def spatial_ref(crs_wkt: str):
    """An OGR SpatialReference from WKT, EPSG or PROJ text; None for no CRS."""
    from osgeo import osr

    if not crs_wkt:
        return None
    srs = osr.SpatialReference()
    try:  # WKT, "EPSG:4326", PROJ strings, URNs: what rasterio and pyproj accept
        ok = srs.SetFromUserInput(crs_wkt) == 0
    except RuntimeError:  # GDAL with exceptions enabled
        ok = False
    if not ok:
        raise InputError(f"Unrecognised CRS: {crs_wkt[:80]!r}.")
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def check_gdal(obj, what: str, path: str):
    """``obj`` when a GDAL/OGR call succeeded; otherwise an error that names ``path``."""
    from osgeo import gdal

    if obj is None or (isinstance(obj, int) and obj != 0):
        raise EOLensError(f"Could not write '{path}' ({what}): {gdal.GetLastErrorMsg() or why_unwritable(path)}.")
    return obj


def why_unwritable(path: str) -> str:
    """The likely reason GDAL could not open or write ``path``, read from the filesystem (GDAL
    itself sometimes gives none)."""
    folder = os.path.dirname(os.path.abspath(path)) or "."
    if os.path.isdir(path):
        return "it is a folder"
    if not os.path.exists(path):
        if not os.path.isdir(folder):
            return f"the folder '{folder}' does not exist"
        return "the folder is not writable" if not os.access(folder, os.W_OK) else "the file does not exist"
    if not os.access(path, os.R_OK):
        return "the file cannot be read (permission denied)"
    if not os.access(path, os.W_OK):
        return "the file is read-only"
    if os.path.getsize(path) == 0:
        return "the file is empty"
    return "it is not a GeoPackage or Shapefile GDAL can open for writing"


def create_fields(layer, kinds: dict[str, str], names: dict[str, str], shapefile: bool, path: str):
    """Create the attribute fields on an OGR layer (Shapefile dates as ISO text)."""
    from osgeo import ogr

    ogr_types = {"int": ogr.OFTInteger64, "real": ogr.OFTReal, "bool": ogr.OFTInteger,
                 "datetime": ogr.OFTDateTime, "date": ogr.OFTDate, "str": ogr.OFTString}
    for key, kind in kinds.items():
        if shapefile and kind in ("datetime", "date"):  # dBase has no DateTime: ISO text
            kind = kinds[key] = "str"
        fd = ogr.FieldDefn(names[key], ogr_types[kind])
        if kind == "bool" and not shapefile:
            fd.SetSubType(ogr.OFSTBoolean)
        if kind == "str" and shapefile:
            fd.SetWidth(SHP_STR_BYTES)
        check_gdal(layer.CreateField(fd), f"field {key}", path)


def set_field_value(feat, name: str, value, kind: str) -> None:
    """Set one attribute of an OGR feature by its kind; None leaves it unset."""
    if value is None:
        return
    if kind in ("int", "bool"):
        feat.SetFieldInteger64(feat.GetFieldIndex(name), int(value))
    elif kind == "real":
        feat.SetField(name, float(value))
    else:
        feat.SetField(name, field_text(value))


def write_vector(features: list[GeoFeature], path, crs_wkt: str, *, layer: str = "eolens",
                 overwrite: bool = False, outputs: OutputSet | None = None,
                 keep_layers: bool = False) -> ExportReport:
    """Write ``features`` to a GeoPackage (default) or Shapefile, chosen by extension.

    ``outputs``: stage into that set (the caller commits). ``keep_layers``: an existing
    GeoPackage keeps its other layers; only ``layer`` is replaced (or added), in place at commit
    (QGIS may hold the file open: it is never replaced as a whole).
    """
    from osgeo import ogr

    target = output_target(path, overwrite, tuple(VECTOR_DRIVERS))
    shapefile = target.lower().endswith(".shp")
    keys = list(dict.fromkeys(k for f in features for k in f.properties))
    kinds = {k: field_kind([f.properties.get(k) for f in features]) for k in keys}
    names = shapefile_field_names(keys) if shapefile else {k: k for k in keys}
    report = ExportReport(target, names)
    if any(k != v for k, v in names.items()):
        report.warnings.append("Shapefile field names were shortened: " + ", ".join(
            f"{k} -> {v}" for k, v in names.items() if k != v) + ".")
    if not crs_wkt:
        report.warnings.append("No CRS given: the file has no coordinate system.")
    long_texts: list[dict] = []
    in_place = keep_layers and not shapefile and os.path.isfile(target)
    if in_place:
        _existing_layers(target, layer, report)
    with staging(target, _SHP_PARTS if shapefile else (), outputs,
                  layer if in_place else None) as tmp_path:
        ds = _create_source(target, tmp_path)
        gtype, multi = _geometry_type(features, shapefile)
        lyr = check_gdal(ds.CreateLayer(layer, spatial_ref(crs_wkt), gtype,
                                 ["ENCODING=UTF-8"] if shapefile else []), "layer", target)
        create_fields(lyr, kinds, names, shapefile, target)
        defn = lyr.GetLayerDefn()
        lyr.StartTransaction()  # one commit, not one per feature (GeoPackage: ~6x faster)
        for fid, f in enumerate(features):
            feat = ogr.Feature(defn)
            feat.SetGeometry(_ogr_geometry(f.geometry, multi))
            for key, value in f.properties.items():
                text = field_text(value) if kinds[key] == "str" and value is not None else None
                if shapefile and text is not None and len(text.encode("utf-8")) > SHP_STR_BYTES:
                    long_texts.append({"fid": fid, "field": names[key], "property": key, "text": text})
                    value = clip_utf8(text, SHP_STR_BYTES)
                set_field_value(feat, names[key], value, kinds[key])
            check_gdal(lyr.CreateFeature(feat), f"feature {fid}", target)
        lyr.CommitTransaction()
        ds = lyr = None  # flush and close before the rename
        if long_texts:
            report.sidecar = _write_sidecar(tmp_path, target, long_texts, report)
    return report


def _create_source(target: str, tmp_path: str):
    from osgeo import ogr

    driver = ogr.GetDriverByName(VECTOR_DRIVERS[os.path.splitext(target)[1].lower()])
    return check_gdal(driver.CreateDataSource(tmp_path), "create", target)


def _existing_layers(target: str, layer: str, report: ExportReport) -> None:
    """Fill ``report`` with what writing ``layer`` into the existing GeoPackage ``target`` will
    do; the layer itself is put in at commit, in place (inference/io/gpkg_update.py)."""
    from .gpkg_update import layer_names

    names = layer_names(target)
    report.replaced_layer = any(n.lower() == layer.lower() for n in names)
    report.kept_layers = [n for n in names if n.lower() != layer.lower()]


def _write_sidecar(tmp_path: str, target: str, entries: list[dict], report: ExportReport) -> str:
    stem = os.path.splitext(tmp_path)[0]
    with open(stem + ".fulltext.json", "w", encoding="utf-8") as fh:
        json.dump(entries, fh, ensure_ascii=False, indent=1)
    sidecar = os.path.splitext(target)[0] + ".fulltext.json"
    fields = sorted({e["property"] for e in entries})
    report.warnings.append(f"{len(entries)} text value(s) in {', '.join(fields)} were longer than "
                           f"{SHP_STR_BYTES} bytes and were cut in the Shapefile; the full text "
                           f"is in '{sidecar}'.")
    return sidecar


# --- raster --------------------------------------------------------------------------

def write_raster(array: np.ndarray, transform: Affine, crs_wkt: str, path, *,
                 nodata: float | None = None, overwrite: bool = False,
                 outputs: OutputSet | None = None) -> str:
    """Write a (H, W) or (C, H, W) array as a GeoTIFF with CRS, transform and nodata."""
    import rasterio

    target = output_target(path, overwrite, RASTER_EXTS)
    arr = np.asarray(array)
    arr = arr.astype(np.uint8) if arr.dtype == bool else arr
    arr = arr[None] if arr.ndim == 2 else arr
    if arr.ndim != 3:
        raise InputError(f"Cannot write an array of shape {arr.shape} as a raster.")
    count, h, w = arr.shape
    profile = {"driver": "GTiff", "width": w, "height": h, "count": count, "dtype": arr.dtype.name,
               "crs": crs_wkt or None, "transform": transform, "nodata": nodata, "compress": "deflate"}
    if w >= 256 and h >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    ext = os.path.splitext(target)[1]
    with staging(target, (ext + ".aux.xml", ext + ".ovr"), outputs) as tmp_path:  # old stats/overviews
        try:
            with rasterio.open(tmp_path, "w", **profile) as dst:
                dst.write(arr)
        except (rasterio.errors.RasterioError, ValueError, TypeError) as err:
            raise EOLensError(f"Could not write '{target}': {str(err).replace(tmp_path, target)}") from err
    return target


OVERVIEW_SIDE = 4096  # streamed outputs longer than this get internal overviews


class TiledRasterWriter:
    """A GeoTIFF written window by window (tiled, compressed, BigTIFF when needed): outputs
    larger than memory are never built as one array.

    Use as a context manager on a staged path (``OutputSet.stage``); windows aligned to
    ``block`` are written once each, so no compressed block is ever rewritten.
    """

    def __init__(self, path: str, width: int, height: int, transform: Affine, crs_wkt: str, *,
                 dtype: str = "float32", nodata: float | None = None, block: int = 256,
                 compress: str = "deflate") -> None:
        self.path = path
        self.profile = {"driver": "GTiff", "width": int(width), "height": int(height), "count": 1,
                        "dtype": dtype, "crs": crs_wkt or None, "transform": transform,
                        "nodata": nodata, "compress": compress, "bigtiff": "IF_SAFER",
                        "tiled": True, "blockxsize": block, "blockysize": block}
        if np.dtype(dtype).kind == "f":
            self.profile.update(predictor=3)
        elif np.dtype(dtype).itemsize > 1:
            self.profile.update(predictor=2)
        self._ds: Any = None  # the open rasterio dataset (untyped) between __enter__ and __exit__

    def __enter__(self) -> TiledRasterWriter:
        import rasterio

        try:
            self._ds = rasterio.open(self.path, "w", **self.profile)
        except (rasterio.errors.RasterioError, ValueError, TypeError) as err:
            raise EOLensError(f"Could not write '{self.path}': {err}") from err
        return self

    def write(self, array: np.ndarray, col: int, row: int) -> None:
        """``array`` (h, w) at pixel (``col``, ``row``)."""
        from rasterio.windows import Window

        arr = np.asarray(array)
        arr = arr.astype(np.uint8) if arr.dtype == bool else arr
        h, w = arr.shape
        self._ds.write(arr.astype(self.profile["dtype"], copy=False), 1,
                       window=Window(int(col), int(row), w, h))

    def __exit__(self, exc_type, *_exc) -> None:
        if self._ds is None:
            return
        try:
            if exc_type is None:
                self._overviews()
        finally:
            self._ds.close()
            self._ds = None

    def _overviews(self) -> None:
        """Internal overviews (2x, 4x, ... down to ~256 px) on a finished output larger than
        OVERVIEW_SIDE: QGIS then draws a whole 20,000^2 heat map from a small level instead of
        decoding every block (over a GB of its block cache)."""
        from rasterio.enums import Resampling

        side = max(self.profile["width"], self.profile["height"])
        factors: list[int] = []
        while side > OVERVIEW_SIDE and side // 2 ** (len(factors) + 1) >= 256:
            factors.append(2 ** (len(factors) + 1))
        if factors:
            import rasterio

            floating = np.dtype(self.profile["dtype"]).kind == "f"
            with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"):   # ~40 % faster on two cores
                self._ds.build_overviews(factors, Resampling.average if floating
                                         else Resampling.nearest)
