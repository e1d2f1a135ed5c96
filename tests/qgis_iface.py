"""A small real-widget QgisInterface for tests: real canvas, real message bar, real main window."""
from __future__ import annotations

from qgis.core import QgsProject
from qgis.gui import QgsMapCanvas, QgsMessageBar
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import QMainWindow, QMenu


class RecordingBar(QgsMessageBar):
    """A real message bar that also remembers what was pushed (title, text, level)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.pushed: list[tuple[str, str, int]] = []

    def pushMessage(self, title, text, level=0, duration=-1):  # noqa: N802
        self.pushed.append((title, text, int(level)))
        return super().pushMessage(title, text, level, duration)


class FakeIface:
    def __init__(self) -> None:
        self.window = QMainWindow()
        self.canvas = QgsMapCanvas(self.window)
        self.canvas.resize(800, 600)
        self.window.setCentralWidget(self.canvas)
        self.bar = RecordingBar(self.window)
        self.menus: dict[str, QMenu] = {}
        self.docks = []
        self.toolbars = []
        QgsProject.instance().crsChanged.connect(self._sync_crs)

    def _sync_crs(self):
        self.canvas.setDestinationCrs(QgsProject.instance().crs())

    def mainWindow(self):  # noqa: N802 - QGIS API names
        return self.window

    def mapCanvas(self):  # noqa: N802
        return self.canvas

    def messageBar(self):  # noqa: N802
        return self.bar

    def addToolBar(self, name):  # noqa: N802
        bar = self.window.addToolBar(name)
        self.toolbars.append(bar)
        return bar

    def addPluginToRasterMenu(self, name, action):  # noqa: N802
        self.menus.setdefault(name, QMenu(name, self.window)).addAction(action)

    def removePluginRasterMenu(self, name, action):  # noqa: N802
        menu = self.menus.get(name)
        if menu is not None:
            menu.removeAction(action)
            if not menu.actions():
                del self.menus[name]

    def addDockWidget(self, area, dock):  # noqa: N802
        self.window.addDockWidget(area or Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.docks.append(dock)

    def removeDockWidget(self, dock):  # noqa: N802
        self.window.removeDockWidget(dock)
        self.docks.remove(dock)

    def activeLayer(self):  # noqa: N802
        return None

    def errors(self) -> list[str]:
        return [text for _, text, level in self.bar.pushed if level == 2]  # Qgis.Critical
