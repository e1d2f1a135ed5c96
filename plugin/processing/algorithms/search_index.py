"""eolens:search_index: text or an example region -> the top-K tiles across an archive index."""
from __future__ import annotations

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

from ....inference.batch_params import SearchIndexParams
from ....inference.errors import EOLensError, InputError
from ....inference.validate import check_raster_file
from ...capture import snapshot
from ...translate import N_
from .base import EOLensAlgorithm, Run, raw_destination, split_layer, tr
from .index import add_device_parameters, apply_settings_environment, device_and_offline


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

    def _example(self, parameters, context):
        layer = self.parameterAsRasterLayer(parameters, "EXAMPLE", context)
        if layer is None or not layer.isValid():
            raw = parameters.get("EXAMPLE")
            raw = raw.source() if hasattr(raw, "source") else str(raw or "")
            if not raw.strip():
                return None
            check_raster_file(raw.split("|")[0], "EXAMPLE")  # missing, empty, not a raster...
            raise InputError(tr("EXAMPLE: '{0}' is not a raster layer QGIS can open.").format(raw))
        rect, crs = None, None
        if parameters.get("EXTENT") not in (None, ""):
            rect = self.parameterAsExtent(parameters, "EXTENT", context)
            crs = self.parameterAsExtentCrs(parameters, "EXTENT", context)
            crs = crs if crs.isValid() else layer.crs()
        return snapshot(layer, rect if rect is not None and not rect.isEmpty() else None, crs)

    def params(self, parameters, context, example=None) -> SearchIndexParams:
        """The one place the run's typed parameters are built from the Processing parameters."""
        device, offline = device_and_offline(self, parameters, context)
        output = raw_destination(parameters.get("OUTPUT"))
        named = output and output != "TEMPORARY_OUTPUT" and not output.startswith(("memory:", "ogr:"))
        return SearchIndexParams(
            index=(self.parameterAsFile(parameters, "INDEX", context) or "").strip(),
            output=split_layer(output)[0] if named else "",
            prompt=(self.parameterAsString(parameters, "PROMPT", context) or "").strip(),
            example=(example.path or example.name) if example is not None else "",
            top_k=self.parameterAsInt(parameters, "TOP_K", context),
            model=(self.parameterAsString(parameters, "MODEL", context) or "").strip(),
            device=device, offline=offline)

    def validate(self, parameters, context) -> None:
        self.params(parameters, context, self._example(parameters, context)).validate()

    def prepareAlgorithm(self, parameters, context, feedback):
        from ....inference.actions import RunOptions

        apply_settings_environment()
        try:
            example = self._example(parameters, context)
            params = self.params(parameters, context, example)
            params.validate()
            self._run = Run(
                source=example, source_b=None, prompt=params.prompt, model=params.model,
                max_side=None, opts=RunOptions(device=params.device, offline=params.offline),
                values={"params": params})
        except EOLensError as err:
            raise QgsProcessingException(str(err)) from err
        return True

    def act(self, run: Run):
        from ....inference.archive.query import search_index

        src = run.source
        example = None if src is None else {
            "path": src.path or src.name, "image": src.image, "bounds": src.bounds,
            "bounds_crs": src.bounds_crs if src.bounds else None, "bands": src.bands}
        params: SearchIndexParams = run.values["params"]
        return search_index(params.index, prompt=params.prompt, example=example,
                            top_k=params.top_k, model=params.model or None,
                            device=run.opts.device, offline=run.opts.offline,
                            progress=run.progress, cancel=run.cancel)
