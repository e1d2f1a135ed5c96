"""Change regions as chips: each region named by CLIP and the largest ones captioned by a
two-image model, on runs that never hold the whole pair (``whole_layer.change_layer``) and on
in-memory pairs (``actions.change``).

A region's chip is its bbox on date A's native grid, padded like ``change_semantic.crop_window``
(10 % per side, at least 16 px), with B warped onto the same window by ``coregister`` (the one
warping path); a region larger than ``side`` is decimated to it. Regions are read a batch at a
time, so memory is one batch of chips however many regions there are.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rasterio.windows import Window
from rasterio.windows import bounds as window_bounds

from ..cancel import CancelToken, ProgressFn, ensure_token, noop_progress, sub_progress
from .semantic import DEFAULT_LABELS, crop_window, label_embeddings, region_bbox, score_crops
from ..errors import NoDataError, NoOverlapError
from ..io.geoimage import GeoImage
from ..results import Request

CHIP_SIDE = 512      # longest chip side sent to a model; larger regions are decimated
BATCH = 16           # chips read and scored together
OUTSIDE = "outside the area both dates cover"
NO_PIXELS = "no valid pixels in both dates under this region"


@dataclass
class Chip:
    """RGB chips of one region on one window of A's grid (None with a ``reason`` when unreadable)."""

    a: np.ndarray | None = None
    b: np.ndarray | None = None
    reason: str = ""


class ChipReader:
    """Reads region chips of a pair of files at A's native resolution, B warped onto them."""

    def __init__(self, path_a: str, path_b: str, *, bands: Sequence[int] | None = None,
                 side: int | None = CHIP_SIDE) -> None:
        from ..io.raster_read import open_raster

        self.path_a, self.path_b = str(path_a), str(path_b)
        self.bands, self.side = list(bands) if bands else None, side
        with open_raster(self.path_a) as ds:
            self._ds_transform, self._w, self._h = ds.transform, ds.width, ds.height

    def window(self, region: Any) -> Window | None:
        """The padded window of A's native grid a region's chip covers (None outside A)."""
        win = crop_window(region_bbox(region, self._ds_transform), self._w, self._h)
        if win is None:
            return None
        c0, r0, c1, r1 = win
        return Window(c0, r0, c1 - c0, r1 - r0)

    def read(self, region: Any) -> Chip:
        """The before/after chips around ``region``, co-registered, or a Chip that says why not."""
        from ..io.coregister import coregister

        win = self.window(region)
        if win is None:
            return Chip(reason=OUTSIDE)
        bounds = window_bounds(win, self._ds_transform)
        try:
            a, b = coregister(self.path_a, self.path_b, bounds, None, bands_a=self.bands,
                              bands_b=self.bands, max_side=self.side or None)
        except NoOverlapError:
            return Chip(reason=OUTSIDE)
        except NoDataError:
            return Chip(reason=NO_PIXELS)
        return Chip(a.rgb, b.rgb)


def crop_chip(a: GeoImage, b: GeoImage, region: Any, side: int | None = CHIP_SIDE) -> Chip:
    """A region's chip cropped from an in-memory pair (no re-read), decimated to ``side``."""
    win = crop_window(region_bbox(region, a.transform), a.width, a.height)
    if win is None:
        return Chip(reason=OUTSIDE)
    c0, r0, c1, r1 = win
    if not a.valid[r0:r1, c0:c1].any():
        return Chip(reason=NO_PIXELS)
    step = max(1, math.ceil(max(r1 - r0, c1 - c0) / side)) if side else 1
    cut = (slice(r0, r1, step), slice(c0, c1, step))
    return Chip(np.ascontiguousarray(a.rgb[cut][..., :3]), np.ascontiguousarray(b.rgb[cut][..., :3]))


def largest(features: Sequence[Any], n: int) -> list[int]:
    """Indices of the ``n`` largest regions by area, largest first (ties: input order)."""
    order = sorted(range(len(features)), key=lambda i: -float(features[i].geometry.area))
    return order[:max(0, int(n))]


def label_regions_streamed(clip_backend: Any, path_a: str, path_b: str, features: Sequence[Any],
                           labels: Sequence[str] | None = None, *,
                           bands: Sequence[int] | None = None, side: int | None = CHIP_SIDE,
                           batch: int = BATCH, progress: ProgressFn | None = None,
                           cancel: CancelToken | None = None) -> None:
    """Set ``label`` and ``label_score`` on every feature from CLIP on B's chip (the scoring of
    ``change_semantic.score_crops``); an unreadable chip gets an empty label and a ``reason``."""
    progress, cancel = progress or noop_progress, ensure_token(cancel)
    labels = list(labels or DEFAULT_LABELS)
    if not features:
        return
    reader = ChipReader(path_a, path_b, bands=bands, side=side)
    texts = label_embeddings(clip_backend, labels)
    for start in range(0, len(features), batch):
        cancel.check()
        group = features[start:start + batch]
        chips = [reader.read(f.geometry) for f in group]
        cancel.check()
        scored = iter(score_crops(clip_backend, [c.b for c in chips if c.b is not None], labels,
                                  texts=texts))
        for feat, chip in zip(group, chips):
            if chip.b is None:
                feat.properties.update(label="", label_score=0.0, reason=chip.reason)
            else:
                label, score = next(scored)
                feat.properties.update(label=label, label_score=float(score))
        progress(100.0 * min(len(features), start + batch) / len(features))


def caption_regions(vlm_backend: Any, path_a: str, path_b: str, features: Sequence[Any],
                    top_n: int, *, bands: Sequence[int] | None = None,
                    side: int | None = CHIP_SIDE, progress: ProgressFn | None = None,
                    cancel: CancelToken | None = None) -> int:
    """``caption`` and ``caption_rank`` (1 = largest) on the ``top_n`` largest regions, each
    captioned by the two-image model from its chip pair read from the files."""
    if not features or top_n <= 0:
        return 0
    reader = ChipReader(path_a, path_b, bands=bands, side=side)
    return _caption(vlm_backend, features, top_n, reader.read, progress, cancel)


def caption_regions_in_memory(vlm_backend: Any, a: GeoImage, b: GeoImage,
                              features: Sequence[Any], top_n: int, *,
                              side: int | None = CHIP_SIDE, progress: ProgressFn | None = None,
                              cancel: CancelToken | None = None) -> int:
    """:func:`caption_regions` on a pair already in memory (chips cropped, not re-read)."""
    return _caption(vlm_backend, features, top_n, lambda g: crop_chip(a, b, g, side), progress,
                    cancel)


def _caption(vlm_backend: Any, features: Sequence[Any], top_n: int,
             chip_of: Callable[[Any], Chip], progress: ProgressFn | None,
             cancel: CancelToken | None) -> int:
    progress, cancel = progress or noop_progress, ensure_token(cancel)
    order = largest(features, top_n)
    for rank, i in enumerate(order, 1):
        cancel.check()
        props, chip = features[i].properties, chip_of(features[i].geometry)
        props["caption_rank"] = rank
        if chip.a is None:
            props.update(caption="", reason=chip.reason)
            continue
        step = sub_progress(progress, 100.0 * (rank - 1) / len(order), 100.0 * rank / len(order))
        res = vlm_backend.run(Request("change_caption", chip.a, image_b=chip.b), step, cancel)
        props["caption"] = res.text
        progress(100.0 * rank / len(order))
    return len(order)
