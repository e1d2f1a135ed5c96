"""Chat tab: caption the view, then a multi-turn conversation about the same capture."""
from __future__ import annotations

import html
from typing import Optional

from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QPushButton,
                                 QTextBrowser, QVBoxLayout, QWidget)

from .. import layers, settings, styles
from ..capture import CaptureSource, capture_image
from ..translate import N_
from .widgets import question_row
from ...inference import actions
from ...inference.georef import GeoFeature, result_to_features
from ...inference.results import PixelResult

DETAILS = (("brief", N_("Brief")), ("detailed", N_("Detailed")), ("more", N_("More detailed")))
CAPTION_FIELDS = {"caption": str, "model": str, "detail": str, "time": str, "layer": str}
CHAT_FIELDS = {"turn": int, "question": str, "answer": str, "model": str, "time": str, "layer": str}


def tr(text: str) -> str:
    return QCoreApplication.translate("ChatPanel", text)


class ChatPanel(QWidget):
    def __init__(self, dock) -> None:
        super().__init__(dock)
        self.dock = dock
        self.conversation = None          # inference.chat.Conversation, keeps the encoded image
        self.image = None                 # the GeoImage the conversation is about
        self.source: Optional[CaptureSource] = None
        self.turns: list[tuple[str, str]] = []
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.detail = QComboBox(self)
        for key, label in DETAILS:
            self.detail.addItem(tr(label), key)
        self.detail.setCurrentIndex(2)
        self.caption_button = QPushButton(tr("Caption this view"), self)
        self.caption_button.clicked.connect(self.caption)
        row.addWidget(self.detail)
        row.addWidget(self.caption_button, 1)
        layout.addLayout(row)
        self.view = QTextBrowser(self)
        layout.addWidget(self.view, 1)
        row, self.question, self.ask_button = question_row(
            self, tr("Ask about this view, e.g. how many ships are in the harbour?"), tr("Ask"), self.ask)
        layout.addLayout(row)
        row = QHBoxLayout()
        self.new_button = QPushButton(tr("New chat"), self)
        self.new_button.clicked.connect(self.new_chat)
        self.export_button = QPushButton(tr("Export chat…"), self)
        self.export_button.clicked.connect(self.export_dialog)
        row.addWidget(self.new_button)
        row.addWidget(self.export_button)
        layout.addLayout(row)

    # -- caption ---------------------------------------------------------------
    def caption(self) -> None:
        from ..messages import report_error

        try:
            source = self.dock.source()
        except Exception as err:  # noqa: BLE001 - bad input goes to the message bar
            report_error(self.dock.iface, err)
            return
        s, opts = settings.load(), self.dock.run_options()
        model, detail = s.model_for("caption"), self.detail.currentData()
        max_side = s.max_side if s.fit_to_model else None

        def work(progress, cancel):
            image = capture_image(source, max_side)
            return actions.caption(image, model, detail=detail, opts=opts, progress=progress,
                                   cancel=cancel)

        self.dock.run(tr("Captioning {}").format(source.name), work,
                      lambda result: self._captioned(source, result), layers=[self.dock.layer()])

    def _captioned(self, source: CaptureSource, result: actions.ActionResult) -> None:
        self._append(tr("Caption"), result.text)
        for feat in result.features:
            feat.properties["layer"] = source.name
        log = self._log_layer("captions", tr("EO Lens captions"), result.crs_wkt, CAPTION_FIELDS)
        layers.append_features(log, result.features)

    # -- chat ------------------------------------------------------------------
    def ask(self) -> None:
        from ..messages import report_error

        question = self.question.text().strip()
        if not question:
            return
        try:
            source = self.source if self.conversation is not None else self.dock.source()
        except Exception as err:  # noqa: BLE001
            report_error(self.dock.iface, err)
            return
        s, opts = settings.load(), self.dock.run_options()
        model = s.model_for("chat")
        max_side = s.max_side if s.fit_to_model else None
        conversation, image = self.conversation, self.image

        def work(progress, cancel):
            from ...inference.chat import Conversation

            nonlocal conversation, image
            if conversation is None:
                image = capture_image(source, max_side)
                backend = actions.load(model, "chat", opts, None, cancel)
                conversation = Conversation(backend, image.rgb)
            turn = conversation.ask(question, progress=progress, cancel=cancel)
            return conversation, image, turn

        self.question.clear()
        self._append(tr("You"), question)
        self.dock.run(tr("Asking {}").format(model), work,
                      lambda out: self._answered(source, model, *out), layers=[self.dock.layer()])

    def _answered(self, source: CaptureSource, model: str, conversation, image, turn) -> None:
        self.conversation, self.image, self.source = conversation, image, source
        self._append(tr("EO Lens"), turn.answer)
        self.turns.append((turn.question, turn.answer))
        n = len(self.turns)
        props = {"turn": n, "question": turn.question, "answer": turn.answer, "model": model,
                 "time": layers.stamp(), "layer": source.name}
        log = self._log_layer("chat", tr("EO Lens chat"), image.crs_wkt, CHAT_FIELDS)
        layers.append_features(log, [GeoFeature(image.footprint(), props)])
        if turn.boxes:
            feats = result_to_features(PixelResult(boxes=list(turn.boxes)), image,
                                       prompt=turn.question, model=model)
            for feat in feats:
                feat.properties["turn"] = n
            layer = layers.memory_layer(tr("Chat turn {} boxes").format(n), image.crs_wkt, feats)
            layers.add_result(layer, f"chat-boxes-{n}")

    def new_chat(self) -> None:
        self.conversation, self.image, self.source, self.turns = None, None, None, []
        self.view.clear()

    # -- helpers ---------------------------------------------------------------
    def _append(self, who: str, text: str) -> None:
        self.view.append(f"<p><b>{html.escape(who)}:</b> {html.escape(text)}</p>")

    def _log_layer(self, role: str, name: str, crs_wkt: str, spec: dict):
        layer = layers.find_role(role)
        if layer is None or layer.crs() != layers.crs_from_wkt(crs_wkt):
            fields = layers.fields_for([], spec)
            layer = layers.memory_layer(name, crs_wkt, [], fields=fields)
            styles.outline(layer, "#ffd60a", 0.8)   # a footprint must not hide the image
            layer = layers.add_result(layer, role)
        return layer

    def export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, tr("Export chat"), "",
                                              tr("Markdown (*.md);;HTML (*.html)"))
        if path:
            self.export(path)

    def export(self, path: str) -> str:
        """Write the conversation as Markdown or HTML, with the image chip beside it."""
        from ...inference.chat_export import write_chat

        return write_chat(path, self.turns, self.image.rgb if self.image is not None else None)
