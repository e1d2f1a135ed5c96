"""eolens:segment: text prompt -> mask raster and polygons."""
from __future__ import annotations

from typing import ClassVar

from qgis.core import QgsProcessingParameterDefinition, QgsProcessingParameterString

from ...translate import N_
from .base import EOLensAlgorithm, Run, check_model, tr
from .tile_params import add_tile_parameters, read_tiles


class SegmentAlgorithm(EOLensAlgorithm):
    ALG_ID = "segment"
    DISPLAY = N_("Segment objects (text → masks)")
    HELP = (N_("Outlines what PROMPT names (for example 'buildings'). OUTPUT_RASTER is a 0/1 mask on "
            "the captured grid; OUTPUT holds one polygon per mask. SAM_MODEL optionally refines "
            "the boxes with a SAM model. TILE_SIZE > 0 streams the layer tile by tile: the mask is "
            "written block by block on the layer's grid (any size) and regions cut by a seam are "
            "merged into one polygon. MAX_SIDE is the longest side of each image a model sees: the "
            "capture, or — with TILE_SIZE > 0 — each tile. A tile larger than MAX_SIDE is read at "
            "the coarser resolution that makes it MAX_SIDE pixels (the mask then lies on that "
            "coarser grid); 0 = native."))
    MODEL_TASK = "segment"
    MODEL_TASKS = ("segment",)
    PROMPT = "required"
    PROMPT_LABEL = N_("What to outline")
    OUTPUTS = ("OUTPUT", "OUTPUT_RASTER")
    OUTPUT_LABELS: ClassVar[dict[str, str]] = {"OUTPUT": N_("Mask polygons"), "OUTPUT_RASTER": N_("Mask raster")}

    def add_specific_parameters(self) -> None:
        param = QgsProcessingParameterString(
            "SAM_MODEL", tr("SAM model to refine boxes into masks (optional)"), optional=True)
        param.setFlags(param.flags() | QgsProcessingParameterDefinition.Flag.FlagAdvanced)
        self.addParameter(param)
        add_tile_parameters(self, N_("Tile size in pixels (0 = one capture of the whole extent)"))

    def validate_specific(self, parameters, context) -> None:
        sam = (self.parameterAsString(parameters, "SAM_MODEL", context) or "").strip()
        if sam:
            check_model(sam, ("segment_prompt",))  # boxes in: SAM / SAM 2.1 (SAM 3 takes text only)
        self.params(parameters, context).validate(self._destinations(parameters))

    def params(self, parameters, context):
        """The one place Processing's parameters become the action's ``SegmentParams``."""
        from ....inference.params import SegmentParams

        sam = (self.parameterAsString(parameters, "SAM_MODEL", context) or "").strip()
        return SegmentParams(**self.prompted_fields(parameters, context, read_tiles(self, parameters, context)), sam_model=sam or None)

    def read_specific(self, parameters, context) -> dict:
        return {"params": self.params(parameters, context)}

    def act(self, run: Run):
        from ....inference.whole_layer import segment_area

        return segment_area(run.values["params"], raster_path=run.stage("OUTPUT_RASTER"),
                            opts=run.opts, progress=run.progress, cancel=run.cancel)
