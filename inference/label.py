"""Label every feature of a vector layer from the raster under it: a CLIP class, a VLM answer
or a caption per feature.

Features arrive as plain data (:class:`FeatureIn`: fid, WKB, attributes) in their own CRS. Each
one's bounding box is reprojected (densified) into the raster's CRS, grown by the buffer, and
read natively from the file as one chip with a scene-wide stretch (``raster_read``). CLIP chips
are encoded in batches, a VLM sees one chip per call. Rows are appended to the output
(GeoPackage or Shapefile, in the features' CRS) one chunk per transaction, so memory stays
bounded and a re-run with the same output skips the features already there (``src_fid``).
The features themselves are read chunk by chunk from an iterable, never held all at once.
A feature outside the raster, on nodata or without geometry gets an empty label and a reason.
"""
from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .cancel import CancelToken, ProgressFn, ensure_token, noop_progress, sub_progress
from .errors import Cancelled, InputError, NoDataError, NoOverlapError
from .features import FeatureIn  # noqa: F401 - also label.FeatureIn for callers
from .io.label_writer import LabelWriter, check_output, stage_output
from .io.staging import OutputSet

MODES = ("classify", "ask", "caption")
MODE_TASKS = {"classify": "classify", "ask": "chat", "caption": "caption"}
MIN_CHIP_PX = 16          # a point or a sliver still gets a chip this many pixels wide
_CHUNK = 32               # features per output transaction (and per CLIP batch)
_EDGE_POINTS = 11         # densification of each bbox edge when the CRS differs
SRC_FID = "src_fid"


@dataclass(frozen=True)
class LabelSpec:
    """What to ask of every chip, and how to cut it."""

    mode: str
    model: str
    prompt: str = ""
    classes: tuple[str, ...] = ()
    buffer: float = 0.0             # map units of the raster CRS, or a fraction when below
    buffer_fraction: bool = False   # True: ``buffer`` x the feature's width / height per side
    max_side: int | None = 512
    bands: tuple[int, ...] | None = None
    batch_size: int = _CHUNK
    detail: str = "brief"           # caption mode

    def prompt_text(self) -> str:
        """What the run asks: the classes, the question, or 'caption'."""
        return {"classify": ", ".join(self.classes), "ask": self.prompt}.get(self.mode, "caption")


@dataclass
class LabelSummary:
    """What a labelling run did: how many features were labelled, skipped or left unlabelled."""

    path: str
    total: int = 0
    labelled: int = 0
    skipped: int = 0        # already in the output from an earlier run
    unlabelled: int = 0     # outside the raster, nodata, no geometry
    warnings: list[str] = field(default_factory=list)

    def text(self) -> str:
        """The counts as one sentence."""
        return (f"{self.labelled} features labelled, {self.unlabelled} could not be labelled, "
                f"{self.skipped} already done, of {self.total}.")


# --- parameters -------------------------------------------------------------------------

def parse_buffer(text: Any) -> tuple[float, bool]:
    """``"5"`` -> 5 map units; ``"20%"`` -> 0.2 of the feature's size on each side."""
    raw = str(text if text is not None else "").strip()
    if not raw:
        return 0.0, False
    frac = raw.endswith("%")
    try:
        value = float(raw[:-1] if frac else raw)
    except ValueError:
        raise InputError(f"BUFFER '{raw}' is not a number of map units (5) or a percentage (20%).") from None
    if not math.isfinite(value) or value < 0:
        raise InputError(f"BUFFER must be zero or more, not '{raw}'.")
    return (value / 100.0, True) if frac else (value, False)


def parse_classes(text: Any) -> tuple[str, ...]:
    """Class names from a comma-separated text or a list, stripped, unique, in order."""
    items = text if isinstance(text, (list, tuple)) else str(text or "").split(",")
    return tuple(dict.fromkeys(s.strip() for s in items if str(s).strip()))


def check_spec(spec: LabelSpec) -> None:
    """Refuse an unknown MODE, fewer than two CLASSES, or a missing question."""
    if spec.mode not in MODES:
        raise InputError(f"MODE must be one of {', '.join(MODES)}, not '{spec.mode}'.")
    if spec.mode == "classify" and len(spec.classes) < 2:
        raise InputError("MODE classify needs at least two CLASSES, comma separated.")
    if spec.mode == "ask" and not spec.prompt.strip():
        raise InputError("MODE ask needs a question (PROMPT).")


