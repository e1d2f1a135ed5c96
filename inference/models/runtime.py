"""Model runtime: name / hub id / local path -> a loaded, cached Backend on a device.

Family modules are imported lazily from ``registry.FAMILY_LOADERS`` and called as
``load(spec, path, device, dtype) -> Backend``. Safety rules (docs/models.md): safetensors first,
``torch.load`` only with ``weights_only=True``, remote code only when pinned and opted in.
"""
from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

from . import hub
from .backend import Backend
from ..cancel import CancelToken, ProgressFn
from .devices import DeviceChoice, explain_device, free_device_memory
from .torch_guard import prepare_torch_import
from .weights import FOLDER_REVISION, safe_torch_load, weights_kwargs  # noqa: F401 (re-exported)
from ..errors import N_, ModelError, ModelNotAvailableError, UnsafeModelError, translate_error
from .registry import FAMILY_LOADERS, MODEL_TYPE_FAMILY, REGISTRY, ModelSpec
from ..tasks import as_task

_LOCK = threading.Lock()                 # guards the two dicts below
_CACHE: dict[tuple, Backend] = {}
_KEY_LOCKS: dict[tuple, threading.Lock] = {}  # one loader per key; other keys load in parallel
_WEIGHT_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".safetensors")
_LOADS: list[str] = []                   # device notes of loads the UI has not shown yet (guarded)
_LAST_DEVICE: list[DeviceChoice] = []    # the device of the latest load


# ---------------------------------------------------------------- resolving names to specs

def resolve_spec(name_or_path: str, task: Optional[str] = None) -> ModelSpec:
    """Registry name, ``org/name[@rev]`` hub id, or local folder/file -> ModelSpec."""
    return _resolve(name_or_path, task, offline=None)


def check_model(name_or_path: str, tasks: Sequence[str] = ()) -> Optional[ModelSpec]:
    """The checks ``load_model`` makes, without network or weights (for parameter validation).

    Registry names and local folders resolve to their spec (which must do one of ``tasks``);
    a well-formed hub id returns None: its config is read when it loads.
    """
    text = str(name_or_path).strip()
    if text and text not in REGISTRY and not Path(text).expanduser().exists() \
            and hub.parse_hub_id(text) is not None:
        return None
    spec = _resolve(text, None, offline=True)
    if tasks and spec.tasks and not set(tasks) & set(spec.tasks):
        raise ModelError(N_("Model '{model}' cannot do this; it supports: {tasks}."),
                         model=spec.name, tasks=", ".join(spec.tasks))
    return spec


def _resolve(name_or_path: str, task: Optional[str], offline: Optional[bool]) -> ModelSpec:
    text = str(name_or_path).strip()
    if not text:
        raise ModelNotAvailableError("No model was given; choose a model name or a local folder.")
    if text in REGISTRY:
        spec = REGISTRY[text]
    elif Path(text).expanduser().exists():
        spec = _local_spec(text, Path(text).expanduser().resolve())
    elif (hub_id := hub.parse_hub_id(text)) is not None:
        spec = _hub_spec(text, *hub_id, offline=offline)
    elif "/" in text or "\\" in text or text.startswith((".", "~")):
        raise ModelNotAvailableError(
            N_("No model found at '{path}': that folder or file does not exist."), path=text)
    else:
        raise ModelNotAvailableError(
            N_("Unknown model '{model}'. Use a model name ({names}), a hub id such as org/name or "
               "org/name@revision, or a local folder."), model=text, names=", ".join(sorted(REGISTRY)))
    return _check_task(spec, task)


def _check_task(spec: ModelSpec, task: Optional[str]) -> ModelSpec:
    if task:
        task = as_task(task)
    if task and spec.tasks and task not in spec.tasks:
        raise ModelError(f"Model '{spec.name}' cannot do '{task}'; it supports: "
                         f"{', '.join(spec.tasks)}.")
    return spec


def _family_tasks(family: str) -> tuple[str, ...]:
    """Tasks of a user-supplied model: those of a registry model of the same family."""
    return next((s.tasks for s in REGISTRY.values() if s.family == family), ())


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ModelError(f"Cannot read '{path}': {err}") from err


def _family_from_config(config: dict, where: str) -> str:
    model_type = str(config.get("model_type", ""))
    if model_type not in MODEL_TYPE_FAMILY:
        raise ModelError(f"'{where}' holds a '{model_type or 'unknown'}' model, which EO Lens cannot "
                         f"load. Supported types: {', '.join(sorted(MODEL_TYPE_FAMILY))}.")
    return MODEL_TYPE_FAMILY[model_type]


