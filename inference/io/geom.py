"""Geometry helpers that behave the same on shapely 1.8 and 2.x.

In the QGIS process on Linux, shapely must be the distribution's build (python3-shapely), which
links the same GEOS as QGIS: Debian 12 ships 1.8.5, newer distributions 2.x. Pip's shapely wheel
carries its own GEOS, and inside qgis/qgis_process (GEOS linked into the executable) its calls bind
to QGIS's GEOS instead, which breaks (see README, "Why shapely comes from the distribution").
"""
from __future__ import annotations

import warnings
from typing import Callable, Iterable, Sequence

import numpy as np
from shapely import ops
from shapely.geometry import Polygon
from shapely.geometry import box as _box
from shapely.geometry.base import BaseGeometry
from shapely.strtree import STRtree

__all__ = ["Polygon", "box", "union_all", "transform_xy", "SpatialIndex"]


def box(minx: float, miny: float, maxx: float, maxy: float) -> Polygon:
    """An axis-aligned rectangle polygon (shapely 1.8 and 2.x alike)."""
    return _box(minx, miny, maxx, maxy)


def union_all(geoms: Iterable[BaseGeometry]) -> BaseGeometry:
    """The union of ``geoms`` (shapely 1.8 and 2.x alike)."""
    return ops.unary_union(list(geoms))


def transform_xy(geom: BaseGeometry, fn: Callable[[np.ndarray], np.ndarray]) -> BaseGeometry:
    """``geom`` with every coordinate mapped by ``fn`` ((N, 2) array -> (N, 2) array)."""
    def _apply(x, y, z=None):
        xy = fn(np.column_stack((np.asarray(x, float), np.asarray(y, float))))
        return xy[:, 0], xy[:, 1]

    return ops.transform(_apply, geom)


class SpatialIndex:
    """An STR tree over ``geoms`` whose queries return indices (bounding-box candidates)."""

    def __init__(self, geoms: Sequence[BaseGeometry]) -> None:
        with warnings.catch_warnings():  # 1.8 warns that 2.0 changes the API; we handle both
            warnings.simplefilter("ignore")
            self._tree = STRtree(list(geoms))
        self._by_items = hasattr(self._tree, "query_items")  # shapely 1.8

    def query(self, geom: BaseGeometry) -> list[int]:
        """Sorted indices of the indexed geometries whose boxes meet ``geom``."""
        if self._by_items:
            return sorted(int(i) for i in self._tree.query_items(geom))
        return sorted(int(i) for i in self._tree.query(geom))
