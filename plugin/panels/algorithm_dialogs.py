"""Open an EO Lens Processing algorithm's own dialog from the dock, prefilled from what is on the map.

Labelling thousands of features or indexing an archive are batch jobs: the Processing dialog gives
them its progress, log, Cancel and outputs, and the dock saves the analyst from filling it in.
"""
from __future__ import annotations

from typing import Optional

from qgis.core import QgsProcessingFeatureSourceDefinition, QgsProject, QgsRasterLayer, QgsVectorLayer

from .. import layers


def open_dialog(alg_id: str, params: dict):
    """The algorithm's dialog, shown (not modal) with ``params`` filled in; returns it."""
    from qgis import processing

    dialog = processing.createAlgorithmDialog(alg_id, params)
    dialog.show()
    return dialog


def features_param(layer: Optional[QgsVectorLayer]):
    """The vector layer, or only its selected features when some are selected."""
    if layer is None:
        return None
    if layer.selectedFeatureCount():
        return QgsProcessingFeatureSourceDefinition(layer.id(), selectedFeaturesOnly=True)
    return layer.id()


def label_params(raster: Optional[QgsRasterLayer], vector: Optional[QgsVectorLayer]) -> dict:
    params = {"FEATURES": features_param(vector)}
    if raster is not None:
        params["INPUT"] = raster.id()
    return {k: v for k, v in params.items() if v is not None}


def index_params() -> dict:
    """Every visible input raster of the project (EO Lens's own results left out)."""
    root = QgsProject.instance().layerTreeRoot()
    rasters = [lyr.id() for lyr in QgsProject.instance().mapLayers().values()
               if isinstance(lyr, QgsRasterLayer) and not layers.is_result(lyr)
               and root.findLayer(lyr.id()) is not None and root.findLayer(lyr.id()).isVisible()]
    return {"INPUTS": rasters} if rasters else {}
