"""eolens:segment: text prompt -> mask raster and polygons."""
from __future__ import annotations

from typing import ClassVar

from qgis.core import QgsProcessingParameterDefinition, QgsProcessingParameterString

from ...translate import N_
from .base import EOLensAlgorithm, Run, check_model, tr


class SegmentAlgorithm(EOLensAlgorithm):
    ALG_ID = "segment"
    DISPLAY = N_("Segment objects (text → masks)")
    HELP = (N_("Outlines what PROMPT names (for example 'buildings'). OUTPUT_RASTER is a 0/1 mask on "
            "the captured grid; OUTPUT holds one polygon per mask. SAM_MODEL optionally refines "
            "the boxes with a SAM model."))
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

    def validate_specific(self, parameters, context) -> None:
        sam = (self.parameterAsString(parameters, "SAM_MODEL", context) or "").strip()
        if sam:
            check_model(sam, ("segment_prompt",))  # boxes in: SAM / SAM 2.1 (SAM 3 takes text only)

    def read_specific(self, parameters, context) -> dict:
        return {"sam_model": (self.parameterAsString(parameters, "SAM_MODEL", context) or "").strip()
                or None}

    def act(self, run: Run):
        from ....inference import actions
        from ....inference.cancel import sub_progress

        image = self.capture(run)
        return actions.segment(image, run.prompt, run.model, sam_model=run.values["sam_model"],
                               opts=run.opts, progress=sub_progress(run.progress, 5, 100),
                               cancel=run.cancel)
