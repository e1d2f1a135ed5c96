"""Answers grounded in the analyst's own GIS (issue 16): features of vector layers under the
capture and a folder of documents go into the prompt, and the sources come back with the answer.

Real rasters from shared/data, vector layers made here (one in another CRS, one outside the
capture), three short documents (.md, .txt and a .pdf with a text layer), the tiny Qwen3-VL.
"""
from __future__ import annotations

import json
import math
import os
import subprocess

import numpy as np
import pytest
import rasterio
from affine import Affine
from conftest import REPO
from georef_fixtures import rotated
from qgis.core import (QgsCoordinateReferenceSystem, QgsFeature, QgsField, QgsGeometry,
                       QgsRectangle, QgsVectorLayer)
from qgis.PyQt.QtCore import QVariant
from shapely import wkb
from shapely.geometry import Polygon, box

QUESTION = "How many piers does the harbour have?"
RELEVANT = ("The harbour of Nassau has three piers; cargo ships dock at the eastern pier "
            "every morning.")
OTHER_MD = "Forest inventory 2019: pine plantations cover the northern ridge."
PDF_TEXT = "Budget notes for the regional office."


# --- fixtures ---------------------------------------------------------------------------------

def _pdf(path, text: str) -> None:
    """A one-page PDF whose text layer holds ``text`` (written by hand: no PDF writer needed)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    path.write_bytes(bytes(out))


@pytest.fixture
def documents(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "harbour.md").write_text("# Harbour\n\n" + RELEVANT + "\n", encoding="utf-8")
    (folder / "forest.txt").write_text(OTHER_MD + "\n", encoding="utf-8")
    _pdf(folder / "budget.pdf", PDF_TEXT)
    return folder


def _square(x: float, y: float, half: float) -> list[tuple[float, float]]:
    return [(x - half, y - half), (x + half, y - half), (x + half, y + half), (x - half, y + half)]


def _memory_layer(name: str, epsg: int, rings: list[list[tuple[float, float]]], attrs: list[dict]):
    layer = QgsVectorLayer(f"Polygon?crs=EPSG:{epsg}", name, "memory")
    keys = list(attrs[0])
    layer.dataProvider().addAttributes([QgsField(k, QVariant.String) for k in keys])
    layer.updateFields()
    feats = []
    for ring, values in zip(rings, attrs):
        f = QgsFeature(layer.fields())
        f.setGeometry(QgsGeometry.fromWkt("POLYGON((" + ",".join(f"{x!r} {y!r}" for x, y in ring + ring[:1]) + "))"))
        for k, v in values.items():
            f[k] = v
        feats.append(f)
    assert layer.dataProvider().addFeatures(feats)
    return layer


def _to_4326(ring, epsg: int):
    from rasterio.warp import transform

    xs, ys = transform(f"EPSG:{epsg}", "EPSG:4326", [p[0] for p in ring], [p[1] for p in ring])
    return list(zip(xs, ys))


def _expected_box(ring, transform: Affine, width: int, height: int) -> tuple[int, int, int, int]:
    """Pixel box of a map ring, computed independently: rasterio's inverse affine per vertex."""
    cols, rows = zip(*(~transform * p for p in ring))
    return (max(0, math.floor(min(cols))), max(0, math.floor(min(rows))),
            min(width, math.ceil(max(cols))), min(height, math.ceil(max(rows))))


@pytest.fixture
def rotated_scene(tmp_path):
    """A real Landsat crop on a 30-degree rotated grid, and features placed by pixel position:
    two in the raster's CRS, one in EPSG:4326, one outside the capture."""
    path = rotated(tmp_path)
    with rasterio.open(path) as ds:
        t, w, h, epsg = ds.transform, ds.width, ds.height, ds.crs.to_epsg()
    where = {"office": (30.37, 25.21), "pier": (100.41, 75.33), "depot": (170.62, 130.18),
             "outside": (262.5, 75.0)}
    rings = {k: _square(*(t * px), 45.0) for k, px in where.items()}
    long_note = "quay wall rebuilt " * 20
    quay = _memory_layer("quay", epsg, [rings["office"], rings["pier"], rings["outside"]],
                         [{"name": "Harbour office", "note": long_note},
                          {"name": "Pier 3", "note": ""}, {"name": "Far away", "note": ""}])
    depots = _memory_layer("depots", 4326, [_to_4326(rings["depot"], epsg)],
                           [{"name": "Fuel depot", "kind": "tanks"}])
    return path, (t, w, h, epsg), rings, quay, depots


