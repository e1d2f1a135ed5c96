"""Issue 11, "the analyst's first hour": driven through the dock's own widgets in real QGIS."""
import time

from qgis.core import QgsProject, QgsRectangle, QgsTask, QgsVectorLayer

from tests.gui_helpers import add_raster, plugin_settings, wait_idle

EMPTY_ANSWER = "</s><s></s>"


def _role(role):
    from eolens.plugin.layers import find_role

    return find_role(role)


def _view(iface, layer, rect=None):
    iface.canvas.setDestinationCrs(layer.crs())
    iface.canvas.setExtent(rect or layer.extent())


def _settle(qtbot):
    qtbot.wait(50)     # the dock re-chooses its defaults on the next turn of the event loop


def _florence(tiny_models, monkeypatch, answer):
    from eolens.inference.models.runtime import load_model

    path = str(tiny_models.path("florence2"))
    backend = load_model(path)
    ids = backend.processor.tokenizer(answer, add_special_tokens=False, return_tensors="pt")["input_ids"]
    monkeypatch.setattr(backend.model, "generate", lambda *a, **k: ids)
    return path


# -- 1. the status line never widens the dock -------------------------------------------------
def test_a_long_status_never_widens_the_dock_or_the_window(gui, qtbot):
    iface, plugin = gui
    iface.window.resize(1200, 800)
    iface.window.show()
    qtbot.waitExposed(iface.window)
    dock = plugin.dock
    before_window, before_dock = iface.window.width(), dock.width()
    long = "Model /a/very/long/path/" + "x" * 600 + " is not in the cache and offline mode is on"
    dock.set_status(long)
    qtbot.wait(50)
    assert iface.window.width() == before_window and dock.width() <= before_dock
    assert dock.status.toolTip() == long and dock.status.text() == long
    assert dock.status.fontMetrics().horizontalAdvance(dock.status.displayed()) <= dock.status.width()
    assert dock.cancel_button.geometry().right() <= dock.widget().width()
    assert dock.widget().minimumSizeHint().width() < 500


# -- 2. default layers ------------------------------------------------------------------------
def test_default_layer_is_the_visible_raster_in_view_and_results_are_not_offered(gui, qtbot, sample_dir,
                                                                                shared_data):
    iface, plugin = gui
    far = add_raster(sample_dir / "OSBS_029.tif", "a_first_alphabetically")   # not in the view
    pair = shared_data / "change" / "naip_nd_2009_2020"
    new = add_raster(pair / "m_4709963_se_14_1_20200831.tif", "naip 2020")
    old = add_raster(pair / "m_4709963_se_14_1_20090818.tif", "naip 2009")
    _view(iface, new)
    _settle(qtbot)
    dock = plugin.dock
    assert dock.layer() in (new, old) and dock.layer() is not far
    assert dock.change.layer_a.currentLayer() is old and dock.change.layer_b.currentLayer() is new
    from eolens.plugin import layers

    result = add_raster(pair / "m_4709963_se_14_1_20090818.tif", "my result")
    result.setCustomProperty(layers.ROLE, "change-heat")
    _settle(qtbot)
    offered = [dock.layer_combo.layer(i) for i in range(dock.layer_combo.count())]
    assert result not in offered and far in offered
    dock.layer_combo.setLayer(far)           # a hand pick ("activated") is kept
    dock.layer_combo.activated.emit(dock.layer_combo.currentIndex())
    iface.canvas.setExtent(new.extent())
    _settle(qtbot)
    assert dock.layer() is far


# -- 3. plain "not in view" messages with a Zoom button -----------------------------------------
def test_a_view_that_misses_the_layer_says_what_to_do_and_offers_zoom(gui, qtbot, sample_dir):
    iface, plugin = gui
    layer = add_raster(sample_dir / "OSBS_029.tif")
    e = layer.extent()
    _view(iface, layer, QgsRectangle(e.xMaximum() + 1000, e.yMaximum() + 1000,
                                     e.xMaximum() + 2000, e.yMaximum() + 2000))
    plugin.dock.layer_combo.setLayer(layer)
    plugin.dock.chat.caption_button.click()
    errors = iface.errors()
    assert len(errors) == 1
    assert "does not show 'OSBS_029.tif'" in errors[0] and "Whole layer" in errors[0]
    assert str(sample_dir) not in errors[0]             # no path, no coordinates
    button = iface.bar.currentItem().widget()
    assert button.text() == "Zoom to layer"
    button.click()
    assert iface.canvas.extent().contains(layer.extent())
    assert plugin.dock.task is None


