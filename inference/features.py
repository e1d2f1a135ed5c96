"""Features handed from a vector layer to inference as plain data (no QGIS objects)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FeatureIn:
    """One input feature as plain data: fid, WKB geometry and attributes."""

    fid: int
    wkb: bytes | None
    attributes: dict = field(default_factory=dict)
