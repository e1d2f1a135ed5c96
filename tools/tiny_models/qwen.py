"""Tiny random-weight Qwen2.5-VL and Qwen3-VL checkpoints with the real tokenizer and processors.

The tokenizer (vocab/merges, special-token ids), processor configs and chat template are the real
Qwen files from model-configs, so prompts, image-token expansion and parsers see real ids and real
resizing. Only the dimensions shrink; ``mrope_section`` must sum to ``head_dim / 2``.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from . import configs_dir

_DONE = ".complete"  # written last, so an interrupted build is redone
_QWEN3_FILES = ("preprocessor_config.json", "video_preprocessor_config.json", "chat_template.json",
                "tokenizer_config.json", "vocab.json", "merges.txt")

_TINY_TEXT = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
              "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 32,
              "initializer_range": 0.2}  # large init: random tokens instead of one repeated token
_TINY_VISION = {"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2,
                "deepstack_visual_indexes": [0], "num_position_embeddings": 256}

# Qwen2.5-VL-3B-Instruct's config (hub values), dimensions shrunk.
_QWEN25_TEXT = {
    "model_type": "qwen2_5_vl_text", "vocab_size": 151936, "hidden_act": "silu",
    "max_position_embeddings": 128000, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
    "tie_word_embeddings": True, "use_sliding_window": False, "sliding_window": 32768,
    "max_window_layers": 70, "bos_token_id": 151643, "eos_token_id": 151645,
    "attention_dropout": 0.0, "rope_scaling": {"type": "mrope", "mrope_section": [4, 6, 6]}}
_QWEN25_VISION = {
    "depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "hidden_act": "silu",
    "in_channels": 3, "out_hidden_size": 64, "patch_size": 14, "spatial_merge_size": 2,
    "temporal_patch_size": 2, "window_size": 112, "fullatt_block_indexes": [1],
    "tokens_per_second": 2}
_QWEN25_TOP = {"image_token_id": 151655, "video_token_id": 151656,
               "vision_start_token_id": 151652, "vision_end_token_id": 151653,
               "tie_word_embeddings": True}
# Qwen2.5-VL image processor defaults (CLIP mean/std, patch 14, min/max pixels of the hub config).
_QWEN25_IMAGE = {"patch_size": 14, "temporal_patch_size": 2, "merge_size": 2,
                 "image_mean": [0.48145466, 0.4578275, 0.40821073],
                 "image_std": [0.26862954, 0.26130258, 0.27577711],
                 "size": {"shortest_edge": 3136, "longest_edge": 12845056}}
# The Qwen2-VL / Qwen2.5-VL chat template (default system prompt), reconstructed from the hub.
_QWEN25_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}"
    "{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture "
    "{{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video "
    "{{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def _qwen3_src() -> Path:
    return configs_dir() / "Qwen-Qwen3-VL-4B-Instruct"


def _finish(model, processor, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    (out / _DONE).write_text("ok\n")
    return out


def _qwen3_processor():
    from transformers import AutoProcessor

    with tempfile.TemporaryDirectory() as tmp:
        for name in _QWEN3_FILES:
            shutil.copy(_qwen3_src() / name, tmp)
        return AutoProcessor.from_pretrained(tmp)


def build_qwen3(out_dir: Path, *, text: dict | None = None, vision: dict | None = None) -> Path:
    """Tiny Qwen3-VL from the 2B config; ``text``/``vision`` override dims (the bench's)."""
    out = Path(out_dir)
    if (out / _DONE).exists():
        return out
    import torch
    from transformers import (
        GenerationConfig,
        Qwen3VLConfig,
        Qwen3VLForConditionalGeneration,
    )

    cfg = json.loads((configs_dir() / "Qwen-Qwen3-VL-2B-Instruct" / "config.json").read_text())
    t = {**_TINY_TEXT, **(text or {})}
    half = t["head_dim"] // 2  # mrope_section must sum to head_dim/2; keep the real 24:20:20
    sec = [half - 2 * (half * 20 // 64), half * 20 // 64, half * 20 // 64]
    cfg["text_config"].update(t, dtype="float32")
    rope = cfg["text_config"]["rope_scaling"]
    cfg["text_config"]["rope_scaling"] = {**rope, "mrope_section": sec}
    cfg["vision_config"].update(_TINY_VISION, **(vision or {}))
    cfg["vision_config"]["out_hidden_size"] = t["hidden_size"]
    torch.manual_seed(0)
    model = Qwen3VLForConditionalGeneration(Qwen3VLConfig(**cfg)).eval()
    model.generation_config = GenerationConfig.from_pretrained(_qwen3_src())
    return _finish(model, _qwen3_processor(), out)


def _qwen25_processor():
    from transformers import (
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
    )

    tok = _qwen3_processor().tokenizer  # the same Qwen2 vocab, merges and special-token ids
    return Qwen2_5_VLProcessor(image_processor=Qwen2VLImageProcessor(**_QWEN25_IMAGE),
                               tokenizer=tok, chat_template=_QWEN25_TEMPLATE,
                               video_processor=Qwen2VLVideoProcessor(**_QWEN25_IMAGE))


def build_qwen2_5(out_dir: Path) -> Path:
    """Tiny Qwen2.5-VL (patch 14, window attention, absolute-pixel grounding)."""
    out = Path(out_dir)
    if (out / _DONE).exists():
        return out
    import torch
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    text = {**_QWEN25_TEXT, **{k: v for k, v in _TINY_TEXT.items() if k != "head_dim"}}
    text["num_attention_heads"] = 2  # Qwen2.5 derives head_dim = hidden / heads = 32
    config = Qwen2_5_VLConfig(text_config=text, vision_config=_QWEN25_VISION, **_QWEN25_TOP)
    torch.manual_seed(0)
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    model.generation_config.eos_token_id = [151645, 151643]
    model.generation_config.pad_token_id = 151643
    return _finish(model, _qwen25_processor(), out)
