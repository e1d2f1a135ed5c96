"""Whole layers in bounded memory (issue 14): peak RSS while streaming, streamed change
throughput, and mask -> polygons against gdal_polygonize.py.

Inputs are sparse, tiled GeoTIFFs with real imagery (the NAIP pair from shared/data) pasted in.
Each peak is measured in a fresh subprocess (VmHWM minus VmRSS after the imports), so runs do
not pollute each other.

- ``tiling_peak_mb_50k``: every tile of a 50,000 x 50,000 raster through ``tiling.iter_tiles``
  (goal < 256 MB, GDAL's block cache included).
- ``change_peak_mb_20k``: ``change_tiled.stream_change`` on a 20,000 x 20,000 pair, heat and
  mask GeoTIFFs written (goal < 512 MB).
- ``change_mpx_per_s_vs_numpy``: streamed change from files (reads, warp, both GeoTIFFs written,
  polygons) against the in-memory numpy implementation (``change.detect_change``: the same CVA,
  normalisation and smoothing on arrays already read) on one 4,096 x 4,096 pair (goal >= 0.5).
- ``polygonize_vs_gdal``: an 8,192 x 8,192 mask to a GeoPackage of polygons, EO Lens (blocks
  polygonised and merged across seams, then ``export.write_vector``) vs ``gdal_polygonize.py``
  in the same run, wall time (goal <= 1.2).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EOLENS_SHARED_DATA") or REPO.parent / "shared" / "data")
NAIP = SHARED / "change" / "naip_nd_2009_2020"
CRS, RES, ORIGIN = "EPSG:26914", 5.0, (400_000.0, 5_300_000.0)


def _naip() -> tuple[np.ndarray, np.ndarray]:
    import rasterio

    a_path, b_path = sorted(NAIP.glob("*.tif"))
    with rasterio.open(a_path) as ds:
        a = ds.read()
    with rasterio.open(b_path) as ds:
        b = ds.read(out_shape=a.shape)
    return np.maximum(a, 1), np.maximum(b, 1)


def _mosaic(image: np.ndarray, side: int) -> np.ndarray:
    c, h, w = image.shape
    reps = (1, -(-side // h), -(-side // w))
    return np.tile(image, reps)[:, :side, :side]


def write_sparse(path: Path, side: int, image: np.ndarray, at: tuple[int, int]) -> str:
    """A side x side sparse, tiled, compressed GeoTIFF (nodata 0) with ``image`` at (col, row)."""
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    profile = dict(driver="GTiff", width=side, height=side, count=image.shape[0], dtype="uint8",
                   crs=CRS, transform=from_origin(*ORIGIN, RES, RES), nodata=0, tiled=True,
                   blockxsize=512, blockysize=512, compress="deflate", sparse_ok=True,
                   bigtiff="IF_SAFER")
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(image, window=Window(*at, image.shape[2], image.shape[1]))
    return str(path)


_PEAK = """
import json, sys
sys.path[:0] = {paths!r}
def kb(key):
    for line in open('/proc/self/status'):
        if line.startswith(key):
            return int(line.split()[1])
{imports}
base = kb('VmRSS:')
{work}
print(json.dumps({{'base_kb': base, 'hwm_kb': kb('VmHWM:')}}))
"""


def peak_mb(imports: str, work: str) -> float:
    """Peak RSS above the post-import baseline of ``work``, run in a fresh interpreter."""
    code = _PEAK.format(paths=[str(REPO / "build" / "pkgroot"), str(REPO)], imports=imports,
                        work=work)
    env = {k: v for k, v in os.environ.items() if k != "GDAL_CACHEMAX"}  # the product sets it
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=env)
    doc = json.loads(out.stdout.strip().splitlines()[-1])
    return (doc["hwm_kb"] - doc["base_kb"]) / 1024


def _tiling_peak(folder: Path) -> float:
    a, _ = _naip()
    path = write_sparse(folder / "big50k.tif", 50_000, _mosaic(a[:3], 4096), (2048, 2048))
    work = (f"n = sum(1 for _ in iter_tiles({path!r}, tile=512, overlap=0))\n"
            "assert n > 0")
    return peak_mb("import numpy, rasterio\nfrom eolens.inference.tiling import iter_tiles", work)


def _change_peak(folder: Path) -> float:
    a, b = _naip()
    at = (1000, 1000)
    pa = write_sparse(folder / "a20k.tif", 20_000, _mosaic(a, 3000), at)
    pb = write_sparse(folder / "b20k.tif", 20_000, _mosaic(b, 3000), at)
    work = (f"r = stream_change({pa!r}, {pb!r}, heat_path={str(folder / 'h.tif')!r}, "
            f"mask_path={str(folder / 'm.tif')!r})\nassert r.polygons")
    return peak_mb("import numpy, rasterio\nfrom eolens.inference.change.spectral_tiled import stream_change",
                   work)


def _change_ratio(folder: Path) -> tuple[float, float]:
    from eolens.inference import actions
    from eolens.inference.change.spectral import change_polygons, detect_change
    from eolens.inference.change.spectral_tiled import stream_change

    side = 4096
    a, b = _naip()
    pa = write_sparse(folder / "a4k.tif", side, _mosaic(a, side), (0, 0))
    pb = write_sparse(folder / "b4k.tif", side, _mosaic(b, side), (0, 0))
    ia, ib = actions.coregister_pair(pa, pb)
    start = time.perf_counter()
    res = detect_change(ia, ib)
    change_polygons(res, ia.transform)
    numpy_s = time.perf_counter() - start
    del ia, ib, res
    start = time.perf_counter()
    stream_change(pa, pb, heat_path=str(folder / "h4k.tif"), mask_path=str(folder / "m4k.tif"))
    tiled_s = time.perf_counter() - start
    return side * side / 1e6 / tiled_s, numpy_s / tiled_s


def _polygonize_ratio(folder: Path) -> tuple[float, int]:
    import rasterio

    from eolens.inference.io.export import write_vector
    from eolens.inference.io.georef import GeoFeature
    from eolens.inference.io.raster_read import bounded_gdal
    from eolens.inference.tile_merge import SeamPolygons
    from eolens.inference.tiling import iter_blocks

    side = 8192
    a, _ = _naip()
    mask = (_mosaic(a[3:4], side)[0] > 120).astype(np.uint8)  # NIR: water and fields
    path = folder / "mask8k.tif"
    write_sparse(path, side, mask[None], (0, 0))
    del mask
    script = shutil.which("gdal_polygonize.py") or shutil.which("gdal_polygonize")
    start = time.perf_counter()
    subprocess.run([script, "-q", str(path), "-mask", str(path), "-f", "GPKG",
                    str(folder / "gdal.gpkg")], check=True, capture_output=True)
    gdal_s = time.perf_counter() - start
    start = time.perf_counter()
    with bounded_gdal(), rasterio.open(path) as ds:
        polys = SeamPolygons(ds.width, ds.height, ds.transform)
        for core, _ in iter_blocks(ds.width, ds.height, 1024):
            polys.add(ds.read(1, window=core).astype(bool), int(core.col_off), int(core.row_off))
        crs = ds.crs.to_wkt()
    feats = [GeoFeature(p, {"change": 1}) for p in polys.polygons()]
    write_vector(feats, folder / "eolens.gpkg", crs)
    ours_s = time.perf_counter() - start
    return ours_s / gdal_s, len(feats)


def run():
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        yield "tiling_peak_mb_50k", _tiling_peak(folder), "MB"
        yield "change_peak_mb_20k", _change_peak(folder), "MB"
        mpx, ratio = _change_ratio(folder)
        yield "change_mpx_per_s", mpx, "Mpx/s"
        yield "change_mpx_per_s_vs_numpy", ratio, "ratio"
        ratio, n = _polygonize_ratio(folder)
        yield "polygonize_vs_gdal", ratio, "ratio"
        yield "polygonize_polygons_8k", float(n), "polygons"
