"""Deep-feature change: per-patch cosine distance of DINOv2 (or CLIP) tokens, plus CLIP labels
for change regions.

Any feature backend with ``patch_tokens(images) -> (N, h, w, D)`` covering the whole image works
(``Dinov2Backend`` in ``inference/models/dinov2.py``, ``ClipBackend`` in ``inference/models/clip_family.py``). ``label_regions``
needs ``encode_images`` and ``encode_texts`` (a CLIP backend).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..cancel import CancelToken, ProgressFn, ensure_token, noop_progress
from ..errors import InputError, ModelError
from ..io.geoimage import GeoImage
from ..results import PixelPolygon
from .thresholds import noise_floor

DEFAULT_LABELS: tuple[str, ...] = (
    "new buildings", "demolished buildings", "cleared forest", "new vegetation",
    "new road", "construction site", "water change", "farmland change",
)
_CROP_PAD = 0.1      # context per side, as a fraction of the region size: it stays ~70% of the crop
_MIN_CROP = 16       # pixels; CLIP needs some context even for a tiny blob


def semantic_heat(a: GeoImage, b: GeoImage, valid: np.ndarray, backend: Any,
                  progress: ProgressFn | None = None,
                  cancel: CancelToken | None = None) -> tuple[np.ndarray, dict]:
    """Per-patch cosine distance (0 = same, up to 2) up-sampled bilinearly to the grid."""
    if backend is None or not hasattr(backend, "patch_tokens"):
        raise InputError("Semantic change needs a feature model (DINOv2 or CLIP).")
    progress, cancel = progress or noop_progress, ensure_token(cancel)
    fa = backend.patch_tokens([a.rgb], cancel=cancel)[0]
    progress(45.0)
    fb = backend.patch_tokens([b.rgb], cancel=cancel)[0]
    progress(90.0)
    if fa.shape != fb.shape:
        raise ModelError(f"Feature grids differ between dates: {fa.shape} vs {fb.shape}.")
    distance = cosine_distance(fa, fb)
    heat = np.where(valid, upsample_grid(distance, valid.shape), 0.0).astype(np.float32)
    return heat, {"feature_grid": list(distance.shape)}


def semantic_floor(values: np.ndarray) -> float:
    """Cosine-distance noise floor: 3 robust sigmas above the typical (unchanged) distance."""
    return noise_floor(values, k=3.0)


def label_regions(clip_backend: Any, image_b_rgb: np.ndarray, regions: Sequence[Any],
                  labels: Sequence[str] = DEFAULT_LABELS, *,
                  transform: Any = None) -> list[tuple[str, float]]:
    """Best text label and its probability for each change region, from a CLIP crop of B.

    ``regions`` are (H, W) bool masks, :class:`PixelPolygon` rings, or shapely polygons in
    pixel coordinates, or in map coordinates when ``transform`` (pixel -> map) is given.
    """
    if not regions:
        return []
    crops = [_crop(image_b_rgb, region_bbox(r, transform)) for r in regions]
    return score_crops(clip_backend, crops, labels)


def label_embeddings(clip_backend: Any, labels: Sequence[str]) -> np.ndarray:
    """(L, D) normalised text embeddings of ``labels`` (prompt templates when the backend has them)."""
    embed = getattr(clip_backend, "embed_phrases", None) or clip_backend.encode_texts
    return _l2(np.asarray(embed(list(labels)), np.float64))


def score_crops(clip_backend: Any, crops: Sequence[np.ndarray], labels: Sequence[str], *,
                texts: np.ndarray | None = None) -> list[tuple[str, float]]:
    """The one scoring rule for change regions: (best label, its probability) per RGB crop.

    ``texts``: :func:`label_embeddings` of ``labels``, computed once when crops come in batches.
    """
    if not len(crops):
        return []
    labels = list(labels)
    texts = label_embeddings(clip_backend, labels) if texts is None else texts
    images = _l2(np.asarray(clip_backend.encode_images(list(crops)), np.float64))
    sims = images @ texts.T
    scorer = getattr(clip_backend, "class_scores", None)
    probs = scorer(sims) if scorer is not None else _softmax(100.0 * sims)
    best = np.argmax(probs, axis=1)
    return [(labels[i], float(probs[n, i])) for n, i in enumerate(best)]


def cosine_distance(fa: np.ndarray, fb: np.ndarray) -> np.ndarray:
    """Per-location cosine distance (0..2) between two feature grids; identical features give 0."""
    fa, fb = fa.astype(np.float64), fb.astype(np.float64)
    cos = np.sum(fa * fb, -1) / np.maximum(
        np.linalg.norm(fa, axis=-1) * np.linalg.norm(fb, axis=-1), 1e-12)
    same = np.all(fa == fb, axis=-1)  # identical features: exactly 0, not 1e-16
    return np.where(same, 0.0, np.clip(1.0 - cos, 0.0, 2.0))


def upsample_grid(grid: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A feature-distance grid resized bilinearly to ``shape`` (rows, cols)."""
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(grid.astype(np.float32))[None, None]
    return F.interpolate(t, size=shape, mode="bilinear", align_corners=False)[0, 0].numpy()


def region_bbox(region: Any, transform: Any = None) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) pixel bbox of a mask, a PixelPolygon or a shapely geometry (in map
    coordinates when ``transform``, pixel -> map, is given)."""
    if isinstance(region, np.ndarray) and region.ndim == 2:
        rows, cols = np.nonzero(region)
        if rows.size == 0:
            raise InputError("An empty mask cannot be labelled.")
        return float(cols.min()), float(rows.min()), float(cols.max() + 1), float(rows.max() + 1)
    if isinstance(region, PixelPolygon):
        xy = np.asarray(region.coords, np.float64)
    else:  # shapely geometry (a multipolygon too)
        if transform is not None:
            from ..io.georef import map_to_pixel

            region = map_to_pixel(region, transform)
        x0, y0, x1, y1 = region.bounds
        return float(x0), float(y0), float(x1), float(y1)
    return float(xy[:, 0].min()), float(xy[:, 1].min()), float(xy[:, 0].max()), float(xy[:, 1].max())


def crop_window(bbox: tuple[float, float, float, float], width: int,
                height: int) -> tuple[int, int, int, int] | None:
    """(c0, r0, c1, r1) of a region's chip: its pixel bbox padded by ``_CROP_PAD`` per side (at
    least ``_MIN_CROP`` px wide), clipped to a ``width`` x ``height`` grid; None if outside."""
    x0, y0, x1, y1 = bbox
    pad_x = max(_CROP_PAD * (x1 - x0), (_MIN_CROP - (x1 - x0)) / 2, 0.0)
    pad_y = max(_CROP_PAD * (y1 - y0), (_MIN_CROP - (y1 - y0)) / 2, 0.0)
    c0, c1 = max(0, int(np.floor(x0 - pad_x))), min(width, int(np.ceil(x1 + pad_x)))
    r0, r1 = max(0, int(np.floor(y0 - pad_y))), min(height, int(np.ceil(y1 + pad_y)))
    return (c0, r0, c1, r1) if c1 > c0 and r1 > r0 else None


def _crop(image: np.ndarray, bbox: tuple[float, float, float, float]) -> np.ndarray:
    win = crop_window(bbox, image.shape[1], image.shape[0])
    if win is None:
        raise InputError("A change region lies outside the image.")
    c0, r0, c1, r1 = win
    return np.ascontiguousarray(image[r0:r1, c0:c1, :3])


def _l2(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
