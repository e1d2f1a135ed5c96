"""Fail `make setup` early when the environment has one of the known clashes."""
import sys

import affine
import numpy
import rasterio
import shapely
from osgeo import gdal, ogr

DIST = "/usr/lib/python3/"  # the distribution's site-packages (dist-packages)

problems = []
# numpy: the distribution's own, the one its GDAL, rasterio and QGIS bindings were built against
# (Debian 12: 1.24, Debian 13: 2.2), never a pip numpy in the venv, whatever its version.
if not numpy.__file__.startswith(DIST):
    problems.append(f"numpy {numpy.__version__} from {numpy.__file__}: use the distribution's numpy "
                    f"(python3-numpy, the one GDAL/QGIS were built against), not a pip one")
try:
    from osgeo import gdal_array  # noqa: F401 - fails when GDAL's numpy ABI differs from this numpy
except (ImportError, AttributeError) as exc:
    problems.append(f"osgeo.gdal_array does not load with numpy {numpy.__version__}: {exc}")
if not rasterio.__file__.startswith(DIST):
    problems.append(f"rasterio from {rasterio.__file__}: use Debian's python3-rasterio (one GDAL)")
if rasterio.__gdal_version__ != gdal.__version__:
    problems.append(f"two GDALs: rasterio {rasterio.__gdal_version__} vs osgeo {gdal.__version__}")
if int(affine.__version__.split(".")[0]) >= 3:
    problems.append(f"affine {affine.__version__}: rasterio's reproject needs affine<3")
if not shapely.__file__.startswith(DIST):
    problems.append(f"shapely from {shapely.__file__}: use Debian's python3-shapely (one GEOS)")
geos = getattr(shapely, "geos_version", None) or __import__("shapely.geos").geos.geos_version
if ogr.GetGEOSVersionMajor() and tuple(geos[:2]) != (ogr.GetGEOSVersionMajor(), ogr.GetGEOSVersionMinor()):
    problems.append(f"shapely GEOS {geos} differs from the system GEOS")
if problems:
    sys.exit("environment check failed:\n  " + "\n  ".join(problems))
print(f"environment ok: numpy {numpy.__version__}, GDAL {gdal.__version__}, rasterio {rasterio.__version__}, "
      f"shapely {shapely.__version__}")
