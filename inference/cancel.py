"""Progress and cancel plumbing shared by every backend (no Qt: the plugin adapts QgsTask to it)."""
from __future__ import annotations

import threading
from typing import Callable, Optional

from .errors import Cancelled

ProgressFn = Callable[[float], None]  # percent 0..100


class CancelToken:
    """A thread-safe flag; ``check()`` raises Cancelled once set.

    ``probe`` lets the plugin plug in ``QgsTask.isCanceled`` / ``QgsFeedback.isCanceled``.
    """

    def __init__(self, probe: Optional[Callable[[], bool]] = None) -> None:
        self._event = threading.Event()
        self._probe = probe

    def cancel(self) -> None:
        """Ask the running work to stop at its next check."""
        self._event.set()

    def is_set(self) -> bool:
        """True once cancelled here or by the probe (e.g. the QgsTask's isCanceled)."""
        if not self._event.is_set() and self._probe is not None and self._probe():
            self._event.set()
        return self._event.is_set()

    def check(self) -> None:
        """Raise :class:`Cancelled` when the token is set; call it per tile and per token."""
        if self.is_set():
            raise Cancelled("Cancelled by the user.")


def ensure_token(cancel: Optional[CancelToken]) -> CancelToken:
    """``cancel``, or a fresh token that is never set."""
    return cancel if cancel is not None else CancelToken()


def noop_progress(_: float) -> None:
    """A progress function that ignores its value."""
    return None


def sub_progress(progress: Optional[ProgressFn], start: float, stop: float) -> ProgressFn:
    """Map 0..100 of a sub-step onto start..stop of the parent's range."""
    progress = progress or noop_progress
    return lambda p: progress(start + (stop - start) * max(0.0, min(100.0, p)) / 100.0)
