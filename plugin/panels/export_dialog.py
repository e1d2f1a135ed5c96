"""Export dialogs: the format comes from the chosen filter, the extension is added, the layer is chosen."""
from __future__ import annotations

import os
from typing import Optional, Sequence

from qgis.core import QgsMapLayerProxyModel, QgsProject, QgsVectorLayer
from qgis.gui import QgsFileWidget, QgsMapLayerComboBox
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout

from .. import layers

VECTOR_FORMATS = (("GeoPackage", ".gpkg"), ("ESRI Shapefile", ".shp"))
CHAT_FORMATS = (("Markdown", ".md"), ("HTML", ".html"))


def tr(text: str) -> str:
    return QCoreApplication.translate("ExportDialog", text)


def filter_string(formats: Sequence[tuple[str, str]]) -> str:
    return ";;".join(f"{label} (*{ext})" for label, ext in formats)


def with_extension(path: str, selected_filter: str, formats: Sequence[tuple[str, str]]) -> str:
    """``path`` with a known extension: its own if it has one, else the selected filter's."""
    if not path:
        return path
    exts = [ext for _, ext in formats]
    own = os.path.splitext(path)[1].lower()
    if own in exts or (own == ".htm" and ".html" in exts):
        return path
    chosen = next((ext for label, ext in formats if selected_filter.startswith(label)), exts[0])
    return path + chosen


def ask_save_path(parent, title: str, formats: Sequence[tuple[str, str]], folder: str = "") -> Optional[str]:
    """A save dialog whose selected filter decides the format when no extension is typed."""
    path, chosen = QFileDialog.getSaveFileName(parent, title, folder, filter_string(formats))
    return with_extension(path, chosen or "", formats) if path else None


class ExportPolygonsDialog(QDialog):
    """Which EO Lens result layer to export (default: the selected one), where and as what."""

    def __init__(self, parent=None, layer: Optional[QgsVectorLayer] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Export polygons"))
        form = QFormLayout(self)
        self.layer_combo = QgsMapLayerComboBox(self)
        self.layer_combo.setFilters(QgsMapLayerProxyModel.Filter.VectorLayer)
        self.layer_combo.setExceptedLayerList(
            [lyr for lyr in QgsProject.instance().mapLayers().values() if not layers.is_result(lyr)])
        if layer is not None:
            self.layer_combo.setLayer(layer)
        form.addRow(tr("Layer"), self.layer_combo)
        self.format = QComboBox(self)
        for label, ext in VECTOR_FORMATS:
            self.format.addItem(tr(label), ext)
        form.addRow(tr("Format"), self.format)
        self.file = QgsFileWidget(self)
        self.file.setStorageMode(QgsFileWidget.StorageMode.SaveFile)
        self.file.setFilter(filter_string(VECTOR_FORMATS))
        self.file.setConfirmOverwrite(False)   # the export never overwrites; it says so instead
        self.file.fileChanged.connect(self._follow_extension)
        form.addRow(tr("File"), self.file)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.setMinimumWidth(420)

    def _follow_extension(self, path: str) -> None:
        ext = os.path.splitext(path)[1].lower()
        index = self.format.findData(ext)
        if index >= 0:
            self.format.setCurrentIndex(index)

    def layer(self) -> Optional[QgsVectorLayer]:
        return self.layer_combo.currentLayer()

    def path(self) -> str:
        ext = self.format.currentData()
        path = self.file.filePath().strip()
        if not path:
            return ""
        label = next(label for label, e in VECTOR_FORMATS if e == ext)
        return with_extension(path, label, VECTOR_FORMATS)
