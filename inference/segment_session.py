"""SAM sessions: a capture encoded once, then many clicks and boxes (map space -> pixels)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .models.backend import Backend
from .errors import InputError
from .io.geoimage import GeoImage
from .results import PixelResult
from .models.sam_family import Box, Point, PromptSamBackend, parse_prompts


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


class SegmentSession:
    """Encode an image once, then answer many point/box prompts on it.

    >>> session = SegmentSession(sam, image)
    >>> session.predict(points=[(120, 80)], labels=[1]).masks[0]
    """

    def __init__(self, backend: Backend, image: np.ndarray) -> None:
        if not isinstance(backend, PromptSamBackend):
            raise InputError(f"'{getattr(backend.spec, 'name', backend.family)}' does not take "
                             "point or box prompts; choose a SAM or SAM2.1 model.")
        self.backend = backend
        with backend.lock:  # one model, one call at a time (dock and Processing share it)
            self.encoded = backend.encode(image)

    @property
    def image_size(self) -> tuple[int, int]:
        """(height, width) of the encoded image as given."""
        return self.encoded.original_size

    def predict(self, points: Sequence[Point] | None = None,
                labels: Sequence[int] | None = None,
                boxes: Sequence[Box] | None = None) -> PixelResult:
        """Masks at the original image size, one per box (or one for a point set)."""
        prompts = parse_prompts(points, labels, boxes)
        with self.backend.lock:
            return self.backend.decode(self.encoded, prompts)
