"""Deep-feature change with the tiny DINOv2, and CLIP labels for change regions."""
from __future__ import annotations

import dataclasses
import importlib

import numpy as np
import pytest
from eolens.inference.change.spectral import change_polygons, detect_change
from eolens.inference.change.semantic import DEFAULT_LABELS, label_regions
from eolens.inference.models.dinov2 import Dinov2Backend, load_dinov2
from eolens.inference.errors import ModelError
from eolens.inference.models.registry import FAMILY_LOADERS, REGISTRY
from eolens.inference.results import PixelPolygon, Request

from bench.bench_change import levir_pair


@pytest.fixture(scope="module")
def dinov2(tiny_models):
    import torch

    return load_dinov2(REGISTRY["dinov2-small"], tiny_models.path("dinov2"), "cpu", torch.float32)


@pytest.fixture(scope="module")
def levir():
    return levir_pair("test_102_0512_0000")


def test_registry_loader_is_this_module():
    module, func = FAMILY_LOADERS["dinov2"].split(":")
    assert getattr(importlib.import_module(f"eolens.inference.models.{module}"), func) is load_dinov2


def test_tiny_dinov2_builder_is_idempotent(tiny_models):
    from tools.tiny_models.dinov2 import build

    path = tiny_models.path("dinov2")
    stamp = (path / "model.safetensors").stat().st_mtime_ns
    assert build(path) == path
    assert (path / "model.safetensors").stat().st_mtime_ns == stamp


def test_loads_through_the_runtime(tiny_models, no_network):
    runtime = pytest.importorskip("eolens.inference.models.runtime")
    backend = runtime.load_model(str(tiny_models.path("dinov2")), device="cpu")
    assert isinstance(backend, Dinov2Backend)


def test_features_keep_the_aspect_ratio_on_a_patch_grid(dinov2):
    tokens = dinov2.patch_tokens([np.zeros((100, 150, 3), np.uint8)])
    assert tokens.shape == (1, 25, 37, 32)     # 518 px long side / patch 14, aspect kept
    result = dinov2.run(Request("features", image=np.zeros((28, 28, 3), np.uint8)))
    assert result.extra["patch_tokens"].shape == (37, 37, 32)


def test_backend_refuses_other_tasks(dinov2):
    with pytest.raises(ModelError):
        dinov2.run(Request("caption", image=np.zeros((28, 28, 3), np.uint8)))


def test_semantic_self_pair_is_exactly_zero(dinov2, levir):
    _, a, _, _, _ = levir
    result = detect_change(a, dataclasses.replace(a), method="semantic", feature_backend=dinov2)
    assert np.all(result.heat == 0.0)
    assert not result.mask.any()


def test_semantic_runs_end_to_end_at_capture_resolution(dinov2, levir):
    _, a, b, truth, _ = levir
    seen = []
    result = detect_change(a, b, method="semantic", feature_backend=dinov2, progress=seen.append)
    assert result.method == "semantic"
    assert result.heat.shape == truth.shape == result.mask.shape
    assert result.heat.dtype == np.float32 and np.isfinite(result.heat).all()
    assert 0.0 <= result.heat.min() and result.heat.max() <= 2.0 and result.heat.max() > 0
    assert result.stats["feature_grid"] == [37, 37]
    assert seen[-1] == 100.0 and seen == sorted(seen)


COLOURS = {"red roofs": (1.0, 0.0, 0.0), "green fields": (0.0, 1.0, 0.0),
           "blue water": (0.0, 0.0, 1.0)}


class ColourClip:
    """A CLIP stand-in whose embeddings are colours, so the right answer is known."""

    def encode_images(self, images):
        return np.array([img.reshape(-1, 3).mean(0) for img in images], np.float64)

    def encode_texts(self, texts):
        return np.array([COLOURS[t] for t in texts])


def _three_region_scene():
    image = np.zeros((120, 120, 3), np.uint8)
    image[:, :] = (0, 200, 0)
    image[10:40, 10:40] = (220, 0, 0)
    image[70:110, 60:110] = (0, 0, 230)
    red = np.zeros((120, 120), bool)
    red[10:40, 10:40] = True
    blue = np.zeros((120, 120), bool)
    blue[70:110, 60:110] = True
    return image, red, blue


def test_label_regions_picks_the_region_crop_label():
    image, red, blue = _three_region_scene()
    out = label_regions(ColourClip(), image, [red, blue], labels=list(COLOURS))
    assert [label for label, _ in out] == ["red roofs", "blue water"]
    assert all(0.5 < score <= 1.0 for _, score in out)


def test_label_regions_accepts_pixel_and_map_polygons():
    from affine import Affine
    from shapely.geometry import box

    image, _, blue = _three_region_scene()
    transform = Affine(0.5, 0, 300000, 0, -0.5, 4000000)
    from eolens.inference.change.spectral import ChangeResult

    result = ChangeResult(np.zeros((120, 120), np.float32), blue, 0.5, "spectral", {})
    map_polys = change_polygons(result, transform)
    pixel_ring = PixelPolygon(np.array([[10, 10], [40, 10], [40, 40], [10, 40]], float))
    labels = list(COLOURS)
    out = label_regions(ColourClip(), image, [pixel_ring, box(10, 10, 40, 40)], labels=labels)
    out += label_regions(ColourClip(), image, map_polys, labels=labels, transform=transform)
    assert [label for label, _ in out] == ["red roofs", "red roofs", "blue water"]


def test_label_regions_with_the_tiny_real_clip(tiny_models):
    import torch
    from eolens.inference.models.clip_family import load_hfclip

    clip = load_hfclip(None, tiny_models.path("hfclip"), "cpu", torch.float32)
    image, red, blue = _three_region_scene()
    out = label_regions(clip, image, [red, blue])
    assert len(out) == 2
    assert all(label in DEFAULT_LABELS and 0.0 <= score <= 1.0 for label, score in out)
    assert label_regions(clip, image, []) == []
