"""Score a result against a reference: objects by one-to-one IoU matching, masks by pixels.

* :func:`evaluate_objects` — boxes / instance polygons: candidate pairs from bounding boxes
  (numpy grid buckets, no spatial-index API that differs between shapely 1.8 and 2), exact IoU
  (from the bounds for axis-aligned rectangles, from GEOS otherwise), greedy one-to-one
  matching (by score when the predictions have one, else by IoU), precision / recall / F1 and
  AP@IoU, per class and a confusion matrix when classes are given.
* :func:`evaluate_masks` — pixel precision / recall / F1 / IoU of two boolean masks on one grid;
  :func:`rasterize`, :func:`read_mask` and :func:`warp_mask` bring vectors and rasters onto it.

Everything is plain data; the caller puts all geometries in one CRS first.
"""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .cancel import CancelToken, ProgressFn, ensure_token, noop_progress, sub_progress
from .errors import InputError

NO_CLASS = "(none)"
_BIG_CELLS = 16  # a box spanning more grid cells than this is compared to all others directly
_CHUNK = 2000    # features or pairs between two progress reports / Cancel checks


@dataclass
class Tag:
    """How one feature fared: TP / FP / FN, the IoU of its match and the partner's index."""

    status: str
    iou: float = 0.0
    match: int = -1


@dataclass
class Evaluation:
    """The metrics of one evaluation and the tagged predicted and reference items."""

    metrics: dict                                  # precision, recall, f1, iou, ap, tp, fp, fn, ...
    predicted: list[Tag] = field(default_factory=list)
    reference: list[Tag] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # empty layers, repaired geometries

    def to_json(self) -> str:
        """The metrics as indented JSON."""
        return json.dumps(self.metrics, indent=2, ensure_ascii=False)

    def to_text(self) -> str:
        """The metrics as a short plain-text report."""
        return report_text(self.metrics)


# --- figures ----------------------------------------------------------------------------

def scores(tp: float, fp: float, fn: float) -> dict:
    """precision, recall, F1 and IoU.

    Precision is undefined (None) with nothing predicted, recall with nothing to find, and F1,
    their harmonic mean, whenever either is; IoU is 0 when nothing matched."""
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = None if precision is None or recall is None else 2 * tp / (2 * tp + fp + fn)
    return {"precision": precision, "recall": recall, "f1": f1,
            "iou": tp / (tp + fp + fn) if tp else 0.0}


def average_precision(conf: np.ndarray, is_tp: np.ndarray, n_ref: int) -> float | None:
    """All-point interpolated AP; equal confidences form one operating point (no order bias).
    None (undefined) with no reference object to find."""
    if n_ref == 0:
        return None
    if conf.size == 0:
        return 0.0
    order = np.argsort(-conf, kind="stable")
    conf, hit = conf[order], is_tp[order].astype(np.float64)
    cum_tp = np.cumsum(hit)
    last = np.r_[np.nonzero(np.diff(conf))[0], conf.size - 1]  # end of each tie group
    recall = cum_tp[last] / n_ref
    precision = cum_tp[last] / (last + 1)
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * envelope))


# --- candidate pairs ----------------------------------------------------------------------

def geometry_bounds(geoms: Sequence) -> np.ndarray:
    """(N, 4) xmin, ymin, xmax, ymax; NaN rows for empty geometries (shapely 1.8 gives ())."""
    try:  # shapely 2: one vectorised call
        from shapely import bounds as _vector_bounds

        return np.asarray(_vector_bounds(np.asarray(list(geoms), dtype=object)), float) \
            .reshape(len(geoms), 4)
    except (ImportError, TypeError):
        pass
    out = np.full((len(geoms), 4), np.nan)
    for i, g in enumerate(geoms):
        if g is not None and not g.is_empty:
            out[i] = g.bounds
    return out


