"""The plugin object QGIS creates: menu, toolbar, dock and Processing provider."""
from __future__ import annotations

import os
from typing import Optional

from qgis.core import Qgis, QgsApplication
from qgis.PyQt.QtCore import QCoreApplication, QLocale, QSettings, Qt, QTranslator
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QPushButton

try:  # Qt6 (QGIS 4) moved QAction to QtGui
    from qgis.PyQt.QtGui import QAction
except ImportError:
    from qgis.PyQt.QtWidgets import QAction

from . import deps, folder_swap, network, packages_path, settings
from .definitions import ICON, PLUGIN_DIR

MENU = "&EO Lens"


def tr(text: str) -> str:
    return QCoreApplication.translate("EOLens", text)


def _finish_pending_install() -> None:
    """Complete an install whose verified download waited for QGIS to restart (Windows locks)."""
    from .messages import log

    try:
        result = folder_swap.finish_pending(packages_path.packages_dir())
    except OSError as exc:  # never stop QGIS from starting over a leftover folder
        log(f"EO Lens could not finish the pending installation: {exc}", Qgis.MessageLevel.Warning)
        return
    if result is None:
        return
    for line in ([result.message] if result.message else []) + result.cleanup.lines():
        log(line, Qgis.MessageLevel.Info if result.done else Qgis.MessageLevel.Warning)


class EOLensPlugin:
    def __init__(self, iface) -> None:
        self.iface = iface
        self.actions: list[QAction] = []
        self.toolbar = None
        self.dock = None
        self.provider = None
        self.translator: Optional[QTranslator] = None
        self.installer = None
        self.deps_item = None
        self._install_translator()
        _finish_pending_install()  # before anything from the private folder is imported
        packages_path.activate()  # EO Lens's private packages, after QGIS's own paths
        network.apply_qgis_proxy()
        settings.apply_environment(settings.load())   # also for qgis_process (no initGui)

    # Processing: qgis_process calls only this, never initGui (docs/qgis-notes.md)
    def initProcessing(self) -> None:  # noqa: N802
        if self.provider is not None:
            return
        from .processing.provider import EOLensProvider

        provider = EOLensProvider()
        # addProvider deletes a provider whose id is taken (a second copy of the plugin, a test):
        # keep no reference to it then, or unload() would touch a deleted object.
        if QgsApplication.processingRegistry().addProvider(provider):
            self.provider = provider

    def initGui(self) -> None:  # noqa: N802
        self.initProcessing()
        icon = QIcon(ICON)
        self.toolbar = self.iface.addToolBar("EO Lens")
        self.toolbar.setObjectName("EOLensToolbar")
        self._add_action(icon, tr("EO Lens panel"), self.toggle_dock, checkable=True)
        self._add_action(QIcon(), tr("EO Lens settings…"), self.open_settings, toolbar=False)
        report = deps.check()
        if not report.ok:
            self._offer_install(report)

    def _add_action(self, icon, text, slot, checkable=False, toolbar=True) -> QAction:
        action = QAction(icon, text, self.iface.mainWindow())
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        self.iface.addPluginToRasterMenu(MENU, action)
        if toolbar:
            self.toolbar.addAction(action)
        self.actions.append(action)
        return action

    def _ready(self) -> bool:
        """True when the dependencies are usable; else the installer dialog opens instead."""
        report = deps.check()
        if report.ok:
            return True
        self.show_dependency_dialog(report)
        return False

    def toggle_dock(self, checked: bool = True) -> None:
        if checked and self.dock is None and not self._ready():
            self.actions[0].setChecked(False)
            return
        if self.dock is None:
            from .dock import EOLensDock

            self.dock = EOLensDock(self.iface, self.iface.mainWindow())
            self.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
            self.dock.visibilityChanged.connect(self.actions[0].setChecked)
        self.dock.setVisible(bool(checked))

    def open_settings(self) -> None:
        if not self._ready():
            return
        from .settings_dialog import SettingsDialog

        SettingsDialog(self.iface.mainWindow()).exec()

    def show_dependency_dialog(self, report: deps.DependencyReport) -> None:
        from .installer_dialog import InstallerDialog

        if self.installer is None or not self.installer.isVisible():
            self.installer = InstallerDialog(report, self.iface.mainWindow())
            self.installer.installed.connect(self._installed)
        self.installer.show()
        self.installer.raise_()

    def _offer_install(self, report: deps.DependencyReport) -> None:
        """A message bar line with an Install button: nothing pops up at every QGIS start."""
        bar = self.iface.messageBar()
        item = bar.createMessage("EO Lens", deps.dependency_message(report).split(" Install them")[0])
        button = QPushButton(tr("Install…"))
        button.clicked.connect(lambda: self.show_dependency_dialog(deps.check()))
        item.layout().addWidget(button)
        self.deps_item = bar.pushWidget(item, Qgis.MessageLevel.Warning)

    def _installed(self) -> None:
        """The packages are there now: drop the warning, the panel opens without a restart."""
        if self.deps_item is not None:
            self.iface.messageBar().popWidget(self.deps_item)
            self.deps_item = None

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
