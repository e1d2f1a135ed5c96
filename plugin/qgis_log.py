"""The EO Lens tab of the QGIS message log. A leaf: any plugin module may log through it."""
from __future__ import annotations

from qgis.core import Qgis, QgsMessageLog

LOG_TAG = "EO Lens"


def log(text: str, level=Qgis.MessageLevel.Info) -> None:
    """Write ``text`` to the EO Lens tab of the message log."""
    QgsMessageLog.logMessage(text, LOG_TAG, level)
