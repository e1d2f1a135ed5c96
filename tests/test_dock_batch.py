"""The dock opens the batch algorithms (eolens:label, eolens:index, eolens:search_index) in their own
Processing dialogs, prefilled from what is on the map."""
import pytest
from qgis.core import QgsProcessingFeatureSourceDefinition, QgsProject, QgsVectorLayer

from tests.gui_helpers import add_raster, clear_project, load_plugin

NEON = "boxes/neon_osbs_029"


@pytest.fixture
def gui(provider, monkeypatch):
    import qgis.utils

    iface, plugin = load_plugin()
    from processing.tools import general

    for module in (qgis.utils, general):  # Processing's dialogs parent on QGIS's iface
        monkeypatch.setattr(module, "iface", iface)
    dialogs = []
    yield iface, plugin, dialogs
    for dialog in dialogs:
        dialog.close()
        dialog.deleteLater()
    plugin.unload()
    clear_project()


def _values(dialog) -> dict:
    return dialog.mainWidget().createProcessingParameters()


def test_label_features_opens_eolens_label_with_the_layers_and_the_selection(gui, shared_data, qtbot):
    iface, plugin, dialogs = gui
    raster = add_raster(shared_data / NEON / "OSBS_029.tif")
    crowns = QgsVectorLayer(str(shared_data / NEON / "OSBS_029_boxes.geojson"), "crowns", "ogr")
    assert crowns.isValid()
    QgsProject.instance().addMapLayer(crowns)
    crowns.selectByIds(sorted(f.id() for f in crowns.getFeatures())[:3])
    iface.activeLayer = lambda: crowns
    plugin.dock.layer_combo.setLayer(raster)
    dialog = plugin.dock.find.label_features()
    dialogs.append(dialog)
    assert dialog.algorithm().id() == "eolens:label" and dialog.isVisible()
    values = _values(dialog)
    assert values["INPUT"] == raster.id() or getattr(values["INPUT"], "id", lambda: None)() == raster.id()
    features = values["FEATURES"]
    assert isinstance(features, QgsProcessingFeatureSourceDefinition)
    assert features.selectedFeaturesOnly and features.source.staticValue() == crowns.id()


def test_index_rasters_offers_the_visible_input_rasters(gui, shared_data, qtbot):
    iface, plugin, dialogs = gui
    a = add_raster(shared_data / NEON / "OSBS_029.tif")
    hidden = add_raster(shared_data / "geotiff" / "rasterio_RGB.byte.tif")
    QgsProject.instance().layerTreeRoot().findLayer(hidden.id()).setItemVisibilityChecked(False)
    dialog = plugin.dock.search.index_rasters()
    dialogs.append(dialog)
    assert dialog.algorithm().id() == "eolens:index"
    chosen = [str(v) for v in _values(dialog)["INPUTS"]]   # the dialog hands sources on
    assert chosen == [a.source()] and hidden.source() not in chosen
    plugin.dock.search.query.setText("a harbour with ships")
    dialog = plugin.dock.search.search_index()
    dialogs.append(dialog)
    assert dialog.algorithm().id() == "eolens:search_index"
    wrappers = dialog.mainWidget().wrappers  # INDEX is still empty, so read the one widget
    assert wrappers["PROMPT"].parameterValue() == "a harbour with ships"