# --- geometry -----------------------------------------------------------------------------

def feature_bounds(features: Sequence[FeatureIn], features_crs, raster_crs) -> tuple[np.ndarray, set]:
    """(N, 4) bounds of each feature in the raster CRS (NaN: no geometry), and the geometry
    families present (``Polygon``, ``Point``, ...)."""
    from shapely import wkb as shapely_wkb

    bounds = np.full((len(features), 4), np.nan)
    families: set[str] = set()
    for i, f in enumerate(features):
        if not f.wkb:
            continue
        geom = shapely_wkb.loads(bytes(f.wkb))
        if geom.is_empty:
            continue
        families.add(geom.geom_type.replace("Multi", ""))
        bounds[i] = geom.bounds
    return _reproject_bounds(bounds, features_crs, raster_crs), families


def _reproject_bounds(bounds: np.ndarray, src, dst) -> np.ndarray:
    """Boxes into ``dst``: every edge densified, transformed in one call per 10k boxes."""
    from .io.raster_read import parse_crs

    src_crs, dst_crs = parse_crs(src, "features") if src else dst, parse_crs(dst, "raster")
    if src_crs == dst_crs:
        return bounds
    from rasterio.warp import transform

    t = np.linspace(0.0, 1.0, _EDGE_POINTS)
    out = np.full_like(bounds, np.nan)
    ok = np.flatnonzero(np.isfinite(bounds).all(axis=1))
    for start in range(0, ok.size, 10000):
        idx = ok[start:start + 10000]
        x0, y0, x1, y1 = (bounds[idx, k][:, None] for k in range(4))
        xs = np.hstack([x0 + (x1 - x0) * t, np.broadcast_to(x1, (idx.size, t.size)),
                        x1 - (x1 - x0) * t, np.broadcast_to(x0, (idx.size, t.size))])
        ys = np.hstack([np.broadcast_to(y0, (idx.size, t.size)), y0 + (y1 - y0) * t,
                        np.broadcast_to(y1, (idx.size, t.size)), y1 - (y1 - y0) * t])
        tx, ty = transform(src_crs, dst_crs, xs.ravel().tolist(), ys.ravel().tolist())
        tx, ty = np.asarray(tx).reshape(xs.shape), np.asarray(ty).reshape(ys.shape)
        with np.errstate(invalid="ignore"):
            out[idx] = np.column_stack((tx.min(1), ty.min(1), tx.max(1), ty.max(1)))
    out[~np.isfinite(out).all(axis=1)] = np.nan  # outside the raster CRS's valid area
    return out


def chip_bounds(box: np.ndarray, spec: LabelSpec, pixel: float) -> tuple[float, ...]:
    """The feature box grown by the buffer and to at least MIN_CHIP_PX pixels."""
    x0, y0, x1, y1 = (float(v) for v in box)
    if spec.buffer_fraction:
        dx, dy = spec.buffer * (x1 - x0), spec.buffer * (y1 - y0)
    else:
        dx = dy = spec.buffer
    x0, y0, x1, y1 = x0 - dx, y0 - dy, x1 + dx, y1 + dy
    half = MIN_CHIP_PX * pixel / 2.0
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    return (min(x0, cx - half), min(y0, cy - half), max(x1, cx + half), max(y1, cy + half))


# --- chips ----------------------------------------------------------------------------------

class ChipReader:
    """One open raster; :meth:`read` cuts a chip under map bounds (raster CRS) natively."""

    def __init__(self, path: str, bands: Sequence[int] | None, max_side: int | None) -> None:
        self.path, self.bands, self.max_side = os.fspath(path), bands, max_side or None

    def __enter__(self) -> ChipReader:
        from .io.raster_read import open_raster, require_crs, select_bands
        from .tiling import scene_grid, scene_limits

        self._ctx = open_raster(self.path)
        self.ds = ds = self._ctx.__enter__()
        require_crs(ds, self.path)
        self.idx = select_bands(ds, list(self.bands) if self.bands else None, self.path)
        self.crs_wkt = ds.crs.to_wkt()
        self.pixel = float(max(abs(ds.res[0]), abs(ds.res[1])))
        self.limits = scene_limits(ds, self.path, scene_grid(ds, self.path, None, None, None), self.idx)
        return self

    def __exit__(self, *exc) -> None:
        self._ctx.__exit__(*exc)

    def read(self, bounds: Sequence[float]):
        """The image chip of the raster under ``bounds``, as a GeoImage within the size budget."""
        from .io.raster_read import (
            DEFAULT_BUDGET, bounds_window, check_budget, fit_shape, read_window, to_geoimage,
            window_grid_transform,
        )

        ds = self.ds
        window = bounds_window(ds, self.path, (bounds[0], bounds[1], bounds[2], bounds[3]), None)
        shape = fit_shape(window, self.max_side)
        check_budget(self.path, shape, len(self.idx), ds.dtypes[self.idx[0] - 1], DEFAULT_BUDGET)
        raw, valid = read_window(ds, self.path, window, shape, self.idx)
        return to_geoimage(raw, valid, window_grid_transform(ds, window, shape), self.crs_wkt,
                           self.path, limits=self.limits)


