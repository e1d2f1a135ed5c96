"""SIGTERM during a run is a Cancel: the staged outputs go, nothing is half-written, and the
process exits with an error that says why (issue 23)."""
from __future__ import annotations

import os
import signal
import subprocess
import time

import numpy as np
import pytest
from conftest import REPO


class Feedback:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def reportError(self, text, fatal=False):
        self.errors.append(text)


def test_a_signal_inside_the_block_cancels_and_the_handler_is_restored():
    from eolens.inference.cancel import CancelToken
    from eolens.inference.errors import Cancelled
    from eolens.plugin.processing.algorithms.termination import cancel_on_terminate

    before = signal.getsignal(signal.SIGTERM)
    token, fb = CancelToken(), Feedback()
    with cancel_on_terminate(token, fb):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)   # the handler runs between bytecodes
        with pytest.raises(Cancelled):
            token.check()
    assert fb.errors and "SIGTERM" in fb.errors[0]
    assert signal.getsignal(signal.SIGTERM) == before


def _noise(path, size: int = 3000) -> None:
    import rasterio
    from rasterio.transform import from_origin

    data = np.random.default_rng(abs(hash(path.name)) % 2**32).integers(0, 255, (3, size, size), np.uint8)
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=3, dtype="uint8",
                       crs="EPSG:32618", transform=from_origin(500000, 4000000, 1, 1), tiled=True) as ds:
        ds.write(data)


def test_qgis_process_killed_mid_run_leaves_nothing(tmp_path, qgis_process):
    qgis_process("--version")   # the profile exists and the plugin is enabled before timing starts
    a, b, out = tmp_path / "a.tif", tmp_path / "b.tif", tmp_path / "out"
    _noise(a), _noise(b)
    out.mkdir()
    env = dict(os.environ, EOLENS_QGIS_PROFILE=str(tmp_path / "profile"), QT_QPA_PLATFORM="offscreen",
               HF_HUB_OFFLINE="1")
    proc = subprocess.Popen(
        [str(REPO / "tools" / "qgis_process.sh"), "run", "eolens:change", "--", f"INPUT={a}",
         f"INPUT_B={b}", "METHOD=spectral", "TILE_SIZE=512", f"OUTPUT={out / 'c.gpkg'}",
         f"OUTPUT_RASTER={out / 'heat.tif'}"], env=env, cwd=str(REPO),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 300
        while not any(p.name.startswith(".eolens-stage-") for p in out.iterdir()):
            assert proc.poll() is None, proc.stdout.read()[-2000:]
            assert time.monotonic() < deadline, "the run never started writing"
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        text, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, (proc.returncode, text[-2000:])   # not -15: it cleaned up
    assert "Stopped by a termination signal (SIGTERM)" in text
    assert list(out.iterdir()) == []                               # no output, no staging
    # beside the inputs nothing of EO Lens (qgis_process itself opens INPUT before the plugin
    # runs, and GDAL may save QGIS's statistics there as .aux.xml: see input_sidecars.py)
    left = sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".aux.xml"))
    assert left == ["a.tif", "b.tif", "out", "profile"]
