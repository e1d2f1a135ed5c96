"""The ``eolens`` Processing provider, run through ``processing.run`` on real imagery with tiny models.

Every output is checked for CRS, extent/grid and field schema, and every bad parameter for a clear
message and no file left behind.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from conftest import PKG_ROOT
from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsRasterLayer,
    QgsVectorLayer,
)

NAIP = "change/naip_nd_2009_2020"
ALG_IDS = ["eolens:ask", "eolens:caption", "eolens:change", "eolens:detect", "eolens:search",
           "eolens:segment"]
ARCHIVE_IDS = ["eolens:index", "eolens:search_index"]  # no INPUT layer: tests/test_archive_index.py
FEATURE_IDS = ["eolens:evaluate", "eolens:label"]  # tests/test_evaluate.py, tests/test_label.py


class Feedback(QgsProcessingFeedback):
    """Collects what the algorithm reports, so tests can read the messages."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.progress: list[float] = []
        self.progressChanged.connect(self.progress.append)

    def reportError(self, error, fatalError=False):
        self.errors.append(error)
        super().reportError(error, fatalError)

    def pushWarning(self, warning):
        self.warnings.append(warning)
        super().pushWarning(warning)




def run(alg: str, params: dict, feedback: Feedback | None = None):
    import processing

    feedback = feedback or Feedback()
    return processing.run(alg, params, feedback=feedback), feedback


def fails(alg: str, params: dict) -> tuple[str, Feedback]:
    feedback = Feedback()
    with pytest.raises(QgsProcessingException) as err:
        run(alg, params, feedback)
    return str(err.value), feedback


def vector(path: str) -> QgsVectorLayer:
    layer = QgsVectorLayer(path, "out", "ogr")
    assert layer.isValid(), path
    return layer


def fields(layer: QgsVectorLayer) -> list[str]:
    return [f.name() for f in layer.fields() if f.name() != "fid"]


def crs_of(path: str) -> QgsCoordinateReferenceSystem:
    return QgsRasterLayer(path, "r", "gdal").crs()


def same_rect(a, b, tol: float) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(
        (a.xMinimum(), a.yMinimum(), a.xMaximum(), a.yMaximum()),
        (b.xMinimum(), b.yMinimum(), b.xMaximum(), b.yMaximum())))


def bounds_rect(bounds):
    from qgis.core import QgsRectangle

    return QgsRectangle(*bounds)


def capture(path, bounds=None, crs_wkt=None, max_side=1024):
    from eolens.inference import actions

    return actions.capture(str(path), bounds, crs_wkt, max_side=max_side)


@pytest.fixture(scope="session")
def florence(tiny_models):
    return str(tiny_models.path("florence2"))


@pytest.fixture
def out(tmp_path):
    return lambda name: str(tmp_path / name)


# --- the provider ------------------------------------------------------------------------

def test_provider_registers_the_design_algorithms(provider):
    assert provider.id() == "eolens" and provider.name() == "EO Lens"
    assert not provider.icon().isNull()
    assert sorted(a.id() for a in provider.algorithms()) == sorted(ALG_IDS + ARCHIVE_IDS + FEATURE_IDS)
    common = {"INPUT", "EXTENT", "MODEL", "DEVICE", "BANDS", "OFFLINE", "OUTPUT"}
    reg = QgsApplication.processingRegistry()
    for alg_id in ALG_IDS:
        names = {p.name() for p in reg.algorithmById(alg_id).parameterDefinitions()}
        assert common <= names, alg_id
    def params(a):
        return {p.name() for p in reg.algorithmById(a).parameterDefinitions()}
    assert {"INPUT_B", "METHOD", "THRESHOLD", "MIN_AREA", "OUTPUT_RASTER", "OUTPUT_TEXT"} <= params(
        "eolens:change")
    assert {"PROMPT", "TILE_SIZE", "TOP_K", "OUTPUT_RASTER"} <= params("eolens:search")
    assert {"PROMPT", "OUTPUT_RASTER"} <= params("eolens:segment")
    assert {"DETAIL", "OUTPUT_TEXT"} <= params("eolens:caption")
    assert "METHOD" not in params("eolens:segment")
    method = reg.algorithmById("eolens:change").parameterDefinition("METHOD")
    assert method.options() == ["spectral", "semantic", "vlm"]
    assert method.defaultValue() == "spectral" and method.usesStaticStrings()
    device = reg.algorithmById("eolens:caption").parameterDefinition("DEVICE")
    assert device.options() == ["auto", "cuda", "cpu"] and device.defaultValue() == "auto"
    assert reg.algorithmById("eolens:caption").parameterDefinition("MODEL").defaultValue() == \
        "florence-2-base"


