"""Append labelled features to a GeoPackage or Shapefile, chunk by chunk, and resume one.

The output keeps the input's geometry (WKB as given, in the input's CRS) and attributes, plus
the label fields. An input field whose name a label field takes is kept as ``<name>_input``.
Each :meth:`LabelWriter.write` is one transaction, so an interrupted run leaves whole chunks;
opening an existing output reads back which ``src_fid`` are done.

The writer works on a staged copy (:func:`stage_output`: an existing output is copied into the
stage first, so a resumed run appends to it); the caller commits the stage. A Shapefile's text
fields hold 254 bytes: longer texts are cut there and written in full, one entry per line, to
the ``<name>.fulltext.json`` sidecar, which is staged and committed with the Shapefile.
"""
from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from typing import Any

from ..errors import EOLensError, InputError
from .export import (SHP_STR_BYTES, VECTOR_DRIVERS, clip_utf8, create_fields, check_gdal, set_field_value,
                     spatial_ref, field_text, shapefile_field_names)
from ..features import FeatureIn
from .staging import OutputSet

SHP_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")
SIDECAR = ".fulltext.json"
_LINES = ".label-fulltext-lines"   # in the stage folder, never moved into place


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


def sidecar_path(path: str) -> str:
    """Where a Shapefile output's full-length texts go: ``<name>.fulltext.json``."""
    return os.path.splitext(path)[0] + SIDECAR


def _open_existing(path: str, what: str = "OUTPUT", shown: str | None = None):
    """The OGR data source of an existing output, or an InputError naming it and why."""
    from osgeo import gdal, ogr

    gdal.PushErrorHandler("CPLQuietErrorHandler")
    try:
        ds = ogr.Open(path, 0)
    except RuntimeError:  # GDAL with exceptions on (QGIS 3.34+ turns them on)
        ds = None
    finally:
        gdal.PopErrorHandler()
    if ds is None:
        raise InputError(f"{what} '{shown or path}' exists but is not a GeoPackage or Shapefile GDAL can "
                         "open (damaged, or another kind of file); choose another file.")
    return ds


def _existing_layer(ds, path: str, layer: str | None):
    if path.lower().endswith(".shp"):
        return ds.GetLayer(0)
    return ds.GetLayerByName(layer or os.path.splitext(os.path.basename(path))[0])


def check_resumable(path: str, layer: str | None, identity: tuple[str, str]) -> None:
    """Refuse, without any model, an existing OUTPUT this label run cannot continue: not a
    vector file, not written by label, or labelled with another model or prompt."""
    full = check_output(path)
    if not os.path.exists(full):
        return
    ds = _open_existing(full)
    lyr = _existing_layer(ds, full, layer)
    if lyr is None:
        return   # a new layer in an existing GeoPackage
    defn = lyr.GetLayerDefn()
    have = {defn.GetFieldDefn(i).GetName().lower() for i in range(defn.GetFieldCount())}
    missing = [n for n in ("src_fid", "model", "prompt") if n not in have]
    if missing:
        raise InputError(f"OUTPUT '{full}' exists but was not written by this label run "
                         f"(no field {', '.join(missing)}); choose another file.")
    _check_identity(lyr, full, ("model", "prompt"), identity)


def _check_identity(lyr, shown: str, names: tuple[str, str], identity: tuple[str, str]) -> None:
    """The first row's model and prompt must be this run's."""
    lyr.ResetReading()
    feat = lyr.GetNextFeature()
    lyr.ResetReading()
    if feat is None:
        return
    have = (feat.GetField(names[0]) or "", feat.GetField(names[1]) or "")
    want = tuple(v or "" for v in identity)
    if shown.lower().endswith(".shp"):   # dBase: the first 254 bytes, trailing blanks dropped
        want = tuple(clip_utf8(v, SHP_STR_BYTES).rstrip() for v in want)
        have = (have[0].rstrip(), have[1].rstrip())
    if have != want:
        raise InputError(
            f"OUTPUT '{shown}' holds labels from model '{have[0]}' with prompt '{have[1]}'; "
            "choose another file to label with different settings.")


