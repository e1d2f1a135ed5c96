"""No output may be an input, for every registered algorithm and any algorithm added later.

The generic case walks each algorithm's parameter definitions: for every input parameter that can
name a file (layers, multi-layers, feature sources, files, folders) and every destination, the
destination is pointed at that input (directly, through a link, and through ``..``). Both doors a
run can come in by, ``checkParameterValues`` and ``prepareAlgorithm``, must refuse it with a
message naming both parameters, and the input must be byte-identical afterwards.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from qgis.core import (
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProject,
    QgsRasterLayer,
)

RGB = "geotiff/rasterio_RGB.byte.tif"
NEON = "boxes/neon_osbs_029/OSBS_029_boxes.geojson"


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def files(shared_data, tmp_path) -> dict[str, Path]:
    from osgeo import gdal

    data = tmp_path / "data"
    data.mkdir()
    raster = data / "scene.tif"
    shutil.copyfile(shared_data / RGB, raster)
    vector = data / "crowns.gpkg"
    gdal.VectorTranslate(str(vector), str(shared_data / NEON), format="GPKG")
    docs = data / "docs"
    docs.mkdir()
    (docs / "notes.txt").write_text("a harbour with two piers", encoding="utf-8")
    return {"raster": raster, "vector": vector, "docs": docs, "index": vector}


def _input_value(d, files: dict[str, Path]) -> tuple[str, Path]:
    """(value for parameter definition ``d``, the file or folder it names)."""
    kind = d.type()
    if kind == "file":
        if d.behavior() == QgsProcessingParameterFile.Behavior.Folder:
            return str(files["docs"]), files["docs"]
        return str(files["index"]), files["index"]
    if kind == "raster" or (kind == "multilayer" and d.layerType() == 3):  # TypeRaster
        return str(files["raster"]), files["raster"]
    return str(files["vector"]), files["vector"]


def _cases():
    from eolens.plugin.processing.algorithms import ALGORITHMS

    for cls in ALGORITHMS:
        alg = cls()
        alg.initAlgorithm()
        defs = alg.parameterDefinitions()
        ins = [d for d in defs if not d.isDestination()
               and d.type() in ("raster", "vector", "layer", "source", "multilayer", "file")]
        outs = [d.name() for d in defs if d.isDestination()]
        for d in ins:
            for out in outs:
                yield pytest.param(cls, d.name(), out, id=f"{alg.name()}-{d.name()}-{out}")


def _refusals(alg, params: dict) -> tuple[str, str]:
    """(checkParameterValues' message, prepareAlgorithm's message); '' where it did not refuse."""
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    ok, check_msg = alg.checkParameterValues(params, context)
    try:
        alg.prepareAlgorithm(params, context, QgsProcessingFeedback())
        prep_msg = ""
    except QgsProcessingException as err:
        prep_msg = str(err)
    return ("" if ok else check_msg), prep_msg


def test_the_walk_covers_every_algorithm_and_the_reported_cases():
    ids = {p.id for p in _cases()}
    assert {"evaluate-PREDICTED-OUTPUT", "evaluate-REFERENCE-OUTPUT_TEXT",
            "search_index-INDEX-OUTPUT", "index-INPUTS-INDEX", "label-FEATURES-OUTPUT",
            "caption-DOCUMENTS-OUTPUT_TEXT", "ask-CONTEXT_LAYERS-OUTPUT"} <= ids
    from eolens.plugin.processing.algorithms import ALGORITHMS

    assert {i.split("-")[0] for i in ids} == {cls().name() for cls in ALGORITHMS}


@pytest.mark.parametrize("cls, param, out", list(_cases()))
def test_an_output_naming_an_input_is_refused_by_both_doors(provider, files, tmp_path, cls, param,
                                                           out):
    alg = cls()
    alg.initAlgorithm()
    d = alg.parameterDefinition(param)
    value, target = _input_value(d, files)
    before = {p: sha(p) for p in target.parent.rglob("*") if p.is_file()}
    if target.is_dir():   # a file that folder's reader would take (its first extension)
        from eolens.plugin.processing.algorithms.file_guard import folder_reads

        dest = str(target / ("inside" + folder_reads().get(param, (".txt",))[0]))
    else:
        dest = value
    for spelled in (dest, os.path.join(os.path.dirname(dest), "..", os.path.basename(
            os.path.dirname(dest)), os.path.basename(dest))):
        check_msg, prep_msg = _refusals(alg, {param: value, out: spelled})
        for msg in (check_msg, prep_msg):
            assert out in msg and param in msg, (spelled, msg)
            assert "Error" not in msg and "Traceback" not in msg
    assert {p: sha(p) for p in target.parent.rglob("*") if p.is_file()} == before


def test_a_link_to_an_input_is_the_input(provider, files, tmp_path):
    from eolens.plugin.processing.algorithms.evaluate import EvaluateAlgorithm

    link = tmp_path / "innocent.gpkg"
    link.symlink_to(files["vector"])
    alg = EvaluateAlgorithm()
    alg.initAlgorithm()
    check_msg, prep_msg = _refusals(alg, {"PREDICTED": str(files["vector"]), "OUTPUT": str(link)})
    assert "OUTPUT" in check_msg and "PREDICTED" in check_msg and "OUTPUT" in prep_msg


def test_a_project_layer_given_by_id_is_resolved_to_its_file(provider, files):
    from eolens.plugin.processing.algorithms.caption import CaptionAlgorithm

    layer = QgsRasterLayer(str(files["raster"]), "scene")
    QgsProject.instance().addMapLayer(layer)
    try:
        alg = CaptionAlgorithm()
        alg.initAlgorithm()
        check_msg, _ = _refusals(alg, {"INPUT": layer.id(), "OUTPUT_TEXT": str(files["raster"])})
        assert "OUTPUT_TEXT" in check_msg and "INPUT" in check_msg
    finally:
        QgsProject.instance().removeMapLayer(layer.id())


def test_outputs_elsewhere_and_unrelated_files_in_an_input_folder_pass_the_guard(provider, files,
                                                                                tmp_path):
    from eolens.plugin.processing.algorithms.file_guard import check_files
    from eolens.plugin.processing.algorithms.index import IndexAlgorithm

    alg = IndexAlgorithm()
    alg.initAlgorithm()
    context = QgsProcessingContext()
    # the index beside the rasters it indexes: a .gpkg is no raster FOLDER reads
    check_files(alg, {"FOLDER": str(files["raster"].parent),
                      "INDEX": str(files["raster"].parent / "archive.gpkg")}, context)
    with pytest.raises(Exception, match="INDEX.*inside the folder FOLDER reads"):
        check_files(alg, {"FOLDER": str(files["raster"].parent) + "/**/*.tif",
                          "INDEX": str(files["raster"].parent / "sub" / "x.tif")}, context)


def test_a_future_algorithm_is_guarded_without_opting_in(provider, files, tmp_path):
    """A new algorithm with its own parameter names and its own prepareAlgorithm, which would
    write its report at once, cannot destroy its catalogue: the base class guards it."""
    from eolens.plugin.processing.algorithms.base import EOLensAlgorithm

    catalogue = tmp_path / "catalogue.json"
    catalogue.write_text(json.dumps({"keep": True}), encoding="utf-8")
    before = sha(catalogue)

    class Reporter(EOLensAlgorithm):
        ALG_ID = "reporter"

        def initAlgorithm(self, config=None):
            self.addParameter(QgsProcessingParameterFile("CATALOGUE", "Catalogue"))
            self.addParameter(QgsProcessingParameterFileDestination("REPORT", "Report"))

        def validate(self, parameters, context):
            pass

        def prepareAlgorithm(self, parameters, context, feedback):
            Path(parameters["REPORT"]).write_text("overwritten", encoding="utf-8")
            return True

    alg = Reporter()
    alg.initAlgorithm()
    check_msg, prep_msg = _refusals(alg, {"CATALOGUE": str(catalogue), "REPORT": str(catalogue)})
    assert "REPORT" in check_msg and "CATALOGUE" in check_msg
    assert "REPORT" in prep_msg and "CATALOGUE" in prep_msg
    assert sha(catalogue) == before
    out = tmp_path / "report.txt"
    assert _refusals(alg, {"CATALOGUE": str(catalogue), "REPORT": str(out)})[1] == ""
    assert out.read_text(encoding="utf-8") == "overwritten"   # the guard passed it through


@pytest.mark.parametrize("alg_id, params", [
    ("eolens:evaluate", lambda f: {"PREDICTED": str(f["vector"]), "REFERENCE": str(f["vector"]),
                                   "OUTPUT": str(f["vector"])}),
    ("eolens:evaluate", lambda f: {"PREDICTED": str(f["vector"]), "REFERENCE": str(f["ref"]),
                                   "OUTPUT_TEXT": str(f["ref"])}),
    ("eolens:search_index", lambda f: {"INDEX": str(f["vector"]), "PROMPT": "a harbour",
                                       "OUTPUT": str(f["vector"])}),
], ids=["evaluate-output", "evaluate-report", "search_index-output"])
def test_the_three_destroyed_files_of_the_campaign_survive_processing_run(
        provider, files, shared_data, tmp_path, alg_id, params):
    import processing

    ref = tmp_path / "data" / "boxes.geojson"
    shutil.copyfile(shared_data / NEON, ref)
    files = {**files, "ref": ref}
    before = {p: sha(p) for p in (tmp_path / "data").rglob("*") if p.is_file()}
    with pytest.raises(QgsProcessingException) as err:
        processing.run(alg_id, params(files), feedback=QgsProcessingFeedback())
    assert "never writes over its own inputs" in str(err.value)
    assert {p: sha(p) for p in (tmp_path / "data").rglob("*") if p.is_file()} == before


def test_qgis_process_refuses_evaluate_writing_its_reference(qgis_process, shared_data, tmp_path):
    ref = tmp_path / "boxes.geojson"
    shutil.copyfile(shared_data / NEON, ref)
    before = sha(ref)
    res = qgis_process("run", "eolens:evaluate", "--", f"PREDICTED={ref}", f"REFERENCE={ref}",
                       f"OUTPUT_TEXT={ref}")
    assert res.returncode != 0
    assert "OUTPUT_TEXT" in res.stdout + res.stderr and sha(ref) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["boxes.geojson"]
