"""An analyst's QGIS with none of torch/transformers/open_clip: fails with the installer command,
the printed command installs into a private folder, then qgis_process captions with a tiny model,
with one GEOS in the process."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import REPO

from eolens.plugin import installer

QGIS_PROCESS = "/usr/bin/qgis_process.bin"
PKGROOT = REPO / "build" / "pkgroot"
PROBE = '''
import json, sys
from qgis.core import Qgis, QgsApplication, QgsProcessingAlgorithm, QgsProcessingOutputString, QgsProcessingProvider
class Probe(QgsProcessingAlgorithm):
    def name(self): return "probe"
    def displayName(self): return "probe"
    def createInstance(self): return Probe()
    def initAlgorithm(self, config=None): self.addOutput(QgsProcessingOutputString("OUT", "out"))
    def processAlgorithm(self, parameters, context, feedback):
        import torch, transformers, open_clip, shapely, numpy
        from shapely.geometry import Polygon
        from eolens.plugin.deps import shapely_geos_version
        g = Polygon([(0, 0), (1, 0), (1, 1)]).buffer(0.5)
        libs = sorted({line.split()[-1] for line in open("/proc/self/maps") if "libgeos" in line})
        report = {"libs": libs, "wkt": g.wkt[:12], "shapely_geos": list(shapely_geos_version()[:2]),
                  "qgis_geos": [Qgis.geosVersionMajor(), Qgis.geosVersionMinor()],
                  "numpy": numpy.__file__, "torch": torch.__file__}
        feedback.pushInfo("PROBE " + json.dumps(report))
        return {"OUT": "ok"}
class Provider(QgsProcessingProvider):
    def id(self): return "probe"
    def name(self): return "probe"
    def loadAlgorithms(self): self.addAlgorithm(Probe())
class Plugin:
    def __init__(self, iface): self.p = None
    def initProcessing(self):
        import eolens.plugin.packages_path as pp
        pp.activate()
        self.p = Provider(); QgsApplication.processingRegistry().addProvider(self.p)
    def initGui(self): self.initProcessing()
    def unload(self): pass
def classFactory(iface): return Plugin(iface)
'''


@pytest.fixture(scope="module")
def analyst_qgis(tmp_path_factory):
    """qgis_process with the plugin from QGIS_PLUGINPATH, QGIS's own Python, no venv at all."""
    if not os.access(QGIS_PROCESS, os.X_OK):
        pytest.fail("qgis_process.bin is missing: apt-get install qgis (make setup)")
    root = tmp_path_factory.mktemp("analyst")
    plugins = root / "plugins"
    plugins.mkdir()
    (plugins / "eolens").symlink_to(REPO, target_is_directory=True)
    (plugins / "probe").mkdir()
    (plugins / "probe" / "__init__.py").write_text(PROBE)
    (plugins / "probe" / "metadata.txt").write_text(
        "[general]\nname=probe\nqgisMinimumVersion=3.0\ndescription=p\nversion=1\nauthor=t\n"
        "email=t@example.org\nhasProcessingProvider=yes\n")
    env = installer._clean_env()
    env.pop("QGIS_CUSTOM_CONFIG_PATH", None)  # the test harness's; an analyst's QGIS uses $HOME
    env.update(HOME=str(root / "home"), XDG_RUNTIME_DIR=str(root / "rt"), QT_QPA_PLATFORM="offscreen",
               QGIS_PLUGINPATH=str(plugins), EOLENS_PACKAGES=str(root / "eolens-packages"),
               HF_HUB_OFFLINE="1")
    for d in ("home", "rt"):
        (root / d).mkdir(mode=0o700)

    def run(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
        return subprocess.run([QGIS_PROCESS, *args], capture_output=True, text=True, env=env,
                              timeout=timeout, cwd=str(root))

    for name in ("eolens", "probe"):
        assert run("plugins", "enable", name).returncode == 0
    return run, env, root


def _caption(run, image: str, out: Path, model: Path) -> subprocess.CompletedProcess:
    return run("run", "eolens:caption", "--", f"INPUT={image}", f"MODEL={model}",
               f"OUTPUT={out}.gpkg", f"OUTPUT_TEXT={out}.txt")


@pytest.mark.slow
def test_installer_makes_a_bare_qgis_caption_with_one_geos(analyst_qgis, tiny_models, shared_data):
    run, env, root = analyst_qgis
    model = tiny_models.path("florence2")
    image = str(shared_data / "boxes" / "neon_osbs_029" / "OSBS_029.tif")

    before = _caption(run, image, root / "before", model)
    assert before.returncode != 0
    said = before.stdout + before.stderr
    assert "torch" in said and "transformers" in said and "open_clip_torch" in said
    assert "-m eolens.plugin.installer" in said and str(root / "eolens-packages") in said
    assert not (root / "before.gpkg").exists()

    # the command EO Lens printed, run as printed
    command = said[said.index("PYTHONPATH="):].splitlines()[0].strip()
    install = subprocess.run(["bash", "-c", command + " --torch cuda"], capture_output=True, text=True,
                             env=env, timeout=1800)
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    assert "externally-managed-environment" not in install.stdout + install.stderr
    assert (root / "eolens-packages" / "torch").is_dir()
    assert not (root / "eolens-packages" / "numpy").exists()  # QGIS's numpy stays the only one

    after = _caption(run, image, root / "after", model)
    assert after.returncode == 0, after.stdout[-3000:] + after.stderr[-3000:]
    assert (root / "after.txt").read_text().strip() and (root / "after.gpkg").exists()

    probe = run("run", "probe:probe")
    assert probe.returncode == 0, probe.stdout[-3000:] + probe.stderr[-3000:]
    import json

    report = json.loads(probe.stdout.split("PROBE ", 1)[1].splitlines()[0])
    assert report["shapely_geos"] == report["qgis_geos"]
    assert report["wkt"].startswith("POLYGON")
    assert len([lib for lib in report["libs"] if "libgeos_c" in lib]) == 1, report["libs"]
    assert report["numpy"].startswith("/usr/lib/python3/")
    assert report["torch"].startswith(str(root / "eolens-packages"))
