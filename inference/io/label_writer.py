"""Append labelled features to a GeoPackage or Shapefile, chunk by chunk, and resume one.

The output keeps the input's geometry (WKB as given, in the input's CRS) and attributes, plus
the label fields. An input field whose name a label field takes is kept as ``<name>_input``.
Each :meth:`LabelWriter.write` is one transaction, so an interrupted run leaves whole chunks;
opening an existing output reads back which ``src_fid`` are done.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..errors import InputError
from .export import (SHP_STR_BYTES, VECTOR_DRIVERS, clip_utf8, create_fields, check_gdal, set_field_value,
                     spatial_ref, field_text, shapefile_field_names)
from ..features import FeatureIn


def _renamed(inputs: Sequence[tuple[str, str]], added: Sequence[tuple[str, str]]) -> list:
    taken = {n.lower() for n, _ in added} | {"fid"}  # GeoPackage's own feature id column
    return [(f"{n}_input" if n.lower() in taken else n, k) for n, k in inputs]


def check_output(path: str) -> str:
    """The absolute path of a label output, or InputError naming what is wrong with it."""
    full = os.path.abspath(os.fspath(path))
    if os.path.splitext(full)[1].lower() not in VECTOR_DRIVERS:
        raise InputError(f"OUTPUT '{path}' must end in {' or '.join(VECTOR_DRIVERS)}.")
    if not os.path.isdir(os.path.dirname(full)):
        raise InputError(f"OUTPUT: the folder '{os.path.dirname(full)}' does not exist.")
    return full


class LabelWriter:
    """Writes labelled features to a GeoPackage or Shapefile as they come, resumable."""

    ds: Any   # the OGR data source and layer (osgeo is untyped) between __enter__ and __exit__
    lyr: Any

    def __init__(self, path: str, crs_wkt: str, input_fields: Sequence[tuple[str, str]],
                 label_fields: Sequence[tuple[str, str]], families: set[str], *,
                 layer: str | None = None, identity: tuple[str, str] = ("", "")) -> None:
        self.path = check_output(path)
        self.shapefile = self.path.lower().endswith(".shp")
        self.inputs = list(input_fields)
        renamed = _renamed(self.inputs, label_fields)
        self.input_keys = [(orig, new) for (orig, _), (new, _) in zip(self.inputs, renamed)]
        self.kinds = dict(renamed + list(label_fields))
        self.keys = list(self.kinds)
        self.names = shapefile_field_names(self.keys) if self.shapefile else {k: k for k in self.keys}
        self.layer_name = layer or os.path.splitext(os.path.basename(self.path))[0]
        self.crs_wkt, self.families, self.identity = crs_wkt, families, identity
        self.done: set[int] = set()
        self.warnings: list[str] = []

    # -- open / create ----------------------------------------------------------------------
    def __enter__(self) -> LabelWriter:
        from osgeo import ogr

        if os.path.exists(self.path):
            self.ds = check_gdal(ogr.Open(self.path, 1), "open for resuming", self.path)
            self.lyr = self.ds.GetLayerByName(self.layer_name) if not self.shapefile \
                else self.ds.GetLayer(0)
        else:
            self.ds, self.lyr = None, None
        # a flag, not `if self.lyr is None:` (mypy would keep lyr None after _create, which sets it)
        missing = self.lyr is None
        if missing:
            self._create()
        else:
            self._read_done()
        self.gtype = self.lyr.GetGeomType()
        return self

    def _create(self) -> None:
        from osgeo import ogr

        gtype = self._geometry_type()
        if self.ds is None:
            driver = ogr.GetDriverByName(VECTOR_DRIVERS[os.path.splitext(self.path)[1].lower()])
            self.ds = check_gdal(driver.CreateDataSource(self.path), "create", self.path)
        self.lyr = check_gdal(self.ds.CreateLayer(self.layer_name, spatial_ref(self.crs_wkt), gtype,
                                           ["ENCODING=UTF-8"] if self.shapefile else []),
                       "layer", self.path)
        create_fields(self.lyr, self.kinds, self.names, self.shapefile, self.path)

    def _geometry_type(self):
        from osgeo import ogr

        if len(self.families) > 1:
            if self.shapefile:
                raise InputError(f"A Shapefile holds one geometry type; the features have "
                                 f"{sorted(self.families)}. Use a GeoPackage.")
            return ogr.wkbUnknown
        family = next(iter(self.families)) if self.families else "Polygon"
        return getattr(ogr, f"wkbMulti{family}")  # one type even when singles and multis mix

    def _read_done(self) -> None:
        defn = self.lyr.GetLayerDefn()
        have = {defn.GetFieldDefn(i).GetName() for i in range(defn.GetFieldCount())}
        missing = [self.names[k] for k in self.keys if self.names[k] not in have]
        if missing:
            raise InputError(f"OUTPUT '{self.path}' exists but was not written by this label run "
                             f"(no field {', '.join(missing[:3])}); choose another file.")
        fid_name, model_name, prompt_name = (self.names[k] for k in ("src_fid", "model", "prompt"))
        self.lyr.ResetReading()
        for feat in self.lyr:
            if (feat.GetField(model_name) or "", feat.GetField(prompt_name) or "") != \
                    tuple(v or "" for v in self.identity):
                raise InputError(
                    f"OUTPUT '{self.path}' holds labels from model '{feat.GetField(model_name)}' "
                    f"with prompt '{feat.GetField(prompt_name)}'; choose another file to label "
                    "with different settings.")
            self.done.add(int(feat.GetField(fid_name)))
        self.lyr.ResetReading()

    def __exit__(self, *exc) -> None:
        self.lyr = None
        self.ds = None  # flush and close

    # -- rows ---------------------------------------------------------------------------------
    def write(self, rows: Sequence[tuple[FeatureIn, dict]]) -> None:
        """``rows``: (FeatureIn, label values) pairs, written in one transaction."""
        from osgeo import ogr

        if not rows:
            return
        defn = self.lyr.GetLayerDefn()
        self.lyr.StartTransaction()
        try:
            for feature, values in rows:
                feat = ogr.Feature(defn)
                if feature.wkb:
                    geom = ogr.CreateGeometryFromWkb(bytes(feature.wkb))
                    if geom is not None and self.gtype != ogr.wkbUnknown:
                        geom = ogr.ForceTo(geom, self.gtype)
                    feat.SetGeometry(geom)
                attrs = {new: feature.attributes.get(orig) for orig, new in self.input_keys}
                attrs.update(values)
                for key, value in attrs.items():
                    self._set(feat, key, value)
                check_gdal(self.lyr.CreateFeature(feat), f"feature {values.get('src_fid')}", self.path)
        except BaseException:
            self.lyr.RollbackTransaction()
            raise
        self.lyr.CommitTransaction()
        self.done.update(int(v["src_fid"]) for _, v in rows)

    def _set(self, feat, key: str, value) -> None:
        if key not in self.kinds or value is None:
            return
        kind = self.kinds[key]
        if self.shapefile and kind in ("datetime", "date"):
            kind = "str"
        if kind == "str":
            value = field_text(value)
            if self.shapefile and len(value.encode("utf-8")) > SHP_STR_BYTES:
                value = clip_utf8(value, SHP_STR_BYTES)
        set_field_value(feat, self.names[key], value, kind)
