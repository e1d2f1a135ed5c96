"""The analyst's actions, one implementation each, shared by the dock and the Processing algorithms.

Every function takes plain data (GeoImages, paths, strings), reports progress 0..100, honours a
CancelToken and returns an :class:`ActionResult` in the image's CRS. Nothing here touches QGIS.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

from .cancel import CancelToken, ProgressFn, ensure_token, noop_progress, sub_progress
from .errors import InputError
from .io.geoimage import GeoImage, outline
from .io.georef import GeoFeature, instance_features, result_to_features
from . import sessions
from .results import Request, drop_boxes_on_nodata


@dataclass
class RasterOut:
    """A georeferenced array to write as GeoTIFF (mask, heat map, similarity)."""

    array: np.ndarray
    transform: object
    crs_wkt: str
    nodata: Optional[float] = None
    kind: str = "mask"


@dataclass
class ActionResult:
    """What an action returns, for the dock and Processing alike.

    ``raster`` is an in-memory raster still to write; ``raster_path`` the file the action
    already wrote its raster to (block by block when it streamed, or the in-memory raster when
    the caller gave a path). ``heat_range`` is the (low, high) stretch of a streamed heat raster,
    sampled while it was written. ``session`` is the handle of a live encode-once session
    (``inference/sessions.py``) to pass back for the next prompt on the same capture; ``sources``
    what a grounded answer was given (layer features, then document chunks, in rank order).
    ``meta`` holds plain provenance only (model, prompt, method, parameters, time): every value
    JSON-serialisable. ``summary`` is the typed count of a batch action that wrote its own file
    (``label.LabelSummary``, ``archive.build.IndexReport``).
    """

    text: str = ""
    features: list[GeoFeature] = field(default_factory=list)
    crs_wkt: str = ""
    footprint: object = None                  # shapely Polygon of the capture, in crs_wkt
    raster: Optional[RasterOut] = None
    warnings: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)  # plain provenance only (see above)
    raster_path: Optional[str] = None
    heat_range: Optional[tuple[float, float]] = None
    summary: object = None
    session: Optional[str] = None
    sources: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class RunOptions:
    """How to load models: device, offline mode and remote-code opt-in."""

    device: str = "auto"
    offline: Optional[bool] = None
    allow_remote_code: bool = False
    on_phase: Optional[Callable[[str], None]] = None   # "Loading model…", "Tile 3 of 40" (for a UI)


def phase(opts: RunOptions, text: str) -> None:
    """Name the current phase of a run (shown beside the progress bar); '' ends a named phase."""
    if opts.on_phase is not None:
        opts.on_phase(text)


def capture(path: str, bounds=None, bounds_crs=None, *, bands: Optional[Sequence[int]] = None,
            max_side: Optional[int] = None) -> GeoImage:
    """Native capture of ``bounds`` (in ``bounds_crs``) from the raster at ``path``."""
    from .io.raster_read import capture_native

    return capture_native(path, bounds, bounds_crs, bands=list(bands) if bands else None,
                          max_side=max_side)


def load(model: str, task: str, opts: RunOptions, progress: Optional[ProgressFn] = None,
         cancel: Optional[CancelToken] = None):
    """Load (or reuse) the backend for ``model`` and ``task`` as ``opts`` says, naming the phase."""
    from .models.runtime import load_model

    phase(opts, "Loading model…")
    backend = load_model(model, task=task, device=opts.device, offline=opts.offline,
                         allow_remote_code=opts.allow_remote_code, progress=progress, cancel=cancel)
    phase(opts, "")
    return backend


def _tile_phases(progress: ProgressFn, opts: RunOptions, total: int) -> ProgressFn:
    """A 0..100 progress over ``total`` tiles that also names the tile ("Tile 3 of 40")."""
    if opts.on_phase is None or total <= 0:
        return progress

    def report(p: float) -> None:
        phase(opts, f"Tile {min(total, max(1, int(round(p * total / 100.0))))} of {total}")
        progress(p)
    return report


def conversation(image: GeoImage, model: str, *, image_b: Optional[GeoImage] = None,
                 task: str = "chat", history: Sequence[tuple[str, str]] = (),
                 opts: RunOptions = RunOptions(), cancel: Optional[CancelToken] = None):
    """A multi-turn :class:`~.chat.Conversation` about ``image`` (and ``image_b``, the later date);
    the image is encoded once, here. ``history`` (question, answer) turns come first, e.g. the
    caption that opened the conversation."""
    from .chat import ChatTurn, Conversation

    backend = load(model, task, opts, None, cancel)
    conv = Conversation(backend, image.rgb, image_b=image_b.rgb if image_b is not None else None)
    conv.history.extend(ChatTurn(q, a) for q, a in history)
    return conv


def run_meta(model: str, **extra) -> dict:
    """Plain provenance for a result: the model, the time and any extra items."""
    return {"model": model, "time": _dt.datetime.now().isoformat(timespec="seconds"), **extra}


def _result(image: GeoImage, text: str = "", features=(), warnings=(), **meta) -> ActionResult:
    return ActionResult(text=text, features=list(features), crs_wkt=image.crs_wkt,
                        footprint=image.footprint(), warnings=list(warnings), meta=meta)


def caption(image: GeoImage, model: str, *, detail: str = "more", opts: RunOptions = RunOptions(),
            progress: Optional[ProgressFn] = None, cancel: Optional[CancelToken] = None,
            grounding=None) -> ActionResult:
    """Describe the capture; the footprint feature carries the caption.

    ``grounding`` (a ``grounding.Grounding``) puts the analyst's layers/documents into the prompt
    of a chat-capable model; its sources go into ``result.sources``."""
    progress, cancel = progress or noop_progress, ensure_token(cancel)
    backend = load(model, "caption", opts, sub_progress(progress, 0, 40), cancel)
    request, prompt = Request("caption", image.rgb, options={"detail": detail}), ""
    if grounding is not None:
        from .grounding.prompt import caption_request

        request, prompt = caption_request(backend, request, grounding)
    out = backend.run(request, sub_progress(progress, 40, 100), cancel)
    meta = run_meta(model, detail=detail)
    feat = GeoFeature(image.footprint(), {"caption": out.text, **meta})
    result = _result(image, out.text, [feat], out.warnings, **meta)
    if grounding is not None:
        grounding.attach(result, prompt)
    return result


def ask(image: GeoImage, question: str, model: str, *, opts: RunOptions = RunOptions(),
        progress: Optional[ProgressFn] = None, cancel: Optional[CancelToken] = None,
        grounding=None) -> ActionResult:
    """One question about the capture; grounded boxes in the answer become features.

    ``grounding`` (a ``grounding.Grounding``) adds the analyst's layers/documents to the prompt;
    its sources go into ``result.sources`` and the answer feature's ``sources`` field."""
    require_text(question, "a question")
    progress, cancel = progress or noop_progress, ensure_token(cancel)
    backend = load(model, "chat", opts, sub_progress(progress, 0, 40), cancel)
    prompt = grounding.prompt(question) if grounding is not None else question
    out = backend.run(Request("chat", image.rgb, prompt=prompt), sub_progress(progress, 40, 100),
                      cancel)
    meta = run_meta(model, question=question)
    features = result_to_features(out, image, prompt=question, model=model)
    answer = GeoFeature(image.footprint(), {"question": question, "answer": out.text, **meta})
    result = _result(image, out.text, [answer] + features, out.warnings, **meta)
    if grounding is not None:
        grounding.attach(result, prompt)
    return result