def _cells(bounds: np.ndarray, origin: tuple[float, float], size: float, rows: int):
    """(item index, cell key) for every grid cell each box touches."""
    x0 = np.floor((bounds[:, 0] - origin[0]) / size).astype(np.int64)
    y0 = np.floor((bounds[:, 1] - origin[1]) / size).astype(np.int64)
    nx = np.floor((bounds[:, 2] - origin[0]) / size).astype(np.int64) - x0 + 1
    ny = np.floor((bounds[:, 3] - origin[1]) / size).astype(np.int64) - y0 + 1
    count = nx * ny
    item = np.repeat(np.arange(len(bounds)), count)
    local = np.arange(item.size) - np.repeat(np.cumsum(count) - count, count)
    cx, cy = x0[item] + local % nx[item], y0[item] + local // nx[item]
    return item, cx * rows + cy


def _ranges(lo: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Concatenation of arange(lo[i], lo[i] + count[i])."""
    return np.repeat(lo, count) + (np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count))


def candidate_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i, j) whose boxes a[i] and b[j] overlap with positive area."""
    ok_a, ok_b = np.flatnonzero(np.isfinite(a).all(1)), np.flatnonzero(np.isfinite(b).all(1))
    if ok_a.size == 0 or ok_b.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    both = np.vstack((a[ok_a], b[ok_b]))
    sizes = np.maximum(both[:, 2] - both[:, 0], both[:, 3] - both[:, 1])
    span = max(both[:, 2].max() - both[:, 0].min(), both[:, 3].max() - both[:, 1].min())
    size = float(np.percentile(sizes, 90)) if sizes.size else 0.0
    size = max(size, span / 4096.0, 1e-12)  # bounded grid even for point-like boxes
    origin = (float(both[:, 0].min()), float(both[:, 1].min()))
    rows = int(math.floor((both[:, 3].max() - origin[1]) / size)) + 2
    pairs = [_grid_pairs(a, b, ok_a, ok_b, origin, size, rows)]
    pairs += _big_pairs(a, b, ok_a, ok_b, size)
    ia = np.concatenate([p[0] for p in pairs])
    ib = np.concatenate([p[1] for p in pairs])
    code = np.unique(ia * len(b) + ib)
    ia, ib = code // len(b), code % len(b)
    keep = ((a[ia, 0] < b[ib, 2]) & (b[ib, 0] < a[ia, 2]) &
            (a[ia, 1] < b[ib, 3]) & (b[ib, 1] < a[ia, 3]))
    return ia[keep], ib[keep]


def _is_big(bounds: np.ndarray, size: float) -> np.ndarray:
    cells = (np.floor((bounds[:, 2] - bounds[:, 0]) / size) + 2) * \
            (np.floor((bounds[:, 3] - bounds[:, 1]) / size) + 2)
    return cells > _BIG_CELLS


def _grid_pairs(a, b, ok_a, ok_b, origin, size, rows):
    sa, sb = ok_a[~_is_big(a[ok_a], size)], ok_b[~_is_big(b[ok_b], size)]
    item_a, key_a = _cells(a[sa], origin, size, rows)
    item_b, key_b = _cells(b[sb], origin, size, rows)
    order = np.argsort(key_b, kind="stable")
    key_b, item_b = key_b[order], item_b[order]
    lo = np.searchsorted(key_b, key_a, "left")
    count = np.searchsorted(key_b, key_a, "right") - lo
    return sa[np.repeat(item_a, count)], sb[item_b[_ranges(lo, count)]]


def _big_pairs(a, b, ok_a, ok_b, size):
    """Boxes too big for the grid, against every box of the other set (vectorised per box)."""
    out = []
    for mine, other, ok_m, ok_o, flip in ((a, b, ok_a, ok_b, False), (b, a, ok_b, ok_a, True)):
        for i in ok_m[_is_big(mine[ok_m], size)]:
            o = other[ok_o]
            hit = ok_o[(o[:, 0] < mine[i, 2]) & (mine[i, 0] < o[:, 2]) &
                       (o[:, 1] < mine[i, 3]) & (mine[i, 1] < o[:, 3])]
            mine_idx = np.full(hit.size, i, np.int64)
            out.append((hit, mine_idx) if flip else (mine_idx, hit))
    return out


# --- IoU ---------------------------------------------------------------------------------

def _areas(geoms: Sequence) -> np.ndarray:
    return np.array([g.area if g is not None and not g.is_empty else 0.0 for g in geoms], float)


def _rectangles(bounds: np.ndarray, areas: np.ndarray) -> np.ndarray:
    """True where a polygon fills its bounding box (an axis-aligned box): IoU from bounds."""
    box_area = (bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1])
    with np.errstate(invalid="ignore"):
        return np.isfinite(box_area) & (box_area > 0) & (np.abs(box_area - areas) <= 1e-9 * box_area)


