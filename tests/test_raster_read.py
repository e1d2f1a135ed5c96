"""Native capture: windows, transforms, bands, masks, stretch and every way a raster can be bad."""
from __future__ import annotations

import georef_fixtures as fx
import numpy as np
import pytest
import rasterio
from affine import Affine
from eolens.inference.io.dates import acquisition_date, parse_date
from eolens.inference.errors import (
    InputError,
    NoDataError,
    NoOverlapError,
    RasterReadError,
    TooLargeError,
)
from eolens.inference.io.raster_read import capture_native, default_bands, open_info
from eolens.inference.io.stretch import percentile_cut, to_rgb8
from rasterio.warp import transform_bounds
from shapely.geometry import box


def _close(t1: Affine, t2: Affine, tol: float = 1e-6) -> bool:
    return np.allclose(tuple(t1)[:6], tuple(t2)[:6], atol=tol, rtol=0)


def test_whole_raster_keeps_file_grid_and_nodata_mask():
    img = capture_native(fx.RGB_BYTE)
    with rasterio.open(fx.RGB_BYTE) as ds:
        assert _close(img.transform, ds.transform)
        expected_valid = ds.dataset_mask() > 0
        assert img.crs_wkt and rasterio.crs.CRS.from_wkt(img.crs_wkt) == ds.crs
    assert (img.height, img.width) == (718, 791)
    assert np.array_equal(img.valid, expected_valid)
    assert 0.6 < img.valid.mean() < 0.72  # SOURCES.md: about a third is nodata collar
    assert not img.rgb[~img.valid].any()
    assert img.bands.shape == (3, 718, 791) and img.bands.dtype == np.uint8


def test_extent_on_pixel_edges_gives_exactly_that_window():
    t = open_info(fx.RGB_BYTE).transform
    x0, y0 = t * (100, 200)
    x1, y1 = t * (350, 420)
    img = capture_native(fx.RGB_BYTE, (x0, y1, x1, y0))
    assert img.meta["window"] == (100, 200, 250, 220)
    assert _close(img.transform, t * Affine.translation(100, 200))
    with rasterio.open(fx.RGB_BYTE) as ds:
        direct = ds.read(window=rasterio.windows.Window(100, 200, 250, 220))
    assert np.array_equal(img.bands, direct)


def test_geographic_raster_with_web_mercator_extent(shared_data):
    path = shared_data / "change/landsat_pucallpa_1985_2020/pucallpa_1985.tif"
    extent = (-8300000.0, -948000.0, -8285000.0, -935000.0)  # inside the scene
    img = capture_native(path, extent, "EPSG:3857")
    want = box(*transform_bounds("EPSG:3857", "EPSG:4326", *extent, densify_pts=21))
    got = img.footprint()
    res = abs(img.transform.a)
    assert got.contains(want)  # the whole requested area, densified
    assert np.allclose(got.bounds, want.bounds, atol=1.001 * res)  # and at most a pixel more
    assert img.date == "1985"


def test_landsat_16bit_with_40_percent_nodata(tmp_path):
    path = fx.landsat_with_nodata(tmp_path, 0.4)
    img = capture_native(path)
    assert img.meta["bands"] == [4, 3, 2]  # red, green, blue found by band description
    assert img.bands.dtype == np.uint16
    assert abs(img.valid.mean() - 0.6) < 0.01
    assert not img.valid[:, :250].any() and img.valid[:, 260:].all()
    red = img.rgb[..., 0][img.valid]
    # stretched over valid pixels only: about 2 % clipped at each end, not a black image
    assert 0.005 < (red == 0).mean() < 0.05 and 0.005 < (red == 255).mean() < 0.05
    assert 60 < red.mean() < 200
    assert img.date == "2015-08-04"


def test_all_nodata_window_is_a_clear_error(tmp_path):
    path = fx.landsat_with_nodata(tmp_path, 0.4)
    t = open_info(path).transform
    x0, y0 = t * (10, 10)
    x1, y1 = t * (100, 100)
    with pytest.raises(NoDataError, match="landsat_nodata.tif"):
        capture_native(path, (x0, y1, x1, y0))


def test_float_raster_with_nan(tmp_path):
    img = capture_native(fx.float_with_nan(tmp_path))
    assert img.bands.dtype == np.float32 and np.isnan(img.bands[:, 150, 150]).all()
    assert not img.valid[100:300, 100:300].any() and img.valid[:100].all()
    assert not img.rgb[100:300, 100:300].any()
    assert img.rgb[img.valid].std() > 10  # float data stretched, not divided to black


