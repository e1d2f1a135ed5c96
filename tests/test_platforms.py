"""Windows and macOS, simulated: fake QGIS trees and a patched ``sys.platform`` (no such machine here).

What each system needs is in plugin/platform_env.py; the layouts are those of the official builds
(macOS: qgis/QGIS platform/macos/python.in, qgis/QGIS#64195).
"""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
from conftest import PKG_ROOT, REPO

from eolens.plugin import deps, installer, packages_path, platform_env

SYSTEM_PY = "/usr/bin/python3"
VERSION = f"python{sys.version_info.major}.{sys.version_info.minor}"
WIN1114 = (r'[WinError 1114] A dynamic link library (DLL) initialization routine failed. Error loading '
           r'"C:\QGIS\profiles\default\python\eolens-packages\py3.12\torch\lib\c10.dll" or one of its '
           r'dependencies.')


def _bundle(tmp_path: Path, wrapper: bool = True) -> Path:
    """A QGIS-LTR.app like the official macOS build: Contents/MacOS/{QGIS-LTR,python,python3.x}."""
    contents = tmp_path / "QGIS-LTR.app" / "Contents"
    macos = contents / "MacOS"
    (contents / "Frameworks" / "lib").mkdir(parents=True)
    macos.mkdir()
    (macos / "QGIS-LTR").write_text("")
    (macos / VERSION).write_text("")
    if wrapper:
        # Like the real wrapper it needs PYTHONHOME (it sets it; this one checks it survives).
        (macos / "python").write_text(
            '#!/bin/bash\n[ -n "$PYTHONHOME" ] || { echo "No module named \'encodings\'" >&2; exit 1; }\n'
            f'unset PYTHONHOME\nexec {SYSTEM_PY} "$@"\n')
    for exe in macos.iterdir():
        exe.chmod(0o755)
    return contents


def _as_macos(monkeypatch, contents: Path) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(sys, "executable", str(contents / "MacOS" / "QGIS-LTR"))
    monkeypatch.setattr(sys, "prefix", str(contents / "Frameworks"))
    monkeypatch.setattr(sys, "exec_prefix", str(contents / "Frameworks"))


def test_macos_bundle_runs_pip_with_its_python_wrapper_not_qgis(tmp_path, monkeypatch):
    contents = _bundle(tmp_path)
    _as_macos(monkeypatch, contents)
    python = packages_path.python_executable()
    assert python == str(contents / "MacOS" / "python")
    plan = installer.make_plan(tmp_path / "pk", "cpu", python, requirements=["jinja2"], platform="darwin")
    assert plan.pip_args[:3] == [python, "-m", "pip"]


def test_macos_keeps_pythonhome_which_the_bundle_python_needs(tmp_path, monkeypatch):
    contents = _bundle(tmp_path)
    wrapper = str(contents / "MacOS" / "python")
    monkeypatch.setenv("PYTHONHOME", str(contents / "Frameworks"))
    monkeypatch.setenv("PYTHONPATH", "/somewhere/else")
    assert installer.numpy_pin(wrapper) is None  # Linux rule: PYTHONHOME stripped, the wrapper fails
    monkeypatch.setattr(sys, "platform", "darwin")
    env = installer._clean_env(python=wrapper)
    assert env["PYTHONHOME"] == str(contents / "Frameworks") and "PYTHONPATH" not in env
    assert installer.numpy_pin(wrapper).startswith("numpy==")  # the wrapper ran Python


def test_macos_bare_bundle_interpreter_gets_the_bundle_home(tmp_path, monkeypatch):
    contents = _bundle(tmp_path, wrapper=False)
    monkeypatch.delenv("PYTHONHOME", raising=False)
    bare = str(contents / "MacOS" / VERSION)
    env = platform_env.child_environment(python=bare, platform="darwin")
    assert env["PYTHONHOME"] == str(contents / "Frameworks")
    assert "PYTHONHOME" not in platform_env.child_environment(
        {"PYTHONHOME": "C:/QGIS/apps/Python312"}, bare, platform="win32")


