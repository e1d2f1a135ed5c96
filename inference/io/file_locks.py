"""Files another program holds open: which errors mean a lock, and retrying while it lasts.

Windows refuses to replace or remove a file another process holds open (WinError 32; 5 for some
scanners, 33 for a locked range). A scanner or indexer lets go within seconds, QGIS does not, so
the retries are short and the caller names the file when they run out. Stdlib only: the
installer uses this before any dependency is there.
"""
from __future__ import annotations

import os
import time
from typing import Callable, Optional, Sequence

from ..errors import EOLensError

LOCK_WINERRORS = (5, 32, 33)   # access denied, sharing violation, lock violation
LOCK_DELAYS = (0.1, 0.25, 0.5, 1.0, 2.0)
_sleep = time.sleep            # replaced in tests


class OutputLockedError(EOLensError, PermissionError):
    """An output file stays open in another program (on Windows: QGIS showing it)."""


def is_locked(err: OSError) -> bool:
    """True for the Windows errors a lock gives (5, 32, 33)."""
    return getattr(err, "winerror", None) in LOCK_WINERRORS


def retry(action: Callable[[], None], delays: Sequence[float] = LOCK_DELAYS,
          locked: Callable[[OSError], bool] = is_locked,
          sleep: Optional[Callable[[float], None]] = None) -> None:
    """Run ``action``; while it fails with an error ``locked`` accepts, wait each of ``delays``
    in turn and try again. The last failure (or any other error) is raised."""
    for delay in (*delays, None):
        try:
            action()
            return
        except OSError as err:
            if delay is None or not locked(err):
                raise
            (sleep or _sleep)(delay)


def replace(src: str, dst: str) -> None:
    """``os.replace``, retried while Windows reports the file in use."""
    retry(lambda: os.replace(src, dst))


def locked_message(path: str) -> str:
    """What to tell the analyst when ``path`` stayed locked through every retry."""
    return (f"'{path}' is open in QGIS (or another program), so it cannot be replaced. Remove its "
            "layer from the project, or choose another output name, and run again. No output was "
            "changed; the new result was discarded.")