def detect(image: GeoImage, prompt: str, model: str, *, opts: RunOptions = RunOptions(),
           progress: Optional[ProgressFn] = None, cancel: Optional[CancelToken] = None,
           session=None) -> ActionResult:
    """Text prompt -> box polygons (rotated with the raster when it is rotated).

    ``session`` (a previous result's ``session`` handle) reuses the encoded capture."""
    progress, cancel = progress or noop_progress, ensure_token(cancel)
    backend = load(model, "detect", opts, sub_progress(progress, 0, 40), cancel)
    task = "detect" if "detect" in backend.tasks else "ground"
    run, session = _prompter(backend, image, session)
    out = run(Request(task, image.rgb, prompt=prompt), sub_progress(progress, 40, 100), cancel)
    dropped = drop_boxes_on_nodata(out, image.valid)
    feats = result_to_features(out, image, prompt=prompt, model=model)
    result = _result(image, "", feats, out.warnings + nodata_warning(dropped),
                     **run_meta(model, prompt=prompt))
    result.session = sessions.keep(session)
    return result


def nodata_warning(dropped: int) -> list[str]:
    """The warning for ``dropped`` boxes that lay on nodata (none when 0)."""
    if not dropped:
        return []
    return [f"{dropped} detection(s) on nodata pixels (outside the valid data) were dropped."]


