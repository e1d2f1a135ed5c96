"""SAM, SAM 2.1 (point/box prompts) and SAM 3 (text prompts) backends.

Prompted SAM follows segment-anything's predictor pattern: the image is encoded once
(``encode``) and every point/box prompt only runs the light prompt encoder + mask decoder
(``decode``). ``Backend.run`` is the one-shot path built from the same two steps;
``segment_session.SegmentSession`` keeps the encoded image for many prompts.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .backend import Backend
from ..cancel import CancelToken, ProgressFn
from ..errors import InputError
from .weights import FOLDER_REVISION
from ..results import PixelBox, PixelResult, Request

Point = tuple[float, float]
Box = tuple[float, float, float, float]


@dataclass
class Encoded:
    """An image after the vision encoder: what every prompt on that image reuses."""

    embeddings: Any               # SAM: tensor; SAM2: list of multi-scale tensors
    original_size: tuple[int, int]  # (H, W) of the caller's image
    input_size: tuple[int, int]     # (H, W) the image occupies inside the model input


@dataclass
class Prompts:
    """Point prompts (with 1 = include, 0 = exclude labels) and box prompts, in pixels."""

    points: list[Point] | None = None
    labels: list[int] | None = None
    boxes: list[Box] | None = None


def check_image(image: np.ndarray | None) -> np.ndarray:
    """The image as a contiguous (H, W, 3) uint8 array; a clear error otherwise."""
    if image is None or image.ndim != 3 or image.shape[2] != 3 or image.size == 0:
        raise InputError("Segmentation needs an RGB image (H, W, 3).")
    return np.ascontiguousarray(image, dtype=np.uint8)


def parse_prompts(points=None, labels=None, boxes=None) -> Prompts:
    """Validate click/box prompts in original-image pixels; labels: 1 include, 0 exclude."""
    points = [tuple(map(float, p)) for p in points] if points else None
    boxes = [tuple(map(float, b)) for b in boxes] if boxes else None
    if not points and not boxes:
        raise InputError("Click at least one point or draw a box to segment.")
    if points:
        labels = [int(v) for v in labels] if labels is not None else [1] * len(points)
        if len(labels) != len(points) or any(v not in (0, 1) for v in labels):
            raise InputError("Give one label per point: 1 to include, 0 to exclude.")
        if boxes and len(boxes) > 1:
            raise InputError("Points can be combined with one box only.")
    if boxes and any(b[2] <= b[0] or b[3] <= b[1] for b in boxes):
        raise InputError("A box needs x0 < x1 and y0 < y1.")
    return Prompts(points, labels if points else None, boxes)


def wants_multimask(prompts: Prompts) -> bool:
    """The model cards' rule: three candidate masks (the best kept) only for one ambiguous click;
    boxes and several points are unambiguous and ask for a single mask."""
    return not prompts.boxes and len(prompts.points or ()) == 1


class PromptSamBackend(Backend):
    """Shared logic of SAM and SAM2.1: point/box prompts -> best mask per instance."""

    tasks = frozenset({"segment_prompt"})

    # -- the two steps every caller (run, SegmentSession) goes through ------------------------
    def encode(self, image: np.ndarray | None) -> Encoded:
        """Encode the image once; prompts are decoded against the embedding many times."""
        import torch

        image = check_image(image)
        inputs = self.processor.image_processor(images=image, return_tensors="pt")
        pixels = inputs["pixel_values"].to(self.device, self.dtype)
        with torch.inference_mode():
            embeddings = self.model.get_image_embeddings(pixels)
        return Encoded(embeddings, (image.shape[0], image.shape[1]), self._input_size(inputs))

    def decode(self, encoded: Encoded, prompts: Prompts) -> PixelResult:
        """Masks for ``prompts`` on an encoded image, in the original image's pixels."""
        import torch

        kwargs = self._prompt_tensors(encoded, prompts)
        multimask = wants_multimask(prompts)
        with torch.inference_mode():
            out = self.model(image_embeddings=encoded.embeddings, multimask_output=multimask,
                             **kwargs)
        iou = out.iou_scores[0].float()                      # (instances, 3 or 1)
        best = iou.argmax(dim=-1)
        rows = torch.arange(iou.shape[0], device=iou.device)
        low_res = out.pred_masks[0][rows, best].unsqueeze(1)  # (instances, 1, h, w)
        masks = self._upscale(low_res, encoded)[:, 0].cpu().numpy().astype(bool)
        return PixelResult(masks=list(masks), scores=iou[rows, best].cpu().numpy())

    # -- Backend interface ---------------------------------------------------------------------
    def preprocess(self, request: Request) -> tuple[Encoded, Prompts]:
        """Encode the image and parse the point and box prompts from the request's options."""
        o = request.options
        prompts = parse_prompts(o.get("points"), o.get("labels"), o.get("boxes"))
        return self.encode(request.image), prompts

    def forward(self, request: Request, inputs: tuple[Encoded, Prompts], progress: ProgressFn,
                cancel: CancelToken) -> PixelResult:
        """Decode the prompts against the encoded image."""
        cancel.check()
        return self.decode(*inputs)

    def postprocess(self, request: Request, raw: PixelResult) -> PixelResult:
        """The decoded result as it is."""
        return raw

    # -- family specifics ----------------------------------------------------------------------
    def _input_size(self, inputs) -> tuple[int, int]:
        raise NotImplementedError

    def _upscale(self, low_res, encoded: Encoded):
        raise NotImplementedError

    def _prompt_tensors(self, encoded: Encoded, prompts: Prompts) -> dict:
        """Original-image pixels -> model-input pixels, shaped (image, instance, point, xy)."""
        import torch

        (h, w), (ih, iw) = encoded.original_size, encoded.input_size
        scale = torch.tensor([iw / w, ih / h], dtype=torch.float32)
        out = {}
        if prompts.points:
            pts = torch.tensor(prompts.points, dtype=torch.float32) * scale
            out["input_points"] = pts[None, None].to(self.device, self.dtype)
            out["input_labels"] = torch.tensor(prompts.labels)[None, None].to(self.device)
        if prompts.boxes:
            boxes = torch.tensor(prompts.boxes, dtype=torch.float32) * scale.repeat(2)
            out["input_boxes"] = boxes[None].to(self.device, self.dtype)
        return out


