"""Which (platform, Python) pairs EO Lens's pinned packages resolve to wheels for: pip dry runs.

    .venv/bin/python -m tools.support_matrix            # the README's "Supported platforms" table
    .venv/bin/python -m tools.support_matrix --json F   # the same results as JSON

Each pair is one ``pip install --dry-run --only-binary=:all: --platform … --python-version …`` of
requirements.txt with constraints.txt against PyPI. Two things pip does not do by itself:
- environment markers (``triton; platform_system == "Linux"``, ``rasterio; sys_platform == "win32"``)
  are evaluated for the machine pip runs on, not for ``--platform``; pip is run here with its
  vendored ``packaging`` told the target's marker environment instead;
- ``--platform manylinux_2_28_x86_64`` does not accept older manylinux wheels, so every manylinux tag
  up to the target glibc is passed (support_floor.PLATFORMS).
numpy is left to a range a QGIS with that Python has (the installer pins QGIS's own numpy): below 2
up to Python 3.12 (Debian 12: 1.24, Ubuntu 24.04: 1.26), 2 or newer from 3.13 (no numpy 1.x wheel
exists for it; Debian 13: 2.2). pip talks to the index through tools/metadata_index.py, which
serves the index's own pages and every wheel's METADATA (PEP 658, cached on disk by hash), so no
wheel is downloaded and the pairs share what they read, whatever pip version the venv has.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import subprocess  # nosec B404: runs pip with this interpreter, argument lists only
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence

REPO = Path(__file__).resolve().parents[1]


def _load_floor():
    """plugin/support_floor.py by path (stdlib only): the tool runs without QGIS or the package."""
    spec = importlib.util.spec_from_file_location("eolens_support_floor", REPO / "plugin" / "support_floor.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


support_floor = sys.modules.get("eolens_support_floor") or _load_floor()
from tools.metadata_index import MetadataIndex  # noqa: E402
Platform = support_floor.Platform

INDEX = "https://pypi.org/simple"
REQUIREMENTS = REPO / "requirements.txt"
CONSTRAINTS = REPO / "constraints.txt"
CHECKED_PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13", "3.14")
# pip settings that would point the dry run elsewhere than the real index (this machine's
# /etc/xdg/pip caps torch and adds a local wheel folder); kept: certificates, proxy, timeouts.
KEEP_PIP_ENV = ("PIP_CERT", "PIP_CLIENT_CERT", "PIP_PROXY", "PIP_TRUSTED_HOST", "PIP_DEFAULT_TIMEOUT",
                "PIP_RETRIES")
MIN_PIP = (23, 1)
NEWER_PIP = "pip>=24.1"
PIP_WITH_MARKERS = r"""
import json, sys
from pip._vendor.packaging import markers
target, base = json.loads(sys.argv[1]), markers.default_environment
def default_environment():
    env = base()
    env.update(target)
    return env
markers.default_environment = default_environment
from pip._internal.cli.main import main
sys.exit(main(sys.argv[2:]))
"""


@dataclass
class Resolution:
    """One dry run: did the pinned set resolve to wheels for this platform and Python?"""

    platform: str
    python: str
    ok: bool
    versions: dict = field(default_factory=dict)  # distribution name -> version
    wheels: list = field(default_factory=list)  # wheel file names
    reason: str = ""  # why not, in a few words
    seconds: float = 0.0


def numpy_range(python: str) -> str:
    """The numpy a QGIS on this Python can have (the installer pins QGIS's own one)."""
    return "numpy<2" if _version(python) <= (3, 12) else "numpy>=2"


def marker_environment(platform: Platform, python: str) -> dict:
    """PEP 508 marker values of a CPython ``python`` on ``platform``."""
    system = {"win32": "Windows", "darwin": "Darwin", "linux": "Linux"}[platform.sys_platform]
    machine = {("win32", "x86_64"): "AMD64", ("linux", "arm64"): "aarch64"}.get(
        (platform.sys_platform, platform.machine), platform.machine)
    return {"sys_platform": platform.sys_platform, "platform_system": system,
            "platform_machine": machine, "os_name": "nt" if system == "Windows" else "posix",
            "python_version": python, "python_full_version": python + ".0",
            "implementation_name": "cpython", "implementation_version": python + ".0",
            "platform_python_implementation": "CPython"}


def pip_command(platform: Platform, python: str, work: Path, index: str = INDEX,
                requirements: Path = REQUIREMENTS, constraints: Path = CONSTRAINTS) -> list[str]:
    """The dry run for one pair; its report goes to ``work/report.json``."""
    extra = work / "numpy-constraint.txt"
    extra.write_text(numpy_range(python) + "\n", encoding="utf-8")
    cmd = [sys.executable, "-c", PIP_WITH_MARKERS, json.dumps(marker_environment(platform, python)),
           "install", "--dry-run", "--ignore-installed", "--only-binary=:all:", "--no-input",
           "--disable-pip-version-check", "--quiet", "--index-url", index,
           "--trusted-host", urllib.parse.urlsplit(index).hostname,
           "--python-version", python, "--implementation", "cp", "--target", str(work / "target"),
           "--report", str(work / "report.json"), "-r", str(requirements), "-c", str(constraints),
           "-c", str(extra)]
    for tag in platform.pip_tags:
        cmd += ["--platform", tag]
    return cmd


def pip_environment(pip_dir: str = "") -> dict:
    """No pip configuration but certificates and proxy; ``pip_dir`` goes first on PYTHONPATH."""
    env = {k: v for k, v in os.environ.items()
           if (not k.startswith("PIP_") or k in KEEP_PIP_ENV) and k != "PYTHONPATH"}
    env.update(PIP_CONFIG_FILE=os.devnull, PYTHONNOUSERSITE="1")
    if pip_dir:
        env["PYTHONPATH"] = pip_dir
    return env


def pip_folder(cache: Path) -> str:
    """"" when this interpreter's pip reads PEP 658 metadata correctly, else a folder holding a newer
    pip, downloaded from the index once (Debian 12's venvs have pip 23.0.1, which rejects metadata
    whose Name is spelled otherwise than the requirement, e.g. Jinja2 for jinja2)."""
    if pip_version() >= MIN_PIP:
        return ""
    found = sorted(cache.glob("pip-*/pip/__init__.py"))
    if found:
        return str(found[-1].parents[1])
    with tempfile.TemporaryDirectory(prefix="eolens-pip-") as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",  # nosec B603
                        "--disable-pip-version-check", "--index-url", INDEX, "--dest", tmp, NEWER_PIP],
                       check=True, capture_output=True, text=True, env=pip_environment(), timeout=300)
        wheel = next(Path(tmp).glob("pip-*.whl"))
        folder = cache / wheel.name[: -len("-py3-none-any.whl")]
        zipfile.ZipFile(wheel).extractall(Path(tmp) / "x")
        cache.mkdir(parents=True, exist_ok=True)
        os.replace(Path(tmp) / "x", folder)
    return str(folder)


