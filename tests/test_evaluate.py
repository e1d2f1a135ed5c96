"""eolens:evaluate on real labelled data: NEON OSBS tree crowns and the OSCD Rennes change map.

Expected figures are computed here independently (brute-force IoU of every pair with shapely,
a greedy matching written out again, the bench's own pixel F1), never copied from a run.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from qgis.core import QgsProcessingException, QgsProcessingFeedback, QgsVectorLayer
from shapely import affinity
from shapely.geometry import box, shape

NEON = "boxes/neon_osbs_029"




def run(alg: str, params: dict):
    import processing

    return processing.run(alg, params, feedback=QgsProcessingFeedback())


@pytest.fixture(scope="session")
def crowns(shared_data):
    path = shared_data / NEON / "OSBS_029_boxes.geojson"
    doc = json.loads(path.read_text())
    return str(path), doc, [shape(f["geometry"]) for f in doc["features"]]


def write_geojson(path, doc, geoms, extra=None) -> str:
    feats = []
    for i, (f, g) in enumerate(zip(doc["features"], geoms)):
        props = dict(f["properties"], **(extra[i] if extra else {}))
        feats.append({"type": "Feature", "properties": props, "geometry": g.__geo_interface__})
    out = dict(doc, features=feats)
    path.write_text(json.dumps(out))
    return str(path)


def evaluate(tmp_path, pred, ref, **extra) -> tuple[dict, dict]:
    res = run("eolens:evaluate", {"PREDICTED": pred, "REFERENCE": ref,
                                   "OUTPUT": str(tmp_path / "tags.gpkg"),
                                   "OUTPUT_TEXT": str(tmp_path / "report.json"), **extra})
    return res, json.loads((tmp_path / "report.json").read_text())


def brute_force(pred, ref, threshold):
    """Every pair's IoU with shapely, then greedy one-to-one matching by IoU (no scores)."""
    pairs = []
    for i, p in enumerate(pred):
        for j, r in enumerate(ref):
            inter = p.intersection(r).area
            if inter > 0:
                pairs.append((inter / (p.area + r.area - inter), i, j))
    pairs.sort(key=lambda t: (-t[0], t[1]))
    used_p, used_r, ious = set(), set(), []
    for iou, i, j in pairs:
        if iou >= threshold and i not in used_p and j not in used_r:
            used_p.add(i)
            used_r.add(j)
            ious.append(iou)
    return len(ious), ious


# --- tree crowns ---------------------------------------------------------------------------

def test_crowns_against_themselves_score_one(provider, crowns, tmp_path):
    path, _, geoms = crowns
    res, rep = evaluate(tmp_path, path, path)
    for key in ("precision", "recall", "f1", "ap", "iou"):
        assert rep[key] == pytest.approx(1.0), key
    assert (rep["tp"], rep["fp"], rep["fn"]) == (len(geoms), 0, 0)
    assert res["F1"] == pytest.approx(1.0)
    tags = QgsVectorLayer(res["OUTPUT"], "t", "ogr")
    assert tags.featureCount() == 2 * len(geoms)
    assert tags.crs().authid() == "EPSG:32617"
    assert {f["status"] for f in tags.getFeatures()} == {"TP"}
    assert all(f["iou"] == pytest.approx(1.0) for f in tags.getFeatures())


