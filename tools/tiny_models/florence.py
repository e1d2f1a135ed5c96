"""Tiny random-weight Florence-2 in the florence-community (native transformers) layout.

Tokenizer: the real BART vocab/merges + Florence's 1024 task/location tokens (ids 50265-51288)
+ ``<image>`` (51289), as transformers' conversion script builds it. Processor: the real
preprocessor values and the full post_processor_config; only the image size and the model
dimensions are shrunk (64 px -> 2x2 vision tokens + 1 = image_seq_length 5).
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from . import configs_dir

TINY_SIZE = 64  # px; the vision tower downsamples by 32
BANNED_GROUNDING = [
    "it", "I", "me", "mine", "you", "your", "yours", "he", "him", "his", "she", "her", "hers",
    "they", "them", "their", "theirs", "one", "oneself", "we", "us", "our", "ours", "you", "your",
    "yours", "they", "them", "their", "theirs", "mine", "yours", "his", "hers", "its", "ours",
    "yours", "theirs", "myself", "yourself", "himself", "herself", "itself", "ourselves",
    "yourselves", "themselves", "this", "that", "these", "those", "who", "whom", "whose", "which",
    "what", "who", "whom", "whose", "which", "that", "all", "another", "any", "anybody", "anyone",
    "anything", "each", "everybody", "everyone", "everything", "few", "many", "nobody", "none",
    "one", "several", "some", "somebody", "someone", "something", "each other", "one another",
    "myself", "yourself", "himself", "herself", "itself", "ourselves", "yourselves", "themselves",
    "the image", "image", "images", "the", "a", "an", "a group", "other objects", "lots", "a set"]
POST_PROCESSOR_CONFIG = {
    "ocr": {"pattern": r"(.+?)<loc_(\d+)><loc_(\d+)><loc_(\d+)><loc_(\d+)><loc_(\d+)><loc_(\d+)>"
                       r"<loc_(\d+)><loc_(\d+)>", "area_threshold": 0.0},
    "phrase_grounding": {"banned_grounding_tokens": BANNED_GROUNDING},
    "pure_text": {}, "description_with_bboxes": {}, "description_with_polygons": {},
    "polygons": {}, "bboxes": {}, "description_with_bboxes_or_polygons": {},
}


def _florence_dir() -> Path:
    return configs_dir() / "microsoft-Florence-2-base"


def build_tokenizer(work: Path) -> Any:
    """Real BART BPE + Florence's added tokens + ``<image>`` named as the image token."""
    from transformers import AddedToken, AutoTokenizer, RobertaTokenizer

    bart = configs_dir() / "facebook-bart-base"
    vocab = json.loads((bart / "vocab.json").read_text(encoding="utf-8"))
    merges = [tuple(line.split()) for line in (bart / "merges.txt").read_text(encoding="utf-8")
              .splitlines() if line and not line.startswith("#version")]
    tok = RobertaTokenizer(vocab=vocab, merges=merges, model_max_length=1024)
    added = json.loads((_florence_dir() / "added_tokens.from-04RR-derivative.json").read_text())
    names = [name for name, _ in sorted(added.items(), key=lambda kv: kv[1])]
    tok.add_tokens([AddedToken(n, special=True, normalized=False) for n in names + ["<image>"]],
                   special_tokens=True)
    tok.save_pretrained(work)
    # reloading with a named extra special token is the public way to set image_token(_id)
    tok = AutoTokenizer.from_pretrained(work, extra_special_tokens={"image_token": "<image>"})
    assert tok.convert_tokens_to_ids("<loc_0>") == added["<loc_0>"] and tok.image_token_id == 51289
    return tok


def build_processor(tokenizer: Any, size: int) -> Any:
    """Florence2Processor with the real preprocessor values at ``size`` px."""
    from transformers import CLIPImageProcessor, Florence2Processor

    real = json.loads((_florence_dir() / "preprocessor_config.json").read_text(encoding="utf-8"))
    image_processor = CLIPImageProcessor(
        do_resize=True, size={"height": size, "width": size}, do_center_crop=False,
        crop_size={"height": size, "width": size}, resample=real["resample"],
        do_rescale=True, do_normalize=True, image_mean=real["image_mean"], image_std=real["image_std"])
    image_processor.image_seq_length = (size // 32) ** 2 + 1  # vision tokens + 1 temporal token
    return Florence2Processor(image_processor=image_processor, tokenizer=tokenizer,
                              post_processor_config=POST_PROCESSOR_CONFIG)


def base_config(tiny: bool, image_token_id: int = 51289) -> Any:
    """Florence2Config from the real microsoft config.json; ``tiny`` shrinks every dimension."""
    from transformers import Florence2Config

    real = json.loads((_florence_dir() / "config.json").read_text(encoding="utf-8"))
    text, vision = dict(real["text_config"]), dict(real["vision_config"])
    vis = {"embed_dim": vision["dim_embed"], "num_heads": vision["num_heads"],
           "num_groups": vision["num_groups"], "depths": vision["depths"],
           "patch_size": vision["patch_size"], "patch_stride": vision["patch_stride"],
           "patch_padding": vision["patch_padding"], "patch_prenorm": vision["patch_prenorm"],
           "window_size": vision["window_size"], "projection_dim": vision["projection_dim"],
           "max_temporal_embeddings": 100, "max_position_embeddings": 50, "drop_path_rate": 0.0}
    if tiny:
        text.update(d_model=32, encoder_layers=1, decoder_layers=1, num_hidden_layers=1,
                    encoder_attention_heads=2, decoder_attention_heads=2,
                    encoder_ffn_dim=64, decoder_ffn_dim=64)
        vis.update(embed_dim=[16, 16, 32, 32], num_heads=[1, 1, 2, 2], num_groups=[1, 1, 2, 2],
                   depths=[1, 1, 1, 1], window_size=2, projection_dim=32)
    return Florence2Config(text_config=text, vision_config=vis, image_token_id=image_token_id)


def build_model(tokenizer: Any, tiny: bool = True, seed: int = 0) -> Any:
    """Random-weight Florence2ForConditionalGeneration, vocab padded to 64 like the real one."""
    import torch
    from transformers import Florence2ForConditionalGeneration

    torch.manual_seed(seed)
    model = Florence2ForConditionalGeneration(base_config(tiny, tokenizer.image_token_id))
    model.resize_token_embeddings(len(tokenizer), pad_to_multiple_of=64, mean_resizing=False)
    return model.eval()


def build(out_dir: Path) -> Path:
    """Write the tiny model + processor into ``out_dir`` (idempotent) and return it."""
    out_dir = Path(out_dir)
    if (out_dir / "model.safetensors").is_file() and (out_dir / "processor_config.json").is_file():
        return out_dir
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".florence-", dir=out_dir.parent))
    try:
        tokenizer = build_tokenizer(work / "tokenizer")
        build_model(tokenizer).save_pretrained(work / "model", safe_serialization=True)
        build_processor(tokenizer, TINY_SIZE).save_pretrained(work / "model")
        if not out_dir.exists():
            (work / "model").rename(out_dir)  # atomic: a half-written folder is never visible
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out_dir
