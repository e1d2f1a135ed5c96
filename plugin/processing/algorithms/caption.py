"""eolens:caption: describe an image region; the footprint feature carries the caption."""
from __future__ import annotations

from typing import ClassVar

from qgis.core import QgsProcessingParameterEnum

from ...translate import N_
from .base import EOLensAlgorithm, Run, tr

DETAILS = ("brief", "detailed", "more")


class CaptionAlgorithm(EOLensAlgorithm):
    ALG_ID = "caption"
    DISPLAY = N_("Caption image region")
    HELP = (N_("Describes the raster (or EXTENT of it) in words. OUTPUT holds one polygon, the "
            "captured footprint, with the caption; OUTPUT_TEXT optionally saves it as .txt or .json."))
    MODEL_TASK = "caption"
    MODEL_TASKS = ("caption",)
    OUTPUTS = ("OUTPUT", "OUTPUT_TEXT")
    OUTPUT_LABELS: ClassVar[dict[str, str]] = {"OUTPUT": N_("Caption footprint"), "OUTPUT_TEXT": N_("Caption text (.txt / .json)")}

    def add_specific_parameters(self) -> None:
        self.addParameter(QgsProcessingParameterEnum(
            "DETAIL", tr("Detail"), options=list(DETAILS), defaultValue="more",
            usesStaticStrings=True))

    def read_specific(self, parameters, context) -> dict:
        return {"detail": self.parameterAsEnumString(parameters, "DETAIL", context) or "more"}

    def act(self, run: Run):
        from ....inference import actions
        from ....inference.cancel import sub_progress

        image = self.capture(run)
        return actions.caption(image, run.model, detail=run.values["detail"], opts=run.opts,
                               progress=sub_progress(run.progress, 5, 100), cancel=run.cancel)
