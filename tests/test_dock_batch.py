"""The dock's batch entry points (Find ▸ Label features…, Search ▸ Index rasters… and Search an
index…) as a person uses them: press the dock's button, find the dialog it opened among the
application's windows, press Run, wait, and look at the files and the layer tree.

The test holds no reference to any dialog: each step finds it again, and ``gc.collect()`` runs
between opening and Run. Processing parents a dialog on QGIS's main window, whose Python wrapper
does not keep the dialog's Python half (the part that runs the algorithm) alive; here the dialog
is given no parent at all, so only what the dock keeps can keep it.
"""
from __future__ import annotations

import gc
import os

import pytest
from qgis.core import QgsApplication, QgsProcessingContext, QgsProject, QgsVectorLayer
from qgis.gui import QgsProcessingAlgorithmDialogBase
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import QApplication

from tests.gui_helpers import add_raster, clear_project, load_plugin, plugin_settings

NEON = "boxes/neon_osbs_029"
CLASSES = "tree crowns, bare sand, a road"


class _NoParentIface:
    """QGIS's iface for Processing, except that dialogs get no Python-held parent window."""

    def __init__(self, iface) -> None:
        self._iface = iface

    def mainWindow(self):  # noqa: N802 - QGIS API name
        return None

    def __getattr__(self, name):
        return getattr(self._iface, name)


@pytest.fixture
def gui(provider, tiny_models, monkeypatch):
    import processing.gui.AlgorithmDialog as algorithm_dialog
    import qgis.utils
    from processing.tools import general

    iface, plugin = load_plugin()
    for module in (qgis.utils, algorithm_dialog):
        monkeypatch.setattr(module, "iface", iface)
    monkeypatch.setattr(general, "iface", _NoParentIface(iface))
    clip = str(tiny_models.path("openclip"))
    with plugin_settings(model_search=clip, device="cpu"):
        yield iface, plugin, clip
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QgsProcessingAlgorithmDialogBase):
            widget.close()
    plugin.unload()
    clear_project()


def _dialog(alg_id: str):
    """The visible dialog of ``alg_id`` among the application's windows (exactly one)."""
    found = [w for w in QApplication.topLevelWidgets()
             if isinstance(w, QgsProcessingAlgorithmDialogBase) and w.isVisible()
             and w.algorithm().id() == alg_id]
    assert len(found) == 1, f"{len(found)} open dialogs of {alg_id}"
    return found[0]


def _press(qtbot, button) -> None:
    button.clicked.emit()
    gc.collect()   # what only a local variable held is gone now


def _run(qtbot, alg_id: str, params: dict, output: str) -> None:
    """Fill ``params`` in, press Run, and wait for ``output`` and the end of the run."""
    _dialog(alg_id).setParameters(params)
    qtbot.mouseClick(_dialog(alg_id).runButton(), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: os.path.exists(output)
                    and QgsApplication.taskManager().countActiveTasks() == 0, timeout=300_000)


def _wait_loaded(qtbot, path: str) -> None:
    """Processing adds the output to the project ("Open output file after running" is ticked)."""
    qtbot.waitUntil(lambda: bool(_loaded(path)), timeout=60_000)


def _loaded(path: str) -> list:
    """Layers of the project whose source is the file ``path``."""
    return [lyr for lyr in QgsProject.instance().mapLayers().values()
            if os.path.realpath(lyr.source().split("|")[0]) == os.path.realpath(path)]


def _crowns(shared_data, select: int = 0) -> QgsVectorLayer:
    crowns = QgsVectorLayer(str(shared_data / NEON / "OSBS_029_boxes.geojson"), "crowns", "ogr")
    assert crowns.isValid()
    QgsProject.instance().addMapLayer(crowns)
    if select:
        crowns.selectByIds(sorted(f.id() for f in crowns.getFeatures())[:select])
    return crowns


