"""Open an EO Lens Processing algorithm's own dialog from the dock, prefilled from what is on the map.

Labelling thousands of features or indexing an archive are batch jobs: the Processing dialog gives
them its progress, log, Cancel and outputs, and the dock saves the analyst from filling it in.
"""
from __future__ import annotations

from typing import Optional

from qgis.core import QgsProcessingFeatureSourceDefinition, QgsProject, QgsRasterLayer, QgsVectorLayer
from qgis.PyQt import sip
from qgis.PyQt.QtCore import QTimer
from qgis.PyQt.QtWidgets import QDialog, QWidget

from .. import layers


def open_dialog(alg_id: str, params: dict, owner: QWidget):
    """The algorithm's dialog, shown (not modal) with ``params`` filled in; returns it.

    ``owner`` (the dock) becomes the dialog's Qt parent, so the dialog's Python half, which runs
    the algorithm when Run is pressed, lives as long as the dock does, whoever holds it. The
    dialog is released when it is closed after its run (or never run).
    """
    from qgis import processing

    dialog = processing.createAlgorithmDialog(alg_id, params)
    dialog.setParent(owner, dialog.windowFlags())   # keeps it a window of its own
    closed = QDialog.finished.__get__(dialog)   # the dialog base's finished() hides the signal
    for signal in (closed, dialog.algorithmFinished):   # closed, or done while hidden
        signal.connect(lambda *_args, d=dialog: QTimer.singleShot(0, lambda: _release(d)))
    dialog.show()
    return dialog


def _release(dialog) -> None:
    """Delete a dialog once it is closed and its algorithm no longer runs.

    Processing clears ``feedback`` after a run ends, just after it closes the dialog, so this
    runs from the event loop; a dialog closed mid-run stays with the dock until the run ends."""
    if sip.isdeleted(dialog) or dialog.isVisible() or getattr(dialog, "feedback", None) is not None:
        return
    dialog.deleteLater()


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
