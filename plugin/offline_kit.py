"""Offline kits: everything EO Lens needs on an air-gapped machine, in one checked folder.

On a connected machine::

    python -m eolens.plugin.installer --export-kit DIR [--platform TAG ...] [--python-version 3.12]
        [--torch cpu|cuda] [--numpy X.Y.Z] [--models NAME_OR_FOLDER ...]

writes ``DIR/wheels`` (the exact wheels for that OS and Python), ``DIR/models/<name>`` (model
folders from local folders or the local Hugging Face cache, never the network), ``pins.txt``,
``LICENSES.txt``, ``kit.json`` and ``SHA256SUMS``. On the air-gapped machine::

    python -m eolens.plugin.installer --from-kit DIR [--target DIR] [--models-dir DIR]

checks every checksum and the kit's OS/Python/numpy first, then installs with pip ``--no-index``
through the installer's own staging, verification and swap (``installer.make_plan`` / ``run``).

Standard library only at module level (no qgis, no Qt), like the installer.
"""
from __future__ import annotations

import argparse
import email.parser
import hashlib
import json
import os
import platform as _platform
import re
import shutil
import subprocess  # nosec B404: runs pip with an interpreter the user chose, argument lists only
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Callable, Optional, Sequence

from . import installer, packages_path, platform_env

KIT_FORMAT = 1
KIT_JSON, SUMS, LICENSES, PINS = "kit.json", "SHA256SUMS", "LICENSES.txt", "pins.txt"
UNKNOWN_LICENCE = "unknown — check before redistribution"
# wheel platform tag prefix -> (sys.platform of that OS, installer's platform name)
_OS_PREFIXES = (("win", "win32"), ("macosx", "darwin"), ("manylinux", "linux"),
                ("musllinux", "linux"), ("linux", "linux"))
_MACHINES = {"amd64": "x86_64", "x86_64": "x86_64", "arm64": "arm64", "aarch64": "arm64",
             "universal2": "any", "win32": "x86", "i686": "x86", "x86": "x86"}
_PIP_SHOWN = ("Collecting", "Saved", "File was already downloaded", "ERROR")
Log = Callable[[str], None]


class KitError(Exception):
    """A kit cannot be written, or a kit cannot be installed here; nothing was changed."""


# ---------------------------------------------------------------- what the kit is for

def target_info(platforms: Sequence[str] = (), python_version: str = "") -> dict:
    """OS, machine, Python and platform tags a kit is for (this interpreter's when not given)."""
    python = python_version or "%d.%d" % sys.version_info[:2]
    if not re.fullmatch(r"3\.\d{1,2}", python):
        raise KitError(f"--python-version must look like 3.12, not {python_version!r}.")
    if not platforms:
        return {"os": sys.platform if sys.platform != "cygwin" else "win32",
                "machine": machine_name(_platform.machine()), "python": python, "platform_tags": []}
    found = {tag_os(tag) for tag in platforms}
    if len(found) != 1:
        raise KitError("One kit is for one OS and machine; --platform gave "
                       + ", ".join(sorted(f"{o} {m}" for o, m in found)) + ". Make one kit for each.")
    os_name, machine = found.pop()
    return {"os": os_name, "machine": machine, "python": python, "platform_tags": list(platforms)}


def tag_os(tag: str) -> tuple[str, str]:
    """(sys.platform, machine) of a wheel platform tag such as ``win_amd64`` or ``macosx_11_0_arm64``."""
    for prefix, os_name in _OS_PREFIXES:
        if tag.startswith(prefix):
            machine = next((m for m in _MACHINES if tag == m or tag.endswith("_" + m)), "")
            if machine:
                return os_name, _MACHINES[machine]
    raise KitError(f"--platform {tag!r} is not a wheel platform tag pip knows; use e.g. win_amd64, "
                   f"macosx_11_0_arm64 or manylinux_2_28_x86_64.")


def machine_name(machine: str) -> str:
    """``platform.machine()`` in the kit's words (AMD64 and x86_64 are one machine)."""
    return _MACHINES.get(machine.lower(), machine.lower())


def is_this_machine(info: dict) -> bool:
    here = target_info()
    return (info["os"], info["python"]) == (here["os"], here["python"]) \
        and info["machine"] in (here["machine"], "any")