def test_loading_the_provider_does_not_import_torch():
    code = (f"import sys; sys.path.insert(0, {str(PKG_ROOT)!r})\n"
            "from qgis.testing import start_app; start_app()\n"
            "from eolens.plugin.processing.provider import EOLensProvider\n"
            "from qgis.core import QgsApplication\n"
            "p = EOLensProvider(); QgsApplication.processingRegistry().addProvider(p)\n"
            "print(len(p.algorithms()), 'torch' in sys.modules, 'transformers' in sys.modules)"
            )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    res = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=180,
                         env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    n = len(ALG_IDS + ARCHIVE_IDS + FEATURE_IDS)
    assert res.stdout.strip().splitlines()[-1] == f"{n} False False"


# --- each algorithm on real imagery --------------------------------------------------------

def test_caption_footprint_is_the_whole_layer(provider, sample_dir, florence, out, no_network):
    src = str(sample_dir / "rasterio_RGB.byte.tif")
    res, fb = run("eolens:caption", {"INPUT": src, "MODEL": florence, "DETAIL": "brief",
                                     "OUTPUT": out("cap.gpkg"), "OUTPUT_TEXT": out("cap.json")})
    assert res["OUTPUT"] == out("cap.gpkg") and res["OUTPUT_TEXT"] == out("cap.json")
    layer, raster = vector(res["OUTPUT"]), QgsRasterLayer(src, "src", "gdal")
    assert layer.crs() == raster.crs() and layer.crs().authid() == "EPSG:32618"
    assert fields(layer) == ["caption", "model", "time", "detail"]
    feats = list(layer.getFeatures())
    assert len(feats) == 1
    assert same_rect(feats[0].geometry().boundingBox(), raster.extent(), 1e-6)
    assert feats[0].geometry().area() == pytest.approx(raster.extent().area(), rel=1e-9)
    assert feats[0]["caption"] == res["TEXT"] and feats[0]["detail"] == "brief"
    assert feats[0]["model"] == florence
    doc = json.loads(Path(res["OUTPUT_TEXT"]).read_text(encoding="utf-8"))
    assert doc["algorithm"] == "eolens:caption" and doc["text"] == res["TEXT"]
    assert doc["meta"]["detail"] == "brief"
    assert fb.progress and fb.progress[-1] == 100


def test_caption_of_an_extent_in_another_crs_is_the_captured_window(provider, sample_dir, florence,
                                                                     out):
    src = str(sample_dir / "rasterio_RGB.byte.tif")
    # a lon/lat box inside the UTM 18N scene: reprojected, snapped to the pixel grid
    extent = "-78.2,-77.4,24.2,24.9 [EPSG:4326]"
    res, _ = run("eolens:caption", {"INPUT": src, "MODEL": florence, "EXTENT": extent,
                                     "OUTPUT": out("cap.gpkg"), "OUTPUT_TEXT": out("cap.txt")})
    expected = capture(src, (-78.2, 24.2, -77.4, 24.9), QgsCoordinateReferenceSystem(
        "EPSG:4326").toWkt()).footprint()
    layer = vector(res["OUTPUT"])
    assert layer.crs().authid() == "EPSG:32618"
    (feat,) = list(layer.getFeatures())
    got = feat.geometry().boundingBox()
    assert same_rect(got, bounds_rect(expected.bounds), 1e-6)
    assert got.width() < QgsRasterLayer(src, "s", "gdal").extent().width() / 2
    assert Path(res["OUTPUT_TEXT"]).read_text(encoding="utf-8") == res["TEXT"] + "\n"


