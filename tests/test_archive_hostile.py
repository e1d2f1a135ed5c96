"""Issue 23, the archive index: hostile inputs to eolens:index and eolens:search_index.

Each case runs through ``processing.run`` (or the inference call the algorithm makes) and checks
the outcome, that the message names the parameter and the file without a Python exception class
name, that the files that existed before are byte-identical after, and that nothing is left
behind. Also: the index passes GDAL's GeoPackage validator (an old TEXT-keyed index is migrated),
a Dask build writes files in file order (row ids as a serial build), and loading an open_clip
folder does not log that the model is random just before its weights load.
"""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from osgeo import gdal, ogr, osr
from test_hostile_inputs import assert_plain, run, sha, snapshot

from eolens.inference.archive import build as ai
from eolens.inference.archive.build import IndexSettings, build_index
from eolens.inference.archive.store import IndexStore
from eolens.inference.errors import InputError

RGB = "geotiff/rasterio_RGB.byte.tif"   # 791 x 718, EPSG:32618: 16 tiles of 224
NAIP = "change/naip_nd_2009_2020/m_4709963_se_14_1_20090818.tif"


@pytest.fixture(scope="module")
def clip(tiny_models) -> str:
    return str(tiny_models.path("openclip"))


@pytest.fixture(scope="module")
def built(provider, shared_data, clip, tmp_path_factory) -> Path:
    """An index of one raster, built once through Processing (tests copy it before changing)."""
    root = tmp_path_factory.mktemp("built")
    (root / "data").mkdir()
    shutil.copyfile(shared_data / RGB, root / "data" / "scene.tif")
    res, message, _ = run("eolens:index", {"INPUTS": [str(root / "data" / "scene.tif")],
                                           "INDEX": str(root / "archive.gpkg"), "MODEL": clip,
                                           "DEVICE": "cpu"})
    assert res is not None, message
    assert res["ADDED"] == 1 and res["TILES"] > 0
    return root / "archive.gpkg"


@pytest.fixture
def work(tmp_path, built, shared_data) -> Path:
    """A folder with a copy of the index, its raster and a zero-byte .tif."""
    shutil.copyfile(built, tmp_path / "archive.gpkg")
    shutil.copyfile(shared_data / RGB, tmp_path / "scene.tif")
    (tmp_path / "zero.tif").write_bytes(b"")
    return tmp_path


def refused(alg: str, params: dict, folder: Path, *names: str) -> str:
    """Run ``alg``: it must refuse, name ``names``, and leave ``folder`` byte-identical."""
    before = snapshot(folder)
    res, message, _ = run(alg, params)
    assert res is None, f"{alg} ran: {res}"
    assert_plain(message, *names)
    assert snapshot(folder) == before, "files changed or were left behind"
    return message


def search(work: Path, **params) -> dict:
    return {"INDEX": str(work / "archive.gpkg"), "PROMPT": "a harbour", "DEVICE": "cpu",
            "OUTPUT": str(work / "hits.gpkg"), **params}


# --- 1. the model of the index -----------------------------------------------------------------

def test_search_with_another_model_of_the_same_size_is_refused(work, tiny_models, clip):
    other = str(tiny_models.path("hfclip"))
    message = refused("eolens:search_index", search(work, MODEL=other), work,
                      "MODEL", str(work / "archive.gpkg"), clip, other, "rebuild")
    assert "different spaces" in message
    # the index's own model, named explicitly, is accepted; so is the same model moved
    res, message, _ = run("eolens:search_index", search(work, MODEL=clip))
    assert res is not None, message
    moved = work / "models" / Path(clip).name
    shutil.copytree(clip, moved)
    res, message, _ = run("eolens:search_index", search(work, MODEL=str(moved),
                                                        OUTPUT=str(work / "moved.gpkg")))
    assert res is not None, message


def test_query_api_refuses_another_model_too(work, tiny_models):
    from eolens.inference.archive.query import search_text
    from eolens.inference.errors import ModelError

    with pytest.raises(ModelError, match="cannot be searched with"):
        search_text(str(work / "archive.gpkg"), "ships", model=str(tiny_models.path("hfclip")),
                    device="cpu")


# --- 2. GDAL's GeoPackage validator ------------------------------------------------------------

def test_a_fresh_index_passes_gdals_geopackage_validator(built):
    validate = pytest.importorskip("osgeo_utils.samples.validate_gpkg")
    validate.check(str(built))   # raises on any conformance error (Req 119 included)


def _old_meta(path: Path) -> dict:
    """Turn ``eolens_meta`` back into the TEXT-keyed table of indexes built before the fix."""
    db = sqlite3.connect(path)
    meta = dict(db.execute("SELECT key, value FROM eolens_meta"))
    db.executescript("DROP TABLE eolens_meta; "
                     "CREATE TABLE eolens_meta (key TEXT PRIMARY KEY, value TEXT);")
    db.executemany("INSERT INTO eolens_meta VALUES (?, ?)", meta.items())
    db.commit()
    db.close()
    return meta


