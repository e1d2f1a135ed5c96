"""segment_by_text: text -> boxes -> one SAM session -> merged instance masks."""
from __future__ import annotations

import numpy as np
import pytest
from eolens.inference.models.backend import Backend
from eolens.inference.results import PixelBox, PixelResult

IMAGE = "boxes/neon_osbs_029/OSBS_029.tif"


class FixedDetector(Backend):
    """A detector that always finds the same boxes (to pin down the merge logic)."""

    family = "fixed"
    tasks = frozenset({"detect"})

    def __init__(self, boxes):
        super().__init__(None, None, None, "cpu", None)
        self.boxes = boxes

    def preprocess(self, request):
        return None

    def forward(self, request, inputs, progress, cancel):
        return PixelResult(boxes=list(self.boxes))

    def postprocess(self, request, raw):
        return raw


@pytest.fixture(scope="module")
def image(shared_data) -> np.ndarray:
    import rasterio

    with rasterio.open(shared_data / IMAGE) as ds:
        return np.moveaxis(ds.read([1, 2, 3]), 0, -1)


@pytest.fixture(scope="module")
def sam(tiny_models):
    import torch
    from eolens.inference.models.sam_family import load_sam2

    return load_sam2(None, tiny_models.path("sam2"), "cpu", torch.float32)


@pytest.fixture(scope="module")
def gdino(tiny_models):
    import torch
    from eolens.inference.models.grounding_dino import load_grounding_dino

    return load_grounding_dino(None, tiny_models.path("grounding_dino"), "cpu", torch.float32)


def test_grounding_dino_then_sam_gives_labelled_instance_masks(gdino, sam, image, no_network):
    from eolens.inference.segment import masks_union, segment_by_text

    seen = []
    result = segment_by_text(gdino, sam, image, "tree", box_threshold=0.0, progress=seen.append)
    assert result.masks
    assert len(result.masks) == len(result.boxes) == len(result.scores)
    assert all(m.shape == image.shape[:2] and m.dtype == bool and m.any() for m in result.masks)
    assert {b.label for b in result.boxes} == {"tree"}
    assert list(result.scores) == sorted(result.scores, reverse=True)
    assert np.array_equal(result.mask, masks_union(result))
    assert seen[-1] == 100.0 and seen == sorted(seen)


def test_the_same_object_found_twice_is_one_instance(sam, image):
    from eolens.inference.segment import segment_by_text

    box = PixelBox(40, 50, 180, 200, label="tree", score=0.9)
    twice = FixedDetector([box, PixelBox(40, 50, 180, 200, label="tree", score=0.6),
                           PixelBox(220, 230, 390, 380, label="tree", score=0.8)])
    result = segment_by_text(twice, sam, image, "tree", box_threshold=0.3)
    assert [b.score for b in result.boxes] == [0.9, 0.8]


def test_low_scores_are_dropped_and_nothing_found_is_empty(sam, image):
    from eolens.inference.segment import masks_union, segment_by_text

    weak = FixedDetector([PixelBox(40, 50, 180, 200, label="car", score=0.1)])
    result = segment_by_text(weak, sam, image, "car", box_threshold=0.3)
    assert result.masks == [] and result.warnings
    assert not masks_union(result).any() and masks_union(result).shape == image.shape[:2]


def test_cancel_stops_before_segmenting(sam, image):
    from eolens.inference.cancel import CancelToken
    from eolens.inference.errors import Cancelled
    from eolens.inference.segment import segment_by_text

    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        segment_by_text(FixedDetector([PixelBox(0, 0, 50, 50, score=1.0)]), sam, image, "x",
                        cancel=token)


def test_suppress_duplicates_keeps_the_best_of_overlapping_masks():
    from eolens.inference.segment import suppress_duplicates

    a = np.zeros((50, 50), bool)
    a[10:30, 10:30] = True
    b = a.copy()
    b[10:30, 30:31] = True          # IoU with a = 400 / 420
    c = np.zeros((50, 50), bool)
    c[35:45, 35:45] = True          # disjoint
    d = np.zeros((50, 50), bool)
    d[20:40, 20:40] = True          # overlaps a by 100 / 700: a different instance
    assert suppress_duplicates([a, b, c, d], np.array([0.5, 0.9, 0.7, 0.6])) == [1, 2, 3]


def test_masks_union():
    from eolens.inference.errors import InputError
    from eolens.inference.segment import masks_union

    a, b = np.zeros((4, 4), bool), np.zeros((4, 4), bool)
    a[0, 0], b[3, 3] = True, True
    union = masks_union(PixelResult(masks=[a, b]))
    assert union.sum() == 2 and union[0, 0] and union[3, 3]
    with pytest.raises(InputError):
        masks_union(PixelResult())
