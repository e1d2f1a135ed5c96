"""The settings dialog: model per task, device, offline folder; saved to QgsSettings."""

from tests.gui_helpers import plugin_settings


def test_settings_round_trip_through_the_dialog(qtbot, tmp_path):
    from eolens.inference.models.registry import REGISTRY
    from eolens.plugin import settings
    from eolens.plugin.settings_dialog import SettingsDialog

    with plugin_settings():
        dialog = SettingsDialog()
        qtbot.addWidget(dialog)
        assert dialog.table.rowCount() == len(REGISTRY)
        names = {dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())}
        assert names == set(REGISTRY)
        downloaded = {dialog.table.item(r, 4).text() for r in range(dialog.table.rowCount())}
        assert downloaded == {"no"}                 # nothing is in the cache on a test machine
        dialog.model_combos["caption"].setCurrentText(str(tmp_path / "florence"))
        dialog.device.setCurrentText("cpu")
        dialog.offline.setChecked(True)
        dialog.models_dir.setFilePath(str(tmp_path))
        dialog.accept()
        s = settings.load()
        assert s.model_caption == str(tmp_path / "florence") and s.device == "cpu" and s.offline
        assert s.models_dir == str(tmp_path)


def test_a_bare_name_resolves_inside_the_local_model_folder(tmp_path):
    from eolens.plugin import settings

    (tmp_path / "florence-2-base").mkdir()
    with plugin_settings(models_dir=str(tmp_path), model_caption="florence-2-base",
                         model_search="georsclip-b32"):
        s = settings.load()
        assert s.model_for("caption") == str(tmp_path / "florence-2-base")
        assert s.model_for("search") == "georsclip-b32"     # not there: the registry name


def test_free_gpu_memory_unloads_cached_models(qtbot, tiny_models):
    from eolens.inference.models import runtime
    from eolens.plugin.settings_dialog import SettingsDialog

    runtime.load_model(str(tiny_models.path("florence2")), device="cpu")
    assert runtime.loaded_models()
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    dialog.free_button.click()
    assert runtime.loaded_models() == []


def test_the_model_table_shows_its_last_column_and_the_offline_source(qtbot, monkeypatch):
    from eolens.plugin import settings
    from eolens.plugin.settings_dialog import SettingsDialog

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with plugin_settings(offline=False):
        dialog = SettingsDialog()
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        table, last = dialog.table, dialog.table.columnCount() - 1
        header = table.horizontalHeader()
        assert header.sectionViewportPosition(last) + header.sectionSize(last) <= table.viewport().width()
        assert "HF_HUB_OFFLINE" in dialog.offline.toolTip()
        assert settings.offline_state(settings.load()) == (True, "the HF_HUB_OFFLINE environment variable")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    with plugin_settings(offline=True):
        assert settings.offline_state(settings.load())[1].startswith("the EO Lens settings")