def _prompter(backend, image: GeoImage, handle):
    """(run function, session): Florence-2 encodes the capture once and is prompted many times."""
    if getattr(backend, "family", "") != "florence2":
        return backend.run, None
    from .models.florence import FlorenceSession

    session = sessions.get(handle)
    if session is None or session.backend is not backend or session.image is not image.rgb:
        session = FlorenceSession(backend, image.rgb)
    return session.run, session


def require_text(value: str, what: str) -> None:
    """Refuse an empty or blank ``value``, asking for ``what``."""
    if not value or not str(value).strip():
        raise InputError(f"Please enter {what}.")


def _mask_raster(mask: np.ndarray, image: GeoImage) -> RasterOut:
    return RasterOut(np.asarray(mask, np.uint8), image.transform, image.crs_wkt, None, "mask")


def rasterize_polygons(polygons, image: GeoImage) -> np.ndarray:
    """Pixel-space polygons (Florence segmentation) -> a 0/1 mask on the image grid."""
    from rasterio.features import rasterize
    from shapely.geometry import Polygon

    shapes = [(Polygon(p.coords), 1) for p in polygons if len(p.coords) >= 3]
    if not shapes:
        return np.zeros((image.height, image.width), np.uint8)
    return rasterize(shapes, out_shape=(image.height, image.width), fill=0, dtype="uint8")


def mask_union(out, image: GeoImage) -> np.ndarray:
    """The union of a result's masks as a uint8 array of the image's size (zeros when none)."""
    from .segment import masks_union

    if not out.masks and out.mask is None:
        return np.zeros((image.height, image.width), np.uint8)
    return masks_union(out).astype(np.uint8)


def segment(image: GeoImage, prompt: str, model: str, *, sam_model: Optional[str] = None,
            opts: RunOptions = RunOptions(), progress: Optional[ProgressFn] = None,
            cancel: Optional[CancelToken] = None, session=None) -> ActionResult:
    """Text -> masks. With ``sam_model``: text -> boxes (``model``) -> SAM masks per instance;
    without: the model's own segmentation (Florence-2 referring-expression polygons)."""
    require_text(prompt, "what to segment (a prompt)")
    progress, cancel = progress or noop_progress, ensure_token(cancel)
    if sam_model:
        from .segment import segment_by_text

        detector = load(model, "detect", opts, sub_progress(progress, 0, 20), cancel)
        sam = load(sam_model, "segment_prompt", opts, sub_progress(progress, 20, 40), cancel)
        out = segment_by_text(detector, sam, image.rgb, prompt, progress=sub_progress(progress, 40, 100),
                              cancel=cancel)
        feats = instance_features(out, image, prompt=prompt, model=sam_model)
        mask = mask_union(out, image)
    else:
        backend = load(model, "segment", opts, sub_progress(progress, 0, 40), cancel)
        run, session = _prompter(backend, image, session)
        out = run(Request("segment", image.rgb, prompt=prompt), sub_progress(progress, 40, 100), cancel)
        mask = rasterize_polygons(out.polygons, image)
        feats = result_to_features(out, image, prompt=prompt, model=model)
    mask &= image.valid.astype(np.uint8)
    result = _result(image, "", feats, out.warnings, **run_meta(sam_model or model, prompt=prompt))
    result.raster = _mask_raster(mask, image)
    result.session = sessions.keep(session) if not sam_model else None
    return result