def test_change_says_the_view_misses_the_overlap_not_that_the_rasters_do_not_overlap(gui, qtbot,
                                                                                    shared_data):
    iface, plugin = gui
    pair = shared_data / "change" / "naip_nd_2009_2020"
    a = add_raster(pair / "m_4709963_se_14_1_20090818.tif", "naip 2009")
    b = add_raster(pair / "m_4709963_se_14_1_20200831.tif", "naip 2020")
    e = a.extent()
    _view(iface, a, QgsRectangle(e.xMaximum() + 5000, e.yMinimum(), e.xMaximum() + 6000, e.yMinimum() + 1000))
    plugin.dock.change.layer_a.setLayer(a)
    plugin.dock.change.layer_b.setLayer(b)
    plugin.dock.change.compare_button.click()
    errors = iface.errors()
    assert len(errors) == 1 and "do not overlap" not in errors[0]
    assert "current view does not show where 'naip 2009' and 'naip 2020' overlap" in errors[0]
    iface.bar.currentItem().widget().click()
    assert iface.canvas.extent().intersects(e)


# -- 4. a new capture is a new conversation; the caption is turn 1 --------------------------------
def test_a_new_capture_starts_a_new_conversation_whose_first_turn_is_the_caption(
        gui, qtbot, tiny_models, sample_dir, tmp_path, no_network):
    iface, plugin = gui
    one = add_raster(sample_dir / "OSBS_029.tif", "forest")
    two = add_raster(sample_dir / "rasterio_RGB.byte.tif", "landsat")
    _settle(qtbot)                 # the dock picks its default before the analyst picks "forest"
    chat, dock = plugin.dock.chat, plugin.dock
    dock.area_combo.setCurrentIndex(1)
    assert chat.caption_button.text() == "Caption the whole layer"
    dock.layer_combo.setLayer(one)
    with plugin_settings(model_caption=str(tiny_models.path("florence2")),
                         model_chat=str(tiny_models.path("qwen3_vl")), max_side=96):
        chat.caption_button.click()
        wait_idle(qtbot, dock)
        chat.question.setText("What is in this image?")
        chat.ask_button.click()
        wait_idle(qtbot, dock)
        assert iface.errors() == []
        first = chat.conversation
        assert [q for q, _ in chat.turns][1] == "What is in this image?"
        assert chat.turns[0][0].startswith("Caption") and len(first.history) == 2
        dock.layer_combo.setLayer(two)              # another layer: a new conversation
        chat.question.setText("And here?")
        chat.ask_button.click()
        wait_idle(qtbot, dock)
    assert iface.errors() == []
    assert chat.conversation is not first and len(chat.turns) == 1
    assert "New conversation about landsat" in chat.view.toPlainText()
    from eolens.plugin.layers import find_roles

    rows = sorted((f["conversation"], f["turn"], f["layer"], f["question"])
                  for log in find_roles("chat") for f in log.getFeatures())
    assert [r[:3] for r in rows] == [(rows[0][0], 1, "forest"), (rows[0][0], 2, "forest"),
                                     (rows[0][0] + 1, 1, "landsat")]
    assert rows[0][3].startswith("Caption")
    dock.layer_combo.setLayer(one)
    with plugin_settings(model_caption=str(tiny_models.path("florence2")), max_side=96):
        chat.caption_button.click()
        wait_idle(qtbot, dock)
    out = chat.export(str(tmp_path / "talk.md"))
    text = (tmp_path / "talk.md").read_text(encoding="utf-8")
    assert out.endswith("talk.md") and "**Q:** Caption" in text and "And here?" not in text


