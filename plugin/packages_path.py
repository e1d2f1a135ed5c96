"""Where EO Lens's private packages live and how they join ``sys.path``.

Standard library only and no relative imports: the installer's verification copies this file into
a fresh interpreter as ``eolens_paths``.
"""
from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Optional
from urllib.parse import quote

ENV_VAR = "EOLENS_PACKAGES"
# Distributions QGIS's Python must own; a folder holding one of them never goes before site-packages.
SHADOW_GUARD = ("numpy", "osgeo", "rasterio", "shapely", "PyQt5", "PyQt6", "qgis")


def python_executable() -> str:
    """The interpreter QGIS embeds: sys.executable is the QGIS binary on Windows/macOS, and in an
    embedded Linux Python it is whatever ``python3`` comes first on PATH (a pyenv shim, say)."""
    exe = sys.executable or ""
    inside = any(os.path.abspath(exe).startswith(os.path.abspath(p) + os.sep)
                 for p in {sys.prefix, sys.exec_prefix})
    if os.path.basename(exe).lower().startswith("python") and inside:
        return exe
    if sys.platform == "win32":
        return os.path.join(sys.exec_prefix, "python.exe")
    major, minor = sys.version_info[:2]
    for name in (f"python{major}.{minor}", f"python{major}"):
        candidate = os.path.join(sys.exec_prefix, "bin", name)
        if os.access(candidate, os.X_OK):
            return candidate
    return exe


def version_folder() -> str:
    return f"py{sys.version_info.major}.{sys.version_info.minor}"


def profile_dir() -> Path:
    """The active QGIS profile folder (QGIS's own answer when QGIS is loaded)."""
    qgis_core = sys.modules.get("qgis.core")
    if qgis_core is not None:
        path = qgis_core.QgsApplication.qgisSettingsDirPath() or ""
        if path:
            return Path(path)
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "QGIS" / "QGIS3" / "profiles" / "default"


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


def shadows(folder: Path) -> list[str]:
    """Packages QGIS's Python must own that ``folder`` holds anyway (a hand-made install)."""
    return [name for name in SHADOW_GUARD if (folder / name).exists()]


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
    return folder


def proxy_url(host: str, port: str = "", user: str = "", password: Optional[str] = None,
              scheme: str = "http") -> Optional[str]:
    """``scheme://user:pass@host:port`` (credentials URL-quoted), or None without a host."""
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
