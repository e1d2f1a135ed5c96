"""Outputs QGIS has open: a GeoPackage layer is updated in place, a locked whole file is named.

No Windows machine here: WinError 32 ("the file is in use") is simulated by a patched os.replace
that refuses only the locked path, the way Windows refuses to rename over a file GDAL holds open
(GDAL's Windows file handler opens with FILE_SHARE_READ | FILE_SHARE_WRITE, no FILE_SHARE_DELETE).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from eolens.inference.io import export, file_locks, gpkg_update, staging
from eolens.inference.errors import EOLensError
from eolens.inference.io.georef import GeoFeature
from osgeo import ogr
from shapely.geometry import box

CRS = "EPSG:32633"
TRANSFORM = Affine(10, 0, 500000, 0, -10, 5000000)


def _features(n: int, label: str = "new") -> list[GeoFeature]:
    return [GeoFeature(box(500000 + i * 20, 4990000, 500010 + i * 20, 4990010),
                       {"label": label, "score": i / 10}) for i in range(n)]


def _project(path: Path) -> Path:
    """A GeoPackage as the analyst has it: a 'roads' layer of their own and an earlier result."""
    export.write_vector(_features(3, "road"), path, CRS, layer="roads")
    export.write_vector(_features(2, "old"), path, CRS, layer="change", overwrite=True,
                        keep_layers=True)
    return path


def _layer_digest(path: Path, name: str) -> tuple[int, str]:
    """Feature count and a checksum of every attribute and geometry of one layer."""
    ds = ogr.Open(str(path))
    lyr = ds.GetLayerByName(name)
    h = hashlib.sha256()
    for f in lyr:
        h.update(repr(sorted(f.items().items())).encode() + bytes(f.GetGeometryRef().ExportToWkb()))
    return lyr.GetFeatureCount(), h.hexdigest()


def _layers(path: Path) -> list[str]:
    ds = ogr.Open(str(path))
    return sorted(ds.GetLayer(i).GetName() for i in range(ds.GetLayerCount()))


def win_error(code: int, path: str) -> PermissionError:
    err = PermissionError(13, "The process cannot access the file because it is being used by "
                              "another process", path)
    err.winerror = code  # what Windows sets; POSIX ignores the constructor's winerror argument
    return err


@pytest.fixture
def locked(monkeypatch):
    """``locked[path] = n``: os.replace of that path (either side) fails n times (-1: always)."""
    table: dict[str, int] = {}
    sleeps: list[float] = []
    real = os.replace

    def replace(src, dst, **kw):
        for path in (os.fspath(src), os.fspath(dst)):
            left = table.get(path, 0)
            if left:
                table[path] = left - 1 if left > 0 else -1
                raise win_error(32, path)
        return real(src, dst, **kw)

    monkeypatch.setattr(export.os, "replace", replace)
    monkeypatch.setattr(file_locks, "_sleep", sleeps.append)
    return table, sleeps


# --- a layer into a GeoPackage QGIS has open -------------------------------------------------------

def test_layer_is_replaced_in_place_while_the_file_is_open_and_locked(tmp_path, locked):
    table, _ = locked
    project = _project(tmp_path / "project.gpkg")
    roads = _layer_digest(project, "roads")
    reader = ogr.Open(str(project))            # QGIS showing the layers
    assert reader.GetLayerByName("change").GetFeatureCount() == 2
    table[str(project)] = -1                   # Windows: the file itself can never be replaced
    report = export.write_vector(_features(5), project, CRS, layer="change", overwrite=True,
                                 keep_layers=True)
    assert report.replaced_layer and report.kept_layers == ["roads"]
    assert _layers(project) == ["change", "roads"]
    assert _layer_digest(project, "roads") == roads
    assert _layer_digest(project, "change")[0] == 5
    assert reader.GetLayerByName("roads").GetFeatureCount() == 3   # the open reader still works
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project.gpkg"]  # nothing beside it


def test_a_new_layer_is_added_in_place_and_reported(tmp_path):
    project = _project(tmp_path / "project.gpkg")
    report = export.write_vector(_features(4), project, CRS, layer="grounded", overwrite=True,
                                 keep_layers=True)
    assert not report.replaced_layer and sorted(report.kept_layers) == ["change", "roads"]
    assert _layers(project) == ["change", "grounded", "roads"]
    assert _layer_digest(project, "grounded")[0] == 4


def test_a_failure_mid_write_leaves_the_geopackage_exactly_as_it_was(tmp_path, monkeypatch):
    project = _project(tmp_path / "project.gpkg")
    before = {n: _layer_digest(project, n) for n in _layers(project)}
    real_copy = gpkg_update.copy_features

    def dies_half_way(src, dst):
        src.SetAttributeFilter("score < 0.3")   # three of the five features are written...
        real_copy(src, dst)
        raise EOLensError("disk full")          # ...then the disk is full

    monkeypatch.setattr(gpkg_update, "copy_features", dies_half_way)
    with pytest.raises(EOLensError) as err:
        export.write_vector(_features(5), project, CRS, layer="change", overwrite=True,
                            keep_layers=True)
    assert "disk full" in str(err.value) and "was not changed" in str(err.value)
    assert str(project) in str(err.value)
    assert {n: _layer_digest(project, n) for n in _layers(project)} == before  # no temp layer
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project.gpkg"]


def test_one_failing_output_keeps_the_layer_update_from_happening(tmp_path, locked):
    """All or nothing across a run: the raster cannot be placed, so the layer is not written."""
    table, _ = locked
    project = _project(tmp_path / "project.gpkg")
    before = {n: _layer_digest(project, n) for n in _layers(project)}
    heat = tmp_path / "heat.tif"
    export.write_raster(np.zeros((4, 4), np.float32), TRANSFORM, CRS, heat)
    heat_bytes = heat.read_bytes()
    table[str(heat)] = -1
    with staging.OutputSet() as outs:
        export.write_vector(_features(5), project, CRS, layer="change", overwrite=True,
                            outputs=outs, keep_layers=True)
        export.write_raster(np.ones((4, 4), np.float32), TRANSFORM, CRS, heat, overwrite=True,
                            outputs=outs)
        with pytest.raises(file_locks.OutputLockedError):
            outs.commit()
    assert {n: _layer_digest(project, n) for n in _layers(project)} == before
    assert heat.read_bytes() == heat_bytes


def test_layer_rename_falls_back_to_sql_without_ogr_rename(tmp_path, monkeypatch):
    """GDAL < 3.5 has no Layer.Rename: the GPKG driver's ALTER TABLE ... RENAME TO is used."""
    monkeypatch.delattr(ogr.Layer, "Rename")
    project = _project(tmp_path / "project.gpkg")
    export.write_vector(_features(6), project, CRS, layer="change", overwrite=True,
                        keep_layers=True)
    assert _layers(project) == ["change", "roads"] and _layer_digest(project, "change")[0] == 6
    ds = ogr.Open(str(project))
    lyr = ds.GetLayerByName("change")
    lyr.SetSpatialFilterRect(500000, 4990000, 500015, 4990015)   # through the renamed R-tree
    assert lyr.GetFeatureCount() == 1
    rows = ds.ExecuteSQL("SELECT table_name FROM gpkg_contents ORDER BY table_name")
    assert [f.GetField(0) for f in rows] == ["change", "roads"]
    ds.ReleaseResultSet(rows)