# -- 5. exports follow the dialog -------------------------------------------------------------
def test_chat_export_takes_its_format_from_the_filter_and_never_reuses_a_chip(
        gui, qtbot, tiny_models, sample_dir, tmp_path, monkeypatch, no_network):
    from eolens.plugin.panels import export_dialog

    iface, plugin = gui
    plugin.dock.layer_combo.setLayer(add_raster(sample_dir / "OSBS_029.tif"))
    plugin.dock.area_combo.setCurrentIndex(1)
    chat = plugin.dock.chat
    with plugin_settings(model_caption=str(tiny_models.path("florence2")), max_side=64):
        chat.caption_button.click()
        wait_idle(qtbot, plugin.dock)
    answers = iter([(str(tmp_path / "notes"), "HTML (*.html)"), (str(tmp_path / "notes"), "Markdown (*.md)"),
                    (str(tmp_path / "notes.txt"), "Markdown (*.md)")])
    monkeypatch.setattr(export_dialog.QFileDialog, "getSaveFileName", lambda *a, **k: next(answers))
    for _ in range(3):
        chat.export_button.click()
    assert (tmp_path / "notes.html").read_text(encoding="utf-8").startswith("<!doctype html>")
    assert (tmp_path / "notes.md").exists() and (tmp_path / "notes.txt.md").exists()
    chips = sorted(p.name for p in tmp_path.glob("*_chip*.png"))
    assert len(chips) == 3 and len(set(chips)) == 3
    assert "notes_chip.png" in (tmp_path / "notes.html").read_text(encoding="utf-8")
    assert "notes_chip-1.png" in (tmp_path / "notes.md").read_text(encoding="utf-8")
    infos = [t for _, t, level in iface.bar.pushed if level == 3]
    assert any(str(tmp_path / "notes.html") in t for t in infos)
    answers = iter([(str(tmp_path / "notes.html"), "HTML (*.html)")])   # exists: a message
    chat.export_button.click()
    assert len(iface.errors()) == 1 and "already exists" in iface.errors()[0]


def test_polygon_export_dialog_layer_choice_and_shapefile_without_extension(gui, qtbot, tmp_path,
                                                                          sample_dir, monkeypatch):
    from shapely.geometry import box

    from eolens.inference.io.georef import GeoFeature
    from eolens.plugin import layers
    from eolens.plugin.panels import find_panel

    iface, plugin = gui
    raster = add_raster(sample_dir / "OSBS_029.tif")
    e = raster.extent()
    wkt = raster.crs().toWkt()
    feats = [GeoFeature(box(e.xMinimum(), e.yMinimum(), e.center().x(), e.center().y()), {"label": "a"})]
    mine = layers.add_result(layers.memory_layer("first", wkt, feats), "boxes")
    other = layers.add_result(layers.memory_layer("second", wkt, feats * 2), "mask-polygons")
    plugin.dock.find.last_vector = mine
    seen = {}

    def fill_and_accept(dialog):
        offered = [dialog.layer_combo.layer(i) for i in range(dialog.layer_combo.count())]
        seen["offered"], seen["default"] = offered, dialog.layer()
        dialog.layer_combo.setLayer(other)
        dialog.format.setCurrentIndex(1)            # ESRI Shapefile
        dialog.file.setFilePath(str(tmp_path / "out"))
        return 1

    monkeypatch.setattr(find_panel.ExportPolygonsDialog, "exec", fill_and_accept)
    plugin.dock.find.export_button.click()
    assert seen["default"] is mine and set(seen["offered"]) == {mine, other}
    again = QgsVectorLayer(str(tmp_path / "out.shp"), "again", "ogr")
    assert again.isValid() and again.featureCount() == 2
    assert not (tmp_path / "out.gpkg").exists() and not (tmp_path / "out").exists()
    assert any(str(tmp_path / "out.shp") in t for _, t, _ in iface.bar.pushed)