def stage_output(target: str, outputs: OutputSet, layer: str | None = None) -> str:
    """A staged path to write the label output ``target`` to, holding a copy of what ``target``
    already has (a resumed run appends to it). A GeoPackage's other layers stay in place: only
    the label layer is staged and put back at commit."""
    target = check_output(target)
    if target.lower().endswith(".shp"):
        staged = outputs.stage(target, SHP_PARTS + (SIDECAR,))
        root, stem = os.path.splitext(target)[0], os.path.splitext(os.path.basename(staged))[0]
        for suffix in SHP_PARTS[:5] + (SIDECAR,):
            if os.path.isfile(root + suffix):
                shutil.copyfile(root + suffix, os.path.join(os.path.dirname(staged), stem + suffix))
        return staged
    if not os.path.exists(target):
        return outputs.stage(target)
    name = layer or os.path.splitext(os.path.basename(target))[0]
    staged = outputs.stage(target, layer=name)
    if _existing_layer(_open_existing(target), target, name) is not None:
        _copy_layer(target, staged, name)
    return staged


def _copy_layer(target: str, staged: str, name: str) -> None:
    from osgeo import gdal

    gdal.PushErrorHandler("CPLQuietErrorHandler")
    try:
        ok = gdal.VectorTranslate(staged, target, format="GPKG", layers=[name],
                                  accessMode="overwrite")
    finally:
        gdal.PopErrorHandler()
    if ok is None:
        raise EOLensError(f"Could not read the layer '{name}' of OUTPUT '{target}' to continue "
                          f"it: {gdal.GetLastErrorMsg() or 'the file could not be read'}.")
    ok = None


class LabelWriter:
    """Writes labelled features to a GeoPackage or Shapefile as they come, resumable."""

    ds: Any   # the OGR data source and layer (osgeo is untyped) between __enter__ and __exit__
    lyr: Any

    def __init__(self, path: str, crs_wkt: str, input_fields: Sequence[tuple[str, str]],
                 label_fields: Sequence[tuple[str, str]], families: set[str], *,
                 layer: str | None = None, identity: tuple[str, str] = ("", ""),
                 shown: str | None = None) -> None:
        self.path = check_output(path)
        self.shown = os.path.abspath(shown) if shown else self.path   # the name in messages
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
        self.long_texts = 0          # entries in the sidecar (this run's and earlier runs')
        self.long_fields: set[str] = set()
        self._lines: Any = None

    # -- open / create ----------------------------------------------------------------------
    def __enter__(self) -> LabelWriter:
        from osgeo import ogr

        if os.path.exists(self.path):
            _open_existing(self.path, "OUTPUT", self.shown)
            try:
                self.ds = ogr.Open(self.path, 1)
            except RuntimeError:  # GDAL with exceptions on
                self.ds = None
            if self.ds is None:
                raise InputError(f"OUTPUT '{self.shown}' cannot be opened for writing; it may be "
                                 "read-only or open in another program.")
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
        if self.shapefile:
            self._open_lines()
        return self

    def _create(self) -> None:
        from osgeo import ogr

        gtype = self._geometry_type()
        if self.ds is None:
            driver = ogr.GetDriverByName(VECTOR_DRIVERS[os.path.splitext(self.path)[1].lower()])
            self.ds = check_gdal(driver.CreateDataSource(self.path), "create", self.shown)
        self.lyr = check_gdal(self.ds.CreateLayer(self.layer_name, spatial_ref(self.crs_wkt), gtype,
                                           ["ENCODING=UTF-8"] if self.shapefile else []),
                       "layer", self.shown)
        create_fields(self.lyr, self.kinds, self.names, self.shapefile, self.shown)

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
            raise InputError(f"OUTPUT '{self.shown}' exists but was not written by this label run "
                             f"(no field {', '.join(missing[:3])}); choose another file.")
        fid_name, model_name, prompt_name = (self.names[k] for k in ("src_fid", "model", "prompt"))
        _check_identity(self.lyr, self.shown, (model_name, prompt_name), self.identity)
        self.lyr.ResetReading()
        self.lyr.SetIgnoredFields([n for n in have if n != fid_name] + ["OGR_GEOMETRY"])
        for feat in self.lyr:
            self.done.add(int(feat.GetField(fid_name)))
        self.lyr.SetIgnoredFields([])
        self.lyr.ResetReading()

    def __exit__(self, *exc) -> None:
        self.lyr = None
        self.ds = None  # flush and close
        if self._lines is not None:
            self._lines.close()
            self._lines = None
            self._write_sidecar()

    # -- the Shapefile's full-length texts ----------------------------------------------------
    def _open_lines(self) -> None:
        """Entries of the sidecar, one JSON object a line, beside the staged file (an earlier
        run's entries first)."""
        folder = os.path.dirname(self.path)
        self._lines_path = os.path.join(folder, _LINES)
        self._lines = open(self._lines_path, "w", encoding="utf-8")
        old = sidecar_path(self.path)
        if os.path.isfile(old):
            for entry in _read_sidecar(old, self.shown):
                self._add_long(entry)

    def _add_long(self, entry: dict) -> None:
        self._lines.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self.long_texts += 1
        self.long_fields.add(str(entry.get("property", entry.get("field", ""))))

    def _write_sidecar(self) -> None:
        """``<name>.fulltext.json``: a JSON list with one entry a line, streamed from the lines."""
        target = sidecar_path(self.path)
        if not self.long_texts:
            os.remove(self._lines_path)
            return
        with open(self._lines_path, encoding="utf-8") as src, \
                open(target, "w", encoding="utf-8") as out:
            out.write("[\n")
            for i, line in enumerate(src):
                out.write((",\n" if i else "") + line.rstrip("\n"))
            out.write("\n]\n")
        os.remove(self._lines_path)
        self.warnings.append(
            f"{self.long_texts} text value(s) in {', '.join(sorted(self.long_fields))} were longer "
            f"than {SHP_STR_BYTES} bytes and are cut in the Shapefile field; the full text is in "
            f"'{sidecar_path(self.shown)}'.")

    # -- rows ---------------------------------------------------------------------------------
    def write(self, rows: Sequence[tuple[FeatureIn, dict]]) -> None:
        """``rows``: (FeatureIn, label values) pairs, written in one transaction."""
        from osgeo import ogr

        if not rows:
            return
        defn = self.lyr.GetLayerDefn()
        self.lyr.StartTransaction()
        long: list[dict] = []
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
                cut = [self._set(feat, key, value) for key, value in attrs.items()]
                check_gdal(self.lyr.CreateFeature(feat), f"feature {values.get('src_fid')}", self.shown)
                long += [{"fid": feat.GetFID(), "src_fid": int(values["src_fid"]), **c}
                         for c in cut if c]
        except BaseException:
            self.lyr.RollbackTransaction()
            raise
        self.lyr.CommitTransaction()
        for entry in long:
            self._add_long(entry)
        self.done.update(int(v["src_fid"]) for _, v in rows)

    def _set(self, feat, key: str, value) -> dict | None:
        """Set one field; a sidecar entry when a Shapefile cut its text."""
        if key not in self.kinds or value is None:
            return None
        kind, entry = self.kinds[key], None
        if self.shapefile and kind in ("datetime", "date"):
            kind = "str"
        if kind == "str":
            value = field_text(value)
            if self.shapefile and len(value.encode("utf-8")) > SHP_STR_BYTES:
                entry = {"field": self.names[key], "property": key, "text": value}
                value = clip_utf8(value, SHP_STR_BYTES)
        set_field_value(feat, self.names[key], value, kind)
        return entry