def test_an_old_text_keyed_index_is_searched_then_migrated(work, clip):
    validate = pytest.importorskip("osgeo_utils.samples.validate_gpkg")
    index = work / "archive.gpkg"
    meta = _old_meta(index)
    with pytest.raises(Exception, match="Req 119"):
        validate.check(str(index))
    before = sha(index)
    res, message, _ = run("eolens:search_index", search(work))
    assert res is not None, message
    assert sha(index) == before, "a search changed the index"
    res, message, _ = run("eolens:index", {"INPUTS": [str(work / "scene.tif")],
                                           "INDEX": str(index), "MODEL": clip, "DEVICE": "cpu"})
    assert res is not None, message
    validate.check(str(index))
    with IndexStore(index, create=False) as store:
        assert store.meta() == meta


# --- 3. a Dask build: tiles in file order --------------------------------------------------------

class _Future:
    def __init__(self, key: str, value) -> None:
        self.key, self.value, self.released = key, value, False

    def result(self):
        return self.value

    def release(self) -> None:
        self.released = True


def test_parts_are_written_in_file_order_whatever_finishes_first():
    from eolens.inference.cancel import CancelToken

    todo = [(f"file{i}", "added") for i in range(5)]
    futures = [_Future(f"k{i}", f"part{i}") for i in range(5)]
    finish = [futures[i] for i in (3, 1, 4, 0, 2)]
    got = list(ai._in_file_order(todo, futures, lambda fs: iter(finish), None, CancelToken()))
    assert got == [(todo[i], f"part{i}") for i in range(5)]
    assert all(f.released for f in futures)


@pytest.mark.timeout(600)
def test_a_dask_build_has_the_rows_and_ids_of_a_serial_build(tmp_path, shared_data, clip):
    pytest.importorskip("dask.distributed")
    data = tmp_path / "data"
    data.mkdir()
    for name, src in (("a.tif", NAIP), ("b.tif", RGB), ("c.tif", NAIP)):
        shutil.copyfile(shared_data / src, data / name)
    paths = sorted(str(p) for p in data.iterdir())
    settings = IndexSettings(clip, device="cpu")
    build_index(str(tmp_path / "serial.gpkg"), paths, settings)
    report = build_index(str(tmp_path / "dask.gpkg"), paths, settings, dask_address="local",
                         workers=2)
    assert not report.failed

    def table(name: str) -> list:
        db = sqlite3.connect(tmp_path / name)
        out = db.execute("SELECT t.fid, t.file_id, t.source, t.col_off, t.row_off, f.path "
                         "FROM eolens_tiles t JOIN eolens_files f ON f.fid = t.file_id "
                         "ORDER BY t.fid").fetchall()
        db.close()
        return out

    assert table("dask.gpkg") == table("serial.gpkg")


# --- 4. messages -------------------------------------------------------------------------------

def test_an_index_in_a_read_only_folder_is_named_read_only(work, clip):
    refused("eolens:index", {"INPUTS": [str(work / "scene.tif")], "INDEX": "/proc/sys/idx.gpkg",
                             "MODEL": clip, "DEVICE": "cpu"}, work, "INDEX", "/proc/sys")
    with pytest.raises(InputError) as err:       # what the build itself says (command line)
        IndexStore("/proc/sys/idx.gpkg")
    assert_plain(str(err.value), "INDEX", "/proc/sys", "read-only")
    assert "not an EO Lens index" not in str(err.value)
    assert not os.path.exists("/proc/sys/idx.gpkg")


def test_a_search_opens_the_index_read_only(work):
    index = work / "archive.gpkg"
    with IndexStore(index, create=False) as store:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            store.db.execute("DELETE FROM eolens_tiles")
    before = sha(index)
    res, message, _ = run("eolens:search_index", search(work))
    assert res is not None, message
    assert sha(index) == before


def test_a_zero_byte_example_is_named(work):
    zero = str(work / "zero.tif")
    message = refused("eolens:search_index", search(work, PROMPT="", EXAMPLE=zero), work,
                      "EXAMPLE", zero, "empty")
    assert "Give either" not in message


def test_a_vector_in_inputs_is_named(work, clip):
    vector = work / "roads.geojson"
    vector.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", '
                      '"properties": {}, "geometry": {"type": "Point", "coordinates": [1, 2]}}]}')
    message = refused("eolens:index", {"INPUTS": [str(vector)], "INDEX": str(work / "new.gpkg"),
                                       "MODEL": clip, "DEVICE": "cpu"},
                      work, "INPUTS", str(vector), "vector layer")
    assert "rendered capture" not in message


