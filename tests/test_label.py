"""eolens:label with tiny random-weight models on the NEON OSBS tree crowns over OSBS_029.tif.

Checks fields, CRS and counts of the output, that class scores are a distribution, that a
feature outside the raster or on nodata gets an empty label with a reason, that a re-run (and
a run after a cancel) only does the missing features, and that a vector layer in another CRS
than the raster is read at the right place.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
from qgis.core import (QgsApplication, QgsProcessingException, QgsProcessingFeatureSourceDefinition,
                       QgsProcessingFeedback, QgsProject, QgsVectorLayer)
from shapely import affinity
from shapely.geometry import shape

NEON = "boxes/neon_osbs_029"
CLASSES = "tree crowns, bare sand, a road"




def run(params: dict, feedback=None):
    import processing

    return processing.run("eolens:label", params, feedback=feedback or QgsProcessingFeedback())


@pytest.fixture(scope="session")
def neon(shared_data):
    d = shared_data / NEON
    return str(d / "OSBS_029.tif"), str(d / "OSBS_029_boxes.geojson")


@pytest.fixture(scope="session")
def clip(tiny_models):
    return str(tiny_models.path("openclip"))


@pytest.fixture
def crowns_plus_outside(neon, tmp_path):
    """The 61 crowns and one more box 1 km east of the raster."""
    doc = json.loads(open(neon[1]).read())
    far = affinity.translate(shape(doc["features"][0]["geometry"]), 1000, 0)
    doc["features"].append({"type": "Feature", "properties": dict(doc["features"][0]["properties"], id=61),
                            "geometry": far.__geo_interface__})
    path = tmp_path / "crowns_plus.geojson"
    path.write_text(json.dumps(doc))
    return str(path)


def features(path: str) -> list:
    layer = QgsVectorLayer(path, "out", "ogr")
    assert layer.isValid(), path
    return layer, list(layer.getFeatures())


def test_classify_labels_every_crown(provider, neon, clip, crowns_plus_outside, tmp_path):
    raster, _ = neon
    out = str(tmp_path / "labels.gpkg")
    res = run({"INPUT": raster, "FEATURES": crowns_plus_outside, "MODE": "classify",
               "CLASSES": CLASSES, "MODEL": clip, "BUFFER": "20%", "OUTPUT": out})
    layer, feats = features(res["OUTPUT"])
    src = QgsVectorLayer(crowns_plus_outside, "in", "ogr")
    assert layer.featureCount() == src.featureCount() == 62
    assert layer.crs().authid() == src.crs().authid() == "EPSG:32617"
    names = [f.name() for f in layer.fields()]
    assert {"label", "score", "scores", "model", "prompt", "reason", "src_fid"} <= set(names)
    assert "label_input" in names  # the input's own 'label' field is kept under another name
    classes = [c.strip() for c in CLASSES.split(",")]
    inside = [f for f in feats if f["id"] != 61]
    assert len(inside) == 61
    for f in inside:
        scores = json.loads(f["scores"])
        assert list(scores) == classes
        assert sum(scores.values()) == pytest.approx(1.0, abs=1e-5)
        assert f["label"] == max(scores, key=scores.get)
        assert f["score"] == pytest.approx(max(scores.values()), abs=1e-5)
        assert not f["reason"] and f["model"] == clip
    (outside,) = [f for f in feats if f["id"] == 61]
    assert outside["label"] == "" and outside["reason"] == "outside the raster"
    assert (res["LABELLED"], res["UNLABELLED"], res["SKIPPED"]) == (61, 1, 0)
    # geometry copied unchanged
    by_id = {f["id"]: f for f in src.getFeatures()}
    assert all(f.geometry().isGeosEqual(by_id[f["id"]].geometry()) for f in feats)

    # a rerun with the same output skips everything already there
    again = run({"INPUT": raster, "FEATURES": crowns_plus_outside, "MODE": "classify",
                 "CLASSES": CLASSES, "MODEL": clip, "BUFFER": "20%", "OUTPUT": out})
    assert (again["SKIPPED"], again["LABELLED"], again["UNLABELLED"]) == (62, 0, 0)
    assert features(out)[0].featureCount() == 62

    # ... but not with other settings
    with pytest.raises(QgsProcessingException, match="holds labels from model"):
        run({"INPUT": raster, "FEATURES": crowns_plus_outside, "MODE": "classify",
             "CLASSES": "water, fields", "MODEL": clip, "OUTPUT": out})


def test_features_in_another_crs_are_read_where_they_are(provider, neon, clip, tmp_path):
    import processing

    raster, crowns = neon
    wgs84 = processing.run("native:reprojectlayer", {"INPUT": crowns, "TARGET_CRS": "EPSG:4326",
                                                     "OUTPUT": str(tmp_path / "wgs84.gpkg")})["OUTPUT"]
    res = run({"INPUT": raster, "FEATURES": wgs84, "MODE": "classify", "CLASSES": CLASSES,
               "MODEL": clip, "BUFFER": "0", "OUTPUT": str(tmp_path / "wgs84_labels.gpkg")})
    layer, feats = features(res["OUTPUT"])
    assert layer.crs().authid() == "EPSG:4326" and layer.featureCount() == 61
    assert res["LABELLED"] == 61 and all(not f["reason"] for f in feats)

    # the chips: each reprojected box lands on (and just covers) the UTM box it came from
    from eolens.inference.label import FeatureIn, feature_bounds

    utm = QgsVectorLayer(crowns, "utm", "ogr")
    geo = QgsVectorLayer(wgs84, "geo", "ogr")
    as_in = [FeatureIn(f.id(), bytes(f.geometry().asWkb()), {}) for f in geo.getFeatures()]
    with rasterio.open(raster) as ds:
        boxes, families = feature_bounds(as_in, geo.crs().toWkt(), ds.crs.to_wkt())
    assert families == {"Polygon"}
    truth = np.array([[f.geometry().boundingBox().xMinimum(), f.geometry().boundingBox().yMinimum(),
                       f.geometry().boundingBox().xMaximum(), f.geometry().boundingBox().yMaximum()]
                      for f in utm.getFeatures()])
    assert np.all(boxes[:, :2] <= truth[:, :2] + 1e-6) and np.all(boxes[:, 2:] >= truth[:, 2:] - 1e-6)
    assert np.allclose(boxes, truth, atol=0.05)  # 5 cm on 0.1 m pixels


def test_selected_features_only_ask_and_caption(provider, neon, tiny_models, tmp_path):
    raster, crowns = neon
    layer = QgsVectorLayer(crowns, "crowns", "ogr")
    QgsProject.instance().addMapLayer(layer)
    try:
        ids = [f.id() for f in layer.getFeatures()][:2]
        layer.selectByIds(ids)
        selected = QgsProcessingFeatureSourceDefinition(layer.id(), True)
        res = run({"INPUT": raster, "FEATURES": selected, "MODE": "ask",
                   "PROMPT": "Is this tree healthy?", "MODEL": str(tiny_models.path("qwen3_vl")),
                   "MAX_SIDE": 64, "OUTPUT": str(tmp_path / "ask.gpkg")})
        out, feats = features(res["OUTPUT"])
        assert out.featureCount() == 2 and sorted(f["src_fid"] for f in feats) == sorted(ids)
        assert all(isinstance(f["answer"], str) and f["prompt"] == "Is this tree healthy?"
                   for f in feats)
        res = run({"INPUT": raster, "FEATURES": selected, "MODE": "caption",
                   "MODEL": str(tiny_models.path("florence2")), "MAX_SIDE": 64,
                   "OUTPUT": str(tmp_path / "caption.shp")})
        out, feats = features(res["OUTPUT"])
        assert out.featureCount() == 2 and out.crs().authid() == "EPSG:32617"
        assert all(isinstance(f["answer"], str) for f in feats) and res["LABELLED"] == 2
    finally:
        QgsProject.instance().removeMapLayer(layer.id())


@pytest.mark.parametrize("params, message", [
    ({"MODE": "classify", "CLASSES": "trees"}, "at least two CLASSES"),
    ({"MODE": "ask"}, "needs a question"),
    ({"MODE": "classify", "CLASSES": "a, b", "BUFFER": "lots"}, "BUFFER 'lots'"),
])
def test_bad_parameters_are_refused_before_any_model_loads(provider, neon, clip, tmp_path,
                                                           params, message):
    raster, crowns = neon
    with pytest.raises(QgsProcessingException, match=message):
        run({"INPUT": raster, "FEATURES": crowns, "MODEL": clip, "OUTPUT": str(tmp_path / "x.gpkg"),
             **params})
    assert list(tmp_path.iterdir()) == []


# --- the plain function: nodata, cancel and resume -------------------------------------------

def _crowns_in(neon):
    from osgeo import ogr

    from eolens.inference.label import FeatureIn

    ds = ogr.Open(neon[1])
    lyr = ds.GetLayer(0)
    feats = [FeatureIn(f.GetFID(), bytes(f.GetGeometryRef().ExportToWkb()), f.items()) for f in lyr]
    return feats, lyr.GetSpatialRef().ExportToWkt()


def test_nodata_cancel_and_resume(neon, clip, tmp_path):
    from eolens.inference.cancel import CancelToken
    from eolens.inference.errors import Cancelled
    from eolens.inference.label import LabelSpec, label_features

    raster, _ = neon
    feats, crs = _crowns_in(neon)
    # the same image with the first crown's window set to nodata (255 on every band)
    first = shape(json.loads(open(neon[1]).read())["features"][0]["geometry"])
    blank = str(tmp_path / "osbs_blank.tif")
    with rasterio.open(raster) as src:
        data, profile = src.read(), src.profile
        win = src.window(*first.buffer(1.0).bounds)
        r0, c0 = int(win.row_off), int(win.col_off)
        data[:, r0:r0 + int(np.ceil(win.height)) + 1, c0:c0 + int(np.ceil(win.width)) + 1] = 255
    with rasterio.open(blank, "w", **profile) as dst:
        dst.write(data)
    spec = LabelSpec("classify", clip, classes=("trees", "sand"), batch_size=8)
    out = str(tmp_path / "resume.gpkg")
    token = CancelToken()
    done = []

    def progress(p):
        done.append(p)
        if p > 20:
            token.cancel()

    with pytest.raises(Cancelled):
        label_features(blank, feats, spec, out, features_crs=crs, progress=progress, cancel=token)
    from osgeo import ogr

    ds = ogr.Open(out)  # keep the dataset alive while its layer is used
    partial = ds.GetLayer(0).GetFeatureCount()
    ds = None
    assert 0 < partial < len(feats) and partial % 8 == 0  # whole chunks only
    summary = label_features(blank, feats, spec, out, features_crs=crs)
    assert summary.skipped == partial and summary.labelled + summary.unlabelled == len(feats) - partial
    ds = ogr.Open(out)
    rows = {f.GetField("src_fid"): f for f in ds.GetLayer(0)}
    assert sorted(rows) == sorted(f.fid for f in feats)
    assert rows[feats[0].fid].GetField("reason") == "only nodata pixels under the feature"
    assert rows[feats[0].fid].GetField("label") == ""
    assert sum(1 for f in rows.values() if f.GetField("reason")) == 1


def test_parameters_follow_the_design(provider):
    reg = QgsApplication.processingRegistry()

    def names(alg):
        return {p.name() for p in reg.algorithmById(alg).parameterDefinitions()}

    assert {"INPUT", "FEATURES", "MODE", "PROMPT", "CLASSES", "MODEL", "BUFFER", "MAX_SIDE",
            "DEVICE", "OUTPUT"} <= names("eolens:label")
    assert {"PREDICTED", "REFERENCE", "IOU", "FIELD_PREDICTED", "FIELD_REFERENCE", "EXTENT",
            "OUTPUT", "OUTPUT_TEXT"} <= names("eolens:evaluate")
    mode = reg.algorithmById("eolens:label").parameterDefinition("MODE")
    assert mode.options() == ["classify", "ask", "caption"] and mode.usesStaticStrings()
