"""Exports that open right first time: Shapefile limits, UTF-8, CRS, no silent overwrite."""
from __future__ import annotations

import json
import os
from datetime import datetime

import georef_fixtures as fx
import numpy as np
import pytest
import rasterio
from shapely import wkb as shapely_wkb
from eolens.inference.errors import EOLensError, InputError
from eolens.inference.io.export import write_raster, write_vector
from eolens.inference.io.georef import GeoFeature, box_to_polygon
from eolens.inference.io.raster_read import capture_native, open_info
from eolens.inference.results import PixelBox
from osgeo import ogr, osr
from shapely.geometry import MultiPolygon, Polygon, box

GERMAN = "Größere Wasserfläche südlich der Straße, Uferböschung geändert"
CHINESE = "道路南侧的较大水体，河岸发生了变化"
LONG = ("Ein sehr langer Bildtitel über Äcker und Wälder; 一段很长的描述文字。" * 12).strip()


def _crs_wkt() -> str:
    return open_info(fx.RGB_BYTE).crs_wkt


def _features() -> list[GeoFeature]:
    t = capture_native(fx.RGB_BYTE, max_side=200).transform
    return [
        GeoFeature(box_to_polygon(PixelBox(10, 10, 40, 30), t),
                   {"label": "lake", "caption_description": GERMAN, "caption_detection": CHINESE,
                    "score": 0.75, "count": 3, "when": datetime(2020, 8, 31, 10, 30)}),
        GeoFeature(box_to_polygon(PixelBox(50, 60, 90, 100), t),
                   {"label": "field", "caption_description": LONG, "caption_detection": "x",
                    "score": 0.5, "count": 7, "when": datetime(2009, 8, 18)}),
    ]


