"""One error translator (inference/errors.py), with messages the German UI shows translated."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import rasterio
from eolens.inference.errors import (N_, EOLensError, InputError, OutOfMemoryError,
                                     translate_error)

TS = Path(__file__).resolve().parents[1] / "i18n" / "eolens_de.ts"


@pytest.fixture(scope="module")
def german(tmp_path_factory):
    """The compiled German translation, installed like the plugin installs it."""
    lrelease = shutil.which("lrelease")
    if lrelease is None:
        pytest.skip("lrelease (Qt Linguist tools) is not installed")
    from qgis.PyQt.QtCore import QCoreApplication, QTranslator

    qm = tmp_path_factory.mktemp("qm") / "eolens_de.qm"
    subprocess.run([lrelease, "-silent", str(TS), "-qm", str(qm)], check=True)
    translator = QTranslator()
    assert translator.load(str(qm))
    QCoreApplication.installTranslator(translator)
    yield translator
    QCoreApplication.removeTranslator(translator)


def test_a_message_raised_in_inference_reaches_the_german_ui_translated(german, tmp_path):
    from eolens.inference.io.raster_read import capture_native
    from eolens.plugin.messages import describe

    path = tmp_path / "no_crs.tif"
    with rasterio.open(path, "w", driver="GTiff", width=4, height=4, count=3,
                       dtype="uint8") as ds:
        ds.write(np.ones((3, 4, 4), np.uint8))
    with pytest.raises(InputError) as caught:
        capture_native(path)
    assert str(caught.value) == f"Raster '{path}' has no CRS; assign one in Layer Properties."
    assert describe(caught.value) == (f"Das Raster „{path}“ hat kein KBS; weisen Sie in den "
                                      "Layereigenschaften eines zu.")


def test_unknown_model_from_the_runtime_is_translated_too(german):
    from eolens.inference.models.runtime import check_model
    from eolens.plugin.messages import describe

    with pytest.raises(EOLensError) as caught:
        check_model("no-such-model")
    assert describe(caught.value).startswith("Unbekanntes Modell „no-such-model“")


def test_untranslated_messages_stay_english(german):
    from eolens.plugin.messages import describe

    assert describe(InputError("Plain {braces} kept.")) == "Plain {braces} kept."
    err = InputError(N_("Not a known template {x}."), x=3)
    assert str(err) == "Not a known template 3." and describe(err) == str(err)


def test_out_of_memory_is_worded_once_for_every_caller():
    from eolens.plugin.messages import describe

    class FakeCudaOOM(RuntimeError):
        pass

    FakeCudaOOM.__name__ = "OutOfMemoryError"
    gpu = translate_error(FakeCudaOOM("CUDA out of memory. Tried to allocate 2 GiB"), "qwen3-vl-2b",
                          "cuda")
    host = translate_error(MemoryError())
    assert isinstance(gpu, OutOfMemoryError) and isinstance(host, OutOfMemoryError)
    assert str(gpu) == ("Not enough memory to run 'qwen3-vl-2b' on cuda; try a smaller area, a "
                        "smaller model or the CPU.")
    assert str(host) == "Not enough memory; try a smaller area, a smaller model or the CPU."
    assert describe(MemoryError()) == describe(host)  # the dock and Processing say the same
    assert translate_error(gpu) is gpu  # EO Lens errors pass through unchanged


def test_torch_dlls_that_fail_to_load_name_the_visual_cpp_runtime():
    """Windows without the VC++ runtime: torch's import raises WinError 1114 on c10.dll."""
    from eolens.plugin.messages import describe

    raw = OSError(r"[WinError 1114] A dynamic link library (DLL) initialization routine failed. "
                  r"Error loading 'C:\\QGIS\\eolens-packages\\torch\\lib\\c10.dll' or one of its dependencies.")
    text = describe(translate_error(raw, "florence-2-base", "cpu"))
    assert "Visual C++ Redistributable" in text and "https://aka.ms/vs/17/release/vc_redist.x64.exe" in text
    assert "Visual C++" not in describe(translate_error(OSError("No such file: 'x.bin'"), "m"))


def test_errors_survive_pickling_for_out_of_process_workers():
    import pickle

    err = InputError(N_("Raster '{path}' is empty (0 bytes)."), path="a.tif")
    again = pickle.loads(pickle.dumps(err))  # nosec B301: our own object, in a test
    assert type(again) is InputError and str(again) == str(err)
