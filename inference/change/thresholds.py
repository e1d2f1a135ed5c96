"""Automatic thresholds for heat maps: Otsu, a robust noise floor, and a guard combining them.

Plain numpy (no scipy/skimage). Otsu always splits a histogram in two, even pure noise, so
:func:`guarded_threshold` only trusts the split when the histogram is clearly two-class and
otherwise falls back to a significance floor above the noise.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAD_TO_SIGMA = 1.4826  # MAD of a Gaussian times this is its standard deviation
# Otsu's separability eta = between-class / total variance. A single Gaussian split by Otsu
# gives 2/pi = 0.64 and a uniform distribution 0.75; only a histogram more separated than a
# uniform one is treated as "change vs no change".
MIN_SEPARABILITY = 0.75


@dataclass(frozen=True)
class Threshold:
    """A chosen threshold, the rule that chose it, and the figures behind the choice."""

    value: float
    rule: str            # "otsu", "noise_floor" or "user"
    otsu: float
    separability: float
    floor: float


def otsu(values: np.ndarray, bins: int = 256) -> tuple[float, float]:
    """(threshold, separability eta in [0, 1]) of the finite ``values``.

    The histogram range stops at the 99.9th percentile so a few extreme pixels cannot squeeze
    the bulk into one bin. Constant input gives (that value, 0.0).
    """
    v = _finite(values)
    if v.size == 0:
        return 0.0, 0.0
    lo, hi = float(v.min()), float(np.quantile(v, 0.999))
    if hi <= lo:
        return lo, 0.0
    v = np.clip(v, lo, hi)
    counts, edges = np.histogram(v, bins=bins, range=(lo, hi))
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(counts)[:-1].astype(np.float64)
    m0 = np.cumsum(counts * centres)[:-1]
    total, mean_total = float(counts.sum()), float((counts * centres).sum())
    w1 = total - w0
    between = (w0 * mean_total - total * m0) ** 2 / np.maximum(w0 * w1, 1.0) / total ** 2
    plateau = np.flatnonzero(between >= between.max())
    best = int(plateau[len(plateau) // 2])  # empty bins between two modes: cut in the middle
    eta = float(between[best] / max(float(v.var()), 1e-30))
    return float(edges[best + 1]), min(eta, 1.0)


def robust_sigma(values: np.ndarray) -> float:
    """Noise standard deviation from the median absolute deviation (robust to < 50% change)."""
    v = _finite(values)
    if v.size == 0:
        return 0.0
    return float(MAD_TO_SIGMA * np.median(np.abs(v - np.median(v))))


def noise_floor(values: np.ndarray, k: float = 3.0) -> float:
    """median + k robust sigmas: values above it are unlikely to be noise alone."""
    v = _finite(values)
    return float(np.median(v) + k * robust_sigma(v)) if v.size else 0.0


def guarded_threshold(values: np.ndarray, floor: float,
                      min_separability: float = MIN_SEPARABILITY) -> Threshold:
    """Otsu when the histogram is clearly two-class, else at least ``floor``.

    A pair without real change has a unimodal heat histogram; Otsu would cut its tail and
    report noise as change, so there the threshold is raised to the noise floor.
    """
    t, eta = otsu(values)
    if eta >= min_separability:
        return Threshold(t, "otsu", t, eta, floor)
    return Threshold(max(t, floor), "noise_floor", t, eta, floor)


def _finite(values: np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64).ravel()
    return v[np.isfinite(v)]