def _files(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def _read(path, layer=0):
    ds = ogr.Open(str(path))
    lyr = ds.GetLayer(layer)
    rows = [(f.items(), shapely_wkb.loads(bytes(f.GetGeometryRef().ExportToWkb()))) for f in lyr]
    return ds, lyr, rows


def test_shapefile_limits_are_handled(tmp_path):
    path = tmp_path / "out.shp"
    rep = write_vector(_features(), path, _crs_wkt())
    fm = rep.field_map
    assert len(set(fm.values())) == len(fm) and all(len(v.encode()) <= 10 for v in fm.values())
    assert fm["caption_description"] != fm["caption_detection"]  # collided after truncation
    assert any("caption_description" in w and "shortened" in w for w in rep.warnings)
    _ds, _lyr, rows = _read(path)
    (first, _), (second, _) = rows
    assert first[fm["caption_description"]] == GERMAN and first[fm["caption_detection"]] == CHINESE
    assert first[fm["when"]] == "2020-08-31T10:30:00"  # no DateTime in dBase: ISO text
    assert first[fm["count"]] == 3 and first[fm["score"]] == pytest.approx(0.75)
    assert (tmp_path / "out.cpg").read_text().strip().upper() == "UTF-8"
    # the long caption is cut at 254 bytes in the .dbf and kept whole in the sidecar
    cut = second[fm["caption_description"]]
    assert len(cut.encode("utf-8")) <= 254 and LONG.startswith(cut)
    with open(rep.sidecar, encoding="utf-8") as fh:
        side = json.load(fh)
    assert side == [{"fid": 1, "field": fm["caption_description"], "property": "caption_description",
                     "text": LONG}]
    assert any(rep.sidecar in w for w in rep.warnings)


def test_shapefile_prj_matches_source_crs_and_polygons_are_multi(tmp_path):
    path = tmp_path / "crs.shp"
    feats = _features()
    write_vector(feats, path, _crs_wkt())
    src = osr.SpatialReference()
    src.ImportFromWkt(_crs_wkt())
    prj = osr.SpatialReference()
    prj.ImportFromESRI([(tmp_path / "crs.prj").read_text()])
    assert prj.IsSame(src)
    _ds, lyr, rows = _read(path)
    assert lyr.GetSpatialRef().IsSame(src)
    assert lyr.GetGeomType() in (ogr.wkbPolygon, ogr.wkbMultiPolygon)  # SHP has no single/multi split
    got = rows[0][1]
    got = got.geoms[0] if hasattr(got, "geoms") else got  # SHP has no single/multi split
    want = feats[0].geometry
    assert len(got.exterior.coords) == len(want.exterior.coords)  # same ring, any start/direction
    assert got.symmetric_difference(want).area < 1e-9 * want.area


def test_geopackage_keeps_full_strings_and_types(tmp_path):
    path = tmp_path / "out.gpkg"
    mp = MultiPolygon([box(0, 0, 1, 1), box(2, 2, 3, 3)])
    feats = _features() + [GeoFeature(mp, {"label": "two", "flag": True})]
    rep = write_vector(feats, path, _crs_wkt(), layer="detections")
    assert rep.field_map["caption_description"] == "caption_description" and not rep.warnings
    _ds, lyr, rows = _read(path)
    assert lyr.GetName() == "detections" and lyr.GetGeomType() == ogr.wkbMultiPolygon
    assert rows[0][0]["caption_detection"] == CHINESE and rows[1][0]["caption_description"] == LONG
    assert rows[2][0]["flag"] == 1 and rows[0][0]["count"] == 3
    src = osr.SpatialReference()
    src.ImportFromWkt(_crs_wkt())
    assert lyr.GetSpatialRef().IsSame(src)


def test_existing_file_is_not_overwritten(tmp_path):
    path = tmp_path / "keep.shp"
    write_vector(_features()[:1], path, _crs_wkt())
    before = _files(tmp_path)
    with pytest.raises(EOLensError, match="already exists") as err:
        write_vector(_features(), path, _crs_wkt())
    assert isinstance(err.value, FileExistsError)
    assert _files(tmp_path) == before
    rep = write_vector(_features(), path, _crs_wkt(), overwrite=True)
    assert len(_read(path)[2]) == 2 and rep.sidecar
    write_vector(_features()[:1], path, _crs_wkt(), overwrite=True)
    assert not os.path.exists(rep.sidecar)  # a stale sidecar is not left to mislead


def test_failures_leave_nothing_behind(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        write_vector(_features(), tmp_path / "missing" / "x.gpkg", _crs_wkt())
    with pytest.raises(InputError):
        write_vector(_features(), tmp_path / "x.kml", _crs_wkt())
    mixed = [GeoFeature(box(0, 0, 1, 1), {}), GeoFeature(box(0, 0, 1, 1).centroid, {})]
    with pytest.raises(InputError, match="one geometry type"):
        write_vector(mixed, tmp_path / "mixed.shp", _crs_wkt())
    assert os.listdir(tmp_path) == []


def test_write_raster_round_trip(tmp_path):
    img = capture_native(fx.RGB_BYTE, max_side=150)
    mask = img.valid & (img.bands[0] > 50)
    path = write_raster(mask, img.transform, img.crs_wkt, tmp_path / "mask.tif", nodata=255)
    with rasterio.open(path) as ds:
        assert ds.crs == rasterio.crs.CRS.from_wkt(img.crs_wkt) and ds.nodata == 255
        assert np.allclose(tuple(ds.transform)[:6], tuple(img.transform)[:6])
        assert np.array_equal(ds.read(1), mask.astype(np.uint8))
    with pytest.raises(EOLensError, match="already exists"):
        write_raster(mask, img.transform, img.crs_wkt, path)
    scores = np.random.default_rng(0).random((2, 20, 30)).astype(np.float32)
    write_raster(scores, img.transform, img.crs_wkt, path, overwrite=True)
    with rasterio.open(path) as ds:
        assert ds.count == 2 and np.array_equal(ds.read(), scores)
    assert sorted(os.listdir(tmp_path)) == ["mask.tif"]


def test_polygon_round_trip_through_gpkg_is_exact(tmp_path):
    poly = Polygon([(101985.5, 2826915.25), (102985.5, 2826915.25), (102985.5, 2825915.0)])
    write_vector([GeoFeature(poly, {"label": "tri"})], tmp_path / "tri.gpkg", _crs_wkt())
    _ds, _lyr, rows = _read(tmp_path / "tri.gpkg")
    assert rows[0][1].equals_exact(poly, 0)


def test_a_layer_into_an_existing_geopackage_updates_that_file_in_place(tmp_path):
    """QGIS keeps the GeoPackage open (on Linux too): the file itself is updated, never swapped
    for a copy under the same name, so every open handle sees the new layer."""
    project = tmp_path / "project.gpkg"
    write_vector(_features(), project, _crs_wkt(), layer="roads")
    inode = os.stat(project).st_ino
    report = write_vector(_features()[:1], project, _crs_wkt(), layer="change", overwrite=True,
                          keep_layers=True)
    assert not report.replaced_layer and report.kept_layers == ["roads"]
    report = write_vector(_features(), project, _crs_wkt(), layer="change", overwrite=True,
                          keep_layers=True)
    assert report.replaced_layer and report.kept_layers == ["roads"]
    assert os.stat(project).st_ino == inode
    ds = ogr.Open(str(project))
    assert {ds.GetLayer(i).GetName(): ds.GetLayer(i).GetFeatureCount()
            for i in range(ds.GetLayerCount())} == {"roads": 2, "change": 2}
    assert os.listdir(tmp_path) == ["project.gpkg"]