def pip_version(pip_dir: str = "") -> tuple:
    """The version of the pip this interpreter runs (from ``pip_dir`` when given)."""
    out = subprocess.run([sys.executable, "-c", "import pip; print(pip.__version__)"],  # nosec B603
                         capture_output=True, text=True, env=pip_environment(pip_dir), timeout=60)
    return _version(out.stdout)


def resolve(platform: Platform, python: str, index: str = INDEX, pip_dir: str = "",
            requirements: Path = REQUIREMENTS, constraints: Path = CONSTRAINTS,
            timeout: float = 900, retries: int = 2) -> Resolution:
    """Dry-run the pinned set for one (platform, Python) pair against ``index``; a pip crash
    (not a resolution) is tried again up to ``retries`` times."""
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="eolens-matrix-") as tmp:
        work = Path(tmp)
        cmd = pip_command(platform, python, work, index, requirements, constraints)
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, env=pip_environment(pip_dir),  # nosec B603
                                 timeout=timeout)
        except subprocess.TimeoutExpired:
            return Resolution(platform.key, python, False, reason="pip timed out",
                              seconds=time.monotonic() - start)
        if out.returncode != 0 and PIP_CRASH in out.stderr and retries:
            # pip's own crash (a dropped connection mid-download), not a verdict on the wheels
            return resolve(platform, python, index, pip_dir, requirements, constraints, timeout,
                           retries - 1)
        report = work / "report.json"
        if out.returncode != 0 or not report.exists():
            return Resolution(platform.key, python, False, reason=failure_reason(out.stderr),
                              seconds=time.monotonic() - start)
        installs = json.loads(report.read_text(encoding="utf-8"))["install"]
    versions = {i["metadata"]["name"].lower(): i["metadata"]["version"] for i in installs}
    wheels = sorted(i["download_info"]["url"].rsplit("/", 1)[-1] for i in installs)
    return Resolution(platform.key, python, True, versions, wheels, seconds=time.monotonic() - start)


PIP_CRASH = "ERROR: Exception:"  # pip's header above a traceback of its own


def failure_reason(stderr: str) -> str:
    """pip's refusal in a few words: which requirement has no wheel, and its Python range if that
    is why."""
    missing = re.findall(r"No matching distribution found for (\S+)", stderr)
    if not missing:
        lines = [ln for ln in stderr.splitlines() if ln.startswith("ERROR")] or stderr.strip().splitlines()
        return (lines[-1] if lines else "pip failed")[:200]
    req = missing[-1]
    name, _, pinned = req.partition("==")
    ignored = re.search(r"require a different python version: (.*)", stderr)
    needs = re.search(re.escape(pinned) + r" Requires-Python (\S+?)[;\s]", ignored.group(1) + ";") \
        if ignored and pinned else None
    return f"{req}: needs Python {needs.group(1)}" if needs else f"{req}: no wheel"