def test_macos_without_any_interpreter_says_so_before_pip_runs(tmp_path, monkeypatch):
    contents = _bundle(tmp_path, wrapper=False)
    (contents / "MacOS" / VERSION).unlink()
    _as_macos(monkeypatch, contents)
    assert packages_path.python_executable() == ""
    plan = installer.make_plan(tmp_path / "pk", "cpu", requirements=["jinja2"], platform="darwin")
    outcome = installer.run(plan, log=lambda s: None)
    assert not outcome.ok and "could not find QGIS's Python interpreter" in outcome.message
    assert not (tmp_path / "pk").exists()
    assert "could not find QGIS's Python" in platform_env.interpreter_problem(str(contents / "MacOS" / "QGIS-LTR"))


class _Refused(OSError):
    pass


def _record_children(monkeypatch) -> list[dict]:
    """Every subprocess the installer starts, with its keyword arguments; none really starts."""
    calls: list[dict] = []

    def fake(args, **kwargs):
        calls.append(dict(kwargs, args=list(args)))
        raise _Refused(2, "not started in this test")

    class StartupInfo:  # subprocess.STARTUPINFO exists only on Windows builds of Python
        dwFlags = 0
        wShowWindow = 1

    monkeypatch.setattr(subprocess, "run", fake)
    monkeypatch.setattr(subprocess, "Popen", fake)
    monkeypatch.setattr(subprocess, "STARTUPINFO", StartupInfo, raising=False)
    monkeypatch.setattr(installer.shutil, "which", lambda name: "C:/Windows/System32/" + name)
    monkeypatch.setattr(sys, "platform", "win32")
    return calls


def test_windows_every_child_is_started_without_a_console_window(tmp_path, monkeypatch):
    calls = _record_children(monkeypatch)
    plan = installer.make_plan(tmp_path / "pk", "cpu", SYSTEM_PY, requirements=["jinja2"], platform="win32")
    assert installer.detected_gpu() is None and installer.numpy_pin(SYSTEM_PY) is None
    with pytest.raises(installer.InstallError, match="Could not start pip"):
        installer._run_pip(plan, lambda s: None, lambda p: None, lambda: False)
    with pytest.raises(_Refused):
        installer.verify(SYSTEM_PY, tmp_path)
    started = [c["args"][0] if "nvidia" in c["args"][0] else c["args"][1:3] for c in calls]
    assert len(calls) == 5, started  # nvidia-smi, numpy_pin, pip, verify's numpy_pin, verify
    for call in calls:
        assert call["creationflags"] & platform_env.CREATE_NO_WINDOW
        assert call["startupinfo"].wShowWindow == platform_env.SW_HIDE
        assert call["startupinfo"].dwFlags & platform_env.STARTF_USESHOWWINDOW
    pip = calls[2]
    assert pip["args"] == plan.pip_args
    assert pip["creationflags"] & platform_env.CREATE_NEW_PROCESS_GROUP  # cancel stops its children
    assert pip["env"]["PYTHONIOENCODING"] == "utf-8"
    assert platform_env.hidden_window_kwargs("linux", new_process_group=True) == {"start_new_session": True}




def _unhidden_calls(path: Path) -> list[int]:
    """Lines of subprocess.run/Popen/call/check_output calls without hidden_window_kwargs."""
    bad = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "subprocess"
                and node.func.attr in ("run", "Popen", "call", "check_call", "check_output")):
            if "hidden_window_kwargs" not in ast.unparse(node):
                bad.append(node.lineno)
    return bad


def test_every_plugin_child_process_uses_the_hidden_window_helper(tmp_path):
    found = {str(p.relative_to(REPO)): _unhidden_calls(p) for p in sorted((REPO / "plugin").rglob("*.py"))}
    assert {f: lines for f, lines in found.items() if lines} == {}
    probe = tmp_path / "probe.py"  # the scan itself can fail
    probe.write_text("import subprocess\nsubprocess.run(['nvidia-smi'])\n")
    assert _unhidden_calls(probe) == [2]


