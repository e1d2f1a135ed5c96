"""Change tab: layer A (before) and B (after) -> caption, heat raster, polygons; then Q&A."""
from __future__ import annotations

import html

from qgis.core import Qgis
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel,
                                 QLineEdit, QPushButton, QSpinBox, QTextBrowser, QVBoxLayout,
                                 QWidget)

from .. import layers, messages, results, settings
from ..capture import layer_path, require_file
from ..translate import N_
from .widgets import question_row
from ...inference import actions
from ...inference.params import CHANGE_BLOCK, Area, ChangeParams
from ...inference.whole_layer import change_area

METHODS = (("spectral", N_("Spectral (no model, instant)")),
           ("semantic", N_("Semantic (deep features)")),
           ("vlm", N_("Vision-language model (writes a caption)")))


CAPTION_SIDE = 1024  # px: a streamed pair is captioned / asked about at this size


def tr(text: str) -> str:
    return QCoreApplication.translate("ChangePanel", text)


class ChangePanel(QWidget):
    def __init__(self, dock) -> None:
        super().__init__(dock)
        self.dock = dock
        self.pair_files = None        # (path A, path B, bounds, CRS) of the last comparison, for Q&A
        self.conversation = None
        layout = QVBoxLayout(self)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.layer_a = dock.input_combo("a")
        self.layer_b = dock.input_combo("b")
        self.date_a, self.date_b = QLabel(self), QLabel(self)
        form.addRow(tr("Before (A)"), self.layer_a)
        form.addRow(tr("After (B)"), self.layer_b)
        form.addRow(tr("Dates"), self._dates_row())
        self.method = QComboBox(self)
        for key, label in METHODS:
            self.method.addItem(tr(label), key)
        form.addRow(tr("Method"), self.method)
        self.threshold = QDoubleSpinBox(self)
        self.threshold.setRange(0.0, 1000.0)
        self.threshold.setDecimals(3)
        self.threshold.setSpecialValueText(tr("automatic"))
        form.addRow(tr("Threshold"), self.threshold)
        self.label_box = QCheckBox(tr("Label change regions with CLIP"), self)
        self.labels = QLineEdit(self)
        self.labels.setPlaceholderText(tr("Labels, comma separated"))
        self.labels.setText("new buildings, cleared forest, new road, water change, farmland change")
        self.labels.setCursorPosition(0)     # show the start of the list, not its end
        form.addRow(self.label_box)                 # its own row: the fields keep their width
        form.addRow(tr("Labels"), self.labels)
        self.labels.setEnabled(False)
        self.label_box.toggled.connect(self.labels.setEnabled)
        self.region_captions = QSpinBox(self)
        self.region_captions.setRange(0, 20)
        self.region_captions.setValue(3)
        self.region_captions.setSpecialValueText(tr("none"))
        self.region_captions.setToolTip(tr("Vision-language model: also caption the N largest "
                                           "change regions, each from its own chip of both dates"))
        form.addRow(tr("Region captions"), self.region_captions)
        self.method.currentIndexChanged.connect(self._method_changed)
        self._method_changed()
        layout.addLayout(form)
        self.compare_button = QPushButton(tr("Compare the two dates"), self)
        self.compare_button.clicked.connect(self.compare)
        layout.addWidget(self.compare_button)
        self.view = QTextBrowser(self)
        layout.addWidget(self.view, 1)
        row, self.question, self.ask_button = question_row(
            self, tr("Ask about the change, e.g. what was built?"), tr("Ask"), self.ask)
        layout.addLayout(row)
        self.layer_a.layerChanged.connect(lambda lyr: self._show_date(lyr, self.date_a))
        self.layer_b.layerChanged.connect(lambda lyr: self._show_date(lyr, self.date_b))
        self._show_dates()

    def _method_changed(self) -> None:
        self.region_captions.setEnabled(self.method.currentData() == "vlm")

    def choose_defaults(self, view, crs) -> None:
        """A and B: two different input rasters, in the view first, older date first."""
        a, b = self.layer_a.currentLayer(), self.layer_b.currentLayer()
        chosen = self.dock.user_chose
        if {"a", "b"} & chosen or (a is not None and b is not None and a != b
                                  and not layers.is_result(a) and not layers.is_result(b)):
            self._show_dates()
            return
        best_a, best_b = layers.best_pair(view, crs, date_of=_date)
        if best_a is not None:
            self.layer_a.setLayer(best_a)
        if best_b is not None:
            self.layer_b.setLayer(best_b)
        self._show_dates()

    def _dates_row(self) -> QHBoxLayout:
        """A's and B's acquisition dates on one line, so the layer combos keep the full width."""
        row = QHBoxLayout()
        row.addWidget(self.date_a)
        row.addWidget(QLabel("→", self))
        row.addWidget(self.date_b)
        row.addStretch(1)
        return row

    def _show_dates(self) -> None:
        """Both date labels, also for a layer a combo picked by itself (no layerChanged)."""
        for combo, label in ((self.layer_a, self.date_a), (self.layer_b, self.date_b)):
            self._show_date(combo.currentLayer(), label)

    def _show_date(self, layer, label) -> None:
        label.setText("" if layer is None else _date(layer) or tr("date unknown"))

    def compare(self) -> None:
        a, b = self.layer_a.currentLayer(), self.layer_b.currentLayer()
        try:
            if a is None or b is None or a == b:
                from ...inference.errors import InputError

                raise InputError(tr("Choose two different raster layers: A (before) and B (after)."))
            self._check_overlap(a, b)
            src_a, src_b = self.dock.source(a, check_area=False), self.dock.source(b, check_area=False)
            path_a, path_b = require_file(src_a, tr("Change")), require_file(src_b, tr("Change"))
            params = self.params(src_a, path_a, path_b)
            params.validate()
        except Exception as err:  # noqa: BLE001
            messages.report_error(self.dock.iface, err)
            return
        opts, folder = self.dock.run_options(), results.output_dir()

        def work(progress, cancel):
            heat_path = results.raster_path("change-heat", folder)
            try:
                result = change_area(params, raster_path=heat_path, opts=opts, progress=progress,
                                     cancel=cancel)
            except BaseException:
                results.discard_file(heat_path)   # a failed or cancelled run leaves no file
                raise
            return result, (path_a, path_b, params.area.bounds, params.area.bounds_crs)

        self.dock.run(tr("Comparing {} and {}").format(a.name(), b.name()), work,
                      lambda out: self._compared(a.name(), b.name(), *out), layers=[a, b])

    def params(self, src_a, path_a: str, path_b: str) -> ChangeParams:
        """The action's parameters from the widgets, the settings and A's snapshot; a whole
        layer is compared block by block (TILE_SIZE = CHANGE_BLOCK)."""
        s, method = settings.load(), self.method.currentData()
        model = {"vlm": s.model_for("change_caption"),
                 "semantic": s.model_for("features")}.get(method)
        labels = [t.strip() for t in self.labels.text().split(",") if t.strip()]
        area = Area(bounds=src_a.bounds, bounds_crs=_bounds_crs(src_a), bands=src_a.bands,
                    max_side=s.max_side if s.fit_to_model else None)
        return ChangeParams(
            path_a=path_a, path_b=path_b, area=area, method=method, model=model,
            threshold=self.threshold.value() or None,
            label_model=s.model_for("search") if self.label_box.isChecked() else None,
            labels=tuple(labels) if self.label_box.isChecked() and labels else None,
            caption_regions=self.region_captions.value() if method == "vlm" else 0,
            tile=CHANGE_BLOCK if self.dock.area_rect() is None else 0)

    def _check_overlap(self, a, b) -> None:
        """Plain words when A and B never overlap, or when the chosen area misses their overlap."""
        from ...inference.errors import NoOverlapError

        crs = self.dock.iface.mapCanvas().mapSettings().destinationCrs()
        ext_a, ext_b = layers.extent_in(a, crs), layers.extent_in(b, crs)
        if ext_a.isEmpty() or ext_b.isEmpty():
            return
        if not ext_a.intersects(ext_b):
            raise NoOverlapError(tr("'{}' and '{}' cover different places (they do not overlap): "
                                    "choose two dates of the same area.").format(a.name(), b.name()))
        both = ext_a.intersect(ext_b)
        self.dock.check_shows(a, self.dock.area_rect(), zoom_to=both,
                              what=tr("where '{}' and '{}' overlap").format(a.name(), b.name()))

    def _compared(self, name_a: str, name_b: str, result, pair_files) -> None:
        self.pair_files, self.conversation = pair_files, None
        heat, pair_name = None, f"{layers.short(name_a, 18)} → {layers.short(name_b, 18)}"
        raster_path = result.raster_path
        if raster_path and result.raster is None:      # streamed: the heat is only on disk
            heat = _add_streamed_heat(raster_path, result, tr("Change heat"), pair_name)
            for warning in result.warnings:
                messages.report_info(self.dock.iface, warning, level=Qgis.MessageLevel.Warning)
        elif raster_path:
            heat = results.add_raster(raster_path, result, tr("Change heat"), "change-heat", pair_name)
        if result.features:
            results.add_vector(result, tr("Change regions"), "change", "change", pair_name)
            text = tr("{} change regions between {} and {}.").format(len(result.features), name_a, name_b)
        else:
            text = tr("No change found between {} and {} {}.").format(name_a, name_b, self.dock.area_words())
        self.view.append(f"<p><b>{html.escape(tr('Change'))}:</b> {html.escape(result.text)}</p>")
        for rank, caption in _region_captions(result.features):
            self.view.append(f"<p>{html.escape(tr('Region #{}').format(rank))}: "
                             f"{html.escape(caption)}</p>")
        self.dock.set_status(text)
        results.report_with_zoom(self.dock.iface, text, heat)

    def ask(self) -> None:
        question = self.question.text().strip()
        if not question:
            return
        if self.pair_files is None:
            messages.report_info(self.dock.iface, tr("Compare two dates first."))
            return
        model, opts = settings.load().model_for("change_caption"), self.dock.run_options()
        conversation, files = self.conversation, self.pair_files

        def work(progress, cancel):
            conv = conversation
            if conv is None:  # the pair at the model's size, read again from the files
                pair = actions.coregister_pair(*files, max_side=CAPTION_SIDE)
                conv = actions.conversation(pair[0], model, image_b=pair[1], task="change_caption",
                                            opts=opts, cancel=cancel)
            return conv, conv.ask(question, progress=progress, cancel=cancel)

        def done(out):
            self.conversation, turn = out
            self.view.append(f"<p><b>{html.escape(tr('You'))}:</b> {html.escape(question)}</p>"
                             f"<p><b>EO Lens:</b> {html.escape(turn.answer)}</p>")

        self.question.clear()
        self.dock.run(tr("Asking about the change"), work, done)


def _region_captions(features) -> list[tuple[int, str]]:
    """(rank, caption) of the regions captioned from their chips, largest first."""
    ranked = [(int(f.properties["caption_rank"]), str(f.properties.get("caption") or ""))
              for f in features if f.properties.get("caption_rank")]
    return sorted(r for r in ranked if r[1])


def _bounds_crs(src):
    return src.bounds_crs if src.bounds else None


def _add_streamed_heat(path: str, result, name: str, source: str):
    """A streamed heat raster, stretched on the heat range sampled by its first pass."""
    from .. import styles

    layer = layers.raster_layer(path, name)
    lo, hi = result.heat_range or (0.0, 1.0)
    styles.heat_raster(layer, float(lo), float(hi))
    return layers.add_result(layer, "change-heat", source=source, details=results.details(result))


def _date(layer):
    from ...inference.io.dates import acquisition_date

    try:
        return acquisition_date(layer_path(layer), layer.name()) if layer else None
    except Exception:  # noqa: BLE001 - a date label must never break the panel
        return None
