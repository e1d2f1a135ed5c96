"""Merge per-tile results in map space: masks mosaicked, polygons joined across block seams,
and duplicate detections from overlapping tiles suppressed (NMS per label)."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Union

import numpy as np
from affine import Affine
from rasterio.windows import Window

from .errors import InputError
from .io.georef import GeoFeature
from .io.geom import SpatialIndex, union_all

WindowLike = Union[Window, Sequence[int]]  # noqa: UP007 - a runtime alias on Python 3.9


class SeamPolygons:
    """Polygons of a mask that arrives block by block, merged across the block seams so a
    region cut by a seam comes back as one polygon (4-connected, as ``mask_to_polygons``).

    Blocks are polygonised in grid pixel coordinates (whole numbers, so the two sides of a
    seam meet exactly) and kept as ring arrays; pieces that touch an inner seam wait for one
    merge at the end, and every polygon is built once, in map units, by :meth:`polygons`.
    """

    def __init__(self, width: int, height: int, transform: Affine, min_area: float = 0.0) -> None:
        self.width, self.height, self.transform, self.min_area = width, height, transform, min_area
        self._done: list[list[np.ndarray]] = []   # ring arrays (shell first) of whole regions
        self._open: list[list[np.ndarray]] = []   # ... of pieces cut by a seam

    def add(self, mask: np.ndarray, col: int, row: int) -> None:
        """Add the polygons of one tile's mask at (``col``, ``row``), keeping seam pieces to merge."""
        from rasterio.features import shapes

        m = np.ascontiguousarray(mask, dtype=np.uint8)
        if not m.any():
            return
        h, w = m.shape
        inner = (col > 0, row > 0, col + w < self.width, row + h < self.height)
        for geom, _ in shapes(m, mask=m.astype(bool), transform=Affine.translation(col, row)):
            rings = [np.asarray(r, dtype=float) for r in geom["coordinates"]]
            (x0, y0), (x1, y1) = rings[0].min(axis=0), rings[0].max(axis=0)
            seam = ((inner[0] and x0 <= col) or (inner[1] and y0 <= row)
                    or (inner[2] and x1 >= col + w) or (inner[3] and y1 >= row + h))
            (self._open if seam else self._done).append(rings)

    def polygons(self) -> list:
        """All polygons in map units (holes kept, counter-clockwise shells), ``min_area`` applied."""
        out = (_map_polygon(r, self.transform, self.min_area)
               for r in [*self._done, *_merge_pieces(self._open)])
        return [p for p in out if p is not None]


def _signed_area(xy: np.ndarray) -> float:
    """Shoelace area of a closed ring (positive when counter-clockwise)."""
    x, y = xy[:, 0], xy[:, 1]
    return 0.5 * float(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1]))


def _map_polygon(rings: list[np.ndarray], t: Affine, min_area: float):
    """The polygon of pixel ``rings`` in map units, shell counter-clockwise and holes clockwise
    (as ``orient(p, 1.0)``), or None below ``min_area``: numpy, not per-vertex shapely calls."""
    from shapely.geometry import Polygon

    m, off = np.array([[t.a, t.d], [t.b, t.e]]), np.array([t.c, t.f])
    mapped, area = [], 0.0
    for i, ring in enumerate(rings):
        xy = ring @ m + off
        a = _signed_area(xy)
        if (a < 0) == (i == 0):
            xy = xy[::-1]
        area += abs(a) if i == 0 else -abs(a)
        mapped.append(xy)
    if area <= 0 or area < min_area:
        return None
    return Polygon(mapped[0], mapped[1:])


def _merge_pieces(pieces: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
    """Union of block pieces of regions (ring arrays), cheaply: only the shells are unioned, then
    each piece's holes are put back into the merged polygon holding it. A piece's holes lie
    strictly inside its block, so they are holes of the merged region too and meet no other
    piece; unioning the holed pieces themselves costs GEOS minutes on a large holed region."""
    from shapely.geometry import Polygon
    from shapely.prepared import prep

    if not pieces:
        return []
    shells = [Polygon(p[0]) for p in pieces]
    merged = union_all(shells)
    parts = [g for g in getattr(merged, "geoms", [merged]) if g.geom_type == "Polygon" and not g.is_empty]
    rings = [[np.asarray(g.exterior.coords)[:, :2], *(np.asarray(r.coords)[:, :2] for r in g.interiors)]
             for g in parts]
    index, prepared = SpatialIndex(parts), {}
    for piece, shell in zip(pieces, shells):
        if len(piece) == 1:
            continue
        point = shell.representative_point()
        for i in index.query(point):
            if i not in prepared:
                prepared[i] = prep(parts[i])
            if prepared[i].contains(point):
                rings[i].extend(piece[1:])
                break
    return rings


def mosaic_masks(tiles: Iterable[tuple[np.ndarray, WindowLike]], width: int, height: int,
                 mode: str = "max") -> np.ndarray:
    """Place per-tile (h, w) score or bool masks into a (height, width) float32 grid.

    Overlaps take the ``max`` or the ``mean``; pixels no tile covered are 0.
    """
    if mode not in ("max", "mean"):
        raise InputError(f"Unknown mosaic mode {mode!r}; use 'max' or 'mean'.")
    out = np.zeros((height, width), np.float32)
    count = np.zeros((height, width), np.uint16) if mode == "mean" else None
    for mask, win in tiles:
        c, r, w, h = (int(v) for v in (win.flatten() if isinstance(win, Window) else win))
        m = np.asarray(mask, np.float32)
        if m.shape != (h, w):
            raise InputError(f"Mask of shape {m.shape} does not match its tile window {w}x{h}.")
        view = out[r:r + h, c:c + w]
        if mode == "max":
            np.maximum(view, m, out=view)
        elif count is not None:  # mode == "mean"
            view += m
            count[r:r + h, c:c + w] += 1
    if count is not None:
        np.divide(out, count, out=out, where=count > 0)
    return out


def _duplicates(geoms: np.ndarray, i: int, tree, iou: float, contain: float) -> list[int]:
    g = geoms[i]
    hits = []
    for j in tree.query(g):
        inter = g.intersection(geoms[j]).area
        smaller = min(g.area, geoms[j].area)
        union = g.area + geoms[j].area - inter
        if union > 0 and (inter / union >= iou or (smaller > 0 and inter / smaller >= contain)):
            hits.append(int(j))
    return hits


def nms_map(features: list[GeoFeature], iou: float = 0.5, score_key: str = "score",
            *, contain: float = 0.9) -> list[GeoFeature]:
    """Greedy NMS in map space, per label, merging duplicates from overlapping tiles.

    A feature duplicates a better one when IoU >= ``iou`` or when ``contain`` of the smaller
    lies inside the other (a detection cut by a tile edge). The kept feature takes the union
    of its duplicates when that is larger, so an object split by a seam comes back whole.
    """
    order = sorted(range(len(features)),
                   key=lambda i: -float(features[i].properties.get(score_key) or 0.0))
    geoms = np.array([f.geometry for f in features], dtype=object)
    tree = SpatialIndex(list(geoms))
    done: set[int] = set()
    kept = []
    for i in order:
        if i in done:
            continue
        label = features[i].properties.get("label")
        group = [j for j in _duplicates(geoms, i, tree, iou, contain)
                 if j not in done and features[j].properties.get("label") == label] or [i]
        done.update(group)
        geom = features[i].geometry
        union = union_all(geoms[group])
        if union.area > geom.area * (1 + 1e-6):
            geom = union.simplify(0)
        kept.append(GeoFeature(geom, {**features[i].properties, "merged": len(group)}))
    return kept
