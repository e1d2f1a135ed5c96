"""Encode-once payoff: a prompt on a cached embedding vs encoding the image afresh.

Uses a random-weight SAM2.1 with the real sam2.1-hiera-tiny dimensions (1024 px input), built
from ../shared/data/model-configs/facebook-sam2.1-hiera-tiny. SAM-vit-base shape was too slow
on 2 shared CPU threads (> 10 minutes for a handful of 1024 px ViT-B encodes).
"""
from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator

import numpy as np

PROMPT_REPEATS = 5


def _sam21_tiny():
    import torch
    from eolens.inference.models.sam_family import Sam2Backend
    from transformers import Sam2Config, Sam2ImageProcessor, Sam2Model, Sam2Processor

    from tools.tiny_models import configs_dir

    src = configs_dir() / "facebook-sam2.1-hiera-tiny"
    cfg = json.loads((src / "config.json").read_text())
    config = Sam2Config(**{k: cfg[k] for k in ("vision_config", "prompt_encoder_config",
                                               "mask_decoder_config")})
    proc = json.loads((src / "preprocessor_config.json").read_text())
    proc = {k: v for k, v in proc.items() if v is not None
            and k not in ("image_processor_type", "processor_class")}
    torch.manual_seed(0)
    processor = Sam2Processor(Sam2ImageProcessor(**proc), target_size=1024)
    return Sam2Backend(Sam2Model(config).eval(), processor, None, "cpu", torch.float32)


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run() -> Iterator[tuple[str, float, str]]:
    from eolens.inference.segment_session import SegmentSession

    sam = _sam21_tiny()
    image = np.random.default_rng(0).integers(0, 255, (600, 800, 3), dtype=np.uint8)
    session = SegmentSession(sam, image)  # also the warm-up
    prompt = {"points": [(400, 300), (100, 500)], "labels": [1, 0]}
    cached = statistics.median(_seconds(lambda: session.predict(**prompt))
                               for _ in range(PROMPT_REPEATS))
    fresh = _seconds(lambda: SegmentSession(sam, image).predict(**prompt))
    yield "sam_prompt_encoded_vs_fresh", cached / fresh, "ratio"
    yield "sam21_tiny_encode_plus_prompt_s", fresh, "s"
    yield "sam21_tiny_prompt_cached_s", cached, "s"