def test_in_place_geopackage_passes_the_gdal_validator(tmp_path):
    validate = pytest.importorskip("osgeo_utils.samples.validate_gpkg")
    project = _project(tmp_path / "project.gpkg")
    export.write_vector(_features(5), project, CRS, layer="change", overwrite=True,
                        keep_layers=True)
    validate.check(str(project))   # raises on any GeoPackage conformance error


def test_a_file_that_is_not_a_geopackage_is_named(tmp_path):
    fake = tmp_path / "notes.gpkg"
    fake.write_text("not a database")
    with pytest.raises(export.InputError, match="notes.gpkg' exists but is not a GeoPackage"):
        export.write_vector(_features(1), fake, CRS, layer="x", overwrite=True, keep_layers=True)
    assert fake.read_text() == "not a database"


# --- whole files that stay open ------------------------------------------------------------------

def test_a_short_lock_is_retried_and_the_file_replaced(tmp_path, locked):
    table, sleeps = locked
    heat = tmp_path / "heat.tif"
    export.write_raster(np.zeros((4, 4), np.float32), TRANSFORM, CRS, heat)
    table[str(heat)] = 2                         # an antivirus scan, then free
    export.write_raster(np.ones((4, 4), np.float32), TRANSFORM, CRS, heat, overwrite=True)
    import rasterio

    with rasterio.open(heat) as src:
        assert src.read(1).min() == 1
    assert sleeps == [0.1, 0.25]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["heat.tif"]


