"""Tiny random-weight CLIPs saved like the real checkpoints users load.

* ``build_openclip``: an open_clip folder like an ``hf-hub:`` open_clip repo
  (``open_clip_config.json`` + one ``.pt`` state dict of plain tensors, weights_only-loadable),
  trained-arch ``eolens-tiny-quickgelu``. The arch JSONs are also written to ``arch/`` so a bare
  ``.pt`` can be loaded by arch name after ``register_archs``.
* ``build_hfclip``: a ``CLIPModel`` from the real openai/clip-vit-base-patch32 config with shrunk
  dims, the real CLIP tokenizer files and image processor, saved with ``save_pretrained``.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from . import configs_dir

TINY_ARCH = "eolens-tiny"
CHECKPOINT = f"{TINY_ARCH}-quickgelu.pt"
_TINY_CFG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 224, "layers": 2, "width": 64, "head_width": 32,
                   "patch_size": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2,
                 "layers": 2},
}


def register_archs(out_dir: Path) -> None:
    """Make ``eolens-tiny`` and ``eolens-tiny-quickgelu`` known to open_clip in this process."""
    import open_clip

    arch_dir = Path(out_dir) / "arch"
    if str(arch_dir) not in map(str, open_clip.factory._MODEL_CONFIG_PATHS):
        open_clip.add_model_config(arch_dir)


def _write_archs(arch_dir: Path) -> None:
    arch_dir.mkdir(parents=True, exist_ok=True)
    (arch_dir / f"{TINY_ARCH}.json").write_text(json.dumps(_TINY_CFG, indent=2))
    (arch_dir / f"{TINY_ARCH}-quickgelu.json").write_text(
        json.dumps({**_TINY_CFG, "quick_gelu": True}, indent=2))


def build_openclip(out_dir: Path) -> Path:
    """Write the tiny open_clip folder (idempotent) and return it."""
    out_dir = Path(out_dir)
    ckpt = out_dir / CHECKPOINT
    if ckpt.is_file() and (out_dir / "open_clip_config.json").is_file():
        register_archs(out_dir)
        return out_dir
    import open_clip
    import torch

    _write_archs(out_dir / "arch")
    register_archs(out_dir)
    torch.manual_seed(0)
    model = open_clip.create_model(f"{TINY_ARCH}-quickgelu", pretrained=None)
    # Random init leaves logit_scale at log(1/0.07); fine for tests.
    torch.save({k: v.detach().clone() for k, v in model.state_dict().items()}, ckpt)
    config = {"arch": f"{TINY_ARCH}-quickgelu",
              "model_cfg": {**_TINY_CFG, "quick_gelu": True},
              "preprocess_cfg": {"mean": [0.48145466, 0.4578275, 0.40821073],
                                 "std": [0.26862954, 0.26130258, 0.27577711]}}
    (out_dir / "open_clip_config.json").write_text(json.dumps(config, indent=2))
    return out_dir


def _tiny_clip_config():
    from transformers import CLIPConfig

    cfg = json.loads((configs_dir() / "openai-clip-vit-base-patch32" / "config.json").read_text())
    cfg["projection_dim"] = 32
    cfg["text_config"].update(hidden_size=32, intermediate_size=64, num_attention_heads=2,
                              num_hidden_layers=2, projection_dim=32)
    cfg["vision_config"].update(hidden_size=64, intermediate_size=128, num_attention_heads=2,
                                num_hidden_layers=2, projection_dim=32)
    for key in ("text_config_dict", "vision_config_dict", "_name_or_path", "transformers_version"):
        cfg.pop(key, None)
    return CLIPConfig(**cfg)


def build_hfclip(out_dir: Path) -> Path:
    """Write the tiny HF CLIP folder (idempotent) and return it."""
    out_dir = Path(out_dir)
    if (out_dir / "model.safetensors").is_file() and (out_dir / "tokenizer.json").is_file():
        return out_dir
    import torch
    from transformers import CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    src = configs_dir() / "openai-clip-vit-base-patch32"
    tok_dir = out_dir / "_tokenizer_src"
    tok_dir.mkdir(parents=True, exist_ok=True)
    for name in ("vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(src / name, tok_dir / name)
    processor = CLIPProcessor(
        image_processor=CLIPImageProcessor.from_pretrained(src),
        tokenizer=CLIPTokenizer.from_pretrained(tok_dir))
    torch.manual_seed(0)
    model = CLIPModel(_tiny_clip_config()).eval()
    model.save_pretrained(out_dir, safe_serialization=True)
    processor.save_pretrained(out_dir)
    shutil.rmtree(tok_dir)
    return out_dir


def build_openclip_squash(out_dir: Path) -> Path:
    """The tiny open_clip folder with ``resize_mode: squash`` and bilinear interpolation in its
    ``preprocess_cfg`` (as some hf-hub open_clip repos ship), same weights as ``build_openclip``."""
    out_dir = Path(out_dir)
    if (out_dir / CHECKPOINT).is_file() and (out_dir / "open_clip_config.json").is_file():
        register_archs(out_dir)
        return out_dir
    build_openclip(out_dir)
    config = json.loads((out_dir / "open_clip_config.json").read_text())
    config["preprocess_cfg"].update(resize_mode="squash", interpolation="bilinear")
    (out_dir / "open_clip_config.json").write_text(json.dumps(config, indent=2))
    return out_dir


def build_siglip2(out_dir: Path) -> Path:
    """A tiny SigLIP2 NaFlex model (``Siglip2Model``, like google/siglip2-base-patch16-naflex):
    variable-resolution patches, so the processor returns ``pixel_attention_mask`` and
    ``spatial_shapes``. The real CLIP BPE files stand in for Gemma's 256k-token vocabulary
    (loaded back as a Siglip2Tokenizer: lower-case, left padding, 64 tokens)."""
    out_dir = Path(out_dir)
    if (out_dir / "model.safetensors").is_file() and (out_dir / "processor_config.json").is_file():
        return out_dir
    import torch
    from transformers import (CLIPTokenizerFast, Siglip2Config, Siglip2ImageProcessor,
                              Siglip2Model, Siglip2Processor)

    tokenizer = CLIPTokenizerFast.from_pretrained(configs_dir() / "openai-clip-vit-base-patch32")
    processor = Siglip2Processor(image_processor=Siglip2ImageProcessor(max_num_patches=256,
                                                                       patch_size=16),
                                 tokenizer=tokenizer)
    small = {"hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 2,
             "num_hidden_layers": 2}
    config = Siglip2Config(
        text_config={**small, "vocab_size": len(tokenizer), "max_position_embeddings": 64,
                     "pad_token_id": tokenizer.pad_token_id, "bos_token_id": tokenizer.bos_token_id,
                     "eos_token_id": tokenizer.eos_token_id},
        vision_config={**small, "patch_size": 16, "num_patches": 256})
    torch.manual_seed(0)
    Siglip2Model(config).eval().save_pretrained(out_dir, safe_serialization=True)
    processor.save_pretrained(out_dir)
    return out_dir
