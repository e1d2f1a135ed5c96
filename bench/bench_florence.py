"""Florence-2 pipeline overhead: Backend.run (preprocess + generate + decode + parse) over a bare
``model.generate`` on the same inputs, for a Florence-2-base-shaped model (real dims, random
weights, built in memory) on a 768 px capture with 20 new tokens."""
from __future__ import annotations

import time
from typing import Iterator

NEW_TOKENS = 20
SIZE = 768


def _timed(fn) -> float:
    """CPU seconds of this process (all torch threads): on a shared 2-core box wall time mostly
    measures the neighbours, CPU time measures the work."""
    start = time.process_time()
    fn()
    return time.process_time() - start


def run() -> Iterator[tuple[str, float, str]]:
    import tempfile
    from pathlib import Path

    import numpy as np
    import torch

    from eolens.inference.models.florence import FlorenceBackend
    from eolens.inference.models.registry import REGISTRY
    from eolens.inference.results import Request
    from tools.tiny_models import florence as tiny

    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = tiny.build_tokenizer(Path(tmp))
    model = tiny.build_model(tokenizer, tiny=False)
    model.generation_config.min_new_tokens = NEW_TOKENS  # random weights: no early EOS
    processor = tiny.build_processor(tokenizer, SIZE)
    backend = FlorenceBackend(model, processor, REGISTRY["florence-2-base"], "cpu", torch.float32)
    image = np.random.default_rng(0).integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8)
    request = Request("caption", image=image, options={"detail": "brief", "max_new_tokens": NEW_TOKENS})
    inputs = backend.preprocess(request)["inputs"]
    kwargs = backend.generate_kwargs(request)

    def bare() -> None:
        with torch.inference_mode():
            model.generate(**inputs, **kwargs)

    # interleaved, best of three each: the first round also warms up, and load from other
    # processes hits both sides alike
    t_bare = t_pipe = float("inf")
    for _ in range(3):
        t_bare = min(t_bare, _timed(bare))
        t_pipe = min(t_pipe, _timed(lambda: backend.run(request)))
    yield "florence_caption_overhead", t_pipe / t_bare, "ratio"
    yield "florence_caption_cpu_seconds", t_pipe, "s"
    # a second prompt on the same capture: the session skips the vision tower
    from eolens.inference.models.florence import FlorenceSession

    session = FlorenceSession(backend, image)
    t_session = min(_timed(lambda: session.run(request)) for _ in range(2))
    yield "florence_prompt_encoded_vs_fresh", t_session / t_pipe, "ratio"
