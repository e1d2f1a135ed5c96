"""eolens:change: two dates -> change caption, heat raster and change polygons."""
from __future__ import annotations

from typing import ClassVar

from qgis.core import (QgsProcessingParameterEnum, QgsProcessingParameterNumber,
                       QgsProcessingParameterString)

from ....inference.tasks import Task
from ...translate import N_
from .base import EOLensAlgorithm, Run, check_model, plugin_defaults, tr
from .tile_params import add_tile_parameters, read_tiles

METHODS = ("spectral", "semantic", "vlm")
# method -> (registry default key, registry tasks a model must have one of)
METHOD_MODELS = {"semantic": (Task.FEATURES, (Task.FEATURES, Task.EMBED_IMAGE)),
                 "vlm": (Task.CHANGE_CAPTION, (Task.CHANGE_CAPTION,))}


class ChangeAlgorithm(EOLensAlgorithm):
    ALG_ID = "change"
    DISPLAY = N_("Compare two dates")
    HELP = (N_("Warps INPUT_B (after) onto the grid of INPUT (before) over their overlap (and EXTENT), "
            "then compares them. METHOD spectral needs no model; semantic compares deep features; "
            "vlm also writes a change caption with a two-image model. OUTPUT_RASTER is the change "
            "heat map on INPUT's grid, OUTPUT the change polygons, OUTPUT_TEXT the caption or a "
            "summary. THRESHOLD (empty = automatic) cuts the heat map; MIN_AREA drops smaller "
            "polygons (square map units of INPUT's CRS). Every method streams block by block when "
            "TILE_SIZE > 0 or when the pair does not fit in memory: the heat raster is written "
            "block by block and regions cut by a seam stay one polygon. Spectral statistics come "
            "from a first pass, so the result does not depend on TILE_SIZE; semantic features are "
            "computed per block with 1/8 of a block of context on each side, and the threshold "
            "from a sample of every block. MAX_SIDE caps each block (a block larger than it is "
            "read coarser). LABEL_MODEL names every region and, with vlm, CAPTION_REGIONS "
            "captions the largest regions, each from its own chip of both dates, also on a "
            "streamed run."))
    TWO_DATES = True
    OUTPUTS = ("OUTPUT", "OUTPUT_RASTER", "OUTPUT_TEXT")
    OUTPUT_LABELS: ClassVar[dict[str, str]] = {"OUTPUT": N_("Change polygons"), "OUTPUT_RASTER": N_("Change heat raster"),
                     "OUTPUT_TEXT": N_("Change caption / summary (.txt / .json)")}

    def add_specific_parameters(self) -> None:
        self.addParameter(QgsProcessingParameterEnum(
            "METHOD", tr("Method"), options=list(METHODS), defaultValue="spectral",
            usesStaticStrings=True))
        self.addParameter(QgsProcessingParameterNumber(
            "THRESHOLD", tr("Change threshold (empty = automatic)"),
            QgsProcessingParameterNumber.Type.Double, None, optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            "MIN_AREA", tr("Minimum polygon area (square map units)"),
            QgsProcessingParameterNumber.Type.Double, 0.0, minValue=0.0))
        self.addParameter(QgsProcessingParameterString(
            "LABEL_MODEL", tr("CLIP model that names each change region (optional)"), optional=True))
        self.addParameter(QgsProcessingParameterString(
            "LABELS", tr("Region labels, comma separated (optional)"), optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            "CAPTION_REGIONS", tr("vlm: also caption the N largest change regions as chips "
                                  "(0 = none)"),
            QgsProcessingParameterNumber.Type.Integer, 0, minValue=0))
        add_tile_parameters(self, N_("Block size in pixels for streaming (0 = automatic: stream "
                                     "only when the pair does not fit in memory)"), overlap=None)

    def method(self, parameters, context) -> str:
        return self.parameterAsEnumString(parameters, "METHOD", context) or "spectral"

    def model_name(self, parameters, context) -> str:
        model = (self.parameterAsString(parameters, "MODEL", context) or "").strip()
        method = self.method(parameters, context)
        if not model and method in METHOD_MODELS:
            model = plugin_defaults(METHOD_MODELS[method][0])["model"]
        return model

    def validate_specific(self, parameters, context) -> None:
        method = self.method(parameters, context)
        if method in METHOD_MODELS:
            check_model(self.model_name(parameters, context), METHOD_MODELS[method][1])
        label_model = (self.parameterAsString(parameters, "LABEL_MODEL", context) or "").strip()
        if label_model:
            check_model(label_model, ("classify", "embed_image"))
        self.params(parameters, context).validate(self._destinations(parameters))

    def params(self, parameters, context):
        """The one place Processing's parameters become the action's ``ChangeParams``."""
        from ....inference.params import ChangeParams

        a, b = self._source(parameters, context, "INPUT"), self._source(parameters, context, "INPUT_B")
        threshold = parameters.get("THRESHOLD")
        labels = [t.strip() for t in (self.parameterAsString(parameters, "LABELS", context)
                                      or "").split(",") if t.strip()]
        method = self.method(parameters, context)
        return ChangeParams(
            path_a=a.path, path_b=b.path, area=self.action_area(parameters, context, a),
            method=method,
            model=self.model_name(parameters, context) if method != "spectral" else None,
            threshold=None if threshold in (None, "") else
            self.parameterAsDouble(parameters, "THRESHOLD", context),
            min_area=self.parameterAsDouble(parameters, "MIN_AREA", context),
            label_model=(self.parameterAsString(parameters, "LABEL_MODEL", context) or "").strip()
            or None,
            labels=tuple(labels) or None,
            caption_regions=max(0, self.parameterAsInt(parameters, "CAPTION_REGIONS", context)),
            tile=read_tiles(self, parameters, context)["tile"])

    def read_specific(self, parameters, context) -> dict:
        return {"params": self.params(parameters, context)}

    def act(self, run: Run):
        from ....inference.whole_layer import change_area

        return change_area(run.values["params"], raster_path=run.stage("OUTPUT_RASTER"),
                           opts=run.opts, progress=run.progress, cancel=run.cancel)
