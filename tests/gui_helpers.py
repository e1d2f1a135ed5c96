"""Shared helpers for tests that drive the real plugin in a real (offscreen) QGIS."""
from __future__ import annotations

import contextlib

from qgis.core import QgsProject, QgsRasterLayer

from tests.qgis_iface import FakeIface


def load_plugin():
    import eolens

    iface = FakeIface()
    plugin = eolens.classFactory(iface)
    plugin.initGui()
    plugin.toggle_dock(True)
    return iface, plugin


def add_raster(path, name=None) -> QgsRasterLayer:
    layer = QgsRasterLayer(str(path), name or str(path).rsplit("/", 1)[-1], "gdal")
    assert layer.isValid(), path
    QgsProject.instance().addMapLayer(layer)
    return layer


@contextlib.contextmanager
def plugin_settings(**changes):
    """Temporarily change EO Lens settings, restoring them afterwards."""
    from eolens.plugin import settings

    before = settings.load()
    settings.update(**changes)
    try:
        yield settings.load()
    finally:
        settings.save(before)


def wait_idle(qtbot, dock, timeout=120_000) -> None:
    qtbot.waitUntil(lambda: dock.task is None, timeout=timeout)


def clear_project() -> None:
    from eolens.plugin import settings

    settings.update(documents_dir="")   # a test's documents folder must not reach the next test
    QgsProject.instance().removeAllMapLayers()
    root = QgsProject.instance().layerTreeRoot()
    for group in list(root.findGroups()):
        root.removeChildNode(group)