def test_detect_writes_boxes_in_the_layer_crs(provider, sample_dir, florence, out):
    src = str(sample_dir / "OSBS_029.tif")
    res, _ = run("eolens:detect", {"INPUT": src, "PROMPT": "trees", "MODEL": florence,
                                    "DEVICE": "cpu", "OUTPUT": out("boxes.gpkg")})
    layer = vector(res["OUTPUT"])
    assert layer.crs().authid() == "EPSG:32617"
    extent = QgsRasterLayer(src, "s", "gdal").extent()
    for feat in layer.getFeatures():
        assert extent.buffered(0.11).contains(feat.geometry().boundingBox())
        assert feat["prompt"] == "trees" and feat["model"] == florence
    if layer.featureCount():
        assert fields(layer) == ["label", "score", "prompt", "model"]
    assert set(res) == {"OUTPUT"}


def test_segment_mask_is_on_the_captured_grid(provider, sample_dir, florence, out):
    src = str(sample_dir / "OSBS_029.tif")
    res, _ = run("eolens:segment", {"INPUT": src, "PROMPT": "tree crowns", "MODEL": florence,
                                     "OUTPUT": out("seg.gpkg"), "OUTPUT_RASTER": out("seg.tif")})
    image = capture(src)
    with rasterio.open(res["OUTPUT_RASTER"]) as ds, rasterio.open(src) as ref:
        assert ds.crs == ref.crs and ds.transform == image.transform == ref.transform
        assert (ds.height, ds.width) == (image.height, image.width) and ds.dtypes == ("uint8",)
        assert set(np.unique(ds.read(1))) <= {0, 1}
    layer = vector(res["OUTPUT"])
    assert layer.crs().authid() == "EPSG:32617"
    extent = QgsRasterLayer(src, "s", "gdal").extent()
    for feat in layer.getFeatures():
        assert extent.buffered(1e-6).contains(feat.geometry().boundingBox())
        assert feat["prompt"] == "tree crowns"
    if layer.featureCount():
        assert fields(layer)[:2] == ["label", "score"]


