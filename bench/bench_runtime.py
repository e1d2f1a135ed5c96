"""Runtime cache: the second load_model of a model costs a dict lookup, not a reload."""
from __future__ import annotations

import time
from typing import Iterator


def run() -> Iterator[tuple[str, float, str]]:
    import tempfile
    from pathlib import Path

    from eolens.inference.models import runtime
    from tools.tiny_models import build

    with tempfile.TemporaryDirectory() as tmp:
        path = str(build("florence2", Path(tmp)))
        runtime.unload()
        start = time.perf_counter()
        runtime.load_model(path, device="cpu")
        t_first = time.perf_counter() - start
        start = time.perf_counter()
        runtime.load_model(path, device="cpu")
        t_second = time.perf_counter() - start
        runtime.unload()
    yield "model_second_use_vs_first_load", t_second / t_first, "ratio"
