"""Segment all X: text -> boxes (Florence-2 or GroundingDINO) -> one SAM session -> instance masks."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .models.backend import Backend
from .cancel import CancelToken, ProgressFn, ensure_token, noop_progress, sub_progress
from .errors import InputError, ModelError
from .results import PixelBox, PixelResult, Request
from .segment_session import SegmentSession

BOX_BATCH = 16        # boxes per mask-decoder call: bounded memory, cancel checked between
DUPLICATE_IOU = 0.7   # two masks overlapping more than this are one instance found twice


def segment_by_text(detector: Backend, sam: Backend, image: np.ndarray, prompt: str, *,
                    box_threshold: float = 0.3, progress: ProgressFn | None = None,
                    cancel: CancelToken | None = None,
                    duplicate_iou: float = DUPLICATE_IOU) -> PixelResult:
    """Masks of every instance of ``prompt`` in ``image`` (H, W, 3) uint8.

    Returns masks/boxes/scores aligned per instance (box label = detector phrase, score =
    detector confidence, ``extra["mask_scores"]`` = SAM's predicted IoU) and ``mask`` = union.
    """
    progress, cancel = progress or noop_progress, ensure_token(cancel)
    found = detector.run(Request("detect", image, prompt, options={"box_threshold": box_threshold}),
                         sub_progress(progress, 0, 40), cancel)
    boxes = [b for b in found.boxes if b.score >= box_threshold and b.x1 > b.x0 and b.y1 > b.y0]
    if not boxes:
        return PixelResult(mask=np.zeros(image.shape[:2], bool), warnings=[f"No '{prompt}' found."])
    cancel.check()
    session = SegmentSession(sam, image)
    progress(55.0)
    masks, mask_scores = _masks_for(session, boxes, sub_progress(progress, 55, 95), cancel)
    result = _instances(boxes, masks, mask_scores, duplicate_iou)
    result.warnings.extend(found.warnings)
    progress(100.0)
    return result


def _masks_for(session: SegmentSession, boxes: list[PixelBox], progress: ProgressFn,
               cancel: CancelToken) -> tuple[list[np.ndarray], list[float]]:
    masks: list[np.ndarray] = []
    scores: list[float] = []
    for start in range(0, len(boxes), BOX_BATCH):
        cancel.check()
        chunk = boxes[start:start + BOX_BATCH]
        out = session.predict(boxes=[(b.x0, b.y0, b.x1, b.y1) for b in chunk])
        if out.scores is None:  # SAM's decoder scores every mask it returns
            raise ModelError("The segmentation model returned masks without scores.")
        masks.extend(out.masks)
        scores.extend(float(s) for s in out.scores)
        progress(100.0 * (start + len(chunk)) / len(boxes))
    return masks, scores


def _instances(boxes: list[PixelBox], masks: list[np.ndarray], mask_scores: list[float],
               duplicate_iou: float) -> PixelResult:
    idx = [i for i, m in enumerate(masks) if m.any()]
    dropped = len(masks) - len(idx)
    keep = [idx[k] for k in suppress_duplicates([masks[i] for i in idx],
                                                 np.array([boxes[i].score for i in idx]),
                                                 duplicate_iou)]
    result = PixelResult(boxes=[boxes[i] for i in keep], masks=[masks[i] for i in keep],
                         scores=np.array([boxes[i].score for i in keep], dtype=np.float32),
                         extra={"mask_scores": [mask_scores[i] for i in keep]})
    result.mask = masks_union(result) if keep else np.zeros(masks[0].shape, bool)
    if dropped:
        result.warnings.append(f"{dropped} detection(s) gave an empty mask and were dropped.")
    return result


def suppress_duplicates(masks: Sequence[np.ndarray], scores: np.ndarray,
                        iou_threshold: float = DUPLICATE_IOU) -> list[int]:
    """Greedy mask NMS: indices to keep, best score first."""
    extents = [_extent(m) for m in masks]
    keep: list[int] = []
    for i in np.argsort(-np.asarray(scores, dtype=float), kind="stable"):
        if all(_mask_iou(masks[i], masks[j], extents[i], extents[j]) <= iou_threshold
               for j in keep):
            keep.append(int(i))
    return keep


def _extent(mask: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return (0, 0, 0, 0)
    return (int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1)


def _mask_iou(a: np.ndarray, b: np.ndarray, ea: tuple, eb: tuple) -> float:
    # compare only inside the union of both extents: instances are small, images large
    r0, c0 = min(ea[0], eb[0]), min(ea[1], eb[1])
    r1, c1 = max(ea[2], eb[2]), max(ea[3], eb[3])
    if max(ea[0], eb[0]) >= min(ea[2], eb[2]) or max(ea[1], eb[1]) >= min(ea[3], eb[3]):
        return 0.0
    a, b = a[r0:r1, c0:c1], b[r0:r1, c0:c1]
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 0.0


def masks_union(result: PixelResult) -> np.ndarray:
    """One (H, W) bool mask: every instance of ``result`` together."""
    if not result.masks:
        if result.mask is not None:
            return np.asarray(result.mask, dtype=bool)
        raise InputError("This result holds no masks.")
    out = np.zeros(result.masks[0].shape, dtype=bool)
    for m in result.masks:
        out |= m
    return out
