"""Nothing beside the analyst's inputs: QGIS computes approximate statistics when Processing loads
a raster layer, and GDAL saves them as ``<input>.aux.xml`` beside the input when it closes it.

While an algorithm is prepared (where its layers are loaded), GDAL's auxiliary files are switched
off for this thread when none of its inputs has one already; an existing ``.aux.xml`` holds the
analyst's own metadata (nodata, georeferencing of a PNG), so it is kept being read.

Known limit: ``qgis_process`` (QGIS 3.22) opens a path given as a layer parameter itself, before
any plugin code runs, and GDAL saves QGIS's statistics beside it when the process ends; that
happens for QGIS's own algorithms too and is out of the plugin's reach. The dock and
``processing.run`` load layers inside the block below and leave nothing.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

PAM = "GDAL_PAM_ENABLED"


@contextmanager
def no_new_sidecars(paths: Iterable[str]) -> Iterator[bool]:
    """Datasets opened inside the block write no ``.aux.xml`` (yields True), unless one of
    ``paths`` already has one (yields False: it is read as before)."""
    from osgeo import gdal

    paths = list(paths)
    if any(os.path.exists(p + ".aux.xml") for p in paths if p):
        yield False
        return
    before = gdal.GetThreadLocalConfigOption(PAM, None)
    gdal.SetThreadLocalConfigOption(PAM, "NO")
    try:
        yield True
    finally:
        gdal.SetThreadLocalConfigOption(PAM, before)
