"""The ``eolens`` Processing provider. Loaded at QGIS start, so it imports nothing heavy."""
from __future__ import annotations

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from ..definitions import ICON
from .algorithms import ALGORITHMS


class EOLensProvider(QgsProcessingProvider):
    def id(self) -> str:
        return "eolens"

    def name(self) -> str:
        return "EO Lens"

    def longName(self) -> str:
        return "EO Lens: talk to your imagery"

    def icon(self) -> QIcon:
        return QIcon(ICON)

    def svgIconPath(self) -> str:
        return ICON

    def loadAlgorithms(self) -> None:
        for cls in ALGORITHMS:
            self.addAlgorithm(cls())

    # Outputs go through inference.io.export, which writes GeoPackage/Shapefile and GeoTIFF only.
    def supportsNonFileBasedOutput(self) -> bool:
        return False

    def supportedOutputVectorLayerExtensions(self) -> list[str]:
        return ["gpkg", "shp"]

    def defaultVectorFileExtension(self, hasGeometry: bool = True) -> str:
        return "gpkg"

    def supportedOutputRasterLayerExtensions(self) -> list[str]:
        return ["tif"]

    def defaultRasterFileExtension(self) -> str:
        return "tif"
