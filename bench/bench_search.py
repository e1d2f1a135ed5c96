"""Scene search throughput: the full tile pipeline vs a bare batched CLIP forward.

open_clip ViT-B-32 with random weights (real compute), a 4096 px GeoTIFF mosaicked from real
UCM chips, 224 px tiles without overlap. The ratio shows what reading, stretching,
preprocessing and bookkeeping cost on top of the model itself, in CPU time of the process
(all threads: wall time on a shared machine measures the neighbours), goal >= 0.95.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

SIDE = 4096
TILE = 224
BATCH = 32
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def _write_scene(folder: Path) -> Path:
    """A SIDE x SIDE RGB GeoTIFF tiled from the real UCM 256 px chips (no nodata)."""
    import rasterio
    from rasterio.transform import from_origin

    chips = []
    for tif in sorted((SHARED / "captions" / "ucm_captions").glob("*.tif")):
        with rasterio.open(tif) as ds:
            chips.append(ds.read([1, 2, 3], out_shape=(3, 256, 256)))
    n = SIDE // 256
    rows = [np.concatenate([chips[(r * n + c) % len(chips)] for c in range(n)], axis=2)
            for r in range(n)]
    scene = np.concatenate(rows, axis=1)
    path = folder / "scene.tif"
    profile = dict(driver="GTiff", width=SIDE, height=SIDE, count=3, dtype="uint8",
                   crs="EPSG:32618", transform=from_origin(500000, 4200000, 0.3, 0.3),
                   tiled=True, blockxsize=256, blockysize=256, compress="deflate")
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(scene)
    return path


def _backend():
    import open_clip
    import torch

    from eolens.inference.models.clip_family import OpenClipBackend
    from eolens.inference.models.registry import ModelSpec

    model = open_clip.create_model("ViT-B-32", pretrained=None).eval()
    spec = ModelSpec("ViT-B-32-random", "openclip", "", arch="ViT-B-32")
    return OpenClipBackend(model, open_clip.get_tokenizer("ViT-B-32"), spec, "cpu",
                           torch.float32, "ViT-B-32")


def _bare_forward_s(model, n_tiles: int) -> float:
    import torch

    batch = torch.randn(BATCH, 3, TILE, TILE)
    start = time.process_time()
    with torch.inference_mode():
        for done in range(0, n_tiles, BATCH):
            model.encode_image(batch[:min(BATCH, n_tiles - done)])
    return time.process_time() - start


def run():
    from eolens.inference.search import search_raster
    from eolens.inference.tiling import count_tiles

    backend = _backend()
    with tempfile.TemporaryDirectory() as tmp:
        path = _write_scene(Path(tmp))
        n = count_tiles(path, tile=TILE, overlap=0)
        _bare_forward_s(backend.model, BATCH)  # warm up threads and allocator
        bare_s = _bare_forward_s(backend.model, n)
        start, wall = time.process_time(), time.perf_counter()
        res = search_raster(backend, path, "a harbour with ships", tile=TILE, batch_size=BATCH)
        pipeline_s, wall_s = time.process_time() - start, time.perf_counter() - wall
        # Bare passes either side of the pipeline: shared CPUs drift.
        bare_s = (bare_s + _bare_forward_s(backend.model, n)) / 2
    assert len(res.tiles) == n
    yield "clip_search_tiles_per_s", n / wall_s, "tiles/s"
    yield "clip_search_vs_bare_forward", bare_s / pipeline_s, "ratio"
