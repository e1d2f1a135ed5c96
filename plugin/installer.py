"""Install EO Lens's Python packages into a private folder, with the analyst's consent.

Pure standard library at module level (no qgis, no Qt), so it also runs headless:

    "$QGIS_PYTHON" -m eolens.plugin.installer --target DIR [--torch cpu|cuda] [--dry-run]

How it stays safe beside QGIS's own Python:
- pip runs with QGIS's interpreter and ``--target`` (allowed under PEP 668, never touches QGIS's
  site-packages) into a staging folder beside the target; the staging folder replaces the target
  only after a verification in a fresh interpreter passed. A failed or cancelled run leaves the
  target exactly as it was.
- numpy is pinned to the version QGIS's Python already has; packages the distribution must own
  (numpy, GDAL, rasterio, shapely, PyQt) are removed from the staging folder, so the private folder
  can never shadow them (one GDAL, one GEOS, one numpy in the process).
"""
from __future__ import annotations

import importlib
import importlib.machinery
import json
import os
import re
import shutil
import signal
import subprocess  # nosec B404: runs pip with QGIS's own interpreter, argument lists only
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

from . import folder_swap, packages_path, platform_env, support_floor
from ..inference.models import cuda_driver

PLUGIN_DIR = Path(__file__).resolve().parents[1]
REQUIREMENTS = PLUGIN_DIR / "requirements.txt"
CONSTRAINTS = PLUGIN_DIR / "constraints.txt"
# Owned by the distribution / QGIS: never installed into (and pruned from) the private folder.
# rasterio, affine and shapely only on Linux: Windows/macOS get their wheels (platform_env).
PROTECTED = platform_env.qgis_owned()
# Modules the verification imports; each must load from the new folder or QGIS's Python.
VERIFY_IMPORTS = ("torch", "torchvision", "transformers", "open_clip", "safetensors",
                  "huggingface_hub", "jinja2") + (
    ("rasterio", "shapely") if platform_env.wheels_are_isolated() else ())
# Windows/macOS: installed only where QGIS's Python has none of its own.
WHEEL_GEO = ("rasterio", "shapely")
TORCH_INDEX = {"cpu": "https://download.pytorch.org/whl/cpu",
               "cuda-win": "https://download.pytorch.org/whl/cu128"}
# Rough sizes for the consent dialog (torch dominates), measured on Linux x86_64 / Python 3.11.
SIZES_MB = {"cpu": (250, 1100), "cuda": (2900, 5600)}  # (download, disk)
# pip's warning about packages *outside* the new folder (e.g. Debian 13's python3-typeshed stubs):
# not about EO Lens, so it is kept for the failure report but not shown as an error.
RESOLVER_NOTE = "ERROR: pip's dependency resolver does not currently"


@dataclass
class Plan:
    """What one install will do: shown to the analyst before anything runs."""

    python: str
    target: Path
    torch: str
    requirements: list[str]
    pip_args: list[str]
    proxy: Optional[str] = None
    download_mb: int = 0
    disk_mb: int = 0

    def commands(self) -> list[list[str]]:
        return [self.pip_args]

    def describe(self) -> str:
        lines = [f"into {self.target}", f"with {self.python}",
                 f"torch build: {self.torch.upper()}",
                 f"about {self.download_mb:,} MB to download, {self.disk_mb:,} MB on disk", ""]
        lines += [f"  {r}" for r in self.requirements]
        return "\n".join(lines)


@dataclass
class Outcome:
    ok: bool
    message: str
    log: list[str] = field(default_factory=list)
    seconds: float = 0.0
    disk_mb: float = 0.0


class InstallCancelled(Exception):
    pass


def default_torch() -> str:
    """CUDA when an NVIDIA driver is visible, else CPU (macOS wheels are CPU/MPS builds)."""
    return "cuda" if detected_gpu() else "cpu"