def interpreter_info(python: str) -> dict:
    """OS, machine and Python version of ``python`` (QGIS's interpreter may not be this one)."""
    code = ("import json, sys, platform; print(json.dumps([sys.platform, platform.machine(), "
            "'%d.%d' % sys.version_info[:2]]))")
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True,  # nosec B603
                             timeout=120, env=installer._clean_env(python=python),
                             **platform_env.hidden_window_kwargs())
        os_name, machine, version = json.loads(out.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as exc:
        raise KitError(f"Could not run the Python interpreter {python}: {exc}") from exc
    return {"os": os_name, "machine": machine_name(machine), "python": version}


def numpy_for(info: dict, numpy: str, python: str) -> str:
    """The numpy version the target QGIS has: ``--numpy``, else this machine's QGIS Python's."""
    if numpy:
        if not re.fullmatch(r"\d+\.\d+(\.\d+)?", numpy):
            raise KitError(f"--numpy must be a version such as 1.26.4, not {numpy!r}.")
        return numpy
    if not is_this_machine(info):
        raise KitError("The kit is for another OS or Python than this one: give --numpy with the "
                       "numpy version the target QGIS's Python has (python -c \"import numpy; "
                       "print(numpy.__version__)\" there).")
    pin = installer.numpy_pin(python)
    return pin.split("==", 1)[1] if pin else ""


# ---------------------------------------------------------------- models

def hf_cache_dir() -> Path:
    """The Hugging Face hub cache, as huggingface_hub finds it (HF_HUB_CACHE, HF_HOME, XDG)."""
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return Path(os.environ[var]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "huggingface" / "hub"


def cached_snapshot(repo_id: str, revision: Optional[str] = None) -> Optional[Path]:
    """The local snapshot folder of a hub model repo, from the cache only (None if absent)."""
    repo = hf_cache_dir() / ("models--" + repo_id.replace("/", "--"))
    if revision and re.fullmatch(r"[0-9a-f]{40}", revision):
        commit = revision
    else:
        ref = repo / "refs" / (revision or "main")
        if not ref.is_file():
            return None
        commit = ref.read_text(encoding="utf-8").strip()
    folder = repo / "snapshots" / commit
    return folder if folder.is_dir() else None


def resolve_model(arg: str) -> tuple[str, Path]:
    """``NAME_OR_FOLDER`` (optionally ``kit-name=NAME_OR_FOLDER``) -> (kit name, local path)."""
    alias, sep, text = arg.partition("=")
    if not (sep and alias and text) or Path(arg).expanduser().exists():
        alias, text = "", arg
    path = Path(text).expanduser()
    if path.exists():
        return alias or (path.stem if path.is_file() else path.resolve().name), path.resolve()
    from ..inference.models import hub, registry  # light modules: no torch, no huggingface_hub here

    spec = registry.REGISTRY.get(text)
    hub_id = (spec.source, spec.revision) if spec else hub.parse_hub_id(text)
    if hub_id is None:
        raise KitError(f"--models {arg!r}: no such folder or file, and not a model name "
                       f"({', '.join(sorted(registry.REGISTRY))}) or hub id (org/name).")
    snapshot = cached_snapshot(*hub_id)
    if snapshot is None:
        raise KitError(f"--models {arg!r}: {hub_id[0]} is not in the local Hugging Face cache "
                       f"({hf_cache_dir()}); the kit never downloads models. Open the model once "
                       f"in EO Lens on this machine (or give its folder), then export again.")
    name = alias or (text if spec else hub_id[0].split("/")[-1])
    if spec and spec.filename:
        file = snapshot / spec.filename
        if not file.is_file():
            raise KitError(f"--models {arg!r}: {spec.filename} is not in the cached {hub_id[0]}.")
        return name, file
    return name, snapshot


def copy_model(name: str, source: Path, models: Path) -> Path:
    """Copy a model folder (or a single checkpoint into a folder), following cache symlinks."""
    dest = models / name
    if dest.exists():
        raise KitError(f"Two --models are both called {name!r}; name one with NEWNAME=FOLDER.")
    if source.is_file():
        dest.mkdir(parents=True)
        shutil.copy2(source, dest / source.name)
    else:
        shutil.copytree(source, dest, ignore=shutil.ignore_patterns(".cache", ".git"))
    return dest


def model_licence(folder: Path) -> str:
    """A model's licence from its model card (README front matter), config, or LICENSE file."""
    readme = folder / "README.md"
    if readme.is_file():
        text = readme.read_text(encoding="utf-8", errors="replace")
        front = text.split("---", 2)[1] if text.startswith("---") and text.count("---") >= 2 else ""
        m = re.search(r"^licen[cs]e(?:_name)?:\s*['\"]?([^'\"\n]+)", front, re.M | re.I)
        if m and m.group(1).strip():
            return m.group(1).strip() + " (model card)"
    for config in sorted(folder.glob("*config.json")):
        try:
            value = json.loads(config.read_text(encoding="utf-8")).get("license")
        except (ValueError, UnicodeDecodeError, AttributeError):
            continue
        if isinstance(value, str) and value.strip():
            return f"{value.strip()} ({config.name})"
    licence_files = sorted(p.name for p in folder.iterdir() if p.name.upper().startswith("LICEN"))
    if licence_files:
        return f"see {licence_files[0]} in the model folder"
    return UNKNOWN_LICENCE


# ---------------------------------------------------------------- wheels

def download_wheels(python: str, wheels: Path, info: dict, requirements: Sequence[str],
                    extra: Sequence[str], constraints: Path, proxy: Optional[str], log: Log) -> None:
    """``pip download`` the binary wheels for the kit's OS and Python into ``wheels``."""
    args = [python, "-m", "pip", "download", "--disable-pip-version-check", "--no-input",
            "--only-binary=:all:", "--implementation", "cp", "--python-version", info["python"],
            "--dest", str(wheels), "--constraint", str(constraints)]
    for tag in info["platform_tags"]:
        args += ["--platform", tag]
    args += list(extra) + (["--proxy", proxy] if proxy else []) + list(requirements)
    log("$ " + " ".join(installer._quote(a) for a in args))
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,  # nosec B603
                            text=True, bufsize=1, env=installer._clean_env(proxy, python=python),
                            **platform_env.hidden_window_kwargs())
    tail: list[str] = []
    for line in proc.stdout:
        line = line.rstrip()
        tail = (tail + [line])[-30:] if line else tail
        if line.startswith(_PIP_SHOWN):
            log(line)
    if proc.wait() != 0:
        raise KitError(installer.pip_failure(tail).replace("Installation failed", "Export failed")
                       .replace("Nothing was changed", "No kit was written"))


def wheel_name_version(wheel: Path) -> tuple[str, str]:
    """(normalised name, version) from a wheel file name."""
    parts = wheel.name[: -len(".whl")].split("-")
    if len(parts) < 5:
        raise KitError(f"{wheel.name} is not a wheel file name (name-version-py-abi-platform.whl).")
    return re.sub(r"[-_.]+", "-", parts[0]).lower(), parts[1]


def wheel_licence(wheel: Path) -> str:
    """The licence a wheel's METADATA declares: License-Expression, License, or classifiers."""
    with zipfile.ZipFile(wheel) as zf:
        meta = next((n for n in zf.namelist() if n.count("/") == 1
                     and n.endswith(".dist-info/METADATA")), None)
        if meta is None:
            return UNKNOWN_LICENCE
        msg = email.parser.Parser().parsestr(zf.read(meta).decode("utf-8", errors="replace"),
                                             headersonly=True)
    expression = (msg.get("License-Expression") or "").strip()
    if expression:
        return expression
    classifiers = [c.split("::")[-1].strip() for c in msg.get_all("Classifier") or []
                   if c.startswith("License ::") and c.strip() != "License :: OSI Approved"]
    text = (msg.get("License") or "").strip()
    first = text.splitlines()[0].strip()[:80] if text and text.upper() != "UNKNOWN" else ""
    found = [s for s in [first] + classifiers if s]
    return "; ".join(dict.fromkeys(found)) or UNKNOWN_LICENCE


# ---------------------------------------------------------------- writing the kit

def export_kit(dest: Path, *, platforms: Sequence[str] = (), python_version: str = "",
               torch: str = "cpu", models: Sequence[str] = (), numpy: str = "", python: str = "",
               requirements: Optional[Sequence[str]] = None, requirements_file: Optional[Path] = None,
               proxy: Optional[str] = None, log: Log = print) -> Path:
    """Write an offline kit into ``dest`` (which must not exist or be empty); returns ``dest``.

    ``requirements``: exact requirement lines; else ``requirements_file`` (default: the plugin's
    requirements.txt) read for the kit's OS, as the installer reads it there."""
    dest = Path(dest).expanduser().resolve()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise KitError(f"{dest} already exists and is not empty; choose a new folder for the kit.")
    if requirements is None:
        requirements_file = Path(requirements_file or installer.REQUIREMENTS)
        if not requirements_file.is_file():
            raise KitError(f"--requirements {requirements_file}: no such file.")
    info = target_info(platforms, python_version)
    python = python or sys.executable
    numpy_version = numpy_for(info, numpy, python)
    sources = [resolve_model(m) for m in models]  # every model found before anything is written
    partial = dest.with_name(dest.name + ".partial")
    if partial.exists():
        log(f"removing {partial}, left unfinished by an earlier export")
        installer._remove(partial)
    partial.mkdir(parents=True)
    try:
        reqs = list(requirements) if requirements is not None else \
            installer.read_requirements(requirements_file, platform=info["os"])
        _fill_kit(partial, info, torch, numpy_version, python, reqs, proxy, sources, log)
        if dest.exists():
            dest.rmdir()
        os.replace(partial, dest)
    except BaseException:
        installer._remove(partial)
        raise
    log(f"Wrote the offline kit {dest} ({folder_mb(dest):,.0f} MB); SHA256 of its SHA256SUMS: "
        f"{file_sha256(dest / SUMS)} (compare it on the air-gapped machine).")
    return dest


def _fill_kit(kit: Path, info: dict, torch: str, numpy_version: str, python: str,
              requirements: Sequence[str], proxy: Optional[str],
              sources: Sequence[tuple[str, Path]], log: Log) -> None:
    reqs, extra = installer.torch_requirements(requirements, torch, info["os"])
    with tempfile.TemporaryDirectory(prefix="eolens-kit-") as tmp:
        constraints = Path(tmp) / "constraints.txt"
        constraints.write_text(kit_constraints(numpy_version), encoding="utf-8")
        (kit / "wheels").mkdir()
        download_wheels(python, kit / "wheels", info, reqs, extra, constraints, proxy, log)
    for name, source in sources:
        log(f"copying model {name} from {source}")
        copy_model(name, source, kit / "models")
    wheels = sorted((kit / "wheels").glob("*.whl"))
    pins = [f"{n}=={v}" for n, v in map(wheel_name_version, wheels)]
    (kit / PINS).write_text("\n".join(pins) + "\n", encoding="utf-8")
    (kit / LICENSES).write_text(licences_text(wheels, kit / "models"), encoding="utf-8")
    meta = {"format": KIT_FORMAT, **info, "implementation": "cp", "torch": torch,
            "numpy": numpy_version, "requirements": reqs, "pins": pins,
            "models": sorted(name for name, _ in sources),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "plugin_version": plugin_version()}
    (kit / KIT_JSON).write_text(json.dumps(meta, indent=1), encoding="utf-8")
    write_sums(kit)


def kit_constraints(numpy_version: str) -> str:
    """The installer's shipped constraints, numpy pinned to the target QGIS's numpy."""
    lines = [ln for ln in installer.CONSTRAINTS.read_text(encoding="utf-8").splitlines()
             if installer._dist_name(ln.split("#", 1)[0].strip() or "#") != "numpy"]
    return "\n".join(lines + ([f"numpy=={numpy_version}"] if numpy_version else [])) + "\n"


def licences_text(wheels: Sequence[Path], models: Path) -> str:
    lines = ["Licences of everything in this kit, as each package and model declares it.",
             "", "Python packages (from each wheel's METADATA):"]
    lines += [f"  {n} {v}: {wheel_licence(w)}" for w, (n, v) in
              ((w, wheel_name_version(w)) for w in wheels)]
    lines += ["", "Models (from each model card, config or LICENSE file):"]
    folders = sorted(p for p in models.iterdir() if p.is_dir()) if models.is_dir() else []
    lines += [f"  {p.name}: {model_licence(p)}" for p in folders] or ["  (none)"]
    return "\n".join(lines) + "\n"


def plugin_version() -> str:
    meta = installer.PLUGIN_DIR / "metadata.txt"
    m = re.search(r"^version\s*=\s*(\S+)", meta.read_text(encoding="utf-8"), re.M)
    return m.group(1) if m else "unknown"


# ---------------------------------------------------------------- checksums

def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def kit_files(kit: Path) -> list[str]:
    """Every file in the kit but SHA256SUMS, as sorted POSIX paths relative to the kit."""
    return sorted(p.relative_to(kit).as_posix() for p in kit.rglob("*")
                  if (p.is_file() or p.is_symlink()) and p.relative_to(kit).as_posix() != SUMS)


def write_sums(kit: Path) -> None:
    """``SHA256SUMS`` in ``sha256sum`` format (``sha256sum -c SHA256SUMS`` checks it too)."""
    lines = [f"{file_sha256(kit / rel)}  {rel}" for rel in kit_files(kit)]
    (kit / SUMS).write_text("\n".join(lines) + "\n", encoding="utf-8")


def verify_kit(kit: Path) -> dict:
    """Check every file against SHA256SUMS (changed, missing, extra); returns kit.json."""
    kit = Path(kit).expanduser().resolve()
    sums = kit / SUMS
    if not sums.is_file():
        raise KitError(f"{kit} is not an EO Lens offline kit: it has no {SUMS}.")
    expected = {}
    for line in sums.read_text(encoding="utf-8").splitlines():
        digest, sep, rel = line.partition("  ")
        if not sep or not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise KitError(f"{sums} is damaged: {line[:80]!r} is not a checksum line.")
        expected[rel] = digest
    present = set(kit_files(kit))
    problems = [f"{rel} is missing" for rel in sorted(set(expected) - present)]
    problems += [f"{rel} is not listed in {SUMS} (added after the kit was made)"
                 for rel in sorted(present - set(expected))]
    problems += [f"{rel} was changed (its SHA-256 differs)" for rel in sorted(present & set(expected))
                 if file_sha256(kit / rel) != expected[rel]]
    if problems:
        raise KitError(f"The kit {kit} failed its checksum check, so nothing was installed: "
                       + "; ".join(problems[:10]) + ("; …" if len(problems) > 10 else "") + ".")
    return json.loads((kit / KIT_JSON).read_text(encoding="utf-8"))


# ---------------------------------------------------------------- installing from a kit

def check_compatible(meta: dict, python: str) -> None:
    """Refuse a kit made for another OS, machine, Python or numpy than ``python``'s."""
    here = interpreter_info(python)
    if meta.get("format") != KIT_FORMAT:
        raise KitError(f"This kit has format {meta.get('format')!r}; this EO Lens reads format "
                       f"{KIT_FORMAT}. Export it again with this EO Lens version.")
    wanted = f"{meta['os']} {meta['machine']} Python {meta['python']}"
    got = f"{here['os']} {here['machine']} Python {here['python']}"
    if meta["os"] != here["os"] or meta["python"] != here["python"] \
            or meta["machine"] not in (here["machine"], "any"):
        raise KitError(f"This kit is for {wanted}, but {python} is {got}; nothing was installed. "
                       f"Export a kit for {got}.")
    pin = installer.numpy_pin(python)
    has = pin.split("==", 1)[1] if pin else ""
    if meta.get("numpy") and has and has != meta["numpy"]:
        raise KitError(f"This kit was made for numpy {meta['numpy']}, but {python} has numpy {has}; "
                       f"nothing was installed. Export a kit with --numpy {has}.")


def default_models_dir() -> Path:
    """Where a kit's models go unless told: beside the packages folder, in the QGIS profile."""
    return packages_path.profile_dir() / "python" / "eolens-models"


def install_from_kit(kit: Path, target: Path, python: str = "", models_dir: Optional[Path] = None,
                     log: Log = print) -> installer.Outcome:
    """Verify ``kit``, install its wheels into ``target`` the installer's way, then its models."""
    kit = Path(kit).expanduser().resolve()
    meta = verify_kit(kit)
    log(f"all {len(kit_files(kit))} files of {kit} match {SUMS}")
    python = python or sys.executable
    check_compatible(meta, python)
    models_dir = Path(models_dir or default_models_dir()).expanduser().resolve()
    pending = models_to_install(kit, meta, models_dir)
    reqs = installer._without_qgis_geo(meta["requirements"], Path(target))  # as online: QGIS's own
    plan = installer.make_plan(Path(target), meta["torch"], python, requirements=reqs,
                               find_links=kit / "wheels", no_index=True,
                               constraint_files=[kit / PINS])
    outcome = installer.run(plan, log=log)
    if outcome.ok and pending:
        for name in pending:
            install_model(kit / "models" / name, models_dir / name)
        note = (f"Models {', '.join(pending)} are in {models_dir}: set EO Lens Settings… ▸ Local "
                f"model folder to that folder (or pass MODEL={models_dir / pending[0]} to qgis_process).")
        log(note)
        outcome.message += "\n" + note
    return outcome


def models_to_install(kit: Path, meta: dict, models_dir: Path) -> list[str]:
    """The kit's models not yet in ``models_dir``; refuses a different model already there."""
    pending = []
    for name in meta.get("models", []):
        dest = models_dir / name
        if not dest.exists():
            pending.append(name)
        elif _tree_digest(dest) != _tree_digest(kit / "models" / name):
            raise KitError(f"{dest} already exists and differs from the kit's model {name!r}; "
                           f"nothing was installed. Move it away or use another --models-dir.")
    return pending


def _tree_digest(folder: Path) -> list[tuple[str, str]]:
    return [(p.relative_to(folder).as_posix(), file_sha256(p))
            for p in sorted(folder.rglob("*")) if p.is_file()]


def install_model(source: Path, dest: Path) -> None:
    """Copy one model folder into place through a hidden partial folder and a rename."""
    partial = dest.with_name(f".{dest.name}.partial")
    installer._remove(partial)
    try:
        shutil.copytree(source, partial)
        os.replace(partial, dest)
    finally:
        installer._remove(partial)


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


# ---------------------------------------------------------------- command line (installer_cli.main)

def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The kit options of ``python -m eolens.plugin.installer``."""
    kit = ap.add_argument_group("offline kit")
    kit.add_argument("--export-kit", metavar="DIR", help="write an offline kit into DIR (new or empty)")
    kit.add_argument("--from-kit", metavar="DIR", help="install from the offline kit DIR, no network")
    kit.add_argument("--platform", action="append", default=[], metavar="TAG",
                     help="export: wheel platform tag of the target (win_amd64, macosx_11_0_arm64, "
                          "manylinux_2_28_x86_64; repeatable; default: this machine)")
    kit.add_argument("--python-version", default="", help="export: target Python, e.g. 3.12")
    kit.add_argument("--numpy", default="", help="export: the target QGIS's numpy version "
                                                 "(default: --python's, when the target is this machine)")
    kit.add_argument("--models", nargs="+", default=[], metavar="NAME_OR_FOLDER",
                     help="export: model folders, registry names or hub ids from the local cache "
                          "(NEWNAME=FOLDER renames)")
    kit.add_argument("--requirements", default="", metavar="FILE",
                     help="export: requirements file (default: the plugin's requirements.txt)")
    kit.add_argument("--models-dir", default="", metavar="DIR",
                     help=f"from-kit: where the kit's models go (default: {default_models_dir()})")


def cli(args: argparse.Namespace) -> int:
    """Run ``--export-kit`` or ``--from-kit``; errors are printed in plain words (exit status 2)."""
    def say(text: str) -> None:
        print(text, flush=True)

    try:
        if args.export_kit and args.from_kit:
            raise KitError("Use --export-kit or --from-kit, not both.")
        if args.export_kit:
            export_kit(Path(args.export_kit), platforms=args.platform,
                       python_version=args.python_version, torch=args.torch or "cpu",
                       models=args.models, numpy=args.numpy, python=args.python,
                       requirements_file=Path(args.requirements) if args.requirements else None,
                       proxy=args.proxy or None, log=say)
            return 0
        target = Path(args.target or packages_path.packages_dir()).expanduser().resolve()
        outcome = install_from_kit(Path(args.from_kit), target, args.python,
                                   Path(args.models_dir) if args.models_dir else None, log=say)
        return 0 if outcome.ok else 1
    except (KitError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2
