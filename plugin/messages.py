"""Turn exceptions into plain words in the QGIS message bar (never a traceback dialog)."""
from __future__ import annotations

import traceback

from qgis.core import Qgis, QgsMessageLog

from ..inference.errors import Cancelled, EOLensError, OutOfMemoryError

LOG_TAG = "EO Lens"


def describe(err: BaseException) -> str:
    """A message an analyst can act on."""
    if isinstance(err, EOLensError):
        return str(err)
    if isinstance(err, MemoryError) or "out of memory" in str(err).lower():
        return str(OutOfMemoryError(
            "Out of memory. Try a smaller area, 'fit to model' capture, a smaller model or the CPU."))
    return f"Unexpected error ({type(err).__name__}: {err}). Details are in the EO Lens log panel."


def log(text: str, level=Qgis.MessageLevel.Info) -> None:
    QgsMessageLog.logMessage(text, LOG_TAG, level)


def report_error(iface, err: BaseException, tb: str = "") -> str:
    """Show ``err`` in the message bar (or the log when there is no bar) and return the text."""
    if isinstance(err, Cancelled):
        return ""
    text = describe(err)
    log(tb or "".join(traceback.format_exception(type(err), err, err.__traceback__)), Qgis.MessageLevel.Warning)
    bar = iface.messageBar() if iface is not None else None
    if bar is not None:
        bar.pushMessage(LOG_TAG, text, level=Qgis.MessageLevel.Critical, duration=0)
    return text


def report_info(iface, text: str, level=Qgis.MessageLevel.Success, duration: int = 5) -> None:
    bar = iface.messageBar() if iface is not None else None
    if bar is not None:
        bar.pushMessage(LOG_TAG, text, level=level, duration=duration)
    log(text)
