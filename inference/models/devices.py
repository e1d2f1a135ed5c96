"""Device and dtype choice (and why), and freeing device memory (torch imported lazily)."""
from __future__ import annotations

import gc
import threading
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Optional

from . import cuda_driver
from ..errors import InputError, ModelError


@dataclass(frozen=True)
class DeviceChoice:
    """Where models run, in which dtype, and in plain words why (``reason`` explains a CPU)."""

    device: str
    dtype: Any
    name: str = ""      # the GPU's name ("NVIDIA GeForce RTX 4090"), when on a GPU
    reason: str = ""    # why not the NVIDIA GPU: "no NVIDIA GPU found", "this torch is a CPU-only build"

    def describe(self) -> str:
        """'Running on CPU (no NVIDIA GPU found)', 'Running on GPU (NVIDIA …)', …"""
        if self.device.startswith("cuda"):
            where = f"GPU ({self.name})" if self.name else "GPU"
        elif self.device == "mps":
            where = "Apple GPU (MPS)"
        else:
            where = "CPU"
        return f"Running on {where}" + (f" ({self.reason})" if self.reason else "")


def _mps_available(torch: Any) -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps and mps.is_available())


def _cuda_available(torch: Any) -> tuple[bool, str]:
    """torch.cuda.is_available() and the warning torch gave the first time it was asked (e.g. "The
    NVIDIA driver on your system is too old"): torch warns once per process, so that text is kept.
    Warnings are caught on the first call only (catch_warnings is not thread-safe)."""
    with _PROBE_LOCK:
        if not _PROBE["done"]:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                available = bool(torch.cuda.is_available())
            _PROBE.update(done=True, warning=" ".join(str(w.message) for w in caught))
            return available, _PROBE["warning"]
    return bool(torch.cuda.is_available()), _PROBE["warning"]


_PROBE: dict[str, Any] = {"done": False, "warning": ""}
_PROBE_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _driver() -> Optional[str]:
    """nvidia-smi's driver version, asked once per session (only when CUDA did not start)."""
    return cuda_driver.nvidia_driver_version()


def _cuda_choice(torch: Any, pref: str) -> DeviceChoice:
    index = int(pref.split(":", 1)[1]) if ":" in pref else 0
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return DeviceChoice(pref, dtype, torch.cuda.get_device_name(index))


def _why_not_cuda(torch: Any, warning: str) -> str:
    cuda = getattr(torch.version, "cuda", None)
    return cuda_driver.cpu_reason(cuda, _driver() if cuda else None, warning)


def explain_device(pref: str = "auto") -> DeviceChoice:
    """``auto`` = CUDA -> MPS -> CPU, with the reason when the NVIDIA GPU is not used.

    An explicit 'cuda' or 'mps' that is not available is a ModelError saying why."""
    import torch

    pref = (pref or "auto").strip().lower()
    if pref not in ("auto", "cpu", "mps") and not pref.startswith("cuda"):
        raise InputError(f"Unknown device '{pref}'; use 'auto', 'cuda', 'mps' or 'cpu'.")
    if pref == "cpu":
        return DeviceChoice("cpu", torch.float32, reason="CPU chosen in the settings")
    if pref == "mps":
        if not _mps_available(torch):
            raise ModelError("Apple MPS was requested but is not available; choose 'auto' or 'cpu'.")
        return DeviceChoice("mps", torch.float32)  # fp16 op coverage on MPS still has gaps
    available, warning = _cuda_available(torch)
    if available:
        return _cuda_choice(torch, "cuda" if pref == "auto" else pref)
    reason = _why_not_cuda(torch, warning)
    if pref != "auto":
        raise ModelError(f"A CUDA GPU was requested but cannot be used: {reason}. "
                         f"Choose 'auto' or 'cpu'.")
    if _mps_available(torch):
        return DeviceChoice("mps", torch.float32)
    return DeviceChoice("cpu", torch.float32, reason=reason)


def pick_device(pref: str = "auto") -> tuple[str, Any]:
    """``auto`` = CUDA -> MPS -> CPU. Returns (device, dtype); :func:`explain_device` says why."""
    choice = explain_device(pref)
    return choice.device, choice.dtype


def free_device_memory() -> None:
    """Collect dropped models and hand cached GPU blocks back to the driver."""
    gc.collect()
    import sys

    torch = sys.modules.get("torch")  # nothing to free if torch was never loaded
    if torch is None:
        return
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    if _mps_available(torch) and hasattr(torch, "mps"):
        torch.mps.empty_cache()