def _snapshot(layers, path):
    from eolens.plugin.vector_snapshot import context_layers

    with rasterio.open(path) as ds:
        corners = [ds.transform * c for c in ((0, 0), (ds.width, 0), (ds.width, ds.height),
                                              (0, ds.height))]
        crs = QgsCoordinateReferenceSystem(f"EPSG:{ds.crs.to_epsg()}")
    xs, ys = zip(*corners)
    return context_layers(layers, QgsRectangle(min(xs), min(ys), max(xs), max(ys)), crs, crs)


# --- context from layers -------------------------------------------------------------------

def prompts_seen(monkeypatch) -> list[str]:
    """Every prompt the Qwen backend receives, decoded from the token ids it was given."""
    from eolens.inference.models.qwen_vl import QwenVLBackend

    seen: list[str] = []
    original = QwenVLBackend.generate_ids

    def spy(self, inputs, encoded, **kwargs):
        seen.append(self.processor.tokenizer.decode(inputs["input_ids"][0]))
        return original(self, inputs, encoded, **kwargs)

    monkeypatch.setattr(QwenVLBackend, "generate_ids", spy)
    return seen


def test_layer_context_holds_exactly_the_intersecting_features_at_their_pixels(rotated_scene):
    from eolens.inference import actions
    from eolens.inference.grounding import prompt as grounding

    path, (t, w, h, _), rings, quay, depots = rotated_scene
    image = actions.capture(str(path))
    assert (image.width, image.height) == (w, h)
    np.testing.assert_allclose(tuple(image.transform), tuple(t), atol=1e-9)
    g = grounding.for_image(image, "Where is the pier?", layers=_snapshot([quay, depots], path))

    got = {(i.layer, i.fid): i for i in g.layers.items}
    assert set(got) == {("quay", 1), ("quay", 2), ("depots", 1)}  # "Far away" (fid 3) is out
    assert g.layers.total == 3 and g.layers.left_out == 0
    for key, ring in ((("quay", 1), rings["office"]), (("quay", 2), rings["pier"]),
                      (("depots", 1), rings["depot"])):
        assert got[key].bbox_px == _expected_box(ring, t, w, h), key
    assert got[("quay", 1)].where == "top-left" and got[("quay", 2)].where == "centre"
    assert got[("depots", 1)].where == "bottom-right"
    assert got[("quay", 1)].attributes["name"] == "Harbour office"
    assert len(got[("quay", 1)].attributes["note"]) <= 60
    assert "note" not in got[("quay", 2)].attributes        # empty values are left out
    assert g.sources == [{"kind": "feature", "layer": i.layer, "fid": i.fid,
                          "layer_id": quay.id() if i.layer == "quay" else depots.id()}
                         for i in g.layers.items]
    prompt = g.prompt("Where is the pier?")
    assert "[quay:2] centre, box {},{},{},{}".format(*got[("quay", 2)].bbox_px) in prompt
    assert "Far away" not in prompt and prompt.endswith("Question: Where is the pier?")


