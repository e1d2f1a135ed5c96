"""Small widget groups the panels share."""
from __future__ import annotations

from typing import Callable

from qgis.PyQt.QtWidgets import QHBoxLayout, QLineEdit, QPushButton, QWidget


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