def _intersection_area(g, h) -> float:
    try:
        return g.intersection(h).area
    except Exception:  # invalid rings (self-intersections): GEOS's usual repair, then retry
        return g.buffer(0).intersection(h.buffer(0)).area


def pair_iou(pred: Sequence, ref: Sequence, ia: np.ndarray, ib: np.ndarray,
             pb: np.ndarray, rb: np.ndarray, pa: np.ndarray, ra: np.ndarray,
             progress: Optional[ProgressFn] = None,
             cancel: Optional[CancelToken] = None) -> np.ndarray:
    """Exact IoU of each candidate pair: bounds arithmetic for box-box pairs, GEOS otherwise."""
    progress, cancel = progress or noop_progress, ensure_token(cancel)
    rect = _rectangles(pb, pa)[ia] & _rectangles(rb, ra)[ib]
    inter = np.zeros(ia.size)
    w = np.minimum(pb[ia, 2], rb[ib, 2]) - np.maximum(pb[ia, 0], rb[ib, 0])
    h = np.minimum(pb[ia, 3], rb[ib, 3]) - np.maximum(pb[ia, 1], rb[ib, 1])
    inter[rect] = (np.clip(w, 0, None) * np.clip(h, 0, None))[rect]
    todo = np.flatnonzero(~rect).tolist()
    for n, k in enumerate(todo):
        if n % _CHUNK == 0:
            cancel.check()
            progress(100.0 * n / len(todo))
        inter[k] = _intersection_area(pred[ia[k]], ref[ib[k]])
    progress(100.0)
    union = pa[ia] + ra[ib] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


# --- matching ----------------------------------------------------------------------------

def match(ia: np.ndarray, ib: np.ndarray, iou: np.ndarray, n_pred: int, n_ref: int,
          threshold: float, pred_scores: np.ndarray | None = None,
          cancel: Optional[CancelToken] = None):
    """Greedy one-to-one matching: predictions in score order take their best free reference
    (COCO); without scores the highest-IoU pairs go first. Returns (pred -> ref, IoUs) arrays."""
    cancel = ensure_token(cancel)
    ok = iou >= threshold
    ia, ib, iou = ia[ok], ib[ok], iou[ok]
    if pred_scores is not None:
        rank = np.empty(n_pred, np.int64)
        rank[np.argsort(-pred_scores, kind="stable")] = np.arange(n_pred)
        order = np.lexsort((-iou, rank[ia]))
    else:
        order = np.lexsort((ia, -iou))
    to_ref = np.full(n_pred, -1, np.int64)
    ref_taken = np.zeros(n_ref, bool)
    matched_iou = np.zeros(n_pred)
    for n, k in enumerate(order.tolist()):
        if n % (_CHUNK * 50) == 0:
            cancel.check()
        p, r = ia[k], ib[k]
        if to_ref[p] < 0 and not ref_taken[r]:
            to_ref[p], ref_taken[r], matched_iou[p] = r, True, iou[k]
    return to_ref, matched_iou


def _codes(classes: Sequence | None, n: int) -> np.ndarray:
    if classes is None:
        return np.zeros(n, object)
    return np.array([NO_CLASS if c is None or c == "" else str(c) for c in classes], object)


