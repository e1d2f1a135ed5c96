"""Two-date change analysis: heat map, mask and polygons from two images on one grid.

``detect_change`` is the single entry point. Method ``spectral`` (the default, no weights) is
change vector analysis on the raw bands after a relative radiometric normalisation of B to A;
``semantic`` (deep-feature distance) lives in ``semantic.py``. Both inputs must already
share one grid (``inference/io/coregister.py`` does that).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..cancel import CancelToken, ProgressFn, ensure_token, noop_progress, sub_progress
from ..errors import InputError, NoDataError
from ..io.geoimage import GeoImage
from .thresholds import Threshold, guarded_threshold, robust_sigma

METHODS = ("spectral", "semantic")
NOISE_SIGMAS = 3.0   # spectral heat is in noise sigmas; below this a pixel is not significant
SMOOTH_RADIUS = 2    # 5x5 mean: single-pixel misregistration and speckle are not change
_PIF_ROUNDS = 2      # rounds of refitting the normalisation on the most stable pixels


@dataclass
class ChangeResult:
    """Heat map (float32, 0 where invalid), boolean change mask and how it was thresholded."""

    heat: np.ndarray
    mask: np.ndarray
    threshold: float
    method: str
    stats: dict = field(default_factory=dict)
    valid: np.ndarray | None = None   # (H, W) bool, pixels valid in both dates


def detect_change(a: GeoImage, b: GeoImage, *, method: str = "spectral",
                  threshold: float | None = None, feature_backend: Any = None,
                  min_area_px: int = 0, progress: ProgressFn | None = None,
                  cancel: CancelToken | None = None) -> ChangeResult:
    """Change between ``a`` (before) and ``b`` (after), which must share one grid.

    ``threshold`` overrides the automatic (guarded Otsu) one, in the heat map's units: noise
    sigmas for ``spectral``, cosine distance for ``semantic`` (which needs ``feature_backend``,
    any object with ``patch_tokens(images) -> (N, h, w, D)``). ``min_area_px`` removes mask
    blobs (and fills holes) smaller than that many pixels.
    """
    if method not in METHODS:
        raise InputError(f"Unknown change method '{method}'; choose one of: {', '.join(METHODS)}.")
    progress, cancel = progress or noop_progress, ensure_token(cancel)
    valid = _common_valid(a, b)
    cancel.check()
    if method == "spectral":
        heat, stats = spectral_heat(a, b, valid)
        floor = NOISE_SIGMAS
    else:
        from .semantic import semantic_floor, semantic_heat

        heat, stats = semantic_heat(a, b, valid, feature_backend,
                                    sub_progress(progress, 0, 90), cancel)
        floor = semantic_floor(heat[valid])
    cancel.check()
    result = threshold_heat(heat, valid, method, threshold, floor, min_area_px)
    result.stats.update(stats)
    progress(100.0)
    return result


def spectral_heat(a: GeoImage, b: GeoImage, valid: np.ndarray) -> tuple[np.ndarray, dict]:
    """Change-vector magnitude in noise sigmas (float32, 0 where invalid)."""
    xa, xb, source = _band_stacks(a, b)
    valid = valid & np.all(np.isfinite(xa), axis=0) & np.all(np.isfinite(xb), axis=0)
    heat = np.zeros(valid.shape, np.float32)
    stats = {"bands": source, "n_bands": int(xa.shape[0])}
    if not valid.any():
        raise NoDataError("The two images have no valid pixels in common.")
    va, vb = xa[:, valid].astype(np.float64), xb[:, valid].astype(np.float64)
    if np.array_equal(va, vb):  # a layer against itself: exactly zero, whatever the rounding
        return heat, stats
    magnitude, gains = _normalised_residual(va, vb)
    heat[valid] = magnitude
    heat = smooth_valid(heat, valid, SMOOTH_RADIUS)
    stats["gains"] = [round(g, 4) for g in gains]
    return heat, stats


def threshold_heat(heat: np.ndarray, valid: np.ndarray, method: str,
                   threshold: float | None, floor: float, min_area_px: int = 0) -> ChangeResult:
    """Mask = heat > threshold (user value, else guarded Otsu) on valid pixels, then cleanup."""
    values = heat[valid]
    if threshold is not None:
        t = Threshold(float(threshold), "user", float("nan"), float("nan"), floor)
    else:
        t = guarded_threshold(values, floor)
    mask = (heat > t.value) & valid
    if min_area_px > 1 and mask.any():
        mask = _sieve(mask, valid, min_area_px)
    n_valid = int(valid.sum())
    stats = {"rule": t.rule, "otsu": t.otsu, "separability": t.separability, "floor": t.floor,
             "changed_fraction": float(mask.sum() / n_valid) if n_valid else 0.0,
             "valid_fraction": float(n_valid / valid.size) if valid.size else 0.0}
    return ChangeResult(heat.astype(np.float32, copy=False), mask, t.value, method, stats, valid)


def change_polygons(result: ChangeResult, transform, min_area: float = 0.0) -> list:
    """The change mask as shapely Polygons in map units of ``transform`` (``min_area`` in map
    units squared)."""
    from ..io.georef import mask_to_polygons

    return mask_to_polygons(result.mask, transform, min_area=min_area)


def _common_valid(a: GeoImage, b: GeoImage) -> np.ndarray:
    if a.rgb.shape[:2] != b.rgb.shape[:2] or a.valid.shape != b.valid.shape:
        raise InputError("The two dates are not on one grid; co-register them first.")
    valid = np.asarray(a.valid, bool) & np.asarray(b.valid, bool)
    if not valid.any():
        raise NoDataError("The two images have no valid pixels in common.")
    return valid


def _band_stacks(a: GeoImage, b: GeoImage) -> tuple[np.ndarray, np.ndarray, str]:
    """Raw bands when both dates have the same band count, else the display RGB."""
    if a.bands is not None and b.bands is not None and a.bands.shape == b.bands.shape:
        return np.asarray(a.bands), np.asarray(b.bands), "bands"
    return (np.moveaxis(a.rgb, -1, 0), np.moveaxis(b.rgb, -1, 0), "rgb")


@dataclass(frozen=True)
class Normalisation:
    """B ~ gain * A + offset per band, and the noise sigma of each band's residual."""

    gains: tuple[float, ...]
    offsets: tuple[float, ...]
    sigmas: tuple[float, ...]