# -- 6. empty results -------------------------------------------------------------------------
def test_nothing_found_is_said_and_adds_no_empty_layer(gui, qtbot, tiny_models, sample_dir, monkeypatch):
    iface, plugin = gui
    model = _florence(tiny_models, monkeypatch, EMPTY_ANSWER)
    layer = add_raster(sample_dir / "OSBS_029.tif")
    plugin.dock.layer_combo.setLayer(layer)
    _view(iface, layer)
    find = plugin.dock.find
    find.prompt.setText("clouds")
    before = set(QgsProject.instance().mapLayers())
    with plugin_settings(model_detect=model, model_segment=model, max_side=128):
        for button in (find.boxes_button, find.masks_button):
            button.click()
            wait_idle(qtbot, plugin.dock)
            assert plugin.dock.status.text() == "No objects found for 'clouds' in this view."
    assert iface.errors() == []
    assert set(QgsProject.instance().mapLayers()) == before
    infos = [t for _, t, _ in iface.bar.pushed]
    assert infos.count("No objects found for 'clouds' in this view.") == 2


def test_a_result_outside_the_view_offers_to_zoom(gui, qtbot, shared_data):
    iface, plugin = gui
    pair = shared_data / "change" / "naip_nd_2009_2020"
    a = add_raster(pair / "m_4709963_se_14_1_20090818.tif", "naip 2009")
    b = add_raster(pair / "m_4709963_se_14_1_20200831.tif", "naip 2020")
    e = a.extent()
    _view(iface, a, QgsRectangle(e.xMinimum(), e.yMinimum(), e.xMinimum() + 100, e.yMinimum() + 100))
    plugin.dock.area_combo.setCurrentIndex(1)
    plugin.dock.change.layer_a.setLayer(a)
    plugin.dock.change.layer_b.setLayer(b)
    plugin.dock.change.compare_button.click()
    wait_idle(qtbot, plugin.dock)
    assert iface.errors() == []
    button = iface.bar.currentItem().widget()
    assert button.text() == "Zoom to result"
    button.click()
    assert iface.canvas.extent().contains(_role("change-heat").extent())


# -- 11. phases and cancel ----------------------------------------------------------------------
def test_model_loading_is_a_named_phase_and_cancel_is_not_a_failure(gui, qtbot, sample_dir, monkeypatch):
    from eolens.inference import actions

    iface, plugin = gui
    shown = []

    def slow_caption(image, model, *, detail, opts, progress, cancel):
        actions.phase(opts, "Loading model…")
        shown.append(True)
        while True:
            time.sleep(0.05)
            cancel.check()

    monkeypatch.setattr(actions, "caption", slow_caption)
    layer = add_raster(sample_dir / "OSBS_029.tif", "forest")
    plugin.dock.layer_combo.setLayer(layer)
    plugin.dock.area_combo.setCurrentIndex(1)
    plugin.dock.chat.caption_button.click()
    task = plugin.dock.task
    statuses_seen = []
    task.statusChanged.connect(statuses_seen.append)
    qtbot.waitUntil(lambda: "Loading model" in plugin.dock.status.text(), timeout=30_000)
    assert plugin.dock.status.text() == "Captioning forest — Loading model…"
    plugin.dock.cancel_button.click()
    assert task.description() == "Captioning forest (cancelled)"     # what QGIS's task bar shows
    wait_idle(qtbot, plugin.dock, timeout=10_000)
    assert plugin.dock.status.text() == "Cancelled."
    assert QgsTask.TaskStatus.Terminated not in statuses_seen
    assert iface.errors() == [] and _role("captions") is None


