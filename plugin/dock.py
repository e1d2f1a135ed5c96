"""The EO Lens dock: layer and area pickers, one tab per workflow, progress and Cancel."""
from __future__ import annotations

from typing import Any, Callable, Optional

from qgis.core import (QgsGeometry, QgsMapLayerProxyModel, QgsProject, QgsRasterLayer,
                       QgsRectangle, QgsWkbTypes)
from qgis.gui import QgsDockWidget, QgsMapLayerComboBox, QgsMapToolExtent, QgsRubberBand
from qgis.PyQt.QtCore import QCoreApplication, QTimer, pyqtSignal
from qgis.PyQt.QtGui import QColor, QStandardItemModel
from qgis.PyQt.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QLineEdit, QProgressBar,
                                 QPushButton, QSizePolicy, QTabWidget, QVBoxLayout, QWidget)

from . import layers, messages, settings, tasks
from .capture import CaptureSource, NotInViewError, snapshot
from .panels.widgets import ElidedLabel
from ..inference.actions import RunOptions
from .definitions import AREA_DRAWN, AREA_LAYER, AREA_WORDS


def tr(text: str) -> str:
    return QCoreApplication.translate("EOLensDock", text)


class EOLensDock(QgsDockWidget):
    areaChanged = pyqtSignal(int)   # noqa: N815 - Qt signal name

    def __init__(self, iface, parent=None) -> None:
        super().__init__(tr("EO Lens"), parent)
        self.setObjectName("EOLensDock")
        self.iface = iface
        self.task: Optional[tasks.EOLensTask] = None
        self.drawn: Optional[QgsRectangle] = None
        self.drawn_band: Optional[QgsRubberBand] = None
        self._prev_tool = None
        self._description = ""
        self.user_chose: set[str] = set()   # combos the analyst picked by hand (kept as chosen)
        self._fresh = True                  # no Layer chosen yet: the combo's first row is no choice
        body = QWidget(self)
        body.setMinimumWidth(0)
        layout = QVBoxLayout(body)
        layout.addLayout(self._build_source_row())
        self.tabs = QTabWidget(body)
        self.tabs.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Expanding)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(self._build_progress_row())
        layout.addWidget(self._build_device_label())
        self.setWidget(body)
        self._add_panels()
        self._watch_project()

    # -- widgets ---------------------------------------------------------------
    def _build_source_row(self) -> QVBoxLayout:
        box = QVBoxLayout()
        row = QHBoxLayout()
        row.addWidget(QLabel(tr("Layer")))
        self.layer_combo = self.input_combo("layer")
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
        self.area_combo.currentIndexChanged.connect(self.areaChanged)
        self.area_combo.currentIndexChanged.connect(self._show_drawn)
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
        self.status = ElidedLabel("", self)   # long messages elide; full text in the tooltip
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

    def _build_device_label(self) -> QLabel:
        """Where models run, shown after the first load ("Running on CPU (no NVIDIA GPU found)")."""
        self.device_label = QLabel("", self)
        self.device_label.setWordWrap(True)
        self.device_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.device_label.setVisible(False)
        return self.device_label

    def _show_device(self) -> None:
        from ..inference.models.runtime import last_device

        choice = last_device()
        if choice is not None:
            self.device_label.setText(choice.describe())
            self.device_label.setVisible(True)

    def _add_panels(self) -> None:
        from .panels.change_panel import ChangePanel
        from .panels.chat_panel import ChatPanel
        from .panels.find_panel import FindPanel
        from .panels.search_panel import SearchPanel

        self.chat, self.find = ChatPanel(self), FindPanel(self)
        self.change, self.search = ChangePanel(self), SearchPanel(self)
        for panel, title in ((self.chat, tr("Chat")), (self.find, tr("Find")),
                             (self.change, tr("Change")), (self.search, tr("Search"))):
            panel.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            self.tabs.addTab(panel, title)

    def input_combo(self, key: str) -> QgsMapLayerComboBox:
        """A raster picker that never offers EO Lens's own results; a pick by hand is kept."""
        combo = QgsMapLayerComboBox(self)
        combo.setFilters(QgsMapLayerProxyModel.Filter.RasterLayer)
        combo.setExceptedLayerList(layers.result_layers())
        combo.setMinimumContentsLength(8)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.activated.connect(lambda _i: self.user_chose.add(key))
        return combo

    # -- default inputs ----------------------------------------------------------
    def _watch_project(self) -> None:
        project = QgsProject.instance()
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(0)
        self._refresh_timer.timeout.connect(self.choose_defaults)
        self._watched = [(project.layersAdded, self._layers_changed),
                         (project.layersRemoved, self._layers_changed),
                         (self.iface.mapCanvas().extentsChanged, self._refresh_timer.start),
                         (project.fileNameChanged, self._project_renamed),
                         (project.projectSaved, self._project_saved)]
        changed = getattr(self.iface, "currentLayerChanged", None)
        if changed is not None:
            self._watched.append((changed, self._active_changed))
        for signal, slot in self._watched:
            signal.connect(slot)
        self.choose_defaults()

    def _project_renamed(self, *_args) -> None:
        """Saved (as): result tables move into the GeoPackage beside the project file."""
        moved = layers.move_store()
        if moved:
            messages.log(tr("{} result layers now live in {}").format(moved, layers.store_path()))

    def _project_saved(self, *_args) -> None:
        """Saved without a rename first (QgsProject.write(path)): move now; the next save keeps it."""
        if layers.move_store():
            QgsProject.instance().setDirty(True)

    def _layers_changed(self, *_args) -> None:
        present = {lyr.id() for lyr in layers.input_rasters()}
        self._fresh = self._fresh or not present   # a new, empty project: choose afresh
        for key, combo in self._input_combos():
            if combo.currentLayer() is None or combo.currentLayer().id() not in present:
                self.user_chose.discard(key)
        self._refresh_timer.start()

    def _active_changed(self, layer) -> None:
        if isinstance(layer, QgsRasterLayer) and not layers.is_result(layer):
            self.user_chose.discard("layer")
            self.layer_combo.setLayer(layer)
            self._fresh = False

    def _input_combos(self):
        pairs = [("layer", self.layer_combo)]
        change = getattr(self, "change", None)
        if change is not None:
            pairs += [("a", change.layer_a), ("b", change.layer_b)]
        return pairs

    def choose_defaults(self) -> None:
        """Layer: keep a hand-picked or still-visible choice, else the active raster, else the
        topmost visible raster in the view. A/B: two different rasters, older first."""
        results = layers.result_layers()
        for _, combo in self._input_combos():
            combo.setExceptedLayerList(results)
        canvas = self.iface.mapCanvas()
        view, crs = canvas.extent(), canvas.mapSettings().destinationCrs()
        current = self.layer_combo.currentLayer()
        if "layer" not in self.user_chose and (self._fresh or not self._good(current, view, crs)):
            active = self.iface.activeLayer() if hasattr(self.iface, "activeLayer") else None
            best = layers.best_raster(view, crs, active)
            if best is not None:
                self.layer_combo.setLayer(best)
                self._fresh = False
        change = getattr(self, "change", None)
        if change is not None:
            change.choose_defaults(view, crs)

    @staticmethod
    def _good(layer, view, crs) -> bool:
        return (layer is not None and not layers.is_result(layer)
                and layers.shows(layer, view, crs) and layers.is_visible(layer))

    # -- what to analyse -------------------------------------------------------
    def layer(self) -> Optional[QgsRasterLayer]:
        return self.layer_combo.currentLayer()

    def source(self, layer: Optional[QgsRasterLayer] = None, check_area: bool = True) -> CaptureSource:
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
        if area == AREA_DRAWN and self.drawn is None:
            raise InputError(tr("Draw a rectangle on the map first (Draw…)."))
        rect = self.area_rect()
        if check_area:
            self.check_shows(layer, rect)
        return snapshot(layer, rect, crs, **how)

    def area(self) -> int:
        return self.area_combo.currentIndex()

    def area_words(self) -> str:
        return tr(AREA_WORDS[self.area()])

    def area_rect(self) -> Optional[QgsRectangle]:
        """The chosen area in the canvas CRS (None for the whole layer)."""
        if self.area() == AREA_LAYER:
            return None
        if self.area() == AREA_DRAWN:
            return self.drawn
        return self.iface.mapCanvas().extent()

    def check_shows(self, layer, rect: Optional[QgsRectangle], zoom_to=None, what: str = "") -> None:
        """Raise a plain NotInViewError (with a Zoom button) when the area misses ``layer`` (or
        ``zoom_to``, a canvas rectangle called ``what``)."""
        if rect is None or rect.isEmpty():
            return
        crs = self.iface.mapCanvas().mapSettings().destinationCrs()
        target = layers.extent_in(layer, crs) if zoom_to is None else zoom_to
        if target.isEmpty() or target.intersects(rect):
            return
        what = what or tr("'{}'").format(layer.name())
        if self.area() == AREA_DRAWN:
            text = tr("The drawn rectangle does not cover {}: draw it over the layer, or set Area "
                      "to Whole layer.").format(what)
        else:
            text = tr("The current view does not show {}: zoom to it, or set Area to Whole "
                      "layer.").format(what)
        raise NotInViewError(text, zoom_to=layer if zoom_to is None else zoom_to,
                             zoom_label=tr("Zoom to layer") if zoom_to is None else tr("Zoom to it"))

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
        return RunOptions(device=s.device, offline=settings.is_offline(s),
                          allow_remote_code=s.allow_remote_code, on_phase=self._phase)

    def _phase(self, text: str) -> None:
        """Worker thread: forward a phase name to the running task's signal (queued to the UI)."""
        task = self.task
        if task is not None:
            task.phase(text)

    def start_drawing(self) -> None:
        canvas = self.iface.mapCanvas()
        self._prev_tool = canvas.mapTool()
        self._extent_tool = QgsMapToolExtent(canvas)
        self._extent_tool.extentChanged.connect(self._drawn)
        canvas.setMapTool(self._extent_tool)

    def _drawn(self, rect: QgsRectangle) -> None:
        if rect.isEmpty():
            return
        self.set_drawn(rect)
        if self._prev_tool is not None:
            self.iface.mapCanvas().setMapTool(self._prev_tool)

    def _show_drawn(self, area: int) -> None:
        if self.drawn_band is not None:
            self.drawn_band.setVisible(area == AREA_DRAWN)

    def set_drawn(self, rect: QgsRectangle) -> None:
        """The drawn area (canvas CRS): kept on the map as an outline, Area set to it."""
        self.drawn = QgsRectangle(rect)
        canvas = self.iface.mapCanvas()
        if self.drawn_band is None:
            self.drawn_band = QgsRubberBand(canvas, QgsWkbTypes.GeometryType.PolygonGeometry)
            self.drawn_band.setStrokeColor(QColor("#ffd60a"))
            self.drawn_band.setFillColor(QColor(255, 214, 10, 30))
            self.drawn_band.setWidth(2)
        self.drawn_band.setToGeometry(QgsGeometry.fromRect(self.drawn), None)
        self.area_combo.setCurrentIndex(AREA_DRAWN)
        self._show_drawn(AREA_DRAWN)

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
            messages.log(tr("{} was cancelled.").format(description))
            if on_fail:
                on_fail()

        self.task = tasks.EOLensTask(description, work, on_done=done, on_error=failed,
                                     on_cancel=cancelled, layers=layers)
        self.task.progressChanged.connect(lambda p: self.progress.setValue(int(p)))
        self.task.phaseChanged.connect(self._show_phase)
        self._busy(description)
        return tasks.start(self.task)

    def cancel(self) -> None:
        if self.task is not None:
            self.status.setText(tr("Cancelling…"))
            self.task.cancel()

    def set_status(self, text: str) -> None:
        """The status line (elided; the full text is in its tooltip; errors also go to the log)."""
        self.status.setText(text)

    def _show_phase(self, phase: str) -> None:
        if self.task is None:
            return
        text = phase and tr(phase) if not phase.startswith("Tile ") else phase
        self.status.setText(f"{self._description} — {text}" if text else self._description)

    def _busy(self, text: str) -> None:
        self._description = text
        self.status.setText(text)
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.cancel_button.setEnabled(True)

    def _idle(self, text: str) -> None:
        self.task = None
        self.set_status(text)
        self._show_device()
        self.progress.setVisible(False)
        self.cancel_button.setEnabled(False)

    def shutdown(self) -> None:
        self.cancel()
        refresh = getattr(self, "_refresh_timer", None)
        if refresh is not None:  # a pending refresh must not run on a half-deleted dock
            refresh.stop()
            refresh.timeout.disconnect(self.choose_defaults)
        for signal, slot in getattr(self, "_watched", []):
            try:
                signal.disconnect(slot)
            except (TypeError, RuntimeError):
                continue   # already gone with its object
        self._watched = []
        for _, combo in self._input_combos():   # an unloaded dock must not react to new layers
            combo.blockSignals(True)
            combo.setModel(QStandardItemModel(combo))
        if self.drawn_band is not None:
            self.iface.mapCanvas().scene().removeItem(self.drawn_band)
            self.drawn_band = None
        for panel in (self.chat, self.find, self.change, self.search):
            getattr(panel, "shutdown", lambda: None)()