def test_rasterio_and_shapely_wheels_on_windows_and_macos_distribution_on_linux():
    for system in ("win32", "darwin"):
        reqs = installer.read_requirements(platform=system)
        assert "rasterio>=1.4.3,<2" in reqs and "shapely>=2.0.6,<3" in reqs  # marker decided here
        assert "rasterio" not in platform_env.qgis_owned(system) and "affine" not in platform_env.qgis_owned(system)
        assert "numpy" in platform_env.qgis_owned(system)
    linux = {installer._dist_name(r) for r in installer.read_requirements(platform="linux")}
    assert not linux & {"rasterio", "shapely", "affine"}
    assert {"rasterio", "affine", "shapely"} <= set(platform_env.qgis_owned("linux"))


def test_windows_installs_rasterio_only_where_qgis_python_has_none(tmp_path, monkeypatch):
    qgis_site, target = tmp_path / "qgis-site", tmp_path / "pk"
    (target / "rasterio").mkdir(parents=True)
    (target / "rasterio" / "__init__.py").write_text("")  # an earlier EO Lens install: not QGIS's
    stdlib = os.path.dirname(os.__file__)
    monkeypatch.setattr(sys, "path", [stdlib, str(qgis_site), str(target)])

    def plan_names() -> set[str]:
        plan = installer.make_plan(target, "cpu", SYSTEM_PY, platform="win32")
        return {installer._dist_name(r) for r in plan.requirements}

    assert {"rasterio", "shapely"} <= plan_names()
    (qgis_site / "rasterio").mkdir(parents=True)  # OSGeo4W's python3-rasterio, say
    (qgis_site / "rasterio" / "__init__.py").write_text("")
    names = plan_names()
    assert "rasterio" not in names and "shapely" in names


def _find_spec_without(monkeypatch, absent: set[str]) -> None:
    real = deps.importlib.util.find_spec
    monkeypatch.setattr(deps.importlib.util, "find_spec",
                        lambda name, *a: None if name in absent else real(name, *a))


def test_missing_rasterio_is_installable_on_windows_and_apt_advice_only_on_linux(monkeypatch, tmp_path):
    monkeypatch.setenv("EOLENS_PACKAGES", str(tmp_path / "pk"))
    _find_spec_without(monkeypatch, {"rasterio", "torch"})
    win = deps.check(platform="win32")
    assert {"rasterio", "torch"} <= set(win.missing) and win.system == []
    monkeypatch.setattr(sys, "platform", "win32")
    assert "apt" not in deps.dependency_message(win)
    monkeypatch.setattr(sys, "platform", "linux")
    linux = deps.check(platform="linux")
    assert "python3-rasterio" in linux.system and "rasterio" not in linux.missing
    assert "sudo apt install python3-rasterio" in deps.dependency_message(linux)


def _fake_rasterio_wheel(folder: Path) -> Path:
    """The parts of a rasterio wheel that matter here: its data folders, and two modules that read
    GDAL_DATA/PROJ_DATA from os.environ at import and at every GDAL environment start (as
    rasterio/env.py and rasterio/_env.pyx do)."""
    pkg = folder / "rasterio"
    (pkg / "proj_data").mkdir(parents=True)
    (pkg / "proj_data" / "proj.db").write_bytes(b"SQLite format 3\x00")
    (pkg / "gdal_data").mkdir()
    (pkg / "__init__.py").write_text("from rasterio import env, _env\n")
    (pkg / "_env.py").write_text(
        "import os\nCONFIG = {}\nPROJ = []\n"
        "def set_gdal_config(key, value):\n    CONFIG[key] = value\n"
        "def set_proj_data_search_path(path):\n    PROJ.append(path)\n"
        "def start():\n    return os.environ.get('GDAL_DATA'), os.environ.get('PROJ_DATA')\n")
    (pkg / "env.py").write_text(
        "import os\nfrom rasterio._env import set_gdal_config, set_proj_data_search_path\n"
        "AT_IMPORT = os.environ.get('PROJ_DATA')\n")
    return pkg


