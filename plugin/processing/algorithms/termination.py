"""A termination signal during a run is a Cancel: the run stops at its next check, its staged
outputs are removed, and nothing is half-written (``qgis_process`` killed by a scheduler or a
timeout). A second signal ends the process at once."""
from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ....inference.cancel import CancelToken

SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def tr(text: str) -> str:
    from qgis.PyQt.QtCore import QCoreApplication

    return QCoreApplication.translate("EOLensProcessing", text)


@contextmanager
def cancel_on_terminate(cancel: CancelToken, feedback) -> Iterator[None]:
    """While the block runs, SIGTERM (and SIGHUP) cancel ``cancel``; handlers are restored after.
    Signals can only be caught on the main thread (qgis_process); elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, _frame) -> None:
        if cancel.is_set():   # asked twice: end now, as the signal would have
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        cancel.cancel()
        feedback.reportError(tr("Stopped by a termination signal ({0}): removing the unfinished "
                                "outputs.").format(signal.Signals(signum).name), False)

    previous = {s: signal.getsignal(s) for s in SIGNALS}
    for s in SIGNALS:
        signal.signal(s, stop)
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)