def needs_remote_code(config: dict) -> bool:
    """Configs whose classes live in the repo's own Python files (``auto_map``) and that the
    native transformers class cannot read (microsoft/Florence-2-*: DaViT vision config)."""
    if not config.get("auto_map"):
        return False
    vision = config.get("vision_config") or {}
    return config.get("model_type") not in MODEL_TYPE_FAMILY or vision.get("model_type") == "davit"


def _spec_from_config(name: str, source: str, config: dict, revision: Optional[str]) -> ModelSpec:
    family = _family_from_config(config, name)
    return ModelSpec(name, family, source, revision=revision, tasks=_family_tasks(family),
                     trust_remote_code=needs_remote_code(config))


def _local_spec(name: str, path: Path) -> ModelSpec:
    if path.is_file():
        return _local_file_spec(name, path)
    if (path / "config.json").is_file():
        return _spec_from_config(name, str(path), _read_json(path / "config.json"), None)
    if (path / "open_clip_config.json").is_file():
        return ModelSpec(name, "openclip", str(path), tasks=_family_tasks("openclip"))
    weights = sorted(p for p in path.iterdir() if p.suffix in _WEIGHT_SUFFIXES)
    if len(weights) == 1 and _openclip_arch(weights[0]):
        return _local_file_spec(name, weights[0])
    raise ModelNotAvailableError(
        f"The folder '{path}' does not hold a model EO Lens can load: no config.json or "
        f"open_clip_config.json (and no single open_clip checkpoint named after its architecture).")


def _openclip_arch(file: Path) -> Optional[str]:
    """Architecture of an open_clip checkpoint: the registry entry with that file name (which knows
    about -quickgelu), else the architecture written in the file name."""
    for spec in REGISTRY.values():
        if spec.family == "openclip" and spec.filename and Path(spec.filename).name == file.name:
            return spec.arch
    from .clip_family import infer_arch  # one place knows the QuickGELU rule

    try:
        return infer_arch(file.name)
    except ModelError:
        return None


def _local_file_spec(name: str, file: Path) -> ModelSpec:
    if file.suffix not in _WEIGHT_SUFFIXES:
        raise ModelNotAvailableError(f"'{file}' is not a model checkpoint ({', '.join(_WEIGHT_SUFFIXES)}).")
    side = file.parent / "open_clip_config.json"
    arch = _openclip_arch(file)
    if not side.is_file() and arch is None:
        raise ModelNotAvailableError(
            f"Cannot tell which architecture '{file}' is; put an open_clip_config.json next to it or "
            f"name the file after its architecture (e.g. ViT-B-32-quickgelu.pt).")
    return ModelSpec(name, "openclip", str(file), arch=arch, tasks=_family_tasks("openclip"))


def _hub_spec(name: str, repo_id: str, revision: Optional[str], offline: Optional[bool]) -> ModelSpec:
    for spec in REGISTRY.values():  # a registry model asked for by id keeps its metadata
        if spec.source == repo_id and spec.filename is None:
            return replace(spec, name=name, revision=revision or spec.revision)
    config = _hub_config(name, repo_id, revision, offline)
    if config is None:
        return ModelSpec(name, "openclip", repo_id, revision=revision, tasks=_family_tasks("openclip"))
    return _spec_from_config(name, repo_id, config, revision)


def _hub_config(name: str, repo_id: str, revision: Optional[str],
                offline: Optional[bool]) -> Optional[dict]:
    """config.json of a hub repo (cache first); None for an open_clip repo."""
    for filename in ("config.json", "open_clip_config.json"):
        path = hub.cached_file(repo_id, filename, revision)
        if path is not None:
            return _read_json(path) if filename == "config.json" else None
    if hub.offline_mode(offline):
        raise hub.not_cached_error(f"'{name}'")
    from huggingface_hub import hf_hub_download

    try:
        return _read_json(Path(hf_hub_download(repo_id, "config.json", revision=revision)))
    except Exception as err:
        try:
            hf_hub_download(repo_id, "open_clip_config.json", revision=revision)
            return None
        except Exception:
            raise ModelNotAvailableError(f"Cannot read the config of '{name}' from the hub: {err}") from err


# ---------------------------------------------------------------- safety

