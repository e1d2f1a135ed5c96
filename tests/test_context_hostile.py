"""CONTEXT_LAYERS and DOCUMENTS given wrongly, or not used, are said so (issue 23)."""
from __future__ import annotations

import hashlib
import shutil

import pytest
from qgis.core import QgsProcessingException, QgsProcessingFeedback


class Feedback(QgsProcessingFeedback):
    def __init__(self) -> None:
        super().__init__()
        self.log: list[str] = []

    def pushWarning(self, warning):
        self.log.append(warning)
        super().pushWarning(warning)


def _run(alg: str, params: dict):
    import processing

    fb = Feedback()
    return processing.run(alg, params, feedback=fb), fb


@pytest.fixture
def scene(sample_dir, tmp_path):
    path = tmp_path / "scene.tif"
    shutil.copyfile(sample_dir / "OSBS_029.tif", path)
    return path


def test_a_raster_in_context_layers_is_named_and_refused(provider, scene, tmp_path):
    other = tmp_path / "elevation.tif"
    shutil.copyfile(scene, other)
    with pytest.raises(QgsProcessingException) as err:
        _run("eolens:ask", {"INPUT": str(scene), "PROMPT": "what is here?",
                            "CONTEXT_LAYERS": [str(other)], "OUTPUT": str(tmp_path / "a.gpkg")})
    text = str(err.value)
    assert f"CONTEXT_LAYERS: '{other}' is not a vector layer" in text
    assert "Incorrect parameter value" not in text
    assert not (tmp_path / "a.gpkg").exists()


@pytest.mark.parametrize("content", [b"", b"just some words\n"], ids=["empty", "text"])
def test_an_unreadable_context_layer_is_named(provider, scene, tmp_path, content):
    bad = tmp_path / "roads.gpkg"
    bad.write_bytes(content)
    digest = hashlib.sha256(content).hexdigest()
    with pytest.raises(QgsProcessingException) as err:
        _run("eolens:caption", {"INPUT": str(scene), "CONTEXT_LAYERS": [str(bad)],
                                "OUTPUT": str(tmp_path / "c.gpkg")})
    assert f"CONTEXT_LAYERS: '{bad}' cannot be read as a vector layer" in str(err.value)
    assert hashlib.sha256(bad.read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["roads.gpkg", "scene.tif"]


def test_tiled_captions_say_the_context_was_not_used(provider, scene, tiny_models, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.txt").write_text("the pond is a retention basin", encoding="utf-8")
    res, fb = _run("eolens:caption", {"INPUT": str(scene), "TILE_SIZE": 256, "MAX_SIDE": 64,
                                      "MODEL": str(tiny_models.path("florence2")),
                                      "DOCUMENTS": str(docs), "DEVICE": "cpu",
                                      "OUTPUT": str(tmp_path / "tiles.gpkg")})
    assert res["OUTPUT"]
    assert any("CONTEXT_LAYERS and DOCUMENTS are not used when captioning tile by tile "
               "(TILE_SIZE 256)" in w for w in fb.log), fb.log