def evaluate_objects(predicted: Sequence, reference: Sequence, *, iou: float = 0.5,
                     pred_scores: Sequence[float] | None = None,
                     pred_classes: Sequence | None = None,
                     ref_classes: Sequence | None = None,
                     progress: Optional[ProgressFn] = None,
                     cancel: Optional[CancelToken] = None,
                     bounds: tuple[np.ndarray, np.ndarray] | None = None) -> Evaluation:
    """Object-level scores of shapely ``predicted`` against ``reference`` (one CRS).

    With classes, a prediction only matches a reference of its own class; the top-level figures
    are then summed over classes (``ap`` is their mean) and a class-agnostic matching fills
    ``confusion`` (reference class -> predicted class -> count; ``(none)`` for no partner).
    ``progress`` gets 0..100; ``cancel`` is checked every few thousand pairs. ``bounds``: the
    (N, 4) boxes of predicted and reference when the caller has them (else computed here).
    """
    if not 0.0 < iou <= 1.0:
        raise InputError(f"IOU must be in (0, 1]; got {iou}.")
    progress, cancel = progress or noop_progress, ensure_token(cancel)
    pred, ref = list(predicted), list(reference)
    pb, rb = bounds if bounds is not None else (geometry_bounds(pred), geometry_bounds(ref))
    pa, ra = _areas(pred), _areas(ref)
    cancel.check()
    progress(10)
    ia, ib = candidate_pairs(pb, rb)
    cancel.check()
    progress(25)
    pair = pair_iou(pred, ref, ia, ib, pb, rb, pa, ra, sub_progress(progress, 25, 70), cancel)
    conf = np.asarray(pred_scores, float) if pred_scores is not None else None
    if conf is not None and conf.shape != (len(pred),):
        raise InputError("There must be one score per predicted feature.")
    use_classes = pred_classes is not None and ref_classes is not None
    pc, rc = _codes(pred_classes if use_classes else None, len(pred)), \
        _codes(ref_classes if use_classes else None, len(ref))
    same = pc[ia] == rc[ib] if ia.size else np.zeros(0, bool)
    to_ref, m_iou = match(ia[same], ib[same], pair[same], len(pred), len(ref), iou, conf, cancel)
    progress(85)
    metrics = _figures(to_ref, m_iou, len(ref), conf)
    metrics["iou_threshold"] = iou
    metrics["mode"] = "objects"
    if use_classes:
        metrics["classes"] = _per_class(to_ref, m_iou, pc, rc, conf)
        aps = [c["ap"] for c in metrics["classes"].values() if c["ap"] is not None]
        metrics["ap"] = float(np.mean(aps)) if aps else None
        any_ref, _ = match(ia, ib, pair, len(pred), len(ref), iou, conf, cancel)
        metrics["confusion"] = _confusion(any_ref, pc, rc)
    progress(100)
    return Evaluation(metrics, *_tags(to_ref, m_iou, len(ref)))


def _figures(to_ref: np.ndarray, m_iou: np.ndarray, n_ref: int, conf) -> dict:
    tp = int((to_ref >= 0).sum())
    fp, fn = int(to_ref.size - tp), int(n_ref - tp)
    out = scores(tp, fp, fn)
    out["iou"] = float(m_iou[to_ref >= 0].mean()) if tp else 0.0  # mean IoU of the matches
    c = conf if conf is not None else np.ones(to_ref.size)
    out["ap"] = average_precision(c, to_ref >= 0, n_ref)
    out.update(tp=tp, fp=fp, fn=fn, predicted=int(to_ref.size), reference=int(n_ref))
    return out


def _per_class(to_ref, m_iou, pc, rc, conf) -> dict:
    out = {}
    for name in sorted(set(pc.tolist()) | set(rc.tolist())):
        sel = pc == name
        out[name] = _figures(to_ref[sel], m_iou[sel], int((rc == name).sum()),
                             conf[sel] if conf is not None else None)
    return out


