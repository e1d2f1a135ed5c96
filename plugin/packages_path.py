"""Where EO Lens's private packages live and how they join ``sys.path``.

Standard library only and no relative imports: the installer's verification copies this file into
a fresh interpreter as ``eolens_paths``.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import sys
import types
from collections import ChainMap
from pathlib import Path
from typing import Optional
from urllib.parse import quote

ENV_VAR = "EOLENS_PACKAGES"
QGIS_MAJOR_VAR = "EOLENS_QGIS_MAJOR"  # headless: which QGIS profile tree (3 or 4)
# Distributions QGIS's Python must own; a folder holding one of them never goes before site-packages.
SHADOW_GUARD = ("numpy", "osgeo", "rasterio", "shapely", "PyQt5", "PyQt6", "qgis")
# Windows/macOS: the installer puts these wheels there on purpose (their GDAL/GEOS stay apart).
WHEEL_SAFE = ("rasterio", "shapely")


def python_executable(executable: Optional[str] = None, platform: Optional[str] = None) -> str:
    """The interpreter QGIS embeds. ``sys.executable`` is the QGIS binary on Windows and macOS
    (``…/QGIS.app/Contents/MacOS/QGIS``), and in an embedded Linux Python it is whatever ``python3``
    comes first on PATH (a pyenv shim, say). "" when no interpreter can be found."""
    exe = sys.executable if executable is None else executable
    platform = platform or sys.platform
    inside = any(os.path.abspath(exe).startswith(os.path.abspath(p) + os.sep)
                 for p in {sys.prefix, sys.exec_prefix})
    if os.path.basename(exe).lower().startswith("python") and (inside or platform == "darwin"):
        return exe
    if platform == "win32":
        return os.path.join(sys.exec_prefix, "python.exe")
    for candidate in _interpreter_candidates(exe, platform):
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return "" if platform == "darwin" else exe


def _interpreter_candidates(exe: str, platform: str) -> list[str]:
    major, minor = sys.version_info[:2]
    names = (f"python{major}.{minor}", f"python{major}")
    found = [os.path.join(sys.exec_prefix, "bin", n) for n in names]
    if platform == "darwin":  # the official bundle: Contents/MacOS/python sets PYTHONHOME itself
        macos = os.path.dirname(exe)
        found = ([os.path.join(macos, n) for n in ("python",) + names]
                 + [os.path.join(macos, "bin", n) for n in names] + found)
    return found


def version_folder() -> str:
    return f"py{sys.version_info.major}.{sys.version_info.minor}"


def profile_dir() -> Path:
    """The active QGIS profile folder (QGIS's own answer when QGIS is loaded)."""
    qgis_core = sys.modules.get("qgis.core")
    if qgis_core is not None:
        path = qgis_core.QgsApplication.qgisSettingsDirPath() or ""
        if path:
            return Path(path)
    return settings_root() / qgis_folder() / "profiles" / "default"


def settings_root(platform: Optional[str] = None) -> Path:
    """The folder that holds ``QGIS3``/``QGIS4`` on this system."""
    platform = platform or sys.platform
    if platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / "QGIS"
    if platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "QGIS"
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "QGIS"


def qgis_folder(root: Optional[Path] = None) -> str:
    """``QGIS4`` or ``QGIS3``: the running QGIS's major version when qgis is loaded, else
    ``$EOLENS_QGIS_MAJOR`` (3 or 4), else the only one of the two profile folders that exists
    (QGIS3 when both or neither do: QGIS 3 is the long-term release)."""
    qgis_core = sys.modules.get("qgis.core")
    version = getattr(getattr(qgis_core, "Qgis", None), "QGIS_VERSION_INT", 0)
    if isinstance(version, int) and version:
        return "QGIS4" if version >= 40000 else "QGIS3"
    major = os.environ.get(QGIS_MAJOR_VAR, "").strip()
    if major in ("3", "4"):
        return f"QGIS{major}"
    if major:
        raise ValueError(f"{QGIS_MAJOR_VAR} must be 3 or 4, not {major!r}")
    root = root or settings_root()
    if (root / "QGIS4" / "profiles").is_dir() and not (root / "QGIS3" / "profiles").is_dir():
        return "QGIS4"
    return "QGIS3"


def packages_dir() -> Path:
    """``$EOLENS_PACKAGES``, else ``<profile>/python/eolens-packages/py<major>.<minor>``."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser()
    return profile_dir() / "python" / "eolens-packages" / version_folder()


def insert_index(path: list) -> int:
    """After QGIS's own paths and the standard library, before the first site-packages."""
    for i, entry in enumerate(path):
        if os.path.basename(str(entry).rstrip("/\\")) in ("site-packages", "dist-packages"):
            return i
    return len(path)


def shadows(folder: Path, platform: Optional[str] = None) -> list[str]:
    """Packages QGIS's Python must own that ``folder`` holds anyway (a hand-made install)."""
    allowed = WHEEL_SAFE if (platform or sys.platform) in ("win32", "darwin") else ()
    return [name for name in SHADOW_GUARD if name not in allowed and (folder / name).exists()]


def activate(folder: Optional[Path] = None) -> Optional[Path]:
    """Put the private folder on ``sys.path`` once; returns it, or None when it does not exist."""
    folder = Path(folder or packages_dir())
    if not folder.is_dir():
        return None
    entry = str(folder)
    if entry not in sys.path:
        # A folder that holds its own numpy/GDAL/shapely could shadow QGIS's: keep it last.
        where = len(sys.path) if shadows(folder) else insert_index(sys.path)
        sys.path.insert(where, entry)
        importlib.invalidate_caches()
    if sys.platform in ("win32", "darwin") and wheel_rasterio_data(folder):
        _RasterioDataFinder.install(folder)
    return folder


def wheel_rasterio_data(folder: Path) -> dict:
    """GDAL_DATA / PROJ_DATA / PROJ_LIB of the rasterio wheel in ``folder`` ({} without one).

    The wheel's GDAL and PROJ need their own data: QGIS's process has GDAL_DATA and PROJ_DATA set
    to QGIS's versions, and a PROJ reading another version's proj.db fails ("DATABASE.LAYOUT.VERSION
    .MINOR = 2 whereas a number >= 4 is expected", coolzhao/Geo-SAM#57).
    """
    package = Path(folder) / "rasterio"
    proj, gdal = package / "proj_data", package / "gdal_data"
    if not (proj / "proj.db").is_file():
        return {}
    data = {"PROJ_DATA": str(proj), "PROJ_LIB": str(proj)}
    if gdal.is_dir():
        data["GDAL_DATA"] = str(gdal)
    return data


class _RasterioDataFinder(importlib.abc.MetaPathFinder):
    """Imports the private folder's rasterio so that it, and only it, sees its own data folders.

    rasterio re-reads GDAL_DATA/PROJ_DATA from ``os.environ`` whenever a GDAL environment starts
    (every ``rasterio.open``), so setting them once is not enough, and changing ``os.environ``
    would hand QGIS's own GDAL and PROJ the wheel's data. rasterio's two modules that read them get
    a view of the environment with the wheel's paths on top instead; QGIS's environment is untouched.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = str(folder)

    @classmethod
    def install(cls, folder: Path) -> None:
        if not any(isinstance(f, cls) and f.folder == str(folder) for f in sys.meta_path):
            sys.meta_path.insert(0, cls(folder))

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "rasterio" or "rasterio" in sys.modules:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not str(spec.origin or "").startswith(self.folder + os.sep):
            return None
        spec.loader = _RasterioDataLoader(spec.loader, wheel_rasterio_data(Path(self.folder)))
        return spec


class _RasterioDataLoader(importlib.abc.Loader):
    def __init__(self, loader, data: dict) -> None:
        self.loader, self.data = loader, data

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        self.loader.exec_module(module)
        use_wheel_data(self.data)


def use_wheel_data(data: dict) -> None:
    """Point the imported rasterio at ``data`` now and at every later GDAL environment start."""
    view = types.ModuleType("os")
    view.__dict__.update(vars(os))
    view.environ = ChainMap(dict(data), os.environ)  # reads see the wheel's paths; QGIS's stay
    for name in ("rasterio._env", "rasterio.env"):
        module = sys.modules.get(name)
        if module is not None and getattr(module, "os", None) is os:
            module.os = view
    env = sys.modules.get("rasterio.env")
    if env is not None:  # what rasterio.env did at import with QGIS's paths, redone with the wheel's
        if "GDAL_DATA" in data:
            env.set_gdal_config("GDAL_DATA", data["GDAL_DATA"])
        env.set_proj_data_search_path(data["PROJ_DATA"])


def proxy_url(host: str, port: str = "", user: str = "", password: Optional[str] = None,
              scheme: str = "http") -> Optional[str]:
    """The proxy URL: scheme, then the URL-quoted user name and password (when ``user`` is given),
    then host and port; None without a host."""
    host = (host or "").strip()
    if not host:
        return None
    if "://" in host:
        scheme, host = host.split("://", 1)
    auth = f"{quote(user, safe='')}:{quote(password or '', safe='')}@" if user else ""
    return f"{scheme}://{auth}{host}{f':{port}' if str(port or '').strip() not in ('', '0') else ''}"


def proxy_environment(url: str, no_proxy: str = "") -> dict:
    """The variables pip, requests and httpx (huggingface_hub) read for a proxy."""
    env = {k: url for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")}
    if no_proxy:
        env["NO_PROXY"] = env["no_proxy"] = no_proxy
    return env