def test_one_pixel_raster(tmp_path):
    path = fx.one_pixel(tmp_path)
    img = capture_native(path)
    assert img.rgb.shape == (1, 1, 3) and img.valid.all()
    assert _close(img.transform, open_info(path).transform)
    with rasterio.open(path) as ds:
        assert np.array_equal(img.rgb[0, 0], ds.read()[:, 0, 0])  # constant byte data kept


def test_rotated_raster_window_uses_true_affine(tmp_path):
    path = fx.rotated(tmp_path, 30.0)
    t = open_info(path).transform
    assert abs(t.b) > 1  # really rotated
    centre = t * (100, 75)
    img = capture_native(path, (centre[0] - 600, centre[1] - 600, centre[0] + 600, centre[1] + 600))
    c, r = img.meta["window"][:2]
    assert _close(img.transform, t * Affine.translation(c, r))
    assert img.footprint().contains(box(centre[0] - 600, centre[1] - 600, centre[0] + 600, centre[1] + 600))
    with rasterio.open(path) as ds:
        assert np.array_equal(img.bands, ds.read(window=rasterio.windows.Window(*img.meta["window"])))


def test_south_up_raster_samples_the_same_ground(tmp_path):
    north = fx.read_crop(fx.RGB_BYTE)[1]["transform"]
    path = fx.south_up(tmp_path)
    img = capture_native(path)
    ref = capture_native(fx.RGB_BYTE)
    assert img.transform.e > 0
    for col, row in [(10.5, 20.5), (150.5, 3.5), (199.5, 149.5)]:
        x, y = north * (col, row)
        c1, r1 = ~img.transform * (x, y)
        c2, r2 = ~ref.transform * (x, y)
        assert np.array_equal(img.bands[:, int(r1), int(c1)], ref.bands[:, int(r2), int(c2)])


def test_max_side_decimates_with_exact_transform():
    img = capture_native(fx.RGB_BYTE, max_side=200)
    assert max(img.width, img.height) == 200
    full = capture_native(fx.RGB_BYTE)
    # same ground: the corners of the decimated image are the corners of the raster
    for corner in [(0, 0), (img.width, img.height)]:
        far = (corner[0] * 791 / img.width, corner[1] * 718 / img.height)
        assert np.allclose(img.transform * corner, full.transform * far, atol=1e-6)


def test_band_selection():
    grey = capture_native(fx.RGB_BYTE, bands=[2])
    assert grey.bands.shape[0] == 1
    assert np.array_equal(grey.rgb[..., 0], grey.rgb[..., 2])
    swapped = capture_native(fx.RGB_BYTE, bands=[3, 2, 1])
    assert np.array_equal(swapped.bands[0], capture_native(fx.RGB_BYTE).bands[2])
    with pytest.raises(InputError, match="rasterio_RGB.byte.tif"):
        capture_native(fx.RGB_BYTE, bands=[4])
    assert default_bands(4, ("B02 blue", "B03 green", "B04 red", "B08 NIR")) == [3, 2, 1]
    assert default_bands(1) == [1] and default_bands(4) == [1, 2, 3]


def test_extent_outside_raster():
    with pytest.raises(NoOverlapError, match="rasterio_RGB.byte.tif"):
        capture_native(fx.RGB_BYTE, (0.0, 0.0, 1000.0, 1000.0))
    with pytest.raises(InputError):
        capture_native(fx.RGB_BYTE, (10.0, 0.0, 5.0, 1.0))


def test_truncated_geotiff_fails_at_read_naming_the_file(tmp_path):
    path = fx.truncated(tmp_path)
    assert open_info(path).width == 300  # the header is intact
    with pytest.raises(RasterReadError, match="truncated.tif"):
        capture_native(path)


def test_zero_byte_file(tmp_path):
    path = fx.zero_byte(tmp_path)
    for call in (open_info, capture_native):
        with pytest.raises(RasterReadError, match="empty.tif"):
            call(path)


def test_raster_without_crs(tmp_path):
    with pytest.raises(InputError, match="no_crs.tif.*has no CRS; assign one in Layer Properties"):
        capture_native(fx.no_crs(tmp_path))


