"""The Chat tab's "Context" row: vector layers and a documents folder that ground the answers
(issue 16), and a *Show prompt* toggle. Feature copies are taken on the main thread; the
grounding itself (``inference.grounding.prompt``) runs in the worker with the capture."""
from __future__ import annotations

import html
import os
from typing import Optional

from qgis.core import QgsProject, QgsVectorLayer
from qgis.gui import QgsCheckableComboBox, QgsFileWidget
from qgis.PyQt.QtCore import QCoreApplication, Qt
from qgis.PyQt.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from .. import settings


def tr(text: str) -> str:
    return QCoreApplication.translate("ContextRow", text)


class ContextRow(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        outer.addLayout(row)
        row.addWidget(QLabel(tr("Context"), self))
        self.layers = QgsCheckableComboBox(self)
        self.layers.setDefaultText(tr("no layers"))
        self.layers.setToolTip(tr("Vector layers whose features in the captured area go into the "
                                  "prompt (name, id, fields, where in the image)"))
        self.folder = QgsFileWidget(self)
        self.folder.setStorageMode(QgsFileWidget.StorageMode.GetDirectory)
        self.folder.setToolTip(tr("A folder of .txt, .md and .pdf documents; the passages that "
                                  "match the question go into the prompt"))
        self.folder.lineEdit().setPlaceholderText(tr("documents folder"))
        self.folder.setFilePath(settings.load().documents_dir)   # remembered between sessions
        self.folder.fileChanged.connect(lambda path: settings.update(documents_dir=path.strip()))
        self.show_prompt = QCheckBox(tr("Show prompt"), self)
        self._cited: list[dict] = []                  # every source linked in the chat so far
        self._passages: dict[tuple[str, int], str] = {}  # (path, chunk) -> the chunk's text
        row.addWidget(self.layers, 1)
        row.addWidget(self.folder, 1)
        outer.addWidget(self.show_prompt)   # its own line: the narrow dock never cuts its text
        project = QgsProject.instance()
        project.layersAdded.connect(self.refresh)
        project.layersRemoved.connect(self.refresh)
        self.refresh()

    def refresh(self, *_args) -> None:
        """List the project's vector layers, keeping what was ticked."""
        ticked = set(self.layers.checkedItemsData())
        self.layers.clear()
        for layer in QgsProject.instance().mapLayers().values():
            if isinstance(layer, QgsVectorLayer) and layer.isSpatial():
                self.layers.addItem(layer.name(), layer.id())
        for i in range(self.layers.count()):
            if self.layers.itemData(i) in ticked:
                self.layers.setItemCheckState(i, Qt.CheckState.Checked)

    def chosen_layers(self) -> list:
        project = QgsProject.instance()
        return [lyr for lyr in (project.mapLayer(i) for i in self.layers.checkedItemsData()) if lyr]

    def snapshot(self, source) -> Optional[dict]:
        """Main thread: plain data for :func:`ground` (None when no context is chosen)."""
        from ..vector_snapshot import context_for_capture

        layers, folder = self.chosen_layers(), self.folder.filePath().strip()
        if not layers and not folder:
            return None
        if folder and not os.path.isdir(folder):
            from ...inference.errors import InputError

            if os.path.lexists(folder):
                raise InputError(tr("'{}' is a file, not a folder; choose a folder of documents "
                                    "(.txt, .md, .pdf).").format(folder))
            raise InputError(tr("The documents folder '{}' does not exist.").format(folder))
        return {"layers": context_for_capture(layers, source) if layers else [],
                "documents": folder or None}

    def cite(self, grounding) -> str:
        """HTML for the sources under an answer, ``layer:fid`` and ``document#chunk``, each a
        link that :meth:`follow` opens."""
        from ...inference.grounding.prompt import source_name

        links = []
        for src in grounding.sources:
            self._cited.append(src)
            links.append(f'<a href="eolens-source:{len(self._cited) - 1}">'
                         f"{html.escape(source_name(src))}</a>")
        for hit in grounding.hits:
            self._passages[(hit.chunk.path, hit.chunk.index)] = hit.chunk.text
        return "<p><small>" + html.escape(tr("Sources: {}")).format(", ".join(links)) + \
            "</small></p>"

    def follow(self, url: str, canvas) -> str:
        """A clicked source: a feature is selected and zoomed to; a document passage is
        returned as text for the chat to show."""
        if not url.startswith("eolens-source:"):
            return ""
        src = self._cited[int(url.split(":", 1)[1])]
        if src["kind"] != "feature":
            return self._passages.get((src["path"], src["chunk"]), "")
        layer = QgsProject.instance().mapLayer(src.get("layer_id", ""))
        if layer is None:
            return tr("The layer '{}' is no longer in the project.").format(src["layer"])
        layer.selectByIds([int(src["fid"])])
        canvas.zoomToSelected(layer)
        return ""


def ground(snapshot: Optional[dict], image, question: str, caption: str = ""):
    """Worker side: the grounding for ``image`` and ``question`` (None without context)."""
    if snapshot is None:
        return None
    from ...inference.grounding import prompt as grounding

    return grounding.for_image(image, question, layers=snapshot["layers"],
                               documents=snapshot["documents"], caption=caption)