def test_the_dock_snapshot_follows_a_capture_area_given_in_the_canvas_crs(rotated_scene):
    from rasterio.warp import transform_bounds

    from eolens.inference.grounding import prompt as grounding
    from eolens.plugin.capture import CaptureSource, capture_image
    from eolens.plugin.vector_snapshot import context_for_capture

    path, (t, w, h, epsg), rings, quay, depots = rotated_scene
    with rasterio.open(path) as ds:
        crs_wkt, bounds = ds.crs.to_wkt(), ds.bounds
    lonlat = transform_bounds(f"EPSG:{epsg}", "EPSG:4326", *bounds)   # a lon/lat canvas
    source = CaptureSource(str(path), crs_wkt, lonlat,
                           QgsCoordinateReferenceSystem("EPSG:4326").toWkt(), "rotated", "")
    snaps = context_for_capture([quay, depots], source)
    assert [(s.name, sorted(f.fid for f in s.features)) for s in snaps] == [
        ("quay", [1, 2]), ("depots", [1])]           # the far feature is not even copied
    image = capture_image(source, None)
    g = grounding.for_image(image, "Where is the pier?", layers=snaps)
    pier = next(i for i in g.layers.items if (i.layer, i.fid) == ("quay", 2))
    box = _expected_box(rings["pier"], image.transform, image.width, image.height)
    assert pier.bbox_px == box and pier.where == "centre"


def test_the_chat_context_row_lists_vector_layers_and_grounds_a_capture(rotated_scene, documents,
                                                                        qtbot):
    from qgis.core import QgsProject
    from qgis.PyQt.QtCore import Qt

    from eolens.plugin.capture import CaptureSource, capture_image
    from eolens.plugin.panels.context_row import ContextRow, ground

    path, _, _, quay, depots = rotated_scene
    project = QgsProject.instance()
    project.addMapLayers([quay, depots])
    try:
        row = ContextRow()
        qtbot.addWidget(row)
        names = [row.layers.itemText(i) for i in range(row.layers.count())]
        assert {"quay", "depots"} <= set(names)
        with rasterio.open(path) as ds:
            source = CaptureSource(str(path), ds.crs.to_wkt(), tuple(ds.bounds),
                                   ds.crs.to_wkt(), "rotated", "")
        assert row.snapshot(source) is None                  # nothing chosen: no grounding
        row.layers.setItemCheckState(names.index("depots"), Qt.CheckState.Checked)
        row.folder.setFilePath(str(documents))
        row.refresh()                                        # a project change keeps the ticks
        assert row.layers.checkedItemsData() == [depots.id()]
        snap = row.snapshot(source)
        g = ground(snap, capture_image(source, None), QUESTION)
        assert [s.get("layer") or os.path.basename(s["path"]) for s in g.sources] == [
            "depots", "harbour.md"]
        cited = row.cite(g)
        assert 'eolens-source:0">depots:1</a>, <a href="eolens-source:1">harbour.md#1</a>' in cited

        class Canvas:
            zoomed = []

            def zoomToSelected(self, layer):  # noqa: N802 - QGIS API name
                self.zoomed.append(layer.id())

        canvas = Canvas()
        assert row.follow("eolens-source:0", canvas) == "" and canvas.zoomed == [depots.id()]
        assert depots.selectedFeatureIds() == [1]
        assert RELEVANT in row.follow("eolens-source:1", canvas)
        row.folder.setFilePath(str(documents / "missing"))
        with pytest.raises(Exception, match="does not exist"):
            row.snapshot(source)
        again = ContextRow()                                  # the folder is remembered
        qtbot.addWidget(again)
        assert again.folder.filePath() == row.folder.filePath() != ""
    finally:
        project.removeMapLayers([quay.id(), depots.id()])
        from eolens.plugin import settings

        settings.update(documents_dir="")


