"""eolens:evaluate at scale (issue 23): predicted boxes against reference boxes, end to end.

Two synthetic GeoPackages of axis-aligned boxes on a grid (the prediction is the reference
shifted by a random fraction of a box, so about 3 in 4 pairs reach IoU 0.5) are built in a
temporary folder, then ``processing.run("eolens:evaluate", ...)`` writes the tagged GeoPackage
and a JSON report, in a fresh interpreter whose CPU seconds and peak RSS (``getrusage``) are read.

- ``evaluate_e2e_s_100k`` / ``evaluate_e2e_peak_mb_100k``: 100,000 vs 100,000 boxes (end to
  end; bench_label's ``evaluate_s_100k`` times ``evaluate_layers`` alone on plain data).
- ``evaluate_s_1m`` / ``evaluate_peak_mb_1m``: 1,000,000 vs 1,000,000 boxes (set
  ``EOLENS_BENCH_EVALUATE_1M=0`` to skip it on a small machine).

CPU seconds are the child's user + system time, so neighbours on a shared machine do not
inflate them; the peak includes QGIS and Processing themselves (about 300 MB).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SIZE = 10.0  # box side, metres; boxes on a 20 m grid

_CHILD = r"""
import json, resource, sys
sys.path[:0] = {paths!r}
from qgis.testing import start_app
app = start_app()
from qgis.core import QgsApplication, QgsProcessingFeedback
sys.path.append(QgsApplication.pkgDataPath() + "/python/plugins")
from processing.core.Processing import Processing
Processing.initialize()
from eolens.plugin.processing.provider import EOLensProvider
provider = EOLensProvider()
QgsApplication.processingRegistry().addProvider(provider)
import processing

class Feedback(QgsProcessingFeedback):
    steps = []
    def setProgress(self, p):
        self.steps.append(p)
        super().setProgress(p)

def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime

fb = Feedback()
before = cpu()
res = processing.run("eolens:evaluate", {{"PREDICTED": {pred!r}, "REFERENCE": {ref!r},
                     "OUTPUT": {out!r}, "OUTPUT_TEXT": {report!r}}}, feedback=fb)
seconds = cpu() - before
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": seconds, "peak_mb": peak_kb / 1024.0, "f1": res["F1"],
                   "progress_steps": len(fb.steps)}}))
"""


def write_boxes(path: Path, n: int, shift: bool, seed: int = 0) -> str:
    """``n`` boxes (fid, score) on a square grid in EPSG:32617, written with OGR in one go."""
    from osgeo import ogr, osr

    side = int(np.ceil(np.sqrt(n)))
    k = np.arange(n)
    x = 500_000.0 + (k % side) * 2 * SIZE
    y = 3_000_000.0 + (k // side) * 2 * SIZE
    rng = np.random.default_rng(seed)
    if shift:
        x = x + rng.uniform(-0.3, 0.3, n) * SIZE
        y = y + rng.uniform(-0.3, 0.3, n) * SIZE
    scores = rng.uniform(size=n)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32617)
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = ds.CreateLayer("boxes", srs, ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("score", ogr.OFTReal))
    defn = layer.GetLayerDefn()
    layer.StartTransaction()
    for i in range(n):
        x0, y0 = x[i], y[i]
        wkt = (f"POLYGON(({x0} {y0},{x0 + SIZE} {y0},{x0 + SIZE} {y0 + SIZE},"
               f"{x0} {y0 + SIZE},{x0} {y0}))")
        feat = ogr.Feature(defn)
        feat.SetGeometryDirectly(ogr.CreateGeometryFromWkt(wkt))
        feat.SetField("score", float(scores[i]))
        layer.CreateFeature(feat)
    layer.CommitTransaction()
    ds = None
    return str(path)


def measure(folder: Path, n: int) -> dict:
    """CPU seconds, peak RSS (MB) and F1 of one end-to-end run on ``n`` vs ``n`` boxes."""
    ref = write_boxes(folder / f"ref_{n}.gpkg", n, shift=False, seed=1)
    pred = write_boxes(folder / f"pred_{n}.gpkg", n, shift=True, seed=2)
    code = _CHILD.format(paths=[str(REPO / "build" / "pkgroot"), str(REPO)], pred=pred, ref=ref,
                         out=str(folder / f"tags_{n}.gpkg"), report=str(folder / f"rep_{n}.json"))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run():
    sizes = [(100_000, "e2e_{}_100k")]
    if os.environ.get("EOLENS_BENCH_EVALUATE_1M", "1") != "0":
        sizes.append((1_000_000, "{}_1m"))
    for n, name in sizes:
        with tempfile.TemporaryDirectory(prefix="eolens-bench-evaluate-") as tmp:
            doc = measure(Path(tmp), n)
        yield "evaluate_" + name.format("s"), doc["seconds"], "s"
        yield "evaluate_" + name.format("peak_mb"), doc["peak_mb"], "MB"
        yield "evaluate_" + name.format("f1"), doc["f1"], "F1"