def fit_normalisation(va: np.ndarray, vb: np.ndarray) -> Normalisation:
    """Relative radiometric normalisation of B to A from (C, N) valid pixel values.

    Gain and offset per band are fitted on pseudo-invariant pixels (the less-changed half),
    so season, sun and sensor differences are removed but the change itself does not bias the
    fit. The first guess of "stable" comes from per-date robust z-scores. A streamed run fits
    this once on a sample and applies it to every tile.
    """
    magnitude = np.sqrt(np.mean((_robust_z(vb) - _robust_z(va)) ** 2, axis=0))
    norm = Normalisation((), (), ())
    for _ in range(_PIF_ROUNDS):
        stable = magnitude <= np.median(magnitude)
        params = []
        for x, y in zip(va, vb):
            gain, offset = _fit_line(x[stable], y[stable])
            params.append((gain, offset, _noise_sigma(y - (gain * x + offset), y)))
        norm = Normalisation(*(tuple(p) for p in zip(*params)))
        magnitude = normalised_magnitude(norm, va, vb)
    return norm


def normalised_magnitude(norm: Normalisation, va: np.ndarray, vb: np.ndarray) -> np.ndarray:
    """RMS over bands of (B - gain*A - offset) / noise sigma, per pixel of (C, N) values."""
    residuals = [(y - (g * x + o)) / s for x, y, g, o, s in
                 zip(va, vb, norm.gains, norm.offsets, norm.sigmas)]
    return np.sqrt(np.mean(np.square(residuals), axis=0))


def _normalised_residual(va: np.ndarray, vb: np.ndarray) -> tuple[np.ndarray, list[float]]:
    norm = fit_normalisation(va, vb)
    return normalised_magnitude(norm, va, vb), list(norm.gains)


def _robust_z(v: np.ndarray) -> np.ndarray:
    med = np.median(v, axis=1, keepdims=True)
    mad = np.median(np.abs(v - med), axis=1, keepdims=True)
    scale = np.where(mad > 0, mad, np.maximum(v.std(axis=1, keepdims=True), 1e-12))
    return (v - med) / scale


def _fit_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares y = gain*x + offset; a constant band keeps gain 1."""
    mx, my = x.mean(), y.mean()
    var = float(np.sum((x - mx) ** 2))
    gain = float(np.sum((x - mx) * (y - my)) / var) if var > 0 else 1.0
    return gain, float(my - gain * mx)


def _noise_sigma(residual: np.ndarray, band: np.ndarray) -> float:
    """Robust sigma of the residual, floored so a near-identical pair does not blow up."""
    floor = 1e-3 * max(robust_sigma(band), float(np.abs(band).mean()) * 1e-3, 1e-9)
    return max(robust_sigma(residual), floor)


def smooth_valid(heat: np.ndarray, valid: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)^2 window of valid pixels only (nodata does not dilute the edge)."""
    if radius <= 0:
        return heat
    num = _box_sum(np.where(valid, heat, 0.0), radius)
    den = _box_sum(valid.astype(np.float64), radius)
    out = np.where(valid & (den > 0), num / np.maximum(den, 1.0), 0.0)
    return np.maximum(out, 0.0).astype(np.float32)  # cumsum rounding can dip below 0


def _box_sum(x: np.ndarray, r: int) -> np.ndarray:
    k = 2 * r + 1
    c = np.pad(np.pad(x.astype(np.float64), r), ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    h, w = x.shape
    return c[k:k + h, k:k + w] - c[:h, k:k + w] - c[k:k + h, :w] + c[:h, :w]


def _sieve(mask: np.ndarray, valid: np.ndarray, min_area_px: int) -> np.ndarray:
    from rasterio.features import sieve

    cleaned = sieve(mask.astype(np.uint8), size=int(min_area_px), connectivity=8)
    return cleaned.astype(bool) & valid
