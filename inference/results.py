"""Plain pixel-space results every backend returns (no torch, no QGIS)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .tasks import Task, as_task


@dataclass
class PixelBox:
    """Axis-aligned box in pixel-corner coordinates of the image the model saw."""

    x0: float
    y0: float
    x1: float
    y1: float
    label: str = ""
    score: float = 1.0


@dataclass
class PixelPolygon:
    """Polygon ring (N, 2) of (x=col, y=row) pixel-corner coordinates."""

    coords: np.ndarray
    label: str = ""
    score: float = 1.0


@dataclass
class PixelResult:
    """What one backend call returns. Unused fields stay empty."""

    text: str = ""
    boxes: list[PixelBox] = field(default_factory=list)
    polygons: list[PixelPolygon] = field(default_factory=list)
    mask: Optional[np.ndarray] = None        # (H, W) bool or float32 score map
    masks: list[np.ndarray] = field(default_factory=list)  # per-instance (H, W) bool
    embedding: Optional[np.ndarray] = None   # (D,) or (N, D), L2-normalised
    scores: Optional[np.ndarray] = None      # per-tile / per-class scores
    warnings: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)


@dataclass
class Request:
    """One backend call: a task (``inference/tasks.py``; a misspelt one fails here), the image(s)
    and a prompt. caption takes options["detail"] in brief|detailed|more; detect's prompt is
    optional."""

    task: Task | str                         # a Task after __post_init__
    image: Optional[np.ndarray] = None       # (H, W, 3) uint8
    prompt: str = ""
    image_b: Optional[np.ndarray] = None     # the later date, for two-image tasks
    options: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.task = as_task(self.task)


def drop_boxes_on_nodata(result: PixelResult, valid: Optional[np.ndarray], min_valid: float = 0.5) -> int:
    """Remove from ``result.boxes`` each box whose pixels are less than ``min_valid`` valid data
    (``valid``: the image's (H, W) bool mask); returns how many were removed. A detector sees
    nodata as a flat colour and finds things in it."""
    if valid is None or not result.boxes or bool(np.all(valid)):
        return 0
    h, w = valid.shape
    kept = []
    for b in result.boxes:
        x0, x1 = int(max(0, min(w, np.floor(b.x0)))), int(max(0, min(w, np.ceil(b.x1))))
        y0, y1 = int(max(0, min(h, np.floor(b.y0)))), int(max(0, min(h, np.ceil(b.y1))))
        inside = valid[y0:y1, x0:x1]
        if inside.size and inside.mean() >= min_valid:
            kept.append(b)
    dropped = len(result.boxes) - len(kept)
    result.boxes = kept
    return dropped