PROBE = """
import json, os, sys
import importlib.abc, shutil, tempfile  # Python 3.13's importlib.abc imports shutil, which on a
sys.platform = sys.argv[2]  # faked win32 would then import _winapi: load them on the real platform
from eolens.plugin import packages_path
packages_path.activate()
import rasterio
print(json.dumps({"start": rasterio._env.start(), "config": rasterio._env.CONFIG,
                  "proj": rasterio._env.PROJ, "environ": [os.environ["GDAL_DATA"], os.environ["PROJ_DATA"]],
                  "file": rasterio.__file__}))
"""


@pytest.mark.parametrize("system", ["win32", "darwin"])
def test_wheel_rasterio_reads_its_own_gdal_and_proj_data_not_qgis(tmp_path, system):
    folder = tmp_path / "pk"
    pkg = _fake_rasterio_wheel(folder)
    env = dict(installer._clean_env(), PYTHONPATH=str(PKG_ROOT), EOLENS_PACKAGES=str(folder),
               GDAL_DATA="C:/QGIS/apps/gdal/share/gdal", PROJ_DATA="C:/QGIS/share/proj")
    out = subprocess.run([sys.executable, "-c", PROBE, "", system], capture_output=True, text=True,
                         env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout)
    assert seen["file"].startswith(str(folder))
    assert seen["start"] == [str(pkg / "gdal_data"), str(pkg / "proj_data")]  # every Env start
    assert seen["config"] == {"GDAL_DATA": str(pkg / "gdal_data")}
    assert seen["proj"][-1] == str(pkg / "proj_data")
    assert seen["environ"] == ["C:/QGIS/apps/gdal/share/gdal", "C:/QGIS/share/proj"]  # QGIS's untouched


def test_verification_of_a_windows_install_gives_rasterio_its_own_data(tmp_path, monkeypatch):
    calls = _record_children(monkeypatch)
    pkg = _fake_rasterio_wheel(tmp_path / "staging")
    with pytest.raises(_Refused):
        installer.verify(SYSTEM_PY, tmp_path / "staging")
    env = calls[-1]["env"]
    assert env["GDAL_DATA"] == str(pkg / "gdal_data") and env["PROJ_DATA"] == str(pkg / "proj_data")


def test_missing_visual_cpp_runtime_is_named_with_its_download(tmp_path):
    fake = tmp_path / "python"
    report = {"errors": [f"torch: OSError: {WIN1114}"]}
    fake.write_text(f"#!{SYSTEM_PY}\nprint({json.dumps('EOLENS-VERIFY ' + json.dumps(report))})\n")
    fake.chmod(0o755)
    with pytest.raises(installer.InstallError) as err:
        installer.verify(str(fake), tmp_path)
    assert "c10.dll" in str(err.value) and platform_env.VC_REDIST_URL in str(err.value)
    assert "Visual C++ Redistributable" in deps.import_failure(OSError(WIN1114))
    assert platform_env.import_error_hint("ModuleNotFoundError: No module named 'torch'") == ""


def _fake_qgis(monkeypatch, version: int) -> None:
    core = types.ModuleType("qgis.core")
    core.Qgis = types.SimpleNamespace(QGIS_VERSION_INT=version)
    core.QgsApplication = types.SimpleNamespace(qgisSettingsDirPath=lambda: "")
    monkeypatch.setitem(sys.modules, "qgis.core", core)


