"""TILE_SIZE / OVERLAP for the algorithms that stream a whole layer, and outputs written while
streaming (a raster larger than memory goes straight into its staged file)."""
from __future__ import annotations

from qgis.core import QgsProcessingParameterDefinition, QgsProcessingParameterNumber

from .base import tr


def add_tile_parameters(alg, tile_help: str, overlap: int | None = 128) -> None:
    """TILE_SIZE (0 = no tiling) and, when ``overlap`` is not None, OVERLAP (advanced)."""
    alg.addParameter(QgsProcessingParameterNumber(
        "TILE_SIZE", tr(tile_help), QgsProcessingParameterNumber.Type.Integer, 0, minValue=0))
    if overlap is not None:
        param = QgsProcessingParameterNumber(
            "OVERLAP", tr("Tile overlap in pixels (objects cut by a seam are merged)"),
            QgsProcessingParameterNumber.Type.Integer, overlap, minValue=0)
        param.setFlags(param.flags() | QgsProcessingParameterDefinition.Flag.FlagAdvanced)
        alg.addParameter(param)


def read_tiles(alg, parameters, context) -> dict:
    has_overlap = alg.parameterDefinition("OVERLAP") is not None
    tile = alg.parameterAsInt(parameters, "TILE_SIZE", context)
    overlap = alg.parameterAsInt(parameters, "OVERLAP", context) if has_overlap else 0
    return {"tile": max(0, tile), "overlap": max(0, overlap)}


def check_tiles(parameters, context, alg) -> None:
    from ....inference.errors import InputError

    v = read_tiles(alg, parameters, context)
    if v["tile"] and not 0 <= v["overlap"] < v["tile"]:
        raise InputError(tr("OVERLAP ({0}) must be smaller than TILE_SIZE ({1}).").format(
            v["overlap"], v["tile"]))
    if v["tile"] and v["tile"] < 32:
        raise InputError(tr("TILE_SIZE {0}: use at least 32 pixels, or 0 for no tiling.").format(
            v["tile"]))


class StreamedRasterMixin:
    """For results whose raster is written during the run: ``act`` returns an ActionResult with
    ``meta["stream"]``, a function (staged raster path or None) -> the finished ActionResult.
    It runs here, where the output set exists, so a failure or Cancel leaves no file."""

    def write_outputs(self, result, parameters, context, written, feedback) -> dict:
        stream = result.meta.pop("stream", None)
        if stream is None:
            return super().write_outputs(result, parameters, context, written, feedback)
        raster = self.parameterAsOutputLayer(parameters, "OUTPUT_RASTER", context) or None
        if raster:
            self._check_destination("OUTPUT_RASTER", raster)
        ext = raster[raster.rfind("."):] if raster else ""
        done = stream(written.stage(raster, (ext + ".aux.xml", ext + ".ovr")) if raster else None)
        vars(result).update(vars(done))  # processAlgorithm reports the act's result object
        result.raster = None
        # The raster is already staged: the shared writer handles the other outputs only.
        self.OUTPUTS = tuple(o for o in type(self).OUTPUTS if o != "OUTPUT_RASTER")
        try:
            out = super().write_outputs(result, parameters, context, written, feedback)
        finally:
            del self.OUTPUTS
        if raster:
            out["OUTPUT_RASTER"] = raster
        return out
