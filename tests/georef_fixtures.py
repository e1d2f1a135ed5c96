"""Test rasters written into tmp dirs, derived from the real imagery in shared/data.

Each helper returns the path it wrote. Pixels come from real scenes; only the georeference
(rotation, south-up, CRS) or the damage (nodata, NaN, truncation) is made up.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.windows import Window

DATA = Path(os.environ.get("EOLENS_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
RGB_BYTE = DATA / "geotiff" / "rasterio_RGB.byte.tif"
LANDSAT16 = DATA / "geotiff" / "landsat8_LC80200392015216LGN00_B1-B7.tif"
NAIP_2009 = DATA / "change" / "naip_nd_2009_2020" / "m_4709963_se_14_1_20090818.tif"
NAIP_2020 = DATA / "change" / "naip_nd_2009_2020" / "m_4709963_se_14_1_20200831.tif"
PUCALLPA = DATA / "change" / "landsat_pucallpa_1985_2020" / "pucallpa_1985.tif"


CROP = Window(250, 250, 200, 150)


def read_crop(src: Path, window: Window = CROP) -> tuple[np.ndarray, dict]:
    with rasterio.open(src) as ds:
        data = ds.read(window=window)
        profile = ds.profile.copy()
        profile.update(width=int(window.width), height=int(window.height),
                       transform=ds.window_transform(window))
    for key in ("blockxsize", "blockysize", "tiled", "compress", "photometric", "interleave"):
        profile.pop(key, None)
    return data, profile


def write(path: Path, data: np.ndarray, **profile) -> Path:
    profile = {"driver": "GTiff", **profile, "count": data.shape[0], "height": data.shape[1],
               "width": data.shape[2], "dtype": data.dtype.name}
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(data)
    return path


def rotated(tmp: Path, angle: float = 30.0, res: float = 30.0) -> Path:
    """A crop of RGB.byte.tif re-georeferenced on a grid rotated by ``angle`` degrees."""
    data, prof = read_crop(RGB_BYTE)
    t = Affine.translation(200000.0, 2700000.0) * Affine.rotation(angle) * Affine.scale(res, -res)
    return write(tmp / f"rotated_{angle:g}.tif", data, crs=prof["crs"], transform=t, nodata=0)


def south_up(tmp: Path) -> Path:
    """The same crop stored south-up: row 0 is the southern edge (positive y step)."""
    data, prof = read_crop(RGB_BYTE)
    t0 = prof["transform"]
    h = data.shape[1]
    t = Affine(t0.a, 0.0, t0.c, 0.0, -t0.e, t0.f + t0.e * h)
    return write(tmp / "south_up.tif", data[:, ::-1, :].copy(), crs=prof["crs"], transform=t, nodata=0)


def landsat_with_nodata(tmp: Path, fraction: float = 0.4) -> Path:
    """The 16-bit Landsat stack with the western ``fraction`` of columns set to nodata 0."""
    with rasterio.open(LANDSAT16) as ds:
        data, prof = ds.read(), ds.profile.copy()
        desc, tags = ds.descriptions, ds.tags()
    data[:, :, : round(data.shape[2] * fraction)] = 0
    path = write(tmp / "landsat_nodata.tif", data, crs=prof["crs"], transform=prof["transform"], nodata=0)
    with rasterio.open(path, "r+") as ds:
        ds.descriptions = desc
        ds.update_tags(**tags)
    return path


def float_with_nan(tmp: Path) -> Path:
    """Landsat red/green/blue as reflectance-like float32 with a NaN block (no nodata tag)."""
    with rasterio.open(LANDSAT16) as ds:
        data = ds.read([4, 3, 2]).astype(np.float32) / 65535.0
        crs, t = ds.crs, ds.transform
    data[:, 100:300, 100:300] = np.nan
    return write(tmp / "float_nan.tif", data, crs=crs, transform=t)


def one_pixel(tmp: Path) -> Path:
    data, prof = read_crop(RGB_BYTE, Window(400, 300, 1, 1))
    return write(tmp / "one_pixel.tif", data, crs=prof["crs"], transform=prof["transform"], nodata=0)


def no_crs(tmp: Path) -> Path:
    data, prof = read_crop(RGB_BYTE)
    return write(tmp / "no_crs.tif", data, transform=prof["transform"])


def zero_byte(tmp: Path) -> Path:
    path = tmp / "empty.tif"
    path.write_bytes(b"")
    return path


def truncated(tmp: Path) -> Path:
    """A striped GeoTIFF cut in half: the header (at the start) opens, pixel blocks fail."""
    data, prof = read_crop(RGB_BYTE, Window(100, 100, 300, 300))
    full = write(tmp / "full.tif", data, crs=prof["crs"], transform=prof["transform"], nodata=0)
    raw = full.read_bytes()
    path = tmp / "truncated.tif"
    path.write_bytes(raw[: len(raw) // 2])
    return path


def huge_sparse(tmp: Path, side: int = 1_000_000) -> Path:
    """A header declaring side x side pixels with no blocks written (a few hundred KB on disk)."""
    from osgeo import gdal, osr

    path = tmp / "huge_sparse.tif"
    ds = gdal.GetDriverByName("GTiff").Create(
        str(path), side, side, 1, gdal.GDT_Byte,
        ["SPARSE_OK=TRUE", "TILED=YES", "BLOCKXSIZE=4096", "BLOCKYSIZE=4096", "BIGTIFF=YES"])
    ds.SetGeoTransform((500000.0, 1.0, 0.0, 4000000.0, 0.0, -1.0))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32618)
    ds.SetProjection(srs.ExportToWkt())
    ds.GetRasterBand(1).SetNoDataValue(0)
    ds = None
    return path


def reprojected(src: Path, tmp: Path, dst_crs: str = "EPSG:4326", scale: float = 1.3) -> Path:
    """``src`` warped to ``dst_crs`` at a coarser (``scale``x) resolution."""
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    with rasterio.open(src) as ds:
        t, w, h = calculate_default_transform(ds.crs, dst_crs, ds.width, ds.height, *ds.bounds)
        t = t * Affine.scale(scale)
        w, h = int(w / scale), int(h / scale)
        out = np.zeros((ds.count, h, w), ds.dtypes[0])
        reproject(ds.read(), out, src_transform=ds.transform, src_crs=ds.crs, src_nodata=ds.nodata,
                  dst_transform=t, dst_crs=dst_crs, dst_nodata=0, resampling=Resampling.bilinear)
    return write(tmp / f"{src.stem}_{dst_crs.replace(':', '')}.tif", out, crs=dst_crs, transform=t, nodata=0)


def at_antimeridian(tmp: Path) -> Path:
    """Pucallpa pixels re-georeferenced in EPSG:4326 to end exactly at 180°E."""
    data = read_crop(PUCALLPA, Window(0, 0, 400, 300))[0]
    t = Affine(0.02, 0.0, 172.0, 0.0, -0.02, -10.0)  # 172°E .. 180°E
    return write(tmp / "antimeridian.tif", data, crs="EPSG:4326", transform=t, nodata=0)
