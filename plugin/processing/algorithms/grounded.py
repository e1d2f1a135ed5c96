"""CONTEXT_LAYERS and DOCUMENTS for eolens:ask and eolens:caption: answers grounded in the
analyst's own vector layers and documents, with the sources written out (issue 16).

The features are copied on the main thread (``prepareAlgorithm``); the worker builds the
grounding for the captured image with ``inference.grounding.prompt`` (the same code the dock uses).
"""
from __future__ import annotations

import json

from qgis.core import (QgsMapLayer, QgsProcessing, QgsProcessingParameterFile,
                       QgsProcessingParameterMultipleLayers, QgsProcessingUtils, QgsVectorLayer)

from ....inference.errors import InputError
from .base import tr
from .file_guard import parameter_items


def check_context_layer(item, context) -> None:
    """One CONTEXT_LAYERS item is a readable vector layer, else a message naming it and why."""
    if item in (None, ""):
        return
    layer = item if isinstance(item, QgsMapLayer) else \
        QgsProcessingUtils.mapLayerFromString(str(item), context)
    name = item.source().split("|")[0] if isinstance(item, QgsMapLayer) else str(item)
    if layer is None or not layer.isValid():
        raise InputError(tr("CONTEXT_LAYERS: '{0}' cannot be read as a vector layer (missing, "
                            "empty, or not a GIS file).").format(name))
    if not isinstance(layer, QgsVectorLayer):
        raise InputError(tr("CONTEXT_LAYERS: '{0}' is not a vector layer; context layers are "
                            "points, lines or polygons whose attributes ground the answer.").format(name))


class GroundedMixin:
    """Put before ``EOLensAlgorithm`` in the bases of an algorithm that takes context."""

    def add_grounding_parameters(self) -> None:
        self.addParameter(QgsProcessingParameterMultipleLayers(
            "CONTEXT_LAYERS", tr("Context: vector layers whose features in the area ground the answer"),
            QgsProcessing.SourceType.TypeVectorAnyGeometry, optional=True))
        self.addParameter(QgsProcessingParameterFile(
            "DOCUMENTS", tr("Context: a folder of documents (.txt, .md, .pdf)"),
            QgsProcessingParameterFile.Behavior.Folder, optional=True))

    def validate_grounding(self, parameters, context) -> None:
        from ....inference.grounding.documents import check_folder

        folder = self._documents(parameters, context)
        if folder:
            check_folder(folder)
        for item in parameter_items(parameters.get("CONTEXT_LAYERS")):
            check_context_layer(item, context)

    def read_grounding(self, parameters, context) -> dict:
        """Plain data (main thread): the context features in the raster's CRS and the folder."""
        from ...vector_snapshot import context_layers

        layers = self.parameterAsLayerList(parameters, "CONTEXT_LAYERS", context) or []
        snaps = []
        if layers:
            raster = self.parameterAsRasterLayer(parameters, "INPUT", context)
            extent, extent_crs = self._extent(parameters, context, raster)
            if extent is None:
                extent, extent_crs = raster.extent(), raster.crs()
            snaps = context_layers(layers, extent, extent_crs, raster.crs())
        return {"context_layers": snaps, "documents": self._documents(parameters, context)}

    def grounding(self, run, image, query: str):
        """The grounding for the captured ``image``, or None when no context was asked for."""
        from ....inference.grounding import prompt as grounding

        v = run.values
        if not v.get("context_layers") and not v.get("documents"):
            return None
        return grounding.for_image(image, query, layers=v["context_layers"],
                                   documents=v["documents"] or None)

    def write_text(self, result, path: str) -> None:
        """A .json OUTPUT_TEXT also holds ``answer`` and ``sources`` (documents in rank order)."""
        super().write_text(result, path)
        if not path.lower().endswith(".json"):
            return
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
        doc = {"answer": result.text, "sources": list(result.sources), **doc}
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")

    def _documents(self, parameters, context) -> str:
        if parameters.get("DOCUMENTS") in (None, ""):
            return ""
        return (self.parameterAsFile(parameters, "DOCUMENTS", context) or "").strip()
