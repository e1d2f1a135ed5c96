"""Device and dtype choice, and freeing device memory (torch imported lazily)."""
from __future__ import annotations

import gc
from typing import Any

from .errors import InputError, ModelError


def _mps_available(torch: Any) -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps and mps.is_available())


def pick_device(pref: str = "auto") -> tuple[str, Any]:
    """``auto`` = CUDA -> MPS -> CPU. Returns (device, dtype)."""
    import torch

    pref = (pref or "auto").strip().lower()
    if pref == "auto":
        pref = "cuda" if torch.cuda.is_available() else "mps" if _mps_available(torch) else "cpu"
    if pref.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ModelError("A CUDA GPU was requested but none is available; choose 'auto' or 'cpu'.")
        return pref, torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if pref == "mps":
        if not _mps_available(torch):
            raise ModelError("Apple MPS was requested but is not available; choose 'auto' or 'cpu'.")
        return "mps", torch.float32  # fp16 op coverage on MPS still has gaps
    if pref == "cpu":
        return "cpu", torch.float32
    raise InputError(f"Unknown device '{pref}'; use 'auto', 'cuda' or 'cpu'.")


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
