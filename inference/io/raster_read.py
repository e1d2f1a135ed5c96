"""Windowed, budget-checked reads of a raster file into a GeoImage (the "native" capture).

Only the window covering the requested extent is read, optionally decimated to fit a model
(GDAL then reads from overviews). The returned transform is the one of the pixels actually
returned, so rotated and south-up rasters stay exact.
"""
from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.errors import CRSError, RasterioError, RasterioIOError
from rasterio.windows import Window

from .dates import acquisition_date
from ..errors import N_, InputError, NoDataError, NoOverlapError, RasterReadError, TooLargeError
from .geoimage import GeoImage
from .stretch import Limits, to_rgb8

DEFAULT_BUDGET = 1 << 30  # bytes one capture may allocate (raw bands + RGB + masks)
Bounds = tuple[float, float, float, float]
_EPS = 1e-6  # pixel tolerance so an extent on a pixel edge does not grab one more row/column

try:  # GDAL errors that rasterio surfaces without wrapping them in RasterioError
    from rasterio._err import CPLE_BaseError as _CPLError
except ImportError:  # pragma: no cover
    _CPLError = RasterioError
_READ_ERRORS = (RasterioError, RasterioIOError, _CPLError)


@dataclass(frozen=True)
class RasterInfo:
    """What a raster file holds, read from its header: size, bands, CRS, transform, nodata, date."""

    path: str
    width: int
    height: int
    count: int
    dtypes: tuple[str, ...]
    crs_wkt: str
    transform: Affine
    nodata: float | None
    descriptions: tuple[str | None, ...]
    date: str | None


GDAL_CACHE_MB = 128  # GDAL's block cache while EO Lens reads (its default, 5 % of RAM, is most of a peak)
CACHE_ENV = "EOLENS_GDAL_CACHE_MB"  # the plugin setting "GDAL block cache" lands here


def gdal_cache_mb() -> int:
    """The block cache EO Lens's reads run with: ``$EOLENS_GDAL_CACHE_MB`` or 128 MB (>= 16)."""
    try:
        return max(16, int(os.environ.get(CACHE_ENV) or GDAL_CACHE_MB))
    except ValueError:
        return GDAL_CACHE_MB


def bounded_gdal(cache_mb: int | None = None) -> rasterio.Env:
    """A ``rasterio.Env`` capping GDAL's block cache (process-wide while it is entered; the
    previous size is restored on exit)."""
    return rasterio.Env(GDAL_CACHEMAX=max(16, cache_mb or gdal_cache_mb()) * 2**20)  # bytes


@contextmanager
def open_raster(path) -> Iterator[rasterio.io.DatasetReader]:
    """Open ``path`` or raise RasterReadError naming it (missing, empty, corrupt); GDAL's block
    cache stays bounded (``bounded_gdal``) while it is open."""
    with bounded_gdal():
        with _open(path) as ds:
            yield ds