def segment_prompts(image: GeoImage, sam_model: str, *, points: Sequence[tuple[float, float]] = (),
                    labels: Sequence[int] = (), boxes: Sequence[tuple[float, float, float, float]] = (),
                    opts: RunOptions = RunOptions(), progress: Optional[ProgressFn] = None,
                    cancel: Optional[CancelToken] = None, session=None) -> ActionResult:
    """Clicked points (1 include, 0 exclude) and dragged boxes, in MAP coordinates of the image CRS,
    -> SAM masks. Pass ``session`` (a previous result's ``session`` handle) to reuse the
    encoded image."""
    from .segment_session import SegmentSession, to_pixel_prompts

    progress, cancel = progress or noop_progress, ensure_token(cancel)
    if not points and not boxes:
        raise InputError("Click at least one point or drag a box on the map.")
    px_points, px_boxes = to_pixel_prompts(image, points, boxes)
    _require_inside(image, points, px_points, boxes, px_boxes)  # before any model loads
    session = sessions.get(session)
    if session is None:
        backend = load(sam_model, "segment_prompt", opts, sub_progress(progress, 0, 40), cancel)
        session = SegmentSession(backend, image.rgb)
    cancel.check()
    out = session.predict(points=px_points or None, labels=list(labels) or None, boxes=px_boxes or None)
    progress(100.0)
    feats = instance_features(out, image, prompt="points/box", model=sam_model)
    result = _result(image, "", feats, out.warnings, **run_meta(sam_model, prompt="points/box"))
    result.raster = _mask_raster(mask_union(out, image) & image.valid.astype(np.uint8), image)
    result.session = sessions.keep(session)
    return result


def _require_inside(image: GeoImage, points, px_points, boxes, px_boxes) -> None:
    """A click or box off the captured image is a mistake to name, not a prompt for SAM."""
    h, w = image.height, image.width
    for (x, y), (c, r) in zip(points, px_points):
        if not (0 <= c <= w and 0 <= r <= h):
            raise InputError(f"The clicked point ({x:g}, {y:g}) lies outside the captured image; "
                             "click inside the layer's area.")
    for box, (c0, r0, c1, r1) in zip(boxes, px_boxes):
        if c1 <= 0 or r1 <= 0 or c0 >= w or r0 >= h:
            raise InputError(f"The box {tuple(round(v, 6) for v in box)} lies outside the captured "
                             "image; drag it over the layer's area.")


def coregister_pair(path_a: str, path_b: str, bounds=None, bounds_crs=None, *,
                    bands: Optional[Sequence[int]] = None, max_side: Optional[int] = None):
    """Both dates on A's grid over the intersection of their footprints."""
    from .io.coregister import coregister

    b = list(bands) if bands else None
    return coregister(path_a, path_b, bounds, bounds_crs, bands_a=b, bands_b=b, max_side=max_side)


def change(a: GeoImage, b: GeoImage, *, method: str = "spectral", model: Optional[str] = None,
           threshold: Optional[float] = None, min_area: float = 0.0, label_model: Optional[str] = None,
           labels: Optional[Sequence[str]] = None, caption_regions: int = 0,
           opts: RunOptions = RunOptions(), progress: Optional[ProgressFn] = None,
           cancel: Optional[CancelToken] = None) -> ActionResult:
    """Two co-registered dates -> heat raster, change polygons and a caption (``vlm``) or summary.

    With ``label_model`` (a CLIP model) each change region is named by text similarity of its
    crop in B to ``labels`` ("new buildings", "cleared forest", ...). ``vlm`` with
    ``caption_regions`` N also captions the N largest regions from their chip pairs."""
    from .change.spectral import change_polygons, detect_change

    progress, cancel = progress or noop_progress, ensure_token(cancel)
    text, feature_backend, heat_method = "", None, method
    if method == "semantic":
        feature_backend = load(model or "dinov2-small", "features", opts, sub_progress(progress, 0, 30),
                               cancel)
    elif method == "vlm":
        heat_method = "spectral"
        vlm = load(model or "qwen3-vl-2b", "change_caption", opts, sub_progress(progress, 0, 30), cancel)
        text = vlm.run(Request("change_caption", a.rgb, image_b=b.rgb), sub_progress(progress, 30, 70),
                       cancel).text
    res = detect_change(a, b, method=heat_method, threshold=threshold, feature_backend=feature_backend,
                        progress=sub_progress(progress, 70, 95), cancel=cancel)
    polys = change_polygons(res, a.transform, min_area=min_area)
    meta = run_meta(model or method, method=method, date_a=a.date or "", date_b=b.date or "")
    feats = [GeoFeature(p, {"change": 1, "area": float(p.area), "method": method,
                            "date_a": a.date or "", "date_b": b.date or ""}) for p in polys]
    if label_model and feats:
        _label_changes(feats, b, label_model, labels, opts, cancel)
    if method == "vlm" and caption_regions > 0 and feats:
        from .change.regions import caption_regions_in_memory

        phase(opts, "Captioning change regions")
        caption_regions_in_memory(vlm, a, b, feats, caption_regions, cancel=cancel)
    frac = res.stats.get("changed_fraction", float(res.mask.mean()))
    summary = f"{len(polys)} change regions, {100 * frac:.1f}% of the valid area ({method})."
    result = _result(a, text or summary, feats, [], **meta)
    heat = np.where(res.valid if res.valid is not None else a.valid, res.heat, np.nan).astype(np.float32)
    result.raster = RasterOut(heat, a.transform, a.crs_wkt, float("nan"), "heat")
    result.meta.update(threshold=float(res.threshold), summary=summary)
    progress(100.0)
    return result


