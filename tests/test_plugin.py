"""The plugin loads and unloads in real QGIS, leaves nothing behind and never imports torch at start."""
import subprocess
import sys

import pytest
from qgis.core import QgsApplication

from tests.qgis_iface import FakeIface


@pytest.fixture
def iface():
    return FakeIface()


def _load(iface):
    import eolens

    plugin = eolens.classFactory(iface)
    plugin.initGui()
    return plugin


def test_load_and_unload_leave_nothing(iface):
    registry = QgsApplication.processingRegistry()
    plugin = _load(iface)
    assert registry.providerById("eolens") is not None
    assert iface.menus and iface.toolbars
    plugin.toggle_dock(True)
    assert plugin.dock is not None and plugin.dock.isVisible() is not None
    assert len(iface.docks) == 1
    plugin.unload()
    assert registry.providerById("eolens") is None
    assert not iface.menus
    assert not iface.docks
    assert plugin.actions == [] and plugin.dock is None and plugin.toolbar is None


def test_loading_the_plugin_does_not_import_torch():
    code = (
        "import os, sys; os.environ['QT_QPA_PLATFORM']='offscreen';"
        "sys.path[:0]=['build/pkgroot', '.'];"
        "from qgis.testing import start_app; app=start_app();"
        "from tests.qgis_iface import FakeIface; import eolens;"
        "p=eolens.classFactory(FakeIface()); p.initGui(); p.toggle_dock(True);"
        "print('TORCH', 'torch' in sys.modules, 'transformers' in sys.modules); p.unload()"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "TORCH False False" in out.stdout, out.stdout + out.stderr


def test_dependency_report_names_missing_packages(monkeypatch):
    from eolens.plugin import deps

    real = deps.importlib.util.find_spec
    monkeypatch.setattr(deps.importlib.util, "find_spec",
                        lambda name: None if name == "open_clip" else real(name))
    report = deps.check()
    assert report.missing == ["open_clip_torch"]
    cmd = deps.install_command(report)
    assert "-m pip install" in cmd and "open_clip_torch" in cmd and '"numpy<2"' in cmd


def test_missing_dependencies_show_a_dialog(iface, monkeypatch):
    from eolens.plugin import deps

    monkeypatch.setattr(deps, "check", lambda: deps.DependencyReport(["torch"], []))
    plugin = _load(iface)
    try:
        assert plugin.deps_box is not None
        assert "torch" in plugin.deps_box.text() and "pip install" in plugin.deps_box.text()
    finally:
        plugin.unload()


def test_a_shapely_with_another_geos_is_reported(monkeypatch):
    import shapely

    from eolens.plugin import deps

    assert deps.check().problems == []          # this environment shares one GEOS
    monkeypatch.setattr(shapely, "geos_version", (3, 99, 0))
    problems = deps.check().problems
    assert len(problems) == 1 and "GEOS 3.99" in problems[0] and "--no-binary shapely" in problems[0]


def test_triton_is_kept_out_when_mesa_llvm_is_loaded(tmp_path, monkeypatch):
    from eolens.inference import torch_guard

    maps = tmp_path / "maps"
    maps.write_text("7f00 r-xp /usr/lib/x86_64-linux-gnu/libLLVM-15.so.1\n")
    assert torch_guard.mesa_llvm_loaded(str(maps))
    maps.write_text("7f00 r-xp /usr/lib/libc.so.6\n")
    assert not torch_guard.mesa_llvm_loaded(str(maps))
    code = ("import sys; sys.path[:0]=['build/pkgroot']; from eolens.inference import torch_guard as g;"
            "g.mesa_llvm_loaded = lambda: True; print(g.prepare_torch_import());"
            "import torch, torch._dynamo; from torch.utils._triton import has_triton;"
            "print('triton' in sys.modules and sys.modules['triton'] is None, has_triton())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.stdout.split() == ["True", "True", "False"], out.stdout + out.stderr