def _confusion(to_ref, pc, rc) -> dict:
    table: dict[str, dict[str, int]] = {}

    def add(r, p):
        row = table.setdefault(r, {})
        row[p] = row.get(p, 0) + 1

    hit = np.zeros(rc.size, bool)
    for p, r in enumerate(to_ref.tolist()):
        if r >= 0:
            hit[r] = True
            add(rc[r], pc[p])
        else:
            add(NO_CLASS, pc[p])
    for r in np.flatnonzero(~hit):
        add(rc[r], NO_CLASS)
    return table


def _tags(to_ref: np.ndarray, m_iou: np.ndarray, n_ref: int) -> tuple[list[Tag], list[Tag]]:
    pred = [Tag("TP", float(m_iou[i]), int(r)) if r >= 0 else Tag("FP")
            for i, r in enumerate(to_ref.tolist())]
    ref = [Tag("FN") for _ in range(n_ref)]
    for i, r in enumerate(to_ref.tolist()):
        if r >= 0:
            ref[r] = Tag("TP", float(m_iou[i]), i)
    return pred, ref


# --- masks -------------------------------------------------------------------------------

@dataclass
class MaskGrid:
    """A boolean mask, which pixels count, and the grid they are on."""

    mask: np.ndarray
    valid: np.ndarray
    transform: object
    crs_wkt: str


def evaluate_masks(pred: np.ndarray, ref: np.ndarray, valid: np.ndarray | None = None,
                   pixel_area: float = 1.0) -> Evaluation:
    """Pixel precision / recall / F1 / IoU of ``pred`` against ``ref`` over ``valid`` pixels."""
    pred, ref = np.asarray(pred, bool), np.asarray(ref, bool)
    if pred.shape != ref.shape:
        raise InputError(f"The masks are not on one grid ({pred.shape} vs {ref.shape}).")
    if valid is not None:
        pred, ref = pred & valid, ref & valid
    tp, fp, fn = int(np.sum(pred & ref)), int(np.sum(pred & ~ref)), int(np.sum(~pred & ref))
    metrics = {**scores(tp, fp, fn), "ap": None, "tp": tp, "fp": fp, "fn": fn,
               "pixels": int(valid.sum() if valid is not None else pred.size),
               "pixel_area": float(pixel_area), "tp_area": tp * pixel_area,
               "fp_area": fp * pixel_area, "fn_area": fn * pixel_area, "mode": "pixels"}
    return Evaluation(metrics)


def read_mask(path: str, band: int = 1, bounds=None) -> MaskGrid:
    """A raster as a mask: non-zero = positive; nodata (and ``bounds`` outside) do not count."""
    from .io.raster_read import DEFAULT_BUDGET, check_budget, open_raster, read_window, require_crs
    from rasterio.windows import Window

    with open_raster(path) as ds:
        require_crs(ds, path)
        if not 1 <= band <= ds.count:
            raise InputError(f"Band {band} does not exist in '{path}'.")
        shape = (ds.height, ds.width)
        check_budget(path, shape, 1, ds.dtypes[band - 1], DEFAULT_BUDGET)
        raw, valid = read_window(ds, path, Window(0, 0, ds.width, ds.height), shape, [band])
        grid = MaskGrid((raw[0] != 0) & valid, valid, ds.transform, ds.crs.to_wkt())
    if bounds is not None:
        grid.valid &= rasterize([_box(bounds)], grid.transform, shape)
        grid.mask &= grid.valid
    return grid


def rasterize(geoms: Sequence, transform, shape: tuple[int, ...]) -> np.ndarray:
    """Boolean mask of the pixels whose centre lies in any of ``geoms``."""
    from rasterio.features import rasterize as _rasterize

    shapes = [(g, 1) for g in geoms if g is not None and not g.is_empty]
    if not shapes:
        return np.zeros(shape, bool)
    return _rasterize(shapes, out_shape=shape, transform=transform, fill=0, dtype="uint8") > 0


