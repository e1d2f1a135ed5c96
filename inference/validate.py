"""Checks that refuse a hostile input with a named error before anything heavy runs.

The analyst reads *why* a file cannot be used (missing, a folder, empty, not a raster, GCPs only,
no CRS), an output that would overwrite an input is refused before any pixel is read, and a
decimated read that would touch every pixel of a huge raster without overviews is refused
before GDAL starts it (GDAL's read cannot be interrupted).
"""
from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Iterable, Sequence

from .errors import InputError, RasterReadError, TooLargeError

# Pixel x band samples one decimated read may touch (GDAL reads every source pixel when there is
# no overview to read from): about 2 G samples, a few seconds of GDAL on a laptop.
MAX_DECIMATED_SAMPLES = 1 << 31
MAX_PROMPT_CHARS = 1000        # Florence-2's text encoder takes 1,024 tokens, template included
_TASK_TOKEN = re.compile(r"<\s*/?\s*[A-Z_]{2,}\s*>")   # <OD>, <CAPTION>, ...: model task tokens
_EXCEPTION_NAME = re.compile(r"\b(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception|Warning)\b:?\s*")
_TORCH_REFUSAL = re.compile(r"\s*\(\s*Weights only load failed.*\)(?=\.?\s*$)|"
                            r"\s*Weights only load failed.*$", re.S)
_WEIGHTS_HINT = re.compile(r"[^.\n]*`?weights_only`?(\s*=\s*|\s+set to\s+)`?False[^.\n]*\.?",
                           re.IGNORECASE)
_TEMP_NAME = re.compile(r"[^\s'\"]*\.eolens-[\w.-]+[^\s'\"]*")


