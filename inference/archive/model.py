"""The model of an archive index: the settings it is built with and how its model loads.

Both sides of an index need these: ``archive_index`` (building) and ``index_query`` (searching).
They live below both so neither imports the other.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from ..cancel import CancelToken, ProgressFn


@dataclass(frozen=True)
class IndexSettings:
    """How tiles are cut and embedded; plain data so it travels to Dask workers."""

    model: str
    tile: int = 224
    overlap: int = 0
    batch_size: int = 32
    min_valid: float = 0.25
    device: str = "auto"
    offline: Optional[bool] = None
    bands: Optional[tuple[int, ...]] = None


def load_backend(settings: IndexSettings, progress: Optional[ProgressFn] = None,
                 cancel: Optional[CancelToken] = None) -> Any:
    """The image-embedding backend of ``settings.model`` (cached by the runtime)."""
    from ..models.runtime import load_model

    return load_model(settings.model, task="embed_image", device=settings.device,
                      offline=settings.offline, progress=progress, cancel=cancel)