def detected_gpu() -> Optional[str]:
    """The NVIDIA GPU name from ``nvidia-smi``, or None."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return None
    try:
        out = subprocess.run([exe, "--query-gpu=name", "--format=csv,noheader"],  # nosec B603
                             capture_output=True, encoding="utf-8", errors="replace", timeout=10,
                             **platform_env.hidden_window_kwargs())
    except (OSError, subprocess.SubprocessError):
        return None
    names = [line.strip() for line in out.stdout.splitlines() if line.strip()]
    return ", ".join(names) if out.returncode == 0 and names else None


def read_requirements(path: Path = REQUIREMENTS, platform: str = "") -> list[str]:
    """Requirement lines of a requirements file for ``platform`` (comments, options, packages QGIS
    owns there and lines whose ``sys_platform`` marker excludes it dropped)."""
    platform = platform or sys.platform
    owned = platform_env.qgis_owned(platform)
    reqs = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-") and _dist_name(line) not in owned:
            line = _for_platform(line, platform)
            reqs += [line] if line else []
    return reqs


def _for_platform(line: str, platform: str) -> Optional[str]:
    """``line`` without a marker that only names platforms (None when it excludes ``platform``);
    any other marker is left to pip."""
    requirement, _, marker = line.partition(";")
    named = re.findall(r"""sys_platform\s*==\s*["']([^"']+)["']""", marker)
    if not named or re.sub(r"""sys_platform\s*==\s*["'][^"']+["']|\bor\b|\s""", "", marker):
        return line
    return requirement.strip() if platform in named else None


def _dist_name(requirement: str) -> str:
    name = re.split(r"[\s<>=!~;\[@]", requirement, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def torch_requirements(reqs: Sequence[str], torch: str, platform: str = sys.platform) -> tuple[list[str], list[str]]:
    """(requirements, extra pip options) for the chosen torch build on this platform."""
    if torch not in ("cpu", "cuda"):
        raise ValueError(f"torch build must be 'cpu' or 'cuda', not {torch!r}")
    linux, windows = platform.startswith("linux"), platform == "win32"
    # PyPI's Linux wheels are CUDA builds and its Windows/macOS wheels CPU builds.
    if torch == "cpu" and linux:
        return _local_tag(reqs, "cpu"), ["--extra-index-url", TORCH_INDEX["cpu"]]
    if torch == "cuda" and windows:
        return _local_tag(reqs, "cu128"), ["--extra-index-url", TORCH_INDEX["cuda-win"]]
    return list(reqs), []


def _local_tag(reqs: Sequence[str], tag: str) -> list[str]:
    out = []
    for r in reqs:
        if _dist_name(r) in ("torch", "torchvision") and "==" in r and "+" not in r:
            r = f"{r}+{tag}"
        out.append(r)
    return out


def numpy_pin(python: str) -> Optional[str]:
    """``numpy==X`` for the numpy QGIS's interpreter already has (None if it has none)."""
    code = "import numpy; print(numpy.__version__)"
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, encoding="utf-8",  # nosec B603
                             errors="replace", timeout=120, env=_clean_env(python=python),
                             **platform_env.hidden_window_kwargs())
    except (OSError, subprocess.SubprocessError):
        return None
    version = out.stdout.strip()
    return f"numpy=={version}" if out.returncode == 0 and version else None


def make_plan(target: Path, torch: str = "", python: str = "", proxy: Optional[str] = None,
              requirements: Optional[Sequence[str]] = None, platform: str = sys.platform,
              find_links: Optional[Path] = None, no_index: bool = False,
              constraint_files: Sequence[Path] = ()) -> Plan:
    """The pip command for one install. An offline kit (plugin/offline_kit.py) passes its wheels as
    ``find_links`` with ``no_index`` (pip then also ignores PIP_* variables: the kit is the only
    source) and its exact pins as ``constraint_files``; staging, verification and swap are the same."""
    python = python or packages_path.python_executable()
    torch = torch or default_torch()
    reqs = list(requirements or _without_qgis_geo(read_requirements(platform=platform), target))
    reqs, extra = torch_requirements(reqs, torch, platform)
    if no_index:
        extra = ["--isolated", "--no-index"]
    extra += ["--find-links", str(find_links)] if find_links else []
    for path in constraint_files:
        extra += ["--constraint", str(path)]
    staging = _staging_dir(Path(target))
    args = [python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
            "--no-warn-script-location", "--upgrade", "--target", str(staging),
            "--constraint", str(_constraints_file(python, staging))]
    args += extra + (["--proxy", proxy] if proxy else []) + list(reqs)
    download, disk = SIZES_MB[torch]
    return Plan(python, Path(target), torch, list(reqs), args, proxy, 0 if no_index else download, disk)


