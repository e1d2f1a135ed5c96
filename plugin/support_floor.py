"""Which QGIS Pythons and CPUs EO Lens's pinned packages have wheels for, and the check against them.

Standard library only, no qgis, and Python 3.7-compatible syntax: the installer runs this file with
QGIS's own interpreter (``python support_floor.py`` prints that interpreter's facts as JSON) and the
plugin must still load on an old QGIS to say why it cannot install. The facts below are proven
against the package index by ``tests/test_wheel_matrix.py``; ``tools/support_matrix.py`` prints the
README's table from the same dry runs.
"""
from __future__ import annotations

import json
import platform as _platform
import subprocess  # nosec B404: probes QGIS's own interpreter with an argument list
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Tuple

# transformers 5.24 requires Python >= 3.11 and torch 2.14.1 has wheels for cp310-cp314 only
# (see PYTHON_LIMITS and the README's matrix, which tests/test_wheel_matrix.py checks).
MIN_PYTHON = (3, 11)
# Every Python the matrix resolves (each supported platform); newer ones are not refused.
SUPPORTED_PYTHONS = ("3.11", "3.12", "3.13", "3.14")
# The Pythons the matrix proves unsupported, with the package that stops them.
PYTHON_LIMITS = {
    "3.9": "PyTorch 2.14.1 has no wheel for Python 3.9 and transformers 5.24 needs Python 3.11 or newer",
    "3.10": "transformers 5.24 needs Python 3.11 or newer",
}

WORKING_QGIS = (
    "QGIS versions that work: on Windows (x86-64) QGIS 3.34.6 or newer, OSGeo4W or the standalone "
    "installer (Python 3.12; QGIS 3.22 to 3.32 and 3.34.0 to 3.34.5 bring Python 3.9); on macOS the "
    "official installer from QGIS 3.44 on, run natively on an Apple Silicon Mac with macOS 14 or newer "
    "(Python 3.12; the older Intel-only bundles bring Python 3.9); on Linux (x86-64 or arm64) any QGIS "
    "whose Python is 3.11 or newer: Debian 12 (QGIS 3.22 from Debian, 3.34 to 3.44 from qgis.org), "
    "Debian 13, Ubuntu 24.04 and newer, not Ubuntu 22.04 (Python 3.10).")

ROSETTA = ("This QGIS is an Intel build running under Rosetta on an Apple Silicon Mac; PyTorch has no "
           "wheel for it: install the Apple Silicon (arm64) QGIS build.")


@dataclass(frozen=True)
class Platform:
    """One operating system and CPU as pip and ``platform.machine()`` name them."""

    key: str
    label: str
    sys_platform: str
    machine: str  # normalised: x86_64 or arm64
    pip_tags: Tuple[str, ...]  # the --platform tags of the dry run (pip does not widen manylinux)
    supported: bool
    why_not: str = ""
    min_os: Tuple[int, ...] = ()  # macOS: the oldest release PyTorch's wheel is built for


def _manylinux(arch: str, newest_glibc: int = 35) -> Tuple[str, ...]:
    """Every manylinux tag up to glibc 2.``newest_glibc`` (Ubuntu 22.04), legacy aliases included."""
    tags = tuple("manylinux_2_%d_%s" % (minor, arch) for minor in range(newest_glibc, 4, -1))
    return tags + ("manylinux2014_" + arch,) + (("manylinux2010_" + arch, "manylinux1_" + arch)
                                                 if arch == "x86_64" else ())


PLATFORMS = (
    Platform("windows-x86_64", "Windows x86-64", "win32", "x86_64", ("win_amd64",), True),
    Platform("macos-arm64", "macOS Apple Silicon (arm64)", "darwin", "arm64",
             ("macosx_14_0_arm64",), True, min_os=(14, 0)),
    Platform("macos-x86_64", "macOS Intel (x86-64)", "darwin", "x86_64", ("macosx_14_0_x86_64",), False,
             "PyTorch 2.14 has no wheel for Intel Macs (its last one was 2.2)"),
    Platform("linux-x86_64", "Linux x86-64", "linux", "x86_64", _manylinux("x86_64"), True),
    Platform("linux-arm64", "Linux arm64 (aarch64)", "linux", "arm64", _manylinux("aarch64"), True),
)

_MACHINES = {"amd64": "x86_64", "x86_64": "x86_64", "x64": "x86_64", "arm64": "arm64",
             "aarch64": "arm64", "armv8": "arm64"}


@dataclass(frozen=True)
class Interpreter:
    """What decides the wheels an interpreter can install."""

    version: Tuple[int, int]
    platform: str  # sys.platform
    machine: str  # platform.machine()
    translated: bool = False  # macOS: runs under Rosetta 2
    os_release: Tuple[int, ...] = ()  # macOS: platform.mac_ver()


def find_platform(sys_platform: str, machine: str) -> Optional[Platform]:
    """The known platform for ``sys.platform`` and ``platform.machine()``, or None."""
    system = "linux" if sys_platform.startswith("linux") else sys_platform
    cpu = _MACHINES.get(machine.lower(), machine.lower())
    return next((p for p in PLATFORMS if p.sys_platform == system and p.machine == cpu), None)


