"""Every file an algorithm reads is checked against every file it writes, for every algorithm.

The guard walks the algorithm's own parameter definitions, so an algorithm added later is covered
without opting in: each layer, multi-layer, feature source and file parameter is an input; each
destination is an output. Layers in the project are resolved to their files. No output may be an
input (same file after links and ``..``), and no output may land inside an input folder where
that folder's reader would pick it up. It runs before any model loads and reads no pixels.
"""
from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from typing import Any

from qgis.core import (
    QgsMapLayer,
    QgsProcessingFeatureSourceDefinition,
    QgsProcessingOutputLayerDefinition,
    QgsProcessingParameterFile,
    QgsProcessingUtils,
    QgsProperty,
    QgsProviderRegistry,
)

from ....inference.errors import InputError
from ....inference.validate import check_distinct

LAYER_TYPES = ("raster", "vector", "layer", "source", "multilayer", "mesh", "pointcloud")
SPECIAL = ("TEMPORARY_OUTPUT", "memory:", "ogr:", "postgres:", "postgis:", "spatialite:")


def tr(text: str) -> str:
    from qgis.PyQt.QtCore import QCoreApplication

    return QCoreApplication.translate("EOLensProcessing", text)


def _uri_path(provider: str, uri: str) -> str:
    """The local file of a data source URI (``a.gpkg|layername=x``, ``GPKG:a.gpkg:t``), or ''."""
    for key in (provider, "ogr", "gdal"):
        if not key:
            continue
        try:
            path = QgsProviderRegistry.instance().decodeUri(key, uri).get("path") or ""
        except Exception:  # noqa: BLE001 - an unknown provider decodes nothing
            path = ""
        if path:
            return str(path)
    return uri.split("|")[0]


def _layer_file(layer: QgsMapLayer) -> str:
    return _uri_path(layer.providerType(), layer.source())


def _static(value: Any) -> Any:
    if isinstance(value, QgsProperty):
        return value.staticValue()
    if isinstance(value, QgsProcessingFeatureSourceDefinition):
        return _static(value.source)
    if isinstance(value, QgsProcessingOutputLayerDefinition):
        return _static(value.sink)
    return value


def parameter_items(value: Any) -> list:
    """The values of a (multi-)layer parameter: layers or strings, one per item."""
    value = _static(value)
    if isinstance(value, (list, tuple)):
        return [_static(v) for v in value]
    if isinstance(value, str) and ";" in value and not os.path.exists(value):
        return value.split(";")   # qgis_process passes a multi-layer value joined by ';'
    return [value]


def _file_of(value: Any, context) -> str:
    """The local file a layer parameter's value stands for, or '' (memory, database, nothing)."""
    if isinstance(value, QgsMapLayer):
        return _layer_file(value)
    if not isinstance(value, str) or not value.strip() or value.startswith(SPECIAL):
        return ""
    path = _uri_path("", value.strip())
    if os.path.exists(path):
        return path
    layer = QgsProcessingUtils.mapLayerFromString(value, context) if context is not None else None
    return _layer_file(layer) if layer is not None else ""


def _folder_root(text: str) -> str:
    """The folder a folder parameter reads: the text itself, or a pattern's fixed prefix."""
    if glob.has_magic(text):
        parts = text.replace("\\", "/").split("/")
        fixed = []
        for part in parts:
            if glob.has_magic(part):
                break
            fixed.append(part)
        return "/".join(fixed) or "."
    return text


def read_paths(alg, parameters: dict, context) -> tuple[dict[str, str], dict[str, str]]:
    """(files, folders) the run reads, each keyed by a label naming its parameter."""
    files: dict[str, str] = {}
    folders: dict[str, str] = {}
    for d in alg.parameterDefinitions():
        name = d.name()
        if d.isDestination() or name not in parameters or parameters[name] in (None, ""):
            continue
        if d.type() == "file":
            text = str(_static(parameters[name]) or "").strip()
            if not text:
                continue
            if d.behavior() == QgsProcessingParameterFile.Behavior.Folder or glob.has_magic(text):
                folders[name] = _folder_root(text)
            else:
                files[name] = text
        elif d.type() in LAYER_TYPES:
            items = [_file_of(v, context) for v in parameter_items(parameters[name])]
            items = [p for p in items if p]
            for path in items:
                files[name if len(items) == 1 else f"{name} ({os.path.basename(path)})"] = path
    return files, folders


def written_paths(alg, parameters: dict) -> dict[str, str]:
    """The files the analyst named as destinations (temporary and database outputs left out)."""
    out: dict[str, str] = {}
    for d in alg.parameterDefinitions():
        if not d.isDestination():
            continue
        value = _static(parameters.get(d.name()))
        if not isinstance(value, str) or not value.strip() or value.startswith(SPECIAL):
            continue
        out[d.name()] = _uri_path("", value.strip())
    return out


def _real(path: str) -> str:
    return os.path.normcase(os.path.realpath(os.path.abspath(path)))


def _inside(path: str, folder: str) -> bool:
    folder = _real(folder)
    return os.path.commonpath([_real(path), folder]) == folder


def check_folders(folders: dict[str, str], outputs: dict[str, str],
                  reads: dict[str, Iterable[str]]) -> None:
    """No output inside an input folder with an extension that folder's reader takes (a folder
    parameter not listed in ``reads`` takes every file)."""
    for fname, folder in folders.items():
        exts = tuple(e.lower() for e in reads.get(fname, ()))
        for oname, path in outputs.items():
            if not _inside(path, folder):
                continue
            if not exts or os.path.splitext(path)[1].lower() in exts:
                raise InputError(tr(
                    "{0}: '{1}' is inside the folder {2} reads ('{3}'); choose a file outside "
                    "it, EO Lens never writes where it reads its inputs.").format(
                        oname, path, fname, folder))


def folder_reads() -> dict[str, tuple[str, ...]]:
    """What each folder parameter's reader takes; any other folder parameter takes every file."""
    from ....inference.archive.build import RASTER_EXTS
    from ....inference.grounding.documents import EXTENSIONS

    return {"DOCUMENTS": tuple(EXTENSIONS), "FOLDER": tuple(RASTER_EXTS)}


def check_files(alg, parameters: dict, context) -> dict[str, str]:
    """Refuse, with a message naming both parameters, any output that is an input; returns the
    input files by parameter."""
    files, folders = read_paths(alg, parameters, context)
    outputs = written_paths(alg, parameters)
    check_distinct(files, outputs)
    check_folders(folders, outputs, {**folder_reads(), **getattr(alg, "FOLDER_READS", {})})
    return files
