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


NAIP_PAIR = (("change/naip_nd_2009_2020/m_4709963_se_14_1_20090818.tif", "naip 2009"),
             ("change/naip_nd_2009_2020/m_4709963_se_14_1_20200831.tif", "naip 2020"))


def naip_in_change_tab(plugin, shared_data, method: str = "spectral", whole: bool = True):
    """The real NAIP 2009/2020 pair as A and B of the dock's Change tab (Area: Whole layer)."""
    a, b = (add_raster(shared_data / path, name) for path, name in NAIP_PAIR)
    panel = plugin.dock.change
    if whole:
        plugin.dock.area_combo.setCurrentIndex(1)
    panel.layer_a.setLayer(a)
    panel.layer_b.setLayer(b)
    panel.method.setCurrentIndex(panel.method.findData(method))
    return a, b


def spy_calls(monkeypatch, module, name: str) -> list[dict]:
    """The keyword arguments of every call of ``module.name``, which still runs."""
    calls, real = [], getattr(module, name)

    def spy(*args, **kw):
        calls.append(kw)
        return real(*args, **kw)

    monkeypatch.setattr(module, name, spy)
    return calls


def forbid(monkeypatch, module, name: str, why: str) -> None:
    """``module.name`` fails the test if anything calls it."""
    def fail(*_args, **_kw):
        raise AssertionError(why)

    monkeypatch.setattr(module, name, fail)
