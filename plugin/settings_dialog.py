"""Settings: a model per task, device, offline folder, cache, downloads and freeing GPU memory."""
from __future__ import annotations

from dataclasses import replace

from qgis.gui import QgsFileWidget
from qgis.PyQt.QtCore import QCoreApplication, Qt
from qgis.PyQt.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout,
                                 QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton, QSpinBox,
                                 QTableWidget, QTableWidgetItem, QVBoxLayout)

from . import messages, settings, tasks
from .translate import N_
from ..inference.models.registry import REGISTRY
from ..inference.tasks import Task

TASK_LABELS = {
    Task.CAPTION: N_("Caption"), Task.DETECT: N_("Detect (text → boxes)"),
    Task.SEGMENT: N_("Segment (text → masks)"), Task.SEGMENT_PROMPT: N_("Segment (points / box)"),
    Task.CHAT: N_("Chat"), Task.CHANGE_CAPTION: N_("Change caption"),
    Task.FEATURES: N_("Change features (semantic)"), Task.SEARCH: N_("Search"),
}


def tr(text: str) -> str:
    return QCoreApplication.translate("SettingsDialog", text)


class SettingsDialog(QDialog):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("EO Lens settings"))
        self.current = settings.load()
        self.task = None
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.model_combos: dict[str, QComboBox] = {}
        for slot, label in TASK_LABELS.items():
            combo = QComboBox(self)
            combo.setEditable(True)
            combo.setToolTip(tr("A registry name, a hub id (org/name or org/name@revision) or a local folder"))
            combo.addItems([n for n, s in REGISTRY.items() if slot in s.tasks])
            combo.setCurrentText(getattr(self.current, f"model_{slot.value}"))
            self.model_combos[slot] = combo
            form.addRow(tr(label), combo)
        self.device = QComboBox(self)
        self.device.addItems(["auto", "cuda", "cpu"])
        self.device.setCurrentText(self.current.device)
        form.addRow(tr("Device"), self.device)
        self.offline = QCheckBox(tr("Offline: load only from the cache or local folders"), self)
        self.offline.setChecked(self.current.offline)
        form.addRow("", self.offline)
        if settings.env_offline():   # huggingface_hub obeys it whatever this box says
            note = QLabel(tr("HF_HUB_OFFLINE is set in QGIS's environment: EO Lens and Processing are "
                             "offline whatever this box says."), self)
            note.setWordWrap(True)
            self.offline.setToolTip(note.text())
            form.addRow("", note)
        self.models_dir = self._folder_widget(self.current.models_dir)
        form.addRow(tr("Local model folder"), self.models_dir)
        self.cache_dir = self._folder_widget(self.current.cache_dir)
        form.addRow(tr("Download cache"), self.cache_dir)
        self.fit = QCheckBox(tr("Fit large captures to the model (decimated read)"), self)
        self.fit.setChecked(self.current.fit_to_model)
        self.max_side = QSpinBox(self)
        self.max_side.setRange(64, 8192)
        self.max_side.setValue(self.current.max_side)
        row = QHBoxLayout()
        row.addWidget(self.fit)
        row.addWidget(self.max_side)
        form.addRow(tr("Capture"), row)
        self.gdal_cache = QSpinBox(self)
        self.gdal_cache.setRange(16, 65536)
        self.gdal_cache.setSuffix(" MB")
        self.gdal_cache.setValue(self.current.gdal_cache_mb)
        self.gdal_cache.setToolTip(tr("GDAL's block cache while EO Lens reads rasters (QGIS's own "
                                      "default is 5 % of RAM); it bounds the memory of whole-layer "
                                      "runs"))
        form.addRow(tr("Raster read cache"), self.gdal_cache)
        self.rendered = QCheckBox(tr("Capture what the map shows (rendered, with layer styles) "
                                     "instead of the file's pixels"), self)
        self.rendered.setChecked(self.current.rendered_capture)
        form.addRow("", self.rendered)
        self.remote = QCheckBox(tr("Allow model code from the hub (only for revision-pinned models)"), self)
        self.remote.setChecked(self.current.allow_remote_code)
        form.addRow("", self.remote)
        layout.addLayout(form)
        layout.addWidget(self._build_registry_table())
        layout.addLayout(self._build_model_buttons())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _folder_widget(self, value: str) -> QgsFileWidget:
        widget = QgsFileWidget(self)
        widget.setStorageMode(QgsFileWidget.StorageMode.GetDirectory)
        widget.setFilePath(value)
        return widget

    def _build_registry_table(self) -> QTableWidget:
        from ..inference.models.runtime import is_cached

        names = list(REGISTRY)
        self.table = QTableWidget(len(names), 5, self)
        self.table.setHorizontalHeaderLabels([tr("Model"), tr("Tasks"), tr("Size"), tr("Licence"),
                                              tr("Downloaded")])
        for row, name in enumerate(names):
            spec = REGISTRY[name]
            cached = _safe(lambda s=spec: is_cached(s))
            values = [name, ", ".join(spec.tasks), f"{spec.size_mb} MB" + (" (GPU)" if spec.device_hint == "gpu" else ""),
                      spec.licence, tr("yes") if cached else tr("no")]
            for col, value in enumerate(values):
                self.table.setItem(row, col, QTableWidgetItem(value))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)   # the long Tasks column gives way,
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)          # so the last one is never cut off
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 1)
            item.setToolTip(item.text())
        self.table.setMinimumWidth(640)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        return self.table

    def _build_model_buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.download_button = QPushButton(tr("Download selected"), self)
        self.download_button.clicked.connect(self.download_selected)
        self.cancel_download = QPushButton(tr("Cancel download"), self)
        self.cancel_download.setEnabled(False)
        self.cancel_download.clicked.connect(lambda: self.task and self.task.cancel())
        self.progress = QProgressBar(self)
        self.free_button = QPushButton(tr("Free GPU memory"), self)
        self.free_button.clicked.connect(self.free_memory)
        for w in (self.download_button, self.cancel_download, self.progress, self.free_button):
            row.addWidget(w)
        return row

    def values(self) -> settings.Settings:
        models = {f"model_{slot.value}": combo.currentText().strip() for slot, combo in self.model_combos.items()}
        return replace(self.current, device=self.device.currentText(), offline=self.offline.isChecked(),
                       models_dir=self.models_dir.filePath(), cache_dir=self.cache_dir.filePath(),
                       fit_to_model=self.fit.isChecked(), max_side=self.max_side.value(),
                       gdal_cache_mb=self.gdal_cache.value(),
                       rendered_capture=self.rendered.isChecked(),
                       allow_remote_code=self.remote.isChecked(), **models)

    def accept(self) -> None:
        settings.save(self.values())
        settings.apply_environment(self.values())
        super().accept()

    def download_selected(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedItems()})
        if not rows:
            return
        name = self.table.item(rows[0], 0).text()

        def work(progress, cancel):
            from ..inference.models.hub import fetch
            from ..inference.models.runtime import resolve_spec

            return fetch(resolve_spec(name), progress=progress, cancel=cancel, offline=False)

        def done(_):
            self.table.item(rows[0], 4).setText(tr("yes"))
            self._idle()

        def failed(err, tb):
            self._idle()
            messages.report_error(None, err, tb)
            self.progress.setFormat(messages.describe(err)[:80])

        self.task = tasks.EOLensTask(tr("Downloading {}").format(name), work, on_done=done,
                                     on_error=failed, on_cancel=self._idle)
        self.task.progressChanged.connect(lambda p: self.progress.setValue(int(p)))
        self.download_button.setEnabled(False)
        self.cancel_download.setEnabled(True)
        tasks.start(self.task)

    def _idle(self, *_):
        self.task = None
        self.download_button.setEnabled(True)
        self.cancel_download.setEnabled(False)

    def free_memory(self) -> None:
        import sys

        if "torch" in sys.modules:  # nothing to free if no model was ever loaded
            from ..inference.models.runtime import unload

            unload()
        self.free_button.setText(tr("GPU memory freed"))


def _safe(fn):
    try:
        return fn()
    except Exception:  # noqa: BLE001 - a status column must not break the dialog
        return False
