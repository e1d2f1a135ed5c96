"""Small widget groups the panels share."""
from __future__ import annotations

from typing import Callable, Optional

from qgis.PyQt.QtCore import QSize, Qt
from qgis.PyQt.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QSizePolicy, QWidget


def question_row(parent: QWidget, placeholder: str, ask_label: str,
                 on_ask: Callable[[], None]) -> tuple[QHBoxLayout, QLineEdit, QPushButton]:
    """A question field with an Ask button; Return in the field asks too."""
    row = QHBoxLayout()
    edit = QLineEdit(parent)
    edit.setPlaceholderText(placeholder)
    edit.returnPressed.connect(on_ask)
    button = QPushButton(ask_label, parent)
    button.clicked.connect(on_ask)
    row.addWidget(edit, 1)
    row.addWidget(button)
    return row, edit, button


class ElidedLabel(QLabel):
    """One line of status text that never widens its parent: shown elided, full text in the tooltip."""

    def __init__(self, text: str = "", parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt API name
        self._full = text or ""
        self.setToolTip(self._full)
        self._elide()

    def text(self) -> str:
        return self._full

    def displayed(self) -> str:
        """The (possibly elided) text actually shown."""
        return super().text()

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(0, super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(0, super().sizeHint().height())

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, max(0, self.width()))
        super().setText(shown)


def wrapping_label(text: str, parent: QWidget) -> QLabel:
    """A hint label that wraps instead of forcing the dock wider."""
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label
