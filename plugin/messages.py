"""Turn exceptions into plain words in the QGIS message bar (never a traceback dialog)."""
from __future__ import annotations

import traceback
from typing import Callable, Optional

from qgis.core import Qgis
from qgis.PyQt.QtCore import QCoreApplication

from ..inference.errors import TRANSLATION_CONTEXT, Cancelled, translate_error
from .qgis_log import LOG_TAG, log


def tr(text: str) -> str:
    return QCoreApplication.translate("EOLensMessages", text)


def describe(err: BaseException) -> str:
    """A message an analyst can act on, in the UI language (inference.errors words it)."""
    err = translate_error(err)
    return _offline_source(err.translated(
        lambda text: QCoreApplication.translate(TRANSLATION_CONTEXT, text)))


def _offline_source(text: str) -> str:
    """Say which switch turned offline mode on (the EO Lens settings or the environment)."""
    if "offline mode is on" not in text:
        return text
    from .settings import load, offline_state

    _, why = offline_state(load())
    return f"{text} (Offline mode is on because of {why}.)" if why else text


def report_error(iface, err: BaseException, tb: str = "") -> str:
    """Show ``err`` in the message bar (or the log when there is no bar) and return the text.

    An error that carries ``zoom_to`` (a layer or a rectangle in the canvas CRS) gets a
    *Zoom to layer* button."""
    if isinstance(err, Cancelled):
        return ""
    text = describe(err)
    log(tb or "".join(traceback.format_exception(type(err), err, err.__traceback__)), Qgis.MessageLevel.Warning)
    target = getattr(err, "zoom_to", None)
    action = (getattr(err, "zoom_label", "") or tr("Zoom to layer"), lambda: zoom_to(iface, target)) \
        if target is not None else None
    push(iface, text, Qgis.MessageLevel.Critical, 0, action)
    return text


def report_info(iface, text: str, level=Qgis.MessageLevel.Success, duration: int = 5,
                action: Optional[tuple[str, Callable[[], None]]] = None) -> None:
    push(iface, text, level, duration, action)
    log(text)


def push(iface, text: str, level, duration: int,
         action: Optional[tuple[str, Callable[[], None]]] = None) -> None:
    """A message-bar message, optionally with one button (label, callback) beside it."""
    bar = iface.messageBar() if iface is not None else None
    if bar is None:
        return
    bar.pushMessage(LOG_TAG, text, level=level, duration=duration)
    item = bar.currentItem() if action is not None else None
    if item is not None:
        from qgis.PyQt.QtWidgets import QPushButton

        button = QPushButton(action[0], item)   # owned by the item, not by Python
        button.setObjectName("eolens-message-action")
        button.clicked.connect(action[1])
        item.setWidget(button)


def zoom_to(iface, target) -> None:
    """Zoom the canvas to a layer, or to a rectangle given in the canvas CRS."""
    from qgis.core import QgsMapLayer

    from .layers import extent_in

    canvas = iface.mapCanvas()
    if isinstance(target, QgsMapLayer):
        rect = extent_in(target, canvas.mapSettings().destinationCrs())
    else:
        rect = target
    if rect is None or rect.isEmpty():
        return
    rect = type(rect)(rect)
    rect.scale(1.05)
    canvas.setExtent(rect)
    canvas.refresh()
