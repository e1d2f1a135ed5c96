"""eolens:detect: text prompt -> box polygons."""
from __future__ import annotations

from typing import ClassVar

from ...translate import N_
from .base import EOLensAlgorithm, Run


class DetectAlgorithm(EOLensAlgorithm):
    ALG_ID = "detect"
    DISPLAY = N_("Detect objects (text → boxes)")
    HELP = (N_("Finds the objects named in PROMPT (for example 'airplanes') and writes one box "
            "polygon per object, in the raster's CRS (rotated with the raster when it is rotated). "
            "An empty prompt detects every object the model knows."))
    MODEL_TASK = "detect"
    MODEL_TASKS = ("detect", "ground")
    PROMPT = "optional"
    PROMPT_LABEL = N_("What to detect")
    OUTPUT_LABELS: ClassVar[dict[str, str]] = {"OUTPUT": N_("Boxes")}

    def act(self, run: Run):
        from ....inference import actions
        from ....inference.cancel import sub_progress

        image = self.capture(run)
        return actions.detect(image, run.prompt, run.model, opts=run.opts,
                              progress=sub_progress(run.progress, 5, 100), cancel=run.cancel)
