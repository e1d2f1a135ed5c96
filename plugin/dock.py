"""The EO Lens dock: layer and area pickers, one tab per workflow, progress and Cancel."""
from __future__ import annotations

from typing import Any, Callable, Optional

from qgis.core import QgsMapLayerProxyModel, QgsRasterLayer, QgsRectangle
from qgis.gui import QgsDockWidget, QgsMapLayerComboBox, QgsMapToolExtent
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QLineEdit, QProgressBar,
                                 QPushButton, QTabWidget, QVBoxLayout, QWidget)

from . import messages, settings, tasks
from .capture import CaptureSource, snapshot
from ..inference.actions import RunOptions

AREA_VIEW, AREA_LAYER, AREA_DRAWN = range(3)


def tr(text: str) -> str:
    return QCoreApplication.translate("EOLensDock", text)


class EOLensDock(QgsDockWidget):
    def __init__(self, iface, parent=None) -> None:
        super().__init__(tr("EO Lens"), parent)
        self.setObjectName("EOLensDock")
        self.iface = iface
        self.task: Optional[tasks.EOLensTask] = None
        self.drawn: Optional[QgsRectangle] = None
        self._prev_tool = None
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.addLayout(self._build_source_row())
        self.tabs = QTabWidget(body)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(self._build_progress_row())
        self.setWidget(body)
        self._add_panels()

    # -- widgets ---------------------------------------------------------------
    def _build_source_row(self) -> QVBoxLayout:
        box = QVBoxLayout()
        row = QHBoxLayout()
        row.addWidget(QLabel(tr("Layer")))
        self.layer_combo = QgsMapLayerComboBox(self)
        self.layer_combo.setFilters(QgsMapLayerProxyModel.Filter.RasterLayer)
        row.addWidget(self.layer_combo, 1)
        row.addWidget(QLabel(tr("Bands")))
        self.bands_edit = QLineEdit(self)
        self.bands_edit.setPlaceholderText(tr("auto"))
        self.bands_edit.setToolTip(tr("Bands shown to the model as red, green, blue, e.g. 4,3,2 "
                                      "(one band is repeated as grey); empty picks RGB"))
        self.bands_edit.setMaximumWidth(70)
        row.addWidget(self.bands_edit)
        box.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(QLabel(tr("Area")))
        self.area_combo = QComboBox(self)
        self.area_combo.addItems([tr("Current view"), tr("Whole layer"), tr("Drawn rectangle")])
        row.addWidget(self.area_combo, 1)
        self.draw_button = QPushButton(tr("Draw…"), self)
        self.draw_button.setToolTip(tr("Drag a rectangle on the map to analyse only that area"))
        self.draw_button.clicked.connect(self.start_drawing)
        row.addWidget(self.draw_button)
        self.settings_button = QPushButton(tr("Settings…"), self)
        self.settings_button.clicked.connect(self.open_settings)
        row.addWidget(self.settings_button)
        box.addLayout(row)
        return box

    def _build_progress_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.status = QLabel("", self)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 100)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton(tr("Cancel"), self)
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        row.addWidget(self.status, 1)
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        return row

    def _add_panels(self) -> None:
        from .panels.change_panel import ChangePanel
        from .panels.chat_panel import ChatPanel
        from .panels.find_panel import FindPanel
        from .panels.search_panel import SearchPanel

        self.chat, self.find = ChatPanel(self), FindPanel(self)
        self.change, self.search = ChangePanel(self), SearchPanel(self)
        for panel, title in ((self.chat, tr("Chat")), (self.find, tr("Find")),
                             (self.change, tr("Change")), (self.search, tr("Search"))):
            self.tabs.addTab(panel, title)

    # -- what to analyse -------------------------------------------------------
    def layer(self) -> Optional[QgsRasterLayer]:
        return self.layer_combo.currentLayer()

    def source(self, layer: Optional[QgsRasterLayer] = None) -> CaptureSource:
        """Plain-data snapshot of the chosen layer over the chosen area (main thread)."""
        from ..inference.errors import InputError

        layer = layer or self.layer()
        if layer is None:
            raise InputError(tr("Choose a raster layer first."))
        canvas = self.iface.mapCanvas()
        crs = canvas.mapSettings().destinationCrs()
        s = settings.load()
        how = dict(rendered=s.rendered_capture, max_side=s.max_side, bands=self.bands())
        area = self.area_combo.currentIndex()
        if area == AREA_LAYER:
            return snapshot(layer, **how)
        if area == AREA_DRAWN:
            if self.drawn is None:
                raise InputError(tr("Draw a rectangle on the map first (Draw…)."))
            return snapshot(layer, self.drawn, crs, **how)
        return snapshot(layer, canvas.extent(), crs, **how)

    def bands(self) -> Optional[tuple[int, ...]]:
        """The analyst's band choice (1-based), or None for automatic RGB."""
        from ..inference.errors import InputError

        text = self.bands_edit.text().replace(" ", "")
        if not text:
            return None
        try:
            bands = tuple(int(b) for b in text.split(",") if b)
        except ValueError:
            raise InputError(tr("Bands must be numbers separated by commas, e.g. 4,3,2.")) from None
        if len(bands) not in (1, 3) or min(bands) < 1:
            raise InputError(tr("Give one band (grey) or three bands (red, green, blue), e.g. 4,3,2."))
        return bands

    def run_options(self) -> RunOptions:
        s = settings.load()
        settings.apply_environment(s)   # the cache location must be set before the first load
        return RunOptions(device=s.device, offline=s.offline, allow_remote_code=s.allow_remote_code)

    def start_drawing(self) -> None:
        canvas = self.iface.mapCanvas()
        self._prev_tool = canvas.mapTool()
        self._extent_tool = QgsMapToolExtent(canvas)
        self._extent_tool.extentChanged.connect(self._drawn)
        canvas.setMapTool(self._extent_tool)

    def _drawn(self, rect: QgsRectangle) -> None:
        if rect.isEmpty():
            return
        self.drawn = QgsRectangle(rect)
        self.area_combo.setCurrentIndex(AREA_DRAWN)
        if self._prev_tool is not None:
            self.iface.mapCanvas().setMapTool(self._prev_tool)

    def open_settings(self) -> None:
        from .settings_dialog import SettingsDialog

        SettingsDialog(self).exec()

    # -- running work ----------------------------------------------------------
    def run(self, description: str, work: Callable, on_done: Callable[[Any], None],
            layers=(), on_fail: Optional[Callable[[], None]] = None) -> Optional[tasks.EOLensTask]:
        """Start ``work(progress, cancel)`` as a QgsTask; one task at a time per dock."""
        if self.task is not None:
            messages.report_info(self.iface, tr("EO Lens is still working; cancel it first."))
            return None

        def done(result):
            self._idle(tr("Done."))
            on_done(result)

        def failed(err, tb):
            self._idle(messages.describe(err))
            messages.report_error(self.iface, err, tb)
            if on_fail:
                on_fail()

        def cancelled():
            self._idle(tr("Cancelled."))
            if on_fail:
                on_fail()

        self.task = tasks.EOLensTask(description, work, on_done=done, on_error=failed,
                                     on_cancel=cancelled, layers=layers)
        self.task.progressChanged.connect(lambda p: self.progress.setValue(int(p)))
        self._busy(description)
        return tasks.start(self.task)

    def cancel(self) -> None:
        if self.task is not None:
            self.status.setText(tr("Cancelling…"))
            self.task.cancel()

    def _busy(self, text: str) -> None:
        self.status.setText(text)
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.cancel_button.setEnabled(True)

    def _idle(self, text: str) -> None:
        self.task = None
        self.status.setText(text)
        self.progress.setVisible(False)
        self.cancel_button.setEnabled(False)

    def shutdown(self) -> None:
        self.cancel()

