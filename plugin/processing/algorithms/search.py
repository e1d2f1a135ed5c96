"""eolens:search: text query -> similarity heat raster and the top-K tile footprints."""
from __future__ import annotations

from typing import ClassVar

from qgis.core import QgsProcessingParameterDefinition, QgsProcessingParameterNumber

from ...translate import N_
from .base import EOLensAlgorithm, Run, tr


class SearchAlgorithm(EOLensAlgorithm):
    ALG_ID = "search"
    DISPLAY = N_("Search scene (text → heat map)")
    HELP = (N_("Tiles the raster (or EXTENT) at native resolution, embeds each TILE_SIZE tile with a "
            "remote-sensing CLIP model and scores it against PROMPT (for example 'a harbour with "
            "ships'). OUTPUT_RASTER is the similarity heat map; OUTPUT holds the TOP_K tile "
            "footprints with rank and score."))
    MODEL_TASK = "search"
    MODEL_TASKS = ("search", "embed_image")
    PROMPT = "required"
    PROMPT_LABEL = N_("Search query")
    OUTPUTS = ("OUTPUT", "OUTPUT_RASTER")
    OUTPUT_LABELS: ClassVar[dict[str, str]] = {"OUTPUT": N_("Top tiles"), "OUTPUT_RASTER": N_("Similarity heat raster")}
    USES_MAX_SIDE = False

    def add_specific_parameters(self) -> None:
        self.addParameter(QgsProcessingParameterNumber(
            "TILE_SIZE", tr("Tile size (pixels)"), QgsProcessingParameterNumber.Type.Integer, 224,
            minValue=16))
        overlap = QgsProcessingParameterNumber(
            "OVERLAP", tr("Tile overlap (pixels)"), QgsProcessingParameterNumber.Type.Integer, 0,
            minValue=0)
        overlap.setFlags(overlap.flags() | QgsProcessingParameterDefinition.Flag.FlagAdvanced)
        self.addParameter(overlap)
        self.addParameter(QgsProcessingParameterNumber(
            "TOP_K", tr("Number of top tiles"), QgsProcessingParameterNumber.Type.Integer, 10,
            minValue=1))

    def validate_specific(self, parameters, context) -> None:
        from ....inference.errors import InputError

        tile = self.parameterAsInt(parameters, "TILE_SIZE", context)
        if self.parameterAsInt(parameters, "TOP_K", context) < 1:
            raise InputError(tr("TOP_K must be at least 1."))
        if tile < 16:
            raise InputError(tr("TILE_SIZE must be at least 16 pixels."))
        if not 0 <= self.parameterAsInt(parameters, "OVERLAP", context) < tile:
            raise InputError(tr("OVERLAP must be at least 0 and smaller than TILE_SIZE."))

    def read_specific(self, parameters, context) -> dict:
        return {"tile": self.parameterAsInt(parameters, "TILE_SIZE", context),
                "overlap": self.parameterAsInt(parameters, "OVERLAP", context),
                "top_k": self.parameterAsInt(parameters, "TOP_K", context)}

    def act(self, run: Run):
        from ....inference import actions

        src, v = run.source, run.values
        return actions.search(src.path, run.prompt, run.model, bounds=src.bounds,
                              bounds_crs=src.bounds_crs if src.bounds else None, tile=v["tile"],
                              overlap=v["overlap"], top_k=v["top_k"],
                              bands=list(src.bands) if src.bands else None, opts=run.opts,
                              progress=run.progress, cancel=run.cancel)
