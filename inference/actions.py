"""The analyst's actions, one implementation each, shared by the dock and the Processing algorithms.

Every function takes plain data (GeoImages, paths, strings), reports progress 0..100, honours a
CancelToken and returns an :class:`ActionResult` in the image's CRS. Nothing here touches QGIS.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from .cancel import CancelToken, ProgressFn, ensure_token, noop_progress, sub_progress
from .errors import InputError
from .geoimage import GeoImage
from .georef import GeoFeature, result_to_features
from .results import Request


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
    text: str = ""
    features: list[GeoFeature] = field(default_factory=list)
    crs_wkt: str = ""
    footprint: object = None                  # shapely Polygon of the capture, in crs_wkt
    raster: Optional[RasterOut] = None
    warnings: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)  # model, prompt, time, ...


@dataclass(frozen=True)
class RunOptions:
    """How to load models: device, offline mode and remote-code opt-in."""

    device: str = "auto"
    offline: Optional[bool] = None
    allow_remote_code: bool = False


def capture(path: str, bounds=None, bounds_crs=None, *, bands: Optional[Sequence[int]] = None,
            max_side: Optional[int] = None) -> GeoImage:
    """Native capture of ``bounds`` (in ``bounds_crs``) from the raster at ``path``."""
    from .raster_read import capture_native

    return capture_native(path, bounds, bounds_crs, bands=list(bands) if bands else None,
                          max_side=max_side)


def load(model: str, task: str, opts: RunOptions, progress: Optional[ProgressFn] = None,
         cancel: Optional[CancelToken] = None):
    from .runtime import load_model

    return load_model(model, task=task, device=opts.device, offline=opts.offline,
                      allow_remote_code=opts.allow_remote_code, progress=progress, cancel=cancel)


def _meta(model: str, **extra) -> dict:
    return {"model": model, "time": _dt.datetime.now().isoformat(timespec="seconds"), **extra}


def _result(image: GeoImage, text: str = "", features=(), warnings=(), **meta) -> ActionResult:
    return ActionResult(text=text, features=list(features), crs_wkt=image.crs_wkt,
                        footprint=image.footprint(), warnings=list(warnings), meta=meta)


def caption(image: GeoImage, model: str, *, detail: str = "more", opts: RunOptions = RunOptions(),
            progress: Optional[ProgressFn] = None, cancel: Optional[CancelToken] = None) -> ActionResult:
    """Describe the capture; the footprint feature carries the caption."""
    progress, cancel = progress or noop_progress, ensure_token(cancel)
    backend = load(model, "caption", opts, sub_progress(progress, 0, 40), cancel)
    out = backend.run(Request("caption", image.rgb, options={"detail": detail}),
                      sub_progress(progress, 40, 100), cancel)
    meta = _meta(model, detail=detail)
    feat = GeoFeature(image.footprint(), {"caption": out.text, **meta})
    return _result(image, out.text, [feat], out.warnings, **meta)


def ask(image: GeoImage, question: str, model: str, *, opts: RunOptions = RunOptions(),
        progress: Optional[ProgressFn] = None, cancel: Optional[CancelToken] = None) -> ActionResult:
    """One question about the capture; grounded boxes in the answer become features."""
    _require(question, "a question")
    progress, cancel = progress or noop_progress, ensure_token(cancel)
    backend = load(model, "chat", opts, sub_progress(progress, 0, 40), cancel)
    out = backend.run(Request("chat", image.rgb, prompt=question), sub_progress(progress, 40, 100),
                      cancel)
    meta = _meta(model, question=question)
    features = result_to_features(out, image, prompt=question, model=model)
    answer = GeoFeature(image.footprint(), {"question": question, "answer": out.text, **meta})
    return _result(image, out.text, [answer] + features, out.warnings, **meta)


def detect(image: GeoImage, prompt: str, model: str, *, opts: RunOptions = RunOptions(),
           progress: Optional[ProgressFn] = None, cancel: Optional[CancelToken] = None) -> ActionResult:
    """Text prompt -> box polygons (rotated with the raster when it is rotated)."""
    progress, cancel = progress or noop_progress, ensure_token(cancel)
    backend = load(model, "detect", opts, sub_progress(progress, 0, 40), cancel)
    task = "detect" if "detect" in backend.tasks else "ground"
    out = backend.run(Request(task, image.rgb, prompt=prompt), sub_progress(progress, 40, 100), cancel)
    feats = result_to_features(out, image, prompt=prompt, model=model)
    return _result(image, "", feats, out.warnings, **_meta(model, prompt=prompt))


def _require(value: str, what: str) -> None:
    if not value or not str(value).strip():
        raise InputError(f"Please enter {what}.")
