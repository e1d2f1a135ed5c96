"""What differs between Linux, Windows and macOS when EO Lens starts a child Python or pip.

Standard library only (the headless installer uses it). Every ``platform`` argument defaults to
``sys.platform`` at call time, so tests can simulate another system.
"""
from __future__ import annotations

import os
import subprocess  # nosec B404: only for the Windows flag constants
import sys
from pathlib import Path
from typing import Mapping, Optional

from ..inference.errors import VC_REDIST_URL, dll_load_hint  # noqa: F401 - one wording

# subprocess.CREATE_NO_WINDOW / STARTF_USESHOWWINDOW / SW_HIDE exist only on Windows builds of Python.
CREATE_NO_WINDOW = 0x08000000
CREATE_NEW_PROCESS_GROUP = 0x00000200
STARTF_USESHOWWINDOW = 0x00000001
SW_HIDE = 0
# Never inherited by pip or the verifier: they would point pip at another environment.
LEAKY_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PIP_TARGET", "PIP_USER")
# Owned by QGIS's Python everywhere: a second copy would shadow the one QGIS's bindings use.
ALWAYS_QGIS_OWNED = ("numpy", "gdal", "pyqt5", "pyqt6", "pyqt5-sip", "pyqt6-sip", "sip", "qgis")
# Linux only: pip's rasterio/shapely wheels carry a GDAL/GEOS whose symbols bind to QGIS's (ELF
# interposition); Windows DLLs and macOS two-level namespaces keep a wheel's libraries apart.
LINUX_DISTRIBUTION_OWNED = ("rasterio", "affine", "shapely")


def is_linux(platform: Optional[str] = None) -> bool:
    return (platform or sys.platform).startswith("linux")


def wheels_are_isolated(platform: Optional[str] = None) -> bool:
    """True where a pip wheel's own GDAL/GEOS cannot clash with QGIS's (Windows, macOS)."""
    return (platform or sys.platform) in ("win32", "darwin")


def qgis_owned(platform: Optional[str] = None) -> tuple[str, ...]:
    """Distribution names the installer never puts into (and prunes from) the private folder."""
    linux_only = LINUX_DISTRIBUTION_OWNED if not wheels_are_isolated(platform) else ()
    return ALWAYS_QGIS_OWNED + linux_only


def hidden_window_kwargs(platform: Optional[str] = None, new_process_group: bool = False) -> dict:
    """``subprocess`` keyword arguments for every child the plugin starts.

    On Windows a console program (python.exe, pip, nvidia-smi) started from the QGIS GUI opens a
    console window, and closing that window kills the child: CREATE_NO_WINDOW plus a hidden
    STARTUPINFO keep it invisible. ``new_process_group`` lets a cancel stop pip and its children.
    """
    if (platform or sys.platform) != "win32":
        return {"start_new_session": True} if new_process_group else {}
    flags = CREATE_NO_WINDOW | (CREATE_NEW_PROCESS_GROUP if new_process_group else 0)
    kwargs: dict = {"creationflags": flags}
    startupinfo_class = getattr(subprocess, "STARTUPINFO", None)
    if startupinfo_class is not None:
        info = startupinfo_class()
        info.dwFlags |= STARTF_USESHOWWINDOW
        info.wShowWindow = SW_HIDE
        kwargs["startupinfo"] = info
    return kwargs


def child_environment(environ: Optional[Mapping[str, str]] = None, python: str = "",
                      platform: Optional[str] = None) -> dict:
    """The environment for pip and the verifier: no venv, PYTHONPATH or user site leaking in, and
    UTF-8 on the pipes (a Windows console code page cannot encode every package name or path).

    macOS keeps PYTHONHOME: the official bundle's interpreter finds its standard library only
    through it (without it: "No module named 'encodings'"); the bundle's ``python`` wrapper sets it,
    and for a bare interpreter inside a bundle it is set to the bundle's ``Contents/Frameworks``.
    """
    platform = platform or sys.platform
    source = os.environ if environ is None else environ
    keep = ("PYTHONHOME",) if platform == "darwin" else ()
    env = {k: v for k, v in source.items() if k not in LEAKY_VARIABLES or k in keep}
    if platform == "darwin" and "PYTHONHOME" not in env:
        home = bundle_python_home(python)
        if home:
            env["PYTHONHOME"] = home
    env["PYTHONNOUSERSITE"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def bundle_python_home(python: str) -> Optional[str]:
    """``…/X.app/Contents/Frameworks`` for an interpreter inside a macOS app bundle, else None."""
    parts = Path(python).parts
    for i in range(len(parts) - 1, 0, -1):
        if parts[i] == "Contents" and parts[i - 1].endswith(".app"):
            frameworks = Path(*parts[: i + 1]) / "Frameworks"
            return str(frameworks) if frameworks.is_dir() else None
    return None


def interpreter_problem(python: str) -> Optional[str]:
    """Why ``python`` cannot run pip (missing, or QGIS's own executable), or None when it can."""
    if not python:
        return ("EO Lens could not find QGIS's Python interpreter. Run the installer from a shell "
                "with QGIS's Python and --python (see the README, 'Installing the Python dependencies').")
    name = os.path.basename(python).lower()
    if not name.startswith("python"):
        return (f"EO Lens could not find QGIS's Python interpreter: {python} is not a Python "
                f"interpreter (it is QGIS itself). Run the installer from a shell with --python "
                f"pointing at QGIS's Python (see the README).")
    if not os.path.isfile(python) or not os.access(python, os.X_OK):
        return f"EO Lens could not find QGIS's Python interpreter: {python} does not exist or cannot run."
    return None


def import_error_hint(text: str) -> str:
    """Plain words for a torch import failure that has a known cause ("" when there is none)."""
    return dll_load_hint(text)
