"""eolens:detect: text prompt -> box polygons."""
from __future__ import annotations

from typing import ClassVar

from ...translate import N_
from .base import EOLensAlgorithm, Run
from .tile_params import add_tile_parameters, read_tiles


class DetectAlgorithm(EOLensAlgorithm):
    ALG_ID = "detect"
    DISPLAY = N_("Detect objects (text → boxes)")
    HELP = (N_("Finds the objects named in PROMPT (for example 'airplanes') and writes one box "
            "polygon per object, in the raster's CRS (rotated with the raster when it is rotated). "
            "An empty prompt detects every object the model knows. TILE_SIZE > 0 streams the "
            "layer tile by tile (small objects survive); boxes repeated across tile seams are "
            "merged in map space. MAX_SIDE is the longest side of each image a model sees: the "
            "capture, or — with TILE_SIZE > 0 — each tile. A tile larger than MAX_SIDE is read at "
            "the coarser resolution that makes it MAX_SIDE pixels; 0 = native."))
    MODEL_TASK = "detect"
    MODEL_TASKS = ("detect", "ground")
    PROMPT = "optional"
    PROMPT_LABEL = N_("What to detect")
    OUTPUT_LABELS: ClassVar[dict[str, str]] = {"OUTPUT": N_("Boxes")}

    def add_specific_parameters(self) -> None:
        add_tile_parameters(self, N_("Tile size in pixels (0 = one capture of the whole extent)"))

    def validate_specific(self, parameters, context) -> None:
        self.params(parameters, context).validate(self._destinations(parameters))

    def params(self, parameters, context):
        """The one place Processing's parameters become the action's ``DetectParams``."""
        from ....inference.params import DetectParams

        return DetectParams(**self.prompted_fields(parameters, context, read_tiles(self, parameters, context)))

    def read_specific(self, parameters, context) -> dict:
        return {"params": self.params(parameters, context)}

    def act(self, run: Run):
        from ....inference.whole_layer import detect_area

        return detect_area(run.values["params"], opts=run.opts, progress=run.progress,
                           cancel=run.cancel)