def _label_changes(feats: list[GeoFeature], b: GeoImage, model: str, labels, opts: RunOptions,
                   cancel: CancelToken) -> None:
    from .change.semantic import DEFAULT_LABELS, label_regions

    clip = load(model, "classify", opts, None, cancel)
    named = label_regions(clip, b.rgb, [f.geometry for f in feats], list(labels or DEFAULT_LABELS),
                          transform=b.transform)
    for feat, (label, score) in zip(feats, named):
        feat.properties.update(label=label, label_score=float(score))


def search(path: str, query: str, model: str, *, bounds=None, bounds_crs=None, tile: int = 224,
           overlap: int = 0, top_k: int = 10, bands: Optional[Sequence[int]] = None,
           opts: RunOptions = RunOptions(), progress: Optional[ProgressFn] = None,
           cancel: Optional[CancelToken] = None) -> ActionResult:
    """Text -> similarity heat raster over tiles and the top-K tile footprints, ranked."""
    from .search import coverage_grid, search_raster

    require_text(query, "a search query")
    if int(top_k) < 1:
        raise InputError(f"TOP_K must be at least 1 (got {top_k}).")
    progress, cancel = progress or noop_progress, ensure_token(cancel)
    backend = load(model, "search", opts, sub_progress(progress, 0, 20), cancel)
    tiles = _count_tiles(path, bounds, bounds_crs, tile, overlap, opts)
    res = search_raster(backend, path, query, bounds, bounds_crs, tile=tile, overlap=overlap,
                        bands=list(bands) if bands else None, top_k=top_k,
                        progress=_tile_phases(sub_progress(progress, 20, 100), opts, tiles), cancel=cancel)
    heat, transform = coverage_grid(res)
    feats = res.top(top_k)
    for f in feats:
        f.properties["model"] = model
    out = ActionResult(text=f"Top {len(feats)} tiles for '{query}'.", features=feats,
                       crs_wkt=res.crs_wkt, footprint=_area(path, bounds, bounds_crs),
                       meta=run_meta(model, query=query))
    scores = res.scores[np.isfinite(res.scores)] if len(res.tiles) else np.zeros(0, np.float32)
    out.meta.update(tiles=len(res.tiles), scored=int(scores.size),   # how many could qualify
                    score_min=float(scores.min()) if scores.size else 0.0,
                    score_max=float(scores.max()) if scores.size else 0.0)
    out.raster = RasterOut(heat.astype(np.float32), transform, res.crs_wkt, float("nan"), "heat")
    return out


def _area(path, bounds, bounds_crs):
    """Footprint of the whole area a tiled action analysed (the tile grid's outline)."""
    from .tiling import tile_grid

    grid = tile_grid(path, bounds, bounds_crs)
    return outline(grid.transform, grid.width, grid.height)


def _count_tiles(path, bounds, bounds_crs, tile: int, overlap: int, opts: RunOptions) -> int:
    if opts.on_phase is None:
        return 0
    from .tiling import count_tiles

    return count_tiles(path, bounds, bounds_crs, tile=tile, overlap=overlap)