def _reason(err: Exception) -> str:
    if isinstance(err, NoOverlapError):
        return "outside the raster"
    if isinstance(err, NoDataError):
        return "only nodata pixels under the feature"
    return str(err)


# --- models -------------------------------------------------------------------------------

class _Labeller:
    """The loaded model and how one chunk of chips becomes field values."""

    def __init__(self, spec: LabelSpec, backend) -> None:
        self.spec, self.backend = spec, backend
        if spec.mode == "classify":
            self.text_emb = backend.embed_phrases(list(spec.classes))

    def __call__(self, images: list, cancel: CancelToken) -> list[dict]:
        if self.spec.mode == "classify":
            return self._classify(images, cancel)
        from .results import Request

        out = []
        for image in images:
            cancel.check()
            if self.spec.mode == "ask":
                req = Request("chat", image.rgb, prompt=self.spec.prompt)
            else:
                req = Request("caption", image.rgb, options={"detail": self.spec.detail})
            out.append({"answer": self.backend.run(req, None, cancel).text})
        return out

    def _classify(self, images: list, cancel: CancelToken) -> list[dict]:
        if not images:
            return []
        emb = self.backend.encode_images([i.rgb for i in images], self.spec.batch_size, cancel)
        probs = np.asarray(self.backend.class_scores(emb @ self.text_emb.T), np.float64)
        probs = probs / np.maximum(probs.sum(axis=1, keepdims=True), 1e-12)  # SigLIP: sigmoids
        classes = self.spec.classes
        return [{"label": classes[int(p.argmax())], "score": float(p.max()),
                 "scores": json.dumps({c: round(float(v), 6) for c, v in zip(classes, p)})}
                for p in probs]


def result_fields(mode: str) -> list[tuple[str, str]]:
    """The fields label adds, in order, with their kinds."""
    values = [("label", "str"), ("score", "real"), ("scores", "str")] if mode == "classify" \
        else [("answer", "str")]
    return [(SRC_FID, "int")] + values + [("model", "str"), ("prompt", "str"), ("reason", "str")]


# --- the one entry point ------------------------------------------------------------------

def label_features(path: str, features: Iterable[FeatureIn], spec: LabelSpec, output: str, *,
                   features_crs: str, fields: Sequence[tuple[str, str]] | None = None,
                   families: set[str] | None = None, total: int | None = None,
                   layer: str | None = None, opts=None, backend=None,
                   outputs: OutputSet | None = None, progress: ProgressFn | None = None,
                   cancel: CancelToken | None = None) -> LabelSummary:
    """Label ``features`` from the raster at ``path`` into ``output`` (created or resumed).

    ``features`` is read once, chunk by chunk (a generator keeps memory bounded; a list works
    too). ``fields`` are the input's (name, kind) pairs (kinds as in export: int, real, str,
    bool, date, datetime) and ``families`` its geometry families (Point, LineString, Polygon);
    both are inferred from the first chunk when None (from all features for a list). ``total``
    (for progress) is ``len(features)`` for a list. ``backend`` skips loading. Every check of the
    raster, the features and the output runs before the model loads.

    The output is staged (in ``outputs`` when given: the caller commits it; else committed here
    when the run ends) with an earlier run's rows copied in, and committed as it stands when the
    run is cancelled, so a re-run continues it. Other failures leave the output as it was.
    """
    check_spec(spec)
    target = check_output(output)   # before the model loads: a bad output costs no load
    progress, cancel = progress or noop_progress, ensure_token(cancel)
    if isinstance(features, Sequence):
        total = len(features) if total is None else total
        if families is None:
            families = geometry_families(features)
    step = max(1, spec.batch_size) if spec.mode == "classify" else 1  # VLM: per feature
    chunks = _chunks(iter(features), max(step, _CHUNK))
    first = next(chunks, [])
    fields = list(fields) if fields is not None else _infer_fields(first)
    families = families if families is not None else geometry_families(first)
    own = outputs is None
    outs: OutputSet = OutputSet() if outputs is None else outputs
    with outs if own else nullcontext(outs):
        staged = stage_output(target, outs, layer)
        try:
            summary = _label_into(path, itertools.chain([first], chunks), spec, staged, target,
                                  features_crs, fields, families, total, layer, opts, backend,
                                  step, progress, cancel)
        except Cancelled:
            outs.commit()   # whole chunks: a re-run continues from here
            raise
        if own:
            outs.commit()
    progress(100.0)
    return summary