def test_ten_thousand_features_fit_the_budget_ranked_and_counted():
    from eolens.inference.grounding.context_layers import ContextLayer, estimate_tokens, layer_context
    from eolens.inference.label import FeatureIn

    t = Affine.translation(500000.0, 4000000.0) * Affine.rotation(12.0) * Affine.scale(0.5, -0.5)
    rng = np.random.default_rng(16)
    feats = []
    for i, (c, r) in enumerate(rng.uniform(-50, 1074, (10_000, 2))):
        x, y = t * (c, r)
        feats.append(FeatureIn(i, box(x - 2, y - 2, x + 2, y + 2).wkb,
                               {"name": f"building {i}", "use": "residential", "storeys": i % 7}))
    cx, cy = t * (512, 512)
    feats.append(FeatureIn(99_999, box(cx - 200, cy - 150, cx + 200, cy + 150).wkb, {"name": "park"}))
    broken = [FeatureIn(-1, b"\x01\x03garbage", {}), FeatureIn(-2, None, {"name": "no geometry"})]
    # its speed is bench/bench_rag.py's rag_context_ms_10k, not a timed test
    ctx = layer_context([ContextLayer("city", feats + broken)], t, 1024, 1024, budget=600)
    assert ctx.tokens <= 600 and estimate_tokens(ctx.text) == ctx.tokens
    assert 0 < len(ctx.items) < ctx.total and ctx.left_out == ctx.total - len(ctx.items)
    assert f"({ctx.left_out} more features" in ctx.text
    assert ctx.items[0].fid == 99_999                      # the largest overlap first
    footprint = Polygon([t * c for c in ((0, 0), (1024, 0), (1024, 1024), (0, 1024))])
    assert ctx.total == sum(footprint.intersects(wkb.loads(f.wkb)) for f in feats)
    dist = [math.hypot(*np.subtract(~t * _centre(feats[i.fid]), (512, 512)))
            for i in ctx.items[1:]]
    assert all(b >= a - 1e-6 for a, b in zip(dist, dist[1:]))  # then nearest the centre first


def _centre(feature):
    c = wkb.loads(feature.wkb).centroid
    return c.x, c.y


# --- documents -----------------------------------------------------------------------------

def test_bm25_ranks_the_relevant_chunk_first_and_reads_the_pdf(documents):
    from eolens.inference.grounding.documents import DocumentIndex

    index = DocumentIndex.from_folder(str(documents))
    assert index.warnings == []
    names = sorted(c.name for c in index.chunks)
    assert names == ["budget.pdf#1", "forest.txt#1", "harbour.md#1"]
    assert any(PDF_TEXT in c.text for c in index.chunks)          # the PDF's text layer
    hits = index.search(QUESTION)
    assert hits and hits[0].chunk.name == "harbour.md#1" and RELEVANT in hits[0].chunk.text
    assert all(h.chunk.name == "harbour.md#1" for h in hits)      # the others share no term
    assert index.search("pine ridge budget")[0].score > 0
    assert index.search("quantum chromodynamics") == []


def test_a_single_note_is_found_although_its_words_are_in_every_chunk(tmp_path):
    from eolens.inference.grounding.documents import DocumentIndex

    (tmp_path / "note.txt").write_text("The pier was rebuilt in 2019.", encoding="utf-8")
    index = DocumentIndex.from_folder(str(tmp_path))   # Okapi's idf is negative here
    hits = index.search("When was the pier rebuilt?")
    assert [h.chunk.name for h in hits] == ["note.txt#1"] and hits[0].score > 0
    assert index.search("forest") == []


def test_grounded_prompt_reaches_the_tiny_qwen_and_the_sources_match(rotated_scene, documents,
                                                                     tiny_models, monkeypatch):
    from eolens.inference import actions
    from eolens.inference.grounding import prompt as grounding

    path, _, _, quay, depots = rotated_scene
    image = actions.capture(str(path))
    g = grounding.for_image(image, QUESTION, layers=_snapshot([quay, depots], path),
                            documents=str(documents))
    seen = prompts_seen(monkeypatch)
    result = actions.ask(image, QUESTION, str(tiny_models.path("qwen3_vl")),
                         opts=actions.RunOptions(device="cpu", offline=True), grounding=g)
    assert len(seen) == 1
    sent = seen[0]
    assert f"[harbour.md#1] # Harbour {RELEVANT}" in sent and OTHER_MD not in sent and PDF_TEXT not in sent
    assert "[depots:1]" in sent and "Fuel depot" in sent and "Far away" not in sent
    assert f"Question: {QUESTION}" in sent and result.meta["prompt"] in sent
    sources = result.sources
    assert sources[:3] == g.layers.sources and sources[3:] == [
        {"kind": "document", "path": str(documents / "harbour.md"), "chunk": 1,
         "score": g.hits[0].source["score"]}]
    answer = result.features[0]
    assert answer.properties["question"] == QUESTION
    assert json.loads(answer.properties["sources"]) == sources


