"""Choices by text or by number, and numbers out of range named with their range, for every
algorithm; then the same through the real qgis_process."""
from __future__ import annotations

import shutil

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingParameterEnum,
    QgsProcessingParameterNumber,
)

NAIP = "change/naip_nd_2009_2020"


def _algorithms():
    from eolens.plugin.processing.algorithms import ALGORITHMS

    for cls in ALGORITHMS:
        alg = cls()
        alg.initAlgorithm()
        yield alg


def _message(alg, params: dict) -> str:
    ok, msg = alg.checkParameterValues(params, QgsProcessingContext())
    return "" if ok else msg


def test_every_static_choice_is_accepted_by_its_number(provider):
    from eolens.plugin.processing.algorithms.param_values import normalized

    seen = set()
    for alg in _algorithms():
        for d in alg.parameterDefinitions():
            if isinstance(d, QgsProcessingParameterEnum) and d.usesStaticStrings():
                for i, option in enumerate(d.options()):
                    assert normalized(alg, {d.name(): str(i)})[d.name()] == option
                    assert normalized(alg, {d.name(): i})[d.name()] == option
                    assert d.name() not in _message(alg, {d.name(): str(i)})
                seen.add(d.name())
    assert {"DEVICE", "METHOD"} <= seen


def test_a_choice_that_is_neither_text_nor_number_lists_the_choices(provider):
    from eolens.plugin.processing.algorithms.change import ChangeAlgorithm

    alg = ChangeAlgorithm()
    alg.initAlgorithm()
    assert "METHOD: 'spectrall' is not one of the choices; use 0 = spectral, 1 = semantic, 2 = vlm" \
        in _message(alg, {"METHOD": "spectrall"})
    assert "DEVICE: '7' is not one of the choices; use 0 = auto, 1 = cuda, 2 = cpu" \
        in _message(alg, {"DEVICE": "7"})


def test_every_number_out_of_range_names_the_parameter_and_the_range(provider):
    checked = 0
    for alg in _algorithms():
        for d in alg.parameterDefinitions():
            if not isinstance(d, QgsProcessingParameterNumber) or d.minimum() < -1e300:
                continue
            below = d.minimum() - 1
            msg = _message(alg, {d.name(): below})
            assert msg.startswith(f"{d.name()}: ") and "out of range; give a value" in msg, (
                alg.name(), d.name(), msg)
            low = str(int(d.minimum())) if float(d.minimum()).is_integer() else str(d.minimum())
            assert low in msg
            checked += 1
    assert checked >= 10


def test_iou_above_one_and_text_for_a_number(provider):
    from eolens.plugin.processing.algorithms.evaluate import EvaluateAlgorithm
    from eolens.plugin.processing.algorithms.search import SearchAlgorithm

    ev = EvaluateAlgorithm()
    ev.initAlgorithm()
    msg = _message(ev, {"IOU": 1.5})
    assert msg == "IOU: '1.5' is out of range; give a value from 0.01 to 1."
    search = SearchAlgorithm()
    search.initAlgorithm()
    assert _message(search, {"TOP_K": "ten"}).startswith("TOP_K: 'ten' is not a whole number; give a value at least ")
    assert _message(search, {"TOP_K": 2.5}).startswith("TOP_K: '2.5' is not a whole number; give")


def test_a_tile_below_the_floor_blames_tile_size_not_the_default_overlap(provider, shared_data):
    from eolens.plugin.processing.algorithms.detect import DetectAlgorithm

    alg = DetectAlgorithm()
    alg.initAlgorithm()
    raster = str(sorted((shared_data / NAIP).glob("*.tif"))[0])
    msg = _message(alg, {"INPUT": raster, "PROMPT": "a house", "TILE_SIZE": 31})
    assert msg == "TILE_SIZE 31: use at least 32 pixels, or 0 for no tiling."
    msg = _message(alg, {"INPUT": raster, "PROMPT": "a house", "TILE_SIZE": 64})
    assert msg.startswith("TILE_SIZE (64) must be larger than the tile overlap, OVERLAP (128)")


def test_qgis_process_takes_choices_by_number(qgis_process, shared_data, tmp_path):
    a, b = sorted((shared_data / NAIP).glob("*.tif"))
    for name, src in (("a.tif", a), ("b.tif", b)):
        shutil.copyfile(src, tmp_path / name)
    out = tmp_path / "out"
    out.mkdir()
    res = qgis_process("run", "eolens:change", "--", f"INPUT={tmp_path / 'a.tif'}",
                       f"INPUT_B={tmp_path / 'b.tif'}", "METHOD=0", "DEVICE=2",
                       f"OUTPUT={out / 'change.gpkg'}", f"OUTPUT_TEXT={out / 'change.txt'}")
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert (out / "change.gpkg").is_file() and (out / "change.txt").is_file()
    res = qgis_process("run", "eolens:change", "--", f"INPUT={tmp_path / 'a.tif'}",
                       f"INPUT_B={tmp_path / 'b.tif'}", "METHOD=0", "MIN_AREA=-5",
                       f"OUTPUT={out / 'again.gpkg'}")
    assert res.returncode != 0 and "MIN_AREA: '-5' is out of range; give a value at least 0" in res.stdout + res.stderr
    assert not (out / "again.gpkg").exists()
