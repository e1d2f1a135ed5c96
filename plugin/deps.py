"""Check the Python dependencies without importing them (torch is slow and may be broken)."""
from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass

# import name -> pip requirement
REQUIRED: dict[str, str] = {
    "torch": "torch",
    "torchvision": "torchvision",
    "transformers": "transformers>=5",
    "open_clip": "open_clip_torch",
    "safetensors": "safetensors",
    "huggingface_hub": "huggingface_hub",
    "rasterio": "rasterio",
    "shapely": "shapely>=2",
}


@dataclass
class DependencyReport:
    missing: list[str]        # pip requirements that are absent
    problems: list[str]       # present but unusable (e.g. numpy 2 beside a numpy-1 GDAL)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.problems


def check() -> DependencyReport:
    missing = [req for mod, req in REQUIRED.items() if importlib.util.find_spec(mod) is None]
    problems = []
    import numpy  # already loaded by QGIS itself

    if int(numpy.__version__.split(".")[0]) >= 2:
        problems.append(f"numpy {numpy.__version__} is installed, but QGIS's GDAL is built for numpy 1.x")
    if "shapely>=2" not in missing:
        problems += _geos_clash()
    problems += _too_old("jinja2", (3, 1, 6), "chat templates")
    return DependencyReport(missing, problems)


def _too_old(dist: str, minimum: tuple, why: str) -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        have = version(dist)
    except PackageNotFoundError:
        return [f"{dist} is missing ({why} need {'.'.join(map(str, minimum))} or newer)"]
    parts = tuple(int(p) for p in have.split(".")[:3] if p.isdigit())
    if parts < minimum:
        return [f"{dist} {have} is too old for {why}; install {dist}>={'.'.join(map(str, minimum))}"]
    return []


def _geos_clash() -> list[str]:
    """A shapely wheel with its own GEOS beside QGIS's GEOS crashes geometry operations."""
    try:
        import shapely
        from qgis.core import Qgis
    except ImportError:
        return []
    ours = tuple(shapely.geos_version[:2])
    qgis = (Qgis.geosVersionMajor(), Qgis.geosVersionMinor())
    if ours == qgis:
        return []
    return [f"shapely uses GEOS {ours[0]}.{ours[1]} but QGIS uses GEOS {qgis[0]}.{qgis[1]}; "
            "reinstall shapely built against QGIS's GEOS: pip install --no-binary shapely shapely"]


def python_executable() -> str:
    """The interpreter QGIS embeds (sys.executable is the QGIS binary on Windows/macOS)."""
    if os.path.basename(sys.executable).lower().startswith("python"):
        return sys.executable
    if sys.platform == "win32":
        return os.path.join(sys.exec_prefix, "python.exe")
    return os.path.join(sys.exec_prefix, "bin", f"python{sys.version_info.major}")


def install_command(report: DependencyReport) -> str:
    reqs = list(report.missing) + ["numpy<2"]
    quoted = " ".join(f'"{r}"' if any(c in r for c in "<>=") else r for r in reqs)
    # Linux QGIS links the system GEOS: build shapely against it instead of taking a wheel's own
    source_build = "--no-binary shapely " if sys.platform.startswith("linux") else ""
    return f'"{python_executable()}" -m pip install --user {source_build}{quoted}'
