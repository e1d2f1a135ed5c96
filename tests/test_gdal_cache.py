"""Bounded memory everywhere (issue 14): every EO Lens read runs with GDAL's block cache capped at
the plugin setting *Raster read cache* (default 128 MB), and QGIS's own size comes back after."""
from __future__ import annotations

import os

import pytest
from osgeo import gdal

from tests.gui_helpers import plugin_settings

MB = 2**20


def test_reads_cap_the_block_cache_and_restore_it(sample_dir, monkeypatch):
    from eolens.inference.io.raster_read import CACHE_ENV, open_raster

    monkeypatch.setenv(CACHE_ENV, "48")
    before = gdal.GetCacheMax()
    assert before != 48 * MB
    with open_raster(sample_dir / "rasterio_RGB.byte.tif") as ds:
        assert gdal.GetCacheMax() == 48 * MB
        ds.read(1)
    assert gdal.GetCacheMax() == before


@pytest.mark.parametrize("value, mb", [("", 128), ("4", 16), ("lots", 128)])
def test_the_cache_size_has_a_floor_and_a_default(monkeypatch, value, mb):
    from eolens.inference.io.raster_read import CACHE_ENV, gdal_cache_mb

    monkeypatch.setenv(CACHE_ENV, value)
    assert gdal_cache_mb() == mb


def test_the_plugin_setting_reaches_processing_reads(provider, shared_data, tmp_path, monkeypatch):
    """Settings ▸ Raster read cache 64 MB: a Processing run reads every file with that cache."""
    import processing
    from eolens.inference.io import raster_read
    from eolens.plugin import settings

    assert settings.CACHE_ENV == raster_read.CACHE_ENV
    seen = []
    real = raster_read._open

    def spy(path):
        seen.append(gdal.GetCacheMax())
        return real(path)

    monkeypatch.setattr(raster_read, "_open", spy)
    monkeypatch.delenv(raster_read.CACHE_ENV, raising=False)
    a, b = sorted(str(p) for p in (shared_data / "change" / "naip_nd_2009_2020").glob("*.tif"))
    with plugin_settings(gdal_cache_mb=64):
        processing.run("eolens:change", {"INPUT": a, "INPUT_B": b, "TILE_SIZE": 256,
                                         "OUTPUT": str(tmp_path / "c.gpkg")})
    assert seen and set(seen) == {64 * MB}
    assert os.environ[raster_read.CACHE_ENV] == "64"


def test_the_settings_dialog_saves_and_applies_the_cache(qtbot, monkeypatch):
    from eolens.inference.io.raster_read import CACHE_ENV
    from eolens.plugin import settings
    from eolens.plugin.settings_dialog import SettingsDialog

    monkeypatch.delenv(CACHE_ENV, raising=False)
    with plugin_settings():
        dialog = SettingsDialog()
        qtbot.addWidget(dialog)
        assert dialog.gdal_cache.value() == settings.load().gdal_cache_mb
        dialog.gdal_cache.setValue(300)
        dialog.accept()
        assert settings.load().gdal_cache_mb == 300 and os.environ[CACHE_ENV] == "300"
