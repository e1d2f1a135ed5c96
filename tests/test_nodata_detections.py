"""Detections that lie on nodata are dropped, tiled or not, and the analyst is told (issue 23)."""
from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin


class BoxEverywhere:
    """A stand-in detector: one box on each half of whatever tile it sees (left, right)."""

    tasks = frozenset({"detect"})
    family = "stub"

    def __init__(self) -> None:
        self.tiles = 0

    def run(self, request, progress=None, cancel=None):
        from eolens.inference.results import PixelBox, PixelResult

        self.tiles += 1
        h, w = request.image.shape[:2]
        return PixelResult(boxes=[PixelBox(2, 2, w / 2 - 2, h - 2, "thing", 0.9),
                                  PixelBox(w / 2 + 2, 2, w - 2, h - 2, "thing", 0.8)])


@pytest.fixture
def half_nodata(tmp_path):
    """768 x 256 px: the left third holds data, the rest is nodata (0)."""
    path = tmp_path / "mosaic.tif"
    data = np.zeros((3, 256, 768), np.uint8)
    data[:, :, :256] = np.random.default_rng(1).integers(20, 230, (3, 256, 256), np.uint8)
    with rasterio.open(path, "w", driver="GTiff", width=768, height=256, count=3, dtype="uint8",
                       crs="EPSG:32618", transform=from_origin(500000, 4000000, 1, 1), nodata=0) as ds:
        ds.write(data)
    return path


def test_the_filter_keeps_boxes_on_data_only():
    from eolens.inference.results import PixelBox, PixelResult, drop_boxes_on_nodata

    valid = np.zeros((10, 20), bool)
    valid[:, :10] = True
    res = PixelResult(boxes=[PixelBox(0, 0, 8, 10), PixelBox(12, 0, 20, 10), PixelBox(6, 0, 12, 10),
                             PixelBox(8, 0, 16, 10)])
    assert drop_boxes_on_nodata(res, valid) == 2
    assert [(b.x0, b.x1) for b in res.boxes] == [(0, 8), (6, 12)]   # 6..12 is 4/6 on data
    assert drop_boxes_on_nodata(res, None) == 0 and len(res.boxes) == 2


def test_tiled_detection_drops_boxes_on_nodata_and_says_so(half_nodata, monkeypatch):
    from eolens.inference import actions

    stub = BoxEverywhere()
    monkeypatch.setattr(actions, "load", lambda *a, **k: stub)
    # tiles 0..384 (data, then nodata from 256) and 384..768 (all nodata)
    res = actions.detect_tiled(str(half_nodata), "thing", "stub", tile=384, overlap=0)
    assert stub.tiles == 1                  # the all-nodata tile is never sent to the model
    xs = [f.geometry.bounds for f in res.features]
    assert len(xs) == 1 and xs[0][2] <= 500000 + 256     # the box on data; the one on nodata went
    assert any("on nodata pixels" in w for w in res.warnings)


def test_one_capture_over_data_and_nodata_drops_the_box_on_nodata(half_nodata, monkeypatch):
    """Boxes on the left half (0..384: two thirds data) and the right half (all nodata)."""
    from eolens.inference import actions

    monkeypatch.setattr(actions, "load", lambda *a, **k: BoxEverywhere())
    image = actions.capture(str(half_nodata))
    res = actions.detect(image, "thing", "stub")
    assert len(res.features) == 1 and res.features[0].geometry.bounds[2] == 500000 + 382
    assert res.warnings == ["1 detection(s) on nodata pixels (outside the valid data) were dropped."]
