"""Device choice says why: CPU-only torch, no NVIDIA GPU, a driver older than the wheel, MPS.

torch's CUDA functions are patched (this machine has no GPU); nvidia-smi is a real executable
script on PATH, so the driver query runs through a real subprocess."""
from __future__ import annotations

import os
import stat
import warnings

import pytest

from eolens.inference.models import cuda_driver, devices, runtime
from eolens.inference.errors import InputError, ModelError

torch = pytest.importorskip("torch")


def _fake_nvidia_smi(folder, monkeypatch, driver: str = "", rc: int = 0) -> None:
    """Put an ``nvidia-smi`` that prints ``driver`` (and exits ``rc``) first on PATH."""
    exe = folder / "nvidia-smi"
    exe.write_text(f"#!/bin/sh\necho '{driver}'\nexit {rc}\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")


@pytest.fixture
def machine(monkeypatch, tmp_path):
    """A torch whose CUDA build, GPU, MPS and driver a test sets; the probes start afresh."""
    try:   # torchvision compares its CUDA with torch's when first imported: import it unpatched
        import torchvision  # noqa: F401
    except ImportError:
        pass
    state = {"cuda": "12.8", "gpu": None, "mps": False, "warning": ""}

    def is_available() -> bool:
        if state.get("warning"):    # like torch: the warning comes once per process
            warnings.warn(state.pop("warning"), UserWarning, stacklevel=2)
        return state["gpu"] is not None

    monkeypatch.setattr(torch.version, "cuda", state["cuda"])
    monkeypatch.setattr(torch.cuda, "is_available", is_available)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: state["gpu"])
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    monkeypatch.setattr(devices, "_mps_available", lambda _torch: state["mps"])
    monkeypatch.setitem(devices._PROBE, "done", False)
    monkeypatch.setitem(devices._PROBE, "warning", "")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))   # no nvidia-smi unless a test adds one
    devices._driver.cache_clear()
    yield state, monkeypatch
    devices._driver.cache_clear()


def _set(machine, **changes):
    state, monkeypatch = machine
    state.update(changes)
    monkeypatch.setattr(torch.version, "cuda", state["cuda"])


def test_cpu_only_build_says_so(machine):
    _set(machine, cuda=None)
    choice = devices.explain_device("auto")
    assert (choice.device, choice.dtype) == ("cpu", torch.float32)
    assert choice.reason == "this torch is a CPU-only build"
    assert choice.describe() == "Running on CPU (this torch is a CPU-only build)"


def test_cpu_only_build_beside_an_nvidia_driver_says_both(machine, tmp_path):
    _set(machine, cuda=None)
    _fake_nvidia_smi(tmp_path, machine[1], "570.86.10")
    assert cuda_driver.cpu_reason(None, cuda_driver.nvidia_driver_version()) == \
        "this torch is a CPU-only build although NVIDIA driver 570.86.10 is present"


def test_cuda_build_without_a_gpu_says_no_nvidia_gpu(machine):
    choice = devices.explain_device("auto")
    assert choice.device == "cpu" and choice.reason == "no NVIDIA GPU found"
    assert devices.pick_device("auto") == ("cpu", torch.float32)   # the old signature still works


def test_driver_older_than_the_wheel_names_both_versions(machine, tmp_path):
    _set(machine, warning="CUDA initialization: The NVIDIA driver on your system is too old "
                          "(found version 11040).")
    _fake_nvidia_smi(tmp_path, machine[1], "470.82.01")
    choice = devices.explain_device("auto")
    assert choice.device == "cpu"
    assert choice.reason == ("the NVIDIA driver 470.82.01 is older than the 525.60.13 that CUDA 12.8 "
                             "needs; update the driver")
    with pytest.raises(ModelError, match=r"470\.82\.01 is older than the 525\.60\.13"):
        devices.explain_device("cuda")


def test_new_enough_driver_that_still_fails_quotes_torch(machine, tmp_path):
    _set(machine, warning="CUDA initialization: CUDA unknown error - this may be due to an "
                          "incorrectly set up environment")
    _fake_nvidia_smi(tmp_path, machine[1], "570.86.10")
    reason = devices.explain_device("auto").reason
    assert "driver 570.86.10" in reason and "CUDA unknown error" in reason
    assert "older" not in reason


def test_explicit_cuda_without_one_is_a_clear_error(machine):
    with pytest.raises(ModelError, match="CUDA GPU was requested but cannot be used: no NVIDIA GPU found"):
        devices.explain_device("cuda")


def test_a_visible_gpu_is_named(machine):
    _set(machine, gpu="NVIDIA Test GPU")
    choice = devices.explain_device("auto")
    assert (choice.device, choice.dtype, choice.reason) == ("cuda", torch.bfloat16, "")
    assert choice.describe() == "Running on GPU (NVIDIA Test GPU)"
    assert devices.explain_device("cuda:0").device == "cuda:0"


def test_mps_is_used_when_cuda_is_not(machine):
    _set(machine, cuda=None, mps=True)
    choice = devices.explain_device("auto")
    assert choice.device == "mps" and choice.describe() == "Running on Apple GPU (MPS)"


