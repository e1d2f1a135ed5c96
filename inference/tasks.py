"""The one vocabulary of task names: what the registry says a model can do, what a ``Request``
asks a backend for, what ``load_model(task=...)`` checks, and the settings' model slots."""
from __future__ import annotations

from enum import Enum

from .errors import InputError


class Task(str, Enum):
    """A model task. Members compare and hash equal to their plain string value (``"caption"``)."""

    CAPTION = "caption"
    CHAT = "chat"
    GROUND = "ground"                  # text -> boxes of the one thing named (a VLM)
    DETECT = "detect"                  # text (or nothing) -> boxes
    SEGMENT = "segment"                # text -> masks (Florence-2 region polygons)
    SEGMENT_PROMPT = "segment_prompt"  # points / boxes -> masks (SAM, SAM 2.1)
    SEGMENT_TEXT = "segment_text"      # text -> masks in one model (SAM 3)
    CHANGE_CAPTION = "change_caption"  # two images -> a sentence about what changed
    FEATURES = "features"              # the patch-token grid (semantic change)
    EMBED_IMAGE = "embed_image"
    EMBED_TEXT = "embed_text"
    CLASSIFY = "classify"
    SEARCH = "search"

    __str__ = str.__str__              # "caption", not "Task.CAPTION", on every Python
    __format__ = str.__format__  # type: ignore[assignment]
    __hash__ = str.__hash__  # type: ignore[assignment]  # a member and its string: one dict key


# The tasks the analyst picks a model for (Settings ``model_<task>``, registry ``DEFAULTS``).
ROLES: tuple[Task, ...] = (Task.CAPTION, Task.DETECT, Task.SEGMENT, Task.SEGMENT_PROMPT, Task.CHAT,
                           Task.CHANGE_CAPTION, Task.FEATURES, Task.SEARCH)


def as_task(name: object, what: str = "task") -> Task:
    """``name`` as a :class:`Task`, or a named error listing the valid names."""
    try:
        return Task(name)
    except ValueError:
        valid = ", ".join(t.value for t in Task)
        raise InputError(f"Unknown {what} {name!r}; use one of: {valid}.") from None


def as_tasks(names) -> tuple[Task, ...]:
    """Each of ``names`` as a :class:`Task` (see :func:`as_task`)."""
    return tuple(as_task(n) for n in names)
