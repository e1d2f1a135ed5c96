"""Archive search: real rasters (copies in tmp_path) indexed with a tiny CLIP into one GeoPackage.

Checks the footprints and CRS of every tile against the rasters themselves, incremental
re-indexing (counted with a spy on the per-file embedder), deletion, model refusal, failed files,
query scores against a brute-force cosine over the stored blobs, the approximate index, the Dask
path against the serial one, and both Processing algorithms.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.warp import transform as warp
from shapely import wkt as shapely_wkt
from shapely.geometry import Polygon

from eolens.inference.archive import build as ai
from eolens.inference.archive import query as iq
from eolens.inference.archive.build import IndexSettings, build_index, collect_rasters
from eolens.inference.errors import InputError, ModelError
from eolens.inference.archive.store import IndexStore, parse_gpkg_geometry
from eolens.inference.tiling import plan_windows

SOURCES = {  # copy name -> file under ../shared/data (four CRSs, 3/4/7 bands, uint8 and uint16)
    "bahamas.tif": "geotiff/rasterio_RGB.byte.tif",               # nodata collar, EPSG:32618
    "naip/naip_2009.tif": "change/naip_nd_2009_2020/m_4709963_se_14_1_20090818.tif",
    "naip/naip_2009_copy.tif": "change/naip_nd_2009_2020/m_4709963_se_14_1_20090818.tif",
    "pucallpa.tif": "change/landsat_pucallpa_1985_2020/pucallpa_1985.tif",  # EPSG:4326
    "rennes.tif": "change/oscd_rennes/rennes_t1_20150821_S2_B02-B03-B04-B08.tif",
}
TILE = 224


@pytest.fixture(scope="session")
def clip_model(tiny_models) -> str:
    return str(tiny_models.path("openclip"))


@pytest.fixture
def archive(tmp_path, shared_data) -> Path:
    root = tmp_path / "archive"
    for name, src in SOURCES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(shared_data / src, root / name)
    return root


def settings(model: str, **kw) -> IndexSettings:
    return IndexSettings(model, tile=kw.pop("tile", TILE), overlap=kw.pop("overlap", 0),
                         device="cpu", **kw)


def index(tmp_path, archive, model, **kw):
    path = str(tmp_path / "archive.gpkg")
    return path, build_index(path, collect_rasters([str(archive)]), settings(model), **kw)


def rows(path: str) -> dict[tuple, dict]:
    """Every stored tile keyed by (source, window), with its embedding, read with plain SQL."""
    db = sqlite3.connect(path)
    out = {}
    for fid, geom, source, c, r, w, h, crs, fp, vec in db.execute(
            "SELECT t.fid, t.geom, t.source, t.col_off, t.row_off, t.width, t.height, t.crs, "
            "t.footprint, e.vector FROM eolens_tiles t JOIN eolens_embeddings e "
            "ON e.tile_fid = t.fid"):
        out[(source, c, r, w, h)] = {"fid": fid, "geom": parse_gpkg_geometry(geom), "crs": crs,
                                     "footprint": shapely_wkt.loads(fp),
                                     "vector": np.frombuffer(vec, "<f4")}
    db.close()
    return out


class Spy:
    """Counts the files really embedded (wraps archive_index.embed_file)."""

    def __init__(self, monkeypatch):
        self.files: list[str] = []
        real = ai.embed_file

        def spy(backend, rec, *a, **kw):
            self.files.append(os.path.basename(rec.path))
            return real(backend, rec, *a, **kw)

        monkeypatch.setattr(ai, "embed_file", spy)


# --- building ---------------------------------------------------------------------------------

def test_every_tile_is_indexed_with_its_footprint_and_crs(tmp_path, archive, clip_model):
    path, report = index(tmp_path, archive, clip_model)
    assert sorted(os.path.relpath(p, archive) for p in report.added) == sorted(SOURCES)
    assert not report.failed and report.tiles_total == report.tiles_embedded
    stored = rows(path)
    assert len(stored) == report.tiles_total
    for name in SOURCES:
        src = str(archive / name)
        with rasterio.open(src) as ds:
            planned = {(w.col_off, w.row_off, w.width, w.height)
                       for w in plan_windows(ds.width, ds.height, TILE, 0)}
            mine = {k[1:]: v for k, v in stored.items() if k[0] == src}
            assert mine and set(mine) <= planned, name
            if ds.nodata is None:  # no collar: every planned tile is there
                assert set(mine) == planned, name
            for (c, r, w, h), tile in mine.items():
                assert tile["crs"] == f"EPSG:{ds.crs.to_epsg()}"
                corners = [ds.transform * xy for xy in ((c, r), (c + w, r), (c + w, r + h), (c, r + h))]
                assert tile["footprint"].equals_exact(Polygon(corners), 1e-6)
                lon, lat = warp(ds.crs, "EPSG:4326", [x for x, _ in corners], [y for _, y in corners])
                assert tile["geom"].equals_exact(Polygon(zip(lon, lat)), 1e-9)
                assert abs(np.linalg.norm(tile["vector"]) - 1) < 1e-5
    # the RGB.byte collar: a tile with nothing valid is left out, a mostly valid one is kept
    with rasterio.open(archive / "bahamas.tif") as ds:
        mask = ds.dataset_mask() > 0
        stored_windows = {k[1:] for k in stored if k[0] == str(archive / "bahamas.tif")}
        for w in plan_windows(ds.width, ds.height, TILE, 0):
            win = (w.col_off, w.row_off, w.width, w.height)
            frac = mask[w.row_off:w.row_off + w.height, w.col_off:w.col_off + w.width].mean()
            assert (win in stored_windows) == (frac >= 0.25) or 0.2 < frac < 0.3, (win, frac)


def test_the_index_is_a_geopackage_qgis_opens(tmp_path, archive, clip_model):
    from osgeo import ogr
    from qgis.core import QgsVectorLayer

    path, report = index(tmp_path, archive, clip_model)
    ds = ogr.Open(path)
    assert ds.GetDriver().GetName() == "GPKG"
    layer = ds.GetLayerByName("eolens_tiles")
    assert layer.GetFeatureCount() == report.tiles_total
    assert layer.GetSpatialRef().GetAuthorityCode(None) == "4326"
    assert ds.GetLayerByName("eolens_embeddings").GetFeatureCount() == report.tiles_total
    ds = None
    qlayer = QgsVectorLayer(f"{path}|layername=eolens_tiles", "tiles", "ogr")
    assert qlayer.isValid() and qlayer.crs().authid() == "EPSG:4326"
    assert qlayer.featureCount() == report.tiles_total
    assert {"source", "col_off", "row_off", "width", "height", "crs"} <= set(qlayer.fields().names())
    with IndexStore(path, create=False) as store:
        meta = store.meta()
    assert meta["model_source"] == os.path.abspath(clip_model)
    assert (meta["tile_size"], meta["overlap"], meta["dim"]) == (str(TILE), "0", "32")


def test_reindex_skips_unchanged_and_reembeds_only_the_changed_file(tmp_path, archive, clip_model,
                                                                    monkeypatch):
    path, first = index(tmp_path, archive, clip_model)
    before = rows(path)
    spy = Spy(monkeypatch)
    _, again = index(tmp_path, archive, clip_model)
    assert spy.files == [] and again.tiles_embedded == 0 and len(again.unchanged) == len(SOURCES)

    touched = archive / "pucallpa.tif"
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    _, mtime_only = index(tmp_path, archive, clip_model)
    assert spy.files == [] and mtime_only.tiles_embedded == 0  # same SHA-256: not re-embedded

    changed = archive / "naip" / "naip_2009.tif"
    # the NAIP file is a COG: GDAL >= 3.8 (Debian 13) refuses to update one in place without this
    # open option (breaking the layout is fine here); Debian 12's GDAL 3.6 just ignores it
    with rasterio.open(changed, "r+", IGNORE_COG_LAYOUT_BREAK="YES") as ds:
        band = ds.read(1)
        band[:50, :50] = 255 - band[:50, :50]
        ds.write(band, 1)
    _, third = index(tmp_path, archive, clip_model)
    assert spy.files == ["naip_2009.tif"]
    assert third.updated == [str(changed)] and not third.added
    n_changed = sum(1 for k in before if k[0] == str(changed))
    assert third.tiles_embedded == n_changed and third.tiles_total == first.tiles_total
    after = rows(path)
    assert set(after) == set(before)
    for key, tile in before.items():
        if key[0] != str(changed):  # untouched files keep their rows, ids and vectors
            assert after[key]["fid"] == tile["fid"]
            np.testing.assert_array_equal(after[key]["vector"], tile["vector"])
    first_tile = (str(changed), 0, 0, TILE, TILE)
    assert not np.allclose(after[first_tile]["vector"], before[first_tile]["vector"])


def test_deleting_a_file_removes_its_tiles(tmp_path, archive, clip_model):
    path, first = index(tmp_path, archive, clip_model)
    gone = archive / "rennes.tif"
    n_gone = sum(1 for k in rows(path) if k[0] == str(gone))
    assert n_gone > 0
    gone.unlink()
    _, report = index(tmp_path, archive, clip_model)
    assert report.removed == [str(gone)] and report.tiles_embedded == 0
    after = rows(path)
    assert not [k for k in after if k[0] == str(gone)]
    assert len(after) == first.tiles_total - n_gone == report.tiles_total
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM eolens_embeddings").fetchone()[0] == len(after)
    assert db.execute("SELECT count(*) FROM eolens_files WHERE path=?", (str(gone),)).fetchone()[0] == 0


def test_a_second_model_or_tile_size_is_refused(tmp_path, archive, clip_model, tiny_models):
    path, first = index(tmp_path, archive, clip_model)
    other = str(tiny_models.path("hfclip"))
    (archive / "extra.tif").write_bytes((archive / "pucallpa.tif").read_bytes())
    with pytest.raises(ModelError, match="cannot be mixed"):
        build_index(path, collect_rasters([str(archive)]), settings(other))
    with pytest.raises(InputError, match="tile size 224"):
        build_index(path, collect_rasters([str(archive)]), settings(clip_model, tile=128))
    assert len(rows(path)) == first.tiles_total  # nothing was added


def test_a_broken_file_is_reported_and_skipped(tmp_path, archive, clip_model):
    bad = archive / "broken.tif"
    bad.write_bytes(b"II*\x00 this is not really a tiff")
    path, report = index(tmp_path, archive, clip_model)
    assert [p for p, _ in report.failed] == [str(bad)]
    assert "broken.tif" in report.failed[0][1] and "broken.tif" in report.summary()
    assert len(report.added) == len(SOURCES)
    _, again = index(tmp_path, archive, clip_model)  # not recorded: tried again next time
    assert [p for p, _ in again.failed] == [str(bad)]


def test_progress_and_cancel(tmp_path, archive, clip_model):
    from eolens.inference.cancel import CancelToken
    from eolens.inference.errors import Cancelled

    seen, events = [], []
    token = CancelToken()

    def progress(p):
        seen.append(p)
        if len(events) >= 1:
            token.cancel()

    with pytest.raises(Cancelled):
        index(tmp_path, archive, clip_model, progress=progress, cancel=token,
              on_event=lambda p, what: events.append((p, what)))
    assert len(events) == 1 and seen == sorted(seen)
    # the file finished before Cancel is kept; the next run does the rest
    _, rest = index(tmp_path, archive, clip_model)
    assert len(rest.unchanged) == 1 and len(rest.added) == len(SOURCES) - 1


# --- querying ---------------------------------------------------------------------------------

def brute_force(path: str, query: np.ndarray) -> dict[int, float]:
    stored = rows(path)
    q = query / np.linalg.norm(query)
    return {t["fid"]: float(t["vector"] @ q) for t in stored.values()}


def test_text_query_scores_equal_brute_force_cosine(tmp_path, archive, clip_model):
    path, report = index(tmp_path, archive, clip_model)
    hits = iq.search_text(path, "a harbour with ships", top_k=12, device="cpu")
    backend = iq.index_backend(path, device="cpu")
    truth = brute_force(path, backend.embed_phrases(["a harbour with ships"])[0])
    best = sorted(truth.items(), key=lambda kv: (-kv[1], kv[0]))[:12]
    assert [h.fid for h in hits] == [fid for fid, _ in best]
    np.testing.assert_allclose([h.score for h in hits], [s for _, s in best], atol=1e-6)
    assert [h.rank for h in hits] == list(range(1, 13))
    assert len({h.source for h in hits}) >= 2


def test_more_like_this_finds_the_tile_and_its_copy(tmp_path, archive, clip_model):
    from eolens.inference.tiling import iter_tiles

    path, _ = index(tmp_path, archive, clip_model)
    naip = str(archive / "naip" / "naip_2009.tif")
    example = list(iter_tiles(naip, tile=TILE, overlap=0))[5]  # the indexed pixels
    hits = iq.search_example(path, example, top_k=6, device="cpu")
    c, r, w, h = example.meta["window"]
    top2 = {(os.path.basename(x.source), x.col_off, x.row_off) for x in hits[:2]}
    assert top2 == {("naip_2009.tif", c, r), ("naip_2009_copy.tif", c, r)}
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert hits[1].score == pytest.approx(hits[0].score, abs=1e-6)
    backend = iq.index_backend(path, device="cpu")
    truth = brute_force(path, backend.encode_images([example.rgb])[0])
    np.testing.assert_allclose([x.score for x in hits], [truth[x.fid] for x in hits], atol=1e-6)
    assert sorted(truth.values(), reverse=True)[5] == pytest.approx(hits[5].score, abs=1e-6)


def test_approximate_search_rescored_exactly_and_optional(tmp_path, archive, clip_model,
                                                          monkeypatch):
    pytest.importorskip("usearch")
    path, report = index(tmp_path, archive, clip_model)
    q = np.random.default_rng(0).standard_normal(32).astype(np.float32)
    exact = iq.query_index(path, q, 10, method="exact")
    approx = iq.query_index(path, q, 10, method="approx")
    truth = brute_force(path, q)
    np.testing.assert_allclose([h.score for h in approx], [truth[h.fid] for h in approx], atol=1e-6)
    assert len({h.fid for h in approx} & {h.fid for h in exact}) >= 9
    with IndexStore(path, create=False) as store:  # the graph is kept in the index file
        assert store.load_ann("usearch-hnsw-f16")[0] == store.stamp()
    assert iq.choose_method(10**6) == "approx" and iq.choose_method(1000) == "exact"
    monkeypatch.setattr(iq, "ann_available", lambda: False)
    assert iq.choose_method(10**6) == "exact"  # without usearch: exact, no error
    with pytest.raises(InputError, match="usearch"):
        iq.choose_method(10, "approx")


def test_top_k_primitives_match_a_full_sort():
    rng = np.random.default_rng(1)
    vecs = rng.standard_normal((5000, 16)).astype(np.float32)
    q = rng.standard_normal(16).astype(np.float32)
    ids = np.arange(5000) * 3
    chunks = [(ids[i:i + 700], vecs[i:i + 700]) for i in range(0, 5000, 700)]
    got_ids, got_scores = iq.exact_search(chunks, q, 25)
    full = vecs @ q
    order = np.argsort(-full, kind="stable")[:25]
    np.testing.assert_array_equal(got_ids, ids[order])
    np.testing.assert_allclose(got_scores, full[order])


# --- distributed ------------------------------------------------------------------------------

@pytest.mark.timeout(600)
def test_dask_cluster_with_two_workers_builds_the_same_index(tmp_path, archive, clip_model):
    pytest.importorskip("distributed")
    serial_path, serial = index(tmp_path, archive, clip_model)
    dask_path = str(tmp_path / "dask.gpkg")
    report = build_index(dask_path, collect_rasters([str(archive)]), settings(clip_model),
                         dask_address="local", workers=2)
    assert sorted(report.added) == sorted(serial.added) and not report.failed
    a, b = rows(serial_path), rows(dask_path)
    assert set(a) == set(b) and len(a) == serial.tiles_total
    for key in a:
        np.testing.assert_allclose(a[key]["vector"], b[key]["vector"], atol=1e-6)
        assert a[key]["geom"].equals_exact(b[key]["geom"], 1e-12)
        assert a[key]["crs"] == b[key]["crs"]


# --- Processing -------------------------------------------------------------------------------



def test_processing_index_then_search_index(tmp_path, archive, clip_model, provider):
    import processing
    from qgis.core import QgsProcessingException, QgsRasterLayer, QgsVectorLayer

    layer = QgsRasterLayer(str(archive / "bahamas.tif"), "bahamas", "gdal")
    idx = str(tmp_path / "proc.gpkg")
    out = processing.run("eolens:index", {
        "INPUTS": [layer], "FOLDER": str(archive / "naip"), "INDEX": idx, "MODEL": clip_model,
        "TILE_SIZE": TILE, "OVERLAP": 0, "DEVICE": "cpu"})
    assert out["INDEX"] == idx and out["ADDED"] == 3 and out["FAILED"] == 0
    assert out["TILES"] == len(rows(idx))
    again = processing.run("eolens:index", {"FOLDER": str(archive / "naip"), "INDEX": idx,
                                            "MODEL": clip_model, "DEVICE": "cpu"})
    assert again["UNCHANGED"] == 2 and again["ADDED"] == 0

    res = processing.run("eolens:search_index", {"INDEX": idx, "PROMPT": "farmland", "TOP_K": 7,
                                                 "DEVICE": "cpu",
                                                 "OUTPUT": str(tmp_path / "top.gpkg")})
    top = QgsVectorLayer(res["OUTPUT"], "top", "ogr")
    assert top.isValid() and top.featureCount() == 7 and top.crs().authid() == "EPSG:4326"
    assert {"rank", "score", "source"} <= set(top.fields().names())
    feats = sorted(top.getFeatures(), key=lambda f: f["rank"])
    assert [f["rank"] for f in feats] == list(range(1, 8))
    assert all(a["score"] >= b["score"] for a, b in zip(feats, feats[1:]))
    assert {f["source"] for f in feats} <= {str(archive / "bahamas.tif"),
                                            str(archive / "naip" / "naip_2009.tif"),
                                            str(archive / "naip" / "naip_2009_copy.tif")}

    naip = QgsRasterLayer(str(archive / "naip" / "naip_2009.tif"), "naip", "gdal")
    e = naip.extent()
    extent = f"{e.xMinimum()},{e.xMinimum() + 1000},{e.yMaximum() - 1000},{e.yMaximum()} [EPSG:26914]"
    like = processing.run("eolens:search_index", {"INDEX": idx, "EXAMPLE": naip, "EXTENT": extent,
                                                  "TOP_K": 4, "DEVICE": "cpu",
                                                  "OUTPUT": str(tmp_path / "like.gpkg")})
    like_layer = QgsVectorLayer(like["OUTPUT"], "like", "ogr")
    assert like_layer.featureCount() == 4

    for params, words in (({"INDEX": idx}, "PROMPT"),
                          ({"INDEX": str(tmp_path / "none.gpkg"), "PROMPT": "x"}, "does not exist")):
        with pytest.raises(QgsProcessingException, match=words):
            processing.run("eolens:search_index", {**params, "OUTPUT": str(tmp_path / "x.gpkg")})
    with pytest.raises(QgsProcessingException, match="No rasters"):
        processing.run("eolens:index", {"INDEX": str(tmp_path / "y.gpkg"), "MODEL": clip_model})
