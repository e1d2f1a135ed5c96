"""A three-turn Conversation (image encoded once) vs three independent Backend.run chat calls.

Random-weight Qwen3-VL with the real tokenizer/processor but a vision tower and LLM scaled so the
encode matters roughly as in Qwen3-VL-2B (one 320 px image = 400 patches -> 100 LLM tokens):
text 4 layers x 128, vision 4 blocks x 128. Ratio < 1 means the cached encoding pays off.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = ("What is in this image?", "How many buildings are there?", "Is there any water?")
TEXT = {"hidden_size": 128, "intermediate_size": 384, "num_hidden_layers": 4,
        "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 64}
VISION = {"depth": 4, "hidden_size": 128, "intermediate_size": 512, "num_heads": 2,
          "deepstack_visual_indexes": [1, 3], "num_position_embeddings": 2304}
NEW_TOKENS = 8


def _backend():
    import torch
    from eolens.inference.models import qwen_vl

    from tools.tiny_models.qwen import build_qwen3

    path = build_qwen3(REPO / "build" / "bench-models" / "qwen3_vl_chat", text=TEXT, vision=VISION)
    return qwen_vl.load(None, path, "cpu", torch.float32)


def _conversation(backend, image) -> None:
    from eolens.inference.chat import Conversation

    chat = Conversation(backend, image, max_new_tokens=NEW_TOKENS)
    for q in QUESTIONS:
        chat.ask(q)


def _independent(backend, image) -> None:
    for q in QUESTIONS:
        backend.run(_request(image, q))


def _request(image, question: str):
    from eolens.inference.results import Request

    return Request("chat", image=image, prompt=question, options={"max_new_tokens": NEW_TOKENS})


def _best_of(n: int, fn, *args) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t0)
    return min(times)


def run():
    backend = _backend()
    image = np.random.default_rng(0).integers(0, 256, (320, 320, 3), dtype=np.uint8)
    backend.run(_request(image, QUESTIONS[0]))  # warm-up
    t_chat = _best_of(2, _conversation, backend, image)
    t_indep = _best_of(2, _independent, backend, image)
    yield "chat_3turn_seconds", t_chat, "s"
    yield "chat_3turn_vs_3_independent", t_chat / t_indep, "ratio"