def test_change_spectral_on_a_grid(provider, shared_data, out):
    a, b = (str(p) for p in sorted((shared_data / NAIP).glob("*.tif")))
    res, fb = run("eolens:change", {"INPUT": a, "INPUT_B": b, "OUTPUT": out("chg.gpkg"),
                                     "OUTPUT_RASTER": out("heat.tif"), "OUTPUT_TEXT": out("c.json")})
    assert fb.errors == [] and fb.progress[-1] == 100
    from eolens.inference import actions

    ga, _ = actions.coregister_pair(a, b, max_side=1024)
    with rasterio.open(res["OUTPUT_RASTER"]) as ds, rasterio.open(a) as ref:
        assert ds.crs == ref.crs and ds.crs.to_epsg() == 26914
        assert ds.transform == ga.transform
        assert ds.transform.a == ref.transform.a and ds.transform.e == ref.transform.e
        # on A's grid: the origin is a whole number of A's pixels from A's origin
        dx = (ds.transform.c - ref.transform.c) / ref.transform.a
        dy = (ds.transform.f - ref.transform.f) / ref.transform.e
        assert dx == round(dx) and dy == round(dy)
        assert (ds.height, ds.width) == (ga.height, ga.width)
        assert ds.dtypes == ("float32",) and math.isnan(ds.nodata)
        heat = ds.read(1)
        assert np.isfinite(heat).any()
    layer = vector(res["OUTPUT"])
    assert layer.crs().authid() == "EPSG:26914"
    assert fields(layer) == ["change", "area", "method", "date_a", "date_b"]
    feats = list(layer.getFeatures())
    assert feats and layer.featureCount() == int(res["TEXT"].split()[0])
    foot = bounds_rect(ga.footprint().bounds)
    for feat in feats:
        assert foot.contains(feat.geometry().boundingBox())
        assert (feat["method"], feat["date_a"], feat["date_b"]) == ("spectral", "2009-08-18",
                                                                   "2020-08-31")
    doc = json.loads(Path(res["OUTPUT_TEXT"]).read_text(encoding="utf-8"))
    assert doc["text"] == res["TEXT"] and doc["meta"]["method"] == "spectral"

    big, _ = run("eolens:change", {"INPUT": a, "INPUT_B": b, "MIN_AREA": 2000, "THRESHOLD": 3.0,
                                    "OUTPUT": out("big.shp"), "OUTPUT_RASTER": out("big.tif")})
    shp = vector(big["OUTPUT"])
    assert os.path.isfile(out("big.prj")) and os.path.isfile(out("big.cpg"))
    assert shp.crs().authid() == "EPSG:26914"
    assert 0 < shp.featureCount() < len(feats)
    assert all(f.geometry().area() >= 2000 - 1e-6 for f in shp.getFeatures())


def test_change_semantic_uses_the_feature_model(provider, shared_data, tiny_models, out):
    a, b = (str(p) for p in sorted((shared_data / NAIP).glob("*.tif")))
    res, _ = run("eolens:change", {"INPUT": a, "INPUT_B": b, "METHOD": "semantic",
                                    "MODEL": str(tiny_models.path("dinov2")),
                                    "EXTENT": "486500,488500,5206500,5208500 [EPSG:26914]",
                                    "OUTPUT": out("sem.gpkg"), "OUTPUT_RASTER": out("sem.tif")})
    with rasterio.open(res["OUTPUT_RASTER"]) as ds, rasterio.open(a) as ref:
        assert ds.crs == ref.crs and ds.transform.a == 5.0
        assert ds.bounds.left >= 486500 - 5 and ds.bounds.right <= 488500 + 5
        assert ds.bounds.bottom >= 5206500 - 5 and ds.bounds.top <= 5208500 + 5
    layer = vector(res["OUTPUT"])
    assert layer.crs().authid() == "EPSG:26914"
    assert all(f["method"] == "semantic" for f in layer.getFeatures())


def test_search_ranks_tiles(provider, sample_dir, tiny_models, out):
    src = str(sample_dir / "rasterio_RGB.byte.tif")
    res, _ = run("eolens:search", {"INPUT": src, "PROMPT": "a harbour with ships",
                                    "MODEL": str(tiny_models.path("openclip")), "TILE_SIZE": 200,
                                    "TOP_K": 3, "OUTPUT": out("top.gpkg"),
                                    "OUTPUT_RASTER": out("sim.tif")})
    layer = vector(res["OUTPUT"])
    assert layer.crs().authid() == "EPSG:32618"
    assert fields(layer)[:2] == ["rank", "score"] and "query" in fields(layer)
    feats = sorted(layer.getFeatures(), key=lambda f: f["rank"])
    assert [f["rank"] for f in feats] == [1, 2, 3]
    assert [f["score"] for f in feats] == sorted((f["score"] for f in feats), reverse=True)
    extent = QgsRasterLayer(src, "s", "gdal").extent()
    for feat in feats:
        assert extent.buffered(1e-6).contains(feat.geometry().boundingBox())
    with rasterio.open(res["OUTPUT_RASTER"]) as ds, rasterio.open(src) as ref:
        assert ds.crs == ref.crs and ds.dtypes == ("float32",)
        assert ds.bounds.left >= ref.bounds.left - 1e-6 and ds.bounds.top <= ref.bounds.top + 1e-6
        assert np.isfinite(ds.read(1)).any()


