"""eolens:label against hostile outputs and inputs, through ``processing.run``.

Every refusal comes before any model loads (the runtime's ``load_model`` is recorded), names the
parameter and the file, leaves the inputs byte-identical and leaves nothing behind. A Shapefile
output keeps its long ``scores`` texts whole in the ``.fulltext.json`` sidecar, also when a run
is continued. The model is a stub backend with fixed, image-dependent scores: these tests are
about files, not about a model.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from qgis.core import QgsVectorLayer
from test_hostile_inputs import assert_plain, run, snapshot

from eolens.inference.models import runtime

NEON = "boxes/neon_osbs_029"
MANY = ", ".join(f"a long land cover class called number {i:02d}" for i in range(24))


class StubBackend:
    """Class scores from the mean colour of each chip: fixed, cheap, different per chip."""

    def embed_phrases(self, phrases):
        rng = np.random.default_rng(7)
        return rng.normal(size=(len(phrases), 3))

    def encode_images(self, images, batch_size, cancel):
        return np.array([np.asarray(im, np.float64).reshape(-1, 3).mean(axis=0) / 255.0
                         for im in images])

    def class_scores(self, logits):
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)


@pytest.fixture
def loads(monkeypatch) -> list:
    """The model loads asked for; each one gets the stub backend."""
    calls: list = []

    def record(*args, **kwargs):
        calls.append(args)
        return StubBackend()

    monkeypatch.setattr(runtime, "load_model", record)
    return calls


@pytest.fixture
def clip(tiny_models) -> str:
    return str(tiny_models.path("openclip"))


@pytest.fixture
def data(shared_data, tmp_path) -> Path:
    """Copies of the NEON raster and its crowns (GeoJSON, GeoPackage and Shapefile)."""
    from osgeo import gdal

    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(shared_data / NEON / "OSBS_029.tif", d / "scene.tif")
    shutil.copy(shared_data / NEON / "OSBS_029_boxes.geojson", d / "crowns.geojson")
    gdal.VectorTranslate(str(d / "crowns.gpkg"), str(d / "crowns.geojson"), format="GPKG")
    gdal.VectorTranslate(str(d / "crowns.shp"), str(d / "crowns.geojson"),
                         format="ESRI Shapefile")
    return d


@pytest.fixture
def out(tmp_path) -> Path:
    d = tmp_path / "out"
    d.mkdir()
    return d


def params(data: Path, clip: str, output, **extra) -> dict:
    return {"INPUT": str(data / "scene.tif"), "FEATURES": str(data / "crowns.gpkg"),
            "MODE": "classify", "CLASSES": "trees, sand, road", "MODEL": clip, "BUFFER": "10%",
            "OUTPUT": str(output), **extra}


def refused(par: dict, loads: list, *names: str) -> str:
    res, message, _ = run("eolens:label", par)
    assert res is None, res
    assert_plain(message, *names)
    assert "Error" not in message and "Exception" not in message and ".eolens-" not in message
    assert loads == [], "the model was loaded before the refusal"
    return message


def no_leftovers(folder: Path, expected: set[str]) -> None:
    assert {p.name for p in folder.iterdir()} == expected


# --- refused before any model loads ------------------------------------------------------------

def test_wrong_extension_is_refused_before_the_model(provider, data, clip, out, loads):
    before = snapshot(data)
    refused(params(data, clip, out / "labels.txt"), loads, "OUTPUT", "labels.txt")
    assert snapshot(data) == before
    no_leftovers(out, set())


def test_missing_folder_is_refused_before_the_model(provider, data, clip, out, loads):
    refused(params(data, clip, out / "nowhere" / "labels.gpkg"), loads, "OUTPUT", "nowhere")
    no_leftovers(out, set())


def test_foreign_geopackage_is_refused_before_the_model(provider, data, clip, out, loads):
    from osgeo import gdal

    foreign = out / "labels.gpkg"   # its layer "labels" is where label would write
    gdal.VectorTranslate(str(foreign), str(data / "crowns.gpkg"), format="GPKG", layerName="labels")
    before = snapshot(out)
    refused(params(data, clip, foreign), loads, "OUTPUT", str(foreign), "not written by this label")
    assert snapshot(out) == before


def test_damaged_output_is_refused_before_the_model(provider, data, clip, out, loads):
    damaged = out / "labels.gpkg"
    damaged.write_bytes(b"this is not a GeoPackage at all" * 20)
    before = snapshot(out)
    refused(params(data, clip, damaged), loads, "OUTPUT", str(damaged), "GDAL can open")
    assert snapshot(out) == before


def test_other_settings_are_refused_before_the_model(provider, data, clip, out, loads):
    target = out / "labels.gpkg"
    res, message, _ = run("eolens:label", params(data, clip, target))
    assert res is not None, message
    assert len(loads) == 1
    loads.clear()
    before = snapshot(out)
    refused(params(data, clip, target, CLASSES="water, fields"), loads, "OUTPUT", str(target),
            "holds labels from model")
    assert snapshot(out) == before


def test_unreadable_features_are_refused_before_the_model(provider, data, clip, out, loads):
    broken = data / "broken.gpkg"
    broken.write_bytes(b"\0" * 100)
    refused(params(data, clip, out / "labels.gpkg", FEATURES=str(broken)), loads, "FEATURES",
            "broken.gpkg")
    no_leftovers(out, set())


@pytest.mark.parametrize("extra, names", [
    ({"CLASSES": ""}, ("CLASSES",)),
    ({"MODE": "ask", "PROMPT": ""}, ("PROMPT",)),
    ({"BUFFER": "wide"}, ("BUFFER", "wide")),
    ({"BANDS": "9"}, ("BANDS", "scene.tif")),
])
def test_bad_parameters_are_refused_before_the_model(provider, data, clip, out, loads, extra,
                                                     names):
    refused(params(data, clip, out / "labels.gpkg", **extra), loads, *names)
    no_leftovers(out, set())


# --- an output may never be an input -----------------------------------------------------------

def _alias(kind: str, data: Path, out: Path, name: str) -> str:
    target = data / name
    if kind == "link":
        link = out / f"alias{target.suffix}"
        link.symlink_to(target)
        return str(link)
    if kind == "dotdot":
        return str(out / ".." / "in" / name)
    return str(target)


@pytest.mark.parametrize("kind", ["plain", "link", "dotdot"])
@pytest.mark.parametrize("features", ["crowns.gpkg", "crowns.shp"])
def test_output_naming_the_features_is_refused(provider, data, clip, out, loads, kind, features):
    before_in, before_out = snapshot(data), {p.name for p in out.iterdir()}
    target = _alias(kind, data, out, features)
    par = params(data, clip, target, FEATURES=str(data / features))
    refused(par, loads, "OUTPUT", "FEATURES", os.path.basename(target))
    assert snapshot(data) == before_in
    no_leftovers(out, before_out | ({os.path.basename(target)} if kind == "link" else set()))


@pytest.mark.parametrize("kind", ["link", "dotdot"])
def test_output_naming_the_raster_is_refused(provider, data, clip, out, loads, kind):
    """A .gpkg name that leads to the INPUT raster (a link, or the raster itself as GeoPackage)."""
    from osgeo import gdal

    gdal.Translate(str(data / "scene.gpkg"), str(data / "scene.tif"), format="GPKG")
    before = snapshot(data)
    target = _alias(kind, data, out, "scene.gpkg")
    par = params(data, clip, target, INPUT=str(data / "scene.gpkg"))
    refused(par, loads, "OUTPUT", "INPUT")
    assert snapshot(data) == before


# --- Shapefile: the full texts in the sidecar ----------------------------------------------------

def _rows(path: Path) -> dict[int, dict]:
    layer = QgsVectorLayer(str(path), "out", "ogr")
    assert layer.isValid(), path
    return {int(f["src_fid"]): {n: f[n] for n in layer.fields().names()} for f in layer.getFeatures()}


def test_shapefile_keeps_full_scores_in_a_sidecar(provider, data, clip, out, loads):
    before = snapshot(data)
    res_g, msg_g, _ = run("eolens:label", params(data, clip, out / "labels.gpkg", CLASSES=MANY))
    res_s, msg_s, fb = run("eolens:label", params(data, clip, out / "labels.shp", CLASSES=MANY))
    assert res_g is not None and res_s is not None, (msg_g, msg_s)
    sidecar = out / "labels.fulltext.json"
    entries = json.loads(sidecar.read_text(encoding="utf-8"))
    gpkg = _rows(out / "labels.gpkg")
    scores = {e["src_fid"]: json.loads(e["text"]) for e in entries if e["property"] == "scores"}
    assert len(scores) == len(gpkg) == 61
    for fid, row in gpkg.items():
        assert scores[fid] == json.loads(row["scores"])
    shp = _rows(out / "labels.shp")
    assert all(len(r["scores"].encode()) <= 254 for r in shp.values())
    assert any("labels.fulltext.json" in w and "cut" in w for w in fb.log), fb.log
    assert snapshot(data) == before
    assert {p.name for p in out.iterdir()} == {
        "labels.gpkg", "labels.shp", "labels.shx", "labels.dbf", "labels.prj", "labels.cpg",
        "labels.fulltext.json"}


def test_shapefile_sidecar_grows_when_a_run_is_continued(provider, data, clip, out, loads):
    target = out / "labels.shp"
    half = "404212,404230,3285125,3285142 [EPSG:32617]"
    res, message, _ = run("eolens:label", params(data, clip, target, CLASSES=MANY, EXTENT=half))
    assert res is not None, message
    first = sum(e["property"] == "scores"
                for e in json.loads((out / "labels.fulltext.json").read_text(encoding="utf-8")))
    assert 0 < first < 61
    res, message, _ = run("eolens:label", params(data, clip, target, CLASSES=MANY))
    assert res is not None, message
    assert (res["SKIPPED"], res["LABELLED"]) == (first, 61 - first)
    entries = json.loads((out / "labels.fulltext.json").read_text(encoding="utf-8"))
    fids = [e["src_fid"] for e in entries if e["property"] == "scores"]
    assert sorted(fids) == sorted(_rows(target)) and len(set(fids)) == 61
    shp_fids = {int(f.id()): int(f["src_fid"])
                for f in QgsVectorLayer(str(target), "o", "ogr").getFeatures()}
    assert all(shp_fids[e["fid"]] == e["src_fid"] for e in entries)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


# --- the features are streamed -----------------------------------------------------------------

def test_features_are_read_chunk_by_chunk(data, out):
    """label_features pulls features from a generator as it labels them, never all at once."""
    from osgeo import ogr

    from eolens.inference.label import FeatureIn, LabelSpec, label_features

    ds = ogr.Open(str(data / "crowns.gpkg"))
    lyr = ds.GetLayer(0)
    crowns = [bytes(f.GetGeometryRef().ExportToWkb()) for f in lyr]
    crs = lyr.GetSpatialRef().ExportToWkt()
    ds = None
    total = len(crowns) * 5
    pulled, seen = [0], []

    def features():
        for i in range(total):
            pulled[0] += 1
            yield FeatureIn(i, crowns[i % len(crowns)], {"n": i})

    def progress(p):
        seen.append((p, pulled[0]))

    spec = LabelSpec("classify", "stub", classes=("trees", "sand"), batch_size=8)
    summary = label_features(str(data / "scene.tif"), features(), spec, str(out / "l.gpkg"),
                             features_crs=crs, total=total, backend=StubBackend(),
                             progress=progress)
    assert (summary.labelled, summary.total) == (total, total)
    first_p, first_pulled = seen[0]
    assert first_p < 100 and first_pulled <= 64 < total   # one chunk ahead at most
    assert {p.name for p in out.iterdir()} == {"l.gpkg"}


def test_cancelled_shapefile_keeps_whole_chunks_and_their_full_texts(data, out):
    """A cancel commits the Shapefile and its sidecar together; a re-run completes both."""
    from osgeo import ogr

    from eolens.inference.cancel import CancelToken
    from eolens.inference.errors import Cancelled
    from eolens.inference.label import FeatureIn, LabelSpec, label_features

    ds = ogr.Open(str(data / "crowns.gpkg"))
    lyr = ds.GetLayer(0)
    feats = [FeatureIn(f.GetFID(), bytes(f.GetGeometryRef().ExportToWkb()), {}) for f in lyr]
    crs = lyr.GetSpatialRef().ExportToWkt()
    ds = None
    spec = LabelSpec("classify", "stub", classes=tuple(c.strip() for c in MANY.split(",")),
                     batch_size=8)
    target, sidecar = out / "l.shp", out / "l.fulltext.json"
    token = CancelToken()
    with pytest.raises(Cancelled):
        label_features(str(data / "scene.tif"), iter(feats), spec, str(target), features_crs=crs,
                       total=len(feats), backend=StubBackend(), cancel=token,
                       progress=lambda p: token.cancel() if p > 20 else None)
    rows = _rows(target)
    scores = [e for e in json.loads(sidecar.read_text(encoding="utf-8")) if e["property"] == "scores"]
    assert 0 < len(rows) < len(feats) and sorted(e["src_fid"] for e in scores) == sorted(rows)
    summary = label_features(str(data / "scene.tif"), iter(feats), spec, str(target),
                             features_crs=crs, backend=StubBackend())
    assert summary.skipped == len(rows) and summary.labelled == len(feats) - len(rows)
    scores = [e for e in json.loads(sidecar.read_text(encoding="utf-8")) if e["property"] == "scores"]
    assert sorted(e["src_fid"] for e in scores) == sorted(f.fid for f in feats)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_a_damaged_output_is_named_with_gdal_exceptions_on(tmp_path, monkeypatch):
    """QGIS 3.34+ turns GDAL exceptions on: ogr.Open then raises instead of returning None (as
    GDAL 3.10 does on Debian 13 even under a quiet error handler)."""
    from eolens.inference.errors import InputError
    from eolens.inference.io.label_writer import check_resumable
    from osgeo import ogr

    bad = tmp_path / "labels.gpkg"
    bad.write_text("not a database", encoding="utf-8")

    def raising_open(path, update=0):
        raise RuntimeError(f"`{path}' not recognized as being in a supported file format.")

    monkeypatch.setattr(ogr, "Open", raising_open)
    with pytest.raises(InputError, match="labels.gpkg' exists but is not a GeoPackage"):
        check_resumable(str(bad), None, ("clip", "a tree"))
