"""Whole-layer actions streamed tile by tile: text -> masks with the mask raster written block by
block, a caption per tile, and spectral change (``change_tiled``) as an ActionResult.

Like ``actions``, every function takes plain data, reports progress, honours a CancelToken and
never builds a full-size array of the layer.
"""
from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack

from .actions import (
    ActionResult,
    RunOptions,
    _meta,
    _rasterize_polygons,
    _require,
    _union,
    load,
    phase,
)
from .cancel import CancelToken, ProgressFn, ensure_token, noop_progress, sub_progress
from .export import TiledRasterWriter
from .georef import GeoFeature
from .results import Request
from .tiling import (
    SeamPolygons,
    block_count,
    count_tiles,
    iter_block_tiles,
    iter_tiles,
    tile_grid,
    writer_block,
)


def core_and_halo(tile: int, overlap: int) -> tuple[int, int]:
    """Block (core) side and halo for tiles of ``tile`` px overlapping by ``overlap``: the core
    is a multiple of 16 (GeoTIFF blocks), the halo half the overlap (seams fall mid-overlap)."""
    core = max(16, (int(tile) - int(overlap)) // 16 * 16)
    return core, max(0, (int(tile) - core) // 2)


def segment_layer(path: str, prompt: str, model: str, *, bounds=None, bounds_crs=None,
                  tile: int = 768, overlap: int = 128, bands: Sequence[int] | None = None,
                  max_side: int | None = None, sam_model: str | None = None,
                  raster_path: str | None = None, opts: RunOptions = RunOptions(),
                  progress: ProgressFn | None = None,
                  cancel: CancelToken | None = None) -> ActionResult:
    """Text -> masks over a whole layer; the 0/1 mask (on the layer's grid, or the decimation
    that makes each tile at most ``max_side`` px, ``tiling.tile_scale``) is written block by
    block to ``raster_path`` (a staged path) and polygonised per block, regions merged across
    seams."""
    from .tiling import tile_scale

    _require(prompt, "what to segment (a prompt)")
    progress, cancel = progress or noop_progress, ensure_token(cancel)
    max_side, tile, overlap = tile_scale(path, bounds, bounds_crs, tile, overlap, max_side)
    core, halo = core_and_halo(tile, overlap)
    grid = tile_grid(path, bounds, bounds_crs, max_side=max_side)
    if sam_model:
        detector = load(model, "detect", opts, sub_progress(progress, 0, 5), cancel)
        sam = load(sam_model, "segment_prompt", opts, sub_progress(progress, 5, 10), cancel)
    else:
        backend = load(model, "segment", opts, sub_progress(progress, 0, 10), cancel)
    total, warnings = block_count(grid.width, grid.height, core), []
    polys = SeamPolygons(grid.width, grid.height, grid.transform)
    with ExitStack() as stack:
        out = stack.enter_context(TiledRasterWriter(
            raster_path, grid.width, grid.height, grid.transform, grid.crs_wkt, dtype="uint8",
            block=writer_block(core))) if raster_path else None
        tiles = iter_block_tiles(path, bounds, bounds_crs, block=core, halo=halo, bands=bands,
                                 max_side=max_side, cancel=cancel)
        for t in tiles:
            phase(opts, f"Tile {t.meta['index'] + 1} of {total}")
            if sam_model:
                from .segment import segment_by_text

                res = segment_by_text(detector, sam, t.rgb, prompt, cancel=cancel)
                mask = _union(res, t)
            else:
                res = backend.run(Request("segment", t.rgb, prompt=prompt), None, cancel)
                mask = _rasterize_polygons(res.polygons, t)
            warnings.extend(res.warnings)
            c, r, w, h = t.meta["core"]
            wc, wr = t.meta["window"][:2]
            keep = (mask.astype(bool) & t.valid)[r - wr:r - wr + h, c - wc:c - wc + w]
            if out is not None:
                out.write(keep, c, r)
            polys.add(keep, c, r)
            progress(10 + 85 * (t.meta["index"] + 1) / total)
    meta = _meta(sam_model or model, prompt=prompt, tiles=total)
    feats = [GeoFeature(p, {"label": prompt, "score": 1.0, "prompt": prompt,
                            "model": sam_model or model}) for p in polys.polygons()]
    progress(100.0)
    return ActionResult(text=f"{len(feats)} regions", features=feats, crs_wkt=grid.crs_wkt,
                        warnings=list(dict.fromkeys(warnings)), meta=meta)


def caption_tiles(path: str, model: str, *, bounds=None, bounds_crs=None, tile: int = 1024,
                  overlap: int = 0, bands: Sequence[int] | None = None,
                  max_side: int | None = None, detail: str = "brief",
                  opts: RunOptions = RunOptions(), progress: ProgressFn | None = None,
                  cancel: CancelToken | None = None) -> ActionResult:
    """A caption per tile, each on its tile's footprint polygon: a "what is where" map. A tile
    longer than ``max_side`` px is read coarser (``tiling.tile_scale``), on the same ground."""
    from .tiling import tile_scale

    progress, cancel = progress or noop_progress, ensure_token(cancel)
    max_side, tile, overlap = tile_scale(path, bounds, bounds_crs, tile, overlap, max_side)
    backend = load(model, "caption", opts, sub_progress(progress, 0, 10), cancel)
    total = max(1, count_tiles(path, bounds, bounds_crs, tile=tile, overlap=overlap,
                               max_side=max_side))
    feats, warnings, crs_wkt = [], [], ""
    for t in iter_tiles(path, bounds, bounds_crs, tile=tile, overlap=overlap, bands=bands,
                        max_side=max_side, cancel=cancel):
        i = t.meta["index"]
        phase(opts, f"Tile {i + 1} of {total}")
        res = backend.run(Request("caption", t.rgb, options={"detail": detail}), None, cancel)
        warnings.extend(res.warnings)
        crs_wkt = t.crs_wkt
        c, r, w, h = t.meta["window"]
        feats.append(GeoFeature(t.footprint(), {"caption": res.text, "tile": i, "col": c,
                                                "row": r, **_meta(model, detail=detail)}))
        progress(10 + 90 * (i + 1) / total)
    progress(100.0)
    return ActionResult(text=f"{len(feats)} tile captions", features=feats, crs_wkt=crs_wkt,
                        warnings=list(dict.fromkeys(warnings)), meta=_meta(model, detail=detail))


def change_layer(path_a: str, path_b: str, bounds=None, bounds_crs=None, *, method: str = "spectral",
                 model: str | None = None, bands: Sequence[int] | None = None,
                 max_side: int | None = None, threshold: float | None = None, min_area: float = 0.0,
                 block: int = 512, heat_path: str | None = None, mask_path: str | None = None,
                 caption_side: int = 1024, label_model: str | None = None,
                 labels: Sequence[str] | None = None, caption_regions: int = 0,
                 opts: RunOptions = RunOptions(), progress: ProgressFn | None = None,
                 cancel: CancelToken | None = None) -> ActionResult:
    """Change over a whole layer, streamed block by block, as an ActionResult like
    ``actions.change``: spectral (``change_tiled``), semantic (``change_semantic_tiled``, with
    the feature ``model``); ``vlm`` is spectral plus a caption of the pair at ``caption_side``.
    ``max_side`` caps each block, not the layer: blocks of ``block`` px up to it are native."""
    from .change_tiled import stream_change

    progress, cancel = progress or noop_progress, ensure_token(cancel)
    text = ""
    if method == "vlm":
        from .actions import coregister_pair

        vlm = load(model or "qwen3-vl-2b", "change_caption", opts, sub_progress(progress, 0, 10), cancel)
        a, b = coregister_pair(path_a, path_b, bounds, bounds_crs, bands=bands, max_side=caption_side)
        text = vlm.run(Request("change_caption", a.rgb, image_b=b.rgb), sub_progress(progress, 10, 30),
                       cancel).text
        del a, b
    naming = bool(label_model) or (method == "vlm" and caption_regions > 0)
    end = 90 if naming else 100          # the rest of the bar: naming / captioning regions
    max_side, block = _block_scale(path_a, bounds, bounds_crs, block, max_side)
    where = dict(bands=bands, max_side=max_side, threshold=threshold, min_area=min_area,
                 block=block, heat_path=heat_path, mask_path=mask_path, cancel=cancel)
    if method == "semantic":
        from .change_semantic_tiled import stream_semantic_change
        from .registry import DEFAULTS

        features = load(model or DEFAULTS["change_features"], "features", opts,
                        sub_progress(progress, 0, 10), cancel)
        res = stream_semantic_change(path_a, path_b, features, bounds, bounds_crs,
                                     progress=sub_progress(progress, 10, end), **where)
    elif method in ("spectral", "vlm"):
        res = stream_change(path_a, path_b, bounds, bounds_crs,
                            progress=sub_progress(progress, 30 if text else 0, end), **where)
    else:
        from .errors import InputError

        raise InputError(f"Unknown change method '{method}'; choose spectral, semantic or vlm.")
    date_a, date_b = res.date_a or "", res.date_b or ""
    feats = [GeoFeature(p, {"change": 1, "area": float(p.area), "method": method,
                            "date_a": date_a, "date_b": date_b}) for p in res.polygons]
    _name_regions(path_a, path_b, feats, method=method, model=model, bands=bands,
                  label_model=label_model, labels=labels, caption_regions=caption_regions,
                  opts=opts, progress=sub_progress(progress, end, 100), cancel=cancel)
    frac = res.stats["changed_fraction"]
    summary = f"{len(feats)} change regions, {100 * frac:.1f}% of the valid area ({method})."
    meta = _meta(model or method, method=method, date_a=date_a, date_b=date_b,
                 threshold=res.threshold, summary=summary, streamed=True,
                 grid=[res.grid.width, res.grid.height], blocks=res.stats["blocks"],
                 heat_range=res.stats["heat_range"])
    from .geom import box

    x0, y0, x1, y1 = _grid_bounds(res.grid)
    return ActionResult(text=text or summary, features=feats, crs_wkt=res.grid.crs_wkt,
                        footprint=box(x0, y0, x1, y1), meta=meta)


def _name_regions(path_a: str, path_b: str, feats: list, *, method: str, model: str | None,
                  bands, label_model, labels, caption_regions: int, opts: RunOptions,
                  progress: ProgressFn, cancel: CancelToken) -> None:
    """CLIP labels on every region and (vlm) chip captions on the largest, from chips read
    region by region (``change_regions``): the pair is never held whole."""
    from .change_regions import caption_regions as caption_chips
    from .change_regions import label_regions_streamed

    captions = method == "vlm" and caption_regions > 0
    split = 50 if label_model and captions else 100
    if label_model and feats:
        phase(opts, "Naming change regions")
        clip = load(label_model, "classify", opts, None, cancel)
        label_regions_streamed(clip, path_a, path_b, feats, labels, bands=bands,
                               progress=sub_progress(progress, 0, split), cancel=cancel)
    if captions and feats:
        phase(opts, "Captioning change regions")
        vlm = load(model or "qwen3-vl-2b", "change_caption", opts, None, cancel)
        caption_chips(vlm, path_a, path_b, feats, caption_regions, bands=bands,
                      progress=sub_progress(progress, split if label_model else 0, 100),
                      cancel=cancel)


def _block_scale(path: str, bounds, bounds_crs, block: int, max_side: int | None):
    """(grid max side, block on that grid): blocks are what a model sees, so MAX_SIDE caps a
    block (``tiling.tile_scale``); the block stays a multiple of 16 px (GeoTIFF blocks)."""
    from .tiling import tile_scale

    grid_side, on_grid, _ = tile_scale(path, bounds, bounds_crs, block, 0, max_side)
    return grid_side, block if grid_side is None else max(16, on_grid // 16 * 16)


def _grid_bounds(grid) -> tuple[float, float, float, float]:
    t = grid.transform
    xs, ys = zip(*(t * (c, r) for c in (0, grid.width) for r in (0, grid.height)))
    return min(xs), min(ys), max(xs), max(ys)


def fits_in_memory(path_a: str, path_b: str, bounds=None, bounds_crs=None, *,
                   bands: Sequence[int] | None = None, max_side: int | None = None) -> bool:
    """Whether one coregistered capture of the pair stays within the read budget."""
    from .errors import TooLargeError
    from .raster_read import DEFAULT_BUDGET, check_budget, open_raster, select_bands

    grid = tile_grid(path_a, bounds, bounds_crs, max_side=max_side)
    with open_raster(path_a) as ds:
        idx = select_bands(ds, bands, path_a)
        dtype = ds.dtypes[idx[0] - 1]
    try:  # the pair, its float copies and the heat: about three single captures
        check_budget(path_a, (grid.height, grid.width), len(idx), dtype, DEFAULT_BUDGET // 3)
    except TooLargeError:
        return False
    return True