def classify(path: str, classes: Sequence[str], model: str, *, bounds=None, bounds_crs=None,
             tile: int = 224, bands: Optional[Sequence[int]] = None, opts: RunOptions = RunOptions(),
             progress: Optional[ProgressFn] = None, cancel: Optional[CancelToken] = None) -> ActionResult:
    """Zero-shot land-cover map: each tile gets the class name it matches best."""
    from .search import zero_shot_map
    from .tiling import count_tiles, iter_tiles

    names = [c.strip() for c in classes if c and c.strip()]
    if len(names) < 2:
        raise InputError("Type at least two class names, separated by commas.")
    progress, cancel = progress or noop_progress, ensure_token(cancel)
    backend = load(model, "classify", opts, sub_progress(progress, 0, 20), cancel)
    total = count_tiles(path, bounds, bounds_crs, tile=tile, overlap=0)
    tiles = iter_tiles(path, bounds, bounds_crs, cancel=cancel, tile=tile, overlap=0,
                       bands=list(bands) if bands else None)
    res = zero_shot_map(backend, tiles, names,
                        total=total, progress=_tile_phases(sub_progress(progress, 20, 100), opts, total),
                        cancel=cancel)
    labels = res.labels
    feats = [GeoFeature(t.footprint, {"class": names[labels[i]], "score": float(t.score), "model": model})
             for i, t in enumerate(res.tiles) if labels[i] >= 0]
    grid, transform = res.class_grid()
    out = ActionResult(text=", ".join(names), features=feats, crs_wkt=res.crs_wkt,
                       footprint=_area(path, bounds, bounds_crs), meta=run_meta(model, classes=names))
    out.raster = RasterOut(grid.astype(np.int16), transform, res.crs_wkt, -1, "classes")
    return out


def detect_tiled(path: str, prompt: str, model: str, *, bounds=None, bounds_crs=None,
                 tile: int = 768, overlap: int = 128, bands: Optional[Sequence[int]] = None,
                 iou: float = 0.5, max_side: Optional[int] = None, opts: RunOptions = RunOptions(),
                 progress: Optional[ProgressFn] = None,
                 cancel: Optional[CancelToken] = None) -> ActionResult:
    """Detection over a whole layer: tile by tile (each at most ``max_side`` px a side, see
    ``tiling.tile_scale``), then duplicates at seams merged in map space."""
    from .tile_merge import nms_map
    from .tiling import count_tiles, iter_tiles, tile_scale

    progress, cancel = progress or noop_progress, ensure_token(cancel)
    grid_side, tile, overlap = tile_scale(path, bounds, bounds_crs, tile, overlap, max_side)
    backend = load(model, "detect", opts, sub_progress(progress, 0, 10), cancel)
    task = "detect" if "detect" in backend.tasks else "ground"
    total = max(1, count_tiles(path, bounds, bounds_crs, tile=tile, overlap=overlap, max_side=grid_side))
    feats, warnings, crs_wkt, dropped = [], [], "", 0
    for i, tile_img in enumerate(iter_tiles(path, bounds, bounds_crs, cancel=cancel,
                                            bands=list(bands) if bands else None,
                                            tile=tile, overlap=overlap, max_side=grid_side)):
        cancel.check()
        phase(opts, f"Tile {i + 1} of {total}")
        crs_wkt = tile_img.crs_wkt
        out = backend.run(Request(task, tile_img.rgb, prompt=prompt), None, cancel)
        dropped += drop_boxes_on_nodata(out, tile_img.valid)
        feats += result_to_features(out, tile_img, prompt=prompt, model=model)
        warnings += out.warnings
        progress(10 + 90 * (i + 1) / total)
    merged = nms_map(feats, iou=iou)
    return ActionResult(text=f"{len(merged)} objects", features=merged, crs_wkt=crs_wkt,
                        footprint=_area(path, bounds, bounds_crs),
                        warnings=warnings + nodata_warning(dropped),
                        meta=run_meta(model, prompt=prompt))


def write_outputs(result: ActionResult, vector_path: Optional[str] = None,
                  raster_path: Optional[str] = None, *, overwrite: bool = False, layer: str = "eolens",
                  outputs=None, keep_layers: bool = False):
    """Write the result's features and raster; returns the export report of the vector (or None).

    ``outputs`` (an ``export.OutputSet``) stages both for the caller to commit together;
    ``keep_layers`` keeps an existing GeoPackage's other layers."""
    from .io.export import write_raster, write_vector

    report = None
    if vector_path:
        report = write_vector(result.features, vector_path, result.crs_wkt, layer=layer, overwrite=overwrite,
                              outputs=outputs, keep_layers=keep_layers)
    if raster_path and result.raster is not None:
        r = result.raster
        write_raster(r.array, r.transform, r.crs_wkt, raster_path, nodata=r.nodata, overwrite=overwrite,
                     outputs=outputs)
    return report