def test_caption_model_without_chat_is_told_context_was_not_used(documents):
    from eolens.inference.grounding import prompt as grounding
    from eolens.inference.results import Request

    g = grounding.build(Affine.identity(), 64, 64, "", documents=str(documents))
    assert g.empty  # no layers, no question: nothing to look documents up with

    g = grounding.build(Affine.identity(), 64, 64, "piers", documents=str(documents))

    class CaptionOnly:
        tasks = frozenset({"caption"})

    request = Request("caption", np.zeros((64, 64, 3), np.uint8), options={"detail": "brief"})
    same, prompt = grounding.caption_request(CaptionOnly(), request, g)
    assert same is request and prompt == "" and g.sources == [] and "not used" in g.warnings[-1]

    class Chat:
        tasks = frozenset({"caption", "chat"})

    g = grounding.build(Affine.identity(), 64, 64, "piers", documents=str(documents))
    chat, prompt = grounding.caption_request(Chat(), request, g)
    assert chat.task == "chat" and RELEVANT in chat.prompt and chat.prompt == prompt
    assert "one sentence" in prompt and g.sources[0]["chunk"] == 1


# --- Processing ------------------------------------------------------------------------------

def _sample_layers(src: str):
    """OSBS_029 (EPSG:32617): a tree feature inside, a road in EPSG:4326 inside, a pond outside."""
    with rasterio.open(src) as ds:
        t, epsg = ds.transform, ds.crs.to_epsg()
    tree = _square(*(t * (100.3, 300.6)), 2.0)
    road = _to_4326(_square(*(t * (250.2, 150.7)), 3.0), epsg)
    pond = _square(*(t * (900.0, 200.0)), 5.0)
    trees = _memory_layer("trees", epsg, [tree, pond], [{"name": "Longleaf pine"},
                                                         {"name": "Pond outside"}])
    roads = _memory_layer("roads", 4326, [road], [{"name": "Sandy track"}])
    return trees, roads


def test_ask_and_caption_take_context_layers_and_a_documents_folder(provider):
    from qgis.core import QgsApplication, QgsProcessing, QgsProcessingParameterFile

    reg = QgsApplication.processingRegistry()
    for alg in ("eolens:ask", "eolens:caption"):
        layers = reg.algorithmById(alg).parameterDefinition("CONTEXT_LAYERS")
        docs = reg.algorithmById(alg).parameterDefinition("DOCUMENTS")
        assert layers.type() == "multilayer" and layers.layerType() == \
            QgsProcessing.SourceType.TypeVectorAnyGeometry and layers.flags() & layers.FlagOptional
        assert docs.behavior() == QgsProcessingParameterFile.Behavior.Folder
        assert docs.flags() & docs.FlagOptional


def test_processing_ask_writes_the_answer_with_its_sources(provider, sample_dir, tiny_models,
                                                          documents, tmp_path):
    import processing
    from osgeo import ogr

    src = str(sample_dir / "OSBS_029.tif")
    trees, roads = _sample_layers(src)
    gpkg, js = tmp_path / "ask.gpkg", tmp_path / "ask.json"
    res = processing.run("eolens:ask", {
        "INPUT": src, "PROMPT": QUESTION, "MODEL": str(tiny_models.path("qwen3_vl")),
        "MAX_SIDE": 128, "DEVICE": "cpu", "CONTEXT_LAYERS": [trees, roads],
        "DOCUMENTS": str(documents), "OUTPUT": str(gpkg), "OUTPUT_TEXT": str(js)})
    doc = json.loads(js.read_text(encoding="utf-8"))
    assert doc["answer"] == res["TEXT"]
    kinds = [(s["kind"], s.get("layer"), s.get("fid"), s.get("chunk")) for s in doc["sources"]]
    assert sorted(kinds[:2]) == [("feature", "roads", 1, None), ("feature", "trees", 1, None)]
    assert kinds[2:] == [("document", None, None, 1)]
    assert doc["sources"][2]["path"] == str(documents / "harbour.md")
    ds = ogr.Open(str(gpkg))
    first = next(iter(ds.GetLayer(0)))
    assert first.GetField("question") == QUESTION
    assert json.loads(first.GetField("sources")) == doc["sources"]
    assert "Pond outside" not in doc["meta"]["prompt"] and RELEVANT in doc["meta"]["prompt"]