class SamBackend(PromptSamBackend):
    """SAM (ViT): point and box prompts."""

    family = "sam"

    def _input_size(self, inputs) -> tuple[int, int]:
        # SAM resizes the longest edge and pads; prompts live in the resized, unpadded frame
        h, w = inputs["reshaped_input_sizes"][0]
        return int(h), int(w)

    def _upscale(self, low_res, encoded: Encoded):
        return self.processor.image_processor.post_process_masks(
            [low_res.float().cpu()], [encoded.original_size], [encoded.input_size])[0]


class Sam2Backend(PromptSamBackend):
    """SAM 2.1 image predictor: point and box prompts."""

    family = "sam2"

    def _input_size(self, inputs) -> tuple[int, int]:
        h, w = inputs["pixel_values"].shape[-2:]  # plain resize, no pad
        return int(h), int(w)

    def _upscale(self, low_res, encoded: Encoded):
        return self.processor.post_process_masks([low_res.float().cpu()], [encoded.original_size])[0]


class Sam3Backend(Backend):
    """SAM3: a noun phrase -> every matching instance (masks, boxes, scores)."""

    family = "sam3"
    tasks = frozenset({"segment_text"})

    def preprocess(self, request: Request) -> tuple[Any, tuple[int, int]]:
        """The RGB image and the text prompt through the SAM3 processor."""
        image = check_image(request.image)
        if not request.prompt.strip():
            raise InputError("SAM3 needs a text prompt, e.g. 'building'.")
        inputs = self.processor(images=image, text=request.prompt.strip(), return_tensors="pt")
        inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
        return inputs.to(self.device), (image.shape[0], image.shape[1])

    def forward(self, request, inputs, progress, cancel):
        """Run SAM3 once on the image and text."""
        import torch

        tensors, size = inputs
        with torch.inference_mode():
            out = self.model(pixel_values=tensors["pixel_values"], input_ids=tensors["input_ids"],
                             attention_mask=tensors["attention_mask"])
        cancel.check()
        return out, size

    def postprocess(self, request: Request, raw) -> PixelResult:
        """Instance masks, boxes and scores above the threshold, in pixels."""
        out, size = raw
        found = self.processor.post_process_instance_segmentation(
            out, threshold=float(request.options.get("threshold", 0.5)), mask_threshold=0.5,
            target_sizes=[size])[0]
        label = request.prompt.strip()
        scores = found["scores"].float().cpu().numpy()
        boxes = [PixelBox(float(b[0]), float(b[1]), float(b[2]), float(b[3]), label=label, score=float(s))
                 for b, s in zip(found["boxes"].float().cpu().numpy(), scores)]
        masks = list(found["masks"].cpu().numpy().astype(bool))
        return PixelResult(boxes=boxes, masks=masks, scores=scores)


def load_pretrained(model_cls: str, processor_cls: str, backend_cls, spec, path, device: str, dtype):
    """Load a model and processor folder with the named transformers classes into ``backend_cls``."""
    import transformers

    model = getattr(transformers, model_cls).from_pretrained(
        str(path), revision=FOLDER_REVISION, dtype=dtype)
    processor = getattr(transformers, processor_cls).from_pretrained(
        str(path), revision=FOLDER_REVISION)
    return backend_cls(model.to(device).eval(), processor, spec, device, dtype)


def load_sam(spec, path, device: str, dtype) -> SamBackend:
    """Load a SAM checkpoint folder onto ``device``."""
    return load_pretrained("SamModel", "SamProcessor", SamBackend, spec, path, device, dtype)


def load_sam2(spec, path, device: str, dtype) -> Sam2Backend:
    # hub SAM2.1 checkpoints are sam2_video; Sam2Model loads their image-predictor subset
    """Load a SAM 2.1 checkpoint folder onto ``device``."""
    return load_pretrained("Sam2Model", "Sam2Processor", Sam2Backend, spec, path, device, dtype)


def load_sam3(spec, path, device: str, dtype) -> Sam3Backend:
    """Load a SAM3 checkpoint folder onto ``device``."""
    return load_pretrained("Sam3Model", "Sam3Processor", Sam3Backend, spec, path, device, dtype)
