"""Multi-turn chat about one image (or a before/after pair) that is encoded once.

The vision tower runs in the constructor; every ``ask`` re-uses the cached image features
(SamPredictor's set-image-once pattern), and the language model's key/value cache of the earlier
turns, so a follow-up question costs only its own new tokens (``qwen_vl.PrefixCache`` says how
exactly that matches a fresh run in fp32 and in bf16).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .cancel import CancelToken, ProgressFn, ensure_token
from .models.qwen_vl import PrefixCache, user_turn
from .results import PixelBox


@dataclass
class ChatTurn:
    """One question and its answer, with the boxes parsed from the answer and any warnings."""

    question: str
    answer: str
    boxes: list[PixelBox] = field(default_factory=list)  # parsed from bbox_2d JSON in the answer
    warnings: list[str] = field(default_factory=list)


class Conversation:
    """Chat with a Qwen-VL backend about ``image`` (and ``image_b``, the later date)."""

    def __init__(self, backend: Any, image: np.ndarray, *, image_b: np.ndarray | None = None,
                 max_new_tokens: int = 512) -> None:
        self.backend = backend
        self.max_new_tokens = max_new_tokens
        self.encoded = backend.encode([image] if image_b is None else [image, image_b])
        self.history: list[ChatTurn] = []
        self.cache = PrefixCache()  # earlier turns are not re-run through the language model

    def ask(self, question: str, progress: ProgressFn | None = None,
            cancel: CancelToken | None = None, *, max_new_tokens: int | None = None) -> ChatTurn:
        """Answer ``question`` given the image(s) and the earlier turns."""
        ensure_token(cancel).check()
        first = not self.history
        messages = self._messages() + [user_turn(question, self.encoded.count if first else 0)]
        answer = self.backend.generate(messages, self.encoded,
                                       max_new_tokens=max_new_tokens or self.max_new_tokens,
                                       progress=progress, cancel=cancel, cache=self.cache)
        boxes, warnings = self.backend.boxes(answer, self.encoded)
        turn = ChatTurn(question, answer, boxes, warnings)
        self.history.append(turn)
        return turn

    def reset(self) -> None:
        """Forget the turns; the image encoding is kept."""
        self.history.clear()
        self.cache = PrefixCache()

    def _messages(self) -> list[dict]:
        messages: list[dict] = []
        for i, turn in enumerate(self.history):
            messages.append(user_turn(turn.question, 0 if i else self.encoded.count))
            messages.append({"role": "assistant", "content": turn.answer})
        return messages