def test_processing_caption_with_a_chat_model_is_grounded_by_the_features_in_view(
        provider, sample_dir, tiny_models, documents, tmp_path):
    import processing

    src = str(sample_dir / "OSBS_029.tif")
    trees, roads = _sample_layers(src)
    js = tmp_path / "caption.json"
    res = processing.run("eolens:caption", {
        "INPUT": src, "MODEL": str(tiny_models.path("qwen3_vl")), "MAX_SIDE": 96, "DEVICE": "cpu",
        "DETAIL": "brief", "CONTEXT_LAYERS": [trees, roads], "DOCUMENTS": str(documents),
        "OUTPUT": str(tmp_path / "caption.gpkg"), "OUTPUT_TEXT": str(js)})
    doc = json.loads(js.read_text(encoding="utf-8"))
    assert doc["answer"] == res["TEXT"]
    # no question: the documents are looked up with the features' own words ("Longleaf pine")
    assert [s.get("chunk") and os.path.basename(s["path"]) for s in doc["sources"][2:]] == [
        "forest.txt"]
    assert "one sentence" in doc["meta"]["prompt"] and OTHER_MD in doc["meta"]["prompt"]


def test_processing_refuses_a_missing_documents_folder(provider, sample_dir, tmp_path):
    import processing
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match="DOCUMENTS"):
        processing.run("eolens:ask", {"INPUT": str(sample_dir / "OSBS_029.tif"), "PROMPT": "x",
                                      "DOCUMENTS": str(tmp_path / "nowhere"),
                                      "OUTPUT": str(tmp_path / "a.gpkg")})
    assert not (tmp_path / "a.gpkg").exists()