def _staging_dir(target: Path) -> Path:
    return target.parent / f".{target.name}.staging"


def _constraints_file(python: str, staging: Path) -> Path:
    return staging.parent / f"{staging.name}-constraints.txt"


def constraints_text(python: str) -> str:
    """The shipped constraints, with numpy pinned to the one QGIS's ``python`` already has."""
    lines = [ln for ln in CONSTRAINTS.read_text(encoding="utf-8").splitlines()
             if _dist_name(ln.split("#", 1)[0].strip() or "#") != "numpy"]
    pin = numpy_pin(python)
    return "\n".join(lines + ([pin] if pin else [])) + "\n"


def _write_constraints(plan: Plan) -> None:
    path = Path(plan.pip_args[plan.pip_args.index("--constraint") + 1])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(constraints_text(plan.python), encoding="utf-8")


def _without_qgis_geo(reqs: Sequence[str], target: Path) -> list[str]:
    """Windows/macOS: no rasterio/shapely wheel where QGIS's Python has its own (outside ``target``),
    so EO Lens never replaces the copy other plugins use. Checked in this process: the installer
    runs in QGIS's Python (the dialog) or with it (the headless command)."""
    paths = [p for p in sys.path if not str(p).startswith(str(target))]
    importlib.invalidate_caches()  # an install may have just added or removed one
    return [r for r in reqs if _dist_name(r) not in WHEEL_GEO
            or importlib.machinery.PathFinder.find_spec(_dist_name(r), paths) is None]


def _clean_env(proxy: Optional[str] = None, python: str = "") -> dict:
    """The environment for pip and the verifier: no venv or PYTHONPATH leaking in, UTF-8 pipes,
    PYTHONHOME kept on macOS (platform_env.child_environment)."""
    env = platform_env.child_environment(python=python)
    if proxy:
        env.update(packages_path.proxy_environment(proxy))
    return env


def run(plan: Plan, log: Callable[[str], None] = print,
        progress: Callable[[float], None] = lambda p: None,
        is_cancelled: Callable[[], bool] = lambda: False) -> Outcome:
    """Install ``plan``; the target changes only if pip and the verification both succeed."""
    start = time.monotonic()
    staging = _staging_dir(plan.target)
    lines: list[str] = []

    def say(text: str) -> None:
        lines.append(text)
        log(text)

    refused = support_floor.refusal(plan.python, _clean_env())  # QGIS's Python, before any download
    if refused:
        say(refused)
        return Outcome(False, refused, lines, time.monotonic() - start)

    # A verified staging folder that Windows kept from being swapped in is finished, not downloaded again.
    stamp = {"torch": plan.torch, "requirements": plan.requirements, "python": plan.python}
    swapped = False
    try:
        verified = folder_swap.verified_stamp(staging) or {}
        resume = bool(verified) and all(verified.get(k) == v for k, v in stamp.items())
        for line in folder_swap.clean_leftovers(plan.target, staging=not resume).lines():
            say(line)
        if resume:
            say(f"finishing the earlier installation from {staging} (verified; nothing to download)")
            device = verified.get("device", "")
        else:
            _write_constraints(plan)
            say("$ " + " ".join(_quote(a) for a in plan.pip_args))
            _run_pip(plan, say, progress, is_cancelled)
            pruned = prune_protected(staging)
            if pruned:
                say("kept QGIS's own " + ", ".join(pruned) + " (removed from the new folder)")
            progress(92)
            say("verifying the new packages with " + plan.python)
            device = verify(plan.python, staging, plan.proxy)["device"]
            folder_swap.mark_verified(staging, {**stamp, "device": device})
        progress(97)
        swap = _swap_into_place(staging, plan.target)
        if swap.pending:
            say(swap.message)
            return Outcome(False, swap.message, lines, time.monotonic() - start)
        swapped = True
        for line in swap.cleanup.lines() + ([swap.message] if swap.message else []):
            say(line)
        write_marker(plan)
        progress(100)
        size = _folder_mb(plan.target)
        msg = (f"Installed into {plan.target} ({size:,.0f} MB). {device} EO Lens can be used now; restart QGIS "
               f"if an older copy of these packages was already loaded.")
        say(msg)
        return Outcome(True, msg, lines, time.monotonic() - start, size)
    except InstallCancelled:
        msg = "Installation cancelled; nothing was changed."
        say(msg)
        return Outcome(False, msg, lines, time.monotonic() - start)
    except InstallError as exc:
        say(str(exc))
        return Outcome(False, str(exc), lines, time.monotonic() - start)
    finally:
        if swapped or folder_swap.verified_stamp(staging) is None:  # keep a verified download
            folder_swap.remove_tree(staging)
        _remove(Path(plan.pip_args[plan.pip_args.index("--constraint") + 1]))