def test_label_features_button_runs_with_the_settings_model(gui, shared_data, qtbot, tmp_path):
    iface, plugin, clip = gui
    raster = add_raster(shared_data / NEON / "OSBS_029.tif")
    crowns = _crowns(shared_data, select=3)
    iface.activeLayer = lambda: crowns
    plugin.dock.layer_combo.setLayer(raster)
    _press(qtbot, plugin.dock.find.label_button)
    out = str(tmp_path / "labels.gpkg")
    _run(qtbot, "eolens:label", {"CLASSES": CLASSES, "MODEL": "", "OUTPUT": out}, out)
    _wait_loaded(qtbot, out)
    labelled = QgsVectorLayer(out, "labels", "ogr")
    assert labelled.isValid() and labelled.featureCount() == 3   # the selection only
    assert {f["model"] for f in labelled.getFeatures()} == {clip}   # blank MODEL: the settings


def test_index_then_search_an_index_buttons_run(gui, shared_data, qtbot, tmp_path):
    _iface, plugin, _clip = gui
    raster = add_raster(shared_data / NEON / "OSBS_029.tif")
    index = str(tmp_path / "archive.gpkg")
    _press(qtbot, plugin.dock.search.index_button)
    assert _dialog("eolens:index").mainWidget().createProcessingParameters()["MODEL"] == _clip
    _run(qtbot, "eolens:index", {"INDEX": index}, index)
    from eolens.inference.archive.query import index_meta

    assert index_meta(index)["model"] == _clip
    db_sources = _sources(index)
    assert db_sources == {os.path.realpath(raster.source())}

    plugin.dock.search.query.setText("trees")
    _press(qtbot, plugin.dock.search.archive_button)
    top = str(tmp_path / "top.gpkg")
    _run(qtbot, "eolens:search_index", {"INDEX": index, "OUTPUT": top}, top)
    _wait_loaded(qtbot, top)
    hits = QgsVectorLayer(top, "top", "ogr")
    assert hits.isValid() and hits.featureCount() >= 1


def _sources(index: str) -> set[str]:
    import sqlite3

    db = sqlite3.connect(index)
    try:
        return {os.path.realpath(s) for (s,) in db.execute("SELECT DISTINCT source FROM eolens_tiles")}
    finally:
        db.close()


# --- one set of parameters, whichever way in ---------------------------------------------------

def _params(alg_id: str, parameters: dict):
    alg = QgsApplication.processingRegistry().createAlgorithmById(alg_id)
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    return alg.params(parameters, context)


def test_dock_prefill_and_processing_build_equal_parameters(gui, shared_data, qtbot, tmp_path):
    iface, plugin, clip = gui
    raster = add_raster(shared_data / NEON / "OSBS_029.tif")
    crowns = _crowns(shared_data)
    iface.activeLayer = lambda: crowns
    plugin.dock.layer_combo.setLayer(raster)
    out = str(tmp_path / "labels.gpkg")
    _press(qtbot, plugin.dock.find.label_button)
    from_dock = {**_dialog("eolens:label").mainWidget().createProcessingParameters(),
                 "CLASSES": CLASSES, "OUTPUT": out}
    direct = {"INPUT": raster.source(), "FEATURES": crowns.source(), "CLASSES": CLASSES,
              "OUTPUT": out}
    label = _params("eolens:label", from_dock)
    assert label == _params("eolens:label", direct)
    assert label.model == clip and label.raster == raster.source() and label.output == out

    index = str(tmp_path / "archive.gpkg")
    _press(qtbot, plugin.dock.search.index_button)
    from_dock = {**_dialog("eolens:index").mainWidget().createProcessingParameters(),
                 "INDEX": index}
    built = _params("eolens:index", from_dock)
    assert built == _params("eolens:index", {"INPUTS": [raster.source()], "INDEX": index})
    assert built.model == clip and built.paths == (os.path.abspath(raster.source()),)