def _read_sidecar(path: str, shown: str):
    """The entries of an earlier run's sidecar, one line at a time when it is in the streamed
    form (``[``, one object a line, ``]``), else read whole."""
    try:
        streamed = _streamed_entries(path)
        first = next(streamed, None)
        if first is not None:
            yield first
            yield from streamed
            return
    except ValueError:
        pass
    except OSError as err:
        raise InputError(f"OUTPUT: cannot read the full texts '{sidecar_path(shown)}': "
                         f"{err.strerror or err}.") from err
    try:
        with open(path, encoding="utf-8") as fh:
            entries = json.load(fh)
        if isinstance(entries, list) and all(isinstance(e, dict) for e in entries):
            yield from entries
            return
    except ValueError:
        pass
    raise InputError(f"OUTPUT: the full texts '{sidecar_path(shown)}' of the Shapefile are not "
                     "the JSON list label writes (edited or damaged); move it away or choose "
                     "another file.")


def _streamed_entries(path: str):
    with open(path, encoding="utf-8") as fh:
        lines = iter(fh)
        if next(lines, "").strip() != "[":
            raise ValueError("not streamed")
        for line in lines:
            text = line.strip().rstrip(",")
            if text == "]":
                return
            entry = json.loads(text)
            if not isinstance(entry, dict):
                raise ValueError("not an entry")
            yield entry
        raise ValueError("unterminated")
