"""Qwen-VL grounding answers (``bbox_2d`` JSON) -> PixelBoxes in the original image's pixels.

Coordinates are version-aware:
- Qwen2.5-VL answers in absolute pixels of the *resized* model input (``input_hw``);
- Qwen3-VL answers in 0-1000 relative coordinates.
Parsing never raises: anything unusable becomes a warning.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Literal

from ..results import PixelBox

Version = Literal["2.5", "3"]
_DECODER = json.JSONDecoder()


def parse_boxes(text: str, *, version: Version, input_hw: tuple[int, int],
                original_hw: tuple[int, int]) -> tuple[list[PixelBox], list[str]]:
    """Every ``bbox_2d`` in ``text`` as a box in ``original_hw`` pixels, clamped to the image."""
    if version not in ("2.5", "3"):
        raise ValueError(f"unknown Qwen-VL version {version!r}")
    warnings: list[str] = []
    items = [obj for value in _json_values(text) for obj in _bbox_objects(value)]
    missing = text.count("bbox_2d") - len(items)
    if missing > 0:  # malformed or truncated (max_new_tokens) JSON
        warnings.append(f"{missing} box(es) in the model's answer were not valid JSON "
                        "and were skipped.")
    sx, sy = _scales(version, input_hw, original_hw)
    h, w = original_hw
    boxes = []
    for obj in items:
        box = _to_box(obj, sx, sy, w, h)
        if box is None:
            warnings.append(f"Skipped an unusable box: {json.dumps(obj)[:80]}")
        else:
            boxes.append(box)
    return boxes, warnings


def _json_values(text: str) -> Iterator[Any]:
    """Each top-level JSON array/object in free text (fences, prose and truncation tolerated)."""
    i = 0
    while i < len(text):
        if text[i] in "[{":
            try:
                value, end = _DECODER.raw_decode(text, i)
            except ValueError:
                i += 1  # a truncated array still yields the complete objects inside it
                continue
            yield value
            i = end
        else:
            i += 1


def _bbox_objects(value: Any) -> Iterator[dict]:
    if isinstance(value, dict):
        if "bbox_2d" in value:
            yield value
            return
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            yield from _bbox_objects(item)


def _scales(version: Version, input_hw: tuple[int, int],
            original_hw: tuple[int, int]) -> tuple[float, float]:
    (ih, iw), (oh, ow) = input_hw, original_hw
    if version == "3":
        return ow / 1000.0, oh / 1000.0
    return ow / float(iw), oh / float(ih)


def _to_box(obj: dict, sx: float, sy: float, w: int, h: int) -> PixelBox | None:
    coords = obj.get("bbox_2d")
    if not isinstance(coords, (list, tuple)) or len(coords) != 4:
        return None
    try:
        x0, y0, x1, y1 = (float(c) for c in coords)
    except (TypeError, ValueError):
        return None
    x0, x1 = sorted((_clamp(x0 * sx, w), _clamp(x1 * sx, w)))
    y0, y1 = sorted((_clamp(y0 * sy, h), _clamp(y1 * sy, h)))
    if x1 <= x0 or y1 <= y0:
        return None
    label = obj.get("label", "")
    return PixelBox(x0, y0, x1, y1, label=label if isinstance(label, str) else str(label))


def _clamp(v: float, hi: int) -> float:
    return min(max(v, 0.0), float(hi))
