"""Processing runs leave no .aux.xml beside the analyst's input rasters (issue 23)."""
from __future__ import annotations

import gc
import shutil

from qgis.core import QgsProcessingFeedback, QgsRasterLayer

NAIP = "change/naip_nd_2009_2020"


def test_a_change_run_writes_nothing_beside_its_inputs(provider, shared_data, tmp_path):
    import processing

    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for src in sorted((shared_data / NAIP).glob("*.tif")):
        shutil.copyfile(src, inputs / src.name)
    a, b = sorted(inputs.glob("*.tif"))
    processing.run("eolens:change", {"INPUT": str(a), "INPUT_B": str(b), "METHOD": "spectral",
                                     "OUTPUT": str(tmp_path / "change.gpkg")},
                   feedback=QgsProcessingFeedback())
    gc.collect()   # the context's layers close here: GDAL would save statistics now
    assert sorted(p.name for p in inputs.iterdir()) == [a.name, b.name]


def test_the_block_stops_gdal_saving_statistics_and_reads_an_existing_sidecar(tmp_path, shared_data):
    from eolens.plugin.processing.algorithms.input_sidecars import no_new_sidecars

    raster = tmp_path / "scene.tif"
    shutil.copyfile(sorted((shared_data / NAIP).glob("*.tif"))[0], raster)
    with no_new_sidecars([str(raster)]) as off:
        layer = QgsRasterLayer(str(raster), "scene", "gdal")
        assert layer.isValid() and off
        del layer
    gc.collect()
    assert not (tmp_path / "scene.tif.aux.xml").exists()
    layer = QgsRasterLayer(str(raster), "scene", "gdal")   # outside the block: GDAL's default
    del layer
    gc.collect()
    assert (tmp_path / "scene.tif.aux.xml").exists()       # so the check above can fail
    with no_new_sidecars([str(raster)]) as off:
        assert off is False   # an existing sidecar is the analyst's metadata: kept being read