@contextmanager
def _open(path) -> Iterator[rasterio.io.DatasetReader]:
    path = os.fspath(path)
    if os.path.isfile(path) and os.path.getsize(path) == 0:
        raise RasterReadError(N_("Raster '{path}' is empty (0 bytes)."), path=path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            ds = rasterio.open(path)
    except _READ_ERRORS as err:
        raise RasterReadError(f"Cannot open raster '{path}': {err}") from err
    with ds:
        yield ds


def open_info(path) -> RasterInfo:
    """The :class:`RasterInfo` of the raster at ``path`` (no pixels read)."""
    path = os.fspath(path)
    with open_raster(path) as ds:
        return RasterInfo(path, ds.width, ds.height, ds.count, tuple(ds.dtypes),
                          ds.crs.to_wkt() if ds.crs else "", ds.transform, ds.nodata,
                          tuple(ds.descriptions), acquisition_date(path))


def require_crs(ds, path: str) -> None:
    """Refuse a raster georeferenced only by GCPs/RPCs, or with no CRS."""
    if ds.transform.is_identity and (ds.gcps[0] or ds.rpcs):  # before "no CRS": GCPs carry one
        raise InputError(f"Raster '{path}' is georeferenced by GCPs/RPCs only; warp it first.")
    if not ds.crs:
        raise InputError(N_("Raster '{path}' has no CRS; assign one in Layer Properties."), path=path)


def parse_crs(crs, what: str = "extent") -> CRS:
    """A rasterio CRS from WKT, EPSG or any user input; a clear error otherwise."""
    try:
        return CRS.from_user_input(crs)
    except (CRSError, ValueError, TypeError) as err:
        raise InputError(f"Unrecognised CRS for the {what}: {str(crs)[:80]!r}.") from err


# --- bands ----------------------------------------------------------------------------

def default_bands(count: int, descriptions: Sequence[str | None] = ()) -> list[int]:
    """Red, green, blue by band description when named (Landsat, Sentinel stacks), else 1-2-3."""
    found = {}
    for colour in ("red", "green", "blue"):
        hits = [i + 1 for i, d in enumerate(descriptions) if d and re.search(rf"\b{colour}\b", d, re.IGNORECASE)]
        if len(hits) == 1:
            found[colour] = hits[0]
    if len(found) == 3 and len(set(found.values())) == 3:
        return [found["red"], found["green"], found["blue"]]
    return [1, 2, 3] if count >= 3 else [1]


def select_bands(ds, bands: Sequence[int] | None, path: str) -> list[int]:
    """The 1-based bands to read: ``bands`` checked, or the default RGB choice."""
    if bands is None:
        return default_bands(ds.count, ds.descriptions)
    idx = [int(b) for b in bands]
    bad = [b for b in idx if not 1 <= b <= ds.count]
    if not idx or bad:
        raise InputError(f"Band(s) {bad or idx} do not exist in '{path}', which has {ds.count} band(s).")
    return idx


# --- windows --------------------------------------------------------------------------

def _check_bounds(bounds: Bounds) -> Bounds:
    b = tuple(float(v) for v in bounds)
    if len(b) != 4 or not all(map(math.isfinite, b)) or b[0] >= b[2] or b[1] >= b[3]:
        raise InputError(f"Invalid extent {bounds}: expected (xmin, ymin, xmax, ymax).")
    return b


def boxes_in_crs(bounds: Bounds, src_crs, dst_crs: CRS) -> list[Bounds]:
    """``bounds`` in ``dst_crs``: edges densified (21 points), split at the antimeridian."""
    bounds = _check_bounds(bounds)
    src = parse_crs(src_crs) if src_crs is not None else dst_crs
    if src == dst_crs:
        return [bounds]
    from rasterio.warp import transform_bounds

    try:
        left, bottom, right, top = transform_bounds(src, dst_crs, *bounds, densify_pts=21)
    except _READ_ERRORS as err:
        raise InputError(f"Cannot transform the extent into the raster's CRS: {err}") from err
    if not all(map(math.isfinite, (left, bottom, right, top))):
        raise NoOverlapError("The extent lies outside the valid area of the raster's CRS.")
    if left > right:  # crosses the antimeridian: unwrap towards both sides
        return [(left, bottom, right + 360.0, top), (left - 360.0, bottom, right, top)]
    return [(left, bottom, right, top)]


def _box_window(transform: Affine, box: Bounds, width: int, height: int) -> Window | None:
    xs, ys = (box[0], box[2], box[2], box[0]), (box[1], box[1], box[3], box[3])
    cols, rows = zip(*(~transform * xy for xy in zip(xs, ys)))
    c0, r0 = max(0, math.floor(min(cols) + _EPS)), max(0, math.floor(min(rows) + _EPS))
    c1, r1 = min(width, math.ceil(max(cols) - _EPS)), min(height, math.ceil(max(rows) - _EPS))
    return Window(c0, r0, c1 - c0, r1 - r0) if c1 > c0 and r1 > r0 else None


def bounds_window(ds, path: str, bounds: Bounds | None = None, bounds_crs=None) -> Window:
    """Integer pixel window of ``ds`` covering ``bounds``; the whole raster when None."""
    if bounds is None:
        return Window(0, 0, ds.width, ds.height)
    wins = [w for b in boxes_in_crs(bounds, bounds_crs, ds.crs)
            if (w := _box_window(ds.transform, b, ds.width, ds.height))]
    if not wins:
        raise NoOverlapError(N_("The extent {extent} does not overlap raster '{path}'."),
                             extent=tuple(bounds), path=path)
    c0, r0 = min(w.col_off for w in wins), min(w.row_off for w in wins)
    c1, r1 = max(w.col_off + w.width for w in wins), max(w.row_off + w.height for w in wins)
    return Window(c0, r0, c1 - c0, r1 - r0)


def fit_shape(window: Window, max_side: int | None = None) -> tuple[int, int]:
    """(rows, cols) to read: the window itself, or scaled so its longer side is ``max_side``."""
    h, w = int(window.height), int(window.width)
    if not max_side or max(h, w) <= max_side:
        return h, w
    s = max_side / max(h, w)
    return max(1, round(h * s)), max(1, round(w * s))


def window_grid_transform(ds, window: Window, shape: tuple[int, int]) -> Affine:
    """Exact transform of ``shape`` pixels covering ``window`` (window affine x decimation)."""
    return ds.window_transform(window) * Affine.scale(window.width / shape[1], window.height / shape[0])


# --- reading --------------------------------------------------------------------------

def check_budget(path: str, shape: tuple[int, int], nbands: int, dtype, budget: int) -> None:
    """Raise :class:`TooLargeError` when reading ``shape`` x ``nbands`` would exceed ``budget`` bytes."""
    need = shape[0] * shape[1] * (nbands * (np.dtype(dtype).itemsize + 1) + 4)
    if need > budget:
        raise TooLargeError(
            f"Reading {shape[1]} x {shape[0]} pixels x {nbands} band(s) from '{path}' needs "
            f"{need / 2**20:,.0f} MiB, over the {budget / 2**20:,.0f} MiB budget; "
            "use a smaller extent or a maximum size.")


def read_window(ds, path: str, window: Window, shape: tuple[int, int],
                bands: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """(raw (C, h, w), valid (h, w)) for ``window`` resampled to ``shape``.

    A pixel is valid where any selected band has data (GDAL's dataset-mask rule, so a
    legitimate 0 in one band is kept) and every band is finite.
    """
    out_shape = (len(bands),) + tuple(shape)
    decimated = tuple(shape) != (int(window.height), int(window.width))
    if decimated:  # GDAL's decimated read cannot be interrupted: refuse one it serves from every pixel
        from ..validate import check_read_cost

        check_read_cost(ds, path, window, shape, len(bands))
    try:
        raw = ds.read(list(bands), window=window, out_shape=out_shape,
                      resampling=Resampling.average if decimated else Resampling.nearest)
        with warnings.catch_warnings():  # nodata taking precedence over alpha is GDAL's rule too
            warnings.simplefilter("ignore", rasterio.errors.NodataShadowWarning)
            masks = ds.read_masks(list(bands), window=window, out_shape=out_shape)
    except _READ_ERRORS as err:  # truncated files open fine and fail here
        raise RasterReadError(f"Cannot read raster '{path}' (damaged or truncated?): {err}") from err
    valid = masks.any(axis=0)
    if raw.dtype.kind == "f":
        valid &= np.isfinite(raw).all(axis=0)
    return raw, valid


def to_geoimage(raw: np.ndarray, valid: np.ndarray, transform: Affine, crs_wkt: str, path: str,
                *, date: str | None = None, meta: dict | None = None,
                limits: Limits | None = None, stretch: bool | None = None) -> GeoImage:
    """Wrap raw bands as a GeoImage; an all-invalid window is a NoDataError naming the file.

    ``stretch`` as in :func:`stretch.to_rgb8`: by default 8-bit RGB reaches the model unchanged.
    """
    if not valid.any():
        raise NoDataError(f"No valid pixels in the requested area of '{path}' "
                          "(all nodata): nothing to analyse here.")
    return GeoImage(rgb=to_rgb8(raw, valid, limits=limits, stretch=stretch), transform=transform, crs_wkt=crs_wkt,
                    valid=valid, bands=raw, date=date, source=path, meta=dict(meta or {}))


def capture_native(path, bounds: Bounds | None = None, bounds_crs=None, *,
                   bands: Sequence[int] | None = None, max_side: int | None = None,
                   budget_bytes: int = DEFAULT_BUDGET, date: str | None = None,
                   stretch: bool | None = None) -> GeoImage:
    """Read the pixels of ``path`` under ``bounds`` (in ``bounds_crs``; None = raster CRS).

    8-bit RGB is passed through as the file holds it unless ``stretch=True``.
    """
    path = os.fspath(path)
    with open_raster(path) as ds:
        require_crs(ds, path)
        idx = select_bands(ds, bands, path)
        window = bounds_window(ds, path, bounds, bounds_crs)
        shape = fit_shape(window, max_side)
        check_budget(path, shape, len(idx), ds.dtypes[idx[0] - 1], budget_bytes)
        raw, valid = read_window(ds, path, window, shape, idx)
        transform, crs_wkt = window_grid_transform(ds, window, shape), ds.crs.to_wkt()
    meta = {"window": (int(window.col_off), int(window.row_off), int(window.width), int(window.height)),
            "bands": idx, "mode": "native"}
    return to_geoimage(raw, valid, transform, crs_wkt, path,
                       date=date or acquisition_date(path), meta=meta, stretch=stretch)
