"""Two dates, any CRS and resolution, land on the reference grid."""
from __future__ import annotations

import georef_fixtures as fx
import numpy as np
import pytest
import rasterio
from affine import Affine
from eolens.inference.io.coregister import coregister
from eolens.inference.errors import InputError, NoOverlapError


def _on_reference_grid(img, ref_path) -> tuple[int, int]:
    """The integer (col, row) offset of ``img`` in the reference file's grid."""
    with rasterio.open(ref_path) as ds:
        c, r = ~ds.transform * (img.transform.c, img.transform.f)
        assert (round(c), round(r)) == pytest.approx((c, r), abs=1e-6)
        expected = ds.transform * Affine.translation(round(c), round(r))
    assert np.allclose(tuple(img.transform)[:6], tuple(expected)[:6], atol=1e-6)
    return round(c), round(r)


def test_naip_dates_one_metre_and_one_row_apart():
    a, b = coregister(fx.NAIP_2009, fx.NAIP_2020)
    assert a.transform == b.transform and a.rgb.shape == b.rgb.shape
    c, r = _on_reference_grid(a, fx.NAIP_2009)
    assert np.array_equal(a.valid, b.valid)
    assert (a.date, b.date) == ("2009-08-18", "2020-08-31")
    with rasterio.open(fx.NAIP_2009) as ds:
        raw = ds.read([1, 2, 3], window=rasterio.windows.Window(c, r, a.width, a.height))
    assert np.array_equal(a.bands, raw)  # the reference is never resampled
    # B was resampled: its first row of A lies 1 m above B's top edge, so B covers A but one row
    assert a.valid[1:-1, 1:-1].mean() > 0.99


def test_reprojected_copy_lands_back_on_the_reference(tmp_path):
    b_path = fx.reprojected(fx.NAIP_2009, tmp_path, "EPSG:4326", scale=1.3)
    with rasterio.open(b_path) as ds:
        assert ds.crs.to_epsg() == 4326
    a, b = coregister(fx.NAIP_2009, b_path)
    _on_reference_grid(a, fx.NAIP_2009)
    assert b.transform == a.transform and b.crs_wkt == a.crs_wkt
    v = a.valid
    assert v.mean() > 0.8
    diff = np.abs(a.bands[0][v].astype(float) - b.bands[0][v].astype(float))
    corr = np.corrcoef(a.bands[0][v].astype(float), b.bands[0][v].astype(float))[0, 1]
    assert corr > 0.85 and np.median(diff) < 12  # same ground after two resamplings


def test_extent_limits_the_common_grid():
    with rasterio.open(fx.NAIP_2009) as ds:
        x0, y0 = ds.transform * (100, 100)
        x1, y1 = ds.transform * (300, 250)
    a, b = coregister(fx.NAIP_2009, fx.NAIP_2020, (x0, y1, x1, y0))
    assert (a.width, a.height) == (200, 150) and a.meta["window"][:2] == (100, 100)
    assert b.valid.all()


def test_no_overlap_is_a_clear_error():
    with pytest.raises(NoOverlapError, match="do not overlap"):
        coregister(fx.NAIP_2009, fx.RGB_BYTE)


def test_no_crs_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="no_crs.tif.*has no CRS"):
        coregister(fx.RGB_BYTE, fx.no_crs(tmp_path))


def test_max_side_keeps_both_on_one_grid(tmp_path):
    b_path = fx.reprojected(fx.NAIP_2020, tmp_path, "EPSG:3857", scale=1.0)
    a, b = coregister(fx.NAIP_2009, b_path, max_side=256)
    assert max(a.width, a.height) == 256 and a.transform == b.transform
    assert a.valid.mean() > 0.9


def test_a_full_date_in_the_file_name_beats_a_year_in_the_layer_name(shared_data):
    from eolens.inference.io.dates import acquisition_date

    path = shared_data / "change" / "naip_nd_2009_2020" / "m_4709963_se_14_1_20090818.tif"
    assert acquisition_date(str(path), "naip 2009") == "2009-08-18"
    assert acquisition_date("/nowhere/pucallpa_1985.tif", "before") == "1985"