def _foreign_gpkg(path: Path) -> Path:
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    layer = ds.CreateLayer("roads", srs, ogr.wkbLineString)
    feature = ogr.Feature(layer.GetLayerDefn())
    feature.SetGeometry(ogr.CreateGeometryFromWkt("LINESTRING (0 0, 1 1)"))
    layer.CreateFeature(feature)
    ds = None
    return path


def test_a_foreign_geopackage_as_index_gets_search_advice(work):
    foreign = str(_foreign_gpkg(work / "roads.gpkg"))
    message = refused("eolens:search_index", search(work, INDEX=foreign), work,
                      "INDEX", foreign, "not an EO Lens index", "eolens:index")
    assert "new file name" not in message


def test_a_foreign_geopackage_as_index_gets_build_advice(work, clip):
    foreign = str(_foreign_gpkg(work / "roads.gpkg"))
    refused("eolens:index", {"INPUTS": [str(work / "scene.tif")], "INDEX": foreign,
                             "MODEL": clip, "DEVICE": "cpu"},
            work, "INDEX", foreign, "not an EO Lens index", "new file name")


@pytest.mark.parametrize("existing", [True, False], ids=["update", "create"])
def test_an_index_being_written_by_another_run_is_named_in_use(work, clip, existing):
    index = work / ("archive.gpkg" if existing else "new.gpkg")
    with IndexStore(index):                    # the other run, holding the index
        before = snapshot(work)
        res, message, _ = run("eolens:index", {"INPUTS": [str(work / "scene.tif")],
                                               "INDEX": str(index), "MODEL": clip,
                                               "DEVICE": "cpu"})
        assert res is None
        assert_plain(message, "INDEX", str(index), "in use by another run")
        assert "already exists" not in message
        assert snapshot(work) == before
    res, message, _ = run("eolens:index", {"INPUTS": [str(work / "scene.tif")],
                                           "INDEX": str(index), "MODEL": clip, "DEVICE": "cpu"})
    assert res is not None, message                # released on exit
    expected = {"archive.gpkg", "scene.tif", "zero.tif"} | ({"new.gpkg"} if not existing else set())
    assert set(os.listdir(work)) == expected      # no lock file, no journal left


# --- 5. open_clip: no "initialized randomly" just before the weights load -------------------------

def test_loading_an_open_clip_folder_logs_no_random_model(tiny_models, caplog, monkeypatch):
    import torch

    from eolens.inference.models import clip_family
    from eolens.inference.models.runtime import resolve_spec

    path = str(tiny_models.path("openclip"))
    spec = resolve_spec(path, "embed_image")

    def load() -> list[str]:
        caplog.clear()
        with caplog.at_level(logging.INFO):
            clip_family.load_openclip(spec, path, "cpu", torch.float32)
        return [r.getMessage() for r in caplog.records]

    assert not [m for m in load() if "No pretrained weights" in m or "randomly" in m]
    # the control: without the filter open_clip does log it, so the check above can fail
    monkeypatch.setattr(clip_family, "_quiet_random_init", contextlib.nullcontext)
    assert [m for m in load() if "No pretrained weights loaded" in m]
    assert not logging.getLogger().filters


# --- 6. no output may be an input ------------------------------------------------------------------

def test_search_output_naming_the_index_is_refused(work):
    index = work / "archive.gpkg"
    for output in (str(index), str(work / ".." / work.name / "archive.gpkg")):
        refused("eolens:search_index", search(work, OUTPUT=output), work, "OUTPUT", "INDEX")
    link = work / "alias.gpkg"
    link.symlink_to(index)
    refused("eolens:search_index", search(work, OUTPUT=str(link)), work, "OUTPUT", "INDEX")


def test_search_output_naming_the_example_is_refused(work):
    example = work / "scene.gpkg"   # a GeoPackage raster: an OUTPUT could name it
    gdal.Translate(str(example), str(work / "scene.tif"), format="GPKG")
    link = work / "alias.gpkg"
    link.symlink_to(example)
    for output in (str(example), str(link), str(work / ".." / work.name / "scene.gpkg")):
        refused("eolens:search_index", search(work, PROMPT="", EXAMPLE=str(example),
                                              OUTPUT=output), work, "OUTPUT", "EXAMPLE")


def test_an_index_that_is_one_of_its_inputs_is_refused(work, clip):
    raster = work / "scene.gpkg"    # a GeoPackage raster: INDEX could name it
    gdal.Translate(str(raster), str(work / "scene.tif"), format="GPKG")
    link = work / "alias.gpkg"
    link.symlink_to(raster)
    for index in (str(raster), str(link), str(work / ".." / work.name / "scene.gpkg")):
        refused("eolens:index", {"INPUTS": [str(raster)], "INDEX": index, "MODEL": clip,
                                 "DEVICE": "cpu"}, work, "INDEX", "INPUTS")