def test_ask_answers_about_the_footprint(provider, sample_dir, tiny_models, out):
    src = str(sample_dir / "OSBS_029.tif")
    res, _ = run("eolens:ask", {"INPUT": src, "PROMPT": "How many trees are there?",
                                 "MODEL": str(tiny_models.path("qwen3_vl")), "MAX_SIDE": 128,
                                 "OUTPUT": out("ask.gpkg"), "OUTPUT_TEXT": out("ask.txt")})
    layer = vector(res["OUTPUT"])
    assert layer.crs().authid() == "EPSG:32617"
    assert fields(layer)[:4] == ["question", "answer", "model", "time"]
    first = next(layer.getFeatures())
    assert same_rect(first.geometry().boundingBox(), QgsRasterLayer(src, "s", "gdal").extent(), 1e-6)
    assert first["answer"] == res["TEXT"] and first["question"] == "How many trees are there?"


# --- bad parameters: a clear message and no file left behind ------------------------------

def _nothing_written(tmp_path) -> None:
    assert [p.name for p in tmp_path.iterdir()] == []


def test_missing_prompt_is_refused(provider, sample_dir, florence, tmp_path, out):
    for alg in ("eolens:segment", "eolens:ask", "eolens:search"):
        msg, fb = fails(alg, {"INPUT": str(sample_dir / "OSBS_029.tif"), "PROMPT": "  ",
                              "OUTPUT": out("x.gpkg")})
        assert "Please enter a prompt (PROMPT)." in msg, alg
        assert any("Please enter a prompt" in e for e in fb.errors)
    _nothing_written(tmp_path)


def test_dates_that_do_not_overlap_are_refused(provider, sample_dir, tmp_path, out):
    msg, _ = fails("eolens:change", {
        "INPUT": str(sample_dir / "rasterio_RGB.byte.tif"), "INPUT_B": str(sample_dir / "OSBS_029.tif"),
        "OUTPUT": out("c.gpkg"), "OUTPUT_RASTER": out("c.tif"), "OUTPUT_TEXT": out("c.txt")})
    assert "overlap" in msg.lower()
    assert "Traceback" not in msg
    _nothing_written(tmp_path)


def test_unknown_model_is_refused(provider, sample_dir, tmp_path, out):
    src = str(sample_dir / "OSBS_029.tif")
    msg, fb = fails("eolens:caption", {"INPUT": src, "MODEL": "no-such-model", "OUTPUT": out("c.gpkg")})
    assert "Unknown model 'no-such-model'" in msg and "florence-2-base" in msg
    assert any("Unknown model" in e for e in fb.errors)
    msg, _ = fails("eolens:detect", {"INPUT": src, "MODEL": str(tmp_path / "missing-folder"),
                                      "OUTPUT": out("d.gpkg")})
    assert "does not exist" in msg
    msg, _ = fails("eolens:segment", {"INPUT": src, "PROMPT": "trees", "MODEL": "georsclip-b32",
                                       "OUTPUT": out("s.gpkg")})
    assert "cannot do this" in msg
    _nothing_written(tmp_path)


def test_output_in_a_missing_folder_is_refused(provider, sample_dir, tmp_path, florence):
    src = str(sample_dir / "OSBS_029.tif")
    missing = tmp_path / "nope"
    msg, _ = fails("eolens:caption", {"INPUT": src, "MODEL": florence,
                                       "OUTPUT": str(missing / "c.gpkg")})
    assert "OUTPUT" in msg and "does not exist" in msg and str(missing) in msg
    msg, _ = fails("eolens:segment", {"INPUT": src, "PROMPT": "trees", "MODEL": florence,
                                       "OUTPUT": str(tmp_path / "s.gpkg"),
                                       "OUTPUT_RASTER": str(missing / "s.tif")})
    assert "OUTPUT_RASTER" in msg and "does not exist" in msg
    msg, _ = fails("eolens:caption", {"INPUT": src, "MODEL": florence, "OUTPUT": str(tmp_path / "c.gpkg"),
                                       "OUTPUT_TEXT": str(tmp_path / "c.csv")})
    assert ".txt or .json" in msg
    _nothing_written(tmp_path)


