"""Whole-layer actions streamed tile by tile: text -> masks with the mask raster written block by
block, a caption per tile, and spectral change (``change_tiled``) as an ActionResult.

``change_area``, ``detect_area`` and ``segment_area`` are what the dock and Processing call: each
takes its typed parameters (``params``) and decides alone, by :func:`streams`, whether to run in
memory or stream.

Like ``actions``, every function takes plain data, reports progress, honours a CancelToken and
never builds a full-size array of the layer.
"""
from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from typing import TypedDict

from .actions import (
    ActionResult,
    RunOptions,
    run_meta,
    rasterize_polygons,
    require_text,
    mask_union,
    load,
    phase,
)
from .cancel import CancelToken, ProgressFn, ensure_token, noop_progress, sub_progress
from .io.export import TiledRasterWriter
from .io.georef import GeoFeature
from .params import CHANGE_BLOCK, DETECT_TILE, Area, ChangeParams, DetectParams, SegmentParams
from .results import Request
from .tasks import Task
from .tile_merge import SeamPolygons
from .tiling import (
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

    require_text(prompt, "what to segment (a prompt)")
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
                mask = mask_union(res, t)
            else:
                res = backend.run(Request("segment", t.rgb, prompt=prompt), None, cancel)
                mask = rasterize_polygons(res.polygons, t)
            warnings.extend(res.warnings)
            c, r, w, h = t.meta["core"]
            wc, wr = t.meta["window"][:2]
            keep = (mask.astype(bool) & t.valid)[r - wr:r - wr + h, c - wc:c - wc + w]
            if out is not None:
                out.write(keep, c, r)
            polys.add(keep, c, r)
            progress(10 + 85 * (t.meta["index"] + 1) / total)
    meta = run_meta(sam_model or model, prompt=prompt, tiles=total)
    feats = [GeoFeature(p, {"label": prompt, "score": 1.0, "prompt": prompt,
                            "model": sam_model or model}) for p in polys.polygons()]
    progress(100.0)
    return ActionResult(text=f"{len(feats)} regions", features=feats, crs_wkt=grid.crs_wkt,
                        warnings=list(dict.fromkeys(warnings)), meta=meta,
                        raster_path=raster_path)


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
                                                "row": r, **run_meta(model, detail=detail)}))
        progress(10 + 90 * (i + 1) / total)
    progress(100.0)
    return ActionResult(text=f"{len(feats)} tile captions", features=feats, crs_wkt=crs_wkt,
                        warnings=list(dict.fromkeys(warnings)), meta=run_meta(model, detail=detail))


