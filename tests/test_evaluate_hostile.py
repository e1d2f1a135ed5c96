"""Issue 23, eolens:evaluate against hostile inputs, through Processing.

Each case checks the outcome (refused, or done with the right figures), that the message names
the parameter and the file or layer and holds no exception class name, that every file that
existed before is byte-identical after, and that nothing is left beside the inputs or outputs.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from osgeo import gdal
from qgis.core import QgsVectorLayer
from test_hostile_inputs import Feedback, assert_plain, run, snapshot

NEON = "boxes/neon_osbs_029/OSBS_029_boxes.geojson"
ALG = "eolens:evaluate"


def _with_first(doc: dict, geometry: dict) -> dict:
    feats = [dict(f) for f in doc["features"]]
    feats[0] = dict(feats[0], geometry=geometry)
    return dict(doc, features=feats)


def _ring(doc: dict) -> tuple[float, float, float, float]:
    xs, ys = zip(*doc["features"][0]["geometry"]["coordinates"][0])
    return min(xs), min(ys), max(xs), max(ys)


@pytest.fixture
def inputs(shared_data, tmp_path) -> Path:
    """crowns.geojson, pred.gpkg (the same crowns), ref.json (GeoJSON named .json), empty
    layers, a zero-byte GeoPackage, a text file, a bow tie and a polygon with no area."""
    folder = tmp_path / "in"
    folder.mkdir()
    src = shared_data / NEON
    shutil.copy(src, folder / "crowns.geojson")
    shutil.copy(src, folder / "ref.json")
    gdal.VectorTranslate(str(folder / "pred.gpkg"), str(src), format="GPKG", layerName="pred")
    gdal.VectorTranslate(str(folder / "empty.gpkg"), str(src), format="GPKG", layerName="empty",
                         where="1 = 0")
    doc = json.loads(src.read_text())
    (folder / "zero.gpkg").write_bytes(b"")
    (folder / "notes.geojson").write_text("not a layer, just words\n")
    x0, y0, x1, y1 = _ring(doc)
    bow = [[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]  # crosses itself in the middle
    (folder / "bowtie.geojson").write_text(json.dumps(_with_first(
        doc, {"type": "Polygon", "coordinates": [bow]})))
    flat = [[x0, y0], [x1, y0], [(x0 + x1) / 2, y0], [x0, y0]]  # a ring with no area
    (folder / "flat.geojson").write_text(json.dumps(_with_first(
        doc, {"type": "Polygon", "coordinates": [flat]})))
    return folder


@pytest.fixture
def outdir(tmp_path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def evaluate(inputs: Path, outdir: Path, pred, ref, **extra):
    """Run eolens:evaluate into ``outdir``; (results, message, feedback, report or None)."""
    params = {"PREDICTED": str(inputs / pred) if isinstance(pred, str) else pred,
              "REFERENCE": str(inputs / ref) if isinstance(ref, str) else ref,
              "OUTPUT": str(outdir / "tags.gpkg"), "OUTPUT_TEXT": str(outdir / "report.json")}
    params.update(extra)
    res, msg, fb = run(ALG, params)
    report = outdir / "report.json"
    return res, msg, fb, json.loads(report.read_text()) if res and report.exists() else None


def assert_refused(before: dict, inputs: Path, outdir: Path, res, msg: str, *names: str) -> None:
    assert res is None, res
    assert_plain(msg, *names)
    assert snapshot(inputs) == before  # every input byte-identical, nothing added beside them
    assert sorted(os.listdir(outdir)) == []


# --- EXTENT ----------------------------------------------------------------------------------

def test_extent_outside_both_layers_is_refused(provider, inputs, outdir):
    before = snapshot(inputs)
    res, msg, _, _ = evaluate(inputs, outdir, "pred.gpkg", "crowns.geojson",
                              EXTENT="0,10,0,10 [EPSG:32617]")
    assert_refused(before, inputs, outdir, res, msg, "EXTENT", "PREDICTED 'pred'",
                   "REFERENCE 'crowns'", "outside both layers")


def test_extent_of_zero_width_is_refused(provider, inputs, outdir):
    before = snapshot(inputs)
    res, msg, _, _ = evaluate(inputs, outdir, "pred.gpkg", "crowns.geojson",
                              EXTENT="404000,404000,3284000,3285000 [EPSG:32617]")
    assert_refused(before, inputs, outdir, res, msg, "EXTENT", "zero width")


# --- empty layers: undefined, not 0 --------------------------------------------------------------

def test_empty_predicted_layer_gives_undefined_precision(provider, inputs, outdir):
    before = snapshot(inputs)
    res, msg, fb, rep = evaluate(inputs, outdir, "empty.gpkg", "crowns.geojson")
    assert msg == "" and rep is not None
    n = QgsVectorLayer(str(inputs / "crowns.geojson"), "c", "ogr").featureCount()
    assert rep["precision"] is None and rep["f1"] is None and rep["recall"] == 0.0
    assert (rep["tp"], rep["fp"], rep["fn"]) == (0, 0, n)
    assert res["PRECISION"] is None and res["F1"] is None and res["RECALL"] == 0.0
    assert "precision  undefined" in res["TEXT"] and "f1         undefined" in res["TEXT"]
    warning = [w for w in fb.log if "has no features" in w]
    assert len(warning) == 1 and "PREDICTED 'empty'" in warning[0], fb.log
    assert_plain(warning[0], "PREDICTED", "precision")
    assert snapshot(inputs) == before
    assert sorted(os.listdir(outdir)) == ["report.json", "tags.gpkg"]


def test_empty_reference_layer_gives_undefined_recall(provider, inputs, outdir):
    res, msg, fb, rep = evaluate(inputs, outdir, "crowns.geojson", "empty.gpkg")
    assert msg == "" and rep is not None
    assert rep["recall"] is None and rep["f1"] is None and rep["ap"] is None
    assert rep["precision"] == 0.0 and rep["fp"] > 0
    assert res["RECALL"] is None and "recall     undefined" in res["TEXT"]
    warning = [w for w in fb.log if "has no features" in w]
    assert len(warning) == 1 and "REFERENCE 'empty'" in warning[0], fb.log


def test_well_defined_figures_are_unchanged(provider, inputs, outdir):
    res, msg, fb, rep = evaluate(inputs, outdir, "pred.gpkg", "crowns.geojson")
    assert msg == "" and rep is not None
    for key in ("precision", "recall", "f1", "ap", "iou"):
        assert rep[key] == pytest.approx(1.0), key
    assert res["F1"] == pytest.approx(1.0)
    assert not [w for w in fb.log if "has no features" in w or "invalid polygon" in w]


# --- unreadable files --------------------------------------------------------------------------

@pytest.mark.parametrize("param, name, why", [
    ("PREDICTED", "zero.gpkg", "empty (0 bytes)"),
    ("REFERENCE", "notes.geojson", "not a readable vector layer"),
    ("PREDICTED", "missing.gpkg", "does not exist"),
])
def test_unreadable_file_is_named(provider, inputs, outdir, param, name, why):
    before = snapshot(inputs)
    pair = {"PREDICTED": "crowns.geojson", "REFERENCE": "crowns.geojson", param: name}
    res, msg, _, _ = evaluate(inputs, outdir, pair["PREDICTED"], pair["REFERENCE"])
    assert_refused(before, inputs, outdir, res, msg, param, str(inputs / name), why)
    assert "mesh" not in msg


# --- invalid polygons ----------------------------------------------------------------------------

def test_bow_tie_is_repaired_and_counted(provider, inputs, outdir):
    before = snapshot(inputs)
    res, msg, fb, rep = evaluate(inputs, outdir, "bowtie.geojson", "crowns.geojson")
    assert msg == "" and rep is not None
    n = QgsVectorLayer(str(inputs / "crowns.geojson"), "c", "ogr").featureCount()
    # repaired, the bow tie is two triangles, half its box: IoU 0.5 with the crown, a match
    # (unrepaired, its two lobes' signed areas cancel and it matched nothing)
    assert (rep["tp"], rep["fp"], rep["fn"]) == (n, 0, 0)
    repaired = [w for w in fb.log if "invalid polygon" in w]
    assert repaired == ["PREDICTED 'bowtie': repaired 1 invalid polygon(s) (self-intersections) "
                        "before matching."]
    assert not any("TopologyException" in w or "Self-intersection" in w for w in fb.log)
    tags = QgsVectorLayer(res["OUTPUT"], "t", "ogr")
    assert tags.featureCount() == 2 * n
    fid = next(QgsVectorLayer(str(inputs / "bowtie.geojson"), "b", "ogr").getFeatures()).id()
    bow = [f for f in tags.getFeatures() if f["source"] == "predicted" and f["src_fid"] == fid]
    assert len(bow) == 1 and bow[0]["iou"] == pytest.approx(0.5)
    assert snapshot(inputs) == before


def test_polygon_that_cannot_be_repaired_is_named(provider, inputs, outdir):
    before = snapshot(inputs)
    layer = QgsVectorLayer(str(inputs / "flat.geojson"), "flat", "ogr")
    fid = next(layer.getFeatures()).id()
    res, msg, _, _ = evaluate(inputs, outdir, "crowns.geojson", "flat.geojson")
    assert_refused(before, inputs, outdir, res, msg, "REFERENCE 'flat'", f"feature {fid}",
                   "cannot be repaired")


# --- IOU ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("iou", [0, 1.5, -0.2, "half"])
def test_iou_outside_its_range_states_the_range(provider, inputs, outdir, iou):
    before = snapshot(inputs)
    res, msg, _, _ = evaluate(inputs, outdir, "pred.gpkg", "crowns.geojson", IOU=iou)
    assert_refused(before, inputs, outdir, res, msg, "IOU", "from 0.01 to 1", f"'{iou}'")
    assert "Incorrect parameter value" not in msg


# --- outputs that are inputs -------------------------------------------------------------------

def _link(target: Path, folder: Path, name: str) -> str:
    link = folder / name
    link.symlink_to(target)
    return str(link)


@pytest.mark.parametrize("case", ["gpkg", "json", "gpkg_link", "json_dotdot"])
def test_output_that_is_an_input_is_refused(provider, inputs, outdir, case):
    links = outdir.parent / "links"
    links.mkdir()
    (inputs / "sub").mkdir()
    before = snapshot(inputs)
    links_before = snapshot(links)
    params, names = {}, ()
    if case == "gpkg":
        params, names = {"OUTPUT": str(inputs / "pred.gpkg")}, ("OUTPUT", "PREDICTED")
    elif case == "json":
        params, names = {"OUTPUT_TEXT": str(inputs / "ref.json")}, ("OUTPUT_TEXT", "REFERENCE")
    elif case == "gpkg_link":
        params = {"OUTPUT": _link(inputs / "pred.gpkg", links, "alias.gpkg")}
        names = ("OUTPUT", "PREDICTED", "alias.gpkg")
        links_before = snapshot(links)
    else:
        params = {"OUTPUT_TEXT": str(inputs / "sub" / ".." / "ref.json")}
        names = ("OUTPUT_TEXT", "REFERENCE")
    res, msg, _, _ = evaluate(inputs, outdir, "pred.gpkg", "ref.json", **params)
    assert_refused(before, inputs, outdir, res, msg, *names)
    assert snapshot(links) == links_before and os.path.islink(links / "alias.gpkg") == \
        (case == "gpkg_link")


# --- progress and Cancel -------------------------------------------------------------------------

class Progress(Feedback):
    """Records progress; cancels once it passes ``stop`` percent (None: never)."""

    def __init__(self, stop: float | None) -> None:
        super().__init__()
        self.stop, self.steps = stop, []

    def setProgress(self, progress):  # noqa: N802 - Qt's name
        self.steps.append(progress)
        if self.stop is not None and progress > self.stop:
            self.cancel()
        super().setProgress(progress)


def _run_with(fb: Progress, inputs: Path, outdir: Path):
    import processing
    from qgis.core import QgsProcessingException

    params = {"PREDICTED": str(inputs / "pred.gpkg"), "REFERENCE": str(inputs / "crowns.geojson"),
              "OUTPUT": str(outdir / "tags.gpkg"), "OUTPUT_TEXT": str(outdir / "report.json")}
    try:
        return processing.run(ALG, params, feedback=fb), ""
    except QgsProcessingException as err:
        return None, str(err)


def test_progress_climbs_to_100(provider, inputs, outdir):
    fb = Progress(None)
    res, msg = _run_with(fb, inputs, outdir)
    assert msg == "" and res is not None
    steps = [s for s in fb.steps if s > 0]
    assert len(set(steps)) >= 5 and steps[-1] == 100
    assert steps == sorted(steps)  # never goes back


def test_cancel_during_the_evaluation_leaves_nothing(provider, inputs, outdir):
    before = snapshot(inputs)
    fb = Progress(35.0)  # past the reading of the layers: inside the matching
    res, msg = _run_with(fb, inputs, outdir)
    assert res is None and "Cancelled" in msg
    assert_plain(msg)
    assert snapshot(inputs) == before
    assert sorted(os.listdir(outdir)) == []