# -- 9. map tools -----------------------------------------------------------------------------
def test_segment_ends_click_mode_and_prompts_are_counted_and_drawn(gui, qtbot, tiny_models, sample_dir,
                                                                  no_network):
    from qgis.core import QgsPointXY

    iface, plugin = gui
    layer = add_raster(sample_dir / "OSBS_029.tif")
    _view(iface, layer)
    plugin.dock.layer_combo.setLayer(layer)
    plugin.dock.area_combo.setCurrentIndex(1)
    find = plugin.dock.find
    find.points_button.setChecked(True)
    assert iface.canvas.mapTool() is find._tool
    c = layer.extent().center()
    find.add_point(QgsPointXY(c.x(), c.y()), include=True)
    find.add_point(QgsPointXY(c.x() + 5, c.y() + 5), include=False)
    find.add_box(QgsRectangle(c.x() - 10, c.y() - 10, c.x() + 10, c.y() + 10))
    assert find.prompt_count.text() == "2 points (1 include, 1 exclude), 1 boxes"
    assert len(find.box_bands) == 1 and find.box_bands[0].isVisible()
    assert len(find.markers) == 2
    with plugin_settings(model_segment_prompt=str(tiny_models.path("sam2")), max_side=128):
        find.segment_button.click()
        wait_idle(qtbot, plugin.dock)
    assert not find.points_button.isChecked() and iface.canvas.mapTool() is None
    find.clear_prompts()
    assert find.box_bands == [] and find.prompt_count.text().startswith("0 points")
    e = layer.extent()
    plugin.dock.set_drawn(QgsRectangle(e.xMinimum(), e.yMinimum(), e.center().x(), e.center().y()))
    assert plugin.dock.drawn_band.isVisible() and plugin.dock.area_combo.currentIndex() == 2
    assert plugin.dock.chat.caption_button.text() == "Caption the drawn area"
    plugin.dock.area_combo.setCurrentIndex(0)
    assert not plugin.dock.drawn_band.isVisible()
    assert plugin.dock.chat.caption_button.text() == "Caption this view"


# -- 12. the SAM encoding follows bands, size and layer ---------------------------------------------
def test_changing_only_the_bands_encodes_the_image_again(gui, qtbot, tiny_models, sample_dir, no_network):
    from qgis.core import QgsPointXY

    iface, plugin = gui
    layer = add_raster(sample_dir / "rasterio_RGB.byte.tif")
    _view(iface, layer)
    plugin.dock.layer_combo.setLayer(layer)
    plugin.dock.area_combo.setCurrentIndex(1)
    find = plugin.dock.find
    c = layer.extent().center()
    sessions = []
    with plugin_settings(model_segment_prompt=str(tiny_models.path("sam2")), max_side=128):
        for bands in ("", "", "3,2,1"):
            plugin.dock.bands_edit.setText(bands)
            find.add_point(QgsPointXY(c.x(), c.y()), include=True)
            find.segment_button.click()
            wait_idle(qtbot, plugin.dock)
            sessions.append(find.session)
    assert iface.errors() == []
    assert sessions[1] is sessions[0] and sessions[2] is not sessions[1]


def test_change_panel_escapes_model_text(gui, qtbot):
    iface, plugin = gui
    from eolens.inference.actions import ActionResult

    panel = plugin.dock.change
    panel._compared("a", "b", ActionResult(text="<b>bold</b> & <script>x</script>"), None)
    assert "<script>x</script>" in panel.view.toPlainText()
    assert panel.labels.cursorPosition() == 0


# -- 10. search readability -------------------------------------------------------------------
def test_search_scores_are_0_to_100_with_a_location_and_the_tile_is_selected(gui, qtbot, tiny_models,
                                                                            sample_dir, no_network):
    iface, plugin = gui
    layer = add_raster(sample_dir / "rasterio_RGB.byte.tif")
    _view(iface, layer)
    plugin.dock.layer_combo.setLayer(layer)
    plugin.dock.area_combo.setCurrentIndex(1)
    panel = plugin.dock.search
    panel.query.setText("a river")
    panel.top_k.setValue(500)
    panel.tile.setValue(256)
    with plugin_settings(model_search=str(tiny_models.path("openclip"))):
        panel.search_button.click()
        wait_idle(qtbot, plugin.dock)
    assert iface.errors() == []
    top = _role("search-top")
    n = top.featureCount()
    assert 1 < n < 500 and panel.ranked.count() == n
    assert panel.note.text().startswith(f"Only {n} of the 500 tiles asked for qualified")
    first = panel.ranked.item(0).text()
    assert first.startswith("#1  score 100  at ") and " E, " in first
    rel = sorted(f["relative"] for f in top.getFeatures())
    assert rel[-1] == 100 and 0 <= rel[0] < 100
    panel.zoom_to(panel.ranked.item(1))
    assert [f["rank"] for f in top.selectedFeatures()] == [2]
    heat = _role("search-heat")
    assert heat.renderer().opacity() <= 0.6 and not panel.legend.isHidden()


