"""The dock as an analyst meets it in a narrow panel: the Change tab's fields keep their width,
the largest change regions are captioned from their own chips (issue 14) through the dock's
widgets, and the Chat context row is never cut by the dock edge."""
from __future__ import annotations

from tests.gui_helpers import (NAIP_PAIR, add_raster, naip_in_change_tab, plugin_settings,
                               spy_calls, wait_idle)


def test_change_fields_use_the_panel_width(gui, qtbot, shared_data):
    """The CLIP checkbox has its own row, so A, B and Method are not squeezed to an icon."""
    iface, plugin = gui
    naip_in_change_tab(plugin, shared_data, whole=False)
    iface.window.resize(1200, 800)
    iface.window.show()
    qtbot.waitExposed(iface.window)
    panel = plugin.dock.change
    plugin.dock.tabs.setCurrentWidget(panel)
    qtbot.wait(50)
    for field in (panel.layer_a, panel.layer_b, panel.method, panel.labels):
        assert field.width() >= 0.55 * panel.width(), (field, field.width(), panel.width())
    assert panel.label_box.geometry().bottom() < panel.labels.geometry().top()


def test_region_captions_follow_the_method(gui):
    _, plugin = gui
    panel = plugin.dock.change
    for key, enabled in (("spectral", False), ("semantic", False), ("vlm", True)):
        panel.method.setCurrentIndex(panel.method.findData(key))
        assert panel.region_captions.isEnabled() is enabled


def test_whole_layer_vlm_change_captions_the_largest_regions_in_the_dock(
        gui, qtbot, shared_data, tiny_models, no_network, monkeypatch):
    from eolens.inference import whole_layer
    from eolens.plugin.layers import find_role

    calls = spy_calls(monkeypatch, whole_layer, "change_layer")
    iface, plugin = gui
    naip_in_change_tab(plugin, shared_data, "vlm")
    panel = plugin.dock.change
    panel.region_captions.setValue(2)
    with plugin_settings(model_change_caption=str(tiny_models.path("qwen3_vl"))):
        panel.compare_button.click()
        wait_idle(qtbot, plugin.dock, timeout=300_000)
    assert iface.errors() == [] and len(calls) == 1 and calls[0]["caption_regions"] == 2
    regions = find_role("change")
    ranked = sorted((f["caption_rank"], f["area"]) for f in regions.getFeatures()
                    if f["caption_rank"])
    areas = sorted((f["area"] for f in regions.getFeatures()), reverse=True)
    assert [r for r, _ in ranked] == [1, 2] and [x for _, x in ranked] == areas[:2]
    text = panel.view.toPlainText()
    assert "Region #1:" in text and "Region #2:" in text and "Region #3:" not in text


def test_both_dates_are_shown_for_the_layers_the_dock_picked(gui, qtbot, shared_data):
    _, plugin = gui
    for path, name in NAIP_PAIR:        # the combos pick their rows themselves (no signal)
        add_raster(shared_data / path, name)
    plugin.dock.choose_defaults()
    panel = plugin.dock.change
    assert panel.layer_a.currentLayer().name() == "naip 2009"
    assert (panel.date_a.text(), panel.date_b.text()) == ("2009-08-18", "2020-08-31")


def test_a_cancelled_whole_layer_change_in_the_dock_leaves_no_heat_file(
        gui, qtbot, shared_data, tiny_models, monkeypatch):
    import glob
    import os
    import time

    from eolens.inference.change import semantic_tiled as change_semantic_tiled
    from eolens.plugin import results

    real = change_semantic_tiled._block_heat
    started = []

    def slow(*args, **kw):            # a model that takes a while per block
        started.append(1)
        time.sleep(0.5)
        return real(*args, **kw)

    monkeypatch.setattr(change_semantic_tiled, "_block_heat", slow)
    iface, plugin = gui
    naip_in_change_tab(plugin, shared_data, "semantic")
    panel = plugin.dock.change
    folder = results.output_dir()
    before = set(glob.glob(os.path.join(folder, "change_heat*")))
    with plugin_settings(model_features=str(tiny_models.path("dinov2"))):
        panel.compare_button.click()
        qtbot.waitUntil(lambda: bool(started), timeout=60_000)
        plugin.dock.cancel_button.click()
        wait_idle(qtbot, plugin.dock)
    assert len(started) < 4                                    # it stopped before the last block
    assert set(glob.glob(os.path.join(folder, "change_heat*"))) == before
    assert iface.errors() == []


def test_chat_context_row_fits_the_dock(gui, qtbot):
    """Show prompt is never cut by the dock edge, and the documents field says what it is for."""
    iface, plugin = gui
    iface.window.resize(1200, 800)
    iface.window.show()
    qtbot.waitExposed(iface.window)
    context = plugin.dock.chat.context
    qtbot.wait(50)
    box = context.show_prompt
    assert box.width() >= box.sizeHint().width()
    assert box.mapTo(context, box.rect().topRight()).x() <= context.width()
    assert context.folder.lineEdit().placeholderText() == "documents folder"