def test_raster_without_crs_is_refused(provider, sample_dir, tmp_path, florence):
    plain = tmp_path / "no_crs.tif"
    with rasterio.open(sample_dir / "OSBS_029.tif") as ds:
        profile = ds.profile
        profile.pop("crs", None)
        data = ds.read()
    with rasterio.open(plain, "w", **profile) as dst:
        dst.write(data)
    assert not QgsRasterLayer(str(plain), "p", "gdal").crs().isValid()
    msg, _ = fails("eolens:caption", {"INPUT": str(plain), "MODEL": florence,
                                       "OUTPUT": str(tmp_path / "c.gpkg")})
    assert "has no CRS" in msg
    # GDAL may add no_crs.tif.aux.xml beside the input; nothing else may appear
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("no_crs.tif")] == []


def test_cancel_leaves_no_output(provider, shared_data, tmp_path, out):
    a, b = (str(p) for p in sorted((shared_data / NAIP).glob("*.tif")))
    feedback = Feedback()
    feedback.cancel()
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        run("eolens:change", {"INPUT": a, "INPUT_B": b, "OUTPUT": out("c.gpkg"),
                              "OUTPUT_RASTER": out("c.tif")}, feedback)
    _nothing_written(tmp_path)



def test_change_vlm_writes_a_two_image_caption(provider, shared_data, tiny_models, out):
    a, b = (str(p) for p in sorted((shared_data / NAIP).glob("*.tif")))
    res, _ = run("eolens:change", {"INPUT": a, "INPUT_B": b, "METHOD": "vlm", "MAX_SIDE": 96,
                                    "MODEL": str(tiny_models.path("qwen3_vl")),
                                    "OUTPUT": out("vlm.gpkg"), "OUTPUT_RASTER": out("vlm.tif"),
                                    "OUTPUT_TEXT": out("vlm.json")})
    import json

    text = json.loads(open(res["OUTPUT_TEXT"], encoding="utf-8").read())
    assert text["algorithm"] == "eolens:change" and text["text"] == res["TEXT"]
    assert res["TEXT"] and "change regions" not in res["TEXT"]    # the model's caption, not a summary
    assert text["meta"]["method"] == "vlm" and text["meta"]["date_a"] == "2009-08-18"
    with rasterio.open(res["OUTPUT_RASTER"]) as ds, rasterio.open(a) as ref:
        assert ds.crs == ref.crs
    assert all(f["method"] == "vlm" for f in vector(res["OUTPUT"]).getFeatures())


def test_change_regions_named_by_a_clip_model(provider, shared_data, tiny_models, out):
    a, b = (str(p) for p in sorted((shared_data / NAIP).glob("*.tif")))
    res, _ = run("eolens:change", {"INPUT": a, "INPUT_B": b, "MAX_SIDE": 256,
                                    "LABEL_MODEL": str(tiny_models.path("openclip")),
                                    "LABELS": "new buildings, water change",
                                    "OUTPUT": out("labelled.gpkg")})
    layer = vector(res["OUTPUT"])
    assert {"label", "label_score"} <= set(layer.fields().names())
    assert {f["label"] for f in layer.getFeatures()} <= {"new buildings", "water change"}
    msg, _ = fails("eolens:change", {"INPUT": a, "INPUT_B": b, "LABEL_MODEL": "qwen3-vl-2b",
                                     "OUTPUT": out("bad.gpkg")})
    assert "cannot do this" in msg and not os.path.exists(out("bad.gpkg"))