def warp_mask(path: str, onto: MaskGrid, band: int = 1) -> MaskGrid:
    """Raster ``path`` as a mask resampled (nearest) onto ``onto``'s grid; outside = not valid."""
    from rasterio.warp import Resampling, reproject

    src = read_mask(path, band)
    shape = onto.mask.shape
    out = np.zeros(shape, np.uint8)
    reproject(src.mask.astype(np.uint8) + src.valid.astype(np.uint8), out,
              src_transform=src.transform, src_crs=src.crs_wkt, dst_transform=onto.transform,
              dst_crs=onto.crs_wkt, resampling=Resampling.nearest, src_nodata=0, dst_nodata=0)
    return MaskGrid(out == 2, out > 0, onto.transform, onto.crs_wkt)


def _box(bounds):
    from shapely.geometry import box

    return box(*bounds)


def pixel_area(transform) -> float:
    """Area of one pixel in map units squared (rotation included)."""
    return abs(transform.a * transform.e - transform.b * transform.d)


def tag_regions(pred: np.ndarray, ref: np.ndarray, valid: np.ndarray, transform) -> list:
    """(polygon, status) for the TP, FP and FN pixel regions, for an OUTPUT layer."""
    from .io.georef import mask_to_polygons

    out = []
    for status, m in (("TP", pred & ref), ("FP", pred & ~ref), ("FN", ~pred & ref)):
        out += [(p, status) for p in mask_to_polygons(m & valid, transform)]
    return out


# --- report ------------------------------------------------------------------------------

def report_text(m: dict) -> str:
    """A readable summary of the metrics dict (an undefined figure reads 'undefined')."""
    def fmt(v):
        return "undefined" if v is None else f"{v:.4f}" if isinstance(v, float) else str(v)

    lines = [f"Evaluation ({m.get('mode', '')})"]
    for key in ("precision", "recall", "f1", "iou", "ap", "tp", "fp", "fn", "iou_threshold"):
        if key in m:
            value = "n/a" if key == "ap" and m.get("mode") == "pixels" else fmt(m[key])
            lines.append(f"  {key:<10} {value}")
    for name, c in (m.get("classes") or {}).items():
        lines.append(f"  class {name}: P={fmt(c['precision'])} R={fmt(c['recall'])} "
                     f"F1={fmt(c['f1'])} AP={fmt(c['ap'])} TP={c['tp']} FP={c['fp']} FN={c['fn']}")
    if m.get("confusion"):
        lines.append("  confusion (reference -> predicted: count):")
        for r, row in m["confusion"].items():
            lines.append(f"    {r}: " + ", ".join(f"{p}={n}" for p, n in row.items()))
    return "\n".join(lines)


# --- layers -> one evaluation ------------------------------------------------------------

@dataclass
class VectorInput:
    """Features as plain data, already in the common CRS."""

    wkbs: list
    fids: list[int]
    crs_wkt: str
    classes: list | None = None
    scores: list[float] | None = None
    bounds: np.ndarray | None = None  # (N, 4) boxes of the wkbs when the reader has them


@dataclass
class RasterInput:
    """A raster to evaluate: its path and the band to read."""

    path: str
    band: int = 1


