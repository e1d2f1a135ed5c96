"""Labelling and evaluation at scale.

* ``label_clip_chips_per_s_vs_bare``: ``label_features`` in classify mode (open_clip ViT-B-32,
  random weights, real compute) over 549 crown boxes on OSBS_029.tif (the 61 NEON crowns at
  nine offsets), against a bare batched ``encode_image`` of the very same preprocessed chips.
  The ratio is what reading, stretching, preprocessing and writing cost (goal >= 0.8); both
  sides in CPU time (process_time), which a shared machine disturbs less than the wall clock.
* ``evaluate_s_100k``: ``evaluate_layers`` on 100,040 predicted vs 100,040 reference polygons
  (the crowns tiled over 65 km², predictions jittered, a quarter of them octagons, so GEOS has
  real work), from WKB, in CPU seconds (single-threaded, so about the wall time on an idle
  machine; goal < 30 s).
"""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
NEON = SHARED / "boxes" / "neon_osbs_029"
BATCH = 32
CLASSES = ("tree crowns", "bare sand", "a road", "grass")


def _crowns():
    from shapely.geometry import shape

    doc = json.loads((NEON / "OSBS_029_boxes.geojson").read_text())
    return [shape(f["geometry"]) for f in doc["features"]]


def _features(crowns):
    from shapely import affinity

    from eolens.inference.label import FeatureIn

    feats = []
    for dx in (-0.5, 0.0, 0.5):
        for dy in (-0.5, 0.0, 0.5):
            for g in crowns:
                feats.append(FeatureIn(len(feats), affinity.translate(g, dx, dy).wkb, {"n": len(feats)}))
    return feats


def _bare_s(model, batches) -> float:
    import torch

    start = time.process_time()
    with torch.inference_mode():
        for pixels in batches:
            model.encode_image(pixels)
    return time.process_time() - start


def _label_bench():
    import rasterio

    from bench.bench_search import _backend
    from eolens.inference.label import ChipReader, LabelSpec, chip_bounds, feature_bounds, label_features

    backend = _backend()
    feats = _features(_crowns())
    raster = str(NEON / "OSBS_029.tif")
    spec = LabelSpec("classify", "ViT-B-32-random", classes=CLASSES, buffer=0.1,
                     buffer_fraction=True, batch_size=BATCH)
    with rasterio.open(raster) as ds:
        crs = ds.crs.to_wkt()
    with ChipReader(raster, None, spec.max_side) as reader:  # the same chips, outside the clock
        boxes, _ = feature_bounds(feats, crs, reader.crs_wkt)
        chips = [reader.read(chip_bounds(b, spec, reader.pixel)).rgb for b in boxes]
    batches = [backend._pixels(chips[i:i + BATCH])["pixel_values"]
               for i in range(0, len(chips), BATCH)]
    _bare_s(backend.model, batches[:1])  # warm up threads and allocator
    bare = _bare_s(backend.model, batches)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.process_time()
        summary = label_features(raster, feats, spec, str(Path(tmp) / "labels.gpkg"),
                                 features_crs=crs, backend=backend)
        pipeline = time.process_time() - start
    bare = (bare + _bare_s(backend.model, batches)) / 2  # either side: shared CPUs drift
    assert summary.labelled == len(feats), summary
    yield "label_clip_chips_per_cpu_s", len(feats) / pipeline, "chips/CPU-s"
    yield "label_clip_chips_per_s_vs_bare", bare / pipeline, "ratio"


def _synthetic_100k():
    """(predicted, reference) VectorInputs: the 61 crowns tiled 41 x 40 times, 40 m apart."""
    from shapely import affinity

    from eolens.inference.evaluate import VectorInput

    crowns = _crowns()
    rng = np.random.default_rng(0)
    ref, pred = [], []
    for i in range(41):
        for j in range(40):
            for g in crowns:
                r = affinity.translate(g, 40.0 * i, 40.0 * j)
                p = affinity.translate(r, *rng.normal(0.0, 0.3, 2))
                if len(pred) % 4 == 0:
                    p = p.buffer(-0.1, 2)  # an octagon: no bounds shortcut
                ref.append(r.wkb)
                pred.append(p.wkb)
    scores = rng.uniform(size=len(pred)).tolist()
    return (VectorInput(pred, list(range(len(pred))), "", scores=scores),
            VectorInput(ref, list(range(len(ref))), ""))


def _evaluate_bench():
    from eolens.inference.evaluate import evaluate_layers

    pred, ref = _synthetic_100k()
    start = time.process_time()
    result, feats, _ = evaluate_layers(pred, ref, iou=0.5)
    seconds = time.process_time() - start
    assert len(feats) == len(pred.wkbs) + len(ref.wkbs)
    yield "evaluate_s_100k", seconds, "s"
    yield "evaluate_f1_100k", result.metrics["f1"], "F1"


def run():
    yield from _label_bench()
    yield from _evaluate_bench()