def test_cpu_chosen_and_unknown_devices(machine):
    assert devices.explain_device("CPU").describe() == "Running on CPU (CPU chosen in the settings)"
    with pytest.raises(InputError, match="Unknown device 'tpu'"):
        devices.explain_device("tpu")
    _set(machine, mps=False)
    with pytest.raises(ModelError, match="MPS"):
        devices.explain_device("mps")


@pytest.mark.parametrize("printed,rc,expected", [
    ("535.104.05", 0, "535.104.05"),
    ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver", 9, None),
    ("garbage", 0, None),
])
def test_driver_version_comes_from_nvidia_smi(tmp_path, monkeypatch, printed, rc, expected):
    _fake_nvidia_smi(tmp_path, monkeypatch, printed, rc)
    assert cuda_driver.nvidia_driver_version() == expected


def test_no_nvidia_smi_means_no_driver(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert cuda_driver.nvidia_driver_version() is None


@pytest.mark.parametrize("cuda,driver,windows,ok,needed", [
    ("12.8", "470.82.01", False, False, "525.60.13"),
    ("12.8", "525.60.13", False, True, "525.60.13"),
    ("12.8", "528.24", True, False, "528.33"),       # Windows has its own column
    ("12.8", "528.33", True, True, "528.33"),
    ("13.0", "575.57.08", False, False, "580"),
    ("13.0", "580.65.06", False, True, "580"),
    ("11.8", "450.80.02", False, True, "450.80.02"),
    ("14.0", "600.10", False, None, None),           # newer than the table: no verdict
])
def test_driver_verdict_table(cuda, driver, windows, ok, needed):
    verdict = cuda_driver.driver_verdict(cuda, driver, windows)
    assert (verdict.ok, verdict.needed) == (ok, needed)


def test_compatibility_mode_recommends_the_toolkit_driver():
    verdict = cuda_driver.driver_verdict("12.8", "550.54.14", windows=False)
    assert verdict.ok and verdict.partial
    assert verdict.text() == ("the NVIDIA driver 550.54.14 runs CUDA 12.8 in compatibility mode; "
                              "570.26 or newer is recommended")
    assert not cuda_driver.driver_verdict("12.8", "570.86.10", windows=False).partial


@pytest.mark.parametrize("cuda,driver", [("12.8", "five-hundred"), ("12", "570.1"), ("", "570.1")])
def test_driver_verdict_rejects_non_versions(cuda, driver):
    with pytest.raises(ValueError, match="version"):
        cuda_driver.driver_verdict(cuda, driver)


def test_each_load_leaves_one_device_note(tiny_models, no_network):
    florence = str(tiny_models.path("florence2"))
    runtime.unload()
    runtime.take_device_notes()
    runtime.load_model(florence, device="cpu")
    runtime.load_model(florence, device="cpu")            # cached: no second note
    notes = runtime.take_device_notes()
    assert notes == [f"Model '{florence}' loaded. Running on CPU (CPU chosen in the settings)."]
    assert runtime.take_device_notes() == []
    assert runtime.last_device().device == "cpu"
    runtime.unload()


def test_dock_and_log_say_where_a_caption_ran(gui, qtbot, tiny_models, sample_dir, no_network,
                                              machine, tmp_path):
    """A CUDA 12.8 torch beside a 470 driver: the real Caption button runs on the CPU, and the dock
    and the QGIS message log say so and why (logged once per load, not per run)."""
    from qgis.core import QgsApplication

    from tests.gui_helpers import add_raster, plugin_settings, wait_idle

    _set(machine, warning="CUDA initialization: The NVIDIA driver on your system is too old "
                          "(found version 11040).")
    _fake_nvidia_smi(tmp_path, machine[1], "470.82.01")
    iface, plugin = gui
    runtime.unload()
    runtime.take_device_notes()
    logged: list[str] = []
    log = QgsApplication.messageLog()
    log.messageReceived.connect(lambda text, tag, _level: logged.append(text) if tag == "EO Lens" else None)
    florence = str(tiny_models.path("florence2"))
    dock = plugin.dock
    dock.layer_combo.setLayer(add_raster(sample_dir / "rasterio_RGB.byte.tif"))
    dock.area_combo.setCurrentIndex(1)   # whole layer
    assert dock.device_label.isHidden()  # nothing loaded yet: nothing to say
    with plugin_settings(model_caption=florence, device="auto", max_side=256):
        for _ in range(2):               # the second caption reuses the loaded model
            dock.chat.caption_button.click()
            wait_idle(qtbot, dock)
    assert iface.errors() == []
    expected = ("Running on CPU (the NVIDIA driver 470.82.01 is older than the 525.60.13 that "
                "CUDA 12.8 needs; update the driver)")
    assert dock.device_label.text() == expected and not dock.device_label.isHidden()
    assert dock.widget().minimumSizeHint().width() < 500       # the long reason wraps, never widens
    assert [t for t in logged if "loaded" in t] == [f"Model '{florence}' loaded. {expected}."]
