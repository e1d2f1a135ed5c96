"""Action results are plain data with a footprint, whichever action made them."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import rasterio

from eolens.inference import actions

BOX_ANSWER = "</s><s>tree<loc_100><loc_200><loc_500><loc_600></s>"


@pytest.fixture(scope="module")
def osbs(sample_dir):
    return str(sample_dir / "OSBS_029.tif")


def _raster_outline(path):
    with rasterio.open(path) as ds:
        b = ds.bounds
    return (b.left, b.bottom, b.right, b.top)


def _plain(result):
    pickle.dumps(result.meta)  # no sessions, models or arrays that cannot travel
    assert result.footprint is not None and result.footprint.is_valid


def test_tiled_actions_report_the_area_they_analysed(tiny_models, osbs, monkeypatch, no_network):
    from eolens.inference.models.runtime import load_model

    opts = actions.RunOptions(device="cpu")
    clip = str(tiny_models.path("openclip"))
    found = actions.search(osbs, "trees", clip, tile=128, top_k=2, opts=opts)
    classes = actions.classify(osbs, ["trees", "roads"], clip, tile=128, opts=opts)
    florence = str(tiny_models.path("florence2"))
    backend = load_model(florence, device="cpu")
    ids = backend.processor.tokenizer(BOX_ANSWER, add_special_tokens=False,
                                      return_tensors="pt")["input_ids"]
    monkeypatch.setattr(backend.model, "generate", lambda *a, **k: ids)
    boxes = actions.detect_tiled(osbs, "tree", florence, tile=256, overlap=32, opts=opts)
    for result in (found, classes, boxes):
        _plain(result)
        assert result.footprint.bounds == pytest.approx(_raster_outline(osbs))
        assert all(result.footprint.buffer(1e-6).contains(f.geometry) for f in result.features)


def test_every_mask_path_gives_the_same_attributes(tiny_models, osbs, no_network):
    """SAM clicks and the generic result_to_features share one mask -> feature path."""
    from eolens.inference.io.georef import result_to_features
    from eolens.inference.results import PixelBox, PixelResult

    image = actions.capture(osbs, max_side=128)
    centre = image.transform * (image.width / 2, image.height / 2)
    clicked = actions.segment_prompts(image, str(tiny_models.path("sam2")), points=[centre],
                                      labels=[1], opts=actions.RunOptions(device="cpu"))
    mask = np.zeros((image.height, image.width), bool)
    mask[10:40, 20:60] = True
    generic = result_to_features(PixelResult(masks=[mask], boxes=[PixelBox(20, 10, 60, 40, "tree", 0.9)],
                                             scores=np.array([0.8])), image, prompt="p", model="m")
    keys = {"label", "score", "instance", "prompt", "model"}
    assert all(set(f.properties) == keys for f in clicked.features)
    masks_only = [f for f in generic if "instance" in f.properties]
    assert masks_only and all(set(f.properties) == keys for f in masks_only)
    assert masks_only[0].properties["label"] == "tree" and masks_only[0].properties["score"] == 0.8
