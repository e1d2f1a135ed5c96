"""One QgsTask for every long job: plain-data work in ``run()``, layers built in ``finished()``."""
from __future__ import annotations

import traceback
from typing import Any, Callable, Iterable, Optional

from qgis.core import QgsApplication, QgsMapLayer, QgsTask
from qgis.PyQt.QtCore import QCoreApplication, pyqtSignal

from ..inference.cancel import CancelToken, ProgressFn
from ..inference.errors import Cancelled

Work = Callable[[ProgressFn, CancelToken], Any]

# QGIS keeps only a C++ reference: hold the Python objects until each task ends (docs/qgis-notes.md).
_RUNNING: set["EOLensTask"] = set()


class EOLensTask(QgsTask):
    """Runs ``work(progress, cancel)`` in a worker thread; callbacks run on the main thread.

    ``work`` must only use plain data captured before the task starts: no layers, no project.
    A cancelled run ends as a *completed* QgsTask (QGIS would otherwise announce "Task failed")
    and ``on_cancel`` is called.
    """

    phaseChanged = pyqtSignal(str)   # noqa: N815 - Qt signal name; emitted from the worker thread

    def __init__(self, description: str, work: Work, *,
                 on_done: Callable[[Any], None],
                 on_error: Callable[[BaseException, str], None],
                 on_cancel: Optional[Callable[[], None]] = None,
                 layers: Iterable[QgsMapLayer] = ()) -> None:
        super().__init__(description, QgsTask.Flag.CanCancel)
        self._work, self._on_done, self._on_error = work, on_done, on_error
        self._on_cancel = on_cancel
        self.token = CancelToken(probe=self.isCanceled)
        self.result: Any = None
        self.error: Optional[BaseException] = None
        self.error_tb = ""
        layers = [lyr for lyr in layers if lyr is not None]
        if layers:
            self.setDependentLayers(layers)  # removing an input layer cancels the task

    def run(self) -> bool:  # worker thread
        try:
            self.result = self._work(self._progress, self.token)
            return True
        except Cancelled:
            self.token.cancel()
            return True
        except BaseException as err:  # noqa: BLE001 - everything must reach finished()
            self.error, self.error_tb = err, traceback.format_exc()
            return False

    def phase(self, text: str) -> None:
        """Name what the worker is doing now ("Loading model…"); safe from any thread."""
        self.phaseChanged.emit(text)

    @property
    def was_cancelled(self) -> bool:
        return self.token.is_set()

    def _progress(self, percent: float) -> None:
        self.setProgress(max(0.0, min(100.0, float(percent))))

    def cancel(self) -> None:
        if not self.token.is_set():   # QGIS's task bar then reads "<description> (cancelled)"
            self.setDescription(QCoreApplication.translate("EOLensTask", "{} (cancelled)").format(self.description()))
        self.token.cancel()
        super().cancel()

    def finished(self, ok: bool) -> None:  # main thread
        log_device_notes()
        try:
            if self.error is not None:
                self._on_error(self.error, self.error_tb)
            elif self.was_cancelled or not ok:
                if self._on_cancel is not None:
                    self._on_cancel()
            else:
                self._on_done(self.result)
        except BaseException as err:  # noqa: BLE001 - a failing callback must not take QGIS down
            self._on_error(err, traceback.format_exc())
        finally:
            _RUNNING.discard(self)


def log_device_notes() -> list[str]:
    """Log where each model loaded since the last call runs (once per load); returns the notes."""
    from ..inference.models.runtime import take_device_notes
    from . import messages

    notes = take_device_notes()
    for note in notes:
        messages.log(note)
    return notes


def start(task: EOLensTask) -> EOLensTask:
    _RUNNING.add(task)
    QgsApplication.taskManager().addTask(task)
    return task


def running() -> list[EOLensTask]:
    return list(_RUNNING)