class InstallError(Exception):
    pass


def _run_pip(plan: Plan, say, progress, is_cancelled) -> None:
    problem = platform_env.interpreter_problem(plan.python)
    if problem:
        raise InstallError(problem + " Nothing was changed.")
    env = _clean_env(plan.proxy, plan.python)
    try:  # bytes: _lines decodes them, so no byte pip prints can stop the reader
        proc = subprocess.Popen(plan.pip_args, stdout=subprocess.PIPE,  # nosec B603
                                stderr=subprocess.STDOUT, env=env,
                                **platform_env.hidden_window_kwargs(new_process_group=True))
    except OSError as exc:
        raise InstallError(f"Could not start pip with {plan.python}: {exc.strerror or exc}.") from exc
    tail: list[str] = []
    seen = 0
    for line in _lines(proc, is_cancelled):
        line = line.rstrip()
        if not line:
            continue
        tail = (tail + [line])[-30:]
        shown = ("Collecting", "Downloading", "Installing", "Successfully", "ERROR")
        if line.startswith(shown) and not line.startswith(RESOLVER_NOTE):
            say(line)
        seen += line.startswith("Collecting")
        progress(min(85.0, 2.0 * seen) if not line.startswith("Installing") else 88.0)
    if proc.wait() != 0:
        raise InstallError(pip_failure(tail))


def _lines(proc: subprocess.Popen, is_cancelled):
    """pip's output line by line (UTF-8, undecodable bytes replaced); kills pip's whole process
    group on cancel (within ~0.2 s) or when its output cannot be read (instead of waiting forever)."""
    import queue
    import threading

    q: "queue.Queue[object]" = queue.Queue()

    def pump() -> None:
        try:
            for raw in proc.stdout:
                q.put(raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw)
            q.put(None)
        except BaseException as exc:  # the reader must always end the stream, never just die
            q.put(exc)

    threading.Thread(target=pump, daemon=True).start()
    while True:
        if is_cancelled():
            _kill(proc)
            raise InstallCancelled()
        try:
            line = q.get(timeout=0.2)
        except queue.Empty:
            continue
        if line is None:
            return
        if isinstance(line, BaseException):
            _kill(proc)
            raise InstallError(f"Installation failed: pip's output could not be read "
                               f"({type(line).__name__}: {line}). Nothing was changed.")
        yield line


def _kill(proc: subprocess.Popen) -> None:
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except OSError:
        pass
    proc.wait(timeout=10)


