"""Check EO Lens's Python dependencies without importing them (torch is slow and may be broken).

Two kinds: packages the installer puts into EO Lens's private folder with pip, and, on Linux only,
packages that must come from the distribution because they link QGIS's own GDAL and GEOS: rasterio
and shapely. On Windows and macOS their wheels keep their libraries apart, and QGIS's Python often
has no rasterio (OSGeo4W, the standard installer, the QGIS 4 bundle), so the installer brings them.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass, field

from . import packages_path, platform_env

# import name -> pip requirement, installed by plugin/installer.py into the private folder
PIP: dict[str, str] = {
    "torch": "torch",
    "torchvision": "torchvision",
    "transformers": "transformers",
    "open_clip": "open_clip_torch",
    "safetensors": "safetensors",
    "huggingface_hub": "huggingface_hub",
    "rank_bm25": "rank-bm25", "pypdf": "pypdf",  # documents that ground answers (issue 16)
}
# import name -> Debian/Ubuntu package; must link the GDAL/GEOS QGIS has loaded (Linux)
SYSTEM: dict[str, str] = {"rasterio": "python3-rasterio", "shapely": "python3-shapely"}
# import name -> pip requirement where their wheels are safe (Windows, macOS): requirements.txt
WHEELS: dict[str, str] = {"rasterio": "rasterio", "shapely": "shapely"}


@dataclass
class DependencyReport:
    missing: list[str]                  # pip requirements that are absent
    problems: list[str]                 # present but unusable (e.g. numpy 2 beside a numpy-1 GDAL)
    system: list[str] = field(default_factory=list)  # distribution packages that are absent

    @property
    def ok(self) -> bool:
        return not self.missing and not self.problems and not self.system


def check(platform: str = "") -> DependencyReport:
    packages_path.activate()
    platform = platform or sys.platform
    missing = [req for mod, req in PIP.items() if importlib.util.find_spec(mod) is None]
    system: list[str] = []
    for mod, pkg in SYSTEM.items():
        if importlib.util.find_spec(mod) is not None:
            continue
        if platform_env.wheels_are_isolated(platform):
            missing.append(WHEELS[mod])
        else:
            system.append(pkg)
    if platform_env.is_linux(platform) and importlib.util.find_spec("pip") is None and missing:
        system.append("python3-pip")
    problems = _geos_clash() if "python3-shapely" not in system else []
    problems += _too_old("jinja2", (3, 1, 0), "chat templates") if not missing else []
    return DependencyReport(missing, problems, system)


def _too_old(dist: str, minimum: tuple, why: str) -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        have = version(dist)
    except PackageNotFoundError:
        return [f"{dist} is missing ({why} need {'.'.join(map(str, minimum))} or newer)"]
    parts = tuple(int(p) for p in have.split(".")[:3] if p.isdigit())
    if parts < minimum:
        return [f"{dist} {have} is too old for {why}; run the EO Lens installer again"]
    return []


def _geos_clash() -> list[str]:
    """On Linux a pip shapely wheel carries its own GEOS, whose calls bind to QGIS's GEOS there."""
    if not sys.platform.startswith("linux"):
        return []  # per-library symbol namespaces (Windows DLLs, macOS two-level): no clash
    try:
        import shapely
        from qgis.core import Qgis
    except ImportError:
        return []
    ours = tuple(shapely_geos_version()[:2])
    qgis = (Qgis.geosVersionMajor(), Qgis.geosVersionMinor())
    wheel = os.path.isdir(os.path.join(os.path.dirname(os.path.dirname(shapely.__file__)), "shapely.libs"))
    if ours == qgis and not wheel:
        return []
    return [f"shapely {shapely.__version__} ({os.path.dirname(shapely.__file__)}) brings its own GEOS "
            f"{ours[0]}.{ours[1]}, but QGIS uses GEOS {qgis[0]}.{qgis[1]}: remove it and use the "
            f"distribution's shapely: {apt_command(['python3-shapely'])}"]


def shapely_geos_version() -> tuple:
    import shapely

    if hasattr(shapely, "geos_version"):  # shapely 2
        return tuple(shapely.geos_version)
    from shapely.geos import geos_version  # shapely 1.8

    return tuple(geos_version)


def apt_command(packages: list[str]) -> str:
    return "sudo apt install " + " ".join(packages)


def python_executable() -> str:
    return packages_path.python_executable()


def install_command(report: DependencyReport, torch: str = "") -> str:
    """The headless installer, exactly as it runs from a shell (PEP 668 safe: --target)."""
    plugins = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    name = os.path.basename(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    flag = f" --torch {torch}" if torch else ""
    run = (f'"{python_executable()}" -m {name}.plugin.installer '
           f'--target "{packages_path.packages_dir()}"{flag}')
    if sys.platform == "win32":
        return f'set "PYTHONPATH={plugins}" && {run}'
    return f'PYTHONPATH="{plugins}" {run}'


def dependency_message(report: DependencyReport) -> str:
    """Plain words for the message bar and Processing: what is missing and the one way to fix it."""
    parts = []
    if report.missing:
        parts.append("EO Lens needs Python packages that QGIS's Python does not have: "
                     + ", ".join(report.missing) + ".")
    parts += report.problems
    if report.system:
        parts.append("Install from your distribution: " + apt_command(report.system) + ".")
    no_python = platform_env.interpreter_problem(python_executable()) if report.missing else None
    if no_python:
        parts.append(no_python)
    elif report.missing:
        parts.append("Install them from the EO Lens panel (Raster > EO Lens), or in a shell: "
                     + install_command(report))
    return " ".join(parts)


def import_failure(err: BaseException) -> str:
    """An import error of torch & co. in plain words, with the fix when the cause is known
    (a missing Visual C++ runtime shows as ``[WinError 1114] … c10.dll``)."""
    text = f"{type(err).__name__}: {err}"
    hint = platform_env.import_error_hint(text)
    return f"{text}. {hint}" if hint else text