def test_huge_header_is_never_allocated(tmp_path):
    path = fx.huge_sparse(tmp_path)
    assert path.stat().st_size < 5_000_000
    info = open_info(path)
    assert (info.width, info.height) == (1_000_000, 1_000_000)
    with pytest.raises(TooLargeError, match="huge_sparse.tif"):
        capture_native(path)
    with pytest.raises(TooLargeError, match="huge_sparse.tif"):
        capture_native(path, (500000.0, 3000000.0, 600000.0, 3100000.0))
    # a small window reads only its own blocks: empty blocks are nodata
    with pytest.raises(NoDataError, match="huge_sparse.tif"):
        capture_native(path, (700000.0, 3500000.0, 700100.0, 3500100.0))


def test_stretch_uses_valid_pixels_and_handles_uint16():
    rng = np.random.default_rng(0)
    band = rng.integers(1000, 5000, size=(1, 50, 60)).astype(np.uint16)
    valid = np.ones((50, 60), bool)
    valid[:, :20] = False
    band[..., :20] = 0
    rgb = to_rgb8(band, valid)
    lo, hi = percentile_cut(band[0][valid])
    assert 1000 <= lo < hi <= 5000
    assert not rgb[:, :20].any() and rgb[:, 20:].max() == 255
    assert np.array_equal(rgb[..., 0], rgb[..., 1])


@pytest.mark.parametrize("name, want", [
    ("m_4709963_se_14_1_20090818", "2009-08-18"), ("rennes_t1_2015-08-21_S2", "2015-08-21"),
    ("pucallpa_1985", "1985"), ("LC80200392015216LGN00", None), ("scene_20090231", None),
    ("T30UWU_20170621T110651_B02", "2017-06-21")])
def test_dates_from_names(name, want):
    assert parse_date(name) == want


def test_dates_from_tags(shared_data):
    assert acquisition_date(str(fx.LANDSAT16)) == "2015-08-04"  # DATE_ACQUIRED tag
    assert acquisition_date(str(fx.NAIP_2020)) == "2020-08-31"   # file name
    ucm = shared_data / "captions/ucm_captions/airplane96.tif"
    assert acquisition_date(str(ucm)) == "2009-01-20"            # TIFFTAG_DATETIME
    assert acquisition_date("not/a/file", "Layer 2001-05-06") == "2001-05-06"


def test_extent_crossing_the_antimeridian(tmp_path):
    path = fx.at_antimeridian(tmp_path)
    # Pacific-centred Mercator: x = 0 at 150°E, so this box spans about 177°E .. 177°W
    extent = (3000000.0, -1500000.0, 3700000.0, -1300000.0)
    img = capture_native(path, extent, "EPSG:3832")
    west, _, east, _ = img.footprint().bounds
    assert east == pytest.approx(180.0) and 176.5 < west < 177.5
    assert img.meta["window"][0] + img.meta["window"][2] == 400  # flush with the 180° edge


def test_uint8_rgb_reaches_the_model_as_the_file_holds_it(shared_data):
    path = shared_data / "boxes" / "neon_osbs_029" / "OSBS_029.tif"
    img = capture_native(path)
    with rasterio.open(path) as ds:
        file_rgb = np.moveaxis(ds.read([1, 2, 3]), 0, -1)
    assert img.valid.mean() > 0.99  # nodata (255 in every band) is the only pixel zeroed
    assert np.array_equal(img.rgb[img.valid], file_rgb[img.valid])
    stretched = capture_native(path, stretch=True).rgb  # the explicit option still works
    assert np.abs(stretched.astype(int) - file_rgb).mean() > 5


def test_uint8_tiles_are_not_stretched(shared_data):
    from eolens.inference.tiling import iter_tiles

    path = shared_data / "boxes" / "neon_osbs_029" / "OSBS_029.tif"
    with rasterio.open(path) as ds:
        file_rgb = np.moveaxis(ds.read([1, 2, 3]), 0, -1)
    tiles = list(iter_tiles(path, tile=128, overlap=0))
    assert len(tiles) > 4
    for tile in tiles:
        c, r, w, h = tile.meta["window"]
        ok = tile.valid
        assert np.array_equal(tile.rgb[ok], file_rgb[r:r + h, c:c + w][ok])


def test_single_band_and_16_bit_are_still_stretched():
    rng = np.random.default_rng(1)
    grey = rng.integers(100, 140, size=(1, 30, 30)).astype(np.uint8)
    valid = np.ones((30, 30), bool)
    assert to_rgb8(grey, valid).max() == 255  # a dim single band is stretched
    assert np.array_equal(to_rgb8(grey, valid, stretch=False)[..., 0], grey[0])
    rgb16 = rng.integers(0, 200, size=(3, 30, 30)).astype(np.uint16)
    assert to_rgb8(rgb16, valid).max() == 255