@pytest.mark.parametrize("threshold", [0.5, 0.3, 0.2])
def test_crowns_shifted_by_half_their_width(provider, crowns, tmp_path, threshold):
    path, doc, geoms = crowns
    shifted = [affinity.translate(g, (g.bounds[2] - g.bounds[0]) / 2, 0) for g in geoms]
    # a box against itself shifted by half its width: overlap w/2 * h over 1.5 w * h
    own = [g.intersection(s).area / g.union(s).area for g, s in zip(geoms, shifted)]
    assert np.allclose(own, 1 / 3)
    tp, ious = brute_force(shifted, geoms, threshold)
    pred = write_geojson(tmp_path / "shifted.geojson", doc, shifted)
    _, rep = evaluate(tmp_path, pred, path, IOU=threshold)
    n = len(geoms)
    assert (rep["tp"], rep["fp"], rep["fn"]) == (tp, n - tp, n - tp)
    assert rep["precision"] == pytest.approx(tp / n) and rep["recall"] == pytest.approx(tp / n)
    assert rep["iou"] == pytest.approx(np.mean(ious) if ious else 0.0)
    assert rep["ap"] == pytest.approx((tp / n) ** 2)  # one operating point: AP = P x R
    if threshold <= 1 / 3:
        assert tp >= n - 5  # nearly every crown finds its own shifted copy
    else:
        assert tp < n // 4


def test_empty_prediction_has_zero_recall(provider, crowns, tmp_path):
    path = crowns[0]
    empty = QgsVectorLayer("Polygon?crs=EPSG:32617", "nothing found", "memory")
    assert empty.isValid() and empty.featureCount() == 0
    res, rep = evaluate(tmp_path, empty, path)
    # nothing predicted: precision (0 / 0) and so F1 are undefined, not 0 (issue 23)
    assert rep["recall"] == 0.0 and rep["precision"] is None and rep["f1"] is None
    assert res["RECALL"] == 0.0 and res["PRECISION"] is None and res["F1"] is None
    assert (rep["tp"], rep["fp"], rep["fn"]) == (0, 0, len(crowns[2]))
    assert {f["status"] for f in QgsVectorLayer(res["OUTPUT"], "t", "ogr").getFeatures()} == {"FN"}


def test_prediction_in_another_crs_is_reprojected(provider, crowns, tmp_path):
    import processing

    path, _, geoms = crowns
    wgs84 = processing.run("native:reprojectlayer", {"INPUT": path, "TARGET_CRS": "EPSG:4326",
                                                     "OUTPUT": "memory:"})["OUTPUT"]
    assert wgs84.crs().authid() == "EPSG:4326"
    _, rep = evaluate(tmp_path, wgs84, path, IOU=0.9)
    assert rep["tp"] == len(geoms) and rep["fp"] == 0
    assert 0.99 < rep["iou"] <= 1.0  # reprojected rings are no longer exact rectangles


def test_classes_give_per_class_figures_and_a_confusion_matrix(provider, crowns, tmp_path):
    path, doc, geoms = crowns
    size = ["big" if g.area > np.median([h.area for h in geoms]) else "small" for g in geoms]
    ref = write_geojson(tmp_path / "ref.geojson", doc, geoms, [{"kind": s} for s in size])
    swapped = [("small" if s == "big" else "big") if i % 5 == 0 else s for i, s in enumerate(size)]
    pred = write_geojson(tmp_path / "pred.geojson", doc, geoms, [{"kind": s} for s in swapped])
    _, rep = evaluate(tmp_path, pred, ref, FIELD_PREDICTED="kind", FIELD_REFERENCE="kind")
    wrong = sum(a != b for a, b in zip(size, swapped))
    assert rep["tp"] == len(geoms) - wrong and rep["fp"] == wrong and rep["fn"] == wrong
    for name in ("big", "small"):
        c = rep["classes"][name]
        right = sum(1 for a, b in zip(size, swapped) if a == b == name)
        assert c["tp"] == right
        assert c["fp"] == sum(1 for a, b in zip(size, swapped) if b == name and a != name)
        assert rep["confusion"][name][name] == right
    big_as_small = sum(1 for a, b in zip(size, swapped) if a == "big" and b == "small")
    assert rep["confusion"]["big"].get("small", 0) == big_as_small


def test_missing_class_field_is_refused(provider, crowns, tmp_path):
    path = crowns[0]
    with pytest.raises(QgsProcessingException, match="no field 'nope'"):
        run("eolens:evaluate", {"PREDICTED": path, "REFERENCE": path, "FIELD_PREDICTED": "nope",
                                "OUTPUT": str(tmp_path / "t.gpkg")})


