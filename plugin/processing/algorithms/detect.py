"""eolens:detect: text prompt -> box polygons."""
from __future__ import annotations

from typing import ClassVar

from ...translate import N_
from .base import EOLensAlgorithm, Run
from .tile_params import add_tile_parameters, check_tiles, read_tiles


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
        check_tiles(parameters, context, self)

    def read_specific(self, parameters, context) -> dict:
        return read_tiles(self, parameters, context)

    def act(self, run: Run):
        from ....inference import actions
        from ....inference.cancel import sub_progress

        if run.values.get("tile"):
            src = run.source
            return actions.detect_tiled(
                src.path, run.prompt, run.model, bounds=src.bounds,
                bounds_crs=src.bounds_crs if src.bounds else None, tile=run.values["tile"],
                overlap=run.values["overlap"], bands=src.bands, max_side=run.max_side,
                opts=run.opts,
                progress=sub_progress(run.progress, 5, 100), cancel=run.cancel)
        image = self.capture(run)
        return actions.detect(image, run.prompt, run.model, opts=run.opts,
                              progress=sub_progress(run.progress, 5, 100), cancel=run.cancel)
