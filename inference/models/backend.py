"""The one backend interface: preprocess -> forward -> postprocess, plain data in and out.

Each model family lives in its own module (``florence.py``, ``clip_family.py``, ``qwen_vl.py``,
``sam_family.py``, ...) and subclasses :class:`Backend`. The runtime (``runtime.py``) loads the
weights and builds the backend; callers only see ``Backend.run``.
"""
from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from typing import Any, Optional

from ..cancel import CancelToken, ProgressFn, ensure_token, noop_progress
from ..errors import ModelError
from ..results import PixelResult, Request


class Backend(ABC):
    """A loaded model of one family. Subclasses set ``family`` and ``tasks``."""

    family: str = ""
    tasks: frozenset[str] = frozenset()

    def __init__(self, model: Any, processor: Any, spec: Any, device: str, dtype: Any) -> None:
        self.model = model
        self.processor = processor
        self.spec = spec            # registry.ModelSpec it was loaded from
        self.device = device
        self.dtype = dtype
        # One cached model may be asked from the dock and a Processing run at once; models keep
        # per-call state (Qwen's rope deltas, caches), so calls on one backend take turns.
        self.lock = threading.RLock()

    def run(self, request: Request, progress: Optional[ProgressFn] = None,
            cancel: Optional[CancelToken] = None) -> PixelResult:
        """Validate, then preprocess -> forward -> postprocess."""
        if request.task not in self.tasks:
            raise ModelError(
                f"Model '{getattr(self.spec, 'name', self.family)}' cannot do '{request.task}'; "
                f"it supports: {', '.join(sorted(self.tasks))}.")
        progress, cancel = progress or noop_progress, ensure_token(cancel)
        cancel.check()
        with self.lock:
            inputs = self.preprocess(request)
            raw = self.forward(request, inputs, progress, cancel)
            return self.postprocess(request, raw)

    @abstractmethod
    def preprocess(self, request: Request) -> Any:
        """Turn the request's image and prompt into model inputs (no gradient work yet)."""

    @abstractmethod
    def forward(self, request: Request, inputs: Any, progress: ProgressFn,
                cancel: CancelToken) -> Any:
        """Run the model on ``inputs``, reporting progress and honouring ``cancel``; returns raw outputs."""

    @abstractmethod
    def postprocess(self, request: Request, raw: Any) -> PixelResult:
        """Turn the raw outputs into a pixel-space result: text, boxes, polygons, masks or embeddings."""

    def unload(self) -> None:
        """Drop references so the runtime can free device memory."""
        self.model = None
        self.processor = None
