"""Fail `make setup` early when the environment has one of the known clashes."""
import sys

import affine
import numpy
import rasterio
import shapely
from osgeo import gdal, ogr

problems = []
if int(numpy.__version__.split(".")[0]) >= 2:
    problems.append(f"numpy {numpy.__version__}: Debian's GDAL/QGIS need numpy<2")
if not rasterio.__file__.startswith("/usr/lib/python3/"):
    problems.append(f"rasterio from {rasterio.__file__}: use Debian's python3-rasterio (one GDAL)")
if rasterio.__gdal_version__ != gdal.__version__:
    problems.append(f"two GDALs: rasterio {rasterio.__gdal_version__} vs osgeo {gdal.__version__}")
if int(affine.__version__.split(".")[0]) >= 3:
    problems.append(f"affine {affine.__version__}: rasterio's reproject needs affine<3")
if not shapely.__file__.startswith("/usr/lib/python3/"):
    problems.append(f"shapely from {shapely.__file__}: use Debian's python3-shapely (one GEOS)")
geos = getattr(shapely, "geos_version", None) or __import__("shapely.geos").geos.geos_version
if ogr.GetGEOSVersionMajor() and tuple(geos[:2]) != (ogr.GetGEOSVersionMajor(), ogr.GetGEOSVersionMinor()):
    problems.append(f"shapely GEOS {geos} differs from the system GEOS")
if problems:
    sys.exit("environment check failed:\n  " + "\n  ".join(problems))
print(f"environment ok: numpy {numpy.__version__}, GDAL {gdal.__version__}, rasterio {rasterio.__version__}, "
      f"shapely {shapely.__version__}")