def test_a_raster_open_in_qgis_is_named_and_nothing_changes(tmp_path, locked):
    table, sleeps = locked
    heat = tmp_path / "heat.tif"
    export.write_raster(np.zeros((4, 4), np.float32), TRANSFORM, CRS, heat)
    before = heat.read_bytes()
    table[str(heat)] = -1
    with pytest.raises(file_locks.OutputLockedError) as err:
        export.write_raster(np.ones((4, 4), np.float32), TRANSFORM, CRS, heat, overwrite=True)
    text = str(err.value)
    assert f"'{heat}' is open in QGIS" in text and "choose another output name" in text
    assert "No output was changed" in text and "discarded" in text
    assert len(sleeps) == len(file_locks.LOCK_DELAYS)
    assert heat.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["heat.tif"]   # no staging left


def test_a_shapefile_part_held_open_restores_every_part(tmp_path, locked):
    table, _ = locked
    shp = tmp_path / "roads.shp"
    export.write_vector(_features(3), shp, CRS)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    table[str(tmp_path / "roads.shx")] = -1      # QGIS holds the index; .dbf/.prj moved first
    with pytest.raises(file_locks.OutputLockedError, match="roads.shx' is open in QGIS"):
        export.write_vector(_features(7), shp, CRS, overwrite=True)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_on_linux_a_permission_error_is_not_taken_for_a_lock(tmp_path, monkeypatch):
    """No winerror: a real permission problem, reported at once as before (no waiting)."""
    heat = tmp_path / "heat.tif"
    export.write_raster(np.zeros((4, 4), np.float32), TRANSFORM, CRS, heat)
    sleeps: list[float] = []
    real = os.replace

    def denied(src, dst, **kw):
        if os.fspath(src) == str(heat):
            raise PermissionError(13, "Permission denied", os.fspath(src))
        return real(src, dst, **kw)

    monkeypatch.setattr(export.os, "replace", denied)
    monkeypatch.setattr(file_locks, "_sleep", sleeps.append)
    with pytest.raises(EOLensError) as err:
        export.write_raster(np.ones((4, 4), np.float32), TRANSFORM, CRS, heat, overwrite=True)
    assert not isinstance(err.value, file_locks.OutputLockedError) and sleeps == []
    assert "Permission denied; no output was changed" in str(err.value)


@pytest.mark.parametrize("make, reason", [
    (lambda p: p.write_bytes(b""), "the file is empty"),
    (lambda p: p.write_text("not a database", encoding="utf-8"),
     "it is not a GeoPackage or Shapefile GDAL can open for writing"),
    (lambda p: p.mkdir(), "it is a folder"),
], ids=["empty", "text", "folder"])
def test_a_file_gdal_cannot_open_is_named_with_a_reason(tmp_path, make, reason):
    """GDAL sometimes gives no message: 'unknown error' told the analyst nothing (issue 23)."""
    from osgeo import gdal

    target = tmp_path / "labels.gpkg"
    make(target)
    gdal.ErrorReset()
    with pytest.raises(EOLensError) as err:
        export.check_gdal(None, "open for resuming", str(target))
    assert str(err.value) == f"Could not write '{target}' (open for resuming): {reason}."
