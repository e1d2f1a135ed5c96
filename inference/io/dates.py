"""Acquisition dates from raster metadata or from file / layer names, as ISO strings."""
from __future__ import annotations

import os
import re
from datetime import date

# Tags that state when the scene was acquired (checked before names: they are explicit).
_ACQ_TAGS = ("ACQUISITION_DATE", "ACQUISITIONDATE", "DATE_ACQUIRED", "ACQUISITION_TIME",
             "SENSING_TIME", "SENSING_DATE", "DATETIME_ORIGINAL", "DATE")
_YMD = re.compile(r"(?<!\d)((?:19|20)\d\d)[-_:./]?(0[1-9]|1[0-2])[-_:./]?(0[1-9]|[12]\d|3[01])(?!\d)")
_YEAR = re.compile(r"(?<![\dA-Za-z])((?:19[5-9]|20\d)\d)(?!\d)")


def parse_date(text: str) -> str | None:
    """First plausible date in ``text``: ``YYYY-MM-DD`` when complete, else ``YYYY``."""
    for m in _YMD.finditer(text or ""):
        try:
            return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
        except ValueError:  # 20090231 and the like: not a date
            continue
    year = _YEAR.search(text or "")
    return year[1] if year else None


def _tags(path: str) -> dict[str, str]:
    try:
        import rasterio

        with rasterio.open(path) as ds:
            return {k.upper(): v for k, v in ds.tags().items()}
    except Exception:  # noqa: BLE001 - unreadable files are reported by raster_read, not here
        return {}


def acquisition_date(path: str, name: str = "") -> str | None:
    """ISO date (``2009-08-18``, or ``1985`` when only the year is known) or None.

    Order: acquisition tags, then a date in the layer name or file name, then
    TIFFTAG_DATETIME last, because that tag is often the file's processing time. A full date
    from a later source beats a bare year from an earlier one ("naip 2009" vs "..._20090818").
    """
    tags = _tags(path) if path and os.path.isfile(path) else {}
    stem = os.path.splitext(os.path.basename(path or ""))[0]
    candidates = [tags.get(k, "") for k in _ACQ_TAGS] + [name, stem]
    found = [d for d in map(parse_date, candidates) if d]
    full = [d for d in found if len(d) == 10]
    if full or found:
        return (full or found)[0]
    return parse_date(tags.get("TIFFTAG_DATETIME", ""))