def test_qgis_process_ask_with_context_layers_and_documents(sample_dir, tiny_models, documents,
                                                            tmp_path):
    from osgeo import ogr, osr

    if not os.access("/usr/bin/qgis_process.bin", os.X_OK):
        pytest.fail("qgis_process.bin is missing: apt-get install qgis (make setup)")
    src = str(sample_dir / "OSBS_029.tif")
    with rasterio.open(src) as ds:
        t, epsg = ds.transform, ds.crs.to_epsg()
    roads = tmp_path / "roads.gpkg"
    drv = ogr.GetDriverByName("GPKG").CreateDataSource(str(roads))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    lyr = drv.CreateLayer("roads", srs, ogr.wkbPolygon)
    lyr.CreateField(ogr.FieldDefn("name", ogr.OFTString))
    for name, px in (("Sandy track", (250.2, 150.7)), ("Far road", (950.0, 150.0))):
        ring = _to_4326(_square(*(t * px), 3.0), epsg)
        feat = ogr.Feature(lyr.GetLayerDefn())
        feat.SetField("name", name)
        feat.SetGeometry(ogr.CreateGeometryFromWkt(
            "POLYGON((" + ",".join(f"{x!r} {y!r}" for x, y in ring + ring[:1]) + "))"))
        lyr.CreateFeature(feat)
    drv = lyr = None
    out = tmp_path / "out.json"
    env = dict(os.environ, EOLENS_QGIS_PROFILE=str(tmp_path / "profile"), QT_QPA_PLATFORM="offscreen",
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    res = subprocess.run([str(REPO / "tools" / "qgis_process.sh"), "run", "eolens:ask", "--",
                          f"INPUT={src}", f"PROMPT={QUESTION}", f"MODEL={tiny_models.path('qwen3_vl')}",
                          "MAX_SIDE=96", "DEVICE=cpu", f"CONTEXT_LAYERS={roads}",
                          f"DOCUMENTS={documents}", f"OUTPUT={tmp_path / 'out.gpkg'}",
                          f"OUTPUT_TEXT={out}"],
                         capture_output=True, text=True, env=env, timeout=900, cwd=str(REPO),
                         check=False)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert isinstance(doc["answer"], str)
    assert [(s["kind"], s.get("layer"), s.get("fid")) for s in doc["sources"]] == [
        ("feature", "roads", 1), ("document", None, None)]
    assert doc["sources"][1]["path"] == str(documents / "harbour.md")
    assert doc["sources"][1]["chunk"] == 1 and doc["sources"][1]["score"] > 0


# --- the dock --------------------------------------------------------------------------------

def test_dock_chat_grounds_the_answer_and_logs_the_same_sources(qtbot, tiny_models, sample_dir,
                                                                documents, monkeypatch, tmp_path):
    from qgis.core import QgsProject
    from qgis.PyQt.QtCore import Qt, QUrl

    from eolens.plugin.layers import find_role
    from tests.gui_helpers import add_raster, clear_project, load_plugin, plugin_settings, wait_idle

    seen = prompts_seen(monkeypatch)
    iface, plugin = load_plugin()
    try:
        raster = add_raster(sample_dir / "OSBS_029.tif")
        trees, roads = _sample_layers(str(sample_dir / "OSBS_029.tif"))
        QgsProject.instance().addMapLayers([trees, roads])
        plugin.dock.layer_combo.setLayer(raster)
        plugin.dock.area_combo.setCurrentIndex(1)          # the whole layer
        chat = plugin.dock.chat
        names = [chat.context.layers.itemText(i) for i in range(chat.context.layers.count())]
        chat.context.layers.setItemCheckState(names.index("roads"), Qt.CheckState.Checked)
        chat.context.folder.setFilePath(str(documents))
        chat.context.show_prompt.setChecked(True)
        with plugin_settings(model_chat=str(tiny_models.path("qwen3_vl")), max_side=96):
            chat.question.setText(QUESTION)
            chat.ask_button.click()
            wait_idle(qtbot, plugin.dock)
        assert iface.errors() == []
        assert len(seen) == 1 and "[roads:1]" in seen[0] and RELEVANT in seen[0]
        assert "Longleaf pine" not in seen[0]                # trees were not ticked
        log = next(find_role("chat").getFeatures())
        assert log["question"] == QUESTION
        sources = json.loads(log["sources"])
        assert [(s["kind"], s.get("layer"), s.get("fid")) for s in sources] == [
            ("feature", "roads", 1), ("document", None, None)]
        assert sources[1]["path"] == str(documents / "harbour.md")
        text = chat.view.toPlainText()
        assert "Sources: roads:1, harbour.md#1" in text and "Question: " + QUESTION in text
        assert chat.turns[-1][0] == QUESTION
        out = chat.export(str(tmp_path / "chat.md"))
        assert "*Sources:* roads:1, harbour.md#1" in open(out, encoding="utf-8").read()
        html_out = chat.export(str(tmp_path / "chat.html"))
        assert "roads:1, harbour.md#1" in open(html_out, encoding="utf-8").read()
        chat._source_clicked(QUrl("eolens-source:0"))      # a feature source: selected, zoomed
        assert roads.selectedFeatureIds() == [1]
        chat._source_clicked(QUrl("eolens-source:1"))      # a document source: its passage
        assert chat.view.toPlainText().rstrip().endswith(RELEVANT)
        qtbot.wait(50)   # the dock's refresh after the zoom runs before it is unloaded
    finally:
        plugin.unload()
        clear_project()
