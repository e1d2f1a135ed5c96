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
    already = registry.providerById("eolens")  # the session's provider fixture, when it ran first
    plugin = _load(iface)
    assert registry.providerById("eolens") is not None
    assert iface.menus and iface.toolbars
    plugin.toggle_dock(True)
    assert plugin.dock is not None and plugin.dock.isVisible() is not None
    assert len(iface.docks) == 1
    plugin.unload()
    assert registry.providerById("eolens") is already  # ours removed, someone else's left alone
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
                        lambda name: None if name in ("open_clip", "shapely") else real(name))
    report = deps.check()
    assert report.missing == ["open_clip_torch"] and report.system == ["python3-shapely"]
    text = deps.dependency_message(report)
    assert "open_clip_torch" in text and "sudo apt install python3-shapely" in text
    assert "-m eolens.plugin.installer --target" in text and "--user" not in text


def _no_torch(monkeypatch):
    from eolens.plugin import deps

    real = deps.importlib.util.find_spec
    monkeypatch.setattr(deps.importlib.util, "find_spec",
                        lambda name: None if name in ("torch", "transformers", "open_clip") else real(name))


def test_without_dependencies_every_entry_point_offers_the_installer(iface, monkeypatch, qtbot):
    import sys

    from qgis import processing  # noqa: F401 (registers the native algorithms)
    from qgis.core import QgsProcessingContext

    _no_torch(monkeypatch)
    errors = []
    monkeypatch.setattr(sys, "excepthook", lambda *exc: errors.append(exc))
    plugin = _load(iface)
    try:
        assert iface.bar.currentItem() is not None and "torch" in iface.bar.currentItem().text()
        plugin.toggle_dock(True)                     # the panel: the installer instead of a traceback
        assert plugin.dock is None and plugin.installer is not None and plugin.installer.isVisible()
        assert not plugin.actions[0].isChecked()
        plan = plugin.installer.plan_view.toPlainText()
        assert f"into {plugin.installer.target}" in plan and "--target" in plan
        plugin.installer.close()
        plugin.open_settings()                       # settings: the same dialog, no exception
        assert plugin.installer.isVisible()
        warning = iface.bar.currentItem()
        plugin.installer.installed.emit()            # a successful install drops the warning
        assert iface.bar.currentItem() is not warning
        plugin.installer.close()
        alg = QgsApplication.processingRegistry().algorithmById("eolens:caption")
        ok, msg = alg.checkParameterValues({"INPUT": "x.tif"}, QgsProcessingContext())
        assert not ok and "torch" in msg and "eolens.plugin.installer" in msg
    finally:
        plugin.unload()
    assert errors == []


def test_installer_dialog_installs_nothing_before_the_click(iface, monkeypatch, qtbot, tmp_path):
    from eolens.plugin import deps, installer
    from eolens.plugin.installer_dialog import InstallerDialog

    monkeypatch.setenv("EOLENS_PACKAGES", str(tmp_path / "pk"))
    monkeypatch.setattr(installer, "run", lambda *a, **k: pytest.fail("ran without a click"))
    dialog = InstallerDialog(deps.DependencyReport(["torch"], []), iface.mainWindow())
    qtbot.addWidget(dialog)
    dialog.cpu.setChecked(True)
    assert "torch==2.14.1+cpu" in dialog.plan_view.toPlainText()
    dialog.cuda.setChecked(True)
    assert "  torch==2.14.1\n" in dialog.plan_view.toPlainText()
    assert "MB to download" in dialog.plan_view.toPlainText()
    assert not (tmp_path / "pk").exists()


def test_a_shapely_with_another_geos_is_reported(monkeypatch):
    from eolens.plugin import deps

    assert deps.check().problems == []          # this environment shares one GEOS
    monkeypatch.setattr(deps, "shapely_geos_version", lambda: (3, 99, 0))
    problems = deps.check().problems
    assert len(problems) == 1 and "GEOS 3.99" in problems[0] and "python3-shapely" in problems[0]


def test_triton_is_kept_out_when_mesa_llvm_is_loaded(tmp_path, monkeypatch):
    from eolens.inference.models import torch_guard

    maps = tmp_path / "maps"
    maps.write_text("7f00 r-xp /usr/lib/x86_64-linux-gnu/libLLVM-15.so.1\n")
    assert torch_guard.mesa_llvm_loaded(str(maps))
    maps.write_text("7f00 r-xp /usr/lib/libc.so.6\n")
    assert not torch_guard.mesa_llvm_loaded(str(maps))
    code = ("import sys; sys.path[:0]=['build/pkgroot']; from eolens.inference.models import torch_guard as g;"
            "g.mesa_llvm_loaded = lambda: True; print(g.prepare_torch_import());"
            "import torch, torch._dynamo; from torch.utils._triton import has_triton;"
            "print('triton' in sys.modules and sys.modules['triton'] is None, has_triton())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.stdout.split() == ["True", "True", "False"], out.stdout + out.stderr


def test_starting_the_plugin_finishes_an_install_that_waited_for_a_restart(iface, tmp_path, monkeypatch):
    """A verified download kept because Windows held the old DLLs is swapped in at the next start."""
    from eolens.plugin import folder_swap

    target = tmp_path / "pk"
    (target / "torch").mkdir(parents=True)
    (target / "torch" / "__init__.py").write_text("old")
    staging = folder_swap.staging_dir(target)
    (staging / "torch").mkdir(parents=True)
    (staging / "torch" / "__init__.py").write_text("new")
    folder_swap.mark_verified(staging, {"torch": "cpu"})
    monkeypatch.setenv("EOLENS_PACKAGES", str(target))
    plugin = _load(iface)
    try:
        assert (target / "torch" / "__init__.py").read_text() == "new"
        assert not staging.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["pk"]
    finally:
        plugin.unload()
