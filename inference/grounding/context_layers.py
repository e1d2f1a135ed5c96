"""The analyst's vector features under a capture, as compact structured context for a VLM prompt.

Input is plain data copied on the main thread (:class:`ContextLayer`: name, features with fid,
WKB and attributes, already in the capture's CRS). Each feature is clipped to the capture
footprint in map space and placed in the image through the capture's own affine
(``georef.map_to_pixel``), so positions are exact for rotated and reprojected captures.
Features are ranked (largest share of the image first, then nearest the centre) and written
until the token budget is spent; the rest are counted, never silently dropped.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from affine import Affine
from shapely import wkb as _wkb
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry
from shapely.prepared import prep

from ..io.georef import apply_affine, map_to_pixel

DEFAULT_BUDGET = 800        # tokens for the whole layer context
MAX_VALUE_CHARS = 60        # a long attribute value is cut to this many characters
_TOKEN = re.compile(r"\d|[^\W\d_]+|[^\w\s]")  # digits one by one (Qwen), words, punctuation


def estimate_tokens(text: str) -> int:
    """A tokenizer-free count that errs high: every digit, word piece and punctuation mark."""
    return sum(1 + len(t) // 8 for t in _TOKEN.findall(text))


@dataclass
class ContextLayer:
    """One vector layer's features as plain data (WKB in ``crs_wkt``, the capture's CRS)."""

    name: str
    features: Sequence[Any]                 # objects with .fid, .wkb, .attributes (label.FeatureIn)
    fields: Sequence[str] | None = None     # None: every attribute
    crs_wkt: str = ""                       # "" = already in the capture's CRS
    layer_id: str = ""                      # the QGIS layer id, for the dock to select a source


@dataclass
class ContextItem:
    """One vector feature seen in the capture: where it lies in the image and its attributes."""

    layer: str
    fid: int
    attributes: dict
    bbox_px: tuple[int, int, int, int]      # x0, y0, x1, y1 in image pixels (x right, y down)
    where: str                              # "top-left" ... "centre" ... "bottom-right"
    share: float                            # fraction of the image area the feature covers
    layer_id: str = ""

    @property
    def source(self) -> dict:
        """The feature as a plain source record (layer, fid, layer id) for the answer's sources."""
        src = {"kind": "feature", "layer": self.layer, "fid": self.fid}
        if self.layer_id:
            src["layer_id"] = self.layer_id
        return src

    def line(self) -> str:
        """The feature as one line of prompt context: layer:fid, position, pixel box, attributes."""
        x0, y0, x1, y1 = self.bbox_px
        attrs = "; ".join(f"{k}={v}" for k, v in self.attributes.items())
        share = f", {100 * self.share:.0f}% of image" if self.share >= 0.005 else ""
        return f"[{self.layer}:{self.fid}] {self.where}, box {x0},{y0},{x1},{y1}{share}" + \
            (f"; {attrs}" if attrs else "")


@dataclass
class LayerContext:
    """The features that ground an answer, in rank order, with the prompt text they make."""

    items: list[ContextItem] = field(default_factory=list)   # in rank order, all in the text
    left_out: int = 0                                         # intersecting but over the budget
    total: int = 0                                            # intersecting the capture
    text: str = ""
    tokens: int = 0

    @property
    def sources(self) -> list[dict]:
        """Source records of the features that went into the text."""
        return [item.source for item in self.items]


@dataclass
class _Candidate:
    layer: ContextLayer
    feature: Any
    clipped: BaseGeometry
    share: float
    distance: float


def layer_context(layers: Sequence[ContextLayer], transform: Affine, width: int, height: int, *,
                  crs_wkt: str = "", budget: int = DEFAULT_BUDGET,
                  count_tokens: Callable[[str], int] = estimate_tokens) -> LayerContext:
    """The features of ``layers`` inside the ``width`` x ``height`` capture at ``transform``."""
    footprint = Polygon([transform * c for c in ((0, 0), (width, 0), (width, height), (0, height))])
    candidates = []
    for layer in layers:
        candidates += _candidates(layer, footprint, transform, width, height, crs_wkt)
    candidates.sort(key=lambda c: (-round(c.share, 4), c.distance, c.layer.name, c.feature.fid))
    out = LayerContext(total=len(candidates))
    if not candidates:
        return out
    head = (f"Features from the analyst's GIS layers inside this image ({width} x {height} px; "
            "box = x0,y0,x1,y1 in pixels, x to the right, y down):")
    lines, used = [head], count_tokens(head) + 12  # room for the "N more" line
    for cand in candidates:
        item = _item(cand, transform, width, height)
        line = item.line()
        cost = count_tokens(line) + 1
        if used + cost > budget:
            break
        lines.append(line)
        used += cost
        out.items.append(item)
    out.left_out = out.total - len(out.items)
    if out.left_out:
        lines.append(f"({out.left_out} more features in the image are not listed.)")
    out.text = "\n".join(lines)
    out.tokens = count_tokens(out.text)
    return out


