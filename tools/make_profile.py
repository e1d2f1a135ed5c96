"""`make run` helper: a throw-away QGIS profile with EO Lens enabled and a sample project.

Usage: python tools/make_profile.py PROFILE_DIR PLUGIN_NAME
"""
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLES = ["rasterio_RGB.byte.tif", "OSBS_029.tif", "pucallpa_1985.tif", "pucallpa_2020.tif"]


def write_profile(profile: Path, plugin: str) -> None:
    ini = profile / "profiles" / "default" / "QGIS" / "QGIS3.ini"
    ini.parent.mkdir(parents=True, exist_ok=True)
    ini.write_text(
        "[PythonPlugins]\n"
        f"{plugin}=true\nprocessing=true\n\n"
        "[qgis]\n"
        "showTips322=false\ncheckVersion=false\n"
        "[core]\nNewsFeed\\httpsfeedqgisorg\\disabled=true\n",
        encoding="utf-8")


def write_project(path: Path) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qgis.core import QgsApplication, QgsProject, QgsRasterLayer

    app = QgsApplication([], False)
    app.initQgis()
    project = QgsProject.instance()
    for name in SAMPLES:
        layer = QgsRasterLayer(str(REPO / "resources" / "sample" / name), Path(name).stem, "gdal")
        if layer.isValid():
            project.addMapLayer(layer)
    first = project.mapLayersByName("rasterio_RGB.byte")
    if first:
        from qgis.core import QgsReferencedRectangle

        project.setCrs(first[0].crs())
        project.viewSettings().setDefaultViewExtent(QgsReferencedRectangle(first[0].extent(), first[0].crs()))
    project.write(str(path))
    app.exitQgis()


if __name__ == "__main__":
    profile, plugin = Path(sys.argv[1]), sys.argv[2]
    write_profile(profile, plugin)
    write_project(profile.parent / "sample.qgs")
    print(f"profile {profile}, project {profile.parent / 'sample.qgs'}")