def resolve_all(pairs: Iterable[tuple], workers: int = 8, cache: Optional[Path] = None) -> list[Resolution]:
    """Dry runs of many (platform, Python) pairs in parallel against the real index, through one
    metadata server (tools/metadata_index.py) that they share."""
    pairs, cache = list(pairs), cache or cache_dir()
    pip_dir = pip_folder(cache)
    views = {p.key: wheel_filter(p) for p in support_floor.PLATFORMS}
    with MetadataIndex(INDEX, cache / "wheel-metadata", views) as index, \
            ThreadPoolExecutor(max_workers=max(1, min(workers, len(pairs)))) as pool:
        return list(pool.map(lambda pair: resolve(*pair, index=index.url(pair[0].key), pip_dir=pip_dir),
                             pairs))


def wheel_filter(platform: Platform):
    """Keeps the wheels that could be for ``platform``'s OS and CPU (a loose superset of what pip's
    tag check accepts: pip still decides), so pip parses a fraction of each index page."""
    os_prefix = {"win32": "win", "darwin": "macosx", "linux": "manylinux"}[platform.sys_platform]
    arches = {"x86_64": ("x86_64", "amd64", "intel", "universal", "universal2"),
              "arm64": ("arm64", "aarch64", "universal", "universal2")}[platform.machine]

    def keep(filename: str) -> bool:
        tags = filename[: -len(".whl")].rsplit("-", 1)[-1].split(".")
        return any(t == "any" or (t.startswith(os_prefix) and t.endswith(arches)) for t in tags)

    return keep


def cache_dir() -> Path:
    """Wheel METADATA read from the index (by sha256: it never changes) and a newer pip if needed."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "eolens" / "support-matrix"


def all_pairs(pythons: Sequence[str] = CHECKED_PYTHONS) -> list[tuple]:
    return [(p, v) for p in support_floor.PLATFORMS for v in pythons]


def expected_to_resolve(platform: Platform, python: str) -> bool:
    """What support_floor claims for this pair."""
    return platform.supported and _version(python) >= support_floor.MIN_PYTHON


def index_reachable(url: str = INDEX + "/pip/", timeout: float = 15) -> bool:
    """Whether the package index answers (the matrix is skipped offline, never faked)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # nosec B310: fixed https URL
            return resp.status == 200
    except OSError:
        return False


def oldest_os(platform: Platform, wheels: Sequence[str]) -> str:
    """The oldest OS release every wheel accepts: the newest macOS or glibc tag among them."""
    pattern = {"darwin": r"macosx_(\d+)_(\d+)_", "linux": r"manylinux_(\d+)_(\d+)_"}.get(platform.sys_platform)
    if not pattern:
        return ""
    found = [max((int(a), int(b)) for a, b in re.findall(pattern, w)) for w in wheels if re.search(pattern, w)]
    if not found:
        return ""
    newest = max(found)
    return f"macOS {newest[0]}.{newest[1]}" if platform.sys_platform == "darwin" else f"glibc {newest[0]}.{newest[1]}"


def markdown(results: Sequence[Resolution], pythons: Sequence[str] = CHECKED_PYTHONS) -> str:
    """The support matrix as a Markdown table: one row per platform, one column per Python."""
    by_pair = {(r.platform, r.python): r for r in results}
    head = "| Platform | " + " | ".join(f"Python {v}" for v in pythons) + " | Needs |"
    rows = [head, "|---|" + "---|" * (len(pythons) + 1)]
    notes: dict = {}
    for platform in support_floor.PLATFORMS:
        cells, needs = [], set()
        for v in pythons:
            r = by_pair.get((platform.key, v))
            cells.append(_cell(r, notes))
            if r and r.ok:
                needs.add(oldest_os(platform, r.wheels))
        rows.append(f"| {platform.label} | " + " | ".join(cells) + " | " + ", ".join(sorted(n for n in needs if n)) + " |")
    legend = [f"* {mark} {why}" for why, mark in notes.items()]
    return "\n".join(rows + ([""] + legend if legend else [])) + "\n"


def _cell(r: Optional[Resolution], notes: dict) -> str:
    if r is None:
        return "–"
    if r.ok:
        return "yes (torch " + r.versions.get("torch", "?") + ")"
    mark = notes.setdefault(r.reason, "[" + str(len(notes) + 1) + "]")
    return "no " + mark


def _version(text: str) -> tuple:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:2])


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.support_matrix", description=__doc__.split("\n")[0])
    ap.add_argument("--json", metavar="FILE", help="also write the dry runs' results as JSON")
    ap.add_argument("--workers", type=int, default=8, help="dry runs in parallel (default 8)")
    args = ap.parse_args(argv)
    if not index_reachable():
        print(f"{INDEX} cannot be reached: no matrix", file=sys.stderr)
        return 2
    start = time.monotonic()
    results = resolve_all(all_pairs(), args.workers)
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in results], indent=1), encoding="utf-8")
    print(markdown(results))
    pip = ".".join(map(str, pip_version(pip_folder(cache_dir()))))
    print(f"({len(results)} dry runs in {time.monotonic() - start:.0f} s, pip {pip})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
