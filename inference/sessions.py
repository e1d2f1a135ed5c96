"""Live encode-once sessions (Florence, SAM) kept in-process and named by a plain handle.

Results stay plain data (``ActionResult.session`` is a string), so an out-of-process worker
remains possible: it keeps its own sessions and the caller only ever holds the handle.
"""
from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from typing import Any, Optional

KEEP = 4  # a few captures back (one per panel); older sessions free their encodings

_LOCK = threading.Lock()
_SESSIONS: "OrderedDict[str, Any]" = OrderedDict()


def keep(session: Any) -> Optional[str]:
    """Remember ``session`` and return its handle (None for no session)."""
    if session is None:
        return None
    with _LOCK:
        handle = next((h for h, s in _SESSIONS.items() if s is session), None) \
            or f"session-{uuid.uuid4().hex}"
        _SESSIONS[handle] = session
        _SESSIONS.move_to_end(handle)
        while len(_SESSIONS) > KEEP:
            _SESSIONS.popitem(last=False)
    return handle


def get(handle: Optional[str]) -> Any:
    """The session behind ``handle``; None when unknown or already dropped (the caller re-encodes)."""
    if not handle:
        return None
    with _LOCK:
        session = _SESSIONS.get(str(handle))
        if session is not None:
            _SESSIONS.move_to_end(str(handle))
        return session


def clear() -> None:
    """Drop every session (with the models they reference: Free GPU memory)."""
    with _LOCK:
        _SESSIONS.clear()
