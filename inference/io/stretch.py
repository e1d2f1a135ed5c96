"""Raw bands (uint8 / uint16 / float) to the RGB a model sees.

Models are trained on imagery as it is distributed, so 8-bit RGB passes through unchanged (as QGIS
draws a multiband byte layer by default). 16-bit, float and single-band data have no such
convention and get the per-band cumulative cut QGIS applies; ``stretch=True`` forces it.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Limits = Sequence[tuple[float, float]]


def percentile_cut(values: np.ndarray, cut: tuple[float, float] = (2.0, 98.0)) -> tuple[float, float]:
    """(low, high) cumulative-cut limits of the finite ``values``; (0, 0) when there are none."""
    v = np.asarray(values).ravel()
    v = v[np.isfinite(v)] if v.dtype.kind == "f" else v
    if v.size == 0:
        return 0.0, 0.0
    lo, hi = np.percentile(v, cut)
    return float(lo), float(hi)


def band_limits(bands: np.ndarray, valid: np.ndarray,
                cut: tuple[float, float] = (2.0, 98.0)) -> list[tuple[float, float]]:
    """Per-band cut limits over valid pixels only (nodata must not widen the stretch)."""
    return [percentile_cut(b[valid], cut) for b in _rgb_planes(bands)]


def _rgb_planes(bands: np.ndarray) -> np.ndarray:
    bands = np.asarray(bands)
    if bands.ndim == 2:
        bands = bands[None]
    return bands[[0, 0, 0]] if bands.shape[0] < 3 else bands[:3]


def _scale(band: np.ndarray, lo: float, hi: float) -> np.ndarray:
    if hi <= lo:  # constant band (e.g. a 1x1 raster): keep byte data as is, grey otherwise
        if band.dtype == np.uint8:
            return band.astype(np.float32)
        return np.full(band.shape, 128.0, np.float32)
    return (band.astype(np.float32) - lo) * (255.0 / (hi - lo))


def passes_through(bands: np.ndarray) -> bool:
    """8-bit data with three or more bands: shown to models exactly as the file holds it."""
    bands = np.asarray(bands)
    return bands.dtype == np.uint8 and bands.ndim == 3 and bands.shape[0] >= 3


def to_rgb8(bands: np.ndarray, valid: np.ndarray, cut: tuple[float, float] = (2.0, 98.0),
            *, limits: Limits | None = None, stretch: bool | None = None) -> np.ndarray:
    """(C, H, W) raw bands -> (H, W, 3) uint8; invalid pixels 0.

    One band is replicated to grey; with three or more the first three are R, G, B.
    ``stretch``: None = automatic (8-bit RGB unchanged, anything else a per-band cumulative
    cut); True = always cut; False = the values clipped to 0-255. ``limits`` (one (lo, hi) per
    output band) reuses a cut computed elsewhere, so that tiles of one scene share one stretch.
    """
    planes = _rgb_planes(bands)
    valid = np.asarray(valid, bool) & np.all(np.isfinite(planes), axis=0)
    as_is = passes_through(bands) if stretch is None else not stretch
    if not as_is:
        return _stretched(planes, valid, cut, limits)
    out = np.clip(np.nan_to_num(planes.astype(np.float32), nan=0.0), 0, 255).astype(np.uint8) \
        if planes.dtype != np.uint8 else planes
    return np.where(valid[..., None], np.moveaxis(out, 0, -1), 0).astype(np.uint8)


def _stretched(planes: np.ndarray, valid: np.ndarray, cut: tuple[float, float],
               limits: Limits | None) -> np.ndarray:
    limits = list(limits) if limits is not None else band_limits(planes, valid, cut)
    out = np.zeros(planes.shape[1:] + (3,), np.uint8)
    for i, (plane, (lo, hi)) in enumerate(zip(planes, limits)):
        scaled = np.nan_to_num(_scale(plane, lo, hi), nan=0.0)
        out[..., i] = np.where(valid, np.clip(np.rint(scaled), 0, 255), 0).astype(np.uint8)
    return out
