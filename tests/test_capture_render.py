"""Rendered capture in the real QgsApplication: exact north-up transform, alpha as valid mask."""
from __future__ import annotations

import numpy as np
import pytest
import rasterio
from eolens.inference.errors import InputError, NoDataError
from eolens.inference.io.raster_read import capture_native
from eolens.plugin.capture_render import render_capture, render_size
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsProject,
    QgsRasterLayer,
    QgsRectangle,
)


@pytest.fixture(scope="module")
def layer(sample_dir):
    lyr = QgsRasterLayer(str(sample_dir / "rasterio_RGB.byte.tif"), "bahamas")
    assert lyr.isValid()
    return lyr


def test_transform_matches_the_extent_and_size(layer):
    ext = layer.extent()
    sub = QgsRectangle(ext.xMinimum() + 30000, ext.yMinimum() + 40000,
                       ext.xMinimum() + 150000, ext.yMinimum() + 130000)
    img = render_capture(layer, sub, layer.crs(), 600.0)
    assert (img.width, img.height) == (200, 150)
    t = img.transform
    assert (t.a, t.b, t.e, t.d) == pytest.approx((600.0, 0.0, -600.0, 0.0))
    assert (t.c, t.f) == pytest.approx((sub.xMinimum(), sub.yMaximum()), abs=1e-6)
    assert img.footprint().bounds == pytest.approx(
        (sub.xMinimum(), sub.yMinimum(), sub.xMaximum(), sub.yMaximum()), abs=1e-6)
    assert img.rgb.dtype == np.uint8 and img.meta["mode"] == "rendered"


def test_rendered_valid_mask_follows_nodata(layer, sample_dir):
    ext = layer.extent()
    res = 900.0
    img = render_capture(layer, ext, layer.crs(), res)
    # the file's own nodata mask sampled at the rendered pixel centres
    with rasterio.open(sample_dir / "rasterio_RGB.byte.tif") as ds:
        mask = ds.dataset_mask() > 0
        rows, cols = np.mgrid[0:img.height, 0:img.width]
        xs, ys = img.transform * (cols + 0.5, rows + 0.5)
        c, r = ~ds.transform * (xs, ys)
        inside = (c >= 0) & (c < ds.width) & (r >= 0) & (r < ds.height)
        expected = np.zeros_like(img.valid)
        expected[inside] = mask[r[inside].astype(int), c[inside].astype(int)]
    assert (img.valid == expected).mean() > 0.97
    assert not img.rgb[~img.valid].any() and img.rgb[img.valid].std() > 10


def test_render_in_another_crs(layer):
    dst = QgsCoordinateReferenceSystem("EPSG:4326")
    xform = QgsCoordinateTransform(layer.crs(), dst, QgsProject.instance())
    ext = xform.transformBoundingBox(layer.extent())
    img = render_capture(layer, ext, dst, 0.01)
    assert img.transform.a == pytest.approx(0.01) and img.transform.e == pytest.approx(-0.01)
    assert rasterio.crs.CRS.from_wkt(img.crs_wkt).to_epsg() == 4326
    native = capture_native(layer.source(), (ext.xMinimum(), ext.yMinimum(), ext.xMaximum(),
                                             ext.yMaximum()), "EPSG:4326")
    assert abs(img.valid.mean() - native.valid.mean()) < 0.1  # same scene, same share of data


def test_empty_area_and_bad_resolution(layer):
    far = QgsRectangle(0, 0, 10000, 10000)
    with pytest.raises(NoDataError, match="bahamas"):
        render_capture(layer, far, layer.crs(), 100.0)
    with pytest.raises(InputError):
        render_size(layer.extent(), 0.0)