def _label_into(path, chunks, spec, staged, target, features_crs, fields, families, total,
                layer, opts, backend, step, progress, cancel) -> LabelSummary:
    from .actions import RunOptions, load

    summary = LabelSummary(target, total=0)
    with ChipReader(path, spec.bands, spec.max_side) as reader, \
            LabelWriter(staged, features_crs, fields, result_fields(spec.mode), families,
                        layer=layer, identity=(spec.model, spec.prompt_text()),
                        shown=target) as writer:
        if backend is None:   # the raster, the features and the output are all checked by now
            backend = load(spec.model, MODE_TASKS[spec.mode], opts or RunOptions(),
                           sub_progress(progress, 0, 10), cancel)
        labeller = _Labeller(spec, backend)
        expected = max(1, total or 0)
        for chunk in chunks:
            summary.total += len(chunk)
            todo = [f for f in chunk if f.fid not in writer.done]
            summary.skipped += len(chunk) - len(todo)
            for start in range(0, len(todo), step):
                cancel.check()
                rows = _label_chunk(reader, labeller, todo[start:start + step], features_crs,
                                    spec, cancel)
                writer.write(rows)
                summary.unlabelled += sum(1 for _, attrs in rows if attrs.get("reason"))
                summary.labelled += sum(1 for _, attrs in rows if not attrs.get("reason"))
            if total:
                progress(10 + 90 * min(1.0, summary.total / expected))
    summary.warnings += writer.warnings
    return summary


def _chunks(features: Iterator[FeatureIn], size: int) -> Iterator[list[FeatureIn]]:
    """Lists of up to ``size`` features, read as they are needed."""
    while True:
        chunk = list(itertools.islice(features, size))
        if not chunk:
            return
        yield chunk


def geometry_families(features: Iterable[FeatureIn]) -> set[str]:
    """The geometry families present (``Polygon``, ``Point``, ``LineString``)."""
    from shapely import wkb as shapely_wkb

    families: set[str] = set()
    for f in features:
        if f.wkb:
            geom = shapely_wkb.loads(bytes(f.wkb))
            if not geom.is_empty:
                families.add(geom.geom_type.replace("Multi", ""))
    return families


def _label_chunk(reader: ChipReader, labeller: _Labeller, chunk: list[FeatureIn], features_crs,
                 spec, cancel) -> list[tuple[FeatureIn, dict]]:
    base = {"model": spec.model, "prompt": spec.prompt_text()}
    empty = {"label": "", "score": None, "scores": None} if spec.mode == "classify" \
        else {"answer": ""}
    boxes, _ = feature_bounds(chunk, features_crs, reader.crs_wkt)
    rows: list[tuple[FeatureIn, dict]] = []
    images, where = [], []
    for feature, box in zip(chunk, boxes):
        attrs = {SRC_FID: int(feature.fid), **base, "reason": None}
        if not np.isfinite(box).all():
            attrs.update(empty, reason="no geometry (or outside the raster's CRS)")
        else:
            try:
                images.append(reader.read(chip_bounds(box, spec, reader.pixel)))
                where.append(len(rows))
            except InputError as err:
                attrs.update(empty, reason=_reason(err))
        rows.append((feature, attrs))
    for k, values in zip(where, labeller(images, cancel)):
        rows[k][1].update(values)
    return rows


def _infer_fields(features: Sequence[FeatureIn]) -> list[tuple[str, str]]:
    from .io.export import field_kind

    if not features:
        return []
    keys = list(features[0].attributes)
    return [(k, field_kind([f.attributes.get(k) for f in features])) for k in keys]