# -- 8. Processing defaults follow the settings -----------------------------------------------------
def test_processing_defaults_follow_the_plugin_settings(qtbot, monkeypatch):
    from eolens.plugin.processing.algorithms import ALGORITHMS

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    caption = next(a for a in ALGORITHMS if a().name() == "caption")
    with plugin_settings(model_caption="my-caption-model", device="cpu", offline=True):
        alg = caption().create()
        assert alg.parameterDefinition("MODEL").defaultValue() == "my-caption-model"
        assert alg.parameterDefinition("DEVICE").defaultValue() == "cpu"
        assert alg.parameterDefinition("OFFLINE").defaultValue() is True
    with plugin_settings(offline=False):
        assert caption().create().parameterDefinition("OFFLINE").defaultValue() is False
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        assert caption().create().parameterDefinition("OFFLINE").defaultValue() is True
        from eolens.plugin.messages import describe
        from eolens.inference.models.hub import not_cached_error

        assert "HF_HUB_OFFLINE environment variable" in describe(not_cached_error("x"))


# -- 7. results live in a GeoPackage beside the project ------------------------------------------
def test_results_survive_a_project_save_and_reload_grouped_with_short_names(gui, qtbot, tiny_models,
                                                                            sample_dir, monkeypatch,
                                                                            tmp_path):
    from eolens.plugin import layers

    iface, plugin = gui
    model = _florence(tiny_models, monkeypatch, "</s><s>tree<loc_100><loc_200><loc_500><loc_600></s>")
    layer = add_raster(sample_dir / "OSBS_029.tif", "forest")
    plugin.dock.layer_combo.setLayer(layer)
    plugin.dock.area_combo.setCurrentIndex(1)
    prompt = "tall trees beside the little road in the north"
    plugin.dock.find.prompt.setText(prompt)
    with plugin_settings(model_detect=model, max_side=128):
        plugin.dock.find.boxes_button.click()           # before the project is saved
        wait_idle(qtbot, plugin.dock)
    boxes = _role("boxes")
    assert boxes.providerType() == "ogr" and layers.STORE_SUFFIX in boxes.source()
    assert len(boxes.name()) <= 36 and prompt in layers.abstract(boxes) and model in layers.abstract(boxes)
    group = QgsProject.instance().layerTreeRoot().findLayer(boxes.id()).parent()
    assert group.name() == "Find · forest" and group.parent().name() == "EO Lens"
    project_file = tmp_path / "study.qgz"
    QgsProject.instance().setFileName(str(project_file))    # what Save As does before writing
    assert QgsProject.instance().write()
    store = tmp_path / ("study" + layers.STORE_SUFFIX)
    assert store.exists() and boxes.source().startswith(str(store))
    QgsProject.instance().clear()
    assert QgsProject.instance().read(str(project_file))
    again = _role("boxes")
    assert again is not None and again.isValid() and again.featureCount() == 1
    assert again.source().startswith(str(store))


def test_a_project_opened_before_the_panel_starts_on_its_active_raster(qtbot, shared_data):
    """QGIS opens a project, the analyst selects a layer, then opens EO Lens: Layer is that
    layer, not the combo's first (alphabetical) row."""
    import eolens
    from tests.gui_helpers import clear_project
    from tests.qgis_iface import FakeIface

    pair = shared_data / "change" / "naip_nd_2009_2020"
    old = add_raster(pair / "m_4709963_se_14_1_20090818.tif", "naip 2009")
    new = add_raster(pair / "m_4709963_se_14_1_20200831.tif", "naip 2020")
    iface = FakeIface()
    iface.activeLayer = lambda: new
    iface.canvas.setDestinationCrs(old.crs())
    iface.canvas.setExtent(old.extent())
    plugin = eolens.classFactory(iface)
    try:
        plugin.initGui()
        plugin.toggle_dock(True)
        _settle(qtbot)
        assert plugin.dock.layer() is new
        assert plugin.dock.change.layer_a.currentLayer() is old     # A/B: older first
    finally:
        plugin.unload()
        clear_project()
