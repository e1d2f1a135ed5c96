"""Map-space prompts (clicks, dragged boxes) -> pixel prompts of one GeoImage."""
from __future__ import annotations

from typing import Sequence

from .geoimage import GeoImage


def to_pixel_prompts(image: GeoImage, points: Sequence[tuple[float, float]] = (),
                     boxes: Sequence[tuple[float, float, float, float]] = ()):
    """Points and boxes in the image CRS -> (col, row) pixel coordinates.

    A map-space box on a rotated raster is not axis-aligned in pixels; its pixel bounding box is
    the prompt SAM can take.
    """
    inv = ~image.transform
    px_points = [tuple(inv * (x, y)) for x, y in points]
    px_boxes = []
    for x0, y0, x1, y1 in boxes:
        corners = [inv * c for c in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))]
        cols, rows = [c[0] for c in corners], [c[1] for c in corners]
        px_boxes.append((min(cols), min(rows), max(cols), max(rows)))
    return px_points, px_boxes