def _candidates(layer: ContextLayer, footprint: Polygon, transform: Affine, width: int,
                height: int, crs_wkt: str) -> list[_Candidate]:
    reproject = _reprojector(layer.crs_wkt, crs_wkt)
    fp = prep(footprint)
    area = footprint.area or 1.0
    cx, cy = width / 2.0, height / 2.0
    diag = math.hypot(cx, cy) or 1.0
    inv = ~transform
    found = []
    for feat in layer.features:
        geom = _geometry(feat.wkb, reproject)
        if geom is None or geom.is_empty or not fp.intersects(geom):
            continue
        clipped = geom if fp.contains(geom) else _clip(geom, footprint)
        if clipped.is_empty:
            continue
        c = clipped.centroid
        col, row = inv * (c.x, c.y)
        found.append(_Candidate(layer, feat, clipped, clipped.area / area,
                                math.hypot(col - cx, row - cy) / diag))
    return found


def _geometry(data, reproject) -> BaseGeometry | None:
    """The feature's geometry in the capture CRS; None when it has none or it cannot be read."""
    if not data:
        return None
    try:
        return reproject(_wkb.loads(bytes(data)))
    except Exception:  # noqa: BLE001 - a broken geometry cannot be placed: it is left out
        return None


def _clip(geom: BaseGeometry, footprint: Polygon) -> BaseGeometry:
    try:
        return geom.intersection(footprint)
    except Exception:  # noqa: BLE001 - an invalid ring (self-touching parcel): repair once
        return geom.buffer(0).intersection(footprint)


def _reprojector(src_wkt: str, dst_wkt: str) -> Callable[[BaseGeometry], BaseGeometry]:
    """Identity when the features are already in the capture CRS (the plugin reprojects)."""
    if not src_wkt or not dst_wkt:
        return lambda g: g
    from rasterio.crs import CRS

    src, dst = CRS.from_wkt(src_wkt), CRS.from_wkt(dst_wkt)
    if src == dst:
        return lambda g: g
    from rasterio.warp import transform_geom
    from shapely.geometry import mapping, shape

    return lambda g: shape(transform_geom(src, dst, mapping(g)))


def _item(cand: _Candidate, transform: Affine, width: int, height: int) -> ContextItem:
    x0, y0, x1, y1 = map_to_pixel(cand.clipped, transform).bounds
    box = (max(0, math.floor(x0)), max(0, math.floor(y0)),
           min(width, math.ceil(x1)), min(height, math.ceil(y1)))
    c = cand.clipped.centroid
    col, row = apply_affine([(c.x, c.y)], ~transform)[0]
    return ContextItem(cand.layer.name, int(cand.feature.fid),
                       _attributes(cand.feature.attributes, cand.layer.fields), box,
                       where(col / width, row / height), cand.share, cand.layer.layer_id)


def where(u: float, v: float) -> str:
    """A 3 x 3 cell of the image for the relative position (u right, v down, 0..1)."""
    col = "left" if u < 1 / 3 else ("right" if u > 2 / 3 else "")
    row = "top" if v < 1 / 3 else ("bottom" if v > 2 / 3 else "")
    return "-".join(p for p in (row, col) if p) or "centre"


def _attributes(attrs: dict, fields: Sequence[str] | None) -> dict:
    names = list(attrs) if fields is None else [f for f in fields if f in attrs]
    out = {}
    for name in names:
        value = attrs[name]
        if value is None or value == "" or isinstance(value, (bytes, bytearray)):
            continue
        text = " ".join(str(value).split())
        out[name] = text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS - 1] + "…"
    return out