def test_qgis4_profiles_live_under_qgis4(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.delenv("EOLENS_QGIS_MAJOR", raising=False)
    _fake_qgis(monkeypatch, 40002)
    assert packages_path.profile_dir() == tmp_path / "QGIS" / "QGIS4" / "profiles" / "default"
    _fake_qgis(monkeypatch, 34400)
    assert packages_path.profile_dir().parts[-3] == "QGIS3"
    monkeypatch.delitem(sys.modules, "qgis.core")  # headless
    assert packages_path.qgis_folder() == "QGIS3"
    (tmp_path / "QGIS" / "QGIS4" / "profiles").mkdir(parents=True)
    assert packages_path.qgis_folder() == "QGIS4"  # only a QGIS 4 profile exists
    (tmp_path / "QGIS" / "QGIS3" / "profiles").mkdir(parents=True)
    assert packages_path.qgis_folder() == "QGIS3"
    monkeypatch.setenv("EOLENS_QGIS_MAJOR", "4")
    assert packages_path.packages_dir().parts[-6] == "QGIS4"
    monkeypatch.setenv("EOLENS_QGIS_MAJOR", "5")
    with pytest.raises(ValueError, match="EOLENS_QGIS_MAJOR"):
        packages_path.profile_dir()


def test_archive_index_command_line_finds_the_private_packages(tmp_path):
    folder = tmp_path / "pk"
    folder.mkdir()
    (folder / "eolens_probe_dep.py").write_text("WHERE = 'private folder'\n")
    code = ("import runpy, sys\nsys.argv = ['archive_index', '--help']\n"
            "try:\n    runpy.run_module('eolens.inference.archive', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "import eolens_probe_dep\nprint(eolens_probe_dep.WHERE)\n")
    env = dict(installer._clean_env(), PYTHONPATH=str(PKG_ROOT), EOLENS_PACKAGES=str(folder))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=str(tmp_path), timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "build" in out.stdout and out.stdout.strip().endswith("private folder")


REAL_PROBE = """
import json, os, sys
from pathlib import Path
folder = Path(os.environ["EOLENS_PACKAGES"])
sys.path.insert(0, str(folder))
if sys.argv[1] == "isolated":  # what packages_path.activate() adds on Windows/macOS
    from eolens.plugin import packages_path
    packages_path._RasterioDataFinder.install(folder)
import rasterio
from rasterio.crs import CRS
try:
    epsg = CRS.from_epsg(32633).to_epsg()
except Exception as exc:
    epsg = str(exc)
with rasterio.Env():  # every GDAL environment start re-reads PROJ_DATA
    crs = rasterio.crs.CRS.from_string("EPSG:4326").to_epsg()
print(json.dumps({"file": rasterio.__file__, "epsg": epsg, "in_env": crs,
                  "environ": os.environ["PROJ_DATA"]}))
"""


def _older_proj(folder: Path) -> Path:
    """The system's proj.db with an older layout version: "another PROJ" to any wheel's PROJ,
    whatever PROJ the distribution ships (Debian 12's 9.1 is older than the wheel's, 13's is not)."""
    import shutil
    import sqlite3

    folder.mkdir()
    shutil.copy("/usr/share/proj/proj.db", folder / "proj.db")
    with sqlite3.connect(folder / "proj.db") as db:
        db.execute("UPDATE metadata SET value = '0' WHERE key = 'DATABASE.LAYOUT.VERSION.MINOR'")
    return folder


@pytest.mark.slow
def test_real_rasterio_wheel_beside_another_proj_reads_its_own_proj_db(tmp_path):
    """The failure of coolzhao/Geo-SAM#57 with a real wheel (Linux's here; Windows/macOS wheels ship
    the same rasterio/proj_data) next to an older PROJ's proj.db standing in for QGIS's."""
    folder = tmp_path / "pk"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--only-binary",
                          ":all:", "--target", str(folder), "rasterio==1.4.3", "affine==2.4.0", "attrs",
                          "certifi", "click", "cligj", "click-plugins", "pyparsing"],
                         capture_output=True, text=True, timeout=600)
    assert pip.returncode == 0, pip.stderr[-2000:]
    other = _older_proj(tmp_path / "qgis-proj")
    env = dict(installer._clean_env(), PYTHONPATH=str(PKG_ROOT), EOLENS_PACKAGES=str(folder),
               PROJ_DATA=str(other), GDAL_DATA="/usr/share/gdal")
    seen = {}
    for mode in ("plain", "isolated"):
        out = subprocess.run([SYSTEM_PY, "-c", REAL_PROBE, mode], capture_output=True, text=True,
                             env=env, timeout=120)
        assert out.returncode == 0 or mode == "plain", out.stderr[-2000:]
        seen[mode] = json.loads(out.stdout) if out.returncode == 0 else {"epsg": out.stderr}
    assert "another PROJ" in str(seen["plain"]["epsg"])
    assert seen["isolated"]["file"].startswith(str(folder))
    assert seen["isolated"]["epsg"] == 32633 and seen["isolated"]["in_env"] == 4326
    assert seen["isolated"]["environ"] == str(other)  # QGIS's variable untouched
