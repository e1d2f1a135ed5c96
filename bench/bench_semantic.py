"""Semantic change streamed block by block (issue 14), against the bare feature model.

A random-weight DINOv2 with the real dinov2-small dimensions (384 wide, 12 layers, patch 14,
518 px input) is saved and loaded through the product's own loader (``load_dinov2``).

- ``semantic_change_vs_bare_forward``: CPU time of the bare ``patch_tokens`` calls on every
  block image of a 2,048 x 2,048 NAIP mosaic pair, over the CPU time of the whole streamed run
  (reads, warp, model, heat/mask GeoTIFFs, polygons) on the same pair (goal >= 0.8).
- ``semantic_change_s_per_block``: wall seconds per 512 px block (both dates) on this machine.
- ``semantic_change_peak_mb_20k``: peak RSS above baseline of the streamed semantic run on a
  20,000 x 20,000 sparse pair with a tiny DINOv2 (goal < 512 MB; the model is not the point).
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from .bench_tiling import _mosaic, _naip, peak_mb, write_sparse

SIDE, BLOCK = 2048, 512


def _dinov2_small_shape(folder: Path):
    import torch
    from transformers import Dinov2Config, Dinov2Model

    from eolens.inference.models.dinov2 import load_dinov2
    from eolens.inference.models.registry import REGISTRY
    from tools.tiny_models.dinov2 import _PROCESSOR
    from transformers import BitImageProcessor

    config = Dinov2Config(hidden_size=384, num_hidden_layers=12, num_attention_heads=6,
                          mlp_ratio=4, patch_size=14, image_size=518)
    torch.manual_seed(0)
    Dinov2Model(config).eval().save_pretrained(folder, safe_serialization=True)
    BitImageProcessor(**_PROCESSOR).save_pretrained(folder)
    return load_dinov2(REGISTRY["dinov2-small"], folder, "cpu", torch.float32)


def _block_images(pa: str, pb: str) -> list[list[np.ndarray]]:
    """The RGB pairs the streamed run shows the model: each block grown by its halo."""
    from eolens.inference.change.semantic_tiled import _display_pair, halo_for
    from eolens.inference.io.coregister import overlap_bounds
    from eolens.inference.io.raster_read import DEFAULT_BUDGET, open_raster, select_bands
    from eolens.inference.tiling import scene_grid, iter_blocks

    with open_raster(pa) as a, open_raster(pb) as b:
        ia, ib = select_bands(a, None, pa), select_bands(b, None, pb)
        grid = scene_grid(a, pa, overlap_bounds(a, b, pa, pb, None, None), a.crs, None)
        pair = _display_pair(a, b, pa, pb, ia, ib, grid, DEFAULT_BUDGET, 1 << 20, _NoCancel())
        out = []
        for _, read in iter_blocks(grid.width, grid.height, BLOCK, halo_for(BLOCK)):
            xa, xb, _ = pair.read(read)
            out.append([np.ascontiguousarray(np.moveaxis(x, 0, -1)) for x in (xa, xb)])
    return out


class _NoCancel:
    def check(self) -> None:
        return None


def _ratio(folder: Path) -> tuple[float, float]:
    from eolens.inference.change.semantic_tiled import stream_semantic_change

    a, b = _naip()
    pa = write_sparse(folder / "a2k.tif", SIDE, _mosaic(a[:3], SIDE), (0, 0))
    pb = write_sparse(folder / "b2k.tif", SIDE, _mosaic(b[:3], SIDE), (0, 0))
    backend = _dinov2_small_shape(folder / "dinov2")
    images = _block_images(pa, pb)
    backend.patch_tokens(images[0])   # warm-up: first-call allocations are not the pipeline's
    start = time.process_time()
    for pair in images:
        backend.patch_tokens(pair)
    bare = time.process_time() - start
    start, wall = time.process_time(), time.perf_counter()
    stream_semantic_change(pa, pb, backend, block=BLOCK, heat_path=str(folder / "h.tif"),
                           mask_path=str(folder / "m.tif"))
    pipeline, wall = time.process_time() - start, time.perf_counter() - wall
    return bare / pipeline, wall / len(images)


def _peak(folder: Path) -> float:
    from tools.tiny_models import build

    a, b = _naip()
    tiny = build("dinov2", folder / "tiny")
    pa = write_sparse(folder / "a20k.tif", 20_000, _mosaic(a[:3], 3000), (1000, 1000))
    pb = write_sparse(folder / "b20k.tif", 20_000, _mosaic(b[:3], 3000), (1000, 1000))
    imports = ("import numpy, rasterio, torch\n"
               "from eolens.inference.change.semantic_tiled import stream_semantic_change\n"
               "from eolens.inference.models.dinov2 import load_dinov2\n"
               "from eolens.inference.models.registry import REGISTRY\n"
               f"m = load_dinov2(REGISTRY['dinov2-small'], {str(tiny)!r}, 'cpu', torch.float32)")
    work = (f"r = stream_semantic_change({pa!r}, {pb!r}, m, heat_path={str(folder / 'h20.tif')!r}, "
            f"mask_path={str(folder / 'm20.tif')!r})\nassert r.stats['blocks'] == 1600")
    return peak_mb(imports, work)


def run():
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ratio, per_block = _ratio(folder)
        yield "semantic_change_vs_bare_forward", ratio, "ratio"
        yield "semantic_change_s_per_block", per_block, "s"
        yield "semantic_change_peak_mb_20k", _peak(folder), "MB"
