"""Tiny random-weight models of every supported family, saved like real checkpoints.

``python -m tools.tiny_models DIR`` (``make tiny-models DIR=...``) writes one folder (or file)
per family; each loads by path through ``inference.models.runtime`` exactly as a real checkpoint does.
Tokenizers and processor configs come from ../shared/data/model-configs so that prompts and
parsers see the real token ids; only the model dimensions are shrunk.
"""
from __future__ import annotations

import importlib
import os
from pathlib import Path

# family -> "module:function(out_dir: Path) -> Path"
BUILDERS: dict[str, str] = {
    "florence2": "florence:build",
    "openclip": "clip:build_openclip",
    "hfclip": "clip:build_hfclip",
    "openclip_squash": "clip:build_openclip_squash",
    "siglip2": "clip:build_siglip2",
    "qwen2_5_vl": "qwen:build_qwen2_5",
    "qwen3_vl": "qwen:build_qwen3",
    "sam": "sam:build_sam",
    "sam2": "sam:build_sam2",
    "sam3": "sam:build_sam3",
    "grounding_dino": "sam:build_grounding_dino",
    "dinov2": "dinov2:build",
}

REPO = Path(__file__).resolve().parents[2]


def configs_dir() -> Path:
    env = os.environ.get("EOLENS_SHARED_DATA")
    base = Path(env) if env else REPO.parent / "shared" / "data"
    return base / "model-configs"


def build(family: str, root: Path) -> Path:
    """Build one family under ``root`` (idempotent) and return its loadable path."""
    module, func = BUILDERS[family].split(":")
    mod = importlib.import_module(f"{__name__}.{module}")
    return getattr(mod, func)(Path(root) / family)


def build_all(root: Path) -> dict[str, Path]:
    return {family: build(family, root) for family in BUILDERS}
