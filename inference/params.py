"""Typed parameters of the whole-layer actions: one frozen dataclass per action.

The dock builds one from its widgets and Processing from its parameters; both call
``validate()`` before any model loads, so bad input gets the same message in both. The action
itself (``whole_layer.change_area`` / ``detect_area`` / ``segment_area``) then decides alone
whether to run in memory or stream.

Parameter names in messages are the Processing ids (TILE_SIZE, THRESHOLD, ...), which the dock's
tooltips also use.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

from .errors import InputError
from .validate import check_distinct, check_finite, check_prompt, check_raster_file

Bounds = Optional[tuple[float, float, float, float]]

CHANGE_METHODS = ("spectral", "semantic", "vlm")
CHANGE_BLOCK = 512           # px: the block of a streamed change when TILE_SIZE is automatic
DETECT_TILE, DETECT_OVERLAP = 768, 128   # px: tiles of a streamed detection / segmentation


@dataclass(frozen=True)
class Area:
    """Where an action reads: ``bounds`` (xmin, ymin, xmax, ymax) in ``bounds_crs`` (WKT), or
    the whole layer when ``bounds`` is None; ``bands`` (1-based) and the ``max_side`` of each
    image a model sees (None = native)."""

    bounds: Bounds = None
    bounds_crs: Optional[str] = None
    bands: Optional[tuple[int, ...]] = None
    max_side: Optional[int] = None

    def __post_init__(self) -> None:
        if self.bounds is None and self.bounds_crs is not None:
            object.__setattr__(self, "bounds_crs", None)   # no area: its CRS means nothing
        if self.max_side is not None and int(self.max_side) <= 0:
            object.__setattr__(self, "max_side", None)     # 0 = native

    def validate(self) -> None:
        """The extent has a positive width and height and finite corners."""
        if self.bounds is None:
            return
        for v in self.bounds:
            check_finite(v, "EXTENT")
        x0, y0, x1, y1 = self.bounds
        if not (x1 > x0 and y1 > y0):
            raise InputError(f"EXTENT {self.bounds} has zero width or height; give xmin < xmax "
                             "and ymin < ymax.")


def check_tiles(tile: int, overlap: int) -> None:
    """TILE_SIZE (0 = no tiling) and OVERLAP: not negative, overlap below the tile, tile >= 32."""
    if tile < 0 or overlap < 0:
        raise InputError(f"TILE_SIZE ({tile}) and OVERLAP ({overlap}) must not be negative.")
    if tile and tile < 32:
        raise InputError(f"TILE_SIZE {tile}: use at least 32 pixels, or 0 for no tiling.")
    if tile and not overlap < tile:
        raise InputError(f"TILE_SIZE ({tile}) must be larger than the tile overlap, OVERLAP "
                         f"({overlap}): give a larger TILE_SIZE or a smaller OVERLAP.")


def _check_outputs(inputs: Mapping[str, str], outputs: Mapping[str, str]) -> None:
    """Every input file is a raster EO Lens reads, and no output names one of them."""
    for name, path in inputs.items():
        if path:
            check_raster_file(path, name)
    check_distinct(dict(inputs), dict(outputs))


@dataclass(frozen=True)
class ChangeParams:
    """Two dates compared on A's grid: ``method`` spectral (no model), semantic (feature
    ``model``) or vlm (change-caption ``model``); ``tile`` 0 = automatic (stream only when the
    pair does not fit in memory), else the block side of a streamed run."""

    path_a: str
    path_b: str
    area: Area = Area()
    method: str = "spectral"
    model: Optional[str] = None
    threshold: Optional[float] = None
    min_area: float = 0.0
    label_model: Optional[str] = None
    labels: Optional[tuple[str, ...]] = None
    caption_regions: int = 0
    tile: int = 0

    def validate(self, outputs: Mapping[str, str] = {}) -> None:  # noqa: B006 - read only
        """Raise a named :class:`InputError` for bad values, unreadable inputs or an output
        (name -> path) that is an input."""
        if self.method not in CHANGE_METHODS:
            raise InputError(f"METHOD '{self.method}': choose spectral, semantic or vlm.")
        check_finite(self.threshold, "THRESHOLD")
        check_finite(self.min_area, "MIN_AREA")
        if self.min_area < 0:
            raise InputError(f"MIN_AREA must not be negative (got {self.min_area}).")
        if self.caption_regions < 0:
            raise InputError(f"CAPTION_REGIONS must not be negative (got {self.caption_regions}).")
        if self.tile and (self.tile < 32 or self.tile % 16):
            raise InputError(f"TILE_SIZE {self.tile}: use a multiple of 16 pixels, at least 32, "
                             "or 0 for automatic.")
        self.area.validate()
        _check_outputs({"INPUT": self.path_a, "INPUT_B": self.path_b}, outputs)


@dataclass(frozen=True)
class DetectParams:
    """Text -> boxes; ``tile`` 0 = one capture of the area (streamed in tiles of
    ``DETECT_TILE`` only when it does not fit in memory), else tiles of ``tile`` px overlapping
    by ``overlap``. ``path`` '' = pixels the caller already holds (a rendered layer)."""

    path: str
    prompt: str
    model: str
    area: Area = Area()
    tile: int = 0
    overlap: int = DETECT_OVERLAP

    def validate(self, outputs: Mapping[str, str] = {}) -> None:  # noqa: B006 - read only
        """Raise a named :class:`InputError` before any model loads."""
        check_prompt(self.prompt)
        check_tiles(self.tile, self.overlap)
        self.area.validate()
        _check_outputs({"INPUT": self.path}, outputs)


@dataclass(frozen=True)
class SegmentParams:
    """Text -> masks, like :class:`DetectParams`; ``sam_model`` refines boxes into masks."""

    path: str
    prompt: str
    model: str
    area: Area = Area()
    sam_model: Optional[str] = None
    tile: int = 0
    overlap: int = DETECT_OVERLAP

    def validate(self, outputs: Mapping[str, str] = {}) -> None:  # noqa: B006 - read only
        """Raise a named :class:`InputError` before any model loads."""
        if not self.prompt.strip():
            raise InputError("Please enter what to segment (PROMPT).")
        check_prompt(self.prompt)
        check_tiles(self.tile, self.overlap)
        self.area.validate()
        _check_outputs({"INPUT": self.path}, outputs)
