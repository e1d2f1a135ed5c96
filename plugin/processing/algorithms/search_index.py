"""eolens:search_index: text or an example region -> the top-K tiles across an archive index."""
from __future__ import annotations

import os
from typing import ClassVar

from qgis.core import (
    QgsProcessingException,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)

from ....inference.errors import EOLensError, InputError
from ...capture import snapshot
from ...translate import N_
from .base import EOLensAlgorithm, Run, check_model, raw_destination, tr
from .index import add_device_parameters, device_and_offline


class SearchIndexAlgorithm(EOLensAlgorithm):
    ALG_ID = "search_index"
    DISPLAY = N_("Search an archive index (text or example → top tiles)")
    HELP = (N_("Finds the TOP_K tiles of an index built by 'Index rasters' that best match PROMPT "
            "(for example 'a flooded road'), or that look most like the EXTENT of the EXAMPLE "
            "raster ('more like this'). OUTPUT holds their footprints (EPSG:4326) with rank, "
            "score (cosine similarity) and source (the raster's path). The index's own model is "
            "used unless MODEL names the same model in another place."))
    OUTPUTS = ("OUTPUT",)
    OUTPUT_LABELS: ClassVar[dict[str, str]] = {"OUTPUT": N_("Top tiles")}

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFile(
            "INDEX", tr("Index file"), QgsProcessingParameterFile.Behavior.File, "gpkg"))
        self.addParameter(QgsProcessingParameterString(
            "PROMPT", tr("Search query (or use an example)"), optional=True))
        self.addParameter(QgsProcessingParameterRasterLayer(
            "EXAMPLE", tr("Example raster ('more like this')"), optional=True))
        self.addParameter(QgsProcessingParameterExtent(
            "EXTENT", tr("Example region (default: the whole example raster)"), optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            "TOP_K", tr("Number of top tiles"), QgsProcessingParameterNumber.Type.Integer, 10,
            minValue=1))
        model = QgsProcessingParameterString(
            "MODEL", tr("Model (default: the one the index was built with)"), optional=True)
        model.setFlags(model.flags() | QgsProcessingParameterDefinition.Flag.FlagAdvanced)
        self.addParameter(model)
        add_device_parameters(self)
        self.add_outputs()

    def _index(self, parameters, context) -> str:
        path = (self.parameterAsFile(parameters, "INDEX", context) or "").strip()
        if not path or not os.path.isfile(path):
            raise InputError(tr("INDEX: the index file '{0}' does not exist; build it with "
                                "eolens:index.").format(path))
        return path

    def _example(self, parameters, context):
        layer = self.parameterAsRasterLayer(parameters, "EXAMPLE", context)
        if layer is None:
            return None
        rect, crs = None, None
        if parameters.get("EXTENT") not in (None, ""):
            rect = self.parameterAsExtent(parameters, "EXTENT", context)
            crs = self.parameterAsExtentCrs(parameters, "EXTENT", context)
            crs = crs if crs.isValid() else layer.crs()
        return snapshot(layer, rect if rect is not None and not rect.isEmpty() else None, crs)

    def validate(self, parameters, context) -> None:
        self._index(parameters, context)
        prompt = (self.parameterAsString(parameters, "PROMPT", context) or "").strip()
        example = self._example(parameters, context)
        if bool(prompt) == (example is not None):
            raise InputError(tr("Give either a PROMPT or an EXAMPLE raster (with an EXTENT)."))
        model = (self.parameterAsString(parameters, "MODEL", context) or "").strip()
        if model:
            check_model(model, ("search", "embed_image"))
        self._check_destination("OUTPUT", raw_destination(parameters.get("OUTPUT")))

    def prepareAlgorithm(self, parameters, context, feedback):
        from ....inference.actions import RunOptions

        try:
            self.validate(parameters, context)
            device, offline = device_and_offline(self, parameters, context)
            example = self._example(parameters, context)
            self._run = Run(
                source=example, source_b=None,
                prompt=(self.parameterAsString(parameters, "PROMPT", context) or "").strip(),
                model=(self.parameterAsString(parameters, "MODEL", context) or "").strip(),
                max_side=None, opts=RunOptions(device=device, offline=offline),
                values={"index": self._index(parameters, context),
                        "top_k": self.parameterAsInt(parameters, "TOP_K", context)})
        except EOLensError as err:
            raise QgsProcessingException(str(err)) from err
        return True

    def act(self, run: Run):
        from ....inference.index_query import search_index

        src = run.source
        example = None if src is None else {
            "path": src.path or src.name, "image": src.image, "bounds": src.bounds,
            "bounds_crs": src.bounds_crs if src.bounds else None, "bands": src.bands}
        return search_index(run.values["index"], prompt=run.prompt, example=example,
                            top_k=run.values["top_k"], model=run.model or None,
                            device=run.opts.device, offline=run.opts.offline,
                            progress=run.progress, cancel=run.cancel)
