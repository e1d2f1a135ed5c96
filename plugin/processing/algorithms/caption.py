"""eolens:caption: describe an image region; the footprint feature carries the caption."""
from __future__ import annotations

from typing import ClassVar

from qgis.core import QgsProcessingParameterEnum

from ...translate import N_
from .base import EOLensAlgorithm, Run, tr
from .grounded import GroundedMixin

DETAILS = ("brief", "detailed", "more")


class CaptionAlgorithm(GroundedMixin, EOLensAlgorithm):
    ALG_ID = "caption"
    DISPLAY = N_("Caption image region")
    HELP = (N_("Describes the raster (or EXTENT of it) in words. OUTPUT holds one polygon, the "
            "captured footprint, with the caption; OUTPUT_TEXT optionally saves it as .txt or .json. "
            "With a chat model (Qwen-VL), CONTEXT_LAYERS and DOCUMENTS ground the caption in the "
            "analyst's features and documents; the sources are written out."))
    MODEL_TASK = "caption"
    MODEL_TASKS = ("caption",)
    OUTPUTS = ("OUTPUT", "OUTPUT_TEXT")
    OUTPUT_LABELS: ClassVar[dict[str, str]] = {"OUTPUT": N_("Caption footprint"), "OUTPUT_TEXT": N_("Caption text (.txt / .json)")}

    def add_specific_parameters(self) -> None:
        self.addParameter(QgsProcessingParameterEnum(
            "DETAIL", tr("Detail"), options=list(DETAILS), defaultValue="more",
            usesStaticStrings=True))
        self.add_grounding_parameters()

    def validate_specific(self, parameters, context) -> None:
        self.validate_grounding(parameters, context)

    def read_specific(self, parameters, context) -> dict:
        return {"detail": self.parameterAsEnumString(parameters, "DETAIL", context) or "more",
                **self.read_grounding(parameters, context)}

    def act(self, run: Run):
        from ....inference import actions
        from ....inference.cancel import sub_progress

        image = self.capture(run)
        return actions.caption(image, run.model, detail=run.values["detail"], opts=run.opts,
                               progress=sub_progress(run.progress, 5, 100), cancel=run.cancel,
                               grounding=self.grounding(run, image, ""))
