"""eolens:label, eolens:index and eolens:search_index take the EO Lens settings' model when MODEL is
blank, and check their typed parameters (inference.batch_params) before any model loads: ranges,
files, and no output that is an input."""
from __future__ import annotations

import os
import shutil

import pytest
from qgis.core import QgsProcessingException, QgsProcessingFeedback

from eolens.inference.models import runtime
from eolens.inference.batch_params import IndexParams, LabelParams, SearchIndexParams
from eolens.inference.errors import InputError
from tests.gui_helpers import plugin_settings

NEON = "boxes/neon_osbs_029"
CLASSES = "tree crowns, bare sand, a road"


def run(alg: str, params: dict):
    import processing

    return processing.run(f"eolens:{alg}", params, feedback=QgsProcessingFeedback())


@pytest.fixture(scope="module")
def clip(tiny_models) -> str:
    return str(tiny_models.path("openclip"))


@pytest.fixture
def settings_name_clip(clip):
    """Settings that name the tiny CLIP by folder name inside a models folder."""
    with plugin_settings(models_dir=os.path.dirname(clip), model_search=os.path.basename(clip),
                         device="cpu"):
        yield clip


@pytest.fixture
def neon(shared_data, tmp_path):
    """Copies of the NEON raster and its crowns (the tests may try to overwrite them)."""
    for name in ("OSBS_029.tif", "OSBS_029_boxes.geojson"):
        shutil.copy(shared_data / NEON / name, tmp_path / name)
    return str(tmp_path / "OSBS_029.tif"), str(tmp_path / "OSBS_029_boxes.geojson")


@pytest.fixture
def no_load(monkeypatch):
    """Fails the test if a model starts loading."""
    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded before the parameters were checked")

    monkeypatch.setattr(runtime, "load_model", refuse)


# --- settings reach the batch algorithms ------------------------------------------------------

def test_label_with_a_blank_model_uses_the_settings_search_model(provider, settings_name_clip,
                                                                 neon, tmp_path):
    raster, crowns = neon
    out = str(tmp_path / "labels.gpkg")
    res = run("label", {"INPUT": raster, "FEATURES": crowns, "CLASSES": CLASSES, "MODEL": "",
                        "EXTENT": "404212,404230,3285125,3285142 [EPSG:32617]", "OUTPUT": out})
    from qgis.core import QgsVectorLayer

    layer = QgsVectorLayer(res["OUTPUT"], "labels", "ogr")
    models = {f["model"] for f in layer.getFeatures()}
    assert layer.featureCount() >= 1 and models == {settings_name_clip}


def test_index_with_a_blank_model_uses_the_settings_search_model(provider, settings_name_clip,
                                                                 neon, tmp_path):
    from eolens.inference.archive.query import index_meta

    raster, _ = neon
    index = str(tmp_path / "archive.gpkg")
    res = run("index", {"INPUTS": [raster], "INDEX": index, "MODEL": ""})
    assert res["ADDED"] == 1 and index_meta(index)["model"] == settings_name_clip


def test_index_dialog_default_model_is_the_settings_model(provider, settings_name_clip):
    from qgis.core import QgsApplication

    alg = QgsApplication.processingRegistry().createAlgorithmById("eolens:index")
    assert alg.parameterDefinition("MODEL").defaultValue() == settings_name_clip
    assert alg.parameterDefinition("DEVICE").defaultValue() == "cpu"


# --- checked before any model loads ------------------------------------------------------------

def test_label_refuses_to_write_over_its_features_before_loading(provider, settings_name_clip,
                                                                 neon, tmp_path, no_load):
    raster, crowns = neon
    gpkg = str(tmp_path / "crowns.gpkg")
    import processing

    processing.run("native:savefeatures", {"INPUT": crowns, "OUTPUT": gpkg})
    before = os.path.getsize(gpkg), os.path.getmtime(gpkg)
    with pytest.raises(QgsProcessingException, match="OUTPUT.*also the input FEATURES"):
        run("label", {"INPUT": raster, "FEATURES": gpkg, "CLASSES": CLASSES, "OUTPUT": gpkg})
    assert (os.path.getsize(gpkg), os.path.getmtime(gpkg)) == before
    with pytest.raises(QgsProcessingException, match=r"OUTPUT.*must end in \.gpkg or \.shp"):
        run("label", {"INPUT": raster, "FEATURES": crowns, "CLASSES": CLASSES,
                      "OUTPUT": str(tmp_path / "labels.csv")})