def pip_failure(tail: Sequence[str]) -> str:
    """pip's error in plain words, with its own last lines."""
    text = "\n".join(tail)
    if "No matching distribution found" in text or "Could not find a version" in text:
        why = "pip could not find a package version that fits this Python and platform"
    elif re.search(r"ProxyError|Cannot connect to proxy|407", text):
        why = "pip could not get through the proxy (check Settings > Options > Network)"
    elif re.search(r"NewConnectionError|Temporary failure in name resolution|Network is unreachable", text):
        why = "pip could not reach the package index (no internet connection?)"
    elif "No space left on device" in text:
        why = "the disk is full"
    elif "ResolutionImpossible" in text or "conflicting dependencies" in text:
        why = "the requirements conflict with each other"
    else:
        why = "pip failed"
    last = [ln for ln in tail if ln.startswith("ERROR") and not ln.startswith(RESOLVER_NOTE)][-3:] \
        or list(tail)[-3:]
    return f"Installation failed: {why}. Nothing was changed.\n" + "\n".join(last)


def prune_protected(folder: Path) -> list[str]:
    """Remove the distributions QGIS's Python owns from ``folder``; returns their names."""
    removed = []
    for info in sorted(folder.glob("*.dist-info")):
        name = _dist_name(info.name[: -len(".dist-info")].rsplit("-", 1)[0])
        if name not in PROTECTED:
            continue
        for rel in _record_paths(info):
            path = folder / rel
            if path.is_file() or path.is_symlink():
                path.unlink()
        _remove(info)
        removed.append(name)
    for child in folder.iterdir():  # empty package folders and their .libs
        if child.is_dir() and not any(p.is_file() for p in child.rglob("*")):
            _remove(child)
    return removed


def _record_paths(info: Path) -> list[str]:
    record = info / "RECORD"
    if not record.exists():
        return []
    paths = [line.split(",", 1)[0] for line in record.read_text(encoding="utf-8").splitlines()]
    return [p for p in paths if p and not p.startswith("..")]


VERIFY_CODE = r"""
import json, sys
folder, expect_numpy = sys.argv[1], sys.argv[2]
sys.path.insert(__import__("eolens_paths").insert_index(sys.path), folder)
report = {"errors": []}
import numpy
report["numpy"] = [numpy.__version__, numpy.__file__]
if numpy.__file__.startswith(folder):
    report["errors"].append("numpy was taken from the new folder")
if expect_numpy and numpy.__version__ != expect_numpy:
    report["errors"].append("numpy is %s, QGIS's is %s" % (numpy.__version__, expect_numpy))
for name in sys.argv[3:]:
    try:
        mod = __import__(name)
        report[name] = [getattr(mod, "__version__", "?"), getattr(mod, "__file__", "")]
    except Exception as exc:
        report["errors"].append("%s: %s: %s" % (name, type(exc).__name__, exc))
torch = sys.modules.get("torch")
if torch is not None:  # which device torch can use; the CPU is fine, so none of this is an error
    import warnings
    gpu = {"torch": torch.__version__, "cuda": torch.version.cuda, "device": ""}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            gpu["available"] = bool(torch.cuda.is_available())
        gpu["warning"] = " ".join(str(w.message) for w in caught)[:400]
        if gpu["available"]:
            gpu["device"] = torch.cuda.get_device_name(0)
        mps = getattr(torch.backends, "mps", None)
        gpu["mps"] = bool(mps and mps.is_available())
    except Exception as exc:
        gpu.update(available=False, mps=False, warning="%s: %s" % (type(exc).__name__, exc))
    report["gpu"] = gpu
print("EOLENS-VERIFY " + json.dumps(report))
"""


