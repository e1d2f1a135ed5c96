"""TILE_SIZE / OVERLAP for the algorithms that stream a whole layer."""
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
    """TILE_SIZE / OVERLAP checked by the same rule as the actions' typed parameters."""
    from ....inference.params import check_tiles as check

    v = read_tiles(alg, parameters, context)
    check(v["tile"], v["overlap"])
