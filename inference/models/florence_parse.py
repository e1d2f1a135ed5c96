"""Parse Florence-2 generated text (``label<loc_x0><loc_y0><loc_x1><loc_y1>``, ``<poly>…</poly>``)
into pixel geometry of the ORIGINAL image.

Florence quantises coordinates into 1000 bins over width and height; a bin maps back to its centre,
``(bin + 0.5) * size / 1000``, in pixel-corner coordinates (results.PixelBox convention). The
transformers post-processor does the same but truncates to int. Malformed text never raises: it
yields fewer (or no) shapes plus a warning.
"""
from __future__ import annotations

import re
from collections.abc import Collection
from typing import Union

import numpy as np

from ..results import PixelBox, PixelPolygon, PixelResult

SEGMENTATION_TASK = "<REFERRING_EXPRESSION_SEGMENTATION>"  # its output is polygons, not boxes

BINS = 1000
_TOKEN = re.compile(r"<loc_(\d+)>|<poly>|</poly>|<sep>|</?[a-z_]+>|[^<]+|<")
_NOISE = ("<s>", "</s>", "<pad>", "<unk>")

Token = Union[int, str]  # int = a location bin; str = text or a structural tag


def clean_text(text: str) -> str:
    """Generated text without BOS/EOS/pad markers."""
    for tok in _NOISE:
        text = text.replace(tok, "")
    return text.strip()


def caption_text(text: str) -> str:
    """A caption: no special markers, no stray location tokens."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]*>", "", clean_text(text))).strip()


def bin_to_pixel(index: int, size: int) -> float:
    """Centre of quantisation bin ``index`` (of ``BINS``) along an axis of ``size`` pixels."""
    return (index + 0.5) * size / BINS


def _tokens(text: str) -> list[Token]:
    out: list[Token] = []
    for m in _TOKEN.finditer(clean_text(text)):
        out.append(int(m.group(1)) if m.group(1) is not None else m.group(0))
    return out


def _runs(tokens: list[Token]) -> list[tuple[str, list[int]]]:
    """(label, consecutive bins) pairs: each run of locations with the text just before it."""
    runs: list[tuple[str, list[int]]] = []
    label, bins = "", []
    for tok in tokens:
        if isinstance(tok, int):
            bins.append(tok)
            continue
        if bins:
            runs.append((label, bins))
            label, bins = "", []
        if not tok.startswith("<"):
            label += tok
    if bins:
        runs.append((label, bins))
    return [(lab.strip(), b) for lab, b in runs]


def parse_boxes(text: str, width: int, height: int) -> tuple[list[PixelBox], list[str]]:
    """``label<loc>×4[<loc>×4…]…`` -> boxes; a label may carry several boxes."""
    boxes, warnings = [], []
    for label, bins in _runs(_tokens(text)):
        if len(bins) % 4:
            warnings.append(f"Ignored {len(bins) % 4} stray location token(s) after '{label}'.")
        for i in range(0, len(bins) - len(bins) % 4, 4):
            box = _box(bins[i:i + 4], width, height, label)
            if isinstance(box, str):
                warnings.append(box)
            else:
                boxes.append(box)
    return boxes, warnings


def _box(b: list[int], width: int, height: int, label: str) -> Union[PixelBox, str]:
    if max(b) >= BINS:
        return f"Ignored a box for '{label}' with a location bin outside 0..999."
    if b[2] < b[0] or b[3] < b[1]:
        return f"Ignored an inverted box for '{label}'."
    return PixelBox(bin_to_pixel(b[0], width), bin_to_pixel(b[1], height),
                    bin_to_pixel(b[2], width), bin_to_pixel(b[3], height), label=label)


def _poly_groups(tokens: list[Token]) -> list[tuple[str, list[list[int]]]]:
    """(label, rings): each ``<poly>…</poly>`` (or each bare location run) is one instance,
    ``<sep>`` splits rings within it, and a label holds until new text follows a shape."""
    groups: list[tuple[str, list[list[int]]]] = []
    label, inside, shaped = "", False, False
    rings: list[list[int]] = []
    ring: list[int] = []

    def close(group: bool) -> None:
        nonlocal ring, rings, shaped
        if ring:
            rings.append(ring)
        ring = []
        if group and rings:
            groups.append((label.strip(), rings))
            rings, shaped = [], True

    for tok in tokens:
        if isinstance(tok, int):
            ring.append(tok)
        elif tok == "<sep>":
            close(group=False)
        elif tok in ("<poly>", "</poly>"):
            close(group=not (tok == "<poly>" and inside))
            inside = tok == "<poly>"
        elif not tok.startswith("<") and not inside:
            close(group=True)
            label, shaped = (tok if shaped else label + tok), False
    close(group=True)
    return groups


def parse_polygons(text: str, width: int, height: int) -> tuple[list[PixelPolygon], list[str]]:
    """Location runs (``<poly>…</poly>``, ``<sep>`` between rings) -> polygons of (x, y) pairs."""
    polygons, warnings = [], []
    for label, rings in _poly_groups(_tokens(text)):
        for bins in rings:
            if len(bins) % 2:
                warnings.append(f"Dropped an unpaired location token in a polygon of '{label}'.")
                bins = bins[:-1]
            if len(bins) < 6 or max(bins) >= BINS:
                warnings.append(f"Ignored a malformed polygon of '{label}' ({len(bins) // 2} points).")
                continue
            xy = np.asarray(bins, dtype=np.float64).reshape(-1, 2)
            coords = np.column_stack([(xy[:, 0] + 0.5) * width / BINS, (xy[:, 1] + 0.5) * height / BINS])
            polygons.append(PixelPolygon(coords=coords, label=label))
    return polygons, warnings


GROUNDING_TASK = "<CAPTION_TO_PHRASE_GROUNDING>"


def parse(task_token: str, text: str, width: int, height: int, label: str = "",
          banned: Collection[str] = ()) -> PixelResult:
    """Generated text of one Florence task token -> PixelResult. ``label`` names unlabelled shapes
    (segmentation answers carry only coordinates). ``banned``: phrases grounding answers must
    not box (the processor's ``banned_grounding_tokens``: "the image", pronouns, ...)."""
    result = PixelResult(extra={"raw": text, "task_token": task_token})
    if task_token in ("<CAPTION>", "<DETAILED_CAPTION>", "<MORE_DETAILED_CAPTION>"):
        result.text = caption_text(text)
        if not result.text:
            result.warnings.append("The model returned an empty caption.")
        return result
    wants_polygons = task_token == SEGMENTATION_TASK or "<poly>" in text
    if wants_polygons:
        result.polygons, result.warnings = parse_polygons(text, width, height)
    else:
        result.boxes, result.warnings = parse_boxes(text, width, height)
    if task_token == GROUNDING_TASK and banned:
        result.boxes = [b for b in result.boxes if b.label not in banned]
    for shape in result.boxes + result.polygons:
        shape.label = shape.label or label
    if not (result.boxes or result.polygons):
        kind = "outlines" if wants_polygons else "boxes"
        result.warnings.append(f"No {kind} found in the model output: {clean_text(text)[:200]!r}")
    return result
