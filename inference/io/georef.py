"""Pixel-space results -> geometries in the GeoImage's CRS, through the full affine.

Boxes become 4-vertex polygons (never a bbox of two corners: rotated and south-up grids
would be wrong), masks are polygonised with holes kept.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from affine import Affine
from numpy.typing import ArrayLike
from shapely.geometry import Polygon, shape
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from .geoimage import GeoImage
from .geom import transform_xy
from ..results import PixelBox, PixelResult


@dataclass
class GeoFeature:
    """A geometry in map coordinates and its attributes: what every action returns."""

    geometry: BaseGeometry
    properties: dict[str, Any] = field(default_factory=dict)


def apply_affine(coords: ArrayLike, transform: Affine) -> np.ndarray:
    """(N, 2) (col, row) -> (N, 2) (x, y); also map -> pixel with ``~transform``."""
    a, b, c, d, e, f = tuple(transform)[:6]
    xy = np.asarray(coords, dtype=float).reshape(-1, 2)
    return np.column_stack((a * xy[:, 0] + b * xy[:, 1] + c, d * xy[:, 0] + e * xy[:, 1] + f))


def pixel_polygon_to_map(coords: np.ndarray, transform: Affine) -> Polygon:
    """A pixel ring (x=col, y=row) as a counter-clockwise map polygon."""
    return orient(Polygon(apply_affine(coords, transform)), 1.0)


def box_to_polygon(box: PixelBox, transform: Affine) -> Polygon:
    """A pixel box as a 4-vertex map polygon through the full affine (rotation kept)."""
    ring = [(box.x0, box.y0), (box.x1, box.y0), (box.x1, box.y1), (box.x0, box.y1)]
    return pixel_polygon_to_map(np.array(ring), transform)


def map_to_pixel(geom: BaseGeometry, transform: Affine) -> BaseGeometry:
    """Inverse of the georeferencing: map geometry -> (col, row) pixel-corner coordinates."""
    return transform_xy(geom, lambda xy: apply_affine(xy, ~transform))


def mask_to_polygons(mask: np.ndarray, transform: Affine, simplify: float = 0.0,
                     min_area: float = 0.0) -> list[Polygon]:
    """Polygons (map units, holes kept) of the True pixels; ``simplify``/``min_area`` in map units."""
    from rasterio.features import shapes

    m = np.ascontiguousarray(np.asarray(mask, bool)).astype(np.uint8)
    if not m.any():
        return []
    polys = [shape(g) for g, _ in shapes(m, mask=m.astype(bool), transform=transform)]
    if simplify > 0:
        polys = [p.simplify(simplify, preserve_topology=True) for p in polys]
    return [orient(p, 1.0) for p in polys if not p.is_empty and p.area >= min_area]


def _mask_transform(mask: np.ndarray, image: GeoImage) -> Affine:
    # A model may return its mask at its own resolution; it still spans the whole image.
    h, w = mask.shape[:2]
    return image.transform * Affine.scale(image.width / w, image.height / h)


def _mask_features(mask: np.ndarray, image: GeoImage, base: dict, label: str = "",
                   score: float | None = None) -> list[GeoFeature]:
    score_map = np.asarray(mask, np.float32)
    binary = score_map >= 0.5 if mask.dtype != bool else np.asarray(mask)
    if binary.shape == image.valid.shape:  # no predictions over nodata
        binary = binary & image.valid
    if score is None:
        score = float(score_map[binary].mean()) if binary.any() else 0.0
    props = {"label": label, "score": float(score), **base}
    return [GeoFeature(p, dict(props)) for p in mask_to_polygons(binary, _mask_transform(binary, image))]


def instance_features(result: PixelResult, image: GeoImage, **attrs: Any) -> list[GeoFeature]:
    """One feature per polygon of each instance mask, with ``instance``, the label of the
    instance's box and its score (``result.scores``; the mean mask value when there is none)."""
    feats = []
    for i, m in enumerate(result.masks):
        label = result.boxes[i].label if i < len(result.boxes) else ""
        scores = result.scores
        score = float(scores[i]) if scores is not None and i < len(scores) else None
        feats += _mask_features(np.asarray(m), image, {"instance": i, **attrs}, label, score)
    return feats


def result_to_features(result: PixelResult, image: GeoImage, **attrs: Any) -> list[GeoFeature]:
    """Boxes, polygons, the mask and per-instance masks of ``result`` as map features.

    Each feature carries ``label`` and ``score`` plus ``attrs`` (e.g. prompt, model).
    """
    t = image.transform
    feats = [GeoFeature(box_to_polygon(b, t), {"label": b.label, "score": float(b.score), **attrs})
             for b in result.boxes]
    feats += [GeoFeature(pixel_polygon_to_map(p.coords, t),
                         {"label": p.label, "score": float(p.score), **attrs}) for p in result.polygons]
    if result.mask is not None:
        feats += _mask_features(np.asarray(result.mask), image, attrs)
    return feats + instance_features(result, image, **attrs)