def check_remote_code(spec: ModelSpec, allow_remote_code: bool) -> None:
    """Remote code runs arbitrary Python: only a pinned commit the user explicitly enabled."""
    if not spec.trust_remote_code:
        return
    if not (hub.is_pinned(spec.revision) and allow_remote_code):
        raise UnsafeModelError(
            f"Model '{spec.name}' needs its own Python code to load. EO Lens runs such code only "
            f"when (1) the model is pinned to a full 40-character commit id (org/name@<commit>) "
            f"and (2) remote code is enabled in the settings. Pinned: "
            f"{'yes' if hub.is_pinned(spec.revision) else 'no'}; enabled: "
            f"{'yes' if allow_remote_code else 'no'}.")


# ---------------------------------------------------------------- loading and caching

def is_cached(spec: ModelSpec) -> bool:
    """Local, or already downloaded into the hub cache."""
    return Path(spec.source).exists() or hub.cached_path(spec) is not None


def _local_path(spec: ModelSpec, progress: Optional[ProgressFn], cancel: Optional[CancelToken],
                offline: Optional[bool]) -> Path:
    local = Path(spec.source)
    return local if local.exists() else hub.fetch(spec, progress, cancel, offline)


def _build(spec: ModelSpec, path: Path, device: str, dtype: Any) -> Backend:
    module, func = FAMILY_LOADERS[spec.family].split(":")
    try:
        loader = getattr(importlib.import_module(f".{module}", __package__), func)
    except (ImportError, AttributeError) as err:
        raise ModelError(f"Support for '{spec.family}' models (needed by '{spec.name}') is not "
                         f"available in this version of EO Lens ({err}).") from err
    try:
        return loader(spec, path, device, dtype)
    except Exception as err:  # noqa: BLE001 - every loader failure becomes a user message
        raise translate_error(err, spec.name, device) from err


def _key(spec: ModelSpec, device: str, dtype: Any) -> tuple:
    return (spec.source, spec.revision, spec.filename, device, str(dtype))


def load_model(name_or_path: str, *, task: Optional[str] = None, device: str = "auto",
               offline: Optional[bool] = None, allow_remote_code: bool = False,
               progress: Optional[ProgressFn] = None,
               cancel: Optional[CancelToken] = None) -> Backend:
    """Resolve, fetch, load on the device and cache; a second call returns the cached Backend."""
    prepare_torch_import()
    spec = _resolve(name_or_path, task, offline)
    check_remote_code(spec, allow_remote_code)
    choice = explain_device(device)
    dev, dtype = choice.device, choice.dtype
    key = _key(spec, dev, dtype)
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
        key_lock = _KEY_LOCKS.setdefault(key, threading.Lock())
    with key_lock:
        with _LOCK:
            if key in _CACHE:  # loaded by another thread while we waited
                return _CACHE[key]
        backend = _build(spec, _local_path(spec, progress, cancel, offline), dev, dtype)
        with _LOCK:
            _CACHE[key] = backend
            _LOADS[:] = _LOADS[-7:] + [f"Model '{spec.name}' loaded. {choice.describe()}."]
            _LAST_DEVICE[:] = [choice]
    if progress is not None:
        progress(100.0)
    return backend


def take_device_notes() -> list[str]:
    """Notes of the models loaded since the last call ("Model 'x' loaded. Running on CPU (no NVIDIA
    GPU found)."), for the UI to log once per load; the list is emptied."""
    with _LOCK:
        notes, _LOADS[:] = list(_LOADS), []
    return notes


def last_device() -> Optional[DeviceChoice]:
    """Where the most recently loaded model runs (None before the first load)."""
    with _LOCK:
        return _LAST_DEVICE[0] if _LAST_DEVICE else None


def _source_of(name_or_path: str) -> str:
    """What a cached key's source would be, without network access."""
    text = str(name_or_path).strip()
    if text in REGISTRY:
        return REGISTRY[text].source
    if Path(text).expanduser().exists():
        return str(Path(text).expanduser().resolve())
    hub_id = hub.parse_hub_id(text)
    return hub_id[0] if hub_id else text


def unload(name_or_path: Optional[str] = None) -> None:
    """Drop cached backends (all when None) and really free device memory."""
    source = None if name_or_path is None else _source_of(name_or_path)
    with _LOCK:
        keys = [k for k, b in _CACHE.items()
                if source is None or k[0] == source or b.spec.name == name_or_path]
        dropped = [_CACHE.pop(k) for k in keys]
    if source is None:  # sessions hold encodings and models: all go with Free GPU memory
        from .. import sessions

        sessions.clear()
    for backend in dropped:
        backend.unload()
    del dropped
    free_device_memory()


def loaded_models() -> list[str]:
    """Names of the models in the cache now."""
    with _LOCK:
        return [b.spec.name for b in _CACHE.values()]