class _StreamArgs(TypedDict):
    """What change_layer passes to both stream_change and stream_semantic_change."""

    bands: Sequence[int] | None
    max_side: int | None
    threshold: float | None
    min_area: float
    block: int
    heat_path: str | None
    mask_path: str | None
    cancel: CancelToken


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
    from .change.spectral_tiled import stream_change

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
    where: _StreamArgs = {"bands": bands, "max_side": max_side, "threshold": threshold,
                          "min_area": min_area, "block": block, "heat_path": heat_path,
                          "mask_path": mask_path, "cancel": cancel}
    if method == "semantic":
        from .change.semantic_tiled import stream_semantic_change
        from .models.registry import DEFAULTS

        features = load(model or DEFAULTS[Task.FEATURES], "features", opts,
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
    meta = run_meta(model or method, method=method, date_a=date_a, date_b=date_b,
                 threshold=res.threshold, summary=summary, streamed=True,
                 grid=[res.grid.width, res.grid.height], blocks=res.stats["blocks"])
    from .io.geom import box

    x0, y0, x1, y1 = _grid_bounds(res.grid)
    lo, hi = res.stats["heat_range"]
    return ActionResult(text=text or summary, features=feats, crs_wkt=res.grid.crs_wkt,
                        footprint=box(x0, y0, x1, y1), meta=meta, raster_path=heat_path,
                        heat_range=(float(lo), float(hi)))


def _name_regions(path_a: str, path_b: str, feats: list, *, method: str, model: str | None,
                  bands, label_model, labels, caption_regions: int, opts: RunOptions,
                  progress: ProgressFn, cancel: CancelToken) -> None:
    """CLIP labels on every region and (vlm) chip captions on the largest, from chips read
    region by region (``change_regions``): the pair is never held whole."""
    from .change.regions import caption_regions as caption_chips
    from .change.regions import label_regions_streamed

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


def fits_in_memory(path_a: str, path_b: str | None = None, bounds=None, bounds_crs=None, *,
                   bands: Sequence[int] | None = None, max_side: int | None = None) -> bool:
    """Whether one capture of ``path_a`` (with ``path_b``: one coregistered capture of the
    pair) stays within the read budget."""
    from .errors import TooLargeError
    from .io.raster_read import DEFAULT_BUDGET, check_budget, open_raster, select_bands

    grid = tile_grid(path_a, bounds, bounds_crs, max_side=max_side)
    with open_raster(path_a) as ds:
        idx = select_bands(ds, bands, path_a)
        dtype = ds.dtypes[idx[0] - 1]
    # a pair, its float copies and the heat: about three single captures
    budget = DEFAULT_BUDGET // 3 if path_b else DEFAULT_BUDGET
    try:
        check_budget(path_a, (grid.height, grid.width), len(idx), dtype, budget)
    except TooLargeError:
        return False
    return True


# --- one decision per action: in memory, or streamed ------------------------------------------

def streams(params: ChangeParams | DetectParams | SegmentParams) -> bool:
    """THE rule, the same for the dock and Processing: stream when tiling is asked
    (``params.tile`` > 0) or when one capture of the area does not fit the memory budget."""
    if params.tile:
        return True
    a = params.area
    if isinstance(params, ChangeParams):
        return not fits_in_memory(params.path_a, params.path_b, a.bounds, a.bounds_crs,
                                  bands=a.bands, max_side=a.max_side)
    if not params.path:
        return False      # pixels the caller rendered: there is no file to stream
    return not fits_in_memory(params.path, None, a.bounds, a.bounds_crs, bands=a.bands,
                              max_side=a.max_side)


def _write_in_memory(result: ActionResult, raster_path: str | None) -> ActionResult:
    """The in-memory result's raster written to ``raster_path`` (a new or staged file), so a
    caller gets its raster file the same way whether the action streamed or not."""
    if raster_path and result.raster is not None:
        from .io.export import write_raster

        r = result.raster
        write_raster(r.array, r.transform, r.crs_wkt, raster_path, nodata=r.nodata)
        result.raster_path = raster_path
    return result


def _capture(path: str, area: Area, image):
    if image is not None:
        return image
    if not path:
        from .errors import InputError

        raise InputError("INPUT: choose a raster layer.")
    from .actions import capture

    return capture(path, area.bounds, area.bounds_crs, bands=area.bands, max_side=area.max_side)


def change_area(params: ChangeParams, *, raster_path: str | None = None,
                opts: RunOptions = RunOptions(), progress: ProgressFn | None = None,
                cancel: CancelToken | None = None) -> ActionResult:
    """Change between two dates over ``params.area``, in memory or streamed block by block
    (:func:`streams`); the heat raster goes to ``raster_path`` (a staged path) when given."""
    from .actions import change, coregister_pair

    p, a = params, params.area
    model = p.model if p.method != "spectral" else None
    labels = list(p.labels) if p.labels else None
    cancel = ensure_token(cancel)
    if streams(p):
        return change_layer(p.path_a, p.path_b, a.bounds, a.bounds_crs, method=p.method,
                            model=model, bands=a.bands, max_side=a.max_side,
                            threshold=p.threshold, min_area=p.min_area,
                            block=p.tile or CHANGE_BLOCK, heat_path=raster_path,
                            label_model=p.label_model, labels=labels,
                            caption_regions=p.caption_regions, opts=opts, progress=progress,
                            cancel=cancel)
    progress = progress or noop_progress
    pair = coregister_pair(p.path_a, p.path_b, a.bounds, a.bounds_crs, bands=a.bands,
                           max_side=a.max_side)
    cancel.check()
    result = change(*pair, method=p.method, model=model, threshold=p.threshold,
                    min_area=p.min_area, label_model=p.label_model, labels=labels,
                    caption_regions=p.caption_regions, opts=opts,
                    progress=sub_progress(progress, 10, 100), cancel=cancel)
    return _write_in_memory(result, raster_path)


def detect_area(params: DetectParams, *, image=None, session: str | None = None,
                opts: RunOptions = RunOptions(), progress: ProgressFn | None = None,
                cancel: CancelToken | None = None) -> ActionResult:
    """Text -> boxes over ``params.area``: one capture, or tile by tile with seam duplicates
    merged (:func:`streams`). ``image`` is a capture the caller already holds (a rendered
    layer, or the last capture, with its Florence ``session`` handle)."""
    from .actions import detect, detect_tiled

    p, a = params, params.area
    if streams(p):
        return detect_tiled(p.path, p.prompt, p.model, bounds=a.bounds, bounds_crs=a.bounds_crs,
                            tile=p.tile or DETECT_TILE, overlap=p.overlap, bands=a.bands,
                            max_side=a.max_side, opts=opts, progress=progress, cancel=cancel)
    progress = progress or noop_progress
    img = _capture(p.path, a, image)
    return detect(img, p.prompt, p.model, opts=opts, progress=sub_progress(progress, 5, 100),
                  cancel=cancel, session=session)


def segment_area(params: SegmentParams, *, raster_path: str | None = None, image=None,
                 session: str | None = None, opts: RunOptions = RunOptions(),
                 progress: ProgressFn | None = None,
                 cancel: CancelToken | None = None) -> ActionResult:
    """Text -> masks over ``params.area``: one capture, or tile by tile with the mask written
    block by block (:func:`streams`); the mask goes to ``raster_path`` (a staged path) when
    given. ``image``/``session`` as in :func:`detect_area`."""
    from .actions import segment

    p, a = params, params.area
    if streams(p):
        return segment_layer(p.path, p.prompt, p.model, bounds=a.bounds, bounds_crs=a.bounds_crs,
                             tile=p.tile or DETECT_TILE, overlap=p.overlap, bands=a.bands,
                             max_side=a.max_side, sam_model=p.sam_model,
                             raster_path=raster_path, opts=opts,
                             progress=sub_progress(progress or noop_progress, 5, 100),
                             cancel=cancel)
    progress = progress or noop_progress
    img = _capture(p.path, a, image)
    result = segment(img, p.prompt, p.model, sam_model=p.sam_model, opts=opts,
                     progress=sub_progress(progress, 5, 100), cancel=cancel, session=session)
    return _write_in_memory(result, raster_path)

