"""Test session setup: offline, offscreen, a real QgsApplication, the plugin importable as ``eolens``.

The QgsApplication is started here, before pytest-qt's ``qapp`` fixture can create a bare
QApplication (docs/qgis-notes.md).
"""
from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_NUM_THREADS", "2")

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PKG_ROOT = REPO / "build" / "pkgroot"


def _link_package() -> None:
    """Inside QGIS the plugin is the package ``eolens``; mirror that for tests."""
    PKG_ROOT.mkdir(parents=True, exist_ok=True)
    link = PKG_ROOT / "eolens"
    if link.is_symlink() and link.resolve() != REPO:
        link.unlink()
    if not link.exists():
        link.symlink_to(REPO, target_is_directory=True)
    for p in (str(PKG_ROOT), str(REPO)):
        if p not in sys.path:
            sys.path.insert(0, p)


_link_package()

from qgis.testing import start_app  # noqa: E402

QGIS_APP = start_app()


_PROVIDERS: list = []  # a strong Python reference: QGIS must never be left with a bare C++ provider


@pytest.fixture(scope="session")
def provider():
    """The ``eolens`` Processing provider, registered once for the whole session."""
    from qgis.core import QgsApplication

    from eolens.plugin.processing.provider import EOLensProvider

    plugins = os.path.join(QgsApplication.pkgDataPath(), "python", "plugins")
    if plugins not in sys.path:
        sys.path.append(plugins)
    from processing.core.Processing import Processing

    Processing.initialize()
    registry = QgsApplication.processingRegistry()
    if registry.providerById("eolens") is None:
        _PROVIDERS.append(EOLensProvider())
        assert registry.addProvider(_PROVIDERS[-1])
    return registry.providerById("eolens")


@pytest.fixture
def gui():
    """The plugin loaded into a real-widget iface with its dock open; unloaded and the project cleared after."""
    from tests.gui_helpers import clear_project, load_plugin

    iface, plugin = load_plugin()
    yield iface, plugin
    plugin.unload()
    clear_project()


@pytest.fixture(scope="session")
def qgis_process(tmp_path_factory):
    """The real headless ``qgis_process`` (through tools/qgis_process.sh) with a private profile."""
    import subprocess

    if not os.access("/usr/bin/qgis_process.bin", os.X_OK):
        pytest.fail("qgis_process.bin is missing: apt-get install qgis (make setup)")
    env = dict(os.environ, EOLENS_QGIS_PROFILE=str(tmp_path_factory.mktemp("qgis-profile")),
               QT_QPA_PLATFORM="offscreen", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")

    def run(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
        return subprocess.run([str(REPO / "tools" / "qgis_process.sh"), *args], check=False,
                              capture_output=True, text=True, env=env, timeout=timeout, cwd=str(REPO))

    return run


def shared_data_dir() -> Path:
    env = os.environ.get("EOLENS_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not path.is_dir():
        pytest.fail(f"Sample data not found at {path}; set EOLENS_SHARED_DATA.")
    return path


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """Class-A sample rasters that ship in the plugin."""
    return REPO / "resources" / "sample"


@pytest.fixture(scope="session")
def levir_cc_pair(shared_data):
    """The real LEVIR-CC before/after pair as two RGB arrays (academic data: tests only)."""
    import numpy as np
    from PIL import Image

    folder = shared_data / "change" / "levir_cc_train_000016"
    return [np.asarray(Image.open(folder / d / "train_000016.png").convert("RGB")) for d in "AB"]


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network socket fails the test."""

    def guard(*args, **kwargs):
        raise AssertionError("network access attempted during an offline test")

    monkeypatch.setattr(socket.socket, "connect", guard)
    monkeypatch.setattr(socket, "create_connection", guard)
    yield


class TinyModels:
    """Builds each tiny model family once per session, on first use."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._built: dict[str, Path] = {}

    def path(self, family: str) -> Path:
        if family not in self._built:
            from tools.tiny_models import build

            self._built[family] = build(family, self.root)
        return self._built[family]


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> TinyModels:
    return TinyModels(tmp_path_factory.mktemp("tiny-models"))


_EXIT = {"status": 0}


def pytest_sessionfinish(session, exitstatus):
    _EXIT["status"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """Leave before QGIS's C++ teardown: after a full run (GUI tests, tasks, Processing dialogs) it
    segfaults in static destructors with no Python frame, turning a green run into exit 139. Every
    result and the summary are written by now; the status is pytest's own."""
    if os.environ.get("EOLENS_TEST_NORMAL_EXIT"):
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_EXIT["status"])
