"""The consent dialog: what will be installed, where and how big; pip runs only after *Install*."""
from __future__ import annotations

import threading
from typing import Optional

from qgis.core import QgsApplication, QgsTask
from qgis.PyQt.QtCore import QCoreApplication, Qt, QTimer, pyqtSignal
from qgis.PyQt.QtWidgets import (QButtonGroup, QDialog, QHBoxLayout, QLabel, QPlainTextEdit,
                                 QProgressBar, QPushButton, QRadioButton, QVBoxLayout)

from . import deps, installer, network, packages_path, support_floor


def tr(text: str) -> str:
    return QCoreApplication.translate("EOLensInstaller", text)


class InstallTask(QgsTask):
    """Runs the installer in a worker thread; log lines are handed over through a locked list."""

    def __init__(self, plan: installer.Plan) -> None:
        super().__init__(tr("Installing EO Lens packages"), QgsTask.Flag.CanCancel)
        self.plan = plan
        self.outcome: Optional[installer.Outcome] = None
        self._lines: list[str] = []
        self._lock = threading.Lock()

    def run(self) -> bool:  # worker thread: no widgets, no layers
        try:
            self.outcome = installer.run(self.plan, log=self._log, progress=self.setProgress,
                                         is_cancelled=self.isCanceled)
        except Exception as exc:  # never let an exception escape into QGIS's task manager
            self.outcome = installer.Outcome(False, tr("Installation failed: {0}").format(exc))
        return bool(self.outcome and self.outcome.ok)

    def _log(self, line: str) -> None:
        with self._lock:
            self._lines.append(line)

    def take_lines(self) -> list[str]:
        with self._lock:
            lines, self._lines = self._lines, []
        return lines


class InstallerDialog(QDialog):
    installed = pyqtSignal()

    def __init__(self, report: deps.DependencyReport, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("EO Lens: install Python packages"))
        self.report = report
        self.task: Optional[InstallTask] = None
        self.target = packages_path.packages_dir()
        self.proxy = network.qgis_proxy()[0]
        self.gpu = installer.detected_gpu()
        # QGIS's Python below the support floor (support_floor.py): say so, Install stays grey
        self.floor = support_floor.refusal(packages_path.python_executable(), installer._clean_env())
        self.plan_view = QPlainTextEdit(readOnly=True)
        layout = QVBoxLayout(self)
        layout.addWidget(self._intro())
        layout.addLayout(self._torch_choice())
        layout.addWidget(self.plan_view)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        layout.addWidget(self.progress)
        self.log_view = QPlainTextEdit(readOnly=True)
        self.log_view.setPlaceholderText(tr("pip's log appears here."))
        layout.addWidget(self.log_view)
        layout.addLayout(self._buttons())
        self.timer = QTimer(self, interval=200)
        self.timer.timeout.connect(self._poll)
        self.resize(760, 620)
        self._refresh_plan()

    def _intro(self) -> QLabel:
        lines = [self.floor] if self.floor else []
        if self.report.missing:
            lines.append(tr("EO Lens needs these Python packages, which QGIS's Python does not have: {0}.")
                         .format(", ".join(self.report.missing)))
        lines += self.report.problems
        if self.report.system:
            lines.append(tr("Install these from your distribution first (they must use QGIS's own "
                            "GDAL/GEOS): {0}").format(deps.apt_command(self.report.system)))
        lines.append(tr("Nothing is installed until you press Install. Packages go into a private "
                        "folder that QGIS's own Python packages are never replaced from:"))
        lines.append(str(self.target))
        label = QLabel("\n".join(lines))
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return label

    def _torch_choice(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(QLabel(tr("PyTorch build:")))
        self.cpu = QRadioButton(tr("CPU"))
        gpu_text = tr("CUDA (NVIDIA GPU: {0})").format(self.gpu) if self.gpu else \
            tr("CUDA (no NVIDIA GPU detected)")
        self.cuda = QRadioButton(gpu_text)
        self.group = QButtonGroup(self)
        for button in (self.cpu, self.cuda):
            self.group.addButton(button)
            row.addWidget(button)
            button.toggled.connect(self._refresh_plan)
        (self.cuda if self.gpu else self.cpu).setChecked(True)
        row.addStretch(1)
        return row

    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addStretch(1)
        self.install_button = QPushButton(tr("Install"))
        self.install_button.clicked.connect(self.start)
        self.cancel_button = QPushButton(tr("Cancel"))
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button = QPushButton(tr("Close"))
        self.close_button.clicked.connect(self.reject)
        for b in (self.install_button, self.cancel_button, self.close_button):
            row.addWidget(b)
        self.cancel_button.setEnabled(False)
        self.install_button.setEnabled(not self.report.system and not self.floor)
        return row

    def torch_choice(self) -> str:
        return "cuda" if self.cuda.isChecked() else "cpu"

    def plan(self) -> installer.Plan:
        return installer.make_plan(self.target, self.torch_choice(), proxy=self.proxy)

    def _refresh_plan(self) -> None:
        plan = self.plan()
        text = tr("What will be installed") + "\n" + plan.describe() + "\n\n" + tr("Command:") + "\n"
        text += "\n".join(" ".join(installer._quote(a) for a in c) for c in plan.commands())
        if self.proxy:
            text += "\n\n" + tr("Through the proxy set in QGIS's network options.")
        self.plan_view.setPlainText(text)

    def start(self) -> None:
        if self.task is not None or self.floor:
            return
        self.task = InstallTask(self.plan())
        self.task.taskCompleted.connect(self._finished)
        self.task.taskTerminated.connect(self._finished)
        self.install_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        for b in (self.cpu, self.cuda):
            b.setEnabled(False)
        self.task.progressChanged.connect(lambda p: self.progress.setValue(int(p)))
        QgsApplication.taskManager().addTask(self.task)
        self.timer.start()

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _poll(self) -> None:
        if self.task is not None:
            for line in self.task.take_lines():
                self.log_view.appendPlainText(line)

    def _finished(self) -> None:
        self._poll()
        self.timer.stop()
        outcome = self.task.outcome if self.task else None
        self.cancel_button.setEnabled(False)
        if outcome is not None and outcome.ok:
            packages_path.activate(self.target)
            self.install_button.setText(tr("Installed"))
            self.installed.emit()
        else:
            self.install_button.setEnabled(True)
            for b in (self.cpu, self.cuda):
                b.setEnabled(True)
        if outcome is None:  # the task was terminated before the installer could report
            self.log_view.appendPlainText(tr("Installation cancelled; nothing was changed."))
        self.task = None

    def reject(self) -> None:
        self.cancel()
        super().reject()
