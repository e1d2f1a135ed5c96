"""Change-mask quality on the labelled pairs in shared/data/change: spectral vs trivial masks.

Yields F1 and IoU of the automatic spectral mask and of the all-change / no-change masks on
OSCD Rennes, Taizhou (labelled pixels only) and each LEVIR-CD sample; for the LEVIR no-change
negative, the changed fraction. ``read_pair`` and ``mask_scores`` are reused by the tests.
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

LEVIR = ("test_7_0256_0512", "test_121_0768_0256", "test_102_0512_0000")
LEVIR_NEGATIVE = "train_386_0512_0768"


def change_dir() -> Path:
    env = os.environ.get("EOLENS_SHARED_DATA")
    base = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"
    return base / "change"


def read_raster(path: Path) -> tuple[np.ndarray, object, str]:
    import warnings

    import rasterio

    with warnings.catch_warnings():  # PNG samples carry no georeference
        warnings.simplefilter("ignore")
        with rasterio.open(path) as src:
            return src.read(), src.transform, src.crs.to_wkt() if src.crs else ""


def read_image(path: Path, rgb: Sequence[int] = (0, 1, 2)):
    """One raster as a GeoImage with raw bands and a 2-98% RGB stretch of bands ``rgb``."""
    from eolens.inference.io.geoimage import GeoImage
    from eolens.inference.io.stretch import to_rgb8

    bands, transform, wkt = read_raster(path)
    valid = np.ones(bands.shape[1:], bool)
    return GeoImage(rgb=to_rgb8(bands[list(rgb)], valid), transform=transform, crs_wkt=wkt,
                    valid=valid, bands=bands, source=str(path))


def read_pair(path_a: Path, path_b: Path, rgb: Sequence[int] = (0, 1, 2)):
    """Two rasters already on one grid (checked) as GeoImages."""
    a, b = read_image(path_a, rgb), read_image(path_b, rgb)
    if a.bands.shape != b.bands.shape or a.transform != b.transform:
        raise ValueError(f"{path_a} and {path_b} are not on one grid")
    return a, b


def labelled_pairs() -> Iterator[tuple[str, object, object, np.ndarray, np.ndarray | None]]:
    """(name, a, b, truth, labelled) for each labelled pair; labelled None = every pixel."""
    d = change_dir()
    r = d / "oscd_rennes"
    a, b = read_pair(r / "rennes_t1_20150821_S2_B02-B03-B04-B08.tif",
                     r / "rennes_t2_20170621_S2_B02-B03-B04-B08.tif", rgb=(2, 1, 0))
    yield "oscd_rennes", a, b, read_raster(r / "rennes_cm_georef.tif")[0][0] == 1, None
    t = d / "landsat_taizhou_2000_2003"
    a, b = read_pair(t / "taizhou_20000317_L7ETM_B1-B5-B7.tif",
                     t / "taizhou_20030206_L7ETM_B1-B5-B7.tif", rgb=(2, 1, 0))
    ref = read_raster(t / "taizhou_reference_georef.tif")[0][0]
    yield "taizhou", a, b, ref == 2, ref > 0
    for name in LEVIR + (LEVIR_NEGATIVE,):
        yield levir_pair(name)


def levir_pair(name: str):
    d = change_dir() / "levir_cd_samples"
    a, b = read_pair(d / "A" / f"{name}.png", d / "B" / f"{name}.png")
    truth = read_raster(d / "label" / f"{name}.png")[0][0] > 0
    return f"levir_{name.split('_0')[0]}", a, b, truth, None


def mask_scores(pred: np.ndarray, truth: np.ndarray,
                labelled: np.ndarray | None = None) -> tuple[float, float]:
    """(F1, IoU) of the change class over ``labelled`` pixels; both 0 with no true or
    predicted change."""
    if labelled is not None:
        pred, truth = pred[labelled], truth[labelled]
    tp = float(np.sum(pred & truth))
    fp, fn = float(np.sum(pred & ~truth)), float(np.sum(~pred & truth))
    return (2 * tp / (2 * tp + fp + fn) if tp else 0.0,
            tp / (tp + fp + fn) if tp else 0.0)


def run():
    from eolens.inference.change.spectral import detect_change

    for name, a, b, truth, labelled in labelled_pairs():
        start = time.perf_counter()
        result = detect_change(a, b, method="spectral")
        yield f"change_spectral_ms_{name}", 1000 * (time.perf_counter() - start), "ms"
        if not truth.any():
            yield f"change_spectral_frac_{name}", result.stats["changed_fraction"], "fraction"
            continue
        masks = {"spectral": result.mask, "allchange": np.ones_like(truth),
                 "nochange": np.zeros_like(truth)}
        for kind, mask in masks.items():
            f1, iou = mask_scores(mask, truth, labelled)
            yield f"change_{kind}_f1_{name}", f1, "F1"
            yield f"change_{kind}_iou_{name}", iou, "IoU"
