"""The dock and Processing build EQUAL typed parameters for the same inputs (issue 22)."""
from __future__ import annotations

import pytest
from qgis.core import QgsApplication, QgsProcessingContext

from tests.gui_helpers import NAIP_PAIR, add_raster, naip_in_change_tab, plugin_settings, wait_idle


def _processing(alg_id: str, parameters: dict):
    alg = QgsApplication.processingRegistry().createAlgorithmById(alg_id)
    return alg.params(parameters, QgsProcessingContext())


def _spy(monkeypatch, module, name: str) -> list:
    from eolens.inference.actions import ActionResult

    seen = []

    def record(params, **kw):
        seen.append(params)
        return ActionResult()      # nothing found: the dock adds no layer

    monkeypatch.setattr(module, name, record)
    return seen


def test_change_params_are_equal_in_the_dock_and_processing(provider, gui, qtbot, shared_data,
                                                            monkeypatch):
    from eolens.plugin.panels import change_panel

    seen = _spy(monkeypatch, change_panel, "change_area")
    _, plugin = gui
    naip_in_change_tab(plugin, shared_data, "semantic")
    panel = plugin.dock.change
    panel.threshold.setValue(0.25)
    panel.label_box.setChecked(True)
    panel.labels.setText("new road, cleared forest")
    with plugin_settings(max_side=640, fit_to_model=True) as s:
        panel.compare_button.click()
        wait_idle(qtbot, plugin.dock)
        paths = [str(shared_data / p) for p, _ in NAIP_PAIR]
        expected = _processing("eolens:change", {
            "INPUT": paths[0], "INPUT_B": paths[1], "METHOD": "semantic", "THRESHOLD": 0.25,
            "MODEL": s.model_for("features"), "LABEL_MODEL": s.model_for("search"),
            "LABELS": "new road, cleared forest", "TILE_SIZE": 512, "MAX_SIDE": 640})
    assert len(seen) == 1
    assert seen[0] == expected
    assert seen[0].area.max_side == 640 and seen[0].labels == ("new road", "cleared forest")


@pytest.mark.parametrize("tiled", [False, True])
@pytest.mark.parametrize("kind", ["detect", "segment"])
def test_find_params_are_equal_in_the_dock_and_processing(provider, gui, qtbot, sample_dir,
                                                          monkeypatch, kind, tiled):
    from eolens.plugin.panels import find_panel

    seen = _spy(monkeypatch, find_panel, f"{kind}_area")
    _, plugin = gui
    path = sample_dir / "OSBS_029.tif"
    layer = add_raster(path)
    plugin.dock.layer_combo.setLayer(layer)
    plugin.dock.area_combo.setCurrentIndex(1)               # Whole layer
    find = plugin.dock.find
    find.tiled.setChecked(tiled)
    find.prompt.setText("  crowns ")
    button = find.boxes_button if kind == "detect" else find.masks_button
    with plugin_settings(max_side=512, fit_to_model=True) as s:
        button.click()
        wait_idle(qtbot, plugin.dock)
        expected = _processing(f"eolens:{kind}", {
            "INPUT": str(path), "PROMPT": "crowns", "MODEL": s.model_for(kind),
            "TILE_SIZE": 768 if tiled else 0, "OVERLAP": 128, "MAX_SIDE": 0 if tiled else 512})
    assert len(seen) == 1
    assert seen[0] == expected
    assert seen[0].tile == (768 if tiled else 0) and seen[0].prompt == "crowns"


def test_params_validate_names_the_bad_value_before_any_model(sample_dir):
    from eolens.inference.errors import InputError
    from eolens.inference.params import Area, ChangeParams, DetectParams

    with pytest.raises(InputError, match="TILE_SIZE 40: use a multiple of 16"):
        ChangeParams("a.tif", "b.tif", tile=40).validate()
    with pytest.raises(InputError, match=r"TILE_SIZE \(256\) must be larger than the tile overlap, OVERLAP \(300\)"):
        DetectParams("a.tif", "x", "m", tile=256, overlap=300).validate()
    with pytest.raises(InputError, match="EXTENT .* zero width"):
        DetectParams("a.tif", "x", "m", area=Area(bounds=(1.0, 0.0, 1.0, 2.0))).validate()
    with pytest.raises(InputError, match="INPUT_B"):
        ChangeParams(str(sample_dir / "OSBS_029.tif"), "missing.tif").validate()