# --- change: OSCD Rennes -------------------------------------------------------------------

def test_rennes_spectral_polygons_score_the_bench_f1(provider, shared_data, tmp_path):
    from bench.bench_change import labelled_pairs, mask_scores

    from eolens.inference.change.spectral import change_polygons, detect_change
    from eolens.inference.io.export import write_vector
    from eolens.inference.io.georef import GeoFeature

    name, a, b, truth, labelled = next(labelled_pairs())
    assert name == "oscd_rennes" and labelled is None
    result = detect_change(a, b, method="spectral")
    bench_f1, bench_iou = mask_scores(result.mask, truth, labelled)
    assert 0.0 < bench_f1 < 1.0
    polys = change_polygons(result, a.transform)
    pred = str(tmp_path / "rennes_change.gpkg")
    write_vector([GeoFeature(p, {"change": 1}) for p in polys], pred, a.crs_wkt)
    ref = str(shared_data / "change" / "oscd_rennes" / "rennes_cm_georef.tif")
    res, rep = evaluate(tmp_path, pred, ref)
    assert rep["mode"] == "pixels"
    assert rep["f1"] == pytest.approx(bench_f1, abs=1e-12)
    assert rep["iou"] == pytest.approx(bench_iou, abs=1e-12)
    assert rep["tp"] == int(np.sum(result.mask & truth))
    assert rep["fn"] == int(np.sum(~result.mask & truth))
    statuses = {f["status"] for f in QgsVectorLayer(res["OUTPUT"], "t", "ogr").getFeatures()}
    assert statuses == {"TP", "FP", "FN"}


def test_rennes_label_against_itself_as_rasters(provider, shared_data, tmp_path):
    ref = str(shared_data / "change" / "oscd_rennes" / "rennes_cm_georef.tif")
    _, rep = evaluate(tmp_path, ref, ref)
    assert rep["f1"] == 1.0 and rep["fp"] == 0 and rep["fn"] == 0 and rep["tp"] > 0


# --- the plain functions ------------------------------------------------------------------

def test_ap_follows_the_scores():
    from eolens.inference.evaluate import evaluate_objects

    ref = [box(0, 0, 1, 1), box(10, 0, 11, 1)]
    pred = [box(0, 0, 1, 1), box(5, 5, 6, 6), box(10, 0, 11, 1)]
    m = evaluate_objects(pred, ref, pred_scores=[0.9, 0.8, 0.7]).metrics
    # PR points (0.5, 1), (0.5, 1/2), (1, 2/3): envelope area 0.5 * 1 + 0.5 * 2/3
    assert m["ap"] == pytest.approx(0.5 + 0.5 * 2 / 3)
    m = evaluate_objects(pred, ref, pred_scores=[0.9, 0.95, 0.7]).metrics
    # FP first: PR points (0, 0), (0.5, 1/2), (1, 2/3); the envelope lifts 1/2 to 2/3
    assert m["ap"] == pytest.approx(2 / 3)


def test_matching_equals_brute_force_on_mixed_polygons():
    from eolens.inference.evaluate import evaluate_objects

    rng = np.random.default_rng(7)
    ref = [box(x, y, x + w, y + h) for x, y, w, h in rng.uniform([0, 0, 1, 1], [50, 50, 6, 6], (400, 4))]
    pred = [affinity.rotate(g, 20) if i % 3 == 0 else affinity.translate(g, *rng.normal(0, 0.5, 2))
            for i, g in enumerate(ref)]
    pred.append(box(-5, -5, 60, 3))  # one long box spans many grid cells
    for threshold in (0.1, 0.5):
        tp, ious = brute_force(pred, ref, threshold)
        m = evaluate_objects(pred, ref, iou=threshold).metrics
        assert m["tp"] == tp and m["fp"] == len(pred) - tp and m["fn"] == len(ref) - tp
        assert m["iou"] == pytest.approx(np.mean(ious))
