"""Keep triton out of a process that already holds Mesa's LLVM (a Qt/OpenGL GUI such as QGIS).

Qt's OpenGL under Mesa (Intel/AMD on Linux, Xvfb) loads libLLVM; triton's libtriton.so carries its
own LLVM, and loading both segfaults the process the first time transformers imports torch._dynamo.
EO Lens never uses torch.compile, so torch simply runs without triton. ``runtime.load_model`` calls
this before anything imports torch.
"""
from __future__ import annotations

import sys

_checked = False


def mesa_llvm_loaded(maps_path: str = "/proc/self/maps") -> bool:
    """True when Mesa's libLLVM is mapped into this process (Linux; False elsewhere)."""
    try:
        with open(maps_path, encoding="utf-8", errors="replace") as fh:
            return any("libLLVM" in line for line in fh)
    except OSError:  # not Linux
        return False


def prepare_torch_import() -> bool:
    """Call before torch is first imported; True when triton was blocked."""
    global _checked
    if _checked or "triton" in sys.modules:
        return sys.modules.get("triton", 0) is None
    _checked = True
    if mesa_llvm_loaded():
        # `import triton` now raises ImportError; torch copes. None in sys.modules is the documented
        # way to block an import, but typeshed types the values as ModuleType only.
        sys.modules["triton"] = None  # type: ignore[assignment]
        return True
    return False
