"""Every family runs in bfloat16, as it will on a GPU (runtime picks bf16 on CUDA).

No GPU here, so the loaders are called with dtype=torch.bfloat16 on the CPU: this catches inputs
that are not cast to the model's dtype, which fp32 CPU tests cannot.
"""
import importlib

import numpy as np
import pytest
import rasterio

from eolens.inference.models.registry import FAMILY_LOADERS
from eolens.inference.results import Request
from eolens.inference.models.runtime import resolve_spec

CASES = [
    ("florence2", Request("caption", options={"detail": "brief", "max_new_tokens": 4})),
    ("openclip", Request("embed_image")),
    ("hfclip", Request("classify", options={"classes": ["water", "forest"]})),
    ("qwen3_vl", Request("chat", prompt="What is here?", options={"max_new_tokens": 3})),
    ("sam2", Request("segment_prompt", options={"points": [(30.0, 40.0)], "labels": [1]})),
    ("grounding_dino", Request("detect", prompt="tree")),
    ("dinov2", Request("features")),
]


@pytest.fixture(scope="module")
def image(sample_dir):
    with rasterio.open(sample_dir / "OSBS_029.tif") as ds:
        return ds.read([1, 2, 3], out_shape=(3, 96, 96)).transpose(1, 2, 0).copy()


@pytest.mark.parametrize("family,request_", CASES, ids=[c[0] for c in CASES])
def test_family_runs_in_bfloat16(tiny_models, image, family, request_, no_network):
    import torch

    path = tiny_models.path(family)
    spec = resolve_spec(str(path))
    module, func = FAMILY_LOADERS[spec.family].split(":")
    load = getattr(importlib.import_module(f"eolens.inference.models.{module}"), func)
    backend = load(spec, path, "cpu", torch.bfloat16)
    assert next(backend.model.parameters()).dtype == torch.bfloat16
    request_.image = image
    out = backend.run(request_)
    for arr in [out.embedding, out.scores, *out.masks]:
        if arr is not None and np.asarray(arr).dtype.kind == "f":
            assert np.isfinite(np.asarray(arr, np.float32)).all()
