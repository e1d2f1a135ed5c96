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
* ``label_peak_mb_1m`` / ``label_s_1m``: see ``label_child`` below (stub model; goal < 500 MB).
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
    yield from _label_scale_bench()


# --- label at scale: memory of 1,000,000 streamed features ----------------------------------------
# ``label_peak_mb_1m``: peak RSS (MB) of a subprocess that labels 1,000,000 small squares (0.6 m,
# streamed from a generator, as the plugin hands them over) over a 1,000 x 1,000 px GeoTIFF into
# a GeoPackage. The model is a STUB backend returning fixed class scores (no CLIP): model speed
# is not the point, feature memory is. ``label_s_1m``: its wall time. EOLENS_BENCH_LABEL_N
# changes the count (the lines are then named for it, e.g. label_peak_mb_200k).

LABEL_N = int(__import__("os").environ.get("EOLENS_BENCH_LABEL_N", 1_000_000))
_X0, _Y0 = 400_000.0, 3_290_000.0   # the raster's top-left corner (UTM 17N, 1 m pixels)


class _FixedScores:
    """A classify backend that returns the same scores for every chip."""

    def embed_phrases(self, phrases):
        return np.eye(len(phrases), 4)

    def encode_images(self, images, batch_size, cancel):
        return np.tile([0.4, 0.3, 0.2, 0.1], (len(images), 1))

    def class_scores(self, logits):
        return logits


def _squares(n: int, side: int):
    """``n`` 0.6 m squares on a 1 m grid over the raster (wrapping), made one at a time."""
    from shapely.geometry import box

    from eolens.inference.label import FeatureIn

    for i in range(n):
        x, y = _X0 + 0.2 + (i % side), _Y0 - 0.8 - ((i // side) % side)
        yield FeatureIn(i, box(x, y, x + 0.6, y + 0.6).wkb, {"n": i, "name": f"square {i}"})


def label_child(n: int, folder: str) -> None:
    """Run in a subprocess: label ``n`` streamed squares, print peak RSS and seconds as JSON."""
    import resource

    import rasterio
    from rasterio.transform import from_origin

    from eolens.inference.label import LabelSpec, label_features

    side = 1000
    raster = str(Path(folder) / "small.tif")
    crs = "EPSG:32617"
    with rasterio.open(raster, "w", driver="GTiff", width=side, height=side, count=3,
                       dtype="uint8", crs=crs, transform=from_origin(_X0, _Y0, 1, 1)) as ds:
        ds.write(np.random.default_rng(0).integers(0, 255, (3, side, side), dtype=np.uint8))
    spec = LabelSpec("classify", "stub", classes=CLASSES, batch_size=BATCH, max_side=64)
    start = time.perf_counter()
    summary = label_features(raster, _squares(n, side), spec, str(Path(folder) / "labels.gpkg"),
                             features_crs=crs, fields=[("n", "int"), ("name", "str")],
                             families={"Polygon"}, total=n, backend=_FixedScores())
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB
    print(json.dumps({"peak_mb": peak, "seconds": seconds, "labelled": summary.labelled}))


def _label_scale_bench():
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    code = ("import sys; sys.path[:0] = [%r, %r]; from bench.bench_label import label_child; "
            "label_child(%d, %r)")
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-c", code % (str(repo / "build" / "pkgroot"),
                                                            str(repo), LABEL_N, tmp)],
                             capture_output=True, text=True, check=True)
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["labelled"] == LABEL_N, figures
    name = "1m" if LABEL_N == 1_000_000 else f"{LABEL_N // 1000}k"
    yield f"label_peak_mb_{name}", figures["peak_mb"], "MB"
    yield f"label_s_{name}", figures["seconds"], "s"
