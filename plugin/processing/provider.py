"""The ``eolens`` Processing provider. Loaded at QGIS start, so it imports nothing heavy."""
from __future__ import annotations

import os

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from .algorithms import ALGORITHMS

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ICON = os.path.join(PLUGIN_DIR, "resources", "icon.svg")


class EOLensProvider(QgsProcessingProvider):
    def id(self) -> str:
        return "eolens"

    def name(self) -> str:
        return "EO Lens"

    def longName(self) -> str:  # noqa: N802
        return "EO Lens: talk to your imagery"

    def icon(self) -> QIcon:
        return QIcon(ICON)

    def svgIconPath(self) -> str:  # noqa: N802
        return ICON

    def loadAlgorithms(self) -> None:  # noqa: N802
        for cls in ALGORITHMS:
            self.addAlgorithm(cls())

    # Outputs go through inference.export, which writes GeoPackage/Shapefile and GeoTIFF only.
    def supportsNonFileBasedOutput(self) -> bool:  # noqa: N802
        return False

    def supportedOutputVectorLayerExtensions(self) -> list[str]:  # noqa: N802
        return ["gpkg", "shp"]

    def defaultVectorFileExtension(self, hasGeometry: bool = True) -> str:  # noqa: N802,N803
        return "gpkg"

    def supportedOutputRasterLayerExtensions(self) -> list[str]:  # noqa: N802
        return ["tif"]

    def defaultRasterFileExtension(self) -> str:  # noqa: N802
        return "tif"
