"""Which NVIDIA driver a CUDA build of torch needs, and which driver this machine has.

Standard library only: the installer uses it in QGIS's Python before torch is installed.

Source of both tables: NVIDIA CUDA Toolkit Release Notes, section "CUDA Driver"
(https://docs.nvidia.com/cuda/cuda-toolkit-release-notes/index.html), Table 2 "CUDA Toolkit and
Minimum Required Driver Version for CUDA Minor Version Compatibility" (with the exact 12.x values
of the 12.x release notes) and Table 3 "CUDA Toolkit and Corresponding Driver Versions"; see also
https://docs.nvidia.com/deploy/cuda-compatibility/minor-version-compatibility.html.
"""
from __future__ import annotations

import shutil
import subprocess  # nosec B404: runs nvidia-smi with a fixed argument list
import sys
from dataclasses import dataclass
from typing import Optional

# CUDA major -> (Linux x86_64, Windows) minimum driver under minor-version compatibility:
# a torch built with any CUDA X.y runs (without PTX JIT) on at least this driver (Table 2).
MINOR_COMPAT_MIN: dict[int, tuple[str, str]] = {
    11: ("450.80.02", "452.39"),
    12: ("525.60.13", "528.33"),
    13: ("580", "580"),
}
# CUDA major.minor of the torch wheels -> (Linux, Windows) driver the toolkit shipped with: full
# features, including kernels compiled just in time for GPUs newer than the wheel (Table 3, GA).
TOOLKIT_DRIVER: dict[tuple[int, int], tuple[str, Optional[str]]] = {
    (11, 8): ("520.61.05", "520.06"),
    (12, 1): ("530.30.02", "531.14"),
    (12, 4): ("550.54.14", "551.61"),
    (12, 6): ("560.28.03", "560.76"),
    (12, 8): ("570.26", "570.65"),
    (12, 9): ("575.51.03", "576.02"),
    (13, 0): ("580.65.06", None),
}


def parse_version(text: str) -> tuple[int, ...]:
    """'525.60.13' -> (525, 60, 13); a clear ValueError for anything else."""
    parts = str(text).strip().split(".")
    if not parts or not all(p.isdigit() for p in parts):
        raise ValueError(f"'{text}' is not a version number such as 525.60.13")
    return tuple(int(p) for p in parts)


@dataclass(frozen=True)
class DriverVerdict:
    """Whether ``driver`` can run a torch built with CUDA ``cuda``."""

    cuda: str
    driver: str
    needed: Optional[str]      # minimum driver (minor-version compatibility); None: unknown CUDA
    full: Optional[str]        # the toolkit's own driver (all features); None: not in the table
    ok: Optional[bool]         # None: this CUDA is newer than the table, so no verdict

    @property
    def partial(self) -> bool:
        """Runs, but older than the toolkit's driver (no JIT for GPUs newer than the wheel)."""
        return bool(self.ok and self.full and parse_version(self.driver) < parse_version(self.full))

    def text(self) -> str:
        """One sentence an analyst can act on."""
        if self.ok is None:
            return (f"EO Lens cannot tell whether NVIDIA driver {self.driver} suits CUDA {self.cuda} "
                    f"(newer than its table)")
        if not self.ok:
            return f"the NVIDIA driver {self.driver} is older than the {self.needed} that CUDA {self.cuda} needs"
        if self.partial:
            return (f"the NVIDIA driver {self.driver} runs CUDA {self.cuda} in compatibility mode; "
                    f"{self.full} or newer is recommended")
        return f"the NVIDIA driver {self.driver} suits CUDA {self.cuda}"


def driver_verdict(cuda: str, driver: str, windows: bool = sys.platform == "win32") -> DriverVerdict:
    """Compare ``driver`` (nvidia-smi's driver_version) with what CUDA ``cuda`` (torch.version.cuda,
    e.g. '12.8') needs; ValueError when either is not a version number."""
    version = parse_version(cuda)
    have = parse_version(driver)
    if len(version) < 2:
        raise ValueError(f"'{cuda}' is not a CUDA version such as 12.8")
    column = 1 if windows else 0
    needed = MINOR_COMPAT_MIN.get(version[0], (None, None))[column]
    drivers = TOOLKIT_DRIVER.get((version[0], version[1]))
    full = drivers[column] if drivers else None
    ok = None if needed is None else have >= parse_version(needed)
    return DriverVerdict(cuda, driver, needed, full, ok)


def nvidia_driver_version(timeout: float = 10.0) -> Optional[str]:
    """The NVIDIA driver version from ``nvidia-smi`` (first GPU), or None without a driver."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return None
    no_window = getattr(subprocess, "CREATE_NO_WINDOW", 0) if sys.platform == "win32" else 0
    try:
        out = subprocess.run([exe, "--query-gpu=driver_version", "--format=csv,noheader"],  # nosec B603
                             capture_output=True, text=True, timeout=timeout, creationflags=no_window)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = [ln.strip() for ln in out.stdout.splitlines() if ln.strip()]
    if out.returncode != 0 or not lines:
        return None
    try:
        parse_version(lines[0])
    except ValueError:
        return None
    return lines[0]


def cpu_reason(cuda: Optional[str], driver: Optional[str], warning: str = "",
               windows: bool = sys.platform == "win32", advice: bool = True) -> str:
    """Why a torch on this machine cannot use an NVIDIA GPU (torch.cuda.is_available() is False).

    ``cuda``: torch.version.cuda (None for a CPU-only build); ``driver``: nvidia-smi's version
    (None: no NVIDIA driver); ``warning``: what torch warned while looking for the GPU;
    ``advice``: end a too-old driver's reason with "; update the driver"."""
    if cuda is None:
        return "this torch is a CPU-only build" + (f" although NVIDIA driver {driver} is present"
                                                   if driver else "")
    if driver is None:
        return "no NVIDIA GPU found"
    verdict = driver_verdict(cuda, driver, windows)
    if verdict.ok is False:
        return verdict.text() + ("; update the driver" if advice else "")
    why = " ".join(warning.split())[:200]
    said = f'; torch says "{why}"' if why else ""
    return f"torch cannot start CUDA {cuda} on the NVIDIA GPU (driver {driver}{said})"