def supported_labels() -> str:
    return ", ".join(p.label for p in PLATFORMS if p.supported)


def check_floor(python_version: Sequence[int], platform: str, machine: str, translated: bool = False,
                os_release: Sequence[int] = ()) -> Optional[str]:
    """Why EO Lens's packages cannot be installed for this interpreter, or None when they can.

    ``python_version`` is (major, minor), ``platform`` is ``sys.platform``, ``machine`` is
    ``platform.machine()``, ``translated`` is True under Rosetta 2 and ``os_release`` is macOS's
    version (checked when given).
    """
    if translated:
        return ROSETTA
    found = find_platform(platform, machine)
    if found is None:
        return ("EO Lens cannot install PyTorch on {0} {1}: its packages have wheels only for {2}. {3}"
                .format(platform, machine, supported_labels(), WORKING_QGIS))
    if not found.supported:
        return "EO Lens cannot run on {0}: {1}. {2}".format(found.label, found.why_not, WORKING_QGIS)
    version = tuple(python_version[:2])
    if version < MIN_PYTHON:
        key = "%d.%d" % version
        why = PYTHON_LIMITS.get(key, "EO Lens's packages need Python %d.%d or newer" % MIN_PYTHON)
        return ("This QGIS runs Python {0}; EO Lens needs Python {1}.{2} or newer ({3}). {4}"
                .format(key, MIN_PYTHON[0], MIN_PYTHON[1], why, WORKING_QGIS))
    if found.min_os and os_release and tuple(os_release) < found.min_os:
        return ("This Mac runs macOS {0}; PyTorch 2.14's Apple Silicon wheel needs macOS {1} or newer."
                .format(".".join(map(str, os_release)), ".".join(map(str, found.min_os))))
    return None


def rosetta_translated() -> bool:
    """True when this process is an Intel (x86_64) build running under Rosetta 2 on Apple Silicon."""
    return sys.platform == "darwin" and _proc_translated() == 1


def _proc_translated() -> int:
    """``sysctl.proc_translated``: 1 translated, 0 native, -1 unknown (Intel Macs lack the key)."""
    try:
        import ctypes

        value, size = ctypes.c_int(0), ctypes.c_size_t(ctypes.sizeof(ctypes.c_int))
        libc = ctypes.CDLL("/usr/lib/libSystem.B.dylib")
        if libc.sysctlbyname(b"sysctl.proc_translated", ctypes.byref(value), ctypes.byref(size),
                             None, ctypes.c_size_t(0)) == 0:
            return value.value
        return -1
    except (OSError, AttributeError):
        return _sysctl_command()


def _hidden_window_kwargs() -> dict:
    """platform_env's flags (no console window on Windows); none when this file runs as the
    probe's script, outside the package."""
    try:
        from .platform_env import hidden_window_kwargs
    except ImportError:
        return {}
    return hidden_window_kwargs()


def _sysctl_command() -> int:
    try:
        out = subprocess.run(["/usr/sbin/sysctl", "-n", "sysctl.proc_translated"],  # nosec B603
                             capture_output=True, text=True, timeout=5, **_hidden_window_kwargs())
    except (OSError, subprocess.SubprocessError):
        return -1
    return int(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip().isdigit() else -1


def this_interpreter() -> Interpreter:
    """The facts of the running interpreter."""
    release = _platform.mac_ver()[0] if sys.platform == "darwin" else ""
    return Interpreter(tuple(sys.version_info[:2]), sys.platform, _platform.machine(),
                       rosetta_translated(), tuple(int(p) for p in release.split(".") if p.isdigit()))


def probe(python: str, env: Optional[dict] = None, timeout: float = 60) -> Optional[Interpreter]:
    """The facts of another interpreter (QGIS's Python), from running this file with it in ``env``;
    None if it cannot be run."""
    try:
        out = subprocess.run([python, str(Path(__file__).resolve())], capture_output=True,  # nosec B603
                             text=True, timeout=timeout, env=env, **_hidden_window_kwargs())
        facts = json.loads(out.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None
    return Interpreter(tuple(facts["version"]), facts["platform"], facts["machine"],
                       bool(facts["translated"]), tuple(facts["os_release"]))


def refusal(python: str, env: Optional[dict] = None) -> Optional[str]:
    """Why EO Lens cannot install into ``python`` (QGIS's interpreter), or None (also when the
    interpreter cannot be probed: pip then reports that itself)."""
    facts = probe(python, env)
    if facts is None:
        return None
    return check_floor(facts.version, facts.platform, facts.machine, facts.translated, facts.os_release)


def _facts_json() -> str:
    facts = this_interpreter()
    return json.dumps({"version": list(facts.version), "platform": facts.platform,
                       "machine": facts.machine, "translated": facts.translated,
                       "os_release": list(facts.os_release)})


if __name__ == "__main__":
    print(_facts_json())
