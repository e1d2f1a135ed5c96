"""Chat tab: caption the view, then a multi-turn conversation about the same capture."""
from __future__ import annotations

import html
import json
from typing import Optional

from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtWidgets import (QComboBox, QHBoxLayout, QPushButton, QSizePolicy,
                                 QTextBrowser, QVBoxLayout, QWidget)

from .. import layers, messages, settings, styles
from ..capture import CaptureSource, capture_image
from ..translate import N_
from .export_dialog import CHAT_FORMATS, ask_save_path
from .widgets import question_row
from .context_row import ContextRow, ground
from ...inference import actions
from ...inference.io.georef import GeoFeature, result_to_features
from ...inference.results import PixelResult

DETAILS = (("brief", N_("Brief")), ("detailed", N_("Detailed")), ("more", N_("More detailed")))
CAPTION_FIELDS = {"caption": str, "model": str, "detail": str, "time": str, "layer": str}
CHAT_FIELDS = {"conversation": int, "turn": int, "question": str, "answer": str, "model": str,
               "time": str, "layer": str, "sources": str}
CAPTION_BUTTON = (N_("Caption this view"), N_("Caption the whole layer"), N_("Caption the drawn area"))


def capture_key(source: CaptureSource) -> tuple:
    """What makes two captures the same image: layer, file, area and bands."""
    return (source.layer_id, source.path, source.bounds, source.bounds_crs, source.bands,
            source.image is not None)


def tr(text: str) -> str:
    return QCoreApplication.translate("ChatPanel", text)


