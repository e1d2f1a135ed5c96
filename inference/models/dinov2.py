"""DINOv2 image features: the patch-token grid of the whole image (for semantic change)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .backend import Backend
from ..cancel import CancelToken, ProgressFn
from ..errors import InputError, ModelError
from ..results import PixelResult, Request
from .weights import FOLDER_REVISION


class Dinov2Backend(Backend):
    """DINOv2 image encoder; task ``features`` returns the patch-token grid.

    Images are resized (aspect kept, bicubic like the processor) so the longer side is about
    ``max_side`` and both sides are multiples of the patch size; no centre crop, so every pixel
    has a patch.
    """

    family = "dinov2"
    tasks = frozenset({"features"})
    max_side = 518   # DINOv2's own high-resolution setting (37 x 14)

    def patch_tokens(self, images: Sequence[np.ndarray],
                     cancel: CancelToken | None = None) -> np.ndarray:
        """(N, h, w, D) float32 patch features; images must share one size.

        One forward pass per image, so identical images give bit-identical features.
        """
        grids = [self.run(Request("features", image=img), cancel=cancel).extra["patch_tokens"]
                 for img in images]
        return np.stack(grids)

    def preprocess(self, request: Request) -> Any:
        """The image at a patch-aligned size through the checkpoint's own processor."""
        image = _as_rgb8(request.image)
        patch = self._patch_size()
        h, w = image.shape[:2]
        size = _patch_aligned(h, w, patch, int(request.options.get("max_side", self.max_side)))
        # The checkpoint's own processor (bicubic, its mean/std) at a patch-aligned size and
        # without the centre crop, so every pixel of the capture has a patch.
        pixels = self.processor(images=image, size={"height": size[0], "width": size[1]},
                                do_center_crop=False, return_tensors="pt")["pixel_values"]
        return {"pixel_values": pixels.to(device=self.device, dtype=self.dtype),
                "grid": (size[0] // patch, size[1] // patch)}

    def forward(self, request: Request, inputs: Any, progress: ProgressFn,
                cancel: CancelToken) -> Any:
        """Run DINOv2 once; returns the patch tokens and the patch grid size."""
        import torch

        with torch.inference_mode():
            out = self.model(pixel_values=inputs["pixel_values"])
        progress(100.0)
        skip = 1 + int(getattr(self.model.config, "num_register_tokens", 0) or 0)
        tokens = out.last_hidden_state[0, skip:].float().cpu().numpy()
        return tokens, inputs["grid"]

    def postprocess(self, request: Request, raw: Any) -> PixelResult:
        """Patch tokens reshaped to a (rows, cols, dim) grid in ``extra['patch_tokens']``."""
        tokens, (gh, gw) = raw
        if tokens.shape[0] != gh * gw:
            raise ModelError(f"DINOv2 returned {tokens.shape[0]} patches for a {gh}x{gw} grid.")
        return PixelResult(extra={"patch_tokens": tokens.reshape(gh, gw, -1)})

    def _patch_size(self) -> int:
        p = getattr(self.model.config, "patch_size", 14)
        return int(p[0] if isinstance(p, (list, tuple)) else p)


def load_dinov2(spec: Any, path: Any, device: str, dtype: Any) -> Dinov2Backend:
    """Build a :class:`Dinov2Backend` from a transformers DINOv2 folder or cached hub id."""
    from transformers import AutoImageProcessor, AutoModel

    try:
        model = AutoModel.from_pretrained(str(path), revision=FOLDER_REVISION, dtype=dtype,
                                          trust_remote_code=False)
        processor = AutoImageProcessor.from_pretrained(str(path), revision=FOLDER_REVISION)
    except (OSError, ValueError, KeyError) as err:
        raise ModelError(f"Cannot load a DINOv2 model from '{path}': {err}") from err
    if not getattr(model.config, "model_type", "").startswith("dinov2"):
        raise ModelError(f"'{path}' is a {model.config.model_type} model, not DINOv2.")
    return Dinov2Backend(model.to(device).eval(), processor, spec, device, dtype)


def _patch_aligned(h: int, w: int, patch: int, max_side: int) -> tuple[int, int]:
    scale = max_side / max(h, w)
    return (max(patch, round(h * scale / patch) * patch),
            max(patch, round(w * scale / patch) * patch))


def _as_rgb8(image: np.ndarray | None) -> np.ndarray:
    if image is None or image.ndim != 3 or image.shape[2] < 3:
        raise InputError("DINOv2 features need an (H, W, 3) RGB image.")
    return np.asarray(image[..., :3], dtype=np.uint8)
