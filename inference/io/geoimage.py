"""GeoImage: the one currency between capture, models and georeferencing."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from affine import Affine


@dataclass
class GeoImage:
    """Pixels fed to a model plus the exact transform of *those* pixels.

    ``transform`` maps pixel-corner coordinates (col, row) to map coordinates and may be
    rotated or south-up; the centre of pixel (0, 0) is ``transform * (0.5, 0.5)``.
    """

    rgb: np.ndarray                      # (H, W, 3) uint8, stretched for display / models
    transform: Affine                    # pixel (col, row) -> map (x, y) in ``crs_wkt``
    crs_wkt: str                         # WKT of the pixels' CRS ("" only for ungeoreferenced chips)
    valid: np.ndarray                    # (H, W) bool, False where nodata / NaN
    bands: Optional[np.ndarray] = None   # (C, H, W) raw values, when a model needs them
    date: Optional[str] = None           # ISO date of acquisition when known
    source: str = ""                     # file path or layer id it came from
    meta: dict = field(default_factory=dict)

    @property
    def width(self) -> int:
        """Width of the RGB array in pixels."""
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        """Height of the RGB array in pixels."""
        return int(self.rgb.shape[0])

    def footprint(self):
        """The image outline as a shapely Polygon in ``crs_wkt`` (a quadrilateral if rotated)."""
        return outline(self.transform, self.width, self.height)


def outline(transform, width: int, height: int):
    """The outline of a ``width`` x ``height`` pixel grid as a shapely Polygon in map units."""
    from shapely.geometry import Polygon

    return Polygon([transform * c for c in ((0, 0), (width, 0), (width, height), (0, height))])
