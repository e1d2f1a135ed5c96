"""eolens:caption: describe an image region; the footprint feature carries the caption."""
from __future__ import annotations

from typing import ClassVar

from qgis.core import QgsProcessingParameterEnum

from ...translate import N_
from .base import EOLensAlgorithm, Run, tr
from .tile_params import add_tile_parameters, check_tiles, read_tiles
from .grounded import GroundedMixin

DETAILS = ("brief", "detailed", "more")


class CaptionAlgorithm(GroundedMixin, EOLensAlgorithm):
    ALG_ID = "caption"
    DISPLAY = N_("Caption image region")
    HELP = (N_("Describes the raster (or EXTENT of it) in words. OUTPUT holds one polygon, the "
            "captured footprint, with the caption; OUTPUT_TEXT optionally saves it as .txt or .json. "
            "With a chat model (Qwen-VL), CONTEXT_LAYERS and DOCUMENTS ground the caption in the "
            "analyst's features and documents; the sources are written out. TILE_SIZE > 0 captions "
            "every tile instead: one polygon per tile, a map of what is where. MAX_SIDE is the "
            "longest side of each image a model sees: the capture, or — with TILE_SIZE > 0 — each "
            "tile. A tile larger than MAX_SIDE is read at the coarser resolution that makes it "
            "MAX_SIDE pixels; 0 = native."))
    MODEL_TASK = "caption"
    MODEL_TASKS = ("caption",)
    OUTPUTS = ("OUTPUT", "OUTPUT_TEXT")
    OUTPUT_LABELS: ClassVar[dict[str, str]] = {"OUTPUT": N_("Caption footprint"), "OUTPUT_TEXT": N_("Caption text (.txt / .json)")}

    def add_specific_parameters(self) -> None:
        self.addParameter(QgsProcessingParameterEnum(
            "DETAIL", tr("Detail"), options=list(DETAILS), defaultValue="more",
            usesStaticStrings=True))
        self.add_grounding_parameters()
        add_tile_parameters(self, N_("Tile size in pixels (0 = one caption of the whole extent)"),
                            overlap=0)

    def validate_specific(self, parameters, context) -> None:
        self.validate_grounding(parameters, context)
        check_tiles(parameters, context, self)

    def read_specific(self, parameters, context) -> dict:
        return {"detail": self.parameterAsEnumString(parameters, "DETAIL", context) or "more",
                **self.read_grounding(parameters, context), **read_tiles(self, parameters, context)}

    def act(self, run: Run):
        from ....inference import actions
        from ....inference.cancel import sub_progress

        if run.values.get("tile"):
            from ....inference.whole_layer import caption_tiles

            src = run.source
            result = caption_tiles(src.path, run.model, bounds=src.bounds,
                                 bounds_crs=src.bounds_crs if src.bounds else None,
                                 tile=run.values["tile"], overlap=run.values["overlap"],
                                 bands=src.bands, max_side=run.max_side,
                                 detail=run.values["detail"], opts=run.opts,
                                 progress=sub_progress(run.progress, 5, 100), cancel=run.cancel)
            if run.values.get("context_layers") or run.values.get("documents"):
                result.warnings.append(tr(
                    "CONTEXT_LAYERS and DOCUMENTS are not used when captioning tile by tile "
                    "(TILE_SIZE {0}); set TILE_SIZE to 0 for one caption grounded in them.").format(
                        run.values["tile"]))
            return result
        image = self.capture(run)
        return actions.caption(image, run.model, detail=run.values["detail"], opts=run.opts,
                               progress=sub_progress(run.progress, 5, 100), cancel=run.cancel,
                               grounding=self.grounding(run, image, ""))
