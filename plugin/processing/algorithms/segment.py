"""eolens:segment: text prompt -> mask raster and polygons."""
from __future__ import annotations

from typing import ClassVar

from qgis.core import QgsProcessingParameterDefinition, QgsProcessingParameterString

from ...translate import N_
from .base import EOLensAlgorithm, Run, check_model, tr
from .tile_params import StreamedRasterMixin, add_tile_parameters, check_tiles, read_tiles


class SegmentAlgorithm(StreamedRasterMixin, EOLensAlgorithm):
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
        check_tiles(parameters, context, self)
        sam = (self.parameterAsString(parameters, "SAM_MODEL", context) or "").strip()
        if sam:
            check_model(sam, ("segment_prompt",))  # boxes in: SAM / SAM 2.1 (SAM 3 takes text only)

    def read_specific(self, parameters, context) -> dict:
        return {"sam_model": (self.parameterAsString(parameters, "SAM_MODEL", context) or "").strip()
                or None, **read_tiles(self, parameters, context)}

    def act(self, run: Run):
        from ....inference import actions
        from ....inference.cancel import sub_progress

        if run.values.get("tile"):
            return self._streamed(run)
        image = self.capture(run)
        return actions.segment(image, run.prompt, run.model, sam_model=run.values["sam_model"],
                               opts=run.opts, progress=sub_progress(run.progress, 5, 100),
                               cancel=run.cancel)

    def _streamed(self, run: Run):
        from ....inference.actions import ActionResult
        from ....inference.cancel import sub_progress
        from ....inference.whole_layer import segment_layer

        src, v = run.source, run.values

        def stream(raster_path):
            return segment_layer(src.path, run.prompt, run.model, bounds=src.bounds,
                                 bounds_crs=src.bounds_crs if src.bounds else None, tile=v["tile"],
                                 overlap=v["overlap"], bands=src.bands, max_side=run.max_side,
                                 sam_model=v["sam_model"], raster_path=raster_path, opts=run.opts,
                                 progress=sub_progress(run.progress, 5, 100), cancel=run.cancel)

        return ActionResult(meta={"stream": stream})