class ChatPanel(QWidget):
    def __init__(self, dock) -> None:
        super().__init__(dock)
        self.dock = dock
        self.conversation = None          # inference.chat.Conversation, keeps the encoded image
        self.image = None                 # the GeoImage the conversation is about
        self.source: Optional[CaptureSource] = None
        self.turns: list[tuple[str, str]] = []      # (question, answer); a caption is turn 1
        self.number = 0                             # conversation number in the chat log layer
        self.turn_sources: dict[tuple[int, int], list] = {}   # (conversation, turn) -> sources
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.detail = QComboBox(self)
        for key, label in DETAILS:
            self.detail.addItem(tr(label), key)
        self.detail.setCurrentIndex(2)
        self.caption_button = QPushButton(tr(CAPTION_BUTTON[0]), self)
        self.caption_button.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.caption_button.clicked.connect(self.caption)
        dock.areaChanged.connect(lambda area: self.caption_button.setText(tr(CAPTION_BUTTON[area])))
        row.addWidget(self.detail)
        row.addWidget(self.caption_button, 1)
        layout.addLayout(row)
        self.view = QTextBrowser(self)
        self.view.setOpenLinks(False)     # source links select a feature or show a passage
        self.view.anchorClicked.connect(self._source_clicked)
        layout.addWidget(self.view, 1)
        self.context = ContextRow(self)   # layers and documents that ground the answers (issue 16)
        layout.addWidget(self.context)
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
        try:
            source = self.dock.source()
        except Exception as err:  # noqa: BLE001 - bad input goes to the message bar
            messages.report_error(self.dock.iface, err)
            return
        s, opts = settings.load(), self.dock.run_options()
        model, detail = s.model_for("caption"), self.detail.currentData()
        max_side = s.max_side if s.fit_to_model else None

        def work(progress, cancel):
            image = capture_image(source, max_side)
            return image, actions.caption(image, model, detail=detail, opts=opts, progress=progress,
                                          cancel=cancel)

        self.dock.run(tr("Captioning {}").format(source.name), work,
                      lambda out: self._captioned(source, model, *out), layers=[self.dock.layer()])

    def _captioned(self, source: CaptureSource, model: str, image, result: actions.ActionResult) -> None:
        """A caption opens a new conversation about its capture and is that conversation's turn 1."""
        self._new_conversation(source, image)
        self._append(tr("Caption"), result.text)
        for feat in result.features:
            feat.properties["layer"] = source.name
        log = self._log_layer("captions", tr("EO Lens captions"), result.crs_wkt, CAPTION_FIELDS)
        layers.append_features(log, result.features)
        self._log_turn(tr("Caption ({})").format(self.detail.currentText()), result.text, model, image)

    # -- chat ------------------------------------------------------------------
    def ask(self) -> None:
        question = self.question.text().strip()
        if not question:
            return
        try:
            source = self.dock.source()
        except Exception as err:  # noqa: BLE001
            messages.report_error(self.dock.iface, err)
            return
        try:
            context = self.context.snapshot(source)   # feature copies: main thread
        except Exception as err:  # noqa: BLE001
            messages.report_error(self.dock.iface, err)
            return
        if self.source is None or capture_key(source) != capture_key(self.source):
            self._new_conversation(source, None)   # another layer, area or band choice
        s, opts = settings.load(), self.dock.run_options()
        model = s.model_for("chat")
        max_side = s.max_side if s.fit_to_model else None
        conversation, image, history = self.conversation, self.image, list(self.turns)
        caption = history[0][1] if history and history[0][0].startswith(tr("Caption")) else ""

        def work(progress, cancel):
            nonlocal conversation, image
            if conversation is None:
                image = image or capture_image(source, max_side)
                conversation = actions.conversation(image, model, history=history, opts=opts,
                                                    cancel=cancel)
            grounding = ground(context, image, question, caption)
            prompt = grounding.prompt(question) if grounding is not None else question
            turn = conversation.ask(prompt, progress=progress, cancel=cancel)
            return conversation, image, turn, question, grounding, prompt

        self.question.clear()
        self._append(tr("You"), question)
        number = self.number
        self.dock.run(tr("Asking about {}").format(source.name), work,
                      lambda out: self._answered(number, model, *out), layers=[self.dock.layer()])

    def _answered(self, number: int, model: str, conversation, image, turn, question: str = "",
                  grounding=None, prompt: str = "") -> None:
        if number != self.number:      # a new conversation started meanwhile: not this one's turn
            return
        self.conversation, self.image = conversation, image
        question = question or turn.question   # turn.question is the prompt when grounded
        self._append(tr("EO Lens"), turn.answer)
        sources = grounding.sources if grounding is not None else []
        if sources:
            self.view.append(self.context.cite(grounding))
        for warning in grounding.warnings if grounding is not None else ():
            self._note(warning)
        if grounding is not None and self.context.show_prompt.isChecked():
            self._note(prompt)
        n = self._log_turn(question, turn.answer, model, image, sources)
        if turn.boxes:
            feats = result_to_features(PixelResult(boxes=list(turn.boxes)), image,
                                       prompt=question, model=model)
            for feat in feats:
                feat.properties["turn"] = n
            layer = layers.memory_layer(tr("Chat turn {} boxes").format(n), image.crs_wkt, feats)
            layers.add_result(layer, f"chat-boxes-{n}", source=self.source.name if self.source else "",
                              details=f"question: {question}\nmodel: {model}")

    def _log_turn(self, question: str, answer: str, model: str, image, sources=()) -> int:
        self.turns.append((question, answer))
        n = len(self.turns)
        props = {"conversation": self.number, "turn": n, "question": question, "answer": answer,
                 "model": model, "time": layers.stamp(), "layer": self.source.name if self.source else "",
                 "sources": json.dumps(list(sources), ensure_ascii=False) if sources else ""}
        self.turn_sources[(self.number, n)] = list(sources)
        log = self._log_layer("chat", tr("EO Lens chat"), image.crs_wkt, CHAT_FIELDS)
        layers.append_features(log, [GeoFeature(image.footprint(), props)])
        return n

    def _new_conversation(self, source: CaptureSource, image) -> None:
        had_turns = bool(self.turns)
        self.conversation, self.image, self.source, self.turns = None, image, source, []
        self.number += 1
        self.view.clear()
        if had_turns:
            self._note(tr("New conversation about {} ({}): the earlier turns were about another "
                          "capture; they are kept in the EO Lens chat layer.").format(
                              source.name, self.dock.area_words()))

    def new_chat(self) -> None:
        self.conversation, self.image, self.source, self.turns = None, None, None, []
        self.number += 1
        self.view.clear()

    # -- helpers ---------------------------------------------------------------
    def _source_clicked(self, url) -> None:
        passage = self.context.follow(url.toString(), self.dock.iface.mapCanvas())
        if passage:
            self._note(passage)

    def _append(self, who: str, text: str) -> None:
        self.view.append(f"<p><b>{html.escape(who)}:</b> {html.escape(text)}</p>")

    def _note(self, text: str) -> None:
        self.view.append(f"<p><i>{html.escape(text)}</i></p>")

    def _log_layer(self, role: str, name: str, crs_wkt: str, spec: dict):
        crs = layers.crs_from_wkt(crs_wkt)
        layer = next((lyr for lyr in layers.find_roles(role) if lyr.crs() == crs), None)
        if layer is None:
            fields = layers.fields_for([], spec)
            layer = layers.memory_layer(name, crs_wkt, [], fields=fields)
            styles.outline(layer, "#ffd60a", 0.8)   # a footprint must not hide the image
            layer = layers.add_result(layer, role, source=self.source.name if self.source else "")
        return layer

    def export_dialog(self) -> None:
        path = ask_save_path(self, tr("Export chat"), CHAT_FORMATS)
        if path:
            self.export(path)

    def export(self, path: str) -> Optional[str]:
        """Write the conversation (caption first) as Markdown or HTML, with its own image chip
        beside it; the real path goes to the message bar, a problem too (never a traceback)."""
        from ...inference.io.chat_export import write_chat

        if not self.turns:
            messages.report_info(self.dock.iface, tr("Nothing to export yet: caption the view or ask "
                                                     "a question first."))
            return None
        title = tr("EO Lens conversation about {}").format(self.source.name) if self.source else None
        try:
            sources = [self.turn_sources.get((self.number, i + 1), []) for i in range(len(self.turns))]
            out = write_chat(path, self.turns, self.image.rgb if self.image is not None else None,
                             sources=sources, **({"title": title} if title else {}))
        except Exception as err:  # noqa: BLE001 - a bad path is a message, not a traceback
            messages.report_error(self.dock.iface, err)
            return None
        messages.report_info(self.dock.iface, tr("Chat exported to {}").format(out))
        return out