def test_search_index_refuses_to_write_over_its_index(provider, settings_name_clip, neon,
                                                      tmp_path, no_load):
    index = str(tmp_path / "archive.gpkg")
    with open(index, "wb") as fh:   # the check needs no real index: only its path
        fh.write(b"not touched")
    link = str(tmp_path / "link.gpkg")
    os.symlink(index, link)
    for output in (index, link):
        with pytest.raises(QgsProcessingException, match="OUTPUT.*also the input INDEX"):
            run("search_index", {"INDEX": index, "PROMPT": "trees", "OUTPUT": output})
    with open(index, "rb") as fh:
        assert fh.read() == b"not touched"


def test_index_refuses_an_index_that_is_one_of_its_rasters(provider, settings_name_clip, neon,
                                                           tmp_path, no_load):
    raster, _ = neon
    with pytest.raises(QgsProcessingException, match=r"INDEX: .* is also the input INPUTS"):
        run("index", {"INPUTS": [raster], "INDEX": raster})
    index = raster[:-4] + ".gpkg"   # a raster GeoPackage given as both a raster and the index
    os.rename(raster, index)
    with pytest.raises(InputError, match="INDEX.*also the input INPUTS"):
        IndexParams(paths=(index,), index=index, model=settings_name_clip).validate()


@pytest.mark.parametrize(("changes", "words"), [
    ({"mode": "classify", "classes": ("one",)}, "at least two CLASSES"),
    ({"mode": "ask", "prompt": ""}, "needs a question"),
    ({"buffer": -1.0}, "BUFFER must be zero or more"),
    ({"max_side": -5}, "MAX_SIDE must be zero or more"),
    ({"output": "labels.txt"}, "must end in .gpkg or .shp"),
    ({"output": "/no/such/folder/labels.gpkg"}, "the folder '/no/such/folder' does not exist"),
])
def test_label_params_name_what_is_wrong(clip, tmp_path, no_load, changes, words):
    good = LabelParams(raster=str(tmp_path / "r.tif"), features=str(tmp_path / "f.gpkg"),
                       output=str(tmp_path / "out.gpkg"), mode="classify", model=clip,
                       classes=("a", "b"))
    good.validate()
    from dataclasses import replace

    with pytest.raises(InputError, match=words):
        replace(good, **changes).validate()


def test_index_and_search_params_name_what_is_wrong(clip, tmp_path, no_load):
    raster = tmp_path / "r.tif"
    raster.write_bytes(b"x")
    ok = IndexParams(paths=(str(raster),), index=str(tmp_path / "i.gpkg"), model=clip)
    ok.validate()
    from dataclasses import replace

    for changes, words in (({"tile": 8}, "TILE_SIZE must be at least 16"),
                           ({"overlap": 224}, "OVERLAP must be .* smaller than TILE_SIZE"),
                           ({"paths": ()}, "No rasters to index"),
                           ({"paths": (str(tmp_path / "gone.tif"),)}, "gone.tif' does not exist")):
        with pytest.raises(InputError, match=words):
            replace(ok, **changes).validate()
    search = SearchIndexParams(index=str(raster), output="", prompt="trees")
    search.validate()
    for changes, words in (({"top_k": 0}, "TOP_K must be at least 1"),
                           ({"prompt": ""}, "either a PROMPT or an EXAMPLE"),
                           ({"example": str(raster)}, "either a PROMPT or an EXAMPLE"),
                           ({"index": str(tmp_path / "none.gpkg")}, "does not exist")):
        with pytest.raises(InputError, match=words):
            replace(search, **changes).validate()
