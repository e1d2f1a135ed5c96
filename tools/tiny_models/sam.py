"""Tiny random-weight SAM, SAM2.1, SAM3 and GroundingDINO checkpoints of the real architectures.

Processor configs and tokenizers come from ../shared/data/model-configs; model widths, depths and
input sizes are shrunk so a forward pass takes milliseconds on CPU.
"""
from __future__ import annotations

import json
from pathlib import Path

from . import configs_dir

SAM_SIZE = 128       # SAM v1 input side (real: 1024); embedding grid = SAM_SIZE / 16
SAM2_SIZE = 128      # SAM2.1 input side (real: 1024); hiera stride 4 then x2 per stage
SAM3_SIZE = 56       # SAM3 input side (real: 1008); patch 14 -> 4x4 grid
GDINO_SIZE = 128     # GroundingDINO shortest edge (real: 800); extra 4th level must be > 1x1


def _done(out_dir: Path) -> bool:
    return (out_dir / "config.json").is_file() and (out_dir / "model.safetensors").is_file()


def _read(name: str, file: str) -> dict:
    return json.loads((configs_dir() / name / file).read_text())


def _save(model, processor, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    processor.save_pretrained(out_dir)
    model.save_pretrained(out_dir, safe_serialization=True)
    return out_dir


def build_sam(out_dir: Path) -> Path:
    """SamModel shaped like facebook/sam-vit-base, 128 px input."""
    if _done(out_dir):
        return out_dir
    import torch
    from transformers import SamConfig, SamImageProcessor, SamModel, SamProcessor

    hidden, grid = 32, SAM_SIZE // 16
    config = SamConfig(
        vision_config={"hidden_size": 32, "output_channels": hidden, "num_hidden_layers": 2,
                       "num_attention_heads": 2, "image_size": SAM_SIZE, "window_size": 4,
                       "global_attn_indexes": [1], "mlp_dim": 64,
                       "num_pos_feats": hidden // 2},  # must be prompt hidden / 2
        prompt_encoder_config={"hidden_size": hidden, "image_size": SAM_SIZE,
                               "image_embedding_size": grid},
        mask_decoder_config={"hidden_size": hidden, "mlp_dim": 64, "num_attention_heads": 2,
                             "iou_head_hidden_dim": hidden})
    proc_cfg = _read("facebook-sam-vit-base", "preprocessor_config.json")
    proc_cfg.update(size={"longest_edge": SAM_SIZE}, pad_size={"height": SAM_SIZE, "width": SAM_SIZE})
    for key in ("image_processor_type", "processor_class"):
        proc_cfg.pop(key)
    processor = SamProcessor(SamImageProcessor(**proc_cfg))
    torch.manual_seed(0)
    return _save(SamModel(config).eval(), processor, out_dir)


def _sam2_config(size: int) -> dict:
    """The real sam2.1-hiera-tiny config (a sam2_video checkpoint) with tiny dims."""
    cfg = _read("facebook-sam2.1-hiera-tiny", "config.json")
    s = size // 4
    vision, backbone = cfg["vision_config"], cfg["vision_config"]["backbone_config"]
    backbone.update(blocks_per_stage=[1, 1, 2, 1], embed_dim_per_stage=[8, 16, 32, 64],
                    num_attention_heads_per_stage=[1, 1, 2, 2], hidden_size=8,
                    window_size_per_stage=[4, 4, 4, 2], global_attention_blocks=[3],
                    window_positional_embedding_background_size=[2, 2],
                    image_size=[size, size])
    vision.update(backbone_channel_list=[64, 32, 16, 8], fpn_hidden_size=32,
                  backbone_feature_sizes=[[s, s], [s // 2, s // 2], [s // 4, s // 4]])
    cfg["prompt_encoder_config"].update(hidden_size=32, image_size=size)
    cfg["mask_decoder_config"].update(hidden_size=32, mlp_dim=64, num_attention_heads=2,
                                      iou_head_hidden_dim=32)
    cfg.update(image_size=size, mask_downsampler_embed_dim=32, memory_attention_hidden_size=32,
               memory_attention_feed_forward_hidden_size=64, memory_attention_num_layers=1,
               memory_attention_rope_feat_sizes=[s // 4, s // 4], memory_encoder_hidden_size=32,
               memory_encoder_output_channels=16, memory_fuser_embed_dim=32,
               memory_fuser_intermediate_dim=64, memory_fuser_num_layers=1)
    return cfg


def build_sam2(out_dir: Path) -> Path:
    """A sam2_video checkpoint like facebook/sam2.1-hiera-tiny, 128 px input."""
    if _done(out_dir):
        return out_dir
    import torch
    from transformers import (
        Sam2ImageProcessor,
        Sam2Processor,
        Sam2VideoConfig,
        Sam2VideoModel,
    )

    cfg = _sam2_config(SAM2_SIZE)
    cfg.pop("model_type")
    config = Sam2VideoConfig(**cfg)
    proc_cfg = _read("facebook-sam2.1-hiera-tiny", "preprocessor_config.json")
    proc_cfg.update(size={"height": SAM2_SIZE, "width": SAM2_SIZE},
                    mask_size={"height": SAM2_SIZE // 4, "width": SAM2_SIZE // 4})
    for key in ("image_processor_type", "processor_class"):
        proc_cfg.pop(key)
    processor = Sam2Processor(Sam2ImageProcessor(**proc_cfg), target_size=SAM2_SIZE)
    torch.manual_seed(0)
    return _save(Sam2VideoModel(config).eval(), processor, out_dir)


def build_sam3(out_dir: Path) -> Path:
    """Sam3Model (text-prompted) with the real CLIP tokenizer, 56 px input."""
    if _done(out_dir):
        return out_dir
    import torch
    from transformers import (
        CLIPTokenizer,
        Sam3Config,
        Sam3ImageProcessor,
        Sam3Model,
        Sam3Processor,
    )

    h, g = 32, SAM3_SIZE // 14
    block = {"hidden_size": h, "num_attention_heads": 2, "intermediate_size": 64}
    config = Sam3Config(
        vision_config={
            "backbone_config": dict(model_type="sam3_vit_model",  # nested config needs its type
                                 num_hidden_layers=2, image_size=SAM3_SIZE, patch_size=14,
                                 window_size=2, global_attn_indexes=[1],
                                 pretrain_image_size=SAM3_SIZE, **block),
            "fpn_hidden_size": h, "backbone_feature_sizes": [[4 * g] * 2, [2 * g] * 2, [g] * 2]},
        text_config=dict(model_type="clip_text_model", vocab_size=49408, projection_dim=h,
                         num_hidden_layers=1, max_position_embeddings=32, **block),
        geometry_encoder_config=dict(num_layers=1, **block),
        detr_encoder_config=dict(num_layers=1, **block),
        detr_decoder_config=dict(num_layers=1, num_queries=10, **block),
        mask_decoder_config={"hidden_size": h, "num_attention_heads": 2})
    tokenizer = CLIPTokenizer.from_pretrained(configs_dir() / "openai-clip-vit-base-patch32")
    processor = Sam3Processor(Sam3ImageProcessor(size={"height": SAM3_SIZE, "width": SAM3_SIZE}),
                              tokenizer, target_size=SAM3_SIZE)
    torch.manual_seed(0)
    return _save(Sam3Model(config).eval(), processor, out_dir)


def build_grounding_dino(out_dir: Path) -> Path:
    """GroundingDinoForObjectDetection like IDEA-Research/grounding-dino-tiny, real BERT tokenizer."""
    if _done(out_dir):
        return out_dir
    import torch
    from transformers import (
        AutoTokenizer,
        GroundingDinoConfig,
        GroundingDinoForObjectDetection,
        GroundingDinoImageProcessor,
        GroundingDinoProcessor,
    )

    src = configs_dir() / "IDEA-Research-grounding-dino-tiny"
    cfg = _read("IDEA-Research-grounding-dino-tiny", "config.json")
    cfg["backbone_config"].update(embed_dim=8, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1],
                                  window_size=2, image_size=GDINO_SIZE)
    cfg["text_config"].update(hidden_size=16, num_hidden_layers=1, num_attention_heads=1,
                              intermediate_size=32, vocab_size=30522)
    cfg.update(d_model=32,  # GroupNorm(32, d_model) needs >= 32
               encoder_layers=1, decoder_layers=2,  # decoder_layers >= 2 required
               encoder_ffn_dim=32, decoder_ffn_dim=32, encoder_attention_heads=2,
               decoder_attention_heads=2, num_queries=20, encoder_n_points=2, decoder_n_points=2)
    for key in ("model_type", "transformers_version", "architectures"):
        cfg.pop(key)
    config = GroundingDinoConfig(**cfg)
    proc_cfg = _read("IDEA-Research-grounding-dino-tiny", "preprocessor_config.json")
    proc_cfg["size"] = {"shortest_edge": GDINO_SIZE, "longest_edge": GDINO_SIZE * 5 // 3}
    for key in ("image_processor_type", "processor_class"):
        proc_cfg.pop(key)
    processor = GroundingDinoProcessor(GroundingDinoImageProcessor(**proc_cfg),
                                       AutoTokenizer.from_pretrained(src))
    torch.manual_seed(0)
    return _save(GroundingDinoForObjectDetection(config).eval(), processor, out_dir)