def _polygonal(g):
    """The polygons of ``g`` (make_valid may add the lines and points a ring collapsed to)."""
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    parts = [p for p in getattr(g, "geoms", ()) if p.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return None
    from shapely.ops import unary_union

    return unary_union(parts)


def repair(g):
    """A valid polygonal version of an invalid polygon ``g`` (self-intersections, bow ties),
    or None when no area is left. shapely's make_valid, or buffer(0) where it is missing."""
    try:
        from shapely.validation import make_valid
    except ImportError:  # shapely < 1.8
        fixed = g.buffer(0)
    else:
        fixed = make_valid(g)
    fixed = _polygonal(fixed) if fixed is not None and not fixed.is_empty else None
    if fixed is None or fixed.is_empty or not fixed.is_valid or fixed.area <= 0:
        return None
    return fixed


@dataclass
class Loaded:
    """The geometries of one vector input kept for the evaluation, their rows and repairs."""

    geoms: list
    rows: list[int]
    repaired: int = 0
    bounds: np.ndarray | None = None  # (len(geoms), 4)


def load_geometries(v: VectorInput, extent, label: str = "the layer",
                    progress: Optional[ProgressFn] = None,
                    cancel: Optional[CancelToken] = None) -> Loaded:
    """Shapely geometries of ``v`` (those intersecting ``extent`` when given), invalid polygons
    repaired; a polygon that cannot be repaired is an InputError naming ``label`` and its fid."""
    from shapely import wkb

    progress, cancel = progress or noop_progress, ensure_token(cancel)
    area = _box(extent) if extent is not None else None
    out = Loaded([], [])
    fixed: list[int] = []  # positions in out.geoms whose bounds the repair may have changed
    total = max(1, len(v.wkbs))
    for i, data in enumerate(v.wkbs):
        if i % (_CHUNK * 5) == 0:
            cancel.check()
            progress(100.0 * i / total)
        g = wkb.loads(bytes(data)) if data else None
        if g is None or g.is_empty or (area is not None and not g.intersects(area)):
            continue
        if g.geom_type in ("Polygon", "MultiPolygon") and not g.is_valid:
            g = repair(g)
            if g is None:
                raise InputError(f"{label}: feature {v.fids[i]} is an invalid polygon that cannot "
                                 "be repaired (no area is left); fix or delete it (Vector > "
                                 "Geometry Tools > Fix Geometries) and run again.")
            out.repaired += 1
            fixed.append(len(out.geoms))
        out.geoms.append(g)
        out.rows.append(i)
    if v.bounds is not None and len(v.bounds) == len(v.wkbs):
        out.bounds = np.asarray(v.bounds, float)[np.asarray(out.rows, np.int64)].reshape(-1, 4)
        if fixed:
            out.bounds[fixed] = geometry_bounds([out.geoms[k] for k in fixed])
    progress(100.0)
    return out


def _warnings(metrics: dict, loaded: dict, names: tuple[str, str], extent) -> list[str]:
    """Repaired geometries per layer; which layer left a figure undefined, and why."""
    out = [f"{names[k]}: repaired {got.repaired} invalid polygon(s) (self-intersections) "
           "before matching." for k, got in loaded.items() if got.repaired]
    where = " inside EXTENT" if extent is not None else ""
    if metrics.get("precision") is None:
        out.append(f"{names[0]} has no features{where} (or no positive pixels): precision and "
                   "F1 are undefined, reported as null.")
    if metrics.get("recall") is None:
        out.append(f"{names[1]} has no features{where} (or no positive pixels): recall, F1 and "
                   "AP are undefined, reported as null.")
    return out


def evaluate_layers(predicted, reference, *, iou: float = 0.5, extent=None,
                    names: tuple[str, str] = ("PREDICTED", "REFERENCE"),
                    progress: Optional[ProgressFn] = None, cancel: Optional[CancelToken] = None):
    """(Evaluation, tagged GeoFeatures, CRS WKT) for any pair of vector / mask raster inputs.

    Two vectors: objects matched by IoU. A raster on either side: pixels, on the reference's
    grid (or the predicted raster's, against a vector reference). ``extent`` (xmin, ymin,
    xmax, ymax) is in the common CRS, which the caller has put the vectors in. ``names`` label
    the layers in warnings and errors; ``progress`` gets 0..100, ``cancel`` is checked often.
    The evaluation's ``warnings`` name repaired geometries and empty layers.
    """
    progress, cancel = progress or noop_progress, ensure_token(cancel)
    if isinstance(predicted, VectorInput) and isinstance(reference, VectorInput):
        result, feats = _evaluate_vectors(predicted, reference, iou, extent, names, progress, cancel)
        return result, feats, reference.crs_wkt
    result, feats, crs_wkt = _evaluate_pixels(predicted, reference, extent, names, cancel)
    progress(100.0)
    return result, feats, crs_wkt


def _evaluate_vectors(predicted, reference, iou, extent, names, progress, cancel):
    """Two vector inputs, object by object (the half of :func:`evaluate_layers` for vectors)."""
    got = {0: load_geometries(predicted, extent, names[0], sub_progress(progress, 0, 15), cancel),
           1: load_geometries(reference, extent, names[1], sub_progress(progress, 15, 30), cancel)}
    (pg, pr), (rg, rr) = (got[0].geoms, got[0].rows), (got[1].geoms, got[1].rows)

    def pick(vals, rows):
        return [vals[i] for i in rows] if vals is not None else None

    result = evaluate_objects(pg, rg, iou=iou, pred_scores=pick(predicted.scores, pr),
                              pred_classes=pick(predicted.classes, pr),
                              ref_classes=pick(reference.classes, rr),
                              progress=sub_progress(progress, 30, 85), cancel=cancel,
                              bounds=_both_bounds(got[0], got[1]))
    cancel.check()
    feats = _object_features("predicted", pg, pr, predicted, result.predicted, (rr, reference))
    progress(92.0)
    cancel.check()
    feats += _object_features("reference", rg, rr, reference, result.reference, (pr, predicted))
    result.warnings += _warnings(result.metrics, got, names, extent)
    progress(100.0)
    return result, feats


def _both_bounds(a: Loaded, b: Loaded):
    """(predicted, reference) boxes when the reader gave both, else None (computed later)."""
    return (a.bounds, b.bounds) if a.bounds is not None and b.bounds is not None else None


def _evaluate_pixels(predicted, reference, extent, names, cancel):
    """A raster on either side: pixels on one grid (the other half of :func:`evaluate_layers`)."""
    from .io.georef import GeoFeature

    got = {}
    if isinstance(reference, RasterInput):
        grid = read_mask(reference.path, reference.band, extent)
        if isinstance(predicted, RasterInput):
            warped = warp_mask(predicted.path, grid, predicted.band)
            pred, valid = warped.mask, grid.valid & warped.valid
        else:
            got[0] = load_geometries(predicted, extent, names[0], cancel=cancel)
            pred, valid = rasterize(got[0].geoms, grid.transform, grid.mask.shape), grid.valid
        ref = grid.mask
    else:
        grid = read_mask(predicted.path, predicted.band, extent)
        pred, valid = grid.mask, grid.valid
        got[1] = load_geometries(reference, extent, names[1], cancel=cancel)
        ref = rasterize(got[1].geoms, grid.transform, grid.mask.shape)
    cancel.check()
    result = evaluate_masks(pred, ref, valid, pixel_area(grid.transform))
    feats = [GeoFeature(p, {"source": "pixels", "status": s})
             for p, s in tag_regions(pred & valid, ref & valid, valid, grid.transform)]
    result.warnings += _warnings(result.metrics, got, names, extent)
    return result, feats, grid.crs_wkt


def _object_features(source: str, geoms, rows, v: VectorInput, tags: list[Tag], other) -> list:
    """One feature per object: TP / FP / FN, the IoU of its match and the partner's fid."""
    from .io.georef import GeoFeature

    other_rows, other_v = other
    out = []
    for g, row, tag in zip(geoms, rows, tags):
        partner = int(other_v.fids[other_rows[tag.match]]) if tag.match >= 0 else None
        props = {"source": source, "status": tag.status, "iou": tag.iou,
                 "src_fid": int(v.fids[row]), "match_fid": partner}
        if v.classes is not None:
            props["class"] = None if v.classes[row] is None else str(v.classes[row])
        if v.scores is not None:
            props["score"] = float(v.scores[row])
        out.append(GeoFeature(g, props))
    return out
