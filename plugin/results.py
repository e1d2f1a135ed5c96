"""Turn an ActionResult into styled QGIS layers in the EO Lens group (main thread only)."""
from __future__ import annotations

import os
import tempfile
from typing import Optional

import numpy as np
from qgis.core import QgsProject, QgsRasterLayer, QgsVectorLayer

from . import layers, messages, styles
from ..inference.actions import ActionResult

_OUT_DIR: Optional[str] = None


def output_dir() -> str:
    """Where result rasters are written (rasters need a file): beside a saved project, so they
    survive a reload, else a temporary folder for this QGIS session. Main thread only."""
    global _OUT_DIR
    home = QgsProject.instance().homePath()
    if home and os.path.isdir(home) and os.access(home, os.W_OK):
        folder = os.path.join(home, "eolens-results")
        os.makedirs(folder, exist_ok=True)
        return folder
    if _OUT_DIR is None or not os.path.isdir(_OUT_DIR):
        _OUT_DIR = tempfile.mkdtemp(prefix="eolens-")
    return _OUT_DIR


def raster_path(stem: str, folder: str) -> str:
    """A new, unused file name in ``folder`` (never an existing file)."""
    import datetime as _dt

    safe = "".join(c if c.isalnum() else "_" for c in stem)[:40] or "result"
    base = os.path.join(folder, f"{safe}-{_dt.datetime.now():%Y%m%d-%H%M%S}")
    path, n = base + ".tif", 1
    while os.path.exists(path):
        path, n = f"{base}-{n}.tif", n + 1
    return path


def write_raster_for(result: ActionResult, stem: str, folder: str) -> Optional[str]:
    """Worker side: write the result raster to a new file in ``folder`` (from ``output_dir()``,
    taken on the main thread); returns the path."""
    if result.raster is None:
        return None
    from ..inference.io.export import write_raster

    r, path = result.raster, raster_path(stem, folder)
    write_raster(r.array, r.transform, r.crs_wkt, path, nodata=r.nodata)
    return path


def discard_file(path: Optional[str]) -> None:
    """Remove a result raster that will not be shown (e.g. an empty mask)."""
    if path and os.path.isfile(path):
        try:
            os.remove(path)
        except OSError:
            messages.log(f"Could not remove {path}")


def outside_view(iface, layer) -> bool:
    """True when ``layer``'s features lie (entirely) outside the current map view."""
    if layer is None:
        return False
    canvas = iface.mapCanvas()
    extent = layers.extent_in(layer, canvas.mapSettings().destinationCrs())
    view = canvas.extent()
    return not extent.isEmpty() and not view.isEmpty() and not view.contains(extent)


def report_with_zoom(iface, text: str, layer) -> None:
    """A success message; with a *Zoom to result* button when the result is not all in view."""
    action = None
    if outside_view(iface, layer):
        action = (messages.tr("Zoom to result"), lambda: messages.zoom_to(iface, layer))
    messages.report_info(iface, text, action=action, duration=10 if action else 5)


def details(result: ActionResult) -> str:
    """Prompt, model and time of a result, for the layer's abstract (its tooltip)."""
    keys = ("prompt", "query", "question", "method", "classes", "model", "time")
    return "\n".join(f"{k}: {result.meta[k]}" for k in keys if result.meta.get(k) not in (None, "", []))


def add_vector(result: ActionResult, name: str, role: str, style: str = "outline",
               source: str = "") -> QgsVectorLayer:
    """The result's features as a GeoPackage layer in the group of its workflow and source layer."""
    layer = layers.memory_layer(name, result.crs_wkt, result.features)
    {"outline": styles.outline, "fill": styles.translucent,
     "change": lambda lyr: styles.translucent(lyr, styles.CHANGE_COLOUR)}[style](layer)
    return layers.add_result(layer, role, source=source, details=details(result))


def add_raster(path: str, result: ActionResult, name: str, role: str, source: str = "") -> QgsRasterLayer:
    layer = layers.raster_layer(path, name)
    kind = result.raster.kind if result.raster is not None else "mask"
    if kind == "mask":
        styles.mask_raster(layer)
    elif kind == "heat":
        arr = result.raster.array
        finite = arr[np.isfinite(arr)]
        lo, hi = (float(np.percentile(finite, 2)), float(np.percentile(finite, 98))) if finite.size else (0, 1)
        styles.heat_raster(layer, lo, hi)
    return layers.add_result(layer, role, source=source, details=details(result))
