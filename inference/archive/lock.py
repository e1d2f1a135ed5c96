"""One writer per index file: an exclusive lock the operating system releases on exit or crash.

The lock is ``flock`` on the index file itself, so no lock file is ever left beside the index.
On Windows (no ``flock``; its byte-range locks are mandatory and would block SQLite's own reads)
only SQLite's locks apply. SQLite's own locks guard single transactions;
this one guards a whole build, which commits file by file.
"""
from __future__ import annotations

import os
from typing import Optional

from ..errors import InputError


class IndexLock:
    """Exclusive, non-blocking lock on ``path`` (created empty when missing)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.created = False
        self._fd: Optional[int] = None

    def acquire(self) -> "IndexLock":
        """Take the lock or raise :class:`InputError` naming the index in use."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
            self.created = True
        except FileExistsError:
            fd = os.open(self.path, os.O_RDWR)
        try:
            _lock(fd)
        except OSError as err:
            os.close(fd)
            raise InputError(f"INDEX: the index '{self.path}' is in use by another run (being "
                             "written now); wait for that run to finish, or choose another "
                             "index file.") from err
        self._fd = fd
        return self

    def release(self) -> None:
        """Drop the lock (closing the descriptor releases it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # Windows: see the module docstring
        return
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