def verify(python: str, folder: Path, proxy: Optional[str] = None) -> dict:
    """Import the new packages in a fresh interpreter, the way the plugin will; raise on failure."""
    pin = numpy_pin(python)
    helper_dir = Path(tempfile.mkdtemp(prefix="eolens-verify-"))
    try:
        shutil.copy(Path(packages_path.__file__), helper_dir / "eolens_paths.py")
        env = _clean_env(proxy, python)
        env["PYTHONPATH"] = str(helper_dir)
        if platform_env.wheels_are_isolated():  # the wheel's GDAL/PROJ read their own data
            env.update(packages_path.wheel_rasterio_data(folder))
        cmd = [python, "-c", VERIFY_CODE, str(folder), pin.split("==")[1] if pin else "",
               *VERIFY_IMPORTS]
        out = subprocess.run(cmd, capture_output=True, encoding="utf-8", errors="replace",  # nosec B603
                             timeout=600, env=env, **platform_env.hidden_window_kwargs())
    except subprocess.TimeoutExpired as exc:
        raise InstallError("Verification failed: importing the new packages took over 10 minutes.") from exc
    finally:
        _remove(helper_dir)
    found = [ln for ln in out.stdout.splitlines() if ln.startswith("EOLENS-VERIFY ")]
    if not found:
        tail = (out.stderr or out.stdout).strip().splitlines()[-5:]
        hint = platform_env.import_error_hint("\n".join(tail))
        raise InstallError("Verification failed: the new packages crash QGIS's Python. "
                           "Nothing was changed.\n" + "\n".join(tail + ([hint] if hint else [])))
    report = json.loads(found[-1].split(" ", 1)[1])
    if report["errors"]:
        hint = platform_env.import_error_hint(" ".join(report["errors"]))
        raise InstallError("Verification failed, nothing was changed: " + "; ".join(report["errors"])
                           + (f". {hint}" if hint else ""))
    report["device"] = device_verdict(report.get("gpu"), cuda_driver.nvidia_driver_version())
    return report


def device_verdict(gpu: Optional[dict], driver: Optional[str], windows: bool = sys.platform == "win32") -> str:
    """Which device EO Lens will use with the verified torch, and why, in one sentence.

    ``gpu``: the verification's torch facts (version, CUDA build, cuda.is_available(), device
    name, MPS, torch's warning); ``driver``: nvidia-smi's driver version (None: no driver)."""
    if not gpu:
        return "Torch could not be checked: EO Lens cannot tell which device it will use."
    torch, cuda = gpu.get("torch", "?"), gpu.get("cuda")
    build = f"Torch {torch} is a CUDA {cuda} build" if cuda else f"Torch {torch} is a CPU-only build"
    if gpu.get("available"):
        where = f"EO Lens will use the GPU, {gpu.get('device') or 'NVIDIA GPU'}"
        if driver:
            verdict = cuda_driver.driver_verdict(cuda, driver, windows)
            where += f" ({verdict.text()})" if verdict.partial or verdict.ok is None else \
                f", with NVIDIA driver {driver}"
        return f"{build}: {where}."
    if gpu.get("mps"):
        return f"{build}: EO Lens will use the Apple GPU (MPS)."
    if not cuda:
        return (f"{build} although an NVIDIA GPU (driver {driver}) is present: EO Lens will run on "
                f"the CPU; reinstall with the CUDA build to use the GPU.") if driver else \
            f"{build}: EO Lens will run on the CPU (no NVIDIA GPU found)."
    why = cuda_driver.cpu_reason(cuda, driver, gpu.get("warning", ""), windows, advice=False) \
        if driver else "no NVIDIA GPU was found"
    old_driver = bool(driver) and cuda_driver.driver_verdict(cuda, driver, windows).ok is False
    return f"{build}, but {why}: EO Lens will run on the CPU{'; update the driver' if old_driver else ''}."


def _swap_into_place(staging: Path, target: Path) -> folder_swap.SwapResult:
    """Replace ``target`` by ``staging``; the old folder survives until the new one is in place.
    Windows locks are retried; a swap they block stays pending (see plugin/folder_swap.py)."""
    return folder_swap.swap(staging, target)


def write_marker(plan: Plan) -> None:
    info = {"torch": plan.torch, "requirements": plan.requirements, "python": plan.python,
            "installed": time.strftime("%Y-%m-%dT%H:%M:%S")}
    (plan.target / "eolens-packages.json").write_text(json.dumps(info, indent=1), encoding="utf-8")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def _quote(arg: str) -> str:
    return f'"{arg}"' if re.search(r"[\s<>=|&;()]", arg) else arg


if __name__ == "__main__":  # the command line lives above this module and the offline kit
    from .installer_cli import main

    sys.exit(main())
