"""The plugin object QGIS creates: menu, toolbar, dock and Processing provider."""
from __future__ import annotations

import os
from typing import Optional

from qgis.core import QgsApplication
from qgis.PyQt.QtCore import QCoreApplication, QLocale, QSettings, Qt, QTranslator
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction, QMessageBox

from . import deps

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MENU = "&EO Lens"


def tr(text: str) -> str:
    return QCoreApplication.translate("EOLens", text)


class EOLensPlugin:
    def __init__(self, iface) -> None:
        self.iface = iface
        self.actions: list[QAction] = []
        self.toolbar = None
        self.dock = None
        self.provider = None
        self.translator: Optional[QTranslator] = None
        self.deps_box: Optional[QMessageBox] = None
        self._install_translator()

    # Processing: qgis_process calls only this, never initGui (qgis-notes.md)
    def initProcessing(self) -> None:  # noqa: N802
        if self.provider is not None:
            return
        from .processing.provider import EOLensProvider

        self.provider = EOLensProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self) -> None:  # noqa: N802
        self.initProcessing()
        icon = QIcon(os.path.join(PLUGIN_DIR, "resources", "icon.svg"))
        self.toolbar = self.iface.addToolBar("EO Lens")
        self.toolbar.setObjectName("EOLensToolbar")
        self._add_action(icon, tr("EO Lens panel"), self.toggle_dock, checkable=True)
        self._add_action(QIcon(), tr("EO Lens settings…"), self.open_settings, toolbar=False)
        report = deps.check()
        if not report.ok:
            self.show_dependency_dialog(report)

    def _add_action(self, icon, text, slot, checkable=False, toolbar=True) -> QAction:
        action = QAction(icon, text, self.iface.mainWindow())
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        self.iface.addPluginToRasterMenu(MENU, action)
        if toolbar:
            self.toolbar.addAction(action)
        self.actions.append(action)
        return action

    def toggle_dock(self, checked: bool = True) -> None:
        if self.dock is None:
            from .dock import EOLensDock

            self.dock = EOLensDock(self.iface, self.iface.mainWindow())
            self.iface.addDockWidget(Qt.RightDockWidgetArea, self.dock)
            self.dock.visibilityChanged.connect(self.actions[0].setChecked)
        self.dock.setVisible(bool(checked))

    def open_settings(self) -> None:
        from .settings_dialog import SettingsDialog

        SettingsDialog(self.iface.mainWindow()).exec_()

    def show_dependency_dialog(self, report: deps.DependencyReport) -> None:
        lines = [tr("EO Lens needs Python packages that are missing or unusable in QGIS's Python:")]
        lines += [f"  • {m}" for m in report.missing] + [f"  • {p}" for p in report.problems]
        lines += ["", tr("Install them with this command, then restart QGIS:"), "",
                  deps.install_command(report)]
        self.deps_box = QMessageBox(QMessageBox.Warning, "EO Lens", "\n".join(lines),
                                    QMessageBox.Ok, self.iface.mainWindow())
        self.deps_box.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.deps_box.setModal(False)
        self.deps_box.show()

    def unload(self) -> None:
        from . import tasks

        for task in tasks.running():
            task.cancel()
        for action in self.actions:
            self.iface.removePluginRasterMenu(MENU, action)
            if self.toolbar is not None:
                self.toolbar.removeAction(action)
            action.deleteLater()
        self.actions = []
        if self.dock is not None:
            self.dock.shutdown()
            self.iface.removeDockWidget(self.dock)
            self.dock.deleteLater()
            self.dock = None
        if self.toolbar is not None:
            self.toolbar.deleteLater()
            self.toolbar = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        if self.translator is not None:
            QCoreApplication.removeTranslator(self.translator)
            self.translator = None

    def _install_translator(self) -> None:
        locale = (QSettings().value("locale/userLocale") or QLocale().name() or "en")[0:2]
        path = os.path.join(PLUGIN_DIR, "i18n", f"eolens_{locale}.qm")
        if os.path.exists(path):
            self.translator = QTranslator()
            if self.translator.load(path):
                QCoreApplication.installTranslator(self.translator)
