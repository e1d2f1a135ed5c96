"""Multi-turn chat, change Q&A and the zero-shot map, driven through the dock with tiny models."""
import pytest

from tests.gui_helpers import add_raster, plugin_settings, wait_idle


def _role(role):
    from eolens.plugin.layers import find_role

    return find_role(role)


def _count_vision_calls(model_path):
    from eolens.inference.models.runtime import load_model

    backend = load_model(model_path, device="cpu")   # the dock gets this cached backend
    calls = []
    handle = backend.model.model.visual.register_forward_hook(lambda *a: calls.append(1))
    return calls, handle


def test_three_turn_chat_encodes_once_logs_each_turn_and_exports(gui, qtbot, tiny_models, sample_dir,
                                                                 tmp_path, no_network):
    iface, plugin = gui
    qwen = str(tiny_models.path("qwen3_vl"))
    layer = add_raster(sample_dir / "OSBS_029.tif")
    plugin.dock.layer_combo.setLayer(layer)
    plugin.dock.area_combo.setCurrentIndex(1)
    calls, handle = _count_vision_calls(qwen)
    chat = plugin.dock.chat
    try:
        with plugin_settings(model_chat=qwen, max_side=96):
            for question in ("What is in this image?", "How many trees?", "Where is the road?"):
                chat.question.setText(question)
                chat.ask_button.click()
                wait_idle(qtbot, plugin.dock)
    finally:
        handle.remove()
    assert iface.errors() == []
    assert len(calls) == 1                                  # the image was encoded once
    assert len(chat.conversation.history) == 3 and len(chat.turns) == 3
    log = _role("chat")
    assert log.featureCount() == 3 and log.crs() == layer.crs()
    turns = sorted(f["turn"] for f in log.getFeatures())
    assert turns == [1, 2, 3]
    footprint = chat.image.footprint()
    for f in log.getFeatures():
        assert f.geometry().boundingBox().toString(2) == layer.extent().toString(2) or \
            abs(f.geometry().area() - footprint.area) < 1e-6 * footprint.area
    out = chat.export(str(tmp_path / "chat.md"))
    text = (tmp_path / "chat.md").read_text(encoding="utf-8")
    assert out.endswith("chat.md") and "How many trees?" in text and "chat_chip.png" in text
    assert (tmp_path / "chat_chip.png").stat().st_size > 0
    chat.new_button.click()
    assert chat.conversation is None and chat.turns == []


def test_change_then_ask_about_the_change(gui, qtbot, tiny_models, sample_dir, no_network):
    iface, plugin = gui
    qwen = str(tiny_models.path("qwen3_vl"))
    a = add_raster(sample_dir / "pucallpa_1985.tif")
    b = add_raster(sample_dir / "pucallpa_2020.tif")
    panel = plugin.dock.change
    plugin.dock.area_combo.setCurrentIndex(1)
    panel.layer_a.setLayer(a)
    panel.layer_b.setLayer(b)
    with plugin_settings(model_change_caption=qwen, max_side=96):
        panel.compare_button.click()
        wait_idle(qtbot, plugin.dock)
        panel.question.setText("What changed along the river?")
        panel.ask_button.click()
        wait_idle(qtbot, plugin.dock)
    assert iface.errors() == []
    assert panel.conversation is not None and panel.conversation.encoded is not None
    assert "What changed along the river?" in panel.view.toPlainText()
    assert _role("change").crs() == a.crs()


def test_zero_shot_land_cover_map(gui, qtbot, tiny_models, sample_dir, no_network):
    iface, plugin = gui
    layer = add_raster(sample_dir / "rasterio_RGB.byte.tif")
    plugin.dock.layer_combo.setLayer(layer)
    plugin.dock.area_combo.setCurrentIndex(1)
    panel = plugin.dock.search
    panel.classes.setText("water, forest, urban")
    panel.tile.setValue(256)
    with plugin_settings(model_search=str(tiny_models.path("openclip"))):
        panel.classify_button.click()
        wait_idle(qtbot, plugin.dock)
    assert iface.errors() == []
    cover = _role("landcover")
    assert cover.crs() == layer.crs() and cover.featureCount() > 0
    assert {f["class"] for f in cover.getFeatures()} <= {"water", "forest", "urban"}


GROUNDED = 'The ships are here: ```json\n[{"bbox_2d": [100, 200, 500, 600], "label": "ship"}]\n```'


def test_grounded_answer_draws_boxes_linked_to_its_turn(gui, qtbot, tiny_models, sample_dir,
                                                       monkeypatch, no_network):
    """Qwen3 answers in 0-1000 of the capture; the boxes land on that part of the ground."""
    from eolens.inference.models.runtime import load_model

    iface, plugin = gui
    qwen = str(tiny_models.path("qwen3_vl"))
    backend = load_model(qwen, device="cpu")
    monkeypatch.setattr(backend, "generate", lambda *a, **k: GROUNDED)
    layer = add_raster(sample_dir / "OSBS_029.tif")
    plugin.dock.layer_combo.setLayer(layer)
    plugin.dock.area_combo.setCurrentIndex(1)
    chat = plugin.dock.chat
    with plugin_settings(model_chat=qwen, max_side=96):
        chat.question.setText("Where are the ships?")
        chat.ask_button.click()
        wait_idle(qtbot, plugin.dock)
    assert iface.errors() == []
    boxes = _role("chat-boxes-1")
    assert boxes is not None and boxes.featureCount() == 1 and boxes.crs() == layer.crs()
    feat = next(boxes.getFeatures())
    assert feat["turn"] == 1 and feat["label"] == "ship"
    e = layer.extent()
    got = feat.geometry().boundingBox()
    assert got.xMinimum() == pytest.approx(e.xMinimum() + 0.1 * e.width(), abs=0.01 * e.width())
    assert got.xMaximum() == pytest.approx(e.xMinimum() + 0.5 * e.width(), abs=0.01 * e.width())
    assert got.yMaximum() == pytest.approx(e.yMaximum() - 0.2 * e.height(), abs=0.01 * e.height())
    assert got.yMinimum() == pytest.approx(e.yMaximum() - 0.6 * e.height(), abs=0.01 * e.height())
