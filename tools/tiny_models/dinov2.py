"""Tiny random-weight DINOv2 saved like ``facebook/dinov2-small``: a ``Dinov2Model`` folder with
``model.safetensors`` and the real ``preprocessor_config.json`` (BitImageProcessor, ImageNet
mean/std, resize 256 + crop 224). Only the model dimensions are shrunk; the patch size stays 14.
"""
from __future__ import annotations

from pathlib import Path

# facebook/dinov2-small preprocessor_config.json (no copy under shared/data/model-configs)
_PROCESSOR = {
    "do_resize": True, "size": {"shortest_edge": 256}, "resample": 3,
    "do_center_crop": True, "crop_size": {"height": 224, "width": 224},
    "do_rescale": True, "rescale_factor": 1 / 255,
    "do_normalize": True, "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225],
    "do_convert_rgb": True,
}


def build(out_dir: Path) -> Path:
    """Write the tiny DINOv2 folder (idempotent) and return it."""
    out_dir = Path(out_dir)
    if (out_dir / "model.safetensors").is_file() and (out_dir / "preprocessor_config.json").is_file():
        return out_dir
    import torch
    from transformers import BitImageProcessor, Dinov2Config, Dinov2Model

    config = Dinov2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                          mlp_ratio=2, patch_size=14, image_size=56)
    torch.manual_seed(0)
    Dinov2Model(config).eval().save_pretrained(out_dir, safe_serialization=True)
    BitImageProcessor(**_PROCESSOR).save_pretrained(out_dir)
    return out_dir
