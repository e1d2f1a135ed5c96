"""Headless: the real ``qgis_process`` command line (through tools/qgis_process.sh) runs EO Lens."""
from __future__ import annotations


import numpy as np
import rasterio
from conftest import REPO
from osgeo import ogr

WRAPPER = REPO / "tools" / "qgis_process.sh"
NAIP = "change/naip_nd_2009_2020"


def _layer(path: str):
    ds = ogr.Open(path)
    assert ds is not None, path
    return ds, ds.GetLayer(0)


def test_algorithms_are_listed_headless(qgis_process):
    res = qgis_process("list")
    assert res.returncode == 0, res.stderr[-3000:]
    listed = {line.split()[0] for line in res.stdout.splitlines() if line.strip().startswith("eolens:")}
    assert listed == {"eolens:caption", "eolens:ask", "eolens:detect", "eolens:segment",
                      "eolens:change", "eolens:search", "eolens:label", "eolens:evaluate",
                      "eolens:index", "eolens:search_index"}


def test_change_spectral_headless(qgis_process, shared_data, tmp_path):
    a, b = (str(p) for p in sorted((shared_data / NAIP).glob("*.tif")))
    gpkg, tif, txt = tmp_path / "change.gpkg", tmp_path / "heat.tif", tmp_path / "change.txt"
    res = qgis_process("run", "eolens:change", "--", f"INPUT={a}", f"INPUT_B={b}", "METHOD=spectral",
                       f"OUTPUT={gpkg}", f"OUTPUT_RASTER={tif}", f"OUTPUT_TEXT={txt}")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "change regions" in res.stdout
    with rasterio.open(tif) as ds, rasterio.open(a) as ref:
        assert ds.crs == ref.crs and ds.crs.to_epsg() == 26914
        assert (ds.transform.a, ds.transform.e) == (ref.transform.a, ref.transform.e)
        assert ((ds.transform.c - ref.transform.c) / 5.0).is_integer()
        assert ((ds.transform.f - ref.transform.f) / 5.0).is_integer()
        assert ds.dtypes == ("float32",) and np.isfinite(ds.read(1)).any()
    ds, layer = _layer(str(gpkg))
    assert layer.GetSpatialRef().GetAuthorityCode(None) == "26914"
    defn = layer.GetLayerDefn()
    assert [defn.GetFieldDefn(i).GetName() for i in range(defn.GetFieldCount())] == \
        ["change", "area", "method", "date_a", "date_b"]
    assert layer.GetFeatureCount() > 0
    assert txt.read_text(encoding="utf-8").strip().endswith("(spectral).")


def test_segment_headless_with_a_tiny_florence(qgis_process, sample_dir, tiny_models, tmp_path):
    src = str(sample_dir / "OSBS_029.tif")
    gpkg, tif = tmp_path / "seg.gpkg", tmp_path / "mask.tif"
    res = qgis_process("run", "eolens:segment", "--", f"INPUT={src}", "PROMPT=tree crowns",
                       f"MODEL={tiny_models.path('florence2')}", "DEVICE=cpu",
                       f"OUTPUT={gpkg}", f"OUTPUT_RASTER={tif}")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    with rasterio.open(tif) as ds, rasterio.open(src) as ref:
        assert ds.crs == ref.crs and ds.transform == ref.transform
        assert (ds.width, ds.height) == (ref.width, ref.height) and ds.dtypes == ("uint8",)
        assert set(np.unique(ds.read(1))) <= {0, 1}
    ds, layer = _layer(str(gpkg))
    assert layer.GetSpatialRef().GetAuthorityCode(None) == "32617"


def test_bad_parameters_fail_headless_without_output(qgis_process, sample_dir, tmp_path):
    out = tmp_path / "c.gpkg"
    res = qgis_process("run", "eolens:change", "--",
                       f"INPUT={sample_dir / 'rasterio_RGB.byte.tif'}",
                       f"INPUT_B={sample_dir / 'OSBS_029.tif'}", f"OUTPUT={out}")
    assert res.returncode != 0
    assert "do not overlap" in res.stdout + res.stderr
    res = qgis_process("run", "eolens:segment", "--", f"INPUT={sample_dir / 'OSBS_029.tif'}",
                       "PROMPT=trees", "MODEL=no-such-model", f"OUTPUT={out}")
    assert res.returncode != 0
    assert "Unknown model 'no-such-model'" in res.stdout + res.stderr
    assert list(tmp_path.iterdir()) == []
