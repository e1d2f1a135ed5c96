"""GroundingDINO: open-vocabulary detection, text phrases -> boxes in original-image pixels."""
from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from .backend import Backend
from ..errors import InputError
from ..results import PixelBox, PixelResult, Request
from .sam_family import Box, check_image, load_pretrained


def _phrases(prompt: str) -> list[str]:
    """GroundingDINO wants lower-case phrases each ending in '.'."""
    return [p.strip().lower() for p in re.split(r"[.,;\n]+", prompt) if p.strip()]


def _clip(box: Sequence[float], w: int, h: int) -> Box:
    x0, y0, x1, y1 = (float(v) for v in box)
    return (min(max(x0, 0.0), w), min(max(y0, 0.0), h), min(max(x1, 0.0), w), min(max(y1, 0.0), h))


def _label(text: str, phrases: list[str]) -> str:
    """The prompt phrase a detection matched (model labels can be sub-word fragments)."""
    text = text.replace("[SEP]", "").replace("[CLS]", "").strip()
    return next((p for p in phrases if p in text or (text and text in p)), phrases[0])


class GroundingDinoBackend(Backend):
    """Open-vocabulary detection: text -> PixelBox list in original-image pixels."""

    family = "grounding_dino"
    tasks = frozenset({"detect"})

    def preprocess(self, request: Request):
        """The RGB image and the prompt's phrases ('car. tree.') through the processor."""
        image = check_image(request.image)
        phrases = _phrases(request.prompt)
        if not phrases:
            raise InputError("GroundingDINO needs a text prompt, e.g. 'car. tree.'.")
        text = " ".join(f"{p}." for p in phrases)
        inputs = self.processor(images=image, text=text, return_tensors="pt")
        inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
        return inputs.to(self.device), image.shape[:2], phrases

    def forward(self, request, inputs, progress, cancel):
        """Run GroundingDINO once; returns its outputs with the input ids, size and phrases."""
        import torch

        tensors, size, phrases = inputs
        with torch.inference_mode():
            out = self.model(**tensors)
        cancel.check()
        return out, tensors["input_ids"], size, phrases

    def postprocess(self, request: Request, raw) -> PixelResult:
        """Boxes above the box and text thresholds, labelled with their phrase, in pixels."""
        out, input_ids, (h, w), phrases = raw
        o = request.options
        found = self.processor.post_process_grounded_object_detection(
            out, input_ids, threshold=float(o.get("box_threshold", 0.35)),
            text_threshold=float(o.get("text_threshold", 0.25)), target_sizes=[(h, w)])[0]
        boxes = [PixelBox(*_clip(b, w, h), label=_label(t, phrases), score=float(s))
                 for b, s, t in zip(found["boxes"].float().cpu().numpy(),
                                    found["scores"].float().cpu().numpy(), found["text_labels"])]
        boxes = [b for b in boxes if b.x1 > b.x0 and b.y1 > b.y0]
        return PixelResult(boxes=boxes, scores=np.array([b.score for b in boxes], dtype=np.float32))


def load_grounding_dino(spec, path, device: str, dtype) -> GroundingDinoBackend:
    """Load a GroundingDINO checkpoint folder onto ``device``."""
    return load_pretrained("AutoModelForZeroShotObjectDetection", "AutoProcessor",
                           GroundingDinoBackend, spec, path, device, dtype)