def check_raster_file(path: str, what: str = "INPUT") -> None:
    """Raise a named error unless ``path`` is a raster GDAL reads and EO Lens can georeference."""
    import rasterio

    if not path:
        raise InputError(f"{what}: choose a raster layer.")
    if not os.path.exists(path):
        raise RasterReadError(f"{what}: raster '{path}' does not exist.")
    if os.path.isdir(path):
        raise RasterReadError(f"{what}: '{path}' is a folder, not a raster file.")
    if os.path.getsize(path) == 0:
        raise RasterReadError(f"{what}: raster '{path}' is empty (0 bytes).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = rasterio.open(path)
    except Exception as err:  # noqa: BLE001 - any GDAL failure means the same to the analyst
        raise RasterReadError(f"{what}: '{path}' is not a raster GDAL can read "
                              f"(damaged, truncated or another kind of file).") from err
    with ds:
        require_georeference(ds, path, what)


def require_georeference(ds, path: str, what: str = "INPUT") -> None:
    """GCP/RPC-only rasters need warping; a raster with no CRS at all needs one assigned."""
    gcps, gcp_crs = ds.gcps
    if ds.transform.is_identity and (gcps or ds.rpcs):
        raise InputError(f"{what}: raster '{path}' is georeferenced by ground control points "
                         "(GCPs/RPCs) only; warp it first (Raster > Projections > Warp, or gdalwarp).")
    if not ds.crs:
        raise InputError(f"{what}: raster '{path}' has no CRS; assign one in Layer Properties.")


def raster_warnings(path: str, what: str = "INPUT") -> list[str]:
    """Loud warnings for a raster that opens but whose CRS cannot be trusted."""
    import rasterio

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with rasterio.open(path) as ds:
                wkt = ds.crs.to_wkt() if ds.crs else ""
    except Exception:  # noqa: BLE001 - check_raster_file reports unreadable files
        return []
    if wkt.startswith(("LOCAL_CS", "ENGCRS", "ENGINEERING")):
        return [f"{what}: the CRS of '{path}' is not a known coordinate system (its GeoTIFF keys "
                "name a code missing from the PROJ database, or a local grid); results are "
                "labelled with an engineering CRS. Assign the right CRS to the file if it has one."]
    return []


def check_bands(bands: Sequence[int] | None, count: int, path: str) -> None:
    """Refuse band numbers the raster at ``path`` (``count`` bands) does not have."""
    if bands is None:
        return
    bad = [b for b in bands if not 1 <= int(b) <= count]
    if not bands or bad:
        which = ", ".join(str(b) for b in (bad or bands))
        raise InputError(f"BANDS: band {which} does not exist in '{path}', which has {count} "
                         f"band(s).")


def parse_bands(value) -> list[int] | None:
    """BANDS as given: a list, or text such as ``4,3,2`` / ``4;3;2`` / ``4 3 2``; None = default."""
    if value in (None, "", []):
        return None
    items = value if isinstance(value, (list, tuple)) else re.split(r"[,;\s]+", str(value).strip())
    out = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        try:
            out.append(int(float(text)))
        except ValueError:
            raise InputError(f"BANDS: '{text}' is not a band number (use e.g. 4,3,2).") from None
    return out or None


def check_finite(value: float | None, name: str) -> None:
    """Refuse a NaN or infinite value for parameter ``name``."""
    if value is not None and not math.isfinite(float(value)):
        raise InputError(f"{name} must be a finite number (got {value}).")


def check_prompt(prompt: str, name: str = "PROMPT") -> None:
    """Refuse a prompt that is too long or holds a model task token."""
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InputError(f"{name} is too long ({len(prompt):,} characters; at most "
                         f"{MAX_PROMPT_CHARS:,}).")
    token = _TASK_TOKEN.search(prompt)
    if token:
        raise InputError(f"{name} must not contain the model task token {token.group(0)}; "
                         "type plain words.")


def _real(path: str) -> str:
    return os.path.normcase(os.path.realpath(os.path.abspath(path)))


def check_distinct(inputs: dict[str, str], outputs: dict[str, str]) -> None:
    """No output may be an input or another output (same file after links and ``..``)."""
    seen = {_real(p): name for name, p in inputs.items() if p}
    for name, path in outputs.items():
        if not path:
            continue
        other = seen.get(_real(path))
        if other:
            kind = "input" if other in inputs else "output"
            raise InputError(f"{name}: '{path}' is also the {kind} {other}; choose another file, "
                             "EO Lens never writes over its own inputs.")
        seen[_real(path)] = name


def check_writable(name: str, path: str) -> None:
    """The destination folder exists and is writable, and the destination is not a folder."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(f"{name}: the folder '{folder}' does not exist.")
    if os.path.isdir(path):
        raise InputError(f"{name}: '{path}' is a folder; give a file name.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{name}: cannot write in the folder '{folder}' (permission denied).")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise InputError(f"{name}: '{path}' exists and is read-only.")


def check_read_cost(ds, path: str, window, shape: tuple[int, int], nbands: int) -> None:
    """Refuse a decimated read GDAL would serve from every source pixel of a huge window."""
    w, h = int(window.width), int(window.height)
    if (int(shape[0]), int(shape[1])) == (h, w):
        return  # a plain read: the memory budget bounds it
    factor = min(w / max(1, shape[1]), h / max(1, shape[0]))
    usable = [f for f in (ds.overviews(1) or []) if f <= factor * 1.2]
    level = max(usable) if usable else 1
    samples = w * h * nbands / float(level * level)
    if samples <= MAX_DECIMATED_SAMPLES:
        return
    what = "has no overviews" if not ds.overviews(1) else "has no overview coarse enough"
    raise TooLargeError(
        f"Raster '{path}' is {ds.width:,} x {ds.height:,} pixels and {what}: showing this area at "
        f"{shape[1]} x {shape[0]} would read {samples:,.0f} values. Build overviews (Raster > "
        "Miscellaneous > Build Overviews, or gdaladdo), or choose a smaller EXTENT.")


def plain_message(text: str, names: Iterable[tuple[str, str]] = ()) -> str:
    """A message for the analyst: no exception class names, no PyTorch 'weights_only=False'
    hint, and staging names replaced by the output they stood for (``names``: temp -> output)."""
    for temp, real in names:
        text = text.replace(temp, real)
    text = _TORCH_REFUSAL.sub("", text)  # PyTorch's own text ends in "re-run with weights_only=False"
    text = _WEIGHTS_HINT.sub("", text)
    text = re.sub(r"\(\s*\)", "", text)
    text = _EXCEPTION_NAME.sub("", text)
    text = _TEMP_NAME.sub("a temporary file", text)
    return re.sub(r"\s{2,}", " ", text).strip()
