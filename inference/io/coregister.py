"""Put two dates on one grid: B warped onto A's pixels over the overlap of their footprints."""
from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np
from affine import Affine
from rasterio.enums import Resampling
from rasterio.warp import reproject
from rasterio.warp import transform as transform_points
from rasterio.windows import Window

from .dates import acquisition_date
from ..errors import NoDataError, NoOverlapError
from .geoimage import GeoImage
from .geom import Polygon, box, union_all
from .georef import apply_affine
from .raster_read import (
    DEFAULT_BUDGET,
    Bounds,
    bounds_window,
    boxes_in_crs,
    check_budget,
    fit_shape,
    open_raster,
    read_window,
    require_crs,
    select_bands,
    to_geoimage,
    window_grid_transform,
)

_EDGE_PTS = 21   # densify footprint edges so a reprojected outline stays faithful
_PAD = 2         # extra source pixels around B's window for the resampling kernel


def _ring(transform: Affine, width: float, height: float) -> np.ndarray:
    t = np.linspace(0.0, 1.0, _EDGE_PTS)[:-1]
    edges = [np.column_stack((t * width, 0 * t)), np.column_stack((0 * t + width, t * height)),
             np.column_stack(((1 - t) * width, 0 * t + height)), np.column_stack((0 * t, (1 - t) * height))]
    return apply_affine(np.vstack(edges), transform)


def footprint_in(ds, dst_crs) -> Polygon:
    """The raster's outline (densified) in ``dst_crs``."""
    xy = _ring(ds.transform, ds.width, ds.height)
    if ds.crs != dst_crs:
        xs, ys = transform_points(ds.crs, dst_crs, xy[:, 0], xy[:, 1])
        xy = np.column_stack((xs, ys))
    return Polygon(xy).buffer(0)


def overlap_bounds(a, b, path_a: str, path_b: str, bounds, bounds_crs) -> Bounds:
    """Bounds, in A's CRS, where both rasters (and the extent, if given) overlap; a clear error if none."""
    area = footprint_in(a, a.crs).intersection(footprint_in(b, a.crs))
    if bounds is not None:
        area = area.intersection(union_all([box(*bx) for bx in
                                                    boxes_in_crs(bounds, bounds_crs, a.crs)]))
    if area.is_empty or area.area <= 0:
        where = " within the extent" if bounds is not None else ""
        raise NoOverlapError(f"Rasters '{path_a}' and '{path_b}' do not overlap{where}.")
    return area.bounds


def warp_onto(b, path_b: str, bands: list[int], dst_transform: Affine, dst_shape: tuple[int, int],
               dst_crs, budget: int) -> tuple[np.ndarray, np.ndarray]:
    """B's bands resampled (bilinear, nodata-aware) onto the destination grid.

    B is read at its own resolution unless that is finer than the destination's, so MAX_SIDE
    bounds date B's read too; the resampling pad does not count as "finer" (or every capture
    and block would be slightly decimated). One rule for a capture and a streamed block."""
    h, w = dst_shape
    dst_bounds = Polygon(_ring(dst_transform, w, h)).bounds
    w0 = bounds_window(b, path_b, dst_bounds, dst_crs)
    c0, r0 = max(0, w0.col_off - _PAD), max(0, w0.row_off - _PAD)
    c1 = min(b.width, w0.col_off + w0.width + _PAD)
    r1 = min(b.height, w0.row_off + w0.height + _PAD)
    win = Window(c0, r0, c1 - c0, r1 - r0)
    f = max(1.0, (w0.width - 1) / w, (w0.height - 1) / h)
    shape = (math.ceil(win.height / f), math.ceil(win.width / f))
    check_budget(path_b, shape, len(bands), "float32", budget)
    raw, valid = read_window(b, path_b, win, shape, bands)
    src = np.where(valid, raw.astype(np.float32), np.float32(np.nan))
    out = np.full((len(bands), h, w), np.nan, np.float32)
    reproject(src, out, src_transform=window_grid_transform(b, win, shape), src_crs=b.crs,
              src_nodata=np.nan, dst_transform=dst_transform, dst_crs=dst_crs, dst_nodata=np.nan,
              resampling=Resampling.bilinear)
    ok = np.isfinite(out).all(axis=0)
    return _cast_back(out, raw.dtype, b.nodata), ok


def _cast_back(values: np.ndarray, dtype, nodata) -> np.ndarray:
    fill = nodata if nodata is not None and np.isfinite(nodata) else 0
    values = np.where(np.isfinite(values), values, fill)
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        values = np.clip(np.rint(values), info.min, info.max)
    return values.astype(dtype)


def coregister(path_a, path_b, bounds: Bounds | None = None, bounds_crs=None, *,
               bands_a: Sequence[int] | None = None, bands_b: Sequence[int] | None = None,
               max_side: int | None = None,
               budget_bytes: int = DEFAULT_BUDGET) -> tuple[GeoImage, GeoImage]:
    """(A, B) on A's grid (CRS, resolution, pixel alignment) over the footprint overlap.

    Both share one transform and shape; ``valid`` is where both dates have data.
    """
    path_a, path_b = os.fspath(path_a), os.fspath(path_b)
    with open_raster(path_a) as a, open_raster(path_b) as b:
        require_crs(a, path_a)
        require_crs(b, path_b)
        ia, ib = select_bands(a, bands_a, path_a), select_bands(b, bands_b, path_b)
        win = bounds_window(a, path_a, overlap_bounds(a, b, path_a, path_b, bounds, bounds_crs))
        shape = fit_shape(win, max_side)
        check_budget(path_a, shape, len(ia), a.dtypes[ia[0] - 1], budget_bytes)
        raw_a, valid_a = read_window(a, path_a, win, shape, ia)
        transform, crs_wkt = window_grid_transform(a, win, shape), a.crs.to_wkt()
        raw_b, valid_b = warp_onto(b, path_b, ib, transform, shape, a.crs, budget_bytes)
    valid = valid_a & valid_b
    if not valid.any():
        raise NoDataError(f"Rasters '{path_a}' and '{path_b}' have no valid pixels in common here.")
    meta = {"window": tuple(int(v) for v in win.flatten()), "mode": "coregistered",
            "reference": path_a}
    img_a = to_geoimage(raw_a, valid, transform, crs_wkt, path_a, date=acquisition_date(path_a),
                        meta={**meta, "bands": ia})
    img_b = to_geoimage(raw_b, valid, transform, crs_wkt, path_b, date=acquisition_date(path_b),
                        meta={**meta, "bands": ib})
    return img_a, img_b
